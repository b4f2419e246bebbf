/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config-file.h"
#include "json-util.h"
#include "log.h"
#include "program.h"

#define CONFIG_SIZE_MAX (1024 * 1024)

Config *config_free(Config *c)
{
	if (!c)
		return NULL;
	free(c->path);
	free(c->chip);
	free(c->consumer);
	layout_free(c->layout);
	json_object_put(c->definitions);
	json_object_put(c->autostart);
	free(c);
	return NULL;
}

static int config_fail(const Config *c, const char *path, const char *fmt, ...) _printf_(3, 4);
static int config_fail(const Config *c, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s: %s: %s", c->path, path, msg);
	return -EINVAL;
}

static int parse_string(Config *c, json_object *v, const char *key, char **ret)
{
	char *s;

	if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
		return config_fail(c, key, "must be a non-empty string");
	s = strdup(json_object_get_string(v));
	if (!s)
		return log_oom();
	free(*ret);
	*ret = s;
	return 0;
}

static int parse_matrix(Config *c, json_object *v)
{
	_cleanup_(freep) unsigned *offsets = NULL;
	size_t n_rows, n_cols = 0;
	char path[64];
	int r;

	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
		return config_fail(c, "$.matrix", "must be a non-empty list of rows of line offsets");
	n_rows = json_object_array_length(v);
	for (size_t i = 0; i < n_rows; i++) {
		json_object *row = json_object_array_get_idx(v, i);
		size_t n;

		snprintf(path, sizeof(path), "$.matrix[%zu]", i);
		if (!json_object_is_type(row, json_type_array) || json_object_array_length(row) == 0)
			return config_fail(c, path, "must be a non-empty list of line offsets");
		n = json_object_array_length(row);
		if (i == 0) {
			n_cols = n;
			if (n_rows * n_cols > 65536)
				return config_fail(c, "$.matrix", "more than 65536 lines");
			offsets = calloc(n_rows * n_cols, sizeof(unsigned));
			if (!offsets)
				return log_oom();
		} else if (n != n_cols)
			return config_fail(c, path, "has %zu lines, the first row has %zu: rows must "
						    "be the same length",
					   n, n_cols);
		for (size_t j = 0; j < n; j++) {
			json_object *o = json_object_array_get_idx(row, j);
			int64_t off;

			snprintf(path, sizeof(path), "$.matrix[%zu][%zu]", i, j);
			if (!json_object_is_type(o, json_type_int))
				return config_fail(c, path, "must be a line offset (an integer)");
			off = json_object_get_int64(o);
			if (off < 0 || off > 65535)
				return config_fail(c, path, "line offset %lld is out of range",
						   (long long)off);
			offsets[i * n_cols + j] = (unsigned)off;
		}
	}

	layout_free(c->layout);
	c->layout = NULL;
	r = layout_new(&c->layout, (unsigned)n_rows, (unsigned)n_cols, offsets);
	if (r == -EEXIST)
		return config_fail(c, "$.matrix", "a line offset appears twice");
	if (r < 0)
		return config_fail(c, "$.matrix", "cannot be used: %s", strerror(-r));
	return 0;
}

/* Definitions and autostart are objects of name -> program; programs are checked later. */
static int parse_named_programs(Config *c, json_object *v, const char *key, json_object **ret)
{
	char path[128];

	if (!json_object_is_type(v, json_type_object))
		return config_fail(c, key, "must be an object of name: program");
	json_object_object_foreach(v, name, prog)
	{
		(void)prog;
		if (!program_name_is_valid(name)) {
			snprintf(path, sizeof(path), "%s", key);
			return config_fail(c, path, "\"%.70s\" is not a valid name (1-64 of A-Z a-z "
						    "0-9 _ . -)",
					   name);
		}
	}
	json_object_put(*ret);
	*ret = json_object_get(v);
	return 0;
}

static int config_new_defaults(Config **ret)
{
	_cleanup_(config_freep) Config *c = calloc(1, sizeof(Config));
	int r;

	if (!c)
		return -ENOMEM;
	c->chip = strdup(CONFIG_DEFAULT_CHIP);
	c->consumer = strdup(CONFIG_DEFAULT_CONSUMER);
	if (!c->chip || !c->consumer)
		return -ENOMEM;
	c->max_programs = CONFIG_DEFAULT_MAX_PROGRAMS;
	r = layout_new_default(&c->layout);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int config_parse(Config **ret, const char *text, size_t len, const char *label)
{
	_cleanup_(config_freep) Config *c = NULL;
	_cleanup_(json_object_putp) json_object *root = NULL;
	JsonError why;
	int r;

	r = config_new_defaults(&c);
	if (r < 0)
		return log_error_errno(r, "%s: %m", label);
	c->path = strdup(label);
	if (!c->path)
		return log_oom();
	if (len > CONFIG_SIZE_MAX)
		return config_fail(c, "$", "larger than %d bytes", CONFIG_SIZE_MAX);

	r = json_parse_strict(text, len, 2 * 32 + 8, &root, &why);
	if (r == -EINVAL || r == -ELOOP)
		return config_fail(c, why.path, "%s", why.message);
	if (r < 0)
		return log_error_errno(r, "%s: %m", c->path);
	if (!json_object_is_type(root, json_type_object))
		return config_fail(c, "$", "must be an object");

	json_object_object_foreach(root, key, v)
	{
		char kpath[80];

		snprintf(kpath, sizeof(kpath), "$.%.60s", key);
		if (streq(key, "chip"))
			r = parse_string(c, v, kpath, &c->chip);
		else if (streq(key, "consumer"))
			r = parse_string(c, v, kpath, &c->consumer);
		else if (streq(key, "matrix"))
			r = parse_matrix(c, v);
		else if (streq(key, "definitions"))
			r = parse_named_programs(c, v, kpath, &c->definitions);
		else if (streq(key, "autostart"))
			r = parse_named_programs(c, v, kpath, &c->autostart);
		else if (streq(key, "max_programs")) {
			int64_t m = json_object_get_int64(v);
			if (!json_object_is_type(v, json_type_int) || m < 1 || m > 100000)
				r = config_fail(c, kpath, "must be an integer from 1 to 100000");
			else {
				c->max_programs = (unsigned)m;
				r = 0;
			}
		} else if (streq(key, "precision")) {
			const char *p = json_object_is_type(v, json_type_string)
						? json_object_get_string(v)
						: "";
			if (streq(p, "spin") || streq(p, "normal")) {
				c->precision_spin = streq(p, "spin");
				r = 0;
			} else
				r = config_fail(c, kpath, "must be \"normal\" or \"spin\"");
		} else
			r = config_fail(c, kpath, "unknown key (expected chip, consumer, matrix, "
						  "definitions, autostart, max_programs, precision)");
		if (r < 0)
			return r;
	}

	*ret = TAKE_PTR(c);
	return 0;
}

int config_load(Config **ret, const char *path, bool must_exist)
{
	_cleanup_(freep) char *text = NULL;
	_cleanup_(fclosep) FILE *f = NULL;
	size_t len;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !must_exist) {
			log_debug("No configuration at %s, using the defaults.", path);
			int r = config_new_defaults(ret);
			return r < 0 ? log_error_errno(r, "Failed to make the default configuration: %m") : 0;
		}
		return log_error_errno(negative_errno(), "Failed to open configuration %s: %m",
				       path);
	}
	text = malloc(CONFIG_SIZE_MAX + 2);
	if (!text)
		return log_oom();
	errno = 0;
	len = fread(text, 1, CONFIG_SIZE_MAX + 1, f);
	if (ferror(f))
		return log_error_errno(errno > 0 ? -errno : -EIO, "Failed to read configuration %s: %m",
				       path);
	text[len] = '\0';
	return config_parse(ret, text, len, path);
}

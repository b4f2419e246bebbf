/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config-file.h"
#include "engine.h"
#include "json-util.h"
#include "log.h"
#include "program.h"
#include "utf8.h"

#define CONFIG_SIZE_MAX (1024 * 1024)

static void sim_chip_done(SimChipConfig *s)
{
	free(s->label);
	for (size_t i = 0; s->names && i < s->n_lines; i++)
		free(s->names[i]);
	free(s->names);
	free(s->levels);
}

Config *config_free(Config *c)
{
	if (!c)
		return NULL;
	free(c->path);
	free(c->chip);
	free(c->consumer);
	layout_free(c->layout);
	for (size_t i = 0; i < c->n_sim_chips; i++)
		sim_chip_done(&c->sim_chips[i]);
	free(c->sim_chips);
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
	utf8_trim_partial(msg);
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

/* "$.lines[\"KEY\"]", cut to fit. */
static void line_path(char *buf, size_t size, const char *key)
{
	snprintf(buf, size, "$.lines[\"%s\"]", QUOTE(key, 40));
}

static int add_ref(Config *c, const char *ref, const char *path)
{
	char why[256];
	int r;

	r = layout_add_ref(c->layout, ref, path, why, sizeof(why));
	if (r == -EINVAL)
		return config_fail(c, path, "%s", why);
	if (r == -E2BIG)
		return config_fail(c, path, "too many lines (at most %u, %u of them by name or "
					    "on other chips)",
				   LAYOUT_LINES_MAX, LAYOUT_EXTRA_MAX);
	if (r < 0)
		return log_oom();
	return r;
}

static int parse_matrix(Config *c, json_object *v)
{
	_cleanup_(freep) unsigned *positions = NULL;
	_cleanup_(freep) uint8_t *placed = NULL; /* by line position: in the matrix already */
	size_t n_rows, n_cols = 0;
	char path[64], ref[16];
	int r;

	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
		return config_fail(c, "$.matrix", "must be a non-empty list of rows of lines");
	n_rows = json_object_array_length(v);
	for (size_t i = 0; i < n_rows; i++) {
		json_object *row = json_object_array_get_idx(v, i);
		size_t n;

		snprintf(path, sizeof(path), "$.matrix[%zu]", i);
		if (!json_object_is_type(row, json_type_array) || json_object_array_length(row) == 0)
			return config_fail(c, path, "must be a non-empty list of lines");
		n = json_object_array_length(row);
		if (i == 0) {
			n_cols = n;
			if (n_rows * n_cols > LAYOUT_LINES_MAX)
				return config_fail(c, "$.matrix", "more than %u lines",
						   LAYOUT_LINES_MAX);
			positions = calloc(n_rows * n_cols, sizeof(unsigned));
			/* The matrix comes first: each cell adds at most one line. */
			placed = calloc(n_rows * n_cols, 1);
			if (!positions || !placed)
				return log_oom();
		} else if (n != n_cols)
			return config_fail(c, path, "has %zu lines, the first row has %zu: rows must "
						    "be the same length",
					   n, n_cols);
		for (size_t j = 0; j < n; j++) {
			json_object *o = json_object_array_get_idx(row, j);
			const char *text;

			snprintf(path, sizeof(path), "$.matrix[%zu][%zu]", i, j);
			if (json_object_is_type(o, json_type_int)) {
				int64_t off = json_object_get_int64(o);
				if (off < 0 || off > LAYOUT_OFFSET_MAX)
					return config_fail(c, path, "line offset %lld is out of range",
							   (long long)off);
				snprintf(ref, sizeof(ref), "%u", (unsigned)off);
				text = ref;
			} else if (json_object_is_type(o, json_type_string))
				text = json_object_get_string(o);
			else
				return config_fail(c, path, "must be a line: an offset, a name or "
							    "\"CHIP:LINE\"");
			r = add_ref(c, text, path);
			if (r < 0)
				return r;
			if (placed[r])
				return config_fail(c, path, "line \"%s\" is in the matrix twice", text);
			placed[r] = 1;
			positions[i * n_cols + j] = (unsigned)r;
		}
	}
	r = layout_set_matrix(c->layout, (unsigned)n_rows, (unsigned)n_cols, positions);
	if (r < 0)
		return config_fail(c, "$.matrix", "cannot be used: %s", strerror(-r));
	return 0;
}

static int parse_bool(Config *c, json_object *v, const char *path, bool *ret)
{
	if (!json_object_is_type(v, json_type_boolean))
		return config_fail(c, path, "must be true or false");
	*ret = json_object_get_boolean(v);
	return 0;
}

/* A setting that is one of a few words; @from turns the word into its value, or -1. */
static int parse_enum(Config *c, json_object *v, const char *path, int (*from)(const char *),
		      const char *expected, int *ret)
{
	int k = json_object_is_type(v, json_type_string) ? from(json_object_get_string(v)) : -1;

	if (k < 0)
		return config_fail(c, path, "must be one of %s", expected);
	*ret = k;
	return 0;
}

static int drive_from(const char *s)
{
	return (int)line_drive_from_string(s);
}
static int bias_from(const char *s)
{
	return (int)line_bias_from_string(s);
}
static int state_from(const char *s)
{
	return (int)line_state_from_string(s);
}

static bool alias_is_valid(const char *a)
{
	size_t n = strlen(a);

	if (n == 0 || n > LAYOUT_ALIAS_MAX || (a[0] >= '0' && a[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' && a[i] <= 'Z') ||
		      (a[i] >= '0' && a[i] <= '9') || a[i] == '_' || a[i] == '-' || a[i] == '.'))
			return false;
	return true;
}

static int parse_line_settings(Config *c, const char *key, json_object *v, LayoutLine *line)
{
	char path[UTF8_QUOTE_SIZE(40) + UTF8_QUOTE_SIZE(20) + 16], base[UTF8_QUOTE_SIZE(40) + 16];
	int k = 0, r = 0;

	line_path(base, sizeof(base), key);
	if (!json_object_is_type(v, json_type_object))
		return config_fail(c, base, "must be an object of line settings");
	json_object_object_foreach(v, name, val)
	{
		snprintf(path, sizeof(path), "%s.%s", base, QUOTE(name, 20));
		if (line->analog &&
		    (streq(name, "active_low") || streq(name, "drive") || streq(name, "bias")))
			return config_fail(c, path, "an LED class device has no %s (alias, initial "
						    "and exit apply)",
					   name);
		if (streq(name, "alias")) {
			const char *a = json_object_is_type(val, json_type_string)
						? json_object_get_string(val)
						: "";
			if (!alias_is_valid(a))
				return config_fail(c, path, "must be a name: 1-%d of A-Z a-z 0-9 _ . -, "
							    "not starting with a digit",
						   LAYOUT_ALIAS_MAX);
			free(line->alias);
			line->alias = strdup(a);
			if (!line->alias)
				return log_oom();
		} else if (streq(name, "active_low"))
			r = parse_bool(c, val, path, &line->settings.active_low);
		else if (streq(name, "drive")) {
			r = parse_enum(c, val, path, drive_from,
				       "\"push-pull\", \"open-drain\", \"open-source\"", &k);
			line->settings.drive = (LineDrive)k;
		} else if (streq(name, "bias")) {
			r = parse_enum(c, val, path, bias_from,
				       "\"as-is\", \"disabled\", \"pull-up\", \"pull-down\"", &k);
			line->settings.bias = (LineBias)k;
		} else if (streq(name, "initial")) {
			r = parse_enum(c, val, path, state_from, "\"off\", \"on\", \"keep\"", &k);
			line->settings.initial = (LineState)k;
		} else if (streq(name, "exit")) {
			r = parse_enum(c, val, path, state_from, "\"off\", \"on\", \"keep\"", &k);
			line->settings.exit = (LineState)k;
		} else
			r = config_fail(c, path, "unknown setting (expected alias, active_low, drive, "
						 "bias, initial, exit)");
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_lines(Config *c, json_object *v)
{
	char path[UTF8_QUOTE_SIZE(40) + 16];
	int r;

	if (!json_object_is_type(v, json_type_object))
		return config_fail(c, "$.lines", "must be an object of line: settings");
	json_object_object_foreach(v, key, settings)
	{
		size_t n_before = c->layout->n_lines;

		line_path(path, sizeof(path), key);
		r = add_ref(c, key, path);
		if (r < 0)
			return r;
		if ((size_t)r < n_before && strncmp(c->layout->info[r].where, "$.lines", 7) == 0)
			return config_fail(c, path, "is the same line as %s", c->layout->info[r].where);
		/* The settings' place: where they are written, not where the matrix named it. */
		free(c->layout->info[r].where);
		c->layout->info[r].where = strdup(path);
		if (!c->layout->info[r].where)
			return log_oom();
		r = parse_line_settings(c, key, settings, &c->layout->info[r]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* An alias given twice, or one that is another line's reference, would make programs ambiguous. */
static int check_lines(Config *c)
{
	const Layout *l = c->layout;

	for (size_t i = 0; i < l->n_lines; i++) {
		const LayoutLine *a = &l->info[i];

		if (!a->alias)
			continue;
		for (size_t j = 0; j < l->n_lines; j++) {
			if (j == i)
				continue;
			if (j < i && l->info[j].alias && streq(l->info[j].alias, a->alias))
				return config_fail(c, a->where, "alias \"%s\" is already line %s's",
						   a->alias, l->info[j].ref);
			if (streq(l->info[j].ref, a->alias))
				return config_fail(c, a->where,
						   "alias \"%s\" is another line's reference", a->alias);
		}
	}
	return 0;
}

static int parse_sim_chip(Config *c, json_object *v, size_t i, SimChipConfig *s)
{
	char base[64], path[64 + UTF8_QUOTE_SIZE(20)];
	json_object *names = NULL, *levels = NULL;
	int r = 0;

	snprintf(base, sizeof(base), "$.sim_chips[%zu]", i);
	if (!json_object_is_type(v, json_type_object))
		return config_fail(c, base, "must be an object: {\"label\": L, \"lines\": N, "
					    "\"names\": [...], \"present\": B}");
	s->present = true;
	json_object_object_foreach(v, key, val)
	{
		snprintf(path, sizeof(path), "%s.%s", base, QUOTE(key, 20));
		if (streq(key, "label")) {
			const char *t = json_object_is_type(val, json_type_string)
						? json_object_get_string(val)
						: "";
			if (t[0] == '\0' || strlen(t) > 64 || strchr(t, ':') || strchr(t, '/'))
				return config_fail(c, path, "must be a label: 1-64 characters, "
							    "without ':' or '/'");
			s->label = strdup(t);
			if (!s->label)
				return log_oom();
		} else if (streq(key, "lines")) {
			int64_t n = json_object_get_int64(val);
			if (!json_object_is_type(val, json_type_int) || n < 1 ||
			    n > LAYOUT_OFFSET_MAX + 1)
				return config_fail(c, path, "must be a number of lines from 1 to %u",
						   LAYOUT_OFFSET_MAX + 1);
			s->n_lines = (unsigned)n;
		} else if (streq(key, "names")) {
			if (!json_object_is_type(val, json_type_array))
				return config_fail(c, path, "must be a list of line names, by offset");
			names = val;
		} else if (streq(key, "levels")) {
			if (!json_object_is_type(val, json_type_array))
				return config_fail(c, path, "must be a list of levels (0 or 1), by offset");
			levels = val;
		} else if (streq(key, "present"))
			r = parse_bool(c, val, path, &s->present);
		else
			r = config_fail(c, path, "unknown key (expected label, lines, names, levels, "
						 "present)");
		if (r < 0)
			return r;
	}
	if (!s->label || s->n_lines == 0)
		return config_fail(c, base, "needs a \"label\" and a number of \"lines\"");
	s->names = calloc(s->n_lines, sizeof(char *));
	if (!s->names)
		return log_oom();
	if (names) {
		size_t n = json_object_array_length(names);

		if (n > s->n_lines)
			return config_fail(c, base, "names %zu lines, the chip has %u", n,
					   s->n_lines);
		for (size_t k = 0; k < n; k++) {
			json_object *o = json_object_array_get_idx(names, k);
			const char *t;

			snprintf(path, sizeof(path), "%s.names[%zu]", base, k);
			if (!json_object_is_type(o, json_type_string) ||
			    json_object_get_string_len(o) > 64)
				return config_fail(c, path, "must be a line name (\"\" for none)");
			t = json_object_get_string(o);
			if (t[0] == '\0')
				continue;
			s->names[k] = strdup(t);
			if (!s->names[k])
				return log_oom();
		}
	}
	s->levels = calloc(s->n_lines, 1);
	if (!s->levels)
		return log_oom();
	if (levels) {
		size_t n = json_object_array_length(levels);

		if (n > s->n_lines)
			return config_fail(c, base, "gives %zu levels, the chip has %u lines", n,
					   s->n_lines);
		for (size_t k = 0; k < n; k++) {
			json_object *o = json_object_array_get_idx(levels, k);
			int64_t level = json_object_get_int64(o);

			snprintf(path, sizeof(path), "%s.levels[%zu]", base, k);
			if (!json_object_is_type(o, json_type_int) || (level != 0 && level != 1))
				return config_fail(c, path, "must be 0 or 1 (the line's level at start)");
			s->levels[k] = (uint8_t)level;
		}
	}
	for (size_t k = 0; k < i; k++)
		if (streq(c->sim_chips[k].label, s->label))
			return config_fail(c, base, "label \"%s\" is already chip %zu's",
					   QUOTE(s->label, QUOTE_CHARS_MAX), k);
	return 0;
}

static int parse_sim_chips(Config *c, json_object *v)
{
	size_t n;
	int r;

	if (!json_object_is_type(v, json_type_array))
		return config_fail(c, "$.sim_chips", "must be a list of simulated chips");
	n = json_object_array_length(v);
	if (n > 64)
		return config_fail(c, "$.sim_chips", "more than 64 chips");
	c->sim_chips = calloc(n, sizeof(SimChipConfig));
	if (n > 0 && !c->sim_chips)
		return log_oom();
	for (size_t i = 0; i < n; i++) {
		c->n_sim_chips = i + 1;
		r = parse_sim_chip(c, json_object_array_get_idx(v, i), i, &c->sim_chips[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The layout of "matrix" and "lines", on the default chip "chip". */
static int build_layout(Config *c, json_object *matrix, json_object *lines)
{
	int r;

	layout_free(c->layout);
	c->layout = NULL;
	if (!matrix && !lines)
		r = layout_new_default(&c->layout);
	else
		r = layout_new_empty(&c->layout, c->chip);
	if (r < 0)
		return log_oom();
	free(c->layout->chips[0]);
	c->layout->chips[0] = strdup(c->chip);
	if (!c->layout->chips[0])
		return log_oom();
	if (!matrix && !lines)
		return 0;
	if (matrix) {
		r = parse_matrix(c, matrix);
		if (r < 0)
			return r;
	}
	if (lines) {
		r = parse_lines(c, lines);
		if (r < 0)
			return r;
	}
	r = layout_finish(c->layout);
	if (r < 0)
		return config_fail(c, "$.lines", "cannot be used: %s", strerror(-r));
	return check_lines(c);
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
			return config_fail(c, path, "\"%s\" is not a valid name (1-64 of A-Z a-z "
						    "0-9 _ . -)",
					   QUOTE(name, QUOTE_CHARS_MAX));
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
	c->pwm_hz = ENGINE_PWM_HZ_DEFAULT;
	r = layout_new_default(&c->layout);
	if (r < 0)
		return r;
	free(c->layout->chips[0]);
	c->layout->chips[0] = strdup(c->chip);
	if (!c->layout->chips[0])
		return -ENOMEM;
	*ret = TAKE_PTR(c);
	return 0;
}

int config_parse(Config **ret, const char *text, size_t len, const char *label)
{
	_cleanup_(config_freep) Config *c = NULL;
	_cleanup_(json_object_putp) json_object *root = NULL;
	json_object *matrix = NULL, *lines = NULL;
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
		char kpath[UTF8_QUOTE_SIZE(40) + 4];

		snprintf(kpath, sizeof(kpath), "$.%s", QUOTE(key, 40));
		if (streq(key, "chip"))
			r = parse_string(c, v, kpath, &c->chip);
		else if (streq(key, "consumer"))
			r = parse_string(c, v, kpath, &c->consumer);
		else if (streq(key, "matrix")) {
			matrix = v;
			r = 0;
		} else if (streq(key, "lines")) {
			lines = v;
			r = 0;
		} else if (streq(key, "sim_chips"))
			r = parse_sim_chips(c, v);
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
		} else if (streq(key, "pwm_hz")) {
			int64_t hz = json_object_get_int64(v);
			if (!json_object_is_type(v, json_type_int) || hz < ENGINE_PWM_HZ_MIN ||
			    hz > ENGINE_PWM_HZ_MAX)
				r = config_fail(c, kpath, "must be an integer from %d to %d (Hz)",
						ENGINE_PWM_HZ_MIN, ENGINE_PWM_HZ_MAX);
			else {
				c->pwm_hz = (unsigned)hz;
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
			r = config_fail(c, kpath, "unknown key (expected chip, consumer, matrix, lines, "
						  "sim_chips, definitions, autostart, max_programs, "
						  "precision, pwm_hz)");
		if (r < 0)
			return r;
	}
	r = build_layout(c, matrix, lines);
	if (r < 0)
		return r;

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

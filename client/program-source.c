/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "json-util.h"
#include "log.h"
#include "program-source.h"
#include "program-text.h"
#include "program.h"

#define DEFAULT_INTERVAL "500ms"

static bool is_kind(const char *word)
{
	return streq(word, "blink") || streq(word, "cycle") || streq(word, "on");
}

/* A whole decimal integer, nothing else. */
static int parse_integer(const char *s, long long *ret)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*ret = v;
	return 0;
}

/*
 * A duration as the language takes it. A bare number means seconds, like a
 * JSON number; it is sent as "<number>s" so that the parser, not the
 * client's locale, reads the decimal point.
 */
static json_object *duration_new(const char *s)
{
	size_t digits = strspn(s, "0123456789.");
	char buf[64];

	if (digits > 0 && s[digits] == '\0' && strlen(s) < sizeof(buf) - 1) {
		snprintf(buf, sizeof(buf), "%ss", s);
		return json_object_new_string(buf);
	}
	return json_object_new_string(s);
}

static int lines_new(const ProgramOptions *o, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *j = NULL;
	long long v;

	switch (o->lines_kind) {
	case LINES_ALL:
		j = json_object_new_string("all");
		break;
	case LINES_ROW:
	case LINES_COL:
		if (parse_integer(o->lines, &v) < 0 || v < INT32_MIN || v > INT32_MAX)
			return client_usage_error("--%s: \"%s\" is not a number; lines by alias "
						  "or name go with --lines.",
						  o->lines_kind == LINES_ROW ? "row" : "col",
						  o->lines);
		j = json_object_new_object();
		if (!j || json_object_object_add(j, o->lines_kind == LINES_ROW ? "row" : "col",
						 json_object_new_int((int32_t)v)) < 0)
			return log_oom();
		break;
	case LINES_LIST: {
		_cleanup_(freep) char *copy = strdup(o->lines);
		char *token, *state = NULL;

		if (!copy)
			return log_oom();
		j = json_object_new_array();
		if (!j)
			return log_oom();
		if (copy[0] == '\0' || copy[strlen(copy) - 1] == ',' || strstr(copy, ",,") ||
		    copy[0] == ',')
			return client_usage_error("--lines: \"%s\" has an empty entry.", o->lines);
		for (token = strtok_r(copy, ",", &state); token;
		     token = strtok_r(NULL, ",", &state)) {
			json_object *line;

			/* Offsets are numbers, names are strings, as in the language. */
			if (parse_integer(token, &v) == 0 && v >= 0 && v <= INT32_MAX)
				line = json_object_new_int((int32_t)v);
			else
				line = json_object_new_string(token);
			if (!line || json_object_array_add(j, line) < 0) {
				json_object_put(line);
				return log_oom();
			}
		}
		break;
	}
	default:
		return -EINVAL;
	}
	if (!j)
		return log_oom();
	*ret = TAKE_PTR(j);
	return 0;
}

/* {"blink": {...}}, {"cycle": {...}} or {"on": {...}} from the options. */
static int kind_program_new(const ProgramOptions *o, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *root = NULL, *body = NULL;
	json_object *lines = NULL;
	bool on = streq(o->word, "on");
	long long times;
	int r;

	if (o->n_selections == 0)
		return client_usage_error("%s needs lines: --row N, --col N, --lines LIST or --all; "
					  "to start a definition named %s: --program "
					  "'call(%s)'",
					  o->word, o->word, o->word);
	if (on && (o->interval || o->times))
		return client_usage_error("--interval and --times do not apply to on.");
	if (!on && o->duration)
		return client_usage_error("--for applies to on only.");

	body = json_object_new_object();
	if (!body)
		return log_oom();
	r = lines_new(o, &lines);
	if (r != 0)
		return r;
	if (json_object_object_add(body, "lines", lines) < 0)
		return json_object_put(lines), log_oom();

	if (!on) {
		if (json_object_object_add(body, "interval",
					   duration_new(o->interval ?: DEFAULT_INTERVAL)) < 0)
			return log_oom();
		if (o->times) {
			if (parse_integer(o->times, &times) < 0)
				return client_usage_error("--times: \"%s\" is not a number.",
							  o->times);
			if (json_object_object_add(body, "times", json_object_new_int64(times)) < 0)
				return log_oom();
		}
	} else if (o->duration) {
		if (json_object_object_add(body, "for", duration_new(o->duration)) < 0)
			return log_oom();
	}

	root = json_object_new_object();
	if (!root || json_object_object_add(root, o->word, TAKE_PTR(body)) < 0)
		return log_oom();
	*ret = TAKE_PTR(root);
	return 0;
}

int program_options_build(const ProgramOptions *o, const char **ret_name, char **ret_text)
{
	_cleanup_(json_object_putp) json_object *root = NULL;
	const char *name, *text;
	char *copy;
	int r;

	if (o->program && o->file)
		return client_usage_error("Give the program with --program or --file, not both.");
	if (o->n_selections > 1)
		return client_usage_error("Give the lines once: --row, --col, --lines or --all.");

	if (o->program || o->file) {
		if (o->n_selections > 0 || o->interval || o->times || o->duration)
			return client_usage_error("--program and --file give the whole program; "
						  "--row, --col, --lines, --all, --interval, "
						  "--times and --for do not apply.");
		name = o->name ?: o->word;
		if (!name)
			return client_usage_error(
				"A name is needed: NAME --program PROGRAM, or --name.");
		if (!program_name_is_valid(name)) {
			log_error("Invalid name \"%s\": names are 1-64 of A-Z a-z 0-9 _ . -", name);
			return EXIT_STATUS_INVALID;
		}
		r = program_text_read(o->program, o->file, ret_text);
		if (r != 0)
			return r;
		*ret_name = name;
		return 0;
	}

	if (!o->word)
		return client_usage_error("Which program? blink, cycle, on, or a definition's name.");
	name = o->name ?: o->word;

	if (is_kind(o->word)) {
		r = kind_program_new(o, &root);
		if (r != 0)
			return r;
	} else {
		if (o->n_selections > 0 || o->interval || o->times || o->duration)
			return client_usage_error("\"%s\" is not blink, cycle or on: started as a "
						  "definition, it takes no --row, --col, --lines, "
						  "--all, --interval, --times or --for.",
						  o->word);
		if (!program_name_is_valid(o->word)) {
			log_error("Invalid definition name \"%s\": names are 1-64 of A-Z a-z 0-9 _ . -",
				  o->word);
			return EXIT_STATUS_INVALID;
		}
		root = json_object_new_object();
		if (!root ||
		    json_object_object_add(root, "call", json_object_new_string(o->word)) < 0)
			return log_oom();
	}

	if (!program_name_is_valid(name)) {
		log_error("Invalid name \"%s\": names are 1-64 of A-Z a-z 0-9 _ . -", name);
		return EXIT_STATUS_INVALID;
	}

	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	copy = text ? strdup(text) : NULL;
	if (!copy)
		return log_oom();
	*ret_name = name;
	*ret_text = copy;
	return 0;
}

int program_text_read(const char *program, const char *file, char **ret)
{
	_cleanup_(freep) char *buf = NULL;
	FILE *f;
	size_t n = 0, size = 0;
	bool is_stdin;

	if (program) {
		buf = strdup(program);
		if (!buf)
			return log_oom();
		*ret = TAKE_PTR(buf);
		return 0;
	}

	is_stdin = streq(file, "-");
	f = is_stdin ? stdin : fopen(file, "re");
	if (!f)
		return log_error_errno(negative_errno(), "Failed to open %s: %m", file);

	/* Read one byte past the limit, so that the parser can say the text is too long. */
	for (;;) {
		size_t got;

		if (n == size) {
			char *grown;

			if (size > PROGRAM_TEXT_MAX)
				break;
			size = size ? size * 2 : 4096;
			grown = realloc(buf, size + 1);
			if (!grown) {
				if (!is_stdin)
					fclose(f);
				return log_oom();
			}
			buf = grown;
		}
		got = fread(buf + n, 1, size - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		int r = negative_errno();
		if (!is_stdin)
			fclose(f);
		return log_error_errno(r, "Failed to read %s: %m", is_stdin ? "standard input" : file);
	}
	if (!is_stdin)
		fclose(f);
	if (!buf) {
		buf = strdup("");
		if (!buf)
			return log_oom();
	}
	buf[n] = '\0';

	if (memchr(buf, '\0', n)) {
		log_error("%s contains a NUL byte: a program is text.",
			  is_stdin ? "Standard input" : file);
		return EXIT_STATUS_INVALID;
	}
	*ret = TAKE_PTR(buf);
	return 0;
}

int program_text_check(const char *text, const Layout *layout, unsigned flags, bool text_form,
		       char **ret_canonical)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	ProgramError error = {};
	int r;

	r = program_parse(text, layout, flags, &p, &error);
	if (r == -EINVAL && error.line > 0) {
		/* The text form: the place first, as compilers put it. */
		log_error("%s: %s", error.path, error.message);
		return EXIT_STATUS_INVALID;
	}
	if (r == -EINVAL)
		return client_report_program_error(error.path, error.message);
	if (r < 0)
		return log_error_errno(r, "Failed to parse the program: %m");

	if (ret_canonical) {
		*ret_canonical = text_form ? program_format_text(p) : program_format(p);
		if (!*ret_canonical)
			return log_oom();
	}
	return 0;
}

int program_text_check_on_daemon(Client *c, const char *text)
{
	_cleanup_(layout_freep) Layout *layout = NULL;
	int r;

	r = client_get_layout(c, &layout);
	if (r != 0)
		return r;
	return program_text_check(text, layout, PROGRAM_PARSE_NAMES_UNCHECKED, false, NULL);
}

enum {
	OPTION_PROGRAM = CLIENT_OPTION_VERB_FIRST,
	OPTION_FILE,
};

bool program_source_parse(int argc, char **argv, Client *c, const char *help,
			  const char **ret_program, const char **ret_file, int *ret_status)
{
	static const struct option options[] = {
		{ "program", required_argument, NULL, OPTION_PROGRAM },
		{ "file", required_argument, NULL, OPTION_FILE },
		CLIENT_COMMON_OPTIONS,
		{},
	};
	const char *program = NULL, *file = NULL;
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0) {
		switch (opt) {
		case OPTION_PROGRAM:
			program = optarg;
			break;
		case OPTION_FILE:
			file = optarg;
			break;
		default:
			if (client_parse_common_option(c, opt, optarg, help, ret_status))
				return true;
		}
	}
	*ret_program = program;
	*ret_file = file;
	return false;
}

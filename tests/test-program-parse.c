/* SPDX-License-Identifier: MIT */
/*
 * program_parse(): the choice between the two forms (program-parse.c), and
 * the JSON form read from text (program_parse_json_text()). The rules of
 * each form are tested in test-program.c and test-program-text.c.
 */
#include <errno.h>
#include <stdlib.h>

#include "program-text.h"
#include "program.h"
#include "test.h"

static Layout *layout;

/* The canonical JSON of @text parsed by program_parse(), or NULL with @e filled. */
static char *canonical(const char *text, ProgramError *e)
{
	_cleanup_(program_unrefp) Program *p = NULL;

	memset(e, 0xa5, sizeof(*e));
	if (program_parse(text, layout, 0, &p, e) < 0)
		return NULL;
	return program_format(p);
}

static void test_both_forms_one_program(void)
{
	ProgramError e;
	_cleanup_(freep) char *json =
	    canonical("{\"blink\":{\"lines\":{\"col\":1},\"interval\":\"300ms\"}}", &e);
	_cleanup_(freep) char *text = canonical("blink(col 1, 300ms)", &e);
	_cleanup_(freep) char *spaced =
	    canonical(" \t\r\n{\"blink\":{\"lines\":{\"col\":1},\"interval\":\"300ms\"}}", &e);

	check_str(json, "{\"blink\":{\"lines\":{\"col\":1},\"interval\":\"300ms\"}}");
	check_str(text, json);
	check_str(spaced, json);
}

static void test_errors_name_their_form(void)
{
	ProgramError e;
	char *out;

	/* JSON: a JSON path, no line. */
	out = canonical("{\"wait\":\"2d\"}", &e);
	check(!out);
	check_str(e.path, "$.wait");
	check_str(e.message, "must be between 100us and 1d");
	check_int(e.line, 0);
	check_int(e.column, 0);

	/* The text form: a line and a column. */
	out = canonical("wait(2d)", &e);
	check(!out);
	check_str(e.path, "line 1, column 6");
	check_str(e.message, "must be between 100us and 1d");
	check_int(e.line, 1);
	check_int(e.column, 6);

	/* A text-form program is no JSON: only program_parse() takes both. */
	{
		_cleanup_(program_unrefp) Program *p = NULL;

		memset(&e, 0xa5, sizeof(e));
		check_int(program_parse_json_text("wait(2s)", layout, 0, &p, &e), -EINVAL);
		check_str(e.path, "$");
		check_int(e.line, 0);
		check(!p);
	}

	/* No error wanted: none written, in either form. */
	{
		_cleanup_(program_unrefp) Program *p = NULL;

		check_int(program_parse("{\"wait\":", layout, 0, &p, NULL), -EINVAL);
		check_int(program_parse("wait(", layout, 0, &p, NULL), -EINVAL);
		check_int(program_parse("{\"wait\":\"2s\"}", layout, 0, &p, NULL), 0);
		check_int(p->duration, 2 * USEC_PER_SEC);
	}
}

static void test_json_limits(void)
{
	_cleanup_(freep) char *big = malloc(PROGRAM_TEXT_MAX + 2);
	_cleanup_(freep) char *deep = NULL;
	const char *head = "{\"wait\":\"1s\"";
	ProgramError e;
	char *out;
	size_t len;

	check(big);
	if (!big)
		return;
	/* PROGRAM_TEXT_MAX bytes are taken, one more is not. */
	memset(big, ' ', PROGRAM_TEXT_MAX + 1);
	memcpy(big, head, strlen(head));
	big[PROGRAM_TEXT_MAX - 1] = '}';
	big[PROGRAM_TEXT_MAX] = '\0';
	out = canonical(big, &e);
	check_str(out, "{\"wait\":\"1s\"}");
	free(out);
	big[PROGRAM_TEXT_MAX - 1] = ' ';
	big[PROGRAM_TEXT_MAX] = '}';
	big[PROGRAM_TEXT_MAX + 1] = '\0';
	check(!canonical(big, &e));
	check_str(e.path, "$");
	check_str(e.message, "program text is longer than 65536 bytes");

	/*
	 * Nested past two JSON levels a program level: refused by the JSON reader,
	 * before the program is walked, at "$".
	 */
	len = 70 * strlen("{\"forever\":") + strlen("{\"wait\":\"1s\"}") + 70 + 1;
	deep = calloc(1, len);
	check(deep);
	if (!deep)
		return;
	for (int i = 0; i < 70; i++)
		strcat(deep, "{\"forever\":");
	strcat(deep, "{\"wait\":\"1s\"}");
	for (int i = 0; i < 70; i++)
		strcat(deep, "}");
	check(!canonical(deep, &e));
	check_str(e.path, "$");
	check_str(e.message, "nesting deeper than 32");

	/* JSON that does not parse: where it stopped. */
	check(!canonical("{\"wait\":\"1s\",}", &e));
	check_int(e.line, 0);
	check(strncmp(e.path, "$", 1) == 0);
}

int main(void)
{
	check_int(layout_new_default(&layout), 0);
	check_int(layout_name_unnamed_lines(layout), 0);

	test_both_forms_one_program();
	test_errors_name_their_form();
	test_json_limits();

	layout = layout_free(layout);
	return test_summary("test-program-parse");
}

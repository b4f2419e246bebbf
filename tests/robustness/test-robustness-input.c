/* SPDX-License-Identifier: MIT */
/*
 * Bad input over D-Bus: malformed JSON, malformed programs in the text form,
 * a 10 MiB program, nesting 10,000 deep, 100,000 nodes, wrong argument
 * types, bad names, bad durations, unknown lines, a call of an undefined
 * name, call cycles made with Define, and the 1025th program. Each is
 * answered with its error (io.blinkd1.Error.*, or
 * org.freedesktop.DBus.Error.InvalidArgs for wrong argument types), and none
 * changes what runs: List, ListDefinitions, the program objects and the trace
 * are as before. The daemon answers, and runs new programs, after all of
 * them.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "robustness.h"

#define CONFIG "{\"definitions\": {\"cfgdef\": {\"on\": {\"lines\": [4]}}}}"
#define STEADY "{\"on\":{\"lines\":[11,10]}}"
#define VALID "{\"on\":{\"lines\":[27]}}"
#define INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"

/* What blinkd runs and has written, and the objects it exports. */
typedef struct State {
	Snapshot snapshot;
	char *objects;
} State;

static void state_take(Client *c, State *s)
{
	snapshot_take(c, &s->snapshot);
	s->objects = client_managed_objects(c);
	if (!s->snapshot.list || !s->snapshot.definitions || !s->snapshot.trace || !s->objects)
		harness_fatal("cannot read the daemon's state");
}

static void state_done(State *s)
{
	snapshot_done(&s->snapshot);
	free(s->objects);
	s->objects = NULL;
}

/* Nothing changed since @before: List, ListDefinitions, trace, objects. */
static void check_state(Client *c, const State *before)
{
	_cleanup_(freep) char *objects = NULL;

	check_unchanged(c, &before->snapshot);
	objects = client_managed_objects(c);
	check_str(objects, before->objects);
}

/* Per scenario: how many calls were made, and the slowest answer. */
static struct {
	unsigned calls;
	usec_t slowest;
} tally;

static void tally_reset(void)
{
	tally.calls = 0;
	tally.slowest = 0;
}

/*
 * A bad call was taken: undo what it did, so that the cases after it are
 * judged on their own, and take the state as it now is.
 */
static void undo(Client *c, State *before, const char *method, const char *name,
		 const char *program)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;

	fprintf(stderr, "    (taken: %s(\"%s\", ...); undone)\n", method, name);
	if (!strstr(figures.note, program))
		figure_note("TAKEN: `%.60s` (by %s).", program, method);
	if (streq(method, "Define"))
		(void)client_call(c, "Undefine", &error, NULL, "s", name);
	else if (streq(name, "steady"))
		(void)client_call(c, "Replace", &error, NULL, "ss", name, STEADY);
	else
		(void)client_call(c, "Stop", &error, NULL, "s", name);
	sd_bus_error_free(&error);
	state_done(before);
	state_take(c, before);
}

/*
 * Call @method(@name, @program): refused with @want (its message containing
 * @part, when not NULL), and nothing changed.
 */
static void refused(Client *c, State *before, const char *method, const char *name,
		    const char *program, const char *want, const char *part)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	usec_t t0 = now_usec(CLOCK_MONOTONIC), took;
	int failures = test_failures, r;

	r = client_call(c, method, &error, NULL, "ss", name, program);
	took = now_usec(CLOCK_MONOTONIC) - t0;
	if (took > tally.slowest)
		tally.slowest = took;
	tally.calls++;
	check_error(r, &error, want);
	if (part)
		check_contains(error.message, part);
	/* A message a person can act on. */
	check(r >= 0 || (error.message && *error.message));
	if (test_failures > failures && strlen(program) < 200)
		fprintf(stderr, "    (%s(\"%s\", \"%s\"))\n", method, name, program);
	sd_bus_error_free(&error);
	if (r >= 0)
		undo(c, before, method, name, program);
	else
		check_state(c, before);
}

/* Where a refusal of @program says the error is: a JSON path, or a line in the text form. */
static const char *place_part(const char *program)
{
	program += strspn(program, " \t\n\r");
	return *program == '{' ? "$" : "line ";
}

/* @program refused as InvalidProgram by Start, Replace (a running and a new name) and Define. */
static void refused_program(Client *c, State *before, const char *program, const char *part)
{
	refused(c, before, "Start", "x", program, BLINKD_ERROR_INVALID_PROGRAM, part);
	refused(c, before, "Replace", "steady", program, BLINKD_ERROR_INVALID_PROGRAM, part);
	refused(c, before, "Replace", "x", program, BLINKD_ERROR_INVALID_PROGRAM, part);
	refused(c, before, "Define", "x", program, BLINKD_ERROR_INVALID_PROGRAM, part);
}

static void test_malformed_json(Client *c, State *before)
{
	/* Not JSON (RFC 8259). */
	static const char *const syntax[] = {
		"",
		" ",
		"{",
		"}",
		"[",
		"{\"on\":{\"lines\":[11]}",
		"{\"on\":{\"lines\":[11]}}}",
		"{\"on\":{\"lines\":[11],}}",
		"{'on':{'lines':[11]}}",
		"{on:{lines:[11]}}",
		"{\"on\":{\"lines\":[11]}} trailing",
		"{\"on\":{\"lines\":[11]}}{\"wait\":1}",
		"/* comment */ {\"wait\":1}",
		"{\"wait\":1} // comment",
		"{\"wait\":01}",
		"{\"wait\":.5}",
		"{\"wait\":-.5}",
		"{\"wait\":1.}",
		"{\"wait\":1.e1}",
		"{\"wait\":+1}",
		"{\"wait\":0x10}",
		"{\"wait\":1e}",
		"{\"wait\":\"1s}",
		"{\"wait\":\"1s\x01\"}",
		"{\"on\":{\"lines\":[11]}\x01}",
		"{\"on\":{\"lines\":[tru]}}",
	};
	/* JSON, but no program. */
	static const char *const shapes[] = {
		"null",
		"true",
		"42",
		"\"on\"",
		"[]",
		"{}",
		"{\"on\":null}",
		"{\"bogus\":{}}",
		"{\"on\":{\"lines\":[11]},\"wait\":1}",
		"{\"on\":{\"lines\":[11],\"colour\":\"red\"}}",
		"{\"sequence\":[]}",
		"{\"repeat\":{\"times\":0,\"program\":{\"wait\":1}}}",
	};

	figure_mark();
	tally_reset();
	for (size_t i = 0; i < ELEMENTSOF(syntax); i++)
		refused_program(c, before, syntax[i], place_part(syntax[i]));
	for (size_t i = 0; i < ELEMENTSOF(shapes); i++)
		refused_program(c, before, shapes[i], place_part(shapes[i]));
	figure("malformed JSON (%zu texts: syntax errors, comments, trailing text, control "
	       "characters, numbers such as 01, .5, -.5, 1., 1.e1, +1, 0x10), and JSON that is no "
	       "program (%zu texts) | "
	       "InvalidProgram, its message naming the place (\"$...\"; \"line 1, column C\" "
	       "for the texts that do not start with \"{\", which are read in the text form), via "
	       "Start, Replace (running and new name) and Define (%u calls); nothing changed",
	       ELEMENTSOF(syntax), ELEMENTSOF(shapes), tally.calls);
}

/* @n copies of @unit between @head and @tail, with @sep between them. */
static char *repeat_text(const char *head, const char *unit, const char *sep, size_t n,
			 const char *tail)
{
	size_t lu = strlen(unit), ls = strlen(sep), lh = strlen(head), lt = strlen(tail);
	char *text = malloc(lh + n * (lu + ls) + lt + 1), *p;

	if (!text)
		harness_fatal("out of memory");
	p = text;
	memcpy(p, head, lh);
	p += lh;
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			memcpy(p, sep, ls);
			p += ls;
		}
		memcpy(p, unit, lu);
		p += lu;
	}
	memcpy(p, tail, lt);
	p += lt;
	*p = '\0';
	return text;
}

static void test_malformed_text(Client *c, State *before)
{
	/* The text form: syntax, then the rules of the language. */
	static const char *const texts[] = {
		"blink(",
		"blink(col 0",
		"blink(col 0, 300ms,)",
		"blink col 0, 300ms",
		"on(row)",
		"on([11,])",
		"on([11 10])",
		"on({\"row\": 1})",
		"on('GPIO11')",
		"on(\"GPIO11",
		"on(\"GPIO\\x11\")",
		"on(\"GPIO11\\u0000\")",
		"on(\"\\ud800\")",
		"on(\"\t\")",
		"wait(2)",
		"wait(5parsecs)",
		"wait(1s) trailing",
		"wait(1s) wait(1s)",
		"flash(1s)",
		"blink(11, 1s, 2.5)",
		"blink(11, 1s, 99999999999999999999)",
		"sequence()",
		"\x01",
		"blink(col 5, 300ms)",
		"on(row -1)",
		"wait(2d)",
		"wait(99us)",
		"on([11, 11])",
		"on(19)",
		"on(GPIO99)",
		"on([])",
		"call(\"a/b\")",
		"repeat(0, wait(1s))",
		"sequence(wait(1s),\n  on(row 9))",
	};
	_cleanup_(freep) char *deep = NULL, *big = NULL;
	size_t depth = 64 * 1024 / 8 - 1;

	figure_mark();
	tally_reset();
	for (size_t i = 0; i < ELEMENTSOF(texts); i++)
		refused_program(c, before, texts[i], "line ");
	/* 8,000 levels open, just under the size limit; and 10 MiB. */
	deep = repeat_text("", "forever(", "", depth, "");
	refused_program(c, before, deep, "line 1, column 257: nesting deeper than 32");
	big = repeat_text("all(", "on(11)", ", ", 10 * 1024 * 1024 / 8, ")");
	refused_program(c, before, big, "longer than 65536 bytes");
	figure("malformed programs in the text form (%zu texts: unfinished, a missing or extra "
	       "argument, a \",\" too many, bad strings and escapes, a duration without its unit, "
	       "trailing text; a row, duration, count or line the rules refuse), 8,000 levels of "
	       "\"forever(\" (64 KB), and a 10 MiB \"all\" | "
	       "InvalidProgram, its message naming line and column (\"line 2, column 6: row 9 is "
	       "out of range ...\") via Start, Replace (running and new name) and Define (%u "
	       "calls); slowest answer %.1f ms; nothing changed",
	       ELEMENTSOF(texts), tally.calls, (double)tally.slowest / MS);
}

static void test_huge(Client *c, State *before)
{
	_cleanup_(freep) char *big = NULL, *deep_arrays = NULL, *deep_programs = NULL;
	_cleanup_(freep) char *nodes = NULL, *nodes_small = NULL, *many_lines = NULL;
	_cleanup_(freep) char *open = NULL, *depth33 = NULL;
	size_t size;

	/* 10 MiB: a well-formed "all" of 10 MiB / 22 bytes programs. */
	figure_mark();
	tally_reset();
	big = repeat_text("{\"all\":[", "{\"on\":{\"lines\":[11]}}", ",", 10 * 1024 * 1024 / 22,
			  "]}");
	size = strlen(big);
	check(size >= 10 * 1024 * 1024 - 64);
	refused_program(c, before, big, "longer than");
	figure("a 10 MiB program (a well-formed \"all\" of 476,000 programs) | "
	       "InvalidProgram (\"program text is longer than 65536 bytes\") via Start, Replace "
	       "and Define; slowest answer %.1f ms; nothing changed",
	       (double)tally.slowest / MS);

	/* 10,000 deep: as JSON arrays (20 KB, within the size limit), and as programs. */
	figure_mark();
	tally_reset();
	open = repeat_text("", "[", "", 10000, "");
	deep_arrays = malloc(strlen(open) * 2 + 32);
	if (!deep_arrays)
		harness_fatal("out of memory");
	strcpy(deep_arrays, "{\"sequence\":");
	strcat(deep_arrays, open);
	memset(deep_arrays + strlen(deep_arrays), ']', 10000);
	deep_arrays[12 + 20000] = '\0';
	strcat(deep_arrays, "}");
	refused_program(c, before, deep_arrays, "nesting deeper than");
	free(TAKE_PTR(open));
	open = repeat_text("", "{\"forever\":", "", 10000, "{\"wait\":1}");
	deep_programs = malloc(strlen(open) + 10001);
	if (!deep_programs)
		harness_fatal("out of memory");
	strcpy(deep_programs, open);
	memset(deep_programs + strlen(open), '}', 10000);
	deep_programs[strlen(open) + 10000] = '\0';
	refused_program(c, before, deep_programs, NULL);
	/* Just over the limit and small: the depth rule itself, with its path. */
	free(TAKE_PTR(open));
	open = repeat_text("", "{\"forever\":", "", 33, "{\"wait\":1}");
	depth33 = malloc(strlen(open) + 34);
	if (!depth33)
		harness_fatal("out of memory");
	strcpy(depth33, open);
	memset(depth33 + strlen(open), '}', 33);
	depth33[strlen(open) + 33] = '\0';
	refused_program(c, before, depth33, "nesting deeper than 32");
	figure("nesting 10,000 deep: JSON arrays (20 KB), \"forever\" programs (120 KB); and 34 "
	       "deep (450 bytes) | "
	       "InvalidProgram (\"nesting deeper than 32\", or the size limit) via Start, "
	       "Replace and Define; slowest answer %.1f ms; nothing changed",
	       (double)tally.slowest / MS);

	/* 100,000 nodes (1.1 MB), 5000 nodes (55 KB, under the size limit), 100,000 lines. */
	figure_mark();
	tally_reset();
	nodes = repeat_text("{\"all\":[", "{\"wait\":1}", ",", 100000, "]}");
	refused_program(c, before, nodes, NULL);
	nodes_small = repeat_text("{\"all\":[", "{\"wait\":1}", ",", 5000, "]}");
	check(strlen(nodes_small) < 64 * 1024);
	refused_program(c, before, nodes_small, "more than 4096");
	many_lines = repeat_text("{\"on\":{\"lines\":[", "11", ",", 100000, "]}}");
	refused_program(c, before, many_lines, NULL);
	figure("100,000 nodes (1.1 MB); 5,000 nodes (55 KB); a list of 100,000 lines | "
	       "InvalidProgram (size limit, or \"more than 4096 programs\") via Start, Replace "
	       "and Define; slowest answer %.1f ms; nothing changed",
	       (double)tally.slowest / MS);
}

/* A call of Manager.@method with @types and arguments the method does not take. */
static void wrong_types(Client *c, State *before, const char *method, const char *types,
			...)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	va_list ap;
	int failures = test_failures, r;

	r = sd_bus_message_new_method_call(c->bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, method);
	if (r < 0)
		harness_fatal("sd_bus_message_new_method_call: %s", strerror(-r));
	va_start(ap, types);
	r = types ? sd_bus_message_appendv(m, types, ap) : 0;
	va_end(ap);
	if (r < 0)
		harness_fatal("sd_bus_message_appendv(%s): %s", types, strerror(-r));
	r = sd_bus_call(c->bus, m, 0, &error, NULL);
	tally.calls++;
	check_error(r, &error, INVALID_ARGS);
	if (test_failures > failures)
		fprintf(stderr, "    (%s with \"%s\")\n", method, types ? types : "");
	sd_bus_error_free(&error);
	check_state(c, before);
}

static void test_wrong_types(Client *c, State *before)
{
	figure_mark();
	tally_reset();
	wrong_types(c, before, "Start", "si", "x", 11);
	wrong_types(c, before, "Start", NULL);
	wrong_types(c, before, "Start", "s", "x");
	wrong_types(c, before, "Start", "sss", "x", VALID, "extra");
	wrong_types(c, before, "Start", "is", 1, VALID);
	wrong_types(c, before, "Start", "ay", 3, 'a', 'b', 'c');
	wrong_types(c, before, "Start", "(ss)", "x", VALID);
	wrong_types(c, before, "Start", "sv", "x", "s", VALID);
	wrong_types(c, before, "Start", "so", "x", "/io/blinkd1");
	wrong_types(c, before, "Replace", "ii", 1, 2);
	wrong_types(c, before, "Replace", NULL);
	wrong_types(c, before, "Stop", "i", 1);
	wrong_types(c, before, "Stop", NULL);
	wrong_types(c, before, "Stop", "ss", "steady", "steady");
	wrong_types(c, before, "StopAll", "s", "steady");
	wrong_types(c, before, "List", "b", 1);
	wrong_types(c, before, "Define", "sa{sv}", "x", 0);
	wrong_types(c, before, "Undefine", "as", 1, "cfgdef");
	wrong_types(c, before, "ListDefinitions", "u", 7);
	wrong_types(c, before, "Subscribe", "s", "x");
	figure("wrong argument types: Start with \"si\", with no arguments, with \"sss\", "
	       "\"ay\", \"(ss)\", \"sv\" ...; Stop with \"i\", StopAll with \"s\", Undefine "
	       "with \"as\" ... | "
	       "org.freedesktop.DBus.Error.InvalidArgs for each (%u calls); nothing changed",
	       tally.calls);
}

static void test_names(Client *c, State *before)
{
	char name65[66];
	const char *names[] = {
		"", "a/b", "/", "has space", " ", name65, "tab\there", "new\nline", "caf\xc3\xa9",
		"semi;colon", "star*", "dollar$", "quote\"", "back\\slash", "\xe2\x80\x8b",
	};
	static const char *const methods[] = { "Start", "Replace", "Define" };

	memset(name65, 'n', 65);
	name65[65] = '\0';
	figure_mark();
	tally_reset();
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		for (size_t j = 0; j < ELEMENTSOF(methods); j++)
			refused(c, before, methods[j], names[i], VALID, BLINKD_ERROR_INVALID_NAME,
				NULL);

	/* Stop and Undefine: nothing runs or is defined under such a name. */
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		sd_bus_error error = SD_BUS_ERROR_NULL;
		int r;

		r = client_call(c, "Stop", &error, NULL, "s", names[i]);
		tally.calls++;
		check(r < 0 && error.name &&
		      (streq(error.name, BLINKD_ERROR_NOT_RUNNING) ||
		       streq(error.name, BLINKD_ERROR_INVALID_NAME)));
		sd_bus_error_free(&error);
		r = client_call(c, "Undefine", &error, NULL, "s", names[i]);
		tally.calls++;
		check(r < 0 && error.name &&
		      (streq(error.name, BLINKD_ERROR_NOT_DEFINED) ||
		       streq(error.name, BLINKD_ERROR_INVALID_NAME)));
		sd_bus_error_free(&error);
		check_state(c, before);
	}
	figure("names: empty, \"a/b\", \"/\", spaces, 65 characters, tab, newline, non-ASCII, "
	       "\";\", \"*\", \"$\", quote, backslash, zero-width space (15 names) | "
	       "InvalidName from Start, Replace and Define; NotRunning or InvalidName from Stop, "
	       "NotDefined or InvalidName from Undefine (%u calls); nothing changed",
	       tally.calls);
}

static void test_durations(Client *c, State *before)
{
	static const char *const values[] = {
		"0", "-1", "NaN", "\"NaN\"", "1e308", "\"5 parsecs\"", "\"0s\"", "\"-1s\"",
		"\"1e308s\"", "Infinity", "-Infinity", "\"inf\"", "1e-9", "0.00001", "\"50us\"",
		"\"25h\"", "86401", "\"\"", "\"s\"", "\"1 s\"", "\" 1s\"", "\"1s \"", "\"0x10s\"",
		"\"1e3s\"", "\"18446744073709551615s\"", "18446744073709551616", "true", "null",
		"[1]", "{}",
	};
	/* Every place a duration goes: the text before and after the value. */
	static const struct {
		const char *before, *after;
		const char *path;
	} places[] = {
		{ "{\"blink\":{\"lines\":[11],\"interval\":", "}}", "$.blink.interval" },
		{ "{\"cycle\":{\"lines\":[11,10],\"interval\":", "}}", "$.cycle.interval" },
		{ "{\"on\":{\"lines\":[11],\"for\":", "}}", "$.on.for" },
		{ "{\"wait\":", "}", "$.wait" },
		{ "{\"sequence\":[{\"wait\":1},{\"wait\":", "}]}", "$.sequence[1].wait" },
	};

	figure_mark();
	tally_reset();
	for (size_t i = 0; i < ELEMENTSOF(values); i++)
		for (size_t j = 0; j < ELEMENTSOF(places); j++) {
			_cleanup_(freep) char *program = NULL;
			/* NaN and Infinity are not JSON: refused before there is a path. */
			bool json = !strstr(values[i], "NaN") || values[i][0] == '"';
			bool infinity = strstr(values[i], "Infinity") != NULL;

			if (asprintf(&program, "%s%s%s", places[j].before, values[i],
				     places[j].after) < 0)
				harness_fatal("out of memory");
			refused_program(c, before, program,
					json && !infinity ? places[j].path : "invalid JSON");
		}
	figure("durations 0, -1, NaN (JSON text and string), 1e308, \"5 parsecs\", and 24 more "
	       "(\"0s\", \"-1s\", Infinity, 10us, 25h, \"1 s\", \"0x10s\", 2^64 s, true, null, "
	       "...) in blink and cycle intervals, on's \"for\", wait | "
	       "InvalidProgram naming the JSON path (\"$.blink.interval\", ...) or \"invalid "
	       "JSON\" (%u calls); nothing changed",
	       tally.calls);
}

static void test_lines(Client *c, State *before)
{
	static const char *const lines[] = {
		"[19]", "[\"GPIO99\"]", "[21,11]", "[26]", "[-1]", "[65536]", "[4294967296]",
		"[18446744073709551616]", "[\"gpio11\"]", "[\"\"]", "[11.5]", "[true]", "[null]",
		"[[11]]", "[]", "{\"row\":5}", "{\"col\":-1}", "{\"row\":1,\"col\":1}",
		"{\"line\":1}", "\"none\"", "\"ALL\"", "11", "[11,11]",
	};

	figure_mark();
	tally_reset();
	for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
		_cleanup_(freep) char *on = NULL, *blink = NULL;

		if (asprintf(&on, "{\"on\":{\"lines\":%s}}", lines[i]) < 0 ||
		    asprintf(&blink, "{\"blink\":{\"lines\":%s,\"interval\":1}}", lines[i]) < 0)
			harness_fatal("out of memory");
		refused_program(c, before, on, "$.on.lines");
		refused_program(c, before, blink, "$.blink.lines");
	}
	figure("unknown lines: offset 19 (not in the layout), name \"GPIO99\", -1, 65536, 2^32, "
	       "\"gpio11\", \"\", 11.5, row 5 of 5, column -1, a line twice ... (23 forms) | "
	       "InvalidProgram naming \"$.on.lines\" or \"$.blink.lines\" (%u calls); nothing "
	       "changed",
	       tally.calls);
}

static void test_calls(Client *c, State *before)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	/* A call of a name that is not defined: at the top, deep inside, in each composite. */
	figure_mark();
	tally_reset();
	refused(c, before, "Start", "x", "{\"call\":\"nosuch\"}", BLINKD_ERROR_NOT_DEFINED,
		"nosuch");
	refused(c, before, "Replace", "steady", "{\"call\":\"nosuch\"}", BLINKD_ERROR_NOT_DEFINED,
		"nosuch");
	refused(c, before, "Start", "x",
		"{\"sequence\":[{\"wait\":1},{\"forever\":{\"all\":[{\"on\":{\"lines\":[2]}},"
		"{\"any\":[{\"wait\":1},{\"call\":\"deep\"}]}]}}]}",
		BLINKD_ERROR_NOT_DEFINED, "deep");
	refused(c, before, "Start", "x",
		"{\"repeat\":{\"times\":3,\"program\":{\"call\":\"cfgdef2\"}}}",
		BLINKD_ERROR_NOT_DEFINED, "cfgdef2");
	figure("a call of an undefined name: at the top, 5 levels deep, inside repeat; by Start "
	       "and by Replace of a running program | "
	       "NotDefined naming the missing name (%u calls); nothing changed", tally.calls);

	/* Cycles through Define: two, three and one definitions, and by redefining one. */
	figure_mark();
	tally_reset();
	r = client_call(c, "Define", &error, NULL, "ss", "cyc_a", "{\"call\":\"cyc_b\"}");
	check_ok(r, &error);
	r = client_call(c, "Define", &error, NULL, "ss", "cyc_b",
			"{\"sequence\":[{\"wait\":\"1s\"},{\"call\":\"cyc_c\"}]}");
	check_ok(r, &error);
	r = client_call(c, "Define", &error, NULL, "ss", "cyc_c", "{\"wait\":\"1s\"}");
	check_ok(r, &error);
	sd_bus_error_free(&error);
	state_done(before);
	state_take(c, before);

	refused(c, before, "Define", "cyc_c", "{\"call\":\"cyc_a\"}", BLINKD_ERROR_INVALID_PROGRAM,
		"cycle");
	refused(c, before, "Define", "cyc_c",
		"{\"all\":[{\"on\":{\"lines\":[2]}},{\"forever\":{\"call\":\"cyc_b\"}}]}",
		BLINKD_ERROR_INVALID_PROGRAM, "cycle");
	refused(c, before, "Define", "cyc_b", "{\"call\":\"cyc_a\"}", BLINKD_ERROR_INVALID_PROGRAM,
		"cycle");
	refused(c, before, "Define", "self", "{\"call\":\"self\"}", BLINKD_ERROR_INVALID_PROGRAM,
		"self");
	refused(c, before, "Define", "self",
		"{\"any\":[{\"wait\":1},"
		"{\"repeat\":{\"times\":2,\"program\":{\"call\":\"self\"}}}]}",
		BLINKD_ERROR_INVALID_PROGRAM, "self");
	/* The refused redefinitions left cyc_c as it was: the chain still runs. */
	r = client_start(c, "chain", "{\"call\":\"cyc_a\"}", &error, NULL);
	check_ok(r, &error);
	r = client_call(c, "Stop", &error, NULL, "s", "chain");
	check_ok(r, &error);
	sd_bus_error_free(&error);
	figure("call cycles made with Define: a->b->c->a, c->(all ... forever b), b->a, self, "
	       "self inside any/repeat; the cycle closed by redefining a definition | "
	       "InvalidProgram naming the cycle (%u calls); the definitions stay as they were "
	       "and still run",
	       tally.calls);
}

static void test_limit(Client *c, State *before)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	unsigned started = 1; /* "steady" */
	char name[16];
	int r;

	figure_mark();
	tally_reset();
	for (unsigned i = 1; i < 1024; i++) {
		snprintf(name, sizeof(name), "p%04u", i);
		r = client_start(c, name, "{\"on\":{\"lines\":[12]}}", &error, NULL);
		if (r >= 0)
			started++;
		else if (started == i)
			fprintf(stderr, "Start(%s) failed: %s: %s\n", name, error.name,
				error.message);
		sd_bus_error_free(&error);
	}
	check_int(started, 1024);
	state_done(before);
	state_take(c, before);
	check_int(count_lines(before->snapshot.list), 1024);

	refused(c, before, "Start", "p1024", "{\"on\":{\"lines\":[13]}}",
		BLINKD_ERROR_LIMIT_EXCEEDED, "1024");
	refused(c, before, "Replace", "p1024", "{\"on\":{\"lines\":[13]}}",
		BLINKD_ERROR_LIMIT_EXCEEDED, "1024");
	refused(c, before, "Start", "p1025", "{\"call\":\"cfgdef\"}", BLINKD_ERROR_LIMIT_EXCEEDED,
		NULL);
	/* An invalid one at the limit is still refused for what is wrong with it. */
	refused(c, before, "Start", "p1024", "{\"on\":{\"lines\":[19]}}",
		BLINKD_ERROR_INVALID_PROGRAM, "$.on.lines");
	/* A running name is still Exists, not LimitExceeded. */
	refused(c, before, "Start", "p0001", "{\"on\":{\"lines\":[13]}}", BLINKD_ERROR_EXISTS,
		"p0001");

	r = client_call(c, "StopAll", &error, NULL, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	r = client_start(c, "steady", STEADY, &error, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	figure("the 1025th program (1024 running): Start, Replace of a new name, a call of a "
	       "definition; an invalid one and a running name at the limit | "
	       "LimitExceeded; InvalidProgram and Exists for the last two (%u calls); nothing "
	       "changed",
	       tally.calls);
}

/* After all of it: still up, answering, and running new programs. */
static void test_still_works(Client *c)
{
	_cleanup_(freep) char *list = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Trace t = {};
	int r;

	figure_mark();
	check(harness_daemon_alive());
	r = client_start(c, "after", VALID, &error, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	list = client_list(c, false);
	check_str(list, "after " VALID "\nsteady " STEADY "\n");
	r = trace_read(harness_trace_path(), &t);
	check_int(r, 0);
	check_int(trace_value_after(&t, t.n, 27), 1);
	check_int(trace_value_after(&t, t.n, 11), 1);
	trace_done(&t);
	check_int(harness_stop_daemon(SIGTERM), 0);
	figure("after every bad input above | the daemon is up, answers List, starts a new "
	       "program that lights its line, and exits 0 on SIGTERM");
}

int main(void)
{
	_cleanup_(client_freep) Client *c = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	State before = {};
	int r;

	harness_init();
	figures_begin("test-robustness-input");
	harness_start_daemon(CONFIG);
	c = client_new();

	/* Something runs and something is defined: all of it must stay as it is. */
	r = client_start(c, "steady", STEADY, &error, NULL);
	check_ok(r, &error);
	r = client_call(c, "Define", &error, NULL, "ss", "mine", "{\"wait\":\"1s\"}");
	check_ok(r, &error);
	sd_bus_error_free(&error);
	state_take(c, &before);
	check_contains(before.snapshot.trace, " 11 1\n");
	check_contains(before.snapshot.definitions, "mine ");
	check_contains(before.objects, "/steady\n");

	test_malformed_json(c, &before);
	test_malformed_text(c, &before);
	test_huge(c, &before);
	test_wrong_types(c, &before);
	test_names(c, &before);
	test_durations(c, &before);
	test_lines(c, &before);
	test_calls(c, &before);
	test_limit(c, &before);
	test_still_works(c);

	state_done(&before);
	figures_end();
	return test_summary("test-robustness-input");
}

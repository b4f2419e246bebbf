/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "program.h"
#include "utf8.h"
#include "test.h"

static Layout *layout;

/* Parse @text; on success return its canonical form (malloc'ed), else NULL with @e filled. */
static char *parse_format(const char *text, ProgramError *e)
{
	_cleanup_(program_unrefp) Program *p = NULL;

	memset(e, 0, sizeof(*e));
	if (program_parse(text, layout, 0, &p, e) < 0)
		return NULL;
	return program_format(p);
}

static void check_valid(const char *text, const char *canonical)
{
	ProgramError e;
	_cleanup_(freep) char *out = parse_format(text, &e);
	_cleanup_(freep) char *again = NULL;

	if (!out)
		fprintf(stderr, "unexpected error for %s: %s: %s\n", text, e.path, e.message);
	check_str(out, canonical);
	if (!out)
		return;
	/* Canonical round trip: parse(print(parse(x))) prints the same. */
	again = parse_format(out, &e);
	check_str(again, out);
}

static void check_invalid(const char *text, const char *path, const char *message)
{
	ProgramError e;
	_cleanup_(freep) char *out = parse_format(text, &e);

	if (out)
		fprintf(stderr, "unexpectedly valid: %s\n", text);
	check(out == NULL);
	check_str(e.path, path);
	if (message && strstr(e.message, message) == NULL) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", e.message, message);
		check(false);
	}
}

static void test_valid(void)
{
	check_valid("{\"blink\":{\"lines\":[11],\"interval\":0.5}}",
		    "{\"blink\":{\"lines\":[11],\"interval\":\"500ms\"}}");
	check_valid("{ \"blink\" : { \"times\": 2, \"interval\": \"0.5s\", \"lines\": {\"row\": 0} } }",
		    "{\"blink\":{\"lines\":{\"row\":0},\"interval\":\"500ms\",\"times\":2}}");
	check_valid("{\"cycle\":{\"lines\":{\"col\":4},\"interval\":\"100ms\"}}",
		    "{\"cycle\":{\"lines\":{\"col\":4},\"interval\":\"100ms\"}}");
	check_valid("{\"on\":{\"lines\":\"all\"}}", "{\"on\":{\"lines\":\"all\"}}");
	check_valid("{\"on\":{\"lines\":[\"GPIO17\", 3],\"for\":60}}",
		    "{\"on\":{\"lines\":[\"GPIO17\",3],\"for\":\"1m\"}}");
	check_valid("{\"wait\":\"1500ms\"}", "{\"wait\":\"1500ms\"}");
	check_valid("{\"wait\":86400}", "{\"wait\":\"1d\"}");
	check_valid("{\"wait\":0.0001}", "{\"wait\":\"100us\"}");
	check_valid("{\"sequence\":[{\"wait\":1},{\"call\":\"smiley\"}]}",
		    "{\"sequence\":[{\"wait\":\"1s\"},{\"call\":\"smiley\"}]}");
	check_valid("{\"all\":[{\"wait\":1}]}", "{\"all\":[{\"wait\":\"1s\"}]}");
	check_valid("{\"any\":[{\"wait\":1},{\"on\":{\"lines\":[2]}}]}",
		    "{\"any\":[{\"wait\":\"1s\"},{\"on\":{\"lines\":[2]}}]}");
	check_valid("{\"forever\":{\"wait\":\"2m\"}}", "{\"forever\":{\"wait\":\"2m\"}}");
	check_valid("{\"repeat\":{\"program\":{\"wait\":1},\"times\":3}}",
		    "{\"repeat\":{\"times\":3,\"program\":{\"wait\":\"1s\"}}}");
	check_valid("{\"blink\":{\"lines\":[0],\"interval\":1,\"times\":2147483647}}",
		    "{\"blink\":{\"lines\":[0],\"interval\":\"1s\",\"times\":2147483647}}");
}

static void test_resolution(void)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	ProgramError e;

	check_int(program_parse("{\"blink\":{\"lines\":{\"col\":1},\"interval\":1}}", layout, 0, &p,
				&e),
		  0);
	check_int(p->lines.n_numbers, 5);
	check_int(p->lines.numbers[0], 10);
	check_int(p->lines.numbers[1], 9);
	check_int(p->lines.numbers[4], 12);
	p = program_unref(p);

	check_int(program_parse("{\"on\":{\"lines\":[\"GPIO27\",4]}}", layout, 0, &p, &e), 0);
	check_int(p->lines.n_numbers, 2);
	check_int(p->lines.numbers[0], 27);
	check_int(p->lines.numbers[1], 4);
	check_int(p->n_nodes, 1);
	p = program_unref(p);

	check_int(program_parse("{\"sequence\":[{\"wait\":1},{\"all\":[{\"wait\":1},{\"wait\":2}]}]}",
				layout, 0, &p, &e),
		  0);
	check_int(p->n_nodes, 5);
	p = program_unref(p);

	/* Locally, without a chip, names are kept unresolved when asked to. */
	check_int(program_parse("{\"on\":{\"lines\":[\"LED_RED\"]}}", layout, 0, &p, &e), -EINVAL);
	check_int(program_parse("{\"on\":{\"lines\":[\"LED_RED\"]}}", layout,
				PROGRAM_PARSE_NAMES_UNCHECKED, &p, &e),
		  0);
	check_int(p->lines.n_numbers, 0);
}

static char *nest(const char *open, const char *middle, const char *close, unsigned n)
{
	size_t lo = strlen(open), lm = strlen(middle), lc = strlen(close);
	char *s = malloc(n * (lo + lc) + lm + 1), *q = s;

	if (!s)
		abort();

	for (unsigned i = 0; i < n; i++, q += lo)
		memcpy(q, open, lo);
	memcpy(q, middle, lm);
	q += lm;
	for (unsigned i = 0; i < n; i++, q += lc)
		memcpy(q, close, lc);
	*q = '\0';
	return s;
}

static void test_limits(void)
{
	_cleanup_(freep) char *deep32 = nest("{\"forever\":", "{\"wait\":1}", "}", 31);
	_cleanup_(freep) char *deep33 = nest("{\"forever\":", "{\"wait\":1}", "}", 32);
	_cleanup_(freep) char *deep5000 = nest("{\"forever\":", "{\"wait\":1}", "}", 5000);
	_cleanup_(freep) char *seqdeep = nest("{\"sequence\":[", "{\"wait\":1}", "]}", 40);
	_cleanup_(freep) char *big = NULL, *many = NULL, *many_ok = NULL;
	_cleanup_(program_unrefp) Program *p = NULL;
	ProgramError e;
	size_t n;

	check_int(program_parse(deep32, layout, 0, &p, &e), 0);
	check_int(p->n_nodes, 32);
	p = program_unref(p);
	check_invalid(deep33, "$.forever.forever.forever.forever.forever.forever.forever.forever."
			      "forever.forever.forever.forever.forever.forever.forever.forever."
			      "forever.forever.forever.forever.forever.forever.forever.forever."
			      "forever.forever.forever.forever.forever.forever.forever.forever",
		      "nesting deeper than 32");
	check_invalid(deep5000, "$", "nesting deeper than 32");
	check_invalid(seqdeep, "$", "nesting deeper than 32");

	/* 64 KiB of text at most. */
	n = PROGRAM_TEXT_MAX + 1;
	big = malloc(n + 1);
	if (!big)
		abort();
	memset(big, ' ', n);
	memcpy(big, "{\"wait\":1}", 10);
	big[n] = '\0';
	check_invalid(big, "$", "longer than 65536 bytes");
	big[n - 1] = '\0';
	check_int(program_parse(big, layout, 0, &p, &e), 0);
	p = program_unref(p);

	/* 4096 nodes at most: a sequence and 4095 waits is fine, 4096 is not. */
	for (unsigned count = 4095; count <= 4096; count++) {
		size_t len = 16 + (size_t)count * 11;
		char *s = malloc(len), *q = s;
		if (!s)
			abort();
		q += sprintf(q, "{\"all\":[");
		for (unsigned i = 0; i < count; i++)
			q += sprintf(q, "%s{\"wait\":1}", i ? "," : "");
		sprintf(q, "]}");
		if (count == 4095)
			many_ok = s;
		else
			many = s;
	}
	check_int(program_parse(many_ok, layout, 0, &p, &e), 0);
	check_int(p->n_nodes, 4096);
	p = program_unref(p);
	check_invalid(many, "$.all[4095]", "more than 4096 nodes");
}

static void test_invalid(void)
{
	/* JSON itself, parsed strictly. Text that does not start with "{" is the text form. */
	check_invalid("", "line 1, column 1", "expected a program");
	check_invalid("{\"wait\":1", "$", "invalid JSON");
	check_invalid("{\"wait\":1} x", "$", "invalid JSON");
	check_invalid("{\"wait\":1}{}", "$", "invalid JSON");
	check_valid(" {\"wait\":1}\n", "{\"wait\":\"1s\"}");
	check_invalid("/* c */ {\"wait\":1}", "line 1, column 1", "unexpected \"/\"");
	check_invalid("{'wait':1}", "$", "invalid JSON");
	check_invalid("{\"wait\":NaN}", "$", "invalid JSON");
	check_invalid("{\"wait\":Infinity}", "$", "invalid JSON");
	check_invalid("{\"wait\":-Infinity}", "$", "invalid JSON");
	check_invalid("{\"wait\":nan}", "$", "invalid JSON");
	/* A string is taken whole or refused: json-c would cut it at a NUL. */
	check_invalid("{\"wait\":\"1s\\u0000garbage\"}", "$.wait", "NUL");
	check_invalid("{\"blink\":{\"lines\":[\"GPIO4\\u0000x\"],\"interval\":1}}",
		      "$.blink.lines[0]", "NUL");
	check_invalid("{\"sequence\":[{\"wait\":1},{\"call\":\"a\\u0000\"}]}", "$.sequence[1].call",
		      "NUL");
	check_invalid("{\"wa\\u0000it\":1}", "$.wa", "NUL");
	check_valid("{\"on\":{\"lines\":[\"GPIO1\\u0037\"]}}", "{\"on\":{\"lines\":[\"GPIO17\"]}}");
	/* Numbers, strings and escapes as JSON has them, not as json-c also takes them. */
	check_invalid("{\"wait\":1.}", "$", "invalid JSON at byte 8: a number");
	check_invalid("{\"wait\":1.e1}", "$", "a number JSON does not have");
	check_invalid("{\"wait\":-.5}", "$", "a number JSON does not have");
	check_invalid("{\"wait\":01}", "$", "a number JSON does not have");
	check_invalid("{\"wait\":+1}", "$", "a character JSON does not have");
	check_invalid("{\"wait\":0x10}", "$", "a number JSON does not have");
	check_invalid("{\"wait\":\"1s\x01\"}", "$.wait", "a control character inside a string");
	check_invalid("{\"wait\":\"1\ts\"}", "$.wait", "a control character inside a string");
	check_invalid("{\"call\":\"a\\x\"}", "$", "an escape JSON does not have");
	check_invalid("{\"call\":\"a\\u12G4\"}", "$", "an escape JSON does not have");
	check_invalid("{\"call\":\"a}", "$", "a string that does not end");
	check_valid("{\"wait\":1.5e-0}", "{\"wait\":\"1500ms\"}");
	check_valid("{\"wait\":0.25}", "{\"wait\":\"250ms\"}");
	check_invalid("{\"call\":\"\\u0061\\/\"}", "$.call", "not a valid name");
	check_valid("{\"wait\":1e0}", "{\"wait\":\"1s\"}");
	check_valid("{\"wait\":1.5E+1}", "{\"wait\":\"15s\"}");
	/* A quote inside a string is no business of the JSON check. */
	check_invalid("{\"call\":\"it's\"}", "$.call", "not a valid name");
	check_invalid("{\"on\":{\"lines\":[\"\xff\"]}}", "$", "invalid JSON");
	check_invalid("[]", "line 1, column 1", "expected a program");
	check_invalid("{}", "$", "exactly one key");
	check_invalid("{\"wait\":1,\"on\":{\"lines\":[2]}}", "$", "exactly one key");
	check_invalid("{\"flash\":1}", "$", "unknown program \"flash\"");

	/* Fields. */
	check_invalid("{\"blink\":{\"lines\":[11]}}", "$.blink", "\"interval\" is required");
	check_invalid("{\"blink\":{\"interval\":1}}", "$.blink", "\"lines\" is required");
	check_invalid("{\"blink\":{\"lines\":[11],\"interval\":1,\"speed\":2}}",
		      "$.blink.speed", "unknown key");
	check_invalid("{\"blink\":[11]}", "$.blink", "must be an object");
	check_invalid("{\"on\":{\"lines\":[11],\"interval\":1}}", "$.on.interval", "unknown key");
	check_invalid("{\"repeat\":{\"program\":{\"wait\":1}}}", "$.repeat", "\"times\" is required");

	/* Durations. */
	check_invalid("{\"sequence\":[{\"wait\":1},{\"wait\":1},{\"blink\":{\"lines\":[11],\"interval\":0}}]}",
		      "$.sequence[2].blink.interval", "must be between 100us and 1d");
	check_invalid("{\"wait\":-1}", "$.wait", "must be between 100us and 1d");
	check_invalid("{\"wait\":1e308}", "$.wait", "must be between 100us and 1d");
	check_invalid("{\"wait\":0.00009}", "$.wait", "must be between 100us and 1d");
	check_invalid("{\"wait\":86400.000001}", "$.wait", "must be between 100us and 1d");
	check_invalid("{\"wait\":\"2d\"}", "$.wait", "must be between 100us and 1d");
	check_invalid("{\"wait\":\"99us\"}", "$.wait", "must be between 100us and 1d");
	check_invalid("{\"wait\":\"5 parsecs\"}", "$.wait", "is not a duration");
	check_invalid("{\"wait\":\"5\"}", "$.wait", "is not a duration");
	check_invalid("{\"wait\":true}", "$.wait", "must be a duration");
	check_invalid("{\"wait\":null}", "$.wait", "must be a duration");

	/* Counts. */
	check_invalid("{\"blink\":{\"lines\":[11],\"interval\":1,\"times\":0}}", "$.blink.times",
		      "between 1 and 2147483647");
	check_invalid("{\"blink\":{\"lines\":[11],\"interval\":1,\"times\":-3}}", "$.blink.times",
		      "between 1 and 2147483647");
	check_invalid("{\"blink\":{\"lines\":[11],\"interval\":1,\"times\":2147483648}}",
		      "$.blink.times", "between 1 and 2147483647");
	check_invalid("{\"blink\":{\"lines\":[11],\"interval\":1,\"times\":18446744073709551615}}",
		      "$.blink.times", "between 1 and 2147483647");
	check_invalid("{\"blink\":{\"lines\":[11],\"interval\":1,\"times\":2.5}}", "$.blink.times",
		      "must be an integer");
	check_invalid("{\"blink\":{\"lines\":[11],\"interval\":1,\"times\":\"3\"}}",
		      "$.blink.times", "must be an integer");

	/* Lines. */
	check_invalid("{\"on\":{\"lines\":[]}}", "$.on.lines", "at least one line");
	check_invalid("{\"on\":{\"lines\":[19]}}", "$.on.lines[0]", "line 19 is not in the layout");
	check_invalid("{\"on\":{\"lines\":[11,-1]}}", "$.on.lines[1]", "out of range");
	check_invalid("{\"on\":{\"lines\":[11,11]}}", "$.on.lines[1]", "named twice");
	check_invalid("{\"on\":{\"lines\":[11,\"GPIO11\"]}}", "$.on.lines[1]", "named twice");
	check_invalid("{\"on\":{\"lines\":[\"GPIO19\"]}}", "$.on.lines[0]",
		      "no line is named \"GPIO19\"");
	check_invalid("{\"on\":{\"lines\":[1.5]}}", "$.on.lines[0]", "an offset or a name");
	check_invalid("{\"on\":{\"lines\":{\"row\":5}}}", "$.on.lines.row",
		      "row 5 is out of range (the layout has 5 rows)");
	check_invalid("{\"on\":{\"lines\":{\"col\":-1}}}", "$.on.lines.col", "out of range");
	check_invalid("{\"on\":{\"lines\":{\"row\":\"0\"}}}", "$.on.lines.row", "must be an integer");
	check_invalid("{\"on\":{\"lines\":{\"diagonal\":0}}}", "$.on.lines.diagonal", "unknown key");
	check_invalid("{\"on\":{\"lines\":{\"row\":0,\"col\":0}}}", "$.on.lines", "{\"row\": N}");
	check_invalid("{\"on\":{\"lines\":\"some\"}}", "$.on.lines", "\"all\"");
	check_invalid("{\"on\":{\"lines\":7}}", "$.on.lines", "not a number");

	/* Lists of programs. */
	check_invalid("{\"sequence\":[]}", "$.sequence", "at least one program");
	check_invalid("{\"all\":[]}", "$.all", "at least one program");
	check_invalid("{\"any\":[]}", "$.any", "at least one program");
	check_invalid("{\"any\":{\"wait\":1}}", "$.any", "must be a list of programs");
	check_invalid("{\"all\":[{\"wait\":1},{\"wait\":\"x\"}]}", "$.all[1].wait",
		      "is not a duration");
	check_invalid("{\"forever\":[]}", "$.forever", "exactly one key");

	/* Calls. */
	check_invalid("{\"call\":\"\"}", "$.call", "not a valid name");
	check_invalid("{\"call\":\"a/b\"}", "$.call", "not a valid name");
	check_invalid("{\"call\":7}", "$.call", "must be the name of a definition");
}


/* A message that quotes what was written never cuts a character in two (D-Bus would refuse it). */
static void test_utf8_messages(void)
{
	char text[256] = "{\"call\":\"a";
	ProgramError e;
	_cleanup_(freep) char *out = NULL;

	for (int i = 0; i < 40; i++)
		strcat(text, "\xc3\xa9"); /* é */
	strcat(text, "\"}");
	out = parse_format(text, &e);
	check(out == NULL);
	check(strstr(e.message, "is not a valid name") != NULL);
	check_int(utf8_invalid_at(e.message, strlen(e.message)), -1);
	check_int(utf8_invalid_at(e.path, strlen(e.path)), -1);
}

/* A key written twice is refused at every level, naming its path (json-c kept the last). */
static void test_duplicate_keys(void)
{
	check_invalid("{\"fade\":{\"lines\":[11],\"from\":0,\"from\":1,\"to\":1,\"duration\":\"1s\"}}",
		      "$.fade.from", "duplicate key \"from\"");
	check_invalid("{\"on\":{\"lines\":[11]},\"on\":{\"lines\":[12]}}", "$.on",
		      "duplicate key \"on\"");
	check_invalid("{\"sequence\":[{\"on\":{\"lines\":[11],\"for\":1}},{\"blink\":{\"lines\":[11],"
		      "\"interval\":1,\"interval\":2}}]}",
		      "$.sequence[1].blink.interval", "duplicate key \"interval\"");
	check_invalid("{\"on\":{\"lines\":{\"row\":1,\"row\":2}}}", "$.on.lines.row",
		      "duplicate key \"row\"");
	/* the same key, escaped once */
	check_invalid("{\"wait\":1,\"w\\u0061it\":2}", "$.wait", "duplicate key \"wait\"");
	/* and the messages that quote a key escape its control characters */
	check_invalid("{\"wa\\nit\":1}", "$", "unknown program \"wa\\x0ait\"");
}

/* dim, fade, pattern, heartbeat, morse: canonical forms and every refusal with its place. */
static void test_levels(void)
{
	check_valid("{\"dim\":{\"level\":0.25,\"lines\":[11]}}",
		    "{\"dim\":{\"lines\":[11],\"level\":0.25}}");
	check_valid("{\"dim\":{\"lines\":[11],\"level\":1,\"for\":2}}",
		    "{\"dim\":{\"lines\":[11],\"level\":1,\"for\":\"2s\"}}");
	check_valid("{\"dim\":{\"lines\":[11],\"level\":0.33333}}",
		    "{\"dim\":{\"lines\":[11],\"level\":0.3333}}");
	check_valid("{\"dim\":{\"lines\":[11],\"level\":0.0}}", "{\"dim\":{\"lines\":[11],\"level\":0}}");
	check_valid("{\"fade\":{\"lines\":{\"row\":0},\"from\":0,\"to\":1,\"over\":\"2s\"}}",
		    "{\"fade\":{\"lines\":{\"row\":0},\"from\":0,\"to\":1,\"over\":\"2s\"}}");
	check_valid("{\"fade\":{\"lines\":[11],\"from\":1,\"to\":0.5,\"over\":1,\"curve\":\"linear\"}}",
		    "{\"fade\":{\"lines\":[11],\"from\":1,\"to\":0.5,\"over\":\"1s\",\"curve\":\"linear\"}}");
	check_valid("{\"fade\":{\"lines\":[11],\"from\":0,\"to\":1,\"over\":1,\"curve\":\"perceived\"}}",
		    "{\"fade\":{\"lines\":[11],\"from\":0,\"to\":1,\"over\":\"1s\"}}");
	check_valid("{\"pattern\":{\"lines\":[11],\"steps\":[[0,0],[1,\"500ms\"],[0.5,0.25]],\"times\":3}}",
		    "{\"pattern\":{\"lines\":[11],\"steps\":[[0,0],[1,\"500ms\"],[0.5,\"250ms\"]],"
		    "\"times\":3}}");
	check_valid("{\"heartbeat\":{\"lines\":[11]}}", "{\"heartbeat\":{\"lines\":[11]}}");
	check_valid("{\"heartbeat\":{\"lines\":[11],\"period\":\"1200ms\"}}",
		    "{\"heartbeat\":{\"lines\":[11]}}");
	check_valid("{\"heartbeat\":{\"lines\":[11],\"period\":2}}",
		    "{\"heartbeat\":{\"lines\":[11],\"period\":\"2s\"}}");
	check_valid("{\"morse\":{\"lines\":[11],\"text\":\"SOS 73\"}}",
		    "{\"morse\":{\"lines\":[11],\"text\":\"SOS 73\"}}");
	check_valid("{\"morse\":{\"lines\":[11],\"text\":\"sos\",\"unit\":\"50ms\"}}",
		    "{\"morse\":{\"lines\":[11],\"text\":\"sos\",\"unit\":\"50ms\"}}");

	check_invalid("{\"dim\":{\"lines\":[11]}}", "$.dim", "\"level\" is required");
	check_invalid("{\"dim\":{\"lines\":[11],\"level\":1.5}}", "$.dim.level", "from 0 to 1");
	check_invalid("{\"dim\":{\"lines\":[11],\"level\":-0.1}}", "$.dim.level", "from 0 to 1");
	check_invalid("{\"dim\":{\"lines\":[11],\"level\":\"half\"}}", "$.dim.level", "from 0 to 1");
	check_invalid("{\"fade\":{\"lines\":[11],\"from\":0,\"to\":1}}", "$.fade", "\"over\" is required");
	check_invalid("{\"fade\":{\"lines\":[11],\"from\":0,\"to\":1,\"over\":1,\"curve\":\"cubic\"}}",
		      "$.fade.curve", "perceived");
	check_invalid("{\"pattern\":{\"lines\":[11],\"steps\":[]}}", "$.pattern.steps", "at least one");
	check_invalid("{\"pattern\":{\"lines\":[11],\"steps\":[[1,0],[0,0]]}}", "$.pattern",
		      "a step that lasts");
	check_invalid("{\"pattern\":{\"lines\":[11],\"steps\":[[1]]}}", "$.pattern.steps[0]",
		      "[level, duration]");
	check_invalid("{\"pattern\":{\"lines\":[11],\"steps\":[[1,\"1ms\"],[2,\"1ms\"]]}}",
		      "$.pattern.steps[1][0]", "from 0 to 1");
	check_invalid("{\"pattern\":{\"lines\":[11],\"steps\":[[1,\"1us\"]]}}",
		      "$.pattern.steps[0][1]", "between 100us and 1d");
	check_invalid("{\"heartbeat\":{\"lines\":[11],\"period\":\"500ms\"}}", "$.heartbeat",
		      "at least 560ms");
	check_invalid("{\"morse\":{\"lines\":[11],\"text\":\"SOS!\"}}", "$.morse.text",
		      "character 4 ('!')");
	check_invalid("{\"morse\":{\"lines\":[11],\"text\":\"   \"}}", "$.morse.text", "nothing to send");
	check_invalid("{\"morse\":{\"lines\":[11]}}", "$.morse", "\"text\" is required");
}

static void test_names(void)
{
	char n64[65], n65[66];

	memset(n64, 'a', 64);
	n64[64] = '\0';
	memset(n65, 'a', 65);
	n65[65] = '\0';
	check(program_name_is_valid("heartbeat"));
	check(program_name_is_valid("row-0_a.b"));
	check(program_name_is_valid(n64));
	check(!program_name_is_valid(n65));
	check(!program_name_is_valid(""));
	check(!program_name_is_valid("a b"));
	check(!program_name_is_valid("a/b"));
	check(!program_name_is_valid("ä"));
	check(!program_name_is_valid(NULL));
}

int main(void)
{
	check_int(layout_new_default(&layout), 0);
	check_int(layout_name_unnamed_lines(layout), 0);

	test_valid();
	test_resolution();
	test_limits();
	test_invalid();
	test_levels();
	test_utf8_messages();
	test_duplicate_keys();
	test_names();

	layout_free(layout);
	return test_summary("test-program");
}

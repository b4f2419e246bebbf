/* SPDX-License-Identifier: MIT */
/*
 * The text form of the program language: every kind, every error with its
 * line and column, errors of the JSON rules mapped back to where the text
 * wrote the value, and the round trips between the two forms.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "program-text.h"
#include "program.h"
#include "test.h"

static Layout *layout;

/* Whether @s is valid UTF-8, as a D-Bus string must be (surrogates and overlong forms aside). */
static bool utf8_valid(const char *s)
{
	for (const unsigned char *u = (const unsigned char *)s; *u;) {
		size_t n;

		if (*u < 0x80)
			n = 0;
		else if (*u >= 0xc2 && *u <= 0xdf)
			n = 1;
		else if (*u >= 0xe0 && *u <= 0xef)
			n = 2;
		else if (*u >= 0xf0 && *u <= 0xf4)
			n = 3;
		else
			return false;
		for (size_t k = 1; k <= n; k++)
			if ((u[k] & 0xc0) != 0x80)
				return false;
		u += n + 1;
	}
	return true;
}

/* The text form of @json, a program in either form; NULL with @e filled when it is invalid. */
static char *to_text(const char *program, unsigned flags, ProgramError *e)
{
	_cleanup_(program_unrefp) Program *p = NULL;

	memset(e, 0xa5, sizeof(*e)); /* what the parser does not set shows */
	if (program_parse(program, layout, flags, &p, e) < 0)
		return NULL;
	return program_format_text(p);
}

static char *to_json(const char *program, unsigned flags, ProgramError *e)
{
	_cleanup_(program_unrefp) Program *p = NULL;

	memset(e, 0xa5, sizeof(*e));
	if (program_parse(program, layout, flags, &p, e) < 0)
		return NULL;
	return program_format(p);
}

/*
 * @text is valid, means @json (canonical), and prints as @canonical; both
 * round trips hold: canonical text -> JSON -> text, and JSON -> text -> JSON.
 */
static void check_text_flags(const char *text, const char *json, const char *canonical,
			     unsigned flags)
{
	ProgramError e;
	_cleanup_(freep) char *out_json = to_json(text, flags, &e);
	_cleanup_(freep) char *out_text = NULL, *json_of_canonical = NULL;
	_cleanup_(freep) char *text_of_json = NULL, *text_again = NULL, *json_again = NULL;

	if (!out_json)
		fprintf(stderr, "unexpected error for %s: %s: %s\n", text, e.path, e.message);
	check_str(out_json, json);
	out_text = to_text(text, flags, &e);
	check_str(out_text, canonical);

	/* text -> JSON -> text is the identity on the canonical text. */
	json_of_canonical = to_json(canonical, flags, &e);
	check_str(json_of_canonical, json);
	text_again = json_of_canonical ? to_text(json_of_canonical, flags, &e) : NULL;
	check_str(text_again, canonical);

	/* JSON -> text -> JSON is the identity on the canonical JSON. */
	text_of_json = to_text(json, flags, &e);
	check_str(text_of_json, canonical);
	json_again = text_of_json ? to_json(text_of_json, flags, &e) : NULL;
	check_str(json_again, json);
}

static void check_text(const char *text, const char *json, const char *canonical)
{
	check_text_flags(text, json, canonical, 0);
}

/* @text is refused at @line:@column with a message that holds @message. */
static void check_error(const char *text, unsigned line, unsigned column, const char *message)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	ProgramError e;
	char path[64];
	int r;

	memset(&e, 0xa5, sizeof(e));
	r = program_parse(text, layout, 0, &p, &e);
	if (r != -EINVAL)
		fprintf(stderr, "unexpectedly %d: %.200s\n", r, text);
	check_int(r, -EINVAL);
	if (r != -EINVAL)
		return;
	if (e.line != line || e.column != column)
		fprintf(stderr, "  (%.100s: %s: %s)\n", text, e.path, e.message);
	check_int(e.line, line);
	check_int(e.column, column);
	snprintf(path, sizeof(path), "line %u, column %u", line, column);
	check_str(e.path, path);
	if (!strstr(e.message, message)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\" (%.100s)\n", e.message, message, text);
		check(false);
	}
	/* Messages go over D-Bus: whatever they quote, they are valid UTF-8. */
	check(utf8_valid(e.message));
}

/* check_error() of @before, @n times "é", and @after. */
static void check_error_accents(const char *before, unsigned n, const char *after, unsigned line,
				unsigned column, const char *message)
{
	_cleanup_(freep) char *text = malloc(strlen(before) + 2 * n + strlen(after) + 1);
	char *q = text;

	if (!text)
		abort();
	q = stpcpy(q, before);
	for (unsigned i = 0; i < n; i++)
		q = stpcpy(q, "\xc3\xa9");
	strcpy(q, after);
	check_error(text, line, column, message);
}

static void test_kinds(void)
{
	check_text("blink(col 0, 300ms, 2)",
		   "{\"blink\":{\"lines\":{\"col\":0},\"interval\":\"300ms\",\"times\":2}}",
		   "blink(col 0, 300ms, 2)");
	check_text("blink(11, 0.5s)", "{\"blink\":{\"lines\":[11],\"interval\":\"500ms\"}}",
		   "blink(11, 500ms)");
	check_text("cycle(row 0, 100ms)",
		   "{\"cycle\":{\"lines\":{\"row\":0},\"interval\":\"100ms\"}}",
		   "cycle(row 0, 100ms)");
	check_text("cycle([11, GPIO10, 27], 0.1s, 3)",
		   "{\"cycle\":{\"lines\":[11,\"GPIO10\",27],\"interval\":\"100ms\",\"times\":3}}",
		   "cycle([11, GPIO10, 27], 100ms, 3)");
	check_text("on(row 2)", "{\"on\":{\"lines\":{\"row\":2}}}", "on(row 2)");
	check_text("on(all, 60s)", "{\"on\":{\"lines\":\"all\",\"for\":\"1m\"}}", "on(all, 1m)");
	check_text("wait(1500ms)", "{\"wait\":\"1500ms\"}", "wait(1500ms)");
	check_text("wait(1d)", "{\"wait\":\"1d\"}", "wait(1d)");
	check_text("wait(100us)", "{\"wait\":\"100us\"}", "wait(100us)");
	check_text("wait(200\xc2\xb5s)", "{\"wait\":\"200us\"}", "wait(200us)");
	check_text("sequence(wait(1s), call(smiley))",
		   "{\"sequence\":[{\"wait\":\"1s\"},{\"call\":\"smiley\"}]}",
		   "sequence(wait(1s), call(smiley))");
	check_text("all(wait(1s))", "{\"all\":[{\"wait\":\"1s\"}]}", "all(wait(1s))");
	check_text("any(wait(1s), on(2))", "{\"any\":[{\"wait\":\"1s\"},{\"on\":{\"lines\":[2]}}]}",
		   "any(wait(1s), on(2))");
	check_text("forever(wait(2m))", "{\"forever\":{\"wait\":\"2m\"}}", "forever(wait(2m))");
	check_text("repeat(3, wait(1s))",
		   "{\"repeat\":{\"times\":3,\"program\":{\"wait\":\"1s\"}}}",
		   "repeat(3, wait(1s))");
	check_text("call(heartbeat)", "{\"call\":\"heartbeat\"}", "call(heartbeat)");
	check_text("blink(0, 1s, 2147483647)",
		   "{\"blink\":{\"lines\":[0],\"interval\":\"1s\",\"times\":2147483647}}",
		   "blink(0, 1s, 2147483647)");

	/* Every kind of the JSON form has a text form. */
	for (ProgramKind k = 0; k < _PROGRAM_KIND_MAX; k++) {
		char text[64];
		ProgramError e;
		_cleanup_(freep) char *out = NULL;

		snprintf(text, sizeof(text), "%s()", program_kind_to_string(k));
		out = to_json(text, 0, &e);
		check(out == NULL);
		if (strstr(e.message, "unknown program")) {
			fprintf(stderr, "no text form for %s\n", text);
			check(false);
		}
	}
}

/* The kinds of levels: a level is a number from 0 to 1, kept to 1/10000. */
static void test_levels(void)
{
	check_text("dim(row 1, 0.25)", "{\"dim\":{\"lines\":{\"row\":1},\"level\":0.25}}",
		   "dim(row 1, 0.25)");
	check_text("dim([11, 10], 00.500, 90s)",
		   "{\"dim\":{\"lines\":[11,10],\"level\":0.5,\"for\":\"90s\"}}",
		   "dim([11, 10], 0.5, 90s)");
	check_text("dim(11, 1)", "{\"dim\":{\"lines\":[11],\"level\":1}}", "dim(11, 1)");
	check_text("dim(11, 0.00005)", "{\"dim\":{\"lines\":[11],\"level\":0.0001}}",
		   "dim(11, 0.0001)");
	/* The example, on a line named status. */
	check_text_flags("fade(status, 0, 1, 2s)",
			 "{\"fade\":{\"lines\":[\"status\"],\"from\":0,\"to\":1,\"over\":\"2s\"}}",
			 "fade(status, 0, 1, 2s)", PROGRAM_PARSE_NAMES_UNCHECKED);
	check_text("fade(col 0, 1, 0.1, 1.5s, linear)",
		   "{\"fade\":{\"lines\":{\"col\":0},\"from\":1,\"to\":0.1,\"over\":\"1500ms\","
		   "\"curve\":\"linear\"}}",
		   "fade(col 0, 1, 0.1, 1500ms, linear)");
	check_text("fade(11, 0, 1, 2s, perceived)",
		   "{\"fade\":{\"lines\":[11],\"from\":0,\"to\":1,\"over\":\"2s\"}}",
		   "fade(11, 0, 1, 2s)");
	check_text("pattern(row 0, [[1, 100ms], [0, 0], [0.5, 0.4s]], 3)",
		   "{\"pattern\":{\"lines\":{\"row\":0},\"steps\":[[1,\"100ms\"],[0,0],"
		   "[0.5,\"400ms\"]],\"times\":3}}",
		   "pattern(row 0, [[1, 100ms], [0, 0], [0.5, 400ms]], 3)");
	check_text("pattern(all, [[0.75, 0], [0.25, 1s]])",
		   "{\"pattern\":{\"lines\":\"all\",\"steps\":[[0.75,0],[0.25,\"1s\"]]}}",
		   "pattern(all, [[0.75, 0], [0.25, 1s]])");
	check_text("heartbeat(11)", "{\"heartbeat\":{\"lines\":[11]}}", "heartbeat(11)");
	check_text("heartbeat(11, 1200ms)", "{\"heartbeat\":{\"lines\":[11]}}", "heartbeat(11)");
	check_text("heartbeat(row 2, 2s)",
		   "{\"heartbeat\":{\"lines\":{\"row\":2},\"period\":\"2s\"}}",
		   "heartbeat(row 2, 2s)");
	check_text("morse(row 0, SOS)", "{\"morse\":{\"lines\":{\"row\":0},\"text\":\"SOS\"}}",
		   "morse(row 0, \"SOS\")");
	check_text("morse(11, \"hello world\", 50ms)",
		   "{\"morse\":{\"lines\":[11],\"text\":\"hello world\",\"unit\":\"50ms\"}}",
		   "morse(11, \"hello world\", 50ms)");
	check_text("forever(sequence(fade(row 2, 0, 1, 1s), fade(row 2, 1, 0, 1s)))",
		   "{\"forever\":{\"sequence\":["
		   "{\"fade\":{\"lines\":{\"row\":2},\"from\":0,\"to\":1,\"over\":\"1s\"}},"
		   "{\"fade\":{\"lines\":{\"row\":2},\"from\":1,\"to\":0,\"over\":\"1s\"}}]}}",
		   "forever(sequence(fade(row 2, 0, 1, 1s), fade(row 2, 1, 0, 1s)))");

	/* Syntax. */
	check_error("dim(11, 0.5s)", 1, 9,
		    "expected a level from 0 to 1, such as 0.5; found \"0.5s\"");
	check_error("dim(11, half)", 1, 9, "expected a level from 0 to 1");
	check_error("dim(11, 0.12345678901234567890123456789012345678901234567890"
		    "12345678901234567890)",
		    1, 9,
		    "has too many digits for a level");
	check_error("fade(11, 0, 1, 2s, \"linear\")", 1, 20,
		    "expected CURVE, a word; found a string");
	check_error("fade(11, 0, 1)", 1, 14,
		    "OVER is missing: fade(LINES, FROM, TO, OVER, CURVE?)");
	check_error("pattern(11, 1)", 1, 13,
		    "expected the steps, [[LEVEL, DURATION], ...]; found \"1\"");
	check_error("pattern(11, [1, 100ms])", 1, 14,
		    "expected a step [LEVEL, DURATION], found \"1\"");
	check_error("pattern(11, [[1]])", 1, 16, "expected \",\" and the step's duration");
	check_error("pattern(11, [[1, 100ms, 2]])", 1, 23,
		    "expected \"]\" after the step's duration");
	check_error("pattern(11, [[1, 5]])", 1, 18,
		    "a step's duration has its unit, as in 300ms, or is 0");
	check_error("pattern(11, [[1, 100ms] [0, 0]])", 1, 25,
		    "expected \",\" or \"]\" in the steps");
	check_error("pattern(11, [[1, 100ms],])", 1, 25, "expected a step");
	check_error("morse(11, 17)", 1, 11,
		    "expected a text in quotes, such as \"SOS\"; found \"17\"");

	/* The rules, where the text wrote the value. */
	check_error("dim(11, 1.5)", 1, 9, "must be a level from 0 to 1");
	check_error("dim(11, -0.5)", 1, 9, "must be a level from 0 to 1");
	check_error("fade(11, 0, 1, 2s, bouncy)", 1, 20, "must be \"perceived\" or \"linear\"");
	check_error("fade(11, 0, 1, 50us)", 1, 16, "must be between 100us and 1d");
	check_error("pattern(11, [])", 1, 13, "must hold at least one step");
	check_error("pattern(11, [[1, 100ms], [2, 0]])", 1, 27, "must be a level from 0 to 1");
	check_error("pattern(11, [[1, 100ms], [0, 2d]])", 1, 30, "must be between 100us and 1d");
	check_error("pattern(11, [[1, 100ms]], 0)", 1, 27, "between 1 and 2147483647");
	check_error("sequence(wait(1s), pattern(11, [[1, 0]]))", 1, 20, "needs a step that lasts");
	check_error("morse(11, \"\")", 1, 11, "has nothing to send");
	check_error("morse(11, \"SOS!\")", 1, 11, "character 4 ('!') has no Morse code");
	check_error("any(wait(1s),\n    heartbeat(11, 100ms))", 2, 5, "must be at least 560ms");
}

static void test_lines(void)
{
	/* A list of one line is written as the line alone. */
	check_text("on([17])", "{\"on\":{\"lines\":[17]}}", "on(17)");
	check_text("on(GPIO17)", "{\"on\":{\"lines\":[\"GPIO17\"]}}", "on(GPIO17)");
	check_text("on(\"GPIO17\")", "{\"on\":{\"lines\":[\"GPIO17\"]}}", "on(GPIO17)");
	check_text("on([ 17,27 , GPIO4 ])", "{\"on\":{\"lines\":[17,27,\"GPIO4\"]}}",
		   "on([17, 27, GPIO4])");
	check_text("on(col 4)", "{\"on\":{\"lines\":{\"col\":4}}}", "on(col 4)");

	/* Names that are not words, or are words of the lines, go in quotes. */
	check_text_flags("on(\"pinctrl-rp1:GPIO17\")",
			 "{\"on\":{\"lines\":[\"pinctrl-rp1:GPIO17\"]}}",
			 "on(\"pinctrl-rp1:GPIO17\")", PROGRAM_PARSE_NAMES_UNCHECKED);
	check_text_flags("on([status, \"all\", \"row\", \"col\", \"17\", LED_A.1-x])",
			 "{\"on\":{\"lines\":"
			 "[\"status\",\"all\",\"row\",\"col\",\"17\",\"LED_A.1-x\"]}}",
			 "on([status, \"all\", \"row\", \"col\", \"17\", LED_A.1-x])",
			 PROGRAM_PARSE_NAMES_UNCHECKED);
	check_text_flags("on(\"all\")", "{\"on\":{\"lines\":[\"all\"]}}", "on(\"all\")",
			 PROGRAM_PARSE_NAMES_UNCHECKED);
	check_text_flags("on(\"row 2\")", "{\"on\":{\"lines\":[\"row 2\"]}}", "on(\"row 2\")",
			 PROGRAM_PARSE_NAMES_UNCHECKED);
	/* Escapes as JSON has them; printed back the way JSON prints them. */
	check_text_flags("on([\"a\\\"b\", \"c\\\\d\", \"\\/\\b\\f\\n\\r\\t\", "
			 "\"\\u00e9\\u20ac\\ud83d\\ude00\", \"\xc3\xa9\"])",
			 "{\"on\":{\"lines\":[\"a\\\"b\",\"c\\\\d\",\"/\\b\\f\\n\\r\\t\","
			 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"\xc3\xa9\"]}}",
			 "on([\"a\\\"b\", \"c\\\\d\", \"/\\u0008\\u000c\\n\\r\\t\", "
			 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"\xc3\xa9\"])",
			 PROGRAM_PARSE_NAMES_UNCHECKED);
	check_text_flags("on(\"\\u0001\x7f\")", "{\"on\":{\"lines\":[\"\\u0001\x7f\"]}}",
			 "on(\"\\u0001\x7f\")", PROGRAM_PARSE_NAMES_UNCHECKED);
	/* Definition names: words, or in quotes when they do not start like one. */
	check_text("call(\"1st\")", "{\"call\":\"1st\"}", "call(\"1st\")");
	check_text("call(\"all\")", "{\"call\":\"all\"}", "call(all)");
	check_text("call(a.b-c_d)", "{\"call\":\"a.b-c_d\"}", "call(a.b-c_d)");
	check_text("call(\".hidden\")", "{\"call\":\".hidden\"}", "call(\".hidden\")");
}

static void test_layout(void)
{
	/* White space, new lines and comments anywhere between tokens. */
	check_text("  # a heartbeat\n"
		   "repeat(2,   # twice\n"
		   "\tsequence(\r\n"
		   "\t\ton(row 2, 100ms),\n"
		   "\t\twait(150ms)))\n"
		   "# the end",
		   "{\"repeat\":{\"times\":2,\"program\":{\"sequence\":["
		   "{\"on\":{\"lines\":{\"row\":2},\"for\":\"100ms\"}},{\"wait\":\"150ms\"}]}}}",
		   "repeat(2, sequence(on(row 2, 100ms), wait(150ms)))");
	check_text("forever ( wait ( 1s ) )", "{\"forever\":{\"wait\":\"1s\"}}",
		   "forever(wait(1s))");
}

/* The talk's programs, in both forms; the man page shows them too. */
static void test_talk(void)
{
	static const struct {
		const char *text, *json;
	} talk[] = {
		{ "blink(11, 500ms)", "{\"blink\":{\"lines\":[11],\"interval\":\"500ms\"}}" },
		{ "all(blink(row 0, 500ms), blink(row 1, 400ms), blink(row 2, 300ms), "
		  "blink(row 3, 200ms), blink(row 4, 100ms))",
		  "{\"all\":[{\"blink\":{\"lines\":{\"row\":0},\"interval\":\"500ms\"}},"
		  "{\"blink\":{\"lines\":{\"row\":1},\"interval\":\"400ms\"}},"
		  "{\"blink\":{\"lines\":{\"row\":2},\"interval\":\"300ms\"}},"
		  "{\"blink\":{\"lines\":{\"row\":3},\"interval\":\"200ms\"}},"
		  "{\"blink\":{\"lines\":{\"row\":4},\"interval\":\"100ms\"}}]}" },
		{ "sequence(blink(col 0, 500ms, 2), blink(col 1, 400ms, 2), "
		  "blink(col 2, 300ms, 2), blink(col 3, 200ms, 2), blink(col 4, 100ms, 2))",
		  "{\"sequence\":["
		  "{\"blink\":{\"lines\":{\"col\":0},\"interval\":\"500ms\",\"times\":2}},"
		  "{\"blink\":{\"lines\":{\"col\":1},\"interval\":\"400ms\",\"times\":2}},"
		  "{\"blink\":{\"lines\":{\"col\":2},\"interval\":\"300ms\",\"times\":2}},"
		  "{\"blink\":{\"lines\":{\"col\":3},\"interval\":\"200ms\",\"times\":2}},"
		  "{\"blink\":{\"lines\":{\"col\":4},\"interval\":\"100ms\",\"times\":2}}]}" },
		{ "forever(sequence(blink(col 0, 300ms, 2), blink(col 1, 200ms, 2), "
		  "blink(col 2, 100ms, 2), blink(col 3, 10ms, 2), blink(col 4, 50ms, 2)))",
		  "{\"forever\":{\"sequence\":["
		  "{\"blink\":{\"lines\":{\"col\":0},\"interval\":\"300ms\",\"times\":2}},"
		  "{\"blink\":{\"lines\":{\"col\":1},\"interval\":\"200ms\",\"times\":2}},"
		  "{\"blink\":{\"lines\":{\"col\":2},\"interval\":\"100ms\",\"times\":2}},"
		  "{\"blink\":{\"lines\":{\"col\":3},\"interval\":\"10ms\",\"times\":2}},"
		  "{\"blink\":{\"lines\":{\"col\":4},\"interval\":\"50ms\",\"times\":2}}]}}" },
		{ "forever(blink(11, 300ms, 1))",
		  "{\"forever\":{\"blink\":{\"lines\":[11],\"interval\":\"300ms\",\"times\":1}}}" },
		{ "cycle(row 0, 100ms)",
		  "{\"cycle\":{\"lines\":{\"row\":0},\"interval\":\"100ms\"}}" },
		{ "any(on(col 0), blink(col 4, 250ms, 6))",
		  "{\"any\":[{\"on\":{\"lines\":{\"col\":0}}},"
		  "{\"blink\":{\"lines\":{\"col\":4},\"interval\":\"250ms\",\"times\":6}}]}" },
		{ "any(on(row 2), cycle(col 2, 150ms, 3))",
		  "{\"any\":[{\"on\":{\"lines\":{\"row\":2}}},"
		  "{\"cycle\":{\"lines\":{\"col\":2},\"interval\":\"150ms\",\"times\":3}}]}" },
		{ "any(wait(10s), cycle(row 2, 200ms))",
		  "{\"any\":[{\"wait\":\"10s\"},"
		  "{\"cycle\":{\"lines\":{\"row\":2},\"interval\":\"200ms\"}}]}" },
		{ "all(on([6, 12, 8, 23, 15]), forever(sequence(on([9, 17], 2s), wait(200ms))))",
		  "{\"all\":[{\"on\":{\"lines\":[6,12,8,23,15]}},{\"forever\":{\"sequence\":["
		  "{\"on\":{\"lines\":[9,17],\"for\":\"2s\"}},{\"wait\":\"200ms\"}]}}]}" },
		{ "repeat(2, sequence(on(row 2, 100ms), wait(150ms)))",
		  "{\"repeat\":{\"times\":2,\"program\":{\"sequence\":["
		  "{\"on\":{\"lines\":{\"row\":2},\"for\":\"100ms\"}},{\"wait\":\"150ms\"}]}}}" },
		{ "forever(sequence(call(heartbeat), wait(500ms)))",
		  "{\"forever\":{\"sequence\":[{\"call\":\"heartbeat\"},{\"wait\":\"500ms\"}]}}" },
	};

	for (size_t i = 0; i < ELEMENTSOF(talk); i++)
		check_text(talk[i].text, talk[i].json, talk[i].text);
}

/* Every JSON program of the fuzz corpus that is valid prints as text that gives it back. */
static void test_corpus(void)
{
	const char *dir_name = BLINKD_SOURCE_DIR "/tests/fuzz/corpus/program";
	DIR *dir = opendir(dir_name);
	struct dirent *de;
	unsigned n_valid = 0;

	check(dir != NULL);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		_cleanup_(freep) char *path = NULL, *text = NULL, *json = NULL, *canonical = NULL;
		_cleanup_(fclosep) FILE *f = NULL;
		char buf[8192];
		size_t n;
		ProgramError e;

		if (de->d_name[0] == '.' || asprintf(&path, "%s/%s", dir_name, de->d_name) < 0)
			continue;
		f = fopen(path, "re");
		check(f != NULL);
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		json = to_json(buf, 0, &e);
		if (!json)
			continue;
		n_valid++;
		text = to_text(json, 0, &e);
		check(text != NULL);
		canonical = text ? to_json(text, 0, &e) : NULL;
		check_str(canonical, json);
	}
	closedir(dir);
	check(n_valid >= 10);
}

static void test_syntax_errors(void)
{
	/* Programs. */
	check_error("", 1, 1, "expected a program (blink, cycle, on, wait, sequence, all, any, "
			      "forever, repeat, call, dim, fade, pattern, heartbeat, morse), "
			      "found the end of the text");
	check_error("  \n# nothing\n", 3, 1, "found the end of the text");
	check_error("flash(1s)", 1, 1, "unknown program \"flash\" (expected blink, cycle");
	check_error("42", 1, 1, "expected a program");
	check_error("[]", 1, 1, "expected a program");
	check_error("\"on\"", 1, 1, "expected a program (blink, cycle, on, wait, sequence, all, "
				    "any, forever, repeat, call, dim, fade, pattern, heartbeat, "
				    "morse), found a string");
	check_error("blink", 1, 6, "expected \"(\" after blink, found the end of the text: "
				   "blink(LINES, INTERVAL, TIMES?)");
	check_error("wait 1s", 1, 6, "expected \"(\" after wait, found \"1s\"");
	check_error("blink(col 0)", 1, 12, "INTERVAL is missing: blink(LINES, INTERVAL, TIMES?)");
	check_error("on()", 1, 4, "LINES is missing: on(LINES, FOR?)");
	check_error("sequence()", 1, 10, "PROGRAM is missing: sequence(PROGRAM, ...)");
	check_error("repeat(2)", 1, 9, "PROGRAM is missing: repeat(TIMES, PROGRAM)");
	check_error("wait(1s, 2s)", 1, 10, "too many arguments: wait(DURATION)");
	check_error("on(row 1, 1s, 2s)", 1, 15, "too many arguments: on(LINES, FOR?)");
	check_error("wait(1s,)", 1, 9, "\",\" must be followed by an argument");
	check_error("sequence(wait(1s),)", 1, 19, "\",\" must be followed by an argument");
	check_error("wait(1s", 1, 8, "expected \",\" or \")\", found the end of the text: "
				 "wait(DURATION)");
	check_error("wait(1s 2s)", 1, 9, "expected \",\" or \")\", found \"2s\"");
	check_error("on(row 1) x", 1, 11, "unexpected \"x\" after the program");
	check_error("on(row 1) on(row 2)", 1, 11, "unexpected \"on\" after the program");
	check_error("forever(on)", 1, 11, "expected \"(\" after on");
	check_error("forever(17)", 1, 9, "expected a program");

	/* Lines. */
	check_error("on(row)", 1, 7, "row needs its number, as in row 2; found \")\"");
	check_error("on(col x)", 1, 8, "col needs its number, as in col 2; found \"x\"");
	check_error("on(row 1.5)", 1, 8, "row needs its number");
	check_error("on(1.5)", 1, 4, "a line offset is a whole number, not 1.5");
	check_error("on([11, row])", 1, 9, "\"row\" is not a line here");
	check_error("on([11 10])", 1, 8,
		    "expected \",\" or \"]\" in the list of lines, found \"10\"");
	check_error("on([11,])", 1, 8, "expected a line (an offset, a name, or a name in quotes), "
				   "found \"]\"");
	check_error("on([11", 1, 7, "expected \",\" or \"]\"");
	check_error("on(300ms)", 1, 4, "expected lines (row N, col N, all, a line, or a list "
				       "[LINE, ...]), found \"300ms\"");
	check_error("on(,)", 1, 4, "expected lines");

	/* Durations and counts. */
	check_error("wait(2)", 1, 6, "a duration needs its unit, as in 300ms or 2s");
	check_error("blink(11, 0.5)", 1, 11, "a duration needs its unit");
	check_error("wait(5parsecs)", 1, 6, "\"5parsecs\" is not a duration (a number with a unit: "
					    "us, ms, s, m, h, d)");
	check_error("wait(-1s)", 1, 6, "\"-1s\" is not a duration");
	check_error("wait(1e3s)", 1, 6, "\"1e3s\" is not a duration");
	check_error("wait(forever)", 1, 6, "expected a duration, such as 300ms or 2s; found "
					   "\"forever\"");
	check_error("blink(11, 1s, 2.5)", 1, 15, "a count is a whole number, not 2.5");
	check_error("blink(11, 1s, 2x)", 1, 15, "expected a count, such as 3; found \"2x\"");
	check_error("repeat(wait(1s))", 1, 8, "expected a count");
	check_error("blink(11, 1s, 99999999999999999999)", 1, 15,
		    "the number 99999999999999999999 is too large");
	check_error("call(17)", 1, 6, "expected the name of a definition, found \"17\"");
	check_error("call()", 1, 6, "NAME is missing: call(NAME)");

	/* Characters and strings. */
	check_error("on({row: 1})", 1, 4, "unexpected \"{\"");
	check_error("on('GPIO17')", 1, 4, "strings are written in double quotes");
	check_error("on(\xc3\xa9)", 1, 4, "unexpected \"\xc3\xa9\"");
	check_error("on(-)", 1, 4, "unexpected \"-\"");
	check_error("on(\x01)", 1, 4, "unexpected control character U+0001");
	check_error("on(\"GPIO17)", 1, 4, "a string that does not end");
	check_error("on(\"GPIO17\n\")", 1, 4, "a string that does not end on its line");
	check_error("on(\"GPIO\t17\")", 1, 9, "a control character inside a string");
	check_error("on(\"GP\\x\")", 1, 7, "an escape the language does not have");
	check_error("on(\"GP\\u12G4\")", 1, 7, "an escape the language does not have");
	check_error("on(\"GP\\u0000\")", 1, 7, "a NUL character (\\u0000) inside a string");
	check_error("on(\"GP\\ud800\")", 1, 7, "\\uD800 is the first half of a surrogate pair");
	check_error("on(\"GP\\ud800\\u0041\")", 1, 7, "the first half of a surrogate pair");
	check_error("on(\"GP\\udc00\")", 1, 7, "\\uDC00 is the second half of a surrogate pair");
	check_error("on(\"\xff\")", 1, 5, "not valid UTF-8");
	check_error("on(\"\xc0\x80\")", 1, 5, "not valid UTF-8");
	check_error("on(\"\xed\xa0\x80\")", 1, 5, "not valid UTF-8");
	check_error("# \xf4\x90\x80\x80\non(1)", 1, 3, "not valid UTF-8");
	check_error("on(\"\xe2\x82\")", 1, 5, "not valid UTF-8");

	/* Lines and columns: new lines count, a column is a character, a tab one column. */
	check_error("sequence(\n"
		    "  wait(1s),\n"
		    "\ton(\"\xc3\xa9t\xc3\xa9\", x)\n"
		    ")",
		    3, 12, "expected a duration, such as 300ms or 2s; found \"x\"");
	check_error("sequence(wait(1s),\r\n  wait(1s)\r\n  wait(2s))", 3, 3,
		    "expected \",\" or \")\", found \"wait\"");
}

/* The JSON parser's rules, reported where the text wrote the value. */
static void test_rule_errors(void)
{
	check_error("blink(col 5, 300ms)", 1, 11,
		    "col 5 is out of range (the layout has 5 columns)");
	check_error("on(row -1)", 1, 8, "row -1 is out of range");
	check_error("sequence(wait(1s), wait(1s), blink(11, 50us))", 1, 40,
		    "must be between 100us and 1d");
	check_error("wait(2d)", 1, 6, "must be between 100us and 1d");
	check_error("wait(25h)", 1, 6, "must be between 100us and 1d");
	check_error("wait(99us)", 1, 6, "must be between 100us and 1d");
	check_error("wait(18446744073709551616s)", 1, 6, "must be between 100us and 1d");
	check_error("blink(11, 1s, 0)", 1, 15, "must be an integer between 1 and 2147483647");
	check_error("blink(11, 1s, -3)", 1, 15, "between 1 and 2147483647");
	check_error("repeat(2147483648, wait(1s))", 1, 8, "between 1 and 2147483647");
	check_error("on(19)", 1, 4, "line 19 is not in the layout");
	check_error("on([11, 19])", 1, 9, "line 19 is not in the layout");
	check_error("on([11, -1])", 1, 9, "line number -1 is out of range");
	check_error("on([11, 70000])", 1, 9, "line number 70000 is out of range");
	check_error("on([11, 10, 11])", 1, 13, "line 11 is named twice");
	check_error("on([11, GPIO11])", 1, 9, "line 11 is named twice");
	check_error("on(GPIO19)", 1, 4, "no line is named \"GPIO19\"");
	check_error("on(\"\")", 1, 4, "line names are 1 to 64 characters");
	check_error("on([])", 1, 4, "must name at least one line");
	check_error("call(\"a/b\")", 1, 6, "\"a/b\" is not a valid name");
	check_error("call(\"\")", 1, 6, "is not a valid name");
	/* The JSON parser quotes 70 bytes of a name, which would cut an "é" in two. */
	check_error_accents("call(\"a", 40, "\")", 1, 6, "is not a valid name");
	check_error_accents("on(\"", 30, "\")", 1, 4, "no line is named");
	check_error_accents("wait(1", 20, ")", 1, 6, "is not a duration");
	check_error("any(wait(1s),\n    on(row 1),\n    forever(on(col 7)))", 3, 20,
		    "col 7 is out of range");
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
	_cleanup_(freep) char *deep32 = nest("forever(", "wait(1s)", ")", 31);
	_cleanup_(freep) char *deep33 = nest("forever(", "wait(1s)", ")", 32);
	_cleanup_(freep) char *deep_seq = nest("sequence(", "wait(1s)", ")", 40);
	_cleanup_(freep) char *deep_open = nest("forever(", "", "", 30000);
	_cleanup_(freep) char *big = NULL, *many = NULL, *many_ok = NULL;
	_cleanup_(program_unrefp) Program *p = NULL;
	ProgramError e;
	size_t n;

	check_int(program_parse(deep32, layout, 0, &p, &e), 0);
	check_int(p->n_nodes, 32);
	p = program_unref(p);
	/* The 33rd program, where it starts. */
	check_error(deep33, 1, 32 * 8 + 1, "nesting deeper than 32");
	check_error(deep_seq, 1, 32 * 9 + 1, "nesting deeper than 32");
	/* 30,000 levels open (under 64 KiB even so): no deeper into the stack than 33. */
	deep_open[PROGRAM_TEXT_MAX - 1] = '\0';
	check_error(deep_open, 1, 32 * 8 + 1, "nesting deeper than 32");

	/* 64 KiB of text at most; the error is where the text goes past it. */
	n = PROGRAM_TEXT_MAX + 1;
	big = malloc(n + 1);
	if (!big)
		abort();
	memset(big, ' ', n);
	memcpy(big, "wait(1s)\n\n", 10);
	big[n] = '\0';
	check_error(big, 3, PROGRAM_TEXT_MAX - 10 + 1, "program text is longer than 65536 bytes");
	big[n - 1] = '\0';
	check_int(program_parse(big, layout, 0, &p, &e), 0);
	p = program_unref(p);

	/* 4096 nodes at most: the error points at the first program too many. */
	for (unsigned count = 4095; count <= 4096; count++) {
		size_t len = 16 + (size_t)count * 10;
		char *s = malloc(len), *q = s;
		if (!s)
			abort();
		q += sprintf(q, "all(");
		for (unsigned i = 0; i < count; i++)
			q += sprintf(q, "%swait(1s)", i ? "," : "");
		sprintf(q, ")");
		if (count == 4095)
			many_ok = s;
		else
			many = s;
	}
	check_int(program_parse(many_ok, layout, 0, &p, &e), 0);
	check_int(p->n_nodes, 4096);
	p = program_unref(p);
	check_error(many, 1, 5 + 4095 * 9, "more than 4096 nodes");
}

static void test_forms(void)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	ProgramError e;

	/* JSON is an object: its first character is "{", after white space. */
	check(program_looks_like_json("{\"wait\":1}"));
	check(program_looks_like_json(" \t\r\n{"));
	check(!program_looks_like_json("wait(1s)"));
	check(!program_looks_like_json(""));
	check(!program_looks_like_json("[{\"wait\":1}]"));
	check(!program_looks_like_json("# {\n"));

	/* JSON errors keep their JSON path, without a line. */
	memset(&e, 0xa5, sizeof(e));
	check_int(program_parse("{\"wait\":\"2d\"}", layout, 0, &p, &e), -EINVAL);
	check_str(e.path, "$.wait");
	check_int(e.line, 0);
	check_int(e.column, 0);
	memset(&e, 0xa5, sizeof(e));
	check_int(program_parse("{\"wait\":", layout, 0, &p, &e), -EINVAL);
	check_str(e.path, "$");
	check_int(e.line, 0);

	/* program_error_format() puts the place first, in either form. */
	{
		char buf[512];

		check_int(program_parse("wait(2d)", layout, 0, &p, &e), -EINVAL);
		program_error_format(&e, buf, sizeof(buf));
		check_str(buf, "line 1, column 6: must be between 100us and 1d");
	}

	/* No error wanted: none written. */
	check_int(program_parse_text("wait(", layout, 0, &p, NULL), -EINVAL);
	check_int(program_parse_text("wait(2d)", layout, 0, &p, NULL), -EINVAL);
	check_int(program_parse_text("wait(2s)", layout, 0, &p, NULL), 0);
	check_int(p->kind, PROGRAM_WAIT);
	check_int(p->duration, 2 * USEC_PER_SEC);
	p = program_unref(p);

	/* The text form resolves lines like JSON does. */
	check_int(program_parse("blink(col 1, 1s)", layout, 0, &p, &e), 0);
	check_int(p->lines.n_numbers, 5);
	check_int(p->lines.numbers[0], 10);
	check_int(p->lines.numbers[4], 12);
	p = program_unref(p);
	check_int(program_parse("on(LED_RED)", layout, 0, &p, &e), -EINVAL);
	check_int(program_parse("on(LED_RED)", layout, PROGRAM_PARSE_NAMES_UNCHECKED, &p, &e), 0);
	check_int(p->lines.n_numbers, 0);
}

int main(void)
{
	check_int(layout_new_default(&layout), 0);
	check_int(layout_name_unnamed_lines(layout), 0);

	test_kinds();
	test_levels();
	test_lines();
	test_layout();
	test_talk();
	test_corpus();
	test_syntax_errors();
	test_rule_errors();
	test_limits();
	test_forms();

	layout_free(layout);
	return test_summary("test-program-text");
}

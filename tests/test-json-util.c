/* SPDX-License-Identifier: MIT */
/*
 * The text a message quotes (utf8_quote(), utf8_escape_controls(), the log
 * line) and the one strict JSON parse, duplicate keys included.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "json-util.h"
#include "log.h"
#include "utf8.h"
#include "test.h"

static bool valid(const char *s)
{
	return utf8_invalid_at(s, strlen(s)) < 0;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static const char *quote(const char *s, size_t max)
{
	static char buf[UTF8_QUOTE_SIZE(64)];

	return utf8_quote(buf, sizeof(buf), s, strlen(s), max);
}

static void test_quote_plain(void)
{
	check_str(quote("", 10), "");
	check_str(quote("abc", 10), "abc");
	check_str(quote("abc", 3), "abc");
	check_str(quote("abcd", 3), "abc\xe2\x80\xa6");
	check_str(quote("abc", 0), "\xe2\x80\xa6");
	check_str(quote("\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	check_str(quote("a\"b\\c", 10), "a\\\"b\\\\c");
	check_str(quote("a\nb\tc\x7f", 10), "a\\x0ab\\x09c\\x7f");
	/* C1 controls (U+0085 is a line break for some) */
	check_str(quote("a\xc2\x85z", 10), "a\\u0085z");
	/* a 4-byte character is one character */
	check_str(quote("\xf0\x9f\x92\xa1!", 1), "\xf0\x9f\x92\xa1\xe2\x80\xa6");
	check(QUOTE("x", 4)[0] == 'x');
}

static void test_quote_invalid(void)
{
	check_str(quote("\xff", 10), "\\xff");
	check_str(quote("a\xc3", 10), "a\\xc3");
	check_str(quote("\xc3(", 10), "\\xc3(");
	/* overlong '/', a surrogate, beyond U+10FFFF, a lone continuation byte */
	check_str(quote("\xc0\xaf", 10), "\\xc0\\xaf");
	check_str(quote("\xed\xa0\x80", 10), "\\xed\\xa0\\x80");
	check_str(quote("\xf4\x90\x80\x80", 10), "\\xf4\\x90\\x80\\x80");
	check_str(quote("\x80z", 10), "\\x80z");
	/* noncharacters: valid UTF-8 that sd-bus refuses */
	check_str(quote("\xef\xbf\xbf", 10), "\\xef\\xbf\\xbf");
	check_str(quote("\xef\xb7\x90", 10), "\\xef\\xb7\\x90");
	check_str(quote("\xf0\x9f\xbf\xbe", 10), "\\xf0\\x9f\\xbf\\xbe");
	check_str(quote("\xef\xbf\xbd", 10), "\xef\xbf\xbd");
	/* an escaped byte is one character of the count */
	check_str(quote("\xff\xff\xff", 2), "\\xff\\xff\xe2\x80\xa6");
}

/*
 * Every character length, cut after every byte (as "%.Ns" would cut it), quoted
 * with every limit and into every buffer size: valid UTF-8, no control
 * character, and a prefix of the whole when nothing was escaped.
 */
static void test_quote_every_cut(void)
{
	static const char *const chars[] = { "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x92\xa1" };
	char text[256], buf[UTF8_QUOTE_SIZE(80)];
	unsigned bad = 0, n = 0;

	for (size_t c = 0; c < ELEMENTSOF(chars); c++) {
		size_t len = 0;

		text[len++] = 'a';
		while (len + strlen(chars[c]) < 80) {
			memcpy(text + len, chars[c], strlen(chars[c]));
			len += strlen(chars[c]);
		}
		for (size_t cut = 0; cut <= len; cut++)
			for (size_t max = 0; max <= 82; max += 7)
				for (size_t size = 4; size <= sizeof(buf); size += 13) {
					memset(buf, 0x55, sizeof(buf));
					utf8_quote(buf, size, text, cut, max);
					n++;
					if (memchr(buf, '\0', size) == NULL || !valid(buf) ||
					    has_control(buf))
						bad++;
				}
	}
	check(n > 10000);
	check_int(bad, 0);
}

static void test_trim_partial(void)
{
	char s[16];

	strcpy(s, "a\xc3\xa9");
	utf8_trim_partial(s);
	check_str(s, "a\xc3\xa9");
	strcpy(s, "a\xc3");
	utf8_trim_partial(s);
	check_str(s, "a");
	strcpy(s, "a\xe2\x82");
	utf8_trim_partial(s);
	check_str(s, "a");
	strcpy(s, "a\xf0\x9f\x92");
	utf8_trim_partial(s);
	check_str(s, "a");
	strcpy(s, "");
	utf8_trim_partial(s);
	check_str(s, "");
}

/* What log_error() writes for @name, read back from stderr. */
static char *log_capture(const char *name)
{
	char path[] = "/tmp/test-json-util-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char *out = calloc(1, 8192);

	if (fd < 0 || saved < 0 || !out)
		abort();
	(void)unlink(path);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	log_set_prefix(false);
	log_set_ident(NULL);
	log_error("Simulated chip %s vanishes.", name);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (pread(fd, out, 8191, 0) < 0)
		abort();
	close(fd);
	return out;
}

static void test_log_one_line(void)
{
	_cleanup_(freep) char *a = log_capture("sim\nblinkd: forged line");
	_cleanup_(freep) char *b = log_capture("tab\there \xff\xc3");
	char long_name[3000];

	check_str(a, "Simulated chip sim\\x0ablinkd: forged line vanishes.\n");
	check_str(b, "Simulated chip tab\there \\xff\\xc3 vanishes.\n");

	/* A message cut to fit its buffer ends on a whole character. */
	for (size_t i = 0; i + 2 < sizeof(long_name); i += 2)
		memcpy(long_name + i, "\xc3\xa9", 2);
	long_name[sizeof(long_name) - 1 - (sizeof(long_name) - 1) % 2] = '\0';
	for (size_t shift = 0; shift < 2; shift++) {
		_cleanup_(freep) char *c = log_capture(long_name + shift);

		check(valid(c));
		check(strchr(c, '\n') == c + strlen(c) - 1);
		check(strstr(c, "\\x") == NULL || shift == 1);
	}
}

static int parse(const char *text, JsonError *e)
{
	_cleanup_(json_object_putp) json_object *j = NULL;

	memset(e, 0, sizeof(*e));
	return json_parse_strict(text, strlen(text), 80, &j, e);
}

static void check_duplicate(const char *text, const char *path, const char *message)
{
	JsonError e;

	check_int(parse(text, &e), -EINVAL);
	check_str(e.path, path);
	check_str(e.message, message);
	check(valid(e.path) && valid(e.message));
}

static void test_duplicates(void)
{
	JsonError e;

	check_int(parse("{\"a\":1,\"b\":2,\"c\":{\"a\":1,\"b\":{}}}", &e), 0);
	check_int(parse("[{\"a\":1},{\"a\":1},\"a\",\"a\"]", &e), 0);
	check_int(parse("{\"a\":\"a\",\"b\":[\"a\",\"b\"]}", &e), 0);
	check_int(parse("{\"\":1,\"a\\\"\":2,\"a\":3}", &e), 0);

	check_duplicate("{\"lines\":{},\"lines\":{}}", "$.lines", "duplicate key \"lines\"");
	check_duplicate("{\"fade\":{\"from\":0,\"from\":1,\"to\":1}}", "$.fade.from",
			"duplicate key \"from\"");
	check_duplicate("{\"a\":[1,{\"x\":1,\"y\":2,\"x\":3}]}", "$.a[1].x", "duplicate key \"x\"");
	check_duplicate("{\"\":1,\"\":2}", "$.", "duplicate key \"\"");
	/* the same key written two ways is the same key to json-c */
	check_duplicate("{\"ab\":1,\"\\u0061b\":2}", "$.ab", "duplicate key \"ab\"");
	check_duplicate("{\"\\n\":1,\"\\n\":2}", "$.\\x0a", "duplicate key \"\\x0a\"");
	check_duplicate("{\"\xc3\xa9\":1, \"\xc3\xa9\" : 2}", "$.\xc3\xa9",
			"duplicate key \"\xc3\xa9\"");
	/* the first key written twice, several times over */
	check_duplicate("{\"b\":1,\"a\":1,\"a\":2,\"b\":2}", "$.a", "duplicate key \"a\"");

	/* deeper than the path is kept, still found */
	{
		char text[2048] = "";
		for (int i = 0; i < 70; i++)
			strcat(text, "{\"k\":");
		strcat(text, "{\"d\":1,\"d\":2}");
		for (int i = 0; i < 70; i++)
			strcat(text, "}");
		check_int(parse(text, &e), -EINVAL);
		check_str(e.message, "duplicate key \"d\"");
		check(strstr(e.path, "...") != NULL);
	}
	/* a long key is named cut, on a character boundary */
	{
		char text[1024] = "{\"";
		for (int i = 0; i < 100; i++)
			strcat(text, "\xc3\xa9");
		strcat(text, "\":1,\"");
		for (int i = 0; i < 100; i++)
			strcat(text, "\xc3\xa9");
		strcat(text, "\":2}");
		check_int(parse(text, &e), -EINVAL);
		check(valid(e.path) && valid(e.message));
		check(strstr(e.message, "\xe2\x80\xa6\"") != NULL);
	}
}

/* JSON escapes that write what D-Bus cannot carry back are refused; others are kept. */
static void test_noncharacters(void)
{
	JsonError e;

	check_int(parse("{\"a\":\"\\ud83d\\udca1 \\ufffd \\u00e9\"}", &e), 0);
	check_int(parse("{\"a\":\"x\\uffff\"}", &e), -EINVAL);
	check_str(e.path, "$.a");
	check(strstr(e.message, "noncharacter") != NULL);
	check_int(parse("{\"\\uFDD0\":1}", &e), -EINVAL);
	check_int(parse("[\"\\ud83f\\udfff\"]", &e), -EINVAL);
	check_int(parse("[\"\xef\xbf\xbe\"]", &e), -EINVAL);
	check(strstr(e.message, "not valid UTF-8") != NULL);
}

/* A path that names a bad string in a long key is valid UTF-8 (it was cut at 60 bytes). */
static void test_path_cut(void)
{
	char text[512] = "{\"a";
	JsonError e;

	for (int i = 0; i < 60; i++)
		strcat(text, "\xc3\xa9");
	strcat(text, "\":\"x\x01\"}");
	check_int(parse(text, &e), -EINVAL);
	check(valid(e.path));
}

int main(void)
{
	test_quote_plain();
	test_quote_invalid();
	test_quote_every_cut();
	test_trim_partial();
	test_log_one_line();
	test_duplicates();
	test_path_cut();
	test_noncharacters();
	return test_summary("test-json-util");
}

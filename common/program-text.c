/* SPDX-License-Identifier: MIT */
/*
 * The text form: a lexer and a recursive-descent parser that build the JSON
 * form of a program, driven by one table of kinds; and a printer that walks
 * the canonical JSON form with the same table.
 *
 * Recursion follows the nesting of programs and nothing else, and stops one
 * level past PROGRAM_DEPTH_MAX, so no text can exhaust the stack.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "duration.h"
#include "json-util.h"
#include "program-text.h"
#include "utf8.h"

/* -------------------------------------------------------------- the kinds */

typedef enum ArgType {
	ARG_LINES,    /* row N, col N, all, a line, [LINE, ...] */
	ARG_DURATION, /* a number with a unit: 300ms */
	ARG_COUNT,    /* a whole number */
	ARG_PROGRAM,
	ARG_NAME,  /* a definition's name: a word or a string */
	ARG_LEVEL, /* a number from 0 to 1: 0.25 */
	ARG_WORD,  /* one of the words the JSON parser takes there: linear */
	ARG_TEXT,  /* a string, or a word: "SOS" */
	ARG_STEPS, /* [[LEVEL, DURATION or 0], ...] */
} ArgType;

/* One argument of a kind: what it is, and where it goes in the JSON form. */
typedef struct Param {
	const char *name; /* as the usage line writes it: "INTERVAL" */
	ArgType type;
	const char *key; /* its key in the JSON body; NULL: the argument is the body */
	bool optional;	 /* may be left out; only the last arguments are */
	bool repeated;	 /* one or more, the kind's only argument; the body is their list */
} Param;

#define PARAMS_MAX 6

typedef struct TextKind {
	const char *name; /* the key of the JSON form */
	Param params[PARAMS_MAX];
} TextKind;

/*
 * Every kind of the language. The rules for the values (ranges, lines of the
 * layout, names) are the JSON parser's; this table only says how the
 * arguments are written and where each goes in the JSON form. A new kind is
 * a new entry here.
 */
static const TextKind text_kinds[] = {
	{ "blink",
	  { { .name = "LINES", .type = ARG_LINES, .key = "lines" },
	    { .name = "INTERVAL", .type = ARG_DURATION, .key = "interval" },
	    { .name = "TIMES", .type = ARG_COUNT, .key = "times", .optional = true } } },
	{ "cycle",
	  { { .name = "LINES", .type = ARG_LINES, .key = "lines" },
	    { .name = "INTERVAL", .type = ARG_DURATION, .key = "interval" },
	    { .name = "TIMES", .type = ARG_COUNT, .key = "times", .optional = true } } },
	{ "on",
	  { { .name = "LINES", .type = ARG_LINES, .key = "lines" },
	    { .name = "FOR", .type = ARG_DURATION, .key = "for", .optional = true } } },
	{ "wait", { { .name = "DURATION", .type = ARG_DURATION } } },
	{ "sequence", { { .name = "PROGRAM", .type = ARG_PROGRAM, .repeated = true } } },
	{ "all", { { .name = "PROGRAM", .type = ARG_PROGRAM, .repeated = true } } },
	{ "any", { { .name = "PROGRAM", .type = ARG_PROGRAM, .repeated = true } } },
	{ "forever", { { .name = "PROGRAM", .type = ARG_PROGRAM } } },
	{ "repeat",
	  { { .name = "TIMES", .type = ARG_COUNT, .key = "times" },
	    { .name = "PROGRAM", .type = ARG_PROGRAM, .key = "program" } } },
	{ "call", { { .name = "NAME", .type = ARG_NAME } } },
	{ "dim",
	  { { .name = "LINES", .type = ARG_LINES, .key = "lines" },
	    { .name = "LEVEL", .type = ARG_LEVEL, .key = "level" },
	    { .name = "FOR", .type = ARG_DURATION, .key = "for", .optional = true } } },
	{ "fade",
	  { { .name = "LINES", .type = ARG_LINES, .key = "lines" },
	    { .name = "FROM", .type = ARG_LEVEL, .key = "from" },
	    { .name = "TO", .type = ARG_LEVEL, .key = "to" },
	    { .name = "OVER", .type = ARG_DURATION, .key = "over" },
	    { .name = "CURVE", .type = ARG_WORD, .key = "curve", .optional = true } } },
	{ "pattern",
	  { { .name = "LINES", .type = ARG_LINES, .key = "lines" },
	    { .name = "STEPS", .type = ARG_STEPS, .key = "steps" },
	    { .name = "TIMES", .type = ARG_COUNT, .key = "times", .optional = true } } },
	{ "heartbeat",
	  { { .name = "LINES", .type = ARG_LINES, .key = "lines" },
	    { .name = "PERIOD", .type = ARG_DURATION, .key = "period", .optional = true } } },
	{ "morse",
	  { { .name = "LINES", .type = ARG_LINES, .key = "lines" },
	    { .name = "TEXT", .type = ARG_TEXT, .key = "text" },
	    { .name = "UNIT", .type = ARG_DURATION, .key = "unit", .optional = true } } },
};

static const TextKind *kind_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ELEMENTSOF(text_kinds); i++)
		if (strlen(text_kinds[i].name) == len &&
		    strncmp(text_kinds[i].name, name, len) == 0)
			return &text_kinds[i];
	return NULL;
}

static size_t kind_n_params(const TextKind *k)
{
	size_t n = 0;

	while (n < PARAMS_MAX && k->params[n].name)
		n++;
	return n;
}

/* "blink(LINES, INTERVAL, TIMES?)", for messages. */
static const char *kind_usage(const TextKind *k, char buf[static 128])
{
	size_t n = kind_n_params(k), len;

	len = (size_t)snprintf(buf, 128, "%s(", k->name);
	for (size_t i = 0; i < n && len < 128; i++)
		len += (size_t)snprintf(buf + len, 128 - len, "%s%s%s%s", i ? ", " : "",
					k->params[i].name, k->params[i].optional ? "?" : "",
					k->params[i].repeated ? ", ..." : "");
	if (len < 128)
		snprintf(buf + len, 128 - len, ")");
	return buf;
}

/* "blink, cycle, ..., morse", for messages. */
static const char *kind_list(char buf[static 160])
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(text_kinds) && len < 160; i++)
		len += (size_t)snprintf(buf + len, 160 - len, "%s%s", i ? ", " : "",
					text_kinds[i].name);
	return buf;
}

/* Words that mean something where lines are written; a line of such a name is quoted. */
static bool is_lines_keyword(const char *word, size_t len)
{
	return (len == 3 && (strncmp(word, "row", 3) == 0 || strncmp(word, "col", 3) == 0 ||
			     strncmp(word, "all", 3) == 0));
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_word_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_word_char(char c)
{
	return is_word_start(c) || is_digit(c) || c == '.' || c == '-';
}

/* ------------------------------------------------------------------ UTF-8 */

/* The longest prefix of @s (@len bytes) of at most @max bytes that ends between characters. */
static int utf8_prefix(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return (int)len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return (int)max;
}

static void utf8_append(char **q, uint32_t cp)
{
	unsigned char *u = (unsigned char *)*q;

	if (cp < 0x80)
		*u++ = (unsigned char)cp;
	else if (cp < 0x800) {
		*u++ = (unsigned char)(0xc0 | cp >> 6);
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*u++ = (unsigned char)(0xe0 | cp >> 12);
		*u++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*u++ = (unsigned char)(0xf0 | cp >> 18);
		*u++ = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	*q = (char *)u;
}

/* ------------------------------------------------------------------ lexer */

typedef enum TokenType {
	TOKEN_END,
	TOKEN_WORD,	/* blink, row, status, GPIO17 */
	TOKEN_NUMBER,	/* 17, -3, 0.5 */
	TOKEN_DURATION, /* a number with letters after it: 300ms, or a bad one: 5parsecs */
	TOKEN_STRING,	/* "pinctrl-rp1:GPIO17" */
	TOKEN_PUNCT,	/* ( ) [ ] , */
} TokenType;

typedef struct Token {
	TokenType type;
	const char *start; /* as written */
	size_t len;
	unsigned line, column;
	bool fraction;	 /* NUMBER: written with a decimal point */
	int64_t integer; /* NUMBER without a fraction */
	char *string;	 /* STRING: what it stands for, malloc'ed */
} Token;

/* Where a JSON value of the program was written. */
typedef struct Place {
	json_object *value;
	unsigned line, column;
} Place;

typedef struct TextParser {
	const char *p;		/* the next byte */
	unsigned line, column;	/* of that byte */
	Token token;		/* the current token */
	ProgramError *error;
	Place *places;
	size_t n_places, n_places_allocated;
} TextParser;

static void text_parser_done(TextParser *ps)
{
	free(ps->token.string);
	free(ps->places);
}

static int fail_at(TextParser *ps, unsigned line, unsigned column, const char *fmt, ...)
	_printf_(4, 5);
static int fail_at(TextParser *ps, unsigned line, unsigned column, const char *fmt, ...)
{
	va_list ap;

	ps->error->line = line;
	ps->error->column = column;
	snprintf(ps->error->path, sizeof(ps->error->path), "line %u, column %u", line, column);
	va_start(ap, fmt);
	vsnprintf(ps->error->message, sizeof(ps->error->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define fail(ps, token, ...) fail_at((ps), (token)->line, (token)->column, __VA_ARGS__)

/* The token as a message quotes it: "found ..." */
static const char *describe(const Token *t, char buf[static 64])
{
	switch (t->type) {
	case TOKEN_END:
		return "the end of the text";
	case TOKEN_STRING:
		return "a string";
	default:
		snprintf(buf, 64, "\"%.*s\"%s", utf8_prefix(t->start, t->len, 40), t->start,
			 t->len > 40 ? "..." : "");
		return buf;
	}
}

/* Where byte @offset of @text is. */
static void position_of(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_column)
{
	unsigned line = 1, column = 1;

	for (size_t i = 0; i < offset; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n') {
			line++;
			column = 1;
		} else if ((c & 0xc0) != 0x80)
			column++;
	}
	*ret_line = line;
	*ret_column = column;
}

/* Move past one byte; a column is a character, so the bytes after the first of one do not count. */
static void skip_byte(TextParser *ps)
{
	unsigned char c = (unsigned char)*ps->p++;

	if (c == '\n') {
		ps->line++;
		ps->column = 1;
	} else if ((c & 0xc0) != 0x80)
		ps->column++;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits of a \u escape at @s, or -1. */
static int32_t hex4(const char *s)
{
	int32_t v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hex_value(s[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* A string, as JSON writes one; the text is valid UTF-8 already. */
static int lex_string(TextParser *ps, Token *t)
{
	const char *end = ps->p + 1;
	char *q;

	/* Its end first, for the size of the buffer: what it stands for is never longer. */
	while (*end && *end != '"') {
		if (*end == '\\' && end[1])
			end++;
		end++;
	}
	t->string = malloc((size_t)(end - ps->p));
	if (!t->string)
		return -ENOMEM;
	q = t->string;

	skip_byte(ps);
	for (;;) {
		unsigned char c = (unsigned char)*ps->p;
		unsigned line = ps->line, column = ps->column;
		int32_t cp, low;

		if (c == '\0' || c == '\n')
			return fail(ps, t, "a string that does not end%s",
				    c ? " on its line" : "");
		if (c == '"') {
			skip_byte(ps);
			break;
		}
		if (c < 0x20)
			return fail_at(ps, line, column,
				       "a control character inside a string (write it as an "
				       "escape: \\t, \\u0001)");
		if (c != '\\') {
			*q++ = (char)c;
			skip_byte(ps);
			continue;
		}

		skip_byte(ps);
		c = (unsigned char)*ps->p;
		if (c && strchr("\"\\/bfnrt", c)) {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			*q++ = to[strchr(from, c) - from];
			skip_byte(ps);
			continue;
		}
		cp = c == 'u' ? hex4(ps->p + 1) : -1;
		if (cp < 0)
			return fail_at(ps, line, column,
				       "an escape the language does not have (\\\" \\\\ \\/ \\b "
				       "\\f \\n \\r \\t \\uXXXX)");
		if (cp == 0)
			return fail_at(ps, line, column,
				       "a NUL character (\\u0000) inside a string");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return fail_at(ps, line, column,
				       "\\u%04X is the second half of a surrogate pair, "
				       "without the first",
				       (unsigned)cp);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			low = ps->p[5] == '\\' && ps->p[6] == 'u' ? hex4(ps->p + 7) : -1;
			if (low < 0xdc00 || low > 0xdfff)
				return fail_at(ps, line, column,
					       "\\u%04X is the first half of a surrogate pair, "
					       "without the second",
					       (unsigned)cp);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
			for (int i = 0; i < 6; i++)
				skip_byte(ps);
		}
		/* As the JSON form refuses it: D-Bus carries no noncharacter. */
		if (utf8_is_noncharacter((uint32_t)cp))
			return fail_at(ps, line, column, "\\u%04X is a noncharacter, which D-Bus refuses",
				       (unsigned)cp);
		for (int i = 0; i < 5; i++)
			skip_byte(ps);
		utf8_append(&q, (uint32_t)cp);
	}
	*q = '\0';
	t->type = TOKEN_STRING;
	return 0;
}

/* 17, -3, 0.5; with letters right after it, a duration: 300ms, 1.5s, 200µs. */
static int lex_number(TextParser *ps, Token *t)
{
	uint64_t v = 0;
	bool negative = false, too_large = false;

	if (*ps->p == '-') {
		negative = true;
		skip_byte(ps);
	}
	while (is_digit(*ps->p)) {
		if (v > ((uint64_t)INT64_MAX - 9) / 10)
			too_large = true;
		else
			v = v * 10 + (uint64_t)(*ps->p - '0');
		skip_byte(ps);
	}
	if (*ps->p == '.' && is_digit(ps->p[1])) {
		t->fraction = true;
		skip_byte(ps);
		while (is_digit(*ps->p))
			skip_byte(ps);
	}
	if (is_word_char(*ps->p) || (unsigned char)*ps->p >= 0x80) {
		while (is_word_char(*ps->p) || (unsigned char)*ps->p >= 0x80)
			skip_byte(ps);
		t->type = TOKEN_DURATION;
		return 0;
	}
	t->type = TOKEN_NUMBER;
	if (too_large && !t->fraction)
		return fail(ps, t, "the number %.*s is too large",
			    utf8_prefix(t->start, (size_t)(ps->p - t->start), 40), t->start);
	t->integer = negative ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* Read the next token into ps->token. */
static int next_token(TextParser *ps)
{
	Token *t = &ps->token;
	char c;
	int r;

	free(t->string);
	*t = (Token){};

	/* White space, and comments from # to the end of the line. */
	for (;;) {
		if (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
			skip_byte(ps);
		else if (*ps->p == '#')
			while (*ps->p && *ps->p != '\n')
				skip_byte(ps);
		else
			break;
	}

	t->start = ps->p;
	t->line = ps->line;
	t->column = ps->column;
	c = *ps->p;
	if (c == '\0')
		t->type = TOKEN_END;
	else if (strchr("()[],", c)) {
		t->type = TOKEN_PUNCT;
		skip_byte(ps);
	} else if (is_word_start(c)) {
		t->type = TOKEN_WORD;
		while (is_word_char(*ps->p))
			skip_byte(ps);
	} else if (is_digit(c) || (c == '-' && is_digit(ps->p[1]))) {
		r = lex_number(ps, t);
		if (r < 0)
			return r;
	} else if (c == '"') {
		r = lex_string(ps, t);
		if (r < 0)
			return r;
	} else if (c == '\'')
		return fail(ps, t, "unexpected \"'\": strings are written in double quotes");
	else if ((unsigned char)c < 0x20 || c == 0x7f)
		return fail(ps, t, "unexpected control character U+%04X", (unsigned)c);
	else {
		size_t n = 1;
		while (((unsigned char)ps->p[n] & 0xc0) == 0x80)
			n++;
		return fail(ps, t, "unexpected \"%.*s\"", (int)n, ps->p);
	}
	t->len = (size_t)(ps->p - t->start);
	return 0;
}

static bool token_is_word(const Token *t, const char *word)
{
	return t->type == TOKEN_WORD && t->len == strlen(word) &&
	       strncmp(t->start, word, t->len) == 0;
}

static bool is_punct(const TextParser *ps, char c)
{
	return ps->token.type == TOKEN_PUNCT && ps->token.start[0] == c;
}

/* ----------------------------------------------------------------- parser */

/* @v, a new JSON value, written at @line:@column; NULL when out of memory (and @v put). */
static json_object *placed(TextParser *ps, json_object *v, unsigned line, unsigned column)
{
	if (!v)
		return NULL;
	if (ps->n_places == ps->n_places_allocated) {
		size_t n = ps->n_places_allocated ? 2 * ps->n_places_allocated : 64;
		Place *grown = realloc(ps->places, n * sizeof(Place));
		if (!grown) {
			json_object_put(v);
			return NULL;
		}
		ps->places = grown;
		ps->n_places_allocated = n;
	}
	ps->places[ps->n_places++] = (Place){ v, line, column };
	return v;
}

#define placed_at(ps, v, token) placed((ps), (v), (token)->line, (token)->column)

/* json_object_array_add() that puts @v when it fails. */
static int array_add(json_object *a, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* json_object_object_add() that puts @v when it fails. */
static int object_add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* @v is the value of the token just read: hand it over, and read the next token. */
static int take_value(TextParser *ps, json_object *v, json_object **ret)
{
	int r;

	if (!v)
		return -ENOMEM;
	r = next_token(ps);
	if (r < 0) {
		json_object_put(v);
		return r;
	}
	*ret = v;
	return 0;
}

/* One line: an offset, a name, or a name in quotes. */
static int parse_line(TextParser *ps, json_object **ret)
{
	Token *t = &ps->token;
	json_object *v;
	char buf[64];

	switch (t->type) {
	case TOKEN_NUMBER:
		if (t->fraction)
			return fail(ps, t, "a line offset is a whole number, not %.*s",
				    (int)t->len, t->start);
		v = json_object_new_int64(t->integer);
		break;
	case TOKEN_WORD:
		if (is_lines_keyword(t->start, t->len))
			return fail(ps, t,
				    "\"%.*s\" is not a line here; a line of that name is written "
				    "in quotes",
				    (int)t->len, t->start);
		v = json_object_new_string_len(t->start, (int)t->len);
		break;
	case TOKEN_STRING:
		v = json_object_new_string(t->string);
		break;
	default:
		return fail(ps, t,
			    "expected a line (an offset, a name, or a name in quotes), found %s",
			    describe(t, buf));
	}
	return take_value(ps, placed_at(ps, v, t), ret);
}

/* LINES: row N, col N, all, a line, or [LINE, ...]. */
static int parse_lines(TextParser *ps, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *v = NULL;
	Token *t = &ps->token;
	json_object *line = NULL;
	char buf[64];
	int r;

	if (token_is_word(t, "row") || token_is_word(t, "col")) {
		const char *key = t->start[0] == 'r' ? "row" : "col";

		v = placed_at(ps, json_object_new_object(), t);
		if (!v)
			return -ENOMEM;
		r = next_token(ps);
		if (r < 0)
			return r;
		if (t->type != TOKEN_NUMBER || t->fraction)
			return fail(ps, t, "%s needs its number, as in %s 2; found %s", key, key,
				    describe(t, buf));
		r = object_add(v, key, placed_at(ps, json_object_new_int64(t->integer), t));
		if (r < 0)
			return r;
		r = next_token(ps);
	} else if (token_is_word(t, "all")) {
		v = placed_at(ps, json_object_new_string("all"), t);
		if (!v)
			return -ENOMEM;
		r = next_token(ps);
	} else if (is_punct(ps, '[')) {
		v = placed_at(ps, json_object_new_array(), t);
		if (!v)
			return -ENOMEM;
		r = next_token(ps);
		if (r < 0)
			return r;
		/* [] is the JSON parser's to refuse, as {"lines": []} is. */
		if (!is_punct(ps, ']'))
			for (;;) {
				r = parse_line(ps, &line);
				if (r >= 0)
					r = array_add(v, line);
				if (r < 0)
					return r;
				if (is_punct(ps, ']'))
					break;
				if (!is_punct(ps, ','))
					return fail(ps, t,
						    "expected \",\" or \"]\" in the list of lines, "
						    "found %s",
						    describe(t, buf));
				r = next_token(ps);
				if (r < 0)
					return r;
			}
		r = next_token(ps);
	} else if (t->type == TOKEN_NUMBER || t->type == TOKEN_WORD || t->type == TOKEN_STRING) {
		/* One line alone: a list of one. */
		v = placed_at(ps, json_object_new_array(), t);
		if (!v)
			return -ENOMEM;
		r = parse_line(ps, &line);
		if (r >= 0)
			r = array_add(v, line);
	} else
		return fail(ps, t,
			    "expected lines (row N, col N, all, a line, or a list [LINE, ...]), "
			    "found %s",
			    describe(t, buf));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(v);
	return 0;
}

static int parse_duration(TextParser *ps, json_object **ret)
{
	Token *t = &ps->token;
	_cleanup_(freep) char *s = NULL;
	char buf[64];
	usec_t d;

	if (t->type == TOKEN_NUMBER)
		return fail(ps, t,
			    "a duration needs its unit, as in 300ms or 2s (us, ms, s, m, h, d)");
	if (t->type != TOKEN_DURATION)
		return fail(ps, t, "expected a duration, such as 300ms or 2s; found %s",
			    describe(t, buf));
	s = strndup(t->start, t->len);
	if (!s)
		return -ENOMEM;
	/* Whether it is one; its range is for the JSON parser to check, as for JSON. */
	if (duration_parse(s, &d) == -EINVAL)
		return fail(ps, t,
			    "\"%.*s\" is not a duration (a number with a unit: us, ms, s, m, h, d)",
			    utf8_prefix(s, t->len, 40), s);
	return take_value(ps, placed_at(ps, json_object_new_string(s), t), ret);
}

static int parse_count(TextParser *ps, json_object **ret)
{
	Token *t = &ps->token;
	char buf[64];

	if (t->type != TOKEN_NUMBER)
		return fail(ps, t, "expected a count, such as 3; found %s", describe(t, buf));
	if (t->fraction)
		return fail(ps, t, "a count is a whole number, not %.*s", (int)t->len, t->start);
	return take_value(ps, placed_at(ps, json_object_new_int64(t->integer), t), ret);
}

static int parse_name(TextParser *ps, json_object **ret)
{
	Token *t = &ps->token;
	json_object *v;
	char buf[64];

	if (t->type == TOKEN_WORD)
		v = json_object_new_string_len(t->start, (int)t->len);
	else if (t->type == TOKEN_STRING)
		v = json_object_new_string(t->string);
	else
		return fail(ps, t, "expected the name of a definition, found %s", describe(t, buf));
	return take_value(ps, placed_at(ps, v, t), ret);
}

/*
 * LEVEL: a number, read by json-c as the JSON parser reads one (JSON has no
 * leading zeros: they are dropped); its range is the JSON parser's to check.
 */
static int parse_level(TextParser *ps, json_object **ret)
{
	Token *t = &ps->token;
	const char *digits = t->start, *end = t->start + t->len;
	char buf[64], number[64];
	size_t n = 0;

	if (t->type != TOKEN_NUMBER)
		return fail(ps, t, "expected a level from 0 to 1, such as 0.5; found %s",
			    describe(t, buf));
	if (*digits == '-')
		number[n++] = *digits++;
	while (end - digits > 1 && digits[0] == '0' && is_digit(digits[1]))
		digits++;
	if ((size_t)(end - digits) >= sizeof(number) - n)
		return fail(ps, t, "%.*s has too many digits for a level",
			    utf8_prefix(t->start, t->len, 40), t->start);
	memcpy(number + n, digits, (size_t)(end - digits));
	number[n + (size_t)(end - digits)] = '\0';
	return take_value(ps, placed_at(ps, json_tokener_parse(number), t), ret);
}

/* A word the JSON parser checks: curve's linear or perceived. */
static int parse_word(TextParser *ps, const Param *param, json_object **ret)
{
	Token *t = &ps->token;
	char buf[64];

	if (t->type != TOKEN_WORD)
		return fail(ps, t, "expected %s, a word; found %s", param->name, describe(t, buf));
	return take_value(ps, placed_at(ps, json_object_new_string_len(t->start, (int)t->len), t),
			  ret);
}

static int parse_text(TextParser *ps, json_object **ret)
{
	Token *t = &ps->token;
	json_object *v;
	char buf[64];

	if (t->type == TOKEN_STRING)
		v = json_object_new_string(t->string);
	else if (t->type == TOKEN_WORD)
		v = json_object_new_string_len(t->start, (int)t->len);
	else
		return fail(ps, t, "expected a text in quotes, such as \"SOS\"; found %s",
			    describe(t, buf));
	return take_value(ps, placed_at(ps, v, t), ret);
}

/* [LEVEL, DURATION or 0]: one step of a pattern. */
static int parse_step(TextParser *ps, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *step = NULL;
	Token *t = &ps->token;
	json_object *v = NULL;
	char buf[64];
	int r;

	if (!is_punct(ps, '['))
		return fail(ps, t, "expected a step [LEVEL, DURATION], found %s", describe(t, buf));
	step = placed_at(ps, json_object_new_array_ext(2), t);
	if (!step)
		return -ENOMEM;
	r = next_token(ps);
	if (r >= 0)
		r = parse_level(ps, &v);
	if (r >= 0)
		r = array_add(step, v);
	if (r < 0)
		return r;
	if (!is_punct(ps, ','))
		return fail(ps, t, "expected \",\" and the step's duration, found %s",
			    describe(t, buf));
	r = next_token(ps);
	if (r < 0)
		return r;
	/* 0: a jump to the level, as in the JSON form. */
	if (t->type == TOKEN_NUMBER && !t->fraction && t->integer == 0)
		r = take_value(ps, placed_at(ps, json_object_new_int(0), t), &v);
	else if (t->type == TOKEN_NUMBER)
		return fail(ps, t, "a step's duration has its unit, as in 300ms, or is 0 (a jump)");
	else
		r = parse_duration(ps, &v);
	if (r >= 0)
		r = array_add(step, v);
	if (r < 0)
		return r;
	if (!is_punct(ps, ']'))
		return fail(ps, t, "expected \"]\" after the step's duration, found %s",
			    describe(t, buf));
	r = next_token(ps);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(step);
	return 0;
}

/* STEPS: [[LEVEL, DURATION or 0], ...]. */
static int parse_steps(TextParser *ps, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *steps = NULL;
	Token *t = &ps->token;
	json_object *step = NULL;
	char buf[64];
	int r;

	if (!is_punct(ps, '['))
		return fail(ps, t, "expected the steps, [[LEVEL, DURATION], ...]; found %s",
			    describe(t, buf));
	steps = placed_at(ps, json_object_new_array(), t);
	if (!steps)
		return -ENOMEM;
	r = next_token(ps);
	if (r < 0)
		return r;
	/* [] is the JSON parser's to refuse. */
	if (!is_punct(ps, ']'))
		for (;;) {
			r = parse_step(ps, &step);
			if (r >= 0)
				r = array_add(steps, step);
			if (r < 0)
				return r;
			if (is_punct(ps, ']'))
				break;
			if (!is_punct(ps, ','))
				return fail(ps, t, "expected \",\" or \"]\" in the steps, found %s",
					    describe(t, buf));
			r = next_token(ps);
			if (r < 0)
				return r;
		}
	r = next_token(ps);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(steps);
	return 0;
}

static int parse_program(TextParser *ps, unsigned depth, json_object **ret);

static int parse_argument(TextParser *ps, const Param *param, unsigned depth, json_object **ret)
{
	switch (param->type) {
	case ARG_LINES:
		return parse_lines(ps, ret);
	case ARG_DURATION:
		return parse_duration(ps, ret);
	case ARG_COUNT:
		return parse_count(ps, ret);
	case ARG_PROGRAM:
		return parse_program(ps, depth + 1, ret);
	case ARG_NAME:
		return parse_name(ps, ret);
	case ARG_LEVEL:
		return parse_level(ps, ret);
	case ARG_WORD:
		return parse_word(ps, param, ret);
	case ARG_TEXT:
		return parse_text(ps, ret);
	case ARG_STEPS:
		return parse_steps(ps, ret);
	}
	return -EINVAL;
}

/* KIND(ARGUMENT, ...), as the JSON form {"KIND": BODY}. */
static int parse_program(TextParser *ps, unsigned depth, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *body = NULL, *outer = NULL;
	Token *t = &ps->token;
	const TextKind *k;
	unsigned line = t->line, column = t->column;
	size_t n_params, n_args = 0;
	char buf[64], usage[128], kinds[160];
	int r;

	if (t->type != TOKEN_WORD)
		return fail(ps, t, "expected a program (%s), found %s", kind_list(kinds),
			    describe(t, buf));
	k = kind_find(t->start, t->len);
	if (!k)
		return fail(ps, t, "unknown program %s (expected %s)", describe(t, buf),
			    kind_list(kinds));
	if (depth > PROGRAM_DEPTH_MAX)
		return fail(ps, t, "nesting deeper than %u", PROGRAM_DEPTH_MAX);
	n_params = kind_n_params(k);

	r = next_token(ps);
	if (r < 0)
		return r;
	if (!is_punct(ps, '('))
		return fail(ps, t, "expected \"(\" after %s, found %s: %s", k->name,
			    describe(t, buf), kind_usage(k, usage));
	r = next_token(ps);
	if (r < 0)
		return r;

	if (k->params[0].key)
		body = placed(ps, json_object_new_object(), line, column);
	else if (k->params[0].repeated)
		body = placed(ps, json_object_new_array(), line, column);
	if ((k->params[0].key || k->params[0].repeated) && !body)
		return -ENOMEM;

	while (!is_punct(ps, ')')) {
		const Param *param = n_args < n_params		       ? &k->params[n_args]
				     : k->params[n_params - 1].repeated ? &k->params[n_params - 1]
									: NULL;
		json_object *v = NULL;

		if (!param)
			return fail(ps, t, "too many arguments: %s", kind_usage(k, usage));
		r = parse_argument(ps, param, depth, &v);
		if (r < 0)
			return r;
		if (param->key)
			r = object_add(body, param->key, v);
		else if (param->repeated)
			r = array_add(body, v);
		else
			body = v;
		if (r < 0)
			return r;
		n_args++;

		if (is_punct(ps, ',')) {
			r = next_token(ps);
			if (r < 0)
				return r;
			if (is_punct(ps, ')'))
				return fail(ps, t, "\",\" must be followed by an argument: %s",
					    kind_usage(k, usage));
		} else if (!is_punct(ps, ')'))
			return fail(ps, t, "expected \",\" or \")\", found %s: %s",
				    describe(t, buf), kind_usage(k, usage));
	}
	if (n_args < n_params && !k->params[n_args].optional)
		return fail(ps, t, "%s is missing: %s", k->params[n_args].name,
			    kind_usage(k, usage));
	r = next_token(ps);
	if (r < 0)
		return r;

	outer = placed(ps, json_object_new_object(), line, column);
	if (!outer)
		return -ENOMEM;
	r = object_add(outer, k->name, TAKE_PTR(body));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(outer);
	return 0;
}

/* Where the value at JSON path @path (as the JSON parser reports it) was written. */
static const Place *place_of_path(const TextParser *ps, json_object *root, const char *path)
{
	json_object *at = root, *found = root;
	const char *p = path;

	if (*p == '$')
		p++;
	while (*p) {
		json_object *next = NULL;
		char key[64];
		size_t n;

		if (*p == '.') {
			n = strcspn(p + 1, ".[");
			if (n >= sizeof(key) || !json_object_is_type(at, json_type_object))
				break;
			memcpy(key, p + 1, n);
			key[n] = '\0';
			if (!json_object_object_get_ex(at, key, &next))
				break;
			p += 1 + n;
		} else if (*p == '[') {
			char *end;
			unsigned long i = strtoul(p + 1, &end, 10);
			if (*end != ']' || !json_object_is_type(at, json_type_array) ||
			    i >= json_object_array_length(at))
				break;
			next = json_object_array_get_idx(at, i);
			p = end + 1;
		} else
			break;
		at = next;
		for (size_t i = 0; i < ps->n_places; i++)
			if (ps->places[i].value == at) {
				found = at;
				break;
			}
	}
	for (size_t i = 0; i < ps->n_places; i++)
		if (ps->places[i].value == found)
			return &ps->places[i];
	return NULL;
}

bool program_looks_like_json(const char *text)
{
	text += strspn(text, " \t\n\r");
	return *text == '{';
}

int program_parse_text(const char *text, const Layout *layout, unsigned flags, Program **ret,
		       ProgramError *error)
{
	_cleanup_(json_object_putp) json_object *json = NULL;
	_cleanup_(text_parser_done) TextParser ps = {
		.p = text,
		.line = 1,
		.column = 1,
	};
	ProgramError local, json_error = {};
	size_t len = strlen(text);
	unsigned line, column;
	const Place *place;
	char buf[64];
	ssize_t bad;
	int r;

	ps.error = error ?: &local;
	if (len > PROGRAM_TEXT_MAX) {
		position_of(text, PROGRAM_TEXT_MAX, &line, &column);
		return fail_at(&ps, line, column, "program text is longer than %u bytes",
			       PROGRAM_TEXT_MAX);
	}
	bad = utf8_invalid_at(text, len);
	if (bad >= 0) {
		position_of(text, (size_t)bad, &line, &column);
		return fail_at(&ps, line, column, "not valid UTF-8");
	}

	r = next_token(&ps);
	if (r < 0)
		return r;
	r = parse_program(&ps, 1, &json);
	if (r < 0)
		return r;
	if (ps.token.type != TOKEN_END)
		return fail(&ps, &ps.token, "unexpected %s after the program",
			    describe(&ps.token, buf));

	/* One set of rules: the JSON parser's, reported where the text wrote the value. */
	r = program_parse_json(json, "$", layout, flags, ret, &json_error);
	if (r == -EINVAL) {
		/*
		 * Its messages quote what was written, cut to a number of bytes; a
		 * message goes over D-Bus, which takes valid UTF-8 only.
		 */
		utf8_drop_invalid(json_error.message);
		place = place_of_path(&ps, json, json_error.path);
		return fail_at(&ps, place ? place->line : 1, place ? place->column : 1, "%s",
			       json_error.message);
	}
	return r;
}

/* ---------------------------------------------------------------- printer */

static void print_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* A name as a word where it reads as one, else in quotes. */
static void print_name(FILE *f, const char *s, bool in_lines)
{
	size_t len = strlen(s);
	bool word = len > 0 && is_word_start(s[0]);

	for (size_t i = 1; word && i < len; i++)
		word = is_word_char(s[i]);
	if (word && !(in_lines && is_lines_keyword(s, len)))
		fputs(s, f);
	else
		print_string(f, s);
}

/*
 * The printers refuse a JSON value the text form has no way to write (a
 * shape the JSON form grew without the text form), rather than print it
 * wrong.
 */
static int print_line(FILE *f, json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		print_name(f, json_object_get_string(v), true);
	else if (json_object_is_type(v, json_type_int))
		fprintf(f, "%" PRId64, json_object_get_int64(v));
	else
		return -EINVAL;
	return 0;
}

static int print_lines(FILE *f, json_object *v)
{
	json_object *index;
	size_t n;
	int r = 0;

	switch (json_object_get_type(v)) {
	case json_type_string:
		if (!streq(json_object_get_string(v), "all"))
			return -EINVAL;
		fputs("all", f);
		return 0;
	case json_type_object:
		if (json_object_object_length(v) != 1)
			return -EINVAL;
		if (json_object_object_get_ex(v, "row", &index))
			fprintf(f, "row %" PRId64, json_object_get_int64(index));
		else if (json_object_object_get_ex(v, "col", &index))
			fprintf(f, "col %" PRId64, json_object_get_int64(index));
		else
			return -EINVAL;
		return 0;
	case json_type_array:
		n = json_object_array_length(v);
		if (n == 1)
			return print_line(f, json_object_array_get_idx(v, 0));
		fputc('[', f);
		for (size_t i = 0; i < n && r >= 0; i++) {
			if (i > 0)
				fputs(", ", f);
			r = print_line(f, json_object_array_get_idx(v, i));
		}
		fputc(']', f);
		return r;
	default:
		return -EINVAL;
	}
}

/* A level as the canonical JSON writes it: 0, 0.25, 1. */
static int print_level(FILE *f, json_object *v)
{
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return -EINVAL;
	fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), f);
	return 0;
}

static int print_steps(FILE *f, json_object *v)
{
	if (!json_object_is_type(v, json_type_array))
		return -EINVAL;
	fputc('[', f);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *step = json_object_array_get_idx(v, i), *d;

		if (!json_object_is_type(step, json_type_array) ||
		    json_object_array_length(step) != 2)
			return -EINVAL;
		fputs(i > 0 ? ", [" : "[", f);
		if (print_level(f, json_object_array_get_idx(step, 0)) < 0)
			return -EINVAL;
		d = json_object_array_get_idx(step, 1);
		if (json_object_is_type(d, json_type_int))
			fprintf(f, ", %" PRId64 "]", json_object_get_int64(d));
		else
			fprintf(f, ", %s]", json_object_get_string(d));
	}
	fputc(']', f);
	return 0;
}

static int print_program(FILE *f, json_object *j);

static int print_argument(FILE *f, const Param *param, json_object *v)
{
	switch (param->type) {
	case ARG_LINES:
		return print_lines(f, v);
	case ARG_DURATION:
		fputs(json_object_get_string(v), f);
		return 0;
	case ARG_COUNT:
		fprintf(f, "%" PRId64, json_object_get_int64(v));
		return 0;
	case ARG_PROGRAM:
		return print_program(f, v);
	case ARG_NAME:
		print_name(f, json_object_get_string(v), false);
		return 0;
	case ARG_LEVEL:
		return print_level(f, v);
	case ARG_WORD:
		fputs(json_object_get_string(v), f);
		return 0;
	case ARG_TEXT:
		print_string(f, json_object_get_string(v));
		return 0;
	case ARG_STEPS:
		return print_steps(f, v);
	}
	return -EINVAL;
}

/* {"KIND": BODY} in the canonical JSON form, as KIND(ARGUMENT, ...). */
static int print_program(FILE *f, json_object *j)
{
	const TextKind *k = NULL;
	json_object *body = NULL;
	size_t n_params;
	bool absent = false;
	int r = 0;

	json_object_object_foreach(j, key, value)
	{
		k = kind_find(key, strlen(key));
		body = value;
	}
	if (!k)
		return -EINVAL;
	n_params = kind_n_params(k);

	fprintf(f, "%s(", k->name);
	if (k->params[0].key)
		for (size_t i = 0; i < n_params && r >= 0; i++) {
			json_object *v;

			if (!json_object_object_get_ex(body, k->params[i].key, &v)) {
				absent = true;
				continue;
			}
			/* An argument left out can only be followed by others left out. */
			if (absent)
				return -EINVAL;
			if (i > 0)
				fputs(", ", f);
			r = print_argument(f, &k->params[i], v);
		}
	else if (k->params[0].repeated)
		for (size_t i = 0; i < json_object_array_length(body) && r >= 0; i++) {
			if (i > 0)
				fputs(", ", f);
			r = print_argument(f, &k->params[0], json_object_array_get_idx(body, i));
		}
	else
		r = print_argument(f, &k->params[0], body);
	fputc(')', f);
	return r;
}

char *program_format_text(const Program *p)
{
	_cleanup_(json_object_putp) json_object *j = program_to_json(p);
	_cleanup_(freep) char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int r;

	if (!j)
		return NULL;
	f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	r = print_program(f, j);
	if (ferror(f))
		r = -ENOMEM;
	if (fclose(f) != 0 || r < 0)
		return NULL;
	return TAKE_PTR(buf);
}

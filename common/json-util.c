/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json-util.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Returns the end of the number at @i, or -1 when it is not one of JSON's. */
static ssize_t number_end(const char *text, size_t len, size_t i)
{
	if (i < len && text[i] == '-')
		i++;
	if (i < len && text[i] == '0')
		i++;
	else if (i < len && text[i] >= '1' && text[i] <= '9')
		while (i < len && is_digit(text[i]))
			i++;
	else
		return -1;
	if (i < len && text[i] == '.') {
		if (++i >= len || !is_digit(text[i]))
			return -1;
		while (i < len && is_digit(text[i]))
			i++;
	}
	if (i < len && (text[i] == 'e' || text[i] == 'E')) {
		i++;
		if (i < len && (text[i] == '+' || text[i] == '-'))
			i++;
		if (i >= len || !is_digit(text[i]))
			return -1;
		while (i < len && is_digit(text[i]))
			i++;
	}
	/* "01", "1.2.3", "1x": a number runs into more of what is not one. */
	if (i < len && (is_digit(text[i]) || is_letter(text[i]) || text[i] == '.'))
		return -1;
	return (ssize_t)i;
}

/*
 * Where the tokenizer is in the document's structure, kept just well enough
 * to name the JSON path of a bad string: the containers it is in, the
 * index in each array and the last key of each object. Deeper than
 * PATH_LEVELS_MAX levels, the path is cut short with "...".
 */
#define PATH_LEVELS_MAX 64

typedef struct PathLevel {
	bool object;
	bool want_key;	    /* object: the next string is a key */
	size_t index;	    /* array: the element's index */
	const char *key;    /* object: the last key, raw (escapes as written) */
	size_t key_len;
} PathLevel;

typedef struct PathTracker {
	PathLevel levels[PATH_LEVELS_MAX];
	size_t depth; /* may exceed PATH_LEVELS_MAX: those levels are not kept */
} PathTracker;

static void path_open(PathTracker *p, bool object)
{
	if (p->depth < PATH_LEVELS_MAX)
		p->levels[p->depth] = (PathLevel){ .object = object, .want_key = object };
	p->depth++;
}

static PathLevel *path_top(PathTracker *p)
{
	return p->depth > 0 && p->depth <= PATH_LEVELS_MAX ? &p->levels[p->depth - 1] : NULL;
}

static void path_punctuation(PathTracker *p, char c)
{
	PathLevel *top = path_top(p);

	if (c == '{' || c == '[')
		path_open(p, c == '{');
	else if ((c == '}' || c == ']') && p->depth > 0)
		p->depth--;
	else if (c == ',' && top) {
		if (top->object)
			top->want_key = true;
		else
			top->index++;
	}
}

/* Write the path of the string at @start (a key when the object wants one) into @buf. */
static void path_format(const PathTracker *p, const char *start, size_t len, char *buf,
			size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "$");
	size_t levels = p->depth < PATH_LEVELS_MAX ? p->depth : PATH_LEVELS_MAX;

	for (size_t i = 0; i < levels && n < size; i++) {
		const PathLevel *l = &p->levels[i];

		if (!l->object)
			n += (size_t)snprintf(buf + n, size - n, "[%zu]", l->index);
		else if (l->want_key && i + 1 == levels)
			n += (size_t)snprintf(buf + n, size - n, ".%.*s", (int)(len > 60 ? 60 : len),
					      start);
		else if (l->key)
			n += (size_t)snprintf(buf + n, size - n, ".%.*s",
					      (int)(l->key_len > 60 ? 60 : l->key_len), l->key);
	}
	if (p->depth > PATH_LEVELS_MAX && n < size)
		snprintf(buf + n, size - n, "...");
}

ssize_t json_check_tokens(const char *text, size_t len, const char **what, char *path,
			  size_t path_size)
{
	PathTracker tracker = {};
	size_t i = 0;

	if (path_size > 0)
		snprintf(path, path_size, "$");
	while (i < len) {
		char c = text[i];

		if (strchr(" \t\n\r{}[],:", c) && c != '\0') {
			path_punctuation(&tracker, c);
			i++;
		} else if (c == '"') {
			size_t start = i++;
			PathLevel *top = path_top(&tracker);
			const char *bad = NULL;
			size_t bad_at = 0;

			for (;;) {
				if (i >= len) {
					*what = "a string that does not end";
					return (ssize_t)start;
				}
				if (text[i] == '"') {
					i++;
					break;
				}
				if ((unsigned char)text[i] < 0x20) {
					bad = text[i] ? "a control character inside a string"
						      : "a NUL character inside a string";
					bad_at = i;
					break;
				}
				if (text[i] != '\\') {
					i++;
					continue;
				}
				if (i + 1 < len && strchr("\"\\/bfnrt", text[i + 1]) && text[i + 1]) {
					i += 2;
				} else if (i + 5 < len && text[i + 1] == 'u' && is_hex(text[i + 2]) &&
					   is_hex(text[i + 3]) && is_hex(text[i + 4]) &&
					   is_hex(text[i + 5])) {
					/* json-c would cut the string at it, silently: refused instead. */
					if (strncmp(text + i + 2, "0000", 4) == 0) {
						bad = "a NUL character (\\u0000) inside a string";
						bad_at = i;
						break;
					}
					i += 6;
				} else {
					*what = "an escape JSON does not have";
					return (ssize_t)i;
				}
			}
			if (bad) {
				*what = bad;
				if (path_size > 0)
					path_format(&tracker, text + start + 1, bad_at - start - 1, path,
						    path_size);
				return (ssize_t)bad_at;
			}
			if (top && top->object && top->want_key) {
				top->key = text + start + 1;
				top->key_len = i - start - 2;
				top->want_key = false;
			}
		} else if (c == '-' || is_digit(c)) {
			ssize_t end = number_end(text, len, i);
			if (end < 0) {
				*what = "a number JSON does not have";
				return (ssize_t)i;
			}
			i = (size_t)end;
		} else if (is_letter(c)) {
			size_t j = i;
			while (j < len && is_letter(text[j]))
				j++;
			if (!((j - i == 4 && (strncmp(text + i, "true", 4) == 0 ||
					      strncmp(text + i, "null", 4) == 0)) ||
			      (j - i == 5 && strncmp(text + i, "false", 5) == 0))) {
				*what = "a word that is not true, false or null";
				return (ssize_t)i;
			}
			i = j;
		} else {
			*what = c == '\'' ? "single quotes" : "a character JSON does not have here";
			return (ssize_t)i;
		}
	}
	return -1;
}

int json_parse_strict(const char *text, size_t len, int max_depth, json_object **ret,
		      JsonError *error)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	enum json_tokener_error jerr;
	const char *what = NULL;
	json_object *j;
	ssize_t bad;

	/*
	 * json-c's strict mode still takes 'quotes', NaN, 1. and raw control
	 * characters, and cuts a string at an escaped NUL.
	 */
	bad = json_check_tokens(text, len, &what, error->path, sizeof(error->path));
	if (bad >= 0) {
		snprintf(error->message, sizeof(error->message), "invalid JSON at byte %zd: %s", bad,
			 what);
		return -EINVAL;
	}
	snprintf(error->path, sizeof(error->path), "$");

	tok = json_tokener_new_ex(max_depth);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	j = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_error_depth) {
		snprintf(error->message, sizeof(error->message), "nesting deeper than %d levels of JSON",
			 max_depth);
		return -ELOOP;
	}
	if (jerr == json_tokener_continue) {
		snprintf(error->message, sizeof(error->message), "invalid JSON: unexpected end of text");
		return -EINVAL;
	}
	if (jerr != json_tokener_success) {
		snprintf(error->message, sizeof(error->message), "invalid JSON at byte %zu: %s",
			 json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
		return -EINVAL;
	}
	if (json_tokener_get_parse_end(tok) < len) {
		json_object_put(j);
		snprintf(error->message, sizeof(error->message),
			 "invalid JSON: trailing text at byte %zu", json_tokener_get_parse_end(tok));
		return -EINVAL;
	}
	*ret = j;
	return 0;
}

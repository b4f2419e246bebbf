/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "utf8.h"

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

static unsigned hex4(const char *s)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++)
		v = v << 4 | (unsigned)(is_digit(s[k]) ? s[k] - '0' : (s[k] | 0x20) - 'a' + 10);
	return v;
}

/* Whether the \uXXXX escape at @s (a surrogate pair, when it is one) writes a noncharacter. */
static bool escape_is_noncharacter(const char *s, size_t len)
{
	unsigned hi = hex4(s + 2), lo;

	if (hi < 0xd800 || hi > 0xdbff)
		return utf8_is_noncharacter(hi);
	if (len < 12 || s[6] != '\\' || s[7] != 'u' || !is_hex(s[8]) || !is_hex(s[9]) ||
	    !is_hex(s[10]) || !is_hex(s[11]))
		return false;
	lo = hex4(s + 8);
	if (lo < 0xdc00 || lo > 0xdfff)
		return false;
	return utf8_is_noncharacter(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
}

/*
 * Where the tokenizer is in the document's structure, kept just well enough
 * to name the JSON path of a bad string: the containers it is in, the
 * index in each array and the last key of each object. Deeper than
 * PATH_LEVELS_MAX levels, the path is cut short with "...".
 */
#define PATH_LEVELS_MAX 64

/* The most characters of one key a path shows; longer ones end in "…". */
#define PATH_KEY_CHARS_MAX 40

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
		char key[UTF8_QUOTE_SIZE(PATH_KEY_CHARS_MAX)];

		if (!l->object)
			n += (size_t)snprintf(buf + n, size - n, "[%zu]", l->index);
		else if (l->want_key && i + 1 == levels)
			n += (size_t)snprintf(buf + n, size - n, ".%s",
					      utf8_escape_controls(key, sizeof(key), start, len,
								   PATH_KEY_CHARS_MAX));
		else if (l->key)
			n += (size_t)snprintf(buf + n, size - n, ".%s",
					      utf8_escape_controls(key, sizeof(key), l->key,
								   l->key_len, PATH_KEY_CHARS_MAX));
	}
	/* A path cut to fit must not end in half a character. */
	if (n >= size)
		utf8_trim_partial(buf);
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
					/* D-Bus cannot carry it back: a name or label with one would never be listed. */
					if (escape_is_noncharacter(text + i, len - i)) {
						bad = "a Unicode noncharacter (such as \\uffff) inside a string";
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

/* A key of an object still open, as json-c reads it (escapes decoded). */
typedef struct SeenKey {
	const char *key;
	size_t len;
	size_t at; /* byte position of its string in the text */
	bool owned;
} SeenKey;

/* A container still open, at any depth (the tracker keeps only the first levels). */
typedef struct OpenLevel {
	bool object;
	bool want_key;
	size_t keys_start; /* object: the first of keys that is its own */
} OpenLevel;

typedef struct KeyScan {
	PathTracker tracker; /* for the path in the error */
	SeenKey *keys;
	size_t n_keys, n_alloc;
	OpenLevel *levels;
	size_t depth, n_levels_alloc;
} KeyScan;

static void key_scan_done(KeyScan *ks)
{
	for (size_t i = 0; i < ks->n_keys; i++)
		if (ks->keys[i].owned)
			free((char *)ks->keys[i].key);
	free(ks->keys);
	free(ks->levels);
}

static int grow(void **p, size_t *alloc, size_t need, size_t size)
{
	void *q;

	if (need <= *alloc)
		return 0;
	q = reallocarray(*p, need * 2, size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*alloc = need * 2;
	return 0;
}

static int compare_keys(const void *a, const void *b)
{
	const SeenKey *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Add the key written at @start (its opening quote) to @end (after its closing quote). */
static int key_scan_add(KeyScan *ks, const char *start, const char *end)
{
	SeenKey k = { .key = start + 1, .len = (size_t)(end - start - 2), .at = 0 };

	if (memchr(k.key, '\\', k.len)) {
		/* Decode the escapes as json-c does, so "a" and "\u0061" are the same key. */
		_cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new();
		_cleanup_(json_object_putp) json_object *j = NULL;

		if (!tok)
			return -ENOMEM;
		j = json_tokener_parse_ex(tok, start, (int)(end - start));
		if (!j || !json_object_is_type(j, json_type_string))
			return -EINVAL;
		k.len = (size_t)json_object_get_string_len(j);
		k.key = malloc(k.len + 1);
		if (!k.key)
			return -ENOMEM;
		memcpy((char *)k.key, json_object_get_string(j), k.len + 1);
		k.owned = true;
	}
	if (grow((void **)&ks->keys, &ks->n_alloc, ks->n_keys + 1, sizeof(SeenKey)) < 0) {
		if (k.owned)
			free((char *)k.key);
		return -ENOMEM;
	}
	ks->keys[ks->n_keys++] = k;
	return 0;
}

/*
 * The object that ends here: sort its keys and name the first key written
 * twice (by where its second writing is), with the object's path.
 */
static int key_scan_close(KeyScan *ks, JsonError *error)
{
	size_t start = ks->levels[ks->depth - 1].keys_start;
	SeenKey *keys = ks->keys ? ks->keys + start : NULL, *dup = NULL; /* none yet: "{}" */
	size_t n = ks->n_keys - start;
	PathLevel *top = path_top(&ks->tracker);
	char quoted[UTF8_QUOTE_SIZE(PATH_KEY_CHARS_MAX)];

	if (n > 1)
		qsort(keys, n, sizeof(SeenKey), compare_keys);
	for (size_t i = 1; i < n; i++)
		if (keys[i].len == keys[i - 1].len &&
		    memcmp(keys[i].key, keys[i - 1].key, keys[i].len) == 0 &&
		    (!dup || keys[i].at < dup->at))
			dup = &keys[i];
	if (dup) {
		/* The path of the key itself: the object's, then the key. */
		if (top)
			top->want_key = true;
		path_format(&ks->tracker, dup->key, dup->len, error->path, sizeof(error->path));
		snprintf(error->message, sizeof(error->message), "duplicate key \"%s\"",
			 utf8_quote(quoted, sizeof(quoted), dup->key, dup->len,
				    PATH_KEY_CHARS_MAX));
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (keys[i].owned)
			free((char *)keys[i].key);
	ks->n_keys = start;
	return 0;
}

/*
 * json_check_duplicates() - refuse an object that has a key twice: json-c
 * keeps the last value without a word, so a misspelt or repeated setting
 * would go unnoticed. @text is JSON json-c has accepted already; this pass
 * follows only its structure and its keys.
 * Returns 0, -EINVAL with @error naming the key's path, or -ENOMEM.
 */
static int json_check_duplicates(const char *text, size_t len, JsonError *error)
{
	_cleanup_(key_scan_done) KeyScan ks = {};
	size_t i = 0;
	int r;

	while (i < len) {
		char c = text[i];

		OpenLevel *top = ks.depth > 0 ? &ks.levels[ks.depth - 1] : NULL;

		if (c == '"') {
			size_t start = i++;
			PathLevel *path_level = path_top(&ks.tracker);

			while (i < len && text[i] != '"')
				i += text[i] == '\\' ? 2 : 1;
			i++;
			if (!top || !top->object || !top->want_key)
				continue;
			top->want_key = false;
			if (path_level) {
				path_level->key = text + start + 1;
				path_level->key_len = i - start - 2;
				path_level->want_key = false;
			}
			r = key_scan_add(&ks, text + start, text + i);
			if (r < 0)
				return r;
			ks.keys[ks.n_keys - 1].at = start;
			continue;
		}
		if (c == '{' || c == '[') {
			if (grow((void **)&ks.levels, &ks.n_levels_alloc, ks.depth + 1,
				 sizeof(OpenLevel)) < 0)
				return -ENOMEM;
			ks.levels[ks.depth++] = (OpenLevel){
				.object = c == '{',
				.want_key = c == '{',
				.keys_start = ks.n_keys,
			};
		} else if (c == '}' && top) {
			r = key_scan_close(&ks, error);
			if (r < 0)
				return r;
			ks.depth--;
		} else if (c == ']' && top)
			ks.depth--;
		else if (c == ',' && top && top->object)
			top->want_key = true;
		path_punctuation(&ks.tracker, c);
		i++;
	}
	return 0;
}

int json_parse_strict(const char *text, size_t len, int max_depth, json_object **ret,
		      JsonError *error)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	enum json_tokener_error jerr;
	const char *what = NULL;
	json_object *j;
	ssize_t bad;
	int r;

	/*
	 * json-c's strict mode still takes 'quotes', NaN, 1. and raw control
	 * characters, and cuts a string at an escaped NUL.
	 */
	bad = utf8_invalid_at(text, len);
	if (bad >= 0) {
		snprintf(error->path, sizeof(error->path), "$");
		snprintf(error->message, sizeof(error->message),
			 "invalid JSON at byte %zd: not valid UTF-8", bad);
		return -EINVAL;
	}
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
	r = json_check_duplicates(text, len, error);
	if (r < 0) {
		json_object_put(j);
		return r;
	}
	*ret = j;
	return 0;
}

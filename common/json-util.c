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

ssize_t json_check_tokens(const char *text, size_t len, const char **what)
{
	size_t i = 0;

	while (i < len) {
		char c = text[i];

		if (strchr(" \t\n\r{}[],:", c) && c != '\0') {
			i++;
		} else if (c == '"') {
			size_t start = i++;
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
					*what = "a control character inside a string";
					return (ssize_t)i;
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
					i += 6;
				} else {
					*what = "an escape JSON does not have";
					return (ssize_t)i;
				}
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
		      char *error, size_t error_size)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	enum json_tokener_error jerr;
	const char *what = NULL;
	json_object *j;
	ssize_t bad;

	/* json-c's strict mode still takes 'quotes', NaN, 1. and raw control characters. */
	bad = json_check_tokens(text, len, &what);
	if (bad >= 0) {
		snprintf(error, error_size, "invalid JSON at byte %zd: %s", bad, what);
		return -EINVAL;
	}

	tok = json_tokener_new_ex(max_depth);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	j = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_error_depth) {
		snprintf(error, error_size, "nesting deeper than %d levels of JSON", max_depth);
		return -ELOOP;
	}
	if (jerr == json_tokener_continue) {
		snprintf(error, error_size, "invalid JSON: unexpected end of text");
		return -EINVAL;
	}
	if (jerr != json_tokener_success) {
		snprintf(error, error_size, "invalid JSON at byte %zu: %s",
			 json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
		return -EINVAL;
	}
	if (json_tokener_get_parse_end(tok) < len) {
		json_object_put(j);
		snprintf(error, error_size, "invalid JSON: trailing text at byte %zu",
			 json_tokener_get_parse_end(tok));
		return -EINVAL;
	}
	*ret = j;
	return 0;
}

/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

bool utf8_is_noncharacter(uint32_t cp)
{
	return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
}

/* The offset of the first byte that is not part of valid UTF-8, or -1. */
ssize_t utf8_invalid_at(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = u[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			return (ssize_t)i;
		if (len - i <= n)
			return (ssize_t)i;
		for (size_t k = 1; k <= n; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return (ssize_t)i;
			cp = cp << 6 | (u[i + k] & 0x3f);
		}
		/*
		 * Overlong forms, surrogates, and beyond U+10FFFF; and the
		 * noncharacters, which sd-bus refuses in a message it sends or
		 * reads (U+FDD0..U+FDEF, and the last two of each plane).
		 */
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || utf8_is_noncharacter(cp))
			return (ssize_t)i;
		i += n + 1;
	}
	return -1;
}

/* Drop from @s the bytes that are not part of valid UTF-8 (a character cut in two). */
void utf8_drop_invalid(char *s)
{
	size_t len = strlen(s), out = 0;
	ssize_t bad;

	for (size_t at = 0; at < len; at++) {
		bad = utf8_invalid_at(s + at, len - at);
		if (bad < 0) {
			memmove(s + out, s + at, len - at);
			out += len - at;
			break;
		}
		memmove(s + out, s + at, (size_t)bad);
		out += (size_t)bad;
		at += (size_t)bad;
	}
	s[out] = '\0';
}

/*
 * The length of the valid character at @s (@len bytes left) and its code
 * point, or 0 when the byte at @s does not start one.
 */
static size_t char_at(const char *s, size_t len, uint32_t *ret)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;

	if (u[0] < 0x80)
		n = 1;
	else if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4;
	if (n == 0 || n > len || utf8_invalid_at(s, n) >= 0)
		return 0;
	*ret = u[0] & (n == 1 ? 0x7f : n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
	for (size_t k = 1; k < n; k++)
		*ret = *ret << 6 | (u[k] & 0x3f);
	return n;
}

static char *escape(char *buf, size_t size, const char *s, size_t len, size_t max_chars, bool quote)
{
	static const char ellipsis[] = "\xe2\x80\xa6"; /* … */
	size_t out = 0, chars = 0, i = 0;

	if (size == 0)
		return buf;
	/* Room kept at the end for the ellipsis and the NUL. */
	if (size < sizeof(ellipsis)) {
		buf[0] = '\0';
		return buf;
	}
	while (i < len) {
		char piece[8];
		size_t piece_len, n;
		uint32_t cp = 0;

		n = char_at(s + i, len - i, &cp);
		if (n == 0) {
			piece_len = (size_t)snprintf(piece, sizeof(piece), "\\x%02x",
						     (unsigned char)s[i]);
			n = 1;
		} else if (cp < 0x20 && !(cp == '\t' && !quote)) {
			piece_len = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", (unsigned)cp);
		} else if (cp == 0x7f) {
			piece_len = (size_t)snprintf(piece, sizeof(piece), "\\x7f");
		} else if (cp >= 0x80 && cp <= 0x9f) {
			piece_len = (size_t)snprintf(piece, sizeof(piece), "\\u%04x", (unsigned)cp);
		} else if (quote && (cp == '\\' || cp == '"')) {
			piece[0] = '\\';
			piece[1] = (char)cp;
			piece_len = 2;
		} else {
			memcpy(piece, s + i, n);
			piece_len = n;
		}
		/* Cut: the rest, if any, is shown as an ellipsis, which must fit too. */
		if (chars == max_chars || out + piece_len + sizeof(ellipsis) > size) {
			memcpy(buf + out, ellipsis, sizeof(ellipsis));
			return buf;
		}
		memcpy(buf + out, piece, piece_len);
		out += piece_len;
		chars++;
		i += n;
	}
	buf[out] = '\0';
	return buf;
}

char *utf8_quote(char *buf, size_t size, const char *s, size_t len, size_t max_chars)
{
	return escape(buf, size, s, len, max_chars, true);
}

char *utf8_escape_controls(char *buf, size_t size, const char *s, size_t len, size_t max_chars)
{
	return escape(buf, size, s, len, max_chars, false);
}

void utf8_trim_partial(char *s)
{
	size_t len = strlen(s);

	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = (unsigned char)s[len - back];
		size_t need;

		if ((c & 0xc0) == 0x80)
			continue;
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (need > back)
			s[len - back] = '\0';
		return;
	}
}

/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

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
		/* Overlong forms, surrogates, and beyond U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
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

/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 checks for text that leaves the daemon: D-Bus refuses a message
 * whose strings are not valid UTF-8, a message that quotes a few bytes of
 * what a client wrote ("%.40s") can cut a character in two, and a newline in
 * a quoted name splits a log line. Text a caller wrote reaches a message or a
 * log line only through utf8_quote() (or QUOTE()).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/*
 * Whether @cp is a Unicode noncharacter (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF):
 * valid UTF-8, but sd-bus refuses a message with one in a string.
 */
bool utf8_is_noncharacter(uint32_t cp);

/*
 * The offset of the first byte of @s (@len bytes) that is not part of valid
 * UTF-8 as D-Bus takes it (no noncharacter either), or -1.
 */
ssize_t utf8_invalid_at(const char *s, size_t len);

/* Drop from @s the bytes that are not part of valid UTF-8 (a character cut in two). */
void utf8_drop_invalid(char *s);

/*
 * utf8_trim_partial() - cut from the end of @s a character that is not whole
 * (what vsnprintf() leaves when it cuts a message to fit); the rest is kept as it is.
 */
void utf8_trim_partial(char *s);

/*
 * utf8_quote() - write @s (@len bytes) into @buf (@size bytes) fit to quote
 * inside "..." in a message or a log line: at most @max_chars characters of
 * @s, cut on a character boundary and ended with "…" when @s is longer (or
 * when @buf is too small); a byte that is not part of valid UTF-8 and a
 * control character (C0, DEL, C1) written as \xNN (\u0080..\u009f for C1);
 * a backslash and a double quote escaped with a backslash.
 * The result is always NUL-terminated valid UTF-8 with no control character.
 * Returns @buf.
 */
char *utf8_quote(char *buf, size_t size, const char *s, size_t len, size_t max_chars);

/*
 * utf8_escape_controls() - like utf8_quote(), with backslashes and quotes
 * left as they are: what a log line does to the text it is handed, so that
 * it stays one line of valid UTF-8 (tabs are kept), and how a JSON path shows
 * a key. SIZE_MAX for @max_chars: no limit but @size.
 */
char *utf8_escape_controls(char *buf, size_t size, const char *s, size_t len, size_t max_chars);

/* The size of a buffer that utf8_quote() never cuts short for @max_chars characters. */
#define UTF8_QUOTE_SIZE(max_chars) ((max_chars) * 6 + 4)

/* The most characters of a name or key a message quotes. */
#define QUOTE_CHARS_MAX 64

/*
 * QUOTE() - @s quoted by utf8_quote(), at most @max_chars (a constant)
 * characters, into a buffer that lives until the end of the enclosing block:
 * for a format's "%s" argument.
 */
#define QUOTE(s, max_chars)                                                                        \
	utf8_quote((char[UTF8_QUOTE_SIZE(max_chars)]){ 0 }, UTF8_QUOTE_SIZE(max_chars), (s),       \
		   strlen(s), (max_chars))

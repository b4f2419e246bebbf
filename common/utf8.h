/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 checks for text that leaves the daemon: D-Bus refuses a message
 * whose strings are not valid UTF-8, and a message that quotes a few bytes of
 * what a client wrote ("%.40s") can cut a character in two.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* The offset of the first byte of @s (@len bytes) that is not part of valid UTF-8, or -1. */
ssize_t utf8_invalid_at(const char *s, size_t len);

/* Drop from @s the bytes that are not part of valid UTF-8 (a character cut in two). */
void utf8_drop_invalid(char *s);

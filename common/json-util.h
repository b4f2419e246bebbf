/* SPDX-License-Identifier: MIT */
/*
 * json-c glue: cleanup helpers, which libsystemd does not ship, and the one
 * strict way daemon and client parse JSON text.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "macro.h"

static inline void json_object_putp(json_object **j)
{
	if (*j)
		json_object_put(*j);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);

/*
 * json_check_tokens() - check that every token of @text is one JSON has:
 * strings with valid escapes and no raw control characters, numbers in
 * JSON's grammar, only the words true, false and null; and that no string
 * holds a NUL, raw or escaped (json-c would cut it there without a word).
 * The structure (nesting, commas, colons) is left to json-c.
 * Returns -1 when all is well, else the offending byte's position, with
 * @what saying what it is and @path the JSON path of a bad string ("$"
 * for other tokens).
 */
ssize_t json_check_tokens(const char *text, size_t len, const char **what, char *path,
			  size_t path_size);

/* Why JSON text was refused: where (a JSON path, "$" for the whole) and what. */
typedef struct JsonError {
	char path[256];
	char message[256];
} JsonError;

/*
 * json_parse_strict() - parse @text (@len bytes, NUL-terminated) as exactly
 * one JSON value: valid tokens, valid UTF-8, no NUL in any string, no
 * trailing text, at most @max_depth levels deep.
 * Returns 0, -EINVAL or -ELOOP (too deep) with @error saying why, -ENOMEM.
 */
int json_parse_strict(const char *text, size_t len, int max_depth, json_object **ret,
		      JsonError *error);

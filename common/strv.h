/* SPDX-License-Identifier: MIT */
/*
 * NULL-terminated arrays of strings: program names, chip labels. The
 * array owns its strings; strv_free() frees both.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Frees every string and the array; returns NULL. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);

size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);

/* Append a copy of @s to *@l, growing it. Returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);

/* Remove and free every entry equal to @s. */
void strv_remove(char **l, const char *s);

/* Sort in strcmp() order. */
void strv_sort(char **l);

/* SPDX-License-Identifier: MIT */
/*
 * A table of named objects kept sorted by name: lookups are a binary search,
 * and listing in name order (as List() answers) is a walk. Inserting and
 * removing move pointers only: a memmove of 16 bytes an entry.
 */
#pragma once

#include <stddef.h>

typedef struct NameEntry {
	const char *name; /* owned by the value */
	void *value;
} NameEntry;

typedef struct NameTable {
	NameEntry *entries;
	size_t n, cap;
} NameTable;

void *name_table_get(const NameTable *t, const char *name);

/* Returns 0, -EEXIST when the name is taken, -ENOMEM. */
int name_table_put(NameTable *t, const char *name, void *value);

/* Returns the removed value, or NULL when there was none. */
void *name_table_remove(NameTable *t, const char *name);

void name_table_done(NameTable *t);

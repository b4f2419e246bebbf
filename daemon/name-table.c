/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "name-table.h"

/* Position of @name, or where it would go; *found says which. */
static size_t name_table_bisect(const NameTable *t, const char *name, bool *found)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->entries[mid].name, name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

void *name_table_get(const NameTable *t, const char *name)
{
	bool found;
	size_t i = name_table_bisect(t, name, &found);

	return found ? t->entries[i].value : NULL;
}

int name_table_put(NameTable *t, const char *name, void *value)
{
	bool found;
	size_t i = name_table_bisect(t, name, &found);

	if (found)
		return -EEXIST;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		NameEntry *e = realloc(t->entries, cap * sizeof(NameEntry));
		if (!e)
			return -ENOMEM;
		t->entries = e;
		t->cap = cap;
	}
	memmove(t->entries + i + 1, t->entries + i, (t->n - i) * sizeof(NameEntry));
	t->entries[i] = (NameEntry){ name, value };
	t->n++;
	return 0;
}

void *name_table_remove(NameTable *t, const char *name)
{
	bool found;
	size_t i = name_table_bisect(t, name, &found);
	void *v;

	if (!found)
		return NULL;
	v = t->entries[i].value;
	memmove(t->entries + i, t->entries + i + 1, (t->n - i - 1) * sizeof(NameEntry));
	t->n--;
	return v;
}

void name_table_done(NameTable *t)
{
	free(t->entries);
	*t = (NameTable){};
}

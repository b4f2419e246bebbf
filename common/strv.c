/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **l)
{
	if (!l)
		return NULL;
	for (char **s = l; *s; s++)
		free(*s);
	free(l);
	return NULL;
}

size_t strv_length(char *const *l)
{
	size_t n = 0;

	if (l)
		while (l[n])
			n++;
	return n;
}

bool strv_contains(char *const *l, const char *s)
{
	if (l)
		for (; *l; l++)
			if (streq(*l, s))
				return true;
	return false;
}

int strv_extend(char ***l, const char *s)
{
	size_t n = strv_length(*l);
	char *copy, **grown;

	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	grown = realloc(*l, (n + 2) * sizeof(char *));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	grown[n] = copy;
	grown[n + 1] = NULL;
	*l = grown;
	return 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **l)
{
	if (!l)
		return;
	qsort(l, strv_length(l), sizeof(char *), compare_strings);
}

void strv_remove(char **l, const char *s)
{
	char **to = l;

	if (!l)
		return;
	for (char **from = l; *from; from++)
		if (streq(*from, s))
			free(*from);
		else
			*to++ = *from;
	*to = NULL;
}

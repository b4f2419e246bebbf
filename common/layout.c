/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

const unsigned layout_default_matrix[5][5] = {
	{ 11, 10, 27, 4, 2 },
	{ 0, 9, 22, 17, 3 },
	{ 5, 20, 1, 25, 18 },
	{ 6, 16, 7, 24, 15 },
	{ 13, 12, 8, 23, 14 },
};

/* Offsets above this are refused; no gpiochip has that many lines. */
#define LAYOUT_OFFSET_MAX 65535u

Layout *layout_free(Layout *l)
{
	if (!l)
		return NULL;
	if (l->names)
		for (size_t i = 0; i < l->n_lines; i++)
			free(l->names[i]);
	free(l->names);
	free(l->index_of);
	free(l->lines);
	free(l->matrix);
	free(l);
	return NULL;
}

int layout_new(Layout **ret, unsigned n_rows, unsigned n_cols, const unsigned *matrix)
{
	_cleanup_(layout_freep) Layout *l = NULL;
	size_t n = (size_t)n_rows * n_cols;

	if (n_rows == 0 || n_cols == 0 || n > LAYOUT_OFFSET_MAX + 1)
		return -EINVAL;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->n_rows = n_rows;
	l->n_cols = n_cols;
	l->matrix = malloc(n * sizeof(unsigned));
	l->lines = malloc(n * sizeof(unsigned));
	l->names = calloc(n, sizeof(char *));
	if (!l->matrix || !l->lines || !l->names)
		return -ENOMEM;
	memcpy(l->matrix, matrix, n * sizeof(unsigned));

	for (size_t i = 0; i < n; i++) {
		if (matrix[i] > LAYOUT_OFFSET_MAX)
			return -ERANGE;
		if (matrix[i] > l->max_offset)
			l->max_offset = matrix[i];
	}
	l->index_of = malloc(((size_t)l->max_offset + 1) * sizeof(int));
	if (!l->index_of)
		return -ENOMEM;
	for (size_t i = 0; i <= l->max_offset; i++)
		l->index_of[i] = -1;
	for (size_t i = 0; i < n; i++) {
		if (l->index_of[matrix[i]] >= 0)
			return -EEXIST;
		l->index_of[matrix[i]] = (int)l->n_lines;
		l->lines[l->n_lines++] = matrix[i];
	}

	*ret = TAKE_PTR(l);
	return 0;
}

int layout_new_default(Layout **ret)
{
	return layout_new(ret, 5, 5, &layout_default_matrix[0][0]);
}

int layout_set_name(Layout *l, size_t index, const char *name)
{
	char *copy = NULL;

	if (index >= l->n_lines)
		return -EINVAL;
	if (name) {
		copy = strdup(name);
		if (!copy)
			return -ENOMEM;
	}
	free(l->names[index]);
	l->names[index] = copy;
	return 0;
}

int layout_name_unnamed_lines(Layout *l)
{
	char name[16];
	int r;

	for (size_t i = 0; i < l->n_lines; i++) {
		if (l->names[i])
			continue;
		snprintf(name, sizeof(name), "GPIO%u", l->lines[i]);
		r = layout_set_name(l, i, name);
		if (r < 0)
			return r;
	}
	return 0;
}

int layout_index_of(const Layout *l, unsigned offset)
{
	if (offset > l->max_offset || l->index_of[offset] < 0)
		return -ENOENT;
	return l->index_of[offset];
}

int layout_find_name(const Layout *l, const char *name, unsigned *ret)
{
	for (size_t i = 0; i < l->n_lines; i++)
		if (l->names[i] && streq(l->names[i], name)) {
			*ret = l->lines[i];
			return 0;
		}
	return -ENOENT;
}

int offset_compare(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

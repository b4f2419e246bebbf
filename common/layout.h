/* SPDX-License-Identifier: MIT */
/*
 * The line layout: the matrix of line offsets a daemon drives (rows x
 * columns), the distinct lines in it, and the names the chip gives them.
 * Programs address lines through it: {"row": N}, {"col": N}, "all", an
 * offset or a name.
 */
#pragma once

#include <stddef.h>

#include "macro.h"

typedef struct Layout {
	unsigned n_rows;
	unsigned n_cols;
	unsigned *matrix; /* n_rows * n_cols offsets, row-major */

	size_t n_lines;	  /* distinct offsets, in matrix order */
	unsigned *lines;
	char **names;	  /* n_lines entries, each NULL where the chip gives none */

	unsigned max_offset;
	int *index_of;	  /* max_offset + 1 entries: offset -> position in lines, or -1 */
} Layout;

/* The talk's 5x5 LED matrix on a Raspberry Pi. */
extern const unsigned layout_default_matrix[5][5];

/*
 * layout_new() - build a layout from a row-major matrix of offsets.
 * Every offset must appear once. Returns -EINVAL for an empty matrix or a
 * repeated offset.
 */
int layout_new(Layout **ret, unsigned n_rows, unsigned n_cols, const unsigned *matrix);
int layout_new_default(Layout **ret);
Layout *layout_free(Layout *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Layout *, layout_free);

/* Name line number @index (a position in l->lines). */
int layout_set_name(Layout *l, size_t index, const char *name);

/* Name every line the chip left unnamed "GPIO<offset>", as the simulated chip does. */
int layout_name_unnamed_lines(Layout *l);

/* Position of @offset in l->lines, or -ENOENT. */
int layout_index_of(const Layout *l, unsigned offset);

/* qsort() comparator of line offsets (unsigned). */
int offset_compare(const void *a, const void *b);

/* Offset of the line called @name, or -ENOENT. */
int layout_find_name(const Layout *l, const char *name, unsigned *ret);

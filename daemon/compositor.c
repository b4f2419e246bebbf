/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compositor.h"

int compositor_init(Compositor *c, const Layout *layout)
{
	size_t n = layout->n_lines;

	*c = (Compositor){ .layout = layout };
	c->lines = calloc(n, sizeof(LineClaims));
	c->dirty_flags = calloc(n, sizeof(bool));
	c->dirty = calloc(n, sizeof(unsigned));
	if (!c->lines || !c->dirty_flags || !c->dirty) {
		compositor_done(c);
		return -ENOMEM;
	}
	return 0;
}

void compositor_done(Compositor *c)
{
	for (size_t i = 0; c->lines && i < c->layout->n_lines; i++)
		free(c->lines[i].claims), free(c->lines[i].holds);
	free(c->lines);
	free(c->dirty_flags);
	free(c->dirty);
	*c = (Compositor){};
}

static unsigned line_index(const Compositor *c, unsigned number)
{
	return (unsigned)c->layout->index_of[number];
}

/* Room for @holder's level hold on line @idx, at level 0. Allocates only when the room grows. */
static int line_hold_add(Compositor *c, unsigned idx, const void *holder, int32_t priority)
{
	LineClaims *l = &c->lines[idx];

	if (l->n_holds == l->cap_holds) {
		uint32_t cap = l->cap_holds ? l->cap_holds * 2 : 2;
		LevelHold *h = realloc(l->holds, cap * sizeof(LevelHold));
		if (!h)
			return -ENOMEM;
		l->holds = h;
		l->cap_holds = cap;
	}
	l->holds[l->n_holds++] = (LevelHold){ .holder = holder, .priority = priority };
	return 0;
}

static LevelHold *line_hold_find(LineClaims *l, const void *holder)
{
	for (uint32_t i = 0; i < l->n_holds; i++)
		if (l->holds[i].holder == holder)
			return &l->holds[i];
	return NULL;
}

static inline Claim *line_find_claim(LineClaims *l, int32_t priority)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->claims[i].priority == priority)
			return &l->claims[i];
	return NULL;
}

/* Add a claim at @priority on layout line @idx. Allocates only when the line's room grows. */
static int line_claim(Compositor *c, unsigned idx, int32_t priority)
{
	LineClaims *l = &c->lines[idx];
	Claim *cl = line_find_claim(l, priority);
	uint32_t i;

	if (cl) {
		cl->n++;
		return 0;
	}
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 2;
		Claim *a = realloc(l->claims, cap * sizeof(Claim));
		if (!a)
			return -ENOMEM;
		l->claims = a;
		l->cap = cap;
	}
	for (i = 0; i < l->n && l->claims[i].priority > priority; i++)
		;
	memmove(l->claims + i + 1, l->claims + i, (l->n - i) * sizeof(Claim));
	l->claims[i] = (Claim){ .priority = priority, .n = 1 };
	l->n++;
	/* A new top claim covers what showed (with nothing lit yet). */
	if (i == 0)
		compositor_mark_dirty(c, idx);
	return 0;
}

static void line_unclaim(Compositor *c, unsigned idx, int32_t priority)
{
	LineClaims *l = &c->lines[idx];
	Claim *cl = line_find_claim(l, priority);
	uint32_t i;

	if (!cl || --cl->n > 0)
		return;
	i = (uint32_t)(cl - l->claims);
	memmove(l->claims + i, l->claims + i + 1, (l->n - i - 1) * sizeof(Claim));
	l->n--;
	if (i == 0)
		compositor_mark_dirty(c, idx); /* what was covered shows again */
}

/* Every edge of every blink comes here: inlined into the loops over lines. */
static inline __attribute__((always_inline)) void line_set_lit(Compositor *c, unsigned idx,
							   int32_t priority, bool lit)
{
	LineClaims *l = &c->lines[idx];
	Claim *cl = line_find_claim(l, priority);

	if (!cl)
		return;
	if (lit)
		cl->lit++;
	else
		cl->lit--;
	/* Only the top priority shows; and only its first lit or last dark changes that. */
	if (cl == l->claims && cl->lit == (lit ? 1u : 0u))
		compositor_mark_dirty(c, idx);
}

/* @holder's hold on line @idx now shows @level. */
static void line_set_level(Compositor *c, unsigned idx, const void *holder, uint16_t level)
{
	LineClaims *l = &c->lines[idx];
	LevelHold *h = line_hold_find(l, holder);

	if (!h || h->level == level)
		return;
	h->level = level;
	if (l->n > 0 && h->priority == l->claims[0].priority && l->claims[0].lit == 0)
		compositor_mark_dirty(c, idx);
}

static void line_hold_remove(Compositor *c, unsigned idx, const void *holder)
{
	LineClaims *l = &c->lines[idx];
	LevelHold *h = line_hold_find(l, holder);

	if (!h)
		return;
	if (h->level > 0)
		compositor_mark_dirty(c, idx);
	*h = l->holds[--l->n_holds];
}

void compositor_light_line(Compositor *c, unsigned number, int32_t priority, bool lit)
{
	line_set_lit(c, line_index(c, number), priority, lit);
}

void compositor_light_lines(Compositor *c, const Lines *lines, int32_t priority, bool lit)
{
	for (size_t i = 0; i < lines->n_numbers; i++)
		line_set_lit(c, line_index(c, lines->numbers[i]), priority, lit);
}

int compositor_claim_lines(Compositor *c, const Lines *lines, int32_t priority)
{
	for (size_t i = 0; i < lines->n_numbers; i++) {
		int r = line_claim(c, line_index(c, lines->numbers[i]), priority);
		if (r < 0) {
			while (i-- > 0)
				line_unclaim(c, line_index(c, lines->numbers[i]), priority);
			return r;
		}
	}
	return 0;
}

void compositor_unclaim_lines(Compositor *c, const Lines *lines, int32_t priority)
{
	for (size_t i = 0; i < lines->n_numbers; i++)
		line_unclaim(c, line_index(c, lines->numbers[i]), priority);
}

int compositor_hold_lines(Compositor *c, const Lines *lines, const void *holder,
			  int32_t priority)
{
	int r = compositor_claim_lines(c, lines, priority);

	if (r < 0)
		return r;
	for (size_t i = 0; i < lines->n_numbers; i++) {
		r = line_hold_add(c, line_index(c, lines->numbers[i]), holder, priority);
		if (r < 0) {
			while (i-- > 0)
				line_hold_remove(c, line_index(c, lines->numbers[i]), holder);
			compositor_unclaim_lines(c, lines, priority);
			return r;
		}
	}
	return 0;
}

void compositor_set_level(Compositor *c, const Lines *lines, const void *holder, uint16_t level)
{
	for (size_t i = 0; i < lines->n_numbers; i++)
		line_set_level(c, line_index(c, lines->numbers[i]), holder, level);
}

void compositor_unhold_lines(Compositor *c, const Lines *lines, const void *holder,
			     int32_t priority)
{
	for (size_t i = 0; i < lines->n_numbers; i++)
		line_hold_remove(c, line_index(c, lines->numbers[i]), holder);
	compositor_unclaim_lines(c, lines, priority);
}

void compositor_sort_dirty(Compositor *c)
{
	const Layout *l = c->layout;

	/* One line is sorted: the common case of lines with their own intervals. */
	if (c->n_dirty < 2)
		return;
	for (size_t i = 0; i < c->n_dirty; i++)
		c->dirty[i] = l->lines[c->dirty[i]];
	qsort(c->dirty, c->n_dirty, sizeof(unsigned), offset_compare);
	for (size_t i = 0; i < c->n_dirty; i++)
		c->dirty[i] = (unsigned)l->index_of[c->dirty[i]];
}

void compositor_clear_dirty(Compositor *c)
{
	for (size_t i = 0; i < c->n_dirty; i++)
		c->dirty_flags[c->dirty[i]] = false;
	c->n_dirty = 0;
}

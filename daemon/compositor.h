/* SPDX-License-Identifier: MIT */
/*
 * The line compositor: what each line shows, from every claim on it.
 *
 * A task that drives a line claims it at its run's priority for as long as
 * it runs, lit or dark. A line shows its highest-priority claim: lit (level
 * LEVEL_MAX) while any claim at that priority holds it lit; else the highest
 * level held at that priority by a level hold (a task that sets a level of
 * its own: dim, fade, pattern, heartbeat, morse); else dark. A claim at a
 * lower priority is covered, unseen, and shows again the instant the cover
 * ends. A line without claims shows 0.
 *
 * The compositor keeps the dirty set: the lines whose level may have changed
 * since it was last cleared, each once. It does not know what the backend
 * was told: the output stage (output.h) reads the dirty set and the levels,
 * writes the batch and clears the set.
 *
 * Lines are named by their number in the layout (Lines, as a program
 * resolved them) or by their index in it (layout->lines[index]).
 *
 * Owners: the Compositor is embedded in the engine (compositor_init() /
 * compositor_done()) and owns its per-line arrays, which keep their room:
 * after the first claims, claiming, lighting and levels allocate nothing.
 * It never owns a hold's holder: that is a key, compared, never followed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "program.h"

/* The claims on one line at one priority. */
typedef struct Claim {
	int32_t priority;
	uint32_t n;	/* claims at this priority */
	uint32_t lit;	/* of them, holding the line lit */
} Claim;

/* A holder (a task) holding a line at a level of its own. */
typedef struct LevelHold {
	const void *holder;
	int32_t priority;
	uint16_t level;
} LevelHold;

/* A line's claims, highest priority first, and the level holds among them. */
typedef struct LineClaims {
	Claim *claims;
	uint32_t n, cap;
	LevelHold *holds;
	uint32_t n_holds, cap_holds;
} LineClaims;

typedef struct Compositor {
	const Layout *layout;
	LineClaims *lines;	/* per layout line */
	bool *dirty_flags;	/* per layout line: whether it is in the dirty set */
	unsigned *dirty;	/* the dirty set: layout indexes, in the order they were marked */
	size_t n_dirty;
} Compositor;

/* compositor_init() - every line of @layout unclaimed, the dirty set empty. -ENOMEM. */
int compositor_init(Compositor *c, const Layout *layout);
void compositor_done(Compositor *c);

/*
 * compositor_claim_lines() - claim every line of @lines at @priority, dark.
 * On failure (-ENOMEM) none stays claimed.
 */
int compositor_claim_lines(Compositor *c, const Lines *lines, int32_t priority);
void compositor_unclaim_lines(Compositor *c, const Lines *lines, int32_t priority);

/*
 * compositor_light_lines() - one claim at @priority on each line of @lines
 * holds it lit (@lit) or no more (!@lit). The lines must be claimed there.
 */
void compositor_light_lines(Compositor *c, const Lines *lines, int32_t priority, bool lit);
void compositor_light_line(Compositor *c, unsigned number, int32_t priority, bool lit);

/*
 * compositor_hold_lines() - claim every line of @lines at @priority with a
 * level hold of @holder's, at level 0. On failure (-ENOMEM) none stays
 * claimed or held.
 */
int compositor_hold_lines(Compositor *c, const Lines *lines, const void *holder,
			  int32_t priority);
/* @holder's holds on @lines show @level now. */
void compositor_set_level(Compositor *c, const Lines *lines, const void *holder, uint16_t level);
/* Drop @holder's holds on @lines and their claims. */
void compositor_unhold_lines(Compositor *c, const Lines *lines, const void *holder,
			     int32_t priority);

/*
 * The level layout line @index shows now, composed from its claims: its top
 * claim's, lit if a claim there holds it lit, else the highest level held
 * there. Inline: the output stage composes every dirty line of each batch.
 */
static inline uint16_t compositor_line_level(const Compositor *c, unsigned index)
{
	const LineClaims *l = &c->lines[index];
	uint16_t v = 0;

	if (l->n == 0)
		return 0;
	if (l->claims[0].lit > 0)
		return LEVEL_MAX;
	for (uint32_t i = 0; i < l->n_holds; i++)
		if (l->holds[i].priority == l->claims[0].priority && l->holds[i].level > v)
			v = l->holds[i].level;
	return v;
}

/* Whether layout line @index has a claim. */
static inline bool compositor_line_claimed(const Compositor *c, unsigned index)
{
	return c->lines[index].n > 0;
}

/* Put layout line @index in the dirty set (once). */
static inline void compositor_mark_dirty(Compositor *c, unsigned index)
{
	if (!c->dirty_flags[index]) {
		c->dirty_flags[index] = true;
		c->dirty[c->n_dirty++] = index;
	}
}

static inline bool compositor_is_dirty(const Compositor *c, unsigned index)
{
	return c->dirty_flags[index];
}

/* Sort the dirty set by line number, ascending. */
void compositor_sort_dirty(Compositor *c);

/*
 * Emptying the dirty set: each line's mark is taken off with
 * compositor_unmark_dirty() (the output stage does it in the walk it makes
 * over the set anyway), then compositor_forget_dirty() empties the list.
 */
static inline void compositor_unmark_dirty(Compositor *c, unsigned index)
{
	c->dirty_flags[index] = false;
}

static inline void compositor_forget_dirty(Compositor *c)
{
	c->n_dirty = 0;
}

/* Empty the dirty set at once. */
void compositor_clear_dirty(Compositor *c);

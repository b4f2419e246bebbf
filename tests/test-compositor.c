/* SPDX-License-Identifier: MIT */
/*
 * The line compositor alone: claims, lit claims, level holds and priorities
 * composed into each line's level, and the dirty set that says which lines
 * to look at, without an engine, a clock or a backend.
 */
#include <stdlib.h>

#include "compositor.h"
#include "test.h"

/* Line numbers, deliberately not in layout order. */
static const unsigned matrix[] = { 9, 3, 7, 5 };
static Layout *layout;

static Lines lines_of(size_t n, unsigned *numbers)
{
	return (Lines){ .n_numbers = n, .numbers = numbers };
}

static uint16_t level(const Compositor *c, unsigned number)
{
	return compositor_line_level(c, (unsigned)layout_index_of(layout, number));
}

static bool dirty(const Compositor *c, unsigned number)
{
	return compositor_is_dirty(c, (unsigned)layout_index_of(layout, number));
}

static void test_claims_or(void)
{
	Compositor c;
	Lines both = lines_of(2, (unsigned[]){ 3, 7 }), three = lines_of(1, (unsigned[]){ 3 });

	check_int(compositor_init(&c, layout), 0);
	check_int(c.n_dirty, 0);
	check_int(level(&c, 3), 0);
	check(!compositor_line_claimed(&c, (unsigned)layout_index_of(layout, 3)));

	/* Claimed dark: a new top claim, so the line is looked at, and shows 0. */
	check_int(compositor_claim_lines(&c, &both, 0), 0);
	check(compositor_line_claimed(&c, (unsigned)layout_index_of(layout, 3)));
	check(dirty(&c, 3) && dirty(&c, 7) && !dirty(&c, 5));
	check_int(c.n_dirty, 2);
	check_int(level(&c, 3), 0);
	compositor_clear_dirty(&c);
	check(!dirty(&c, 3));

	/* Two claims at one priority are OR'd: lit while either holds it lit. */
	check_int(compositor_claim_lines(&c, &three, 0), 0);
	check(!dirty(&c, 3)); /* not a new top claim */
	compositor_light_lines(&c, &both, 0, true);
	check_int(level(&c, 3), LEVEL_MAX);
	check_int(level(&c, 7), LEVEL_MAX);
	check(dirty(&c, 3) && dirty(&c, 7));
	compositor_clear_dirty(&c);
	compositor_light_line(&c, 3, 0, true);
	check(!dirty(&c, 3)); /* lit already: nothing changes */
	compositor_light_lines(&c, &both, 0, false);
	check_int(level(&c, 3), LEVEL_MAX); /* the other still holds it */
	check_int(level(&c, 7), 0);
	check(!dirty(&c, 3) && dirty(&c, 7));
	compositor_light_line(&c, 3, 0, false);
	check_int(level(&c, 3), 0);
	check(dirty(&c, 3));

	compositor_unclaim_lines(&c, &three, 0);
	compositor_unclaim_lines(&c, &both, 0);
	check(!compositor_line_claimed(&c, (unsigned)layout_index_of(layout, 3)));
	compositor_done(&c);
}

static void test_priority(void)
{
	Compositor c;
	Lines l = lines_of(1, (unsigned[]){ 5 });

	check_int(compositor_init(&c, layout), 0);
	check_int(compositor_claim_lines(&c, &l, 0), 0);
	compositor_light_lines(&c, &l, 0, true);
	check_int(level(&c, 5), LEVEL_MAX);
	compositor_clear_dirty(&c);

	/* A higher claim covers, dark as it is; the lower goes on unseen. */
	check_int(compositor_claim_lines(&c, &l, 10), 0);
	check(dirty(&c, 5));
	check_int(level(&c, 5), 0);
	compositor_clear_dirty(&c);
	/* Lighting or darkening the covered claim changes nothing that shows. */
	compositor_light_lines(&c, &l, 0, false);
	compositor_light_lines(&c, &l, 0, true);
	check(!dirty(&c, 5));
	/* A lower claim added beneath does not disturb what shows. */
	check_int(compositor_claim_lines(&c, &l, -10), 0);
	check(!dirty(&c, 5));
	check_int(c.lines[layout_index_of(layout, 5)].n, 3);

	/* The cover ends: what was covered shows again, at once. */
	compositor_unclaim_lines(&c, &l, 10);
	check(dirty(&c, 5));
	check_int(level(&c, 5), LEVEL_MAX);

	compositor_unclaim_lines(&c, &l, -10);
	compositor_light_lines(&c, &l, 0, false);
	compositor_unclaim_lines(&c, &l, 0);
	check_int(level(&c, 5), 0);
	compositor_done(&c);
}

static void test_levels(void)
{
	Compositor c;
	Lines l = lines_of(2, (unsigned[]){ 9, 5 });
	int a, b, low, high; /* holders: only their addresses count */

	check_int(compositor_init(&c, layout), 0);

	/* Holds at one priority: the highest level shows. */
	check_int(compositor_hold_lines(&c, &l, &a, 0), 0);
	check_int(compositor_hold_lines(&c, &l, &b, 0), 0);
	check_int(level(&c, 9), 0);
	compositor_clear_dirty(&c);
	compositor_set_level(&c, &l, &a, 3000);
	check(dirty(&c, 9) && dirty(&c, 5));
	compositor_set_level(&c, &l, &b, 5000);
	check_int(level(&c, 9), 5000);
	compositor_set_level(&c, &l, &b, 1000);
	check_int(level(&c, 9), 3000);
	compositor_clear_dirty(&c);
	compositor_set_level(&c, &l, &b, 1000);
	check(!dirty(&c, 9)); /* the same level again is no change */

	/* A lit claim at that priority shows lit over any level. */
	check_int(compositor_claim_lines(&c, &l, 0), 0);
	compositor_light_lines(&c, &l, 0, true);
	check_int(level(&c, 5), LEVEL_MAX);
	compositor_light_lines(&c, &l, 0, false);
	compositor_unclaim_lines(&c, &l, 0);
	check_int(level(&c, 5), 3000);

	/* A hold at a lower priority is covered; a higher one covers, even at a lower level. */
	check_int(compositor_hold_lines(&c, &l, &low, -5), 0);
	compositor_set_level(&c, &l, &low, 9000);
	check_int(level(&c, 9), 3000);
	check_int(compositor_hold_lines(&c, &l, &high, 5), 0);
	compositor_set_level(&c, &l, &high, 200);
	check_int(level(&c, 9), 200);
	compositor_unhold_lines(&c, &l, &high, 5);
	check_int(level(&c, 9), 3000);

	/* Dropping holds: the line shows what is left, and at last 0. */
	compositor_clear_dirty(&c);
	compositor_unhold_lines(&c, &l, &a, 0);
	check(dirty(&c, 9));
	check_int(level(&c, 9), 1000);
	compositor_unhold_lines(&c, &l, &b, 0);
	check_int(level(&c, 9), 9000); /* the covered hold shows through */
	compositor_unhold_lines(&c, &l, &low, -5);
	check_int(level(&c, 9), 0);
	check_int(c.lines[layout_index_of(layout, 9)].n_holds, 0);
	compositor_done(&c);
}

static void test_dirty_set(void)
{
	Compositor c;

	check_int(compositor_init(&c, layout), 0);
	/* Marked in any order, each once; sorted by number, not by layout index. */
	compositor_mark_dirty(&c, (unsigned)layout_index_of(layout, 7));
	compositor_mark_dirty(&c, (unsigned)layout_index_of(layout, 3));
	compositor_mark_dirty(&c, (unsigned)layout_index_of(layout, 9));
	compositor_mark_dirty(&c, (unsigned)layout_index_of(layout, 3));
	check_int(c.n_dirty, 3);
	compositor_sort_dirty(&c);
	check_int(layout->lines[c.dirty[0]], 3);
	check_int(layout->lines[c.dirty[1]], 7);
	check_int(layout->lines[c.dirty[2]], 9);
	compositor_clear_dirty(&c);
	check_int(c.n_dirty, 0);
	for (unsigned n = 3; n <= 9; n += 2)
		check(!dirty(&c, n));
	compositor_done(&c);
}

int main(void)
{
	check_int(layout_new(&layout, 2, 2, matrix), 0);
	test_claims_or();
	test_priority();
	test_levels();
	test_dirty_set();
	layout_free(layout);
	return test_summary("test-compositor");
}

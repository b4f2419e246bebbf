/* SPDX-License-Identifier: MIT */
/*
 * Precision mode's margin: it starts where it should, learns the second
 * latest of a window of wakeups (so a lone stall does not move it, two do),
 * forgets what fell out of the window, and stays within its bounds.
 */
#include "precision.h"
#include "test.h"

/* The timer, armed for @due, woke @late µs after it should have fired. */
static void wake(Precision *p, usec_t due, usec_t late)
{
	usec_t fire = precision_fire(p, due);

	precision_woke(p, fire, fire + late);
}

static void wake_n(Precision *p, unsigned n, usec_t late)
{
	for (unsigned i = 0; i < n; i++)
		wake(p, 1000000 + i * 1000, late);
}

static void test_start(void)
{
	Precision p;

	precision_init(&p);
	check_int(p.margin, PRECISION_MARGIN_START);
	check_int(precision_fire(&p, 1000000), 1000000 - PRECISION_MARGIN_START);
	/* An instant before the margin arms at 0, never wraps round. */
	check_int(precision_fire(&p, 50), 0);
	/* It does not learn before PRECISION_LEARN wakeups. */
	wake_n(&p, PRECISION_LEARN - 1, 5);
	check_int(p.margin, PRECISION_MARGIN_START);
	wake_n(&p, 1, 5);
	check_int(p.margin, 5 + PRECISION_MARGIN_MIN);
}

static void test_second_latest(void)
{
	Precision p;

	precision_init(&p);
	wake_n(&p, 100, 30);
	check_int(p.margin, 30 + PRECISION_MARGIN_MIN);
	/* One stall of 900 µs: the margin stays where the rest of the wakeups are. */
	wake_n(&p, 1, 900);
	wake_n(&p, PRECISION_LEARN, 30);
	check_int(p.margin, 30 + PRECISION_MARGIN_MIN);
	/* A second late one in the window: that is a tail, and the margin covers it. */
	wake_n(&p, 1, 400);
	wake_n(&p, PRECISION_LEARN, 30);
	check_int(p.margin, 400 + PRECISION_MARGIN_MIN);
	/* A window later both are forgotten. */
	wake_n(&p, PRECISION_WINDOW + PRECISION_LEARN, 10);
	check_int(p.margin, 10 + PRECISION_MARGIN_MIN);
}

static void test_bounds(void)
{
	Precision p;

	precision_init(&p);
	/* Woken early (or on time) is 0 late: the margin is the minimum. */
	for (unsigned i = 0; i < PRECISION_LEARN; i++)
		precision_woke(&p, 5000, 4000);
	check_int(p.margin, PRECISION_MARGIN_MIN);
	/* A machine whose wakeups are all seconds late: the margin is bounded. */
	wake_n(&p, PRECISION_WINDOW, 3 * USEC_PER_SEC);
	check_int(p.margin, PRECISION_MARGIN_MAX);
	check_int(precision_fire(&p, 10 * USEC_PER_SEC), 10 * USEC_PER_SEC - PRECISION_MARGIN_MAX);
}

int main(void)
{
	test_start();
	test_second_latest();
	test_bounds();
	return test_summary("test-precision");
}

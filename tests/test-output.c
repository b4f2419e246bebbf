/* SPDX-License-Identifier: MIT */
/*
 * The output stage alone, over a compositor: what each batch holds (only
 * changes, in number order), a failed write kept for the next batch,
 * software PWM on the timeline, analog lines, the backend's own state and
 * a resync.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "output.h"
#include "test.h"

static const unsigned matrix[] = { 9, 3, 7, 5 };
static Layout *layout;

/* The last batch written, and how many. */
static struct {
	usec_t t;
	size_t n;
	unsigned numbers[8];
	uint16_t values[8];
	size_t n_writes;
	int fail; /* the next write fails with this */
} w;

static int record(void *userdata, usec_t now, size_t n, const unsigned *numbers,
		  const uint16_t *values)
{
	if (w.fail) {
		int r = w.fail;
		w.fail = 0;
		return r;
	}
	w.t = now;
	w.n = n;
	for (size_t i = 0; i < n; i++) {
		w.numbers[i] = numbers[i];
		w.values[i] = values[i];
	}
	w.n_writes++;
	return 0;
}

static Lines lines_of(size_t n, unsigned *numbers)
{
	return (Lines){ .n_numbers = n, .numbers = numbers };
}

static unsigned idx(unsigned number)
{
	return (unsigned)layout_index_of(layout, number);
}

static void test_batches(void)
{
	Compositor c;
	Output o;
	Lines l = lines_of(3, (unsigned[]){ 9, 3, 7 });
	unsigned numbers[4];
	uint16_t levels[4];
	bool between;

	check_int(compositor_init(&c, layout), 0);
	check_int(output_init(&o, &c, 1000, 200), 0);
	memset(&w, 0, sizeof(w));

	/* Nothing dirty: nothing written. */
	check_int(output_commit(&o, 1000, record, NULL), 0);
	check_int(w.n_writes, 0);
	check(!output_take_levels_changed(&o));

	/* Claimed dark: dirty, but what the backend has already (0): no batch. */
	check_int(compositor_claim_lines(&c, &l, 0), 0);
	check_int(output_commit(&o, 1000, record, NULL), 0);
	check_int(w.n_writes, 0);
	check_int(c.n_dirty, 0);

	/* Lit: one batch, in number order whatever order they were lit in, at the timeline's time. */
	compositor_light_lines(&c, &l, 0, true);
	check_int(output_commit(&o, 1500, record, NULL), 0);
	check_int(w.n_writes, 1);
	check_int(w.t, 500);
	check_int(w.n, 3);
	check_int(w.numbers[0], 3);
	check_int(w.numbers[1], 7);
	check_int(w.numbers[2], 9);
	check_int(w.values[0], LEVEL_MAX);
	check_int(c.n_dirty, 0);
	check(output_take_levels_changed(&o));
	check(!output_take_levels_changed(&o));
	check_int(output_line_level(&o, idx(7)), LEVEL_MAX);
	check(output_line_is_on(&o, idx(7)));
	check_int(output_get_lit(&o, numbers, 4), 3);
	check_int(numbers[0], 3);
	check_int(numbers[2], 9);
	check_int(output_get_levels(&o, numbers, levels, 1, &between), 3); /* counts past max */
	check_int(numbers[0], 3);
	check_int(levels[0], LEVEL_MAX);
	check(!between);

	/* A failed write changes nothing: the lines stay dirty and go out next time. */
	compositor_light_line(&c, 7, 0, false);
	w.fail = -EIO;
	check_int(output_commit(&o, 2000, record, NULL), -EIO);
	check_int(c.n_dirty, 1);
	check_int(output_line_level(&o, idx(7)), LEVEL_MAX);
	check(output_line_is_on(&o, idx(7)));
	check(!output_take_levels_changed(&o));
	check_int(output_commit(&o, 3000, record, NULL), 0);
	check_int(w.n_writes, 2);
	check_int(w.n, 1);
	check_int(w.numbers[0], 7);
	check_int(w.values[0], 0);
	check_int(output_line_level(&o, idx(7)), 0);
	check(!output_line_is_on(&o, idx(7)));
	check(output_take_levels_changed(&o));

	/* A resync writes every line again, what it shows now. */
	output_resync(&o);
	check(!output_line_is_on(&o, idx(3))); /* not known until written */
	check_int(output_commit(&o, 4000, record, NULL), 0);
	check_int(w.n, 4);
	check_int(w.numbers[0], 3);
	check_int(w.values[0], LEVEL_MAX);
	check_int(w.numbers[1], 5);
	check_int(w.values[1], 0);
	check(output_line_is_on(&o, idx(3)));

	output_done(&o);
	compositor_done(&c);
}

static void test_pwm(void)
{
	Compositor c;
	Output o;
	Lines l = lines_of(1, (unsigned[]){ 5 });
	int holder;

	check_int(compositor_init(&c, layout), 0);
	/* 100 Hz: a period of 10 ms, aligned on the epoch (1000). */
	check_int(output_init(&o, &c, 1000, 200), 0);
	output_set_pwm_hz(&o, 100);
	check_int(output_next_boundary(&o, 1000), 11000);
	check_int(output_next_boundary(&o, 10999), 11000);
	check_int(output_since_boundary(&o, 13500), 2500);
	memset(&w, 0, sizeof(w));
	check_int(output_pwm_next(&o), USEC_INFINITY);

	/* 0.3: on for the first 3 ms of each period, off for the rest. */
	check_int(compositor_hold_lines(&c, &l, &holder, 0), 0);
	compositor_set_level(&c, &l, &holder, 3000);
	check_int(output_commit(&o, 11000, record, NULL), 0);
	check_int(w.n, 1);
	check_int(w.values[0], LEVEL_MAX);
	check_int(output_line_level(&o, idx(5)), 3000);
	check_int(output_pwm_next(&o), 14000);
	check_int(output_line_value(&o, idx(5), 13999), LEVEL_MAX);
	check_int(output_line_value(&o, idx(5), 14000), 0);

	/* Its edge: the PWM lines are looked at again, and it goes off. */
	output_pwm_edge(&o);
	check_int(c.n_dirty, 1);
	check_int(output_pwm_next(&o), USEC_INFINITY);
	check_int(output_commit(&o, 14000, record, NULL), 0);
	check_int(w.n_writes, 2);
	check_int(w.t, 13000);
	check_int(w.values[0], 0);
	check_int(output_pwm_next(&o), 21000);
	/* Off in its period, yet its level is 0.3: it is not on, it shows a level. */
	check(!output_line_is_on(&o, idx(5)));
	check_int(output_line_level(&o, idx(5)), 3000);

	/* At 0 or LEVEL_MAX it is no PWM line: no more PWM edges. */
	compositor_set_level(&c, &l, &holder, LEVEL_MAX);
	check_int(output_commit(&o, 15000, record, NULL), 0);
	check_int(w.values[0], LEVEL_MAX);
	check_int(output_pwm_next(&o), USEC_INFINITY);
	check_int(o.n_pwm, 0);

	compositor_unhold_lines(&c, &l, &holder, 0);
	check_int(output_commit(&o, 16000, record, NULL), 0);
	check_int(w.values[0], 0);
	output_done(&o);
	compositor_done(&c);
}

static void test_analog_and_backend(void)
{
	Compositor c;
	Output o;
	Lines l = lines_of(1, (unsigned[]){ 9 });
	int holder;

	check_int(compositor_init(&c, layout), 0);
	layout->info[idx(9)].analog = true;
	check_int(output_init(&o, &c, 0, 200), 0);
	layout->info[idx(9)].analog = false;
	memset(&w, 0, sizeof(w));

	/* An analog line is told its level: no PWM. */
	check_int(compositor_hold_lines(&c, &l, &holder, 0), 0);
	compositor_set_level(&c, &l, &holder, 2500);
	check_int(output_commit(&o, 0, record, NULL), 0);
	check_int(w.n, 1);
	check_int(w.values[0], 2500);
	check_int(output_pwm_next(&o), USEC_INFINITY);
	compositor_unhold_lines(&c, &l, &holder, 0);
	check_int(output_commit(&o, 1, record, NULL), 0);

	/* The backend's own state: an unclaimed line keeps it as its level; no batch rewrites it. */
	output_set_committed(&o, idx(3), LEVEL_MAX);
	check(output_take_levels_changed(&o));
	check_int(output_line_level(&o, idx(3)), LEVEL_MAX);
	check(output_line_is_on(&o, idx(3)));
	w.n_writes = 0;
	check_int(output_commit(&o, 2, record, NULL), 0);
	check_int(w.n_writes, 0);

	output_done(&o);
	compositor_done(&c);
}

static int engine_write(void *userdata, usec_t now, size_t n, const unsigned *numbers,
			const uint16_t *values)
{
	return 0;
}

static void engine_finished(void *userdata, EngineRun *run, RunResult result)
{
}

static const EngineOps engine_ops = {
	.commit = engine_write,
	.finished = engine_finished,
};

/*
 * Through the engine: a dimmed line is lit (Lit, its level) in both parts of
 * its period, and on for the backend (engine_line_is_lit()) only in the first.
 */
static void test_engine_line_is_lit(void)
{
	_cleanup_(engine_freep) Engine *e = NULL;
	Program *p = NULL;
	ProgramError error;
	unsigned numbers[4];

	check_int(engine_new(&e, layout, &engine_ops, NULL), 0);
	check_int(program_parse("{\"dim\":{\"lines\":[5],\"level\":0.3}}", layout, 0, &p, &error), 0);
	check_int(engine_start(e, p, NULL, NULL, 0, NULL, NULL, &error), 0);
	/* 200 Hz: on for the first 1.5 ms of each 5 ms. */
	check_int(engine_advance(e, 0), 0);
	check(engine_line_is_lit(e, 5));
	check_int(engine_line_level(e, 5), 3000);
	check_int(engine_advance(e, 2000), 0);
	check(!engine_line_is_lit(e, 5));
	check_int(engine_line_level(e, 5), 3000);
	check_int(engine_get_lit(e, numbers, 4), 1);
	check_int(numbers[0], 5);
	check_int(engine_advance(e, 5000), 0);
	check(engine_line_is_lit(e, 5));
	check(!engine_line_is_lit(e, 9));
	check(!engine_line_is_lit(e, 1000)); /* no such line */
	program_unref(p);
}

int main(void)
{
	check_int(layout_new(&layout, 2, 2, matrix), 0);
	test_batches();
	test_pwm();
	test_analog_and_backend();
	test_engine_line_is_lit();
	layout_free(layout);
	return test_summary("test-output");
}

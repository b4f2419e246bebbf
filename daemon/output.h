/* SPDX-License-Identifier: MIT */
/*
 * The output stage: from the levels the compositor composed to the values
 * the backend is told, one batch per instant.
 *
 * A GPIO line between dark and lit is switched by software PWM: on for the
 * first part of each period, off for the rest, periods aligned on the
 * timeline (multiples of the period from its epoch) so that lines at one
 * level edge together. An analog line (an LED) is told its level as it is.
 *
 * output_commit() writes, as one batch sorted by line number, every line of
 * the compositor's dirty set whose value differs from what the backend was
 * last told; once written, the levels are the lines' (engine_line_level(),
 * Levels, Lit) and the dirty set is empty. A failed write changes nothing:
 * the lines stay dirty and go out with the next batch.
 *
 * The output stage reads the compositor (its levels, its dirty set) and
 * marks PWM lines dirty at their edges; the compositor never calls it.
 *
 * Owners: the Output is embedded in the engine (output_init() /
 * output_done()) and owns its per-line arrays and the batch. It does not
 * own the compositor or the layout, which must outlive it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compositor.h"
#include "layout.h"
#include "macro.h"

/* Writes one batch: @n lines, @numbers ascending, at @now (the timeline's time less its epoch). */
typedef int (*OutputWrite)(void *userdata, usec_t now, size_t n, const unsigned *numbers,
			   const uint16_t *values);

typedef struct Output {
	const Layout *layout;
	Compositor *compositor;
	usec_t epoch;		/* the timeline's time 0: PWM periods are aligned on it */

	uint16_t *level;	/* per layout line: its level as last written */
	uint16_t *committed;	/* per layout line: what the backend was last told */
	uint16_t *composed;	/* per layout line: its level in the batch being made */
	bool *analog;		/* per layout line: takes levels as they are (no PWM) */
	unsigned *by_number;	/* layout indexes in the order of their numbers */
	unsigned *batch_numbers;
	uint16_t *batch_values;

	usec_t pwm_period;
	unsigned *pwm_lines;	/* layout indexes of lines at a level between 0 and LEVEL_MAX */
	int *pwm_pos;		/* per layout line: its place in pwm_lines, or -1 */
	size_t n_pwm;
	usec_t pwm_next;	/* the next instant a PWM line changes, or USEC_INFINITY */
	bool levels_changed;	/* since output_take_levels_changed() */
} Output;

/*
 * output_init() - the output stage of @compositor's lines, on a timeline
 * whose time 0 is @epoch, PWM at @pwm_hz. Returns 0 or -ENOMEM.
 */
int output_init(Output *o, Compositor *compositor, usec_t epoch, unsigned pwm_hz);
void output_done(Output *o);

void output_set_pwm_hz(Output *o, unsigned hz);

/*
 * output_commit() - write the batch of instant @now through @write (see
 * above). Returns 0, or @write's negative errno.
 */
int output_commit(Output *o, usec_t now, OutputWrite write, void *userdata);

/* The next instant after the last batch at which a PWM line changes, or USEC_INFINITY. */
static inline usec_t output_pwm_next(const Output *o)
{
	return o->pwm_next;
}

/* A PWM edge falls due: every PWM line goes in the dirty set. */
void output_pwm_edge(Output *o);

/* The first PWM period boundary after @at: ramps take a new level there. */
static inline usec_t output_next_boundary(const Output *o, usec_t at)
{
	return at - (at - o->epoch) % o->pwm_period + o->pwm_period;
}

/* How long since the last PWM period boundary at or before @at. */
static inline usec_t output_since_boundary(const Output *o, usec_t at)
{
	return (at - o->epoch) % o->pwm_period;
}

/* What the backend is told for layout line @index at @now with the level it has composed. */
uint16_t output_line_value(const Output *o, unsigned index, usec_t now);

/* The backend has layout line @index at @value (its initial state, or its chip came back). */
void output_set_committed(Output *o, unsigned index, uint16_t value);

/* Whether the backend was last told that layout line @index is on (above 0). */
bool output_line_is_on(const Output *o, unsigned index);

/* Every line dirty and unknown to the backend: the next batch writes them all. */
void output_resync(Output *o);

/* Whether any line's level changed since the last call. */
bool output_take_levels_changed(Output *o);

/* The level of layout line @index as last written. */
static inline uint16_t output_line_level(const Output *o, unsigned index)
{
	return o->level[index];
}

/* See engine_get_lit() and engine_get_levels(). */
size_t output_get_lit(const Output *o, unsigned *numbers, size_t max);
size_t output_get_levels(const Output *o, unsigned *numbers, uint16_t *levels, size_t max,
			 bool *ret_between);

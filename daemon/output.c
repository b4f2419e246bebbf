/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "output.h"

int output_init(Output *o, Compositor *compositor, usec_t epoch, unsigned pwm_hz)
{
	const Layout *layout = compositor->layout;
	size_t n = layout->n_lines;

	*o = (Output){
		.layout = layout,
		.compositor = compositor,
		.epoch = epoch,
		.pwm_period = USEC_PER_SEC / pwm_hz,
		.pwm_next = USEC_INFINITY,
	};
	o->level = calloc(n, sizeof(uint16_t));
	o->committed = calloc(n, sizeof(uint16_t));
	o->composed = calloc(n, sizeof(uint16_t));
	o->analog = calloc(n, sizeof(bool));
	o->by_number = calloc(n, sizeof(unsigned));
	o->batch_numbers = calloc(n, sizeof(unsigned));
	o->batch_values = calloc(n, sizeof(uint16_t));
	o->pwm_lines = calloc(n, sizeof(unsigned));
	o->pwm_pos = malloc(n * sizeof(int));
	if (!o->level || !o->committed || !o->composed || !o->analog || !o->by_number ||
	    !o->batch_numbers || !o->batch_values || !o->pwm_lines || !o->pwm_pos) {
		output_done(o);
		return -ENOMEM;
	}
	for (size_t number = 0, i = 0; number <= layout->max_number; number++)
		if (layout->index_of[number] >= 0)
			o->by_number[i++] = (unsigned)layout->index_of[number];
	for (size_t i = 0; i < n; i++) {
		o->pwm_pos[i] = -1;
		o->analog[i] = layout->info[i].analog;
	}
	return 0;
}

void output_done(Output *o)
{
	free(o->level);
	free(o->committed);
	free(o->composed);
	free(o->analog);
	free(o->by_number);
	free(o->batch_numbers);
	free(o->batch_values);
	free(o->pwm_lines);
	free(o->pwm_pos);
	*o = (Output){};
}

void output_set_pwm_hz(Output *o, unsigned hz)
{
	o->pwm_period = USEC_PER_SEC / hz;
}

/* How long in each period a line at @level is on. */
static usec_t pwm_on_time(const Output *o, uint16_t level)
{
	return (o->pwm_period * level + LEVEL_MAX / 2) / LEVEL_MAX;
}

/* Whether line @idx is driven by PWM at @level: a GPIO line between dark and lit. */
static bool pwm_wants(const Output *o, unsigned idx, uint16_t level)
{
	return level > 0 && level < LEVEL_MAX && !o->analog[idx];
}

static void pwm_track(Output *o, unsigned idx, bool on)
{
	int pos = o->pwm_pos[idx];

	if (on && pos < 0) {
		o->pwm_pos[idx] = (int)o->n_pwm;
		o->pwm_lines[o->n_pwm++] = idx;
	} else if (!on && pos >= 0) {
		unsigned last = o->pwm_lines[--o->n_pwm];

		o->pwm_lines[pos] = last;
		o->pwm_pos[last] = pos;
		o->pwm_pos[idx] = -1;
	}
}

/*
 * What the backend is told for line @idx at instant @now: its level; on a
 * GPIO line between dark and lit, on for the first part of each period
 * (periods aligned on the timeline, so lines at one level share their
 * edges) and off for the rest.
 */
static uint16_t line_output(const Output *o, unsigned idx, uint16_t level, usec_t now)
{
	if (!pwm_wants(o, idx, level))
		return o->analog[idx] ? level : level ? LEVEL_MAX : 0;
	return (now - o->epoch) % o->pwm_period < pwm_on_time(o, level) ? LEVEL_MAX : 0;
}

uint16_t output_line_value(const Output *o, unsigned index, usec_t now)
{
	return line_output(o, index, compositor_line_level(o->compositor, index), now);
}

/* The next instant after @now at which a PWM line changes. */
static usec_t pwm_next_change(const Output *o, usec_t now)
{
	usec_t period_start = now - (now - o->epoch) % o->pwm_period, next = USEC_INFINITY;
	bool toggles = false;

	for (size_t i = 0; i < o->n_pwm; i++) {
		usec_t on = pwm_on_time(o, o->level[o->pwm_lines[i]]);

		if (on == 0 || on >= o->pwm_period)
			continue; /* rounds to dark or lit: no edge */
		toggles = true;
		if (period_start + on > now && period_start + on < next)
			next = period_start + on;
	}
	if (toggles && period_start + o->pwm_period < next)
		next = period_start + o->pwm_period;
	return next;
}

void output_pwm_edge(Output *o)
{
	for (size_t i = 0; i < o->n_pwm; i++)
		compositor_mark_dirty(o->compositor, o->pwm_lines[i]);
	o->pwm_next = USEC_INFINITY;
}

/* Adds layout line @idx to the batch if what it shows differs from what the backend has. */
static size_t batch_add(Output *o, size_t n, unsigned idx, usec_t now)
{
	uint16_t level = compositor_line_level(o->compositor, idx), v;

	o->composed[idx] = level; /* for after the write, without composing again */
	v = line_output(o, idx, level, now);
	if (v != o->committed[idx]) {
		o->batch_numbers[n] = o->layout->lines[idx];
		o->batch_values[n] = v;
		n++;
	}
	return n;
}

int output_commit(Output *o, usec_t now, OutputWrite write, void *userdata)
{
	Compositor *c = o->compositor;
	const Layout *l = o->layout;
	size_t n = 0;
	int r;

	if (c->n_dirty == 0)
		return 0;

	/*
	 * Numbers in order, so each batch reads the same whatever order tasks
	 * ran in. When many lines changed, walking every line in number order
	 * is cheaper than sorting them (a tenth of the daemon's CPU with 1000
	 * lines a batch); a few are sorted.
	 */
	if (c->n_dirty * 8 >= l->n_lines) {
		for (size_t i = 0; i < l->n_lines; i++)
			if (compositor_is_dirty(c, o->by_number[i]))
				n = batch_add(o, n, o->by_number[i], now);
	} else {
		compositor_sort_dirty(c);
		for (size_t i = 0; i < c->n_dirty; i++)
			n = batch_add(o, n, c->dirty[i], now);
	}

	if (n > 0) {
		r = write(userdata, now - o->epoch, n, o->batch_numbers, o->batch_values);
		if (r < 0)
			return r; /* the lines stay dirty: the next batch tries again */
		for (size_t i = 0; i < n; i++)
			o->committed[l->index_of[o->batch_numbers[i]]] = o->batch_values[i];
	}
	/* Written: the levels are the lines' now, and the PWM lines are those between. */
	for (size_t i = 0; i < c->n_dirty; i++) {
		unsigned idx = c->dirty[i];
		uint16_t level = o->composed[idx];

		if (level != o->level[idx])
			o->levels_changed = true;
		o->level[idx] = level;
		pwm_track(o, idx, pwm_wants(o, idx, level));
		compositor_unmark_dirty(c, idx);
	}
	compositor_forget_dirty(c);
	o->pwm_next = o->n_pwm > 0 ? pwm_next_change(o, now) : USEC_INFINITY;
	return 0;
}

void output_set_committed(Output *o, unsigned index, uint16_t value)
{
	o->committed[index] = value;
	/* Unclaimed, it keeps what it was given (an initial state); claimed, its level. */
	if (!compositor_line_claimed(o->compositor, index) && o->level[index] != value) {
		o->level[index] = value;
		o->levels_changed = true;
	}
}

bool output_line_is_on(const Output *o, unsigned index)
{
	/* UINT16_MAX: resynced, not told anything since. */
	return o->committed[index] > 0 && o->committed[index] != UINT16_MAX;
}

void output_resync(Output *o)
{
	for (size_t i = 0; i < o->layout->n_lines; i++) {
		o->committed[i] = UINT16_MAX; /* differs from every level: rewritten next batch */
		compositor_mark_dirty(o->compositor, (unsigned)i);
	}
}

bool output_take_levels_changed(Output *o)
{
	bool c = o->levels_changed;

	o->levels_changed = false;
	return c;
}

size_t output_get_lit(const Output *o, unsigned *numbers, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < o->layout->n_lines; i++) {
		unsigned idx = o->by_number[i];

		if (o->level[idx] > 0) {
			if (n < max)
				numbers[n] = o->layout->lines[idx];
			n++;
		}
	}
	return n;
}

size_t output_get_levels(const Output *o, unsigned *numbers, uint16_t *levels, size_t max,
			 bool *ret_between)
{
	size_t n = 0;
	bool between = false;

	for (size_t i = 0; i < o->layout->n_lines; i++) {
		unsigned idx = o->by_number[i];

		if (o->level[idx] == 0)
			continue;
		between = between || o->level[idx] < LEVEL_MAX;
		if (n < max) {
			numbers[n] = o->layout->lines[idx];
			levels[n] = o->level[idx];
		}
		n++;
	}
	if (ret_between)
		*ret_between = between;
	return n;
}

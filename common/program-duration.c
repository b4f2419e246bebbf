/* SPDX-License-Identifier: MIT */
#include "program-duration.h"

/* Durations saturate here: anything longer runs, for all purposes, forever. */
#define DURATION_FOREVER (1ULL << 61)

static usec_t duration_add(usec_t a, usec_t b)
{
	return a >= DURATION_FOREVER || b >= DURATION_FOREVER || a + b >= DURATION_FOREVER
		       ? USEC_INFINITY
		       : a + b;
}

static usec_t duration_mul(usec_t a, uint64_t k)
{
	if (a >= DURATION_FOREVER || (k > 0 && a > DURATION_FOREVER / k))
		return USEC_INFINITY;
	return a * k;
}

uint64_t program_track_rounds(const Program *p)
{
	switch (p->kind) {
	case PROGRAM_PATTERN:
		return p->times;
	case PROGRAM_HEARTBEAT:
		return 0;
	default:
		return 1; /* fade, morse */
	}
}

usec_t program_duration(const Program *p, ProgramBindings *b)
{
	usec_t d = 0, c;

	switch (p->kind) {
	case PROGRAM_BLINK:
	case PROGRAM_CYCLE:
		if (!p->times)
			return USEC_INFINITY;
		d = duration_mul(p->duration, 2ULL * p->times);
		return p->kind == PROGRAM_CYCLE ? duration_mul(d, p->lines.n_numbers) : d;
	case PROGRAM_ON:
	case PROGRAM_DIM:
		return p->duration ? p->duration : USEC_INFINITY;
	case PROGRAM_WAIT:
		return p->duration;
	case PROGRAM_FADE:
	case PROGRAM_PATTERN:
	case PROGRAM_HEARTBEAT:
	case PROGRAM_MORSE:
		return program_track_rounds(p)
			       ? duration_mul(p->track_duration, program_track_rounds(p))
			       : USEC_INFINITY;
	case PROGRAM_SEQUENCE:
		for (size_t i = 0; i < p->n_children; i++)
			d = duration_add(d, program_duration(p->children[i], b));
		return d;
	case PROGRAM_ALL:
		for (size_t i = 0; i < p->n_children; i++) {
			c = program_duration(p->children[i], b);
			d = c > d ? c : d;
		}
		return d;
	case PROGRAM_ANY:
		d = USEC_INFINITY;
		for (size_t i = 0; i < p->n_children; i++) {
			c = program_duration(p->children[i], b);
			d = c < d ? c : d;
		}
		return d;
	case PROGRAM_REPEAT:
		return duration_mul(program_duration(p->children[0], b), p->times);
	case PROGRAM_CALL: {
		ProgramBinding *x = program_bindings_find(b, p->call);

		if (!x)
			return USEC_INFINITY;
		/* Once per definition and bindings: they never change, and never form a cycle. */
		if (!x->has_duration) {
			x->duration = program_duration(x->program, b);
			x->has_duration = true;
		}
		return x->duration;
	}
	case PROGRAM_FOREVER:
	default:
		return USEC_INFINITY;
	}
}

usec_t program_duration_lookup(const Program *program, ProgramLookup lookup, void *userdata)
{
	ProgramBindings b = {};
	usec_t d = USEC_INFINITY;

	if (program_bind(&b, program, lookup, userdata, NULL, false, NULL) >= 0)
		d = program_duration(program, &b);
	program_bindings_clear(&b);
	return d;
}

/* SPDX-License-Identifier: MIT */
/*
 * How long a program runs from its start, its calls as bound: what lets a
 * run that starts in the past skip whole rounds and whole spans it missed,
 * and what the daemon reports as a program's end.
 *
 * Durations saturate: anything from 2^61 us (some 73 years) up, and
 * anything that never ends, is USEC_INFINITY.
 */
#pragma once

#include <stdint.h>

#include "macro.h"
#include "program-bind.h"
#include "program.h"

/* How many rounds of its track a fade, pattern, heartbeat or morse runs: 0 for ever. */
uint64_t program_track_rounds(const Program *p);

/*
 * program_duration() - how long @p runs, its calls resolved through @b
 * (whose bindings remember each definition's duration once computed), or
 * USEC_INFINITY (it runs forever, or calls a name @b does not bind).
 */
usec_t program_duration(const Program *p, ProgramBindings *b);

/*
 * program_duration_lookup() - how long @program runs from its start, its
 * calls resolved through @lookup; USEC_INFINITY when it runs forever (or a
 * call is undefined or forms a cycle).
 */
usec_t program_duration_lookup(const Program *program, ProgramLookup lookup, void *userdata);

/* SPDX-License-Identifier: MIT */
/*
 * Precision mode's margin ("precision": "spin"): how early the timer is
 * armed, so that the rest of the way to an instant is waited out on the
 * clock. It is learned from how late the timer has woken: the second
 * latest of the last PRECISION_WINDOW wakeups (about their 99.6th
 * percentile; one stray stall does not move it), plus PRECISION_MARGIN_MIN,
 * never more than PRECISION_MARGIN_MAX. Until PRECISION_LEARN wakeups are
 * seen it stays at PRECISION_MARGIN_START. Pure arithmetic, no clock: the
 * manager reads the clock and spins.
 */
#pragma once

#include "macro.h"

#define PRECISION_WINDOW 256U
#define PRECISION_LEARN 16U
#define PRECISION_MARGIN_MIN (20ULL)
#define PRECISION_MARGIN_START (200ULL)
#define PRECISION_MARGIN_MAX (2 * USEC_PER_MSEC)

typedef struct Precision {
	usec_t margin;
	usec_t late[PRECISION_WINDOW];	/* how late recent wakeups were, a ring */
	unsigned n;			/* wakeups seen */
} Precision;

void precision_init(Precision *p);

/* When to arm the timer for an instant @due. */
usec_t precision_fire(const Precision *p, usec_t due);

/* The timer armed for @fire woke at @now. */
void precision_woke(Precision *p, usec_t fire, usec_t now);

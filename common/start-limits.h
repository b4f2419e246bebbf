/* SPDX-License-Identifier: MIT */
/*
 * The bounds of a start, written once: the engine keeps its runs within
 * them, the daemon refuses StartWithOptions() options outside them, and the
 * client checks or names them with the same numbers (libblinkd's start
 * option table).
 */
#pragma once

#include <stdint.h>

#include "duration.h"
#include "macro.h"

/* Priorities: on a line both drive, the higher covers the lower. */
#define START_PRIORITY_MIN (-1000)
#define START_PRIORITY_MAX 1000

/* The shortest timeout: the shortest duration of the program language. */
#define START_TIMEOUT_MIN DURATION_MIN

/*
 * The longest span of the engine's timeline, in microseconds (some 73
 * years): the longest timeout, and how long ago an "at" may be.
 */
#define START_SPAN_MAX ((int64_t)(1LL << 61))

/* How far ahead an "at" may be. */
#define START_AT_AHEAD_MAX USEC_PER_DAY

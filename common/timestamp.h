/* SPDX-License-Identifier: MIT */
/*
 * Instants as people write them on a command line: an RFC 3339 date and
 * time ("2026-11-30T17:00:00Z", "2026-11-30T18:00:00.5+01:00"), or
 * "+DURATION" from now ("+300ms", "+2m"), kept as CLOCK_REALTIME
 * microseconds.
 */
#pragma once

#include <time.h>

#include "macro.h"

/*
 * timestamp_now() - the clock @clock (CLOCK_REALTIME, CLOCK_MONOTONIC, ...)
 * now, in microseconds. For the client and the bridge; the daemon's engine
 * takes its time from its own clock, so tests can drive it.
 */
usec_t timestamp_now(clockid_t clock);

/*
 * timestamp_parse() - parse an instant.
 * @s: RFC 3339 text, or "+" and a duration (duration_parse_argument())
 * @now: CLOCK_REALTIME microseconds that "+DURATION" counts from
 * @ret: CLOCK_REALTIME microseconds
 *
 * The date must be complete, with a time, and with "Z" or a numeric offset:
 * a time without a zone means nothing on a machine in another one. "T" may
 * be "t" or a space, "Z" may be "z"; a fraction of a second is rounded to
 * the microsecond. Returns 0, -EINVAL for text that is not an instant, or
 * -ERANGE for one before 1970 or too far ahead to count in microseconds.
 */
int timestamp_parse(const char *s, usec_t now, usec_t *ret);

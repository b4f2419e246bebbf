/* SPDX-License-Identifier: MIT */
/*
 * Durations of the program language: seconds as a number (0.25) or a string
 * with a unit ("250ms", "1.5s", "200us", "2m", "1h", "1d"), kept in
 * microseconds, and printed back in one canonical form.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define DURATION_MIN (100 * (usec_t)1)
#define DURATION_MAX USEC_PER_DAY
#define DURATION_STRING_MAX 32

/*
 * duration_parse() - parse a duration string with a unit.
 * Returns 0 and stores microseconds in @ret, -EINVAL for text that is not a
 * duration, -ERANGE for one that does not fit. The range of the language
 * (100us to 1d) is checked by the caller, not here.
 */
int duration_parse(const char *s, usec_t *ret);

/*
 * duration_parse_argument() - a duration as a command line gives it: with a
 * unit, or a bare number of seconds ("0.25"), like a JSON number in a
 * program. Returns as duration_parse().
 */
int duration_parse_argument(const char *s, usec_t *ret);

/*
 * duration_from_seconds() - convert a JSON number of seconds.
 * Returns -EINVAL for NaN, infinities and negative values, -ERANGE when too
 * large; rounds to the nearest microsecond.
 */
int duration_from_seconds(double seconds, usec_t *ret);

/*
 * duration_format() - canonical text: the largest unit that divides the
 * value exactly ("1500ms", "2s", "90s" is "90s", "120s" is "2m").
 */
const char *duration_format(usec_t d, char buf[static DURATION_STRING_MAX]);

/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

static const struct {
	const char *suffix;
	usec_t usec;
} units[] = {
	/* Largest first: duration_format() takes the first exact divisor. */
	{ "d", USEC_PER_DAY },   { "h", USEC_PER_HOUR },  { "m", USEC_PER_MINUTE },
	{ "s", USEC_PER_SEC },   { "ms", USEC_PER_MSEC }, { "us", 1 },
};

static const struct {
	const char *suffix;
	usec_t usec;
} aliases[] = {
	{ "min", USEC_PER_MINUTE },
	{ "sec", USEC_PER_SEC },
	{ "msec", USEC_PER_MSEC },
	{ "usec", 1 },
	{ "\xc2\xb5s", 1 }, /* "µs" */
};

static int unit_lookup(const char *suffix, usec_t *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (streq(suffix, units[i].suffix)) {
			*ret = units[i].usec;
			return 0;
		}
	for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
		if (streq(suffix, aliases[i].suffix)) {
			*ret = aliases[i].usec;
			return 0;
		}
	return -EINVAL;
}

int duration_parse(const char *s, usec_t *ret)
{
	usec_t whole = 0, frac = 0, frac_div = 1, unit;
	const char *p = s;
	bool digits = false;

	/*
	 * Parse by hand rather than with strtod(): the locale must not change
	 * the decimal point, and "1e3s", "0x10s", " 5s" or "inf" are not
	 * durations a person writes.
	 */
	while (isdigit((unsigned char)*p)) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		whole = whole * 10 + (usec_t)(*p - '0');
		digits = true;
		p++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			/* Digits past a microsecond of a day cannot matter. */
			if (frac_div < 1000000000000ULL) {
				frac = frac * 10 + (usec_t)(*p - '0');
				frac_div *= 10;
			}
			digits = true;
			p++;
		}
	}
	if (!digits || *p == '\0')
		return -EINVAL;
	if (unit_lookup(p, &unit) < 0)
		return -EINVAL;

	if (whole > (UINT64_MAX - unit) / unit)
		return -ERANGE;
	/* Round the fraction to the nearest microsecond. */
	*ret = whole * unit + (frac * unit + frac_div / 2) / frac_div;
	return 0;
}

int duration_parse_argument(const char *s, usec_t *ret)
{
	size_t digits = strspn(s, "0123456789.");
	char buf[64];

	/* The same hand parser reads the number, not strtod() and the locale. */
	if (digits > 0 && s[digits] == '\0') {
		if (digits > sizeof(buf) - 2)
			return -ERANGE;
		snprintf(buf, sizeof(buf), "%ss", s);
		return duration_parse(buf, ret);
	}
	return duration_parse(s, ret);
}

int duration_from_seconds(double seconds, usec_t *ret)
{
	if (isnan(seconds) || isinf(seconds) || seconds < 0)
		return -EINVAL;
	if (seconds > (double)(UINT64_MAX / USEC_PER_SEC / 2))
		return -ERANGE;
	*ret = (usec_t)llround(seconds * (double)USEC_PER_SEC);
	return 0;
}

const char *duration_format(usec_t d, char buf[static DURATION_STRING_MAX])
{
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (d != 0 && d % units[i].usec == 0) {
			snprintf(buf, DURATION_STRING_MAX, "%llu%s",
				 (unsigned long long)(d / units[i].usec), units[i].suffix);
			return buf;
		}
	snprintf(buf, DURATION_STRING_MAX, "0s");
	return buf;
}

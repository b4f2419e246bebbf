/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>

#include "duration.h"
#include "timestamp.h"

usec_t timestamp_now(clockid_t clock)
{
	struct timespec ts;

	/* Fails only for a clock this system lacks, which no caller asks for. */
	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
}

/* Exactly @n digits at *@p, as a number; moves *@p past them. */
static int read_digits(const char **p, unsigned n, int *ret)
{
	int v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

/* *@p must be @c; moves past it. */
static int expect_char(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static bool is_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to @y-@m-@d of the proleptic Gregorian calendar. */
static long long days_since_epoch(int y, int m, int d)
{
	long long days = 0;

	for (int year = 1970; year < y; year++)
		days += is_leap_year(year) ? 366 : 365;
	for (int month = 1; month < m; month++)
		days += days_in_month(y, month);
	return days + d - 1;
}

static int rfc3339_parse(const char *s, usec_t *ret)
{
	const char *p = s;
	int year, month, day, hour, minute, second, offset = 0;
	usec_t frac = 0, frac_div = 1;
	long long seconds;

	if (read_digits(&p, 4, &year) < 0 || expect_char(&p, '-') < 0 ||
	    read_digits(&p, 2, &month) < 0 || expect_char(&p, '-') < 0 ||
	    read_digits(&p, 2, &day) < 0)
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if (read_digits(&p, 2, &hour) < 0 || expect_char(&p, ':') < 0 ||
	    read_digits(&p, 2, &minute) < 0 || expect_char(&p, ':') < 0 ||
	    read_digits(&p, 2, &second) < 0)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++)
			/* Digits past a microsecond only round. */
			if (frac_div < 10000000) {
				frac = frac * 10 + (usec_t)(*p - '0');
				frac_div *= 10;
			}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;

		p++;
		if (read_digits(&p, 2, &oh) < 0 || expect_char(&p, ':') < 0 ||
		    read_digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -EINVAL;
		offset = sign * (oh * 3600 + om * 60);
	} else
		return -EINVAL;
	if (*p != '\0')
		return -EINVAL;

	/* 60 is a leap second; it counts as the first second of the next minute. */
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
	    minute > 59 || second > 60)
		return -EINVAL;
	if (year < 1970)
		return -ERANGE;

	seconds = days_since_epoch(year, month, day) * 86400LL + hour * 3600LL + minute * 60LL +
	          second - offset;
	if (seconds < 0)
		return -ERANGE;
	/* Year 9999 is far from overflowing 64 bits of microseconds. */
	*ret = (usec_t)seconds * USEC_PER_SEC + (frac * USEC_PER_SEC + frac_div / 2) / frac_div;
	return 0;
}

int timestamp_parse(const char *s, usec_t now, usec_t *ret)
{
	usec_t d;
	int r;

	if (s[0] != '+')
		return rfc3339_parse(s, ret);

	r = duration_parse_argument(s + 1, &d);
	if (r < 0)
		return r;
	if (d > USEC_INFINITY - now)
		return -ERANGE;
	*ret = now + d;
	return 0;
}

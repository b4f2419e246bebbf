/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "timestamp.h"
#include "test.h"

/* 2026-11-30T17:00:00Z, computed with date -u -d ... +%s. */
#define NOV30_17H (1796058000ULL * USEC_PER_SEC)

static void test_rfc3339(void)
{
	static const struct {
		const char *text;
		int r;
		usec_t usec;
	} cases[] = {
		{ "2026-11-30T17:00:00Z", 0, NOV30_17H },
		{ "2026-11-30t17:00:00z", 0, NOV30_17H },
		{ "2026-11-30 17:00:00Z", 0, NOV30_17H },
		{ "2026-11-30T18:00:00+01:00", 0, NOV30_17H },
		{ "2026-11-30T12:30:00-04:30", 0, NOV30_17H },
		{ "2026-12-01T02:00:00+09:00", 0, NOV30_17H },
		{ "2026-11-30T17:00:00.5Z", 0, NOV30_17H + 500000 },
		{ "2026-11-30T17:00:00.000001Z", 0, NOV30_17H + 1 },
		{ "2026-11-30T17:00:00.0000004Z", 0, NOV30_17H }, /* rounded */
		{ "2026-11-30T16:59:59.9999996Z", 0, NOV30_17H }, /* rounded up */
		{ "1970-01-01T00:00:00Z", 0, 0 },
		{ "2000-02-29T00:00:00Z", 0, 951782400ULL * USEC_PER_SEC },  /* a leap year */
		{ "2024-12-31T23:59:60Z", 0, 1735689600ULL * USEC_PER_SEC }, /* a leap second */
		{ "2100-02-29T00:00:00Z", -EINVAL, 0 },                      /* not a leap year */
		{ "2026-11-31T17:00:00Z", -EINVAL, 0 },
		{ "2026-13-01T17:00:00Z", -EINVAL, 0 },
		{ "2026-00-01T17:00:00Z", -EINVAL, 0 },
		{ "2026-11-30T24:00:00Z", -EINVAL, 0 },
		{ "2026-11-30T17:60:00Z", -EINVAL, 0 },
		{ "2026-11-30T17:00:00", -EINVAL, 0 }, /* no zone */
		{ "2026-11-30T17:00Z", -EINVAL, 0 },
		{ "2026-11-30", -EINVAL, 0 },
		{ "2026-11-30T17:00:00.Z", -EINVAL, 0 },
		{ "2026-11-30T17:00:00+0100", -EINVAL, 0 },
		{ "2026-11-30T17:00:00+24:00", -EINVAL, 0 },
		{ "2026-11-30T17:00:00Z ", -EINVAL, 0 },
		{ " 2026-11-30T17:00:00Z", -EINVAL, 0 },
		{ "26-11-30T17:00:00Z", -EINVAL, 0 },
		{ "tomorrow", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "1969-12-31T23:59:59Z", -ERANGE, 0 },
		{ "1970-01-01T00:30:00+01:00", -ERANGE, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		usec_t u = 0;
		int r = timestamp_parse(cases[i].text, 0, &u);
		if (r != cases[i].r || (r == 0 && u != cases[i].usec))
			fprintf(stderr, "case \"%s\": r=%d u=%llu\n", cases[i].text, r,
			        (unsigned long long)u);
		check_int(r, cases[i].r);
		if (r == 0)
			check_int(u, cases[i].usec);
	}
}

static void test_relative(void)
{
	usec_t u = 0;

	check_int(timestamp_parse("+300ms", NOV30_17H, &u), 0);
	check_int(u, NOV30_17H + 300000);
	check_int(timestamp_parse("+2m", NOV30_17H, &u), 0);
	check_int(u, NOV30_17H + 120 * USEC_PER_SEC);
	check_int(timestamp_parse("+1.5", NOV30_17H, &u), 0);
	check_int(u, NOV30_17H + 1500000);
	check_int(timestamp_parse("+", NOV30_17H, &u), -EINVAL);
	check_int(timestamp_parse("+5 parsecs", NOV30_17H, &u), -EINVAL);
	check_int(timestamp_parse("+-1s", NOV30_17H, &u), -EINVAL);
	check_int(timestamp_parse("-1s", NOV30_17H, &u), -EINVAL);
	check_int(timestamp_parse("+18446744073709551615us", NOV30_17H, &u), -ERANGE);
}

/* The clocks now, in microseconds: bounds that hold on a busy machine. */
static void test_now(void)
{
	time_t before = time(NULL);
	usec_t now = timestamp_now(CLOCK_REALTIME);
	time_t after = time(NULL);
	usec_t a, b;

	check(now >= (usec_t)before * USEC_PER_SEC);
	check(now < ((usec_t)after + 1) * USEC_PER_SEC);
	a = timestamp_now(CLOCK_MONOTONIC);
	b = timestamp_now(CLOCK_MONOTONIC);
	check(a > 0);
	check(b >= a);
	/* A clock the system lacks: 0, not garbage. */
	check_int(timestamp_now((clockid_t)-1), 0);
}

int main(void)
{
	test_rfc3339();
	test_relative();
	test_now();
	return test_summary("test-timestamp");
}

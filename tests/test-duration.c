/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>

#include "duration.h"
#include "test.h"

static void test_parse(void)
{
	static const struct {
		const char *text;
		int r;
		usec_t usec;
	} cases[] = {
		{ "250ms", 0, 250000 },
		{ "1.5s", 0, 1500000 },
		{ "200us", 0, 200 },
		{ "2m", 0, 120000000 },
		{ "1h", 0, 3600000000ULL },
		{ "1d", 0, 86400000000ULL },
		{ "0.0001s", 0, 100 },
		{ "5min", 0, 300000000 },
		{ "1.2345678s", 0, 1234568 }, /* rounded to the nearest microsecond */
		{ ".5s", 0, 500000 },
		{ "5", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ "5 parsecs", -EINVAL, 0 },
		{ "5parsecs", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 },
		{ " 5s", -EINVAL, 0 },
		{ "5s ", -EINVAL, 0 },
		{ "1e3s", -EINVAL, 0 },
		{ "nans", -EINVAL, 0 },
		{ "99999999999999999999999s", -ERANGE, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		usec_t u = 0;
		int r = duration_parse(cases[i].text, &u);
		if (r != cases[i].r || (r == 0 && u != cases[i].usec))
			fprintf(stderr, "case \"%s\": r=%d u=%llu\n", cases[i].text, r,
				(unsigned long long)u);
		check_int(r, cases[i].r);
		if (r == 0)
			check_int(u, cases[i].usec);
	}
}

static void test_seconds(void)
{
	usec_t u;

	check_int(duration_from_seconds(0.25, &u), 0);
	check_int(u, 250000);
	check_int(duration_from_seconds(1e-4, &u), 0);
	check_int(u, 100);
	check_int(duration_from_seconds(NAN, &u), -EINVAL);
	check_int(duration_from_seconds(INFINITY, &u), -EINVAL);
	check_int(duration_from_seconds(-1, &u), -EINVAL);
	check_int(duration_from_seconds(1e308, &u), -ERANGE);
}

static void test_format(void)
{
	char buf[DURATION_STRING_MAX];

	check_str(duration_format(250000, buf), "250ms");
	check_str(duration_format(1500000, buf), "1500ms");
	check_str(duration_format(2000000, buf), "2s");
	check_str(duration_format(120000000, buf), "2m");
	check_str(duration_format(90000000, buf), "90s");
	check_str(duration_format(USEC_PER_DAY, buf), "1d");
	check_str(duration_format(100, buf), "100us");
	check_str(duration_format(1234568, buf), "1234568us");

	/* Every canonical text parses back to the same value. */
	for (usec_t d = 100; d <= USEC_PER_DAY; d = d * 7 + 13) {
		usec_t back;
		check_int(duration_parse(duration_format(d, buf), &back), 0);
		check_int(back, d);
	}
}

/* A command line's duration: a unit, or a bare number of seconds. */
static void test_argument(void)
{
	usec_t u = 0;

	check_int(duration_parse_argument("250ms", &u), 0);
	check_int(u, 250000);
	check_int(duration_parse_argument("0.25", &u), 0);
	check_int(u, 250000);
	check_int(duration_parse_argument("2", &u), 0);
	check_int(u, 2000000);
	check_int(duration_parse_argument(".", &u), -EINVAL);
	check_int(duration_parse_argument("", &u), -EINVAL);
	check_int(duration_parse_argument("-1", &u), -EINVAL);
	check_int(duration_parse_argument("1e3", &u), -EINVAL);
	check_int(duration_parse_argument("5 parsecs", &u), -EINVAL);
	check_int(duration_parse_argument("99999999999999999999999", &u), -ERANGE);
}

int main(void)
{
	test_parse();
	test_argument();
	test_seconds();
	test_format();
	return test_summary("test-duration");
}

/* SPDX-License-Identifier: MIT */
/*
 * A tiny assertion kit for the unit tests: each failed check prints where and
 * what, and the test's exit code counts them.
 */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define check(cond)                                                                                \
	do {                                                                                       \
		test_checks++;                                                                     \
		if (!(cond)) {                                                                     \
			test_failures++;                                                           \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define check_int(a, b)                                                                            \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		test_checks++;                                                                     \
		if (_a != _b) {                                                                    \
			test_failures++;                                                           \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,       \
				__LINE__, #a, _a, #b, _b);                                         \
		}                                                                                  \
	} while (0)

#define check_str(a, b)                                                                            \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		test_checks++;                                                                     \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			test_failures++;                                                           \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,         \
				__LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)");             \
		}                                                                                  \
	} while (0)

/* End of main(): the summary line meson shows, and the exit code. */
static inline int test_summary(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
	return test_failures ? 1 : 0;
}

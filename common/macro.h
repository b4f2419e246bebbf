/* SPDX-License-Identifier: MIT */
/*
 * Small language helpers shared by daemon, client and tests: scope-bound
 * cleanup, ownership hand-over, array sizes, time units.
 */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* free() that returns NULL, for "p = mfree(p)". */
static inline void *mfree(void *p)
{
	free(p);
	return NULL;
}

/* Take the value out of a variable, leaving its "empty" value behind (NULL, -1). */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

/* Define foop() for a free function foo() that takes and returns a pointer. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}

/* Time in microseconds; CLOCK_MONOTONIC unless said otherwise. */
typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t)UINT64_MAX)
#define USEC_PER_MSEC ((usec_t)1000ULL)
#define USEC_PER_SEC ((usec_t)1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)
#define NSEC_PER_USEC ((uint64_t)1000ULL)

#define streq(a, b) (strcmp((a), (b)) == 0)

/* Map a json-c / libgpiod style failure (NULL or -1 with errno) to -errno. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#include <stdio.h>
static inline void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

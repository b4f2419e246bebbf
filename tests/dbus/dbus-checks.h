/* SPDX-License-Identifier: MIT */
/*
 * Checks the dbus tests share, on top of test.h: a refused call with its
 * error name, and "nothing changed" snapshots of what blinkd runs.
 */
#pragma once

#include "harness.h"
#include "test.h"

#define MS USEC_PER_MSEC
#define S USEC_PER_SEC

/* A call that failed with the D-Bus error @want; prints the message when not. */
#define check_error(r, error, want)                                                                \
	do {                                                                                       \
		check((r) < 0);                                                                    \
		check_str((error)->name, (want));                                                  \
		if (!(error)->name || strcmp((error)->name, (want)) != 0)                          \
			fprintf(stderr, "    (message: %s)\n",                                     \
				(error)->message ? (error)->message : "(none)");                   \
	} while (0)

/* @text contains @part. */
#define check_contains(text, part)                                                                 \
	do {                                                                                       \
		const char *_t = (text), *_p = (part);                                             \
		test_checks++;                                                                     \
		if (!_t || !strstr(_t, _p)) {                                                      \
			test_failures++;                                                           \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected to contain \"%s\"\n",       \
				__FILE__, __LINE__, #text, _t ? _t : "(null)", _p);                \
		}                                                                                  \
	} while (0)

/* A call that worked; prints the error when not. */
#define check_ok(r, error)                                                                         \
	do {                                                                                       \
		check_int((r) >= 0, 1);                                                            \
		if ((r) < 0)                                                                       \
			fprintf(stderr, "    (error: %s: %s)\n",                                   \
				(error)->name ? (error)->name : strerror(-(r)),                    \
				(error)->message ? (error)->message : "");                         \
	} while (0)

/* What blinkd runs and has written: List(), ListDefinitions() and the trace. */
typedef struct Snapshot {
	char *list;
	char *definitions;
	char *trace;
} Snapshot;

static inline void snapshot_take(Client *c, Snapshot *s)
{
	/* Whatever a refused call might have set off has had time to happen. */
	client_settle(c, 10 * MS);
	s->list = client_list(c, false);
	s->definitions = client_list(c, true);
	s->trace = read_file(harness_trace_path());
}

static inline void snapshot_done(Snapshot *s)
{
	free(s->list);
	free(s->definitions);
	free(s->trace);
	*s = (Snapshot){};
}

/* Nothing changed since @before was taken. */
#define check_unchanged(c, before)                                                                 \
	do {                                                                                       \
		Snapshot _now = {};                                                                \
		snapshot_take((c), &_now);                                                         \
		check_str(_now.list, (before)->list);                                              \
		check_str(_now.definitions, (before)->definitions);                                \
		check_str(_now.trace, (before)->trace);                                            \
		snapshot_done(&_now);                                                              \
	} while (0)

/* Sort unsigned values (for Lines, Lit and frames). */
static inline int compare_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* @n values at @v as "1,2,3" in a static buffer (for check_str). */
static inline const char *format_au(const unsigned *v, size_t n)
{
	static char buf[4096];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(buf) - 16; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? "," : "", v[i]);
	return buf;
}

/* The program object path of @name. */
static inline char *program_path(const char *name)
{
	char *path = NULL;

	if (sd_bus_path_encode(BLINKD_PROGRAM_PATH_PREFIX, name, &path) < 0)
		harness_fatal("sd_bus_path_encode failed");
	return path;
}

/* How many events the trace holds now: a mark to count from. */
static inline size_t trace_mark(void)
{
	Trace t = {};
	size_t n;

	if (trace_read(harness_trace_path(), &t) < 0)
		harness_fatal("cannot read the trace");
	n = t.n;
	trace_done(&t);
	return n;
}

static inline void read_trace(Trace *t)
{
	int r = trace_read(harness_trace_path(), t);

	check_int(r, 0);
}

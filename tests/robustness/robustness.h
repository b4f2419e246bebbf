/* SPDX-License-Identifier: MIT */
/*
 * What the robustness tests share on top of the dbus harness: configs with
 * layouts of many lines, the daemon's memory and CPU time from /proc, the
 * program objects the daemon exports, and the figures file each test leaves
 * in the build directory, from which tests/robustness/update-doc rebuilds the
 * table in docs/robustness.md.
 */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbus-checks.h"

/*
 * Why this run's timing and memory figures of the daemon mean nothing, or
 * NULL: blinkd runs under a wrapper (valgrind), or this build instruments it
 * (the test is built with the same -Db_sanitize as blinkd).
 */
static inline const char *daemon_instrumented(void)
{
	if (harness_wrapper())
		return harness_wrapper();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return "a sanitizer build";
#else
	return NULL;
#endif
}

/* ---------------------------------------------------------------- configs */

/*
 * config_with_lines() - a config whose matrix holds the offsets 0 to
 * @n_lines - 1 in rows of 40 (@n_lines a multiple of 40), with room for
 * @max_programs running programs and @extra (may be "") as more keys.
 */
static inline char *config_with_lines(unsigned n_lines, unsigned max_programs, const char *extra)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f || n_lines == 0 || n_lines % 40 != 0)
		harness_fatal("config_with_lines(%u): not a multiple of 40", n_lines);
	fprintf(f, "{\"max_programs\": %u, %s\"matrix\": [", max_programs, extra);
	for (unsigned i = 0; i < n_lines; i++)
		fprintf(f, "%s%u%s", i % 40 == 0 ? (i ? "], [" : "[") : ", ", i,
			i == n_lines - 1 ? "]" : "");
	fprintf(f, "]}");
	if (fclose(f) != 0 || !text)
		harness_fatal("out of memory");
	return text;
}

/* ------------------------------------------------------------------ /proc */

/* VmRSS of @pid in KiB, or -1. */
static inline long proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	_cleanup_(fclosep) FILE *f = NULL;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	return kib;
}

/* utime + stime of @pid (/proc/PID/stat) in microseconds, or -1. */
static inline long long proc_cpu_usec(pid_t pid)
{
	_cleanup_(freep) char *stat = NULL;
	char path[64];
	unsigned long long utime, stime;
	const char *p;
	long ticks = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = read_file(path);
	/* The name in parentheses may hold spaces: fields count from the last ')'. */
	p = stat ? strrchr(stat, ')') : NULL;
	if (!p || ticks <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
		   &stime) != 2)
		return -1;
	return (long long)((utime + stime) * USEC_PER_SEC / (unsigned long long)ticks);
}

/*
 * The time @pid has run on a CPU (/proc/PID/schedstat, nanosecond
 * resolution) in microseconds; utime + stime when that is missing.
 */
static inline long long proc_runtime_usec(pid_t pid)
{
	char path[64];
	unsigned long long ns;
	_cleanup_(fclosep) FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f || fscanf(f, "%llu", &ns) != 1)
		return proc_cpu_usec(pid);
	return (long long)(ns / NSEC_PER_USEC);
}

/*
 * The scheduler's view of @pid (/proc/PID/schedstat): time on a CPU, time
 * spent runnable but waiting for one, and how many times it got one.
 */
typedef struct SchedStat {
	long long run_us, wait_us, slices;
} SchedStat;

static inline bool proc_schedstat(pid_t pid, SchedStat *ret)
{
	char path[64];
	unsigned long long run, wait, slices;
	_cleanup_(fclosep) FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f || fscanf(f, "%llu %llu %llu", &run, &wait, &slices) != 3)
		return false;
	*ret = (SchedStat){ (long long)(run / 1000), (long long)(wait / 1000), (long long)slices };
	return true;
}

/* CPU time the hypervisor took from this machine (steal, /proc/stat), in microseconds. */
static inline long long steal_usec(void)
{
	unsigned long long v[8] = {};
	long ticks = sysconf(_SC_CLK_TCK);
	_cleanup_(fclosep) FILE *f = fopen("/proc/stat", "re");

	if (!f || ticks <= 0 ||
	    fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) != 8)
		return -1;
	return (long long)(v[7] * USEC_PER_SEC / (unsigned long long)ticks);
}

/* The load average of the last minute, for the figures (a busy machine explains a slow one). */
static inline double load_average(void)
{
	double avg = -1;
	_cleanup_(fclosep) FILE *f = fopen("/proc/loadavg", "re");

	if (!f || fscanf(f, "%lf", &avg) != 1)
		return -1;
	return avg;
}

/* How many lines of @text start with @prefix. */
static inline size_t count_lines_with(const char *text, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);

	for (const char *p = text; p && *p;) {
		const char *end = strchr(p, '\n');

		if (strncmp(p, prefix, len) == 0)
			n++;
		p = end ? end + 1 : p + strlen(p);
	}
	return n;
}

/* How many times @part occurs in @text. */
static inline size_t count_occurrences(const char *text, const char *part)
{
	size_t n = 0;

	for (const char *p = text; p && (p = strstr(p, part)); p += strlen(part))
		n++;
	return n;
}

/* ---------------------------------------------------------------- figures */

/*
 * Each test writes its rows of the table in docs/robustness.md to
 * $BLINKD_FIGURES_DIR/<test>.md (meson sets it to the build directory's
 * tests/robustness/figures): "| test | what was tried | outcome and figures |
 * result |". A row's result is "pass" when no check failed since the
 * previous row. Under a wrapper (valgrind) or in a sanitizer build the
 * figures are not the daemon's, so nothing is written.
 */
static struct {
	FILE *file;
	const char *test;
	int failures_mark;
	char note[512]; /* added to the next row's outcome */
} figures;

/*
 * Start @n programs, program i blinking line i every interval_ms(i) ms,
 * named @prefix and i in four digits. Returns how many started; the first
 * failure is printed.
 */
static inline unsigned start_line_blinkers(Client *c, const char *prefix, unsigned n,
					   unsigned (*interval_ms)(unsigned i))
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	unsigned started = 0;

	for (unsigned i = 0; i < n; i++) {
		char name[32], program[96];
		int r;

		snprintf(name, sizeof(name), "%s%04u", prefix, i);
		snprintf(program, sizeof(program),
			 "{\"blink\":{\"lines\":[%u],\"interval\":\"%ums\"}}", i, interval_ms(i));
		r = client_start(c, name, program, &error, NULL);
		if (r >= 0)
			started++;
		else if (started == i)
			fprintf(stderr, "Start(%s) failed: %s: %s\n", name, error.name,
				error.message);
		sd_bus_error_free(&error);
	}
	return started;
}

static inline void figures_begin(const char *test)
{
	const char *dir = getenv("BLINKD_FIGURES_DIR");
	char path[512];

	figures.test = test;
	figures.failures_mark = test_failures;
	if (!dir || !*dir || daemon_instrumented())
		return;
	(void)mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s.md", dir, test);
	figures.file = fopen(path, "we");
	if (!figures.file)
		fprintf(stderr, "cannot write the figures to %s: %m\n", path);
}

/* A new scenario starts: the next row's result counts the checks from here on. */
static inline void figure_mark(void)
{
	figures.failures_mark = test_failures;
}

/* Add to the next row's outcome (what went wrong, say), printf style. */
static inline void figure_note(const char *fmt, ...) _printf_(1, 2);
static inline void figure_note(const char *fmt, ...)
{
	size_t len = strlen(figures.note);
	va_list ap;

	if (len + 8 >= sizeof(figures.note))
		return;
	if (len > 0)
		figures.note[len++] = ' ';
	va_start(ap, fmt);
	vsnprintf(figures.note + len, sizeof(figures.note) - len, fmt, ap);
	va_end(ap);
}

/*
 * figure() - one row, printf style: "what was tried | outcome and figures".
 * Also printed, with the row's result.
 */
static inline void figure(const char *fmt, ...) _printf_(1, 2);
static inline void figure(const char *fmt, ...)
{
	const char *result = test_failures > figures.failures_mark ? "**FAIL**" : "pass";
	char row[2048], *bar;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(row, sizeof(row), fmt, ap);
	va_end(ap);
	bar = strstr(row, " | ");
	if (!bar)
		harness_fatal("figure(\"%s\"): no \" | \" between what was tried and the outcome",
			      row);
	*bar = '\0';
	printf("[%s] %s: %s%s%s\n", result, row, bar + 3, figures.note[0] ? ". " : "",
	       figures.note);
	if (figures.file) {
		fprintf(figures.file, "| %s | %s | %s%s%s | %s |\n", figures.test, row, bar + 3,
			figures.note[0] ? ". " : "", figures.note, result);
		fflush(figures.file);
	}
	figures.failures_mark = test_failures;
	figures.note[0] = '\0';
}

static inline void figures_end(void)
{
	if (figures.file)
		fclose(figures.file);
	figures.file = NULL;
}

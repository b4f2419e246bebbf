/* SPDX-License-Identifier: MIT */
/*
 * bench/engine-loop: the engine alone, on its virtual clock, with the
 * bench's two workloads (the seed's 25 lines at 100 to 500 ms, and 1000
 * lines at 10 ms) and no bus, chip or trace: the CPU an advance costs,
 * without what else the machine does with the wakeup. It prints, per
 * workload, the wakeups, the values committed and the CPU per wakeup (the
 * least of --rounds rounds, each over --seconds simulated seconds), so a
 * change to the engine can be held against the build before it with far
 * less noise than the whole daemon shows. The same file builds against any
 * tree whose engine.h has engine_new(), engine_start(), engine_advance()
 * and engine_next_deadline(); bench/README.md says how.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

static unsigned long long n_values;

static int commit(void *userdata, usec_t now, size_t n, const unsigned *numbers,
		  const uint16_t *values)
{
	n_values += n;
	return 0;
}

static void finished(void *userdata, EngineRun *run, RunResult result)
{
}

static const EngineOps ops = { .commit = commit, .finished = finished };

static unsigned long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* The workload @which as a program on a layout of its own. */
static int workload(const char *which, Layout **ret_layout, Program **ret_program)
{
	static unsigned matrix[1000];
	static char text[8192];
	ProgramError error;
	size_t len = 0;
	int r;

	for (unsigned i = 0; i < 1000; i++)
		matrix[i] = i;
	if (strcmp(which, "lines") == 0) {
		r = layout_new(ret_layout, 40, 25, matrix);
		snprintf(text, sizeof(text), "{\"forever\":{\"blink\":{\"lines\":\"all\",\"interval\":\"10ms\"}}}");
	} else if (strcmp(which, "seed") == 0) {
		/* As bench/blinkbench/workloads.py: line i blinks every 100 + 400 i / 24 ms, rounded. */
		r = layout_new(ret_layout, 5, 5, matrix);
		len += snprintf(text + len, sizeof(text) - len, "{\"all\":[");
		for (unsigned i = 0; i < 25; i++)
			len += snprintf(text + len, sizeof(text) - len,
					"%s{\"forever\":{\"blink\":{\"lines\":[%u],\"interval\":\"%ums\"}}}",
					i ? "," : "", i, 100 + (400 * i + 12) / 24);
		snprintf(text + len, sizeof(text) - len, "]}");
	} else
		return -EINVAL;
	if (r < 0)
		return r;
	r = program_parse(text, *ret_layout, 0, ret_program, &error);
	if (r < 0)
		fprintf(stderr, "engine-loop: %s: %s\n", error.path, error.message);
	return r;
}

/* One round: @seconds simulated seconds of @which; the CPU it took, in ns. */
static int round_of(const char *which, unsigned seconds, unsigned long long *ret_ns,
		    unsigned long long *ret_wakeups)
{
	Layout *layout = NULL;
	Program *p = NULL;
	Engine *e = NULL;
	ProgramError error;
	unsigned long long wakeups = 0, start;
	usec_t end = (usec_t)seconds * USEC_PER_SEC;
	int r;

	r = workload(which, &layout, &p);
	if (r < 0)
		goto finish;
	r = engine_new(&e, layout, &ops, NULL);
	if (r < 0)
		goto finish;
	r = engine_start(e, p, NULL, NULL, 0, NULL, NULL, &error);
	if (r < 0)
		goto finish;
	start = cpu_ns();
	engine_advance(e, 0);
	for (usec_t t = engine_next_deadline(e); t <= end; t = engine_next_deadline(e)) {
		engine_advance(e, t);
		wakeups++;
	}
	*ret_ns = cpu_ns() - start;
	*ret_wakeups = wakeups;
finish:
	engine_free(e);
	program_unref(p);
	layout_free(layout);
	return r;
}

int main(int argc, char **argv)
{
	unsigned seconds = 60, rounds = 5;
	const char *which[2] = { "seed", "lines" };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = (unsigned)strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: engine-loop [--seconds N] [--rounds N]\n");
			return 2;
		}
	}
	if (seconds == 0 || rounds == 0) {
		fprintf(stderr, "engine-loop: --seconds and --rounds must be at least 1\n");
		return 2;
	}

	for (size_t w = 0; w < 2; w++) {
		unsigned long long best = ~0ull, wakeups = 0;

		n_values = 0;
		for (unsigned k = 0; k < rounds; k++) {
			unsigned long long ns, n;

			if (round_of(which[w], seconds, &ns, &n) < 0) {
				fprintf(stderr, "engine-loop: the %s workload did not start\n", which[w]);
				return 1;
			}
			if (ns < best)
				best = ns;
			wakeups = n;
		}
		printf("%s: %llu wakeups, %llu values a round, %.1f ns CPU per wakeup (least of %u rounds of %u s)\n",
		       which[w], wakeups, n_values / rounds, wakeups ? (double)best / (double)wakeups : 0.0,
		       rounds, seconds);
	}
	return 0;
}

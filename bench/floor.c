/* SPDX-License-Identifier: MIT */
/*
 * floor: the cost of an event loop that does nothing but blinkd's writes.
 *
 * One sd-event loop, one CLOCK_MONOTONIC timer (accuracy 1us, timer slack
 * 1ns, as blinkd arms its engine timer), writing the same lines at the same
 * instants to the same backend (the simulated chip of the daemon library)
 * and the same trace. No engine, no bus: bench/run runs it beside blinkd so
 * that blinkd's lateness and CPU per wakeup can be read as ratios to it.
 *
 *   floor --trace FILE BLINK...
 *
 * BLINK is OFFSETS:INTERVAL_US:TIMES, OFFSETS a comma-separated list of
 * offsets or FIRST-LAST ranges: those lines light at the start instant, go
 * dark one interval later, and so on, TIMES on/off pairs, like blinkd's
 * {"blink": {"lines": [...], "interval": ..., "times": TIMES}} started at the
 * same instant. Edge k of a blink is due at start + k * interval.
 *
 * When every blink has ended it prints one line to stdout:
 *   START_NS CPU_NS WAKEUPS
 * the start instant (CLOCK_MONOTONIC ns), then its own CPU time (schedstat)
 * and voluntary context switches from the start to the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "gpio.h"
#include "layout.h"
#include "log.h"
#include "program.h"
#include "macro.h"
#include "trace.h"

#define FLOOR_MAX_BLINKS 1024
#define FLOOR_MAX_LINES 200000

typedef struct Blink {
	unsigned *offsets;
	size_t n;
	usec_t interval;
	unsigned edges;	  /* 2 * times */
	unsigned next;	  /* the next edge to write */
} Blink;

typedef struct Floor {
	Blink blinks[FLOOR_MAX_BLINKS];
	size_t n_blinks;
	usec_t start;
	Gpio *gpio;
	Trace *trace;
	sd_event_source *timer;
	unsigned *batch_offsets;
	uint16_t *batch_levels; /* 0 or LEVEL_MAX */
	size_t batch_max;
} Floor;

static int parse_offsets(const char *text, unsigned **ret, size_t *ret_n)
{
	_cleanup_(freep) unsigned *v = NULL;
	size_t n = 0, max = 0;
	const char *p = text;

	while (*p) {
		char *end;
		unsigned long first = strtoul(p, &end, 10), last;

		if (end == p)
			return -EINVAL;
		last = first;
		if (*end == '-') {
			p = end + 1;
			last = strtoul(p, &end, 10);
			if (end == p || last < first)
				return -EINVAL;
		}
		if (last >= FLOOR_MAX_LINES || n + (last - first + 1) > FLOOR_MAX_LINES)
			return -ERANGE;
		if (n + (last - first + 1) > max) {
			size_t want = 2 * (n + (last - first + 1));
			unsigned *grown = realloc(v, want * sizeof(unsigned));
			if (!grown)
				return -ENOMEM;
			v = grown;
			max = want;
		}
		for (unsigned long o = first; o <= last; o++)
			v[n++] = (unsigned)o;
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	if (n == 0)
		return -EINVAL;
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

static int parse_blink(Blink *b, const char *arg)
{
	_cleanup_(freep) char *copy = strdup(arg);
	char *interval, *times, *end;
	unsigned long long iv;
	unsigned long t;

	if (!copy)
		return -ENOMEM;
	interval = strchr(copy, ':');
	if (!interval)
		return -EINVAL;
	*interval++ = '\0';
	times = strchr(interval, ':');
	if (!times)
		return -EINVAL;
	*times++ = '\0';
	iv = strtoull(interval, &end, 10);
	if (*end || iv == 0)
		return -EINVAL;
	t = strtoul(times, &end, 10);
	if (*end || t == 0 || t > 1000000)
		return -EINVAL;
	b->interval = iv;
	b->edges = 2 * (unsigned)t;
	b->next = 0;
	return parse_offsets(copy, &b->offsets, &b->n);
}

/* CPU ns (schedstat) and voluntary context switches of this process. */
static void self_counters(uint64_t *cpu_ns, uint64_t *wakeups)
{
	char line[256];
	FILE *f;

	*cpu_ns = *wakeups = 0;
	f = fopen("/proc/self/schedstat", "re");
	if (f) {
		unsigned long long v;
		if (fscanf(f, "%llu", &v) == 1)
			*cpu_ns = v;
		fclose(f);
	}
	f = fopen("/proc/self/status", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
				*wakeups = strtoull(line + 24, NULL, 10);
		fclose(f);
	}
}

static usec_t next_deadline(const Floor *fl)
{
	usec_t next = USEC_INFINITY;

	for (size_t i = 0; i < fl->n_blinks; i++) {
		const Blink *b = &fl->blinks[i];
		if (b->next < b->edges && fl->start + b->next * b->interval < next)
			next = fl->start + b->next * b->interval;
	}
	return next;
}

/* Write every edge due at or before @now, as one batch: one backend call, one trace batch. */
static void write_due(Floor *fl, usec_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < fl->n_blinks; i++) {
		Blink *b = &fl->blinks[i];
		unsigned k = b->next;

		/* Like blinkd, only the end result of what fell due reaches the lines. */
		while (b->next < b->edges && fl->start + b->next * b->interval <= now)
			b->next++;
		if (b->next == k)
			continue;
		for (size_t j = 0; j < b->n && n < fl->batch_max; j++) {
			fl->batch_offsets[n] = b->offsets[j];
			fl->batch_levels[n] = (b->next - 1) % 2 == 0 ? LEVEL_MAX : 0;
			n++;
		}
	}
	if (n == 0)
		return;
	(void)gpio_write(fl->gpio, n, fl->batch_offsets, fl->batch_levels);
	trace_batch(fl->trace, n, fl->batch_offsets, fl->batch_levels);
}

static int arm(Floor *fl)
{
	usec_t next = next_deadline(fl);

	if (next == USEC_INFINITY)
		return sd_event_exit(sd_event_source_get_event(fl->timer), 0);
	(void)sd_event_source_set_time(fl->timer, next);
	return sd_event_source_set_enabled(fl->timer, SD_EVENT_ONESHOT);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Floor *fl = userdata;
	usec_t now;

	(void)sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now);
	write_due(fl, now);
	return arm(fl);
}

static int run(int argc, char *argv[])
{
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	_cleanup_(layout_freep) Layout *layout = NULL;
	_cleanup_(sim_chip_freep) SimChip *chip = NULL;
	_cleanup_(freep) GpioLine *lines = NULL;
	GpioOpenError open_error;
	Gpio *gpio = NULL;
	_cleanup_(trace_closep) Trace *trace = NULL;
	_cleanup_(freep) unsigned *all = NULL;
	_cleanup_(freep) Floor *fl = calloc(1, sizeof(Floor));
	const char *trace_path = NULL;
	uint64_t cpu0, wake0, cpu1, wake1;
	size_t n_all = 0;
	struct timespec ts;
	int r;

	if (!fl)
		return log_oom();
	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--trace") && i + 1 < argc)
			trace_path = argv[++i];
		else if (fl->n_blinks < FLOOR_MAX_BLINKS) {
			r = parse_blink(&fl->blinks[fl->n_blinks], argv[i]);
			if (r < 0)
				return log_error_errno(r, "Bad blink \"%s\" (OFFSETS:INTERVAL_US:TIMES): %m",
						       argv[i]);
			n_all += fl->blinks[fl->n_blinks++].n;
		} else
			return log_error_errno(E2BIG, "More than %d blinks.", FLOOR_MAX_BLINKS);
	}
	if (!trace_path || fl->n_blinks == 0)
		return log_error_errno(EINVAL, "Usage: floor --trace FILE OFFSETS:INTERVAL_US:TIMES...");

	/* The lines as one row of a layout: the simulated chip has every one of them. */
	all = calloc(n_all, sizeof(unsigned));
	fl->batch_offsets = calloc(n_all, sizeof(unsigned));
	fl->batch_levels = calloc(n_all, sizeof(uint16_t));
	if (!all || !fl->batch_offsets || !fl->batch_levels)
		return log_oom();
	fl->batch_max = n_all;
	n_all = 0;
	for (size_t i = 0; i < fl->n_blinks; i++)
		for (size_t j = 0; j < fl->blinks[i].n; j++)
			all[n_all++] = fl->blinks[i].offsets[j];
	r = layout_new(&layout, 1, (unsigned)n_all, all);
	if (r < 0)
		return log_error_errno(r, "Failed to make the layout (a line twice?): %m");
	/* The daemon's simulated chip, as the daemon opens it: every offset there is. */
	r = sim_chip_new(&chip, "sim", "sim", LAYOUT_OFFSET_MAX + 1, NULL, NULL, true);
	if (r < 0)
		return log_oom();
	lines = calloc(n_all, sizeof(GpioLine));
	if (!lines)
		return log_oom();
	for (size_t i = 0; i < n_all; i++)
		lines[i] = (GpioLine){ .offset = all[i], .settings = line_settings_default };
	r = gpio_open_sim(&gpio, chip, n_all, lines, &open_error);
	for (size_t i = 0; i < n_all; i++)
		free(lines[i].name);
	if (r < 0)
		return log_error_errno(r, "Failed to open the simulated chip: %s", open_error.message);
	r = trace_open(&trace, trace_path, layout);
	if (r < 0)
		return r;
	fl->gpio = gpio;
	fl->trace = trace;

	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	r = sd_event_new(&event);
	if (r < 0)
		return log_error_errno(r, "Failed to allocate the event loop: %m");
	r = sd_event_add_time(event, &fl->timer, CLOCK_MONOTONIC, 0, 1, on_timer, fl);
	if (r < 0)
		return log_error_errno(r, "Failed to add the timer: %m");

	self_counters(&cpu0, &wake0);
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	fl->start = (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
	write_due(fl, fl->start);
	r = arm(fl);
	if (r < 0)
		return log_error_errno(r, "Failed to arm the timer: %m");
	r = sd_event_loop(event);
	if (r < 0)
		return log_error_errno(r, "Event loop failed: %m");
	self_counters(&cpu1, &wake1);
	fl->timer = sd_event_source_unref(fl->timer);

	printf("%llu %llu %llu\n", (unsigned long long)fl->start * NSEC_PER_USEC,
	       (unsigned long long)(cpu1 - cpu0), (unsigned long long)(wake1 - wake0));
	for (size_t i = 0; i < fl->n_blinks; i++)
		free(fl->blinks[i].offsets);
	gpio_close(gpio, NULL);
	return 0;
}

int main(int argc, char *argv[])
{
	log_set_ident("floor");
	return run(argc, argv) < 0 ? 1 : 0;
}

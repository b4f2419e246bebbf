/* SPDX-License-Identifier: MIT */
/*
 * Edges on the real clock: {"blink":{"lines":[11],"interval":"100ms",
 * "times":10}} writes 20 edges, each on its 100 ms grid, and edge k within
 * 20ms of start + k * 100ms (the machine's noise; never asserted tighter
 * than that).
 *
 * What no load can move is checked for every edge, from the trace: each one
 * in its half of the 200 ms period, never early, none added, the period
 * not a multiple of 200 ms (trace_check_pwm()). How late the edges are is
 * the machine's: with two CPU hogs beside the suite (and this shared
 * machine's other work) up to half may be later than 20 ms, which a
 * program off its grid cannot pass, since all its edges are off; and the
 * grid must be the program's own (its StartedUSec), so edges all early by
 * the same amount fail too. That every edge is within 20 ms needs a quiet machine:
 * bench/'s smoke run checks lateness p99 under 20 ms.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-checks.h"

#define TOLERANCE (20 * MS)
#define INTERVAL (100 * MS)

int main(void)
{
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_(freep) char *result = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Trace t = {};
	TracePwm pwm;
	uint64_t first = 0, started = 0;
	int64_t started_mono = 0, grid;
	usec_t worst = 0;
	size_t k = 0, late = 0;
	int r;

	harness_init();
	harness_start_daemon(NULL);
	c = client_new();

	r = client_start(c, "timed",
			 "{\"blink\":{\"lines\":[11],\"interval\":\"100ms\",\"times\":10}}", &error,
			 NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	{
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
		_cleanup_(freep) char *path = program_path("timed");

		if (client_get_property(c, path, BLINKD_PROGRAM_INTERFACE, "StartedUSec", "t", &m) >= 0)
			(void)sd_bus_message_read(m, "t", &started);
		/* Its start on CLOCK_MONOTONIC, as the trace's. */
		started_mono = (int64_t)started - ((int64_t)now_usec(CLOCK_REALTIME) -
						   (int64_t)now_usec(CLOCK_MONOTONIC));
	}
	check(started > 0);
	check(client_wait_finished(c, "timed", 5 * S, &result));
	check_str(result, "done");

	r = trace_read(harness_trace_path(), &t);
	check_int(r, 0);
	for (size_t i = 0; i < t.n && !first; i++)
		if (t.events[i].offset == 11)
			first = t.events[i].ns;
	/* A blink is a square wave: period 2 * INTERVAL, lit for the first INTERVAL. */
	pwm = trace_check_pwm(&t, 11, first, first + 20 * INTERVAL * 1000, 2 * INTERVAL * 1000,
			      INTERVAL * 1000);
	check(pwm.rising_off + pwm.falling_off == 0);
	check(pwm.spacing == 1);
	check(pwm.rising <= 10 && pwm.falling <= 10);
	/* A wakeup 100 ms late drops an edge pair: not with two hogs, nor for long. */
	check(trace_count(&t, 0, 11) >= 16);
	check(trace_count(&t, 0, 11) <= 20);
	for (size_t i = 0; i < t.n; i++) {
		const TraceEvent *e = &t.events[i];
		usec_t off;

		if (e->offset != 11)
			continue;
		/* In its half period (checked above): its lateness from the grid's start. */
		off = (e->ns - pwm.phase) % (INTERVAL * 1000) / 1000;
		if (off > worst)
			worst = off;
		if (off > TOLERANCE) {
			fprintf(stderr, "edge %zu at +%llu us is %llu us late\n", k,
				(unsigned long long)(e->ns - first) / 1000, (unsigned long long)off);
			late++;
		}
		/* On, off, on, ...: it starts lit. */
		check_int(e->value, k % 2 == 0);
		k++;
	}
	check(late * 2 <= k);
	check_int(trace_value_after(&t, t.n, 11), 0);
	/*
	 * The grid is the program's own (StartedUSec): its edges not before
	 * it (1 ms for the two clocks' offset), and the punctual ones on it.
	 */
	grid = ((int64_t)pwm.phase - started_mono * 1000 % (int64_t)(2 * INTERVAL * 1000) +
		(int64_t)(2 * INTERVAL * 1000)) % (int64_t)(2 * INTERVAL * 1000);
	if (grid >= (int64_t)(INTERVAL * 1000))
		grid -= (int64_t)(2 * INTERVAL * 1000);
	printf("the edges keep the grid of the program's start %+lld us from it\n", (long long)grid / 1000);
	check(grid >= -1000000LL && grid < (int64_t)TOLERANCE * 1000);
	printf("%zu edges, %zu later than %llu us, worst %llu us late\n", k, late,
	       (unsigned long long)TOLERANCE, (unsigned long long)worst);
	trace_done(&t);

	check_int(harness_stop_daemon(SIGTERM), 0);
	return test_summary("test-dbus-timing");
}

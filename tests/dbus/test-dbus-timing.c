/* SPDX-License-Identifier: MIT */
/*
 * Edges on the real clock: {"blink":{"lines":[11],"interval":"100ms",
 * "times":10}} writes 20 edges, edge k within 20ms of first + k * 100ms
 * (the machine's noise; never asserted tighter than that).
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
	uint64_t first = 0;
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
	check(client_wait_finished(c, "timed", 5 * S, &result));
	check_str(result, "done");

	r = trace_read(harness_trace_path(), &t);
	check_int(r, 0);
	check_int(trace_count(&t, 0, 11), 20);
	for (size_t i = 0; i < t.n; i++) {
		const TraceEvent *e = &t.events[i];
		usec_t at, ideal, off;

		if (e->offset != 11)
			continue;
		if (k == 0)
			first = e->ns;
		at = (e->ns - first) / 1000;
		ideal = k * INTERVAL;
		off = at > ideal ? at - ideal : ideal - at;
		if (off > worst)
			worst = off;
		if (off > TOLERANCE) {
			fprintf(stderr, "edge %zu at +%llu us, ideal +%llu us\n", k,
				(unsigned long long)at, (unsigned long long)ideal);
			late++;
		}
		/* On, off, on, ...: it starts lit. */
		check_int(e->value, k % 2 == 0);
		k++;
	}
	check_int(late, 0);
	printf("%zu edges, worst %llu us from the ideal time\n", k, (unsigned long long)worst);
	trace_done(&t);

	check_int(harness_stop_daemon(SIGTERM), 0);
	return test_summary("test-dbus-timing");
}

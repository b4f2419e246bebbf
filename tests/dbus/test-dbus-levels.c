/* SPDX-License-Identifier: MIT */
/*
 * Levels over D-Bus on the simulated chip, judged by the trace: a dim's duty
 * cycle over a second, the PWM frequency from the config, the Levels
 * property and signal, and a fade that ends where it should.
 *
 * Every PWM edge goes out as late as the daemon's wakeup, and on a machine
 * busy with other work (two CPU hogs beside the suite) a wakeup late by more
 * than a pulse drops that pulse. So the PWM is judged by what the daemon
 * wrote and when its trace says it wrote it, edge by edge, which no lateness
 * can fake (trace_check_pwm()); the duty cycle within 1% over a whole second and
 * every period's edge need a quiet machine, and the levels phase of bench/
 * measures them (bench/RESULTS.md). Under a wrapper (valgrind), where every
 * wakeup is late by much more, only that edges happen.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-checks.h"

/*
 * Whether the daemon runs at its own speed: not under valgrind, nor built
 * with the sanitizers, whose every wakeup takes longer than the 100 us
 * within which a falling edge counts as on time (at 1000 Hz under ASan and
 * two CPU hogs, none of 400 was, each rising edge in phase).
 */
static bool timing(void)
{
	const char *s = getenv("BLINKD_SANITIZE");

	return !harness_wrapper() && (!s || !*s || streq(s, "none"));
}

/* Time line @number spent lit in the trace within [@from, @to) ns, and its rising edges. */
static uint64_t lit_ns(const Trace *t, unsigned number, uint64_t from, uint64_t to, size_t *ret_rising)
{
	uint64_t on = 0, since = 0;
	int v = 0;
	size_t rising = 0;

	for (size_t i = 0; i < t->n; i++) {
		const TraceEvent *e = &t->events[i];
		uint64_t ns = e->ns < from ? from : e->ns > to ? to : e->ns;

		if (e->offset != number)
			continue;
		if (v && !e->value)
			on += ns - since;
		if (!v && e->value) {
			since = ns;
			if (e->ns >= from && e->ns < to)
				rising++;
		}
		v = e->value;
	}
	if (v)
		on += to - (since > from ? since : from);
	if (ret_rising)
		*ret_rising = rising;
	return on;
}

/* The first event of @number at or after index @from. */
static const TraceEvent *first_event(const Trace *t, size_t from, unsigned number)
{
	for (size_t i = from; i < t->n; i++)
		if (t->events[i].offset == number)
			return &t->events[i];
	return NULL;
}

static double level_of(Client *c, unsigned number)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	unsigned n;
	double level, found = -1;

	if (client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Levels", "a(ud)",
				&m) < 0)
		return -2;
	if (sd_bus_message_enter_container(m, 'a', "(ud)") > 0)
		while (sd_bus_message_read(m, "(ud)", &n, &level) > 0)
			if (n == number)
				found = level;
	return found;
}

/*
 * One dim at 0.3 for 1.2 s: its duty cycle over one second from its first
 * edge (200 periods at the default 200 Hz), its rising edges, and its edges
 * against a PWM of 5 ms periods lit for 1.5 ms (trace_check_pwm()).
 */
static double dim_duty(Client *c, size_t *ret_rising, TracePwm *ret_pwm)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *levels = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const TraceEvent *first;
	Trace t = {};
	size_t mark = trace_mark();
	double duty = -1;
	int r;

	client_forget_signals(c);
	r = client_start(c, "dim", "{\"dim\":{\"lines\":[11],\"level\":0.3,\"for\":\"1200ms\"}}",
			 &error, NULL);
	check_ok(r, &error);
	client_settle(c, 100 * MS);
	check(fabs(level_of(c, 11) - 0.3) < 1e-9);
	levels = client_wait_signal(c, BLINKD_MANAGER_INTERFACE, "Levels", 2 * S);
	check(levels != NULL);
	check(client_wait_finished(c, "dim", 5 * S, NULL));

	read_trace(&t);
	first = first_event(&t, mark, 11);
	check(first != NULL);
	if (first) {
		duty = lit_ns(&t, 11, first->ns, first->ns + 1000000000ULL, ret_rising) / 1e9;
		*ret_pwm = trace_check_pwm(&t, 11, first->ns, first->ns + 1000000000ULL, 5000000ULL,
				     1500000ULL);
	}
	check_int(trace_value_after(&t, t.n, 11), 0);
	trace_done(&t);
	sd_bus_error_free(&error);
	return duty;
}

static void test_dim_duty(Client *c)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	size_t rising = 0;
	TracePwm pwm = {};
	bool held = false;
	double duty = -1;
	int r;

	r = client_call(c, "Subscribe", &error, NULL, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	if (!timing()) {
		(void)dim_duty(c, &rising, &pwm);
		check(rising > 0);
		return;
	}
	/*
	 * Up to three tries: a machine stalled for most of a second leaves too
	 * few edges to judge. A wrong on-time or period is off in every try.
	 */
	for (int attempt = 0; attempt < 3 && !held; attempt++) {
		duty = dim_duty(c, &rising, &pwm);
		printf("try %d: duty cycle %.4f over the second\n", attempt + 1, duty);
		held = trace_pwm_holds(&pwm, "dim at 0.3, 200 Hz");
	}
	check(held);
	check(rising <= 201);
}

/*
 * A fade's end: over after 300 ms (never before; a hang is the 5 s wait),
 * the line dark; in between, a level between dark and lit, and the line's
 * PWM pulses in the trace.
 */
static void test_fade(Client *c)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	usec_t t0 = now_usec(CLOCK_MONOTONIC), took;
	size_t mark = trace_mark(), rising = 0;
	Trace t = {};
	int r;

	r = client_start(c, "fade", "{\"fade\":{\"lines\":[10],\"from\":1,\"to\":0,\"over\":\"300ms\"}}",
			 &error, NULL);
	check_ok(r, &error);
	client_settle(c, 150 * MS);
	if (timing()) {
		double l = level_of(c, 10);

		/* Only a reply from within the fade can say: on a busy machine it may come after. */
		if (now_usec(CLOCK_MONOTONIC) - t0 < 300 * MS)
			check(l > 0 && l < 1);
		else
			printf("fade: the Levels reply came after the fade's end, not judged\n");
	}
	check(client_wait_finished(c, "fade", 5 * S, NULL));
	took = now_usec(CLOCK_MONOTONIC) - t0;
	if (timing())
		check(took >= 300 * MS);
	check(level_of(c, 10) < 0); /* not above 0 any more */
	/* Pulses, not one step from lit to dark: some of 60 periods' rising edges. */
	read_trace(&t);
	for (size_t i = mark; i < t.n; i++)
		if (t.events[i].offset == 10 && t.events[i].value && trace_value_after(&t, i, 10) == 0)
			rising++;
	if (timing())
		check(rising >= 2);
	check_int(trace_value_after(&t, t.n, 10), 0);
	trace_done(&t);
	sd_bus_error_free(&error);
}

/* "pwm_hz": 1000 makes 1 ms periods. */
static void test_pwm_hz(Client *c)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Trace t = {};
	size_t mark, rising;
	const TraceEvent *first;
	TracePwm pwm;
	int r;

	check_int(harness_stop_daemon(SIGTERM), 0);
	harness_restart_daemon("{\"chip\":\"sim\",\"pwm_hz\":1000}");
	client_free(c);
	c = client_new();
	mark = trace_mark();
	r = client_start(c, "dim", "{\"dim\":{\"lines\":[11],\"level\":0.5,\"for\":\"500ms\"}}",
			 &error, NULL);
	check_ok(r, &error);
	check(client_wait_finished(c, "dim", 5 * S, NULL));
	read_trace(&t);
	first = first_event(&t, mark, 11);
	check(first != NULL);
	if (first) {
		(void)lit_ns(&t, 11, first->ns, first->ns + 400000000ULL, &rising);
		/* 1 ms periods lit for 0.5 ms; the default 200 Hz puts rising edges 5 periods apart. */
		pwm = trace_check_pwm(&t, 11, first->ns, first->ns + 400000000ULL, 1000000ULL, 500000ULL);
		if (timing())
			check(trace_pwm_holds(&pwm, "dim at 0.5, 1000 Hz"));
		else
			check(rising > 0);
	}
	trace_done(&t);
	client_free(c);
	sd_bus_error_free(&error);
}

int main(void)
{
	Client *c;

	harness_init();
	harness_start_daemon("{\"chip\":\"sim\"}");
	c = client_new();
	test_dim_duty(c);
	test_fade(c);
	test_pwm_hz(c);
	return test_summary("test-dbus-levels");
}

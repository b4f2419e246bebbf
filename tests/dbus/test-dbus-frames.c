/* SPDX-License-Identifier: MIT */
/*
 * The Frame(t monotonic_usec, au lit) signal: sent while someone is
 * subscribed and lines change, at most 50 per second, the last state of a
 * burst always; none after Unsubscribe(), none after the subscriber left
 * the bus without unsubscribing.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-checks.h"

/* How many recorded Frame signals; the ones received in [@from, @to] when @to > 0. */
static size_t count_frames(Client *c, usec_t from, usec_t to)
{
	size_t n = 0;

	(void)client_count_signals(c, BLINKD_MANAGER_INTERFACE, "Frame"); /* dispatch */
	for (size_t i = 0; i < c->n_signals; i++) {
		const Signal *s = &c->signals[i];

		if (!sd_bus_message_is_signal(s->message, BLINKD_MANAGER_INTERFACE, "Frame"))
			continue;
		if (to == 0 || (s->received >= from && s->received <= to))
			n++;
	}
	return n;
}

static void call_ok(Client *c, const char *method)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r = client_call(c, method, &error, NULL, NULL);

	check_ok(r, &error);
	sd_bus_error_free(&error);
}

static void test_rate(Client *c)
{
	_cleanup_(freep) char *result = NULL;
	_cleanup_(freep) unsigned *last_lit = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	size_t n_window = 0, n_frames = 0, n_bad_time = 0, n_bad_lines = 0, n_without_12 = 0;
	size_t n_close = 0;
	uint64_t previous = 0;
	usec_t t0, t1;
	int last_n = -1;
	double seconds, rate;
	int r;

	call_ok(c, "Subscribe");
	client_settle(c, 100 * MS);
	/* Nothing changes: no frames (the one a new subscriber may get is past). */
	client_forget_signals(c);
	client_settle(c, 300 * MS);
	check_int(count_frames(c, 0, 0), 0);

	/*
	 * A blink every 1ms for 2s: frames come, but at most 50 per second.
	 * Line 12 stays lit until Stop, so only the frame of the final state
	 * lacks it, whenever the frames before it were sent.
	 */
	client_forget_signals(c);
	t0 = now_usec(CLOCK_MONOTONIC);
	r = client_start(c, "fast",
			 "{\"all\":[{\"blink\":{\"lines\":[11],\"interval\":\"1ms\"}},"
			 "{\"on\":{\"lines\":[12]}}]}",
			 &error, NULL);
	check_ok(r, &error);
	client_settle(c, 2 * S);
	/*
	 * The window ends before Stop is sent, so the frame of the final state
	 * is after it however long Stop takes (under emulation, longer than a
	 * frame interval: that frame then goes out at once, before the reply).
	 */
	t1 = now_usec(CLOCK_MONOTONIC);
	r = client_call(c, "Stop", &error, NULL, "s", "fast");
	check_ok(r, &error);
	check(client_wait_finished(c, "fast", 2 * S, &result));
	check_str(result, "stopped");
	/* The last frame of the burst comes within one frame interval. */
	client_settle(c, 200 * MS);

	for (size_t i = 0; i < c->n_signals; i++) {
		Signal *s = &c->signals[i];
		uint64_t t;
		bool has_12;

		if (!sd_bus_message_is_signal(s->message, BLINKD_MANAGER_INTERFACE, "Frame"))
			continue;
		(void)sd_bus_message_rewind(s->message, true);
		free(TAKE_PTR(last_lit));
		last_n = -1;
		if (sd_bus_message_read(s->message, "t", &t) <= 0) {
			n_bad_time++;
			continue;
		}
		last_n = message_read_au(s->message, &last_lit);
		n_frames++;
		/*
		 * Its time is CLOCK_MONOTONIC, as ours, and within the window (2 s:
		 * on a busy machine this process may wait its turn to read it).
		 */
		if (t + 2 * S < s->received || t > s->received || t + 10 * MS < t0)
			n_bad_time++;
		/* The rate limit by the daemon's own clock: no two frames closer than 20 ms. */
		if (previous && t < previous + 20 * MS)
			n_close++;
		previous = t;
		if (t <= t1)
			n_window++;
		has_12 = false;
		for (int j = 0; j < last_n; j++) {
			if (last_lit[j] != 11 && last_lit[j] != 12)
				n_bad_lines++;
			has_12 = has_12 || last_lit[j] == 12;
		}
		if (!has_12)
			n_without_12++;
	}
	seconds = (double)(t1 - t0) / (double)S;
	rate = (double)n_window / seconds;
	printf("%zu frames in %.3fs while blinking: %.1f per second\n", n_window, seconds, rate);
	/*
	 * At most 50 a second, to the frame, by the frames' own times; by ours
	 * (which a busy machine bunches) within 4%. At least 10: frames keep
	 * coming while the lines change (50 on a quiet machine; the lower bound
	 * only catches frames that stop).
	 */
	check_int(n_close, 0);
	check(rate <= 52.0);
	check(rate >= 10.0);
	check_int(n_bad_time, 0);
	check_int(n_bad_lines, 0);
	/* The last one shows the final state, all dark, and only it. */
	check(n_frames > n_window);
	check_int(last_n, 0);
	check_int(n_without_12, 1);

	/* Nothing changes any more: no more frames. */
	client_forget_signals(c);
	client_settle(c, 300 * MS);
	check_int(count_frames(c, 0, 0), 0);
	sd_bus_error_free(&error);
}

static void test_unsubscribe(Client *c)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = client_start(c, "slow", "{\"blink\":{\"lines\":[10],\"interval\":\"10ms\"}}", &error,
			 NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	client_forget_signals(c);
	client_settle(c, 300 * MS);
	check(count_frames(c, 0, 0) >= 6);

	/* Frames sent before the reply are queued before it: everything after is the test. */
	call_ok(c, "Unsubscribe");
	client_forget_signals(c);
	client_settle(c, 300 * MS);
	check_int(count_frames(c, 0, 0), 0);
}

/* A subscriber that leaves the bus without Unsubscribe() ends the frames too. */
static void test_vanished_subscriber(Client *c)
{
	_cleanup_(client_freep) Client *watcher = client_new(); /* never subscribes */
	Client *subscriber = client_new();

	/* "slow" still blinks, nobody is subscribed: no frames. */
	client_settle(watcher, 300 * MS);
	check_int(count_frames(watcher, 0, 0), 0);

	call_ok(subscriber, "Subscribe");
	client_forget_signals(watcher);
	client_settle(watcher, 300 * MS);
	check(count_frames(watcher, 0, 0) >= 6);

	subscriber = client_free(subscriber);
	/* The bus tells blinkd that the subscriber left; frames sent meanwhile pass. */
	client_settle(watcher, 100 * MS);
	client_forget_signals(watcher);
	client_settle(watcher, 300 * MS);
	check_int(count_frames(watcher, 0, 0), 0);

	call_ok(c, "StopAll");
}

int main(void)
{
	_cleanup_(client_freep) Client *c = NULL;

	harness_init();
	harness_start_daemon(NULL);
	c = client_new();

	test_rate(c);
	test_unsubscribe(c);
	test_vanished_subscriber(c);

	check(harness_daemon_alive());
	check_int(harness_stop_daemon(SIGTERM), 0);
	return test_summary("test-dbus-frames");
}

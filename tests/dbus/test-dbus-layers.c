/* SPDX-License-Identifier: MIT */
/*
 * Programs as layers, over D-Bus on the simulated chip, judged by the trace:
 * a priority-10 blink over a priority-0 heartbeat (its dark half dark, the
 * heartbeat back in phase after it), equal priorities OR'd, programs bound
 * to a caller that exits or is killed, programs that persist across
 * SIGTERM and SIGKILL and resume in phase, timeout, at, Replace at a later
 * instant (the old program on its lines until the new one starts), and
 * every invalid option refused with nothing started.
 *
 * Times on the real clock are checked with generous bounds, and not at all
 * under a wrapper (valgrind), where the daemon is many times slower.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dbus-checks.h"

/* As test-dbus-timing allows an edge: the loop's wakeup on a VM, and this machine's other work. */
#define PHASE_TOLERANCE (20 * MS)

static bool timing(void)
{
	return !harness_wrapper();
}

/* StartWithOptions with options given as "key", type, value triples after @n. */
static int start_with(Client *c, const char *name, const char *program, sd_bus_error *error,
		      const char *types, ...)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	va_list ap;
	int r;

	r = sd_bus_message_new_method_call(c->bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, "StartWithOptions");
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "ss", name, program);
	if (r < 0)
		return r;
	va_start(ap, types);
	r = sd_bus_message_appendv(m, types, ap);
	va_end(ap);
	if (r < 0)
		return r;
	return sd_bus_call(c->bus, m, 0, error, &reply);
}

static usec_t program_started(Client *c, const char *name)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(freep) char *path = program_path(name);
	uint64_t t = 0;

	if (client_get_property(c, path, BLINKD_PROGRAM_INTERFACE, "StartedUSec", "t", &m) >= 0)
		(void)sd_bus_message_read(m, "t", &t);
	return t;
}

static int program_bool(Client *c, const char *name, const char *property)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(freep) char *path = program_path(name);
	int b = -1;

	if (client_get_property(c, path, BLINKD_PROGRAM_INTERFACE, property, "b", &m) >= 0)
		(void)sd_bus_message_read(m, "b", &b);
	return b;
}

/* CLOCK_REALTIME minus CLOCK_MONOTONIC, in microseconds: to place a wall-clock start on the trace. */
static int64_t realtime_offset(void)
{
	return (int64_t)now_usec(CLOCK_REALTIME) - (int64_t)now_usec(CLOCK_MONOTONIC);
}

/* How far @t_us is from the nearest instant start + k * period. */
static usec_t phase_error(usec_t t_us, usec_t start_us, usec_t period)
{
	usec_t d = (t_us - start_us) % period;

	return d < period - d ? d : period - d;
}

/*
 * The edges of @offset in the trace after @from_us (CLOCK_MONOTONIC) fall on
 * start + k * @period, within the tolerance; up to half may be late (the
 * stalls of a busy machine), which a program out of phase cannot pass,
 * since all its edges are off by the same amount. (The phase to the
 * microsecond is test-manager's, on a virtual clock.) Returns how many
 * edges there were.
 */
static size_t check_edges_in_phase(const Trace *t, unsigned offset, usec_t from_us, usec_t start_us,
				   usec_t period)
{
	size_t n = 0, n_off = 0;

	for (size_t i = 0; i < t->n; i++) {
		usec_t at = t->events[i].ns / 1000;

		if (t->events[i].offset != offset || at < from_us)
			continue;
		n++;
		if (phase_error(at, start_us, period) > PHASE_TOLERANCE) {
			fprintf(stderr, "edge of line %u at %llu us is %llu us off its phase\n", offset,
				(unsigned long long)at,
				(unsigned long long)phase_error(at, start_us, period));
			n_off++;
		}
	}
	if (timing())
		check(n_off * 2 <= n);
	return n;
}

static void test_priority_over_heartbeat(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	usec_t heart_start = 0, alarm_end;
	size_t n_alarm = 0, n_after;
	Trace t = {};
	int r;

	harness_start_daemon(NULL);
	r = client_start(c, "heart", "{\"blink\":{\"lines\":[11],\"interval\":\"100ms\"}}", &error,
			 NULL);
	check_ok(r, &error);
	/* The heartbeat's grid, from the daemon's own start instant. */
	heart_start = (usec_t)((int64_t)program_started(c, "heart") - realtime_offset());
	client_settle(c, 250 * MS);
	r = start_with(c, "alarm", "{\"blink\":{\"lines\":[11],\"interval\":\"20ms\",\"times\":5}}",
		       &error, "a{sv}", 1, "priority", "i", 10);
	check_ok(r, &error);
	check(client_wait_finished(c, "alarm", harness_timeout(), NULL));
	alarm_end = now_usec(CLOCK_MONOTONIC);
	client_settle(c, 450 * MS);
	check_int(trace_read(harness_trace_path(), &t), 0);

	/*
	 * The alarm's dark halves are dark although the heartbeat is lit: the
	 * line falls inside the heartbeat's lit halves, which no OR of the two
	 * could do. The heartbeat's own falling edges are at 100 ms of its
	 * 200 ms period or later (never early), so any falling edge from 1 ms
	 * into the period to 99 ms (1 ms for the two clocks' offset) is the
	 * alarm's. Its 200 ms cover 100 ms of lit halves, wherever it starts (a
	 * busy machine starts it later than 250 ms in): one of its falling
	 * edges, 40 ms apart, falls there.
	 */
	for (size_t i = 0; i < t.n; i++) {
		usec_t at = t.events[i].ns / 1000, phase = (at - heart_start) % (200 * MS);
		if (t.events[i].offset == 11 && t.events[i].value == 0 && phase >= 1 * MS &&
		    phase < 99 * MS)
			n_alarm++;
	}
	printf("priority over heartbeat: %zu falling edges in the heartbeat's lit halves\n", n_alarm);
	if (timing())
		check(n_alarm >= 1);
	/* After it, the heartbeat is back on its own 100 ms grid. */
	n_after = check_edges_in_phase(&t, 11, alarm_end + 10 * MS, heart_start, 100 * MS);
	check(n_after >= 3);
	trace_done(&t);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

static void test_equal_priorities(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(freep) unsigned *lit = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r, n;

	harness_start_daemon(NULL);
	r = start_with(c, "low", "{\"on\":{\"lines\":[10,11,12]}}", &error, "a{sv}", 1, "priority",
		       "i", -3);
	check_ok(r, &error);
	r = start_with(c, "a", "{\"on\":{\"lines\":[11]}}", &error, "a{sv}", 1, "priority", "i", 7);
	check_ok(r, &error);
	r = start_with(c, "b", "{\"blink\":{\"lines\":[12],\"interval\":\"1h\"}}", &error, "a{sv}", 1,
		       "priority", "i", 7);
	check_ok(r, &error);
	r = start_with(c, "dark", "{\"sequence\":[{\"wait\":\"1h\"},{\"on\":{\"lines\":[10]}}]}", &error,
		       "a{sv}", 1, "priority", "i", 9);
	check_ok(r, &error);
	client_settle(c, 30 * MS);
	r = client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Lit", "au", &m);
	check_int(r >= 0, 1);
	n = r >= 0 ? message_read_au(m, &lit) : 0;
	/* 10: the low one (a wait claims nothing); 11 and 12: the priority-7 ones, lit. */
	check_str(format_au(lit, n > 0 ? (size_t)n : 0), "10,11,12");
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/* A child that starts a bound program, then exits (@kill: is killed) once it has the reply. */
static void bound_caller(const char *name, bool kill_it)
{
	pid_t pid = fork();

	if (pid < 0)
		harness_fatal("fork failed");
	if (pid == 0) {
		_cleanup_(client_freep) Client *c = client_new();
		sd_bus_error error = SD_BUS_ERROR_NULL;

		if (start_with(c, name, "{\"on\":{\"lines\":[4]}}", &error, "a{sv}", 1, "bind", "b", 1) < 0)
			_exit(3);
		if (kill_it)
			(void)raise(SIGKILL);
		_exit(0);
	}
	(void)waitpid(pid, NULL, 0);
}

static void test_bind(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(freep) char *result = NULL, *list = NULL;
	int r;

	harness_start_daemon(NULL);
	bound_caller("exits", false);
	check(client_wait_finished(c, "exits", harness_timeout(), &result));
	check_str(result, "stopped");
	free(result);
	result = NULL;
	bound_caller("killed", true);
	check(client_wait_finished(c, "killed", harness_timeout(), &result));
	check_str(result, "stopped");

	/* Bound to a caller that stays: it runs, and says so. */
	r = start_with(c, "stays", "{\"on\":{\"lines\":[4]}}", &error, "a{sv}", 1, "bind", "b", 1);
	check_ok(r, &error);
	client_settle(c, 100 * MS);
	check_int(program_bool(c, "stays", "Bound"), 1);
	list = client_list(c, false);
	check_str(list, "stays {\"on\":{\"lines\":[4]}}\n");
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/* After a restart (@sig), the persistent blink is listed with its start and blinks in phase. */
static void check_resumed(int sig, usec_t started_real)
{
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_(freep) char *list = NULL, *defs = NULL;
	usec_t start_mono, t0;
	Trace t = {};

	check_int(harness_stop_daemon(sig), sig == SIGKILL ? 128 + SIGKILL : 0);
	harness_restart_daemon(NULL);
	c = client_new();
	t0 = now_usec(CLOCK_MONOTONIC);
	list = client_list(c, false);
	check_contains(list, "p {\"blink\":{\"lines\":[11],\"interval\":\"100ms\"}}");
	check_contains(list, "q {\"on\":{\"lines\":[10]}}");
	defs = client_list(c, true);
	check_contains(defs, "kept {\"wait\":\"1s\"}");
	check_int(program_started(c, "p"), started_real);
	check_int(program_bool(c, "p", "Persistent"), 1);
	client_settle(c, 450 * MS);
	check_int(trace_read(harness_trace_path(), &t), 0);
	start_mono = (usec_t)((int64_t)started_real - realtime_offset());
	check(check_edges_in_phase(&t, 11, t0, start_mono, 100 * MS) >= 3);
	/* The steady one is lit from the first batch on. */
	check_int(trace_value_after(&t, t.n, 10), 1);
	trace_done(&t);
}

static void test_persist(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	usec_t started;
	int r;

	harness_start_daemon(NULL);
	r = start_with(c, "p", "{\"blink\":{\"lines\":[11],\"interval\":\"100ms\"}}", &error,
		       "a{sv}", 1, "persist", "b", 1);
	check_ok(r, &error);
	r = start_with(c, "q", "{\"on\":{\"lines\":[10]}}", &error, "a{sv}", 1, "persist", "b", 1);
	check_ok(r, &error);
	r = client_call(c, "Define", &error, NULL, "ss", "kept", "{\"wait\":1}");
	check_ok(r, &error);
	started = program_started(c, "p");
	check(started > 0);
	client_settle(c, 130 * MS);
	c = client_free(c);

	check_resumed(SIGTERM, started);
	check_resumed(SIGKILL, started);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

static void test_timeout_and_at(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(freep) char *result = NULL;
	usec_t t0, at;
	Trace t = {};
	int r, scheduled;

	harness_start_daemon(NULL);
	t0 = now_usec(CLOCK_MONOTONIC);
	r = start_with(c, "t", "{\"on\":{\"lines\":[12]}}", &error, "a{sv}", 1, "timeout", "t",
		       (uint64_t)(100 * MS));
	check_ok(r, &error);
	check(client_wait_finished(c, "t", harness_timeout(), &result));
	check_str(result, "done");
	if (timing())
		check(now_usec(CLOCK_MONOTONIC) - t0 >= 100 * MS);

	at = now_usec(CLOCK_REALTIME) + 400 * MS;
	r = start_with(c, "later", "{\"on\":{\"lines\":[27]}}", &error, "a{sv}", 1, "at", "t",
		       (uint64_t)at);
	check_ok(r, &error);
	/* Scheduled until @at: judged when the reply came before it (on a busy machine it may not). */
	scheduled = program_bool(c, "later", "Scheduled");
	if (now_usec(CLOCK_REALTIME) < at)
		check_int(scheduled, 1);
	check_int(program_started(c, "later"), at);
	client_settle(c, 200 * MS);
	check_int(trace_read(harness_trace_path(), &t), 0);
	if (now_usec(CLOCK_REALTIME) < at)
		check_int(trace_count(&t, 0, 27), 0);
	trace_done(&t);
	client_settle(c, 400 * MS);
	/* Lit by now, or (a busy machine) within the harness's timeout. */
	for (usec_t end = now_usec(CLOCK_MONOTONIC) + harness_timeout();; client_settle(c, 50 * MS)) {
		check_int(trace_read(harness_trace_path(), &t), 0);
		if (trace_value_after(&t, t.n, 27) == 1 || now_usec(CLOCK_MONOTONIC) >= end)
			break;
		trace_done(&t);
	}
	check_int(program_bool(c, "later", "Scheduled"), 0);
	check_int(trace_value_after(&t, t.n, 27), 1);
	/*
	 * Never before @at, as the trace says (1 ms for the two clocks' offset);
	 * late by no more than a busy machine makes a wakeup (a start on the
	 * wrong clock or off by a second is later than that). How late on a
	 * quiet machine is bench/'s (Start to first edge).
	 */
	if (timing() && trace_count(&t, 0, 27) > 0) {
		for (size_t i = 0; i < t.n; i++)
			if (t.events[i].offset == 27) {
				usec_t want = (usec_t)((int64_t)at - realtime_offset());
				usec_t got = t.events[i].ns / 1000;
				check(got + 1 * MS >= want);
				check(got < want + 500 * MS);
				if (got > want + PHASE_TOLERANCE)
					printf("at: the first edge came %llu us after its instant\n",
					       (unsigned long long)(got - want));
				break;
			}
	}
	trace_done(&t);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/* Replace(@name, @program) at the wall-clock instant @at; the reply's serial in *@ret_cookie. */
static int replace_at(Client *c, const char *name, const char *program, usec_t at,
                      sd_bus_error *error, uint64_t *ret_cookie)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	int r;

	r = sd_bus_message_new_method_call(c->bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
	                                   BLINKD_MANAGER_INTERFACE, "StartWithOptions");
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "ssa{sv}", name, program, 2, "replace", "b", 1, "at", "t",
	                          (uint64_t)at);
	if (r < 0)
		return r;
	r = sd_bus_call(c->bus, m, 0, error, &reply);
	if (r >= 0 && ret_cookie)
		r = sd_bus_message_get_cookie(reply, ret_cookie);
	return r;
}

/*
 * The recorded signals @interface.@member whose first argument is @arg (a
 * name, or an object path), and, for Finished, whose result is @result (NULL:
 * any): how many, and the index and serial of the first from index @from.
 */
static size_t find_signals(Client *c, size_t from, const char *interface, const char *member,
                           const char *arg, const char *result, size_t *ret_index,
                           uint64_t *ret_cookie)
{
	size_t n = 0;

	client_settle(c, 0);
	for (size_t i = from; i < c->n_signals; i++) {
		sd_bus_message *m = c->signals[i].message;
		const char *a = NULL, *b = NULL;
		char type;

		if (!sd_bus_message_is_signal(m, interface, member))
			continue;
		(void)sd_bus_message_rewind(m, true);
		if (sd_bus_message_peek_type(m, &type, NULL) <= 0 ||
		    sd_bus_message_read_basic(m, type, &a) < 0 || !a || !streq(a, arg))
			continue;
		if (result &&
		    (sd_bus_message_read_basic(m, 's', &b) < 0 || !b || !streq(b, result)))
			continue;
		if (n++ == 0) {
			if (ret_index)
				*ret_index = i;
			if (ret_cookie)
				(void)sd_bus_message_get_cookie(m, ret_cookie);
		}
	}
	return n;
}

/* The time (CLOCK_MONOTONIC us) of @offset's first event at or after @from_us with @value; 0: none.
 */
static usec_t trace_first(const Trace *t, unsigned offset, usec_t from_us, int value)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->events[i].offset == offset && t->events[i].ns / 1000 >= from_us &&
		    t->events[i].value == value)
			return t->events[i].ns / 1000;
	return 0;
}

/*
 * Replace at a later instant: the old program drives its lines as before
 * until the new one starts, and goes in the batch of the new one's first
 * edges; a line both light is never dark. For clients it is a Replace like
 * any: the old object's InterfacesRemoved and its Finished "replaced", then
 * the new one's InterfacesAdded, all before the reply; the new one is
 * listed, Scheduled, and no other Finished comes at the hand-over. A Stop in
 * between ends both; an old one that ends by itself first ends as it would
 * have; a scheduled replacement replaced again passes the old one on.
 */
static void test_replace_at(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	_cleanup_(freep) char *path = program_path("sign"), *list = NULL, *result = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	usec_t call, at, at_mono, off10, on12, t2, at2;
	uint64_t reply_cookie = 0, removed_cookie = 0, finished_cookie = 0, added_cookie = 0;
	size_t removed = 0, finished = 0, added = 0, edges = 0;
	Trace t = {};
	int r;

	harness_start_daemon(NULL);

	/* 11 and 10 steady, 4 blinking every 40 ms; then the same name: 11 and 12, 600 ms on. */
	r = client_start(c, "sign", "all(on([11, 10]), blink(4, 40ms))", &error, NULL);
	check_ok(r, &error);
	client_settle(c, 150 * MS);
	client_forget_signals(c);
	call = now_usec(CLOCK_MONOTONIC);
	at = now_usec(CLOCK_REALTIME) + 600 * MS;
	at_mono = (usec_t)((int64_t)at - realtime_offset());
	r = replace_at(c, "sign", "on([11, 12])", at, &error, &reply_cookie);
	check_ok(r, &error);
	sd_bus_error_free(&error);

	/* The bus sees a Replace: old object gone, its Finished, new object, then the reply. */
	check_int(find_signals(c, 0, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
	                       path, NULL, &removed, &removed_cookie),
	          1);
	check_int(find_signals(c, 0, BLINKD_MANAGER_INTERFACE, "Finished", "sign", "replaced",
	                       &finished, &finished_cookie),
	          1);
	check_int(find_signals(c, 0, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", path,
	                       NULL, &added, &added_cookie),
	          1);
	check(removed < finished && finished < added);
	check(added_cookie < reply_cookie);
	list = client_list(c, false);
	check_str(list, "sign {\"on\":{\"lines\":[11,12]}}\n");
	check_int(program_bool(c, "sign", "Scheduled"), 1);

	client_settle(c, 300 * MS);
	check_int(program_bool(c, "sign", "Scheduled"), 1);
	/* Until the hand-over, the old program's lines as it drives them. */
	check_int(trace_read(harness_trace_path(), &t), 0);
	check_int(trace_first(&t, 11, 0, 0), 0);
	check_int(trace_first(&t, 10, 0, 0), 0);
	check_int(trace_first(&t, 12, 0, 1), 0);
	edges = trace_count(&t, 0, 4);
	/* Line 4 blinks on after the call (every 40 ms; a stalled machine may merge a few). */
	if (timing())
		check(trace_first(&t, 4, call + 50 * MS, 0) != 0 &&
		      trace_first(&t, 4, call + 50 * MS, 1) != 0);
	trace_done(&t);

	/* After it: the new program's, 10 off and 12 on in one batch; 11 never dark. */
	while (now_usec(CLOCK_MONOTONIC) < at_mono + 300 * MS)
		client_settle(c, 50 * MS);
	check_int(program_bool(c, "sign", "Scheduled"), 0);
	check_int(trace_read(harness_trace_path(), &t), 0);
	check_int(trace_first(&t, 11, 0, 0), 0);
	check_int(trace_value_after(&t, t.n, 11), 1);
	check_int(trace_value_after(&t, t.n, 10), 0);
	check_int(trace_value_after(&t, t.n, 12), 1);
	check_int(trace_value_after(&t, t.n, 4), 0);
	off10 = trace_first(&t, 10, 0, 0);
	on12 = trace_first(&t, 12, 0, 1);
	check(off10 != 0 && off10 == on12);
	/* Line 4 blinked on through the wait, and stopped at the hand-over. */
	check(trace_count(&t, 0, 4) > edges);
	check(trace_first(&t, 4, on12 + 1, 1) == 0);
	/* Not before the instant asked for (the clocks' conversion aside), and not long after. */
	if (timing()) {
		check(off10 + 5 * MS >= at_mono);
		check(off10 < at_mono + 1 * S);
	}
	trace_done(&t);
	/* No Finished at the hand-over: "replaced" was said once, at the call. */
	check_int(
	    find_signals(c, 0, BLINKD_MANAGER_INTERFACE, "Finished", "sign", NULL, NULL, NULL), 1);

	/* A Stop in between ends both: the old one's lines dark now, the new one never lit. */
	r = client_start(c, "s2", "on(20)", &error, NULL);
	check_ok(r, &error);
	t2 = now_usec(CLOCK_MONOTONIC);
	at2 = now_usec(CLOCK_REALTIME) + 500 * MS;
	r = replace_at(c, "s2", "on(5)", at2, &error, NULL);
	check_ok(r, &error);
	client_settle(c, 100 * MS);
	client_forget_signals(c);
	r = client_call(c, "Stop", &error, NULL, "s", "s2");
	check_ok(r, &error);
	check(client_wait_finished(c, "s2", harness_timeout(), &result));
	check_str(result, "stopped");
	while (now_usec(CLOCK_MONOTONIC) < (usec_t)((int64_t)at2 - realtime_offset()) + 200 * MS)
		client_settle(c, 50 * MS);
	check_int(find_signals(c, 0, BLINKD_MANAGER_INTERFACE, "Finished", "s2", NULL, NULL, NULL),
	          1);
	check_int(trace_read(harness_trace_path(), &t), 0);
	check(trace_first(&t, 20, t2, 0) != 0);
	check_int(trace_first(&t, 5, 0, 1), 0);
	trace_done(&t);
	free(list);
	list = client_list(c, false);
	check_str(list, "sign {\"on\":{\"lines\":[11,12]}}\n");

	/* The old one ends by itself before the new one starts: its own end, nothing more. */
	r = client_start(c, "s3", "on(22, 100ms)", &error, NULL);
	check_ok(r, &error);
	at2 = now_usec(CLOCK_REALTIME) + 400 * MS;
	r = replace_at(c, "s3", "on(23)", at2, &error, NULL);
	check_ok(r, &error);
	client_forget_signals(c);
	while (now_usec(CLOCK_MONOTONIC) < (usec_t)((int64_t)at2 - realtime_offset()) + 200 * MS)
		client_settle(c, 50 * MS);
	check_int(find_signals(c, 0, BLINKD_MANAGER_INTERFACE, "Finished", "s3", NULL, NULL, NULL),
	          0);
	check_int(trace_read(harness_trace_path(), &t), 0);
	check_int(trace_value_after(&t, t.n, 22), 0);
	check_int(trace_value_after(&t, t.n, 23), 1);
	trace_done(&t);

	/* A scheduled replacement replaced in turn: it goes at once; the old one waits for the
	 * last. */
	r = client_start(c, "s4", "on(24)", &error, NULL);
	check_ok(r, &error);
	client_forget_signals(c);
	r = replace_at(c, "s4", "on(25)", now_usec(CLOCK_REALTIME) + 900 * MS, &error, NULL);
	check_ok(r, &error);
	at2 = now_usec(CLOCK_REALTIME) + 400 * MS;
	r = replace_at(c, "s4", "on(16)", at2, &error, NULL);
	check_ok(r, &error);
	check_int(
	    find_signals(c, 0, BLINKD_MANAGER_INTERFACE, "Finished", "s4", "replaced", NULL, NULL),
	    2);
	while (now_usec(CLOCK_MONOTONIC) < (usec_t)((int64_t)at2 - realtime_offset()) + 700 * MS)
		client_settle(c, 50 * MS);
	check_int(find_signals(c, 0, BLINKD_MANAGER_INTERFACE, "Finished", "s4", NULL, NULL, NULL),
	          2);
	check_int(trace_read(harness_trace_path(), &t), 0);
	check_int(trace_first(&t, 25, 0, 1), 0);
	check_int(trace_value_after(&t, t.n, 16), 1);
	check_int(trace_value_after(&t, t.n, 24), 0);
	check(trace_first(&t, 24, 0, 0) != 0 &&
	      trace_first(&t, 24, 0, 0) == trace_first(&t, 16, 0, 1));
	trace_done(&t);

	/* Left waiting at exit: everything goes, cleanly. */
	r = replace_at(c, "s4", "on(27)", now_usec(CLOCK_REALTIME) + 10 * S, &error, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/* Each invalid option: InvalidOptions naming the key, and nothing started or said. */
static void test_invalid_options(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Snapshot before = {};
	uint64_t far = now_usec(CLOCK_REALTIME) + 2 * USEC_PER_DAY;
	const char *program = "{\"on\":{\"lines\":[11]}}";
	int r;

	harness_start_daemon("{\"max_programs\":3}");
	snapshot_take(c, &before);
	client_forget_signals(c);

#define REFUSED(key, ...)                                                                          \
	do {                                                                                       \
		r = start_with(c, "x", program, &error, __VA_ARGS__);                              \
		check_error(r, &error, BLINKD_ERROR_INVALID_OPTIONS);                              \
		check_contains(error.message, key);                                                \
		sd_bus_error_free(&error);                                                         \
	} while (0)

	REFUSED("colour", "a{sv}", 1, "colour", "s", "red");
	REFUSED("priority", "a{sv}", 1, "priority", "s", "high");
	REFUSED("priority", "a{sv}", 1, "priority", "u", 5u);
	REFUSED("priority", "a{sv}", 1, "priority", "i", 1001);
	REFUSED("priority", "a{sv}", 1, "priority", "i", -1001);
	REFUSED("priority", "a{sv}", 2, "priority", "i", 1, "priority", "i", 2);
	REFUSED("replace", "a{sv}", 1, "replace", "i", 1);
	REFUSED("bind", "a{sv}", 1, "bind", "s", "yes");
	REFUSED("timeout", "a{sv}", 1, "timeout", "t", (uint64_t)0);
	REFUSED("timeout", "a{sv}", 1, "timeout", "t", (uint64_t)99);
	REFUSED("timeout", "a{sv}", 1, "timeout", "x", (int64_t)1000);
	REFUSED("at", "a{sv}", 1, "at", "t", (uint64_t)0);
	REFUSED("at", "a{sv}", 1, "at", "t", far);
	REFUSED("bind, persist", "a{sv}", 2, "bind", "b", 1, "persist", "b", 1);
#undef REFUSED

	client_settle(c, 20 * MS);
	check_int(client_count_signals(c, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded"), 0);
	check_unchanged(c, &before);
	snapshot_done(&before);

	/* The edges of the ranges start. */
	r = start_with(c, "hi", program, &error, "a{sv}", 2, "priority", "i", 1000, "timeout", "t",
		       (uint64_t)100);
	check_ok(r, &error);
	r = start_with(c, "lo", program, &error, "a{sv}", 1, "priority", "i", -1000);
	check_ok(r, &error);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/* Precision mode changes when the loop wakes, not what goes out: every edge, in order. */
static void test_precision_spin(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Trace t = {};
	usec_t started;
	int r;

	harness_start_daemon("{\"precision\":\"spin\"}");
	r = client_start(c, "b", "{\"blink\":{\"lines\":[11],\"interval\":\"10ms\",\"times\":50}}",
			 &error, NULL);
	check_ok(r, &error);
	started = program_started(c, "b");
	check(client_wait_finished(c, "b", harness_timeout(), NULL));
	check_int(trace_read(harness_trace_path(), &t), 0);
	/*
	 * 100 edges, alternating, each on the 10 ms grid of the blink's start,
	 * none early, none added (trace_check_pwm(): a square wave of 20 ms
	 * periods lit for 10). A wakeup later than 10 ms drops an on/off pair:
	 * on a busy machine some are.
	 */
	if (timing()) {
		uint64_t first = 0;
		TracePwm pwm;

		for (size_t i = 0; i < t.n && !first; i++)
			if (t.events[i].offset == 11)
				first = t.events[i].ns;
		pwm = trace_check_pwm(&t, 11, first, first + 1000 * 1000000ULL, 20 * 1000000ULL,
				      10 * 1000000ULL);
		check(trace_pwm_holds(&pwm, "blink of 10 ms, precision spin"));
		check(trace_count(&t, 0, 11) <= 100);
		/*
		 * The grid is the program's own (StartedUSec), not one some ms
		 * early: the edges in phase start at most a millisecond before it
		 * (the two clocks' offset), and less than half an interval after.
		 */
		if (started > 0) {
			int64_t grid = ((int64_t)started - realtime_offset()) * 1000;
			int64_t d = ((int64_t)pwm.phase - grid % (int64_t)(20 * 1000000ULL) +
				     (int64_t)(20 * 1000000ULL)) % (int64_t)(20 * 1000000ULL);

			if (d >= (int64_t)(10 * 1000000ULL))
				d -= 20 * 1000000LL;
			printf("precision spin: the edges keep the grid of the start %+lld us from it\n",
			       (long long)d / 1000);
			check(d >= -1000000LL && d < 5 * 1000000LL);
		}
	}
	for (size_t i = 0, k = 0; i < t.n; i++)
		if (t.events[i].offset == 11)
			check_int(t.events[i].value, k++ % 2 == 0);
	check_int(trace_value_after(&t, t.n, 11), 0);
	trace_done(&t);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

int main(void)
{
	harness_init();
	test_priority_over_heartbeat();
	test_equal_priorities();
	test_bind();
	test_persist();
	test_timeout_and_at();
	test_replace_at();
	test_invalid_options();
	test_precision_spin();
	return test_summary("test-dbus-layers");
}

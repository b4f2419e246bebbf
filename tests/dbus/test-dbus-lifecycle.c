/* SPDX-License-Identifier: MIT */
/*
 * How programs end and what the bus shows of them: Finished with each result
 * (done, stopped, replaced, failed), Replace without a dark gap, two
 * programs on one line (OR), the ObjectManager's objects appearing and
 * vanishing, and the simulated chip vanishing (SIGUSR1) under running
 * programs and returning (SIGUSR2).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-checks.h"
#include "layout.h"

/* The trace now, and how many events it has: the mark later reads start from. */
/*
 * Wait for InterfacesRemoved of @path; whether io.blinkd1.Program is among
 * the interfaces named.
 */
static bool wait_removed(Client *c, const char *path, usec_t timeout)
{
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;

	for (;;) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
		usec_t now = now_usec(CLOCK_MONOTONIC);
		const char *p, *interface;
		bool found = false;

		if (now >= deadline)
			return false;
		m = client_wait_signal(c, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
				       deadline - now);
		if (!m)
			return false;
		if (sd_bus_message_read(m, "o", &p) <= 0 || !streq(p, path))
			continue;
		if (sd_bus_message_enter_container(m, 'a', "s") <= 0)
			return false;
		while (sd_bus_message_read(m, "s", &interface) > 0)
			if (streq(interface, BLINKD_PROGRAM_INTERFACE))
				found = true;
		return found;
	}
}

typedef struct Added {
	char *name;
	char *program;
	uint64_t started_usec;
	unsigned *lines;
	int n_lines;
	bool has_interface;
} Added;

static void added_done(Added *a)
{
	free(a->name);
	free(a->program);
	free(a->lines);
	*a = (Added){ .n_lines = -1 };
}

/* Wait for InterfacesAdded of @path and read io.blinkd1.Program's properties from it. */
static bool wait_added(Client *c, const char *path, usec_t timeout, Added *ret)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	const char *p, *interface, *property, *s;
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;

	*ret = (Added){ .n_lines = -1 };
	for (;;) {
		usec_t now = now_usec(CLOCK_MONOTONIC);

		if (now >= deadline)
			return false;
		m = sd_bus_message_unref(m);
		m = client_wait_signal(c, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
				       deadline - now);
		if (!m)
			return false;
		if (sd_bus_message_read(m, "o", &p) > 0 && streq(p, path))
			break;
	}
	if (sd_bus_message_enter_container(m, 'a', "{sa{sv}}") <= 0)
		return false;
	while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
		if (sd_bus_message_read(m, "s", &interface) <= 0)
			return false;
		if (!streq(interface, BLINKD_PROGRAM_INTERFACE)) {
			if (sd_bus_message_skip(m, "a{sv}") < 0)
				return false;
		} else {
			ret->has_interface = true;
			if (sd_bus_message_enter_container(m, 'a', "{sv}") <= 0)
				return false;
			while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
				if (sd_bus_message_read(m, "s", &property) <= 0)
					return false;
				if (streq(property, "Name") &&
				    sd_bus_message_read(m, "v", "s", &s) > 0)
					ret->name = strdup(s);
				else if (streq(property, "Program") &&
					 sd_bus_message_read(m, "v", "s", &s) > 0)
					ret->program = strdup(s);
				else if (streq(property, "StartedUSec") &&
					 sd_bus_message_read(m, "v", "t", &ret->started_usec) > 0)
					;
				else if (streq(property, "Lines") &&
					 sd_bus_message_enter_container(m, 'v', "au") > 0) {
					ret->n_lines = message_read_au(m, &ret->lines);
					(void)sd_bus_message_exit_container(m);
				} else if (sd_bus_message_skip(m, "v") < 0)
					return false;
				(void)sd_bus_message_exit_container(m);
			}
			(void)sd_bus_message_exit_container(m);
		}
		(void)sd_bus_message_exit_container(m);
	}
	return true;
}

static void test_done(Client *c)
{
	_cleanup_(freep) char *path = NULL, *want = NULL, *result = NULL, *list = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Added added = {};
	Trace t = {};
	size_t mark = trace_mark();
	uint64_t on_ns = 0, off_ns = 0, started_mono;
	int r;

	client_forget_signals(c);
	r = client_start(c, "short", "{\"on\":{\"lines\":[12],\"for\":\"100ms\"}}", &error, &path);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	want = program_path("short");
	check(wait_added(c, want, 2 * S, &added));
	/* StartedUSec is the wall clock's; the trace's times are the monotonic clock's. */
	started_mono = added.started_usec - (now_usec(CLOCK_REALTIME) - now_usec(CLOCK_MONOTONIC));
	added_done(&added);

	check(client_wait_finished(c, "short", 3 * S, &result));
	check_str(result, "done");
	/* A program that ends by itself vanishes from the bus too. */
	check(wait_removed(c, want, 2 * S));
	list = client_list(c, false);
	check_str(list, "");

	read_trace(&t);
	check_int(trace_count(&t, mark, 12), 2);
	for (size_t i = mark; i < t.n; i++)
		if (t.events[i].offset == 12 && t.events[i].value == 1)
			on_ns = t.events[i].ns;
		else if (t.events[i].offset == 12 && t.events[i].value == 0)
			off_ns = t.events[i].ns;
	check(on_ns > 0 && off_ns > on_ns);
	/*
	 * Never early: dark no sooner than 100 ms after the start (5 ms for the
	 * two clocks' reading), whatever the lit edge's own lateness on a busy
	 * machine; how late depends on the load (test-dbus-timing measures it).
	 */
	check(off_ns / 1000 + 5 * MS >= started_mono + 100 * MS);
	trace_done(&t);
}

static void test_stopped(Client *c)
{
	_cleanup_(freep) char *result = NULL, *list = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	client_forget_signals(c);
	r = client_start(c, "one", "{\"blink\":{\"lines\":[13],\"interval\":\"10ms\"}}", &error,
			 NULL);
	check_ok(r, &error);
	r = client_start(c, "two", "{\"on\":{\"lines\":[12]}}", &error, NULL);
	check_ok(r, &error);
	r = client_start(c, "three", "{\"on\":{\"lines\":[8]}}", &error, NULL);
	check_ok(r, &error);

	r = client_call(c, "Stop", &error, NULL, "s", "one");
	check_ok(r, &error);
	check(client_wait_finished(c, "one", 2 * S, &result));
	check_str(result, "stopped");
	free(TAKE_PTR(result));

	r = client_call(c, "StopAll", &error, NULL, NULL);
	check_ok(r, &error);
	check(client_wait_finished(c, "two", 2 * S, &result));
	check_str(result, "stopped");
	free(TAKE_PTR(result));
	check(client_wait_finished(c, "three", 2 * S, &result));
	check_str(result, "stopped");
	/* Exactly one Finished per program. */
	client_settle(c, 50 * MS);
	check_int(client_count_signals(c, BLINKD_MANAGER_INTERFACE, "Finished"), 3);
	list = client_list(c, false);
	check_str(list, "");
	sd_bus_error_free(&error);
}

/* Replace {"on":[11,10]} by {"on":[11,27]}: 11 never dark, 10 off and 27 on at one instant. */
static void test_replace(Client *c)
{
	_cleanup_(freep) char *path1 = NULL, *path2 = NULL, *result = NULL, *list = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *path;
	Trace t = {};
	size_t mark = trace_mark();
	uint64_t off10 = 0, on27 = 0;
	int r;

	client_forget_signals(c);
	r = client_start(c, "r", "{\"on\":{\"lines\":[11,10]}}", &error, &path1);
	check_ok(r, &error);
	client_settle(c, 30 * MS);
	r = client_call(c, "Replace", &error, &reply, "ss", "r", "{\"on\":{\"lines\":[11,27]}}");
	check_ok(r, &error);
	if (r >= 0 && sd_bus_message_read(reply, "o", &path) > 0) {
		path2 = strdup(path);
		check_str(path2, path1);
	} else
		check(false);

	check(client_wait_finished(c, "r", 2 * S, &result));
	check_str(result, "replaced");
	list = client_list(c, false);
	check_str(list, "r {\"on\":{\"lines\":[11,27]}}\n");

	read_trace(&t);
	check_int(trace_count(&t, mark, 11), 1); /* on once, never off */
	check_int(trace_value_after(&t, t.n, 11), 1);
	check_int(trace_count(&t, mark, 10), 2);
	check_int(trace_count(&t, mark, 27), 1);
	for (size_t i = mark; i < t.n; i++) {
		if (t.events[i].offset == 10 && t.events[i].value == 0)
			off10 = t.events[i].ns;
		if (t.events[i].offset == 27 && t.events[i].value == 1)
			on27 = t.events[i].ns;
	}
	check(off10 > 0);
	check_int(off10, on27);
	trace_done(&t);

	r = client_call(c, "Stop", &error, NULL, "s", "r");
	check_ok(r, &error);
	read_trace(&t);
	check_int(trace_value_after(&t, t.n, 11), 0);
	check_int(trace_value_after(&t, t.n, 27), 0);
	trace_done(&t);
	sd_bus_error_free(&error);
}

/* Two programs on line 11: lit while either holds it. */
static void test_shared_line(Client *c)
{
	_cleanup_(freep) char *result = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Trace t = {};
	size_t mark = trace_mark(), mark2;
	int r;

	client_forget_signals(c);
	r = client_start(c, "hold", "{\"on\":{\"lines\":[11]}}", &error, NULL);
	check_ok(r, &error);
	r = client_start(c, "flash",
			 "{\"blink\":{\"lines\":[11,10],\"interval\":\"50ms\",\"times\":3}}",
			 &error, NULL);
	check_ok(r, &error);
	check(client_wait_finished(c, "flash", 3 * S, &result));
	check_str(result, "done");

	/* "hold" kept 11 lit through every off phase of "flash"; 10 blinked. */
	read_trace(&t);
	check_int(trace_count(&t, mark, 11), 1);
	check_int(trace_value_after(&t, t.n, 11), 1);
	/* Six edges; a stalled machine may merge an on/off pair (nothing written then). */
	check(trace_count(&t, mark, 10) >= 2 && trace_count(&t, mark, 10) % 2 == 0);
	check_int(trace_value_after(&t, t.n, 10), 0);
	mark2 = t.n;
	trace_done(&t);

	/* The other way round: a second holder keeps it lit when the first stops. */
	r = client_start(c, "hold2", "{\"on\":{\"lines\":[11]}}", &error, NULL);
	check_ok(r, &error);
	r = client_call(c, "Stop", &error, NULL, "s", "hold");
	check_ok(r, &error);
	read_trace(&t);
	check_int(trace_count(&t, mark2, 11), 0);
	check_int(trace_value_after(&t, t.n, 11), 1);
	trace_done(&t);

	r = client_call(c, "Stop", &error, NULL, "s", "hold2");
	check_ok(r, &error);
	read_trace(&t);
	check_int(trace_count(&t, mark2, 11), 1);
	check_int(trace_value_after(&t, t.n, 11), 0);
	trace_done(&t);
	sd_bus_error_free(&error);
}

static void test_object_manager(Client *c)
{
	_cleanup_(freep) char *path = NULL, *want = NULL, *managed = NULL, *result = NULL;
	_cleanup_(freep) char *want2 = NULL, *expected = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *name = "obj-1.x_y";
	Added added = {};
	Trace t = {};
	usec_t before, after;
	const char *s;
	int r;

	client_forget_signals(c);
	managed = client_managed_objects(c);
	check_str(managed, "");
	free(TAKE_PTR(managed));

	before = now_usec(CLOCK_REALTIME);
	r = client_start(c, name, "{\"on\":{\"lines\":[27,10,11]}}", &error, &path);
	check_ok(r, &error);
	after = now_usec(CLOCK_REALTIME);
	want = program_path(name);
	check_str(path, want);

	check(wait_added(c, want, 2 * S, &added));
	check(added.has_interface);
	check_str(added.name, name);
	check_str(added.program, "{\"on\":{\"lines\":[27,10,11]}}");
	check(added.started_usec + S >= before && added.started_usec <= after + S);
	check_int(added.n_lines, 3);
	if (added.n_lines == 3)
		check_str(format_au(added.lines, 3), "10,11,27");
	added_done(&added);

	/* A row, and lines reached through a call, count too. */
	r = client_call(c, "Define", &error, NULL, "ss", "sub", "{\"on\":{\"lines\":[4]}}");
	check_ok(r, &error);
	r = client_start(c, "second",
			 "{\"all\":[{\"call\":\"sub\"},"
			 "{\"blink\":{\"lines\":{\"row\":1},\"interval\":\"1s\"}}]}",
			 &error, NULL);
	check_ok(r, &error);
	want2 = program_path("second");
	check(wait_added(c, want2, 2 * S, &added));
	check_int(added.n_lines, 6);
	if (added.n_lines == 6)
		check_str(format_au(added.lines, 6), "0,3,4,9,17,22");
	added_done(&added);

	if (asprintf(&expected, "%s\n%s\n", want, want2) < 0)
		harness_fatal("out of memory");
	managed = client_managed_objects(c);
	/* Sorted by the harness: either order would do, GetManagedObjects returns a dict. */
	check(managed && strlen(managed) == strlen(expected) && strstr(managed, want) &&
	      strstr(managed, want2));
	free(TAKE_PTR(managed));

	/* The object's properties. */
	r = client_get_property(c, want, BLINKD_PROGRAM_INTERFACE, "Name", "s", &m);
	check(r >= 0);
	check(r >= 0 && sd_bus_message_read(m, "s", &s) > 0 && streq(s, name));
	m = sd_bus_message_unref(m);
	r = client_get_property(c, want, BLINKD_PROGRAM_INTERFACE, "Program", "s", &m);
	check(r >= 0);
	check(r >= 0 && sd_bus_message_read(m, "s", &s) > 0 &&
	      streq(s, "{\"on\":{\"lines\":[27,10,11]}}"));
	m = sd_bus_message_unref(m);

	/* io.blinkd1.Program.Stop() on the object. */
	r = sd_bus_call_method(c->bus, BLINKD_BUS_NAME, want, BLINKD_PROGRAM_INTERFACE, "Stop",
			       &error, NULL, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	check(client_wait_finished(c, name, 2 * S, &result));
	check_str(result, "stopped");
	check(wait_removed(c, want, 2 * S));
	read_trace(&t);
	check_int(trace_value_after(&t, t.n, 27), 0);
	check_int(trace_value_after(&t, t.n, 10), 0);
	check_int(trace_value_after(&t, t.n, 11), 0);
	trace_done(&t);
	free(TAKE_PTR(expected));
	if (asprintf(&expected, "%s\n", want2) < 0)
		harness_fatal("out of memory");
	managed = client_managed_objects(c);
	check_str(managed, expected);
	free(TAKE_PTR(managed));

	/* Stop on the manager removes the object too. */
	r = client_call(c, "Stop", &error, NULL, "s", "second");
	check_ok(r, &error);
	check(wait_removed(c, want2, 2 * S));
	managed = client_managed_objects(c);
	check_str(managed, "");

	/* The object is gone: its Stop() is refused, not answered. */
	r = sd_bus_call_method(c->bus, BLINKD_BUS_NAME, want, BLINKD_PROGRAM_INTERFACE, "Stop",
			       &error, NULL, NULL);
	check(r < 0);
	sd_bus_error_free(&error);
	r = client_call(c, "Undefine", &error, NULL, "s", "sub");
	check_ok(r, &error);
	sd_bus_error_free(&error);
}

/* The lines lit at the end of @t, sorted, as "1,2,3" (static buffer of its own). */
static const char *trace_lit(const Trace *t)
{
	static char buf[512];
	unsigned lit[64];
	size_t n = 0;

	for (size_t i = 0; i < ELEMENTSOF(layout_default_matrix); i++)
		for (size_t j = 0; j < ELEMENTSOF(layout_default_matrix[i]); j++)
			if (trace_value_after(t, t->n, layout_default_matrix[i][j]))
				lit[n++] = layout_default_matrix[i][j];
	qsort(lit, n, sizeof(unsigned), compare_unsigned);
	snprintf(buf, sizeof(buf), "%s", format_au(lit, n));
	return buf;
}

/* The manager's Lit property, sorted, as "1,2,3" (static buffer of its own). */
static const char *lit_property(Client *c)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(freep) unsigned *lit = NULL;
	static char buf[512];
	int n = -1;

	if (client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Lit", "au",
				&m) >= 0)
		n = message_read_au(m, &lit);
	if (n < 0)
		return "(Lit unreadable)";
	qsort(lit, (size_t)n, sizeof(unsigned), compare_unsigned);
	snprintf(buf, sizeof(buf), "%s", format_au(lit, (size_t)n));
	return buf;
}

/*
 * SIGUSR1: the simulated chip vanishes; its programs go on, unseen, and
 * nothing is written. SIGUSR2: it is back, and its lines show the state the
 * programs give them at once.
 */
static void test_chip_lost(Client *c)
{
	_cleanup_(freep) char *list = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Trace t = {};
	size_t mark;
	int r;

	client_forget_signals(c);
	r = client_start(c, "steady", "{\"on\":{\"lines\":[11]}}", &error, NULL);
	check_ok(r, &error);
	r = client_start(c, "blinky", "{\"blink\":{\"lines\":[10],\"interval\":\"20ms\"}}", &error,
			 NULL);
	check_ok(r, &error);
	client_settle(c, 50 * MS);

	check_int(kill(harness_daemon_pid(), SIGUSR1), 0);
	/* No reply tells when the signal was handled: give it time. */
	client_settle(c, 300 * MS);
	mark = trace_mark();
	client_settle(c, 200 * MS);
	/* Nothing ended, nothing was written, and the daemon answers. */
	check(!client_wait_finished(c, "blinky", 10 * MS, NULL));
	check(!client_wait_finished(c, "steady", 10 * MS, NULL));
	check(harness_daemon_alive());
	list = client_list(c, false);
	check_str(list, "blinky {\"blink\":{\"lines\":[10],\"interval\":\"20ms\"}}\n"
			"steady {\"on\":{\"lines\":[11]}}\n");
	read_trace(&t);
	check_int(trace_count(&t, mark, 10), 0);
	trace_done(&t);

	check_int(kill(harness_daemon_pid(), SIGUSR2), 0);
	client_settle(c, 300 * MS);
	(void)trace_wait_count(c, mark, 10, 5);
	read_trace(&t);
	/* Back: the steady line lit again at once, the blinking one blinking again. */
	check(trace_count(&t, mark, 11) >= 1);
	check_int(trace_value_after(&t, t.n, 11), 1);
	check(trace_count(&t, mark, 10) >= 5);
	trace_done(&t);
	/*
	 * Lit as the trace says: read between two reads of the trace with no
	 * batch between them (line 10 blinks every 20 ms; a busy machine makes
	 * the reads far apart), up to ten tries.
	 */
	for (int attempt = 0; attempt < 10; attempt++) {
		Trace after = {};
		const char *lit;
		bool still;

		read_trace(&t);
		lit = lit_property(c);
		read_trace(&after);
		still = after.n == t.n;
		if (still || attempt == 9)
			check_str(trace_lit(&after), lit);
		trace_done(&after);
		trace_done(&t);
		if (still)
			break;
	}

	r = client_call(c, "StopAll", &error, NULL, NULL);
	check_ok(r, &error);
	check(client_wait_finished(c, "blinky", 2 * S, NULL));
	check(client_wait_finished(c, "steady", 2 * S, NULL));
	sd_bus_error_free(&error);
}

/* At the end of the trace, every line of the layout is dark. */
static void check_all_dark(void)
{
	Trace t = {};

	read_trace(&t);
	for (size_t i = 0; i < ELEMENTSOF(layout_default_matrix); i++)
		for (size_t j = 0; j < ELEMENTSOF(layout_default_matrix[i]); j++)
			if (trace_value_after(&t, t.n, layout_default_matrix[i][j]) != 0) {
				fprintf(stderr, "line %u is lit at the end of the trace\n",
					layout_default_matrix[i][j]);
				check_int(trace_value_after(&t, t.n, layout_default_matrix[i][j]),
					  0);
			}
	trace_done(&t);
}

int main(void)
{
	_cleanup_(client_freep) Client *c = NULL;

	harness_init();
	harness_start_daemon(NULL);
	c = client_new();

	test_done(c);
	test_stopped(c);
	test_replace(c);
	test_shared_line(c);
	test_object_manager(c);
	test_chip_lost(c);

	check(harness_daemon_alive());
	check_int(harness_stop_daemon(SIGTERM), 0);
	check_all_dark();
	return test_summary("test-dbus-lifecycle");
}

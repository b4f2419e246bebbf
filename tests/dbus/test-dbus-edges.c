/* SPDX-License-Identifier: MIT */
/*
 * The daemon at the edges of its objects' lifetimes: programs as short as
 * the language allows (100us), started, replaced and stopped back to back
 * with many calls in flight; Stop racing a program's own end; definitions
 * changed under a running "call"; callers that die with calls in flight; a
 * bad Replace; and the bus itself going away.
 *
 * A Recorder sees every reply and every signal of blinkd on one connection,
 * in the order blinkd sent them, and holds each program name to the one
 * order that is right for it:
 *
 *   InterfacesAdded -> [replies] -> InterfacesRemoved -> Finished -> ...
 *
 * A Start or Replace that worked is answered while its object exists (its
 * InterfacesAdded came first); a Stop that worked is followed by exactly one
 * Finished "stopped"; a Stop answered NotRunning comes after the program's
 * Finished "done"; every run gets exactly one Finished; a Finished
 * "replaced" is followed by the new object before the Replace's reply.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dbus-checks.h"

#define N_NAMES 4
#define WINDOW 64 /* calls in flight at once */

typedef enum CallKind {
	CALL_START,
	CALL_REPLACE,
	CALL_STOP,
	_CALL_KIND_MAX,
} CallKind;

static const char *const call_methods[_CALL_KIND_MAX] = { "Start", "Replace", "Stop" };

typedef enum NameState {
	STATE_ABSENT,	/* no object */
	STATE_PRESENT,	/* announced, not removed */
	STATE_REMOVED,	/* removed, its Finished not yet seen */
} NameState;

typedef struct NameModel {
	NameState state;
	bool expect_stopped;	/* a Stop was answered OK: the next Finished says "stopped" */
	bool replaced_pending;	/* a Finished "replaced" awaits its Replace's reply */
	unsigned n_added, n_removed, n_finished;
	unsigned n_started;	/* Start or Replace answered OK */
	unsigned n_stop_ok, n_stop_not_running;
	unsigned results[4];	/* done, stopped, replaced, failed */
} NameModel;

typedef struct Recorder {
	sd_bus *bus;
	sd_bus_slot *match;
	NameModel names[N_NAMES];
	size_t in_flight;
	size_t n_replies;
	unsigned n_violations;
} Recorder;

typedef struct PendingCall {
	Recorder *rec;
	CallKind kind;
	unsigned name;
} PendingCall;

static const char *result_names[4] = { "done", "stopped", "replaced", "failed" };

static void violation(Recorder *rec, unsigned name, const char *what)
{
	test_checks++;
	test_failures++;
	if (rec->n_violations++ < 10)
		fprintf(stderr, "order broken for p%u: %s\n", name, what);
}

/* The program name's index from "p<N>", or -1 for names this test does not drive. */
static int name_index(const char *name)
{
	if (!name || name[0] != 'p' || name[1] < '0' || name[1] >= '0' + N_NAMES || name[2])
		return -1;
	return name[1] - '0';
}

static int name_of_path(const char *path)
{
	_cleanup_(freep) char *name = NULL;

	if (sd_bus_path_decode(path, BLINKD_PROGRAM_PATH_PREFIX, &name) <= 0)
		return -1;
	return name_index(name);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Recorder *rec = userdata;
	const char *member = sd_bus_message_get_member(m);
	const char *s = NULL, *result = NULL;
	NameModel *n;
	int i;

	if (streq(member, "InterfacesAdded") || streq(member, "InterfacesRemoved")) {
		if (sd_bus_message_read(m, "o", &s) < 0 || (i = name_of_path(s)) < 0)
			return 0;
		n = &rec->names[i];
		if (member[10] == 'A') {
			if (n->state != STATE_ABSENT)
				violation(rec, (unsigned)i, "InterfacesAdded while the object exists");
			n->state = STATE_PRESENT;
			n->n_added++;
		} else {
			if (n->state != STATE_PRESENT)
				violation(rec, (unsigned)i, "InterfacesRemoved without an object");
			n->state = STATE_REMOVED;
			n->n_removed++;
		}
	} else if (streq(member, "Finished")) {
		if (sd_bus_message_read(m, "ss", &s, &result) < 0 || (i = name_index(s)) < 0)
			return 0;
		n = &rec->names[i];
		if (n->state != STATE_REMOVED)
			violation(rec, (unsigned)i, "Finished before its InterfacesRemoved");
		n->state = STATE_ABSENT;
		n->n_finished++;
		for (size_t k = 0; k < ELEMENTSOF(result_names); k++)
			if (streq(result, result_names[k]))
				n->results[k]++;
		if (n->expect_stopped && !streq(result, "stopped"))
			violation(rec, (unsigned)i, "a Stop answered OK, but the program ended otherwise");
		n->expect_stopped = false;
		if (streq(result, "replaced"))
			n->replaced_pending = true;
	}
	return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	PendingCall *call = userdata;
	Recorder *rec = call->rec;
	NameModel *n = &rec->names[call->name];
	const sd_bus_error *e = sd_bus_message_get_error(m);
	const char *path = NULL;

	rec->in_flight--;
	rec->n_replies++;
	switch (call->kind) {
	case CALL_START:
	case CALL_REPLACE:
		if (e && call->kind == CALL_START && streq(e->name, BLINKD_ERROR_EXISTS)) {
			if (n->state == STATE_ABSENT)
				violation(rec, call->name, "Start refused as Exists, with no object");
			break;
		}
		if (e) {
			violation(rec, call->name, e->message);
			break;
		}
		if (sd_bus_message_read(m, "o", &path) < 0 || name_of_path(path) != (int)call->name)
			violation(rec, call->name, "the reply does not carry the program's path");
		if (n->state != STATE_PRESENT)
			violation(rec, call->name, "Start/Replace answered before InterfacesAdded");
		if (call->kind == CALL_START && n->replaced_pending)
			violation(rec, call->name, "a Start replaced a program");
		n->replaced_pending = false;
		n->n_started++;
		break;
	case CALL_STOP:
		if (!e) {
			if (n->state != STATE_PRESENT)
				violation(rec, call->name, "Stop answered OK after the object went");
			n->expect_stopped = true;
			n->n_stop_ok++;
		} else if (streq(e->name, BLINKD_ERROR_NOT_RUNNING)) {
			if (n->state != STATE_ABSENT)
				violation(rec, call->name, "Stop answered NotRunning before Finished");
			n->n_stop_not_running++;
		} else
			violation(rec, call->name, e->message);
		break;
	default:
		break;
	}
	free(call);
	return 0;
}

static void recorder_init(Recorder *rec)
{
	*rec = (Recorder){};
	if (sd_bus_open_user(&rec->bus) < 0)
		harness_fatal("cannot connect to the private bus");
	if (sd_bus_add_match(rec->bus, &rec->match, "type='signal',sender='" BLINKD_BUS_NAME "'",
			     on_signal, rec) < 0)
		harness_fatal("cannot add a match");
}

static void recorder_done(Recorder *rec)
{
	sd_bus_slot_unref(rec->match);
	sd_bus_flush_close_unref(rec->bus);
}

/* Process what has arrived. */
static void recorder_process(Recorder *rec)
{
	int r;

	while ((r = sd_bus_process(rec->bus, NULL)) > 0)
		;
	if (r < 0)
		harness_fatal("the recorder's connection failed: %s", strerror(-r));
}

/* Process what has arrived, then wait up to @usec for more. */
static void recorder_pump(Recorder *rec, usec_t usec)
{
	recorder_process(rec);
	if (usec > 0)
		(void)sd_bus_wait(rec->bus, usec);
}

static void recorder_call(Recorder *rec, CallKind kind, unsigned name, const char *program)
{
	PendingCall *call = calloc(1, sizeof(*call));
	char pname[8];
	int r;

	if (!call)
		harness_fatal("out of memory");
	*call = (PendingCall){ rec, kind, name };
	snprintf(pname, sizeof(pname), "p%u", name);
	while (rec->in_flight >= WINDOW)
		recorder_pump(rec, 100 * MS);
	if (kind == CALL_STOP)
		r = sd_bus_call_method_async(rec->bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					     BLINKD_MANAGER_INTERFACE, call_methods[kind], on_reply,
					     call, "s", pname);
	else
		r = sd_bus_call_method_async(rec->bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					     BLINKD_MANAGER_INTERFACE, call_methods[kind], on_reply,
					     call, "ss", pname, program);
	if (r < 0)
		harness_fatal("cannot send %s: %s", call_methods[kind], strerror(-r));
	rec->in_flight++;
}

/* Wait until every call is answered and every program has ended and been reported. */
static void recorder_finish(Recorder *rec)
{
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + harness_timeout();
	bool settled;

	for (;;) {
		recorder_process(rec);
		settled = rec->in_flight == 0;
		for (unsigned i = 0; i < N_NAMES; i++)
			settled = settled && rec->names[i].state == STATE_ABSENT;
		if (settled || now_usec(CLOCK_MONOTONIC) >= deadline)
			break;
		(void)sd_bus_wait(rec->bus, 50 * MS);
	}
	check(settled);
}

static void check_model_counts(const Recorder *rec, unsigned *ret_runs)
{
	unsigned runs = 0;

	for (unsigned i = 0; i < N_NAMES; i++) {
		const NameModel *n = &rec->names[i];

		/* One object, one removal, one Finished per run that was answered as started. */
		check_int(n->n_added, n->n_started);
		check_int(n->n_removed, n->n_started);
		check_int(n->n_finished, n->n_started);
		/* Exactly one of stopped/done per Stop: OK ones stopped a program. */
		check_int(n->results[1], n->n_stop_ok);
		check_int(n->results[3], 0);
		runs += n->n_started;
	}
	*ret_runs = runs;
}

/*
 * Start, Replace and Stop of 100us programs, many in flight, over four
 * names: each ends by itself, is replaced, or is stopped, whichever comes
 * first, and each way the bus must say it in order.
 */
static void test_storm(unsigned rounds)
{
	static const char *const programs[] = {
		"{\"wait\":\"100us\"}",
		"{\"blink\":{\"lines\":[11],\"interval\":\"100us\",\"times\":1}}",
		"{\"on\":{\"lines\":[11,10],\"for\":\"100us\"}}",
		"{\"sequence\":[{\"on\":{\"lines\":[12],\"for\":\"100us\"}},{\"wait\":\"100us\"}]}",
	};
	Recorder rec;
	unsigned runs, stop_ok = 0, stop_nr = 0, done = 0, replaced = 0;
	usec_t t0 = now_usec(CLOCK_MONOTONIC);

	harness_start_daemon(NULL);
	recorder_init(&rec);
	for (unsigned k = 0; k < rounds; k++) {
		unsigned name = k % N_NAMES;

		recorder_call(&rec, CALL_START, name, programs[k % ELEMENTSOF(programs)]);
		recorder_call(&rec, CALL_REPLACE, name, programs[(k + 1) % ELEMENTSOF(programs)]);
		recorder_call(&rec, CALL_STOP, name, NULL);
		recorder_pump(&rec, 0);
	}
	recorder_finish(&rec);
	check_model_counts(&rec, &runs);
	for (unsigned i = 0; i < N_NAMES; i++) {
		stop_ok += rec.names[i].n_stop_ok;
		stop_nr += rec.names[i].n_stop_not_running;
		done += rec.names[i].results[0];
		replaced += rec.names[i].results[2];
	}
	check_int(rec.n_replies, 3 * rounds);
	check_int(stop_ok + stop_nr, rounds);
	check_int(rec.n_violations, 0);
	printf("storm: %u rounds of Start/Replace/Stop in %.1f s: %u runs, %u done, %u replaced, "
	       "%u stopped, %u Stops found it ended\n",
	       rounds, (double)(now_usec(CLOCK_MONOTONIC) - t0) / S, runs, done, replaced, stop_ok,
	       stop_nr);
	recorder_done(&rec);
	check(harness_daemon_alive());
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/* Stop sent the moment the reply to Start arrives, for programs of 100us: races their end. */
static void test_stop_races_end(unsigned rounds)
{
	Recorder rec;
	unsigned runs, stopped = 0, done = 0;

	harness_start_daemon(NULL);
	recorder_init(&rec);
	for (unsigned k = 0; k < rounds; k++) {
		recorder_call(&rec, CALL_START, 0, "{\"wait\":\"100us\"}");
		recorder_call(&rec, CALL_STOP, 0, NULL);
		recorder_finish(&rec);
	}
	check_model_counts(&rec, &runs);
	check_int(runs, rounds);
	stopped = rec.names[0].results[1];
	done = rec.names[0].results[0];
	check_int(stopped + done, rounds);
	check_int(rec.names[0].n_stop_not_running, done);
	check_int(rec.n_violations, 0);
	printf("stop racing the end: %u rounds, %u stopped, %u done\n", rounds, stopped, done);
	recorder_done(&rec);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/* Redefining or undefining a name changes nothing for a run that calls it already. */
static void test_redefine_under_call(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(freep) char *path = program_path("caller");
	_cleanup_(freep) unsigned *lines = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(freep) char *result = NULL;
	Trace t = {};
	usec_t t0;
	int r, n;

	harness_start_daemon(NULL);
	/*
	 * Long enough that the 200 calls below end before it does, on a loaded
	 * machine too: each Define and Undefine is answered once state.json
	 * holds it, a write and two fsyncs in the writer's thread (on a machine
	 * at load 20, up to 15 ms a call).
	 */
	r = client_call(c, "Define", &error, NULL, "ss", "d", "{\"on\":{\"lines\":[11],\"for\":\"5s\"}}");
	check_ok(r, &error);
	t0 = now_usec(CLOCK_MONOTONIC);
	r = client_start(c, "caller", "{\"sequence\":[{\"call\":\"d\"},{\"call\":\"d\"}]}", &error,
			 NULL);
	check_ok(r, &error);
	/* Under the running call: redefine, undefine, define again, many times. */
	for (unsigned k = 0; k < 100; k++) {
		r = client_call(c, "Define", &error, NULL, "ss", "d",
				"{\"on\":{\"lines\":[12],\"for\":\"100us\"}}");
		check_ok(r, &error);
		r = client_call(c, "Undefine", &error, NULL, "s", "d");
		check_ok(r, &error);
	}
	r = client_get_property(c, path, BLINKD_PROGRAM_INTERFACE, "Lines", "au", &reply);
	/*
	 * Judged when the reply came within the program's 4 s (it started
	 * after t0): a machine busy enough can take longer for the 400 calls.
	 */
	if (now_usec(CLOCK_MONOTONIC) < t0 + 4 * S)
		check_int(r >= 0, 1);
	else if (r < 0)
		printf("redefine under call: the calls outlasted the program, its Lines not read\n");
	if (r >= 0) {
		n = message_read_au(reply, &lines);
		check_str(format_au(lines, n > 0 ? (size_t)n : 0), "11");
	}
	/* A new run of the name now finds no definition. */
	r = client_start(c, "late", "{\"call\":\"d\"}", &error, NULL);
	check_error(r, &error, BLINKD_ERROR_NOT_DEFINED);
	sd_bus_error_free(&error);

	check(client_wait_finished(c, "caller", harness_timeout(), &result));
	check_str(result, "done");
	check_int(trace_read(harness_trace_path(), &t), 0);
	/* The bound program ran both rounds on line 11; line 12 never lit. */
	check_int(trace_count(&t, 0, 12), 0);
	check(trace_count(&t, 0, 11) >= 2);
	trace_done(&t);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/*
 * Callers that leave with calls in flight: a child sends a burst of Starts,
 * Replaces and Stops and is killed before it reads a reply. The daemon
 * answers to nobody, lists what it started, and goes on.
 */
static void test_callers_killed(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(freep) char *list = NULL;
	int r;

	harness_start_daemon(NULL);
	for (unsigned k = 0; k < 30; k++) {
		pid_t pid = fork();

		if (pid < 0)
			harness_fatal("fork failed");
		if (pid == 0) {
			sd_bus *bus = NULL;
			char name[32];

			if (sd_bus_open_user(&bus) < 0)
				_exit(1);
			for (unsigned j = 0; j < 20; j++) {
				snprintf(name, sizeof(name), "k%u", j % 5);
				(void)sd_bus_call_method_async(bus, NULL, BLINKD_BUS_NAME,
							       BLINKD_OBJECT_PATH,
							       BLINKD_MANAGER_INTERFACE,
							       j % 3 == 2 ? "Stop" : "Replace", NULL,
							       NULL, j % 3 == 2 ? "s" : "ss", name,
							       j % 2 ? "{\"wait\":\"100us\"}"
								     : "{\"on\":{\"lines\":[4]}}");
			}
			(void)sd_bus_flush(bus);
			(void)raise(SIGKILL);
		}
		(void)waitpid(pid, NULL, 0);
	}
	client_settle(c, 100 * MS);
	check(harness_daemon_alive());
	/* Still answering, and consistent: what it lists, it can stop. */
	list = client_list(c, false);
	check(list != NULL);
	r = client_call(c, "StopAll", &error, NULL, "");
	check_ok(r, &error);
	free(list);
	list = client_list(c, false);
	check_str(list, "");
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/* A Replace that cannot start leaves the old program running, untouched and unannounced. */
static void test_bad_replace(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Snapshot before = {};
	int r;

	harness_start_daemon(NULL);
	r = client_start(c, "x", "{\"blink\":{\"lines\":[11],\"interval\":\"5ms\"}}", &error, NULL);
	check_ok(r, &error);
	r = client_call(c, "Define", &error, NULL, "ss", "a", "{\"call\":\"b\"}");
	check_ok(r, &error);
	client_settle(c, 20 * MS);
	client_forget_signals(c);
	snapshot_take(c, &before);

	r = client_call(c, "Replace", &error, NULL, "ss", "x", "{\"blink\":{}}");
	check_error(r, &error, BLINKD_ERROR_INVALID_PROGRAM);
	sd_bus_error_free(&error);
	r = client_call(c, "Replace", &error, NULL, "ss", "x", "{\"call\":\"a\"}");
	check_error(r, &error, BLINKD_ERROR_NOT_DEFINED);
	sd_bus_error_free(&error);
	r = client_call(c, "Replace", &error, NULL, "ss", "x", "{\"wait\":\"1s\\u0000\"}");
	check_error(r, &error, BLINKD_ERROR_INVALID_PROGRAM);
	sd_bus_error_free(&error);

	client_settle(c, 20 * MS);
	check_int(client_count_signals(c, BLINKD_MANAGER_INTERFACE, "Finished"), 0);
	check_int(client_count_signals(c, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved"), 0);
	/* Still blinking, still listed as it was. */
	{
		_cleanup_(freep) char *list = client_list(c, false);
		check_str(list, before.list);
	}
	snapshot_done(&before);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

static int keep_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	sd_bus_message **slot = userdata;

	*slot = sd_bus_message_ref(m);
	return 0;
}

/* How many entries the array at the reply's start has (skipping each). */
static int count_array(sd_bus_message *m, const char *contents)
{
	int n = 0, r;

	r = sd_bus_message_enter_container(m, 'a', contents);
	if (r < 0)
		return r;
	while ((r = sd_bus_message_skip(m, contents)) > 0)
		n++;
	return r < 0 ? r : n;
}

/*
 * Replies that list every program are built in slices: each shows the
 * state as of its call, even when StopAll, queued right behind, ends every
 * program before the reply is whole; and GetManagedObjects says what the
 * objects' own properties say.
 */
static void test_sliced_replies(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_message *replies[5] = {};
	static const char *const calls[][4] = {
		{ BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "List" },
		{ BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "ListDefinitions" },
		{ BLINKD_OBJECT_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects" },
		{ BLINKD_PROGRAM_PATH_PREFIX, "org.freedesktop.DBus.Introspectable", "Introspect" },
		{ BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "StopAll" },
	};
	unsigned n = harness_wrapper() ? 300 : 3000;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(freep) char *list = NULL;
	usec_t deadline;
	const char *xml = NULL;
	char name[16];
	int r;

	harness_start_daemon("{\"max_programs\":5000}");
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "p%04u", i);
		r = client_start(c, name, "{\"on\":{\"lines\":[11]}}", &error, NULL);
		check_ok(r, &error);
		if (r < 0)
			break;
	}
	r = client_call(c, "Define", &error, NULL, "ss", "d", "{\"wait\":1}");
	check_ok(r, &error);
	for (size_t i = 0; i < ELEMENTSOF(calls); i++)
		if (sd_bus_call_method_async(c->bus, NULL, BLINKD_BUS_NAME, calls[i][0], calls[i][1],
					     calls[i][2], keep_reply, &replies[i], "") < 0)
			harness_fatal("cannot send %s", calls[i][2]);
	deadline = now_usec(CLOCK_MONOTONIC) + harness_timeout();
	while (!replies[ELEMENTSOF(calls) - 1] && now_usec(CLOCK_MONOTONIC) < deadline)
		client_settle(c, 10 * MS);
	for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
		check(replies[i] && !sd_bus_message_is_method_error(replies[i], NULL));
		if (!replies[i] || sd_bus_message_is_method_error(replies[i], NULL))
			goto finish;
	}
	check_int(count_array(replies[0], "(ss)"), n);
	check_int(count_array(replies[1], "(ss)"), 1);
	check_int(count_array(replies[2], "{oa{sa{sv}}}"), n);
	check_int(sd_bus_message_read(replies[3], "s", &xml), 1);
	{
		size_t nodes = 0;
		for (const char *p = xml; p && (p = strstr(p, "<node name=\"p")); p++)
			nodes++;
		check_int(nodes, n);
		check_contains(xml, "<node name=\"p0000\"/>");
	}
	list = client_list(c, false);
	check_str(list, "");

	/* One object's entry in GetManagedObjects is its GetAll. */
	{
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *all = NULL, *objects = NULL;
		_cleanup_(freep) char *path = NULL;

		r = client_start(c, "one", "{\"blink\":{\"lines\":[4],\"interval\":\"1s\"}}", &error, &path);
		check_ok(r, &error);
		r = sd_bus_call_method(c->bus, BLINKD_BUS_NAME, path, "org.freedesktop.DBus.Properties",
				       "GetAll", &error, &all, "s", BLINKD_PROGRAM_INTERFACE);
		check_ok(r, &error);
		r = sd_bus_call_method(c->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				       "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &error,
				       &objects, "");
		check_ok(r, &error);
		if (all && objects) {
			const char *object_path, *interface;
			bool found = false;

			check_int(sd_bus_message_enter_container(objects, 'a', "{oa{sa{sv}}}"), 1);
			check_int(sd_bus_message_enter_container(objects, 'e', "oa{sa{sv}}"), 1);
			check_int(sd_bus_message_read(objects, "o", &object_path), 1);
			check_str(object_path, path);
			check_int(sd_bus_message_enter_container(objects, 'a', "{sa{sv}}"), 1);
			while (sd_bus_message_enter_container(objects, 'e', "sa{sv}") > 0) {
				check_int(sd_bus_message_read(objects, "s", &interface), 1);
				if (streq(interface, BLINKD_PROGRAM_INTERFACE)) {
					/* The same keys, values and order, as sd-bus prints them. */
					found = true;
					{
						_cleanup_(freep) char *text_all = NULL, *text_obj = NULL;
						size_t la = 0, lo = 0;
						FILE *fa = open_memstream(&text_all, &la);
						FILE *fo = open_memstream(&text_obj, &lo);

						check_int(sd_bus_message_dump(all, fa, SD_BUS_MESSAGE_DUMP_SUBTREE_ONLY), 0);
						check_int(sd_bus_message_dump(objects, fo, SD_BUS_MESSAGE_DUMP_SUBTREE_ONLY), 0);
						fclose(fa);
						fclose(fo);
						/* The entry's dump starts with its interface name. */
						check_contains(text_obj, text_all);
					}
					break;
				}
				check_int(sd_bus_message_skip(objects, "a{sv}"), 1);
				check_int(sd_bus_message_exit_container(objects), 1);
			}
			check(found);
		}
	}
finish:
	for (size_t i = 0; i < ELEMENTSOF(calls); i++)
		sd_bus_message_unref(replies[i]);
	sd_bus_error_free(&error);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/*
 * A reply in slices lists programs that end on their own meanwhile: their
 * timers run between the slices (the bus's other calls wait), so a program
 * is gone from the daemon's tables while a reply still has to describe it.
 * Every reply must still come, whole, with no more entries than were
 * started; under ASan a program freed under a reply stops the daemon.
 */
static void test_sliced_replies_outlive_programs(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	static const char *const calls[][3] = {
		{ BLINKD_OBJECT_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects" },
		{ BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "List" },
		{ BLINKD_PROGRAM_PATH_PREFIX, "org.freedesktop.DBus.Introspectable", "Introspect" },
	};
	unsigned n = harness_wrapper() ? 200 : 2000, rounds = 0, shrinking = 0;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(freep) char *list = NULL;
	int last = -1, r;
	char name[16], program[64];
	usec_t end;

	harness_start_daemon("{\"max_programs\":5000}");
	/* Each ends by itself, 1 to 2 s after its start, one after another. */
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "q%04u", i);
		snprintf(program, sizeof(program), "{\"wait\":\"%ums\"}", 1000 + 1000 * i / n);
		r = client_start(c, name, program, &error, NULL);
		check_ok(r, &error);
		if (r < 0)
			goto finish;
	}
	/*
	 * 2.5 s, and on a busy machine (slower calls, fewer rounds) on until
	 * the objects are gone, up to the harness's timeout more.
	 */
	end = now_usec(CLOCK_MONOTONIC) + 2500 * MS;
	while (now_usec(CLOCK_MONOTONIC) < end ||
	       (last > 0 && now_usec(CLOCK_MONOTONIC) < end + harness_timeout())) {
		sd_bus_message *replies[ELEMENTSOF(calls)] = {};
		usec_t deadline = now_usec(CLOCK_MONOTONIC) + harness_timeout();
		bool whole = true;

		for (size_t i = 0; i < ELEMENTSOF(calls); i++)
			if (sd_bus_call_method_async(c->bus, NULL, BLINKD_BUS_NAME, calls[i][0], calls[i][1],
						     calls[i][2], keep_reply, &replies[i], "") < 0)
				harness_fatal("cannot send %s", calls[i][2]);
		while (!replies[ELEMENTSOF(calls) - 1] && now_usec(CLOCK_MONOTONIC) < deadline)
			client_settle(c, 5 * MS);
		for (size_t i = 0; i < ELEMENTSOF(calls); i++)
			whole = whole && replies[i] && !sd_bus_message_is_method_error(replies[i], NULL);
		check(whole);
		if (whole) {
			int objects = count_array(replies[0], "{oa{sa{sv}}}");
			int listed = count_array(replies[1], "(ss)");

			check(objects >= 0 && objects <= (int)n);
			check(listed >= 0 && listed <= (int)n);
			if (last >= 0 && objects < last)
				shrinking++;
			last = objects;
		}
		for (size_t i = 0; i < ELEMENTSOF(calls); i++)
			sd_bus_message_unref(replies[i]);
		rounds++;
		if (!whole)
			break;
	}
	/* The replies were made while programs ended: the lists did shrink. */
	check(rounds >= 2);
	check(shrinking >= 1);
	list = client_list(c, false);
	check_str(list, "");
finish:
	sd_bus_error_free(&error);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/*
 * The bus goes, the daemon goes: when dbus-daemon dies, blinkd turns its
 * lines off, says why, and exits non-zero (the unit's Restart= brings it
 * back). Last: the harness's bus is gone after it.
 */
static void test_bus_lost(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(freep) char *log = NULL;
	Trace t = {};
	int r, code;

	harness_start_daemon(NULL);
	r = client_start(c, "lit", "{\"on\":{\"lines\":[11,10]}}", &error, NULL);
	check_ok(r, &error);
	client_settle(c, 20 * MS);
	c = client_free(c);

	(void)kill(harness_bus_pid(), SIGKILL);
	code = harness_stop_daemon(0);
	check(code != 0 && code != -ETIMEDOUT);
	log = read_file(harness_daemon_log());
	check_contains(log, "Lost the connection to the bus");
	check_int(trace_read(harness_trace_path(), &t), 0);
	check(t.n >= 4);
	if (t.n >= 4) {
		check_int(trace_value_after(&t, t.n, 11), 0);
		check_int(trace_value_after(&t, t.n, 10), 0);
	}
	trace_done(&t);
}

int main(void)
{
	/* valgrind slows the daemon some 20 times: fewer rounds, the same checks. */
	unsigned scale = harness_wrapper() ? 20 : 1;

	harness_init();
	test_storm(10000 / scale);
	test_stop_races_end(1000 / scale);
	test_redefine_under_call();
	test_callers_killed();
	test_bad_replace();
	test_sliced_replies();
	test_sliced_replies_outlive_programs();
	test_bus_lost();
	return test_summary("test-dbus-edges");
}

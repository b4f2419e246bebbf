/* SPDX-License-Identifier: MIT */
/*
 * The manager without D-Bus: on a virtual clock and the simulated chip, with
 * a recording table of bus ops. Every call's reports come in the one right
 * order, an end inside a call is reported only after it (the Running stays
 * valid until then), each run ends exactly once, and the program limit,
 * definitions under a running "call" and a lost chip behave as documented.
 * Run under ASan+UBSan in CI: the 100us churn below is what would read
 * freed memory if any path freed a Running a caller still holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manager.h"
#include "test.h"

#define MS USEC_PER_MSEC

/* Far in the real clock's future, so the engine's sd-event timer never fires by itself. */
static usec_t vnow;

static usec_t virtual_clock(void *userdata)
{
	return vnow;
}

/* The wall clock: it goes on across a simulated reboot, while the monotonic one starts again. */
static usec_t vreal = 1700000000ULL * USEC_PER_SEC;

static usec_t virtual_realtime(void *userdata)
{
	return vreal;
}

typedef enum EventKind {
	EV_ADDED,
	EV_ENDED,
} EventKind;

typedef struct Event {
	EventKind kind;
	char name[16];
	RunResult result;
} Event;

static struct {
	Event events[64];
	size_t n;	 /* kept, up to 64 */
	size_t n_total;
	/* Per name of the churn (c0..c3): announced and not yet ended. */
	bool present[4];
	unsigned n_added[4], n_ended[4];
	unsigned n_order_broken;
	Manager *m;
} rec;

static int churn_index(const char *name)
{
	return name[0] == 'c' && name[1] >= '0' && name[1] <= '3' && !name[2] ? name[1] - '0' : -1;
}

static void record(EventKind kind, const Running *r, RunResult result)
{
	int i = churn_index(r->name);

	/* The object is listed while either is reported: sd-bus looks it up then. */
	if (manager_get_running(rec.m, r->name) != r)
		rec.n_order_broken++;
	if (i >= 0) {
		if (rec.present[i] == (kind == EV_ADDED))
			rec.n_order_broken++;
		rec.present[i] = kind == EV_ADDED;
		if (kind == EV_ADDED)
			rec.n_added[i]++;
		else
			rec.n_ended[i]++;
	}
	if (rec.n < ELEMENTSOF(rec.events)) {
		rec.events[rec.n] = (Event){ .kind = kind, .result = result };
		snprintf(rec.events[rec.n].name, sizeof(rec.events[0].name), "%s", r->name);
		rec.n++;
	}
	rec.n_total++;
}

static void rec_added(void *userdata, const Running *r)
{
	record(EV_ADDED, r, RUN_DONE);
}

static void rec_ended(void *userdata, Running *r, RunResult result)
{
	record(EV_ENDED, r, result);
}

static const ManagerBusOps rec_ops = {
	.program_added = rec_added,
	.program_ended = rec_ended,
};

static void forget(void)
{
	rec.n = 0;
}

/* The recorded events as "+a -b:stopped ..." for check_str. */
static const char *events(void)
{
	static char buf[1024];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rec.n && len < sizeof(buf) - 40; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%c%s%s%s", i ? " " : "",
					rec.events[i].kind == EV_ADDED ? '+' : '-',
					rec.events[i].name,
					rec.events[i].kind == EV_ENDED ? ":" : "",
					rec.events[i].kind == EV_ENDED
						? run_result_to_string(rec.events[i].result)
						: "");
	return buf;
}

/* What sd-event does after a bus call returns: dispatch the deferred report. */
static void dispatch(Manager *m)
{
	while (sd_event_run(m->event, 0) > 0)
		;
}

static const char *lit(Manager *m)
{
	static char buf[256];
	unsigned offsets[64];
	size_t n = manager_get_lit(m, offsets, ELEMENTSOF(offsets)), len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(buf) - 12; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? "," : "", offsets[i]);
	return buf;
}

static Manager *manager_with_config(const char *config, const char *state_dir)
{
	char path[] = "/tmp/test-manager-XXXXXX";
	Manager *m = NULL;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		abort();
	if (write(fd, config, strlen(config)) != (ssize_t)strlen(config))
		abort();
	close(fd);
	check_int(manager_new(&m,
			      &(ManagerOptions){
				      .config_path = path,
				      .config_must_exist = true,
				      .state_dir = state_dir,
				      .clock = virtual_clock,
				      .clock_realtime = virtual_realtime,
			      }),
		  0);
	unlink(path);
	if (!m)
		abort();
	manager_set_bus(m, &rec_ops, NULL);
	rec.m = m;
	forget();
	return m;
}

static Manager *manager_with_state(unsigned max_programs, const char *state_dir)
{
	char config[128];

	snprintf(config, sizeof(config), "{\"chip\":\"sim\",\"max_programs\":%u}", max_programs);
	return manager_with_config(config, state_dir);
}

static Manager *manager_for_test(unsigned max_programs)
{
	return manager_with_state(max_programs, NULL);
}

static int start(Manager *m, const char *name, const char *program, bool replace,
		 ManagerErrorKind *ret_kind)
{
	ManagerError e = {};
	int r = manager_start_program(m, name, program, replace, &e);

	if (ret_kind)
		*ret_kind = e.kind;
	else if (r < 0)
		fprintf(stderr, "start %s failed: %s\n", name, e.message);
	return r;
}

/* A program that ends inside a call is reported after it, and valid until then. */
static void test_end_inside_call(void)
{
	Manager *m = manager_for_test(16);
	ManagerError e = {};
	Running *r;

	check_int(start(m, "a", "{\"on\":{\"lines\":[11]}}", false, NULL), 0);
	check_str(events(), "+a");
	check_str(lit(m), "11");

	forget();
	r = manager_get_running(m, "a");
	check_int(manager_stop_program(m, "a", &e), 0);
	/* Stopped at this instant, lines dark, but reported after the call. */
	check_str(events(), "");
	check_str(lit(m), "");
	check(manager_get_running(m, "a") == r);
	check_str(r->name, "a"); /* still valid: ASan would see it otherwise */
	dispatch(m);
	check_str(events(), "-a:stopped");
	check(manager_get_running(m, "a") == NULL);
	manager_free(m);
}

/* A program that ended by itself is reported at the start of the next call, before it acts. */
static void test_end_before_call(void)
{
	Manager *m = manager_for_test(16);
	ManagerError e = {};

	check_int(start(m, "w", "{\"wait\":\"100us\"}", false, NULL), 0);
	vnow += 100; /* its end, exactly */
	forget();
	/* The name is free again: the Start finds it ended. */
	check_int(start(m, "w", "{\"on\":{\"lines\":[10],\"for\":\"100us\"}}", false, NULL), 0);
	check_str(events(), "-w:done +w");

	/* Stop at 99us: stopped. At 100us: it ended by itself, NotRunning. One of the two. */
	vnow += 99;
	forget();
	check_int(manager_stop_program(m, "w", &e), 0);
	check_str(events(), "");
	dispatch(m);
	check_str(events(), "-w:stopped");

	check_int(start(m, "w", "{\"wait\":\"100us\"}", false, NULL), 0);
	vnow += 100;
	forget();
	check_int(manager_stop_program(m, "w", &e), -EINVAL);
	check_int(e.kind, MANAGER_ERROR_NOT_RUNNING);
	check_str(events(), "-w:done");
	dispatch(m);
	check_str(events(), "-w:done");
	manager_free(m);
}

/* Replace: the old object goes before the new one of the same path is announced, in the call. */
static void test_replace(void)
{
	Manager *m = manager_for_test(16);
	ManagerErrorKind kind;

	check_int(start(m, "x", "{\"on\":{\"lines\":[11]}}", false, NULL), 0);
	forget();
	check_int(start(m, "x", "{\"on\":{\"lines\":[11,10]}}", true, NULL), 0);
	check_str(events(), "-x:replaced +x");
	check_str(lit(m), "10,11");

	/* A Replace that cannot start leaves the old one running, and says nothing. */
	forget();
	check(start(m, "x", "{\"call\":\"nothing\"}", true, &kind) < 0);
	check_int(kind, MANAGER_ERROR_NOT_DEFINED);
	check(start(m, "x", "{\"blink\":{}}", true, &kind) < 0);
	check_int(kind, MANAGER_ERROR_INVALID_PROGRAM);
	check(start(m, "x", "{\"wait\":1}", false, &kind) < 0);
	check_int(kind, MANAGER_ERROR_EXISTS);
	check(start(m, "bad name", "{\"wait\":1}", false, &kind) < 0);
	check_int(kind, MANAGER_ERROR_INVALID_NAME);
	dispatch(m);
	check_str(events(), "");
	check_str(lit(m), "10,11");
	check_str(manager_get_running(m, "x")->canonical, "{\"on\":{\"lines\":[11,10]}}");

	/* Replace of a name that runs nothing starts it. */
	forget();
	check_int(start(m, "y", "{\"wait\":1}", true, NULL), 0);
	check_str(events(), "+y");
	manager_free(m);
}

/* StopAll: every running program ends stopped, one that ended by itself done, each once. */
static void test_stop_all(void)
{
	Manager *m = manager_for_test(16);

	check_int(start(m, "a", "{\"on\":{\"lines\":[11]}}", false, NULL), 0);
	check_int(start(m, "b", "{\"wait\":\"100us\"}", false, NULL), 0);
	check_int(start(m, "c", "{\"blink\":{\"lines\":[10],\"interval\":\"100us\"}}", false, NULL), 0);
	vnow += 150;
	forget();
	manager_stop_all_programs(m);
	check_str(events(), "-b:done");
	check_str(lit(m), "");
	dispatch(m);
	check_str(events(), "-b:done -a:stopped -c:stopped");
	check_int(m->registry.running.n, 0);
	manager_free(m);
}

/* The limit counts what runs: an end frees a place, a Replace needs none. */
static void test_limit(void)
{
	Manager *m = manager_for_test(3);
	ManagerError e = {};
	ManagerErrorKind kind;

	check_int(start(m, "a", "{\"wait\":\"100us\"}", false, NULL), 0);
	check_int(start(m, "b", "{\"wait\":1}", false, NULL), 0);
	check_int(start(m, "c", "{\"wait\":1}", false, NULL), 0);
	check(start(m, "d", "{\"wait\":1}", false, &kind) < 0);
	check_int(kind, MANAGER_ERROR_LIMIT_EXCEEDED);
	check_int(start(m, "c", "{\"wait\":2}", true, NULL), 0);
	vnow += 100; /* a ends */
	check_int(start(m, "d", "{\"wait\":1}", false, NULL), 0);
	check_int(m->registry.running.n, 3);
	check_int(manager_stop_program(m, "b", &e), 0);
	/* Stopped but not yet reported: its place is free for the next call all the same. */
	check_int(start(m, "e", "{\"wait\":1}", false, NULL), 0);
	dispatch(m);
	check_int(m->registry.running.n, 3);
	manager_free(m);
}

/* A run binds what it calls when it starts; definitions changed under it change nothing. */
static void test_definitions_under_call(void)
{
	Manager *m = manager_for_test(16);
	ManagerError e = {};
	ManagerErrorKind kind;

	check_int(manager_define(m, "d", "{\"on\":{\"lines\":[11],\"for\":\"1ms\"}}", &e), 0);
	check_int(start(m, "c", "{\"sequence\":[{\"call\":\"d\"},{\"call\":\"d\"}]}", false, NULL), 0);
	check_int(manager_define(m, "d", "{\"on\":{\"lines\":[12]}}", &e), 0);
	check_int(manager_undefine(m, "d", &e), 0);
	check_int(manager_undefine(m, "d", &e), -EINVAL);
	check_int(e.kind, MANAGER_ERROR_NOT_DEFINED);
	vnow += 1 * MS;
	manager_tick(m);
	check_str(lit(m), "11"); /* the second round, of the bound definition */
	check(start(m, "late", "{\"call\":\"d\"}", false, &kind) < 0);
	check_int(kind, MANAGER_ERROR_NOT_DEFINED);
	vnow += 1 * MS;
	forget();
	manager_tick(m);
	check_str(events(), "-c:done");
	check_str(lit(m), "");

	/* A definition that would close a cycle is refused, and the old one stays. */
	check_int(manager_define(m, "p", "{\"call\":\"q\"}", &e), 0);
	check_int(manager_define(m, "q", "{\"call\":\"p\"}", &e), -EINVAL);
	check_int(e.kind, MANAGER_ERROR_INVALID_PROGRAM);
	check(strstr(e.message, "call cycle") != NULL);
	manager_free(m);
}

/*
 * A chip vanishes under a running program: the program goes on, unseen on
 * that chip and seen on the other; the chip returns with its lines in phase,
 * and lines no program drives take their initial state again.
 */
static void test_chip_lost(void)
{
	Manager *m = manager_with_config(
		"{\"chip\":\"sim\",\"matrix\":[[11,10]],"
		"\"lines\":{\"11\":{\"alias\":\"status\",\"active_low\":true},"
		"\"exp:3\":{\"alias\":\"relay\",\"initial\":\"on\"},\"exp:LEDB\":{\"alias\":\"ledb\"},"
		"\"exp:5\":{\"alias\":\"kept\",\"initial\":\"keep\",\"active_low\":true},"
		"\"exp:6\":{\"alias\":\"kept2\",\"initial\":\"keep\"}},"
		"\"sim_chips\":[{\"label\":\"exp\",\"lines\":8,\"names\":[\"\",\"\",\"\",\"\",\"LEDB\"],"
		"\"levels\":[0,0,0,0,0,1,1]}]}",
		NULL);
	unsigned relay = LAYOUT_NUMBER_EXTRA;
	char want[64];

	/* At start: the relay on, the active-low status LED dark (its line high); the kept
	 * lines as they were: high, so the active-low one is dark and the other lit. */
	snprintf(want, sizeof(want), "%u,%u", relay, relay + 3);
	check_str(lit(m), want);
	check_int(chips_sim_level(m->chips, "exp", 5), LEVEL_MAX);
	check_int(chips_sim_level(m->chips, "exp", 6), LEVEL_MAX);
	check_int(chips_sim_level(m->chips, "exp", 3), LEVEL_MAX);
	check_int(chips_sim_level(m->chips, "sim", 11), LEVEL_MAX);
	check_int(start(m, "s", "{\"on\":{\"lines\":[\"status\"]}}", false, NULL), 0);
	check_int(chips_sim_level(m->chips, "sim", 11), 0);

	check_int(start(m, "a", "{\"blink\":{\"lines\":[\"ledb\",10],\"interval\":\"1ms\"}}", false,
			NULL),
		  0);
	check_int(chips_sim_level(m->chips, "exp", 4), LEVEL_MAX);
	check_int(chips_sim_level(m->chips, "sim", 10), LEVEL_MAX);

	check_int(manager_sim_set_chip_present(m, "exp", false), 0);
	check_int(chips_n_absent(m->chips), 1);
	check_int(chips_sim_level(m->chips, "exp", 4), -ENODEV);
	forget();
	for (int i = 0; i < 3; i++) {
		vnow += 1 * MS;
		manager_tick(m);
	}
	check_str(events(), ""); /* nothing failed */
	check_int(chips_sim_level(m->chips, "sim", 10), 0); /* 3 ms in: dark */
	snprintf(want, sizeof(want), "11,%u,%u", relay, relay + 3);
	check_str(lit(m), want); /* the timeline as the programs have it */

	vnow += 1 * MS; /* 4 ms in: lit */
	manager_tick(m);
	check_int(manager_sim_set_chip_present(m, "exp", true), 0);
	check_int(chips_n_absent(m->chips), 0);
	/* Back in phase with the line on the other chip, and the relay at its initial state. */
	check_int(chips_sim_level(m->chips, "sim", 10), LEVEL_MAX);
	check_int(chips_sim_level(m->chips, "exp", 4), LEVEL_MAX);
	check_int(chips_sim_level(m->chips, "exp", 3), LEVEL_MAX);
	vnow += 1 * MS;
	manager_tick(m);
	check_int(chips_sim_level(m->chips, "exp", 4), 0);
	check_int(chips_sim_level(m->chips, "sim", 10), 0);

	check_int(manager_sim_set_chip_present(m, "nosuch", false), -ENOENT);
	manager_free(m);
}

/*
 * One chip, so the batch goes to it whole, and it vanishes without a word:
 * the write fails, the chip is taken as gone, nothing ends and nothing is
 * written; on its return the line is back in phase.
 */
static void test_chip_write_fails(void)
{
	Manager *m = manager_with_config("{\"chip\":\"sim\",\"matrix\":[[10,11]]}", NULL);

	check_int(start(m, "a", "{\"blink\":{\"lines\":[10],\"interval\":\"1ms\"}}", false, NULL), 0);
	check_int(chips_sim_level(m->chips, "sim", 10), LEVEL_MAX);
	check_int(chips_sim_vanish_silently(m->chips, "sim"), 0);
	check_int(chips_n_absent(m->chips), 0); /* nobody has said so */
	forget();
	vnow += 1 * MS;
	manager_tick(m); /* the write fails */
	check_int(chips_n_absent(m->chips), 1);
	check_str(events(), "");
	check_str(lit(m), ""); /* 1 ms in: dark, as the timeline has it */
	vnow += 1 * MS;
	manager_tick(m);
	check_str(lit(m), "10");
	check_int(manager_sim_set_chip_present(m, "sim", true), 0);
	check_int(chips_n_absent(m->chips), 0);
	check_int(chips_sim_level(m->chips, "sim", 10), LEVEL_MAX); /* 2 ms in: lit */
	vnow += 1 * MS;
	manager_tick(m);
	check_int(chips_sim_level(m->chips, "sim", 10), 0);
	check_str(events(), "");
	check_int(chips_sim_vanish_silently(m->chips, "nosuch"), -ENOENT);
	manager_free(m);
}

/*
 * Start, Replace and Stop of 100us programs over four names, the clock
 * moving 0-300us between calls: whichever way each run ends, it is
 * announced once and reported once, in that order, while listed.
 */
static void test_churn(void)
{
	static const char *const programs[] = {
		"{\"wait\":\"100us\"}",
		"{\"blink\":{\"lines\":[11],\"interval\":\"100us\",\"times\":1}}",
		"{\"on\":{\"lines\":[11,10],\"for\":\"100us\"}}",
		"{\"any\":[{\"on\":{\"lines\":[12]}},{\"wait\":\"100us\"}]}",
	};
	Manager *m = manager_for_test(16);
	unsigned seed = 12345;

	for (unsigned k = 0; k < 20000; k++) {
		char name[4] = { 'c', (char)('0' + k % 4), 0 };
		ManagerError e = {};
		ManagerErrorKind kind;

		seed = seed * 1103515245 + 12345;
		switch ((seed >> 16) % 4) {
		case 0:
			(void)start(m, name, programs[k % 4], false, &kind);
			break;
		case 1:
			check_int(start(m, name, programs[(k + 1) % 4], true, &kind), 0);
			break;
		case 2:
			(void)manager_stop_program(m, name, &e);
			break;
		default:
			manager_tick(m);
			break;
		}
		if ((seed >> 8) % 3 == 0)
			dispatch(m);
		vnow += (seed >> 4) % 301;
	}
	manager_stop_all_programs(m);
	dispatch(m);
	for (unsigned i = 0; i < 4; i++) {
		check(!rec.present[i]);
		check_int(rec.n_added[i], rec.n_ended[i]);
		check(rec.n_added[i] > 1000);
	}
	check_int(rec.n_order_broken, 0);
	check_str(lit(m), "");
	manager_free(m);
}

static int start_with(Manager *m, const char *name, const char *program,
		      const ManagerStartOptions *o, ManagerError *e)
{
	*e = (ManagerError){};
	return manager_start_program_with(m, name, program, o, e);
}

/* Every option out of range is refused, naming it, and nothing starts. */
static void test_invalid_options(void)
{
	Manager *m = manager_for_test(16);
	static const struct {
		ManagerStartOptions o;
		const char *key;
	} bad[] = {
		{ { .start.priority = 1001 }, "priority" },
		{ { .start.priority = -1001 }, "priority" },
		{ { .start.timeout = 99 }, "timeout" },
		{ { .start.at = 1700000000ULL * USEC_PER_SEC + USEC_PER_DAY + 1 }, "at" },
		{ { .start.bind = true, .start.persist = true }, "bind, persist" },
		{ { .start.persist = true }, "persist" }, /* no state directory here */
	};
	ManagerError e;

	forget();
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		check_int(start_with(m, "x", "{\"wait\":1}", &bad[i].o, &e), -EINVAL);
		check_int(e.kind, MANAGER_ERROR_INVALID_OPTIONS);
		check(strncmp(e.message, bad[i].key, strlen(bad[i].key)) == 0);
	}
	check_int(m->registry.running.n, 0);
	check_str(events(), "");
	/* The edges of the ranges are fine. */
	check_int(start_with(m, "a", "{\"wait\":1}", &(ManagerStartOptions){ .start.priority = 1000 }, &e), 0);
	check_int(start_with(m, "b", "{\"wait\":1}", &(ManagerStartOptions){ .start.priority = -1000, .start.timeout = 100 }, &e), 0);
	manager_free(m);
}

/* timeout: done that long after the start, whatever it does; at: later, or in phase since. */
static void test_timeout_and_at(void)
{
	Manager *m = manager_for_test(16);
	ManagerError e;
	usec_t t0 = vnow;

	check_int(start_with(m, "t", "{\"on\":{\"lines\":[11]}}",
			     &(ManagerStartOptions){ .start.timeout = 250 }, &e), 0);
	check_int(manager_get_running(m, "t")->timeout, 250);
	check_int(manager_next_deadline(m), t0 + 250);
	vnow += 250;
	forget();
	manager_tick(m);
	check_str(events(), "-t:done");
	check_str(lit(m), "");

	/* 300 ms from now on the wall clock: scheduled, dark, then on. */
	check_int(start_with(m, "later", "{\"on\":{\"lines\":[10]}}",
			     &(ManagerStartOptions){ .start.at = vreal + 300 * MS }, &e), 0);
	check(running_is_scheduled(manager_get_running(m, "later")));
	check_int(manager_get_running(m, "later")->started_realtime, vreal + 300 * MS);
	check_str(lit(m), "");
	check_int(manager_next_deadline(m), vnow + 300 * MS);
	vnow += 300 * MS;
	manager_tick(m);
	check(!running_is_scheduled(manager_get_running(m, "later")));
	check_str(lit(m), "10");

	/* 150 ms ago: the 100 ms blink is in its dark half, lit again 50 ms from now. */
	check_int(start_with(m, "past", "{\"blink\":{\"lines\":[11],\"interval\":\"100ms\"}}",
			     &(ManagerStartOptions){ .start.at = vreal - 150 * MS }, &e), 0);
	check_str(lit(m), "10");
	check_int(manager_next_deadline(m), vnow + 50 * MS);
	vnow += 50 * MS;
	manager_tick(m);
	check_str(lit(m), "10,11");

	manager_free(m);
}

/*
 * The wall clock is set while a start "at" waits: 59 minutes forward, so
 * its instant, an hour ahead, is a minute away; then past it: it starts at
 * once, in the phase it has had since its instant.
 */
static void test_clock_set(void)
{
	Manager *m = manager_for_test(16);
	ManagerError e;

	check_int(start_with(m, "hour", "{\"blink\":{\"lines\":[12],\"interval\":\"1s\"}}",
			     &(ManagerStartOptions){ .start.at = vreal + USEC_PER_HOUR }, &e), 0);
	check_int(manager_next_deadline(m), vnow + USEC_PER_HOUR);
	vreal += 59 * USEC_PER_MINUTE;
	manager_realtime_changed(m);
	check(running_is_scheduled(manager_get_running(m, "hour")));
	check_int(manager_next_deadline(m), vnow + USEC_PER_MINUTE);
	vreal += USEC_PER_MINUTE + 2500 * MS;
	manager_realtime_changed(m);
	check(!running_is_scheduled(manager_get_running(m, "hour")));
	check_str(lit(m), "12");	/* edge 2 of its 1 s blink: lit */
	check_int(manager_next_deadline(m), vnow + 500 * MS);
	manager_free(m);
}

/*
 * persist across a reboot: the monotonic clock starts again, the wall clock
 * goes on; the program resumes in the phase it would have had, to the
 * microsecond; one whose end passed is dropped; definitions come back.
 */
static void test_persist_reboot(void)
{
	char dir[] = "/tmp/test-manager-state-XXXXXX";
	ManagerStartOptions persist = { .start.persist = true };
	usec_t started = vreal;
	ManagerError e;
	Manager *m;

	if (!mkdtemp(dir))
		abort();
	m = manager_with_state(16, dir);
	check_int(start_with(m, "heart", "{\"blink\":{\"lines\":[11],\"interval\":\"100ms\"}}",
			     &(ManagerStartOptions){ .start.persist = true, .start.priority = 3 }, &e), 0);
	check_int(start_with(m, "brief", "{\"on\":{\"lines\":[10],\"for\":\"1s\"}}", &persist, &e), 0);
	check_int(start_with(m, "plain", "{\"on\":{\"lines\":[12]}}", &(ManagerStartOptions){}, &e), 0);
	check_int(manager_define(m, "d", "{\"on\":{\"lines\":[27],\"for\":\"1s\"}}", &e), 0);
	/* A crash: nothing is said at exit, the store is what the last change left. */
	manager_free(m);

	/* The reboot: the monotonic clock is ten days lower, the wall clock 7.25 s on. */
	vnow -= 10 * 24 * USEC_PER_HOUR;
	vreal += 7250 * MS;
	m = manager_with_state(16, dir);
	forget();
	check_int(manager_startup(m), 0);
	check_str(events(), "+heart");
	check(manager_get_running(m, "brief") == NULL);	/* ended 6.25 s ago */
	check(manager_get_running(m, "plain") == NULL);	/* never persistent */
	check(name_table_get(&m->registry.definitions, "d") != NULL);
	if (manager_get_running(m, "heart")) {
		Running *r = manager_get_running(m, "heart");
		check_int(r->started_realtime, started);
		check_int(r->priority, 3);
		check(r->persistent);
	}
	/* 7.25 s in: edge 72 (lit) is in force, edge 73 falls 50 ms from now. */
	check_str(lit(m), "11");
	check_int(manager_next_deadline(m), vnow + 50 * MS);

	/* Stopped, it is gone from the store; undefined, so is the definition. */
	check_int(manager_stop_program(m, "heart", &e), 0);
	dispatch(m);
	check_int(manager_undefine(m, "d", &e), 0);
	manager_free(m);
	m = manager_with_state(16, dir);
	check_int(manager_startup(m), 0);
	check_int(m->registry.running.n, 0);
	check(name_table_get(&m->registry.definitions, "d") == NULL);
	manager_free(m);

	/* A broken store is set aside; the daemon starts without it. */
	{
		char path[128];
		FILE *f;

		snprintf(path, sizeof(path), "%s/state.json", dir);
		f = fopen(path, "we");
		if (!f)
			abort();
		fputs("{\"format\":", f);
		fclose(f);
		m = manager_with_state(16, dir);
		check_int(manager_startup(m), 0);
		check_int(m->registry.running.n, 0);
		manager_free(m);
		check(access(path, F_OK) < 0);
		snprintf(path, sizeof(path), "%s/state.json.broken.1", dir);
		check(access(path, F_OK) == 0);
		(void)unlink(path);
	}
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/state.json", dir);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

int main(void)
{
	vnow = 1000ULL * 24 * USEC_PER_HOUR * 365;

	test_end_inside_call();
	test_end_before_call();
	test_replace();
	test_stop_all();
	test_limit();
	test_definitions_under_call();
	test_chip_lost();
	test_chip_write_fails();
	test_invalid_options();
	test_timeout_and_at();
	test_clock_set();
	test_persist_reboot();
	test_churn();
	return test_summary("test-manager");
}

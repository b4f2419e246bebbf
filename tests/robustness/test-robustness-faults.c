/* SPDX-License-Identifier: MIT */
/*
 * Faults around the daemon: clients that vanish in the middle of a call,
 * SIGKILL of the daemon and a restart on the same bus, the simulated chip
 * vanishing under 150 running programs (SIGUSR1) and returning (SIGUSR2),
 * and a trace file that cannot be written (/dev/full, and a filesystem that
 * fills up). The daemon stays up, answers, says what happened once in its
 * log, does not spin, and what it lists is what reached the lines.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>

#include "layout.h"
#include "robustness.h"

#define N_LINES 200
#define CONFIG_DEFS "\"definitions\": {\"cfgdef\": {\"on\": {\"lines\": [4]}}}, "

static char *config;

/* ---------------------------------------------------------------- helpers */

/* The manager's Lit property, sorted, into @lit (up to @max); the count, or -1. */
static int lit_property(Client *c, unsigned *lit, size_t max)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(freep) unsigned *v = NULL;
	int n;

	if (client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Lit", "au",
				&m) < 0)
		return -1;
	n = message_read_au(m, &v);
	if (n < 0 || (size_t)n > max)
		return -1;
	qsort(v, (size_t)n, sizeof(unsigned), compare_unsigned);
	memcpy(lit, v, (size_t)n * sizeof(unsigned));
	return n;
}

/* At the end of the trace, exactly the lines of the Lit property are lit. */
static void check_trace_is_lit(Client *c)
{
	unsigned lit[N_LINES];
	char want[4096], got[4096];
	size_t n = 0, len = 0;
	int k;
	Trace t = {};

	k = lit_property(c, lit, N_LINES);
	check(k >= 0);
	read_trace(&t);
	for (unsigned i = 0; i < N_LINES; i++)
		if (trace_value_after(&t, t.n, i))
			len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%u",
						n++ ? "," : "", i);
	got[len] = '\0';
	snprintf(want, sizeof(want), "%s", k >= 0 ? format_au(lit, (size_t)k) : "?");
	check_str(got, want);
	trace_done(&t);
}

/* A connection without a signal match: for clients that only call. */
static sd_bus *bus_open(void)
{
	sd_bus *bus = NULL;
	int r = sd_bus_open_user(&bus);

	if (r < 0)
		harness_fatal("cannot connect to the private bus: %s", strerror(-r));
	return bus;
}

static long log_lines_containing(const char *part)
{
	_cleanup_(freep) char *log = read_file(harness_daemon_log());

	return log ? (long)count_occurrences(log, part) : -1;
}

/* The daemon's CPU time over @duration, in milliseconds, while @c settles. */
static double cpu_ms_over(Client *c, usec_t duration)
{
	long long before = proc_runtime_usec(harness_daemon_pid()), after;

	client_settle(c, duration);
	after = proc_runtime_usec(harness_daemon_pid());
	check(before >= 0 && after >= before);
	return (double)(after - before) / MS;
}

/* ------------------------------------------------------ vanishing clients */

typedef enum Vanish {
	VANISH_AFTER_FLUSH,  /* the call is written out, then the connection closed */
	VANISH_AT_ONCE,	     /* the socket shut down right after the send */
	VANISH_MID_MESSAGE,  /* a 4 MiB call, the socket shut down while it is written */
	VANISH_UNSENT,	     /* closed before the connection was up: the call never left */
	_VANISH_MAX,
} Vanish;

static void test_vanishing_clients(Client *c)
{
	_cleanup_(freep) char *list = NULL, *objects = NULL, *log = NULL, *big = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	unsigned ran[_VANISH_MAX] = {}, tried[_VANISH_MAX] = {};
	const unsigned n = 160;
	Trace t = {};
	int r;

	figure_mark();
	big = malloc(4 * 1024 * 1024);
	if (!big)
		harness_fatal("out of memory");
	/* Valid at first sight, refused for its size if it ever arrives. */
	memset(big, ' ', 4 * 1024 * 1024 - 1);
	memcpy(big, "{\"on\":{\"lines\":[0]}}", 20);
	big[4 * 1024 * 1024 - 1] = '\0';

	for (unsigned i = 0; i < n; i++) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
		sd_bus *bus = bus_open();
		Vanish how = (Vanish)(i % _VANISH_MAX);
		char name[16], program[64];

		snprintf(name, sizeof(name), "v%03u", i);
		snprintf(program, sizeof(program), "{\"on\":{\"lines\":[%u]}}", i);
		r = sd_bus_message_new_method_call(bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
						   BLINKD_MANAGER_INTERFACE,
						   i % 2 ? "Start" : "Replace");
		if (r >= 0)
			r = sd_bus_message_append(m, "ss", name,
						  how == VANISH_MID_MESSAGE ? big : program);
		/* Up (authenticated, Hello answered) unless the call is to stay unsent. */
		if (r >= 0 && how != VANISH_UNSENT) {
			const char *unique;
			r = sd_bus_get_unique_name(bus, &unique);
		}
		if (r >= 0)
			r = sd_bus_send(bus, m, NULL);
		if (r < 0)
			harness_fatal("cannot send the call: %s", strerror(-r));
		tried[how]++;
		if (how == VANISH_AFTER_FLUSH)
			(void)sd_bus_flush(bus);
		else
			(void)shutdown(sd_bus_get_fd(bus), SHUT_RDWR);
		sd_bus_close(bus);
		sd_bus_unref(bus);
	}

	/* Whatever arrived has been handled once List answers after a pause. */
	client_settle(c, (harness_wrapper() ? HARNESS_WRAPPER_SLOWDOWN : 1) * 300 * MS);
	check(harness_daemon_alive());
	list = client_list(c, false);
	objects = client_managed_objects(c);
	check(list != NULL);
	read_trace(&t);
	for (unsigned i = 0; i < n; i++) {
		char entry[64], path[64];
		bool listed, exported, lit;

		snprintf(entry, sizeof(entry), "v%03u {\"on\":{\"lines\":[%u]}}\n", i, i);
		snprintf(path, sizeof(path), BLINKD_PROGRAM_PATH_PREFIX "/v%03u\n", i);
		listed = list && strstr(list, entry);
		exported = objects && strstr(objects, path);
		lit = trace_value_after(&t, t.n, i);
		/* Runs or not, but the same on the bus, in List and on the line. */
		check_int(exported, listed);
		check_int(lit, listed);
		if (listed)
			ran[i % _VANISH_MAX]++;
	}
	trace_done(&t);
	check_int(ran[VANISH_MID_MESSAGE], 0);
	check_int(ran[VANISH_UNSENT], 0);
	check_int(count_lines(list), ran[VANISH_AFTER_FLUSH] + ran[VANISH_AT_ONCE]);
	check_trace_is_lit(c);

	/* No error, no warning in the log: a vanished caller is nothing to report. */
	log = read_file(harness_daemon_log());
	check_int(count_lines_with(log, "<3>") + count_lines_with(log, "<4>"), 0);

	r = client_call(c, "StopAll", &error, NULL, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	check_trace_is_lit(c);
	figure("%u clients that vanish mid-call: Start or Replace sent and the connection closed "
	       "(a) once the call is flushed, (b) at once, (c) a 4 MiB call shut down while being "
	       "written, (d) before the connection was up |"
	       " the daemon stays up; ran (a) %u of %u, (b) %u of %u, (c) %u of %u, (d) %u of "
	       "%u; each one that runs is listed, exported and lit, each other one none of "
	       "these; no error logged",
	       n, ran[0], tried[0], ran[1], tried[1], ran[2], tried[2], ran[3], tried[3]);
}

/* ---------------------------------------------------------- SIGKILL, restart */

static void test_sigkill_restart(Client *c)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	usec_t worst_restart = 0;
	const unsigned rounds = 5;
	int r;

	figure_mark();
	for (unsigned round = 0; round < rounds; round++) {
		_cleanup_(freep) char *list = NULL, *defs = NULL, *objects = NULL;
		unsigned lit[N_LINES];
		usec_t t0;
		Trace t = {};

		/* Lines lit, one blinking, a definition of its own. */
		r = client_start(c, "row", "{\"on\":{\"lines\":{\"row\":1}}}", &error, NULL);
		check_ok(r, &error);
		r = client_start(c, "blinky", "{\"blink\":{\"lines\":[7],\"interval\":\"5ms\"}}",
				 &error, NULL);
		check_ok(r, &error);
		r = client_call(c, "Define", &error, NULL, "ss", "mine", "{\"wait\":1}");
		check_ok(r, &error);
		sd_bus_error_free(&error);
		client_settle(c, 30 * MS);

		check_int(harness_stop_daemon(SIGKILL), 128 + SIGKILL);
		/* The harness waited for the name to go: the bus saw the daemon die. */
		t0 = now_usec(CLOCK_MONOTONIC);
		harness_start_daemon(config);
		if (now_usec(CLOCK_MONOTONIC) - t0 > worst_restart)
			worst_restart = now_usec(CLOCK_MONOTONIC) - t0;

		/* Clean: nothing runs, nothing of the old daemon is defined or lit. */
		list = client_list(c, false);
		check_str(list, "");
		defs = client_list(c, true);
		check_str(defs, "cfgdef {\"on\":{\"lines\":[4]}}\n");
		objects = client_managed_objects(c);
		check_str(objects, "");
		check_int(lit_property(c, lit, N_LINES), 0);
		read_trace(&t);
		for (size_t i = 0; i < t.n; i++)
			check_int(t.events[i].value, 0);
		trace_done(&t);

		/* And it works. */
		r = client_start(c, "fresh", "{\"on\":{\"lines\":[9]}}", &error, NULL);
		check_ok(r, &error);
		sd_bus_error_free(&error);
		check_trace_is_lit(c);
		r = client_call(c, "Stop", &error, NULL, "s", "fresh");
		check_ok(r, &error);
		sd_bus_error_free(&error);
	}
	figure("SIGKILL of the daemon while it runs programs (steady, a 5 ms blink, a definition "
	       "of its own), then a new daemon on the same bus; %u rounds |"
	       " killed 128+9; the new one takes io.blinkd1 (at worst %.0f ms from start to "
	       "name) and starts clean: no programs, no objects, only the config's definitions, "
	       "nothing lit; it runs new programs. (The real chip: tests/vm/guest-tests.sh)",
	       rounds, (double)worst_restart / MS);
}

/* ------------------------------------------------------------- chip loss */

static void test_chip_lost(Client *c)
{
	_cleanup_(freep) char *list = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const unsigned n_blink = 100, n_steady = 50;
	double cpu_lost;
	unsigned lit[N_LINES];
	size_t n_ended = 0;
	int r;

	figure_mark();
	for (unsigned i = 0; i < n_blink + n_steady; i++) {
		char name[16], program[96];

		snprintf(name, sizeof(name), "c%03u", i);
		if (i < n_blink)
			snprintf(program, sizeof(program),
				 "{\"blink\":{\"lines\":[%u],\"interval\":\"%ums\"}}", i,
				 10 + i % 41);
		else
			snprintf(program, sizeof(program), "{\"on\":{\"lines\":[%u]}}", i);
		r = client_start(c, name, program, &error, NULL);
		check_ok(r, &error);
		sd_bus_error_free(&error);
	}
	client_settle(c, 100 * MS);
	client_forget_signals(c);

	check_int(kill(harness_daemon_pid(), SIGUSR1), 0);
	/* Nothing ends: the programs go on, on the timeline, unseen. */
	for (;;) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
			client_wait_signal(c, BLINKD_MANAGER_INTERFACE, "Finished", 1 * S);
		if (!m)
			break;
		n_ended++;
	}
	check_int(n_ended, 0);

	/* Up and answering; everything still runs; said once; no spinning. */
	check(harness_daemon_alive());
	list = client_list(c, false);
	check_int(list ? count_lines(list) : 0, n_blink + n_steady);
	check(lit_property(c, lit, N_LINES) >= (int)n_steady);
	cpu_lost = cpu_ms_over(c, 2500 * MS);
	/* The programs run on: their CPU, bounded (not under a wrapper, many times slower). */
	if (!harness_wrapper())
		check(cpu_lost < 500);
	check_int(log_lines_containing("is gone"), 1);

	/* A program started while the chip is gone runs, and shows once it is back. */
	r = client_start(c, "meanwhile", "{\"on\":{\"lines\":[150]}}", &error, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	check_int(kill(harness_daemon_pid(), SIGUSR2), 0);
	client_settle(c, 300 * MS);
	check_int(log_lines_containing("is back"), 1);
	/* The blinking ones stopped, what the chip shows is what the steady ones give it. */
	for (unsigned i = 0; i < n_blink; i++) {
		char name[16];

		snprintf(name, sizeof(name), "c%03u", i);
		r = client_call(c, "Stop", &error, NULL, "s", name);
		check_ok(r, &error);
		sd_bus_error_free(&error);
	}
	check_trace_is_lit(c);
	check_int(lit_property(c, lit, N_LINES), (int)n_steady + 1);

	r = client_call(c, "StopAll", &error, NULL, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	check_trace_is_lit(c);
	figure("the simulated chip vanishes (SIGUSR1) under %u blinking and %u steady programs, "
	       "and returns (SIGUSR2) |"
	       " none ends; the daemon answers, lists all of them, logs the loss once and the "
	       "return once; %.1f ms CPU in 2.5 s while the chip is gone (the programs run on, "
	       "unwritten); a Start while it is gone runs, and after the return every line shows "
	       "what its programs give it, as the trace confirms",
	       n_blink, n_steady, cpu_lost);
}

/* ------------------------------------------------------------- full disk */

/* Frames received since the last forget: how many show line @line lit, and how many dark. */
static void count_frames_of(Client *c, unsigned line, size_t *ret_lit, size_t *ret_dark)
{
	size_t n_lit = 0, n_dark = 0;

	(void)client_count_signals(c, BLINKD_MANAGER_INTERFACE, "Frame");
	for (size_t i = 0; i < c->n_signals; i++) {
		sd_bus_message *m = c->signals[i].message;
		_cleanup_(freep) unsigned *lit = NULL;
		uint64_t when;
		bool on = false;
		int n;

		if (!sd_bus_message_is_signal(m, BLINKD_MANAGER_INTERFACE, "Frame"))
			continue;
		(void)sd_bus_message_rewind(m, true);
		if (sd_bus_message_read(m, "t", &when) <= 0 || (n = message_read_au(m, &lit)) < 0)
			continue;
		for (int k = 0; k < n; k++)
			on = on || lit[k] == line;
		if (on)
			n_lit++;
		else
			n_dark++;
	}
	*ret_lit = n_lit;
	*ret_dark = n_dark;
}

static void test_dev_full(Client *c)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	size_t n_lit, n_dark;
	double cpu;
	long warnings;
	int r;

	figure_mark();
	harness_start_daemon_with_trace(config, "/dev/full");
	r = client_call(c, "Subscribe", &error, NULL, NULL);
	check_ok(r, &error);
	client_settle(c, 50 * MS);
	client_forget_signals(c);
	r = client_start(c, "blinky", "{\"blink\":{\"lines\":[11],\"interval\":\"50ms\"}}", &error,
			 NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);

	cpu = cpu_ms_over(c, 2 * S);
	/* Still blinking: the frames show line 11 on and off, about 20 times each. */
	count_frames_of(c, 11, &n_lit, &n_dark);
	check(n_lit >= 10 && n_dark >= 10);
	check(harness_daemon_alive());
	check(cpu < 150);
	warnings = log_lines_containing("Failed to write the trace");
	check_int(warnings, 1);
	check_int(log_lines_containing("<4>"), 1);
	check_int(harness_stop_daemon(SIGTERM), 0);
	figure("--trace /dev/full (every write fails with ENOSPC) while a program blinks every "
	       "50 ms |"
	       " the daemon keeps blinking (Frame signals show the line %zu times lit, %zu times "
	       "dark in 2 s), logs %ld warning, uses %.1f ms CPU in 2 s, exits 0 on SIGTERM",
	       n_lit, n_dark, warnings, cpu);
}

static char fullfs[256];

/* At exit too: the harness can only remove its directory once nothing is mounted in it. */
static void unmount_fullfs(void)
{
	if (!fullfs[0])
		return;
	(void)umount2(fullfs, MNT_DETACH);
	(void)rmdir(fullfs);
	fullfs[0] = '\0';
}

/*
 * A filesystem that fills up under the trace, and gets room again: the
 * daemon warns once, keeps blinking, says when writing works again, and
 * the trace it leaves is still one well-formed line per change.
 */
static void test_filesystem_full(Client *c)
{
	_cleanup_(freep) char *trace_path = NULL, *filler = NULL, *text = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	size_t n_lit, n_dark;
	Trace t = {};
	int fd, r;
	char block[4096];
	const char *dir = harness_path("fullfs");

	figure_mark();
	if (mkdir(dir, 0755) < 0 || mount("tmpfs", dir, "tmpfs", 0, "size=64k") < 0) {
		figure("a filesystem that fills up under the trace (a 64 KiB tmpfs) | "
		       "skipped: cannot mount a tmpfs here (%m)");
		(void)rmdir(dir);
		return;
	}
	snprintf(fullfs, sizeof(fullfs), "%s", dir);
	atexit(unmount_fullfs);
	if (asprintf(&trace_path, "%s/trace", dir) < 0 || asprintf(&filler, "%s/filler", dir) < 0)
		harness_fatal("out of memory");

	/*
	 * The trace begins with one harmless line, so it has a page with room
	 * for about 200 more; the filler takes every other page.
	 */
	fd = open(trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "1 0 0\n", 6) != 6)
		harness_fatal("cannot write %s: %m", trace_path);
	close(fd);
	memset(block, 'x', sizeof(block));
	fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		harness_fatal("cannot create %s: %m", filler);
	while (write(fd, block, sizeof(block)) == (ssize_t)sizeof(block))
		;
	close(fd);

	harness_start_daemon_with_trace(config, trace_path);
	r = client_call(c, "Subscribe", &error, NULL, NULL);
	check_ok(r, &error);
	client_settle(c, 50 * MS);
	client_forget_signals(c);
	/*
	 * 20 bytes a change, about 300 changes a second: the first page fills
	 * in well under a second. (7ms, not 5: frames come every 20ms, which
	 * would always find a 5ms blink in the same phase.)
	 */
	r = client_start(c, "blinky", "{\"blink\":{\"lines\":[11,12],\"interval\":\"7ms\"}}",
			 &error, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	client_settle(c, 1500 * MS);
	count_frames_of(c, 11, &n_lit, &n_dark);
	check(n_lit >= 5 && n_dark >= 5);
	check(harness_daemon_alive());
	check_int(log_lines_containing("Failed to write the trace"), 1);

	/* Room again. */
	check_int(unlink(filler), 0);
	client_settle(c, 500 * MS);
	check_int(log_lines_containing("Writing the trace works again"), 1);
	r = client_call(c, "Stop", &error, NULL, "s", "blinky");
	check_ok(r, &error);
	sd_bus_error_free(&error);
	check_int(harness_stop_daemon(SIGTERM), 0);

	/* Changes were lost while the disk was full, but every line that is there is whole. */
	r = trace_read(trace_path, &t);
	check_int(r, 0);
	if (r < 0) {
		text = read_file(trace_path);
		fprintf(stderr, "the trace:\n%s--\n", text ? text : "(unreadable)");
		figure_note("The trace has a torn line where the disk filled up (a partial "
			    "write, then the next batch appended to it).");
	}
	trace_done(&t);
	(void)unlink(trace_path);
	unmount_fullfs();
	figure("a 64 KiB filesystem that fills up under the trace of a 7 ms blink, then gets "
	       "room again |"
	       " the daemon keeps blinking (frames: %zu lit, %zu dark), warns once, notes once "
	       "that writing works again; the trace stays one whole line per change",
	       n_lit, n_dark);
}

int main(void)
{
	_cleanup_(client_freep) Client *c = NULL;

	harness_init();
	figures_begin("test-robustness-faults");
	config = config_with_lines(N_LINES, 1024, CONFIG_DEFS);
	harness_start_daemon(config);
	c = client_new();

	test_vanishing_clients(c);
	test_sigkill_restart(c);
	test_chip_lost(c);
	check(harness_daemon_alive());
	check_int(harness_stop_daemon(SIGTERM), 0);

	test_dev_full(c);
	test_filesystem_full(c);

	figures_end();
	free(config);
	return test_summary("test-robustness-faults");
}

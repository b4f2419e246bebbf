/* SPDX-License-Identifier: MIT */
/*
 * Startup that fails, at each of its steps in turn. For every failure blinkd
 * exits 1 with a message naming the step, undoes what the steps before it
 * built (no report from the sanitizers in the build scripts/test-sanitizers
 * makes; no line left lit: every line the trace shows lit goes dark again
 * before the trace ends), and never reaches the step after it.
 *
 * First the causes met from outside: a configuration that cannot be read or
 * is wrong, a trace file that cannot be opened, a line the chip cannot
 * give, a definition that names no line, no bus, the bus name taken by
 * another blinkd, an autostart program that cannot start. Then every step
 * through $BLINKD_FAIL_STEP=N, which fails the Nth before it acts (for tests
 * only, daemon/startup.h). Every run has --trace: with it, the landed tree
 * read the freed engine while it turned the lines off.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "robustness.h"

/* The steps, in the order the daemon takes them (daemon/startup.h). */
static const char *const steps[] = {
    "the configuration",
    "the engine",
    "the trace",
    "the event loop",
    "the chips",
    "the lines",
    "the definitions",
    "the signals",
    "the timers",
    "the state writer",
    "the wall clock watch",
    "the bus connection",
    "the bus in the event loop",
    "the objects",
    "the bus name",
    "the stored state",
    "the autostart programs",
    "ready",
};
#define N_STEPS ELEMENTSOF(steps)

/*
 * Lines lit from the start (initial "on", on two chips), and two autostart
 * programs that light more, the second through a definition: every kind of
 * thing a failed start must put back.
 */
#define CONFIG_LIT                                                                                 \
	"{\"matrix\": [[10, 11, 12, 13]], \"sim_chips\": [{\"label\": \"a\", \"lines\": 4}],"      \
	" \"lines\": {\"11\": {\"initial\": \"on\"}, \"a:1\": {\"initial\": \"on\"}},"             \
	" \"definitions\": {\"glow\": {\"on\": {\"lines\": [12]}}},"                               \
	" \"autostart\": {\"first\": {\"on\": {\"lines\": [13, 10]}},"                             \
	" \"second\": {\"call\": \"glow\"}}}"

typedef struct Run {
	int code;
	char *err;     /* what blinkd wrote to stderr */
	size_t n_lit;  /* lines the trace shows lit at some point */
	size_t n_left; /* of them, lit when the trace ends */
	int last_step; /* the last "Startup step N:" in the log, 0 if none */
} Run;

static void run_done(Run *r)
{
	free(r->err);
	*r = (Run){};
}

/* What the sanitizers print; none of it may appear. */
static bool sanitizer_report(const char *text)
{
	static const char *const marks[] = {"AddressSanitizer", "LeakSanitizer",
	                                    "UndefinedBehaviorSanitizer", "runtime error:"};

	for (size_t i = 0; text && i < ELEMENTSOF(marks); i++)
		if (strstr(text, marks[i]))
			return true;
	return false;
}

static int last_step(const char *text)
{
	const char *mark = "Startup step ";
	int last = 0;

	for (const char *p = text; p && (p = strstr(p, mark)); p += strlen(mark)) {
		int n;
		char c;

		/* "Startup step N: WHAT." when it begins; "Startup step N, WHAT, fails" when made
		 * to fail. */
		if (sscanf(p + strlen(mark), "%d%c", &n, &c) == 2 && c == ':' && n > last)
			last = n;
	}
	return last;
}

/* Count the lines the trace lit, and those it left lit. */
static void read_lines(const char *trace_path, Run *r)
{
	static int value[65536 * 2];
	static bool seen[65536 * 2];
	Trace t = {};

	if (access(trace_path, F_OK) < 0)
		return; /* never opened: the failure came before the trace */
	check_int(trace_read(trace_path, &t), 0);
	memset(value, 0, sizeof(value));
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < t.n; i++) {
		unsigned o = t.events[i].offset;

		if (o >= ELEMENTSOF(value))
			continue;
		value[o] = t.events[i].value;
		seen[o] = seen[o] || t.events[i].value;
	}
	for (size_t o = 0; o < ELEMENTSOF(value); o++) {
		r->n_lit += seen[o];
		r->n_left += value[o] != 0;
	}
	trace_done(&t);
}

/*
 * Run blinkd on the private bus (--user --chip sim --trace --log-level
 * debug) with @config_text, and @extra arguments (NULL-terminated, may be
 * NULL); the trace is fresh, the state directory empty.
 */
static Run run_blinkd(const char *config_text, const char *const *extra)
{
	const char *config = harness_write_file("startup.json", config_text);
	const char *trace = harness_path("startup.trace");
	const char *argv[32] = {
	    "--user",  "--chip", "sim",         "--log-level",        "debug", "--config", config,
	    "--trace", trace,    "--state-dir", harness_path("state")};
	size_t n = 11;
	Run r = {};

	(void)unlink(trace);
	for (; extra && *extra && n < ELEMENTSOF(argv) - 1; extra++)
		argv[n++] = *extra;
	/* A later --trace wins: getopt_long() takes the last. */
	for (size_t i = 11; i + 1 < n; i++)
		if (streq(argv[i], "--trace"))
			trace = argv[i + 1];
	argv[n] = NULL;
	r.code = harness_run_blinkd(argv, NULL, &r.err);
	r.last_step = last_step(r.err);
	read_lines(trace, &r);
	return r;
}

/*
 * The common checks of a failed start at step @step (1-based) whose log
 * says @want: exit 1, the message, no sanitizer report, nothing left lit,
 * no step after it begun.
 */
static void check_failed(const Run *r, int step, const char *want)
{
	check_int(r->code, 1);
	check_contains(r->err, want);
	check(!sanitizer_report(r->err));
	check_int(r->n_left, 0);
	check_int(r->last_step, step);
	if (r->code != 1 || sanitizer_report(r->err) || r->last_step != step)
		fprintf(stderr, "    blinkd exited %d; its log:\n%s\n", r->code,
		        r->err ? r->err : "(none)");
}

static void test_real_causes(void)
{
	const char *dir = harness_path("no-such-dir");
	char want[256], address[300];
	const char *old_address;
	Run r;

	figure_mark();
	r = run_blinkd("{}", (const char *const[]){"--config", harness_path("absent.json"), NULL});
	check_failed(&r, 1, "absent.json");
	figure("a configuration that is not there, --trace | exit %d, the file named; step 1 "
	       "(the configuration) is the last begun",
	       r.code);
	run_done(&r);

	r = run_blinkd("{\"chip\": \"sim\", \"colour\": \"red\"}", NULL);
	check_failed(&r, 1, "$.colour");
	figure("a configuration with an unknown key | exit %d, the key named; step 1 the last",
	       r.code);
	run_done(&r);

	snprintf(want, sizeof(want), "Failed to open trace file %s/trace", dir);
	r = run_blinkd("{}",
	               (const char *const[]){"--trace", harness_path("no-such-dir/trace"), NULL});
	check_failed(&r, 3, want);
	figure("a trace file in a directory that is not there | exit %d, \"Failed to open trace "
	       "file\"; step 3 (the trace) the last",
	       r.code);
	run_done(&r);

	/* Lines of the first two chips are requested, lit, before the third refuses its line. */
	r = run_blinkd("{\"sim_chips\": [{\"label\": \"a\", \"lines\": 4}, "
	               "{\"label\": \"b\", \"lines\": 2}], \"lines\": {\"11\": {\"initial\": "
	               "\"on\"}, \"a:1\": {\"initial\": \"on\"}, \"b:5\": {}}}",
	               NULL);
	check_failed(&r, 6, "line \"b:5\" cannot be had");
	check_int(r.n_lit, 2);
	figure("a line the third chip does not have, two chips' lines lit already | exit %d, "
	       "the line named; the %zu lit lines dark again in the trace; step 6 (the lines) "
	       "the last",
	       r.code, r.n_lit);
	run_done(&r);

	r = run_blinkd("{\"lines\": {\"11\": {\"initial\": \"on\"}}, \"definitions\": "
	               "{\"bad\": {\"on\": {\"lines\": [\"NOPE\"]}}}}",
	               NULL);
	check_failed(&r, 7, "$.definitions.bad");
	check_int(r.n_lit, 1);
	figure("a definition naming a line nobody has, a line lit | exit %d, the definition "
	       "named; the line dark again; step 7 (the definitions) the last",
	       r.code);
	run_done(&r);

	/* No bus at the address. */
	old_address = getenv("DBUS_SESSION_BUS_ADDRESS");
	snprintf(address, sizeof(address), "%s", old_address ? old_address : "");
	if (setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/blinkd-test-bus", 1) < 0)
		harness_fatal("setenv: %m");
	r = run_blinkd(CONFIG_LIT, NULL);
	if (setenv("DBUS_SESSION_BUS_ADDRESS", address, 1) < 0)
		harness_fatal("setenv: %m");
	check_failed(&r, 12, "Failed to connect to the session bus");
	check_int(r.n_lit, 2);
	figure("no bus at the address, lines lit | exit %d, \"Failed to connect to the session "
	       "bus\"; the lines dark again; step 12 (the bus connection) the last",
	       r.code);
	run_done(&r);

	/* The bus name taken by another blinkd: the --trace case that read freed memory. */
	harness_start_daemon(NULL);
	r = run_blinkd(CONFIG_LIT, NULL);
	check_failed(&r, 15, "Failed to take the bus name io.blinkd1");
	check_int(r.n_lit, 2);
	check(harness_daemon_alive());
	check_int(harness_stop_daemon(SIGTERM), 0);
	figure("a second blinkd with --trace, the name taken by the first | exit %d, \"Failed to "
	       "take the bus name\", no sanitizer report (it read the freed engine before); the "
	       "lines dark again; step 15 (the bus name) the last; the first runs on",
	       r.code);
	run_done(&r);

	/* The first autostart program runs when the second cannot start. */
	r = run_blinkd(
	    "{\"matrix\": [[10, 11, 12, 13]], \"lines\": {\"11\": {\"initial\": \"on\"}}, "
	    "\"autostart\": "
	    "{\"first\": {\"on\": {\"lines\": [13, 10]}}, "
	    "\"second\": {\"call\": \"nothing\"}}}",
	    NULL);
	check_failed(&r, 17, "$.autostart.second");
	check_int(r.n_lit, 3);
	figure("an autostart program calling no definition, after one that lit two lines | exit "
	       "%d, the program named; the 3 lit lines dark again; step 17 (the autostart "
	       "programs) the last",
	       r.code);
	run_done(&r);
}

static void test_every_step(void)
{
	char value[16], want[128];
	size_t n_ok = 0;

	figure_mark();
	for (size_t i = 0; i < N_STEPS; i++) {
		int step = (int)i + 1, failures = test_failures;
		Run r;

		snprintf(value, sizeof(value), "%d", step);
		if (setenv("BLINKD_FAIL_STEP", value, 1) < 0)
			harness_fatal("setenv: %m");
		r = run_blinkd(CONFIG_LIT, NULL);
		snprintf(want, sizeof(want), "Startup step %d, %s, fails on purpose", step,
		         steps[i]);
		check_failed(&r, step, want);
		/* From the lines on, two lines are lit; from the autostart on, five. */
		if (step > 6)
			check(r.n_lit >= 2);
		if (step > 17)
			check_int(r.n_lit, 5);
		if (test_failures == failures)
			n_ok++;
		else
			fprintf(stderr, "    (step %d, %s)\n", step, steps[i]);
		run_done(&r);
	}

	/* One past the last: nothing fails, the daemon comes up and goes on SIGTERM. */
	snprintf(value, sizeof(value), "%zu", N_STEPS + 1);
	if (setenv("BLINKD_FAIL_STEP", value, 1) < 0)
		harness_fatal("setenv: %m");
	harness_start_daemon(CONFIG_LIT);
	check_int(harness_stop_daemon(SIGTERM), 0);
	(void)unsetenv("BLINKD_FAIL_STEP");

	figure("$BLINKD_FAIL_STEP=N (test only) for each of the %zu steps of startup, with lines "
	       "lit from the start and by two autostart programs | %zu of %zu exit 1 naming their "
	       "step, with no sanitizer report, every lit line dark again and no later step "
	       "begun; N = %zu starts and stops cleanly",
	       N_STEPS, n_ok, N_STEPS, N_STEPS + 1);
}

int main(void)
{
	harness_init();
	figures_begin("test-robustness-startup");

	test_real_causes();
	test_every_step();

	figures_end();
	return test_summary("test-robustness-startup");
}

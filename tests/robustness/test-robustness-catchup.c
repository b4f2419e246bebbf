/* SPDX-License-Identifier: MIT */
/*
 * Programs that start in the past catch up, and the daemon keeps answering
 * (issue 23). Each reproduction is a StartWithOptions with "at" 10 ms ago
 * of a program whose track (fade, pattern, morse) has ended by now: the
 * call is answered within CALL_BOUND, the program runs or ends as it
 * should, and List is answered after it. Then the breathing LED
 * forever(sequence(fade(1s), fade(1s))) with "persist": SIGTERM, 3 s, a new
 * daemon: it answers within CALL_BOUND of taking its name, lists the
 * program with its first start, and its level follows the breath of that
 * start. Last, a program of 2^40 calls written in 41 definitions, started
 * 12 hours ago, is answered too.
 *
 * The bounds hold on a busy machine: a daemon that catches up answers in
 * milliseconds, one that loops never does.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "robustness.h"

#define CALL_BOUND (10 * S)
/* How far the daemon's level may lag the instant the property was read: a busy machine. */
#define PHASE_SLACK (30 * MS)

/* A method call on the manager with a bound on the wait for its reply. */
static int call_bounded(Client *c, const char *method, sd_bus_error *error,
			sd_bus_message **reply, const char *types, ...)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	va_list ap;
	int r;

	r = sd_bus_message_new_method_call(c->bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, method);
	if (r < 0)
		return r;
	va_start(ap, types);
	r = sd_bus_message_appendv(m, types, ap);
	va_end(ap);
	if (r < 0)
		return r;
	return sd_bus_call(c->bus, m, CALL_BOUND, error, reply);
}

/* List() within the bound: the daemon answers. Returns the reply as "name program" lines. */
static char *list_bounded(Client *c)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char *text = NULL;
	size_t size = 0;
	FILE *f;
	const char *name, *program;
	int r;

	r = call_bounded(c, "List", &error, &reply, "");
	if (r < 0) {
		fprintf(stderr, "List: %s: %s\n", error.name, error.message);
		sd_bus_error_free(&error);
		return NULL;
	}
	f = open_memstream(&text, &size);
	if (!f || sd_bus_message_enter_container(reply, 'a', "(ss)") < 0)
		harness_fatal("cannot read List's reply");
	while (sd_bus_message_read(reply, "(ss)", &name, &program) > 0)
		fprintf(f, "%s %s\n", name, program);
	fclose(f);
	return text;
}

/* StartWithOptions(@name, @program, {at: @at, persist: @persist}), waiting at most CALL_BOUND. */
static int start_at(Client *c, const char *name, const char *program, uint64_t at, bool persist,
		    sd_bus_error *error)
{
	if (persist)
		return call_bounded(c, "StartWithOptions", error, NULL, "ssa{sv}", name, program, 1,
				    "persist", "b", 1);
	return call_bounded(c, "StartWithOptions", error, NULL, "ssa{sv}", name, program, 1, "at",
			    "t", at);
}

static const struct {
	const char *program;
	bool ends;	/* by now: Finished "done"; else it runs on */
} reproductions[] = {
	{ "fade(1, 0, 1, 100us)", true },
	{ "all(fade(1, 0, 1, 100us), on(2))", false },
	{ "sequence(pattern(1, [[1, 100us]], 1), wait(100us))", true },
	{ "sequence(morse(1, \"E\", 100us), wait(100us))", true },
	{ "repeat(2, sequence(fade(1, 1, 0, 1ms), wait(1ms)))", true },
};

/*
 * Each reproduction on the same daemon while it answers; one that did not
 * answer is killed (one that spins handles no SIGTERM either) and the next
 * reproduction gets a new one, so that each is tried.
 */
static void test_started_in_the_past(Client *c, usec_t *worst, unsigned *n_answered)
{
	bool answered = true;

	for (size_t i = 0; i < ELEMENTSOF(reproductions); i++) {
		sd_bus_error error = SD_BUS_ERROR_NULL;
		_cleanup_(freep) char *result = NULL, *list = NULL;
		char name[16];
		usec_t t0, took;
		int r;

		if (i == 0 || !answered)
			harness_start_daemon(NULL);
		snprintf(name, sizeof(name), "past%zu", i);
		t0 = now_usec(CLOCK_MONOTONIC);
		r = start_at(c, name, reproductions[i].program, now_usec(CLOCK_REALTIME) - 10 * MS,
			     false, &error);
		took = now_usec(CLOCK_MONOTONIC) - t0;
		if (r < 0)
			fprintf(stderr, "StartWithOptions %s {at: now - 10ms}: %s: %s (after %.1f ms)\n",
				reproductions[i].program, error.name, error.message,
				(double)took / MS);
		check_ok(r, &error);
		sd_bus_error_free(&error);
		if (took > *worst)
			*worst = took;
		answered = r >= 0;
		if (answered && reproductions[i].ends) {
			check(client_wait_finished(c, name, CALL_BOUND, &result));
			check_str(result, "done");
		}
		/* And it goes on answering. */
		if (answered) {
			list = list_bounded(c);
			check(list != NULL);
			answered = list;
		}
		if (list && !reproductions[i].ends) {
			check_contains(list, name);
			r = call_bounded(c, "Stop", &error, NULL, "s", name);
			check_ok(r, &error);
			sd_bus_error_free(&error);
		}
		*n_answered += answered;
		if (!answered)
			(void)harness_stop_daemon(SIGKILL);
	}
	if (answered) {
		check(harness_daemon_alive());
		check_int(harness_stop_daemon(SIGTERM), 0);
	}
}

/* The breathing LED's level @t after its start, as the daemon composes it (0..LEVEL_MAX). */
static unsigned breath(usec_t t)
{
	usec_t in = t % (2 * S);

	return in < S ? level_ramp(0, LEVEL_MAX, in, S, true)
		      : level_ramp(LEVEL_MAX, 0, in - S, S, true);
}

/* Line 1's level from the Levels property; 0 when it is not listed (dark). */
static int line_level(Client *c, unsigned *ret)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	unsigned number;
	double level;
	int r;

	r = sd_bus_get_property(c->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, "Levels", &error, &reply, "a(ud)");
	sd_bus_error_free(&error);
	if (r < 0)
		return r;
	*ret = 0;
	r = sd_bus_message_enter_container(reply, 'a', "(ud)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(reply, "(ud)", &number, &level)) > 0)
		if (number == 1)
			*ret = (unsigned)(level * LEVEL_MAX + 0.5);
	return r;
}

/*
 * Whether the level read between @t0 and @t1 (CLOCK_REALTIME) is one the
 * breath of @started shows somewhere in [t0 - PHASE_SLACK, t1].
 */
static bool in_phase(unsigned level, usec_t started, usec_t t0, usec_t t1)
{
	for (usec_t t = t0 - PHASE_SLACK; t <= t1; t += 100) {
		unsigned want = breath(t - started);

		if (level + 20 >= want && level <= want + 20)
			return true;
	}
	return false;
}

static void test_breathing_resumes(usec_t *ready_after, unsigned *n_in_phase)
{
	const char *program = "forever(sequence(fade(1, 0, 1, 1s), fade(1, 1, 0, 1s)))";
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(freep) char *list = NULL;
	usec_t started = 0, t0;
	unsigned n = 0;
	int r;

	harness_start_daemon(NULL);
	r = start_at(c, "breath", program, 0, true, &error);
	check_ok(r, &error);
	{
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
		_cleanup_(freep) char *path = program_path("breath");

		if (client_get_property(c, path, BLINKD_PROGRAM_INTERFACE, "StartedUSec", "t",
					&m) >= 0)
			(void)sd_bus_message_read(m, "t", &started);
	}
	check(started > 0);
	client_settle(c, 300 * MS);
	c = client_free(c);
	check_int(harness_stop_daemon(SIGTERM), 0);
	sleep_usec(3 * S);

	/* The harness returns once the name is taken; the daemon must answer after. */
	harness_restart_daemon(NULL);
	c = client_new();
	t0 = now_usec(CLOCK_MONOTONIC);
	list = list_bounded(c);
	*ready_after = now_usec(CLOCK_MONOTONIC) - t0;
	check(list != NULL);
	if (!list) {
		(void)harness_stop_daemon(SIGKILL);
		return;
	}
	check_contains(list, "breath ");

	/* In phase with its first start: 20 readings over 2 s, at least 18 on the breath. */
	for (int i = 0; i < 20; i++) {
		usec_t a = now_usec(CLOCK_REALTIME), b;
		unsigned level = 0;

		check_int(line_level(c, &level), 0);
		b = now_usec(CLOCK_REALTIME);
		if (in_phase(level, started, a, b))
			n++;
		else
			fprintf(stderr, "level %u read %.1f s after the start, the breath shows %u\n",
				level, (double)(a - started) / S, breath(a - started));
		sleep_usec(100 * MS);
	}
	*n_in_phase = n;
	check(n >= 18);
	check_int(harness_stop_daemon(SIGTERM), 0);
}

/*
 * Definitions that call the one below twice, 40 deep (2^40 calls of a
 * 200us blink), started 12 hours ago: answered, listed, and the daemon
 * answers after. Computing its rounds through every call never ends.
 */
static void test_call_chain(Client *c, usec_t *took)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(freep) char *list = NULL;
	usec_t t0;
	int r;

	harness_start_daemon(NULL);
	for (unsigned i = 0; i <= 40; i++) {
		char name[8], text[64];

		snprintf(name, sizeof(name), "a%u", i);
		if (i == 0)
			snprintf(text, sizeof(text), "sequence(on(1, 100us), wait(100us))");
		else
			snprintf(text, sizeof(text), "sequence(call(a%u), call(a%u))", i - 1, i - 1);
		r = call_bounded(c, "Define", &error, NULL, "ss", name, text);
		check_ok(r, &error);
		sd_bus_error_free(&error);
	}
	t0 = now_usec(CLOCK_MONOTONIC);
	r = start_at(c, "chain", "forever(call(a40))", now_usec(CLOCK_REALTIME) - 12 * 3600 * S,
		     false, &error);
	*took = now_usec(CLOCK_MONOTONIC) - t0;
	check_ok(r, &error);
	sd_bus_error_free(&error);
	if (r < 0) {
		(void)harness_stop_daemon(SIGKILL);
		return;
	}
	list = list_bounded(c);
	check_contains(list, "chain ");
	if (!list) {
		(void)harness_stop_daemon(SIGKILL);
		return;
	}
	check_int(harness_stop_daemon(SIGTERM), 0);
}

int main(void)
{
	_cleanup_(client_freep) Client *c = NULL;
	usec_t worst = 0, ready = 0, chain = 0;
	unsigned n_in_phase = 0, n_answered = 0;

	harness_init();
	figures_begin("test-robustness-catchup");
	c = client_new();

	figure_mark();
	test_started_in_the_past(c, &worst, &n_answered);
	figure("StartWithOptions {at: now - 10 ms} of fade(1, 0, 1, 100us), all(fade…, on(2)), "
	       "sequence(pattern(…, 100us), wait(100us)), sequence(morse(1, \"E\", 100us), "
	       "wait(100us)), a repeat of a fade and a wait |"
	       " %u of %zu answered (slowest %.1f ms, bound 10 s), each ended done or ran on, "
	       "List answered after each",
	       n_answered, ELEMENTSOF(reproductions), (double)worst / MS);

	figure_mark();
	test_breathing_resumes(&ready, &n_in_phase);
	figure("the breathing LED forever(sequence(fade(1s), fade(1s))) with persist; SIGTERM, "
	       "3 s, start again |"
	       " List answered %.1f ms after the name was taken (bound 10 s); %u of 20 level "
	       "readings on the breath of the first start",
	       (double)ready / MS, n_in_phase);

	figure_mark();
	test_call_chain(c, &chain);
	figure("41 definitions, each calling the one below twice, down to a 200us blink; "
	       "StartWithOptions forever(call(a40)) {at: now - 12 h} |"
	       " answered in %.1f ms (bound 10 s), listed, List answered after",
	       (double)chain / MS);
	figures_end();
	return test_summary("test-robustness-catchup");
}

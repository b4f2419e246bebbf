/* SPDX-License-Identifier: MIT */
/*
 * io.blinkd1.Manager's methods, their replies and every error name: Start,
 * Replace, Stop, StopAll, List, Define, Undefine, ListDefinitions, the
 * properties, and the limit of 1024 running programs. After every refused
 * call, nothing has changed: List, ListDefinitions and the trace are as
 * before.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-checks.h"
#include "layout.h"

#define CONFIG "{\"definitions\": {\"cfgdef\": {\"on\": {\"lines\": [4]}}}}"
#define STEADY "{\"on\":{\"lines\":[11,10]}}"

static void test_start_list_stop(Client *c)
{
	_cleanup_(freep) char *list = NULL, *path = NULL;
	_cleanup_(freep) char *p_alpha = NULL, *want_path = NULL, *result = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char name64[65];
	Trace t = {};
	int r;

	list = client_list(c, false);
	check_str(list, "");
	free(TAKE_PTR(list));

	/* Started out of order, listed sorted by name, each with its canonical program. */
	r = client_start(c, "zeta", "{\"on\":{\"for\":3600,\"lines\":\"all\"}}", &error, NULL);
	check_ok(r, &error);
	r = client_start(c, "alpha", " { \"on\" : { \"lines\" : [ 11 ] } } ", &error, &p_alpha);
	check_ok(r, &error);
	r = client_start(c, "mid",
			 "{\"sequence\":[{\"wait\":\"120s\"},{\"on\":{\"lines\":{\"row\":0}}}]}",
			 &error, NULL);
	check_ok(r, &error);
	r = client_start(c, "beta",
			 "{\"blink\":{\"interval\":0.25,\"lines\":[\"GPIO10\"],\"times\":500}}",
			 &error, NULL);
	check_ok(r, &error);
	want_path = program_path("alpha");
	check_str(p_alpha, want_path);

	list = client_list(c, false);
	check_str(list, "alpha {\"on\":{\"lines\":[11]}}\n"
			"beta {\"blink\":{\"lines\":[\"GPIO10\"],\"interval\":\"250ms\","
			"\"times\":500}}\n"
			"mid {\"sequence\":[{\"wait\":\"2m\"},{\"on\":{\"lines\":{\"row\":0}}}]}\n"
			"zeta {\"on\":{\"lines\":\"all\",\"for\":\"1h\"}}\n");
	free(TAKE_PTR(list));

	/* The canonical text is a fixed point: started again, it lists the same. */
	r = client_start(c, "beta2",
			 "{\"blink\":{\"lines\":[\"GPIO10\"],\"interval\":\"250ms\","
			 "\"times\":500}}",
			 &error, NULL);
	check_ok(r, &error);

	/* A name of 64 characters is fine, with every allowed character class. */
	memset(name64, 'x', 64);
	memcpy(name64, "Az09_.-", 7);
	name64[64] = '\0';
	r = client_start(c, name64, STEADY, &error, &path);
	check_ok(r, &error);
	free(want_path);
	want_path = program_path(name64);
	check_str(path, want_path);

	/* Stop: the program ends "stopped" and leaves the list. */
	r = client_call(c, "Stop", &error, NULL, "s", "beta");
	check_ok(r, &error);
	check(client_wait_finished(c, "beta", 2 * S, &result));
	check_str(result, "stopped");
	free(TAKE_PTR(result));
	r = client_call(c, "Stop", &error, NULL, "s", "beta2");
	check_ok(r, &error);
	list = client_list(c, false);
	check(list && !strstr(list, "beta "));
	check(list && strstr(list, "alpha ") && strstr(list, "zeta ") && strstr(list, name64));
	free(TAKE_PTR(list));

	/* Replace of a name that does not run starts it, like Start. */
	r = client_call(c, "Replace", &error, NULL, "ss", "fresh", "{\"on\":{\"lines\":[2]}}");
	check_ok(r, &error);
	list = client_list(c, false);
	check_contains(list, "fresh {\"on\":{\"lines\":[2]}}\n");
	free(TAKE_PTR(list));

	/* StopAll: every program ends "stopped", every line goes dark. */
	client_forget_signals(c);
	r = client_call(c, "StopAll", &error, NULL, NULL);
	check_ok(r, &error);
	{
		const char *names[] = { "alpha", "mid", "zeta", "fresh", name64 };
		for (size_t i = 0; i < ELEMENTSOF(names); i++) {
			check(client_wait_finished(c, names[i], 2 * S, &result));
			check_str(result, "stopped");
			free(TAKE_PTR(result));
		}
	}
	list = client_list(c, false);
	check_str(list, "");

	r = trace_read(harness_trace_path(), &t);
	check_int(r, 0);
	check(t.n > 0);
	for (size_t i = 0; i < ELEMENTSOF(layout_default_matrix); i++)
		for (size_t j = 0; j < ELEMENTSOF(layout_default_matrix[i]); j++)
			check_int(trace_value_after(&t, t.n, layout_default_matrix[i][j]), 0);
	/* "zeta" lit every line, "alpha" line 11: both were seen lit. */
	check_int(trace_count(&t, 0, 14) >= 2, 1);
	trace_done(&t);
	sd_bus_error_free(&error);
}

static void test_refused(Client *c)
{
	_cleanup_(freep) char *long_name = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Snapshot before = {};
	const char *bad_names[] = { "", "a/b", "has space", NULL /* 65 characters */ };
	int r;

	long_name = malloc(66);
	if (!long_name)
		harness_fatal("out of memory");
	memset(long_name, 'n', 65);
	long_name[65] = '\0';
	bad_names[3] = long_name;

	r = client_start(c, "steady", STEADY, &error, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	snapshot_take(c, &before);
	check_contains(before.list, "steady ");
	check_contains(before.trace, " 11 1\n");

	/* InvalidProgram names the place in the JSON and the rule. */
	r = client_start(c, "x", "{\"blink\":{\"lines\":[11],\"interval\":\"50us\"}}", &error,
			 NULL);
	check_error(r, &error, BLINKD_ERROR_INVALID_PROGRAM);
	check_contains(error.message, "$.blink.interval: must be between 100us and 1d");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	r = client_start(c, "x", "{\"sequence\":[{\"wait\":1},{\"on\":{\"lines\":[99]}}]}", &error,
			 NULL);
	check_error(r, &error, BLINKD_ERROR_INVALID_PROGRAM);
	check_contains(error.message, "$.sequence[1].on.lines[0]");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	r = client_start(c, "x", "{\"on\":{\"lines\":[11]}", &error, NULL);
	check_error(r, &error, BLINKD_ERROR_INVALID_PROGRAM);
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	/* A refused Replace leaves the running program as it was. */
	r = client_call(c, "Replace", &error, NULL, "ss", "steady",
			"{\"on\":{\"lines\":[11],\"x\":1}}");
	check_error(r, &error, BLINKD_ERROR_INVALID_PROGRAM);
	check_contains(error.message, "$.on");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	r = client_call(c, "Define", &error, NULL, "ss", "bad", "{\"wait\":\"2d\"}");
	check_error(r, &error, BLINKD_ERROR_INVALID_PROGRAM);
	check_contains(error.message, "$.wait: must be between 100us and 1d");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	/* InvalidName: names are 1-64 of [A-Za-z0-9_.-], for every method that takes one. */
	for (size_t i = 0; i < ELEMENTSOF(bad_names); i++) {
		r = client_start(c, bad_names[i], "{\"on\":{\"lines\":[27]}}", &error, NULL);
		check_error(r, &error, BLINKD_ERROR_INVALID_NAME);
		sd_bus_error_free(&error);
		r = client_call(c, "Replace", &error, NULL, "ss", bad_names[i],
				"{\"on\":{\"lines\":[27]}}");
		check_error(r, &error, BLINKD_ERROR_INVALID_NAME);
		sd_bus_error_free(&error);
		r = client_call(c, "Define", &error, NULL, "ss", bad_names[i],
				"{\"on\":{\"lines\":[27]}}");
		check_error(r, &error, BLINKD_ERROR_INVALID_NAME);
		sd_bus_error_free(&error);
		check_unchanged(c, &before);
	}

	/* Exists: even with the very same program. */
	r = client_start(c, "steady", STEADY, &error, NULL);
	check_error(r, &error, BLINKD_ERROR_EXISTS);
	check_contains(error.message, "steady");
	sd_bus_error_free(&error);
	r = client_start(c, "steady", "{\"on\":{\"lines\":[27]}}", &error, NULL);
	check_error(r, &error, BLINKD_ERROR_EXISTS);
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	/* NotRunning. */
	r = client_call(c, "Stop", &error, NULL, "s", "nosuch");
	check_error(r, &error, BLINKD_ERROR_NOT_RUNNING);
	check_contains(error.message, "nosuch");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	/* NotDefined: Undefine of an unknown name, and a call of one. */
	r = client_call(c, "Undefine", &error, NULL, "s", "nosuch");
	check_error(r, &error, BLINKD_ERROR_NOT_DEFINED);
	check_contains(error.message, "nosuch");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	r = client_start(c, "x", "{\"call\":\"nosuch\"}", &error, NULL);
	check_error(r, &error, BLINKD_ERROR_NOT_DEFINED);
	check_contains(error.message, "nosuch");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	r = client_start(c, "x", "{\"all\":[{\"on\":{\"lines\":[27]}},{\"call\":\"nosuch\"}]}",
			 &error, NULL);
	check_error(r, &error, BLINKD_ERROR_NOT_DEFINED);
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	/* A call cycle through Define is refused as InvalidProgram naming the cycle. */
	r = client_call(c, "Define", &error, NULL, "ss", "cyc_a", "{\"call\":\"cyc_b\"}");
	check_ok(r, &error); /* cyc_b is not defined yet: fine */
	sd_bus_error_free(&error);
	snapshot_done(&before);
	snapshot_take(c, &before);
	check_contains(before.definitions, "cyc_a {\"call\":\"cyc_b\"}\n");

	r = client_call(c, "Define", &error, NULL, "ss", "cyc_b",
			"{\"sequence\":[{\"wait\":\"1s\"},{\"call\":\"cyc_a\"}]}");
	check_error(r, &error, BLINKD_ERROR_INVALID_PROGRAM);
	check_contains(error.message, "cycle");
	check_contains(error.message, "cyc_a");
	check_contains(error.message, "cyc_b");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	r = client_call(c, "Define", &error, NULL, "ss", "self", "{\"call\":\"self\"}");
	check_error(r, &error, BLINKD_ERROR_INVALID_PROGRAM);
	check_contains(error.message, "self");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	/* Starting cyc_a finds cyc_b missing. */
	r = client_start(c, "x", "{\"call\":\"cyc_a\"}", &error, NULL);
	check_error(r, &error, BLINKD_ERROR_NOT_DEFINED);
	check_contains(error.message, "cyc_b");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);

	r = client_call(c, "Undefine", &error, NULL, "s", "cyc_a");
	check_ok(r, &error);
	sd_bus_error_free(&error);
	r = client_call(c, "Stop", &error, NULL, "s", "steady");
	check_ok(r, &error);
	sd_bus_error_free(&error);
	snapshot_done(&before);
}

static void test_definitions(Client *c)
{
	_cleanup_(freep) char *defs = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Snapshot before = {};
	Trace t = {};
	size_t mark;
	int r;

	/* The config's definitions are listed too. */
	defs = client_list(c, true);
	check_str(defs, "cfgdef {\"on\":{\"lines\":[4]}}\n");
	free(TAKE_PTR(defs));

	r = client_call(c, "Define", &error, NULL, "ss", "mine",
			"{\"blink\":{\"lines\":[2],\"interval\":1,\"times\":3}}");
	check_ok(r, &error);
	defs = client_list(c, true);
	check(defs && strstr(defs, "cfgdef {\"on\":{\"lines\":[4]}}\n"));
	check_contains(defs, "mine {\"blink\":{\"lines\":[2],\"interval\":\"1s\",\"times\":3}}\n");
	check_int(count_lines(defs), 2);
	free(TAKE_PTR(defs));

	/* A call of a definition runs it: line 4 from the config, line 2 from "mine". */
	r = trace_read(harness_trace_path(), &t);
	check_int(r, 0);
	mark = t.n;
	trace_done(&t);
	r = client_start(c, "caller", "{\"all\":[{\"call\":\"cfgdef\"},{\"call\":\"mine\"}]}",
			 &error, NULL);
	check_ok(r, &error);
	r = trace_read(harness_trace_path(), &t);
	check_int(r, 0);
	check_int(trace_count(&t, mark, 4), 1);
	check_int(trace_count(&t, mark, 2), 1);
	check_int(trace_value_after(&t, t.n, 4), 1);
	check_int(trace_value_after(&t, t.n, 2), 1);
	trace_done(&t);
	r = client_call(c, "Stop", &error, NULL, "s", "caller");
	check_ok(r, &error);
	r = trace_read(harness_trace_path(), &t);
	check_int(r, 0);
	check_int(trace_value_after(&t, t.n, 4), 0);
	check_int(trace_value_after(&t, t.n, 2), 0);
	trace_done(&t);

	/* Undefine: gone from the list, and a call of it is NotDefined. */
	r = client_call(c, "Undefine", &error, NULL, "s", "mine");
	check_ok(r, &error);
	sd_bus_error_free(&error);
	defs = client_list(c, true);
	check_str(defs, "cfgdef {\"on\":{\"lines\":[4]}}\n");
	snapshot_take(c, &before);
	r = client_start(c, "caller", "{\"call\":\"mine\"}", &error, NULL);
	check_error(r, &error, BLINKD_ERROR_NOT_DEFINED);
	check_contains(error.message, "mine");
	sd_bus_error_free(&error);
	check_unchanged(c, &before);
	snapshot_done(&before);
}

static void test_properties(Client *c)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(freep) char *out = NULL, *version = NULL;
	_cleanup_(freep) unsigned *lit = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *s;
	const char *const argv[] = { "--version", NULL };
	int r, n;

	r = client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Chip", "s", &m);
	check(r >= 0);
	check(r >= 0 && sd_bus_message_read(m, "s", &s) > 0 && streq(s, "sim"));
	m = sd_bus_message_unref(m);

	/* Version is what --version prints. */
	check_int(harness_run_blinkd(argv, &out, NULL), 0);
	r = client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Version", "s",
				&m);
	check(r >= 0);
	if (r >= 0 && sd_bus_message_read(m, "s", &s) > 0 &&
	    asprintf(&version, "blinkd %s\n", s) > 0)
		check_str(out, version);
	else
		check(false);
	m = sd_bus_message_unref(m);

	/* Layout: the default 5x5 matrix, row by row. */
	r = client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Layout", "aau",
				&m);
	check(r >= 0);
	if (r >= 0) {
		size_t rows = 0;

		r = sd_bus_message_enter_container(m, 'a', "au");
		check_int(r, 1);
		while (r > 0 && !sd_bus_message_at_end(m, false)) {
			_cleanup_(freep) unsigned *row = NULL;

			n = message_read_au(m, &row);
			check_int(n, 5);
			if (rows < 5 && n == 5)
				check_int(memcmp(row, layout_default_matrix[rows],
						 sizeof(unsigned) * 5),
					  0);
			rows++;
		}
		check_int(rows, 5);
	}
	m = sd_bus_message_unref(m);

	/* Lit: exactly the lines running programs hold lit. */
	r = client_start(c, "lit1", "{\"on\":{\"lines\":[27,10]}}", &error, NULL);
	check_ok(r, &error);
	r = client_start(c, "lit2", "{\"on\":{\"lines\":{\"col\":4}}}", &error, NULL);
	check_ok(r, &error);
	r = client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Lit", "au", &m);
	check(r >= 0);
	n = r >= 0 ? message_read_au(m, &lit) : -1;
	check_int(n, 7);
	if (n > 0) {
		qsort(lit, (size_t)n, sizeof(unsigned), compare_unsigned);
		check_str(format_au(lit, (size_t)n), "2,3,10,14,15,18,27");
	}
	r = client_call(c, "StopAll", &error, NULL, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
}

static void test_limit(Client *c)
{
	_cleanup_(freep) char *list = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Snapshot before = {};
	size_t started = 0, finished = 0;
	usec_t t0, t1, t2;
	char name[16];
	int r;

	t0 = now_usec(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < 1024; i++) {
		snprintf(name, sizeof(name), "p%04u", i);
		r = client_start(c, name, "{\"on\":{\"lines\":[11]}}", &error, NULL);
		if (r >= 0)
			started++;
		else if (started == i)
			fprintf(stderr, "Start(%s) failed: %s: %s\n", name, error.name,
				error.message);
		sd_bus_error_free(&error);
	}
	t1 = now_usec(CLOCK_MONOTONIC);
	check_int(started, 1024);
	list = client_list(c, false);
	check_int(count_lines(list), 1024);
	check_contains(list, "p0000 {\"on\":{\"lines\":[11]}}\np0001 ");
	free(TAKE_PTR(list));

	snapshot_take(c, &before);
	r = client_start(c, "p1024", "{\"on\":{\"lines\":[11]}}", &error, NULL);
	check_error(r, &error, BLINKD_ERROR_LIMIT_EXCEEDED);
	sd_bus_error_free(&error);
	r = client_start(c, "p1024", "{\"on\":{\"lines\":[12]}}", &error, NULL);
	check_error(r, &error, BLINKD_ERROR_LIMIT_EXCEEDED);
	sd_bus_error_free(&error);
	check_unchanged(c, &before);
	snapshot_done(&before);

	/* Replacing a running program does not add one: it is not refused. */
	r = client_call(c, "Replace", &error, NULL, "ss", "p0000", "{\"on\":{\"lines\":[10]}}");
	check_ok(r, &error);
	sd_bus_error_free(&error);

	/* One stopped makes room for one more. */
	r = client_call(c, "Stop", &error, NULL, "s", "p0001");
	check_ok(r, &error);
	r = client_start(c, "p1024", "{\"on\":{\"lines\":[12]}}", &error, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);

	client_forget_signals(c);
	t2 = now_usec(CLOCK_MONOTONIC);
	r = client_call(c, "StopAll", &error, NULL, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	for (;;) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
		const char *n, *result;

		m = client_wait_signal(c, BLINKD_MANAGER_INTERFACE, "Finished", 5 * S);
		if (!m)
			break;
		if (sd_bus_message_read(m, "ss", &n, &result) > 0 && streq(result, "stopped"))
			finished++;
		if (finished == 1024)
			break;
	}
	check_int(finished, 1024);
	list = client_list(c, false);
	check_str(list, "");
	printf("1024 Starts took %llu ms, StopAll of 1024 with their signals %llu ms\n",
	       (unsigned long long)((t1 - t0) / MS),
	       (unsigned long long)((now_usec(CLOCK_MONOTONIC) - t2) / MS));
}

int main(void)
{
	_cleanup_(client_freep) Client *c = NULL;

	harness_init();
	harness_start_daemon(CONFIG);
	c = client_new();

	test_start_list_stop(c);
	test_refused(c);
	test_definitions(c);
	test_properties(c);
	test_limit(c);

	check(harness_daemon_alive());
	check_int(harness_stop_daemon(SIGTERM), 0);
	return test_summary("test-dbus-methods");
}

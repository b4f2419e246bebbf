/* SPDX-License-Identifier: MIT */
/*
 * blinkd as a process: SIGTERM turns every lit line off (the last lines of
 * the trace) and exits 0; a bad config or a bad --chip exits 1 with one
 * clear message naming the problem; --help and --version exit 0.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-checks.h"

static void test_sigterm(void)
{
	_cleanup_(client_freep) Client *c = client_new();
	sd_bus_error error = SD_BUS_ERROR_NULL;
	bool lit_before[65536] = {};
	Trace t = {};
	size_t last, n_lit = 0, n_off = 0;
	int r;

	harness_start_daemon(NULL);
	r = client_start(c, "pair", "{\"on\":{\"lines\":[11,10]}}", &error, NULL);
	check_ok(r, &error);
	r = client_start(c, "row", "{\"on\":{\"lines\":{\"row\":4}}}", &error, NULL);
	check_ok(r, &error);
	r = client_start(c, "fast", "{\"blink\":{\"lines\":[27],\"interval\":\"1ms\"}}", &error,
			 NULL);
	check_ok(r, &error);
	r = client_start(c, "later",
			 "{\"sequence\":[{\"wait\":\"30ms\"},{\"on\":{\"lines\":[4]}}]}", &error,
			 NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	client_settle(c, 100 * MS);

	check_int(harness_stop_daemon(SIGTERM), 0);

	r = trace_read(harness_trace_path(), &t);
	check_int(r, 0);
	check(t.n > 0);
	if (t.n == 0)
		return;
	/* The last batch: every line that is lit before it goes to 0 in it. */
	for (last = t.n; last > 0 && t.events[last - 1].ns == t.events[t.n - 1].ns; last--)
		;
	for (size_t i = 0; i < last; i++)
		lit_before[t.events[i].offset] = t.events[i].value;
	for (size_t i = 0; i < 65536; i++)
		n_lit += lit_before[i];
	for (size_t i = last; i < t.n; i++) {
		check_int(t.events[i].value, 0);
		check(lit_before[t.events[i].offset]);
		n_off++;
	}
	/* 11, 10, row 4 (13 12 8 23 14), 4, and maybe 27 mid-blink. */
	check(n_lit >= 8);
	check_int(n_off, n_lit);
	check(lit_before[11] && lit_before[10] && lit_before[13] && lit_before[4]);
	trace_done(&t);
}

/* blinkd with @config_text as its config: exit 1, one line on stderr naming the file and @want. */
static void check_bad_config(const char *file, const char *config_text, const char *want)
{
	_cleanup_(freep) char *err = NULL;
	const char *path = harness_write_file(file, config_text);
	const char *const argv[] = { "--user", "--chip", "sim", "--config", path, NULL };
	int code;

	code = harness_run_blinkd(argv, NULL, &err);
	check_int(code, 1);
	check_int(count_lines(err), 1);
	check_contains(err, path);
	check_contains(err, want);
}

static void test_bad_config(void)
{
	check_bad_config("unknown-key.json", "{\"chip\":\"sim\",\"colour\":\"red\"}", "$.colour");
	check_bad_config("invalid.json", "{\"matrix\": [[1, 2], [3, 4]]", "JSON");
	check_bad_config("rows.json", "{\"matrix\": [[1, 2, 3], [4, 5, 6], [7, 8]]}",
			 "$.matrix[2]");
	check_bad_config("definition.json",
			 "{\"definitions\": {\"ok\": {\"on\": {\"lines\": [11]}},"
			 " \"bad\": {\"blink\": {\"lines\": [11], \"interval\": \"5us\"}}}}",
			 "$.definitions.bad.blink.interval");
}

/* A line the chip does not have: refused at start, naming its place in the config. */
static void test_bad_line(void)
{
	check_bad_config("no-such-name.json", "{\"chip\":\"sim\",\"lines\":{\"NOPE\":{}}}",
			 "$.lines[\"NOPE\"]: line \"NOPE\" cannot be had: no line is named");
	check_bad_config("past-the-end.json",
			 "{\"sim_chips\":[{\"label\":\"x\",\"lines\":4}],\"lines\":{\"x:4\":{}}}",
			 "$.lines[\"x:4\"]: line \"x:4\" cannot be had: line 4 does not exist");
	check_bad_config("twice.json",
			 "{\"sim_chips\":[{\"label\":\"x\",\"lines\":4,\"names\":[\"A\"]}],"
			 "\"lines\":{\"x:0\":{},\"x:A\":{}}}",
			 "$.lines[\"x:A\"]: line \"x:A\" is line 0 of sim/x (x), which another");
}

static void test_help_version(void)
{
	_cleanup_(freep) char *out = NULL, *out2 = NULL;
	const char *const help[] = { "--help", NULL };
	const char *const version[] = { "--version", NULL };

	check_int(harness_run_blinkd(help, &out, NULL), 0);
	check_contains(out, "--chip");
	check_contains(out, "--trace");
	check_int(harness_run_blinkd(version, &out2, NULL), 0);
	check_contains(out2, "blinkd ");
}

int main(void)
{
	harness_init();

	test_sigterm();
	test_bad_config();
	test_bad_line();
	test_help_version();

	return test_summary("test-dbus-process");
}

/* SPDX-License-Identifier: MIT */
/*
 * Lines as boards wire them, over D-Bus on simulated chips: three chips (the
 * built-in one, a declared expander, and one that is not there), aliases,
 * an active-low status LED and relay, initial and exit states, the Lines and
 * Chips properties, and a chip that vanishes and returns under a running
 * program (io.blinkd1.Simulation.SetChipPresent), judged by the trace.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-checks.h"
#include "layout.h"

#define RELAY LAYOUT_NUMBER_EXTRA	/* "exp:3" */
#define LEDB (LAYOUT_NUMBER_EXTRA + 1) /* "exp:LEDB" */
#define FAR (LAYOUT_NUMBER_EXTRA + 2)	/* "gone:0" */
#define SIX (LAYOUT_NUMBER_EXTRA + 3)	/* "exp:6" */
#define ACT (LAYOUT_NUMBER_EXTRA + 4)	/* "led:act", simulated */

static const char config[] =
	"{\"chip\":\"sim\",\"matrix\":[[11,10]],"
	"\"lines\":{\"11\":{\"alias\":\"status\",\"active_low\":true},"
	"\"exp:3\":{\"alias\":\"relay\",\"active_low\":true,\"initial\":\"on\",\"exit\":\"keep\"},"
	"\"exp:LEDB\":{\"alias\":\"ledb\",\"exit\":\"on\"},"
	"\"gone:0\":{\"alias\":\"far\"},\"exp:6\":{\"alias\":\"six\"},"
	"\"led:act\":{\"alias\":\"act\",\"exit\":\"on\"}},"
	"\"sim_chips\":[{\"label\":\"exp\",\"lines\":8,\"names\":[\"\",\"\",\"\",\"\",\"LEDB\"]}]}";

/* The Chips property as "label path present;..." */
static char *chips_text(Client *c)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	char *text = NULL;
	size_t size = 0;
	FILE *f;
	const char *label, *path;
	int present;

	if (client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Chips", "a(ssb)",
				&m) < 0)
		return strdup("?");
	f = open_memstream(&text, &size);
	if (!f)
		harness_fatal("out of memory");
	if (sd_bus_message_enter_container(m, 'a', "(ssb)") > 0)
		while (sd_bus_message_read(m, "(ssb)", &label, &path, &present) > 0)
			fprintf(f, "%s %s %s;", label, path, present ? "yes" : "no");
	fclose(f);
	return text;
}

/* The Lines property as "ref alias label number offset name active_low initial exit;..." */
static char *lines_text(Client *c)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	char *text = NULL;
	size_t size = 0;
	FILE *f;
	int r;

	if (client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Lines",
				"a(sssa{sv})", &m) < 0)
		return strdup("?");
	f = open_memstream(&text, &size);
	if (!f)
		harness_fatal("out of memory");
	r = sd_bus_message_enter_container(m, 'a', "(sssa{sv})");
	while (r > 0 && sd_bus_message_enter_container(m, 'r', "sssa{sv}") > 0) {
		const char *ref, *alias, *label, *key, *name = "-", *initial = "?", *exit_state = "?";
		unsigned number = 0, offset = 99999;
		int active_low = -1;

		if (sd_bus_message_read(m, "sss", &ref, &alias, &label) < 0 ||
		    sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
			break;
		while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
			if (sd_bus_message_read(m, "s", &key) < 0)
				break;
			if (streq(key, "number"))
				r = sd_bus_message_read(m, "v", "u", &number);
			else if (streq(key, "offset"))
				r = sd_bus_message_read(m, "v", "u", &offset);
			else if (streq(key, "name"))
				r = sd_bus_message_read(m, "v", "s", &name);
			else if (streq(key, "active_low"))
				r = sd_bus_message_read(m, "v", "b", &active_low);
			else if (streq(key, "initial"))
				r = sd_bus_message_read(m, "v", "s", &initial);
			else if (streq(key, "exit"))
				r = sd_bus_message_read(m, "v", "s", &exit_state);
			else
				r = sd_bus_message_skip(m, "v");
			(void)sd_bus_message_exit_container(m);
		}
		(void)sd_bus_message_exit_container(m);
		(void)sd_bus_message_exit_container(m);
		fprintf(f, "%s %s %s %u %u %s %d %s %s;", ref, alias[0] ? alias : "-", label, number,
			offset, name, active_low, initial, exit_state);
	}
	fclose(f);
	return text;
}

static int set_present(Client *c, const char *chip, bool present, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

	return sd_bus_call_method(c->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				  BLINKD_SIMULATION_INTERFACE, "SetChipPresent", error, &reply,
				  "sb", chip, present);
}

/* The last event of @number in @t (NULL when none). */
static const TraceEvent *last_event(const Trace *t, unsigned number)
{
	for (size_t i = t->n; i > 0; i--)
		if (t->events[i - 1].offset == number)
			return &t->events[i - 1];
	return NULL;
}

static void test_properties(Client *c)
{
	_cleanup_(freep) char *chips = chips_text(c), *lines = lines_text(c);

	check_str(chips, "sim sim yes;exp sim/exp yes;gone  no;act led:act yes;");
	check_str(lines, "11 status sim 11 11 GPIO11 1 off off;"
			 "10 - sim 10 10 GPIO10 0 off off;"
			 "exp:3 relay exp 65536 3 GPIO3 1 on keep;"
			 "exp:LEDB ledb exp 65537 4 LEDB 0 off on;"
			 "gone:0 far gone 65538 0 - 0 off off;"
			 "exp:6 six exp 65539 6 GPIO6 0 off off;"
			 "led:act act act 65540 0 act 0 off on;");
}

/* Initial states, aliases, the physical level in the trace. */
static void test_start(Client *c)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const TraceEvent *e;
	Trace t = {};
	int r;

	read_trace(&t);
	/* The relay starts on: active-low, so its line is low. */
	e = last_event(&t, RELAY);
	check(e && e->value == 1 && e->physical == 0);
	/* The status LED starts off: nothing to say. */
	check(last_event(&t, 11) == NULL);
	trace_done(&t);

	r = client_start(c, "status", "{\"on\":{\"lines\":[\"status\"]}}", &error, NULL);
	check_ok(r, &error);
	client_settle(c, 50 * MS);
	read_trace(&t);
	e = last_event(&t, 11);
	check(e && e->value == 1 && e->physical == 0);
	trace_done(&t);

	/* Names that are no line's: refused with the place. */
	r = client_start(c, "bad", "{\"on\":{\"lines\":[\"nosuch\"]}}", &error, NULL);
	check(r < 0);
	check_str(error.name, BLINKD_ERROR_INVALID_PROGRAM);
	check(error.message && strstr(error.message, "$.on.lines[0]") != NULL);
	sd_bus_error_free(&error);
}

/* The expander vanishes under a blink over both chips and returns in phase. */
static void test_hotplug(Client *c)
{
	_cleanup_(freep) char *chips = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const TraceEvent *e;
	Trace t = {};
	size_t mark, n_ledb = 0;
	int r;

	r = client_start(c, "both", "{\"blink\":{\"lines\":[\"ledb\",10,\"far\"],\"interval\":\"20ms\"}}",
			 &error, NULL);
	check_ok(r, &error);
	client_settle(c, 100 * MS);
	client_forget_signals(c);

	r = set_present(c, "exp", false, &error);
	check_ok(r, &error);
	chips = chips_text(c);
	check_str(chips, "sim sim yes;exp sim/exp no;gone  no;act led:act yes;");
	free(TAKE_PTR(chips));
	if (client_count_signals(c, "org.freedesktop.DBus.Properties", "PropertiesChanged") == 0) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *changed = client_wait_signal(
			c, "org.freedesktop.DBus.Properties", "PropertiesChanged", 2 * S);
		check(changed != NULL);
	}
	mark = trace_mark();
	/* Line 10 goes on blinking (10 edges in 200 ms; a busy machine takes longer), ledb not. */
	check(trace_wait_count(c, mark, 10, 5) >= 5);
	read_trace(&t);
	check_int(trace_count(&t, mark, LEDB), 0);
	trace_done(&t);
	check(!client_wait_finished(c, "both", 10 * MS, NULL));
	/* Started while its chip is away: it runs, and shows once the chip is back. */
	r = client_start(c, "six", "{\"on\":{\"lines\":[\"six\"]}}", &error, NULL);
	check_ok(r, &error);

	r = set_present(c, "exp", true, &error);
	check_ok(r, &error);
	client_settle(c, 200 * MS);
	(void)trace_wait_count(c, mark, LEDB, 5);
	chips = chips_text(c);
	check_str(chips, "sim sim yes;exp sim/exp yes;gone  no;act led:act yes;");
	read_trace(&t);
	/* Back: the blink on both chips edges together again; the relay at its initial state. */
	for (size_t i = mark; i < t.n; i++) {
		n_ledb += t.events[i].offset == LEDB;
	}
	check(n_ledb >= 5);
	/*
	 * In phase: the first event of ledb after the return is the chip's
	 * request, at the state line 10 has then; every later one shares its
	 * instant and value with line 10's.
	 */
	{
		bool first = true;

		for (size_t i = mark; i < t.n; i++) {
			bool shared = false;

			if (t.events[i].offset != LEDB)
				continue;
			if (first) {
				check_int(t.events[i].value, trace_value_after(&t, i, 10));
				first = false;
				continue;
			}
			for (size_t k = mark; k < t.n; k++)
				if (t.events[k].ns == t.events[i].ns && t.events[k].offset == 10 &&
				    t.events[k].value == t.events[i].value)
					shared = true;
			check(shared);
		}
	}
	e = last_event(&t, RELAY);
	check(e && e->value == 1 && e->physical == 0);
	check_int(trace_count(&t, mark, SIX), 1);
	e = last_event(&t, SIX);
	check(e && e->value == 1);
	trace_done(&t);

	r = set_present(c, "nosuch", false, &error);
	check(r < 0);
	check_str(error.name, SD_BUS_ERROR_INVALID_ARGS);
	sd_bus_error_free(&error);
	r = client_call(c, "Stop", &error, NULL, "s", "both");
	check_ok(r, &error);
	r = client_call(c, "Stop", &error, NULL, "s", "six");
	check_ok(r, &error);
	sd_bus_error_free(&error);
}

/* An LED class device takes levels as they are: a fade is levels, not PWM edges. */
static void test_led(Client *c)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const TraceEvent *e;
	Trace t = {};
	size_t mark = trace_mark(), n = 0;
	unsigned last_level = 0;
	bool between = true;
	int r;

	r = client_start(c, "act", "{\"dim\":{\"lines\":[\"act\"],\"level\":0.25}}", &error, NULL);
	check_ok(r, &error);
	client_settle(c, 50 * MS);
	read_trace(&t);
	e = last_event(&t, ACT);
	check(e && e->level == 2500);
	check_int(trace_count(&t, mark, ACT), 1);
	trace_done(&t);

	/* Unplugged and back: at its level again, not lit. */
	r = set_present(c, "act", false, &error);
	check_ok(r, &error);
	r = set_present(c, "act", true, &error);
	check_ok(r, &error);
	client_settle(c, 50 * MS);
	read_trace(&t);
	e = last_event(&t, ACT);
	check(e && e->level == 2500);
	trace_done(&t);

	mark = trace_mark();
	r = client_call(c, "Replace", &error, NULL, "ss", "act",
			"{\"fade\":{\"lines\":[\"act\"],\"from\":0,\"to\":1,\"over\":\"100ms\","
			"\"curve\":\"linear\"}}");
	check_ok(r, &error);
	client_settle(c, 400 * MS); /* the fade's own Finished follows the dim's "replaced" */
	/* Over and dark by then, or (a busy machine) within the harness's timeout. */
	for (usec_t end = now_usec(CLOCK_MONOTONIC) + harness_timeout();; client_settle(c, 20 * MS)) {
		read_trace(&t);
		e = last_event(&t, ACT);
		if ((e && e->level == 0) || now_usec(CLOCK_MONOTONIC) >= end)
			break;
		trace_done(&t);
	}
	/*
	 * Rising through the levels between, one step per 5 ms period, then
	 * dark: 20 steps, of which a busy machine's late wakeups merge some
	 * (the engine writes the level of the instant it wakes), but never
	 * one step back, nor one to the end.
	 */
	for (size_t i = mark; i < t.n; i++)
		if (t.events[i].offset == ACT && t.events[i].level > 0) {
			between = between && t.events[i].level < 10000 && t.events[i].level > last_level;
			last_level = t.events[i].level;
			n++;
		}
	check(between);
	check(n >= 3);
	e = last_event(&t, ACT);
	check(e && e->level == 0);
	trace_done(&t);
	sd_bus_error_free(&error);
}

/* Exit: status off (its line high again), the relay kept, ledb on. */
static void test_exit(Client *c)
{
	const TraceEvent *e;
	Trace t = {};
	size_t mark = trace_mark();

	check_int(harness_stop_daemon(SIGTERM), 0);
	read_trace(&t);
	e = last_event(&t, 11);
	check(e && e->value == 0 && e->physical == 1);
	check_int(trace_count(&t, mark, RELAY), 0);
	e = last_event(&t, RELAY);
	check(e && e->value == 1);
	e = last_event(&t, LEDB);
	check(e && e->value == 1);
	e = last_event(&t, ACT);
	check(e && e->level == 10000);
	trace_done(&t);
}

int main(void)
{
	_cleanup_(client_freep) Client *c = NULL;

	harness_init();
	harness_start_daemon(config);
	c = client_new();
	test_properties(c);
	test_start(c);
	test_hotplug(c);
	test_led(c);
	test_exit(c);
	return test_summary("test-dbus-chips");
}

/* SPDX-License-Identifier: MIT */
/*
 * The start option table: every row from a command line value, from JSON,
 * into an a{sv} and back out as the daemon reads it; good values, each
 * bound, each wrong type, an unknown key, a key twice. And a table with one
 * more row, built here, to show that a row is all an option needs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "json-util.h"
#include "message.h"
#include "start-options.h"
#include "test.h"

/* 2026-11-30T17:00:00Z */
#define NOV30_17H (1796058000ULL * USEC_PER_SEC)

static sd_bus *bus;
static const StartOptionTable *table = &start_option_table;

static const StartOption *row(const StartOptionTable *t, const char *name)
{
	const StartOption *r = start_option_find(t, name);

	check(r != NULL);
	return r;
}

/* --@name @arg alone; returns what start_options_parse_argument() did, @o and @e filled. */
static int argument(const char *name, const char *arg, StartOptions *o, StartOptionError *e)
{
	*o = (StartOptions){};
	*e = (StartOptionError){};
	return start_options_parse_argument(table, row(table, name), arg, NOV30_17H, o, e);
}

static void check_refused_argument(const char *name, const char *arg, const char *message)
{
	StartOptions o;
	StartOptionError e;

	check_int(argument(name, arg, &o, &e), -EINVAL);
	check_str(e.message, message);
	check_int(o.given, 0);
}

static void test_table(void)
{
	static const char *const names[] = { "priority", "replace", "bind", "persist", "timeout", "at" };

	check_int(table->n_rows, ELEMENTSOF(names));
	check(table->n_rows <= 64);
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		const StartOption *r = row(table, names[i]);

		check(r == &table->rows[i]);
		check(r && (r->type == 'b' || r->type == 'i' || r->type == 't'));
	}
	check(start_option_find(table, "colour") == NULL);
	/* The numbers the engine and the daemon use too. */
	check_int(row(table, "priority")->min, -1000);
	check_int(row(table, "priority")->max, 1000);
	check_int(row(table, "timeout")->min, 100);
	check(!row(table, "replace")->command_line);
}

static void test_arguments(void)
{
	StartOptions o;
	StartOptionError e;

	check_int(argument("priority", "0", &o, &e), 0);
	check_int(o.priority, 0);
	check(start_options_given(table, &o, row(table, "priority")));
	check_int(argument("priority", "1000", &o, &e), 0);
	check_int(o.priority, 1000);
	check_int(argument("priority", "-1000", &o, &e), 0);
	check_int(o.priority, -1000);
	check_refused_argument("priority", "1001",
			       "--priority: \"1001\" is not an integer from -1000 to 1000.");
	check_refused_argument("priority", "-1001",
			       "--priority: \"-1001\" is not an integer from -1000 to 1000.");
	check_refused_argument("priority", "ten",
			       "--priority: \"ten\" is not an integer from -1000 to 1000.");
	check_refused_argument("priority", "1.5",
			       "--priority: \"1.5\" is not an integer from -1000 to 1000.");
	check_refused_argument("priority", "",
			       "--priority: \"\" is not an integer from -1000 to 1000.");
	check_refused_argument("priority", "99999999999999999999",
			       "--priority: \"99999999999999999999\" is not an integer from -1000 "
			       "to 1000.");

	check_int(argument("bind", NULL, &o, &e), 0);
	check(o.bind);
	check(start_options_given(table, &o, row(table, "bind")));
	check(!start_options_given(table, &o, row(table, "persist")));
	check_int(argument("persist", NULL, &o, &e), 0);
	check(o.persist);
	check_refused_argument("replace", NULL, "--replace: not an option of the command line.");

	check_int(argument("timeout", "100us", &o, &e), 0);
	check_int(o.timeout, 100);
	check_int(argument("timeout", "1.5", &o, &e), 0);
	check_int(o.timeout, 1500000);
	check_int(argument("timeout", "2m", &o, &e), 0);
	check_int(o.timeout, 120 * USEC_PER_SEC);
	check_refused_argument("timeout", "99us", "--timeout: \"99us\" is shorter than 100us.");
	check_refused_argument("timeout", "0", "--timeout: \"0\" is shorter than 100us.");
	check_refused_argument("timeout", "5parsecs",
			       "--timeout: \"5parsecs\" is not a duration (0.25, 250ms, 1.5s, 2m, "
			       "...).");
	check_refused_argument("timeout", "-1s",
			       "--timeout: \"-1s\" is not a duration (0.25, 250ms, 1.5s, 2m, ...).");

	check_int(argument("at", "2026-11-30T17:00:00Z", &o, &e), 0);
	check_int(o.at, NOV30_17H);
	check_int(argument("at", "+2s", &o, &e), 0);
	check_int(o.at, NOV30_17H + 2 * USEC_PER_SEC);
	check_int(argument("at", "1970-01-01T00:00:00Z", &o, &e), 0);
	check_int(o.at, 0);
	check_refused_argument("at", "1969-12-31T23:59:59Z",
			       "--at: \"1969-12-31T23:59:59Z\" is out of range.");
	check_refused_argument("at", "tomorrow",
			       "--at: \"tomorrow\" is not a time: give RFC 3339 with a zone "
			       "(2026-11-30T17:00:00Z, 2026-11-30T18:00:00+01:00) or +DURATION.");
	check_refused_argument("at", "2026-11-30T17:00:00",
			       "--at: \"2026-11-30T17:00:00\" is not a time: give RFC 3339 with a "
			       "zone (2026-11-30T17:00:00Z, 2026-11-30T18:00:00+01:00) or "
			       "+DURATION.");

	/* Twice: refused, as the daemon refuses a key twice; the first value stays. */
	check_int(argument("priority", "3", &o, &e), 0);
	check_int(start_options_parse_argument(table, row(table, "priority"), "4", 0, &o, &e),
		  -EINVAL);
	check_str(e.message, "--priority: given twice.");
	check_int(o.priority, 3);
	check_int(argument("bind", NULL, &o, &e), 0);
	check_int(start_options_parse_argument(table, row(table, "bind"), NULL, 0, &o, &e),
		  -EINVAL);
	check_str(e.message, "--bind: given twice.");

	/* A verb's option. */
	o = (StartOptions){};
	check_int(start_options_set_bool(table, &o, "replace", true), 0);
	check(o.replace && start_options_given(table, &o, row(table, "replace")));
	check_int(start_options_set_bool(table, &o, "priority", true), -EINVAL);
	check_int(start_options_set_bool(table, &o, "colour", true), -EINVAL);
}

/* @text's options (an object) into @o; returns what start_options_parse_json() did. */
static int json_options(const StartOptionTable *t, const char *text, StartOptions *o,
			StartOptionError *e)
{
	_cleanup_(json_object_putp) json_object *j = NULL;
	JsonError je = {};

	*o = (StartOptions){};
	*e = (StartOptionError){};
	if (json_parse_strict(text, strlen(text), 4, &j, &je) < 0) {
		fprintf(stderr, "%s: %s: %s\n", text, je.path, je.message);
		return -EBADMSG;
	}
	return start_options_parse_json(t, j, "$.options", o, e);
}

static void test_json(void)
{
	static const struct {
		const char *text;
		const char *message;
	} bad[] = {
		{ "[]", "$.options: must be an object" },
		{ "{\"later\": 1}",
		  "$.options.later: unknown option (known: priority, replace, bind, persist, timeout, "
		  "at)" },
		{ "{\"bind\": 1}", "$.options.bind: must be true or false" },
		{ "{\"persist\": \"yes\"}", "$.options.persist: must be true or false" },
		{ "{\"replace\": null}", "$.options.replace: must be true or false" },
		{ "{\"priority\": 1.5}", "$.options.priority: must be an integer" },
		{ "{\"priority\": \"3\"}", "$.options.priority: must be an integer" },
		{ "{\"priority\": 2147483648}", "$.options.priority: must fit in 32 bits" },
		{ "{\"priority\": -2147483649}", "$.options.priority: must fit in 32 bits" },
		{ "{\"timeout\": 1.5}", "$.options.timeout: must be an integer of microseconds" },
		{ "{\"timeout\": -1}", "$.options.timeout: must not be negative" },
		{ "{\"at\": true}", "$.options.at: must be an integer of microseconds" },
		{ "{\"at\": -1}", "$.options.at: must not be negative" },
	};
	_cleanup_(json_object_putp) json_object *j = NULL;
	StartOptions o;
	StartOptionError e;
	JsonError je = {};

	check_int(json_options(table, "{\"priority\": -7, \"replace\": true, \"bind\": false, "
				      "\"persist\": true, \"timeout\": 100, \"at\": 1796058000000000}",
			       &o, &e),
		  0);
	check_int(o.priority, -7);
	check(o.replace && !o.bind && o.persist);
	check_int(o.timeout, 100);
	check_int(o.at, NOV30_17H);
	/* false is given too: it goes to the daemon as false. */
	check_int(o.given, 0x3f);

	check_int(json_options(table, "{}", &o, &e), 0);
	check_int(o.given, 0);

	/* The bounds of the types; the ranges are the daemon's to refuse, with its words. */
	check_int(json_options(table, "{\"priority\": 2147483647, \"timeout\": 18446744073709551615}",
			       &o, &e),
		  0);
	check_int(o.priority, INT32_MAX);
	check_int(o.timeout == UINT64_MAX, 1);
	check_int(json_options(table, "{\"priority\": -2147483648, \"timeout\": 0, \"at\": 0}", &o,
			       &e),
		  0);
	check_int(o.priority, INT32_MIN);

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		check_int(json_options(table, bad[i].text, &o, &e), -EINVAL);
		check_str(e.message, bad[i].message);
	}

	/* A key twice never reaches the table: the strict parser refuses it, by path. */
	{
		const char *twice = "{\"priority\": 1, \"priority\": 2}";

		check_int(json_parse_strict(twice, strlen(twice), 4, &j, &je), -EINVAL);
	}
	check_str(je.path, "$.priority");
}

/* A sealed message holding the a{sv} of @o. */
static sd_bus_message *appended(const StartOptionTable *t, const StartOptions *o)
{
	sd_bus_message *m = NULL;

	check_int(test_message_new(bus, &m), 0);
	check_int(start_options_append(t, o, m), 0);
	check_int(test_message_seal(m), 0);
	return m;
}

/* Read @m as the daemon does; returns what start_options_read() did. */
static int read_back(const StartOptionTable *t, sd_bus_message *m, StartOptions *o,
		     StartOptionError *e)
{
	int r;

	*o = (StartOptions){};
	r = start_options_read(t, m, o, e);
	sd_bus_message_unref(m);
	return r;
}

/* A sealed message of values written by hand, as sd_bus_message_append() takes them. */
static sd_bus_message *hand_written(const char *types, ...)
{
	sd_bus_message *m = NULL;
	va_list ap;
	int r;

	check_int(test_message_new(bus, &m), 0);
	va_start(ap, types);
	r = sd_bus_message_appendv(m, types, ap);
	va_end(ap);
	check(r >= 0);
	check_int(test_message_seal(m), 0);
	return m;
}

static void check_refused_read(sd_bus_message *m, const char *message)
{
	StartOptions o;
	StartOptionError e;

	check_int(read_back(table, m, &o, &e), -EINVAL);
	check_str(e.message, message);
}

static void test_bus(void)
{
	StartOptions o, back;
	StartOptionError e;
	sd_bus_message *m;
	const char *key;

	/* Nothing given: an empty a{sv}, read back as nothing. */
	o = (StartOptions){};
	check_int(read_back(table, appended(table, &o), &back, &e), 0);
	check_int(back.given, 0);

	/* Only what was given goes in, in table order, and comes back as it was. */
	o = (StartOptions){};
	check_int(start_options_parse_argument(table, row(table, "timeout"), "1.5s", 0, &o, &e), 0);
	check_int(start_options_parse_argument(table, row(table, "priority"), "-1000", 0, &o, &e), 0);
	m = appended(table, &o);
	check(sd_bus_message_enter_container(m, 'a', "{sv}") > 0);
	check(sd_bus_message_read(m, "{sv}", &key, "i", &(int32_t){ 0 }) > 0 && streq(key, "priority"));
	check(sd_bus_message_read(m, "{sv}", &key, "t", &(uint64_t){ 0 }) > 0 && streq(key, "timeout"));
	check_int(sd_bus_message_at_end(m, false), 1);
	check_int(sd_bus_message_rewind(m, true), 1);
	check_int(read_back(table, m, &back, &e), 0);
	check_int(back.given, o.given);
	check_int(back.priority, -1000);
	check_int(back.timeout, 1500000);

	/* Every row of the command line, through an a{sv}, back. */
	o = (StartOptions){};
	check_int(start_options_parse_argument(table, row(table, "priority"), "1000", 0, &o, &e), 0);
	check_int(start_options_parse_argument(table, row(table, "bind"), NULL, 0, &o, &e), 0);
	check_int(start_options_parse_argument(table, row(table, "persist"), NULL, 0, &o, &e), 0);
	check_int(start_options_parse_argument(table, row(table, "timeout"), "100us", 0, &o, &e), 0);
	check_int(start_options_parse_argument(table, row(table, "at"), "+1m", NOV30_17H, &o, &e),
		  0);
	check_int(start_options_set_bool(table, &o, "replace", true), 0);
	check_int(read_back(table, appended(table, &o), &back, &e), 0);
	check_int(back.given, 0x3f);
	check_int(back.priority, 1000);
	check(back.replace && back.bind && back.persist);
	check_int(back.timeout, 100);
	check_int(back.at, NOV30_17H + USEC_PER_MINUTE);

	/* Every row, from JSON, through an a{sv}, back; false stays false. */
	check_int(json_options(table, "{\"priority\": 1000, \"replace\": true, \"bind\": false, "
				      "\"persist\": true, \"timeout\": 100, \"at\": 1}",
			       &o, &e),
		  0);
	check_int(read_back(table, appended(table, &o), &back, &e), 0);
	check_int(back.given, 0x3f);
	check_int(back.priority, 1000);
	check(back.replace && !back.bind && back.persist);
	check_int(back.timeout, 100);
	check_int(back.at, 1);

	/* The daemon's refusals while reading, each naming the key. */
	check_refused_read(hand_written("a{sv}", 1, "colour", "s", "red"),
			   "unknown option \"colour\" (expected priority, replace, bind, persist, "
			   "timeout, at)");
	check_refused_read(hand_written("a{sv}", 2, "priority", "i", 1, "priority", "i", 2),
			   "priority: given twice");
	check_refused_read(hand_written("a{sv}", 1, "priority", "s", "high"),
			   "priority: must be of type \"i\", not \"s\"");
	check_refused_read(hand_written("a{sv}", 1, "priority", "u", 5u),
			   "priority: must be of type \"i\", not \"u\"");
	check_refused_read(hand_written("a{sv}", 1, "replace", "i", 1),
			   "replace: must be of type \"b\", not \"i\"");
	check_refused_read(hand_written("a{sv}", 1, "bind", "s", "yes"),
			   "bind: must be of type \"b\", not \"s\"");
	check_refused_read(hand_written("a{sv}", 1, "persist", "t", (uint64_t)1),
			   "persist: must be of type \"b\", not \"t\"");
	check_refused_read(hand_written("a{sv}", 1, "timeout", "x", (int64_t)1000),
			   "timeout: must be of type \"t\", not \"x\"");
	check_refused_read(hand_written("a{sv}", 1, "at", "i", 5), "at: must be of type \"t\", not \"i\"");
	check_refused_read(hand_written("a{sv}", 1, "timeout", "t", (uint64_t)0),
			   "timeout: must be at least 100 us, not 0");
	check_refused_read(hand_written("a{sv}", 1, "at", "t", (uint64_t)0),
			   "at: must be a CLOCK_REALTIME instant in microseconds, not 0");

	/* What needs the daemon's clock or limits is read, for the daemon to refuse. */
	check_int(read_back(table, hand_written("a{sv}", 3, "priority", "i", 1001, "timeout", "t",
						 (uint64_t)1, "at", "t", UINT64_MAX),
			    &back, &e),
		  0);
	check_int(back.priority, 1001);
	check_int(back.timeout, 1);
	check(back.at == UINT64_MAX);

	/* Not an a{sv}: an errno, no refusal of an option. */
	check_int(test_message_new(bus, &m), 0);
	check(sd_bus_message_append(m, "as", 1, "priority") >= 0);
	check_int(test_message_seal(m), 0);
	e.message[0] = 'x';
	check(read_back(table, m, &back, &e) < 0);
	check_str(e.message, "");
}

/*
 * A table with one more row, as adding an option would make it: "dim", a
 * flag, whose value lives beyond StartOptions in a struct of the test's.
 * Nothing but the row is written for it: the command line, JSON, the
 * a{sv} and the daemon's reading all come from the table.
 */
typedef struct TestOptions {
	StartOptions base;
	bool dim;
} TestOptions;

static void test_extra_row(void)
{
	StartOption rows[16];
	StartOptionTable t = { .rows = rows, .n_rows = table->n_rows + 1 };
	TestOptions o = {}, back = {};
	StartOptionError e = {};
	_cleanup_(json_object_putp) json_object *j = NULL;
	const StartOption *dim;

	check(t.n_rows <= ELEMENTSOF(rows));
	memcpy(rows, table->rows, table->n_rows * sizeof(StartOption));
	rows[table->n_rows] = (StartOption){
		.name = "dim",
		.type = 'b',
		.offset = offsetof(TestOptions, dim),
		.max = 1,
		.command_line = true,
	};
	dim = row(&t, "dim");

	/* From a command line: --dim, beside an option of the table. */
	check_int(start_options_parse_argument(&t, dim, NULL, 0, &o.base, &e), 0);
	check_int(start_options_parse_argument(&t, row(&t, "priority"), "5", 0, &o.base, &e), 0);
	check(o.dim);
	check(start_options_given(&t, &o.base, dim));
	check_int(start_options_parse_argument(&t, dim, NULL, 0, &o.base, &e), -EINVAL);
	check_str(e.message, "--dim: given twice.");

	/* From JSON. */
	o = (TestOptions){};
	j = json_tokener_parse("{\"dim\": true, \"bind\": true}");
	check_int(start_options_parse_json(&t, j, "$.options", &o.base, &e), 0);
	check(o.dim && o.base.bind);
	check_int(start_options_parse_json(table, j, "$.options", &(StartOptions){}, &e), -EINVAL);
	check_str(e.message, "$.options.dim: unknown option (known: priority, replace, bind, "
			     "persist, timeout, at)");

	/* Appended, and read back by a daemon that has the row. */
	check_int(read_back(&t, appended(&t, &o.base), &back.base, &e), 0);
	check(back.dim && back.base.bind);
	check(start_options_given(&t, &back.base, dim));
	check_int(back.base.given, o.base.given);

	/* A daemon without it refuses it, and names it; one with it, of the wrong type too. */
	check_refused_read(appended(&t, &o.base),
			   "unknown option \"dim\" (expected priority, replace, bind, persist, "
			   "timeout, at)");
	back = (TestOptions){};
	check_int(read_back(&t, hand_written("a{sv}", 1, "dim", "s", "yes"), &back.base, &e), -EINVAL);
	check_str(e.message, "dim: must be of type \"b\", not \"s\"");
	check_int(read_back(&t, hand_written("a{sv}", 1, "colour", "s", "red"), &back.base, &e), -EINVAL);
	check_str(e.message, "unknown option \"colour\" (expected priority, replace, bind, persist, "
			     "timeout, at, dim)");
}

int main(void)
{
	bus = test_message_bus();
	check(bus != NULL);
	if (!bus)
		return test_summary("test-start-options");
	test_table();
	test_arguments();
	test_json();
	test_bus();
	test_extra_row();
	sd_bus_unref(bus);
	return test_summary("test-start-options");
}

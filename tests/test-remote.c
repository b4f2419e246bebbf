/* SPDX-License-Identifier: MIT */
/*
 * The remote blinkd (libblinkd/remote.h) against the real daemon on a
 * private bus, and against a stand-in for an older one served from this
 * process: the owner coming and going (the generation counts it), settled
 * with no owner, StartWithOptions found by calling it, the Lit, layout,
 * List() and ListDefinitions() caches following the daemon, refreshes
 * coalesced, Finished delivered once, and a remote freed inside its own
 * callback.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "dbus-checks.h"
#include "remote.h"
#include "strv.h"

typedef struct Seen {
	unsigned appeared, vanished, settled, frames, lit, levels, lines, chips;
	unsigned programs, programs_changed, definitions, definitions_changed;
	unsigned finished_short;
	char *finished_result;
} Seen;

static void on_appeared(BlinkdRemote *r, const char *owner, void *userdata)
{
	Seen *s = userdata;

	s->appeared++;
	check_str(blinkd_remote_get_owner(r), owner);
}

static void on_vanished(BlinkdRemote *r, void *userdata)
{
	((Seen *)userdata)->vanished++;
	check(!blinkd_remote_get_owner(r));
}

static void on_settled(BlinkdRemote *r, void *userdata)
{
	((Seen *)userdata)->settled++;
	check(blinkd_remote_is_settled(r));
}

static void on_frame(BlinkdRemote *r, uint64_t usec, const unsigned *lit, size_t n_lit,
		     void *userdata)
{
	((Seen *)userdata)->frames++;
}

static void on_lit(BlinkdRemote *r, void *userdata)
{
	((Seen *)userdata)->lit++;
}

static void on_levels(BlinkdRemote *r, void *userdata)
{
	((Seen *)userdata)->levels++;
}

static void on_lines(BlinkdRemote *r, void *userdata)
{
	((Seen *)userdata)->lines++;
}

static void on_chips(BlinkdRemote *r, void *userdata)
{
	((Seen *)userdata)->chips++;
}

static void on_programs(BlinkdRemote *r, bool changed, void *userdata)
{
	Seen *s = userdata;

	s->programs++;
	s->programs_changed += changed;
}

static void on_definitions(BlinkdRemote *r, bool changed, void *userdata)
{
	Seen *s = userdata;

	s->definitions++;
	s->definitions_changed += changed;
}

static void on_finished(BlinkdRemote *r, const char *name, const char *result, void *userdata)
{
	Seen *s = userdata;

	if (!streq(name, "short"))
		return;
	s->finished_short++;
	free(s->finished_result);
	s->finished_result = strdup(result);
}

static const BlinkdRemoteOps seen_ops = {
	.appeared = on_appeared,
	.vanished = on_vanished,
	.settled = on_settled,
	.frame = on_frame,
	.lit_changed = on_lit,
	.levels_changed = on_levels,
	.lines_changed = on_lines,
	.chips_changed = on_chips,
	.programs_read = on_programs,
	.definitions_read = on_definitions,
	.finished = on_finished,
};

#define ALL_FLAGS                                                                                  \
	(BLINKD_REMOTE_FRAMES | BLINKD_REMOTE_LIT | BLINKD_REMOTE_LEVELS | BLINKD_REMOTE_LINES |  \
	 BLINKD_REMOTE_CHIPS | BLINKD_REMOTE_PROGRAMS | BLINKD_REMOTE_DEFINITIONS |                \
	 BLINKD_REMOTE_FINISHED | BLINKD_REMOTE_CAPABILITIES)

/* Run @e until @cond holds, up to the harness's timeout; evaluates to @cond. */
#define RUN_UNTIL(e, cond)                                                                         \
	({                                                                                         \
		usec_t _end = now_usec(CLOCK_MONOTONIC) + harness_timeout();                      \
		while (!(cond) && now_usec(CLOCK_MONOTONIC) < _end)                                \
			(void)sd_event_run((e), 50 * MS);                                          \
		(cond);                                                                            \
	})

static void run_for(sd_event *e, usec_t duration)
{
	usec_t end = now_usec(CLOCK_MONOTONIC) + duration;

	while (now_usec(CLOCK_MONOTONIC) < end)
		(void)sd_event_run(e, 20 * MS);
}

static bool lit_is(const BlinkdRemote *r, const unsigned *want, size_t n_want)
{
	size_t n;
	const unsigned *lit = blinkd_remote_get_lit(r, &n);

	if (n != n_want)
		return false;
	for (size_t i = 0; i < n_want; i++) {
		bool found = false;

		for (size_t j = 0; j < n; j++)
			found = found || lit[j] == want[i];
		if (!found)
			return false;
	}
	return true;
}

static bool has_program(const BlinkdRemoteProgram *v, size_t n, const char *name)
{
	for (size_t i = 0; v && i < n; i++)
		if (streq(v[i].name, name))
			return true;
	return false;
}

static bool running(const BlinkdRemote *r, const char *name)
{
	size_t n;
	const BlinkdRemoteProgram *v = blinkd_remote_get_programs(r, &n);

	return has_program(v, n, name);
}

static bool defined(const BlinkdRemote *r, const char *name)
{
	size_t n;
	const BlinkdRemoteProgram *v = blinkd_remote_get_definitions(r, &n);

	return has_program(v, n, name);
}

/* Whether the first chip of Chips is there (false before Chips was read). */
static bool chip_present(const BlinkdRemote *r)
{
	size_t n;
	const BlinkdChip *v = blinkd_remote_get_chips(r, &n);

	return n > 0 && v[0].present;
}

static double level_of(const BlinkdRemote *r, unsigned number)
{
	size_t n;
	const BlinkdLevel *v = blinkd_remote_get_levels(r, &n);

	for (size_t i = 0; i < n; i++)
		if (v[i].number == number)
			return v[i].level;
	return 0;
}

/* ------------------------------------------- a blinkd from before StartWithOptions */

static int old_list(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return sd_bus_reply_method_return(m, "a(ss)", 1, "old", "{\"on\":{\"lines\":[6]}}");
}

static int old_list_definitions(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return sd_bus_reply_method_return(m, "a(ss)", 0);
}

static int old_nothing(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return sd_bus_reply_method_return(m, NULL);
}

static int old_layout(sd_bus *bus, const char *path, const char *interface, const char *property,
		      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "aau", 2, 3, 5, 6, 7, 3, 8, 9, 10);
}

static int old_lit(sd_bus *bus, const char *path, const char *interface, const char *property,
		   sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "au", 2, 6, 9);
}

static int old_string(sd_bus *bus, const char *path, const char *interface, const char *property,
		      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", streq(property, "Chip") ? "sim" : "0.9");
}

static const sd_bus_vtable old_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Layout", "aau", old_layout, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Chip", "s", old_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Lit", "au", old_lit, 0, 0),
	SD_BUS_PROPERTY("Version", "s", old_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD("List", "", "a(ss)", old_list, 0),
	SD_BUS_METHOD("ListDefinitions", "", "a(ss)", old_list_definitions, 0),
	SD_BUS_METHOD("Subscribe", "", "", old_nothing, 0),
	SD_BUS_METHOD("Unsubscribe", "", "", old_nothing, 0),
	SD_BUS_VTABLE_END,
};

static void test_old_daemon(sd_event *e, BlinkdRemote *r, Seen *s)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *old = NULL;
	static const unsigned old_lit_now[] = { 6, 9 };
	const Layout *l;
	unsigned generation = blinkd_remote_get_generation(r);

	check_int(sd_bus_open_user(&old), 0);
	check_int(sd_bus_add_object_vtable(old, NULL, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE,
					   old_vtable, NULL),
		  0);
	check_int(sd_bus_attach_event(old, e, 0), 0);
	check(sd_bus_request_name(old, BLINKD_BUS_NAME, 0) >= 0);

	check(RUN_UNTIL(e, s->appeared == 1 && blinkd_remote_is_settled(r)));
	check_int(blinkd_remote_get_generation(r), generation + 1);
	/* UnknownMethod: requests with options are refused. */
	check(!blinkd_remote_has_start_with_options(r));
	check(RUN_UNTIL(e, running(r, "old") && blinkd_remote_get_layout(r)));
	l = blinkd_remote_get_layout(r);
	check_int(l->n_rows, 2);
	check_int(l->n_lines, 6);
	check(!blinkd_remote_get_labels(r));
	check_str(blinkd_remote_get_chip(r), "sim");
	check_str(blinkd_remote_get_version(r), "0.9");
	check(lit_is(r, old_lit_now, ELEMENTSOF(old_lit_now)));
	/* Lit without Levels: every lit line at full level. */
	check(level_of(r, 9) == 1);

	old = sd_bus_flush_close_unref(old);
	check(RUN_UNTIL(e, s->vanished == 1));
	check_int(blinkd_remote_get_generation(r), generation + 2);
	check(!blinkd_remote_get_layout(r));
	check(!running(r, "old"));
	check(blinkd_remote_is_settled(r));
}

/* ------------------------------------------------------------ the daemon */

static void test_daemon(sd_event *e, BlinkdRemote *r, Seen *s, Client *c)
{
	static const unsigned row0[] = { 11, 10, 27, 4, 2 };
	sd_bus_error error = SD_BUS_ERROR_NULL;
	unsigned generation = blinkd_remote_get_generation(r);
	unsigned settled = s->settled, n0;
	size_t n;
	int k;

	harness_start_daemon(NULL);
	check(RUN_UNTIL(e, s->appeared == 2 && blinkd_remote_is_settled(r)));
	check_int(blinkd_remote_get_generation(r), generation + 1);
	check(s->settled > settled);
	/* InvalidArgs to a call without arguments: the method is there. */
	check(blinkd_remote_has_start_with_options(r));
	check(RUN_UNTIL(e, blinkd_remote_get_programs(r, &n) && blinkd_remote_get_definitions(r, &n) &&
				   blinkd_remote_get_layout(r) && blinkd_remote_get_chips(r, &n)));
	check_int(blinkd_remote_get_layout(r)->n_lines, 25);
	/* Lines decoded: each line's chip label, by position. */
	check(blinkd_remote_get_labels(r) != NULL);
	check_int(strv_length(blinkd_remote_get_labels(r)), 25);
	check_str(blinkd_remote_get_chip(r), "sim");
	check(blinkd_remote_get_version(r) != NULL);
	check(lit_is(r, NULL, 0));

	/* A chip goes and comes back: Chips follows through PropertiesChanged. */
	k = sd_bus_call_method(c->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
			       BLINKD_SIMULATION_INTERFACE, "SetChipPresent", &error, NULL, "sb", "",
			       0);
	check_ok(k, &error);
	check(RUN_UNTIL(e, !chip_present(r)));
	k = sd_bus_call_method(c->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
			       BLINKD_SIMULATION_INTERFACE, "SetChipPresent", &error, NULL, "sb", "",
			       1);
	check_ok(k, &error);
	check(RUN_UNTIL(e, chip_present(r)));
	check(blinkd_remote_get_layout(r) && blinkd_remote_get_layout(r)->n_lines == 25);

	/* Lit and List() follow a started program. */
	k = client_start(c, "top", "{\"on\":{\"lines\":{\"row\":0}}}", &error, NULL);
	check_ok(k, &error);
	check(RUN_UNTIL(e, lit_is(r, row0, ELEMENTSOF(row0)) && running(r, "top")));
	check(s->frames > 0);
	check(level_of(r, 27) == 1);

	/* Levels follow a dim. */
	k = client_start(c, "low", "{\"dim\":{\"lines\":[9],\"level\":0.5}}", &error, NULL);
	check_ok(k, &error);
	check(RUN_UNTIL(e, level_of(r, 9) == 0.5 && running(r, "low")));

	/* Stop: gone from the programs and from the lit lines. */
	k = client_call(c, "Stop", &error, NULL, "s", "top");
	check_ok(k, &error);
	check(RUN_UNTIL(e, !running(r, "top") && level_of(r, 27) == 0));
	k = client_call(c, "Stop", &error, NULL, "s", "low");
	check_ok(k, &error);
	check(RUN_UNTIL(e, !running(r, "low") && lit_is(r, NULL, 0)));

	/* Define, then asked again: the definitions follow. */
	check(!defined(r, "d1"));
	k = client_call(c, "Define", &error, NULL, "ss", "d1", "{\"on\":{\"lines\":[3]}}");
	check_ok(k, &error);
	n0 = s->definitions_changed;
	blinkd_remote_refresh_definitions(r);
	check(RUN_UNTIL(e, defined(r, "d1")));
	check_int(s->definitions_changed, n0 + 1);

	/* Finished comes once, and the program leaves the list. */
	k = client_start(c, "short", "{\"on\":{\"lines\":[12],\"for\":\"100ms\"}}", &error, NULL);
	check_ok(k, &error);
	check(RUN_UNTIL(e, s->finished_short > 0 && !running(r, "short")));
	run_for(e, 300 * MS);
	check_int(s->finished_short, 1);
	check_str(s->finished_result, "done");

	/* Three asks while one is in flight: that one, and one more after it. */
	run_for(e, 300 * MS);
	n0 = s->programs;
	blinkd_remote_refresh_programs(r);
	blinkd_remote_refresh_programs(r);
	blinkd_remote_refresh_programs(r);
	check(RUN_UNTIL(e, s->programs >= n0 + 2));
	run_for(e, 300 * MS);
	check_int(s->programs, n0 + 2);
	n0 = s->definitions;
	blinkd_remote_refresh_definitions(r);
	blinkd_remote_refresh_definitions(r);
	check(RUN_UNTIL(e, s->definitions >= n0 + 2));
	run_for(e, 300 * MS);
	check_int(s->definitions, n0 + 2);

	/* The daemon goes: vanished, the caches dropped, still settled. */
	check_int(harness_stop_daemon(SIGTERM), 0);
	check(RUN_UNTIL(e, s->vanished == 2));
	check_int(blinkd_remote_get_generation(r), generation + 2);
	check(!blinkd_remote_get_owner(r));
	check(!blinkd_remote_get_programs(r, &n));
	check(!blinkd_remote_get_layout(r));
	check(blinkd_remote_is_settled(r));

	/* And comes back: appeared again, the caches read anew. */
	harness_start_daemon(NULL);
	check(RUN_UNTIL(e, s->appeared == 3 && blinkd_remote_get_programs(r, &n)));
	check_int(blinkd_remote_get_generation(r), generation + 3);
	check(blinkd_remote_has_start_with_options(r));
	sd_bus_error_free(&error);
}

/* A callback may free the remote that calls it. */
static void free_on_appeared(BlinkdRemote *r, const char *owner, void *userdata)
{
	BlinkdRemote **p = userdata;

	check(*p == r);
	*p = blinkd_remote_free(*p);
}

static void test_free_inside(sd_event *e, sd_bus *bus)
{
	static const BlinkdRemoteOps ops = { .appeared = free_on_appeared };
	BlinkdRemote *r = NULL;

	check_int(blinkd_remote_new(&r, bus, ALL_FLAGS, &ops, &r), 0);
	check(RUN_UNTIL(e, !r));
	run_for(e, 200 * MS);
}

int main(void)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(blinkd_remote_freep) BlinkdRemote *r = NULL;
	_cleanup_(client_freep) Client *c = NULL;
	Seen s = {};

	harness_init();
	check_int(sd_event_new(&e), 0);
	check_int(sd_bus_open_user(&bus), 0);
	check_int(sd_bus_attach_event(bus, e, 0), 0);
	check(blinkd_remote_free(NULL) == NULL);
	check_int(blinkd_remote_new(&r, bus, ALL_FLAGS, &seen_ops, &s), 0);

	/* Nothing owns the name: settled, without an owner, nothing appeared. */
	check(RUN_UNTIL(e, s.settled > 0));
	check(blinkd_remote_is_settled(r));
	check(!blinkd_remote_get_owner(r));
	check_int(s.appeared, 0);
	check_int(blinkd_remote_get_generation(r), 0);

	test_old_daemon(e, r, &s);
	c = client_new();
	test_daemon(e, r, &s, c);
	test_free_inside(e, bus);

	r = blinkd_remote_free(r);
	check_int(harness_stop_daemon(SIGTERM), 0);
	free(s.finished_result);
	return test_summary("test-remote");
}

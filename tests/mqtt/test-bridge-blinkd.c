/* SPDX-License-Identifier: MIT */
/*
 * The bridge's real blinkd side (bridge-blinkd.c, over libblinkd's remote)
 * against the real daemon on a private bus, through the same RemoteOps and
 * RemoteEvents the bridge uses: absent once, appeared and settled with
 * StartWithOptions found, the layout's numbers, chip and version, the
 * running programs as JSON, lit lines, each call and its reply,
 * definitions read (changed only when they are), Finished, and vanished
 * when the daemon goes.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "bridge-blinkd.h"
#include "dbus-checks.h"
#include "json-util.h"
#include "log.h"

typedef struct Seen {
	unsigned appeared, vanished, absent, settled, layout, lit, running;
	unsigned definitions, definitions_changed, finished_short;
	char *finished_result;
} Seen;

static void on_appeared(void *userdata)
{
	((Seen *)userdata)->appeared++;
}

static void on_vanished(void *userdata)
{
	((Seen *)userdata)->vanished++;
}

static void on_absent(void *userdata)
{
	((Seen *)userdata)->absent++;
}

static void on_settled(void *userdata)
{
	((Seen *)userdata)->settled++;
}

static void on_layout(void *userdata)
{
	((Seen *)userdata)->layout++;
}

static void on_lit(void *userdata)
{
	((Seen *)userdata)->lit++;
}

static void on_running(void *userdata)
{
	((Seen *)userdata)->running++;
}

static void on_definitions(bool changed, void *userdata)
{
	Seen *s = userdata;

	s->definitions++;
	s->definitions_changed += changed;
}

static void on_finished(const char *name, const char *result, void *userdata)
{
	Seen *s = userdata;

	if (!streq(name, "short"))
		return;
	s->finished_short++;
	free(s->finished_result);
	s->finished_result = strdup(result);
}

static const RemoteEvents events = {
	.appeared = on_appeared,
	.vanished = on_vanished,
	.absent = on_absent,
	.settled = on_settled,
	.layout_changed = on_layout,
	.lit_changed = on_lit,
	.running_changed = on_running,
	.definitions_read = on_definitions,
	.finished = on_finished,
};

/* A reply, kept. */
typedef struct Answer {
	bool came;
	char *error_name;
	char *path;
} Answer;

static void on_reply(const RemoteReply *reply, void *userdata)
{
	Answer *a = userdata;

	a->came = true;
	a->error_name = reply->error_name ? strdup(reply->error_name) : NULL;
	a->path = reply->path ? strdup(reply->path) : NULL;
}

static void answer_done(Answer *a)
{
	free(a->error_name);
	free(a->path);
	*a = (Answer){};
}

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

/* The running programs' JSON, as the bridge would publish it. */
static const char *running_json(BridgeBlinkd *b)
{
	json_object *running = bridge_blinkd_ops.running(b);

	return running ? json_object_to_json_string_ext(running, JSON_C_TO_STRING_PLAIN) : NULL;
}

static bool is_lit(BridgeBlinkd *b, unsigned number)
{
	size_t n;
	const unsigned *lit = bridge_blinkd_ops.lit(b, &n);

	for (size_t i = 0; i < n; i++)
		if (lit[i] == number)
			return true;
	return false;
}

int main(void)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	_cleanup_(bridge_blinkd_freep) BridgeBlinkd *b = NULL;
	const RemoteOps *ops = &bridge_blinkd_ops;
	RequestError error = {};
	Answer a = {};
	Seen s = {};
	Request request = {};
	const char *payload = "{\"program\": {\"on\":{\"lines\":[4]}}, \"options\": {\"priority\": 5}}";
	size_t n;

	log_set_max_level(LOG_WARNING);
	harness_init();
	check_int(sd_event_new(&e), 0);
	check_int(bridge_blinkd_new(&b, e, true, &events, &s), 0);
	check(!ops->settled(b));
	check_int(ops->watch(b), 0);

	/* Nothing owns the name: absent, settled, not present. */
	check(RUN_UNTIL(e, s.settled > 0));
	check(ops->settled(b));
	check(!ops->present(b));
	check_int(s.absent, 1);
	check_int(s.appeared, 0);

	/* The daemon comes: appeared, settled with StartWithOptions, the layout read. */
	harness_start_daemon(NULL);
	check(RUN_UNTIL(e, s.appeared == 1 && ops->settled(b) && ops->numbers(b, &n) &&
				   ops->running(b) && ops->definitions(b)));
	check(ops->present(b));
	check(ops->has_start_with_options(b));
	check(ops->numbers(b, &n) != NULL);
	check_int(n, 25);
	check(s.layout >= 1);
	check_str(ops->chip(b), "sim");
	check(ops->version(b) != NULL);
	check_str(running_json(b), "[]");
	check_str(json_object_to_json_string_ext(ops->definitions(b), JSON_C_TO_STRING_PLAIN), "[]");
	check(ops->definition_names(b) && !ops->definition_names(b)[0]);
	check_int(s.definitions_changed, 1);
	check_int(s.absent, 1);

	/* Start: the path comes back, List() follows with the program as JSON, Lit too. */
	check_int(ops->start(b, "top", "{\"on\":{\"lines\":[27]}}", on_reply, &a, &error), 0);
	check(RUN_UNTIL(e, a.came));
	check(a.error_name == NULL);
	check(a.path != NULL);
	answer_done(&a);
	check(RUN_UNTIL(e, running_json(b) && strstr(running_json(b), "top") && is_lit(b, 27)));
	check_str(running_json(b), "[{\"name\":\"top\",\"program\":{\"on\":{\"lines\":[27]}}}]");
	check(s.running >= 2);
	check(s.lit >= 1);

	/* StartWithOptions, replacing, as request.c reads it from MQTT: a path again. */
	check_int(request_topic_parse("blinkd/b1/replace/top", "blinkd", "b1", &request, &error), 1);
	check_int(request_payload_parse(&request, payload, strlen(payload), 1024, &error), 0);
	check_int(ops->start_with_options(b, &request, on_reply, &a, &error), 0);
	request_done(&request);
	check(RUN_UNTIL(e, a.came));
	check(a.error_name == NULL);
	check(a.path != NULL);
	answer_done(&a);
	check(RUN_UNTIL(e, is_lit(b, 4) && !is_lit(b, 27)));

	/* Start of a name that runs: blinkd's error as it is. */
	check_int(ops->start(b, "top", "{\"on\":{\"lines\":[3]}}", on_reply, &a, &error), 0);
	check(RUN_UNTIL(e, a.came));
	check_str(a.error_name, BLINKD_ERROR_EXISTS);
	answer_done(&a);

	/* Replace, Stop, Stop of what does not run, StopAll. */
	check_int(ops->replace(b, "top", "{\"on\":{\"lines\":[3]}}", on_reply, &a, &error), 0);
	check(RUN_UNTIL(e, a.came));
	check(a.error_name == NULL && a.path != NULL);
	answer_done(&a);
	check_int(ops->stop(b, "top", on_reply, &a, &error), 0);
	check(RUN_UNTIL(e, a.came));
	check(a.error_name == NULL && a.path == NULL);
	answer_done(&a);
	check_int(ops->stop(b, "top", on_reply, &a, &error), 0);
	check(RUN_UNTIL(e, a.came));
	check_str(a.error_name, BLINKD_ERROR_NOT_RUNNING);
	answer_done(&a);
	check_int(ops->stop_all(b, on_reply, &a, &error), 0);
	check(RUN_UNTIL(e, a.came));
	check(a.error_name == NULL);
	answer_done(&a);
	check(RUN_UNTIL(e, running_json(b) && streq(running_json(b), "[]")));

	/* Definitions read again, unchanged: told, but not as changed. */
	n = s.definitions;
	ops->refresh_definitions(b);
	check(RUN_UNTIL(e, s.definitions > n));
	check_int(s.definitions_changed, 1);

	/* Finished. */
	check_int(ops->start(b, "short", "{\"on\":{\"lines\":[12],\"for\":\"50ms\"}}", on_reply, &a,
			     &error),
		  0);
	check(RUN_UNTIL(e, a.came && s.finished_short > 0));
	check_str(s.finished_result, "done");
	answer_done(&a);

	/* The daemon goes: vanished, nothing kept, settled, not absent again. */
	check_int(harness_stop_daemon(SIGTERM), 0);
	check(RUN_UNTIL(e, s.vanished == 1));
	check(!ops->present(b));
	check(ops->numbers(b, &n) == NULL);
	check(ops->running(b) == NULL);
	run_for(e, 100 * MS);
	check(ops->settled(b));
	check_int(s.absent, 1);

	free(s.finished_result);
	return test_summary("test-bridge-blinkd");
}

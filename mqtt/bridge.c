/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "bridge.h"
#include "json-util.h"
#include "log.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

char *bridge_topic(const Bridge *b, const char *leaf)
{
	char *s;

	if (asprintf(&s, "%s/%s/%s", b->config->prefix, b->config->board, leaf) < 0)
		return NULL;
	return s;
}

DiscoveryBoard bridge_discovery_board(const Bridge *b)
{
	return (DiscoveryBoard){
		.prefix = b->config->prefix,
		.board = b->config->board,
		.discovery_prefix = b->config->discovery_prefix,
		.version = b->version,
		.chip = b->chip,
		.effects = b->definition_names,
	};
}

static void publish_leaf(Bridge *b, const char *leaf, const char *payload, bool retain, bool keep)
{
	_cleanup_(freep) char *topic = bridge_topic(b, leaf);

	if (!topic) {
		log_oom();
		return;
	}
	(void)broker_publish(b->broker, topic, payload, strlen(payload), retain, keep);
}

void bridge_status(Bridge *b)
{
	(void)sd_notifyf(false, "STATUS=broker %s: %s; blinkd: %s", b->config->broker,
			 broker_is_connected(b->broker) ? "connected" : "away",
			 b->owner ? "on the bus" : "not on the bus");
}

void bridge_publish_state(Bridge *b)
{
	bool online = b->owner && !b->stopping;

	publish_leaf(b, "state", online ? "online" : "offline", true, false);
	bridge_status(b);
}

void bridge_publish_running(Bridge *b)
{
	publish_leaf(b, "running",
		     b->running ? json_object_to_json_string_ext(b->running, JSON_FLAGS) : "[]",
		     true, false);
	bridge_publish_lights(b);
}

void bridge_publish_definitions(Bridge *b)
{
	if (!b->definitions)
		return;
	publish_leaf(b, "definitions", json_object_to_json_string_ext(b->definitions, JSON_FLAGS),
		     true, false);
}

void bridge_publish_finished(Bridge *b, const char *name, const char *result)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	_cleanup_(freep) char *leaf = NULL;

	if (!o || asprintf(&leaf, "finished/%s", name) < 0) {
		log_oom();
		return;
	}
	if (json_object_object_add(o, "name", json_object_new_string(name)) < 0 ||
	    json_object_object_add(o, "result", json_object_new_string(result)) < 0) {
		log_oom();
		return;
	}
	publish_leaf(b, leaf, json_object_to_json_string_ext(o, JSON_FLAGS), false, true);
}

/* The name of light @i: an offset, or the matrix after the last line. */
static int light_name(const Bridge *b, size_t i, char *buf, size_t size)
{
	if (i < b->n_offsets)
		return snprintf(buf, size, "%u", b->offsets[i]);
	return snprintf(buf, size, "%s", DISCOVERY_MATRIX);
}

void bridge_publish_discovery(Bridge *b)
{
	DiscoveryBoard board = bridge_discovery_board(b);

	if (!b->config->discovery || !b->offsets || !broker_is_connected(b->broker))
		return;
	for (size_t i = 0; i <= b->n_offsets; i++) {
		_cleanup_(json_object_putp) json_object *config = NULL;
		_cleanup_(freep) char *topic = NULL;
		char light[32];
		const char *text;

		light_name(b, i, light, sizeof(light));
		topic = discovery_config_topic(&board, light);
		config = discovery_light_config(&board, light);
		if (!topic || !config) {
			log_oom();
			return;
		}
		text = json_object_to_json_string_ext(config, JSON_FLAGS);
		(void)broker_publish(b->broker, topic, text, strlen(text), true, false);
	}
}

/* The program a light's commands started, if it runs: its effect, or "" for plain ON. */
static const char *light_program(const Bridge *b, const char *light, bool *ret_running)
{
	char name[64];
	size_t n;

	*ret_running = false;
	if (!b->running)
		return NULL;
	snprintf(name, sizeof(name), "ha-%s", light);
	n = json_object_array_length(b->running);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(b->running, i), *v, *program, *call;

		if (!json_object_object_get_ex(e, "name", &v) ||
		    !streq(json_object_get_string(v), name))
			continue;
		*ret_running = true;
		if (json_object_object_get_ex(e, "program", &program) &&
		    json_object_object_get_ex(program, "call", &call) &&
		    json_object_is_type(call, json_type_string))
			return json_object_get_string(call);
		return NULL;
	}
	return NULL;
}

static bool offset_is_lit(const Bridge *b, unsigned offset)
{
	for (size_t i = 0; i < b->n_lit; i++)
		if (b->lit[i] == offset)
			return true;
	return false;
}

/* Each light's state: ON while its ha-<light> program runs or what it covers is lit. */
void bridge_publish_lights(Bridge *b)
{
	DiscoveryBoard board = bridge_discovery_board(b);

	if (!b->config->discovery || !b->offsets || !b->light_states)
		return;
	for (size_t i = 0; i <= b->n_offsets; i++) {
		_cleanup_(json_object_putp) json_object *state = NULL;
		_cleanup_(freep) char *topic = NULL;
		const char *effect, *text;
		char light[32];
		bool running, on;

		light_name(b, i, light, sizeof(light));
		effect = light_program(b, light, &running);
		on = running || (i < b->n_offsets ? offset_is_lit(b, b->offsets[i]) : b->n_lit > 0);
		state = discovery_light_state(on, effect);
		if (!state) {
			log_oom();
			return;
		}
		text = json_object_to_json_string_ext(state, JSON_FLAGS);
		if (b->light_states[i] && streq(b->light_states[i], text))
			continue;
		topic = discovery_light_topic(&board, light, "state");
		if (!topic) {
			log_oom();
			return;
		}
		if (!broker_is_connected(b->broker))
			continue;
		(void)broker_publish(b->broker, topic, text, strlen(text), true, false);
		free(b->light_states[i]);
		b->light_states[i] = strdup(text);
	}
}

static void publish_lit_now(Bridge *b)
{
	_cleanup_(json_object_putp) json_object *a = json_object_new_array();
	const char *text;
	struct timespec ts;

	if (!a) {
		log_oom();
		return;
	}
	for (size_t i = 0; i < b->n_lit; i++)
		if (json_object_array_add(a, json_object_new_int64(b->lit[i])) < 0) {
			log_oom();
			return;
		}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	b->lit_last = (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
	bridge_publish_lights(b);
	text = json_object_to_json_string_ext(a, JSON_FLAGS);
	if (b->lit_published && streq(b->lit_published, text))
		return;
	if (!broker_is_connected(b->broker))
		return;
	publish_leaf(b, "lit", text, true, false);
	free(b->lit_published);
	b->lit_published = strdup(text);
}

static int on_lit_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Bridge *b = userdata;

	b->lit_timer = sd_event_source_disable_unref(b->lit_timer);
	publish_lit_now(b);
	return 0;
}

/* At most one lit message each BRIDGE_LIT_INTERVAL; the last state of a burst always goes out. */
void bridge_lit_changed(Bridge *b)
{
	struct timespec ts;
	usec_t now;
	int r;

	if (b->lit_timer)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
	if (now >= b->lit_last + BRIDGE_LIT_INTERVAL) {
		publish_lit_now(b);
		return;
	}
	r = sd_event_add_time(b->event, &b->lit_timer, CLOCK_MONOTONIC,
			      b->lit_last + BRIDGE_LIT_INTERVAL, USEC_PER_MSEC, on_lit_timer, b);
	if (r < 0)
		log_error_errno(r, "Failed to schedule the lit topic: %m");
}

/* ------------------------------------------------------------ MQTT side */

/*
 * Everything under the board and the group: every request is answered,
 * whatever its topic's shape (an empty name, a verb that does not exist);
 * what the bridge publishes there itself comes back only as retained
 * state at subscribe time (the subscription is no-local) and is skipped.
 */
static void on_broker_connected(Broker *broker, void *userdata)
{
	Bridge *b = userdata;
	_cleanup_(freep) char *status = NULL, *own = bridge_topic(b, "#"), *group = NULL;

	if (!own || asprintf(&group, "%s/%s/#", b->config->prefix, MQTT_GROUP_BOARD) < 0) {
		group = NULL;
		log_oom();
		return;
	}
	(void)broker_subscribe(broker, own);
	(void)broker_subscribe(broker, group);
	if (b->config->discovery) {
		if (asprintf(&status, "%s/status", b->config->discovery_prefix) < 0) {
			status = NULL;
			log_oom();
			return;
		}
		(void)broker_subscribe(broker, status);
	}

	/* What a new subscriber sees first; everything retained, republished. */
	free(b->lit_published);
	b->lit_published = NULL;
	for (size_t i = 0; b->light_states && i <= b->n_offsets; i++) {
		free(b->light_states[i]);
		b->light_states[i] = NULL;
	}
	bridge_publish_state(b);
	if (b->owner) {
		bridge_publish_running(b);
		bridge_publish_definitions(b);
		bridge_publish_discovery(b);
		publish_lit_now(b);
	}
}

static void on_broker_disconnected(Broker *broker, void *userdata)
{
	bridge_status(userdata);
}

static void on_broker_message(Broker *broker, const char *topic, const void *payload, size_t len,
			      bool retained, void *userdata)
{
	Bridge *b = userdata;
	DiscoveryBoard board = bridge_discovery_board(b);
	_cleanup_(freep) char *light = NULL;
	size_t n = strlen(b->config->discovery_prefix);

	/* Home Assistant came (back) up: it wants the configs again. */
	if (b->config->discovery && strncmp(topic, b->config->discovery_prefix, n) == 0 &&
	    streq(topic + n, "/status")) {
		if (len == 6 && memcmp(payload, "online", 6) == 0)
			bridge_publish_discovery(b);
		return;
	}
	if (b->config->discovery) {
		int r = discovery_light_from_topic(&board, topic, &light);
		if (r < 0) {
			log_oom();
			return;
		}
		if (r > 0) {
			bridge_handle_light(b, light, payload, len, retained);
			return;
		}
	}
	bridge_handle_request(b, topic, payload, len, retained);
}

static const BrokerCallbacks broker_callbacks = {
	.connected = on_broker_connected,
	.disconnected = on_broker_disconnected,
	.message = on_broker_message,
};

/* ------------------------------------------------------------ lifecycle */

static void finish_stop(Bridge *b)
{
	_cleanup_(freep) char *state = bridge_topic(b, "state");

	if (state)
		broker_shutdown(b->broker, state, "offline", 2 * USEC_PER_SEC);
	(void)sd_event_exit(b->event, b->exit_code);
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	Bridge *b = userdata;

	log_warning("%zu request%s still without a reply from blinkd; stopping anyway.",
		    b->n_in_flight, b->n_in_flight == 1 ? "" : "s");
	finish_stop(b);
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Bridge *b = userdata;
	int r;

	if (b->stopping)
		return 0;
	b->stopping = true;
	(void)sd_notify(false, "STOPPING=1");
	bridge_refuse_held(b, "the bridge is stopping");
	log_info("Stopping: publishing \"offline\" and leaving the broker.");
	if (b->n_in_flight == 0) {
		finish_stop(b);
		return 0;
	}
	r = sd_event_add_time_relative(b->event, &b->stop_timer, CLOCK_MONOTONIC,
				       BRIDGE_STOP_TIMEOUT, 0, on_stop_timeout, b);
	if (r < 0)
		finish_stop(b);
	return 0;
}

/* The last reply of a stopping bridge came. */
static void maybe_finish_stop(Bridge *b)
{
	if (b->stopping && b->n_in_flight == 0 && b->stop_timer) {
		b->stop_timer = sd_event_source_disable_unref(b->stop_timer);
		finish_stop(b);
	}
}

static int on_definitions_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Bridge *b = userdata;

	(void)sd_event_source_set_time(s, usec + b->config->definitions_refresh * USEC_PER_SEC);
	bridge_refresh_definitions(b);
	return 0;
}

void bridge_request_done(Bridge *b)
{
	b->n_in_flight--;
	maybe_finish_stop(b);
}

int bridge_new(Bridge **ret, MqttConfig *config, bool user_bus)
{
	_cleanup_(bridge_freep) Bridge *b = NULL;
	_cleanup_(freep) char *will = NULL;
	sigset_t mask;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return log_oom();
	b->config = config;
	b->user_bus = user_bus;
	b->bus_backoff = BRIDGE_BUS_BACKOFF_MIN;

	r = sd_event_default(&b->event);
	if (r < 0)
		return log_error_errno(r, "Failed to get an event loop: %m");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(errno, "Failed to block SIGTERM and SIGINT: %m");
	if ((r = sd_event_add_signal(b->event, NULL, SIGTERM, on_signal, b)) < 0 ||
	    (r = sd_event_add_signal(b->event, NULL, SIGINT, on_signal, b)) < 0)
		return log_error_errno(r, "Failed to watch signals: %m");
	(void)sd_event_set_watchdog(b->event, true);

	will = bridge_topic(b, "state");
	if (!will)
		return log_oom();
	r = broker_new(&b->broker, b->event, config, will, "offline", &broker_callbacks, b);
	if (r < 0)
		return r;

	if (config->definitions_refresh > 0) {
		r = sd_event_add_time_relative(b->event, &b->definitions_timer, CLOCK_MONOTONIC,
					       config->definitions_refresh * USEC_PER_SEC,
					       USEC_PER_SEC, on_definitions_timer, b);
		if (r < 0)
			return log_error_errno(r, "Failed to add the definitions timer: %m");
		(void)sd_event_source_set_enabled(b->definitions_timer, SD_EVENT_ON);
	}

	*ret = TAKE_PTR(b);
	return 0;
}

Bridge *bridge_free(Bridge *b)
{
	if (!b)
		return NULL;
	bridge_blinkd_forget(b);
	b->bus = sd_bus_flush_close_unref(b->bus);
	b->bus_retry = sd_event_source_disable_unref(b->bus_retry);
	b->lit_timer = sd_event_source_disable_unref(b->lit_timer);
	b->definitions_timer = sd_event_source_disable_unref(b->definitions_timer);
	b->stop_timer = sd_event_source_disable_unref(b->stop_timer);
	bridge_refuse_held(b, "the bridge is stopping");
	b->broker = broker_free(b->broker);
	json_object_put(b->definitions);
	for (char **n = b->definition_names; n && *n; n++)
		free(*n);
	free(b->definition_names);
	free(b->lit_published);
	sd_event_unref(b->event);
	free(b);
	return NULL;
}

int bridge_run(Bridge *b)
{
	int r;

	r = bridge_bus_connect(b);
	if (r < 0)
		return r;
	r = broker_start(b->broker);
	if (r < 0)
		return r;
	log_info("Board \"%s\", topics under %s/%s/, broker %s.", b->config->board,
		 b->config->prefix, b->config->board, b->config->broker);
	(void)sd_notify(false, "READY=1");
	bridge_status(b);
	return sd_event_loop(b->event);
}

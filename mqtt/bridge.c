/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "bridge-request.h"
#include "bridge.h"
#include "discovery.h"
#include "json-util.h"
#include "log.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct Bridge {
	sd_event *event;
	const MqttConfig *config;
	const BrokerOps *broker_ops;
	void *broker;
	const RemoteOps *remote_ops;
	void *remote;
	BridgeRequests *requests;

	/* what the topics say, as last published */
	char *lit_published;
	char **light_states; /* per light (the numbers, then the matrix): last state payload */
	size_t n_light_states;
	usec_t lit_last;
	sd_event_source *lit_timer;
	sd_event_source *definitions_timer;

	bool stopping;
	sd_event_source *stop_timer;
};

static char *bridge_topic(const Bridge *b, const char *leaf)
{
	return mqtt_config_topic(b->config, leaf);
}

static bool broker_connected(const Bridge *b)
{
	return b->broker_ops->is_connected(b->broker);
}

static bool blinkd_present(const Bridge *b)
{
	return b->remote_ops->present(b->remote);
}

static const unsigned *blinkd_numbers(const Bridge *b, size_t *ret_n)
{
	return b->remote_ops->numbers(b->remote, ret_n);
}

/* The board as discovery sees it. */
static DiscoveryBoard discovery_board(const Bridge *b)
{
	return (DiscoveryBoard){
		.prefix = b->config->prefix,
		.board = b->config->board,
		.discovery_prefix = b->config->discovery_prefix,
		.version = b->remote_ops->version(b->remote),
		.chip = b->remote_ops->chip(b->remote),
		.effects = b->remote_ops->definition_names(b->remote),
	};
}

static void publish_leaf(Bridge *b, const char *leaf, const char *payload, bool retain, bool keep)
{
	_cleanup_(freep) char *topic = bridge_topic(b, leaf);

	if (!topic) {
		log_oom();
		return;
	}
	(void)b->broker_ops->publish(b->broker, topic, payload, strlen(payload), retain, keep);
}

static void bridge_status(Bridge *b)
{
	(void)sd_notifyf(false, "STATUS=broker %s: %s; blinkd: %s", b->config->broker,
			 broker_connected(b) ? "connected" : "away",
			 blinkd_present(b) ? "on the bus" : "not on the bus");
}

static void publish_state(Bridge *b)
{
	bool online = blinkd_present(b) && !b->stopping;

	publish_leaf(b, "state", online ? "online" : "offline", true, false);
	bridge_status(b);
}

static void publish_lights(Bridge *b);

static void publish_running(Bridge *b)
{
	json_object *running = b->remote_ops->running(b->remote);

	publish_leaf(b, "running",
		     running ? json_object_to_json_string_ext(running, JSON_FLAGS) : "[]", true,
		     false);
	publish_lights(b);
}

static void publish_definitions(Bridge *b)
{
	json_object *definitions = b->remote_ops->definitions(b->remote);

	if (!definitions)
		return;
	publish_leaf(b, "definitions", json_object_to_json_string_ext(definitions, JSON_FLAGS),
		     true, false);
}

static void publish_finished(Bridge *b, const char *name, const char *result)
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

/* The name of light @i: a line number, or the matrix after the last line. */
static int light_name(const unsigned *numbers, size_t n, size_t i, char *buf, size_t size)
{
	if (i < n)
		return snprintf(buf, size, "%u", numbers[i]);
	return snprintf(buf, size, "%s", DISCOVERY_MATRIX);
}

static void publish_discovery(Bridge *b)
{
	DiscoveryBoard board = discovery_board(b);
	size_t n;
	const unsigned *numbers = blinkd_numbers(b, &n);

	if (!b->config->discovery || !numbers || !broker_connected(b))
		return;
	for (size_t i = 0; i <= n; i++) {
		_cleanup_(json_object_putp) json_object *config = NULL;
		_cleanup_(freep) char *topic = NULL;
		char light[32];
		const char *text;

		light_name(numbers, n, i, light, sizeof(light));
		topic = discovery_config_topic(&board, light);
		config = discovery_light_config(&board, light);
		if (!topic || !config) {
			log_oom();
			return;
		}
		text = json_object_to_json_string_ext(config, JSON_FLAGS);
		(void)b->broker_ops->publish(b->broker, topic, text, strlen(text), true, false);
	}
}

/* The program a light's commands started, if it runs: its effect, or "" for plain ON. */
static const char *light_program(const Bridge *b, const char *light, bool *ret_running)
{
	json_object *running = b->remote_ops->running(b->remote);
	char name[64];
	size_t n;

	*ret_running = false;
	if (!running)
		return NULL;
	snprintf(name, sizeof(name), "ha-%s", light);
	n = json_object_array_length(running);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(running, i), *v, *program, *call;

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

static bool number_is_lit(const unsigned *lit, size_t n_lit, unsigned number)
{
	for (size_t i = 0; i < n_lit; i++)
		if (lit[i] == number)
			return true;
	return false;
}

static void forget_light_states(Bridge *b)
{
	for (size_t i = 0; i < b->n_light_states; i++)
		free(b->light_states[i]);
	free(b->light_states);
	b->light_states = NULL;
	b->n_light_states = 0;
}

/* Each light's state: ON while its ha-<light> program runs or what it covers is lit. */
static void publish_lights(Bridge *b)
{
	DiscoveryBoard board = discovery_board(b);
	size_t n, n_lit;
	const unsigned *numbers = blinkd_numbers(b, &n);
	const unsigned *lit = b->remote_ops->lit(b->remote, &n_lit);

	/* The states are kept for the layout they were made for, a light each. */
	if (!b->config->discovery || !numbers || !b->light_states || b->n_light_states != n + 1)
		return;
	for (size_t i = 0; i <= n; i++) {
		_cleanup_(json_object_putp) json_object *state = NULL;
		_cleanup_(freep) char *topic = NULL;
		const char *effect, *text;
		char light[32];
		bool running, on;

		light_name(numbers, n, i, light, sizeof(light));
		effect = light_program(b, light, &running);
		on = running || (i < n ? number_is_lit(lit, n_lit, numbers[i]) : n_lit > 0);
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
		if (!broker_connected(b))
			continue;
		(void)b->broker_ops->publish(b->broker, topic, text, strlen(text), true, false);
		free(b->light_states[i]);
		b->light_states[i] = strdup(text);
	}
}

/* The loop's time: what a wakeup began at, the clock the timers run on. */
static usec_t now(const Bridge *b)
{
	uint64_t t = 0;

	(void)sd_event_now(b->event, CLOCK_MONOTONIC, &t); /* fails only on a forked loop */
	return t;
}

static void publish_lit_now(Bridge *b)
{
	_cleanup_(json_object_putp) json_object *a = json_object_new_array();
	size_t n_lit;
	const unsigned *lit = b->remote_ops->lit(b->remote, &n_lit);
	const char *text;

	if (!a) {
		log_oom();
		return;
	}
	for (size_t i = 0; i < n_lit; i++)
		if (json_object_array_add(a, json_object_new_int64(lit[i])) < 0) {
			log_oom();
			return;
		}
	b->lit_last = now(b);
	publish_lights(b);
	text = json_object_to_json_string_ext(a, JSON_FLAGS);
	if (b->lit_published && streq(b->lit_published, text))
		return;
	if (!broker_connected(b))
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
static void lit_changed(Bridge *b)
{
	int r;

	if (b->lit_timer)
		return;
	if (now(b) >= b->lit_last + BRIDGE_LIT_INTERVAL) {
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
static void on_broker_connected(void *userdata)
{
	Bridge *b = userdata;
	_cleanup_(freep) char *status = NULL, *own = bridge_topic(b, "#"), *group = NULL;

	if (!own || asprintf(&group, "%s/%s/#", b->config->prefix, MQTT_GROUP_BOARD) < 0) {
		group = NULL;
		log_oom();
		return;
	}
	(void)b->broker_ops->subscribe(b->broker, own);
	(void)b->broker_ops->subscribe(b->broker, group);
	if (b->config->discovery) {
		if (asprintf(&status, "%s/status", b->config->discovery_prefix) < 0) {
			status = NULL;
			log_oom();
			return;
		}
		(void)b->broker_ops->subscribe(b->broker, status);
	}

	/* What a new subscriber sees first; everything retained, republished. */
	free(b->lit_published);
	b->lit_published = NULL;
	for (size_t i = 0; i < b->n_light_states; i++) {
		free(b->light_states[i]);
		b->light_states[i] = NULL;
	}
	publish_state(b);
	if (blinkd_present(b)) {
		publish_running(b);
		publish_definitions(b);
		publish_discovery(b);
		publish_lit_now(b);
	}
}

static void on_broker_disconnected(void *userdata)
{
	bridge_status(userdata);
}

static void on_broker_message(const char *topic, const void *payload, size_t len, bool retained,
			      void *userdata)
{
	Bridge *b = userdata;
	DiscoveryBoard board = discovery_board(b);
	_cleanup_(freep) char *light = NULL;
	size_t n = strlen(b->config->discovery_prefix);

	/* Home Assistant came (back) up: it wants the configs again. */
	if (b->config->discovery && strncmp(topic, b->config->discovery_prefix, n) == 0 &&
	    streq(topic + n, "/status")) {
		if (len == 6 && memcmp(payload, "online", 6) == 0)
			publish_discovery(b);
		return;
	}
	if (b->config->discovery) {
		int r = discovery_light_from_topic(&board, topic, &light);
		if (r < 0) {
			log_oom();
			return;
		}
		if (r > 0) {
			bridge_requests_handle_light(b->requests, light, payload, len, retained);
			return;
		}
	}
	bridge_requests_handle(b->requests, topic, payload, len, retained);
}

const BrokerEvents bridge_broker_events = {
	.connected = on_broker_connected,
	.disconnected = on_broker_disconnected,
	.message = on_broker_message,
};

/* ---------------------------------------------------------- blinkd side */

static void on_blinkd_appeared(void *userdata)
{
	Bridge *b = userdata;

	/* Until the new owner's layout is read, there are no lights. */
	forget_light_states(b);
	publish_state(b);
}

static void on_blinkd_vanished(void *userdata)
{
	Bridge *b = userdata;

	forget_light_states(b);
	publish_state(b);
	publish_running(b);
	free(b->lit_published);
	b->lit_published = NULL;
}

static void on_blinkd_absent(void *userdata)
{
	publish_state(userdata);
}

static void on_blinkd_settled(void *userdata)
{
	Bridge *b = userdata;

	bridge_requests_settled(b->requests);
}

static void on_blinkd_layout_changed(void *userdata)
{
	Bridge *b = userdata;
	size_t n;

	(void)blinkd_numbers(b, &n);
	forget_light_states(b);
	b->light_states = calloc(n + 1, sizeof(char *));
	if (!b->light_states) {
		log_oom();
		return;
	}
	b->n_light_states = n + 1;
	publish_discovery(b);
	lit_changed(b);
}

static void on_blinkd_lit_changed(void *userdata)
{
	lit_changed(userdata);
}

static void on_blinkd_running_changed(void *userdata)
{
	publish_running(userdata);
}

static void on_blinkd_definitions_read(bool changed, void *userdata)
{
	Bridge *b = userdata;

	/* Published even when unchanged: someone asked, or the broker is new. */
	publish_definitions(b);
	if (changed)
		publish_discovery(b); /* the effect lists */
}

static void on_blinkd_finished(const char *name, const char *result, void *userdata)
{
	publish_finished(userdata, name, result);
}

const RemoteEvents bridge_remote_events = {
	.appeared = on_blinkd_appeared,
	.vanished = on_blinkd_vanished,
	.absent = on_blinkd_absent,
	.settled = on_blinkd_settled,
	.layout_changed = on_blinkd_layout_changed,
	.lit_changed = on_blinkd_lit_changed,
	.running_changed = on_blinkd_running_changed,
	.definitions_read = on_blinkd_definitions_read,
	.finished = on_blinkd_finished,
};

/* ------------------------------------------------------------ lifecycle */

static void finish_stop(Bridge *b)
{
	_cleanup_(freep) char *state = bridge_topic(b, "state");

	if (state)
		b->broker_ops->shutdown(b->broker, state, "offline", BRIDGE_SHUTDOWN_TIMEOUT);
	(void)sd_event_exit(b->event, 0);
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	Bridge *b = userdata;
	size_t n = bridge_requests_in_flight(b->requests);

	log_warning("%zu request%s still without a reply from blinkd; stopping anyway.", n,
		    n == 1 ? "" : "s");
	b->stop_timer = sd_event_source_disable_unref(b->stop_timer);
	finish_stop(b);
	return 0;
}

void bridge_stop(Bridge *b)
{
	int r;

	if (b->stopping)
		return;
	b->stopping = true;
	(void)sd_notify(false, "STOPPING=1");
	bridge_requests_stop(b->requests, "the bridge is stopping");
	log_info("Stopping: publishing \"offline\" and leaving the broker.");
	if (bridge_requests_in_flight(b->requests) == 0) {
		finish_stop(b);
		return;
	}
	r = sd_event_add_time_relative(b->event, &b->stop_timer, CLOCK_MONOTONIC,
				       BRIDGE_STOP_TIMEOUT, 0, on_stop_timeout, b);
	if (r < 0)
		finish_stop(b);
}

/* The last reply in flight came: a stopping bridge can go. */
static void on_requests_idle(void *userdata)
{
	Bridge *b = userdata;

	if (b->stopping && b->stop_timer) {
		b->stop_timer = sd_event_source_disable_unref(b->stop_timer);
		finish_stop(b);
	}
}

static int on_definitions_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Bridge *b = userdata;

	(void)sd_event_source_set_time(s, usec + b->config->definitions_refresh * USEC_PER_SEC);
	b->remote_ops->refresh_definitions(b->remote);
	return 0;
}

int bridge_new(Bridge **ret, sd_event *event, const MqttConfig *config)
{
	_cleanup_(bridge_freep) Bridge *b = NULL;

	b = calloc(1, sizeof(*b));
	if (!b)
		return log_oom();
	b->event = sd_event_ref(event);
	b->config = config;
	*ret = TAKE_PTR(b);
	return 0;
}

int bridge_attach(Bridge *b, const BrokerOps *broker_ops, void *broker,
		  const RemoteOps *remote_ops, void *remote)
{
	_cleanup_(freep) char *will = NULL;
	int r;

	assert(!b->requests);
	b->broker_ops = broker_ops;
	b->broker = broker;
	b->remote_ops = remote_ops;
	b->remote = remote;

	will = bridge_topic(b, "state");
	if (!will)
		return log_oom();
	r = broker_ops->set_will(broker, will, "offline");
	if (r < 0)
		return r;
	r = bridge_requests_new(&b->requests, b->event, b->config, broker_ops, broker, remote_ops,
				remote, on_requests_idle, b);
	if (r < 0)
		return r;

	if (b->config->definitions_refresh > 0) {
		r = sd_event_add_time_relative(b->event, &b->definitions_timer, CLOCK_MONOTONIC,
					       b->config->definitions_refresh * USEC_PER_SEC,
					       USEC_PER_SEC, on_definitions_timer, b);
		if (r < 0)
			return log_error_errno(r, "Failed to add the definitions timer: %m");
		(void)sd_event_source_set_enabled(b->definitions_timer, SD_EVENT_ON);
	}
	return 0;
}

Bridge *bridge_free(Bridge *b)
{
	if (!b)
		return NULL;
	b->lit_timer = sd_event_source_disable_unref(b->lit_timer);
	b->definitions_timer = sd_event_source_disable_unref(b->definitions_timer);
	b->stop_timer = sd_event_source_disable_unref(b->stop_timer);
	b->requests = bridge_requests_free(b->requests);
	forget_light_states(b);
	free(b->lit_published);
	sd_event_unref(b->event);
	free(b);
	return NULL;
}

int bridge_start(Bridge *b)
{
	int r;

	r = b->remote_ops->watch(b->remote);
	if (r < 0)
		return r;
	r = b->broker_ops->start(b->broker);
	if (r < 0)
		return r;
	log_info("Board \"%s\", topics under %s/%s/, broker %s.", b->config->board,
		 b->config->prefix, b->config->board, b->config->broker);
	(void)sd_notify(false, "READY=1");
	bridge_status(b);
	return 0;
}

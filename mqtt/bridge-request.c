/* SPDX-License-Identifier: MIT */
/*
 * Requests to calls, replies to results. A request is checked whole
 * (request.c) before anything reaches blinkd; a request that fails a check,
 * or that cannot be passed on (blinkd gone, options it does not support),
 * is refused on the result topic at once. One that is passed on is answered
 * when blinkd's reply comes: its object path, or blinkd's error name and
 * message as they are. Every request gets exactly one result.
 *
 * A request that comes before the bridge knows whether blinkd is on the
 * bus (at start, when the broker hands over what it kept for the bridge's
 * session before the bus has answered; after the bus came back), or before
 * it has read the interface of a blinkd that just appeared, is held, in
 * order, until that is known: then it is passed on, or refused Unavailable
 * when blinkd is truly not there. At most BRIDGE_HOLD_MAX wait, for at most
 * BRIDGE_HOLD_TIMEOUT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "bus-names.h"
#include "json-util.h"
#include "log.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

typedef struct InFlight {
	Bridge *bridge;
	Request request;
	const char *light; /* a Home Assistant command: "ha-<light>", for the result */
	bool stop_may_miss; /* OFF of a light: NotRunning is success */
} InFlight;

typedef struct HeldRequest {
	struct HeldRequest *next;
	Request request;
	bool stop_may_miss;
} HeldRequest;

static void publish_result(Bridge *b, const Request *r, bool ok, const char *path,
			   const char *error_name, const char *message)
{
	const char *verb = request_verb_to_string(r->verb);
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	_cleanup_(freep) char *topic = bridge_topic(b, "result");
	const char *text;

	if (!o || !topic) {
		log_oom();
		return;
	}
	if (json_object_object_add(o, "id", r->id ? json_object_get(r->id) : NULL) < 0 ||
	    json_object_object_add(o, "ok", json_object_new_boolean(ok)) < 0 ||
	    json_object_object_add(o, "verb", verb ? json_object_new_string(verb) : NULL) < 0 ||
	    (r->name && json_object_object_add(o, "name", json_object_new_string(r->name)) < 0) ||
	    (r->group && json_object_object_add(o, "group", json_object_new_boolean(1)) < 0) ||
	    (path && json_object_object_add(o, "path", json_object_new_string(path)) < 0) ||
	    (error_name && json_object_object_add(o, "error", json_object_new_string(error_name)) < 0) ||
	    (message && json_object_object_add(o, "message", json_object_new_string(message)) < 0)) {
		log_oom();
		return;
	}
	text = json_object_to_json_string_ext(o, JSON_FLAGS);
	/* Kept while the broker is away: a result is never dropped. */
	(void)broker_publish(b->broker, topic, text, strlen(text), false, true);
}

void bridge_refuse(Bridge *b, const Request *r, const RequestError *e)
{
	log_info("Refused %s%s%s: %s: %s", request_verb_to_string(r->verb) ?: "a request",
		 r->name ? " " : "",
		 r->name ? r->name : "", e->name, e->message);
	publish_result(b, r, false, NULL, e->name, e->message);
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	InFlight *f = userdata;
	Bridge *b = f->bridge;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	if (e && !(f->stop_may_miss && sd_bus_error_has_name(e, BLINKD_ERROR_NOT_RUNNING)))
		publish_result(b, &f->request, false, NULL, e->name, e->message ? e->message : "");
	else {
		const char *path = NULL;

		if (!e && (f->request.verb == REQUEST_START || f->request.verb == REQUEST_REPLACE))
			(void)sd_bus_message_read(m, "o", &path);
		publish_result(b, &f->request, true, path, NULL, NULL);
	}
	request_done(&f->request);
	free(f);
	bridge_request_done(b);
	return 0;
}

/* Pass @r on to blinkd; takes it over. */
static void call_blinkd(Bridge *b, Request *r, bool stop_may_miss)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	InFlight *f;
	RequestError e = {};
	const char *method;
	int k;

	switch (r->verb) {
	case REQUEST_START:
	case REQUEST_REPLACE:
		method = r->options ? "StartWithOptions" : r->verb == REQUEST_START ? "Start" : "Replace";
		break;
	case REQUEST_STOP:
		method = "Stop";
		break;
	case REQUEST_STOP_ALL:
		method = "StopAll";
		break;
	default:
		request_done(r);
		return;
	}

	k = sd_bus_message_new_method_call(b->bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, method);
	if (k >= 0 && r->name)
		k = sd_bus_message_append(m, "s", r->name);
	if (k >= 0 && r->program)
		k = sd_bus_message_append(m, "s", r->program);
	if (k >= 0 && r->options)
		k = request_append_options(r, m);
	if (k < 0) {
		e.name = MQTT_ERROR_INVALID_PAYLOAD;
		snprintf(e.message, sizeof(e.message), "cannot be put into a D-Bus call: %s",
			 strerror(-k));
		bridge_refuse(b, r, &e);
		request_done(r);
		return;
	}

	f = calloc(1, sizeof(*f));
	if (!f) {
		log_oom();
		request_done(r);
		return;
	}
	f->bridge = b;
	f->request = *r;
	*r = (Request){};
	f->stop_may_miss = stop_may_miss;

	k = sd_bus_call_async(b->bus, NULL, m, on_reply, f, 0);
	if (k < 0) {
		e.name = MQTT_ERROR_UNAVAILABLE;
		snprintf(e.message, sizeof(e.message), "cannot call blinkd: %s", strerror(-k));
		bridge_refuse(b, &f->request, &e);
		request_done(&f->request);
		free(f);
		return;
	}
	b->n_in_flight++;
}

/* Whether @r can go to blinkd now; refuses it when not. */
static bool check_reachable(Bridge *b, const Request *r)
{
	RequestError e = { .name = MQTT_ERROR_UNAVAILABLE };

	if (b->stopping)
		snprintf(e.message, sizeof(e.message), "the bridge is stopping");
	else if (!b->bus || !b->owner)
		snprintf(e.message, sizeof(e.message),
			 "blinkd is not on the bus (nothing owns %s); nothing was started",
			 BLINKD_BUS_NAME);
	else if (r->options && !b->has_start_with_options) {
		e.name = MQTT_ERROR_NOT_SUPPORTED;
		snprintf(e.message, sizeof(e.message),
			 "options need blinkd's StartWithOptions, which this blinkd does not "
			 "have; send the request without options");
	} else
		return true;
	bridge_refuse(b, r, &e);
	return false;
}

/* Pass @r on, or refuse it; takes it over. */
static void dispatch(Bridge *b, Request *r, bool stop_may_miss)
{
	if (!check_reachable(b, r)) {
		request_done(r);
		return;
	}
	if (r->verb == REQUEST_GET_DEFINITIONS) {
		bridge_refresh_definitions(b);
		publish_result(b, r, true, NULL, NULL, NULL);
		request_done(r);
		return;
	}
	call_blinkd(b, r, stop_may_miss);
}

/* Not yet known whether blinkd is there, or what the one that is there offers. */
static bool blinkd_unsettled(const Bridge *b)
{
	return !b->stopping && (!b->owner_known || (b->owner && !b->introspected));
}

static HeldRequest *held_pop(Bridge *b)
{
	HeldRequest *h = b->held;

	if (!h)
		return NULL;
	b->held = h->next;
	if (!b->held)
		b->held_last = NULL;
	b->n_held--;
	if (b->n_held == 0)
		b->held_timer = sd_event_source_disable_unref(b->held_timer);
	return h;
}

void bridge_refuse_held(Bridge *b, const char *why)
{
	HeldRequest *h;

	while ((h = held_pop(b))) {
		RequestError e = { .name = MQTT_ERROR_UNAVAILABLE };

		snprintf(e.message, sizeof(e.message), "%s", why);
		bridge_refuse(b, &h->request, &e);
		request_done(&h->request);
		free(h);
	}
}

void bridge_blinkd_settled(Bridge *b)
{
	HeldRequest *h;

	if (blinkd_unsettled(b) || !b->held)
		return;
	log_debug("blinkd is %s: passing on %zu held request%s.",
		  b->owner ? "on the bus" : "not on the bus", b->n_held, b->n_held == 1 ? "" : "s");
	while ((h = held_pop(b))) {
		dispatch(b, &h->request, h->stop_may_miss);
		free(h);
	}
}

static int on_held_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	Bridge *b = userdata;

	b->held_timer = sd_event_source_disable_unref(b->held_timer);
	bridge_refuse_held(b, "whether blinkd is on the bus is still not known; nothing was "
			      "started");
	return 0;
}

/* Keep @r until bridge_blinkd_settled(); takes it over. */
static void hold(Bridge *b, Request *r, bool stop_may_miss)
{
	RequestError e = { .name = MQTT_ERROR_UNAVAILABLE };
	HeldRequest *h;
	int k;

	if (b->n_held >= BRIDGE_HOLD_MAX) {
		snprintf(e.message, sizeof(e.message),
			 "%d requests already wait until it is known whether blinkd is on the bus",
			 BRIDGE_HOLD_MAX);
		bridge_refuse(b, r, &e);
		request_done(r);
		return;
	}
	if (!b->held_timer) {
		k = sd_event_add_time_relative(b->event, &b->held_timer, CLOCK_MONOTONIC,
					       BRIDGE_HOLD_TIMEOUT, 10 * USEC_PER_MSEC,
					       on_held_timeout, b);
		if (k < 0) {
			log_error_errno(k, "Failed to add a timer for held requests: %m");
			snprintf(e.message, sizeof(e.message), "cannot wait for blinkd: %s",
				 strerror(-k));
			bridge_refuse(b, r, &e);
			request_done(r);
			return;
		}
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		log_oom();
		request_done(r);
		return;
	}
	h->request = *r;
	*r = (Request){};
	h->stop_may_miss = stop_may_miss;
	if (b->held_last)
		b->held_last->next = h;
	else
		b->held = h;
	b->held_last = h;
	b->n_held++;
	log_debug("Holding a request until it is known whether blinkd is on the bus (%zu held).",
		  b->n_held);
}

/* Pass @r on when blinkd is known, after what waits already; takes it over. */
static void submit(Bridge *b, Request *r, bool stop_may_miss)
{
	if (b->held || blinkd_unsettled(b))
		hold(b, r, stop_may_miss);
	else
		dispatch(b, r, stop_may_miss);
}

void bridge_handle_request(Bridge *b, const char *topic, const void *payload, size_t len,
			   bool retained)
{
	_cleanup_(request_done) Request r = {};
	RequestError e = {}, topic_error = {};
	int k, t;

	t = request_topic_parse(topic, b->config->prefix, b->config->board, &r, &topic_error);
	if (t == -ENOMEM) {
		log_oom();
		return;
	}
	if (t == 0) {
		log_debug("Ignoring a message on %s.", topic);
		return;
	}

	k = request_payload_parse(&r, payload, len, b->config->payload_max, &e);
	if (k == -ENOMEM) {
		log_oom();
		return;
	}
	/* A topic the bridge does not take is answered so, with the payload's id if it has one. */
	if (t < 0) {
		bridge_refuse(b, &r, &topic_error);
		return;
	}
	if (k < 0) {
		bridge_refuse(b, &r, &e);
		return;
	}
	/* A retained request would run again at every reconnect of every bridge. */
	if (retained) {
		e.name = MQTT_ERROR_INVALID_PAYLOAD;
		snprintf(e.message, sizeof(e.message),
			 "a retained request is not run; publish requests without the retain flag");
		bridge_refuse(b, &r, &e);
		return;
	}
	submit(b, &r, false);
}

void bridge_handle_light(Bridge *b, const char *light, const void *payload, size_t len,
			 bool retained)
{
	_cleanup_(request_done) Request r = {};
	DiscoveryCommand c = {};
	RequestError e = {};
	int k;

	k = discovery_program_name(light, &r.name);
	if (k < 0) {
		log_oom();
		return;
	}
	r.verb = REQUEST_REPLACE;

	k = discovery_command_parse(payload, len, b->config->payload_max, &c, &e);
	if (k == -ENOMEM) {
		log_oom();
		return;
	}
	if (k < 0) {
		bridge_refuse(b, &r, &e);
		return;
	}
	if (retained) {
		free(c.effect);
		e.name = MQTT_ERROR_INVALID_PAYLOAD;
		snprintf(e.message, sizeof(e.message), "a retained light command is not run");
		bridge_refuse(b, &r, &e);
		return;
	}

	if (!c.on)
		r.verb = REQUEST_STOP;
	else if (c.effect) {
		_cleanup_(json_object_putp) json_object *call = json_object_new_object();

		if (!call ||
		    json_object_object_add(call, "call", json_object_new_string(c.effect)) < 0 ||
		    !(r.program = strdup(json_object_to_json_string_ext(call, JSON_FLAGS)))) {
			free(c.effect);
			log_oom();
			return;
		}
	} else if (discovery_on_program(light, &r.program) < 0) {
		free(c.effect);
		log_oom();
		return;
	}
	free(c.effect);

	submit(b, &r, !c.on);
}

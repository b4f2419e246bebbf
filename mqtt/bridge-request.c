/* SPDX-License-Identifier: MIT */
/* Requests to calls, replies to results; see bridge-request.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge-request.h"
#include "bus-names.h"
#include "discovery.h"
#include "json-util.h"
#include "log.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct BridgeRequests {
	sd_event *event;
	const MqttConfig *config;
	const BrokerOps *broker_ops;
	void *broker;
	const RemoteOps *remote_ops;
	void *remote;
	void (*idle)(void *userdata);
	void *userdata;

	/* held until the remote is settled, in order */
	struct HeldRequest *held, *held_last;
	size_t n_held;
	sd_event_source *held_timer;

	size_t n_in_flight;
	bool stopping;
	char *stopping_why;
};

typedef struct InFlight {
	BridgeRequests *requests;
	Request request;
	bool stop_may_miss; /* OFF of a light: NotRunning is success */
} InFlight;

typedef struct HeldRequest {
	struct HeldRequest *next;
	Request request;
	bool stop_may_miss;
} HeldRequest;

static void publish_result(BridgeRequests *b, const Request *r, bool ok, const char *path,
			   const char *error_name, const char *message)
{
	const char *verb = request_verb_to_string(r->verb);
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	_cleanup_(freep) char *topic = mqtt_config_topic(b->config, "result");
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
	(void)b->broker_ops->publish(b->broker, topic, text, strlen(text), false, true);
}

static void refuse(BridgeRequests *b, const Request *r, const RequestError *e)
{
	log_info("Refused %s%s%s: %s: %s", request_verb_to_string(r->verb) ?: "a request",
		 r->name ? " " : "",
		 r->name ? r->name : "", e->name, e->message);
	publish_result(b, r, false, NULL, e->name, e->message);
}

static void on_reply(const RemoteReply *reply, void *userdata)
{
	InFlight *f = userdata;
	BridgeRequests *b = f->requests;
	const char *e = reply->error_name;

	if (e && !(f->stop_may_miss && streq(e, BLINKD_ERROR_NOT_RUNNING)))
		publish_result(b, &f->request, false, NULL, e,
			       reply->error_message ? reply->error_message : "");
	else
		publish_result(b, &f->request, true, e ? NULL : reply->path, NULL, NULL);
	request_done(&f->request);
	free(f);
	b->n_in_flight--;
	if (b->n_in_flight == 0 && b->idle)
		b->idle(b->userdata);
}

/* Pass @r on to blinkd; takes it over. */
static void call_blinkd(BridgeRequests *b, Request *r, bool stop_may_miss)
{
	const RemoteOps *ops = b->remote_ops;
	RequestError e = {};
	InFlight *f;
	int k;

	if (r->verb != REQUEST_START && r->verb != REQUEST_REPLACE && r->verb != REQUEST_STOP &&
	    r->verb != REQUEST_STOP_ALL) {
		request_done(r);
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		log_oom();
		request_done(r);
		return;
	}
	f->requests = b;
	f->request = *r;
	*r = (Request){};
	f->stop_may_miss = stop_may_miss;
	r = &f->request;

	if (r->options && (r->verb == REQUEST_START || r->verb == REQUEST_REPLACE))
		k = ops->start_with_options(b->remote, r, on_reply, f, &e);
	else if (r->verb == REQUEST_START)
		k = ops->start(b->remote, r->name, r->program, on_reply, f, &e);
	else if (r->verb == REQUEST_REPLACE)
		k = ops->replace(b->remote, r->name, r->program, on_reply, f, &e);
	else if (r->verb == REQUEST_STOP)
		k = ops->stop(b->remote, r->name, on_reply, f, &e);
	else
		k = ops->stop_all(b->remote, on_reply, f, &e);
	if (k < 0) {
		if (!e.name) {
			e.name = MQTT_ERROR_UNAVAILABLE;
			snprintf(e.message, sizeof(e.message), "cannot call blinkd: %s",
				 strerror(-k));
		}
		refuse(b, r, &e);
		request_done(r);
		free(f);
		return;
	}
	b->n_in_flight++;
}

/* Whether @r can go to blinkd now; refuses it when not. */
static bool check_reachable(BridgeRequests *b, const Request *r)
{
	RequestError e = { .name = MQTT_ERROR_UNAVAILABLE };

	if (b->stopping)
		snprintf(e.message, sizeof(e.message), "%s",
			 b->stopping_why ? b->stopping_why : "the bridge is stopping");
	else if (!b->remote_ops->present(b->remote))
		snprintf(e.message, sizeof(e.message),
			 "blinkd is not on the bus (nothing owns %s); nothing was started",
			 BLINKD_BUS_NAME);
	else if (r->options && !b->remote_ops->has_start_with_options(b->remote)) {
		e.name = MQTT_ERROR_NOT_SUPPORTED;
		snprintf(e.message, sizeof(e.message),
			 "options need blinkd's StartWithOptions, which this blinkd does not "
			 "have; send the request without options");
	} else
		return true;
	refuse(b, r, &e);
	return false;
}

/* Pass @r on, or refuse it; takes it over. */
static void dispatch(BridgeRequests *b, Request *r, bool stop_may_miss)
{
	if (!check_reachable(b, r)) {
		request_done(r);
		return;
	}
	if (r->verb == REQUEST_GET_DEFINITIONS) {
		b->remote_ops->refresh_definitions(b->remote);
		publish_result(b, r, true, NULL, NULL, NULL);
		request_done(r);
		return;
	}
	call_blinkd(b, r, stop_may_miss);
}

/* Not yet known whether blinkd is there, or what the one that is there offers. */
static bool blinkd_unsettled(const BridgeRequests *b)
{
	return !b->stopping && !b->remote_ops->settled(b->remote);
}

static HeldRequest *held_pop(BridgeRequests *b)
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

static void refuse_held(BridgeRequests *b, const char *why)
{
	HeldRequest *h;

	while ((h = held_pop(b))) {
		RequestError e = { .name = MQTT_ERROR_UNAVAILABLE };

		snprintf(e.message, sizeof(e.message), "%s", why);
		refuse(b, &h->request, &e);
		request_done(&h->request);
		free(h);
	}
}

void bridge_requests_settled(BridgeRequests *b)
{
	HeldRequest *h;

	if (blinkd_unsettled(b) || !b->held)
		return;
	log_debug("blinkd is %s: passing on %zu held request%s.",
		  b->remote_ops->present(b->remote) ? "on the bus" : "not on the bus", b->n_held, b->n_held == 1 ? "" : "s");
	while ((h = held_pop(b))) {
		dispatch(b, &h->request, h->stop_may_miss);
		free(h);
	}
}

static int on_held_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	BridgeRequests *b = userdata;

	b->held_timer = sd_event_source_disable_unref(b->held_timer);
	refuse_held(b, "whether blinkd is on the bus is still not known; nothing was "
			      "started");
	return 0;
}

/* Keep @r until bridge_requests_settled(); takes it over. */
static void hold(BridgeRequests *b, Request *r, bool stop_may_miss)
{
	RequestError e = { .name = MQTT_ERROR_UNAVAILABLE };
	HeldRequest *h;
	int k;

	if (b->n_held >= BRIDGE_HOLD_MAX) {
		snprintf(e.message, sizeof(e.message),
			 "%d requests already wait until it is known whether blinkd is on the bus",
			 BRIDGE_HOLD_MAX);
		refuse(b, r, &e);
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
			refuse(b, r, &e);
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
static void submit(BridgeRequests *b, Request *r, bool stop_may_miss)
{
	if (b->held || blinkd_unsettled(b))
		hold(b, r, stop_may_miss);
	else
		dispatch(b, r, stop_may_miss);
}

void bridge_requests_handle(BridgeRequests *b, const char *topic, const void *payload,
			    size_t len, bool retained)
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
		refuse(b, &r, &topic_error);
		return;
	}
	if (k < 0) {
		refuse(b, &r, &e);
		return;
	}
	/* A retained request would run again at every reconnect of every bridge. */
	if (retained) {
		e.name = MQTT_ERROR_INVALID_PAYLOAD;
		snprintf(e.message, sizeof(e.message),
			 "a retained request is not run; publish requests without the retain flag");
		refuse(b, &r, &e);
		return;
	}
	submit(b, &r, false);
}

void bridge_requests_handle_light(BridgeRequests *b, const char *light, const void *payload,
				  size_t len, bool retained)
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
		refuse(b, &r, &e);
		return;
	}
	if (retained) {
		free(c.effect);
		e.name = MQTT_ERROR_INVALID_PAYLOAD;
		snprintf(e.message, sizeof(e.message), "a retained light command is not run");
		refuse(b, &r, &e);
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

void bridge_requests_stop(BridgeRequests *b, const char *why)
{
	if (b->stopping)
		return;
	b->stopping_why = strdup(why);
	if (!b->stopping_why)
		log_oom();
	b->stopping = true;
	refuse_held(b, why);
}

size_t bridge_requests_in_flight(const BridgeRequests *b)
{
	return b->n_in_flight;
}

int bridge_requests_new(BridgeRequests **ret, sd_event *event, const MqttConfig *config,
			const BrokerOps *broker_ops, void *broker, const RemoteOps *remote_ops,
			void *remote, void (*idle)(void *userdata), void *userdata)
{
	BridgeRequests *b;

	b = calloc(1, sizeof(*b));
	if (!b)
		return log_oom();
	b->event = sd_event_ref(event);
	b->config = config;
	b->broker_ops = broker_ops;
	b->broker = broker;
	b->remote_ops = remote_ops;
	b->remote = remote;
	b->idle = idle;
	b->userdata = userdata;
	*ret = b;
	return 0;
}

BridgeRequests *bridge_requests_free(BridgeRequests *b)
{
	if (!b)
		return NULL;
	refuse_held(b, "the bridge is stopping");
	b->held_timer = sd_event_source_disable_unref(b->held_timer);
	free(b->stopping_why);
	sd_event_unref(b->event);
	free(b);
	return NULL;
}

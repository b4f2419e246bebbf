/* SPDX-License-Identifier: MIT */
/*
 * The bridge: one sd-event loop that holds a connection to the MQTT broker
 * (broker.c) and one to blinkd's D-Bus API, and carries requests from the
 * one to the other and blinkd's state back.
 *
 *   bridge.c          lifecycle, topics, what is published and when
 *   bridge-blinkd.c   watching io.blinkd1 come and go, mirroring its state
 *   bridge-request.c  requests and Home Assistant commands to calls, replies to results
 *
 * Under <prefix>/<board>/ the bridge publishes, retained: state
 * ("online" while it is connected and blinkd is on the bus, else
 * "offline", also as its last will), running (List as JSON), lit (the lit
 * offsets, at most 10 times a second), definitions (ListDefinitions); not
 * retained: result (one per request) and finished/<name>.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "broker.h"
#include "discovery.h"
#include "macro.h"
#include "mqtt-config.h"
#include "request.h"

/* The lit topic goes out at most this often. */
#define BRIDGE_LIT_INTERVAL (100 * USEC_PER_MSEC)
/* How long a stopping bridge waits for replies to requests in flight. */
#define BRIDGE_STOP_TIMEOUT (3 * USEC_PER_SEC)
/*
 * Requests that come before the bridge knows whether blinkd is on the bus
 * (and, when it is, what its interface offers) wait for that answer: at
 * most this many, at most this long.
 */
#define BRIDGE_HOLD_MAX 256
#define BRIDGE_HOLD_TIMEOUT (10 * USEC_PER_SEC)
/* Reconnecting to the bus itself, when it goes away. */
#define BRIDGE_BUS_BACKOFF_MIN (500 * USEC_PER_MSEC)
#define BRIDGE_BUS_BACKOFF_MAX (30 * USEC_PER_SEC)

typedef struct Bridge {
	sd_event *event;
	MqttConfig *config;
	bool user_bus;
	Broker *broker;

	sd_bus *bus;
	sd_event_source *bus_retry;
	usec_t bus_backoff;

	/* blinkd, while io.blinkd1 has an owner */
	bool owner_known; /* the bus answered whether io.blinkd1 has one */
	char *owner;
	unsigned generation;	/* bumped whenever the owner changes */
	bool introspected;
	bool has_start_with_options;
	sd_bus_slot *introspect_slot, *subscribe_slot, *properties_slot;
	sd_bus_slot *list_slot, *definitions_slot;
	bool list_again, definitions_again;
	unsigned *offsets; /* every line of the layout, row by row */
	size_t n_offsets;
	char *chip, *version;

	/* what the topics say, as last published */
	json_object *running;	  /* array of {"name","program"} */
	json_object *definitions; /* array of {"name","program"} */
	char **definition_names;  /* NULL-terminated */
	unsigned *lit;
	size_t n_lit;
	char *lit_published;
	char **light_states; /* per light (offsets, then the matrix): last state payload */
	usec_t lit_last;
	sd_event_source *lit_timer;
	sd_event_source *definitions_timer;

	/* requests held until owner_known (and introspected, with an owner), in order */
	struct HeldRequest *held, *held_last;
	size_t n_held;
	sd_event_source *held_timer;

	size_t n_in_flight;
	bool stopping;
	sd_event_source *stop_timer;
	int exit_code;
} Bridge;

int bridge_new(Bridge **ret, MqttConfig *config, bool user_bus);
Bridge *bridge_free(Bridge *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bridge *, bridge_free);

/* Run until SIGTERM or SIGINT; returns the exit code. */
int bridge_run(Bridge *b);

/* "<prefix>/<board>/<leaf>"; NULL when out of memory. */
char *bridge_topic(const Bridge *b, const char *leaf);

/* The board as discovery sees it. */
DiscoveryBoard bridge_discovery_board(const Bridge *b);

/* Publish, retained, what the topics say now (each does nothing while the broker is away). */
void bridge_publish_state(Bridge *b);
void bridge_publish_running(Bridge *b);
void bridge_publish_definitions(Bridge *b);
void bridge_publish_discovery(Bridge *b);
void bridge_lit_changed(Bridge *b);
void bridge_publish_lights(Bridge *b);
void bridge_publish_finished(Bridge *b, const char *name, const char *result);
void bridge_status(Bridge *b);
/* A reply to a request in flight came: one fewer to wait for when stopping. */
void bridge_request_done(Bridge *b);

/* bridge-blinkd.c */
int bridge_bus_connect(Bridge *b);
void bridge_refresh_running(Bridge *b);
void bridge_refresh_definitions(Bridge *b);
void bridge_blinkd_forget(Bridge *b);

/* bridge-request.c */
void bridge_handle_request(Bridge *b, const char *topic, const void *payload, size_t len,
			   bool retained);
void bridge_handle_light(Bridge *b, const char *light, const void *payload, size_t len,
			 bool retained);
/* Publish a refusal on the result topic for a request that never reached blinkd. */
void bridge_refuse(Bridge *b, const Request *r, const RequestError *e);
/*
 * Whether blinkd is on the bus is known now (or known no longer, after the
 * bus went): pass the held requests on, in order, or refuse them.
 */
void bridge_blinkd_settled(Bridge *b);
/* Answer every held request Unavailable with @why; at stop and on free. */
void bridge_refuse_held(Bridge *b, const char *why);

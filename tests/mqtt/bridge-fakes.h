/* SPDX-License-Identifier: MIT */
/*
 * A fake broker and a fake blinkd for the bridge's unit tests: each
 * records what the bridge asked of it, and the test plays the other side
 * through bridge_broker_events and bridge_remote_events. A Harness puts a
 * bridge between the two on an sd-event loop of its own.
 *
 * Owner: the test; harness_done() frees the bridge, then the fakes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

#include "bridge.h"
#include "mqtt-config.h"

typedef struct Published {
	char *topic;
	char *payload;
	bool retain, keep;
	usec_t when; /* sd_event_now() at publish */
} Published;

typedef struct FakeBroker {
	sd_event *event;
	bool connected, started;
	char *will_topic, *will_payload;
	char *subscriptions[8];
	size_t n_subscriptions;
	Published *published;
	size_t n_published;
	char *shutdown_topic, *shutdown_payload;
} FakeBroker;

typedef struct FakeCall {
	char *method;
	char *name, *program;
	char *options; /* as StartWithOptions gets them: "key=type:value,..." */
	RemoteReplyFn reply;
	void *userdata;
	bool answered;
} FakeCall;

#define FAKE_CALLS_MAX 512

typedef struct FakeRemote {
	bool watching, present, settled, start_with_options;
	unsigned numbers[16];
	size_t n_numbers;
	bool have_numbers;
	const char *chip, *version;
	json_object *running, *definitions;
	char **definition_names;
	unsigned lit[16];
	size_t n_lit;
	unsigned n_refresh_definitions;
	FakeCall calls[FAKE_CALLS_MAX];
	size_t n_calls;
	/* non-zero: the next calls fail with this errno, naming fail_name */
	int fail;
	const char *fail_name;
} FakeRemote;

extern const BrokerOps fake_broker_ops;
extern const RemoteOps fake_remote_ops;

typedef struct Harness {
	sd_event *event;
	MqttConfig *config;
	FakeBroker broker;
	FakeRemote remote;
	Bridge *bridge;
} Harness;

/* A bridge for board "b1" under "blinkd" (and @config_json, if not NULL), started. */
void harness_init(Harness *h, const char *config_json);
void harness_done(Harness *h);

/* The broker takes the connection. */
void harness_connect(Harness *h);
/* A message comes in on @topic. */
void harness_message(Harness *h, const char *topic, const char *payload, bool retained);
/* Answer call @i: @error_name NULL for success (with @path for the start calls). */
void harness_reply(Harness *h, size_t i, const char *error_name, const char *message,
		   const char *path);
/* Run the loop until @until (monotonic) or until it exits. */
void harness_run_until(Harness *h, usec_t until);
usec_t harness_now(Harness *h);

/* How many messages went out on @topic, and the last one (NULL: none). */
size_t fake_broker_count(const FakeBroker *b, const char *topic);
const Published *fake_broker_last(const FakeBroker *b, const char *topic);
/* Forget what was published. */
void fake_broker_clear(FakeBroker *b);

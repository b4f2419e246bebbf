/* SPDX-License-Identifier: MIT */
/*
 * The MQTT broker as the bridge sees it: the calls the bridge makes
 * (BrokerOps) and what the broker tells it (BrokerEvents). The real broker
 * is broker.c, libmosquitto on the bridge's sd-event loop; the unit tests
 * put a fake behind the same table.
 *
 * Owner: whoever made the broker object (blinkd-mqtt's main.c, or a test)
 * owns it and frees it after the bridge; the bridge only borrows it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct BrokerOps {
	/* The last will, retained at QoS 1, that the broker sends when the bridge is lost. */
	int (*set_will)(void *broker, const char *topic, const char *payload);
	/* Begin connecting; failures are retried, never fatal. */
	int (*start)(void *broker);
	bool (*is_connected)(void *broker);
	/*
	 * Publish at QoS 1. With @keep, a message that cannot go out now waits
	 * until the broker is back; without it, it is dropped (retained state is
	 * republished on every connect).
	 */
	int (*publish)(void *broker, const char *topic, const char *payload, size_t len,
		       bool retain, bool keep);
	/* Subscribe at QoS 1, no-local: the bridge's own messages do not come back. */
	int (*subscribe)(void *broker, const char *pattern);
	/* Publish @payload retained on @topic, wait (at most @timeout) for it, disconnect cleanly. */
	void (*shutdown)(void *broker, const char *topic, const char *payload, usec_t timeout);
} BrokerOps;

typedef struct BrokerEvents {
	/* The broker took the connection: subscribe, republish. */
	void (*connected)(void *userdata);
	/* It went away; the broker object retries by itself. */
	void (*disconnected)(void *userdata);
	/* A message on a subscribed topic; @retained: from the broker's store. */
	void (*message)(const char *topic, const void *payload, size_t len, bool retained,
			void *userdata);
} BrokerEvents;

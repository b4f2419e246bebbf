/* SPDX-License-Identifier: MIT */
/*
 * The bridge: between an MQTT broker and blinkd, on one sd-event loop. It
 * carries requests from the one to the other (bridge-request.c) and
 * blinkd's state back, deciding what is published and when.
 *
 *   bridge.c          lifecycle, topics, what is published and when
 *   bridge-request.c  requests and Home Assistant commands to calls, replies to results
 *   broker-ops.h      the broker edge: broker.c (libmosquitto), or a test's fake
 *   remote-ops.h      the blinkd edge: bridge-blinkd.c (D-Bus), or a test's fake
 *
 * Under <prefix>/<board>/ the bridge publishes, retained: state
 * ("online" while it is connected and blinkd is on the bus, else
 * "offline", also as its last will), running (List as JSON), lit (the lit
 * line numbers, at most 10 times a second), definitions (ListDefinitions);
 * not retained: result (one per request) and finished/<name>.
 *
 * Owner: blinkd-mqtt's main.c (or a test) makes the bridge and frees it
 * before the broker and the remote it borrows. The bridge owns its
 * BridgeRequests, its timers and what it last published.
 */
#pragma once

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "broker-ops.h"
#include "macro.h"
#include "mqtt-config.h"
#include "remote-ops.h"

/* The lit topic goes out at most this often. */
#define BRIDGE_LIT_INTERVAL (100 * USEC_PER_MSEC)
/* How long a stopping bridge waits for replies to requests in flight. */
#define BRIDGE_STOP_TIMEOUT (3 * USEC_PER_SEC)
/* How long a stopping bridge waits for the broker to take its "offline". */
#define BRIDGE_SHUTDOWN_TIMEOUT (2 * USEC_PER_SEC)

typedef struct Bridge Bridge;

/* bridge_new() - a bridge for @config on @event; it borrows both. */
int bridge_new(Bridge **ret, sd_event *event, const MqttConfig *config);
Bridge *bridge_free(Bridge *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bridge *, bridge_free);

/*
 * bridge_attach() - the broker and the remote the bridge works with, made
 * to report to bridge_broker_events and bridge_remote_events with the
 * bridge as userdata. Sets the broker's last will. Once, before
 * bridge_start().
 */
int bridge_attach(Bridge *b, const BrokerOps *broker_ops, void *broker,
		  const RemoteOps *remote_ops, void *remote);

/* Watch for blinkd, connect to the broker, tell systemd the bridge is ready. */
int bridge_start(Bridge *b);

/*
 * bridge_stop() - refuse new and held requests, wait (at most
 * BRIDGE_STOP_TIMEOUT) for replies in flight, publish "offline", leave the
 * broker and exit the event loop with 0.
 */
void bridge_stop(Bridge *b);

/* What the broker and the remote tell the bridge; userdata is the Bridge. */
extern const BrokerEvents bridge_broker_events;
extern const RemoteEvents bridge_remote_events;

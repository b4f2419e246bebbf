/* SPDX-License-Identifier: MIT */
/*
 * Requests to calls, replies to results. A request is checked whole
 * (request.c) before anything reaches blinkd; a request that fails a check,
 * or that cannot be passed on (blinkd gone, options it does not support),
 * is refused on the result topic at once. One that is passed on is answered
 * when blinkd's reply comes: its object path, or blinkd's error name and
 * message as they are. Every request gets exactly one result.
 *
 * A request that comes before the remote is settled (whether blinkd is on
 * the bus is not known yet, or what a blinkd that just appeared offers) is
 * held, in order, until it is: then it is passed on, or refused
 * Unavailable when blinkd is truly not there. At most BRIDGE_HOLD_MAX wait,
 * for at most BRIDGE_HOLD_TIMEOUT on the event loop's clock.
 *
 * Owner: the Bridge (bridge.c) makes one at bridge_attach() and frees it;
 * it borrows the event loop, the configuration, the broker and the remote.
 * It owns the held requests and the records of the ones in flight.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

#include "broker-ops.h"
#include "macro.h"
#include "mqtt-config.h"
#include "remote-ops.h"

#define BRIDGE_HOLD_MAX 256
#define BRIDGE_HOLD_TIMEOUT (10 * USEC_PER_SEC)

typedef struct BridgeRequests BridgeRequests;

/*
 * bridge_requests_new() - requests answered on @broker and passed on to
 * @remote. @idle is called whenever the last reply in flight came.
 */
int bridge_requests_new(BridgeRequests **ret, sd_event *event, const MqttConfig *config,
			const BrokerOps *broker_ops, void *broker, const RemoteOps *remote_ops,
			void *remote, void (*idle)(void *userdata), void *userdata);
/* Refuses what is still held; replies still to come are not waited for. */
BridgeRequests *bridge_requests_free(BridgeRequests *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(BridgeRequests *, bridge_requests_free);

/* A message on a request topic (request.h): answered, now or when blinkd replies. */
void bridge_requests_handle(BridgeRequests *q, const char *topic, const void *payload,
			    size_t len, bool retained);

/* A Home Assistant command to @light (discovery.h): ON, an effect, or OFF. */
void bridge_requests_handle_light(BridgeRequests *q, const char *light, const void *payload,
				  size_t len, bool retained);

/* The remote may be settled now: pass the held requests on, in order. */
void bridge_requests_settled(BridgeRequests *q);

/* From now on refuse every request Unavailable with @why, the held ones at once. */
void bridge_requests_stop(BridgeRequests *q, const char *why);

/* How many replies are still to come. */
size_t bridge_requests_in_flight(const BridgeRequests *q);

/* SPDX-License-Identifier: MIT */
/*
 * The connection to the MQTT broker: libmosquitto without its thread, on
 * the bridge's sd-event loop. The client's socket is an io source (read
 * when readable, write while libmosquitto has bytes queued), a 1 s timer
 * runs its keepalive, and a lost or refused connection is retried with a
 * backoff from 0.5 s doubling to 30 s.
 *
 * The client speaks MQTT 5: it asks the broker to keep its session while
 * it is away, and to send it no packet much larger than the payload limit
 * (payload_max and BROKER_PACKET_HEADROOM for the topic and headers), so
 * that an oversized request is dropped by the broker, never read whole.
 *
 * Everything goes out at QoS 1. Messages that must not be lost (results,
 * finished reports) are kept in an outbox while the broker is away and
 * sent, in order, when it is back; retained state is republished by the
 * owner on every connect instead.
 *
 * Owner: blinkd-mqtt's main.c makes it and frees it after the bridge,
 * which borrows it through broker_ops (broker-ops.h).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

#include "broker-ops.h"
#include "macro.h"
#include "mqtt-config.h"

#define BROKER_BACKOFF_MIN (500 * USEC_PER_MSEC)
#define BROKER_BACKOFF_MAX (30 * USEC_PER_SEC)
#define BROKER_OUTBOX_MAX 1024
/* Room for a PUBLISH's header, its topic (at most 65535 bytes) and properties. */
#define BROKER_PACKET_HEADROOM (64 * 1024 + 1024)
/* The largest packet MQTT can carry: a remaining length of 268435455 and its header. */
#define BROKER_PACKET_MAX (268435455 + 5)

typedef struct Broker Broker;

/*
 * broker_new() - a client for @config's broker that reports to @events with
 * @userdata. Nothing connects before broker_start().
 */
int broker_new(Broker **ret, sd_event *event, const MqttConfig *config, const BrokerEvents *events,
	       void *userdata);
Broker *broker_free(Broker *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Broker *, broker_free);

/* A last will of @payload (retained) on @topic, for every connection after this. */
int broker_set_will(Broker *b, const char *topic, const char *payload);

/* Begin connecting; failures are retried, never fatal. */
int broker_start(Broker *b);

bool broker_is_connected(const Broker *b);

/*
 * broker_publish() - publish at QoS 1. With @keep, a message that cannot go
 * out now waits in the outbox; without it, it is dropped (the owner
 * republishes retained state on connect).
 * Returns 0, or a negative errno.
 */
int broker_publish(Broker *b, const char *topic, const char *payload, size_t len, bool retain,
		   bool keep);

/* Subscribe to @pattern at QoS 1, no-local: the client's own messages do not come back. */
int broker_subscribe(Broker *b, const char *pattern);

/*
 * broker_shutdown() - publish @payload retained on @topic, wait (at most
 * @timeout) until the broker acknowledged it, and disconnect cleanly, so
 * that the will is not sent.
 */
void broker_shutdown(Broker *b, const char *topic, const char *payload, usec_t timeout);

/* The ops table over a Broker. */
extern const BrokerOps broker_ops;

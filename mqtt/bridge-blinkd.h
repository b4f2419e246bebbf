/* SPDX-License-Identifier: MIT */
/*
 * blinkd on D-Bus, as the bridge's remote (remote-ops.h): a bus name that
 * comes and goes. While io.blinkd1 has an owner, it knows whether it
 * offers StartWithOptions (introspected once per owner), is subscribed to
 * its frames, and mirrors its layout, running programs and definitions.
 * When the name goes, all of that is forgotten; when the bus itself goes,
 * it reconnects with a backoff.
 *
 * Owner: blinkd-mqtt's main.c makes it and frees it; the bridge borrows it
 * through bridge_blinkd_ops. It owns its bus connection and the mirror.
 */
#pragma once

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "remote-ops.h"

/* Reconnecting to the bus itself, when it goes away. */
#define BRIDGE_BUS_BACKOFF_MIN (500 * USEC_PER_MSEC)
#define BRIDGE_BUS_BACKOFF_MAX (30 * USEC_PER_SEC)

typedef struct BridgeBlinkd BridgeBlinkd;

/*
 * bridge_blinkd_new() - a remote for blinkd on the system bus, or the
 * session bus with @user_bus, reporting to @events with @userdata. Nothing
 * connects before the watch op.
 */
int bridge_blinkd_new(BridgeBlinkd **ret, sd_event *event, bool user_bus,
		      const RemoteEvents *events, void *userdata);
BridgeBlinkd *bridge_blinkd_free(BridgeBlinkd *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(BridgeBlinkd *, bridge_blinkd_free);

/* The ops table over a BridgeBlinkd. */
extern const RemoteOps bridge_blinkd_ops;

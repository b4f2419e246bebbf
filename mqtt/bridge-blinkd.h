/* SPDX-License-Identifier: MIT */
/*
 * blinkd on D-Bus, as the bridge's remote (remote-ops.h): libblinkd's
 * BlinkdRemote (remote.h) on a bus connection of its own, made again with a
 * backoff when it drops. While io.blinkd1 has an owner, the remote knows
 * whether it has StartWithOptions (by calling it), is subscribed to its
 * frames and keeps its layout, lit lines, running programs and
 * definitions; this adds them as the JSON the bridge publishes, and the
 * calls requests make.
 *
 * Owner: blinkd-mqtt's main.c makes it and frees it after the bridge,
 * which borrows it through bridge_blinkd_ops. It owns its bus connection,
 * its BlinkdRemote and the JSON of the programs and definitions.
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

/* SPDX-License-Identifier: MIT */
/*
 * A remote blinkd: the mirror of the one daemon that owns io.blinkd1 on a
 * bus, as a client sees it. It watches the name come and go (a generation
 * number counts the changes of owner), subscribes to the frames while the
 * name has an owner, and keeps what the caller asked for at creation:
 * the lit lines, their levels, the layout (Layout and Lines, decoded), the
 * chips, the running programs and the definitions, each refreshed when the
 * daemon says it changed, with a callback through an ops table when it did.
 * When the name loses its owner everything kept is dropped.
 *
 * Ownership: the caller owns the bus and the event loop it is attached to
 * (connects, attaches, closes); the remote holds a reference to the bus
 * while it lives and owns its match and call slots and its caches. What
 * the getters return is the remote's, valid until the next callback or
 * until the remote is freed, whichever comes first.
 *
 * Callbacks may call blinkd_remote_free() on the remote that calls them:
 * it then calls no more callbacks, and goes away when the callback
 * returns. A getter's pointer taken before the callback is not valid after
 * it.
 *
 * Whether the daemon has StartWithOptions is found by calling it, not by
 * reading its introspection data: a call without arguments, which sd-bus
 * refuses with InvalidArgs before the daemon's handler sees it where the
 * method is, and which a daemon without it answers UnknownMethod. Nothing
 * starts either way.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "layout.h"
#include "macro.h"
#include "properties.h"

typedef struct BlinkdRemote BlinkdRemote;

/* What a remote keeps and follows; it pays only for what is asked. */
typedef enum BlinkdRemoteFlags {
	/* Subscribe() while the name has an owner; ops->frame for each Frame. */
	BLINKD_REMOTE_FRAMES = 1 << 0,
	/* The Lit property, read after Subscribe() and followed through Frame (implies FRAMES). */
	BLINKD_REMOTE_LIT = 1 << 1,
	/* The Levels property and signal (implies LIT). */
	BLINKD_REMOTE_LEVELS = 1 << 2,
	/* Layout, Lines, Chip and Version, followed through PropertiesChanged. */
	BLINKD_REMOTE_LINES = 1 << 3,
	/* The Chips property, followed through PropertiesChanged. */
	BLINKD_REMOTE_CHIPS = 1 << 4,
	/* List(), asked again on Finished, InterfacesAdded and InterfacesRemoved. */
	BLINKD_REMOTE_PROGRAMS = 1 << 5,
	/* ListDefinitions(), at each appearance and on blinkd_remote_refresh_definitions(). */
	BLINKD_REMOTE_DEFINITIONS = 1 << 6,
	/* ops->finished for each Finished signal. */
	BLINKD_REMOTE_FINISHED = 1 << 7,
	/* Whether StartWithOptions is there; settled waits for the answer. */
	BLINKD_REMOTE_CAPABILITIES = 1 << 8,
} BlinkdRemoteFlags;

/* One entry of List() or ListDefinitions(): a name and its program as the daemon sends it. */
typedef struct BlinkdRemoteProgram {
	char *name;
	char *program; /* JSON text */
} BlinkdRemoteProgram;

/*
 * What the remote tells its user; every member may be NULL. Each is called
 * from the event loop, after the cache it names was updated.
 */
typedef struct BlinkdRemoteOps {
	/* io.blinkd1 has a new owner; the caches are empty and being read. */
	void (*appeared)(BlinkdRemote *r, const char *owner, void *userdata);
	/* io.blinkd1 lost its owner, or the bus connection dropped; the caches are dropped. */
	void (*vanished)(BlinkdRemote *r, void *userdata);
	/* blinkd_remote_is_settled() became true, or was true and the owner changed. */
	void (*settled)(BlinkdRemote *r, void *userdata);
	/* A Frame signal (FRAMES): the daemon's CLOCK_MONOTONIC time and the lit numbers. */
	void (*frame)(BlinkdRemote *r, uint64_t usec, const unsigned *lit, size_t n_lit,
		      void *userdata);
	/* The Lit cache changed: read from the property, or by a Frame (LIT). */
	void (*lit_changed)(BlinkdRemote *r, void *userdata);
	/* The Levels cache changed (LEVELS). */
	void (*levels_changed)(BlinkdRemote *r, void *userdata);
	/* The layout, the chip labels, Chip or Version were read anew (LINES). */
	void (*lines_changed)(BlinkdRemote *r, void *userdata);
	/* The Chips cache was read anew (CHIPS). */
	void (*chips_changed)(BlinkdRemote *r, void *userdata);
	/* A List() reply was read (PROGRAMS); @changed: it differs from the one before. */
	void (*programs_read)(BlinkdRemote *r, bool changed, void *userdata);
	/* A ListDefinitions() reply was read (DEFINITIONS); @changed likewise. */
	void (*definitions_read)(BlinkdRemote *r, bool changed, void *userdata);
	/* A Finished signal (FINISHED): program @name ended with @result. */
	void (*finished)(BlinkdRemote *r, const char *name, const char *result, void *userdata);
} BlinkdRemoteOps;

/*
 * blinkd_remote_new() - start mirroring the blinkd on @bus.
 * @bus: a connected bus, attached to the caller's event loop (or to be)
 * @flags: what to keep and follow, BlinkdRemoteFlags or'ed
 * @ops: the callbacks (may be NULL); must outlive the remote
 * @userdata: handed to every callback
 *
 * Adds the matches, then asks the bus who owns io.blinkd1: the answer
 * comes through the event loop. Returns 0 or a negative errno.
 */
int blinkd_remote_new(BlinkdRemote **ret, sd_bus *bus, unsigned flags,
		      const BlinkdRemoteOps *ops, void *userdata);

/*
 * blinkd_remote_free() - drop the slots and caches, Unsubscribe() if
 * subscribed (not waiting for the reply), and the reference to the bus.
 * NULL-safe; returns NULL. Safe inside a callback (see above).
 */
BlinkdRemote *blinkd_remote_free(BlinkdRemote *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(BlinkdRemote *, blinkd_remote_free);

/* The bus the remote watches; the caller's. */
sd_bus *blinkd_remote_get_bus(const BlinkdRemote *r);

/* The unique name owning io.blinkd1, or NULL while nothing does (or not yet known). */
const char *blinkd_remote_get_owner(const BlinkdRemote *r);

/* Counts the changes of owner: bumped when the name gains one and when it loses it. */
unsigned blinkd_remote_get_generation(const BlinkdRemote *r);

/*
 * blinkd_remote_is_settled() - whether the bus answered whether io.blinkd1
 * has an owner and, when it has one and CAPABILITIES was asked, whether
 * that owner has StartWithOptions. False again after the bus connection
 * dropped.
 */
bool blinkd_remote_is_settled(const BlinkdRemote *r);

/* Whether the owner has StartWithOptions (CAPABILITIES); false while not known. */
bool blinkd_remote_has_start_with_options(const BlinkdRemote *r);

/* The lit line numbers, as the daemon last said (LIT); NULL and 0 before it did. */
const unsigned *blinkd_remote_get_lit(const BlinkdRemote *r, size_t *ret_n);

/*
 * The lit lines with their levels (LEVELS): from the last Levels signal or
 * property; a line a later Frame lit keeps the level it had, or 1 if it was
 * dark; one a later Frame left dark is gone.
 */
const BlinkdLevel *blinkd_remote_get_levels(const BlinkdRemote *r, size_t *ret_n);

/*
 * The daemon's layout (LINES): its lines from Lines with the matrix of
 * Layout, or from a daemon without Lines, Layout alone; NULL until read.
 */
const Layout *blinkd_remote_get_layout(const BlinkdRemote *r);

/* Each line's chip label by position in the layout's lines (LINES); NULL without Lines. */
char *const *blinkd_remote_get_labels(const BlinkdRemote *r);

/* The Chip and Version properties (LINES); NULL until read. */
const char *blinkd_remote_get_chip(const BlinkdRemote *r);
const char *blinkd_remote_get_version(const BlinkdRemote *r);

/* The Chips property (CHIPS); none from a daemon without it. */
const BlinkdChip *blinkd_remote_get_chips(const BlinkdRemote *r, size_t *ret_n);

/* The running programs, in List()'s order (PROGRAMS); NULL until a reply was read. */
const BlinkdRemoteProgram *blinkd_remote_get_programs(const BlinkdRemote *r, size_t *ret_n);

/* The definitions, in ListDefinitions()'s order (DEFINITIONS); NULL until read. */
const BlinkdRemoteProgram *blinkd_remote_get_definitions(const BlinkdRemote *r, size_t *ret_n);

/*
 * Ask List() or ListDefinitions() again, while the name has an owner. One
 * call is in flight at a time: asking during one makes one more after it.
 */
void blinkd_remote_refresh_programs(BlinkdRemote *r);
void blinkd_remote_refresh_definitions(BlinkdRemote *r);

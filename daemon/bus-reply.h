/* SPDX-License-Identifier: MIT */
/*
 * Replies that list every program or definition, built in slices
 * (bus-reply.c says how). Calls bus-program.c for a program's path and
 * properties; calls nothing that calls it.
 *
 * Owners: each SlicedReply is its Bus's, queued in b->replies in the
 * order the calls came, from bus_reply_sliced() until it is sent (or the
 * Bus goes, bus_replies_free()). A reply pins the manager's registry while
 * it lists Runnings and holds a reference on each Definition it lists; it
 * borrows the call and owns the reply message it builds.
 */
#pragma once

#include "bus.h"

/* What a reply built in slices lists. */
typedef enum SliceKind {
	SLICE_LIST,			/* List(): a(ss) of the running programs */
	SLICE_DEFINITIONS,		/* ListDefinitions(): a(ss) */
	SLICE_MANAGED_OBJECTS,		/* GetManagedObjects() on /io/blinkd1 */
	SLICE_INTROSPECT_PROGRAMS,	/* Introspect() of /io/blinkd1/program: its child nodes */
} SliceKind;

/*
 * bus_reply_sliced() - answer @call with a snapshot of what @kind lists,
 * built in slices between timer events. Returns 1 (the reply comes later)
 * or a negative errno.
 */
int bus_reply_sliced(Bus *b, sd_bus_message *call, SliceKind kind);
int bus_replies_init(Bus *b);
void bus_replies_free(Bus *b);

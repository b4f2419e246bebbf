/* SPDX-License-Identifier: MIT */
/*
 * The daemon on the bus: the connection, io.blinkd1.Manager at /io/blinkd1,
 * one io.blinkd1.Program object per running program, the ObjectManager,
 * the subscribers of Frame, and the signals. The Bus owns the connection,
 * its slots and the subscriber track; it borrows the Manager, which must
 * outlive it. bus-manager.c and bus-program.c hold vtables and handlers;
 * this file the connection and the ManagerBusOps the manager reports through.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "manager.h"

typedef struct SlicedReply SlicedReply;

typedef struct Bus {
	Manager *manager;
	sd_bus *bus;
	sd_bus_slot *manager_slot, *program_slot, *object_manager_slot, *simulation_slot;
	sd_bus_slot *disconnected_slot, *filter_slot;
	bool levels_between; /* the last Levels signal had a level between dark and lit */
	sd_bus_track *subscribers;
	sd_event_source *slicer;	/* builds the replies below, a slice a dispatch */
	SlicedReply *replies, *replies_last; /* in the order their calls came */
} Bus;

/* What a reply built in slices lists (bus-reply.c). */
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

/* io.blinkd1.Program's properties of @r as an a{sv} (GetManagedObjects). */
int bus_program_append_properties(sd_bus_message *m, Running *r);

/*
 * bus_new() - connect to the session (@user_bus) or system bus, register the
 * objects, take the name io.blinkd1 and become @m's bus. When the
 * connection is lost later, the manager is told to exit with -ECONNRESET.
 * Logs and returns a negative errno on failure.
 */
int bus_new(Bus **ret, Manager *m, bool user_bus);

/* Detach from the manager, send what is queued, close. */
Bus *bus_free(Bus *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bus *, bus_free);

/*
 * The caller a bound program is bound to: a track of its connection, and
 * the check that it was still there when the track was made. Owned by the
 * program's Running (bus_data) and freed with its end.
 */
typedef struct BoundCaller BoundCaller;
int bound_caller_new(Bus *b, Running *r, sd_bus_message *call);
BoundCaller *bound_caller_free(BoundCaller *c);

/* bus-manager.c, bus-program.c */
int bus_manager_register(Bus *b);
int bus_append_levels(sd_bus_message *msg, Manager *m);
int bus_emit_levels(Bus *b, usec_t when);
/* The Chips, Lines and Chip properties changed. */
void bus_manager_chips_changed(Bus *b);
int bus_program_register(Bus *b);

/* The object path of program @name; -ENOMEM. */
int bus_program_path(const char *name, char **ret);

/* The lit lines, as Lit and Frame carry them. */
int bus_append_lit(sd_bus_message *msg, Manager *m);

/*
 * bus_map_error() - the one place where manager failures become D-Bus
 * errors: each ManagerErrorKind its io.blinkd1.Error name with the
 * message; a failure without a kind a plain errno error.
 */
int bus_map_error(sd_bus_error *error, int r, const ManagerError *e);

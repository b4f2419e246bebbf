/* SPDX-License-Identifier: MIT */
/*
 * The daemon on the bus: the connection, io.blinkd1.Manager at /io/blinkd1,
 * one io.blinkd1.Program object per running program, the ObjectManager,
 * the subscribers of Frame, and the signals. The Bus owns the connection,
 * its slots and the subscriber track; it borrows the Manager, which must
 * outlive it. bus-manager.c and bus-program.c hold vtables and handlers,
 * bus-reply.c the replies built in slices, bus-error.c the mapping of
 * failures to D-Bus errors; this file the connection and the ManagerBusOps
 * the manager reports through. Who calls whom, none in a circle: bus.c
 * calls the other four; bus-manager.c calls bus-program.c, bus-reply.c and
 * bus-error.c; bus-reply.c calls bus-program.c; bus-program.c calls
 * bus-error.c.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "manager.h"

/* A reply built in slices: the Bus's, in b->replies, until it is sent (bus-reply.h). */
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

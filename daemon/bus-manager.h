/* SPDX-License-Identifier: MIT */
/*
 * io.blinkd1.Manager at /io/blinkd1 (bus-manager.c). Calls bus-program.c,
 * bus-reply.c and bus-error.c; none of them calls it.
 */
#pragma once

#include "bus.h"

int bus_manager_register(Bus *b);
int bus_append_levels(sd_bus_message *msg, Manager *m);
int bus_emit_levels(Bus *b, usec_t when);
/* The Chips, Lines and Chip properties changed. */
void bus_manager_chips_changed(Bus *b);

/* The lit lines, as Lit and Frame carry them. */
int bus_append_lit(sd_bus_message *msg, Manager *m);

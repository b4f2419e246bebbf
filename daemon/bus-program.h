/* SPDX-License-Identifier: MIT */
/*
 * io.blinkd1.Program: one object per running program (bus-program.c).
 * Calls bus-error.c and the manager; no other bus file.
 */
#pragma once

#include "bus.h"

int bus_program_register(Bus *b);

/* The object path of program @name; -ENOMEM. */
int bus_program_path(const char *name, char **ret);

/* io.blinkd1.Program's properties of @r as an a{sv} (GetManagedObjects). */
int bus_program_append_properties(sd_bus_message *m, Running *r);

/*
 * The caller a bound program is bound to: a track of its connection, and
 * the check that it was still there when the track was made. Owned by the
 * program's Running (bus_data) and freed with its end.
 */
typedef struct BoundCaller BoundCaller;
int bound_caller_new(Bus *b, Running *r, sd_bus_message *call);
BoundCaller *bound_caller_free(BoundCaller *c);

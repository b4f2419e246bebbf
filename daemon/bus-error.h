/* SPDX-License-Identifier: MIT */
/*
 * Manager failures as D-Bus errors, in one place. It calls no other bus
 * file; bus-manager.c and bus-program.c call it.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "manager-error.h"

/*
 * bus_map_error() - the one place where manager failures become D-Bus
 * errors: each ManagerErrorKind its io.blinkd1.Error name with the
 * message; a failure without a kind a plain errno error.
 */
int bus_map_error(sd_bus_error *error, int r, const ManagerError *e);

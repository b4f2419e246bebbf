/* SPDX-License-Identifier: MIT */
/*
 * The names of blinkd's D-Bus API, shared by daemon and client. This is a
 * contract: names and signatures do not change.
 */
#pragma once

#define BLINKD_BUS_NAME "io.blinkd1"
#define BLINKD_OBJECT_PATH "/io/blinkd1"
#define BLINKD_PROGRAM_PATH_PREFIX "/io/blinkd1/program"
#define BLINKD_MANAGER_INTERFACE "io.blinkd1.Manager"
#define BLINKD_PROGRAM_INTERFACE "io.blinkd1.Program"
/* Only while the daemon simulates its chips (--chip sim). */
#define BLINKD_SIMULATION_INTERFACE "io.blinkd1.Simulation"

#define BLINKD_ERROR_INVALID_PROGRAM "io.blinkd1.Error.InvalidProgram"
#define BLINKD_ERROR_INVALID_NAME "io.blinkd1.Error.InvalidName"
#define BLINKD_ERROR_EXISTS "io.blinkd1.Error.Exists"
#define BLINKD_ERROR_NOT_RUNNING "io.blinkd1.Error.NotRunning"
#define BLINKD_ERROR_NOT_DEFINED "io.blinkd1.Error.NotDefined"
#define BLINKD_ERROR_LIMIT_EXCEEDED "io.blinkd1.Error.LimitExceeded"
#define BLINKD_ERROR_INVALID_OPTIONS "io.blinkd1.Error.InvalidOptions"
#define BLINKD_ERROR_STATE_NOT_WRITABLE "io.blinkd1.Error.StateNotWritable"

/* SPDX-License-Identifier: MIT */
/*
 * The Manager owns everything the daemon has: the event loop, the bus
 * connection, the GPIO backend, the engine and its one timer, the running
 * programs and the definitions. Bus handlers call the manager_*() functions
 * here; they return negative errnos that bus-manager.c maps to D-Bus errors
 * in one place.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config-file.h"
#include "engine.h"
#include "gpio.h"
#include "name-table.h"
#include "program.h"

/* A named program that runs; it is also a bus object. */
typedef struct Running {
	struct Manager *manager;
	char *name;
	char *path;
	char *canonical;
	EngineRun *run;
	usec_t started_realtime;
	unsigned *lines; /* every line it may drive, sorted */
	size_t n_lines;
} Running;

typedef struct Definition {
	char *name;
	Program *program;
	char *canonical;
	bool from_config;
} Definition;

typedef struct ManagerOptions {
	const char *config_path;
	bool config_must_exist;
	const char *chip;	/* overrides the config's */
	const char *trace_path;
} ManagerOptions;

typedef struct Manager {
	sd_event *event;
	sd_bus *bus;
	sd_event_source *timer;	      /* the engine's next deadline */
	sd_event_source *frame_timer; /* the next Frame, when rate limited */
	sd_bus_track *subscribers;
	sd_bus_slot *manager_slot, *program_slot, *enumerator_slot, *object_manager_slot;

	Config *config;
	Gpio *gpio;
	Engine *engine;
	NameTable running;
	NameTable definitions;

	int trace_fd;
	bool trace_broken;
	char *trace_buf;

	usec_t last_frame;	/* when the last Frame went out */
	bool frame_dirty;	/* lines changed since it went out */
	bool chip_lost;		/* the backend failed: programs ended, retrying */
	bool exiting;

	/* Statistics, for STATUS= and the benchmark. */
	uint64_t n_batches;
	uint64_t n_line_changes;
	uint64_t n_wakeups;
} Manager;

int manager_new(Manager **ret, const ManagerOptions *opts);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Connect to the bus, take the name, start the autostart programs, tell systemd. */
int manager_startup(Manager *m, bool user_bus);

/* Run the loop until SIGTERM/SIGINT; then every line goes dark. */
int manager_run(Manager *m);

/* CLOCK_MONOTONIC now, in microseconds. */
usec_t manager_now(void);

/*
 * manager_start_program() - parse @text and start it as @name at this instant.
 * @replace: a program of that name is cancelled at the same instant, in one
 *           batch with the new one's first edge
 * @detail: on failure, what a person needs to know (JSON path and rule, the
 *          missing definition, ...)
 * Returns 0, -EBADR (invalid name), -EINVAL (invalid program), -EEXIST,
 * -ENOENT (a call to an undefined name), -E2BIG (too many programs), -ENOMEM.
 */
int manager_start_program(Manager *m, const char *name, const char *text, bool replace,
			  Running **ret, char *detail, size_t detail_size);

/* Returns 0 or -ESRCH when @name is not running. */
int manager_stop_program(Manager *m, const char *name);
/* StopAll(): every program ends "stopped", at one instant, in one batch. */
void manager_stop_all_programs(Manager *m);

int manager_define(Manager *m, const char *name, const char *text, char *detail,
		   size_t detail_size);
int manager_undefine(Manager *m, const char *name);

Running *manager_get_running(Manager *m, const char *name);

/* Called when a Subscribe()/Unsubscribe() changed the subscribers. */
void manager_subscribers_changed(Manager *m);

/* Register the io.blinkd1.Manager object and the program objects (bus-*.c). */
int bus_manager_register(Manager *m);
int bus_program_register(Manager *m);

/*
 * bus_map_error() - the one place where manager errors become D-Bus errors:
 * -EINVAL InvalidProgram, -EBADR InvalidName, -EEXIST Exists, -ESRCH
 * NotRunning, -ENOENT NotDefined, -E2BIG LimitExceeded, with @detail as the
 * message; anything else a plain errno error.
 */
int bus_map_error(sd_bus_error *error, int r, const char *detail);

/* Signals. */
int bus_emit_finished(Manager *m, const char *name, RunResult result);
int bus_emit_frame(Manager *m, usec_t when);
int bus_emit_program_added(Manager *m, Running *r);
int bus_emit_program_removed(Manager *m, Running *r);

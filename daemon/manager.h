/* SPDX-License-Identifier: MIT */
/*
 * The Manager owns what the daemon has: the event loop, the GPIO backend,
 * the engine and its one timer, the trace, the running programs and the
 * definitions. It knows no D-Bus: it tells the bus what happened through
 * ManagerBusOps, and the bus handlers call the manager_*() functions here.
 *
 * It is made of parts, none of which calls it back but through an ops
 * table: the registry (registry.h: Running, Definition, the name tables,
 * the pins and the graveyard), persistence (persist.h: what is written to
 * state.json, when, and the undo of a change that could not be), the
 * engine (engine.h) and the chips (chips.h). This file is the loop, its
 * timers, and the wiring: the Manager owns the sd_event, the engine, the
 * chips, the trace, the registry (embedded) and the Persist, and borrows
 * the bus through ManagerBusOps.
 *
 * Owners, each object one:
 *  - Running: the manager's, from manager_start_program() until its end has
 *    been reported (the registry says how a pinned one waits in the
 *    graveyard for the last reply that lists it). While it runs it is
 *    listed by name in m->registry. Its end (the engine's finished()) only
 *    queues it; manager_report_ended() reports the queue
 *    (InterfacesRemoved, Finished), unlists and frees it, and runs only
 *    where no caller up the stack holds a Running: at the start of each
 *    manager_*() call, after each timer wakeup, and from a deferred event
 *    right after the bus call in progress, so a call's reply goes out
 *    before the Finished of a program that ended inside it. A program
 *    replaced by one that starts later is reported and unlisted at the
 *    Replace, but runs on, owned by its successor (predecessor), until
 *    the engine ends it at the successor's start.
 *  - EngineRun: the engine's (engine.h). A Running borrows its run until
 *    finished() says it ended; r->run is NULL from then on.
 *  - Definition: reference counted, one reference m->registry's
 *    (registry.h); a sliced reply and a persistent change hold others.
 *  - Program: immutable, reference counted (program.h).
 *  - Persist, with its StoreWriter and PersistChanges: the manager's
 *    (persist.h).
 *
 * Every manager_*() call is one instant: it reads the clock once, brings the
 * timeline to it (reporting what ended), acts at that instant and writes the
 * batch, so nothing it does can race a program's own end.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config-file.h"
#include "manager-error.h"
#include "engine.h"
#include "chips.h"
#include "registry.h"
#include "start-options.h"
#include "persist.h"
#include "precision.h"
#include "program.h"
#include "store.h"
#include "trace.h"

/*
 * How the manager tells the bus what happened. Each may be NULL; the
 * manager runs without a bus too (tests, and the last moments of exit).
 */
typedef struct ManagerBusOps {
	/* @r started and is listed: announce its object. */
	void (*program_added)(void *userdata, const Running *r);
	/*
	 * @r ended with @result; it is still listed during the call, unlisted
	 * and freed after (a program replaced by one that starts later is
	 * reported at the Replace, and freed once its run ends). The bus frees
	 * its r->bus_data here.
	 */
	void (*program_ended)(void *userdata, Running *r, RunResult result);
	/* Lines changed and someone is subscribed: the lit lines as of @when. */
	void (*frame)(void *userdata, usec_t when);
	/* A chip appeared or vanished: the Chips property changed. */
	void (*chips_changed)(void *userdata);
} ManagerBusOps;

typedef struct ManagerOptions {
	const char *config_path;
	bool config_must_exist;
	const char *chip;	/* overrides the config's */
	const char *trace_path;
	usec_t timer_accuracy;	/* of the engine's timer; 0 means 1us */
	const char *state_dir;	/* where persistent programs and definitions are kept; NULL: nowhere */
	/* CLOCK_MONOTONIC and CLOCK_REALTIME in microseconds unless given (tests: virtual clocks). */
	usec_t (*clock)(void *userdata);
	usec_t (*clock_realtime)(void *userdata);
	void *clock_userdata;
} ManagerOptions;

/* How a program starts: StartWithOptions()'s options. */
typedef struct ManagerStartOptions {
	/*
	 * As the caller gave them (start_options_read() for a bus call):
	 * priority -1000..1000; timeout 0 (none) or at least 100us; at
	 * CLOCK_REALTIME, 0: now, at most a day ahead, past: in phase since then.
	 */
	StartOptions start;
	usec_t resume_from;	/* the store's start (CLOCK_REALTIME) of a program resumed; 0: none */
} ManagerStartOptions;

#define MANAGER_TIMEOUT_MIN START_TIMEOUT_MIN
#define MANAGER_AT_AHEAD_MAX START_AT_AHEAD_MAX

/* What the caller of a persistent change hears once it is durable, or undone (persist.h). */
typedef PersistDurableFn ManagerDurableFn;

typedef struct Manager {
	sd_event *event;
	sd_event_source *timer;		/* the engine's next deadline, or the chip's retry */
	sd_event_source *frame_timer;	/* the next Frame, when rate limited */
	sd_event_source *report_source; /* ends queued inside a call, reported after it */
	sd_event_source *clock_set_source; /* the wall clock was set */

	const ManagerBusOps *bus_ops;
	void *bus_userdata;
	usec_t (*clock)(void *userdata);
	usec_t (*clock_realtime)(void *userdata);
	void *clock_userdata;
	char *state_dir;

	Config *config;
	Chips *chips;
	bool chips_started;	/* the chips were looked for once */
	bool lines_exited;	/* the exit state is written, the lines released */
	Engine *engine;
	Trace *trace;
	Registry registry;	/* what runs and what is defined (registry.h) */
	Running *ended_first, *ended_last;

	/*
	 * Precision mode ("precision": "spin"): the timer fires a margin
	 * early (precision.h says how it is learned) and the rest is waited
	 * out on the clock.
	 */
	bool spin;
	Precision precision;
	usec_t timer_fire;		/* when the timer is set to fire */
	usec_t timer_due;		/* the instant it is for */

	bool subscribed;	/* someone wants Frames */
	usec_t last_frame;	/* when the last Frame went out */
	bool frame_dirty;	/* lines changed since it went out */
	int exit_error;		/* what manager_run() returns, set by manager_exit() */
	bool exiting;		/* the loop is over: programs end, but stay in the store */

	Persist *persist;	/* what survives a restart (persist.h); NULL: no state directory */
} Manager;

/*
 * manager_new() - build the manager: the configuration, the engine, the
 * trace, the event loop, the chips and their lines, the config's
 * definitions, the signal handlers, the timers and the wall clock watch, in
 * this order (manager.c lists what each borrows). On failure, logged
 * naming the step, what was built is undone as by manager_free() and a
 * negative errno returned.
 */
int manager_new(Manager **ret, const ManagerOptions *opts);

/*
 * manager_free() - undo manager_new() and manager_startup() in exactly the
 * reverse order: what still runs ends (unreported: the bus, which borrows
 * the manager, must be gone by now), the loop's sources go, the
 * definitions, then every line to its exit state while the engine and the
 * trace are still there, then the chips, the loop, the trace, the engine
 * and the configuration.
 */
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/*
 * manager_shutdown() - while the bus is still there: every program ends
 * "stopped" (reported), every line goes to its exit state in one last
 * batch per chip and is released. manager_run() does it after the loop;
 * main() when manager_startup() fails. Once only; returns 0 or the
 * backend's error.
 */
int manager_shutdown(Manager *m);

/* Connect the bus: @ops (NULL: none) tells it what happens from now on. */
void manager_set_bus(Manager *m, const ManagerBusOps *ops, void *userdata);

/*
 * manager_startup() - resume what the store kept (its definitions, then
 * its programs, each in the phase it has now), start the autostart
 * programs whose names are free, and tell systemd the daemon is ready.
 * What of the store no longer fits (a definition calling a name no longer
 * defined, a program beyond max_programs once the autostart programs run,
 * ...) is left out, one log line each, never fatal. Fails only for the
 * config's own faults (an autostart program that cannot start) and out
 * of memory.
 */
int manager_startup(Manager *m);

/*
 * manager_run() - run the loop until manager_exit() or SIGTERM/SIGINT; then
 * every line goes dark and every program ends "stopped". Returns 0, the
 * error given to manager_exit(), the loop's failure, or the backend's when
 * the lines could not be turned off.
 */
int manager_run(Manager *m);

/* Leave the loop; manager_run() returns @error (0 or a negative errno). */
void manager_exit(Manager *m, int error);

/* The manager's clocks now (CLOCK_MONOTONIC, CLOCK_REALTIME unless the options gave others). */
usec_t manager_now(const Manager *m);
usec_t manager_now_realtime(const Manager *m);

/* Whether @r has not started yet (a start "at" a later instant). */
bool running_is_scheduled(const Running *r);

/*
 * manager_start_program_with() - parse @text and start it as @name with
 * @opts. Options out of range are refused as INVALID_OPTIONS, naming the
 * option; otherwise as manager_start_program().
 */
int manager_start_program_with(Manager *m, const char *name, const char *text,
			       const ManagerStartOptions *opts, ManagerError *error);

/*
 * manager_start_program() - parse @text and start it as @name at this instant.
 * @replace: a program of that name is cancelled at the same instant, in one
 *           batch with the new one's first edge; if the new one cannot
 *           start, the old one runs on untouched
 * Returns 0 or a negative errno, with @error's kind INVALID_NAME,
 * INVALID_PROGRAM, EXISTS, NOT_DEFINED (a call to an undefined name) or
 * LIMIT_EXCEEDED when the failure is the caller's.
 */
int manager_start_program(Manager *m, const char *name, const char *text, bool replace,
			  ManagerError *error);

/* Stop @name: it ends "stopped" at this instant. NOT_RUNNING when it is not running. */
int manager_stop_program(Manager *m, const char *name, ManagerError *error);

/* StopAll(): every program ends "stopped", at one instant, in one batch. */
void manager_stop_all_programs(Manager *m);

int manager_define(Manager *m, const char *name, const char *text, ManagerError *error);
int manager_undefine(Manager *m, const char *name, ManagerError *error);

/*
 * manager_when_durable() - right after a persistent Start, Define or
 * Undefine that succeeded: call @done once the state that holds its change
 * is on disk, or once it cannot be written (the change is then undone:
 * the program stopped "failed", the definition put back as it was).
 * Returns 1 when @done will be called, 0 when the call changed nothing
 * that is stored (nothing to wait for: answer now).
 */
int manager_when_durable(Manager *m, ManagerDurableFn done, void *userdata);

/*
 * manager_store_flush() - wait, at most @timeout, for the write in flight
 * and write what changed since, from here (the loop is over). Every change
 * waiting for its write hears its result. Returns 0 or -ETIMEDOUT.
 */
int manager_store_flush(Manager *m, usec_t timeout);

Running *manager_get_running(Manager *m, const char *name);

/* Pin the registry (registry_pin()): a Running freed meanwhile stays readable until the unpin. */
void manager_pin_running(Manager *m);
void manager_unpin_running(Manager *m);

/* Store the lit offsets, ascending, in @offsets (at most @max); returns how many are lit. */
size_t manager_get_lit(const Manager *m, unsigned *offsets, size_t max);
/* The lines above 0 and their levels; see engine_get_levels(). */
size_t manager_get_levels(const Manager *m, unsigned *numbers, uint16_t *levels, size_t max,
			  bool *ret_between);

/*
 * Simulation only: chip @chip (a label or path; NULL: every chip) vanishes or
 * returns. -ENOENT: no such chip; -EOPNOTSUPP: not simulating.
 */
int manager_sim_set_chip_present(Manager *m, const char *chip, bool present);

/* Whether anyone is subscribed to Frames; Frames report changes from here on. */
void manager_set_subscribed(Manager *m, bool subscribed);

/*
 * manager_tick() - what the engine's timer does when it fires: bring the
 * timeline to now, write the batch, report what ended, arm the timer again.
 * Tests on a virtual clock call it after moving their clock.
 */
void manager_tick(Manager *m);

/* The engine's next deadline, or USEC_INFINITY. */
usec_t manager_next_deadline(const Manager *m);

/*
 * The wall clock was set: every program started "at" an instant that has
 * not come is moved on the engine's timeline to where that instant is now.
 */
void manager_realtime_changed(Manager *m);

/* Report and free every queued end now (see above for where this is safe). */
void manager_report_ended(Manager *m);

/* SPDX-License-Identifier: MIT */
/*
 * The Manager owns what the daemon has: the event loop, the GPIO backend,
 * the engine and its one timer, the trace, the running programs and the
 * definitions. It knows no D-Bus: it tells the bus what happened through
 * ManagerBusOps, and the bus handlers call the manager_*() functions here.
 *
 * Owners, each object one:
 *  - Running: the manager's, from manager_start_program() until its end has
 *    been reported; a bus reply built in slices (bus-reply.c) pins the
 *    manager, and a Running freed meanwhile waits in m->graveyard, so what
 *    the reply lists stays valid until it is sent, and no longer. While it runs it is listed by name in m->running. Its
 *    end (the engine's finished()) only queues it; manager_report_ended()
 *    reports the queue (InterfacesRemoved, Finished), unlists and frees it,
 *    and runs only where no caller up the stack holds a Running: at the
 *    start of each manager_*() call, after each timer wakeup, and from a
 *    deferred event right after the bus call in progress, so a call's reply
 *    goes out before the Finished of a program that ended inside it.
 *    A program replaced by one that starts later is reported and unlisted
 *    at the Replace, but runs on, owned by its successor (predecessor),
 *    until the engine ends it at the successor's start.
 *  - EngineRun: the engine's (engine.h). A Running borrows its run until
 *    finished() says it ended; r->run is NULL from then on.
 *  - Definition: m->definitions'; its Program is shared by reference count
 *    with the runs that bound it, so redefining a name under a running
 *    "call" changes nothing for that run. A sliced reply holds a reference
 *    on each Definition it lists.
 *  - Program: immutable, reference counted (program.h).
 *  - PersistChange: the manager's, in m->persist_waiting, then in
 *    m->persist_in_flight, until the write that holds it reports; it holds a
 *    reference on the Definitions it names. A start's change and its
 *    Running point at each other, borrowed: whichever goes first clears the
 *    other's pointer. The StoreWriter is the manager's too (store-writer.h).
 *
 * Every manager_*() call is one instant: it reads the clock once, brings the
 * timeline to it (reporting what ended), acts at that instant and writes the
 * batch, so nothing it does can race a program's own end.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config-file.h"
#include "engine.h"
#include "chips.h"
#include "name-table.h"
#include "precision.h"
#include "program.h"
#include "store.h"
#include "store-writer.h"
#include "trace.h"

/* A named program that runs. */
typedef struct Running {
	struct Manager *manager;
	char *name;
	char *canonical;
	EngineRun *run;		/* borrowed from the engine; NULL once ended */
	usec_t started_realtime; /* when it started or starts (CLOCK_REALTIME) */
	unsigned *lines;	/* every line it may drive, sorted */
	size_t n_lines;
	int priority;
	bool bound;		/* ends when its caller leaves the bus (the bus watches) */
	bool persistent;	/* in the store: survives a restart */
	usec_t timeout;		/* ends "done" this long after its start; 0: never */
	void *bus_data;		/* the bus's own (the caller's track): the bus frees it in program_ended() */
	struct PersistChange *persist_change; /* its start, until the store holds it or cannot */

	/*
	 * Replace at a later instant: the program this one replaced, which
	 * runs on, unlisted and already reported "replaced", until this one
	 * starts (the engine then ends it in the same batch); this one owns
	 * it. NULL once it has ended. @successor is the link back.
	 */
	struct Running *predecessor, *successor;

	bool listed;		/* in m->running */
	RunResult result;	/* once ended */
	struct Running *ended_next; /* queued for manager_report_ended() */
	struct Running *grave_next; /* freed while pinned: m->graveyard */
} Running;

typedef struct Definition {
	unsigned n_ref;
	char *name;
	Program *program;
	char *canonical;
	bool persistent;	/* made with Define(), kept in the store; not the config's */
} Definition;

/*
 * What went wrong in a way the caller should hear about by name. A manager
 * call that fails returns a negative errno; when it also set @kind, the
 * failure is the caller's (a bad program, a taken name) and @message says
 * what a person needs to know. MANAGER_ERROR_NONE means the errno alone
 * says it (out of memory, ...). Errnos are never read as kinds.
 */
typedef enum ManagerErrorKind {
	MANAGER_ERROR_NONE,
	MANAGER_ERROR_INVALID_PROGRAM,
	MANAGER_ERROR_INVALID_NAME,
	MANAGER_ERROR_EXISTS,
	MANAGER_ERROR_NOT_RUNNING,
	MANAGER_ERROR_NOT_DEFINED,
	MANAGER_ERROR_LIMIT_EXCEEDED,
	MANAGER_ERROR_INVALID_OPTIONS,
	MANAGER_ERROR_STATE_NOT_WRITABLE,
	_MANAGER_ERROR_MAX,
} ManagerErrorKind;

typedef struct ManagerError {
	ManagerErrorKind kind;
	char message[1200];
} ManagerError;

/* Set @error to @kind with a message; returns -EINVAL, for "return manager_error_set(...)". */
int manager_error_set(ManagerError *error, ManagerErrorKind kind, const char *fmt, ...)
	_printf_(3, 4);

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
	int priority;		/* -1000..1000 */
	bool replace;
	bool bind;
	bool persist;
	usec_t timeout;		/* 0: none, else at least 100us */
	usec_t at;		/* CLOCK_REALTIME; 0: now; at most a day ahead; past: in phase since then */
	usec_t resume_from;	/* the store's start (CLOCK_REALTIME) of a program resumed; 0: none */
} ManagerStartOptions;

#define MANAGER_TIMEOUT_MIN START_TIMEOUT_MIN
#define MANAGER_AT_AHEAD_MAX START_AT_AHEAD_MAX

/*
 * A persistent change (a Start with "persist", a Define, an Undefine of a
 * Define'd name) waiting for the write that makes it durable; manager.c's.
 */
typedef struct PersistChange PersistChange;

/*
 * What the caller of a persistent change hears once the write that holds
 * it is done: @error 0, the state is durable; or a negative errno, @e says
 * why (STATE_NOT_WRITABLE), and the change was undone.
 */
typedef void (*ManagerDurableFn)(void *userdata, int error, const ManagerError *e);

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
	NameTable running;	/* name -> Running */
	NameTable definitions;	/* name -> Definition */
	Running *ended_first, *ended_last;
	unsigned n_pins;	/* manager_pin_running() without its unpin */
	Running *graveyard;	/* programs freed while pinned */

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
	bool resuming;		/* starting what the store kept: it is written once, after */

	/*
	 * Persistence, off the loop (store-writer.h): a change marks the
	 * store dirty and enables persist_source, which hands one snapshot
	 * to the writer when no write is in flight; the changes made while
	 * one is collapse into the next. Each persistent change waits in
	 * persist_waiting for the write that will hold it, then in
	 * persist_in_flight for its result.
	 */
	StoreWriter *store_writer;
	sd_event_source *persist_source;
	sd_event_source *persist_exit_source; /* the last writes, while the bus can still answer */
	bool store_dirty;		/* the store lags what runs and is defined */
	PersistChange *persist_waiting, *persist_in_flight;
	PersistChange *persist_call;	/* made by the call in progress: manager_when_durable() */
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

/*
 * While pinned, a Running the manager frees is kept until the last unpin:
 * a sliced reply pins once and lists the programs by pointer, instead of a
 * reference on each of 10,000 (a cache line each, about 200us at the
 * call's arrival).
 */
void manager_pin_running(Manager *m);
void manager_unpin_running(Manager *m);

/* References, for replies that list Definitions over several dispatches. */
Definition *definition_ref(Definition *d);
Definition *definition_unref(Definition *d);

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

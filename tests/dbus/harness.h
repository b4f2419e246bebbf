/* SPDX-License-Identifier: MIT */
/*
 * The harness of the dbus suite: a private dbus-daemon and blinkd on the
 * simulated chip, both children of the test, in a temporary directory that
 * goes away at exit, also when a check failed or the test was killed.
 *
 * Tests drive the daemon through Clients (bus connections that record every
 * signal blinkd sends) and read what reached the lines from the trace file
 * ("<CLOCK_MONOTONIC ns> <offset> <0|1>" per line change).
 *
 * Failures of the harness itself (no dbus-daemon, blinkd does not come up)
 * are not checks: harness_fatal() reports them and exits 1. A test run
 * without $BLINKD exits 77 (skipped) and says why.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "macro.h"

/* How long the harness waits for a child to come up or go away. */
#define HARNESS_TIMEOUT (20 * USEC_PER_SEC)

/*
 * blinkd may run under a wrapper: $BLINKD_WRAPPER, split at spaces, goes
 * before it on the command line (e.g. "valgrind --leak-check=full
 * --error-exitcode=99 -q"). The daemon is then many times slower, so the
 * harness waits this many times longer for it to come up or go away.
 */
#define HARNESS_WRAPPER_SLOWDOWN 10

/* The wrapper blinkd runs under, or NULL. Timing figures mean nothing then. */
const char *harness_wrapper(void);

/* HARNESS_TIMEOUT, scaled by HARNESS_WRAPPER_SLOWDOWN under a wrapper. */
usec_t harness_timeout(void);

/* CLOCK_MONOTONIC (or @clock) now, in microseconds. */
usec_t now_usec(clockid_t clock);

/* Sleep for @usec. */
void sleep_usec(usec_t usec);

/* Print what went wrong and exit 1; the exit handler cleans up. */
_Noreturn void harness_fatal(const char *fmt, ...) _printf_(1, 2);

/*
 * harness_init() - make the temporary directory and start the private bus.
 * Sets $DBUS_SESSION_BUS_ADDRESS for every later child. Call it first.
 */
void harness_init(void);

/* A file in the temporary directory with @text in it; returns its path. */
const char *harness_write_file(const char *name, const char *text);

/* The path of @name in the temporary directory (removed at exit). */
const char *harness_path(const char *name);

/* The blinkd binary under test ($BLINKD). */
const char *harness_blinkd(void);

/*
 * harness_start_daemon() - start `blinkd --user --state-dir S --chip sim --trace T
 * --config C` with @config_text as C ("{}" when NULL), and wait until it owns
 * io.blinkd1. Each start gets a fresh trace file.
 */
void harness_start_daemon(const char *config_text);

/* Like harness_start_daemon(), with @trace (e.g. "/dev/full") as the trace file. */
void harness_start_daemon_with_trace(const char *config_text, const char *trace);

/*
 * harness_restart_daemon() - like harness_start_daemon(), but the daemon
 * finds the store (--state-dir) the last one left. Every other start
 * begins with an empty store.
 */
void harness_restart_daemon(const char *config_text);

/* The daemons' state directory. */
const char *harness_state_dir(void);

/* The private bus's dbus-daemon. */
pid_t harness_bus_pid(void);

/* The running daemon's pid, trace file and stderr log. */
pid_t harness_daemon_pid(void);
const char *harness_trace_path(void);
const char *harness_daemon_log(void);

/* Whether the daemon still runs (it has not exited). */
bool harness_daemon_alive(void);

/*
 * harness_stop_daemon() - send @sig (0: none, only wait), reap the daemon
 * and wait until its bus name is gone. Returns its exit code, 128 + the
 * signal that killed it, or -ETIMEDOUT (it was then killed).
 */
int harness_stop_daemon(int sig);

/*
 * harness_run_blinkd() - run blinkd with @argv (NULL-terminated, without
 * argv[0]) to its end. Returns the exit code (128 + signal when killed);
 * @ret_stdout and @ret_stderr (either may be NULL) get what it printed.
 */
int harness_run_blinkd(const char *const *argv, char **ret_stdout, char **ret_stderr);

/* Read a whole file; NULL when it cannot be read. */
char *read_file(const char *path);

/* How many lines @text has (a last line without "\n" counts too). */
size_t count_lines(const char *text);

/* ------------------------------------------------------------ clients */

typedef struct Signal {
	sd_bus_message *message;
	usec_t received; /* CLOCK_MONOTONIC */
	bool consumed;
} Signal;

/* A connection to the private bus that records every signal blinkd sends. */
typedef struct Client {
	sd_bus *bus;
	sd_bus_slot *match;
	Signal *signals;
	size_t n_signals, n_allocated;
} Client;

/* Connect (fatal on failure). */
Client *client_new(void);
Client *client_free(Client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Client *, client_free);

/* Process what the bus has for @duration, recording signals. */
void client_settle(Client *c, usec_t duration);

/* Drop every recorded signal (after processing what is queued). */
void client_forget_signals(Client *c);

/*
 * client_wait_signal() - the first recorded signal @interface.@member that no
 * earlier wait returned, waiting up to @timeout for it. Marks it consumed and
 * returns a new reference, rewound; NULL on timeout.
 */
sd_bus_message *client_wait_signal(Client *c, const char *interface, const char *member,
				   usec_t timeout);

/* Like client_wait_signal() for Finished(name, result) of the program @name. */
bool client_wait_finished(Client *c, const char *name, usec_t timeout, char **ret_result);

/* How many @interface.@member signals are recorded, consumed or not. */
size_t client_count_signals(Client *c, const char *interface, const char *member);

/*
 * client_call() - call io.blinkd1.Manager.@method on /io/blinkd1 with @types
 * and the arguments after it (sd_bus_message_append() style). Returns what
 * sd_bus_call() returns; @error and @reply as there (both may be NULL).
 */
int client_call(Client *c, const char *method, sd_bus_error *error, sd_bus_message **reply,
		const char *types, ...);

/* Start(@name, @program); on success *@ret_path (if not NULL) is the object path. */
int client_start(Client *c, const char *name, const char *program, sd_bus_error *error,
		 char **ret_path);

/*
 * client_list() - List() or ListDefinitions() (@definitions) as text, one
 * "name program" line per entry in the order of the reply; NULL on failure.
 */
char *client_list(Client *c, bool definitions);

/*
 * The objects ObjectManager.GetManagedObjects lists (the program objects),
 * sorted, one path a line; "" for none, NULL on failure.
 */
char *client_managed_objects(Client *c);

/* Get a property of one of blinkd's objects, as a message positioned at its value. */
int client_get_property(Client *c, const char *path, const char *interface, const char *property,
			const char *type, sd_bus_message **ret);

/* Read an "au" from @m into a malloc'ed array; returns the count or a negative errno. */
int message_read_au(sd_bus_message *m, unsigned **ret);

/* ------------------------------------------------------------- traces */

typedef struct TraceEvent {
	uint64_t ns; /* CLOCK_MONOTONIC */
	unsigned offset; /* the line's number */
	int value;	 /* logical */
	int physical;	 /* the physical level where it differs (active-low lines), else -1 */
	unsigned level;	 /* 0..10000: an LED's level as written; 0 or 10000 on GPIO lines */
} TraceEvent;

typedef struct Trace {
	TraceEvent *events;
	size_t n;
} Trace;

/*
 * trace_read() - parse the whole trace file (a partly written last line is
 * left out). Returns 0, or -EBADMSG for a line that is not
 * "<ns> <number> <0|1|0.dddd>[ <physical>]" or a time that goes backwards.
 */
int trace_read(const char *path, Trace *ret);
void trace_done(Trace *t);

/* The value of @offset after the first @n events (0 if none touched it). */
int trace_value_after(const Trace *t, size_t n, unsigned offset);

/* How many of the events from index @from on are for @offset. */
size_t trace_count(const Trace *t, size_t from, unsigned offset);

/* What trace_check_pwm() found of one line's square wave in a trace. */
typedef struct TracePwm {
	size_t rising, falling;
	size_t rising_off;   /* rising edges outside the first on-time of their period */
	size_t falling_off;  /* falling edges inside it */
	size_t falling_near; /* falling edges within TRACE_PWM_SLACK of the end of the on-time */
	uint64_t spacing;    /* the gcd of the numbers of periods between rising edges */
	size_t periods;	     /* whole periods in the window */
	uint64_t phase;	     /* where in the period (CLOCK_MONOTONIC ns modulo it) they start */
} TracePwm;

/*
 * How far an edge's trace time may be from the instant the daemon computed
 * its value, in ns: the trace is stamped after the write, and the punctual
 * edges that fix the phase are some tens of microseconds late even on a
 * quiet machine.
 */
#define TRACE_PWM_SLACK (100 * 1000ULL)

/*
 * trace_check_pwm() - the edges of line @offset within [@from, @to) ns
 * against a square wave of @period ns, lit for the first @on ns of each
 * (a dim's PWM, or a blink: period twice its interval). The daemon writes
 * at each wakeup the value the line has at that instant, so however late a
 * wakeup, a rising edge lies in the first @on of a period and a falling edge
 * after it: a late wakeup can drop a pulse (or a gap), never move one. This
 * holds on a machine as busy as it gets, where counting edges in a window of
 * wall-clock time does not. The phase is that of the rising edges (the start
 * of the window of @on + TRACE_PWM_SLACK holding most of them).
 */
TracePwm trace_check_pwm(const Trace *t, unsigned offset, uint64_t from, uint64_t to,
			 uint64_t period, uint64_t on);

/*
 * trace_pwm_holds() - whether @f is a square wave as asked, each part of it
 * true on a busy machine: at least 10 rising edges, and at most one a
 * period; rising edges at the start of a period and falling edges after its
 * on-time (1 in 20 may be off, by a stall between the write and the
 * trace's stamp); at least 1 in 20 falling edges right at the end of the
 * on-time (an on-time too long has none); and rising edges a number of
 * periods apart that no multiple of the period divides (with a period twice
 * too long every distance is even). Prints the figures, named @what.
 */
bool trace_pwm_holds(const TracePwm *f, const char *what);

/*
 * trace_wait_count() - process @c's bus until the trace holds at least @n
 * events of line @offset from index @from on, up to harness_timeout();
 * returns how many it holds then. For "the blink goes on": how soon is the
 * machine's, and a busy one takes longer.
 */
size_t trace_wait_count(Client *c, size_t from, unsigned offset, size_t n);

/*
 * harness_path_outside() - register @path (absolute, e.g. in /dev/shm) to be
 * unlinked when the harness cleans up, as the files in the temporary
 * directory are, also when the test is killed. Returns the stored copy.
 */
const char *harness_path_outside(const char *path);

/* SPDX-License-Identifier: MIT */
/*
 * What every verb of blinkd-client shares: the options given around the
 * verb, the connection to the daemon, the calls every verb makes, and the
 * one place where failures become messages and exit codes.
 *
 * A verb is a function int verb_X(int argc, char **argv, Client *c). It
 * returns an ExitStatus (>= 0) for outcomes a person expects, after printing
 * what went wrong, or a negative errno for everything else, which main()
 * reports as EXIT_STATUS_FAILURE.
 */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-names.h"
#include "layout.h"
#include "macro.h"
#include "properties.h"
#include "strv.h"

/* The exit codes of blinkd-client, as --help and the man page list them. */
typedef enum ExitStatus {
	EXIT_STATUS_OK = 0,
	EXIT_STATUS_FAILURE = 1,     /* anything else; wait: a program did not end "done" */
	EXIT_STATUS_USAGE = 2,	     /* unknown verb or option, missing or extra argument */
	EXIT_STATUS_UNREACHABLE = 3, /* no bus, or no daemon on it */
	EXIT_STATUS_INVALID = 4,     /* invalid program, name or start options */
	EXIT_STATUS_NOT_FOUND = 5,   /* not running, not defined */
	EXIT_STATUS_CONFLICT = 6,    /* name exists, too many programs */
	/* start --bind: how the program it waited for ended, if not "done". */
	EXIT_STATUS_PROGRAM_STOPPED = 7,
	EXIT_STATUS_PROGRAM_REPLACED = 8,
	EXIT_STATUS_PROGRAM_FAILED = 9,
	/* start --bind interrupted by signal N exits 128 + N, as a shell reports it. */
	EXIT_STATUS_SIGNAL_BASE = 128,
} ExitStatus;

typedef enum BusTransport {
	BUS_TRANSPORT_SYSTEM,
	BUS_TRANSPORT_USER,
	BUS_TRANSPORT_REMOTE,
} BusTransport;

typedef struct Client {
	BusTransport transport;
	const char *host; /* BUS_TRANSPORT_REMOTE: [USER@]HOST */
	bool json;
	bool ask_password;
	bool utf8; /* the locale's charset is UTF-8 */
	sd_bus *bus;
	const char *gone; /* why the event loop ended with EXIT_STATUS_UNREACHABLE */
} Client;

typedef int (*VerbFunction)(int argc, char **argv, Client *c);

/* One entry of the verb table in main.c. */
typedef struct Verb {
	const char *name;
	VerbFunction function;
	const char *help; /* one line for the overview of --help */
} Verb;

/*
 * The options every verb takes as well as the top level, so that
 * "blinkd-client list --json" works like "blinkd-client --json list".
 * Verbs append CLIENT_COMMON_OPTIONS to their option table, add
 * CLIENT_COMMON_SHORT to their short options, and hand unknown option
 * characters to client_parse_common_option().
 */
enum {
	CLIENT_OPTION_USER = 0x100,
	CLIENT_OPTION_JSON,
	CLIENT_OPTION_NO_ASK_PASSWORD,
	CLIENT_OPTION_VERSION,
	CLIENT_OPTION_VERB_FIRST = 0x200, /* verbs number their own options from here */
};

#define CLIENT_COMMON_SHORT "hH:"
#define CLIENT_COMMON_OPTIONS                                                                      \
	{ "help", no_argument, NULL, 'h' }, { "host", required_argument, NULL, 'H' },             \
		{ "user", no_argument, NULL, CLIENT_OPTION_USER },                                 \
		{ "json", no_argument, NULL, CLIENT_OPTION_JSON },                                 \
		{ "no-ask-password", no_argument, NULL, CLIENT_OPTION_NO_ASK_PASSWORD },           \
		{ "version", no_argument, NULL, CLIENT_OPTION_VERSION }

/*
 * client_parse_common_option() - apply one of CLIENT_COMMON_OPTIONS.
 * @opt: what getopt_long() returned
 * @arg: optarg
 * @help: printed for -h/--help
 * @ret_exit: the exit status when parsing is over
 *
 * Returns 0 when @opt was applied and parsing goes on, 1 when the verb must
 * return *@ret_exit now: after --help, --version, or an unknown option,
 * which getopt_long() has already reported.
 */
int client_parse_common_option(Client *c, int opt, const char *arg, const char *help,
			       int *ret_exit);

/* Report "VERB: unexpected argument"-style usage errors; returns EXIT_STATUS_USAGE. */
int client_usage_error(const char *fmt, ...) _printf_(1, 2);

/*
 * client_connect() - connect to the bus the options name, once.
 * Returns 0 with c->bus set, or EXIT_STATUS_UNREACHABLE after reporting
 * why.
 */
int client_connect(Client *c);

/*
 * client_call() - call a method of the Manager and wait for the reply.
 * @reply: where the reply goes, or NULL
 * @types: the signature of the arguments that follow, or NULL for none
 *
 * Returns 0, a positive ExitStatus after printing the daemon's error the
 * way a person reads it (see client_report_bus_error()), or a negative
 * errno.
 */
int client_call(Client *c, const char *method, sd_bus_message **reply, const char *types, ...);

/*
 * client_call_message() - send @m, a method call built on c->bus, and wait
 * for the reply; for calls whose arguments client_call() cannot take, such
 * as an a{sv}. Returns like client_call().
 */
int client_call_message(Client *c, sd_bus_message *m, sd_bus_message **reply);

/*
 * client_report_bus_error() - print a failed call as one line on stderr and
 * map it to an exit code. "$.blink.interval: must be between 100us and 1d"
 * from InvalidProgram becomes "interval: must be between 100us and 1d (at
 * $.blink.interval)"; other daemon errors print their message; a bus or a
 * daemon that cannot be reached gives EXIT_STATUS_UNREACHABLE.
 * @error: the error the call returned, possibly unset
 * @r: the negative errno the call returned
 */
int client_report_bus_error(const Client *c, const sd_bus_error *error, int r);

/* Print a program error from the local parser like the daemon's; returns EXIT_STATUS_INVALID. */
int client_report_program_error(const char *path, const char *message);

/*
 * client_get_layout() - the daemon's layout: its lines from the Lines
 * property, with the daemon's numbers, aliases, references, settings and the
 * names their chips give them, and the matrix from the Layout property (none
 * when it is empty). From a daemon without Lines, the Layout property alone:
 * offsets on one chip. l->chips[k] is the k-th chip of the daemon's Chips
 * property, each line's chip an index into it.
 * Returns 0, a positive ExitStatus when the call failed, or a negative errno
 * (both reported).
 */
int client_get_layout(Client *c, Layout **ret);

/*
 * client_get_layout_labels() - client_get_layout(), and in @ret_labels the
 * label of each line's chip, by position in l->lines, as Lines gives it
 * (NULL from a daemon without Lines).
 */
int client_get_layout_labels(Client *c, Layout **ret, char ***ret_labels);

/*
 * client_get_chips() - the daemon's Chips property (properties.h); none (0
 * chips) from a daemon without it. Returns 0, a positive ExitStatus or a
 * negative errno (reported).
 */
int client_get_chips(Client *c, BlinkdChip **ret, size_t *ret_n);

/* How the client names line @i (a position in l->lines): its alias, else its reference. */
const char *client_line_label(const Layout *l, size_t i);

/*
 * client_list_names() - the names of the running programs, from List(),
 * sorted, as a NULL-terminated array; with @ret_cookie the serial of the
 * reply, so signals sent before it can be told apart.
 * Returns 0, a positive ExitStatus or a negative errno (reported).
 */
int client_list_names(Client *c, char ***ret, uint64_t *ret_cookie);

/*
 * client_attach_event() - attach the bus to @event, for the verbs that wait
 * for signals, and end the loop with EXIT_STATUS_UNREACHABLE when the daemon
 * leaves the bus or the connection drops, with the reason in c->gone.
 * Returns 0, or a negative errno (reported).
 */
int client_attach_event(Client *c, sd_event *event);

/*
 * client_report_gone() - say why the loop ended, if the daemon went away.
 * Left to the verb, so that watch can give the terminal back first.
 */
void client_report_gone(const Client *c);

/* Print @j on stdout as one line of JSON. */
struct json_object;
void client_print_json(struct json_object *j);

/* The verbs, one file per group. */
int verb_start(int argc, char **argv, Client *c);
int verb_replace(int argc, char **argv, Client *c);
int verb_stop(int argc, char **argv, Client *c);
int verb_off(int argc, char **argv, Client *c);
int verb_list(int argc, char **argv, Client *c);
int verb_define(int argc, char **argv, Client *c);
int verb_undefine(int argc, char **argv, Client *c);
int verb_definitions(int argc, char **argv, Client *c);
int verb_wait(int argc, char **argv, Client *c);
int verb_watch(int argc, char **argv, Client *c);
int verb_validate(int argc, char **argv, Client *c);

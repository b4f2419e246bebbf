/* SPDX-License-Identifier: MIT */
/*
 * The options of StartWithOptions(), in one table: each row is one option
 * with its name (the a{sv} key, the JSON key of the bridge's "options", the
 * client's --NAME), its D-Bus type, its range, how it parses from a command
 * line value and from JSON, how it goes into and comes out of an a{sv}, and
 * what is wrong with a value, naming the key. The daemon reads the options
 * with it, blinkd-client parses its --priority, --bind, ... with it, and
 * blinkd-mqtt checks and passes on a request's "options" with it, so the
 * three cannot disagree on a name, a type or a bound.
 *
 * What each part does with a row:
 *   - a{sv} (the daemon, start_options_read()): each key known, once, of the
 *     row's type; then the row's check(), the refusals the daemon makes while
 *     reading (a timeout or an "at" of 0). The ranges that need the daemon's
 *     clock or state ("at" at most a day ahead, a timeout at most the
 *     engine's span, bind and persist together) stay the daemon's, with the
 *     numbers of common/start-limits.h.
 *   - JSON (the bridge, start_options_parse_json()): the value as the D-Bus
 *     type says, nothing more: a boolean for 'b', an integer of 32 bits for
 *     'i', a non-negative integer for 't'. A value of the right type but out
 *     of range goes on, and the daemon's refusal comes back as it is.
 *   - command line (the client, start_options_parse_argument()): the
 *     client's getopt table has --NAME for each command_line row, taking a
 *     value when the row has an argument; the row's parse_argument() checks
 *     what can be checked before the call; a row without it is a flag
 *     (--bind). A row that is not command_line (replace: a verb there) is
 *     not an option. An option given twice is refused, as the daemon
 *     refuses a key twice.
 *   - appending (start_options_append()): every option given, in table
 *     order, and nothing else.
 *
 * Adding an option is one row here and its behaviour. For a flag "dim"
 * the diff would be: a field "bool dim;" in StartOptions; the row
 *   { .name = "dim", .type = 'b', .offset = offsetof(StartOptions, dim),
 *     .max = 1, .command_line = true },
 * in libblinkd/start-options.c; a line of --help in client/verb-start.c,
 * the word in client/blinkd-client.bash-completion, and the docs; and its
 * behaviour: the manager acts on it (ManagerStartOptions holds the
 * StartOptions the daemon read, as they are). The client's --dim, the
 * bridge's "dim" in "options", the a{sv} both send, the daemon's reading and every error
 * message about it come from the row: tests/test-start-options.c builds a
 * table with such a row and sees it go through all four.
 *
 * Owner: the table is static and read-only. A StartOptions is the caller's,
 * plain data, with nothing to free.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "start-limits.h"

/* The options of one start, parsed; zero-initialised: none given. */
typedef struct StartOptions {
	uint64_t given;	  /* bit (1 << row) of each option given, in table order */
	int32_t priority; /* the daemon takes START_PRIORITY_MIN..START_PRIORITY_MAX */
	bool replace;
	bool bind;
	bool persist;
	usec_t timeout;	  /* 0: none */
	usec_t at;	  /* CLOCK_REALTIME microseconds; 0: now */
} StartOptions;

/* Why options were refused: one line that names the key and the value's problem. */
typedef struct StartOptionError {
	char message[256];
} StartOptionError;

typedef struct StartOption StartOption;
struct StartOption {
	const char *name;
	char type;	  /* D-Bus type: 'b' (bool), 'i' (int32_t) or 't' (uint64_t) */
	size_t offset;	  /* where the value is, from the start of the StartOptions */
	/*
	 * The values the daemon takes ('i', 't'): the command line checks
	 * them; "at" is relative to the daemon's clock, so its bounds here
	 * only refuse 0.
	 */
	int64_t min, max;
	bool command_line; /* the client takes it as --NAME */
	const char *argument; /* the command line's word for the value; NULL: a flag */
	/*
	 * parse_argument() - the value of --NAME=@arg into @value; @now is
	 * CLOCK_REALTIME microseconds, for values relative to now. Returns 0,
	 * or -EINVAL with @e naming --NAME and what is wrong with @arg.
	 * NULL for a flag.
	 */
	int (*parse_argument)(const StartOption *row, const char *arg, usec_t now, void *value,
			      StartOptionError *e);
	/*
	 * check() - what the daemon refuses of a value of the right type,
	 * while reading; NULL: every value of the type. Returns 0, or -EINVAL
	 * with @e naming the key.
	 */
	int (*check)(const StartOption *row, const void *value, StartOptionError *e);
};

typedef struct StartOptionTable {
	const StartOption *rows;
	size_t n_rows; /* at most 64: StartOptions.given has a bit for each */
} StartOptionTable;

/* The options of io.blinkd1: priority, replace, bind, persist, timeout, at. */
extern const StartOptionTable start_option_table;

/* The row called @name, or NULL. */
const StartOption *start_option_find(const StartOptionTable *t, const char *name);

/* Whether the option of @row was given in @o. */
bool start_options_given(const StartOptionTable *t, const StartOptions *o, const StartOption *row);

/*
 * start_options_set_bool() - give the 'b' option @name the value @value, as
 * a verb does (replace). Returns 0, or -EINVAL when the table has no such
 * 'b' row.
 */
int start_options_set_bool(const StartOptionTable *t, StartOptions *o, const char *name,
			   bool value);

/*
 * start_options_parse_argument() - the client's --NAME [VALUE] for @row:
 * @arg is the value (NULL for a flag). @o may be the first member of a
 * larger struct that holds the values of rows beyond StartOptions.
 * Returns 0, or -EINVAL with @e saying, as the client prints it, what is
 * wrong: the value, or the option given twice.
 */
int start_options_parse_argument(const StartOptionTable *t, const StartOption *row,
				 const char *arg, usec_t now, StartOptions *o, StartOptionError *e);

/*
 * start_options_parse_json() - the options of a JSON object @j, as the
 * bridge's requests give them; @path is where @j is ("$.options"), for the
 * messages. Returns 0, or -EINVAL with @e naming "@path.KEY" and the
 * problem: not an object, an unknown key, a value not of the key's type.
 * A key twice is json_parse_strict()'s to refuse.
 */
int start_options_parse_json(const StartOptionTable *t, json_object *j, const char *path,
			     StartOptions *o, StartOptionError *e);

/*
 * start_options_append() - the a{sv} of StartWithOptions() onto @m: every
 * option given, in table order, nothing else. Returns 0 or a negative errno.
 */
int start_options_append(const StartOptionTable *t, const StartOptions *o, sd_bus_message *m);

/*
 * start_options_read() - the a{sv} at @m, as the daemon reads it: each key
 * known, once, of its type, and past the row's check().
 * Returns 0; -EINVAL with @e's message set (and only then) naming the key
 * of a refused option; or another negative errno for a message that does
 * not parse, with @e's message empty.
 */
int start_options_read(const StartOptionTable *t, sd_bus_message *m, StartOptions *o,
		       StartOptionError *e);

/* SPDX-License-Identifier: MIT */
/*
 * start and replace: build or read a program, check it against the daemon's
 * layout with the daemon's parser, and hand it over with Start() or
 * Replace(), or with StartWithOptions() when a start option is given.
 *
 * start --bind stays until the program ends. The match on Finished is
 * installed before the call, so that a program that ends at once is not
 * missed; a Finished the daemon sent before its reply is an older program of
 * that name (the one replace ended), and is ignored, as wait does. SIGINT and
 * SIGTERM end the loop, and closing the connection is what stops the
 * program: the daemon binds it to the connection, not to a Stop() that a
 * client killed with SIGKILL could never send.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "client.h"
#include "duration.h"
#include "log.h"
#include "program-source.h"
#include "program.h"
#include "start-options.h"
#include "timestamp.h"

#define PROGRAM_OPTIONS_HELP                                                                       \
	"\n"                                                                                       \
	"KIND is blink, cycle or on; the program is built from the options below\n"               \
	"and runs under the name of the kind. Any other word is the name of a\n"                  \
	"definition, started as call(NAME). With --program or --file the whole\n"                  \
	"program is given, as JSON or in the text form (blinkd-programs(7)), and\n"                \
	"the word is the name it runs under.\n"                                                    \
	"\n"                                                                                       \
	"Program options:\n"                                                                       \
	"      --row N              the lines of row N of the daemon's matrix\n"                   \
	"      --col N              the lines of column N\n"                                       \
	"      --lines LINE,...     lines by number, alias, name or reference:\n"                  \
	"                           --lines 11,status,GPIO27,expander:3\n"                        \
	"      --all                every line of the layout\n"                                    \
	"      --interval DURATION  blink, cycle: the interval (default 0.5s)\n"                   \
	"      --times N            blink: on-off cycles; cycle: rounds (default forever)\n"       \
	"      --for DURATION       on: switch off after DURATION and end (default never)\n"       \
	"      --name NAME          run under NAME instead of the kind or definition name\n"       \
	"      --program PROGRAM    the whole program: --program 'any(on(row 2), wait(5s))'\n"     \
	"      --file FILE|-        the whole program from FILE, or from stdin for -\n"            \
	"\n"                                                                                       \
	"\n"                                                                                       \
	"Start options (any of them: the program is started with StartWithOptions()):\n"          \
	"      --priority N         -1000 to 1000 (default 0): on each line it drives, the\n"     \
	"                           program of the highest priority shows\n"                       \
	"      --bind               stay until the program ends, which stops it if this\n"        \
	"                           client is killed or interrupted\n"                            \
	"      --persist            keep it across restarts of the daemon\n"                      \
	"      --timeout DURATION   end it (\"done\") DURATION after it starts\n"                  \
	"      --at TIME            start it at TIME: RFC 3339 (2026-11-30T17:00:00Z,\n"          \
	"                           2026-11-30T18:00:00+01:00) or +DURATION from now\n"          \
	"\n"                                                                                       \
	"DURATION is seconds (0.25) or a number with a unit: 200us, 250ms, 1.5s, 2m.\n"           \
	"\n"                                                                                       \
	"Exit status: 0 started (--bind: it ended \"done\"), 1 FILE cannot be read,\n"           \
	"2 bad usage, 3 daemon not reachable, 4 invalid program, name or start\n"               \
	"options, 5 definition not defined, 6 name already running (start) or too\n"            \
	"many programs running; with --bind 7 stopped, 8 replaced, 9 failed,\n"                 \
	"128+N interrupted by signal N.\n"

static const char start_help[] =
	"Usage: blinkd-client start KIND|NAME [PROGRAM OPTIONS]\n"
	"\n"
	"Start a program. Fails if a program of that name runs already.\n" PROGRAM_OPTIONS_HELP;

static const char replace_help[] =
	"Usage: blinkd-client replace KIND|NAME [PROGRAM OPTIONS]\n"
	"\n"
	"Start a program, replacing a running one of the same name at the same\n"
	"instant: a line lit by both never goes dark. Without a running one of that\n"
	"name, like start.\n" PROGRAM_OPTIONS_HELP;

enum {
	OPTION_ROW = CLIENT_OPTION_VERB_FIRST,
	OPTION_COL,
	OPTION_LINES,
	OPTION_ALL,
	OPTION_INTERVAL,
	OPTION_TIMES,
	OPTION_FOR,
	OPTION_NAME,
	OPTION_PROGRAM,
	OPTION_FILE,
	OPTION_START_FIRST, /* the rows of the start option table, by position, from here */
};

/* One start option: EXIT_STATUS_USAGE after saying what is wrong with it. */
static int parse_start_option(int opt, const char *arg, StartOptions *s)
{
	const StartOptionTable *t = &start_option_table;
	StartOptionError e;
	int r;

	r = start_options_parse_argument(t, &t->rows[opt - OPTION_START_FIRST], arg,
					 timestamp_now(CLOCK_REALTIME), s, &e);
	if (r < 0)
		return client_usage_error("%s", e.message);
	return 0;
}

static int parse_program_options(int argc, char **argv, Client *c, const char *help,
				 ProgramOptions *o, StartOptions *s, int *ret_exit)
{
	static const struct option program_options[] = {
		{ "row", required_argument, NULL, OPTION_ROW },
		{ "col", required_argument, NULL, OPTION_COL },
		{ "lines", required_argument, NULL, OPTION_LINES },
		{ "all", no_argument, NULL, OPTION_ALL },
		{ "interval", required_argument, NULL, OPTION_INTERVAL },
		{ "times", required_argument, NULL, OPTION_TIMES },
		{ "for", required_argument, NULL, OPTION_FOR },
		{ "name", required_argument, NULL, OPTION_NAME },
		{ "program", required_argument, NULL, OPTION_PROGRAM },
		{ "file", required_argument, NULL, OPTION_FILE },
		CLIENT_COMMON_OPTIONS,
	};
	const StartOptionTable *t = &start_option_table;
	struct option options[ELEMENTSOF(program_options) + 64 + 1] = {};
	size_t n = 0;
	int opt;

	/* The program's options, then the start options the table has for the command line. */
	for (size_t i = 0; i < ELEMENTSOF(program_options); i++)
		options[n++] = program_options[i];
	for (size_t i = 0; i < t->n_rows && i < 64; i++)
		if (t->rows[i].command_line)
			options[n++] = (struct option){
				t->rows[i].name,
				t->rows[i].argument ? required_argument : no_argument,
				NULL,
				OPTION_START_FIRST + (int)i,
			};

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0) {
		if (opt >= OPTION_START_FIRST && opt < OPTION_START_FIRST + (int)t->n_rows) {
			*ret_exit = parse_start_option(opt, optarg, s);
			if (*ret_exit != 0)
				return 1;
			continue;
		}
		switch (opt) {
		case OPTION_ROW:
			o->lines_kind = LINES_ROW;
			o->lines = optarg;
			o->n_selections++;
			break;
		case OPTION_COL:
			o->lines_kind = LINES_COL;
			o->lines = optarg;
			o->n_selections++;
			break;
		case OPTION_LINES:
			o->lines_kind = LINES_LIST;
			o->lines = optarg;
			o->n_selections++;
			break;
		case OPTION_ALL:
			o->lines_kind = LINES_ALL;
			o->n_selections++;
			break;
		case OPTION_INTERVAL:
			o->interval = optarg;
			break;
		case OPTION_TIMES:
			o->times = optarg;
			break;
		case OPTION_FOR:
			o->duration = optarg;
			break;
		case OPTION_NAME:
			o->name = optarg;
			break;
		case OPTION_PROGRAM:
			o->program = optarg;
			break;
		case OPTION_FILE:
			o->file = optarg;
			break;
		default:
			if (client_parse_common_option(c, opt, optarg, help, ret_exit))
				return 1;
		}
	}

	if (optind < argc)
		o->word = argv[optind++];
	if (optind < argc) {
		*ret_exit = client_usage_error("Unexpected argument \"%s\".", argv[optind]);
		return 1;
	}
	return 0;
}

static int start_with_options(Client *c, const char *name, const char *text,
			      const StartOptions *s, uint64_t *ret_cookie)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	int r;

	r = client_connect(c);
	if (r != 0)
		return r;
	r = sd_bus_message_new_method_call(c->bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, "StartWithOptions");
	if (r < 0)
		return log_error_errno(r, "Failed to create a method call: %m");
	r = sd_bus_message_append(m, "ss", name, text);
	if (r < 0)
		return log_error_errno(r, "Failed to append to a method call: %m");
	r = start_options_append(&start_option_table, s, m);
	if (r < 0)
		return log_error_errno(r, "Failed to append the start options: %m");

	r = client_call_message(c, m, &reply);
	if (r != 0)
		return r;
	if (ret_cookie) {
		r = sd_bus_message_get_cookie(reply, ret_cookie);
		if (r < 0)
			return log_error_errno(r, "Failed to get the serial of a reply: %m");
	}
	return 0;
}

/* What start --bind waits for: the end of one program. */
typedef struct Binding {
	sd_event *event;
	const char *name;
	uint64_t reply_cookie; /* 0 until the reply to StartWithOptions() is in */
} Binding;

static int result_to_exit_status(const char *result)
{
	if (streq(result, "done"))
		return EXIT_STATUS_OK;
	if (streq(result, "stopped"))
		return EXIT_STATUS_PROGRAM_STOPPED;
	if (streq(result, "replaced"))
		return EXIT_STATUS_PROGRAM_REPLACED;
	return EXIT_STATUS_PROGRAM_FAILED;
}

static int on_bound_finished(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Binding *b = userdata;
	const char *name, *result;
	uint64_t cookie;
	int r;

	/* Signals queued while the call was waiting are only handled after it. */
	if (b->reply_cookie == 0 ||
	    (sd_bus_message_get_cookie(m, &cookie) >= 0 && cookie < b->reply_cookie))
		return 0;
	r = sd_bus_message_read(m, "ss", &name, &result);
	if (r < 0) {
		log_warning_errno(r, "Ignoring a Finished signal that does not parse: %m");
		return 0;
	}
	if (!streq(name, b->name))
		return 0;
	if (!streq(result, "done"))
		log_error("%s ended \"%s\", not \"done\".", name, result);
	return sd_event_exit(b->event, result_to_exit_status(result));
}

static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata)
{
	return sd_event_exit(sd_event_source_get_event(source),
			     EXIT_STATUS_SIGNAL_BASE + (int)si->ssi_signo);
}

static int start_bound(Client *c, const char *name, const char *text, const StartOptions *s)
{
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	Binding b = { .name = name };
	sigset_t mask;
	int r;

	r = client_connect(c);
	if (r != 0)
		return r;
	r = sd_event_default(&event);
	if (r < 0)
		return log_error_errno(r, "Failed to create the event loop: %m");
	b.event = event;

	/* Blocked before the call, so that Ctrl-C during it ends the loop at once, not us. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(-errno, "Failed to block SIGINT and SIGTERM: %m");
	r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL);
	if (r >= 0)
		r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL);
	if (r < 0)
		return log_error_errno(r, "Failed to watch SIGINT and SIGTERM: %m");

	r = sd_bus_match_signal(c->bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, "Finished", on_bound_finished, &b);
	if (r < 0)
		return client_report_bus_error(c, NULL, r);
	r = client_attach_event(c, event);
	if (r < 0)
		return r;

	r = start_with_options(c, name, text, s, &b.reply_cookie);
	if (r != 0)
		return r;

	r = sd_event_loop(event);
	client_report_gone(c);
	/* Gone from the bus, the program is stopped: do it now, not whenever main() returns. */
	c->bus = sd_bus_flush_close_unref(c->bus);
	return r;
}

static int start_or_replace(int argc, char **argv, Client *c, bool replace, const char *help)
{
	_cleanup_(freep) char *text = NULL;
	ProgramOptions o = { .lines_kind = -1 };
	StartOptions s = {};
	const char *name;
	int r, status;

	if (parse_program_options(argc, argv, c, help, &o, &s, &status))
		return status;

	r = program_options_build(&o, &name, &text);
	if (r != 0)
		return r;

	r = program_text_check_on_daemon(c, text);
	if (r != 0)
		return r;

	if (s.given == 0)
		return client_call(c, replace ? "Replace" : "Start", NULL, "ss", name, text);
	/* With options, the replace verb is the option "replace" (a row: this cannot fail). */
	if (replace)
		(void)start_options_set_bool(&start_option_table, &s, "replace", true);
	if (s.bind)
		return start_bound(c, name, text, &s);
	return start_with_options(c, name, text, &s, NULL);
}

int verb_start(int argc, char **argv, Client *c)
{
	return start_or_replace(argc, argv, c, false, start_help);
}

int verb_replace(int argc, char **argv, Client *c)
{
	return start_or_replace(argc, argv, c, true, replace_help);
}

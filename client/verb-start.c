/* SPDX-License-Identifier: MIT */
/*
 * start and replace: build or read a program, check it against the daemon's
 * layout with the daemon's parser, and hand it over with Start() or
 * Replace().
 */
#include <getopt.h>
#include <stdio.h>

#include "client.h"
#include "log.h"
#include "program-source.h"
#include "program.h"

#define PROGRAM_OPTIONS_HELP                                                                       \
	"\n"                                                                                       \
	"KIND is blink, cycle or on; the program is built from the options below\n"               \
	"and runs under the name of the kind. Any other word is the name of a\n"                  \
	"definition, started as {\"call\": NAME}. With --program or --file the whole\n"           \
	"program is given, and the word is the name it runs under.\n"                             \
	"\n"                                                                                       \
	"Program options:\n"                                                                       \
	"      --row N              the lines of row N of the daemon's matrix\n"                   \
	"      --col N              the lines of column N\n"                                       \
	"      --lines LINE,...     lines by offset or by name: --lines 11,10,GPIO27\n"            \
	"      --all                every line of the matrix\n"                                    \
	"      --interval DURATION  blink, cycle: the interval (default 0.5s)\n"                   \
	"      --times N            blink: on-off cycles; cycle: rounds (default forever)\n"       \
	"      --for DURATION       on: switch off after DURATION and end (default never)\n"       \
	"      --name NAME          run under NAME instead of the kind or definition name\n"       \
	"      --program JSON       the whole program as JSON text\n"                              \
	"      --file FILE|-        the whole program from FILE, or from stdin for -\n"            \
	"\n"                                                                                       \
	"DURATION is seconds (0.25) or a number with a unit: 200us, 250ms, 1.5s, 2m.\n"           \
	"\n"                                                                                       \
	"Exit status: 0 started, 1 FILE cannot be read, 2 bad usage, 3 daemon not\n"             \
	"reachable, 4 invalid program or name, 5 definition not defined, 6 name\n"                \
	"already running (start) or too many programs running.\n"

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
};

static int parse_program_options(int argc, char **argv, Client *c, const char *help,
				 ProgramOptions *o, int *ret_exit)
{
	static const struct option options[] = {
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
		{},
	};
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0) {
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

static int start_or_replace(int argc, char **argv, Client *c, const char *method,
			    const char *help)
{
	_cleanup_(freep) char *text = NULL;
	ProgramOptions o = { .lines_kind = -1 };
	const char *name;
	int r, status;

	if (parse_program_options(argc, argv, c, help, &o, &status))
		return status;

	r = program_options_build(&o, &name, &text);
	if (r != 0)
		return r;

	r = program_text_check_on_daemon(c, text);
	if (r != 0)
		return r;

	return client_call(c, method, NULL, "ss", name, text);
}

int verb_start(int argc, char **argv, Client *c)
{
	return start_or_replace(argc, argv, c, "Start", start_help);
}

int verb_replace(int argc, char **argv, Client *c)
{
	return start_or_replace(argc, argv, c, "Replace", replace_help);
}

/* SPDX-License-Identifier: MIT */
/*
 * validate: check a program locally, with the daemon's own parser and the
 * default 5x5 layout, and print its canonical form, as JSON or, with --text,
 * in the text form. No bus involved.
 */
#include <getopt.h>
#include <stdio.h>

#include "client.h"
#include "log.h"
#include "program-source.h"
#include "program.h"

static const char validate_help[] =
	"Usage: blinkd-client validate --program PROGRAM [--text]\n"
	"       blinkd-client validate --file FILE|- [--text]\n"
	"\n"
	"Check a program locally, with the daemon's parser, without talking to the\n"
	"daemon, and print its canonical form. Rows, columns and offsets are those\n"
	"of the default 5x5 matrix; line names are not checked against a chip.\n"
	"\n"
	"      --program PROGRAM  the program, as JSON or in the text form\n"
	"      --file FILE|-      the program from FILE, or from stdin for -\n"
	"      --text             print it in the text form instead of as JSON\n"
	"\n"
	"Exit status: 0 valid, 1 FILE cannot be read, 2 bad usage, 4 invalid.\n";

enum {
	OPTION_PROGRAM = CLIENT_OPTION_VERB_FIRST,
	OPTION_FILE,
	OPTION_TEXT,
};

int verb_validate(int argc, char **argv, Client *c)
{
	static const struct option options[] = {
		{ "program", required_argument, NULL, OPTION_PROGRAM },
		{ "file", required_argument, NULL, OPTION_FILE },
		{ "text", no_argument, NULL, OPTION_TEXT },
		CLIENT_COMMON_OPTIONS,
		{},
	};
	_cleanup_(layout_freep) Layout *layout = NULL;
	_cleanup_(freep) char *text = NULL, *canonical = NULL;
	const char *program = NULL, *file = NULL;
	bool text_form = false;
	int opt, r, status;

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0) {
		switch (opt) {
		case OPTION_PROGRAM:
			program = optarg;
			break;
		case OPTION_FILE:
			file = optarg;
			break;
		case OPTION_TEXT:
			text_form = true;
			break;
		default:
			if (client_parse_common_option(c, opt, optarg, validate_help, &status))
				return status;
		}
	}
	if (optind < argc)
		return client_usage_error("Unexpected argument \"%s\".", argv[optind]);
	if (!program == !file)
		return client_usage_error(
			"validate needs the program: --program PROGRAM or --file FILE.");

	r = program_text_read(program, file, &text);
	if (r != 0)
		return r;
	r = layout_new_default(&layout);
	if (r < 0)
		return log_error_errno(r, "Failed to build the default layout: %m");
	r = program_text_check(text, layout, PROGRAM_PARSE_NAMES_UNCHECKED, text_form, &canonical);
	if (r != 0)
		return r;

	puts(canonical);
	return 0;
}

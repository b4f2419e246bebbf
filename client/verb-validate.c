/* SPDX-License-Identifier: MIT */
/*
 * validate: check a program locally, with the daemon's own parser and the
 * default 5x5 layout, and print its canonical form. No bus involved.
 */
#include <getopt.h>
#include <stdio.h>

#include "client.h"
#include "log.h"
#include "program-source.h"
#include "program.h"

static const char validate_help[] =
	"Usage: blinkd-client validate --program JSON\n"
	"       blinkd-client validate --file FILE|-\n"
	"\n"
	"Check a program locally, with the daemon's parser, without talking to the\n"
	"daemon, and print its canonical form. Rows, columns and offsets are those\n"
	"of the default 5x5 matrix; line names are not checked against a chip.\n"
	"\n"
	"      --program JSON   the program as JSON text\n"
	"      --file FILE|-    the program from FILE, or from stdin for -\n"
	"\n"
	"Exit status: 0 valid, 1 FILE cannot be read, 2 bad usage, 4 invalid.\n";

int verb_validate(int argc, char **argv, Client *c)
{
	_cleanup_(layout_freep) Layout *layout = NULL;
	_cleanup_(freep) char *text = NULL, *canonical = NULL;
	const char *program, *file;
	int r, status;

	if (program_source_parse(argc, argv, c, validate_help, &program, &file, &status))
		return status;
	if (optind < argc)
		return client_usage_error("Unexpected argument \"%s\".", argv[optind]);
	if (!program == !file)
		return client_usage_error("validate needs the program: --program JSON or --file FILE.");

	r = program_text_read(program, file, &text);
	if (r != 0)
		return r;
	r = layout_new_default(&layout);
	if (r < 0)
		return log_error_errno(r, "Failed to build the default layout: %m");
	r = program_text_check(text, layout, PROGRAM_PARSE_NAMES_UNCHECKED, &canonical);
	if (r != 0)
		return r;

	puts(canonical);
	return 0;
}

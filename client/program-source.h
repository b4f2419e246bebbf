/* SPDX-License-Identifier: MIT */
/*
 * Where the client's programs come from: program text, in either form of the
 * language (JSON, or the text form: blinkd-programs(7)), given with
 * --program, read with --file (or "-" for stdin), or built from the options
 * of start and replace (blink, cycle, on, or the name of a definition).
 * Every program is checked with the daemon's own parser before it is sent,
 * and sent as it was written.
 */
#pragma once

#include <stdbool.h>

#include "client.h"
#include "layout.h"

/* The program options of start and replace, as given. */
typedef struct ProgramOptions {
	const char *word;    /* KIND, or the name of a definition; with --program the name */
	const char *name;    /* --name */
	const char *program; /* --program, JSON or the text form */
	const char *file;    /* --file */

	unsigned n_selections; /* how many of --row, --col, --lines, --all were given */
	int lines_kind;	       /* LinesKind of the last one */
	const char *lines;     /* --row/--col N, --lines LIST */

	const char *interval; /* --interval */
	const char *times;    /* --times */
	const char *duration; /* --for */
} ProgramOptions;

/*
 * program_options_build() - the name and the program text that @o describe.
 * @ret_name: the name to run it under (points into @o)
 * @ret_text: the program, malloc'ed: built as JSON, or as --program or --file gave it
 *
 * Returns 0, EXIT_STATUS_USAGE or EXIT_STATUS_INVALID after saying why, or a
 * negative errno.
 */
int program_options_build(const ProgramOptions *o, const char **ret_name, char **ret_text);

/*
 * program_text_read() - the text of --program @program or --file @file.
 * Exactly one of them is set; @file "-" reads standard input.
 * Returns 0, EXIT_STATUS_INVALID, or a negative errno (reported).
 */
int program_text_read(const char *program, const char *file, char **ret);

/*
 * program_text_check() - parse @text, in either form, with the daemon's parser.
 * @layout: resolves rows, columns and offsets
 * @flags: ProgramParseFlags
 * @text_form: the canonical text in the text form, not as JSON
 * @ret_canonical: if not NULL, the canonical text
 *
 * Returns 0, EXIT_STATUS_INVALID after printing the place and the rule, or a
 * negative errno.
 */
int program_text_check(const char *text, const Layout *layout, unsigned flags, bool text_form,
		       char **ret_canonical);

/*
 * program_text_check_on_daemon() - program_text_check() against the
 * daemon's layout, so that rows and columns are the daemon's, not the
 * default matrix's. Line names are left to the daemon.
 */
int program_text_check_on_daemon(Client *c, const char *text);

/*
 * program_source_parse() - the options of a verb whose program comes only
 * from --program PROGRAM or --file FILE, and the common options. Which of the
 * two was given is the verb's to check (NULL when absent); positional
 * arguments are left from optind on.
 *
 * Returns true when the verb is done: *ret_status is its exit status (help
 * shown, or bad usage reported).
 */
bool program_source_parse(int argc, char **argv, Client *c, const char *help,
			  const char **ret_program, const char **ret_file, int *ret_status);

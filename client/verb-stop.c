/* SPDX-License-Identifier: MIT */
/*
 * stop and off: end running programs. Their lines go off unless another
 * program holds them.
 */
#include <getopt.h>
#include <stdio.h>

#include "client.h"
#include "log.h"

static const char stop_help[] =
	"Usage: blinkd-client stop NAME...\n"
	"       blinkd-client stop --all\n"
	"\n"
	"Stop the named programs, or with --all every program. Their lines go off\n"
	"unless another program holds them.\n"
	"\n"
	"      --all    stop every program\n"
	"\n"
	"Exit status: 0 stopped, 2 bad usage, 3 daemon not reachable, 5 a program\n"
	"was not running (the others are stopped all the same).\n";

static const char off_help[] =
	"Usage: blinkd-client off\n"
	"\n"
	"Stop every program: every line goes off.\n"
	"\n"
	"Exit status: 0 done, 2 bad usage, 3 daemon not reachable.\n";

enum {
	OPTION_ALL = CLIENT_OPTION_VERB_FIRST,
};

int verb_stop(int argc, char **argv, Client *c)
{
	static const struct option options[] = {
		{ "all", no_argument, NULL, OPTION_ALL },
		CLIENT_COMMON_OPTIONS,
		{},
	};
	bool all = false;
	int opt, status = EXIT_STATUS_OK;

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0) {
		switch (opt) {
		case OPTION_ALL:
			all = true;
			break;
		default:
			if (client_parse_common_option(c, opt, optarg, stop_help, &status))
				return status;
		}
	}

	if (all) {
		if (optind < argc)
			return client_usage_error("stop takes names or --all, not both.");
		return client_call(c, "StopAll", NULL, NULL);
	}
	if (optind >= argc)
		return client_usage_error("stop needs the names of programs, or --all.");

	/* Stop what can be stopped; the first failure decides the exit status. */
	for (int i = optind; i < argc; i++) {
		int r = client_call(c, "Stop", NULL, "s", argv[i]);

		if (r < 0 || r == EXIT_STATUS_UNREACHABLE)
			return r;
		if (r != 0 && status == EXIT_STATUS_OK)
			status = r;
	}
	return status;
}

int verb_off(int argc, char **argv, Client *c)
{
	static const struct option options[] = {
		CLIENT_COMMON_OPTIONS,
		{},
	};
	int opt, status;

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0)
		if (client_parse_common_option(c, opt, optarg, off_help, &status))
			return status;
	if (optind < argc)
		return client_usage_error("off takes no arguments.");

	return client_call(c, "StopAll", NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * blinkd-client: drive blinkd over D-Bus. The options before the verb, the
 * verb table, and main(); each verb lives in its group's file.
 */
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "log.h"

static const Verb verbs[] = {
	{ "start", verb_start, "start a program: KIND|NAME [OPTIONS]" },
	{ "replace", verb_replace, "start it, replacing a running one of the same name" },
	{ "stop", verb_stop, "stop programs: NAME... | --all" },
	{ "off", verb_off, "stop everything" },
	{ "list", verb_list, "the running programs: name, age, lines, program" },
	{ "define", verb_define, "define a program: NAME (--program PROGRAM | --file FILE|-)" },
	{ "undefine", verb_undefine, "remove a definition: NAME" },
	{ "definitions", verb_definitions, "the known definitions" },
	{ "wait", verb_wait, "block until programs end: NAME..." },
	{ "watch", verb_watch, "the matrix, live; --once: the current state" },
	{ "validate", verb_validate,
	  "check a program locally: --program PROGRAM | --file FILE|- [--text]" },
};

static void print_help(FILE *f)
{
	fputs("Usage: blinkd-client [OPTIONS] VERB [ARGUMENTS]\n"
	      "\n"
	      "Start, stop and watch the blink programs of blinkd over D-Bus.\n"
	      "\n"
	      "Options (before or after the verb):\n"
	      "      --user              the daemon on the session bus, not the system bus\n"
	      "  -H, --host [USER@]HOST  the daemon on the system bus of HOST, over ssh\n"
	      "      --json              JSON output for list, definitions and watch --once\n"
	      "      --no-ask-password   do not ask for a password to authorize a call\n"
	      "  -h, --help              this help; VERB --help: the help of a verb\n"
	      "      --version           the version\n"
	      "\n"
	      "Verbs:\n",
	      f);
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		fprintf(f, "  %-12s  %s\n", verbs[i].name, verbs[i].help);
	fputs("\n"
	      "Exit status:\n"
	      "  0  success\n"
	      "  1  failure: wait saw a program that did not end \"done\", or another error\n"
	      "  2  bad usage\n"
	      "  3  the daemon is not reachable: no bus, or no daemon on it\n"
	      "  4  invalid program, name or start options\n"
	      "  5  not running, or not defined\n"
	      "  6  the name is running or defined already, or too many programs run\n"
	      "  7  start --bind: the program was stopped\n"
	      "  8  start --bind: the program was replaced\n"
	      "  9  start --bind: the program failed\n"
	      "  128+N  start --bind: interrupted by signal N (130 Ctrl-C, 143 SIGTERM)\n",
	      f);
}

static const Verb *verb_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (streq(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static int run(int argc, char **argv, Client *c)
{
	static const struct option options[] = {
		CLIENT_COMMON_OPTIONS,
		{},
	};
	static char verb_argv0[64];
	const Verb *verb;
	int opt, status;

	/* "+": stop at the verb; what follows it is the verb's to parse. */
	while ((opt = getopt_long(argc, argv, "+" CLIENT_COMMON_SHORT, options, NULL)) >= 0) {
		if (opt == 'h') {
			print_help(stdout);
			return EXIT_STATUS_OK;
		}
		if (client_parse_common_option(c, opt, optarg, "", &status))
			return status;
	}
	if (optind >= argc) {
		print_help(stderr);
		return EXIT_STATUS_USAGE;
	}

	verb = verb_find(argv[optind]);
	if (!verb)
		return client_usage_error("Unknown verb \"%s\".", argv[optind]);

	/* getopt_long() names argv[0] in its messages: make it say which verb. */
	snprintf(verb_argv0, sizeof(verb_argv0), "blinkd-client %s", verb->name);
	argv[optind] = verb_argv0;
	return verb->function(argc - optind, argv + optind, c);
}

int main(int argc, char **argv)
{
	Client c = {
		.transport = BUS_TRANSPORT_SYSTEM,
		.ask_password = true,
	};
	int r;

	/* The character set only: numbers and messages stay as they are. */
	setlocale(LC_CTYPE, "");
	c.utf8 = streq(nl_langinfo(CODESET), "UTF-8");

	log_set_ident("blinkd-client");
	log_set_prefix(false);
	argv[0] = (char *)"blinkd-client";

	r = run(argc, argv, &c);
	c.bus = sd_bus_flush_close_unref(c.bus);
	return r < 0 ? EXIT_STATUS_FAILURE : r;
}

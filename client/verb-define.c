/* SPDX-License-Identifier: MIT */
/*
 * define, undefine and definitions: the named programs that "call" and
 * "start NAME" refer to.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "json-util.h"
#include "log.h"
#include "program-source.h"
#include "program.h"

static const char define_help[] =
	"Usage: blinkd-client define NAME --program PROGRAM\n"
	"       blinkd-client define NAME --file FILE|-\n"
	"\n"
	"Define a program under NAME, to be started with \"start NAME\" or called\n"
	"from other programs with call(NAME). It lives until the daemon exits.\n"
	"Defining a name again replaces its definition; running programs keep the\n"
	"one they started with.\n"
	"\n"
	"      --program PROGRAM  the program, as JSON or in the text form:\n"
	"                         'forever(blink(row 0, 500ms))'\n"
	"      --file FILE|-      the program from FILE, or from stdin for -\n"
	"\n"
	"Exit status: 0 defined, 1 FILE cannot be read, 2 bad usage, 3 daemon not\n"
	"reachable, 4 invalid program or name.\n";

static const char undefine_help[] =
	"Usage: blinkd-client undefine NAME\n"
	"\n"
	"Remove a definition. One from the daemon's configuration is back when the\n"
	"daemon restarts.\n"
	"\n"
	"Exit status: 0 removed, 2 bad usage, 3 daemon not reachable, 5 not defined.\n";

static const char definitions_help[] =
	"Usage: blinkd-client definitions [--json]\n"
	"\n"
	"The known definitions, from the daemon's configuration and from define:\n"
	"NAME and PROGRAM (canonical text).\n"
	"\n"
	"      --json   an array of {\"name\", \"program\"} objects\n"
	"\n"
	"Exit status: 0 listed, 2 bad usage, 3 daemon not reachable.\n";

int verb_define(int argc, char **argv, Client *c)
{
	_cleanup_(freep) char *text = NULL;
	const char *program, *file, *name;
	int r, status;

	if (program_source_parse(argc, argv, c, define_help, &program, &file, &status))
		return status;
	if (optind >= argc)
		return client_usage_error("define needs a NAME.");
	if (optind + 1 < argc)
		return client_usage_error("Unexpected argument \"%s\".", argv[optind + 1]);
	if (!program == !file)
		return client_usage_error(
			"define needs the program: --program PROGRAM or --file FILE.");
	name = argv[optind];
	if (!program_name_is_valid(name)) {
		log_error("Invalid name \"%s\": names are 1-64 of A-Z a-z 0-9 _ . -", name);
		return EXIT_STATUS_INVALID;
	}

	r = program_text_read(program, file, &text);
	if (r != 0)
		return r;
	r = program_text_check_on_daemon(c, text);
	if (r != 0)
		return r;

	return client_call(c, "Define", NULL, "ss", name, text);
}

int verb_undefine(int argc, char **argv, Client *c)
{
	static const struct option options[] = {
		CLIENT_COMMON_OPTIONS,
		{},
	};
	int opt, status;

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0)
		if (client_parse_common_option(c, opt, optarg, undefine_help, &status))
			return status;
	if (optind >= argc)
		return client_usage_error("undefine needs a NAME.");
	if (optind + 1 < argc)
		return client_usage_error("Unexpected argument \"%s\".", argv[optind + 1]);

	return client_call(c, "Undefine", NULL, "s", argv[optind]);
}

int verb_definitions(int argc, char **argv, Client *c)
{
	static const struct option options[] = {
		CLIENT_COMMON_OPTIONS,
		{},
	};
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(json_object_putp) json_object *array = NULL;
	const char *name, *program;
	int opt, r, status, width = 4;

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0)
		if (client_parse_common_option(c, opt, optarg, definitions_help, &status))
			return status;
	if (optind < argc)
		return client_usage_error("definitions takes no arguments.");

	r = client_call(c, "ListDefinitions", &reply, NULL);
	if (r != 0)
		return r;

	/* Two passes over the reply: the first measures the NAME column. */
	r = sd_bus_message_enter_container(reply, 'a', "(ss)");
	if (r < 0)
		goto bad_message;
	while ((r = sd_bus_message_read(reply, "(ss)", &name, &program)) > 0)
		if ((int)strlen(name) > width)
			width = (int)strlen(name);
	if (r < 0)
		goto bad_message;
	r = sd_bus_message_rewind(reply, true);
	if (r < 0)
		goto bad_message;
	r = sd_bus_message_enter_container(reply, 'a', "(ss)");
	if (r < 0)
		goto bad_message;

	if (c->json) {
		array = json_object_new_array();
		if (!array)
			return log_oom();
	} else
		printf("%-*s  %s\n", width, "NAME", "PROGRAM");

	while ((r = sd_bus_message_read(reply, "(ss)", &name, &program)) > 0) {
		json_object *o, *p;

		if (!c->json) {
			printf("%-*s  %s\n", width, name, program);
			continue;
		}
		o = json_object_new_object();
		p = json_tokener_parse(program);
		if (!p)
			p = json_object_new_string(program);
		if (!o || json_object_array_add(array, o) < 0) {
			json_object_put(o);
			json_object_put(p);
			return log_oom();
		}
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "program", p);
	}
	if (r < 0)
		goto bad_message;

	if (c->json)
		client_print_json(array);
	return 0;

bad_message:
	return log_error_errno(r, "Failed to read the reply of ListDefinitions(): %m");
}

/* SPDX-License-Identifier: MIT */
/*
 * wait: block until the named programs have ended.
 *
 * The match on Finished is installed before List() is asked which names
 * run, so that no ending falls between the two. Signals the daemon sent
 * before its List() reply describe endings List() already reflects (an
 * earlier program of the same name that was replaced, say): their serial is
 * lower than the reply's, and they are ignored.
 */
#include <getopt.h>
#include <stdio.h>

#include "client.h"
#include "log.h"

static const char wait_help[] =
	"Usage: blinkd-client wait NAME...\n"
	"\n"
	"Block until all the named programs have ended.\n"
	"\n"
	"Exit status: 0 every one ended by itself (\"done\"), 1 one was stopped,\n"
	"replaced or failed, 2 bad usage, 3 daemon not reachable, 5 a program was\n"
	"not running when wait started.\n";

typedef struct Waiter {
	sd_event *event;
	char **pending;	      /* names that have not ended yet */
	uint64_t list_cookie; /* the serial of List()'s reply */
	bool failed;	      /* one ended other than "done" */
} Waiter;

static int on_finished(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Waiter *w = userdata;
	const char *name, *result;
	uint64_t cookie;
	int r;

	if (sd_bus_message_get_cookie(m, &cookie) >= 0 && cookie < w->list_cookie)
		return 0;
	r = sd_bus_message_read(m, "ss", &name, &result);
	if (r < 0) {
		log_warning_errno(r, "Ignoring a Finished signal that does not parse: %m");
		return 0;
	}
	if (!strv_contains(w->pending, name))
		return 0;

	strv_remove(w->pending, name);
	if (!streq(result, "done")) {
		log_error("%s ended \"%s\", not \"done\".", name, result);
		w->failed = true;
	}
	if (strv_length(w->pending) == 0)
		return sd_event_exit(w->event, w->failed ? EXIT_STATUS_FAILURE : EXIT_STATUS_OK);
	return 0;
}

int verb_wait(int argc, char **argv, Client *c)
{
	static const struct option options[] = {
		CLIENT_COMMON_OPTIONS,
		{},
	};
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	_cleanup_(strv_freep) char **running = NULL, **pending = NULL;
	Waiter w = {};
	int opt, r, status = EXIT_STATUS_OK;

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0)
		if (client_parse_common_option(c, opt, optarg, wait_help, &status))
			return status;
	if (optind >= argc)
		return client_usage_error("wait needs the names of programs.");

	r = client_connect(c);
	if (r != 0)
		return r;
	r = sd_event_default(&event);
	if (r < 0)
		return log_error_errno(r, "Failed to create the event loop: %m");
	w.event = event;

	r = sd_bus_match_signal(c->bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, "Finished", on_finished, &w);
	if (r < 0)
		return client_report_bus_error(c, NULL, r);
	r = client_attach_event(c, event);
	if (r < 0)
		return r;

	r = client_list_names(c, &running, &w.list_cookie);
	if (r != 0)
		return r;
	for (int i = optind; i < argc; i++) {
		if (!strv_contains(running, argv[i])) {
			log_error("%s is not running.", argv[i]);
			status = EXIT_STATUS_NOT_FOUND;
		} else if (!strv_contains(pending, argv[i]) && strv_extend(&pending, argv[i]) < 0)
			return log_oom();
	}
	if (status != EXIT_STATUS_OK)
		return status;

	w.pending = pending;
	r = sd_event_loop(event);
	client_report_gone(c);
	return r;
}

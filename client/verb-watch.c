/* SPDX-License-Identifier: MIT */
/*
 * watch: the matrix, live. On a terminal it is drawn on the alternate
 * screen and redrawn in place on every Frame signal, with the running
 * programs below it; Ctrl-C, SIGTERM or "q" give the terminal back as it
 * was. Without a terminal, one line per frame: "<monotonic usec> <lit
 * offsets, comma-separated, or ->". With --once, the current state, as text
 * or JSON, and no loop.
 */
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "json-util.h"
#include "log.h"

static const char watch_help[] =
	"Usage: blinkd-client watch [--once] [--json]\n"
	"\n"
	"Draw the daemon's matrix in the terminal, lit and dark cells in its rows\n"
	"and columns, redrawn in place whenever a line changes, with the names of\n"
	"the running programs below it. Ctrl-C or q quits and leaves the terminal\n"
	"as it was. When standard output is not a terminal, print one line per\n"
	"change instead: the daemon's CLOCK_MONOTONIC time in microseconds and the\n"
	"lit offsets, comma-separated (\"-\" for none).\n"
	"\n"
	"      --once   print the current state and exit\n"
	"      --json   with --once: {\"rows\" (the matrix of offsets), \"lit\",\n"
	"               \"programs\" (the names of the running programs)}\n"
	"\n"
	"Exit status: 0 done, 2 bad usage, 3 daemon not reachable or gone.\n";

#define ANSI_HOME "\033[H"
#define ANSI_CLEAR_LINE "\033[K"
#define ANSI_CLEAR_BELOW "\033[J"
#define ANSI_ALTERNATE_SCREEN "\033[?1049h"
#define ANSI_NORMAL_SCREEN "\033[?1049l"
#define ANSI_HIDE_CURSOR "\033[?25l"
#define ANSI_SHOW_CURSOR "\033[?25h"

typedef struct Watch {
	Client *client;
	sd_event *event;
	Layout *layout;
	char *chip;
	bool *lit;	      /* by position in layout->lines */
	uint64_t lit_cookie;  /* Frames older than the Lit reply are stale */
	char **names;	      /* running programs, sorted */
	bool listing;	      /* a List() call is on its way */
	bool list_again;      /* and the programs changed since it left */
	bool tty;
	bool screen_taken;    /* the alternate screen is on, the cursor hidden */
	bool termios_changed; /* echo and line buffering are off */
	struct termios saved_termios;
} Watch;

/* Undo watch_take_terminal(); safe to call twice. */
static void watch_give_back_terminal(Watch *w)
{
	if (w->screen_taken) {
		fputs(ANSI_SHOW_CURSOR ANSI_NORMAL_SCREEN, stdout);
		fflush(stdout);
		w->screen_taken = false;
	}
	if (w->termios_changed) {
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &w->saved_termios);
		w->termios_changed = false;
	}
}

static void watch_done(Watch *w)
{
	watch_give_back_terminal(w);
	layout_free(w->layout);
	free(w->chip);
	free(w->lit);
	strv_free(w->names);
	sd_event_unref(w->event);
}

/* The "au" of Lit or of a Frame, into w->lit. */
static int watch_read_lit(Watch *w, sd_bus_message *m)
{
	unsigned offset;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "u");
	if (r < 0)
		return r;
	memset(w->lit, 0, w->layout->n_lines * sizeof(bool));
	while ((r = sd_bus_message_read_basic(m, 'u', &offset)) > 0) {
		int i = layout_index_of(w->layout, offset);
		if (i >= 0)
			w->lit[i] = true;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static void watch_render(const Watch *w, FILE *f, const char *eol)
{
	const Layout *l = w->layout;
	const char *on = w->client->utf8 ? "\u25cf" : "#";
	const char *off = w->client->utf8 ? "\u00b7" : ".";

	for (unsigned row = 0; row < l->n_rows; row++) {
		fputs(w->tty ? "  " : "", f);
		for (unsigned col = 0; col < l->n_cols; col++) {
			int i = layout_index_of(l, l->matrix[row * l->n_cols + col]);
			fprintf(f, "%s%s", col ? " " : "", i >= 0 && w->lit[i] ? on : off);
		}
		fputs(eol, f);
	}
	fputs(eol, f);
	fputs("running:", f);
	if (strv_length(w->names) == 0)
		fputs(" nothing", f);
	for (char **n = w->names; n && *n; n++)
		fprintf(f, "%s %s", n == w->names ? "" : ",", *n);
	fputs(eol, f);
}

/* Redraw the whole screen in one write, so that it never flickers. */
static void watch_draw(Watch *w)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return;
	fputs(ANSI_HOME, f);
	fprintf(f, "blinkd: %s, %ux%u lines (Ctrl-C quits)%s\n", w->chip, w->layout->n_rows,
		w->layout->n_cols, ANSI_CLEAR_LINE);
	fputs(ANSI_CLEAR_LINE "\n", f);
	watch_render(w, f, ANSI_CLEAR_LINE "\n");
	fputs(ANSI_CLEAR_BELOW, f);
	if (fclose(f) == 0) {
		fwrite(buf, 1, size, stdout);
		fflush(stdout);
	}
	free(buf);
}

static int on_frame(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Watch *w = userdata;
	uint64_t cookie, usec;
	unsigned offset;
	bool first = true;
	int r;

	if (sd_bus_message_get_cookie(m, &cookie) >= 0 && cookie < w->lit_cookie)
		return 0;
	r = sd_bus_message_read_basic(m, 't', &usec);
	if (r < 0)
		goto bad_message;

	if (w->tty) {
		r = watch_read_lit(w, m);
		if (r < 0)
			goto bad_message;
		watch_draw(w);
		return 0;
	}

	r = sd_bus_message_enter_container(m, 'a', "u");
	if (r < 0)
		goto bad_message;
	printf("%" PRIu64 " ", usec);
	while ((r = sd_bus_message_read_basic(m, 'u', &offset)) > 0) {
		printf("%s%u", first ? "" : ",", offset);
		first = false;
	}
	printf("%s\n", first ? "-" : "");
	fflush(stdout);
	return 0;

bad_message:
	log_warning_errno(r, "Ignoring a Frame signal that does not parse: %m");
	return 0;
}

static int on_list_reply(sd_bus_message *m, void *userdata, sd_bus_error *error);

static int watch_list_programs(Watch *w)
{
	int r;

	if (w->listing) {
		w->list_again = true;
		return 0;
	}
	r = sd_bus_call_method_async(w->client->bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				     BLINKD_MANAGER_INTERFACE, "List", on_list_reply, w, NULL);
	if (r < 0)
		return log_warning_errno(r, "Failed to ask for the running programs: %m");
	w->listing = true;
	w->list_again = false;
	return 0;
}

static int on_list_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Watch *w = userdata;
	_cleanup_(strv_freep) char **names = NULL;
	const char *name, *program;
	int r;

	w->listing = false;
	if (w->list_again)
		return watch_list_programs(w);
	if (sd_bus_message_is_method_error(m, NULL))
		return 0;

	r = sd_bus_message_enter_container(m, 'a', "(ss)");
	if (r < 0)
		return 0;
	while ((r = sd_bus_message_read(m, "(ss)", &name, &program)) > 0)
		if (strv_extend(&names, name) < 0)
			return log_oom();
	if (r < 0)
		return 0;
	strv_sort(names);
	strv_free(w->names);
	w->names = TAKE_PTR(names);
	watch_draw(w);
	return 0;
}

static int on_programs_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return watch_list_programs(userdata);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Watch *w = userdata;

	if (si->ssi_signo == SIGWINCH) {
		watch_draw(w);
		return 0;
	}
	return sd_event_exit(w->event, EXIT_STATUS_OK);
}

static int on_key(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Watch *w = userdata;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		/* End of input: nothing more to read, keep drawing. */
		return sd_event_source_set_enabled(s, SD_EVENT_OFF);
	}
	if (memchr(buf, 'q', (size_t)n) || memchr(buf, 'Q', (size_t)n))
		return sd_event_exit(w->event, EXIT_STATUS_OK);
	return 0;
}

static int watch_get_lit(Watch *w)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_get_property(w->client->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, "Lit", &error, &reply, "au");
	if (r < 0)
		return client_report_bus_error(w->client, &error, r);
	r = watch_read_lit(w, reply);
	if (r < 0)
		return log_error_errno(r, "Failed to read the Lit property: %m");
	r = sd_bus_message_get_cookie(reply, &w->lit_cookie);
	if (r < 0)
		return log_error_errno(r, "Failed to get the serial of a reply: %m");
	return 0;
}

static int watch_get_chip(Watch *w)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_get_property_string(w->client->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				       BLINKD_MANAGER_INTERFACE, "Chip", &error, &w->chip);
	if (r < 0)
		return client_report_bus_error(w->client, &error, r);
	return 0;
}

static int watch_print_once(Watch *w)
{
	_cleanup_(json_object_putp) json_object *root = NULL;
	json_object *rows, *lit, *programs;
	const Layout *l = w->layout;

	if (!w->client->json) {
		watch_render(w, stdout, "\n");
		return 0;
	}

	root = json_object_new_object();
	rows = json_object_new_array();
	lit = json_object_new_array();
	programs = json_object_new_array();
	if (!root || json_object_object_add(root, "rows", rows) < 0 ||
	    json_object_object_add(root, "lit", lit) < 0 ||
	    json_object_object_add(root, "programs", programs) < 0) {
		json_object_put(rows);
		json_object_put(lit);
		json_object_put(programs);
		return log_oom();
	}
	for (unsigned row = 0; row < l->n_rows; row++) {
		json_object *a = json_object_new_array();

		if (!a || json_object_array_add(rows, a) < 0)
			return json_object_put(a), log_oom();
		for (unsigned col = 0; col < l->n_cols; col++)
			json_object_array_add(
				a, json_object_new_int64(l->matrix[row * l->n_cols + col]));
	}
	for (size_t i = 0; i < l->n_lines; i++)
		if (w->lit[i])
			json_object_array_add(lit, json_object_new_int64(l->lines[i]));
	for (char **n = w->names; n && *n; n++)
		json_object_array_add(programs, json_object_new_string(*n));
	client_print_json(root);
	return 0;
}

/* Echo and line buffering off (so "q" arrives at once), the alternate screen on. */
static void watch_take_terminal(Watch *w)
{
	struct termios t;

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &w->saved_termios) == 0) {
		t = w->saved_termios;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
			w->termios_changed = true;
	}
	fputs(ANSI_ALTERNATE_SCREEN ANSI_HIDE_CURSOR, stdout);
	fflush(stdout);
	w->screen_taken = true;
}

static int watch_live(Watch *w)
{
	int r;

	r = sd_event_default(&w->event);
	if (r < 0)
		return log_error_errno(r, "Failed to create the event loop: %m");

	/* Matches first, then Subscribe(), then the state: no change falls in between. */
	r = sd_bus_match_signal(w->client->bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, "Frame", on_frame, w);
	if (r < 0)
		return client_report_bus_error(w->client, NULL, r);
	if (w->tty) {
		static const char *const members[] = { "InterfacesAdded", "InterfacesRemoved" };

		r = sd_bus_match_signal(w->client->bus, NULL, BLINKD_BUS_NAME,
					BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Finished",
					on_programs_changed, w);
		for (size_t i = 0; r >= 0 && i < ELEMENTSOF(members); i++)
			r = sd_bus_match_signal(w->client->bus, NULL, BLINKD_BUS_NAME,
						BLINKD_OBJECT_PATH,
						"org.freedesktop.DBus.ObjectManager", members[i],
						on_programs_changed, w);
		if (r < 0)
			return client_report_bus_error(w->client, NULL, r);
	}
	r = client_attach_event(w->client, w->event);
	if (r < 0)
		return r;
	r = client_call(w->client, "Subscribe", NULL, NULL);
	if (r != 0)
		return r;

	if (w->tty) {
		r = watch_get_chip(w);
		if (r != 0)
			return r;
		r = watch_get_lit(w);
		if (r != 0)
			return r;
		r = client_list_names(w->client, &w->names, NULL);
		if (r != 0)
			return r;
	}

	r = sd_event_add_signal(w->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_signal, w);
	if (r >= 0)
		r = sd_event_add_signal(w->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK,
					on_signal, w);
	if (r >= 0 && w->tty)
		r = sd_event_add_signal(w->event, NULL, SIGWINCH | SD_EVENT_SIGNAL_PROCMASK,
					on_signal, w);
	if (r < 0)
		return log_error_errno(r, "Failed to handle signals: %m");

	if (w->tty) {
		watch_take_terminal(w);
		if (w->termios_changed) {
			r = sd_event_add_io(w->event, NULL, STDIN_FILENO, EPOLLIN, on_key, w);
			if (r < 0)
				return log_error_errno(r, "Failed to read the keyboard: %m");
		}
		watch_draw(w);
	}

	r = sd_event_loop(w->event);
	/* What is printed on the alternate screen vanishes with it: first leave it. */
	watch_give_back_terminal(w);
	client_report_gone(w->client);
	return r;
}

int verb_watch(int argc, char **argv, Client *c)
{
	enum {
		OPTION_ONCE = CLIENT_OPTION_VERB_FIRST,
	};
	static const struct option options[] = {
		{ "once", no_argument, NULL, OPTION_ONCE },
		CLIENT_COMMON_OPTIONS,
		{},
	};
	_cleanup_(watch_done) Watch w = { .client = c };
	bool once = false;
	int opt, r, status;

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0) {
		switch (opt) {
		case OPTION_ONCE:
			once = true;
			break;
		default:
			if (client_parse_common_option(c, opt, optarg, watch_help, &status))
				return status;
		}
	}
	if (optind < argc)
		return client_usage_error("watch takes no arguments.");
	if (c->json && !once)
		return client_usage_error("--json applies to watch --once only.");

	r = client_get_layout(c, &w.layout);
	if (r != 0)
		return r;
	w.lit = calloc(w.layout->n_lines, sizeof(bool));
	if (!w.lit)
		return log_oom();

	if (once) {
		r = watch_get_lit(&w);
		if (r != 0)
			return r;
		r = client_list_names(c, &w.names, NULL);
		if (r != 0)
			return r;
		return watch_print_once(&w);
	}

	w.tty = isatty(STDOUT_FILENO);
	return watch_live(&w);
}

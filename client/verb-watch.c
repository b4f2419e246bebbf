/* SPDX-License-Identifier: MIT */
/*
 * watch: the lines, live. On a terminal they are drawn on the alternate
 * screen and redrawn in place on every Frame signal, with the running
 * programs below them; Ctrl-C, SIGTERM or "q" give the terminal back as it
 * was. A layout with a matrix is drawn as the matrix, its other lines
 * listed below it; one without as a list, a line a row, with the chip each
 * is on and whether that chip is there. What is drawn is what the library's
 * remote blinkd (remote.h) keeps: levels, layout, chips and programs, each
 * followed as the daemon changes them. Without a terminal, one line per
 * frame: "<monotonic usec> <lit line numbers, comma-separated, or ->". With
 * --once, the current state, as text or JSON, and no loop.
 */
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "program.h"
#include "json-util.h"
#include "log.h"
#include "remote.h"

static const char watch_help[] =
	"Usage: blinkd-client watch [--once] [--json]\n"
	"\n"
	"Draw the daemon's lines in the terminal, redrawn in place whenever one\n"
	"changes, with the names of the running programs below them: its matrix as\n"
	"lit and dark cells in rows and columns, and lines without a matrix (or\n"
	"outside it) as a list: lit or dark, alias, chip and offset, and whether\n"
	"the chip is absent. Ctrl-C or q quits and leaves the terminal as it was.\n"
	"When standard output is not a terminal, print one line per change instead:\n"
	"the daemon's CLOCK_MONOTONIC time in microseconds and the numbers of the\n"
	"lit lines, comma-separated (\"-\" for none).\n"
	"\n"
	"      --once   print the current state and exit\n"
	"      --json   with --once: {\"rows\" (the matrix of line numbers), \"lit\",\n"
	"               \"programs\" (the names of the running programs), \"lines\"\n"
	"               (each line: number, ref, alias, chip, offset, present, lit)}\n"
	"\n"
	"Exit status: 0 done, 2 bad usage, 3 daemon not reachable or gone.\n";

#define ANSI_HOME "\033[H"
#define ANSI_CLEAR_LINE "\033[K"
#define ANSI_CLEAR_BELOW "\033[J"
#define ANSI_ALTERNATE_SCREEN "\033[?1049h"
#define ANSI_NORMAL_SCREEN "\033[?1049l"
#define ANSI_HIDE_CURSOR "\033[?25l"
#define ANSI_SHOW_CURSOR "\033[?25h"
#define ANSI_DIM "\033[2m"
#define ANSI_NORMAL_INTENSITY "\033[22m"

typedef struct Watch {
	Client *client;
	sd_event *event;
	BlinkdRemote *remote;	/* live: the daemon as it changes; owns what it keeps */
	Layout *own_layout;	/* read at start, for --once and until the remote has one */
	char **own_labels;
	const Layout *layout;	/* what is drawn: own_layout, or the remote's */
	char *const *labels;	/* each line's chip label, by position; NULL from an old daemon */
	BlinkdChip *chips;	/* the Chips property, by the layout's chip index */
	size_t n_chips;
	const char *chip;	/* the Chip property, the remote's */
	bool *lit;		/* by position in layout->lines */
	uint16_t *level;	/* likewise: 0..LEVEL_MAX, from Levels */
	char **names;		/* running programs, sorted */
	bool tty;
	bool dim;		/* the chip column in faint type */
	bool screen_taken;	/* the alternate screen is on, the cursor hidden */
	bool termios_changed;	/* echo and line buffering are off */
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
	w->remote = blinkd_remote_free(w->remote);
	layout_free(w->own_layout);
	strv_free(w->own_labels);
	blinkd_chips_free(w->chips, w->n_chips);
	free(w->lit);
	free(w->level);
	strv_free(w->names);
	sd_event_unref(w->event);
}

/* What a line looks like: dark, lit, or a shade of its level between. */
static const char *line_glyph(const Watch *w, size_t i)
{
	static const char *const shades[] = { "\u2591", "\u2592", "\u2593" }; /* light to dark */
	uint16_t l = w->level[i];

	if (!w->lit[i])
		return w->client->utf8 ? "\u00b7" : ".";
	if (l == 0 || l >= LEVEL_MAX)
		return w->client->utf8 ? "\u25cf" : "#";
	if (!w->client->utf8)
		return "+";
	return shades[l < LEVEL_MAX / 3 ? 0 : l < 2 * LEVEL_MAX / 3 ? 1 : 2];
}

/* Line @i's chip, as a person knows it: its label, else its path, else as the config names it. */
static const char *line_chip_label(const Watch *w, size_t i)
{
	const Layout *l = w->layout;
	unsigned k = l->info[i].chip;

	if (w->labels && w->labels[i] && w->labels[i][0])
		return w->labels[i];
	if (k < w->n_chips && w->chips[k].path[0])
		return w->chips[k].path;
	return k < l->n_chips ? l->chips[k] : "?";
}

/* Whether line @i's chip is there; lines of a daemon that does not say are. */
static bool line_chip_present(const Watch *w, size_t i)
{
	unsigned k = w->layout->info[i].chip;
	const char *label = w->labels ? w->labels[i] : NULL;

	/* Chips lists the layout's chips in its order; the label makes sure. */
	if (k < w->n_chips && (!label || !label[0] || streq(w->chips[k].label, label)))
		return w->chips[k].present;
	for (size_t j = 0; label && label[0] && j < w->n_chips; j++)
		if (streq(w->chips[j].label, label))
			return w->chips[j].present;
	return true;
}

/* Where line @i is on its chip: its offset, or the name it is looked up by; nothing for an LED. */
static void line_place(const Watch *w, size_t i, char *buf, size_t size)
{
	const LayoutLine *info = &w->layout->info[i];
	const char *colon = strchr(info->ref, ':');

	if (info->analog)
		snprintf(buf, size, "%s", "");
	else if (info->has_offset)
		snprintf(buf, size, "%u", info->offset);
	else
		snprintf(buf, size, "%s", colon ? colon + 1 : info->ref);
}

/* One row per line from position @from on: mark, alias or reference, and the chip column. */
static void watch_render_list(const Watch *w, FILE *f, const char *eol, size_t from, const char *on,
			      const char *off)
{
	const Layout *l = w->layout;
	int width = 0;
	char place[LAYOUT_REF_MAX + 8];

	for (size_t i = from; i < l->n_lines; i++) {
		int n = (int)strlen(client_line_label(l, i));
		if (n > width)
			width = n;
	}
	for (size_t i = from; i < l->n_lines; i++) {
		line_place(w, i, place, sizeof(place));
		/* An LED class device is a chip of one line: "led:NAME", as the configuration says. */
		fprintf(f, "%s%s %-*s  %s%s%s%s%s%s%s", w->tty ? "  " : "", line_glyph(w, i),
			width, client_line_label(l, i), w->dim ? ANSI_DIM : "",
			l->info[i].analog ? "led:" : "", line_chip_label(w, i), place[0] ? " " : "",
			place, line_chip_present(w, i) ? "" : " (absent)",
			w->dim ? ANSI_NORMAL_INTENSITY : "");
		fputs(eol, f);
	}
}

/*
 * For each chip of the layout, the position of its first line if it has
 * lines, else -1: so that chips are counted and named once, whatever the
 * number of lines.
 */
static ssize_t *chips_first_line(const Watch *w)
{
	const Layout *l = w->layout;
	ssize_t *first = malloc(l->n_chips * sizeof(ssize_t));

	if (!first)
		return NULL;
	for (size_t k = 0; k < l->n_chips; k++)
		first[k] = -1;
	for (size_t i = 0; i < l->n_lines; i++)
		if (l->info[i].chip < l->n_chips && first[l->info[i].chip] < 0)
			first[l->info[i].chip] = (ssize_t)i;
	return first;
}

/* The chips that hold lines of the layout and are not there, comma-separated, or NULL. */
static char *absent_chips(const Watch *w)
{
	_cleanup_(freep) ssize_t *first = chips_first_line(w);
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	bool any = false;

	if (!first)
		return NULL;
	f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	for (size_t k = 0; k < w->layout->n_chips; k++) {
		if (first[k] < 0 || line_chip_present(w, (size_t)first[k]))
			continue;
		fprintf(f, "%s%s", any ? ", " : "", line_chip_label(w, (size_t)first[k]));
		any = true;
	}
	if (fclose(f) != 0 || !any) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void watch_render(const Watch *w, FILE *f, const char *eol)
{
	const Layout *l = w->layout;
	const char *on = w->client->utf8 ? "\u25cf" : "#";
	const char *off = w->client->utf8 ? "\u00b7" : ".";
	size_t n_matrix = (size_t)l->n_rows * l->n_cols;
	_cleanup_(freep) char *absent = NULL;

	for (unsigned row = 0; row < l->n_rows; row++) {
		fputs(w->tty ? "  " : "", f);
		for (unsigned col = 0; col < l->n_cols; col++) {
			int i = layout_index_of(l, l->matrix[row * l->n_cols + col]);
			fprintf(f, "%s%s", col ? " " : "", i >= 0 ? line_glyph(w, (size_t)i) : off);
		}
		fputs(eol, f);
	}
	/* The lines outside the matrix (every line, without one) as a list, the matrix's first. */
	if (n_matrix > 0 && l->n_lines > n_matrix)
		fputs(eol, f);
	watch_render_list(w, f, eol, n_matrix, on, off);
	if (n_matrix > 0) {
		absent = absent_chips(w);
		if (absent) {
			fputs(eol, f);
			fprintf(f, "absent: %s", absent);
			fputs(eol, f);
		}
	}
	fputs(eol, f);
	fputs("running:", f);
	if (strv_length(w->names) == 0)
		fputs(" nothing", f);
	for (char **n = w->names; n && *n; n++)
		fprintf(f, "%s %s", n == w->names ? "" : ",", *n);
	fputs(eol, f);
}

/* "sim, 5x5 lines", "sim, 4 lines" or "4 lines on 2 chips", and how many chips are absent. */
static void watch_title(const Watch *w, FILE *f)
{
	const Layout *l = w->layout;
	_cleanup_(freep) ssize_t *first = chips_first_line(w);
	size_t n_used = 0, n_absent = 0;

	for (size_t k = 0; first && k < l->n_chips; k++) {
		if (first[k] < 0)
			continue;
		n_used++;
		n_absent += !line_chip_present(w, (size_t)first[k]);
	}
	if (l->n_rows > 0)
		fprintf(f, "blinkd: %s, %ux%u lines", w->chip ? w->chip : "?", l->n_rows,
			l->n_cols);
	else if (n_used <= 1)
		fprintf(f, "blinkd: %s, %zu line%s", line_chip_label(w, 0), l->n_lines,
			l->n_lines == 1 ? "" : "s");
	else
		fprintf(f, "blinkd: %zu lines on %zu chips", l->n_lines, n_used);
	if (n_absent > 0)
		fprintf(f, ", %zu absent", n_absent);
}

/* Whether the remote has read all that is drawn: nothing is drawn before. */
static bool watch_ready(const Watch *w)
{
	size_t n;

	return w->remote && blinkd_remote_get_layout(w->remote) &&
	       blinkd_remote_get_programs(w->remote, &n);
}

/* Redraw the whole screen in one write, so that it never flickers. */
static void watch_draw(Watch *w)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	if (!watch_ready(w))
		return;
	f = open_memstream(&buf, &size);
	if (!f)
		return;
	fputs(ANSI_HOME, f);
	watch_title(w, f);
	fprintf(f, " (Ctrl-C quits)%s\n", ANSI_CLEAR_LINE);
	fputs(ANSI_CLEAR_LINE "\n", f);
	watch_render(w, f, ANSI_CLEAR_LINE "\n");
	fputs(ANSI_CLEAR_BELOW, f);
	if (fclose(f) == 0) {
		fwrite(buf, 1, size, stdout);
		fflush(stdout);
	}
	free(buf);
}

/* Without a terminal: each Frame as it comes, "<usec> <lit numbers>" or "<usec> -". */
static void on_remote_frame(BlinkdRemote *remote, uint64_t usec, const unsigned *lit, size_t n_lit,
			    void *userdata)
{
	Watch *w = userdata;

	if (w->tty)
		return; /* drawn from the levels that follow */
	printf("%" PRIu64 " ", usec);
	for (size_t i = 0; i < n_lit; i++)
		printf("%s%u", i ? "," : "", lit[i]);
	printf("%s\n", n_lit == 0 ? "-" : "");
	fflush(stdout);
}

/* A new layout for the same lines (their chips seen or gone): what is lit moves by number. */
static int watch_replace_layout(Watch *w, Layout *l, char **labels)
{
	bool *lit = calloc(l->n_lines, sizeof(bool));
	uint16_t *level = calloc(l->n_lines, sizeof(uint16_t));

	if (!lit || !level) {
		free(lit);
		free(level);
		layout_free(l);
		strv_free(labels);
		return -ENOMEM;
	}
	for (size_t i = 0; w->layout && i < w->layout->n_lines; i++) {
		int k = layout_index_of(l, w->layout->lines[i]);
		if (k >= 0) {
			lit[k] = w->lit[i];
			level[k] = w->level[i];
		}
	}
	layout_free(w->own_layout);
	strv_free(w->own_labels);
	free(w->lit);
	free(w->level);
	w->layout = w->own_layout = l;
	w->labels = w->own_labels = labels;
	w->lit = lit;
	w->level = level;
	return 0;
}

/* The layout and the chips, asked anew. */
static int watch_get_lines(Watch *w)
{
	Layout *l = NULL;
	char **labels = NULL;
	int r;

	r = client_get_layout_labels(w->client, &l, &labels);
	if (r != 0)
		return r;
	r = watch_replace_layout(w, l, labels);
	if (r < 0)
		return log_oom();
	return 0;
}

static int watch_get_chips(Watch *w)
{
	BlinkdChip *chips = NULL;
	size_t n = 0;
	int r;

	r = client_get_chips(w->client, &chips, &n);
	if (r != 0)
		return r;
	blinkd_chips_free(w->chips, w->n_chips);
	w->chips = chips;
	w->n_chips = n;
	return 0;
}

/*
 * Levels by position in what is drawn: a line above 0 is lit, the others
 * dark; numbers the layout does not have are skipped.
 */
static void watch_set_levels(Watch *w, const BlinkdLevel *levels, size_t n)
{
	memset(w->lit, 0, w->layout->n_lines * sizeof(bool));
	memset(w->level, 0, w->layout->n_lines * sizeof(uint16_t));
	for (size_t k = 0; k < n; k++) {
		int i = layout_index_of(w->layout, levels[k].number);

		if (i < 0)
			continue;
		w->level[i] = properties_level_scale(levels[k].level);
		w->lit[i] = w->level[i] > 0;
	}
}

/* The remote's levels, as what is drawn. */
static void watch_follow_levels(Watch *w)
{
	const BlinkdLevel *levels;
	size_t n;

	levels = blinkd_remote_get_levels(w->remote, &n);
	watch_set_levels(w, levels, n);
}

/* The remote's layout when it has one, else the one read at start; the arrays follow. */
static int watch_follow_layout(Watch *w)
{
	const Layout *l = blinkd_remote_get_layout(w->remote);
	char *const *labels = l ? blinkd_remote_get_labels(w->remote) : w->own_labels;
	bool *lit;
	uint16_t *level;

	if (!l)
		l = w->own_layout;
	lit = calloc(l->n_lines, sizeof(bool));
	level = calloc(l->n_lines, sizeof(uint16_t));
	if (!lit || !level) {
		free(lit);
		free(level);
		return -ENOMEM;
	}
	free(w->lit);
	free(w->level);
	w->layout = l;
	w->labels = labels;
	w->lit = lit;
	w->level = level;
	w->chip = blinkd_remote_get_chip(w->remote);
	watch_follow_levels(w);
	return 0;
}

/* The owner came or went: what the remote kept is gone, until it has read it anew. */
static void on_remote_owner(BlinkdRemote *remote, void *userdata)
{
	if (watch_follow_layout(userdata) < 0)
		(void)log_oom();
}

static void on_remote_appeared(BlinkdRemote *remote, const char *owner, void *userdata)
{
	on_remote_owner(remote, userdata);
}

static void on_remote_lines(BlinkdRemote *remote, void *userdata)
{
	Watch *w = userdata;

	if (watch_follow_layout(w) < 0)
		(void)log_oom();
	watch_draw(w);
}

static void on_remote_levels(BlinkdRemote *remote, void *userdata)
{
	Watch *w = userdata;

	watch_follow_levels(w);
	watch_draw(w);
}

static void on_remote_chips(BlinkdRemote *remote, void *userdata)
{
	Watch *w = userdata;
	const BlinkdChip *chips;
	BlinkdChip *copy;
	size_t n;

	chips = blinkd_remote_get_chips(remote, &n);
	copy = calloc(n ? n : 1, sizeof(BlinkdChip));
	if (!copy)
		return (void)log_oom();
	for (size_t i = 0; i < n; i++) {
		copy[i] = (BlinkdChip){ .label = strdup(chips[i].label),
					.path = strdup(chips[i].path),
					.present = chips[i].present };
		if (!copy[i].label || !copy[i].path) {
			blinkd_chips_free(copy, i + 1);
			return (void)log_oom();
		}
	}
	blinkd_chips_free(w->chips, w->n_chips);
	w->chips = copy;
	w->n_chips = n;
	watch_draw(w);
}

static void on_remote_programs(BlinkdRemote *remote, bool changed, void *userdata)
{
	Watch *w = userdata;
	_cleanup_(strv_freep) char **names = NULL;
	const BlinkdRemoteProgram *programs;
	size_t n;

	programs = blinkd_remote_get_programs(remote, &n);
	for (size_t i = 0; i < n; i++)
		if (strv_extend(&names, programs[i].name) < 0)
			return (void)log_oom();
	strv_sort(names);
	strv_free(w->names);
	w->names = TAKE_PTR(names);
	watch_draw(w);
}

static const BlinkdRemoteOps watch_remote_ops = {
	.appeared = on_remote_appeared,
	.vanished = on_remote_owner,
	.frame = on_remote_frame,
	.lines_changed = on_remote_lines,
	.levels_changed = on_remote_levels,
	.chips_changed = on_remote_chips,
	.programs_read = on_remote_programs,
};

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

/*
 * The lit lines and their levels now, for --once: Levels where the daemon
 * has it, else (an older daemon) every line Lit names at full level.
 */
static int watch_get_lit(Watch *w)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *levels_reply = NULL;
	_cleanup_(freep) unsigned *lit = NULL;
	_cleanup_(freep) BlinkdLevel *levels = NULL;
	size_t n_lit = 0, n = 0;
	int r;

	r = sd_bus_get_property(w->client->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, "Lit", &error, &reply, "au");
	if (r < 0)
		return client_report_bus_error(w->client, &error, r);
	r = properties_read_lit(reply, &lit, &n_lit);
	if (r < 0)
		return log_error_errno(r, "Failed to read the Lit property: %m");

	sd_bus_error_free(&error);
	if (sd_bus_get_property(w->client->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, "Levels", &error, &levels_reply,
				"a(ud)") < 0 ||
	    properties_read_levels(levels_reply, &levels, &n) < 0) {
		r = properties_levels_of_lit(NULL, 0, lit, n_lit, &levels);
		if (r < 0)
			return log_oom();
		n = n_lit;
	}
	watch_set_levels(w, levels, n);
	return 0;
}

/* A level as the programs write it: 0, 0.25, 1. */
static json_object *level_json(uint16_t level)
{
	char buf[16];

	if (level == 0 || level >= LEVEL_MAX)
		return json_object_new_int(level >= LEVEL_MAX);
	snprintf(buf, sizeof(buf), "%g", level / (double)LEVEL_MAX);
	return json_object_new_double_s(level / (double)LEVEL_MAX, buf);
}

static int watch_print_once(Watch *w)
{
	_cleanup_(json_object_putp) json_object *root = NULL;
	json_object *rows, *lit, *programs, *lines;
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
	lines = json_object_new_array();
	if (!lines || json_object_object_add(root, "lines", lines) < 0)
		return json_object_put(lines), log_oom();
	for (size_t i = 0; i < l->n_lines; i++) {
		const LayoutLine *info = &l->info[i];
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(lines, o) < 0)
			return json_object_put(o), log_oom();
		json_object_object_add(o, "number", json_object_new_int64(info->number));
		json_object_object_add(o, "ref", json_object_new_string(info->ref));
		json_object_object_add(o, "alias",
				       info->alias ? json_object_new_string(info->alias) : NULL);
		json_object_object_add(o, "chip", json_object_new_string(line_chip_label(w, i)));
		json_object_object_add(o, "offset",
				       info->has_offset ? json_object_new_int64(info->offset) : NULL);
		json_object_object_add(o, "present",
				       json_object_new_boolean(line_chip_present(w, i)));
		json_object_object_add(o, "lit", json_object_new_boolean(w->lit[i]));
		json_object_object_add(o, "level", level_json(w->lit[i] ? w->level[i] : 0));
	}
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
	/* A terminal draws levels, layout, chips and programs; a pipe gets the frames. */
	unsigned flags = w->tty ? BLINKD_REMOTE_LEVELS | BLINKD_REMOTE_LINES |
					  BLINKD_REMOTE_CHIPS | BLINKD_REMOTE_PROGRAMS
				: BLINKD_REMOTE_FRAMES;
	int r;

	r = sd_event_default(&w->event);
	if (r < 0)
		return log_error_errno(r, "Failed to create the event loop: %m");

	/* It subscribes, then reads the state: no change falls in between. */
	r = blinkd_remote_new(&w->remote, w->client->bus, flags, &watch_remote_ops, w);
	if (r < 0)
		return client_report_bus_error(w->client, NULL, r);
	r = client_attach_event(w->client, w->event);
	if (r < 0)
		return r;

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

	r = watch_get_lines(&w);
	if (r != 0)
		return r;

	if (once) {
		r = watch_get_chips(&w);
		if (r != 0)
			return r;
		r = watch_get_lit(&w);
		if (r != 0)
			return r;
		r = client_list_names(c, &w.names, NULL);
		if (r != 0)
			return r;
		return watch_print_once(&w);
	}

	w.tty = isatty(STDOUT_FILENO);
	/* Faint type is the only colour: NO_COLOR (set and not empty) turns it off. */
	w.dim = w.tty && !(getenv("NO_COLOR") && getenv("NO_COLOR")[0]);
	return watch_live(&w);
}

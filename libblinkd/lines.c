/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "strv.h"

int lines_read_matrix(sd_bus_message *m, unsigned **ret, unsigned *ret_rows, unsigned *ret_cols)
{
	_cleanup_(freep) unsigned *matrix = NULL;
	unsigned n_rows = 0, n_cols = 0;
	size_t n = 0;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "au");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'a', "u")) > 0) {
		unsigned cols = 0, number;

		while ((r = sd_bus_message_read_basic(m, 'u', &number)) > 0) {
			unsigned *grown = realloc(matrix, (n + 1) * sizeof(unsigned));
			if (!grown)
				return -ENOMEM;
			matrix = grown;
			matrix[n++] = number;
			cols++;
		}
		if (r < 0)
			return r;
		if (cols == 0 || (n_rows > 0 && cols != n_cols))
			return -EBADMSG; /* not rectangular */
		n_cols = cols;
		n_rows++;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(matrix);
	*ret_rows = n_rows;
	*ret_cols = n_cols;
	return 0;
}

/* One entry of the Lines property, as read. */
typedef struct LineEntry {
	const char *ref, *alias, *label, *chip, *name;
	unsigned number;
	bool has_number, has_offset;
	unsigned offset;
	bool analog; /* kind "led": an LED class device */
	LineSettings settings;
} LineEntry;

/* Read the variant at @m as @type into @value if its contents are @type; skip it otherwise. */
static int read_setting(sd_bus_message *m, char type, void *value, bool *ret_read)
{
	const char *contents;
	char want[2] = { type, '\0' };
	char t;
	int r;

	r = sd_bus_message_peek_type(m, &t, &contents);
	if (r < 0)
		return r;
	if (t != 'v' || !contents || !streq(contents, want)) {
		*ret_read = false;
		return sd_bus_message_skip(m, "v");
	}
	r = sd_bus_message_enter_container(m, 'v', want);
	if (r >= 0)
		r = sd_bus_message_read_basic(m, type, value);
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	*ret_read = r >= 0;
	return r;
}

/* The settings dict of a Lines entry; keys this client does not know are skipped. */
static int read_line_settings(sd_bus_message *m, LineEntry *e)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key, *word = NULL;
		int flag = 0;
		bool got = false;

		r = sd_bus_message_read_basic(m, 's', &key);
		if (r < 0)
			return r;
		if (streq(key, "number")) {
			r = read_setting(m, 'u', &e->number, &got);
			e->has_number = got;
		} else if (streq(key, "offset")) {
			r = read_setting(m, 'u', &e->offset, &got);
			e->has_offset = got;
		} else if (streq(key, "chip"))
			r = read_setting(m, 's', &e->chip, &got);
		else if (streq(key, "kind")) {
			r = read_setting(m, 's', &word, &got);
			e->analog = got && streq(word, "led");
		} else if (streq(key, "name"))
			r = read_setting(m, 's', &e->name, &got);
		else if (streq(key, "active_low")) {
			r = read_setting(m, 'b', &flag, &got);
			if (got)
				e->settings.active_low = flag;
		} else if (streq(key, "drive") || streq(key, "bias") || streq(key, "initial") ||
			   streq(key, "exit")) {
			r = read_setting(m, 's', &word, &got);
			/*
			 * A word this reader does not know (a newer daemon's) leaves the
			 * default. The enums are unsigned to the compiler: their -1 for
			 * an unknown word is only seen as an int.
			 */
			if (got && streq(key, "drive") && (int)line_drive_from_string(word) >= 0)
				e->settings.drive = line_drive_from_string(word);
			else if (got && streq(key, "bias") && (int)line_bias_from_string(word) >= 0)
				e->settings.bias = line_bias_from_string(word);
			else if (got && streq(key, "initial") &&
				 (int)line_state_from_string(word) >= 0)
				e->settings.initial = line_state_from_string(word);
			else if (got && streq(key, "exit") && (int)line_state_from_string(word) >= 0)
				e->settings.exit = line_state_from_string(word);
		} else
			r = sd_bus_message_skip(m, "v");
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/*
 * The chip the daemon's layout counts first, its default chip: a reference
 * without "CHIP:" is on it, and only its lines given by offset are numbered
 * below LAYOUT_NUMBER_EXTRA. "" when no line tells (then no line is on it,
 * short of "CHIP:NAME" references that spell it out).
 */
static const char *default_chip(const LineEntry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (e[i].chip && (!strchr(e[i].ref, ':') || e[i].number <= LAYOUT_OFFSET_MAX))
			return e[i].chip;
	return "";
}

int lines_read_layout(sd_bus_message *m, unsigned n_rows, unsigned n_cols, const unsigned *matrix,
		      Layout **ret, char ***ret_labels)
{
	_cleanup_(layout_freep) Layout *l = NULL;
	_cleanup_(freep) LineEntry *entries = NULL;
	_cleanup_(freep) unsigned *positions = NULL;
	_cleanup_(strv_freep) char **labels = NULL;
	size_t n = 0, n_matrix = (size_t)n_rows * n_cols;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "(sssa{sv})");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'r', "sssa{sv}")) > 0) {
		LineEntry *grown = realloc(entries, (n + 1) * sizeof(LineEntry));
		LineEntry *e;

		if (!grown)
			return -ENOMEM;
		entries = grown;
		e = &entries[n++];
		*e = (LineEntry){ .settings = line_settings_default };
		r = sd_bus_message_read(m, "sss", &e->ref, &e->alias, &e->label);
		if (r < 0)
			return r;
		r = read_line_settings(m, e);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
		if (!e->has_number)
			return -EBADMSG;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	if (n == 0)
		return -EBADMSG;

	r = layout_new_empty(&l, default_chip(entries, n));
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const LineEntry *e = &entries[i];
		LayoutLine *info;

		r = layout_add_numbered(l, e->number, e->ref, e->chip);
		if (r < 0)
			return r == -ERANGE ? -EBADMSG : r;
		info = &l->info[r];
		info->settings = e->settings;
		info->analog = e->analog;
		info->has_offset = e->has_offset;
		info->offset = e->offset;
		if (e->alias[0] != '\0' && !(info->alias = strdup(e->alias)))
			return -ENOMEM;
		if (e->name && e->name[0] != '\0' && !(info->name = strdup(e->name)))
			return -ENOMEM;
	}

	if (n_matrix > 0) {
		positions = malloc(n_matrix * sizeof(unsigned));
		if (!positions)
			return -ENOMEM;
		for (size_t k = 0; k < n_matrix; k++) {
			size_t i;

			for (i = 0; i < n && entries[i].number != matrix[k]; i++)
				;
			if (i == n)
				return -EBADMSG; /* the matrix holds a line Lines lacks */
			positions[k] = (unsigned)i;
		}
		r = layout_set_matrix(l, n_rows, n_cols, positions);
		if (r < 0)
			return r;
	}
	r = layout_finish(l);
	if (r < 0)
		return r == -EEXIST ? -EBADMSG : r;

	if (ret_labels) {
		/* By position in the finished layout, which put the matrix's lines first. */
		labels = calloc(n + 1, sizeof(char *));
		if (!labels)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			int k = layout_index_of(l, entries[i].number);

			if (k < 0 || labels[k])
				return -EBADMSG;
			labels[k] = strdup(entries[i].label);
			if (!labels[k])
				return -ENOMEM;
		}
		*ret_labels = TAKE_PTR(labels);
	}
	*ret = TAKE_PTR(l);
	return 0;
}

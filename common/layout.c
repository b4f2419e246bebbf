/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

const unsigned layout_default_matrix[5][5] = {
	{ 11, 10, 27, 4, 2 },
	{ 0, 9, 22, 17, 3 },
	{ 5, 20, 1, 25, 18 },
	{ 6, 16, 7, 24, 15 },
	{ 13, 12, 8, 23, 14 },
};

const LineSettings line_settings_default = {
	.active_low = false,
	.drive = LINE_DRIVE_PUSH_PULL,
	.bias = LINE_BIAS_AS_IS,
	.initial = LINE_STATE_OFF,
	.exit = LINE_STATE_OFF,
};

static const char *const drive_names[_LINE_DRIVE_MAX] = {
	[LINE_DRIVE_PUSH_PULL] = "push-pull",
	[LINE_DRIVE_OPEN_DRAIN] = "open-drain",
	[LINE_DRIVE_OPEN_SOURCE] = "open-source",
};

static const char *const bias_names[_LINE_BIAS_MAX] = {
	[LINE_BIAS_AS_IS] = "as-is",
	[LINE_BIAS_DISABLED] = "disabled",
	[LINE_BIAS_PULL_UP] = "pull-up",
	[LINE_BIAS_PULL_DOWN] = "pull-down",
};

static const char *const state_names[_LINE_STATE_MAX] = {
	[LINE_STATE_OFF] = "off",
	[LINE_STATE_ON] = "on",
	[LINE_STATE_KEEP] = "keep",
};

static int lookup(const char *const *table, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (s && streq(table[i], s))
			return (int)i;
	return -1;
}

const char *line_drive_to_string(LineDrive d)
{
	return d >= 0 && d < _LINE_DRIVE_MAX ? drive_names[d] : NULL;
}

LineDrive line_drive_from_string(const char *s)
{
	return (LineDrive)lookup(drive_names, _LINE_DRIVE_MAX, s);
}

const char *line_bias_to_string(LineBias b)
{
	return b >= 0 && b < _LINE_BIAS_MAX ? bias_names[b] : NULL;
}

LineBias line_bias_from_string(const char *s)
{
	return (LineBias)lookup(bias_names, _LINE_BIAS_MAX, s);
}

const char *line_state_to_string(LineState s)
{
	return s >= 0 && s < _LINE_STATE_MAX ? state_names[s] : NULL;
}

LineState line_state_from_string(const char *s)
{
	return (LineState)lookup(state_names, _LINE_STATE_MAX, s);
}

static void line_done(LayoutLine *i)
{
	free(i->ref);
	free(i->where);
	free(i->line_name);
	free(i->name);
	free(i->alias);
}

Layout *layout_free(Layout *l)
{
	if (!l)
		return NULL;
	for (size_t i = 0; l->info && i < l->n_lines; i++)
		line_done(&l->info[i]);
	for (size_t i = 0; i < l->n_chips; i++)
		free(l->chips[i]);
	free(l->chips);
	free(l->info);
	free(l->index_of);
	free(l->lines);
	free(l->matrix);
	free(l);
	return NULL;
}

int layout_new_empty(Layout **ret, const char *default_chip)
{
	_cleanup_(layout_freep) Layout *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->chips = calloc(1, sizeof(char *));
	if (!l->chips)
		return -ENOMEM;
	l->n_chips = 1;
	l->chips[0] = strdup(default_chip ? default_chip : "");
	if (!l->chips[0])
		return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

bool layout_chip_equal(const char *a, const char *b)
{
	if (strncmp(a, "/dev/", 5) == 0)
		a += 5;
	if (strncmp(b, "/dev/", 5) == 0)
		b += 5;
	return streq(a, b);
}

static int fail(char *error, size_t size, const char *fmt, ...) _printf_(3, 4);
static int fail(char *error, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (error && size > 0) {
		va_start(ap, fmt);
		vsnprintf(error, size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* An offset: 1-5 decimal digits, no sign, no leading zero (but "0"). */
static bool parse_offset(const char *s, size_t len, unsigned *ret)
{
	unsigned v = 0;

	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > LAYOUT_OFFSET_MAX)
		return false;
	*ret = v;
	return true;
}

static bool text_is_clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int chip_index(Layout *l, const char *chip, size_t len, unsigned *ret)
{
	_cleanup_(freep) char *c = strndup(chip, len);
	char **chips;

	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < l->n_chips; i++)
		if (layout_chip_equal(l->chips[i], c)) {
			*ret = (unsigned)i;
			return 0;
		}
	chips = realloc(l->chips, (l->n_chips + 1) * sizeof(char *));
	if (!chips)
		return -ENOMEM;
	l->chips = chips;
	l->chips[l->n_chips] = TAKE_PTR(c);
	*ret = (unsigned)l->n_chips++;
	return 0;
}

/* Room for one more line: the array doubles, so building a layout stays linear. */
static int layout_reserve(Layout *l)
{
	LayoutLine *info;
	size_t cap;

	if (l->n_lines < l->info_cap)
		return 0;
	cap = l->info_cap ? 2 * l->info_cap : 32;
	info = realloc(l->info, cap * sizeof(LayoutLine));
	if (!info)
		return -ENOMEM;
	l->info = info;
	l->info_cap = cap;
	return 0;
}

/* Add a line, numbered by its offset on the default chip, else after the other such lines. */
static int layout_add_line(Layout *l, const char *ref, const char *where, unsigned chip,
			   bool has_offset, unsigned offset, const char *line_name, bool analog)
{
	bool extra = !(chip == 0 && has_offset);
	LayoutLine *n;
	int r;

	if (l->n_lines >= LAYOUT_LINES_MAX)
		return -E2BIG;
	if (extra && l->n_extra >= LAYOUT_EXTRA_MAX)
		return -E2BIG;
	r = layout_reserve(l);
	if (r < 0)
		return r;
	n = &l->info[l->n_lines];
	*n = (LayoutLine){
		.number = extra ? LAYOUT_NUMBER_EXTRA + l->n_extra : offset,
		.chip = chip,
		.has_offset = has_offset,
		.offset = offset,
		.analog = analog,
		.settings = line_settings_default,
	};
	n->ref = strdup(ref);
	n->where = strdup(where ? where : "");
	n->line_name = line_name ? strdup(line_name) : NULL;
	if (!n->ref || !n->where || (line_name && !n->line_name)) {
		line_done(n);
		return -ENOMEM;
	}
	if (extra)
		l->n_extra++;
	else
		l->index_of[offset] = (int)l->n_lines;
	return (int)l->n_lines++;
}

int layout_add_ref(Layout *l, const char *ref, const char *where, char *error, size_t error_size)
{
	const char *colon, *line;
	LayoutLine *info;
	unsigned chip = 0, offset = 0;
	bool has_offset;
	size_t len = strlen(ref), line_len;
	int r;

	if (len == 0 || len > LAYOUT_REF_MAX)
		return fail(error, error_size, "a line reference is 1 to %d characters",
			    LAYOUT_REF_MAX);
	if (!text_is_clean(ref))
		return fail(error, error_size, "a line reference has no control characters");

	/* An LED class device: a chip of its own with one line, taking levels as they are. */
	if (strncmp(ref, "led:", 4) == 0) {
		if (ref[4] == '\0' || strchr(ref + 4, '/') || streq(ref + 4, ".") ||
		    streq(ref + 4, ".."))
			return fail(error, error_size,
				    "\"%s\" is not an LED (led:NAME, NAME as in /sys/class/leds)",
				    ref);
		r = chip_index(l, ref, len, &chip);
		if (r < 0)
			return r;
		for (size_t i = 0; i < l->n_lines; i++)
			if (l->info[i].chip == chip)
				return (int)i;
		return layout_add_line(l, ref, where, chip, true, 0, NULL, true);
	}

	colon = strchr(ref, ':');
	line = colon ? colon + 1 : ref;
	line_len = strlen(line);
	if (colon && (colon == ref || line_len == 0))
		return fail(error, error_size,
			    "\"%s\" is not a line reference (OFFSET, NAME or CHIP:LINE)", ref);
	has_offset = parse_offset(line, line_len, &offset);
	if (!has_offset && line[strspn(line, "0123456789")] == '\0')
		return fail(error, error_size, "line offset %s is out of range (0 to %u)", line,
			    LAYOUT_OFFSET_MAX);
	if (colon) {
		r = chip_index(l, ref, (size_t)(colon - ref), &chip);
		if (r < 0)
			return r;
	}

	/*
	 * The same line again: an offset on the default chip by index_of (while
	 * building, as large as the largest offset seen), others by comparing.
	 */
	if (chip == 0 && has_offset) {
		if (offset > l->max_number || !l->index_of) {
			size_t old = l->index_of ? (size_t)l->max_number + 1 : 0;
			size_t want = (size_t)offset + 1 > 2 * old ? (size_t)offset + 1 : 2 * old;
			int *a;

			if (want > LAYOUT_OFFSET_MAX + 1)
				want = LAYOUT_OFFSET_MAX + 1;
			a = realloc(l->index_of, want * sizeof(int));
			if (!a)
				return -ENOMEM;
			for (size_t i = old; i < want; i++)
				a[i] = -1;
			l->index_of = a;
			l->max_number = (unsigned)(want - 1);
		}
		if (l->index_of[offset] >= 0)
			return l->index_of[offset];
	} else
		for (size_t i = 0; i < l->n_lines; i++) {
			info = &l->info[i];
			if (info->chip != chip || info->has_offset != has_offset)
				continue;
			if (has_offset ? info->offset == offset : streq(info->line_name, line))
				return (int)i;
		}
	return layout_add_line(l, ref, where, chip, has_offset, offset, has_offset ? NULL : line,
			       false);
}

int layout_add_numbered(Layout *l, unsigned number, const char *ref, const char *chip)
{
	LayoutLine *n;
	unsigned k = 0;
	int r;

	if (number > LAYOUT_NUMBER_MAX)
		return -ERANGE;
	if (l->n_lines >= LAYOUT_LINES_MAX)
		return -E2BIG;
	if (chip) {
		r = chip_index(l, chip, strlen(chip), &k);
		if (r < 0)
			return r;
	}
	r = layout_reserve(l);
	if (r < 0)
		return r;
	n = &l->info[l->n_lines];
	*n = (LayoutLine){
		.number = number,
		.chip = k,
		.settings = line_settings_default,
	};
	n->ref = strdup(ref);
	n->where = strdup("");
	if (!n->ref || !n->where) {
		line_done(n);
		return -ENOMEM;
	}
	return (int)l->n_lines++;
}

int layout_set_matrix(Layout *l, unsigned n_rows, unsigned n_cols, const unsigned *positions)
{
	size_t n = (size_t)n_rows * n_cols;

	if (n == 0 || n > LAYOUT_LINES_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (positions[i] >= l->n_lines)
			return -EINVAL;
	free(l->matrix);
	l->matrix = malloc(n * sizeof(unsigned));
	if (!l->matrix)
		return -ENOMEM;
	memcpy(l->matrix, positions, n * sizeof(unsigned));
	l->n_rows = n_rows;
	l->n_cols = n_cols;
	return 0;
}

int layout_finish(Layout *l)
{
	size_t n_matrix = (size_t)l->n_rows * l->n_cols, k = 0;
	_cleanup_(freep) LayoutLine *info = NULL;
	_cleanup_(freep) uint8_t *placed = NULL;
	int *index_of;

	if (l->n_lines == 0)
		return -EINVAL;
	info = malloc(l->n_lines * sizeof(LayoutLine));
	placed = calloc(l->n_lines, 1);
	free(l->lines);
	l->lines = malloc(l->n_lines * sizeof(unsigned));
	if (!info || !placed || !l->lines)
		return -ENOMEM;

	/* The matrix's lines first, in matrix order; the matrix then holds numbers. */
	for (size_t i = 0; i < n_matrix; i++) {
		unsigned p = l->matrix[i];

		if (placed[p])
			return -EEXIST;
		placed[p] = 1;
		info[k++] = l->info[p];
		l->matrix[i] = l->info[p].number;
	}
	for (size_t i = 0; i < l->n_lines; i++)
		if (!placed[i])
			info[k++] = l->info[i];
	free(l->info);
	l->info = TAKE_PTR(info);
	l->info_cap = l->n_lines;

	l->max_number = 0;
	l->any_active_low = false;
	for (size_t i = 0; i < l->n_lines; i++) {
		l->lines[i] = l->info[i].number;
		if (l->lines[i] > l->max_number)
			l->max_number = l->lines[i];
		if (l->info[i].settings.active_low)
			l->any_active_low = true;
	}
	index_of = realloc(l->index_of, ((size_t)l->max_number + 1) * sizeof(int));
	if (!index_of)
		return -ENOMEM;
	l->index_of = index_of;
	for (size_t i = 0; i <= l->max_number; i++)
		l->index_of[i] = -1;
	for (size_t i = 0; i < l->n_lines; i++) {
		if (l->index_of[l->lines[i]] >= 0)
			return -EEXIST;
		l->index_of[l->lines[i]] = (int)i;
	}
	return 0;
}

int layout_new(Layout **ret, unsigned n_rows, unsigned n_cols, const unsigned *matrix)
{
	_cleanup_(layout_freep) Layout *l = NULL;
	_cleanup_(freep) unsigned *positions = NULL;
	size_t n = (size_t)n_rows * n_cols;
	char ref[16];
	int r;

	if (n_rows == 0 || n_cols == 0 || n > LAYOUT_LINES_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (matrix[i] > LAYOUT_OFFSET_MAX)
			return -ERANGE;
	r = layout_new_empty(&l, NULL);
	if (r < 0)
		return r;
	positions = malloc(n * sizeof(unsigned));
	if (!positions)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		snprintf(ref, sizeof(ref), "%u", matrix[i]);
		r = layout_add_ref(l, ref, NULL, NULL, 0);
		if (r < 0)
			return r;
		positions[i] = (unsigned)r;
	}
	r = layout_set_matrix(l, n_rows, n_cols, positions);
	if (r < 0)
		return r;
	r = layout_finish(l);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(l);
	return 0;
}

int layout_new_default(Layout **ret)
{
	return layout_new(ret, 5, 5, &layout_default_matrix[0][0]);
}

int layout_set_name(Layout *l, size_t index, const char *name)
{
	char *copy = NULL;

	if (index >= l->n_lines)
		return -EINVAL;
	if (name) {
		copy = strdup(name);
		if (!copy)
			return -ENOMEM;
	}
	free(l->info[index].name);
	l->info[index].name = copy;
	return 0;
}

int layout_name_unnamed_lines(Layout *l)
{
	char name[16];
	int r;

	for (size_t i = 0; i < l->n_lines; i++) {
		if (l->info[i].name || !l->info[i].has_offset)
			continue;
		snprintf(name, sizeof(name), "GPIO%u", l->info[i].offset);
		r = layout_set_name(l, i, name);
		if (r < 0)
			return r;
	}
	return 0;
}

int layout_index_of(const Layout *l, unsigned number)
{
	if (!l->index_of || number > l->max_number || l->index_of[number] < 0)
		return -ENOENT;
	return l->index_of[number];
}

int layout_find_name(const Layout *l, const char *name, unsigned *ret)
{
	for (size_t i = 0; i < l->n_lines; i++)
		if (l->info[i].alias && streq(l->info[i].alias, name)) {
			*ret = l->lines[i];
			return 0;
		}
	for (size_t i = 0; i < l->n_lines; i++)
		if (l->info[i].name && streq(l->info[i].name, name)) {
			*ret = l->lines[i];
			return 0;
		}
	for (size_t i = 0; i < l->n_lines; i++)
		if (l->info[i].ref && streq(l->info[i].ref, name)) {
			*ret = l->lines[i];
			return 0;
		}
	return -ENOENT;
}

int offset_compare(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

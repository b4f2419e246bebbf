/* SPDX-License-Identifier: MIT */
/*
 * The Layout and Lines decoder: a rectangular matrix, a ragged one refused,
 * each line's settings kept, the empty cases, and values of the wrong
 * signature refused.
 */
#include <errno.h>
#include <stdlib.h>

#include "lines.h"
#include "message.h"
#include "strv.h"
#include "test.h"

static sd_bus *bus;

/* A Layout value of @n_rows rows; row i has @cols[i] numbers from @numbers, in order. */
static sd_bus_message *matrix_message(unsigned n_rows, const unsigned *cols, const unsigned *numbers)
{
	sd_bus_message *m = NULL;
	size_t k = 0;

	check_int(test_message_new(bus, &m), 0);
	check(sd_bus_message_open_container(m, 'a', "au") >= 0);
	for (unsigned i = 0; i < n_rows; i++) {
		check(sd_bus_message_open_container(m, 'a', "u") >= 0);
		for (unsigned j = 0; j < cols[i]; j++)
			check(sd_bus_message_append_basic(m, 'u', &numbers[k++]) >= 0);
		check(sd_bus_message_close_container(m) >= 0);
	}
	check(sd_bus_message_close_container(m) >= 0);
	check_int(test_message_seal(m), 0);
	return m;
}

static void test_matrix(void)
{
	static const unsigned numbers[] = { 17, 27, 22, 10, 9, 11 };
	unsigned *matrix = NULL, rows = 0, cols = 0;
	sd_bus_message *m;

	m = matrix_message(2, (const unsigned[]){ 3, 3 }, numbers);
	check_int(lines_read_matrix(m, &matrix, &rows, &cols), 0);
	check_int(rows, 2);
	check_int(cols, 3);
	check(matrix && matrix[0] == 17 && matrix[2] == 22 && matrix[3] == 10 && matrix[5] == 11);
	free(matrix);
	sd_bus_message_unref(m);

	/* Ragged: the second row is shorter, or longer; refused, not cut. */
	m = matrix_message(2, (const unsigned[]){ 3, 2 }, numbers);
	check_int(lines_read_matrix(m, &matrix, &rows, &cols), -EBADMSG);
	sd_bus_message_unref(m);
	m = matrix_message(2, (const unsigned[]){ 2, 3 }, numbers);
	check_int(lines_read_matrix(m, &matrix, &rows, &cols), -EBADMSG);
	sd_bus_message_unref(m);
	/* An empty row is no row of a matrix. */
	m = matrix_message(2, (const unsigned[]){ 0, 0 }, numbers);
	check_int(lines_read_matrix(m, &matrix, &rows, &cols), -EBADMSG);
	sd_bus_message_unref(m);

	/* No rows: no matrix. */
	m = matrix_message(0, NULL, numbers);
	rows = cols = 7;
	check_int(lines_read_matrix(m, &matrix, &rows, &cols), 0);
	check(matrix == NULL);
	check_int(rows, 0);
	check_int(cols, 0);
	sd_bus_message_unref(m);

	/* Of the wrong signature: au, not aau. */
	check_int(test_message_new(bus, &m), 0);
	check(sd_bus_message_append(m, "au", 2, 17, 27) >= 0);
	check_int(test_message_seal(m), 0);
	check(lines_read_matrix(m, &matrix, &rows, &cols) < 0);
	sd_bus_message_unref(m);
}

/* One line of a Lines value: reference, alias, chip label, then its settings. */
typedef struct TestLine {
	const char *ref, *alias, *label;
	bool numbered;
	unsigned number;
	const char *chip;
	bool has_offset;
	unsigned offset;
	const char *kind, *name, *drive, *bias, *initial, *exit;
	bool active_low;
} TestLine;

static sd_bus_message *lines_message(const TestLine *lines, size_t n, bool extra_keys)
{
	sd_bus_message *m = NULL;

	check_int(test_message_new(bus, &m), 0);
	check(sd_bus_message_open_container(m, 'a', "(sssa{sv})") >= 0);
	for (size_t i = 0; i < n; i++) {
		const TestLine *t = &lines[i];

		check(sd_bus_message_open_container(m, 'r', "sssa{sv}") >= 0);
		check(sd_bus_message_append(m, "sss", t->ref, t->alias, t->label) >= 0);
		check(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
		if (t->numbered)
			check(sd_bus_message_append(m, "{sv}", "number", "u", t->number) >= 0);
		if (t->has_offset)
			check(sd_bus_message_append(m, "{sv}", "offset", "u", t->offset) >= 0);
		if (t->chip)
			check(sd_bus_message_append(m, "{sv}", "chip", "s", t->chip) >= 0);
		if (t->kind)
			check(sd_bus_message_append(m, "{sv}", "kind", "s", t->kind) >= 0);
		if (t->name)
			check(sd_bus_message_append(m, "{sv}", "name", "s", t->name) >= 0);
		if (t->active_low)
			check(sd_bus_message_append(m, "{sv}", "active_low", "b", 1) >= 0);
		if (t->drive)
			check(sd_bus_message_append(m, "{sv}", "drive", "s", t->drive) >= 0);
		if (t->bias)
			check(sd_bus_message_append(m, "{sv}", "bias", "s", t->bias) >= 0);
		if (t->initial)
			check(sd_bus_message_append(m, "{sv}", "initial", "s", t->initial) >= 0);
		if (t->exit)
			check(sd_bus_message_append(m, "{sv}", "exit", "s", t->exit) >= 0);
		if (extra_keys) {
			/* A key from a newer daemon, and a known one of another type: skipped. */
			check(sd_bus_message_append(m, "{sv}", "colour", "s", "red") >= 0);
			check(sd_bus_message_append(m, "{sv}", "bias", "u", 3) >= 0);
		}
		check(sd_bus_message_close_container(m) >= 0);
		check(sd_bus_message_close_container(m) >= 0);
	}
	check(sd_bus_message_close_container(m) >= 0);
	check_int(test_message_seal(m), 0);
	return m;
}

static const TestLine board[] = {
	{ .ref = "17", .alias = "", .label = "pinctrl", .numbered = true, .number = 17,
	  .chip = "gpiochip0", .has_offset = true, .offset = 17 },
	{ .ref = "27", .alias = "status", .label = "pinctrl", .numbered = true, .number = 27,
	  .chip = "gpiochip0", .has_offset = true, .offset = 27, .active_low = true,
	  .drive = "open-drain", .bias = "pull-up", .initial = "on", .exit = "keep" },
	{ .ref = "22", .alias = "", .label = "pinctrl", .numbered = true, .number = 22,
	  .chip = "gpiochip0", .has_offset = true, .offset = 22, .name = "GPIO22" },
	{ .ref = "10", .alias = "", .label = "pinctrl", .numbered = true, .number = 10,
	  .chip = "gpiochip0", .has_offset = true, .offset = 10, .drive = "sideways",
	  .bias = "sideways", .initial = "sideways", .exit = "sideways" },
	{ .ref = "leds:power", .alias = "power", .label = "leds", .numbered = true,
	  .number = 65536, .chip = "leds", .kind = "led" },
};

static void test_layout(void)
{
	static const unsigned matrix[] = { 17, 27, 22, 10 };
	Layout *l = NULL;
	char **labels = NULL;
	sd_bus_message *m;
	int k;

	m = lines_message(board, ELEMENTSOF(board), true);
	check_int(lines_read_layout(m, 2, 2, matrix, &l, &labels), 0);
	sd_bus_message_unref(m);
	if (!l)
		return;
	check_int(l->n_rows, 2);
	check_int(l->n_cols, 2);
	check_int(l->n_lines, 5);
	check_str(l->chips[0], "gpiochip0");
	/* The matrix's lines first, in matrix order, then the others. */
	check_int(l->lines[0], 17);
	check_int(l->lines[1], 27);
	check_int(l->lines[4], 65536);

	/* Settings kept, unknown words and keys skipped. */
	k = layout_index_of(l, 27);
	check(k >= 0);
	if (k >= 0) {
		const LayoutLine *info = &l->info[k];

		check(info->settings.active_low);
		check_int(info->settings.drive, LINE_DRIVE_OPEN_DRAIN);
		check_int(info->settings.bias, LINE_BIAS_PULL_UP);
		check_int(info->settings.initial, LINE_STATE_ON);
		check_int(info->settings.exit, LINE_STATE_KEEP);
		check_str(info->alias, "status");
		check(info->has_offset && info->offset == 27);
	}
	k = layout_index_of(l, 10);
	check(k >= 0);
	if (k >= 0) {
		/* Words from a newer daemon leave the defaults. */
		check_int(l->info[k].settings.drive, LINE_DRIVE_PUSH_PULL);
		check_int(l->info[k].settings.bias, LINE_BIAS_AS_IS);
		check_int(l->info[k].settings.initial, LINE_STATE_OFF);
		check_int(l->info[k].settings.exit, LINE_STATE_OFF);
		check(!l->info[k].settings.active_low);
		check(l->info[k].alias == NULL);
	}
	k = layout_index_of(l, 22);
	check(k >= 0 && l->info[k].name && streq(l->info[k].name, "GPIO22"));
	k = layout_index_of(l, 65536);
	check(k >= 0 && l->info[k].analog && !l->info[k].has_offset);
	check(k >= 0 && streq(l->chips[l->info[k].chip], "leds"));
	check(k >= 0 && labels && streq(labels[k], "leds"));
	check_int(strv_length(labels), 5);
	check_str(labels[0], "pinctrl");
	strv_free(labels);
	layout_free(l);
	l = NULL;

	/* Without a matrix, and without labels asked for. */
	m = lines_message(board, ELEMENTSOF(board), false);
	check_int(lines_read_layout(m, 0, 0, NULL, &l, NULL), 0);
	check(l && l->n_rows == 0 && l->n_lines == 5);
	layout_free(l);
	l = NULL;
	sd_bus_message_unref(m);
}

static void test_layout_refused(void)
{
	static const unsigned matrix[] = { 17, 27, 22, 99 };
	TestLine twice[] = { board[0], board[0] };
	TestLine unnumbered[] = { board[0], board[1] };
	TestLine too_far[] = { { .ref = "x:1", .alias = "", .label = "x", .numbered = true,
				  .number = 1u << 30, .chip = "x" } };
	Layout *l = NULL;
	sd_bus_message *m;

	/* The matrix names line 99, which Lines lacks. */
	m = lines_message(board, 4, false);
	check_int(lines_read_layout(m, 2, 2, matrix, &l, NULL), -EBADMSG);
	sd_bus_message_unref(m);

	/* No lines at all. */
	m = lines_message(board, 0, false);
	check_int(lines_read_layout(m, 0, 0, NULL, &l, NULL), -EBADMSG);
	sd_bus_message_unref(m);

	m = lines_message(twice, 2, false);
	check_int(lines_read_layout(m, 0, 0, NULL, &l, NULL), -EBADMSG);
	sd_bus_message_unref(m);

	unnumbered[1].numbered = false;
	m = lines_message(unnumbered, 2, false);
	check_int(lines_read_layout(m, 0, 0, NULL, &l, NULL), -EBADMSG);
	sd_bus_message_unref(m);

	m = lines_message(too_far, 1, false);
	check_int(lines_read_layout(m, 0, 0, NULL, &l, NULL), -EBADMSG);
	sd_bus_message_unref(m);

	/* Of the wrong signature: a(ssa{sv}), a line without its chip label. */
	check_int(test_message_new(bus, &m), 0);
	check(sd_bus_message_append(m, "a(ssa{sv})", 1, "17", "", 1, "number", "u", 17) >= 0);
	check_int(test_message_seal(m), 0);
	check(lines_read_layout(m, 0, 0, NULL, &l, NULL) < 0);
	sd_bus_message_unref(m);
	check(l == NULL);
}

int main(void)
{
	bus = test_message_bus();
	check(bus != NULL);
	if (!bus)
		return test_summary("test-lines");
	test_matrix();
	test_layout();
	test_layout_refused();
	sd_bus_unref(bus);
	return test_summary("test-lines");
}

/* SPDX-License-Identifier: MIT */
/*
 * The Chips, Lit and Levels decoder: good values, empty ones, values of the
 * wrong signature refused with nothing returned, numbers the reader's layout
 * may not have kept as sent, dark lines left out of Levels, the levels of a
 * daemon without Levels, and a level's rounding at 0, 1 and between.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "message.h"
#include "program.h"
#include "properties.h"
#include "test.h"

static sd_bus *bus;

/* A sealed message holding one value of @types, ready to read. */
#define value_message(m, types, ...)                                                               \
	do {                                                                                       \
		check_int(test_message_new(bus, &(m)), 0);                                         \
		check(sd_bus_message_append((m), types, __VA_ARGS__) >= 0);                        \
		check_int(test_message_seal(m), 0);                                                \
	} while (0)

static void test_chips(void)
{
	BlinkdChip *chips = NULL;
	size_t n = 99;
	sd_bus_message *m;

	value_message(m, "a(ssb)", 2, "pinctrl-bcm2711", "/dev/gpiochip0", 1, "", "/dev/gpiochip4",
		      0);
	check_int(properties_read_chips(m, &chips, &n), 0);
	check_int(n, 2);
	if (n == 2 && chips) {
		check_str(chips[0].label, "pinctrl-bcm2711");
		check_str(chips[0].path, "/dev/gpiochip0");
		check(chips[0].present);
		check_str(chips[1].label, "");
		check_str(chips[1].path, "/dev/gpiochip4");
		check(!chips[1].present);
	}
	blinkd_chips_free(chips, n);
	sd_bus_message_unref(m);

	/* Of the wrong signature: a(ss), without "present". */
	chips = NULL;
	n = 99;
	value_message(m, "a(ss)", 1, "label", "/dev/gpiochip0");
	check(properties_read_chips(m, &chips, &n) < 0);
	check(chips == NULL);
	check_int(n, 99);
	sd_bus_message_unref(m);

	blinkd_chips_free(NULL, 0);
}

static void test_lit(void)
{
	unsigned *lit = NULL;
	size_t n = 99;
	sd_bus_message *m;

	/* 65537 is a number above the offsets (an LED, a second chip's line): kept as sent. */
	value_message(m, "au", 3, 17, 65537, 4);
	check_int(properties_read_lit(m, &lit, &n), 0);
	check_int(n, 3);
	if (n == 3 && lit) {
		check_int(lit[0], 17);
		check_int(lit[1], 65537);
		check_int(lit[2], 4);
	}
	free(lit);
	sd_bus_message_unref(m);

	lit = NULL;
	n = 99;
	value_message(m, "as", 1, "17");
	check(properties_read_lit(m, &lit, &n) < 0);
	check(lit == NULL);
	check_int(n, 99);
	sd_bus_message_unref(m);
}

static void test_levels(void)
{
	BlinkdLevel *levels = NULL;
	size_t n = 99;
	sd_bus_message *m;

	/* Dark lines (0, below 0, NaN) are left out; above 1 is 1; unknown numbers kept. */
	value_message(m, "a(ud)", 6, 17, 0.5, 4, 0.0, 27, 1.5, 22, -0.25, 10, NAN, 65537, 1.0);
	check_int(properties_read_levels(m, &levels, &n), 0);
	check_int(n, 3);
	if (n == 3 && levels) {
		check_int(levels[0].number, 17);
		check(levels[0].level == 0.5);
		check_int(levels[1].number, 27);
		check(levels[1].level == 1.0);
		check_int(levels[2].number, 65537);
		check(levels[2].level == 1.0);
	}
	free(levels);
	sd_bus_message_unref(m);

	/* Of the wrong signature: the levels as strings. */
	levels = NULL;
	n = 99;
	value_message(m, "a(us)", 1, 17, "0.5");
	check(properties_read_levels(m, &levels, &n) < 0);
	check(levels == NULL);
	check_int(n, 99);
	sd_bus_message_unref(m);
}

/* Empty arrays: no chips, nothing lit; Lit and Levels read, so not NULL. */
static void test_empty(void)
{
	BlinkdChip *chips = NULL;
	unsigned *lit = NULL;
	BlinkdLevel *levels = NULL;
	size_t n_chips = 99, n_lit = 99, n_levels = 99;
	sd_bus_message *m;

	value_message(m, "a(ssb)aua(ud)", 0, 0, 0);
	check_int(properties_read_chips(m, &chips, &n_chips), 0);
	check_int(properties_read_lit(m, &lit, &n_lit), 0);
	check_int(properties_read_levels(m, &levels, &n_levels), 0);
	check_int(n_chips, 0);
	check_int(n_lit, 0);
	check_int(n_levels, 0);
	check(lit != NULL);
	check(levels != NULL);
	blinkd_chips_free(chips, n_chips);
	free(lit);
	free(levels);
	sd_bus_message_unref(m);
}

static void test_levels_of_lit(void)
{
	static const BlinkdLevel old[] = { { .number = 17, .level = 0.25 },
					   { .number = 4, .level = 0.75 } };
	static const unsigned lit[] = { 4, 22 };
	BlinkdLevel *levels = NULL;

	/* 4 keeps its level, 22 was dark: full; 17 went dark: gone. */
	check_int(properties_levels_of_lit(old, 2, lit, 2, &levels), 0);
	if (levels) {
		check_int(levels[0].number, 4);
		check(levels[0].level == 0.75);
		check_int(levels[1].number, 22);
		check(levels[1].level == 1.0);
	}
	free(levels);

	/* A daemon without Levels: every lit line at full level. */
	levels = NULL;
	check_int(properties_levels_of_lit(NULL, 0, lit, 2, &levels), 0);
	if (levels) {
		check(levels[0].level == 1.0);
		check(levels[1].level == 1.0);
	}
	free(levels);

	levels = NULL;
	check_int(properties_levels_of_lit(old, 2, NULL, 0, &levels), 0);
	check(levels != NULL);
	free(levels);
}

static void test_level_scale(void)
{
	check_int(properties_level_scale(0), 0);
	check_int(properties_level_scale(-0.5), 0);
	check_int(properties_level_scale(NAN), 0);
	check_int(properties_level_scale(1), LEVEL_MAX);
	check_int(properties_level_scale(1.5), LEVEL_MAX);
	check_int(properties_level_scale(0.5), LEVEL_MAX / 2);
	check_int(properties_level_scale(0.25), LEVEL_MAX / 4);
	/* Rounded to the nearest step, not cut: 0.6 and 3333.3 and 9999.6 steps. */
	check_int(properties_level_scale(0.00006), 1);
	check_int(properties_level_scale(0.00004), 0);
	check_int(properties_level_scale(0.33333), 3333);
	check_int(properties_level_scale(0.99996), LEVEL_MAX);
	check_int(properties_level_scale(0.99994), LEVEL_MAX - 1);
}

int main(void)
{
	bus = test_message_bus();
	check(bus != NULL);
	if (!bus)
		return test_summary("test-properties");
	test_chips();
	test_lit();
	test_levels();
	test_empty();
	test_levels_of_lit();
	test_level_scale();
	sd_bus_unref(bus);
	return test_summary("test-properties");
}

/* SPDX-License-Identifier: MIT */
/*
 * The one decoder of the daemon's Chips (a(ssb)), Lit (au) and Levels
 * (a(ud)) values, property or signal, for every reader of io.blinkd1: the
 * remote blinkd keeps them, blinkd-client's watch --once reads them once.
 * Layout and Lines, which make a Layout, are decoded in lines.h.
 *
 * Nothing here owns the message it reads; the arrays it returns are the
 * caller's (blinkd_chips_free() for chips, free() for the others).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

/* One entry of the Chips property. */
typedef struct BlinkdChip {
	char *label; /* "" while never seen, for a chip named by its path */
	char *path;  /* "" while never seen, for a chip named by its label or name */
	bool present;
} BlinkdChip;

/* A lit line and its level, 0 < level <= 1. */
typedef struct BlinkdLevel {
	unsigned number;
	double level;
} BlinkdLevel;

/*
 * properties_read_chips() - a Chips value at @m (a(ssb)), in the daemon's
 * order, into a new array (NULL for none). Returns 0 or a negative errno,
 * with nothing returned.
 */
int properties_read_chips(sd_bus_message *m, BlinkdChip **ret, size_t *ret_n);

/* Free @n chips of @chips and the array; NULL-safe. */
void blinkd_chips_free(BlinkdChip *chips, size_t n);

/*
 * properties_read_lit() - an "au" of line numbers at @m (Lit, or a Frame's
 * after its time), as the daemon sent them, numbers the reader does not know
 * included, into a new array that is never NULL. Returns 0 or a negative
 * errno.
 */
int properties_read_lit(sd_bus_message *m, unsigned **ret, size_t *ret_n);

/*
 * properties_read_levels() - an "a(ud)" of Levels at @m (property or
 * signal): the lines above 0 only (a level that is 0, negative or NaN is a
 * dark line, left out), a level above 1 taken as 1, into a new array that is
 * never NULL. Returns 0 or a negative errno.
 */
int properties_read_levels(sd_bus_message *m, BlinkdLevel **ret, size_t *ret_n);

/*
 * properties_levels_of_lit() - levels for the @n lines @lit lights: the
 * level each had in @old (@n_old of them, may be NULL), or 1 for a line that
 * was dark; every lit line at full level without @old, as a daemon without
 * Levels means it. A new array of @n, never NULL; 0 or -ENOMEM.
 */
int properties_levels_of_lit(const BlinkdLevel *old, size_t n_old, const unsigned *lit, size_t n,
			     BlinkdLevel **ret);

/*
 * properties_level_scale() - a level of properties_read_levels() on the
 * programs' integer scale, 0..LEVEL_MAX (program.h): 1 and above is
 * LEVEL_MAX exactly, others are rounded to the nearest step, 0 and below
 * (and NaN) are 0.
 */
uint16_t properties_level_scale(double level);

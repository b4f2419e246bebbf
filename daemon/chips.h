/* SPDX-License-Identifier: MIT */
/*
 * The chips of the layout: finding them (by path, name or label, through
 * udev), requesting their lines with their settings, writing each instant's
 * batch as one write per chip, and following chips that come and go.
 *
 * A chip that is absent (at start, unplugged, driver unbound) is not an
 * error: its lines are not written, the caller is told through
 * ChipsOps.changed, and when the chip appears its lines are requested at once
 * with the state the caller gives for each (ChipsOps.line_state).
 *
 * Owner: the Manager owns Chips; Chips owns every Gpio and SimChip. It
 * borrows the Layout (whose lines it names as the chips name them).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "config-file.h"
#include "layout.h"
#include "macro.h"

typedef struct Chips Chips;

typedef struct ChipsOps {
	/* The level to request line @number at (0..LEVEL_MAX) while a program drives it, else -1. */
	int (*line_state)(void *userdata, unsigned number);
	/*
	 * Chip @chip appeared (its lines now have @values) or vanished (@n is 0).
	 * Called from chips_start() for every chip found, and whenever a chip
	 * comes or goes.
	 */
	void (*changed)(void *userdata, size_t chip, bool present, size_t n,
			const unsigned *numbers, const uint16_t *values);
} ChipsOps;

/*
 * chips_new() - the chips of @layout. With @sim every chip is simulated: the
 * config's sim_chips by label, and any other chip the built-in one ("sim",
 * every line named GPIO<offset>).
 */
int chips_new(Chips **ret, sd_event *event, Layout *layout, const Config *config, bool sim,
	      const ChipsOps *ops, void *userdata);

/*
 * chips_start() - find every chip, request the lines of those present, and
 * start following chips that come and go. A line that cannot be had on a
 * chip that is there (a name the chip does not have, an offset past its end,
 * a line held elsewhere) is an error, logged with the line's place in the
 * configuration.
 */
int chips_start(Chips *c);

/*
 * chips_write() - write one batch: @numbers (ascending) and their logical
 * @values (0..LEVEL_MAX; a GPIO line is lit at any level above 0), one write
 * per chip, back to back. Lines on absent chips are
 * skipped; a chip whose write fails is taken as gone. On return *@ret_n,
 * *@ret_numbers and *@ret_values hold what was written (for the trace):
 * @numbers and @values themselves when every line went out, else the
 * chips' own arrays.
 */
void chips_write(Chips *c, size_t n, const unsigned *numbers, const uint16_t *values,
		 size_t *ret_n, const unsigned **ret_numbers, const uint16_t **ret_values);

/*
 * chips_exit() - drive every line to its exit state (off, on, or left as
 * it is with "keep") and release every chip. What was written is returned
 * as by chips_write(). After it, chips_write() writes nothing.
 */
void chips_exit(Chips *c, size_t *ret_n, const unsigned **ret_numbers, const uint16_t **ret_values);

size_t chips_count(const Chips *c);
/* The chip as the configuration names it, its label and path once seen (NULL before), presence. */
void chips_get(const Chips *c, size_t i, const char **ret_spec, const char **ret_label,
	       const char **ret_path, bool *ret_present);
size_t chips_n_absent(const Chips *c);

/*
 * Simulation only: make chip @spec (a label, "sim" or a sim path; NULL: every
 * chip) vanish or return. Returns -ENOENT for no such chip, -EOPNOTSUPP when
 * not simulating.
 */
int chips_sim_set_present(Chips *c, const char *spec, bool present);
bool chips_is_sim(const Chips *c);
/* Simulation only: the physical level (0..LEVEL_MAX) of line @offset of chip @chip, -ENODEV while away. */
int chips_sim_level(const Chips *c, const char *chip, unsigned offset);

/*
 * The simulated chip @spec goes without a word, as a chip pulled out before
 * udev says so: the next write to it fails, and that is how the daemon
 * learns it is gone. For tests of that path.
 */
int chips_sim_vanish_silently(Chips *c, const char *spec);

Chips *chips_free(Chips *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Chips *, chips_free);

/* SPDX-License-Identifier: MIT */
/*
 * One chip's backend: the layout's lines on one chip, requested as outputs
 * with their settings. Two implementations: libgpiod v2 (one line request per
 * chip) and the simulated chip. Values are logical (1 = lit = active); the
 * backend applies polarity. chips.c owns every Gpio and knows which layout
 * lines are on which chip; a backend knows nothing of programs or numbers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "macro.h"

typedef struct Gpio Gpio;

/* A line to request. */
typedef struct GpioLine {
	const char *line_name;	/* in: find the line by this name; NULL: by offset */
	unsigned offset;	/* in (by offset) or out (found by name) */
	LineSettings settings;
	int value;		/* in: the level to drive (0..LEVEL_MAX; a GPIO line is lit
				 * above 0), or -1 to keep its present level;
				 * out: its level, 0..LEVEL_MAX */
	char *name;		/* out: the name the chip gives the line (malloc'ed), or NULL */
} GpioLine;

/* Why an open failed, for the caller's message. */
typedef struct GpioOpenError {
	size_t line;		/* which line of the request, when the error is about one */
	bool about_line;
	char message[256];
} GpioOpenError;

typedef struct GpioOps {
	/* Levels 0..LEVEL_MAX: a GPIO line is lit at any level above 0, an LED at its level. */
	int (*set)(Gpio *g, size_t n, const unsigned *offsets, const uint16_t *levels);
	/* Drive each line to @exit_values[i] (0, 1, or -1: leave it), release, free. */
	void (*close)(Gpio *g, const int *exit_values);
} GpioOps;

struct Gpio {
	const GpioOps *ops;
	char *path;	  /* "/dev/gpiochip0", or "sim/LABEL" */
	char *label;
	size_t n_lines;	  /* as requested, in request order */
	unsigned *offsets;
};

/*
 * gpio_open_gpiod() - request @n lines on the chip at @path under @consumer.
 * Names are looked up first, and each line's name is read. Returns 0, or a
 * negative errno with @error filled: -ENOENT (no line of that name), -ERANGE
 * (no such offset), -EBUSY (held: the message says by whom), or the errno of
 * opening the chip or of the request.
 */
int gpio_open_gpiod(Gpio **ret, const char *path, const char *consumer, size_t n,
		    GpioLine *lines, GpioOpenError *error);

/* gpio_chip_label() - the label of the chip at @path, malloc'ed. */
int gpio_chip_label(const char *path, char **ret);

/*
 * The simulated "hardware": chips with a label, lines, names and levels,
 * that can vanish and return. It outlives the Gpio opened on it.
 */
typedef struct SimChip {
	char *label;
	char *path;	    /* "sim" for the built-in chip, "sim/LABEL" for declared ones */
	unsigned n_lines;
	char **names;	    /* n_lines entries or NULL; NULL entries: "GPIO<offset>" */
	uint16_t *levels;   /* physical level per offset (0..LEVEL_MAX; GPIO lines 0 or LEVEL_MAX) */
	bool analog;	    /* an LED: levels as they are, no polarity */
	bool present;
	bool requested;
} SimChip;

/* @levels: each line's physical level at start (0 or 1), or NULL for all low. */
int sim_chip_new(SimChip **ret, const char *label, const char *path, unsigned n_lines,
		 char *const *names, const uint8_t *levels, bool present);
SimChip *sim_chip_free(SimChip *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SimChip *, sim_chip_free);

/* gpio_open_sim() - as gpio_open_gpiod(), on @chip; -ENODEV while it is away. */
int gpio_open_sim(Gpio **ret, SimChip *chip, size_t n, GpioLine *lines, GpioOpenError *error);

/* Make the chip vanish (its lines lose their levels, writes fail) or return. */
void sim_chip_set_present(SimChip *s, bool present);

/* gpio_write() - write one batch of logical levels to the chip: one call. */
int gpio_write(Gpio *g, size_t n, const unsigned *offsets, const uint16_t *levels);

/*
 * gpio_open_led() - the LED class device /sys/class/leds/@name as a chip of
 * one line (offset 0) that takes levels as brightness. Its trigger is set to
 * "none" while blinkd drives it and restored at close.
 */
int gpio_open_led(Gpio **ret, const char *name, size_t n, GpioLine *lines, GpioOpenError *error);

/* Where LED class devices are: /sys/class/leds. */
const char *gpio_leds_dir(void);

/* Drive the lines to their exit values (see GpioOps.close), release, free. NULL: none. */
Gpio *gpio_close(Gpio *g, const int *exit_values);

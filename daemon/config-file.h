/* SPDX-License-Identifier: MIT */
/*
 * The configuration file, /etc/blinkd/blinkd.json: the default chip, the
 * consumer name, the lines (a matrix, and per-line settings), the chips of the
 * simulation, named definitions and programs to start. All keys are
 * optional; unknown keys are refused.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "macro.h"

struct json_object;

#define CONFIG_DEFAULT_PATH BLINKD_SYSCONFDIR "/blinkd/blinkd.json"
#define CONFIG_DEFAULT_CHIP "/dev/gpiochip0"
#define CONFIG_DEFAULT_CONSUMER "blinkd"
#define CONFIG_DEFAULT_MAX_PROGRAMS 1024

/* A chip of the simulation ("sim_chips"), used when the daemon runs with --chip sim. */
typedef struct SimChipConfig {
	char *label;
	unsigned n_lines;
	char **names;	/* n_lines entries, NULL where unnamed */
	uint8_t *levels; /* n_lines physical levels at start (0 or 1) */
	bool present;	/* at start */
} SimChipConfig;

/*
 * Who owns a Config: config_load() and config_parse() make it for the
 * caller, who frees it with config_free(); it owns everything in it (the
 * Layout, the sim chips, the definitions and autostart JSON). In the daemon
 * the Manager owns the one Config (m->config, loaded first in manager_new(),
 * freed last in manager_free()) and reads its settings (max_programs,
 * path for messages) for as long; everything else borrows it through the
 * Manager: the Layout for the daemon's whole life (see layout.h); the chips
 * only inside chips_new(), which copies the consumer, the path and the sim
 * chips. The definitions and autostart JSON are parsed into programs of
 * their own at startup, where autostart also decides which stored programs
 * resume first.
 */
typedef struct Config {
	char *path;			/* where it came from, NULL for built-in defaults */
	char *chip;			/* the default chip: path, name, label, or "sim" */
	char *consumer;
	unsigned max_programs;
	bool precision_spin;		/* "precision": "spin" */
	unsigned pwm_hz;		/* software PWM of GPIO lines between dark and lit */
	Layout *layout;			/* the matrix and "lines", settings included */
	SimChipConfig *sim_chips;
	size_t n_sim_chips;
	struct json_object *definitions; /* name -> program, parsed once the chip names lines */
	struct json_object *autostart;	 /* name -> program */
} Config;

/*
 * config_load() - read and check @path.
 * @must_exist: a missing file is an error (it was named on the command line);
 *              otherwise a missing file means the built-in defaults
 * Logs what is wrong, naming the file and the JSON path, and returns -EINVAL,
 * or another negative errno when the file cannot be read.
 */
int config_load(Config **ret, const char *path, bool must_exist);
/*
 * config_parse() - check configuration text; @label names it in messages.
 * @text must be NUL-terminated at @len.
 */
int config_parse(Config **ret, const char *text, size_t len, const char *label);

Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

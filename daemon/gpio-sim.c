/* SPDX-License-Identifier: MIT */
/*
 * The simulated chip: levels in memory. It is a product feature (development
 * and tests without hardware): chips with labels and line names, polarity,
 * and chips that vanish and return, to exercise hotplug.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpio.h"
#include "program.h"

typedef struct GpioSim {
	Gpio gpio;
	SimChip *chip;
	uint8_t *active_low; /* per offset of the chip */
} GpioSim;

static const GpioOps sim_ops;

int sim_chip_new(SimChip **ret, const char *label, const char *path, unsigned n_lines,
		 char *const *names, const uint8_t *levels, bool present)
{
	_cleanup_(sim_chip_freep) SimChip *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->label = strdup(label);
	s->path = strdup(path);
	s->n_lines = n_lines;
	s->levels = calloc(n_lines, sizeof(uint16_t));
	s->names = calloc(n_lines, sizeof(char *));
	if (!s->label || !s->path || !s->levels || !s->names)
		return -ENOMEM;
	for (unsigned i = 0; names && i < n_lines; i++)
		if (names[i]) {
			s->names[i] = strdup(names[i]);
			if (!s->names[i])
				return -ENOMEM;
		}
	for (unsigned i = 0; levels && i < n_lines; i++)
		s->levels[i] = levels[i] ? LEVEL_MAX : 0;
	s->present = present;
	*ret = TAKE_PTR(s);
	return 0;
}

SimChip *sim_chip_free(SimChip *s)
{
	if (!s)
		return NULL;
	for (unsigned i = 0; s->names && i < s->n_lines; i++)
		free(s->names[i]);
	free(s->names);
	free(s->levels);
	free(s->label);
	free(s->path);
	free(s);
	return NULL;
}

void sim_chip_set_present(SimChip *s, bool present)
{
	if (!present)
		/* Unplugged: the lines lose their levels, as a chip's do without power. */
		memset(s->levels, 0, s->n_lines * sizeof(uint16_t));
	s->present = present;
}

/* The physical level of a line at logical @level. */
static uint16_t sim_physical(const GpioSim *s, unsigned offset, uint16_t level)
{
	if (s->chip->analog)
		return level;
	return (level > 0) ^ s->active_low[offset] ? LEVEL_MAX : 0;
}

static int sim_set(Gpio *g, size_t n, const unsigned *offsets, const uint16_t *levels)
{
	GpioSim *s = (GpioSim *)g;

	if (!s->chip->present)
		return -ENODEV;
	for (size_t i = 0; i < n; i++) {
		if (offsets[i] >= s->chip->n_lines)
			return -EINVAL;
		s->chip->levels[offsets[i]] = sim_physical(s, offsets[i], levels[i]);
	}
	return 0;
}

static void sim_close(Gpio *g, const int *exit_values)
{
	GpioSim *s = (GpioSim *)g;

	if (s->chip) {
		for (size_t i = 0; exit_values && s->chip->present && i < g->n_lines; i++)
			if (exit_values[i] >= 0)
				s->chip->levels[g->offsets[i]] = sim_physical(
					s, g->offsets[i], exit_values[i] ? LEVEL_MAX : 0);
		s->chip->requested = false;
	}
	free(s->active_low);
	free(g->offsets);
	free(g->path);
	free(g->label);
	free(s);
}

static const GpioOps sim_ops = {
	.set = sim_set,
	.close = sim_close,
};

static const char *sim_line_name(const SimChip *c, unsigned offset, char buf[static 16])
{
	if (c->names[offset])
		return c->names[offset];
	snprintf(buf, 16, "GPIO%u", offset);
	return buf;
}

int gpio_open_sim(Gpio **ret, SimChip *chip, size_t n, GpioLine *lines, GpioOpenError *error)
{
	GpioSim *s;
	char buf[16];

	*error = (GpioOpenError){};
	if (!chip->present) {
		snprintf(error->message, sizeof(error->message), "the chip is not there");
		return -ENODEV;
	}
	if (chip->requested) {
		snprintf(error->message, sizeof(error->message), "the chip's lines are in use");
		return -EBUSY;
	}
	for (size_t i = 0; i < n; i++) {
		if (lines[i].line_name) {
			unsigned o;

			for (o = 0; o < chip->n_lines; o++)
				if (streq(sim_line_name(chip, o, buf), lines[i].line_name))
					break;
			if (o == chip->n_lines) {
				*error = (GpioOpenError){ .line = i, .about_line = true };
				snprintf(error->message, sizeof(error->message),
					 "no line is named \"%s\" on %s (%s)", lines[i].line_name,
					 chip->path, chip->label);
				return -ENOENT;
			}
			lines[i].offset = o;
		} else if (lines[i].offset >= chip->n_lines) {
			*error = (GpioOpenError){ .line = i, .about_line = true };
			snprintf(error->message, sizeof(error->message),
				 "line %u does not exist, %s (%s) has %u lines", lines[i].offset,
				 chip->path, chip->label, chip->n_lines);
			return -ERANGE;
		}
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < i; k++)
			if (lines[k].offset == lines[i].offset) {
				*error = (GpioOpenError){ .line = i, .about_line = true };
				snprintf(error->message, sizeof(error->message),
					 "is line %u of %s (%s), which another reference names too",
					 lines[i].offset, chip->path, chip->label);
				return -EEXIST;
			}

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->gpio.ops = &sim_ops;
	s->chip = chip;
	s->gpio.n_lines = n;
	s->gpio.offsets = calloc(n, sizeof(unsigned));
	s->active_low = calloc(chip->n_lines, 1);
	s->gpio.path = strdup(chip->path);
	s->gpio.label = strdup(chip->label);
	if (!s->gpio.offsets || !s->active_low || !s->gpio.path || !s->gpio.label) {
		s->chip = NULL;
		sim_close(&s->gpio, NULL);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		uint16_t *level = &chip->levels[lines[i].offset];
		bool low = lines[i].settings.active_low && !chip->analog;

		s->gpio.offsets[i] = lines[i].offset;
		s->active_low[lines[i].offset] = low;
		if (lines[i].value >= 0)
			*level = sim_physical(s, lines[i].offset, (uint16_t)lines[i].value);
		lines[i].value = chip->analog ? *level : ((*level > 0) ^ low) ? LEVEL_MAX : 0;
		free(lines[i].name);
		lines[i].name = strdup(chip->analog ? chip->label
						    : sim_line_name(chip, lines[i].offset, buf));
	}
	chip->requested = true;
	*ret = &s->gpio;
	return 0;
}

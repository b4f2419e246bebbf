/* SPDX-License-Identifier: MIT */
/*
 * The simulated chip: values in memory, one per layout line. It is a product
 * feature (development and tests without hardware), and it can be made to
 * vanish and return, to exercise the daemon's handling of a lost chip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpio.h"

typedef struct GpioSim {
	Gpio gpio;
	uint8_t *values; /* per layout line */
	bool present;
} GpioSim;

static const GpioOps sim_ops;

static GpioSim *to_sim(Gpio *g)
{
	return g && g->ops == &sim_ops ? (GpioSim *)g : NULL;
}

bool gpio_is_sim(const Gpio *g)
{
	return g->ops == &sim_ops;
}

static int sim_set(Gpio *g, size_t n, const unsigned *offsets, const uint8_t *values)
{
	GpioSim *s = to_sim(g);

	if (!s->present)
		return -ENODEV;
	for (size_t i = 0; i < n; i++) {
		int idx = layout_index_of(g->layout, offsets[i]);
		if (idx < 0)
			return -EINVAL;
		s->values[idx] = values[i];
	}
	return 0;
}

static void sim_close(Gpio *g)
{
	GpioSim *s = to_sim(g);

	free(s->values);
	free(g->chip);
	free(s);
}

static const GpioOps sim_ops = {
	.set = sim_set,
	.close = sim_close,
};

int gpio_open_sim(Gpio **ret, Layout *layout)
{
	GpioSim *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->gpio.ops = &sim_ops;
	s->gpio.layout = layout;
	s->gpio.chip = strdup("sim");
	s->values = calloc(layout->n_lines, 1);
	s->present = true;
	if (!s->gpio.chip || !s->values) {
		sim_close(&s->gpio);
		return -ENOMEM;
	}
	r = layout_name_unnamed_lines(layout);
	if (r < 0) {
		sim_close(&s->gpio);
		return r;
	}
	*ret = &s->gpio;
	return 0;
}

int gpio_sim_set_present(Gpio *g, bool present)
{
	GpioSim *s = to_sim(g);

	if (!s)
		return -EOPNOTSUPP;
	s->present = present;
	return 0;
}

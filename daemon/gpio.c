/* SPDX-License-Identifier: MIT */
#include "gpio.h"

int gpio_set(Gpio *g, size_t n, const unsigned *offsets, const uint8_t *values)
{
	return g->ops->set(g, n, offsets, values);
}

Gpio *gpio_close(Gpio *g)
{
	if (g)
		g->ops->close(g);
	return NULL;
}

/* SPDX-License-Identifier: MIT */
#include "gpio.h"

int gpio_write(Gpio *g, size_t n, const unsigned *offsets, const uint16_t *levels)
{
	return g->ops->set(g, n, offsets, levels);
}

Gpio *gpio_close(Gpio *g, const int *exit_values)
{
	if (g)
		g->ops->close(g, exit_values);
	return NULL;
}

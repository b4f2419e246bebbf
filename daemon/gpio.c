/* SPDX-License-Identifier: MIT */
#include "gpio.h"

int gpio_write(Gpio *g, size_t n, const unsigned *offsets, const uint8_t *values)
{
	return g->ops->set(g, n, offsets, values);
}

Gpio *gpio_close(Gpio *g, const int *exit_values)
{
	if (g)
		g->ops->close(g, exit_values);
	return NULL;
}

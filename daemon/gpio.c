/* SPDX-License-Identifier: MIT */
#include "gpio.h"
#include "log.h"

int gpio_write(Gpio *g, size_t n, const unsigned *offsets, const uint8_t *values)
{
	int r = g->ops->set(g, n, offsets, values);

	if (r < 0 && !g->lost) {
		g->lost = true;
		(void)log_error_errno(r, "Failed to set lines on GPIO chip %s: %m; trying it "
					 "again every second",
				      g->chip);
	} else if (r >= 0 && g->lost) {
		g->lost = false;
		log_notice("GPIO chip %s works again.", g->chip);
	}
	return r;
}

usec_t gpio_retry_time(const Gpio *g, usec_t now)
{
	return g->lost ? now + GPIO_RETRY_INTERVAL : USEC_INFINITY;
}

Gpio *gpio_close(Gpio *g)
{
	if (g)
		g->ops->close(g);
	return NULL;
}

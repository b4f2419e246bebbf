/* SPDX-License-Identifier: MIT */
/*
 * The GPIO backend: one small interface, two implementations. The libgpiod
 * backend owns one line request for every line of the layout; the simulated
 * chip keeps values in memory and needs no hardware. The engine never knows
 * which one it drives.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "macro.h"

typedef struct Gpio Gpio;

typedef struct GpioOps {
	int (*set)(Gpio *g, size_t n, const unsigned *offsets, const uint8_t *values);
	void (*close)(Gpio *g); /* every line to 0, request released */
} GpioOps;

struct Gpio {
	const GpioOps *ops;
	char *chip;	      /* "/dev/gpiochip0", or "sim" */
	const Layout *layout;
	bool lost;	      /* the last write failed: the chip is retried until one works */
};

/* While the chip is lost, a write is tried again this often. */
#define GPIO_RETRY_INTERVAL USEC_PER_SEC

/*
 * gpio_open_gpiod() - request every line of @layout on @chip_path as an
 * output at 0, under @consumer, and name the layout's lines as the chip does.
 * On failure logs one line naming the chip, the lines and the cause.
 * Returns 0 or a negative errno (-ENOENT, -EACCES, -EBUSY, -ERANGE, ...).
 */
int gpio_open_gpiod(Gpio **ret, const char *chip_path, const char *consumer, Layout *layout);

/*
 * gpio_open_sim() - a simulated chip that has every line of @layout, named
 * "GPIO<offset>" unless the layout names them already.
 */
int gpio_open_sim(Gpio **ret, Layout *layout);

/*
 * gpio_write() - write one batch of values: one call to the chip. Keeps the
 * chip's health: a failed write marks it lost and says so in the log once,
 * the first write that works again marks it back and says that.
 * Returns 0 or the backend's negative errno (-ENODEV when the chip is gone).
 */
int gpio_write(Gpio *g, size_t n, const unsigned *offsets, const uint8_t *values);

/* When to try a lost chip again, from @now; USEC_INFINITY while it works. */
usec_t gpio_retry_time(const Gpio *g, usec_t now);

/* Sim only: make the chip vanish (every write fails with -ENODEV) or return. */
int gpio_sim_set_present(Gpio *g, bool present);
bool gpio_is_sim(const Gpio *g);

/* Drive every line to 0, release the lines, free. */
Gpio *gpio_close(Gpio *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(Gpio *, gpio_close);

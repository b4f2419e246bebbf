/* SPDX-License-Identifier: MIT */
/*
 * An LED class device (/sys/class/leds/NAME) as a chip of one line: a level
 * is written as brightness (level * max_brightness, rounded), no PWM. While
 * blinkd drives it, its trigger is "none", so the kernel does not fight over
 * it; the trigger it had is put back at close.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpio.h"
#include "log.h"
#include "program.h"

typedef struct GpioLed {
	Gpio gpio;
	int brightness_fd;
	unsigned max_brightness;
	char *dir;
	char *trigger; /* the trigger it had, to restore */
	unsigned last; /* the brightness last written */
} GpioLed;

const char *gpio_leds_dir(void)
{
	return "/sys/class/leds";
}

/* Read the small file @dir/@name, without its trailing newline. */
static int read_attr(const char *dir, const char *name, char *buf, size_t size)
{
	char path[512];
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k = read(fd, buf, size - 1);
	(void)close(fd);
	if (k < 0)
		return -errno;
	while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == ' '))
		k--;
	buf[k] = '\0';
	return 0;
}

static int write_attr(const char *dir, const char *name, const char *value)
{
	char path[512];
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k = write(fd, value, strlen(value));
	(void)close(fd);
	return k < 0 ? -errno : 0;
}

static unsigned brightness_of(const GpioLed *l, uint16_t level)
{
	return (unsigned)(((uint64_t)level * l->max_brightness + LEVEL_MAX / 2) / LEVEL_MAX);
}

static int led_write(GpioLed *l, unsigned brightness)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u", brightness);

	if (pwrite(l->brightness_fd, buf, (size_t)n, 0) < 0)
		return -errno;
	l->last = brightness;
	return 0;
}

static int led_set(Gpio *g, size_t n, const unsigned *offsets, const uint16_t *levels)
{
	GpioLed *l = (GpioLed *)g;

	/* One line: the last level of the batch is the one that counts. */
	return n > 0 ? led_write(l, brightness_of(l, levels[n - 1])) : 0;
}

static void led_close(Gpio *g, const int *exit_values)
{
	GpioLed *l = (GpioLed *)g;

	if (l->brightness_fd >= 0) {
		if (exit_values && exit_values[0] >= 0)
			(void)led_write(l, exit_values[0] ? l->max_brightness : 0);
		(void)close(l->brightness_fd);
		/* Back to the kernel's trigger, unless it had none. */
		if (exit_values && l->trigger && !streq(l->trigger, "none") &&
		    write_attr(l->dir, "trigger", l->trigger) < 0)
			log_warning("Failed to give LED %s its trigger \"%s\" back.", g->label,
				    l->trigger);
	}
	free(l->dir);
	free(l->trigger);
	free(g->offsets);
	free(g->path);
	free(g->label);
	free(l);
}

static const GpioOps led_ops = {
	.set = led_set,
	.close = led_close,
};

/* The trigger in force: the word in [brackets] of "none [heartbeat] timer". */
static char *trigger_in_force(const char *triggers)
{
	const char *a = strchr(triggers, '['), *b = a ? strchr(a, ']') : NULL;

	return a && b ? strndup(a + 1, (size_t)(b - a - 1)) : strdup("none");
}

int gpio_open_led(Gpio **ret, const char *name, size_t n, GpioLine *lines, GpioOpenError *error)
{
	char buf[4096], path[512];
	GpioLed *l;
	unsigned brightness = 0;
	int r;

	*error = (GpioOpenError){};
	if (n != 1 || lines[0].line_name || lines[0].offset != 0) {
		snprintf(error->message, sizeof(error->message), "an LED has one line");
		return -EINVAL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->brightness_fd = -1;
	l->gpio.ops = &led_ops;
	l->gpio.n_lines = 1;
	l->gpio.offsets = calloc(1, sizeof(unsigned));
	l->gpio.label = strdup(name);
	snprintf(path, sizeof(path), "%s/%s", gpio_leds_dir(), name);
	l->dir = strdup(path);
	snprintf(path, sizeof(path), "led:%s", name);
	l->gpio.path = strdup(path);
	if (!l->gpio.offsets || !l->gpio.label || !l->dir || !l->gpio.path) {
		led_close(&l->gpio, NULL);
		return -ENOMEM;
	}

	r = read_attr(l->dir, "max_brightness", buf, sizeof(buf));
	if (r >= 0 && (sscanf(buf, "%u", &l->max_brightness) != 1 || l->max_brightness == 0))
		r = -EINVAL;
	if (r < 0) {
		snprintf(error->message, sizeof(error->message), "cannot read %.160s/max_brightness: %s",
			 l->dir, strerror(-r));
		led_close(&l->gpio, NULL);
		return r;
	}
	r = read_attr(l->dir, "trigger", buf, sizeof(buf));
	l->trigger = r >= 0 ? trigger_in_force(buf) : NULL;
	/* Ours now: no trigger blinks it behind our back. */
	r = write_attr(l->dir, "trigger", "none");
	if (r < 0 && r != -ENOENT) {
		snprintf(error->message, sizeof(error->message),
			 "cannot set the trigger of %.160s to none: %s", l->dir, strerror(-r));
		led_close(&l->gpio, NULL);
		return r;
	}
	snprintf(path, sizeof(path), "%s/brightness", l->dir);
	l->brightness_fd = open(path, O_RDWR | O_CLOEXEC);
	if (l->brightness_fd < 0) {
		r = -errno;
		snprintf(error->message, sizeof(error->message), "cannot open %.160s: %s", path,
			 strerror(-r));
		led_close(&l->gpio, NULL);
		return r;
	}
	if (lines[0].value < 0) {
		/* Keep: its brightness as it is. */
		if (read_attr(l->dir, "brightness", buf, sizeof(buf)) >= 0)
			(void)sscanf(buf, "%u", &brightness);
		if (brightness > l->max_brightness)
			brightness = l->max_brightness;
		lines[0].value = (int)(((uint64_t)brightness * LEVEL_MAX + l->max_brightness / 2) /
				       l->max_brightness);
		l->last = brightness;
	} else {
		r = led_write(l, brightness_of(l, (uint16_t)lines[0].value));
		if (r < 0) {
			snprintf(error->message, sizeof(error->message), "cannot write %.160s: %s", path,
				 strerror(-r));
			led_close(&l->gpio, NULL);
			return r;
		}
	}
	free(lines[0].name);
	lines[0].name = strdup(name);
	*ret = &l->gpio;
	return 0;
}

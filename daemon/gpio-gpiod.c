/* SPDX-License-Identifier: MIT */
/*
 * The libgpiod v2 backend: one request for all layout lines, as outputs
 * starting at 0. A batch is one gpiod_line_request_set_values_subset() call,
 * which is one ioctl.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpiod.h>

#include "gpio.h"
#include "log.h"

typedef struct GpioChip {
	Gpio gpio;
	struct gpiod_chip *chip;
	struct gpiod_line_request *request;
	enum gpiod_line_value *values; /* scratch, one per layout line */
} GpioChip;

DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_chip *, gpiod_chip_close);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_info *, gpiod_line_info_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_chip_info *, gpiod_chip_info_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_settings *, gpiod_line_settings_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_config *, gpiod_line_config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_request_config *, gpiod_request_config_free);

static int chip_set(Gpio *g, size_t n, const unsigned *offsets, const uint8_t *values)
{
	GpioChip *c = (GpioChip *)g;

	for (size_t i = 0; i < n; i++)
		c->values[i] = values[i] ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE;
	if (gpiod_line_request_set_values_subset(c->request, n, offsets, c->values) < 0)
		return negative_errno();
	return 0;
}

static void chip_close(Gpio *g)
{
	GpioChip *c = (GpioChip *)g;

	if (c->request) {
		/* Dark first: the kernel keeps the last value after release. */
		for (size_t i = 0; i < g->layout->n_lines; i++)
			c->values[i] = GPIOD_LINE_VALUE_INACTIVE;
		if (gpiod_line_request_set_values(c->request, c->values) < 0)
			(void)log_warning_errno(negative_errno(),
						"Failed to turn the lines of %s off: %m", g->chip);
		gpiod_line_request_release(c->request);
	}
	if (c->chip)
		gpiod_chip_close(c->chip);
	free(c->values);
	free(g->chip);
	free(c);
}

static const GpioOps chip_ops = {
	.set = chip_set,
	.close = chip_close,
};

/* Say who holds the lines we could not have, in one log line. */
static int log_busy(struct gpiod_chip *chip, const char *path, const Layout *layout, int error)
{
	char held[512] = "";
	size_t len = 0;

	for (size_t i = 0; i < layout->n_lines && len < sizeof(held); i++) {
		_cleanup_(gpiod_line_info_freep) struct gpiod_line_info *info =
			gpiod_chip_get_line_info(chip, layout->lines[i]);
		const char *consumer;

		if (!info || !gpiod_line_info_is_used(info))
			continue;
		consumer = gpiod_line_info_get_consumer(info);
		len += (size_t)snprintf(held + len, sizeof(held) - len, "%sline %u held by \"%s\"",
					len ? ", " : "", layout->lines[i],
					consumer && consumer[0] ? consumer : "kernel");
	}
	if (len == 0)
		snprintf(held, sizeof(held), "lines in use");
	return log_error_errno(error, "Failed to request lines on %s: %s: %m", path, held);
}

int gpio_open_gpiod(Gpio **ret, const char *path, const char *consumer, Layout *layout)
{
	_cleanup_(gpiod_chip_closep) struct gpiod_chip *chip = NULL;
	_cleanup_(gpiod_chip_info_freep) struct gpiod_chip_info *chip_info = NULL;
	_cleanup_(gpiod_line_settings_freep) struct gpiod_line_settings *settings = NULL;
	_cleanup_(gpiod_line_config_freep) struct gpiod_line_config *line_cfg = NULL;
	_cleanup_(gpiod_request_config_freep) struct gpiod_request_config *req_cfg = NULL;
	struct gpiod_line_request *request;
	GpioChip *c;
	size_t n_chip_lines;
	int r;

	chip = gpiod_chip_open(path);
	if (!chip)
		return log_error_errno(negative_errno(), "Failed to open GPIO chip %s: %m", path);
	chip_info = gpiod_chip_get_info(chip);
	if (!chip_info)
		return log_error_errno(negative_errno(), "Failed to read chip info of %s: %m", path);
	n_chip_lines = gpiod_chip_info_get_num_lines(chip_info);

	for (size_t i = 0; i < layout->n_lines; i++) {
		_cleanup_(gpiod_line_info_freep) struct gpiod_line_info *info = NULL;
		const char *name;

		if (layout->lines[i] >= n_chip_lines)
			return log_error_errno(ERANGE,
					       "Failed to request lines on %s: line %u does not "
					       "exist, the chip (%s) has %zu lines",
					       path, layout->lines[i],
					       gpiod_chip_info_get_label(chip_info), n_chip_lines);
		info = gpiod_chip_get_line_info(chip, layout->lines[i]);
		if (!info)
			return log_error_errno(negative_errno(),
					       "Failed to read line %u of %s: %m", layout->lines[i],
					       path);
		name = gpiod_line_info_get_name(info);
		if (name && name[0]) {
			r = layout_set_name(layout, i, name);
			if (r < 0)
				return log_oom();
		}
	}

	settings = gpiod_line_settings_new();
	line_cfg = gpiod_line_config_new();
	req_cfg = gpiod_request_config_new();
	if (!settings || !line_cfg || !req_cfg)
		return log_oom();
	if (gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_OUTPUT) < 0 ||
	    gpiod_line_settings_set_output_value(settings, GPIOD_LINE_VALUE_INACTIVE) < 0)
		return log_error_errno(negative_errno(), "Failed to set up line settings: %m");
	if (gpiod_line_config_add_line_settings(line_cfg, layout->lines, layout->n_lines,
						settings) < 0)
		return log_error_errno(negative_errno(), "Failed to configure lines of %s: %m",
				       path);
	gpiod_request_config_set_consumer(req_cfg, consumer);

	request = gpiod_chip_request_lines(chip, req_cfg, line_cfg);
	if (!request) {
		r = negative_errno();
		if (r == -EBUSY)
			return log_busy(chip, path, layout, r);
		return log_error_errno(r, "Failed to request %zu lines on %s: %m", layout->n_lines,
				       path);
	}

	c = calloc(1, sizeof(*c));
	if (!c) {
		gpiod_line_request_release(request);
		return log_oom();
	}
	c->gpio.ops = &chip_ops;
	c->gpio.layout = layout;
	c->request = request;
	c->chip = TAKE_PTR(chip);
	c->gpio.chip = strdup(path);
	c->values = calloc(layout->n_lines, sizeof(enum gpiod_line_value));
	if (!c->gpio.chip || !c->values) {
		chip_close(&c->gpio);
		return log_oom();
	}
	*ret = &c->gpio;
	return 0;
}

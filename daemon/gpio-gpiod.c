/* SPDX-License-Identifier: MIT */
/*
 * The libgpiod v2 backend: one request per chip for the layout's lines on it,
 * as outputs with their settings (polarity, drive, bias) and initial levels.
 * A batch is one gpiod_line_request_set_values_subset() call, one ioctl.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpiod.h>

#include "gpio.h"
#include "log.h"
#include "program.h"

typedef struct GpioChip {
	Gpio gpio;
	struct gpiod_chip *chip;
	struct gpiod_line_request *request;
	enum gpiod_line_value *values; /* scratch, one per requested line */
} GpioChip;

DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_chip *, gpiod_chip_close);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_info *, gpiod_line_info_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_chip_info *, gpiod_chip_info_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_settings *, gpiod_line_settings_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_config *, gpiod_line_config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_request_config *, gpiod_request_config_free);

static enum gpiod_line_value to_value(int v)
{
	return v ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE;
}

static int chip_set(Gpio *g, size_t n, const unsigned *offsets, const uint16_t *levels)
{
	GpioChip *c = (GpioChip *)g;

	for (size_t i = 0; i < n; i++)
		c->values[i] = to_value(levels[i] > 0);
	if (gpiod_line_request_set_values_subset(c->request, n, offsets, c->values) < 0)
		return negative_errno();
	return 0;
}

static void chip_close(Gpio *g, const int *exit_values)
{
	GpioChip *c = (GpioChip *)g;

	if (c->request) {
		/* The exit state first: the kernel keeps the last value after release. */
		size_t n = 0;

		for (size_t i = 0; exit_values && i < g->n_lines; i++)
			if (exit_values[i] >= 0) {
				g->offsets[n] = g->offsets[i];
				c->values[n++] = to_value(exit_values[i]);
			}
		if (n > 0 &&
		    gpiod_line_request_set_values_subset(c->request, n, g->offsets, c->values) < 0)
			(void)log_warning_errno(negative_errno(),
						"Failed to set the exit state of the lines of %s: %m",
						g->path);
		gpiod_line_request_release(c->request);
	}
	if (c->chip)
		gpiod_chip_close(c->chip);
	free(c->values);
	free(g->offsets);
	free(g->path);
	free(g->label);
	free(c);
}

static const GpioOps chip_ops = {
	.set = chip_set,
	.close = chip_close,
};

static int open_fail(GpioOpenError *error, int r, size_t line, bool about_line, const char *fmt,
		     ...) _printf_(5, 6);
static int open_fail(GpioOpenError *error, int r, size_t line, bool about_line, const char *fmt,
		     ...)
{
	va_list ap;

	error->line = line;
	error->about_line = about_line;
	va_start(ap, fmt);
	vsnprintf(error->message, sizeof(error->message), fmt, ap);
	va_end(ap);
	return r;
}

/* Who holds the lines we could not have, in one message. */
static int fail_busy(GpioOpenError *error, struct gpiod_chip *chip, const char *path, size_t n,
		     const GpioLine *lines, int r)
{
	char held[200] = "";
	size_t len = 0;

	for (size_t i = 0; i < n && len < sizeof(held); i++) {
		_cleanup_(gpiod_line_info_freep) struct gpiod_line_info *info =
			gpiod_chip_get_line_info(chip, lines[i].offset);
		const char *consumer;

		if (!info || !gpiod_line_info_is_used(info))
			continue;
		consumer = gpiod_line_info_get_consumer(info);
		len += (size_t)snprintf(held + len, sizeof(held) - len, "%sline %u held by \"%s\"",
					len ? ", " : "", lines[i].offset,
					consumer && consumer[0] ? consumer : "kernel");
	}
	return open_fail(error, r, 0, false, "cannot request lines on %s: %s", path,
			 len ? held : "lines in use");
}

static const enum gpiod_line_drive drives[_LINE_DRIVE_MAX] = {
	[LINE_DRIVE_PUSH_PULL] = GPIOD_LINE_DRIVE_PUSH_PULL,
	[LINE_DRIVE_OPEN_DRAIN] = GPIOD_LINE_DRIVE_OPEN_DRAIN,
	[LINE_DRIVE_OPEN_SOURCE] = GPIOD_LINE_DRIVE_OPEN_SOURCE,
};

static const enum gpiod_line_bias biases[_LINE_BIAS_MAX] = {
	[LINE_BIAS_AS_IS] = GPIOD_LINE_BIAS_AS_IS,
	[LINE_BIAS_DISABLED] = GPIOD_LINE_BIAS_DISABLED,
	[LINE_BIAS_PULL_UP] = GPIOD_LINE_BIAS_PULL_UP,
	[LINE_BIAS_PULL_DOWN] = GPIOD_LINE_BIAS_PULL_DOWN,
};

/*
 * The line config for @lines: each line as an output with its settings, or
 * (@as_is) with its direction left alone and only its polarity, to read the
 * present level of lines that keep it.
 */
static struct gpiod_line_config *line_config(size_t n, const GpioLine *lines, bool as_is)
{
	_cleanup_(gpiod_line_config_freep) struct gpiod_line_config *cfg = gpiod_line_config_new();

	if (!cfg)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		_cleanup_(gpiod_line_settings_freep) struct gpiod_line_settings *s =
			gpiod_line_settings_new();
		const LineSettings *ls = &lines[i].settings;

		if (!s)
			return NULL;
		gpiod_line_settings_set_active_low(s, ls->active_low);
		if (as_is) {
			if (gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_AS_IS) < 0)
				return NULL;
		} else if (gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT) < 0 ||
			   gpiod_line_settings_set_drive(s, drives[ls->drive]) < 0 ||
			   gpiod_line_settings_set_bias(s, biases[ls->bias]) < 0 ||
			   gpiod_line_settings_set_output_value(s, to_value(lines[i].value)) < 0)
			return NULL;
		if (gpiod_line_config_add_line_settings(cfg, &lines[i].offset, 1, s) < 0)
			return NULL;
	}
	return TAKE_PTR(cfg);
}

int gpio_chip_label(const char *path, char **ret)
{
	_cleanup_(gpiod_chip_closep) struct gpiod_chip *chip = gpiod_chip_open(path);
	_cleanup_(gpiod_chip_info_freep) struct gpiod_chip_info *info = NULL;
	char *label;

	if (!chip)
		return negative_errno();
	info = gpiod_chip_get_info(chip);
	if (!info)
		return negative_errno();
	label = strdup(gpiod_chip_info_get_label(info));
	if (!label)
		return -ENOMEM;
	*ret = label;
	return 0;
}

int gpio_open_gpiod(Gpio **ret, const char *path, const char *consumer, size_t n,
		    GpioLine *lines, GpioOpenError *error)
{
	_cleanup_(gpiod_chip_closep) struct gpiod_chip *chip = NULL;
	_cleanup_(gpiod_chip_info_freep) struct gpiod_chip_info *chip_info = NULL;
	_cleanup_(gpiod_line_config_freep) struct gpiod_line_config *line_cfg = NULL;
	_cleanup_(gpiod_request_config_freep) struct gpiod_request_config *req_cfg = NULL;
	struct gpiod_line_request *request;
	const char *label;
	bool any_keep = false;
	GpioChip *c;
	size_t n_chip_lines;
	int r;

	*error = (GpioOpenError){};
	chip = gpiod_chip_open(path);
	if (!chip)
		return open_fail(error, negative_errno(), 0, false, "cannot open %s: %s",
				 path, strerror(errno));
	chip_info = gpiod_chip_get_info(chip);
	if (!chip_info)
		return open_fail(error, negative_errno(), 0, false,
				 "cannot read the chip info of %s: %s", path, strerror(errno));
	n_chip_lines = gpiod_chip_info_get_num_lines(chip_info);
	label = gpiod_chip_info_get_label(chip_info);

	for (size_t i = 0; i < n; i++) {
		_cleanup_(gpiod_line_info_freep) struct gpiod_line_info *info = NULL;
		const char *name;

		if (lines[i].line_name) {
			int o = gpiod_chip_get_line_offset_from_name(chip, lines[i].line_name);
			if (o < 0)
				return open_fail(error, -ENOENT, i, true,
						 "no line is named \"%s\" on %s (%s)",
						 lines[i].line_name, path, label);
			lines[i].offset = (unsigned)o;
		} else if (lines[i].offset >= n_chip_lines)
			return open_fail(error, -ERANGE, i, true,
					 "line %u does not exist, %s (%s) has %zu lines",
					 lines[i].offset, path, label, n_chip_lines);
		for (size_t k = 0; k < i; k++)
			if (lines[k].offset == lines[i].offset)
				return open_fail(error, -EEXIST, i, true,
						 "is line %u of %s (%s), which another reference "
						 "names too",
						 lines[i].offset, path, label);
		info = gpiod_chip_get_line_info(chip, lines[i].offset);
		if (!info)
			return open_fail(error, negative_errno(), i, true,
					 "cannot read line %u of %s: %s", lines[i].offset, path,
					 strerror(errno));
		name = gpiod_line_info_get_name(info);
		free(lines[i].name);
		lines[i].name = name && name[0] ? strdup(name) : NULL;
		if (lines[i].value < 0)
			any_keep = true;
	}

	req_cfg = gpiod_request_config_new();
	line_cfg = line_config(n, lines, any_keep);
	if (!req_cfg || !line_cfg)
		return open_fail(error, -ENOMEM, 0, false, "out of memory");
	gpiod_request_config_set_consumer(req_cfg, consumer);

	request = gpiod_chip_request_lines(chip, req_cfg, line_cfg);
	if (!request) {
		r = negative_errno();
		if (r == -EBUSY)
			return fail_busy(error, chip, path, n, lines, r);
		return open_fail(error, r, 0, false, "cannot request %zu lines on %s: %s", n,
				 path, strerror(-r));
	}
	if (any_keep) {
		/*
		 * Lines that keep their level: read it with the direction left
		 * alone, then make every line an output at that level (and the
		 * others at theirs). A line that is an output already does not
		 * change on the way.
		 */
		for (size_t i = 0; i < n; i++)
			if (lines[i].value < 0) {
				enum gpiod_line_value v =
					gpiod_line_request_get_value(request, lines[i].offset);
				lines[i].value = v == GPIOD_LINE_VALUE_ACTIVE;
			}
		gpiod_line_config_free(line_cfg);
		line_cfg = line_config(n, lines, false);
		if (!line_cfg || gpiod_line_request_reconfigure_lines(request, line_cfg) < 0) {
			r = line_cfg ? negative_errno() : -ENOMEM;
			gpiod_line_request_release(request);
			return open_fail(error, r, 0, false,
					 "cannot make the lines of %s outputs: %s", path,
					 strerror(-r));
		}
	}

	c = calloc(1, sizeof(*c));
	if (!c) {
		gpiod_line_request_release(request);
		return -ENOMEM;
	}
	c->gpio.ops = &chip_ops;
	c->request = request;
	c->chip = TAKE_PTR(chip);
	c->gpio.n_lines = n;
	c->gpio.path = strdup(path);
	c->gpio.label = strdup(label);
	c->gpio.offsets = calloc(n, sizeof(unsigned));
	c->values = calloc(n, sizeof(enum gpiod_line_value));
	if (!c->gpio.path || !c->gpio.label || !c->gpio.offsets || !c->values) {
		chip_close(&c->gpio, NULL);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		c->gpio.offsets[i] = lines[i].offset;
		lines[i].value = lines[i].value ? LEVEL_MAX : 0;
	}
	*ret = &c->gpio;
	return 0;
}

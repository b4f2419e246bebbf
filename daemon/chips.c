/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-device.h>

#include "chips.h"
#include "gpio.h"
#include "log.h"
#include "program.h"

/* Without udev, absent chips are looked for this often. */
#define CHIPS_POLL_INTERVAL USEC_PER_SEC

typedef struct Chip {
	const char *spec;  /* the layout's name for it: path, name or label */
	char *label;	   /* once seen */
	char *path;
	bool present;
	Gpio *gpio;
	SimChip *sim;	   /* simulating: the chip it is */
	size_t n_lines;	   /* the layout's lines on this chip */
	size_t *index;	   /* their layout positions */
	GpioLine *req;	   /* scratch for a request, n_lines */
	unsigned *numbers; /* scratch: a batch's numbers on this chip */
	unsigned *offsets; /* scratch: ... their offsets */
	uint16_t *values;  /* scratch: ... their levels */
	uint16_t *levels;  /* scratch: the levels lines have once requested */
	size_t n_batch;
	bool failed;	   /* the last write failed */
	bool said_absent;
	bool failed_open;  /* found, but its lines could not be had: said once */
} Chip;

struct Chips {
	sd_event *event;
	Layout *layout;
	char *consumer;
	char *config_path;
	bool sim;
	bool started;
	bool exited;
	const ChipsOps *ops;
	void *userdata;

	Chip *chips;
	size_t n_chips;
	size_t *slot; /* per layout line: its position in its chip's lines */
	unsigned *chip_of; /* per layout line: its chip (the layout's, in an array of its own) */

	SimChip **sims;
	size_t n_sims;

	sd_device_monitor *monitor;
	sd_event_source *poll;

	unsigned *out_numbers; /* what the last write put out */
	uint16_t *out_values;
	unsigned *out_chip;    /* scratch: the chip each line of a batch went to */
	int *exit_values;
};

size_t chips_count(const Chips *c)
{
	return c->n_chips;
}

void chips_get(const Chips *c, size_t i, const char **ret_spec, const char **ret_label,
	       const char **ret_path, bool *ret_present)
{
	const Chip *ch = &c->chips[i];

	if (ret_spec)
		*ret_spec = ch->spec;
	if (ret_label)
		*ret_label = ch->label;
	if (ret_path)
		*ret_path = ch->path;
	if (ret_present)
		*ret_present = ch->present;
}

size_t chips_n_absent(const Chips *c)
{
	size_t n = 0;

	/* A chip no line of the layout is on is not missed. */
	for (size_t i = 0; i < c->n_chips; i++)
		n += !c->chips[i].present && c->chips[i].n_lines > 0;
	return n;
}

bool chips_is_sim(const Chips *c)
{
	return c->sim;
}

static void chip_free_contents(Chip *ch)
{
	gpio_close(ch->gpio, NULL);
	free(ch->label);
	free(ch->path);
	free(ch->index);
	for (size_t i = 0; ch->req && i < ch->n_lines; i++)
		free(ch->req[i].name);
	free(ch->req);
	free(ch->numbers);
	free(ch->offsets);
	free(ch->values);
	free(ch->levels);
}

Chips *chips_free(Chips *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_chips; i++)
		chip_free_contents(&c->chips[i]);
	free(c->chips);
	for (size_t i = 0; i < c->n_sims; i++)
		sim_chip_free(c->sims[i]);
	free(c->sims);
	sd_device_monitor_unref(c->monitor);
	sd_event_source_unref(c->poll);
	sd_event_unref(c->event);
	free(c->slot);
	free(c->chip_of);
	free(c->out_numbers);
	free(c->out_values);
	free(c->out_chip);
	free(c->exit_values);
	free(c->consumer);
	free(c->config_path);
	free(c);
	return NULL;
}

static bool is_led(const char *spec)
{
	return strncmp(spec, "led:", 4) == 0;
}

static int add_sim(Chips *c, const char *label, const char *path, unsigned n_lines,
		   char *const *names, const uint8_t *levels, bool present)
{
	SimChip **sims = realloc(c->sims, (c->n_sims + 1) * sizeof(SimChip *));
	int r;

	if (!sims)
		return -ENOMEM;
	c->sims = sims;
	r = sim_chip_new(&c->sims[c->n_sims], label, path, n_lines, names, levels, present);
	if (r < 0)
		return r;
	c->n_sims++;
	return 0;
}

int chips_new(Chips **ret, sd_event *event, Layout *layout, const Config *config, bool sim,
	      const ChipsOps *ops, void *userdata)
{
	_cleanup_(chips_freep) Chips *c = calloc(1, sizeof(Chips));
	size_t n = layout->n_lines;
	char path[96];
	int r;

	if (!c)
		return -ENOMEM;
	c->event = sd_event_ref(event);
	c->layout = layout;
	c->sim = sim;
	c->ops = ops;
	c->userdata = userdata;
	c->consumer = strdup(config->consumer);
	c->config_path = strdup(config->path ? config->path : "configuration");
	c->n_chips = layout->n_chips;
	c->chips = calloc(c->n_chips, sizeof(Chip));
	c->slot = calloc(n, sizeof(size_t));
	c->chip_of = calloc(n, sizeof(unsigned));
	c->out_numbers = malloc(n * sizeof(unsigned));
	c->out_values = malloc(n * sizeof(uint16_t));
	c->out_chip = malloc(n * sizeof(unsigned));
	c->exit_values = malloc(n * sizeof(int));
	if (!c->consumer || !c->config_path || !c->chips || !c->slot || !c->chip_of || !c->out_numbers ||
	    !c->out_values || !c->out_chip || !c->exit_values)
		return -ENOMEM;

	for (size_t i = 0; i < n; i++)
		c->chips[layout->info[i].chip].n_lines++;
	for (size_t k = 0; k < c->n_chips; k++) {
		Chip *ch = &c->chips[k];

		ch->spec = layout->chips[k];
		ch->index = calloc(ch->n_lines, sizeof(size_t));
		ch->req = calloc(ch->n_lines, sizeof(GpioLine));
		ch->numbers = calloc(ch->n_lines, sizeof(unsigned));
		ch->offsets = calloc(ch->n_lines, sizeof(unsigned));
		ch->values = calloc(ch->n_lines, sizeof(uint16_t));
		ch->levels = calloc(ch->n_lines, sizeof(uint16_t));
		if ((ch->n_lines > 0) && (!ch->index || !ch->req || !ch->numbers || !ch->offsets ||
					  !ch->values || !ch->levels))
			return -ENOMEM;
		ch->n_lines = 0;
	}
	for (size_t i = 0; i < n; i++) {
		Chip *ch = &c->chips[layout->info[i].chip];

		c->slot[i] = ch->n_lines;
		c->chip_of[i] = (unsigned)layout->info[i].chip;
		ch->index[ch->n_lines++] = i;
	}

	if (sim) {
		for (size_t i = 0; i < config->n_sim_chips; i++) {
			const SimChipConfig *s = &config->sim_chips[i];

			snprintf(path, sizeof(path), "sim/%s", s->label);
			r = add_sim(c, s->label, path, s->n_lines, s->names, s->levels, s->present);
			if (r < 0)
				return r;
		}
		/* LEDs the configuration names and does not declare: there, one line each. */
		for (size_t k = 0; k < c->n_chips; k++) {
			const char *spec = c->chips[k].spec;
			bool declared = false;

			if (!is_led(spec))
				continue;
			for (size_t i = 0; i < c->n_sims; i++)
				declared = declared || streq(c->sims[i]->label, spec + 4);
			if (declared)
				continue;
			r = add_sim(c, spec + 4, spec, 1, NULL, NULL, true);
			if (r < 0)
				return r;
			c->sims[c->n_sims - 1]->analog = true;
		}
		/* The built-in chip: every offset there is, named GPIO<offset>. */
		r = add_sim(c, "sim", "sim", LAYOUT_OFFSET_MAX + 1, NULL, NULL, true);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

/* ---------------------------------------------------------------- finding */

static SimChip *find_sim(Chips *c, size_t k)
{
	const char *spec = c->chips[k].spec;
	SimChip *builtin = c->sims[c->n_sims - 1];

	for (size_t i = 0; i + 1 < c->n_sims; i++)
		if (streq(c->sims[i]->label, spec) || streq(c->sims[i]->path, spec) ||
		    (is_led(spec) && streq(c->sims[i]->label, spec + 4)))
			return c->sims[i];
	/* The default chip, whatever the configuration calls it, is the built-in one. */
	if (k == 0 || streq(spec, "sim"))
		return builtin;
	return NULL;
}

static bool is_char_device(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

/*
 * The chip device @spec names: a path, a name (gpiochipN) or a label. Looks
 * through udev's view of the "gpio" subsystem for names and labels.
 */
static int find_device(const char *spec, char **ret_path, char **ret_label)
{
	_cleanup_(freep) char *path = NULL, *label = NULL;
	sd_device_enumerator *e = NULL;
	int r;

	if (is_led(spec)) {
		char dir[512];

		snprintf(dir, sizeof(dir), "%s/%s", gpio_leds_dir(), spec + 4);
		if (access(dir, F_OK) < 0)
			return -ENOENT;
		path = strdup(spec);
		label = strdup(spec + 4);
		if (!path || !label)
			return -ENOMEM;
		*ret_path = TAKE_PTR(path);
		*ret_label = TAKE_PTR(label);
		return 0;
	}
	if (spec[0] == '/') {
		if (!is_char_device(spec))
			return -ENOENT;
		path = strdup(spec);
		if (!path)
			return -ENOMEM;
		r = gpio_chip_label(path, &label);
		if (r < 0)
			return r;
		*ret_path = TAKE_PTR(path);
		*ret_label = TAKE_PTR(label);
		return 0;
	}

	r = sd_device_enumerator_new(&e);
	if (r < 0)
		return r;
	r = sd_device_enumerator_add_match_subsystem(e, "gpio", true);
	if (r < 0)
		goto out;
	r = -ENOENT;
	for (sd_device *d = sd_device_enumerator_get_device_first(e); d;
	     d = sd_device_enumerator_get_device_next(e)) {
		const char *devname, *sysname;

		if (sd_device_get_devname(d, &devname) < 0 || sd_device_get_sysname(d, &sysname) < 0)
			continue; /* the legacy sysfs class entries have no device node */
		if (!is_char_device(devname))
			continue;
		free(label);
		label = NULL;
		if (gpio_chip_label(devname, &label) < 0)
			continue;
		if (streq(sysname, spec) || streq(label, spec)) {
			path = strdup(devname);
			r = path ? 0 : -ENOMEM;
			break;
		}
	}
out:
	sd_device_enumerator_unref(e);
	if (r < 0)
		return r;
	*ret_path = TAKE_PTR(path);
	*ret_label = TAKE_PTR(label);
	return 0;
}

/* ---------------------------------------------------------------- opening */

/* Why chip @ch's lines cannot be had; an error, or (said before) a debug message. */
static void log_line_error(Chips *c, Chip *ch, const GpioOpenError *error, int r)
{
	int level = ch->failed_open ? LOG_DEBUG : LOG_ERR;

	if (error->about_line) {
		const LayoutLine *info = &c->layout->info[ch->index[error->line]];
		log_internal(level, 0, "%s: %s: line \"%s\" %s%s", c->config_path, info->where, info->ref,
			 r == -EEXIST ? "" : "cannot be had: ", error->message);
	} else
		log_internal(level, 0, "Chip %s: %s", ch->spec,
			 error->message[0] ? error->message : strerror(-r));
}

/* The lines of chip @k are requested: the layout learns their names and offsets. */
static void chip_opened(Chips *c, size_t k)
{
	Chip *ch = &c->chips[k];

	ch->present = true;
	ch->said_absent = false;
	for (size_t j = 0; j < ch->n_lines; j++) {
		LayoutLine *info = &c->layout->info[ch->index[j]];

		if (ch->req[j].name)
			(void)layout_set_name(c->layout, ch->index[j], ch->req[j].name);
		info->offset = ch->req[j].offset;
		info->has_offset = true;
		ch->numbers[j] = c->layout->lines[ch->index[j]];
		ch->levels[j] = (uint16_t)ch->req[j].value;
	}
	if (c->ops && c->ops->changed)
		c->ops->changed(c->userdata, k, true, ch->n_lines, ch->numbers, ch->levels);
}

/*
 * Request the lines of chip @k, found at @path with @label (owned by the
 * call). Returns 0, or a negative errno when its lines cannot be had
 * (logged).
 */
static int chip_open(Chips *c, size_t k, SimChip *sim, char *path, char *label)
{
	Chip *ch = &c->chips[k];
	GpioOpenError error;
	int r;

	free(ch->path);
	free(ch->label);
	ch->path = path;
	ch->label = label;
	for (size_t j = 0; j < ch->n_lines; j++) {
		const LayoutLine *info = &c->layout->info[ch->index[j]];
		int state = c->ops && c->ops->line_state
				    ? c->ops->line_state(c->userdata, info->number)
				    : -1;

		free(ch->req[j].name);
		ch->req[j] = (GpioLine){
			.line_name = info->line_name,
			.offset = info->line_name ? 0 : info->offset,
			.settings = info->settings,
			.value = state >= 0			       ? state
				 : info->settings.initial == LINE_STATE_ON  ? (int)LEVEL_MAX
				 : info->settings.initial == LINE_STATE_OFF ? 0
									    : -1,
		};
	}
	if (sim)
		r = gpio_open_sim(&ch->gpio, sim, ch->n_lines, ch->req, &error);
	else if (is_led(ch->spec))
		r = gpio_open_led(&ch->gpio, ch->spec + 4, ch->n_lines, ch->req, &error);
	else
		r = gpio_open_gpiod(&ch->gpio, path, c->consumer, ch->n_lines, ch->req, &error);
	if (r < 0) {
		log_line_error(c, ch, &error, r);
		/* Not ours: no path to show, and the same error is not said again and again. */
		ch->path = mfree(ch->path);
		ch->label = mfree(ch->label);
		ch->failed_open = true;
		return r;
	}
	ch->failed_open = false;
	ch->sim = sim;
	if (c->started)
		log_notice("Chip %s is back at %s (%s): %zu line%s requested.", ch->spec, ch->path,
			   ch->label, ch->n_lines, ch->n_lines == 1 ? "" : "s");
	else if (streq(ch->spec, ch->path))
		log_debug("Chip %s (%s): %zu line%s requested.", ch->path, ch->label, ch->n_lines,
			 ch->n_lines == 1 ? "" : "s");
	else
		log_debug("Chip %s is %s (%s): %zu line%s requested.", ch->spec, ch->path,
			 ch->label, ch->n_lines, ch->n_lines == 1 ? "" : "s");
	chip_opened(c, k);
	return 0;
}

/* Whether another present chip is the device at @path. */
static bool path_taken(const Chips *c, size_t k, const char *path)
{
	for (size_t i = 0; i < c->n_chips; i++)
		if (i != k && c->chips[i].present && streq(c->chips[i].path, path))
			return true;
	return false;
}

/*
 * Look for chip @k and request its lines if it is there. Returns 1 when it
 * is now present, 0 when it is not there, or a negative errno when it is
 * there but its lines cannot be had (logged).
 */
static int chip_try(Chips *c, size_t k)
{
	Chip *ch = &c->chips[k];
	char *path = NULL, *label = NULL;
	SimChip *sim = NULL;
	int r;

	if (ch->present || ch->n_lines == 0)
		return ch->present;
	if (c->sim) {
		sim = find_sim(c, k);
		if (!sim || !sim->present)
			return 0;
		path = strdup(sim->path);
		label = strdup(sim->label);
		if (!path || !label) {
			free(path);
			free(label);
			return -ENOMEM;
		}
	} else {
		r = find_device(ch->spec, &path, &label);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return 0;
	}
	if (path_taken(c, k, path)) {
		log_error("Chip %s is %s, which the layout names as another chip too.", ch->spec,
			  path);
		free(path);
		free(label);
		return -EEXIST;
	}
	r = chip_open(c, k, sim, path, label);
	return r < 0 ? r : 1;
}

/* Chip @k is gone: its lines are not written until it returns. */
static void schedule_poll(Chips *c);

static void chip_lost(Chips *c, size_t k, int error)
{
	Chip *ch = &c->chips[k];

	if (!ch->present)
		return;
	ch->gpio = gpio_close(ch->gpio, NULL);
	ch->present = false;
	ch->said_absent = true;
	if (error < 0)
		(void)log_warning_errno(error,
					"Chip %s (%s) is gone: %m; its lines are not written "
					"until it returns.",
					ch->spec, ch->path ? ch->path : "?");
	else
		log_warning("Chip %s (%s) is gone; its lines are not written until it returns.",
			    ch->spec, ch->path ? ch->path : "?");
	if (c->ops && c->ops->changed)
		c->ops->changed(c->userdata, k, false, 0, NULL, NULL);
	/* Without udev's word that it is back, look for it. */
	schedule_poll(c);
}

/* Look again for every absent chip. */
static void chips_rescan(Chips *c)
{
	if (c->exited)
		return;
	for (size_t k = 0; k < c->n_chips; k++)
		if (!c->chips[k].present)
			(void)chip_try(c, k);
	schedule_poll(c);
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata)
{
	chips_rescan(userdata);
	return 0;
}

/* Without udev's events, look for absent chips every second while there are any. */
static void schedule_poll(Chips *c)
{
	uint64_t now;

	if (c->monitor || c->sim || !c->event || !c->poll)
		return;
	if (chips_n_absent(c) == 0 || c->exited) {
		(void)sd_event_source_set_enabled(c->poll, SD_EVENT_OFF);
		return;
	}
	if (sd_event_now(c->event, CLOCK_MONOTONIC, &now) < 0)
		return;
	(void)sd_event_source_set_time(c->poll, now + CHIPS_POLL_INTERVAL);
	(void)sd_event_source_set_enabled(c->poll, SD_EVENT_ONESHOT);
}

static int on_device(sd_device_monitor *m, sd_device *d, void *userdata)
{
	Chips *c = userdata;
	sd_device_action_t action;
	const char *subsystem, *name;
	char path[256];

	if (sd_device_get_action(d, &action) < 0 || sd_device_get_subsystem(d, &subsystem) < 0)
		return 0;
	/* A GPIO chip by its device node, an LED by its name. */
	if (streq(subsystem, "leds")) {
		if (sd_device_get_sysname(d, &name) < 0)
			return 0;
		snprintf(path, sizeof(path), "led:%s", name);
	} else {
		if (sd_device_get_devname(d, &name) < 0)
			return 0;
		snprintf(path, sizeof(path), "%s", name);
	}
	if (action == SD_DEVICE_REMOVE) {
		for (size_t k = 0; k < c->n_chips; k++)
			if (c->chips[k].present && streq(c->chips[k].path, path))
				chip_lost(c, k, 0);
	} else if (action == SD_DEVICE_ADD || action == SD_DEVICE_CHANGE ||
		   action == SD_DEVICE_BIND)
		chips_rescan(c);
	return 0;
}

/* udev runs: its events say when chips come and go. Otherwise look every second. */
static int chips_watch(Chips *c)
{
	int r;

	if (c->sim)
		return 0;
	if (access("/run/udev/control", F_OK) == 0) {
		r = sd_device_monitor_new(&c->monitor);
		if (r >= 0)
			r = sd_device_monitor_filter_add_match_subsystem_devtype(c->monitor, "gpio",
										 NULL);
		if (r >= 0)
			r = sd_device_monitor_filter_add_match_subsystem_devtype(c->monitor, "leds",
										 NULL);
		if (r >= 0)
			r = sd_device_monitor_attach_event(c->monitor, c->event);
		if (r >= 0)
			r = sd_device_monitor_start(c->monitor, on_device, c);
		if (r >= 0)
			return 0;
		(void)log_warning_errno(r, "Failed to follow chips through udev: %m; looking for "
					   "absent chips every second instead");
		c->monitor = sd_device_monitor_unref(c->monitor);
	} else
		log_info("udev is not running: looking for absent chips every second.");
	r = sd_event_add_time(c->event, &c->poll, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_poll, c);
	if (r < 0)
		return log_error_errno(r, "Failed to add the chip poll timer: %m");
	(void)sd_event_source_set_enabled(c->poll, SD_EVENT_OFF);
	(void)sd_event_source_set_description(c->poll, "chips");
	return 0;
}

int chips_start(Chips *c)
{
	int r;

	for (size_t k = 0; k < c->n_chips; k++) {
		Chip *ch = &c->chips[k];

		r = chip_try(c, k);
		if (r < 0)
			return r;
		if (r == 0 && ch->n_lines > 0) {
			ch->said_absent = true;
			log_warning("Chip %s is not there; its %zu line%s %s not written until it "
				    "appears.",
				    ch->spec, ch->n_lines, ch->n_lines == 1 ? "" : "s",
				    ch->n_lines == 1 ? "is" : "are");
		}
	}
	r = chips_watch(c);
	if (r < 0)
		return r;
	c->started = true;
	schedule_poll(c);
	return 0;
}

/* ---------------------------------------------------------------- writing */

/* In Chips.out_chip: the line went to no chip (not the layout's, or its chip is absent). */
#define NO_CHIP UINT_MAX

void chips_write(Chips *c, size_t n, const unsigned *numbers, const uint16_t *values,
		 size_t *ret_n, const unsigned **ret_numbers, const uint16_t **ret_values)
{
	const Layout *l = c->layout;
	bool dropped = false, any_failed = false;
	size_t n_out = 0;

	*ret_numbers = c->out_numbers;
	*ret_values = c->out_values;
	*ret_n = 0;
	if (c->exited)
		return;

	/* Each line to its chip's batch; out_chip[i] says which chip line i went to. */
	for (size_t i = 0; i < n; i++) {
		int idx = layout_index_of(l, numbers[i]);
		Chip *ch;

		c->out_chip[i] = NO_CHIP;
		if (idx < 0 || !c->chips[c->chip_of[idx]].present) {
			dropped = true;
			continue;
		}
		ch = &c->chips[c->chip_of[idx]];
		ch->offsets[ch->n_batch] = ch->gpio->offsets[c->slot[idx]];
		ch->values[ch->n_batch++] = values[i];
		c->out_chip[i] = c->chip_of[idx];
	}
	/* One write per chip, back to back. */
	for (size_t k = 0; k < c->n_chips; k++) {
		Chip *ch = &c->chips[k];
		int r;

		ch->failed = false;
		if (ch->n_batch == 0)
			continue;
		r = gpio_write(ch->gpio, ch->n_batch, ch->offsets, ch->values);
		ch->n_batch = 0;
		if (r < 0) {
			ch->failed = true;
			any_failed = true;
			chip_lost(c, k, r);
		}
	}
	/*
	 * Every line went out, as on most boards at most instants: what went
	 * out is the batch itself, not a copy of it (copying every line was a
	 * tenth of the daemon's own time at 1000 lines a batch).
	 */
	if (!dropped && !any_failed) {
		*ret_numbers = numbers;
		*ret_values = values;
		*ret_n = n;
		return;
	}
	/* Else those whose chip was there and wrote. */
	for (size_t i = 0; i < n; i++)
		if (c->out_chip[i] != NO_CHIP && !c->chips[c->out_chip[i]].failed) {
			c->out_numbers[n_out] = numbers[i];
			c->out_values[n_out++] = values[i];
		}
	*ret_n = n_out;
}

void chips_exit(Chips *c, size_t *ret_n, const unsigned **ret_numbers, const uint16_t **ret_values)
{
	size_t n_out = 0;

	*ret_numbers = c->out_numbers;
	*ret_values = c->out_values;
	for (size_t k = 0; k < c->n_chips; k++) {
		Chip *ch = &c->chips[k];

		if (!ch->present)
			continue;
		for (size_t j = 0; j < ch->n_lines; j++) {
			size_t idx = ch->index[j];
			LineState s = c->layout->info[idx].settings.exit;

			c->exit_values[j] = s == LINE_STATE_ON ? 1 : s == LINE_STATE_OFF ? 0 : -1;
			if (c->exit_values[j] >= 0) {
				c->out_numbers[n_out] = c->layout->lines[idx];
				c->out_values[n_out++] = c->exit_values[j] ? LEVEL_MAX : 0;
			}
		}
		/* Lines that keep their level are released as they are. */
		ch->gpio = gpio_close(ch->gpio, c->exit_values);
		ch->present = false;
	}
	c->exited = true;
	c->monitor = sd_device_monitor_unref(c->monitor);
	c->poll = sd_event_source_disable_unref(c->poll);
	*ret_n = n_out;
}

/* ---------------------------------------------------------------- simulation */

int chips_sim_set_present(Chips *c, const char *spec, bool present)
{
	bool found = false;

	if (!c->sim)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < c->n_sims; i++) {
		SimChip *s = c->sims[i];

		if (spec && !streq(s->label, spec) && !streq(s->path, spec))
			continue;
		found = true;
		if (s->present == present)
			continue;
		log_notice("Simulated chip %s %s.", s->label, present ? "returns" : "vanishes");
		if (!present)
			/* As udev would say: the chips on it are gone. */
			for (size_t k = 0; k < c->n_chips; k++)
				if (c->chips[k].present && c->chips[k].sim == s)
					chip_lost(c, k, 0);
		sim_chip_set_present(s, present);
	}
	if (!found)
		return -ENOENT;
	if (present)
		chips_rescan(c);
	return 0;
}

int chips_sim_vanish_silently(Chips *c, const char *spec)
{
	for (size_t i = 0; i < c->n_sims; i++)
		if (streq(c->sims[i]->label, spec) || streq(c->sims[i]->path, spec)) {
			sim_chip_set_present(c->sims[i], false);
			return 0;
		}
	return -ENOENT;
}

int chips_sim_level(const Chips *c, const char *chip, unsigned offset)
{
	for (size_t i = 0; i < c->n_sims; i++) {
		const SimChip *s = c->sims[i];

		if (!streq(s->label, chip) && !streq(s->path, chip))
			continue;
		if (offset >= s->n_lines)
			return -ERANGE;
		return s->present ? s->levels[offset] : -ENODEV;
	}
	return -ENOENT;
}

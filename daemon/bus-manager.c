/* SPDX-License-Identifier: MIT */
/*
 * io.blinkd1.Manager at /io/blinkd1: vtable and handlers only. Each handler
 * reads its arguments, lets the manager act, and replies; bus_map_error()
 * (bus-error.c) is the one place where failures become D-Bus errors.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "bus-error.h"
#include "bus-manager.h"
#include "bus-program.h"
#include "bus-reply.h"
#include "config.h" /* BLINKD_VERSION */
#include "log.h"
#include "start-options.h"
#include "utf8.h"

/* Replies with the object path of the program @name, which runs now. */
static int reply_program_path(sd_bus_message *msg, const char *name)
{
	_cleanup_(freep) char *path = NULL;
	int k;

	k = bus_program_path(name, &path);
	if (k < 0)
		return k;
	return sd_bus_reply_method_return(msg, "o", path);
}

/*
 * A call whose change the store must hold: answered once the write that
 * holds it is done (manager_when_durable()). It keeps only the call (a
 * reference, which keeps its connection) and the program's name, never the
 * Bus, so it may be answered at any time, also while the daemon exits.
 */
typedef struct DurableReply {
	sd_bus_message *call;
	char *name;	/* Start: the program's, for the path it answers; NULL: an empty reply */
} DurableReply;

static void on_durable(void *userdata, int error, const ManagerError *e)
{
	DurableReply *d = userdata;
	int k;

	if (error < 0) {
		_cleanup_(sd_bus_error_free) sd_bus_error be = SD_BUS_ERROR_NULL;

		(void)bus_map_error(&be, error, e);
		k = sd_bus_reply_method_error(d->call, &be);
	} else if (d->name)
		k = reply_program_path(d->call, d->name);
	else
		k = sd_bus_reply_method_return(d->call, NULL);
	if (k < 0)
		(void)log_debug_errno(k, "Failed to answer %s(): %m", sd_bus_message_get_member(d->call));
	sd_bus_message_unref(d->call);
	free(d->name);
	free(d);
}

/*
 * Answer @msg now, or, when the call changed what the store holds, once the
 * write is done: returns 1 then (the reply comes later), as sd-bus wants.
 */
static int reply_when_durable(sd_bus_message *msg, Bus *b, const char *program_name)
{
	DurableReply *d = calloc(1, sizeof(*d));

	if (d && program_name)
		d->name = strdup(program_name);
	if (!d || (program_name && !d->name)) {
		free(d);
		/* Nobody will wait for it: the write still happens, the answer goes now. */
		(void)manager_when_durable(b->manager, NULL, NULL);
		return program_name ? reply_program_path(msg, program_name)
				    : sd_bus_reply_method_return(msg, NULL);
	}
	d->call = sd_bus_message_ref(msg);
	if (manager_when_durable(b->manager, on_durable, d) > 0)
		return 1;
	sd_bus_message_unref(d->call);
	free(d->name);
	free(d);
	return program_name ? reply_program_path(msg, program_name)
			    : sd_bus_reply_method_return(msg, NULL);
}

/*
 * Read an a{sv} of start options with the start option table: each key
 * known, of its type, once. The ranges that need the manager's clock or
 * state are the manager's to check. A malformed message is the caller's
 * errno; a wrong option an INVALID_OPTIONS naming the key.
 */
static int read_start_options(sd_bus_message *msg, ManagerStartOptions *o, ManagerError *e)
{
	StartOptionError se;
	int k;

	k = start_options_read(&start_option_table, msg, &o->start, &se);
	if (k < 0 && se.message[0] != '\0')
		return manager_error_set(e, MANAGER_ERROR_INVALID_OPTIONS, "%s", se.message);
	return k;
}

/* Start(), Replace() and StartWithOptions(): read, let the manager act, bind, reply. */
static int start_with(sd_bus_message *msg, Bus *b, const char *name, const char *text,
		      const ManagerStartOptions *o, sd_bus_error *error)
{
	ManagerError e = {};
	int k;

	k = manager_start_program_with(b->manager, name, text, o, &e);
	if (k < 0)
		return bus_map_error(error, k, &e);
	if (o->start.bind) {
		Running *r = manager_get_running(b->manager, name);

		k = r ? bound_caller_new(b, r, msg) : -ESRCH;
		if (k < 0) {
			/* Unbound, it must not run: a bound program may not outlive its caller. */
			(void)log_warning_errno(k, "Failed to bind program %s to its caller: %m", name);
			if (r)
				(void)manager_stop_program(b->manager, name, &e);
			return sd_bus_error_set_errno(error, k);
		}
	}
	/* A persistent start is answered once the store holds it. */
	if (o->start.persist)
		return reply_when_durable(msg, b, name);
	return reply_program_path(msg, name);
}

static int method_start_or_replace(sd_bus_message *msg, Bus *b, bool replace,
				   sd_bus_error *error)
{
	const char *name, *text;
	int k;

	k = sd_bus_message_read(msg, "ss", &name, &text);
	if (k < 0)
		return k;
	return start_with(msg, b, name, text, &(ManagerStartOptions){ .start.replace = replace }, error);
}

static int method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return method_start_or_replace(msg, userdata, false, error);
}

static int method_replace(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return method_start_or_replace(msg, userdata, true, error);
}

static int method_start_with_options(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	ManagerStartOptions o = {};
	ManagerError e = {};
	const char *name, *text;
	int k;

	k = sd_bus_message_read(msg, "ss", &name, &text);
	if (k < 0)
		return k;
	k = read_start_options(msg, &o, &e);
	if (k < 0)
		return bus_map_error(error, k, &e);
	return start_with(msg, userdata, name, text, &o, error);
}

/* The reply of a method done: @msg answered now, or once its change is on disk. */
static int reply_empty(sd_bus_message *msg, Bus *b)
{
	return sd_bus_reply_method_return(msg, NULL);
}

static int reply_empty_when_durable(sd_bus_message *msg, Bus *b)
{
	return reply_when_durable(msg, b, NULL);
}

/* A method whose one argument is a name: @op does the work, @reply answers. */
static int method_on_name(sd_bus_message *msg, Bus *b,
			  int (*op)(Manager *, const char *, ManagerError *),
			  int (*reply)(sd_bus_message *, Bus *), sd_bus_error *error)
{
	ManagerError e = {};
	const char *name;
	int k;

	k = sd_bus_message_read(msg, "s", &name);
	if (k < 0)
		return k;
	k = op(b->manager, name, &e);
	if (k < 0)
		return bus_map_error(error, k, &e);
	return reply(msg, b);
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return method_on_name(msg, userdata, manager_stop_program, reply_empty, error);
}

static int method_stop_all(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Bus *b = userdata;

	manager_stop_all_programs(b->manager);
	return sd_bus_reply_method_return(msg, NULL);
}

static int method_list(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return bus_reply_sliced(userdata, msg, SLICE_LIST);
}

static int method_define(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Bus *b = userdata;
	ManagerError e = {};
	const char *name, *text;
	int k;

	k = sd_bus_message_read(msg, "ss", &name, &text);
	if (k < 0)
		return k;
	k = manager_define(b->manager, name, text, &e);
	if (k < 0)
		return bus_map_error(error, k, &e);
	return reply_when_durable(msg, b, NULL);
}

static int method_undefine(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return method_on_name(msg, userdata, manager_undefine, reply_empty_when_durable, error);
}

static int method_list_definitions(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	return bus_reply_sliced(userdata, msg, SLICE_DEFINITIONS);
}

static int on_subscribers_gone(sd_bus_track *t, void *userdata)
{
	Bus *b = userdata;

	b->subscribers = sd_bus_track_unref(b->subscribers);
	manager_set_subscribed(b->manager, false);
	return 0;
}

static int method_subscribe(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Bus *b = userdata;
	int k;

	if (!b->subscribers) {
		k = sd_bus_track_new(sd_bus_message_get_bus(msg), &b->subscribers,
				     on_subscribers_gone, b);
		if (k < 0)
			return k;
	}
	/* A vanished client counts as unsubscribed: the track sees it leave the bus. */
	k = sd_bus_track_add_sender(b->subscribers, msg);
	if (k < 0)
		return k;
	k = sd_bus_reply_method_return(msg, NULL);
	manager_set_subscribed(b->manager, true);
	return k;
}

static int method_unsubscribe(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Bus *b = userdata;

	if (b->subscribers) {
		(void)sd_bus_track_remove_sender(b->subscribers, msg); /* not subscribed: fine */
		/*
		 * sd-bus reports an emptied track only on a later dispatch; a tick
		 * in between would send a Frame after this reply. The last one
		 * gone, the frames stop now.
		 */
		if (sd_bus_track_count(b->subscribers) == 0)
			(void)on_subscribers_gone(b->subscribers, b);
	}
	return sd_bus_reply_method_return(msg, NULL);
}

static int property_layout(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply, void *userdata,
			   sd_bus_error *error)
{
	const Layout *l = ((Bus *)userdata)->manager->config->layout;
	int k;

	k = sd_bus_message_open_container(reply, 'a', "au");
	if (k < 0)
		return k;
	for (unsigned r = 0; r < l->n_rows; r++) {
		k = sd_bus_message_append_array(reply, 'u', l->matrix + (size_t)r * l->n_cols,
						l->n_cols * sizeof(unsigned));
		if (k < 0)
			return k;
	}
	return sd_bus_message_close_container(reply);
}

/* A chip's label and path as far as they are known: a chip never seen has only its name. */
static void chip_names(const Chips *c, size_t k, const char **ret_label, const char **ret_path,
		       bool *ret_present)
{
	const char *spec, *label, *path;

	chips_get(c, k, &spec, &label, &path, ret_present);
	*ret_label = label ? label : spec[0] == '/' ? "" : spec;
	*ret_path = path ? path : spec[0] == '/' ? spec : "";
}

static int property_chip(sd_bus *bus, const char *path, const char *interface,
			 const char *property, sd_bus_message *reply, void *userdata,
			 sd_bus_error *error)
{
	const Chips *c = ((Bus *)userdata)->manager->chips;
	const char *spec, *chip_path;

	/* The default chip: where it was found, or what the configuration calls it. */
	chips_get(c, 0, &spec, NULL, &chip_path, NULL);
	return sd_bus_message_append(reply, "s", chip_path ? chip_path : spec);
}

static int property_chips(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *userdata,
			  sd_bus_error *error)
{
	const Chips *c = ((Bus *)userdata)->manager->chips;
	int k;

	k = sd_bus_message_open_container(reply, 'a', "(ssb)");
	for (size_t i = 0; k >= 0 && i < chips_count(c); i++) {
		const char *label, *chip_path;
		bool present;

		chip_names(c, i, &label, &chip_path, &present);
		k = sd_bus_message_append(reply, "(ssb)", label, chip_path, present);
	}
	return k < 0 ? k : sd_bus_message_close_container(reply);
}

static int append_line(sd_bus_message *reply, const Layout *l, const Chips *c, size_t i)
{
	const LayoutLine *info = &l->info[i];
	const LineSettings *s = &info->settings;
	const char *label, *chip_path;
	bool present;
	int k;

	chip_names(c, info->chip, &label, &chip_path, &present);
	k = sd_bus_message_open_container(reply, 'r', "sssa{sv}");
	if (k >= 0)
		k = sd_bus_message_append(reply, "sss", info->ref, info->alias ? info->alias : "",
					  label);
	if (k >= 0)
		k = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (k >= 0)
		k = sd_bus_message_append(
			reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}", "kind", "s", info->analog ? "led" : "gpio",
			"number", "u", info->number, "chip",
			"s", l->chips[info->chip], "active_low", "b", s->active_low, "drive", "s",
			line_drive_to_string(s->drive), "bias", "s", line_bias_to_string(s->bias),
			"initial", "s", line_state_to_string(s->initial), "exit", "s",
			line_state_to_string(s->exit));
	/* Its entry in Chips, exact where two chips share a label. */
	if (k >= 0)
		k = sd_bus_message_append(reply, "{sv}", "chip_index", "u", info->chip);
	/* Known once the chip was seen. */
	if (k >= 0 && info->has_offset)
		k = sd_bus_message_append(reply, "{sv}", "offset", "u", info->offset);
	if (k >= 0 && info->name)
		k = sd_bus_message_append(reply, "{sv}", "name", "s", info->name);
	if (k >= 0)
		k = sd_bus_message_close_container(reply);
	if (k >= 0)
		k = sd_bus_message_close_container(reply);
	return k;
}

static int property_lines(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *userdata,
			  sd_bus_error *error)
{
	const Manager *m = ((Bus *)userdata)->manager;
	const Layout *l = m->config->layout;
	int k;

	k = sd_bus_message_open_container(reply, 'a', "(sssa{sv})");
	for (size_t i = 0; k >= 0 && i < l->n_lines; i++)
		k = append_line(reply, l, m->chips, i);
	return k < 0 ? k : sd_bus_message_close_container(reply);
}

int bus_append_lit(sd_bus_message *msg, Manager *m)
{
	size_t n = m->config->layout->n_lines;
	_cleanup_(freep) unsigned *lit = malloc(n * sizeof(unsigned));

	if (!lit)
		return -ENOMEM;
	n = manager_get_lit(m, lit, n);
	return sd_bus_message_append_array(msg, 'u', lit, n * sizeof(unsigned));
}

/* Lines and their levels, as a(ud): basic appends, no signature parsed per entry. */
static int append_levels(sd_bus_message *msg, const unsigned *numbers, const uint16_t *levels, size_t n)
{
	int k;

	k = sd_bus_message_open_container(msg, 'a', "(ud)");
	for (size_t i = 0; k >= 0 && i < n; i++) {
		double level = (double)levels[i] / LEVEL_MAX;

		if ((k = sd_bus_message_open_container(msg, 'r', "ud")) < 0 ||
		    (k = sd_bus_message_append_basic(msg, 'u', &numbers[i])) < 0 ||
		    (k = sd_bus_message_append_basic(msg, 'd', &level)) < 0)
			break;
		k = sd_bus_message_close_container(msg);
	}
	return k < 0 ? k : sd_bus_message_close_container(msg);
}

/* The lines above 0 with their levels, as a(ud). */
int bus_append_levels(sd_bus_message *msg, Manager *m)
{
	size_t n = m->config->layout->n_lines;
	_cleanup_(freep) unsigned *numbers = malloc(n * sizeof(unsigned));
	_cleanup_(freep) uint16_t *levels = malloc(n * sizeof(uint16_t));

	if (!numbers || !levels)
		return -ENOMEM;
	n = manager_get_levels(m, numbers, levels, n, NULL);
	return append_levels(msg, numbers, levels, n);
}

/*
 * A frame's Levels signal: while some line is between dark and lit, and
 * once after, so a watcher sees the last shade go. The levels are read
 * first: with nothing between, no message is built (at 10,000 lit lines
 * building it took about a millisecond a frame).
 */
int bus_emit_levels(Bus *b, usec_t when)
{
	Manager *m = b->manager;
	size_t n = m->config->layout->n_lines;
	_cleanup_(freep) unsigned *numbers = malloc(n * sizeof(unsigned));
	_cleanup_(freep) uint16_t *levels = malloc(n * sizeof(uint16_t));
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	bool between = false, was = b->levels_between;
	int k;

	if (!numbers || !levels)
		return -ENOMEM;
	n = manager_get_levels(m, numbers, levels, n, &between);
	b->levels_between = between;
	if (!between && !was)
		return 0;
	if ((k = sd_bus_message_new_signal(b->bus, &msg, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE,
					   "Levels")) < 0 ||
	    (k = sd_bus_message_append_basic(msg, 't', &(uint64_t){ when })) < 0 ||
	    (k = append_levels(msg, numbers, levels, n)) < 0)
		return k;
	return sd_bus_send(b->bus, msg, NULL);
}

static int property_levels(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply, void *userdata,
			   sd_bus_error *error)
{
	return bus_append_levels(reply, ((Bus *)userdata)->manager);
}

static int property_lit(sd_bus *bus, const char *path, const char *interface,
			const char *property, sd_bus_message *reply, void *userdata,
			sd_bus_error *error)
{
	return bus_append_lit(reply, ((Bus *)userdata)->manager);
}

static int property_version(sd_bus *bus, const char *path, const char *interface,
			    const char *property, sd_bus_message *reply, void *userdata,
			    sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", BLINKD_VERSION);
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Layout", "aau", property_layout, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Chip", "s", property_chip, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Lines", "a(sssa{sv})", property_lines, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Chips", "a(ssb)", property_chips, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	/* Changes at every edge: the Frame signal, not PropertiesChanged, reports it. */
	SD_BUS_PROPERTY("Lit", "au", property_lit, 0, 0),
	/* Likewise: the Levels signal reports it. */
	SD_BUS_PROPERTY("Levels", "a(ud)", property_levels, 0, 0),
	SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD_WITH_ARGS("Start", SD_BUS_ARGS("s", name, "s", program),
				SD_BUS_RESULT("o", path), method_start, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Replace", SD_BUS_ARGS("s", name, "s", program),
				SD_BUS_RESULT("o", path), method_replace,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("StartWithOptions",
				SD_BUS_ARGS("s", name, "s", program, "a{sv}", options),
				SD_BUS_RESULT("o", path), method_start_with_options,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_stop,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("StopAll", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_stop_all,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("List", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ss)", programs),
				method_list, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Define", SD_BUS_ARGS("s", name, "s", program), SD_BUS_NO_RESULT,
				method_define, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Undefine", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
				method_undefine, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListDefinitions", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("a(ss)", definitions), method_list_definitions,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Subscribe", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_subscribe,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Unsubscribe", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
				method_unsubscribe, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("Finished", SD_BUS_ARGS("s", name, "s", result), 0),
	SD_BUS_SIGNAL_WITH_ARGS("Frame", SD_BUS_ARGS("t", monotonic_usec, "au", lit), 0),
	SD_BUS_SIGNAL_WITH_ARGS("Levels", SD_BUS_ARGS("t", monotonic_usec, "a(ud)", levels), 0),
	SD_BUS_VTABLE_END,
};

/* Simulation only: a chip vanishes or returns, as if unplugged and plugged in again. */
static int method_set_chip_present(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Bus *b = userdata;
	const char *chip;
	int present, r;

	r = sd_bus_message_read(msg, "sb", &chip, &present);
	if (r < 0)
		return r;
	r = manager_sim_set_chip_present(b->manager, chip[0] ? chip : NULL, present);
	if (r == -ENOENT)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "No simulated chip is called \"%s\".",
					 QUOTE(chip, QUOTE_CHARS_MAX));
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable simulation_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("SetChipPresent", SD_BUS_ARGS("s", chip, "b", present),
				SD_BUS_NO_RESULT, method_set_chip_present, 0),
	SD_BUS_VTABLE_END,
};

void bus_manager_chips_changed(Bus *b)
{
	(void)sd_bus_emit_properties_changed(b->bus, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE,
					     "Chips", "Lines", "Chip", NULL);
}

int bus_manager_register(Bus *b)
{
	int r;

	if (chips_is_sim(b->manager->chips)) {
		r = sd_bus_add_object_vtable(b->bus, &b->simulation_slot, BLINKD_OBJECT_PATH,
					     BLINKD_SIMULATION_INTERFACE, simulation_vtable, b);
		if (r < 0)
			return log_error_errno(r, "Failed to register %s: %m",
					       BLINKD_SIMULATION_INTERFACE);
	}

	r = sd_bus_add_object_vtable(b->bus, &b->manager_slot, BLINKD_OBJECT_PATH,
				     BLINKD_MANAGER_INTERFACE, manager_vtable, b);
	if (r < 0)
		return log_error_errno(r, "Failed to register %s: %m", BLINKD_OBJECT_PATH);
	r = sd_bus_add_object_manager(b->bus, &b->object_manager_slot, BLINKD_OBJECT_PATH);
	if (r < 0)
		return log_error_errno(r, "Failed to add the object manager: %m");
	return 0;
}

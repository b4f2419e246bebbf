/* SPDX-License-Identifier: MIT */
/*
 * io.blinkd1.Program: one object per running program, at
 * /io/blinkd1/program/<name, escaped>. Vtable and handlers only; objects
 * are found in the manager's table, enumerated for introspection and the
 * ObjectManager, and announced as they appear and vanish (bus.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "bus-error.h"
#include "bus-program.h"
#include "log.h"

int bus_program_path(const char *name, char **ret)
{
	return sd_bus_path_encode(BLINKD_PROGRAM_PATH_PREFIX, name, ret);
}

static int program_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
			void **found, sd_bus_error *error)
{
	_cleanup_(freep) char *name = NULL;
	Bus *b = userdata;
	Running *r;
	int k;

	k = sd_bus_path_decode(path, BLINKD_PROGRAM_PATH_PREFIX, &name);
	if (k <= 0)
		return k;
	r = manager_get_running(b->manager, name);
	if (!r)
		return 0;
	*found = r;
	return 1;
}

static int property_lines(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *userdata,
			  sd_bus_error *error)
{
	Running *r = userdata;

	return sd_bus_message_append_array(reply, 'u', r->lines, r->n_lines * sizeof(unsigned));
}

/* The Running stays until the end is reported, after this call: no copy of its name needed. */
static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Running *r = userdata;
	ManagerError e = {};
	int k;

	k = manager_stop_program(r->manager, r->name, &e);
	if (k < 0)
		return bus_map_error(error, k, &e);
	return sd_bus_reply_method_return(msg, NULL);
}

/* sd-bus reads a "b" property as an int: these fields are bools. */
static int property_bool(sd_bus_message *reply, bool b)
{
	return sd_bus_message_append(reply, "b", (int)b);
}

static int property_bound(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *userdata,
			  sd_bus_error *error)
{
	return property_bool(reply, ((Running *)userdata)->bound);
}

static int property_persistent(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	return property_bool(reply, ((Running *)userdata)->persistent);
}

static int property_scheduled(sd_bus *bus, const char *path, const char *interface,
			      const char *property, sd_bus_message *reply, void *userdata,
			      sd_bus_error *error)
{
	return property_bool(reply, running_is_scheduled(userdata));
}

static const sd_bus_vtable program_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Running, name), SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Program", "s", NULL, offsetof(Running, canonical),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("StartedUSec", "t", NULL, offsetof(Running, started_realtime),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Lines", "au", property_lines, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Priority", "i", NULL, offsetof(Running, priority),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Bound", "b", property_bound, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Persistent", "b", property_persistent, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("TimeoutUSec", "t", NULL, offsetof(Running, timeout),
			SD_BUS_VTABLE_PROPERTY_CONST),
	/* Changes once, when a program started "at" a later instant starts: read it. */
	SD_BUS_PROPERTY("Scheduled", "b", property_scheduled, 0, 0),
	SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_stop,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

int bus_program_register(Bus *b)
{
	int r;

	r = sd_bus_add_fallback_vtable(b->bus, &b->program_slot, BLINKD_PROGRAM_PATH_PREFIX,
				       BLINKD_PROGRAM_INTERFACE, program_vtable, program_find, b);
	if (r < 0)
		return log_error_errno(r, "Failed to register the program objects: %m");
	/*
	 * No node enumerator: the objects' list is built in slices
	 * (bus-reply.c), for GetManagedObjects() and for the introspection of
	 * /io/blinkd1/program, never whole in one dispatch.
	 */
	return 0;
}

/* One {sv} entry holding a basic value: basic appends, no format parsed. */
static int append_property(sd_bus_message *m, const char *name, char type, const void *value)
{
	const char signature[2] = { type, '\0' };
	int k;

	if ((k = sd_bus_message_open_container(m, 'e', "sv")) < 0 ||
	    (k = sd_bus_message_append_basic(m, 's', name)) < 0 ||
	    (k = sd_bus_message_open_container(m, 'v', signature)) < 0 ||
	    (k = sd_bus_message_append_basic(m, type, value)) < 0 ||
	    (k = sd_bus_message_close_container(m)) < 0)
		return k;
	return sd_bus_message_close_container(m);
}

/*
 * The same values as the vtable's getters, in one a{sv}. GetManagedObjects
 * appends this for every program, so it uses basic appends throughout:
 * parsing a format per property was most of the reply's cost.
 */
int bus_program_append_properties(sd_bus_message *m, Running *r)
{
	uint64_t started = r->started_realtime, timeout = r->timeout;
	int32_t priority = r->priority;
	int bound = r->bound, persistent = r->persistent, scheduled = running_is_scheduled(r);
	int k;

	if ((k = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
	    (k = append_property(m, "Name", 's', r->name)) < 0 ||
	    (k = append_property(m, "Program", 's', r->canonical)) < 0 ||
	    (k = append_property(m, "StartedUSec", 't', &started)) < 0)
		return k;
	if ((k = sd_bus_message_open_container(m, 'e', "sv")) < 0 ||
	    (k = sd_bus_message_append_basic(m, 's', "Lines")) < 0 ||
	    (k = sd_bus_message_open_container(m, 'v', "au")) < 0 ||
	    (k = sd_bus_message_append_array(m, 'u', r->lines, r->n_lines * sizeof(unsigned))) < 0 ||
	    (k = sd_bus_message_close_container(m)) < 0 ||
	    (k = sd_bus_message_close_container(m)) < 0)
		return k;
	if ((k = append_property(m, "Priority", 'i', &priority)) < 0 ||
	    (k = append_property(m, "Bound", 'b', &bound)) < 0 ||
	    (k = append_property(m, "Persistent", 'b', &persistent)) < 0 ||
	    (k = append_property(m, "TimeoutUSec", 't', &timeout)) < 0 ||
	    (k = append_property(m, "Scheduled", 'b', &scheduled)) < 0)
		return k;
	return sd_bus_message_close_container(m);
}

/* ------------------------------------------------------- bound programs */

struct BoundCaller {
	sd_bus_track *track;
	sd_bus_slot *check;
};

BoundCaller *bound_caller_free(BoundCaller *c)
{
	if (!c)
		return NULL;
	sd_bus_track_unref(c->track);
	sd_bus_slot_unref(c->check); /* cancels a check still under way */
	free(c);
	return NULL;
}

static void stop_bound(Running *r, const char *why)
{
	ManagerError e = {};

	log_debug("Program %s is bound to a caller that %s: stopping it.", r->name, why);
	(void)manager_stop_program(r->manager, r->name, &e);
}

/* The caller left the bus. @r is valid: its end frees this track first. */
static int on_caller_gone(sd_bus_track *track, void *userdata)
{
	stop_bound(userdata, "left the bus");
	return 0;
}

/*
 * The caller may have left between sending its call and the track being
 * made; the broker would then never say it left. Asking for its owner
 * after the track exists closes that gap.
 */
static int on_caller_checked(sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
	Running *r = userdata;

	if (sd_bus_message_is_method_error(reply, NULL))
		stop_bound(r, "was gone already");
	return 0;
}

int bound_caller_new(Bus *b, Running *r, sd_bus_message *call)
{
	BoundCaller *c;
	int k;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r->bus_data = c;
	k = sd_bus_track_new(b->bus, &c->track, on_caller_gone, r);
	if (k < 0)
		return k;
	k = sd_bus_track_add_sender(c->track, call);
	if (k < 0)
		return k;
	return sd_bus_call_method_async(b->bus, &c->check, "org.freedesktop.DBus",
					"/org/freedesktop/DBus", "org.freedesktop.DBus",
					"GetNameOwner", on_caller_checked, r, "s",
					sd_bus_message_get_sender(call));
}

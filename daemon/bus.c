/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sys/socket.h>
#include <stdlib.h>

#include "bus-names.h"
#include "bus.h"
#include "bus-manager.h"
#include "bus-program.h"
#include "bus-reply.h"
#include "log.h"
#include "startup.h"

static void bus_program_added(void *userdata, const Running *r)
{
	Bus *b = userdata;
	_cleanup_(freep) char *path = NULL;

	if (bus_program_path(r->name, &path) < 0)
		return (void)log_oom();
	(void)sd_bus_emit_object_added(b->bus, path);
}

/* While @r is still listed: sd-bus looks the object up to name its interfaces. */
static void bus_program_ended(void *userdata, Running *r, RunResult result)
{
	Bus *b = userdata;
	_cleanup_(freep) char *path = NULL;

	r->bus_data = bound_caller_free(r->bus_data);

	if (bus_program_path(r->name, &path) < 0)
		return (void)log_oom();
	(void)sd_bus_emit_object_removed(b->bus, path);
	(void)sd_bus_emit_signal(b->bus, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Finished",
				 "ss", r->name, run_result_to_string(result));
}

static void bus_frame(void *userdata, usec_t when)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	Bus *b = userdata;

	if (sd_bus_message_new_signal(b->bus, &msg, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE,
				      "Frame") < 0 ||
	    sd_bus_message_append(msg, "t", (uint64_t)when) < 0 ||
	    bus_append_lit(msg, b->manager) < 0)
		return;
	(void)sd_bus_send(b->bus, msg, NULL);
	/* Frame says what is lit, Levels how much. */
	(void)bus_emit_levels(b, when);
}

static void bus_chips_changed(void *userdata)
{
	bus_manager_chips_changed(userdata);
}

/*
 * A reply that lists every program is built in slices, but goes out as one
 * message: with sd-bus's 8 MiB send buffer, one sendmsg() copied a 4.7 MB
 * GetManagedObjects whole, holding the loop for milliseconds. With a buffer
 * this size the kernel takes it in pieces, and sd-bus writes the rest as the
 * socket drains, one piece per wakeup of the bus's (lower priority) source,
 * so due edges go out in between.
 */
#define BUS_SEND_BUFFER (64 * 1024)

static void bus_bound_send_buffer(sd_bus *bus)
{
	int fd = sd_bus_get_fd(bus), size = BUS_SEND_BUFFER;

	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
		(void)log_debug_errno(errno, "Failed to bound the bus's send buffer: %m");
}

static const ManagerBusOps bus_ops = {
	.program_added = bus_program_added,
	.program_ended = bus_program_ended,
	.frame = bus_frame,
	.chips_changed = bus_chips_changed,
};

/*
 * GetManagedObjects() of /io/blinkd1 and Introspect() of /io/blinkd1/program
 * list every program; sd-bus would build them whole in one dispatch. They
 * are answered here, in slices, before sd-bus sees them.
 */
static int on_incoming(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *path, *interface, *member;
	SliceKind kind;
	int k;

	if (!sd_bus_message_is_method_call(m, NULL, NULL))
		return 0;
	path = sd_bus_message_get_path(m);
	interface = sd_bus_message_get_interface(m);
	member = sd_bus_message_get_member(m);
	if (!path || !member)
		return 0;
	if (streq(member, "GetManagedObjects") && streq(path, BLINKD_OBJECT_PATH) &&
	    (!interface || streq(interface, "org.freedesktop.DBus.ObjectManager")))
		kind = SLICE_MANAGED_OBJECTS;
	else if (streq(member, "Introspect") && streq(path, BLINKD_PROGRAM_PATH_PREFIX) &&
		 (!interface || streq(interface, "org.freedesktop.DBus.Introspectable")))
		kind = SLICE_INTROSPECT_PROGRAMS;
	else
		return 0;
	k = bus_reply_sliced(userdata, m, kind);
	if (k < 0)
		(void)sd_bus_reply_method_errno(m, k, NULL);
	return 1; /* handled */
}

/* The broker went away (or our connection to it): a daemon nobody can reach has no purpose. */
static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Bus *b = userdata;

	log_error("Lost the connection to the bus; turning every line off and exiting.");
	manager_exit(b->manager, -ECONNRESET);
	return 0;
}

int bus_new(Bus **ret, Manager *m, bool user_bus)
{
	_cleanup_(bus_freep) Bus *b = NULL;
	const char *which = user_bus ? "session" : "system";
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return log_oom();
	b->manager = m;

	r = startup_step("the bus connection");
	if (r < 0)
		return r;
	r = user_bus ? sd_bus_open_user(&b->bus) : sd_bus_open_system(&b->bus);
	if (r < 0)
		return log_error_errno(r, "Failed to connect to the %s bus: %m", which);
	/* sd-bus would exit the loop on its own; the manager should hear why instead. */
	(void)sd_bus_set_exit_on_disconnect(b->bus, false);
	bus_bound_send_buffer(b->bus);
	r = sd_bus_match_signal(b->bus, &b->disconnected_slot, "org.freedesktop.DBus.Local",
				"/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
				"Disconnected", on_disconnected, b);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the connection to the %s bus: %m", which);

	r = startup_step("the bus in the event loop");
	if (r < 0)
		return r;
	r = sd_bus_attach_event(b->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
	r = bus_replies_init(b);
	if (r < 0)
		return r;
	r = sd_bus_add_filter(b->bus, &b->filter_slot, on_incoming, b);
	if (r < 0)
		return log_error_errno(r, "Failed to add the message filter: %m");

	r = startup_step("the objects");
	if (r < 0)
		return r;
	r = bus_manager_register(b);
	if (r < 0)
		return r;
	r = bus_program_register(b);
	if (r < 0)
		return r;

	r = startup_step("the bus name");
	if (r < 0)
		return r;
	r = sd_bus_request_name(b->bus, BLINKD_BUS_NAME, 0);
	if (r < 0)
		return log_error_errno(r, "Failed to take the bus name %s: %m", BLINKD_BUS_NAME);

	manager_set_bus(m, &bus_ops, b);
	*ret = TAKE_PTR(b);
	return 0;
}

/* bus_new()'s steps undone, last first. */
Bus *bus_free(Bus *b)
{
	if (!b)
		return NULL;
	/* The manager no longer reports to us. */
	if (b->manager && b->manager->bus_userdata == b)
		manager_set_bus(b->manager, NULL, NULL);
	/* The name goes with the connection, below. The subscribers came with calls. */
	b->subscribers = sd_bus_track_unref(b->subscribers);
	/* The objects. */
	b->program_slot = sd_bus_slot_unref(b->program_slot);
	b->object_manager_slot = sd_bus_slot_unref(b->object_manager_slot);
	b->manager_slot = sd_bus_slot_unref(b->manager_slot);
	b->simulation_slot = sd_bus_slot_unref(b->simulation_slot);
	/* The bus in the loop: the filter, the replies under way and their slicer, the attachment. */
	b->filter_slot = sd_bus_slot_unref(b->filter_slot);
	bus_replies_free(b);
	b->slicer = sd_event_source_disable_unref(b->slicer);
	if (b->bus)
		(void)sd_bus_detach_event(b->bus);
	/* The connection: what is queued is sent, then it closes. */
	b->disconnected_slot = sd_bus_slot_unref(b->disconnected_slot);
	sd_bus_flush_close_unref(b->bus);
	free(b);
	return NULL;
}

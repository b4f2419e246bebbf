/* SPDX-License-Identifier: MIT */
/*
 * io.blinkd1.Program: one object per running program, at
 * /io/blinkd1/program/<name, escaped>. Vtable and handlers only; objects
 * are found in the manager's table, enumerated for introspection and the
 * ObjectManager, and announced as they appear and vanish.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "log.h"
#include "manager.h"

static int program_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
			void **found, sd_bus_error *error)
{
	_cleanup_(freep) char *name = NULL;
	Manager *m = userdata;
	Running *r;
	int k;

	k = sd_bus_path_decode(path, BLINKD_PROGRAM_PATH_PREFIX, &name);
	if (k <= 0)
		return k;
	r = manager_get_running(m, name);
	if (!r)
		return 0;
	*found = r;
	return 1;
}

static int program_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes,
			     sd_bus_error *error)
{
	Manager *m = userdata;
	char **l;

	l = calloc(m->running.n + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < m->running.n; i++) {
		Running *r = m->running.entries[i].value;
		l[i] = strdup(r->path);
		if (!l[i]) {
			for (size_t j = 0; j < i; j++)
				free(l[j]);
			free(l);
			return -ENOMEM;
		}
	}
	*nodes = l;
	return 0;
}

static int property_lines(sd_bus *bus, const char *path, const char *interface,
			  const char *property, sd_bus_message *reply, void *userdata,
			  sd_bus_error *error)
{
	Running *r = userdata;

	return sd_bus_message_append_array(reply, 'u', r->lines, r->n_lines * sizeof(unsigned));
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	Running *r = userdata;
	Manager *m = r->manager;
	_cleanup_(freep) char *name = strdup(r->name); /* r goes away with the program */
	char detail[256];
	int k;

	if (!name)
		return -ENOMEM;
	k = manager_stop_program(m, name);
	if (k < 0) {
		snprintf(detail, sizeof(detail), "program \"%s\" ended already", name);
		return bus_map_error(error, k, detail);
	}
	return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable program_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Running, name), SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Program", "s", NULL, offsetof(Running, canonical),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("StartedUSec", "t", NULL, offsetof(Running, started_realtime),
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Lines", "au", property_lines, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD_WITH_ARGS("Stop", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_stop,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

int bus_program_register(Manager *m)
{
	int r;

	r = sd_bus_add_fallback_vtable(m->bus, &m->program_slot, BLINKD_PROGRAM_PATH_PREFIX,
				       BLINKD_PROGRAM_INTERFACE, program_vtable, program_find, m);
	if (r < 0)
		return log_error_errno(r, "Failed to register the program objects: %m");
	r = sd_bus_add_node_enumerator(m->bus, &m->enumerator_slot, BLINKD_PROGRAM_PATH_PREFIX,
				       program_enumerate, m);
	if (r < 0)
		return log_error_errno(r, "Failed to register the program enumerator: %m");
	return 0;
}

int bus_emit_program_added(Manager *m, Running *r)
{
	if (!m->bus)
		return 0;
	return sd_bus_emit_object_added(m->bus, r->path);
}

/* Before the object goes: sd-bus looks it up to name its interfaces. */
int bus_emit_program_removed(Manager *m, Running *r)
{
	if (!m->bus)
		return 0;
	return sd_bus_emit_object_removed(m->bus, r->path);
}

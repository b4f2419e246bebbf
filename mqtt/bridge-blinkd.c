/* SPDX-License-Identifier: MIT */
/*
 * blinkd on D-Bus as the bridge's remote; see bridge-blinkd.h. What it
 * learns it tells the bridge through RemoteEvents, never by calling it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bridge-blinkd.h"
#include "bus-names.h"
#include "json-util.h"
#include "log.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct BridgeBlinkd {
	sd_event *event;
	bool user_bus;
	const RemoteEvents *events;
	void *userdata;

	sd_bus *bus;
	sd_event_source *bus_retry;
	usec_t bus_backoff;

	/* blinkd, while io.blinkd1 has an owner */
	bool owner_known; /* the bus answered whether io.blinkd1 has one */
	char *owner;
	bool introspected;
	bool has_start_with_options;
	sd_bus_slot *introspect_slot, *subscribe_slot, *properties_slot;
	sd_bus_slot *list_slot, *definitions_slot;
	bool list_again, definitions_again;
	unsigned *numbers; /* every line of the layout, row by row */
	size_t n_numbers;
	char *chip, *version;
	json_object *running; /* array of {"name","program"} */
	unsigned *lit;
	size_t n_lit;

	/* kept across owners: the last list read */
	json_object *definitions; /* array of {"name","program"} */
	char **definition_names;  /* NULL-terminated */
};

static void free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static void forget(BridgeBlinkd *b)
{
	b->introspect_slot = sd_bus_slot_unref(b->introspect_slot);
	b->subscribe_slot = sd_bus_slot_unref(b->subscribe_slot);
	b->properties_slot = sd_bus_slot_unref(b->properties_slot);
	b->list_slot = sd_bus_slot_unref(b->list_slot);
	b->definitions_slot = sd_bus_slot_unref(b->definitions_slot);
	b->list_again = b->definitions_again = false;
	b->introspected = b->has_start_with_options = false;
	free(b->owner);
	b->owner = NULL;
	free(b->numbers);
	b->numbers = NULL;
	b->n_numbers = 0;
	free(b->chip);
	free(b->version);
	b->chip = b->version = NULL;
	json_object_put(b->running);
	b->running = NULL;
	free(b->lit);
	b->lit = NULL;
	b->n_lit = 0;
}

/* ------------------------------------------------------------ running */

/* List() as [{"name": N, "program": P}], the program as JSON, not text. */
static int read_pairs(sd_bus_message *m, json_object **ret, char ***ret_names)
{
	_cleanup_(json_object_putp) json_object *a = json_object_new_array();
	char **names = NULL;
	size_t n = 0;
	const char *name, *text;
	int r;

	if (!a)
		return -ENOMEM;
	r = sd_bus_message_enter_container(m, 'a', "(ss)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(ss)", &name, &text)) > 0) {
		json_object *e = json_object_new_object();
		json_object *program = json_tokener_parse(text);

		if (!program)
			program = json_object_new_string(text);
		if (!e || json_object_array_add(a, e) < 0 ||
		    json_object_object_add(e, "name", json_object_new_string(name)) < 0 ||
		    json_object_object_add(e, "program", program) < 0) {
			free_strv(names);
			return -ENOMEM;
		}
		if (ret_names) {
			char **grown = realloc(names, (n + 2) * sizeof(char *));
			if (!grown) {
				free_strv(names);
				return -ENOMEM;
			}
			names = grown;
			names[n] = strdup(name);
			names[++n] = NULL;
			if (!names[n - 1]) {
				free_strv(names);
				return -ENOMEM;
			}
		}
	}
	if (r < 0) {
		free_strv(names);
		return r;
	}
	*ret = TAKE_PTR(a);
	if (ret_names) {
		if (!names)
			names = calloc(1, sizeof(char *));
		*ret_names = names;
	}
	return 0;
}

static void refresh_running(BridgeBlinkd *b);

static int on_list_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BridgeBlinkd *b = userdata;
	json_object *running = NULL;
	int r;

	b->list_slot = sd_bus_slot_unref(b->list_slot);
	if (sd_bus_message_is_method_error(m, NULL))
		log_warning("List() failed: %s", sd_bus_message_get_error(m)->message);
	else if ((r = read_pairs(m, &running, NULL)) < 0)
		log_warning_errno(r, "Failed to read the reply of List(): %m");
	else {
		const char *old = b->running ? json_object_to_json_string_ext(b->running, JSON_FLAGS)
					     : NULL;
		bool same = old && streq(old, json_object_to_json_string_ext(running, JSON_FLAGS));

		json_object_put(b->running);
		b->running = running;
		if (!same)
			b->events->running_changed(b->userdata);
	}
	if (b->list_again) {
		b->list_again = false;
		refresh_running(b);
	}
	return 0;
}

/* One List() in flight at a time; changes during it ask for one more. */
static void refresh_running(BridgeBlinkd *b)
{
	int r;

	if (!b->owner)
		return;
	if (b->list_slot) {
		b->list_again = true;
		return;
	}
	r = sd_bus_call_method_async(b->bus, &b->list_slot, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				     BLINKD_MANAGER_INTERFACE, "List", on_list_reply, b, NULL);
	if (r < 0)
		log_warning_errno(r, "Failed to call List(): %m");
}

/* -------------------------------------------------------- definitions */

static void refresh_definitions(void *userdata);

static int on_definitions_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BridgeBlinkd *b = userdata;
	json_object *defs = NULL;
	char **names = NULL;
	int r;

	b->definitions_slot = sd_bus_slot_unref(b->definitions_slot);
	if (sd_bus_message_is_method_error(m, NULL))
		log_warning("ListDefinitions() failed: %s", sd_bus_message_get_error(m)->message);
	else if ((r = read_pairs(m, &defs, &names)) < 0)
		log_warning_errno(r, "Failed to read the reply of ListDefinitions(): %m");
	else {
		bool same = b->definitions &&
			    streq(json_object_to_json_string_ext(b->definitions, JSON_FLAGS),
				  json_object_to_json_string_ext(defs, JSON_FLAGS));

		json_object_put(b->definitions);
		b->definitions = defs;
		free_strv(b->definition_names);
		b->definition_names = names;
		/* Told even when unchanged: someone asked, or the broker is new. */
		b->events->definitions_read(!same, b->userdata);
	}
	if (b->definitions_again) {
		b->definitions_again = false;
		refresh_definitions(b);
	}
	return 0;
}

static void refresh_definitions(void *userdata)
{
	BridgeBlinkd *b = userdata;
	int r;

	if (!b->owner)
		return;
	if (b->definitions_slot) {
		b->definitions_again = true;
		return;
	}
	r = sd_bus_call_method_async(b->bus, &b->definitions_slot, BLINKD_BUS_NAME,
				     BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE,
				     "ListDefinitions", on_definitions_reply, b, NULL);
	if (r < 0)
		log_warning_errno(r, "Failed to call ListDefinitions(): %m");
}

/* ------------------------------------------------------------- frames */

static int read_au(sd_bus_message *m, unsigned **ret, size_t *ret_n)
{
	const void *data;
	size_t size;
	unsigned *v;
	int r;

	r = sd_bus_message_read_array(m, 'u', &data, &size);
	if (r < 0)
		return r;
	v = malloc(size ? size : 1);
	if (!v)
		return -ENOMEM;
	memcpy(v, data, size);
	*ret = v;
	*ret_n = size / sizeof(uint32_t);
	return 0;
}

static int on_frame(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BridgeBlinkd *b = userdata;
	unsigned *lit;
	uint64_t when;
	size_t n;

	if (!b->owner || sd_bus_message_read(m, "t", &when) < 0 || read_au(m, &lit, &n) < 0)
		return 0;
	free(b->lit);
	b->lit = lit;
	b->n_lit = n;
	b->events->lit_changed(b->userdata);
	return 0;
}

static int on_finished(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BridgeBlinkd *b = userdata;
	const char *name, *result;

	if (sd_bus_message_read(m, "ss", &name, &result) < 0)
		return 0;
	b->events->finished(name, result, b->userdata);
	refresh_running(b);
	return 0;
}

static int on_objects_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	refresh_running(userdata);
	return 0;
}

/* ---------------------------------------------------- blinkd appears */

static int on_introspect_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BridgeBlinkd *b = userdata;
	const char *xml;

	b->introspect_slot = sd_bus_slot_unref(b->introspect_slot);
	if (sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "s", &xml) < 0) {
		log_warning("Cannot introspect blinkd; requests with options are refused.");
		b->introspected = true;
		b->events->settled(b->userdata);
		return 0;
	}
	b->introspected = true;
	b->has_start_with_options = strstr(xml, "<method name=\"StartWithOptions\">") != NULL;
	log_info("blinkd %s StartWithOptions: requests with options are %s.",
		 b->has_start_with_options ? "has" : "has no",
		 b->has_start_with_options ? "passed on" : "refused");
	b->events->settled(b->userdata);
	return 0;
}

static int on_subscribe_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BridgeBlinkd *b = userdata;

	b->subscribe_slot = sd_bus_slot_unref(b->subscribe_slot);
	if (sd_bus_message_is_method_error(m, NULL))
		log_warning("Subscribe() failed, the lit topic will not follow: %s",
			    sd_bus_message_get_error(m)->message);
	return 0;
}

static int read_layout(BridgeBlinkd *b, sd_bus_message *m)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "au");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'a', "u")) > 0) {
		unsigned number;

		while ((r = sd_bus_message_read_basic(m, 'u', &number)) > 0) {
			unsigned *grown = realloc(b->numbers, (b->n_numbers + 1) * sizeof(unsigned));
			if (!grown)
				return -ENOMEM;
			b->numbers = grown;
			b->numbers[b->n_numbers++] = number;
		}
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/*
 * Lines: the lines outside the matrix (or every line, without one) join the
 * numbers after the matrix's.
 */
static int read_lines(BridgeBlinkd *b, sd_bus_message *m)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "(sssa{sv})");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'r', "sssa{sv}")) > 0) {
		const char *ref, *alias, *label, *key;
		unsigned number = 0;
		bool have = false, known = false;

		r = sd_bus_message_read(m, "sss", &ref, &alias, &label);
		if (r >= 0)
			r = sd_bus_message_enter_container(m, 'a', "{sv}");
		while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
			r = sd_bus_message_read(m, "s", &key);
			if (r >= 0 && streq(key, "number")) {
				r = sd_bus_message_read(m, "v", "u", &number);
				have = r >= 0;
			} else if (r >= 0)
				r = sd_bus_message_skip(m, "v");
			if (r >= 0)
				r = sd_bus_message_exit_container(m);
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(m); /* a{sv} */
		if (r >= 0)
			r = sd_bus_message_exit_container(m); /* the struct */
		if (r < 0)
			return r;
		for (size_t i = 0; i < b->n_numbers; i++)
			known = known || b->numbers[i] == number;
		if (have && !known) {
			unsigned *grown = realloc(b->numbers, (b->n_numbers + 1) * sizeof(unsigned));
			if (!grown)
				return -ENOMEM;
			b->numbers = grown;
			b->numbers[b->n_numbers++] = number;
		}
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int read_string_into(sd_bus_message *m, char **ret)
{
	const char *s;
	int r;

	r = sd_bus_message_read(m, "s", &s);
	if (r < 0)
		return r;
	free(*ret);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int on_properties_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BridgeBlinkd *b = userdata;
	const char *key;
	int r;

	b->properties_slot = sd_bus_slot_unref(b->properties_slot);
	if (sd_bus_message_is_method_error(m, NULL)) {
		log_warning("Cannot read blinkd's properties: %s", sd_bus_message_get_error(m)->message);
		return 0;
	}
	free(b->numbers);
	b->numbers = NULL;
	b->n_numbers = 0;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		goto bad;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			goto bad;
		if (streq(key, "Layout")) {
			r = sd_bus_message_enter_container(m, 'v', "aau");
			if (r >= 0)
				r = read_layout(b, m);
		} else if (streq(key, "Lines")) {
			r = sd_bus_message_enter_container(m, 'v', "a(sssa{sv})");
			if (r >= 0)
				r = read_lines(b, m);
		} else if (streq(key, "Chip") || streq(key, "Version")) {
			r = sd_bus_message_enter_container(m, 'v', "s");
			if (r >= 0)
				r = read_string_into(m, streq(key, "Chip") ? &b->chip : &b->version);
		} else if (streq(key, "Lit")) {
			r = sd_bus_message_enter_container(m, 'v', "au");
			if (r >= 0) {
				free(b->lit);
				b->lit = NULL;
				r = read_au(m, &b->lit, &b->n_lit);
			}
		} else {
			r = sd_bus_message_skip(m, "v");
			if (r >= 0)
				r = sd_bus_message_exit_container(m);
			if (r < 0)
				goto bad;
			continue;
		}
		if (r < 0)
			goto bad;
		r = sd_bus_message_exit_container(m); /* v */
		if (r < 0)
			goto bad;
		r = sd_bus_message_exit_container(m); /* e */
		if (r < 0)
			goto bad;
	}
	if (r < 0)
		goto bad;

	log_info("blinkd %s on %s: %zu lines.", b->version ? b->version : "?",
		 b->chip ? b->chip : "?", b->n_numbers);
	b->events->layout_changed(b->userdata);
	return 0;

bad:
	log_warning_errno(r, "Failed to read blinkd's properties: %m");
	return 0;
}

static void blinkd_appeared(BridgeBlinkd *b, const char *owner)
{
	int r;

	forget(b);
	b->owner = strdup(owner);
	if (!b->owner) {
		log_oom();
		return;
	}
	b->owner_known = true;
	log_info("blinkd is on the bus as %s.", owner);

	r = sd_bus_call_method_async(b->bus, &b->introspect_slot, BLINKD_BUS_NAME,
				     BLINKD_OBJECT_PATH, "org.freedesktop.DBus.Introspectable",
				     "Introspect", on_introspect_reply, b, NULL);
	if (r < 0) {
		log_warning_errno(r, "Failed to introspect blinkd, requests with options are "
				  "refused: %m");
		b->introspected = true; /* no answer will come to wait for */
	}
	r = sd_bus_call_method_async(b->bus, &b->subscribe_slot, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				     BLINKD_MANAGER_INTERFACE, "Subscribe", on_subscribe_reply, b,
				     NULL);
	if (r < 0)
		log_warning_errno(r, "Failed to call Subscribe(): %m");
	r = sd_bus_call_method_async(b->bus, &b->properties_slot, BLINKD_BUS_NAME,
				     BLINKD_OBJECT_PATH, "org.freedesktop.DBus.Properties",
				     "GetAll", on_properties_reply, b, "s",
				     BLINKD_MANAGER_INTERFACE);
	if (r < 0)
		log_warning_errno(r, "Failed to read blinkd's properties: %m");
	refresh_running(b);
	refresh_definitions(b);
	b->events->appeared(b->userdata);
}

static void blinkd_vanished(BridgeBlinkd *b)
{
	if (!b->owner)
		return;
	log_warning("blinkd left the bus; the board is offline until it is back.");
	forget(b);
	b->events->vanished(b->userdata);
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BridgeBlinkd *b = userdata;
	const char *name, *old_owner, *new_owner;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
	    !streq(name, BLINKD_BUS_NAME))
		return 0;
	if (old_owner[0])
		blinkd_vanished(b);
	if (new_owner[0])
		blinkd_appeared(b, new_owner);
	b->owner_known = true;
	b->events->settled(b->userdata);
	return 0;
}

static int on_get_name_owner_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BridgeBlinkd *b = userdata;
	const char *owner;

	if (sd_bus_message_is_method_error(m, NULL)) {
		/* Unless NameOwnerChanged came first and told otherwise. */
		if (!b->owner)
			log_warning("blinkd is not on the bus (nothing owns %s); waiting for it.",
				    BLINKD_BUS_NAME);
		b->events->absent(b->userdata);
	} else if (sd_bus_message_read(m, "s", &owner) >= 0 && !b->owner)
		blinkd_appeared(b, owner);
	b->owner_known = true;
	b->events->settled(b->userdata);
	return 0;
}

/* ---------------------------------------------------------------- bus */

static void schedule_bus_retry(BridgeBlinkd *b);
static int bus_connect_or_retry(BridgeBlinkd *b);

static int on_bus_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	BridgeBlinkd *b = userdata;

	b->bus_retry = sd_event_source_disable_unref(b->bus_retry);
	(void)bus_connect_or_retry(b);
	return 0;
}

static void schedule_bus_retry(BridgeBlinkd *b)
{
	usec_t delay = b->bus_backoff;
	int r;

	if (b->bus_retry)
		return;
	b->bus_backoff = b->bus_backoff * 2 > BRIDGE_BUS_BACKOFF_MAX ? BRIDGE_BUS_BACKOFF_MAX
								     : b->bus_backoff * 2;
	r = sd_event_add_time_relative(b->event, &b->bus_retry, CLOCK_MONOTONIC, delay,
				       10 * USEC_PER_MSEC, on_bus_retry, b);
	if (r < 0)
		log_error_errno(r, "Failed to schedule a reconnect to the bus: %m");
}

static int on_bus_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BridgeBlinkd *b = userdata;

	log_warning("Lost the connection to the %s bus; reconnecting.",
		    b->user_bus ? "session" : "system");
	/* Forgets blinkd's state if it had an owner; without one there is nothing to forget. */
	blinkd_vanished(b);
	/* Until the new connection's lookup answers, requests wait for it. */
	b->owner_known = false;
	b->bus = sd_bus_flush_close_unref(b->bus);
	schedule_bus_retry(b);
	return 0;
}

/*
 * The bus the options name. An address from the environment may carry the
 * guid= of the bus that was there when the bridge started; a bus started
 * anew at the same place has another, and sd-bus refuses the connection
 * (EPERM). Reconnecting means: to whatever bus is there now.
 */
static int open_bus(BridgeBlinkd *b, sd_bus **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(freep) char *address = NULL;
	const char *env = getenv(b->user_bus ? "DBUS_SESSION_BUS_ADDRESS" : "DBUS_SYSTEM_BUS_ADDRESS");
	char *p;
	int r;

	if (!env || !strstr(env, "guid="))
		return b->user_bus ? sd_bus_open_user(ret) : sd_bus_open_system(ret);

	address = strdup(env);
	if (!address)
		return -ENOMEM;
	while ((p = strstr(address, "guid="))) {
		char *end = p + strcspn(p, ",;");

		/* Take the comma before it along, or the one after it. */
		if (p > address && p[-1] == ',')
			p--;
		else if (*end == ',')
			end++;
		memmove(p, end, strlen(end) + 1);
	}
	if ((r = sd_bus_new(&bus)) < 0 || (r = sd_bus_set_address(bus, address)) < 0 ||
	    (r = sd_bus_set_bus_client(bus, true)) < 0 ||
	    (r = sd_bus_set_trusted(bus, b->user_bus)) < 0 || (r = sd_bus_start(bus)) < 0)
		return r;
	*ret = TAKE_PTR(bus);
	return 0;
}

static int bus_connect(BridgeBlinkd *b)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = open_bus(b, &bus);
	if (r < 0) {
		log_warning_errno(r, "Cannot connect to the %s bus, retrying: %m",
				  b->user_bus ? "session" : "system");
		schedule_bus_retry(b);
		return 0;
	}
	r = sd_bus_attach_event(bus, b->event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

	if ((r = sd_bus_add_match(bus, NULL,
				  "type='signal',sender='org.freedesktop.DBus',"
				  "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
				  "member='NameOwnerChanged',arg0='" BLINKD_BUS_NAME "'",
				  on_name_owner_changed, b)) < 0 ||
	    (r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local",
				     "org.freedesktop.DBus.Local", "Disconnected",
				     on_bus_disconnected, b)) < 0 ||
	    (r = sd_bus_match_signal(bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				     BLINKD_MANAGER_INTERFACE, "Finished", on_finished, b)) < 0 ||
	    (r = sd_bus_match_signal(bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				     BLINKD_MANAGER_INTERFACE, "Frame", on_frame, b)) < 0 ||
	    (r = sd_bus_match_signal(bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				     "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
				     on_objects_changed, b)) < 0 ||
	    (r = sd_bus_match_signal(bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				     "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
				     on_objects_changed, b)) < 0)
		return log_error_errno(r, "Failed to watch blinkd's signals: %m");

	r = sd_bus_call_method_async(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				     "org.freedesktop.DBus", "GetNameOwner",
				     on_get_name_owner_reply, b, "s", BLINKD_BUS_NAME);
	if (r < 0)
		return log_error_errno(r, "Failed to ask who owns %s: %m", BLINKD_BUS_NAME);

	b->bus = TAKE_PTR(bus);
	b->bus_backoff = BRIDGE_BUS_BACKOFF_MIN;
	return 0;
}

/* Failures are retried with a backoff: a bridge waits for its bus as it waits for blinkd. */
static int bus_connect_or_retry(BridgeBlinkd *b)
{
	int r = bus_connect(b);

	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		schedule_bus_retry(b);
	return 0;
}

/* -------------------------------------------------------------- calls */

typedef struct Call {
	RemoteReplyFn reply;
	void *userdata;
	bool want_path; /* the start calls answer with the program's object path */
} Call;

static int on_call_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	Call *c = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	RemoteReply reply = {};

	if (e) {
		reply.error_name = e->name;
		reply.error_message = e->message ? e->message : "";
	} else if (c->want_path)
		(void)sd_bus_message_read(m, "o", &reply.path);
	c->reply(&reply, c->userdata);
	free(c);
	return 0;
}

/* Call @method with the arguments that are not NULL, in order; see RemoteOps. */
static int call_method(BridgeBlinkd *b, const char *method, const char *name,
		       const char *program, json_object *options, bool replace,
		       RemoteReplyFn reply, void *userdata, RequestError *e)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	Call *c;
	int k;

	if (!b->bus) {
		e->name = MQTT_ERROR_UNAVAILABLE;
		snprintf(e->message, sizeof(e->message), "cannot call blinkd: %s",
			 strerror(ENOTCONN));
		return -ENOTCONN;
	}
	k = sd_bus_message_new_method_call(b->bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, method);
	if (k >= 0 && name)
		k = sd_bus_message_append(m, "s", name);
	if (k >= 0 && program)
		k = sd_bus_message_append(m, "s", program);
	if (k >= 0 && options) {
		Request r = {
			.verb = replace ? REQUEST_REPLACE : REQUEST_START,
			.options = options,
		};
		k = request_append_options(&r, m);
	}
	if (k < 0) {
		e->name = MQTT_ERROR_INVALID_PAYLOAD;
		snprintf(e->message, sizeof(e->message), "cannot be put into a D-Bus call: %s",
			 strerror(-k));
		return k;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return log_oom();
	c->reply = reply;
	c->userdata = userdata;
	c->want_path = program != NULL;

	k = sd_bus_call_async(b->bus, NULL, m, on_call_reply, c, 0);
	if (k < 0) {
		e->name = MQTT_ERROR_UNAVAILABLE;
		snprintf(e->message, sizeof(e->message), "cannot call blinkd: %s", strerror(-k));
		free(c);
		return k;
	}
	return 0;
}

static int op_start(void *remote, const char *name, const char *program, RemoteReplyFn reply,
		    void *userdata, RequestError *e)
{
	return call_method(remote, "Start", name, program, NULL, false, reply, userdata, e);
}

static int op_replace(void *remote, const char *name, const char *program, RemoteReplyFn reply,
		      void *userdata, RequestError *e)
{
	return call_method(remote, "Replace", name, program, NULL, false, reply, userdata, e);
}

static int op_start_with_options(void *remote, const char *name, const char *program,
				 json_object *options, bool replace, RemoteReplyFn reply,
				 void *userdata, RequestError *e)
{
	return call_method(remote, "StartWithOptions", name, program, options, replace, reply,
			   userdata, e);
}

static int op_stop(void *remote, const char *name, RemoteReplyFn reply, void *userdata,
		   RequestError *e)
{
	return call_method(remote, "Stop", name, NULL, NULL, false, reply, userdata, e);
}

static int op_stop_all(void *remote, RemoteReplyFn reply, void *userdata, RequestError *e)
{
	return call_method(remote, "StopAll", NULL, NULL, NULL, false, reply, userdata, e);
}

/* ------------------------------------------------------------ queries */

static int op_watch(void *remote)
{
	return bus_connect_or_retry(remote);
}

static bool op_present(void *remote)
{
	BridgeBlinkd *b = remote;

	return b->bus && b->owner;
}

/* Known whether blinkd is there, and what the one that is there offers. */
static bool op_settled(void *remote)
{
	BridgeBlinkd *b = remote;

	return b->owner_known && (!b->owner || b->introspected);
}

static bool op_has_start_with_options(void *remote)
{
	BridgeBlinkd *b = remote;

	return b->has_start_with_options;
}

static const unsigned *op_numbers(void *remote, size_t *ret_n)
{
	BridgeBlinkd *b = remote;

	*ret_n = b->n_numbers;
	return b->numbers;
}

static const char *op_chip(void *remote)
{
	return ((BridgeBlinkd *)remote)->chip;
}

static const char *op_version(void *remote)
{
	return ((BridgeBlinkd *)remote)->version;
}

static json_object *op_running(void *remote)
{
	return ((BridgeBlinkd *)remote)->running;
}

static json_object *op_definitions(void *remote)
{
	return ((BridgeBlinkd *)remote)->definitions;
}

static char *const *op_definition_names(void *remote)
{
	return ((BridgeBlinkd *)remote)->definition_names;
}

static const unsigned *op_lit(void *remote, size_t *ret_n)
{
	BridgeBlinkd *b = remote;

	*ret_n = b->n_lit;
	return b->lit;
}

const RemoteOps bridge_blinkd_ops = {
	.watch = op_watch,
	.present = op_present,
	.settled = op_settled,
	.has_start_with_options = op_has_start_with_options,
	.numbers = op_numbers,
	.chip = op_chip,
	.version = op_version,
	.running = op_running,
	.definitions = op_definitions,
	.definition_names = op_definition_names,
	.lit = op_lit,
	.refresh_definitions = refresh_definitions,
	.start = op_start,
	.replace = op_replace,
	.start_with_options = op_start_with_options,
	.stop = op_stop,
	.stop_all = op_stop_all,
};

/* ---------------------------------------------------------- lifecycle */

int bridge_blinkd_new(BridgeBlinkd **ret, sd_event *event, bool user_bus,
		      const RemoteEvents *events, void *userdata)
{
	BridgeBlinkd *b;

	b = calloc(1, sizeof(*b));
	if (!b)
		return log_oom();
	b->event = sd_event_ref(event);
	b->user_bus = user_bus;
	b->events = events;
	b->userdata = userdata;
	b->bus_backoff = BRIDGE_BUS_BACKOFF_MIN;
	*ret = b;
	return 0;
}

BridgeBlinkd *bridge_blinkd_free(BridgeBlinkd *b)
{
	if (!b)
		return NULL;
	forget(b);
	b->bus = sd_bus_flush_close_unref(b->bus);
	b->bus_retry = sd_event_source_disable_unref(b->bus_retry);
	json_object_put(b->definitions);
	free_strv(b->definition_names);
	sd_event_unref(b->event);
	free(b);
	return NULL;
}

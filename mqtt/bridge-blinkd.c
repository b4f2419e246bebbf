/* SPDX-License-Identifier: MIT */
/*
 * blinkd on D-Bus as the bridge's remote; see bridge-blinkd.h. The mirror
 * is libblinkd's BlinkdRemote; this file adds what the bridge needs around
 * it: a bus connection that is made again when it drops, the running
 * programs and definitions as JSON, and the calls requests make. What it
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
#include "remote.h"
#include "strv.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* What the bridge follows of blinkd. */
#define REMOTE_FLAGS                                                                               \
	(BLINKD_REMOTE_LIT | BLINKD_REMOTE_LINES | BLINKD_REMOTE_PROGRAMS |                        \
	 BLINKD_REMOTE_DEFINITIONS | BLINKD_REMOTE_FINISHED | BLINKD_REMOTE_CAPABILITIES)

struct BridgeBlinkd {
	sd_event *event;
	bool user_bus;
	const RemoteEvents *events;
	void *userdata;

	sd_bus *bus;
	sd_event_source *bus_retry;
	usec_t bus_backoff;
	BlinkdRemote *remote; /* while there is a bus */
	bool told_absent;     /* the first answer on this bus was given */

	/* the remote's programs, as the bridge publishes them */
	json_object *running; /* array of {"name","program"}, while blinkd is there */
	/* kept across owners: the last list read */
	json_object *definitions; /* array of {"name","program"} */
	char **definition_names;  /* NULL-terminated */
};

/* ------------------------------------------------- programs as JSON */

/* [{"name": N, "program": P}], the program as JSON, not text. */
static int programs_to_json(const BlinkdRemoteProgram *p, size_t n, json_object **ret,
			    char ***ret_names)
{
	_cleanup_(json_object_putp) json_object *a = json_object_new_array();
	_cleanup_(strv_freep) char **names = NULL;

	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_new_object();
		json_object *program = json_tokener_parse(p[i].program);

		if (!program)
			program = json_object_new_string(p[i].program);
		if (!e || json_object_array_add(a, e) < 0 ||
		    json_object_object_add(e, "name", json_object_new_string(p[i].name)) < 0 ||
		    json_object_object_add(e, "program", program) < 0)
			return -ENOMEM;
		if (ret_names && strv_extend(&names, p[i].name) < 0)
			return -ENOMEM;
	}
	if (ret_names) {
		if (!names)
			names = calloc(1, sizeof(char *));
		if (!names)
			return -ENOMEM;
		*ret_names = TAKE_PTR(names);
	}
	*ret = TAKE_PTR(a);
	return 0;
}

/* ------------------------------------------------ what the remote says */

static void on_remote_appeared(BlinkdRemote *r, const char *owner, void *userdata)
{
	BridgeBlinkd *b = userdata;

	json_object_put(b->running);
	b->running = NULL;
	log_info("blinkd is on the bus as %s.", owner);
	b->events->appeared(b->userdata);
}

static void on_remote_vanished(BlinkdRemote *r, void *userdata)
{
	BridgeBlinkd *b = userdata;

	log_warning("blinkd left the bus; the board is offline until it is back.");
	json_object_put(b->running);
	b->running = NULL;
	b->events->vanished(b->userdata);
}

static void on_remote_settled(BlinkdRemote *r, void *userdata)
{
	BridgeBlinkd *b = userdata;

	/* The bus's first answer on this connection: nothing owns io.blinkd1. */
	if (!b->told_absent) {
		b->told_absent = true;
		if (!blinkd_remote_get_owner(r)) {
			log_warning("blinkd is not on the bus (nothing owns %s); waiting for it.",
				    BLINKD_BUS_NAME);
			b->events->absent(b->userdata);
		}
	}
	if (blinkd_remote_get_owner(r))
		log_info("blinkd %s StartWithOptions: requests with options are %s.",
			 blinkd_remote_has_start_with_options(r) ? "has" : "has no",
			 blinkd_remote_has_start_with_options(r) ? "passed on" : "refused");
	b->events->settled(b->userdata);
}

static void on_remote_lit_changed(BlinkdRemote *r, void *userdata)
{
	BridgeBlinkd *b = userdata;

	b->events->lit_changed(b->userdata);
}

static void on_remote_lines_changed(BlinkdRemote *r, void *userdata)
{
	BridgeBlinkd *b = userdata;
	const Layout *layout = blinkd_remote_get_layout(r);
	const char *chip = blinkd_remote_get_chip(r), *version = blinkd_remote_get_version(r);

	log_info("blinkd %s on %s: %zu lines.", version ? version : "?", chip ? chip : "?",
		 layout ? layout->n_lines : 0);
	b->events->layout_changed(b->userdata);
}

static void on_remote_programs_read(BlinkdRemote *r, bool changed, void *userdata)
{
	BridgeBlinkd *b = userdata;
	const BlinkdRemoteProgram *p;
	json_object *running = NULL;
	size_t n;
	int k;

	if (!changed && b->running)
		return;
	p = blinkd_remote_get_programs(r, &n);
	k = programs_to_json(p, n, &running, NULL);
	if (k < 0) {
		log_warning_errno(k, "Failed to read the reply of List(): %m");
		return;
	}
	json_object_put(b->running);
	b->running = running;
	b->events->running_changed(b->userdata);
}

static void on_remote_definitions_read(BlinkdRemote *r, bool changed, void *userdata)
{
	BridgeBlinkd *b = userdata;
	const BlinkdRemoteProgram *p;
	json_object *defs = NULL;
	char **names = NULL;
	bool same;
	size_t n;
	int k;

	p = blinkd_remote_get_definitions(r, &n);
	k = programs_to_json(p, n, &defs, &names);
	if (k < 0) {
		log_warning_errno(k, "Failed to read the reply of ListDefinitions(): %m");
		return;
	}
	/* Against the last list read, from this owner or the one before. */
	same = b->definitions && streq(json_object_to_json_string_ext(b->definitions, JSON_FLAGS),
				       json_object_to_json_string_ext(defs, JSON_FLAGS));
	json_object_put(b->definitions);
	b->definitions = defs;
	strv_free(b->definition_names);
	b->definition_names = names;
	b->events->definitions_read(!same, b->userdata);
}

static void on_remote_finished(BlinkdRemote *r, const char *name, const char *result,
			       void *userdata)
{
	BridgeBlinkd *b = userdata;

	b->events->finished(name, result, b->userdata);
}

static const BlinkdRemoteOps remote_ops = {
	.appeared = on_remote_appeared,
	.vanished = on_remote_vanished,
	.settled = on_remote_settled,
	.lit_changed = on_remote_lit_changed,
	.lines_changed = on_remote_lines_changed,
	.programs_read = on_remote_programs_read,
	.definitions_read = on_remote_definitions_read,
	.finished = on_remote_finished,
};

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
	/* The remote may have said so already, if its match ran first. */
	if (b->remote && blinkd_remote_get_owner(b->remote)) {
		log_warning("blinkd left the bus; the board is offline until it is back.");
		json_object_put(b->running);
		b->running = NULL;
		b->remote = blinkd_remote_free(b->remote);
		b->events->vanished(b->userdata);
	}
	/* Until the new connection's lookup answers, requests wait for it. */
	b->remote = blinkd_remote_free(b->remote);
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

	r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local",
				"org.freedesktop.DBus.Local", "Disconnected", on_bus_disconnected, b);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the bus connection: %m");
	r = blinkd_remote_new(&b->remote, bus, REMOTE_FLAGS, &remote_ops, b);
	if (r < 0)
		return log_error_errno(r, "Failed to watch blinkd on the bus: %m");
	b->told_absent = false;
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
		       const char *program, const Request *options, RemoteReplyFn reply,
		       void *userdata, RequestError *e)
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
	if (k >= 0 && options)
		k = request_append_options(options, m);
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
	return call_method(remote, "Start", name, program, NULL, reply, userdata, e);
}

static int op_replace(void *remote, const char *name, const char *program, RemoteReplyFn reply,
		      void *userdata, RequestError *e)
{
	return call_method(remote, "Replace", name, program, NULL, reply, userdata, e);
}

static int op_start_with_options(void *remote, const Request *request, RemoteReplyFn reply,
				 void *userdata, RequestError *e)
{
	return call_method(remote, "StartWithOptions", request->name, request->program, request,
			   reply, userdata, e);
}

static int op_stop(void *remote, const char *name, RemoteReplyFn reply, void *userdata,
		   RequestError *e)
{
	return call_method(remote, "Stop", name, NULL, NULL, reply, userdata, e);
}

static int op_stop_all(void *remote, RemoteReplyFn reply, void *userdata, RequestError *e)
{
	return call_method(remote, "StopAll", NULL, NULL, NULL, reply, userdata, e);
}

/* ------------------------------------------------------------ queries */

static int op_watch(void *remote)
{
	return bus_connect_or_retry(remote);
}

static bool op_present(void *remote)
{
	BridgeBlinkd *b = remote;

	return b->bus && b->remote && blinkd_remote_get_owner(b->remote);
}

/* Known whether blinkd is there, and what the one that is there offers. */
static bool op_settled(void *remote)
{
	BridgeBlinkd *b = remote;

	return b->remote && blinkd_remote_is_settled(b->remote);
}

static bool op_has_start_with_options(void *remote)
{
	BridgeBlinkd *b = remote;

	return b->remote && blinkd_remote_has_start_with_options(b->remote);
}

/* The matrix's lines in matrix order, then the others: the layout's lines. */
static const unsigned *op_numbers(void *remote, size_t *ret_n)
{
	BridgeBlinkd *b = remote;
	const Layout *layout = b->remote ? blinkd_remote_get_layout(b->remote) : NULL;

	*ret_n = layout && layout->n_lines > 0 ? layout->n_lines : 0;
	return *ret_n > 0 ? layout->lines : NULL;
}

static const char *op_chip(void *remote)
{
	BridgeBlinkd *b = remote;

	return b->remote ? blinkd_remote_get_chip(b->remote) : NULL;
}

static const char *op_version(void *remote)
{
	BridgeBlinkd *b = remote;

	return b->remote ? blinkd_remote_get_version(b->remote) : NULL;
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

	if (!b->remote) {
		*ret_n = 0;
		return NULL;
	}
	return blinkd_remote_get_lit(b->remote, ret_n);
}

static void op_refresh_definitions(void *remote)
{
	BridgeBlinkd *b = remote;

	if (b->remote)
		blinkd_remote_refresh_definitions(b->remote);
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
	.refresh_definitions = op_refresh_definitions,
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
	b->remote = blinkd_remote_free(b->remote);
	b->bus = sd_bus_flush_close_unref(b->bus);
	b->bus_retry = sd_event_source_disable_unref(b->bus_retry);
	json_object_put(b->running);
	json_object_put(b->definitions);
	strv_free(b->definition_names);
	sd_event_unref(b->event);
	free(b);
	return NULL;
}

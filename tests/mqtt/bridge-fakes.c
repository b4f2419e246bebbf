/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge-fakes.h"
#include "json-util.h"
#include "log.h"

/* ------------------------------------------------------------- broker */

static int broker_set_will(void *broker, const char *topic, const char *payload)
{
	FakeBroker *b = broker;

	free(b->will_topic);
	free(b->will_payload);
	b->will_topic = strdup(topic);
	b->will_payload = strdup(payload);
	return 0;
}

static int broker_start(void *broker)
{
	((FakeBroker *)broker)->started = true;
	return 0;
}

static bool broker_is_connected(void *broker)
{
	return ((FakeBroker *)broker)->connected;
}

static int broker_publish(void *broker, const char *topic, const char *payload, size_t len,
			  bool retain, bool keep)
{
	FakeBroker *b = broker;
	Published *grown, *p;
	uint64_t now = 0;

	/* As the real one: what is not kept is dropped while the broker is away. */
	if (!b->connected && !keep)
		return 0;
	grown = realloc(b->published, (b->n_published + 1) * sizeof(*grown));
	if (!grown)
		abort();
	b->published = grown;
	p = &b->published[b->n_published++];
	(void)sd_event_now(b->event, CLOCK_MONOTONIC, &now);
	*p = (Published){
		.topic = strdup(topic),
		.payload = strndup(payload, len),
		.retain = retain,
		.keep = keep,
		.when = now,
	};
	return 0;
}

static int broker_subscribe(void *broker, const char *pattern)
{
	FakeBroker *b = broker;

	if (b->n_subscriptions < ELEMENTSOF(b->subscriptions))
		b->subscriptions[b->n_subscriptions++] = strdup(pattern);
	return 0;
}

static void broker_shutdown(void *broker, const char *topic, const char *payload, usec_t timeout)
{
	FakeBroker *b = broker;

	b->shutdown_topic = strdup(topic);
	b->shutdown_payload = strdup(payload);
	b->connected = false;
}

const BrokerOps fake_broker_ops = {
	.set_will = broker_set_will,
	.start = broker_start,
	.is_connected = broker_is_connected,
	.publish = broker_publish,
	.subscribe = broker_subscribe,
	.shutdown = broker_shutdown,
};

size_t fake_broker_count(const FakeBroker *b, const char *topic)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n_published; i++)
		n += streq(b->published[i].topic, topic);
	return n;
}

const Published *fake_broker_last(const FakeBroker *b, const char *topic)
{
	for (size_t i = b->n_published; i > 0; i--)
		if (streq(b->published[i - 1].topic, topic))
			return &b->published[i - 1];
	return NULL;
}

void fake_broker_clear(FakeBroker *b)
{
	for (size_t i = 0; i < b->n_published; i++) {
		free(b->published[i].topic);
		free(b->published[i].payload);
	}
	free(b->published);
	b->published = NULL;
	b->n_published = 0;
}

/* ------------------------------------------------------------- remote */

static int remote_watch(void *remote)
{
	((FakeRemote *)remote)->watching = true;
	return 0;
}

static bool remote_present(void *remote)
{
	return ((FakeRemote *)remote)->present;
}

static bool remote_settled(void *remote)
{
	return ((FakeRemote *)remote)->settled;
}

static bool remote_has_start_with_options(void *remote)
{
	return ((FakeRemote *)remote)->start_with_options;
}

static const unsigned *remote_numbers(void *remote, size_t *ret_n)
{
	FakeRemote *r = remote;

	*ret_n = r->have_numbers ? r->n_numbers : 0;
	return r->have_numbers ? r->numbers : NULL;
}

static const char *remote_chip(void *remote)
{
	return ((FakeRemote *)remote)->chip;
}

static const char *remote_version(void *remote)
{
	return ((FakeRemote *)remote)->version;
}

static json_object *remote_running(void *remote)
{
	return ((FakeRemote *)remote)->running;
}

static json_object *remote_definitions(void *remote)
{
	return ((FakeRemote *)remote)->definitions;
}

static char *const *remote_definition_names(void *remote)
{
	return ((FakeRemote *)remote)->definition_names;
}

static const unsigned *remote_lit(void *remote, size_t *ret_n)
{
	FakeRemote *r = remote;

	*ret_n = r->n_lit;
	return r->lit;
}

static void remote_refresh_definitions(void *remote)
{
	((FakeRemote *)remote)->n_refresh_definitions++;
}

/*
 * The options of @request as blinkd would read them from StartWithOptions'
 * a{sv}: "key=type:value", joined by ",", in the order they were appended.
 */
static char *options_text(const Request *request)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	char *text = NULL;
	size_t size = 0;
	const char *key, *contents;
	bool first = true;
	int fds[2];
	FILE *f;
	char type;

	/* sd-bus makes messages only for a started bus: one on a socket pair, never read. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 || sd_bus_new(&bus) < 0 ||
	    sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
		abort();
	close(fds[1]);
	if (sd_bus_message_new_method_call(bus, &m, "io.blinkd1", "/io/blinkd1",
					   "io.blinkd1.Manager", "StartWithOptions") < 0 ||
	    request_append_options(request, m) < 0 || sd_bus_message_seal(m, 1, 0) < 0 ||
	    sd_bus_message_rewind(m, true) < 0 ||
	    sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
		abort();
	f = open_memstream(&text, &size);
	if (!f)
		abort();
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		union {
			int b;
			int32_t i;
			uint32_t u;
			int64_t x;
			uint64_t t;
			double d;
			const char *s;
		} v;

		if (sd_bus_message_read_basic(m, 's', &key) < 0 ||
		    sd_bus_message_peek_type(m, &type, &contents) < 0 ||
		    sd_bus_message_enter_container(m, 'v', contents) < 0 ||
		    sd_bus_message_read_basic(m, contents[0], &v) < 0)
			abort();
		fprintf(f, "%s%s=%s:", first ? "" : ",", key, contents);
		switch (contents[0]) {
		case 'b':
			fprintf(f, "%s", v.b ? "true" : "false");
			break;
		case 'i':
			fprintf(f, "%" PRIi32, v.i);
			break;
		case 'u':
			fprintf(f, "%" PRIu32, v.u);
			break;
		case 'x':
			fprintf(f, "%" PRIi64, v.x);
			break;
		case 't':
			fprintf(f, "%" PRIu64, v.t);
			break;
		case 'd':
			fprintf(f, "%g", v.d);
			break;
		default:
			fprintf(f, "%s", v.s);
		}
		first = false;
		if (sd_bus_message_exit_container(m) < 0 || sd_bus_message_exit_container(m) < 0)
			abort();
	}
	fclose(f);
	return text;
}

static int record(FakeRemote *r, const char *method, const char *name, const char *program,
		  const Request *options, RemoteReplyFn reply, void *userdata, RequestError *e)
{
	FakeCall *c;

	if (r->fail) {
		e->name = r->fail_name;
		snprintf(e->message, sizeof(e->message), "fake: %s", strerror(r->fail));
		return -r->fail;
	}
	if (r->n_calls >= FAKE_CALLS_MAX)
		abort();
	c = &r->calls[r->n_calls++];
	*c = (FakeCall){
		.method = strdup(method),
		.name = name ? strdup(name) : NULL,
		.program = program ? strdup(program) : NULL,
		.options = options ? options_text(options) : NULL,
		.reply = reply,
		.userdata = userdata,
	};
	return 0;
}

static int remote_start(void *remote, const char *name, const char *program,
			RemoteReplyFn reply, void *userdata, RequestError *e)
{
	return record(remote, "Start", name, program, NULL, reply, userdata, e);
}

static int remote_replace(void *remote, const char *name, const char *program,
			  RemoteReplyFn reply, void *userdata, RequestError *e)
{
	return record(remote, "Replace", name, program, NULL, reply, userdata, e);
}

static int remote_start_with_options(void *remote, const Request *request, RemoteReplyFn reply,
				     void *userdata, RequestError *e)
{
	return record(remote, "StartWithOptions", request->name, request->program, request, reply,
		      userdata, e);
}

static int remote_stop(void *remote, const char *name, RemoteReplyFn reply, void *userdata,
		       RequestError *e)
{
	return record(remote, "Stop", name, NULL, NULL, reply, userdata, e);
}

static int remote_stop_all(void *remote, RemoteReplyFn reply, void *userdata, RequestError *e)
{
	return record(remote, "StopAll", NULL, NULL, NULL, reply, userdata, e);
}

const RemoteOps fake_remote_ops = {
	.watch = remote_watch,
	.present = remote_present,
	.settled = remote_settled,
	.has_start_with_options = remote_has_start_with_options,
	.numbers = remote_numbers,
	.chip = remote_chip,
	.version = remote_version,
	.running = remote_running,
	.definitions = remote_definitions,
	.definition_names = remote_definition_names,
	.lit = remote_lit,
	.refresh_definitions = remote_refresh_definitions,
	.start = remote_start,
	.replace = remote_replace,
	.start_with_options = remote_start_with_options,
	.stop = remote_stop,
	.stop_all = remote_stop_all,
};

/* ------------------------------------------------------------ harness */

void harness_init(Harness *h, const char *config_json)
{
	char text[1024];

	*h = (Harness){};
	if (sd_event_new(&h->event) < 0)
		abort();
	snprintf(text, sizeof(text), "{\"board\": \"b1\", \"definitions_refresh\": 0%s%s}",
		 config_json ? ", " : "", config_json ? config_json : "");
	if (mqtt_config_parse(&h->config, "test", text) < 0)
		abort();
	h->broker.event = h->event;
	if (bridge_new(&h->bridge, h->event, h->config) < 0 ||
	    bridge_attach(h->bridge, &fake_broker_ops, &h->broker, &fake_remote_ops,
			  &h->remote) < 0 ||
	    bridge_start(h->bridge) < 0)
		abort();
}

void harness_done(Harness *h)
{
	FakeRemote *r = &h->remote;
	FakeBroker *b = &h->broker;

	h->bridge = bridge_free(h->bridge);
	for (size_t i = 0; i < r->n_calls; i++) {
		free(r->calls[i].method);
		free(r->calls[i].name);
		free(r->calls[i].program);
		free(r->calls[i].options);
	}
	json_object_put(r->running);
	json_object_put(r->definitions);
	fake_broker_clear(b);
	for (size_t i = 0; i < b->n_subscriptions; i++)
		free(b->subscriptions[i]);
	free(b->will_topic);
	free(b->will_payload);
	free(b->shutdown_topic);
	free(b->shutdown_payload);
	h->config = mqtt_config_free(h->config);
	h->event = sd_event_unref(h->event);
}

void harness_connect(Harness *h)
{
	h->broker.connected = true;
	bridge_broker_events.connected(h->bridge);
}

void harness_message(Harness *h, const char *topic, const char *payload, bool retained)
{
	bridge_broker_events.message(topic, payload, strlen(payload), retained, h->bridge);
}

void harness_reply(Harness *h, size_t i, const char *error_name, const char *message,
		   const char *path)
{
	FakeCall *c = &h->remote.calls[i];
	RemoteReply reply = {
		.error_name = error_name,
		.error_message = message,
		.path = path,
	};

	if (c->answered)
		abort();
	c->answered = true;
	c->reply(&reply, c->userdata);
}

usec_t harness_now(Harness *h)
{
	uint64_t now = 0;

	(void)sd_event_now(h->event, CLOCK_MONOTONIC, &now);
	return now;
}

void harness_run_until(Harness *h, usec_t until)
{
	while (sd_event_get_state(h->event) != SD_EVENT_FINISHED) {
		usec_t now = harness_now(h);

		if (now >= until)
			return;
		if (sd_event_run(h->event, until - now) < 0)
			abort();
	}
}

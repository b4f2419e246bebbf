/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "broker.h"
#include "log.h"

typedef struct OutMessage OutMessage;
struct OutMessage {
	OutMessage *next;
	char *topic;
	char *payload;
	size_t len;
	bool retain;
};

struct Broker {
	sd_event *event;
	struct mosquitto *mosq;
	const MqttConfig *config;
	const BrokerEvents *events;
	void *userdata;

	sd_event_source *io;	/* the socket, while there is one */
	sd_event_source *misc;	/* keepalive, every second */
	sd_event_source *retry; /* the next attempt */
	usec_t backoff;

	bool connected; /* the broker accepted CONNECT */
	bool lost;	/* the connection broke inside a libmosquitto call */

	OutMessage *outbox, *outbox_last;
	size_t n_outbox;

	int shutdown_mid; /* the mid of the last will we publish ourselves */
	bool shutdown_acked;
};

static void out_message_free(OutMessage *m)
{
	free(m->topic);
	free(m->payload);
	free(m);
}

/*
 * Only broker_shutdown() reads the clock: it waits outside the event loop,
 * whose sd_event_now() does not move while it blocks.
 */
static usec_t now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
}

static const char *mosq_error(int rc)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

static void schedule_retry(Broker *b);
static int update_events(Broker *b);

/* The socket is gone or useless: forget it and try again later. */
static void connection_lost(Broker *b, const char *why)
{
	bool was_connected = b->connected;

	b->io = sd_event_source_disable_unref(b->io);
	b->connected = false;
	b->lost = false;
	if (was_connected) {
		log_warning("Lost the broker %s: %s", b->config->broker, why);
		if (b->events->disconnected)
			b->events->disconnected(b->userdata);
	} else
		log_debug("Cannot reach the broker %s: %s", b->config->broker, why);
	schedule_retry(b);
}

/* After every libmosquitto call that may touch the socket. */
static void check(Broker *b, int rc)
{
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
		connection_lost(b, mosq_error(rc));
	else if (b->lost || rc == MOSQ_ERR_NO_CONN)
		connection_lost(b, "the connection closed");
	else
		(void)update_events(b);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Broker *b = userdata;
	int rc = MOSQ_ERR_SUCCESS;

	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
		rc = mosquitto_loop_read(b->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && !b->lost && b->io && (revents & EPOLLOUT))
		rc = mosquitto_loop_write(b->mosq, 1);
	if (!b->io)
		return 0; /* a callback already handled a loss */
	check(b, rc);
	return 0;
}

static int update_events(Broker *b)
{
	uint32_t events = EPOLLIN;

	if (!b->io)
		return 0;
	if (mosquitto_want_write(b->mosq))
		events |= EPOLLOUT;
	return sd_event_source_set_io_events(b->io, events);
}

static int on_misc(sd_event_source *s, uint64_t usec, void *userdata)
{
	Broker *b = userdata;
	int rc;

	(void)sd_event_source_set_time(s, usec + USEC_PER_SEC);
	if (!b->io)
		return 0;
	rc = mosquitto_loop_misc(b->mosq);
	check(b, rc);
	return 0;
}

static void attempt(Broker *b)
{
	const MqttConfig *c = b->config;
	int rc, fd;

	rc = mosquitto_connect_async(b->mosq, c->host, c->port, (int)c->keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_debug("Connecting to %s failed: %s", c->broker, mosq_error(rc));
		schedule_retry(b);
		return;
	}
	fd = mosquitto_socket(b->mosq);
	if (fd < 0) {
		schedule_retry(b);
		return;
	}
	rc = sd_event_add_io(b->event, &b->io, fd, EPOLLIN | EPOLLOUT, on_io, b);
	if (rc < 0) {
		log_error_errno(rc, "Failed to watch the broker's socket: %m");
		schedule_retry(b);
		return;
	}
	(void)sd_event_source_set_description(b->io, "mqtt-socket");
	(void)update_events(b);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	Broker *b = userdata;

	b->retry = sd_event_source_disable_unref(b->retry);
	attempt(b);
	return 0;
}

static void schedule_retry(Broker *b)
{
	usec_t delay = b->backoff;
	int r;

	if (b->retry)
		return;
	b->backoff = b->backoff * 2 > BROKER_BACKOFF_MAX ? BROKER_BACKOFF_MAX : b->backoff * 2;
	r = sd_event_add_time_relative(b->event, &b->retry, CLOCK_MONOTONIC, delay, 10 * USEC_PER_MSEC,
				       on_retry, b);
	if (r < 0)
		log_error_errno(r, "Failed to schedule a reconnect to the broker: %m");
	else
		log_debug("Next attempt to reach %s in %llu ms.", b->config->broker,
			  (unsigned long long)(delay / USEC_PER_MSEC));
}

static void flush_outbox(Broker *b)
{
	while (b->outbox && b->connected) {
		OutMessage *m = b->outbox;
		int rc = mosquitto_publish(b->mosq, NULL, m->topic, (int)m->len, m->payload, 1,
					   m->retain);
		if (rc != MOSQ_ERR_SUCCESS)
			break;
		b->outbox = m->next;
		if (!b->outbox)
			b->outbox_last = NULL;
		b->n_outbox--;
		out_message_free(m);
	}
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc)
{
	Broker *b = userdata;

	if (rc != 0) {
		/* Refused (bad credentials, client id): the loop sees the close and retries. */
		log_error("The broker %s refused the connection: %s", b->config->broker,
			  rc >= 128 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
		b->lost = true;
		return;
	}
	b->connected = true;
	b->backoff = BROKER_BACKOFF_MIN;
	log_info("Connected to the broker %s as %s.", b->config->broker, b->config->client_id);
	flush_outbox(b);
	if (b->events->connected)
		b->events->connected(b->userdata);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc)
{
	Broker *b = userdata;

	b->lost = true;
}

static void on_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *m)
{
	Broker *b = userdata;

	if (b->events->message)
		b->events->message(m->topic, m->payload, (size_t)m->payloadlen, m->retain,
				   b->userdata);
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid)
{
	Broker *b = userdata;

	if (mid == b->shutdown_mid)
		b->shutdown_acked = true;
}

static void on_log(struct mosquitto *mosq, void *userdata, int level, const char *str)
{
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		log_debug("libmosquitto: %s", str);
}

/*
 * What the bridge tells the broker in every CONNECT (MQTT 5): keep the
 * session while the bridge is away, as long as the broker keeps sessions at
 * all (what clean_session false meant in MQTT 3.1.1), and send no packet
 * larger than a request the bridge takes could be, so that a payload far
 * beyond payload_max is never read into memory at all: the broker drops
 * it instead (MQTT 5, 3.1.2.11.4), and no result can be published for it.
 * One a little beyond payload_max (the headroom) still comes, and is
 * answered PayloadTooLarge.
 */
static int set_connect_properties(Broker *b)
{
	const MqttConfig *c = b->config;
	mosquitto_property *props = NULL;
	uint64_t max_packet = (uint64_t)c->payload_max + BROKER_PACKET_HEADROOM;
	int rc;

	rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, UINT32_MAX);
	/* Beyond what any MQTT packet can be, the property would say nothing. */
	if (rc == MOSQ_ERR_SUCCESS && max_packet < BROKER_PACKET_MAX)
		rc = mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE,
						  (uint32_t)max_packet);
	/*
	 * libmosquitto 2.0 has no asynchronous connect that takes CONNECT
	 * properties, but it keeps those given to mosquitto_connect_bind_v5()
	 * for every later connect, asynchronous ones too. With port -1 that
	 * call stores them and stops at MOSQ_ERR_INVAL, before any socket
	 * is opened; tests/mqtt/test-payload-limit.sh proves they are sent.
	 */
	if (rc == MOSQ_ERR_SUCCESS) {
		rc = mosquitto_connect_bind_v5(b->mosq, c->host, -1, (int)c->keepalive, NULL, props);
		if (rc == MOSQ_ERR_INVAL)
			rc = MOSQ_ERR_SUCCESS;
		else if (rc == MOSQ_ERR_SUCCESS)
			rc = MOSQ_ERR_UNKNOWN;
	}
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_SUCCESS)
		return log_error_errno(EINVAL, "Failed to set the MQTT 5 connect properties: %s",
				       mosq_error(rc));
	return 0;
}

int broker_new(Broker **ret, sd_event *event, const MqttConfig *c, const BrokerEvents *events,
	       void *userdata)
{
	_cleanup_(broker_freep) Broker *b = NULL;
	int rc, r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return log_oom();
	b->event = sd_event_ref(event);
	b->config = c;
	b->events = events;
	b->userdata = userdata;
	b->backoff = BROKER_BACKOFF_MIN;
	b->shutdown_mid = -1;

	/*
	 * A persistent session (clean start off, and a session expiry in
	 * set_connect_properties()): requests published while the bridge
	 * reconnects are kept by the broker and answered after.
	 */
	b->mosq = mosquitto_new(c->client_id, false, b);
	if (!b->mosq)
		return log_error_errno(negative_errno(), "Failed to create the MQTT client: %m");
	rc = mosquitto_int_option(b->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	if (rc != MOSQ_ERR_SUCCESS)
		return log_error_errno(EINVAL, "Failed to choose MQTT 5: %s", mosq_error(rc));
	mosquitto_connect_callback_set(b->mosq, on_connect);
	mosquitto_disconnect_callback_set(b->mosq, on_disconnect);
	mosquitto_message_callback_set(b->mosq, on_message);
	mosquitto_publish_callback_set(b->mosq, on_publish);
	mosquitto_log_callback_set(b->mosq, on_log);

	if (c->username) {
		rc = mosquitto_username_pw_set(b->mosq, c->username, c->password);
		if (rc != MOSQ_ERR_SUCCESS)
			return log_error_errno(EINVAL, "Failed to set the credentials: %s",
					       mosq_error(rc));
	}
	if (c->tls) {
		if (c->ca_file)
			rc = mosquitto_tls_set(b->mosq, c->ca_file, NULL, NULL, NULL, NULL);
		else
			rc = mosquitto_int_option(b->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			return log_error_errno(EINVAL, "Failed to set up TLS for %s: %s", c->broker,
					       mosq_error(rc));
	}

	r = set_connect_properties(b);
	if (r < 0)
		return r;

	r = sd_event_add_time_relative(event, &b->misc, CLOCK_MONOTONIC, USEC_PER_SEC,
				       100 * USEC_PER_MSEC, on_misc, b);
	if (r < 0)
		return log_error_errno(r, "Failed to add the keepalive timer: %m");
	r = sd_event_source_set_enabled(b->misc, SD_EVENT_ON);
	if (r < 0)
		return log_error_errno(r, "Failed to enable the keepalive timer: %m");

	*ret = TAKE_PTR(b);
	return 0;
}

Broker *broker_free(Broker *b)
{
	if (!b)
		return NULL;
	b->io = sd_event_source_disable_unref(b->io);
	b->misc = sd_event_source_disable_unref(b->misc);
	b->retry = sd_event_source_disable_unref(b->retry);
	if (b->mosq)
		mosquitto_destroy(b->mosq);
	while (b->outbox) {
		OutMessage *m = b->outbox;
		b->outbox = m->next;
		out_message_free(m);
	}
	sd_event_unref(b->event);
	free(b);
	return NULL;
}

int broker_set_will(Broker *b, const char *topic, const char *payload)
{
	int rc;

	rc = mosquitto_will_set(b->mosq, topic, (int)strlen(payload), payload, 1, true);
	if (rc != MOSQ_ERR_SUCCESS)
		return log_error_errno(EINVAL, "Failed to set the last will: %s", mosq_error(rc));
	return 0;
}

int broker_start(Broker *b)
{
	attempt(b);
	return 0;
}

bool broker_is_connected(const Broker *b)
{
	return b->connected;
}

static int outbox_push(Broker *b, const char *topic, const char *payload, size_t len, bool retain)
{
	OutMessage *m;

	if (b->n_outbox >= BROKER_OUTBOX_MAX) {
		OutMessage *oldest = b->outbox;
		log_warning("The outbox is full (%d messages) while the broker is away; "
			    "dropping the oldest, on %s.", BROKER_OUTBOX_MAX, oldest->topic);
		b->outbox = oldest->next;
		if (!b->outbox)
			b->outbox_last = NULL;
		b->n_outbox--;
		out_message_free(oldest);
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->topic = strdup(topic);
	m->payload = malloc(len ? len : 1);
	if (!m->topic || !m->payload) {
		out_message_free(m);
		return -ENOMEM;
	}
	memcpy(m->payload, payload, len);
	m->len = len;
	m->retain = retain;
	if (b->outbox_last)
		b->outbox_last->next = m;
	else
		b->outbox = m;
	b->outbox_last = m;
	b->n_outbox++;
	return 0;
}

int broker_publish(Broker *b, const char *topic, const char *payload, size_t len, bool retain,
		   bool keep)
{
	int rc;

	/* What waits in the outbox goes first: results keep their order. */
	if (b->connected && (!b->outbox || !keep)) {
		rc = mosquitto_publish(b->mosq, NULL, topic, (int)len, payload, 1, retain);
		if (rc == MOSQ_ERR_SUCCESS) {
			(void)update_events(b);
			return 0;
		}
		if (rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_INVAL ||
		    rc == MOSQ_ERR_MALFORMED_UTF8)
			return log_error_errno(EINVAL, "Cannot publish on %s: %s", topic,
					       mosq_error(rc));
		if (rc == MOSQ_ERR_NOMEM)
			return log_oom();
	}
	if (!keep)
		return 0;
	return outbox_push(b, topic, payload, len, retain) < 0 ? log_oom() : 0;
}

int broker_subscribe(Broker *b, const char *pattern)
{
	int rc;

	if (!b->connected)
		return -ENOTCONN;
	/* No-local: what the bridge publishes under its own subscriptions does not come back. */
	rc = mosquitto_subscribe_v5(b->mosq, NULL, pattern, 1, MQTT_SUB_OPT_NO_LOCAL, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		return log_error_errno(EIO, "Failed to subscribe to %s: %s", pattern, mosq_error(rc));
	(void)update_events(b);
	return 0;
}

void broker_shutdown(Broker *b, const char *topic, const char *payload, usec_t timeout)
{
	usec_t deadline = now_monotonic() + timeout;
	int rc;

	b->retry = sd_event_source_disable_unref(b->retry);
	if (!b->connected)
		return;
	flush_outbox(b);
	rc = mosquitto_publish(b->mosq, &b->shutdown_mid, topic, (int)strlen(payload), payload, 1,
			       true);
	if (rc != MOSQ_ERR_SUCCESS)
		return;
	/* Blocking is fine here: the bridge has nothing else left to do. */
	while (!b->shutdown_acked && !b->lost && now_monotonic() < deadline) {
		rc = mosquitto_loop(b->mosq, 50, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			break;
	}
	(void)mosquitto_disconnect(b->mosq);
	(void)mosquitto_loop_write(b->mosq, 1);
	b->io = sd_event_source_disable_unref(b->io);
	b->connected = false;
}

static int op_set_will(void *broker, const char *topic, const char *payload)
{
	return broker_set_will(broker, topic, payload);
}

static int op_start(void *broker)
{
	return broker_start(broker);
}

static bool op_is_connected(void *broker)
{
	return broker_is_connected(broker);
}

static int op_publish(void *broker, const char *topic, const char *payload, size_t len,
		      bool retain, bool keep)
{
	return broker_publish(broker, topic, payload, len, retain, keep);
}

static int op_subscribe(void *broker, const char *pattern)
{
	return broker_subscribe(broker, pattern);
}

static void op_shutdown(void *broker, const char *topic, const char *payload, usec_t timeout)
{
	broker_shutdown(broker, topic, payload, timeout);
}

const BrokerOps broker_ops = {
	.set_will = op_set_will,
	.start = op_start,
	.is_connected = op_is_connected,
	.publish = op_publish,
	.subscribe = op_subscribe,
	.shutdown = op_shutdown,
};

/* SPDX-License-Identifier: MIT */
/*
 * Requests that arrive over MQTT: which verb and name a topic names, and
 * what its payload asks for. Everything here is checked before anything
 * reaches blinkd; a request that fails a check is answered with one of the
 * bridge's own errors and changes nothing.
 *
 *   <prefix>/<board>/start/<name>     {"program": P, "id": ID?, "options": {...}?}
 *   <prefix>/<board>/replace/<name>   the same
 *   <prefix>/<board>/stop/<name>      {"id": ID?} or nothing
 *   <prefix>/<board>/stopall          {"id": ID?} or nothing
 *   <prefix>/<board>/definitions/get  {"id": ID?} or nothing: publish the definitions now
 *
 * and the same under <prefix>/all/ for every board at once. P is a program
 * as a JSON object, or its text as a string; ID a string or a number,
 * echoed in the result exactly as it was written (ids are the client's:
 * the bridge only hands them back, so a number beyond 64 bits still
 * matches). Any other topic under the board, but the ones the bridge
 * publishes itself, is a request of a shape the bridge does not know, and
 * is answered with InvalidTopic.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "start-options.h"

/* The bridge's own errors, beside blinkd's io.blinkd1.Error.* */
#define MQTT_ERROR_INVALID_PAYLOAD "io.blinkd1.Mqtt.Error.InvalidPayload"
#define MQTT_ERROR_INVALID_TOPIC "io.blinkd1.Mqtt.Error.InvalidTopic"
#define MQTT_ERROR_PAYLOAD_TOO_LARGE "io.blinkd1.Mqtt.Error.PayloadTooLarge"
#define MQTT_ERROR_NOT_SUPPORTED "io.blinkd1.Mqtt.Error.NotSupported"
#define MQTT_ERROR_UNAVAILABLE "io.blinkd1.Mqtt.Error.Unavailable"

typedef enum RequestVerb {
	REQUEST_START,
	REQUEST_REPLACE,
	REQUEST_STOP,
	REQUEST_STOP_ALL,
	REQUEST_GET_DEFINITIONS,
	_REQUEST_VERB_MAX,
} RequestVerb;

/*
 * A request, embedded where it waits (on the stack while it is checked,
 * then in the held queue or the record of a call in flight): whoever
 * holds it ends it with request_done().
 */
typedef struct Request {
	RequestVerb verb;     /* _REQUEST_VERB_MAX: a topic of no verb the bridge knows */
	bool group;	      /* came in under <prefix>/all/ */
	char *name;	      /* start, replace, stop */
	json_object *id;      /* as given, or NULL */
	char *program;	      /* start, replace: the program text */
	StartOptions *options; /* start, replace: the options given, or NULL for none */
} Request;

/* Why a request was refused: an error name and a message naming the problem. */
typedef struct RequestError {
	const char *name;
	char message[1024];
} RequestError;

/* "start", "replace", ... as in topics. */
const char *request_verb_to_string(RequestVerb v);

/*
 * request_topic_parse() - what @topic asks for, if it is a request topic
 * under @prefix for @board or for the group.
 * Returns 1 with @ret's verb, group and name set; 0 when @topic is not
 * under the board or the group, or is one of the topics the bridge
 * publishes there itself; -EINVAL when it is a request of a shape the
 * bridge does not take (empty name, a name of more than one level, an
 * unknown verb, a name after stopall), with @error naming the problem and
 * @ret's group (and verb, when known) set, so the refusal can be answered;
 * -ENOMEM.
 */
int request_topic_parse(const char *topic, const char *prefix, const char *board, Request *ret,
			RequestError *error);

/*
 * request_payload_parse() - check @payload (@len bytes, not necessarily
 * NUL-terminated) against the verb already in @r and fill in id, program and
 * options. @max is the configured cap.
 * Returns 0, or -EINVAL / -EFBIG with @error filled (r->id is set when the
 * payload named one, so the refusal can carry it), or -ENOMEM. An integer
 * anywhere in the payload beyond 64 bits is refused, naming its path; a
 * number id is kept as written, however long.
 */
int request_payload_parse(Request *r, const void *payload, size_t len, size_t max,
			  RequestError *error);

void request_done(Request *r);

/*
 * request_append_options() - append r->options to @m as the a{sv} that
 * StartWithOptions takes, with "replace": true for the replace verb, whatever
 * the options say.
 */
int request_append_options(const Request *r, sd_bus_message *m);

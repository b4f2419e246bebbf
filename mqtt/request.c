/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "program.h"
#include "mqtt-config.h"
#include "request.h"

static const char *const verb_names[_REQUEST_VERB_MAX] = {
	[REQUEST_START] = "start",
	[REQUEST_REPLACE] = "replace",
	[REQUEST_STOP] = "stop",
	[REQUEST_STOP_ALL] = "stopall",
	[REQUEST_GET_DEFINITIONS] = "definitions/get",
};

/* The options of StartWithOptions, as the daemon's API will take them. */
static const RequestOption options[] = {
	{ "replace", 'b' }, { "at", 't' },	{ "priority", 'i' },
	{ "bind", 'b' },    { "persist", 'b' }, { "timeout", 't' },
};

const char *request_verb_to_string(RequestVerb v)
{
	return v >= 0 && v < _REQUEST_VERB_MAX ? verb_names[v] : NULL;
}

const RequestOption *request_option_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(options); i++)
		if (streq(options[i].name, name))
			return &options[i];
	return NULL;
}

void request_done(Request *r)
{
	free(r->name);
	json_object_put(r->id);
	free(r->program);
	json_object_put(r->options);
	*r = (Request){};
}

static int refuse(RequestError *e, const char *name, int r, const char *fmt, ...) _printf_(4, 5);
static int refuse(RequestError *e, const char *name, int r, const char *fmt, ...)
{
	va_list ap;

	e->name = name;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return r;
}

int request_topic_parse(const char *topic, const char *prefix, const char *board, Request *ret)
{
	size_t n = strlen(prefix);
	const char *rest, *slash;
	bool group;

	if (strncmp(topic, prefix, n) != 0 || topic[n] != '/')
		return 0;
	rest = topic + n + 1;

	slash = strchr(rest, '/');
	if (!slash)
		return 0;
	if ((size_t)(slash - rest) == strlen(MQTT_GROUP_WORD) &&
	    strncmp(rest, MQTT_GROUP_WORD, strlen(MQTT_GROUP_WORD)) == 0)
		group = true;
	else if ((size_t)(slash - rest) == strlen(board) && strncmp(rest, board, strlen(board)) == 0)
		group = false;
	else
		return 0;
	rest = slash + 1;

	for (RequestVerb v = 0; v < _REQUEST_VERB_MAX; v++) {
		const char *w = verb_names[v];
		size_t k = strlen(w);
		bool named = v == REQUEST_START || v == REQUEST_REPLACE || v == REQUEST_STOP;

		if (strncmp(rest, w, k) != 0)
			continue;
		if (named) {
			if (rest[k] != '/' || rest[k + 1] == '\0' || strchr(rest + k + 1, '/'))
				continue;
		} else if (rest[k] != '\0')
			continue;

		*ret = (Request){ .verb = v, .group = group };
		if (named) {
			ret->name = strdup(rest + k + 1);
			if (!ret->name)
				return -ENOMEM;
		}
		return 1;
	}
	return 0;
}

static int parse_options(Request *r, json_object *o, RequestError *e)
{
	if (!json_object_is_type(o, json_type_object))
		return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
			      "$.options: must be an object");
	json_object_object_foreach(o, key, v) {
		const RequestOption *opt = request_option_find(key);
		int64_t n;

		if (!opt)
			return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
				      "$.options.%s: unknown option (known: replace, at, priority, "
				      "bind, persist, timeout)", key);
		switch (opt->type) {
		case 'b':
			if (!json_object_is_type(v, json_type_boolean))
				return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					      "$.options.%s: must be true or false", key);
			break;
		case 't':
			/* json-c keeps integers up to 2^64-1; doubles are not microseconds. */
			if (!json_object_is_type(v, json_type_int))
				return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					      "$.options.%s: must be an integer of microseconds", key);
			if (json_object_get_int64(v) < 0)
				return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					      "$.options.%s: must not be negative", key);
			break;
		case 'i':
			if (!json_object_is_type(v, json_type_int))
				return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					      "$.options.%s: must be an integer", key);
			n = json_object_get_int64(v);
			if (n < INT32_MIN || n > INT32_MAX)
				return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					      "$.options.%s: must fit in 32 bits", key);
			break;
		}
	}
	if (json_object_object_length(o) > 0)
		r->options = json_object_get(o);
	return 0;
}

int request_payload_parse(Request *r, const void *payload, size_t len, size_t max,
			  RequestError *e)
{
	_cleanup_(json_object_putp) json_object *j = NULL;
	_cleanup_(freep) char *text = NULL;
	bool wants_program = r->verb == REQUEST_START || r->verb == REQUEST_REPLACE;
	JsonError jerr = {};
	int k;

	if (len > max)
		return refuse(e, MQTT_ERROR_PAYLOAD_TOO_LARGE, -EFBIG,
			      "the payload has %zu bytes, more than the %zu this bridge takes", len,
			      max);
	if (len == 0) {
		if (wants_program)
			return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
				      "the payload is empty; %s needs {\"program\": ...}",
				      request_verb_to_string(r->verb));
		return 0;
	}

	text = malloc(len + 1);
	if (!text)
		return -ENOMEM;
	memcpy(text, payload, len);
	text[len] = '\0';
	if (memchr(payload, '\0', len))
		return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
			      "$: invalid JSON: the payload holds a NUL byte");

	k = json_parse_strict(text, len, PROGRAM_DEPTH_MAX + 2, &j, &jerr);
	if (k == -ENOMEM)
		return k;
	if (k < 0)
		return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL, "%s: %s", jerr.path,
			      jerr.message);
	if (!json_object_is_type(j, json_type_object))
		return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL, "$: must be a JSON object");

	/* The id first: every later refusal can then carry it. */
	{
		json_object *id;
		if (json_object_object_get_ex(j, "id", &id)) {
			if (!json_object_is_type(id, json_type_string) &&
			    !json_object_is_type(id, json_type_int))
				return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					      "$.id: must be a string or an integer");
			if (json_object_is_type(id, json_type_string) &&
			    json_object_get_string_len(id) > 256)
				return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					      "$.id: must be at most 256 bytes");
			r->id = json_object_get(id);
		}
	}

	json_object_object_foreach(j, key, v) {
		if (streq(key, "id"))
			continue;
		if (wants_program && streq(key, "program")) {
			const char *s;

			if (json_object_is_type(v, json_type_string))
				s = json_object_get_string(v);
			else if (json_object_is_type(v, json_type_object))
				s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE);
			else
				return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					      "$.program: must be a program object or its text");
			r->program = strdup(s);
			if (!r->program)
				return -ENOMEM;
		} else if (wants_program && streq(key, "options")) {
			k = parse_options(r, v, e);
			if (k < 0)
				return k;
		} else
			return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
				      "$.%s: unknown key for %s (it takes %s)", key,
				      request_verb_to_string(r->verb),
				      wants_program ? "program, id and options" : "only id");
	}
	if (wants_program && !r->program)
		return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL, "$.program: is missing");
	return 0;
}

int request_append_options(const Request *r, sd_bus_message *m)
{
	int k;

	k = sd_bus_message_open_container(m, 'a', "{sv}");
	if (k < 0)
		return k;
	if (r->options) {
		json_object_object_foreach(r->options, key, v) {
			const RequestOption *opt = request_option_find(key);

			if (!opt)
				return -EINVAL;
			/* The replace verb means what it says, whatever the options say. */
			if (streq(key, "replace") && r->verb == REQUEST_REPLACE)
				continue;
			switch (opt->type) {
			case 'b':
				k = sd_bus_message_append(m, "{sv}", key, "b",
							  (int)json_object_get_boolean(v));
				break;
			case 't':
				k = sd_bus_message_append(m, "{sv}", key, "t",
							  (uint64_t)json_object_get_uint64(v));
				break;
			case 'i':
				k = sd_bus_message_append(m, "{sv}", key, "i",
							  (int32_t)json_object_get_int64(v));
				break;
			}
			if (k < 0)
				return k;
		}
	}
	if (r->verb == REQUEST_REPLACE) {
		k = sd_bus_message_append(m, "{sv}", "replace", "b", 1);
		if (k < 0)
			return k;
	}
	return sd_bus_message_close_container(m);
}

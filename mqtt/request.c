/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>

#include "json-util.h"
#include "program.h"
#include "mqtt-config.h"
#include "request.h"
#include "utf8.h"

static const char *const verb_names[_REQUEST_VERB_MAX] = {
	[REQUEST_START] = "start",
	[REQUEST_REPLACE] = "replace",
	[REQUEST_STOP] = "stop",
	[REQUEST_STOP_ALL] = "stopall",
	[REQUEST_GET_DEFINITIONS] = "definitions/get",
};

const char *request_verb_to_string(RequestVerb v)
{
	return v >= 0 && v < _REQUEST_VERB_MAX ? verb_names[v] : NULL;
}

void request_done(Request *r)
{
	free(r->name);
	json_object_put(r->id);
	free(r->program);
	free(r->options);
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

/* How much of @s, at most @max bytes, to quote without cutting a character in two. */
static size_t text_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == max && s[n] != '\0')
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	return n;
}

/* How a number id goes back out: as it was written. */
static int number_as_written(json_object *o, struct printbuf *pb, int level, int flags)
{
	const char *text = json_object_get_userdata(o);

	return printbuf_memappend(pb, text, (int)strlen(text));
}

/* The bridge's own topics under a board: what it publishes, and the light commands. */
static bool is_own_leaf(const char *rest)
{
	static const char *const leaves[] = { "state", "running", "lit", "definitions", "result" };

	for (size_t i = 0; i < ELEMENTSOF(leaves); i++)
		if (streq(rest, leaves[i]))
			return true;
	return strncmp(rest, "finished/", 9) == 0 || streq(rest, "finished") ||
	       strncmp(rest, "light/", 6) == 0 || streq(rest, "light");
}

int request_topic_parse(const char *topic, const char *prefix, const char *board, Request *ret,
			RequestError *e)
{
	size_t n = strlen(prefix);
	const char *rest, *slash;
	size_t level;
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
	if (is_own_leaf(rest))
		return 0;

	/*
	 * From here on the topic is one of this board's, and not one the bridge
	 * publishes itself: a request, whatever its shape, and it is answered.
	 */
	*ret = (Request){ .verb = _REQUEST_VERB_MAX, .group = group };
	if (utf8_invalid_at(rest, strlen(rest)) >= 0)
		return refuse(e, MQTT_ERROR_INVALID_TOPIC, -EINVAL,
			      "the topic is not valid UTF-8");

	for (RequestVerb v = 0; v < _REQUEST_VERB_MAX; v++) {
		const char *w = verb_names[v], *name;
		size_t k = strlen(w);
		bool named = v == REQUEST_START || v == REQUEST_REPLACE || v == REQUEST_STOP;

		if (strncmp(rest, w, k) != 0 || (rest[k] != '\0' && rest[k] != '/'))
			continue;
		ret->verb = v;
		if (!named) {
			if (rest[k] != '\0')
				return refuse(e, MQTT_ERROR_INVALID_TOPIC, -EINVAL,
					      "%s takes no name: publish on <prefix>/<board>/%s",
					      w, w);
			return 1;
		}
		if (rest[k] == '\0')
			return refuse(e, MQTT_ERROR_INVALID_TOPIC, -EINVAL,
				      "%s needs a name: publish on <prefix>/<board>/%s/<name>", w, w);
		name = rest + k + 1;
		if (strchr(name, '/'))
			return refuse(e, MQTT_ERROR_INVALID_TOPIC, -EINVAL,
				      "a program name is one topic level, \"%.*s\" is more than one",
				      (int)text_cut(name, 80), name);
		if (name[0] == '\0')
			return refuse(e, MQTT_ERROR_INVALID_TOPIC, -EINVAL,
				      "the topic names no program: %s/ ends in an empty name", w);
		ret->name = strdup(name);
		if (!ret->name)
			return -ENOMEM;
		return 1;
	}

	level = strcspn(rest, "/");
	return refuse(e, MQTT_ERROR_INVALID_TOPIC, -EINVAL,
		      "unknown verb \"%.*s\" (known: start, replace, stop, stopall, "
		      "definitions/get)",
		      (int)text_cut(rest, level > 80 ? 80 : level), rest);
}

/*
 * Integers as written. json-c keeps integers in 64 bits and saturates what
 * is beyond without a word (18446744073709551616 comes out as
 * 18446744073709551615), so the ranges are checked on the text, which
 * json_parse_strict() has already found well-formed: every integer beyond
 * 64 bits is refused, naming its path, but the id's, which is echoed as
 * written.
 */
#define SCAN_LEVELS_MAX 64

typedef struct ScanLevel {
	bool object;
	bool want_key;
	size_t index;
	const char *key; /* raw, as written */
	size_t key_len;
} ScanLevel;

static void scan_path(const ScanLevel *levels, size_t depth, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "$");

	for (size_t i = 0; i < depth && i < SCAN_LEVELS_MAX && n < size; i++) {
		const ScanLevel *l = &levels[i];

		if (!l->object)
			n += (size_t)snprintf(buf + n, size - n, "[%zu]", l->index);
		else if (l->key)
			n += (size_t)snprintf(buf + n, size - n, ".%.*s",
					      (int)text_cut(l->key, l->key_len > 60 ? 60 : l->key_len),
					      l->key);
	}
}

static bool integer_fits(const char *s, size_t len)
{
	char buf[32];

	/* At most 20 digits and a sign fit in 64 bits; strto*() say ERANGE for the rest. */
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	if (buf[0] == '-')
		(void)strtoll(buf, NULL, 10);
	else
		(void)strtoull(buf, NULL, 10);
	return errno != ERANGE;
}

static int scan_numbers(const char *text, size_t len, json_object *id, RequestError *e)
{
	ScanLevel levels[SCAN_LEVELS_MAX];
	size_t depth = 0, i = 0;
	int ret = 0;

	while (i < len) {
		char c = text[i];
		ScanLevel *top = depth > 0 && depth <= SCAN_LEVELS_MAX ? &levels[depth - 1] : NULL;

		if (c == '{' || c == '[') {
			bool object = c == '{';

			if (depth < SCAN_LEVELS_MAX)
				levels[depth] = (ScanLevel){ .object = object, .want_key = object };
			depth++;
			i++;
		} else if (c == '}' || c == ']') {
			depth--;
			i++;
		} else if (c == ',') {
			if (top && top->object)
				top->want_key = true;
			else if (top)
				top->index++;
			i++;
		} else if (c == '"') {
			size_t start = ++i;

			while (i < len && text[i] != '"')
				i += text[i] == '\\' ? 2 : 1;
			if (top && top->object && top->want_key) {
				top->key = text + start;
				top->key_len = i - start;
				top->want_key = false;
			}
			i++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t start = i;
			bool integer = true;

			while (i < len && strchr("+-0123456789.eE", text[i])) {
				if (strchr(".eE", text[i]))
					integer = false;
				i++;
			}
			if (depth == 1 && top && top->object && top->key_len == 2 &&
			    strncmp(top->key, "id", 2) == 0) {
				char *raw;

				if (!id)
					continue;
				raw = strndup(text + start, i - start);
				if (!raw)
					return -ENOMEM;
				/* The id owns the text from here on. */
				json_object_set_serializer(id, number_as_written, raw,
							   json_object_free_userdata);
				continue;
			}
			/* The first one is named; the scan goes on to find the id. */
			if (integer && ret == 0 && !integer_fits(text + start, i - start)) {
				char path[256];

				scan_path(levels, depth, path, sizeof(path));
				ret = refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					     "%s: %.*s is beyond the range of a 64-bit integer", path,
					     (int)(i - start > 40 ? 40 : i - start), text + start);
			}
		} else
			i++;
	}
	return ret;
}

/* The "options" of a start or replace, with the start option table; none given: none. */
static int parse_options(Request *r, json_object *o, RequestError *e)
{
	_cleanup_(freep) StartOptions *options = NULL;
	StartOptionError se;
	int k;

	options = calloc(1, sizeof(*options));
	if (!options)
		return -ENOMEM;
	k = start_options_parse_json(&start_option_table, o, "$.options", options, &se);
	if (k < 0)
		return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, k, "%s", se.message);
	if (options->given != 0) {
		free(r->options);
		r->options = TAKE_PTR(options);
	}
	return 0;
}

int request_payload_parse(Request *r, const void *payload, size_t len, size_t max,
			  RequestError *e)
{
	_cleanup_(json_object_putp) json_object *j = NULL;
	_cleanup_(freep) char *text = NULL;
	json_object *number_id;
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
			    !json_object_is_type(id, json_type_int) &&
			    !json_object_is_type(id, json_type_double))
				return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					      "$.id: must be a string or a number");
			if (json_object_is_type(id, json_type_string) &&
			    json_object_get_string_len(id) > 256)
				return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL,
					      "$.id: must be at most 256 bytes");
			r->id = json_object_get(id);
		}
	}
	number_id = r->id && !json_object_is_type(r->id, json_type_string) ? r->id : NULL;
	k = scan_numbers(text, len, number_id, e);
	if (k < 0)
		return k;

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
				      request_verb_to_string(r->verb) ?: "this topic",
				      wants_program ? "program, id and options" : "only id");
	}
	if (wants_program && !r->program)
		return refuse(e, MQTT_ERROR_INVALID_PAYLOAD, -EINVAL, "$.program: is missing");
	return 0;
}

int request_append_options(const Request *r, sd_bus_message *m)
{
	StartOptions o = r->options ? *r->options : (StartOptions){};

	/* The replace verb means what it says, whatever the options say (a row: cannot fail). */
	if (r->verb == REQUEST_REPLACE)
		(void)start_options_set_bool(&start_option_table, &o, "replace", true);
	return start_options_append(&start_option_table, &o, m);
}

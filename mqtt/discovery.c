/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "json-util.h"

char *discovery_config_topic(const DiscoveryBoard *b, const char *light)
{
	char *s;

	if (asprintf(&s, "%s/light/%s_%s/config", b->discovery_prefix, b->board, light) < 0)
		return NULL;
	return s;
}

char *discovery_light_topic(const DiscoveryBoard *b, const char *light, const char *leaf)
{
	char *s;

	if (asprintf(&s, "%s/%s/light/%s/%s", b->prefix, b->board, light, leaf) < 0)
		return NULL;
	return s;
}

static int add_string(json_object *o, const char *key, const char *value)
{
	json_object *s = json_object_new_string(value);

	if (!s || json_object_object_add(o, key, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int add_owned(json_object *o, const char *key, json_object *v)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

json_object *discovery_light_config(const DiscoveryBoard *b, const char *light)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	_cleanup_(freep) char *set = NULL, *state = NULL, *availability = NULL;
	_cleanup_(freep) char *unique = NULL, *device_id = NULL, *name = NULL;
	json_object *device, *modes, *effects, *avail, *a;

	set = discovery_light_topic(b, light, "set");
	state = discovery_light_topic(b, light, "state");
	if (!o || !set || !state || asprintf(&availability, "%s/%s/state", b->prefix, b->board) < 0 ||
	    asprintf(&unique, "blinkd_%s_%s", b->board, light) < 0 ||
	    asprintf(&device_id, "blinkd_%s", b->board) < 0)
		return NULL;
	if (streq(light, DISCOVERY_MATRIX))
		name = strdup("Matrix");
	else if (asprintf(&name, "Line %s", light) < 0)
		name = NULL;
	if (!name)
		return NULL;

	if (add_string(o, "name", name) < 0 || add_string(o, "unique_id", unique) < 0 ||
	    add_string(o, "schema", "json") < 0 || add_string(o, "command_topic", set) < 0 ||
	    add_string(o, "state_topic", state) < 0)
		return NULL;

	modes = json_object_new_array();
	if (add_owned(o, "supported_color_modes", modes) < 0 ||
	    json_object_array_add(modes, json_object_new_string("onoff")) < 0)
		return NULL;

	if (add_owned(o, "effect", json_object_new_boolean(1)) < 0)
		return NULL;
	effects = json_object_new_array();
	if (add_owned(o, "effect_list", effects) < 0)
		return NULL;
	for (char *const *e = b->effects; e && *e; e++)
		if (json_object_array_add(effects, json_object_new_string(*e)) < 0)
			return NULL;

	/* The board's state topic: "offline" by the will, or while blinkd is gone. */
	avail = json_object_new_array();
	a = json_object_new_object();
	if (add_owned(o, "availability", avail) < 0)
		return NULL;
	if (!a || json_object_array_add(avail, a) < 0) {
		json_object_put(a);
		return NULL;
	}
	if (add_string(a, "topic", availability) < 0 ||
	    add_string(a, "payload_available", "online") < 0 ||
	    add_string(a, "payload_not_available", "offline") < 0)
		return NULL;

	if (add_owned(o, "qos", json_object_new_int(1)) < 0)
		return NULL;

	device = json_object_new_object();
	if (add_owned(o, "device", device) < 0)
		return NULL;
	{
		json_object *ids = json_object_new_array();
		if (add_owned(device, "identifiers", ids) < 0 ||
		    json_object_array_add(ids, json_object_new_string(device_id)) < 0)
			return NULL;
	}
	if (add_string(device, "name", b->board) < 0 ||
	    add_string(device, "manufacturer", "blinkd") < 0 ||
	    add_string(device, "model", b->chip && streq(b->chip, "sim") ? "simulated chip" :
									     "GPIO lines") < 0 ||
	    (b->version && add_string(device, "sw_version", b->version) < 0))
		return NULL;

	return TAKE_PTR(o);
}

json_object *discovery_light_state(bool on, const char *effect)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();

	if (!o || add_string(o, "state", on ? "ON" : "OFF") < 0)
		return NULL;
	if (on && add_string(o, "color_mode", "onoff") < 0)
		return NULL;
	if (effect && add_string(o, "effect", effect) < 0)
		return NULL;
	return TAKE_PTR(o);
}

int discovery_program_name(const char *light, char **ret)
{
	return asprintf(ret, "ha-%s", light) < 0 ? -ENOMEM : 0;
}

int discovery_on_program(const char *light, char **ret)
{
	int k;

	if (streq(light, DISCOVERY_MATRIX))
		k = asprintf(ret, "{\"on\":{\"lines\":\"all\"}}");
	else
		k = asprintf(ret, "{\"on\":{\"lines\":[%s]}}", light);
	return k < 0 ? -ENOMEM : 0;
}

static int refuse(RequestError *e, const char *message)
{
	e->name = MQTT_ERROR_INVALID_PAYLOAD;
	snprintf(e->message, sizeof(e->message), "%s", message);
	return -EINVAL;
}

int discovery_command_parse(const void *payload, size_t len, size_t max, DiscoveryCommand *ret,
			    RequestError *e)
{
	_cleanup_(json_object_putp) json_object *j = NULL;
	_cleanup_(freep) char *text = NULL;
	DiscoveryCommand c = {};
	bool have_state = false;
	JsonError jerr = {};
	int k;

	if (len > max) {
		e->name = MQTT_ERROR_PAYLOAD_TOO_LARGE;
		snprintf(e->message, sizeof(e->message),
			 "the payload has %zu bytes, more than the %zu this bridge takes", len, max);
		return -EFBIG;
	}
	if (memchr(payload, '\0', len))
		return refuse(e, "$: invalid JSON: the payload holds a NUL byte");
	text = strndup(payload, len);
	if (!text)
		return -ENOMEM;
	k = json_parse_strict(text, len, 4, &j, &jerr);
	if (k == -ENOMEM)
		return k;
	if (k < 0) {
		e->name = MQTT_ERROR_INVALID_PAYLOAD;
		snprintf(e->message, sizeof(e->message), "%s: %s", jerr.path, jerr.message);
		return -EINVAL;
	}
	if (!json_object_is_type(j, json_type_object))
		return refuse(e, "$: must be an object like {\"state\": \"ON\"}");

	json_object_object_foreach(j, key, v) {
		if (streq(key, "state")) {
			const char *s = json_object_get_string(v);
			if (!json_object_is_type(v, json_type_string) ||
			    (!streq(s, "ON") && !streq(s, "OFF")))
				return refuse(e, "$.state: must be \"ON\" or \"OFF\"");
			c.on = streq(s, "ON");
			have_state = true;
		} else if (streq(key, "effect")) {
			if (!json_object_is_type(v, json_type_string) ||
			    json_object_get_string_len(v) == 0)
				return refuse(e, "$.effect: must be a definition's name");
			free(c.effect);
			c.effect = strdup(json_object_get_string(v));
			if (!c.effect)
				return -ENOMEM;
		} else {
			free(c.effect);
			e->name = MQTT_ERROR_INVALID_PAYLOAD;
			snprintf(e->message, sizeof(e->message),
				 "$.%s: not supported by this light (only state and effect)", key);
			return -EINVAL;
		}
	}
	if (!have_state) {
		free(c.effect);
		return refuse(e, "$.state: is missing");
	}
	if (!c.on && c.effect) {
		free(c.effect);
		return refuse(e, "$.effect: only with \"state\": \"ON\"");
	}
	*ret = c;
	return 0;
}

int discovery_light_from_topic(const DiscoveryBoard *b, const char *topic, char **ret)
{
	size_t np = strlen(b->prefix), nb = strlen(b->board);
	const char *light, *end;
	char *s;

	if (strncmp(topic, b->prefix, np) != 0 || topic[np] != '/' ||
	    strncmp(topic + np + 1, b->board, nb) != 0 ||
	    strncmp(topic + np + 1 + nb, "/light/", 7) != 0)
		return 0;
	light = topic + np + 1 + nb + 7;
	end = strchr(light, '/');
	if (!end || end == light || !streq(end, "/set"))
		return 0;
	if ((size_t)(end - light) == strlen(DISCOVERY_MATRIX) &&
	    strncmp(light, DISCOVERY_MATRIX, (size_t)(end - light)) == 0)
		;
	else
		for (const char *p = light; p < end; p++)
			if (*p < '0' || *p > '9' || (p == light && *p == '0' && end - light > 1))
				return 0;
	s = strndup(light, (size_t)(end - light));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 1;
}

/* SPDX-License-Identifier: MIT */
/*
 * Home Assistant's MQTT discovery: each line of the board, and the whole
 * matrix, as an MQTT light of the JSON schema. A light's config goes
 * retained to <discovery_prefix>/light/<board>_<light>/config, where
 * <light> is the line's offset or "matrix"; its commands come in on
 * <prefix>/<board>/light/<light>/set and its state goes out on
 * <prefix>/<board>/light/<light>/state. Commands run under the program
 * name ha-<light>: ON lights the line ({"on":{"lines":[N]}}, the matrix:
 * "all"), an effect starts {"call": EFFECT}, OFF stops the program.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "request.h"

#define DISCOVERY_MATRIX "matrix"

typedef struct DiscoveryBoard {
	const char *prefix;	      /* the bridge's topic prefix */
	const char *board;
	const char *discovery_prefix;
	const char *version;	      /* the daemon's */
	const char *chip;	      /* "sim" or the gpiochip */
	char *const *effects;	      /* definition names, NULL-terminated; may be NULL */
} DiscoveryBoard;

/* "<discovery_prefix>/light/<board>_<light>/config"; NULL when out of memory. */
char *discovery_config_topic(const DiscoveryBoard *b, const char *light);

/* "<prefix>/<board>/light/<light>/<leaf>" (leaf "set" or "state"). */
char *discovery_light_topic(const DiscoveryBoard *b, const char *light, const char *leaf);

/* The config payload of one light; NULL when out of memory. */
json_object *discovery_light_config(const DiscoveryBoard *b, const char *light);

/* {"state":"ON","color_mode":"onoff","effect":...} or {"state":"OFF"}. */
json_object *discovery_light_state(bool on, const char *effect);

/* The program name a light's commands run under: "ha-<light>". */
int discovery_program_name(const char *light, char **ret);

/* The program ON runs: the line @light, or every line for the matrix. */
int discovery_on_program(const char *light, char **ret);

typedef struct DiscoveryCommand {
	bool on;
	char *effect; /* NULL: plain ON */
} DiscoveryCommand;

/*
 * discovery_command_parse() - a command of HA's JSON schema:
 * {"state": "ON"|"OFF", "effect": NAME?}. Keys this light does not support
 * (brightness, color, transition, ...) are refused.
 * Returns 0, or -EINVAL with @error filled, or -ENOMEM.
 */
int discovery_command_parse(const void *payload, size_t len, size_t max, DiscoveryCommand *ret,
			    RequestError *error);

/*
 * discovery_light_from_topic() - the <light> of a command topic
 * "<prefix>/<board>/light/<light>/set": "matrix" or an offset.
 * Returns 1 and a new string, 0 when @topic is no light command, -ENOMEM.
 */
int discovery_light_from_topic(const DiscoveryBoard *b, const char *topic, char **ret);

/* SPDX-License-Identifier: MIT */
/*
 * The bridge's configuration, /etc/blinkd/mqtt.json: where the broker is,
 * how to log in, and under which topics this board lives. Every key is
 * optional, unknown keys are refused; the username and password live in a
 * file of their own (credentials_file), never in the main configuration.
 *
 * Owner: blinkd-mqtt's main.c loads the MqttConfig and frees it last; the
 * bridge, its requests and the broker borrow it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define MQTT_CONFIG_DEFAULT_PATH BLINKD_SYSCONFDIR "/blinkd/mqtt.json"
#define MQTT_CONFIG_DEFAULT_BROKER "mqtt://localhost:1883"
#define MQTT_CONFIG_DEFAULT_PREFIX "blinkd"
#define MQTT_CONFIG_DEFAULT_PAYLOAD_MAX (64 * 1024)
#define MQTT_CONFIG_DEFAULT_KEEPALIVE 30
#define MQTT_CONFIG_DEFAULT_DISCOVERY_PREFIX "homeassistant"
#define MQTT_CONFIG_DEFAULT_DEFINITIONS_REFRESH 300
/* The largest payload MQTT can carry at all. */
#define MQTT_PAYLOAD_LIMIT 268435455
/* The group that every bridge answers to; no board may take its name. */
#define MQTT_GROUP_BOARD "all"
#define MQTT_GROUP_WORD MQTT_GROUP_BOARD
/* Under $CREDENTIALS_DIRECTORY (systemd's LoadCredential=), when no credentials_file is set. */
#define MQTT_CREDENTIAL_NAME "mqtt-credentials"

typedef struct MqttConfig {
	char *path;
	char *broker; /* as written: mqtt://host[:port] or mqtts://host[:port] */
	char *host;
	int port;
	bool tls;
	char *ca_file;
	char *credentials_file;
	char *username;
	char *password;
	char *client_id;
	char *prefix;
	char *board;
	size_t payload_max;
	unsigned keepalive;	       /* seconds */
	bool discovery;
	char *discovery_prefix;
	unsigned definitions_refresh; /* seconds; 0: only when asked */
} MqttConfig;

/*
 * mqtt_config_load() - read @path, fill in the defaults, read the credentials.
 * @must_exist: false for the default path, where no file means defaults
 * Returns 0, or a negative errno after logging which key is wrong and why.
 */
int mqtt_config_load(MqttConfig **ret, const char *path, bool must_exist);

/* Parse the configuration from @text (for tests and the loader). */
int mqtt_config_parse(MqttConfig **ret, const char *path, const char *text);

MqttConfig *mqtt_config_free(MqttConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(MqttConfig *, mqtt_config_free);

/* "<prefix>/<board>/<leaf>", the topics of this board; NULL when out of memory. */
char *mqtt_config_topic(const MqttConfig *c, const char *leaf);

/*
 * mqtt_broker_url_parse() - split "mqtt://host:port" or "mqtts://host:port"
 * ("[v6addr]" for IPv6; default ports 1883 and 8883).
 * Returns 0 or -EINVAL.
 */
int mqtt_broker_url_parse(const char *url, char **ret_host, int *ret_port, bool *ret_tls);

/* Board names: 1-64 of [A-Za-z0-9_-], and not "all". */
bool mqtt_board_name_is_valid(const char *name);

/* Topic prefixes: 1-128 bytes of UTF-8 levels, no wildcards, no empty level. */
bool mqtt_prefix_is_valid(const char *prefix);

/* This host's name made into a board name: other characters become '_'. */
int mqtt_board_from_hostname(char **ret);

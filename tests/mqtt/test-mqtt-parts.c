/* SPDX-License-Identifier: MIT */
/*
 * The bridge's parts that need neither broker nor bus: the configuration,
 * broker URLs, request topics and payloads, Home Assistant payloads.
 */
#include <errno.h>
#include <stdlib.h>

#include "../test.h"
#include "discovery.h"
#include "json-util.h"
#include "log.h"
#include "mqtt-config.h"
#include "request.h"

static void test_urls(void)
{
	char *host = NULL;
	int port = 0;
	bool tls = true;

	check_int(mqtt_broker_url_parse("mqtt://broker.lan:1884", &host, &port, &tls), 0);
	check_str(host, "broker.lan");
	check_int(port, 1884);
	check(!tls);
	free(host);
	check_int(mqtt_broker_url_parse("mqtts://[::1]", &host, &port, &tls), 0);
	check_str(host, "::1");
	check_int(port, 8883);
	check(tls);
	free(host);
	check_int(mqtt_broker_url_parse("mqtt://h/", &host, &port, &tls), 0);
	check_int(port, 1883);
	free(host);

	const char *bad[] = { "http://h", "mqtt://", "mqtt://h:0", "mqtt://h:65536", "mqtt://h:x",
			      "mqtt://h:1/path", "mqtt://u@h", "mqtt://[::1", "mqtt://h:-1" };
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		check_int(mqtt_broker_url_parse(bad[i], &host, &port, &tls), -EINVAL);
}

static void test_config(void)
{
	MqttConfig *c = NULL;

	check_int(mqtt_config_parse(&c, "t", "{\"board\": \"b1\"}"), 0);
	check_str(c->broker, "mqtt://localhost:1883");
	check_str(c->prefix, "blinkd");
	check_str(c->client_id, "blinkd-mqtt-b1");
	check_int(c->payload_max, 64 * 1024);
	check(c->discovery);
	c = mqtt_config_free(c);

	check_int(mqtt_config_parse(&c, "t", NULL), 0);
	check(c && mqtt_board_name_is_valid(c->board));
	c = mqtt_config_free(c);

	const char *bad[] = {
		"[]", "{\"board\": \"all\"}", "{\"board\": \"a.b\"}", "{\"broker\": \"tcp://x\"}",
		"{\"topic_prefix\": \"a/#\"}", "{\"topic_prefix\": \"/a\"}", "{\"payload_max\": 0}",
		"{\"payload_max\": \"64k\"}", "{\"color\": 1}", "{\"ca_file\": \"/x\"}",
		"{\"discovery\": 1}", "{\"board\": \"\"}", "{\"keepalive\": 1}",
	};
	log_set_max_level(LOG_EMERG); /* the refusals are expected */
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		c = NULL;
		check_int(mqtt_config_parse(&c, "t", bad[i]), -EINVAL);
		check(c == NULL);
	}
	log_set_max_level(LOG_INFO);
}

static void test_topics(void)
{
	Request r = {};
	RequestError e = {};

	check_int(request_topic_parse("blinkd/b1/start/hb", "blinkd", "b1", &r, &e), 1);
	check_int(r.verb, REQUEST_START);
	check_str(r.name, "hb");
	check(!r.group);
	request_done(&r);
	check_int(request_topic_parse("x/y/all/stop/hb", "x/y", "b1", &r, &e), 1);
	check_int(r.verb, REQUEST_STOP);
	check(r.group);
	request_done(&r);
	check_int(request_topic_parse("blinkd/b1/stopall", "blinkd", "b1", &r, &e), 1);
	check_int(r.verb, REQUEST_STOP_ALL);
	check(r.name == NULL);
	request_done(&r);
	check_int(request_topic_parse("blinkd/b1/definitions/get", "blinkd", "b1", &r, &e), 1);
	check_int(r.verb, REQUEST_GET_DEFINITIONS);
	request_done(&r);

	/* Not ours: another board, another prefix, what the bridge publishes itself. */
	const char *no[] = { "blinkd/b2/start/hb", "blinkdx/b1/stopall", "blinkd/b1",
			     "blinkd/b1/result", "blinkd/b1/light/1/set", "blinkd/b1/state",
			     "blinkd/b1/finished/hb", "blinkd/b1/definitions", "blinkd/b1/lit",
			     "blinkd/b1/running" };
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		check_int(request_topic_parse(no[i], "blinkd", "b1", &r, &e), 0);

	/* Ours, but of a shape no request has: refused, so that it can be answered. */
	struct {
		const char *topic;
		RequestVerb verb;
		const char *message;
	} bad[] = {
		{ "blinkd/b1/start", REQUEST_START, "start needs a name" },
		{ "blinkd/b1/start/", REQUEST_START, "the topic names no program" },
		{ "blinkd/all/stop/", REQUEST_STOP, "the topic names no program" },
		{ "blinkd/b1/start/a/b", REQUEST_START, "a program name is one topic level" },
		{ "blinkd/b1/replace/a/", REQUEST_REPLACE, "a program name is one topic level" },
		{ "blinkd/b1/stopall/x", REQUEST_STOP_ALL, "stopall takes no name" },
		{ "blinkd/b1/definitions/get/x", REQUEST_GET_DEFINITIONS, "definitions/get takes no name" },
		{ "blinkd/b1/strat/x", _REQUEST_VERB_MAX, "unknown verb \"strat\"" },
		{ "blinkd/b1/startx/x", _REQUEST_VERB_MAX, "unknown verb \"startx\"" },
		{ "blinkd/b1/definitions/put", _REQUEST_VERB_MAX, "unknown verb \"definitions\"" },
		{ "blinkd/b1/", _REQUEST_VERB_MAX, "unknown verb \"\"" },
		{ "blinkd/b1/st\xffop/x", _REQUEST_VERB_MAX, "the topic is not valid UTF-8" },
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		e = (RequestError){};
		check_int(request_topic_parse(bad[i].topic, "blinkd", "b1", &r, &e), -EINVAL);
		check_int(r.verb, bad[i].verb);
		check(r.name == NULL);
		check_str(e.name, MQTT_ERROR_INVALID_TOPIC);
		if (strncmp(e.message, bad[i].message, strlen(bad[i].message)) != 0)
			fprintf(stderr, "topic case %zu: \"%s\"\n", i, e.message);
		check(strncmp(e.message, bad[i].message, strlen(bad[i].message)) == 0);
		request_done(&r);
	}
}

static int payload(RequestVerb verb, const char *text, size_t max, Request *r, RequestError *e)
{
	*r = (Request){ .verb = verb };
	*e = (RequestError){};
	return request_payload_parse(r, text, strlen(text), max, e);
}

static void test_payloads(void)
{
	Request r;
	RequestError e;

	check_int(payload(REQUEST_START, "{\"program\": {\"wait\": 1}, \"id\": \"a\"}", 100, &r, &e), 0);
	check_str(r.program, "{\"wait\":1}");
	check_str(json_object_get_string(r.id), "a");
	check(r.options == NULL);
	request_done(&r);

	check_int(payload(REQUEST_START, "{\"program\": \"{\\\"wait\\\": 1}\", \"options\": {}}", 100,
			  &r, &e), 0);
	check_str(r.program, "{\"wait\": 1}");
	check(r.options == NULL); /* empty options are no options */
	request_done(&r);

	check_int(payload(REQUEST_REPLACE,
			  "{\"program\": {}, \"options\": {\"at\": 17, \"priority\": -3, "
			  "\"persist\": true}}", 200, &r, &e), 0);
	check(r.options != NULL);
	request_done(&r);

	check_int(payload(REQUEST_STOP, "", 100, &r, &e), 0);
	request_done(&r);
	check_int(payload(REQUEST_STOP_ALL, "{\"id\": 3}", 100, &r, &e), 0);
	check_int(json_object_get_int(r.id), 3);
	request_done(&r);

	struct {
		RequestVerb verb;
		const char *text;
		const char *name;
		const char *message;
	} bad[] = {
		{ REQUEST_START, "", MQTT_ERROR_INVALID_PAYLOAD, "the payload is empty" },
		{ REQUEST_START, "{\"program\": 1}", MQTT_ERROR_INVALID_PAYLOAD, "$.program: must be" },
		{ REQUEST_START, "{\"id\": \"x\"}", MQTT_ERROR_INVALID_PAYLOAD, "$.program: is missing" },
		{ REQUEST_START, "{\"program\": {}, \"x\": 1}", MQTT_ERROR_INVALID_PAYLOAD, "$.x: unknown key" },
		{ REQUEST_START, "{\"program\": {}", MQTT_ERROR_INVALID_PAYLOAD, "$: invalid JSON" },
		{ REQUEST_START, "[1]", MQTT_ERROR_INVALID_PAYLOAD, "$: must be a JSON object" },
		{ REQUEST_START, "{\"program\": {}, \"id\": [1]}", MQTT_ERROR_INVALID_PAYLOAD, "$.id:" },
		{ REQUEST_START, "{\"program\": {}, \"options\": {\"at\": -1}}", MQTT_ERROR_INVALID_PAYLOAD,
		  "$.options.at: must not be negative" },
		{ REQUEST_START, "{\"program\": {}, \"options\": {\"at\": 1.5}}", MQTT_ERROR_INVALID_PAYLOAD,
		  "$.options.at: must be an integer" },
		{ REQUEST_START, "{\"program\": {}, \"options\": {\"bind\": 1}}", MQTT_ERROR_INVALID_PAYLOAD,
		  "$.options.bind: must be true or false" },
		{ REQUEST_START, "{\"program\": {}, \"options\": {\"priority\": 4294967296}}",
		  MQTT_ERROR_INVALID_PAYLOAD, "$.options.priority: must fit" },
		{ REQUEST_START, "{\"program\": {}, \"options\": {\"later\": 1}}", MQTT_ERROR_INVALID_PAYLOAD,
		  "$.options.later: unknown option" },
		{ REQUEST_STOP, "{\"program\": {}}", MQTT_ERROR_INVALID_PAYLOAD, "$.program: unknown key" },
		{ REQUEST_START, "{\"program\": {}, \"id\": \"0123456789012345678901234567890123456789\"}",
		  MQTT_ERROR_PAYLOAD_TOO_LARGE, "the payload has 65 bytes, more than the 60" },
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		int k = payload(bad[i].verb, bad[i].text, 60, &r, &e);
		check(k == -EINVAL || k == -EFBIG);
		check_str(e.name, bad[i].name);
		if (strncmp(e.message, bad[i].message, strlen(bad[i].message)) != 0)
			fprintf(stderr, "case %zu: \"%s\"\n", i, e.message);
		check(strncmp(e.message, bad[i].message, strlen(bad[i].message)) == 0);
		request_done(&r);
	}

	/* The id survives a refusal, so the refusal can carry it. */
	check_int(payload(REQUEST_START, "{\"id\": \"k\", \"zz\": 1}", 100, &r, &e), -EINVAL);
	check_str(json_object_get_string(r.id), "k");
	request_done(&r);

	/* A NUL inside the payload is refused, not cut. */
	r = (Request){ .verb = REQUEST_STOP };
	check_int(request_payload_parse(&r, "{\"id\":1}\0x", 10, 100, &e), -EINVAL);
	request_done(&r);
}

/* Numbers as written: ids echoed exactly, integers beyond 64 bits refused by path. */
static void test_numbers(void)
{
	Request r;
	RequestError e;

	struct {
		const char *text;
		const char *id;
	} ids[] = {
		{ "{\"id\": 18446744073709551616}", "18446744073709551616" },
		{ "{\"id\":-99999999999999999999999}", "-99999999999999999999999" },
		{ "{\"id\": 3}", "3" },
		{ "{\"id\": 1.50}", "1.50" },
		{ "{\"x\": [1, {\"id\": 5}], \"id\": 2e400}", "2e400" },
		{ "{\"id\": \"s\"}", "\"s\"" },
	};
	for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
		int k = payload(REQUEST_STOP_ALL, ids[i].text, 100, &r, &e);
		check(r.id != NULL);
		/* The one with "x" is refused for it, and still carries its id. */
		check_int(k, strstr(ids[i].text, "\"x\"") ? -EINVAL : 0);
		check_str(json_object_to_json_string_ext(r.id, JSON_C_TO_STRING_PLAIN), ids[i].id);
		request_done(&r);
	}

	struct {
		const char *text;
		const char *message;
	} bad[] = {
		{ "{\"program\": {}, \"options\": {\"at\": 18446744073709551616}}",
		  "$.options.at: 18446744073709551616 is beyond the range of a 64-bit integer" },
		{ "{\"program\": {}, \"options\": {\"timeout\": 99999999999999999999999}}",
		  "$.options.timeout: 99999999999999999999999 is beyond" },
		{ "{\"program\": {}, \"options\": {\"priority\": -9223372036854775809}}",
		  "$.options.priority: -9223372036854775809 is beyond" },
		{ "{\"program\": {}, \"options\": {\"priority\": 9223372036854775808}}",
		  "$.options.priority: must fit in 32 bits" },
		{ "{\"program\": {}, \"options\": {\"priority\": 2147483648}}",
		  "$.options.priority: must fit in 32 bits" },
		{ "{\"program\": {\"on\": {\"lines\": [1, 18446744073709551616]}}}",
		  "$.program.on.lines[1]: 18446744073709551616 is beyond" },
		{ "{\"id\": 1, \"program\": {\"on\": {\"lines\": [-9223372036854775809]}}}",
		  "$.program.on.lines[0]: -9223372036854775809 is beyond" },
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		check_int(payload(REQUEST_START, bad[i].text, 200, &r, &e), -EINVAL);
		check_str(e.name, MQTT_ERROR_INVALID_PAYLOAD);
		if (strncmp(e.message, bad[i].message, strlen(bad[i].message)) != 0)
			fprintf(stderr, "number case %zu: \"%s\"\n", i, e.message);
		check(strncmp(e.message, bad[i].message, strlen(bad[i].message)) == 0);
		request_done(&r);
	}

	/* The edges of 64 bits still fit, and go to blinkd as they are. */
	check_int(payload(REQUEST_START,
			  "{\"program\": {}, \"options\": {\"timeout\": 18446744073709551615, "
			  "\"priority\": -2147483648}}", 200, &r, &e), 0);
	request_done(&r);
}

/* A key written twice in a payload is refused with its path (json-c kept the last). */
static void test_payload_duplicates(void)
{
	static const char *const texts[][2] = {
		{ "{\"program\": {}, \"program\": {\"wait\": 1}}", "$.program: duplicate key" },
		{ "{\"program\": {}, \"options\": {\"priority\": 1, \"priority\": 2}}",
		  "$.options.priority: duplicate key" },
		{ "{\"program\": {\"fade\": {\"from\": 0, \"from\": 1}}}",
		  "$.program.fade.from: duplicate key" },
	};
	Request r;
	RequestError e;

	for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
		check_int(payload(REQUEST_START, texts[i][0], 200, &r, &e), -EINVAL);
		check_str(e.name, MQTT_ERROR_INVALID_PAYLOAD);
		if (strncmp(e.message, texts[i][1], strlen(texts[i][1])) != 0)
			fprintf(stderr, "duplicate case %zu: \"%s\"\n", i, e.message);
		check(strncmp(e.message, texts[i][1], strlen(texts[i][1])) == 0);
		request_done(&r);
	}
}

static int command(const char *text, DiscoveryCommand *c, RequestError *e)
{
	*c = (DiscoveryCommand){};
	return discovery_command_parse(text, strlen(text), 100, c, e);
}

static void test_discovery(void)
{
	char *effects[] = { (char *)"flash", (char *)"smiley", NULL };
	DiscoveryBoard b = { .prefix = "blinkd", .board = "b1", .discovery_prefix = "homeassistant",
			     .version = "0.1.0", .chip = "sim", .effects = effects };
	_cleanup_(freep) char *topic = discovery_config_topic(&b, "11");
	json_object *config = discovery_light_config(&b, "11"), *v;
	DiscoveryCommand c = {};
	RequestError e;
	char *light = NULL;

	check_str(topic, "homeassistant/light/b1_11/config");
	check(json_object_object_get_ex(config, "schema", &v));
	check_str(json_object_get_string(v), "json");
	check(json_object_object_get_ex(config, "command_topic", &v));
	check_str(json_object_get_string(v), "blinkd/b1/light/11/set");
	check(json_object_object_get_ex(config, "effect_list", &v));
	check_int(json_object_array_length(v), 2);
	check(json_object_object_get_ex(config, "unique_id", &v));
	check_str(json_object_get_string(v), "blinkd_b1_11");
	json_object_put(config);

	check_int(command("{\"state\":\"ON\",\"effect\":\"flash\"}", &c, &e), 0);
	check(c.on);
	check_str(c.effect, "flash");
	free(c.effect);
	check_int(command("{\"state\":\"OFF\"}", &c, &e), 0);
	check(!c.on && !c.effect);
	check_int(command("{\"state\":\"on\"}", &c, &e), -EINVAL);
	check_int(command("{\"state\":\"ON\",\"brightness\":3}", &c, &e),
		  -EINVAL);
	check_int(command("{}", &c, &e), -EINVAL);
	check_int(command("{\"state\":\"OFF\",\"effect\":\"x\"}", &c, &e),
		  -EINVAL);

	check_int(discovery_light_from_topic(&b, "blinkd/b1/light/11/set", &light), 1);
	check_str(light, "11");
	free(light);
	check_int(discovery_light_from_topic(&b, "blinkd/b1/light/matrix/set", &light), 1);
	free(light);
	check_int(discovery_light_from_topic(&b, "blinkd/b1/light/011/set", &light), 0);
	check_int(discovery_light_from_topic(&b, "blinkd/b1/light/x/set", &light), 0);
	check_int(discovery_light_from_topic(&b, "blinkd/b1/light/1/state", &light), 0);
	check_int(discovery_light_from_topic(&b, "blinkd/b2/light/1/set", &light), 0);
}

int main(void)
{
	test_urls();
	test_config();
	test_topics();
	test_payloads();
	test_numbers();
	test_payload_duplicates();
	test_discovery();
	return test_summary("test-mqtt-parts");
}

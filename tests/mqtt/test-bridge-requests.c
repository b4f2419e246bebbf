/* SPDX-License-Identifier: MIT */
/*
 * The bridge's request handling against a fake broker and a fake blinkd:
 * each verb's topic and payload become the call they name, its reply the
 * result published; refusals go out without a call; requests that come
 * before blinkd is settled wait, in order, at most BRIDGE_HOLD_MAX of them
 * for at most BRIDGE_HOLD_TIMEOUT on the loop's clock.
 */
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "bridge-fakes.h"
#include "bridge-request.h"
#include "log.h"

#define RESULT "blinkd/b1/result"

/* The last result, checked against @want, exactly. */
static void check_result(Harness *h, const char *want)
{
	const Published *p = fake_broker_last(&h->broker, RESULT);

	check(p != NULL);
	if (!p)
		return;
	check_str(p->payload, want);
	check(!p->retain);
	check(p->keep);
}

static void ready(Harness *h)
{
	harness_init(h, NULL);
	h->remote.present = h->remote.settled = h->remote.start_with_options = true;
	harness_connect(h);
}

static void test_every_verb(void)
{
	Harness h;
	FakeCall *c;

	ready(&h);

	harness_message(&h, "blinkd/b1/start/hb", "{\"program\": \"P1\", \"id\": 1}", false);
	check_int(h.remote.n_calls, 1);
	c = &h.remote.calls[0];
	check_str(c->method, "Start");
	check_str(c->name, "hb");
	check_str(c->program, "P1");
	check(c->options == NULL);
	check_int(fake_broker_count(&h.broker, RESULT), 0); /* not before the reply */
	harness_reply(&h, 0, NULL, NULL, "/io/blinkd1/program/hb");
	check_result(&h, "{\"id\":1,\"ok\":true,\"verb\":\"start\",\"name\":\"hb\","
			 "\"path\":\"/io/blinkd1/program/hb\"}");

	harness_message(&h, "blinkd/b1/replace/hb", "{\"program\": {\"on\": {}}, \"id\": \"r\"}",
			false);
	c = &h.remote.calls[1];
	check_str(c->method, "Replace");
	check_str(c->name, "hb");
	check_str(c->program, "{\"on\":{}}");
	harness_reply(&h, 1, NULL, NULL, "/io/blinkd1/program/hb_2");
	check_result(&h, "{\"id\":\"r\",\"ok\":true,\"verb\":\"replace\",\"name\":\"hb\","
			 "\"path\":\"/io/blinkd1/program/hb_2\"}");

	harness_message(&h, "blinkd/b1/start/o",
			"{\"program\": \"P\", \"options\": {\"priority\": 5}}", false);
	c = &h.remote.calls[2];
	check_str(c->method, "StartWithOptions");
	check_str(c->name, "o");
	check_str(c->program, "P");
	check_str(c->options, "priority=i:5");
	harness_reply(&h, 2, "io.blinkd1.Error.InvalidProgram", "no such thing", NULL);
	check_result(&h, "{\"id\":null,\"ok\":false,\"verb\":\"start\",\"name\":\"o\","
			 "\"error\":\"io.blinkd1.Error.InvalidProgram\",\"message\":\"no such thing\"}");

	harness_message(&h, "blinkd/all/replace/o",
			"{\"program\": \"P\", \"options\": {\"at\": 5}}", false);
	c = &h.remote.calls[3];
	check_str(c->method, "StartWithOptions");
	check(c->options && strstr(c->options, "at=t:5") && strstr(c->options, "replace=b:true"));
	harness_reply(&h, 3, NULL, NULL, "/p");
	check_result(&h, "{\"id\":null,\"ok\":true,\"verb\":\"replace\",\"name\":\"o\","
			 "\"group\":true,\"path\":\"/p\"}");

	harness_message(&h, "blinkd/b1/stop/hb", "", false);
	c = &h.remote.calls[4];
	check_str(c->method, "Stop");
	check_str(c->name, "hb");
	harness_reply(&h, 4, "io.blinkd1.Error.NotRunning", "hb does not run", NULL);
	check_result(&h, "{\"id\":null,\"ok\":false,\"verb\":\"stop\",\"name\":\"hb\","
			 "\"error\":\"io.blinkd1.Error.NotRunning\",\"message\":\"hb does not run\"}");

	harness_message(&h, "blinkd/b1/stopall", "{\"id\": 7}", false);
	c = &h.remote.calls[5];
	check_str(c->method, "StopAll");
	check(c->name == NULL);
	harness_reply(&h, 5, NULL, NULL, NULL);
	check_result(&h, "{\"id\":7,\"ok\":true,\"verb\":\"stopall\"}");

	/* definitions/get: no call, a refresh, and the result at once. */
	harness_message(&h, "blinkd/b1/definitions/get", "{\"id\": 8}", false);
	check_int(h.remote.n_calls, 6);
	check_int(h.remote.n_refresh_definitions, 1);
	check_result(&h, "{\"id\":8,\"ok\":true,\"verb\":\"definitions/get\"}");

	/* Home Assistant: ON lights the line, an effect calls it, OFF stops (not running is fine). */
	harness_message(&h, "blinkd/b1/light/3/set", "{\"state\": \"ON\"}", false);
	c = &h.remote.calls[6];
	check_str(c->method, "Replace");
	check_str(c->name, "ha-3");
	check(c->program && strstr(c->program, "3"));
	harness_reply(&h, 6, NULL, NULL, "/p");
	harness_message(&h, "blinkd/b1/light/3/set", "{\"state\": \"ON\", \"effect\": \"e\"}", false);
	c = &h.remote.calls[7];
	check_str(c->program, "{\"call\":\"e\"}");
	harness_reply(&h, 7, NULL, NULL, "/p");
	harness_message(&h, "blinkd/b1/light/3/set", "{\"state\": \"OFF\"}", false);
	c = &h.remote.calls[8];
	check_str(c->method, "Stop");
	check_str(c->name, "ha-3");
	harness_reply(&h, 8, "io.blinkd1.Error.NotRunning", "no", NULL);
	check_result(&h, "{\"id\":null,\"ok\":true,\"verb\":\"stop\",\"name\":\"ha-3\"}");

	check_int(h.remote.n_calls, 9);
	harness_done(&h);
}

/* Each is refused on the result topic, and nothing reaches blinkd. */
static void test_refusals(void)
{
	Harness h;
	const Published *p;

	ready(&h);
	harness_message(&h, "blinkd/b1/start/hb", "{\"program\": \"P\"}", true);
	p = fake_broker_last(&h.broker, RESULT);
	check(p && strstr(p->payload, "\"error\":\"io.blinkd1.Mqtt.Error.InvalidPayload\"") &&
	      strstr(p->payload, "retained"));
	harness_message(&h, "blinkd/b1/strat/hb", "{\"id\": 2}", false);
	check_result(&h, "{\"id\":2,\"ok\":false,\"verb\":null,\"error\":"
			 "\"io.blinkd1.Mqtt.Error.InvalidTopic\",\"message\":\"unknown verb "
			 "\\\"strat\\\" (known: start, replace, stop, stopall, definitions/get)\"}");
	harness_message(&h, "blinkd/b1/start/hb", "{\"id\": 3}", false);
	p = fake_broker_last(&h.broker, RESULT);
	check(p && strstr(p->payload, "\"id\":3") && strstr(p->payload, "$.program: is missing"));
	harness_message(&h, "blinkd/b1/light/3/set", "{\"state\": \"ON\"}", true);
	p = fake_broker_last(&h.broker, RESULT);
	check(p && strstr(p->payload, "\"name\":\"ha-3\"") && strstr(p->payload, "retained"));

	/* Options without StartWithOptions. */
	h.remote.start_with_options = false;
	harness_message(&h, "blinkd/b1/start/o", "{\"program\": \"P\", \"options\": {\"priority\": 1}}",
			false);
	p = fake_broker_last(&h.broker, RESULT);
	check(p && strstr(p->payload, "\"error\":\"io.blinkd1.Mqtt.Error.NotSupported\""));

	/* blinkd not there. */
	h.remote.present = false;
	harness_message(&h, "blinkd/b1/stop/x", "", false);
	p = fake_broker_last(&h.broker, RESULT);
	check(p && strstr(p->payload, "\"error\":\"io.blinkd1.Mqtt.Error.Unavailable\"") &&
	      strstr(p->payload, "blinkd is not on the bus"));
	harness_message(&h, "blinkd/b1/definitions/get", "", false);
	check_int(h.remote.n_refresh_definitions, 0);

	/* The call cannot be made: refused with what the remote said. */
	h.remote.present = true;
	h.remote.fail = 22;
	h.remote.fail_name = "io.blinkd1.Mqtt.Error.InvalidPayload";
	harness_message(&h, "blinkd/b1/stopall", "{\"id\": 9}", false);
	p = fake_broker_last(&h.broker, RESULT);
	check(p && strstr(p->payload, "\"id\":9") &&
	      strstr(p->payload, "\"error\":\"io.blinkd1.Mqtt.Error.InvalidPayload\""));

	check_int(h.remote.n_calls, 0);
	check_int(fake_broker_count(&h.broker, RESULT), 8);
	harness_done(&h);
}

/* Before blinkd is settled, requests wait, in order, and go out when it is. */
static void test_held(void)
{
	Harness h;
	char topic[64];
	const Published *p;

	harness_init(&h, NULL);
	harness_connect(&h);
	for (int i = 0; i < BRIDGE_HOLD_MAX; i++) {
		snprintf(topic, sizeof(topic), "blinkd/b1/stop/p%d", i);
		harness_message(&h, topic, "", false);
	}
	check_int(h.remote.n_calls, 0);
	check_int(fake_broker_count(&h.broker, RESULT), 0);

	/* One more than BRIDGE_HOLD_MAX: refused at once. */
	harness_message(&h, "blinkd/b1/stop/over", "", false);
	p = fake_broker_last(&h.broker, RESULT);
	check(p && strstr(p->payload, "\"name\":\"over\"") &&
	      strstr(p->payload, "256 requests already wait"));
	check_int(fake_broker_count(&h.broker, RESULT), 1);

	/* blinkd appeared, but what it offers is not known yet: still held. */
	h.remote.present = true;
	bridge_remote_events.appeared(h.bridge);
	bridge_remote_events.settled(h.bridge);
	check_int(h.remote.n_calls, 0);

	/* Settled: all of them, in order; one that comes now goes after them. */
	h.remote.settled = true;
	bridge_remote_events.settled(h.bridge);
	check_int(h.remote.n_calls, BRIDGE_HOLD_MAX);
	for (int i = 0; i < BRIDGE_HOLD_MAX && i < (int)h.remote.n_calls; i++) {
		snprintf(topic, sizeof(topic), "p%d", i);
		check_str(h.remote.calls[i].name, topic);
	}
	harness_message(&h, "blinkd/b1/stop/after", "", false);
	check_int(h.remote.n_calls, BRIDGE_HOLD_MAX + 1);
	check_str(h.remote.calls[BRIDGE_HOLD_MAX].name, "after");
	for (size_t i = 0; i < h.remote.n_calls; i++)
		harness_reply(&h, i, NULL, NULL, NULL);
	check_int(fake_broker_count(&h.broker, RESULT), BRIDGE_HOLD_MAX + 2);
	harness_done(&h);

	/* Settled without blinkd: each refused Unavailable, none called. */
	harness_init(&h, NULL);
	harness_connect(&h);
	harness_message(&h, "blinkd/b1/stop/a", "{\"id\": 1}", false);
	harness_message(&h, "blinkd/b1/stop/b", "{\"id\": 2}", false);
	h.remote.settled = true;
	bridge_remote_events.settled(h.bridge);
	check_int(h.remote.n_calls, 0);
	check_int(fake_broker_count(&h.broker, RESULT), 2);
	check(h.broker.n_published >= 2 &&
	      strstr(h.broker.published[h.broker.n_published - 2].payload, "\"id\":1") &&
	      strstr(h.broker.published[h.broker.n_published - 1].payload, "\"id\":2") &&
	      strstr(h.broker.published[h.broker.n_published - 1].payload, "Unavailable"));
	harness_done(&h);
}

/* Never settled: refused after BRIDGE_HOLD_TIMEOUT on the loop's clock, not before. */
static void test_held_timeout(void)
{
	Harness h;
	const Published *p;
	usec_t start;

	harness_init(&h, NULL);
	harness_connect(&h);
	start = harness_now(&h);
	harness_message(&h, "blinkd/b1/stop/a", "{\"id\": 1}", false);
	harness_run_until(&h, start + BRIDGE_HOLD_TIMEOUT - 500 * USEC_PER_MSEC);
	check_int(fake_broker_count(&h.broker, RESULT), 0);
	harness_run_until(&h, start + BRIDGE_HOLD_TIMEOUT + 5 * USEC_PER_SEC);
	p = fake_broker_last(&h.broker, RESULT);
	check(p && strstr(p->payload, "\"id\":1") &&
	      strstr(p->payload, "still not known"));
	check(p && p->when >= start + BRIDGE_HOLD_TIMEOUT);
	check_int(h.remote.n_calls, 0);
	harness_done(&h);
}

/* Stopping: held requests refused, the reply in flight waited for, then "offline". */
static void test_stop(void)
{
	Harness h;
	const Published *p;

	ready(&h);
	harness_message(&h, "blinkd/b1/stop/a", "", false);
	h.remote.settled = false;
	harness_message(&h, "blinkd/b1/stop/b", "{\"id\": 2}", false);
	check_int(h.remote.n_calls, 1);
	bridge_stop(h.bridge);
	p = fake_broker_last(&h.broker, RESULT);
	check(p && strstr(p->payload, "\"id\":2") && strstr(p->payload, "the bridge is stopping"));
	check(h.broker.shutdown_topic == NULL);
	harness_message(&h, "blinkd/b1/stop/c", "{\"id\": 3}", false);
	p = fake_broker_last(&h.broker, RESULT);
	check(p && strstr(p->payload, "\"id\":3") && strstr(p->payload, "the bridge is stopping"));
	harness_reply(&h, 0, NULL, NULL, NULL);
	check_str(h.broker.shutdown_topic, "blinkd/b1/state");
	check_str(h.broker.shutdown_payload, "offline");
	check_int(sd_event_get_state(h.event), SD_EVENT_INITIAL);
	harness_run_until(&h, harness_now(&h) + USEC_PER_SEC);
	check_int(sd_event_get_state(h.event), SD_EVENT_FINISHED);
	harness_done(&h);
}

int main(void)
{
	log_set_max_level(LOG_WARNING);
	test_every_verb();
	test_refusals();
	test_held();
	test_stop();
	test_held_timeout();
	return test_summary("test-bridge-requests");
}

/* SPDX-License-Identifier: MIT */
/*
 * What the bridge publishes, against a fake broker and a fake blinkd:
 * state (online/offline, and as the last will), running, definitions, lit
 * (at most every BRIDGE_LIT_INTERVAL, the last state of a burst always),
 * the lights' states, finished/<name>, and Home Assistant discovery.
 */
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "bridge-fakes.h"
#include "json-util.h"
#include "log.h"

static const char *last(Harness *h, const char *topic)
{
	const Published *p = fake_broker_last(&h->broker, topic);

	return p ? p->payload : NULL;
}

static void set_running(Harness *h, const char *json)
{
	json_object_put(h->remote.running);
	h->remote.running = json_tokener_parse(json);
}

static void test_state(void)
{
	Harness h;

	harness_init(&h, NULL);
	check(h.broker.started);
	check(h.remote.watching);
	check_str(h.broker.will_topic, "blinkd/b1/state");
	check_str(h.broker.will_payload, "offline");

	harness_connect(&h);
	check_int(h.broker.n_subscriptions, 3);
	check_str(h.broker.subscriptions[0], "blinkd/b1/#");
	check_str(h.broker.subscriptions[1], "blinkd/all/#");
	check_str(h.broker.subscriptions[2], "homeassistant/status");
	check_str(last(&h, "blinkd/b1/state"), "offline");
	check(fake_broker_last(&h.broker, "blinkd/b1/state") &&
	      fake_broker_last(&h.broker, "blinkd/b1/state")->retain);
	check_int(fake_broker_count(&h.broker, "blinkd/b1/running"), 0);

	h.remote.present = true;
	bridge_remote_events.appeared(h.bridge);
	check_str(last(&h, "blinkd/b1/state"), "online");

	set_running(&h, "[{\"name\":\"hb\",\"program\":{\"on\":{}}}]");
	bridge_remote_events.running_changed(h.bridge);
	check_str(last(&h, "blinkd/b1/running"), "[{\"name\":\"hb\",\"program\":{\"on\":{}}}]");
	check(fake_broker_last(&h.broker, "blinkd/b1/running") &&
	      fake_broker_last(&h.broker, "blinkd/b1/running")->retain);

	h.remote.definitions = json_tokener_parse("[{\"name\":\"d\",\"program\":{}}]");
	bridge_remote_events.definitions_read(false, h.bridge);
	bridge_remote_events.definitions_read(false, h.bridge);
	/* Published even when unchanged. */
	check_int(fake_broker_count(&h.broker, "blinkd/b1/definitions"), 2);
	check_str(last(&h, "blinkd/b1/definitions"), "[{\"name\":\"d\",\"program\":{}}]");

	bridge_remote_events.finished("hb", "done", h.bridge);
	check_str(last(&h, "blinkd/b1/finished/hb"), "{\"name\":\"hb\",\"result\":\"done\"}");
	check(fake_broker_last(&h.broker, "blinkd/b1/finished/hb") &&
	      !fake_broker_last(&h.broker, "blinkd/b1/finished/hb")->retain &&
	      fake_broker_last(&h.broker, "blinkd/b1/finished/hb")->keep);

	/* A new connection: everything retained again. */
	fake_broker_clear(&h.broker);
	h.broker.connected = false;
	bridge_broker_events.disconnected(h.bridge);
	harness_connect(&h);
	check_str(last(&h, "blinkd/b1/state"), "online");
	check_str(last(&h, "blinkd/b1/running"), "[{\"name\":\"hb\",\"program\":{\"on\":{}}}]");
	check_str(last(&h, "blinkd/b1/definitions"), "[{\"name\":\"d\",\"program\":{}}]");
	check_str(last(&h, "blinkd/b1/lit"), "[]");

	/* blinkd goes: offline, nothing runs. */
	h.remote.present = false;
	json_object_put(h.remote.running);
	h.remote.running = NULL;
	bridge_remote_events.vanished(h.bridge);
	check_str(last(&h, "blinkd/b1/state"), "offline");
	check_str(last(&h, "blinkd/b1/running"), "[]");

	/* Stopping: "offline" through the broker's clean shutdown. */
	bridge_stop(h.bridge);
	check_str(h.broker.shutdown_topic, "blinkd/b1/state");
	check_str(h.broker.shutdown_payload, "offline");
	harness_done(&h);
}

/* Lit: at once, then at most every BRIDGE_LIT_INTERVAL, the last of a burst always. */
static void test_lit(void)
{
	Harness h;
	const Published *p;
	usec_t first;

	harness_init(&h, "\"discovery\": false");
	h.remote.present = h.remote.settled = true;
	harness_connect(&h);
	/* The connect published lit; the next may go out at once only an interval later. */
	check_str(last(&h, "blinkd/b1/lit"), "[]");
	harness_run_until(&h, harness_now(&h) + 2 * BRIDGE_LIT_INTERVAL);
	fake_broker_clear(&h.broker);

	h.remote.lit[0] = 1;
	h.remote.n_lit = 1;
	bridge_remote_events.lit_changed(h.bridge);
	check_int(fake_broker_count(&h.broker, "blinkd/b1/lit"), 1);
	check_str(last(&h, "blinkd/b1/lit"), "[1]");
	p = fake_broker_last(&h.broker, "blinkd/b1/lit");
	first = p ? p->when : 0;

	for (unsigned i = 2; i < 10; i++) {
		h.remote.lit[0] = i;
		bridge_remote_events.lit_changed(h.bridge);
	}
	check_int(fake_broker_count(&h.broker, "blinkd/b1/lit"), 1);
	harness_run_until(&h, first + 10 * BRIDGE_LIT_INTERVAL);
	check_int(fake_broker_count(&h.broker, "blinkd/b1/lit"), 2);
	p = fake_broker_last(&h.broker, "blinkd/b1/lit");
	check(p && streq(p->payload, "[9]") && p->retain);
	check(p && p->when >= first + BRIDGE_LIT_INTERVAL);

	/* The same again: nothing new to say. */
	bridge_remote_events.lit_changed(h.bridge);
	harness_run_until(&h, harness_now(&h) + 2 * BRIDGE_LIT_INTERVAL);
	check_int(fake_broker_count(&h.broker, "blinkd/b1/lit"), 2);
	harness_done(&h);
}

/* Discovery: a config per line and the matrix, the lights' states as they change. */
static void test_discovery(void)
{
	Harness h;
	const char *s;

	harness_init(&h, NULL);
	h.remote.present = h.remote.settled = true;
	harness_connect(&h);
	bridge_remote_events.appeared(h.bridge);
	check_int(fake_broker_count(&h.broker, "homeassistant/light/b1_3/config"), 0);

	h.remote.numbers[0] = 3;
	h.remote.numbers[1] = 5;
	h.remote.n_numbers = 2;
	h.remote.have_numbers = true;
	h.remote.chip = "sim";
	h.remote.version = "9";
	bridge_remote_events.layout_changed(h.bridge);
	s = last(&h, "homeassistant/light/b1_3/config");
	check(s && strstr(s, "\"command_topic\":\"blinkd/b1/light/3/set\""));
	check(last(&h, "homeassistant/light/b1_5/config"));
	check(last(&h, "homeassistant/light/b1_matrix/config"));
	/* The lights' states go with the next lit message. */
	harness_run_until(&h, harness_now(&h) + 2 * BRIDGE_LIT_INTERVAL);
	check_str(last(&h, "blinkd/b1/light/3/state"), "{\"state\":\"OFF\"}");
	check_str(last(&h, "blinkd/b1/light/matrix/state"), "{\"state\":\"OFF\"}");

	/* A line lit: its light and the matrix ON, the other line's state not sent again. */
	h.remote.lit[0] = 5;
	h.remote.n_lit = 1;
	harness_run_until(&h, harness_now(&h) + 2 * BRIDGE_LIT_INTERVAL);
	bridge_remote_events.lit_changed(h.bridge);
	check_str(last(&h, "blinkd/b1/light/5/state"), "{\"state\":\"ON\",\"color_mode\":\"onoff\"}");
	check_str(last(&h, "blinkd/b1/light/matrix/state"),
		  "{\"state\":\"ON\",\"color_mode\":\"onoff\"}");
	check_int(fake_broker_count(&h.broker, "blinkd/b1/light/3/state"), 1);

	/* A light's program with an effect. */
	set_running(&h, "[{\"name\":\"ha-3\",\"program\":{\"call\":\"glow\"}}]");
	bridge_remote_events.running_changed(h.bridge);
	check_str(last(&h, "blinkd/b1/light/3/state"),
		  "{\"state\":\"ON\",\"color_mode\":\"onoff\",\"effect\":\"glow\"}");

	/* New definitions: the effect lists, so the configs, again. */
	h.remote.definitions = json_tokener_parse("[]");
	bridge_remote_events.definitions_read(false, h.bridge);
	check_int(fake_broker_count(&h.broker, "homeassistant/light/b1_3/config"), 1);
	bridge_remote_events.definitions_read(true, h.bridge);
	check_int(fake_broker_count(&h.broker, "homeassistant/light/b1_3/config"), 2);

	/* Home Assistant came back: the configs again. */
	harness_message(&h, "homeassistant/status", "online", true);
	check_int(fake_broker_count(&h.broker, "homeassistant/light/b1_3/config"), 3);
	harness_done(&h);
}

int main(void)
{
	log_set_max_level(LOG_WARNING);
	test_state();
	test_lit();
	test_discovery();
	return test_summary("test-bridge-publish");
}

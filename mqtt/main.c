/* SPDX-License-Identifier: MIT */
/*
 * blinkd-mqtt: a bridge between an MQTT broker and blinkd's D-Bus API, so
 * that a fleet of boards can be driven, watched and put into Home Assistant
 * through one broker.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <mosquitto.h>

#include "bridge-blinkd.h"
#include "bridge.h"
#include "broker.h"
#include "config.h"
#include "log.h"

static void help(void)
{
	printf("Usage: blinkd-mqtt [OPTIONS]\n"
	       "\n"
	       "Drive blinkd over MQTT: requests from topics under PREFIX/BOARD/ and\n"
	       "PREFIX/all/ become D-Bus calls; its state is published back, with Home\n"
	       "Assistant discovery.\n"
	       "\n"
	       "Options:\n"
	       "  -c, --config FILE       configuration file (default %s)\n"
	       "      --user              blinkd on the session bus, not the system bus\n"
	       "      --check             load the configuration, report problems, and exit\n"
	       "      --log-level LEVEL   emerg, alert, crit, err, warning, notice, info, debug\n"
	       "  -h, --help              show this help\n"
	       "      --version           show the version\n",
	       MQTT_CONFIG_DEFAULT_PATH);
}

typedef struct Arguments {
	const char *config_path;
	bool config_must_exist;
	bool user_bus;
	bool check;
} Arguments;

/* Returns 1 to run, 0 to exit successfully (help, version), negative on bad usage. */
static int parse_argv(int argc, char *argv[], Arguments *args)
{
	enum {
		ARG_USER = 0x100,
		ARG_CHECK,
		ARG_LOG_LEVEL,
		ARG_VERSION,
	};
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", no_argument, NULL, ARG_USER },
		{ "check", no_argument, NULL, ARG_CHECK },
		{ "log-level", required_argument, NULL, ARG_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{},
	};
	int c, level;

	args->config_path = MQTT_CONFIG_DEFAULT_PATH;
	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			args->config_path = optarg;
			args->config_must_exist = true;
			break;
		case ARG_USER:
			args->user_bus = true;
			break;
		case ARG_CHECK:
			args->check = true;
			break;
		case ARG_LOG_LEVEL:
			level = log_level_from_string(optarg);
			if (level < 0)
				return log_error_errno(EINVAL, "Unknown log level \"%s\".", optarg);
			log_set_max_level(level);
			break;
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("blinkd-mqtt %s\n", BLINKD_VERSION);
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(EINVAL, "Unexpected argument \"%s\".", argv[optind]);
	return 1;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	bridge_stop(userdata);
	return 0;
}

static int run(int argc, char *argv[])
{
	/* Freed in reverse: the bridge first, then the edges it borrows. */
	_cleanup_(mqtt_config_freep) MqttConfig *config = NULL;
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	_cleanup_(broker_freep) Broker *broker = NULL;
	_cleanup_(bridge_blinkd_freep) BridgeBlinkd *blinkd = NULL;
	_cleanup_(bridge_freep) Bridge *bridge = NULL;
	Arguments args = {};
	sigset_t mask;
	int r;

	log_set_ident("blinkd-mqtt");
	r = parse_argv(argc, argv, &args);
	if (r <= 0)
		return r;

	r = mqtt_config_load(&config, args.config_path, args.config_must_exist);
	if (r < 0)
		return r;
	if (args.check) {
		printf("%s: board \"%s\", broker %s (%s:%d%s), topics under %s/%s/\n",
		       config->path, config->board, config->broker, config->host, config->port,
		       config->tls ? ", TLS" : "", config->prefix, config->board);
		return 0;
	}

	r = sd_event_default(&event);
	if (r < 0)
		return log_error_errno(r, "Failed to get an event loop: %m");
	r = bridge_new(&bridge, event, config);
	if (r < 0)
		return r;
	r = broker_new(&broker, event, config, &bridge_broker_events, bridge);
	if (r < 0)
		return r;
	r = bridge_blinkd_new(&blinkd, event, args.user_bus, &bridge_remote_events, bridge);
	if (r < 0)
		return r;
	r = bridge_attach(bridge, &broker_ops, broker, &bridge_blinkd_ops, blinkd);
	if (r < 0)
		return r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(errno, "Failed to block SIGTERM and SIGINT: %m");
	if ((r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, bridge)) < 0 ||
	    (r = sd_event_add_signal(event, NULL, SIGINT, on_signal, bridge)) < 0)
		return log_error_errno(r, "Failed to watch signals: %m");
	(void)sd_event_set_watchdog(event, true);

	r = bridge_start(bridge);
	if (r < 0)
		return r;
	return sd_event_loop(event);
}

int main(int argc, char *argv[])
{
	int r;

	mosquitto_lib_init();
	r = run(argc, argv);
	mosquitto_lib_cleanup();
	return r < 0 ? 1 : 0;
}

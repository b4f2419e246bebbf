/* SPDX-License-Identifier: MIT */
/*
 * blinkd: runs named blink programs on the lines of a GPIO chip, driven over
 * D-Bus (io.blinkd1).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/prctl.h>

#include "bus.h"
#include "config.h"
#include "log.h"
#include "manager.h"
#include "startup.h"

static void help(void)
{
	printf("Usage: blinkd [OPTIONS]\n"
	       "\n"
	       "Run blink programs on GPIO lines, driven over D-Bus (io.blinkd1).\n"
	       "\n"
	       "Options:\n"
	       "  -c, --config FILE       configuration file (default %s)\n"
	       "      --chip PATH|sim     GPIO chip, or \"sim\" for a simulated one that needs\n"
	       "                          no hardware (default: the config's, else %s)\n"
	       "      --user              use the session bus instead of the system bus\n"
	       "      --trace FILE        append \"<monotonic ns> <offset> <0|1>\" per line change\n"
	       "      --state-dir DIR     keep persistent programs and definitions in DIR\n"
	       "                          (default $STATE_DIRECTORY or /var/lib/blinkd; with\n"
	       "                          --user, $XDG_STATE_HOME/blinkd or ~/.local/state/blinkd)\n"
	       "      --log-level LEVEL   emerg, alert, crit, err, warning, notice, info, debug\n"
	       "  -h, --help              show this help\n"
	       "      --version           show the version\n",
	       CONFIG_DEFAULT_PATH, CONFIG_DEFAULT_CHIP);
}

typedef struct Arguments {
	ManagerOptions manager;
	bool user_bus;
	char *state_dir; /* the default, when --state-dir is not given */
} Arguments;

/*
 * Where the state lives unless --state-dir says: the service's
 * StateDirectory= (systemd passes it), else /var/lib/blinkd; on the session
 * bus, the user's XDG state directory.
 */
static int default_state_dir(bool user_bus, char **ret)
{
	const char *e;

	if (user_bus) {
		e = getenv("XDG_STATE_HOME");
		if (e && e[0] == '/')
			return asprintf(ret, "%s/blinkd", e) < 0 ? -ENOMEM : 0;
		e = getenv("HOME");
		if (!e || e[0] != '/')
			return log_error_errno(EINVAL, "Neither $XDG_STATE_HOME nor $HOME is set: "
						       "give --state-dir.");
		return asprintf(ret, "%s/.local/state/blinkd", e) < 0 ? -ENOMEM : 0;
	}
	e = getenv("STATE_DIRECTORY");
	/* systemd may pass several, separated by ':'; ours is the first. */
	*ret = e && e[0] == '/' ? strndup(e, strcspn(e, ":")) : strdup("/var/lib/blinkd");
	return *ret ? 0 : -ENOMEM;
}

/* Returns 1 to run, 0 to exit successfully (help, version), negative on bad usage. */
static int parse_argv(int argc, char *argv[], Arguments *args)
{
	enum {
		ARG_CHIP = 0x100,
		ARG_USER,
		ARG_TRACE,
		ARG_STATE_DIR,
		ARG_LOG_LEVEL,
		ARG_VERSION,
	};
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "chip", required_argument, NULL, ARG_CHIP },
		{ "user", no_argument, NULL, ARG_USER },
		{ "trace", required_argument, NULL, ARG_TRACE },
		{ "state-dir", required_argument, NULL, ARG_STATE_DIR },
		{ "log-level", required_argument, NULL, ARG_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{},
	};
	int c, level;

	args->manager.config_path = CONFIG_DEFAULT_PATH;
	while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			args->manager.config_path = optarg;
			args->manager.config_must_exist = true;
			break;
		case ARG_CHIP:
			args->manager.chip = optarg;
			break;
		case ARG_USER:
			args->user_bus = true;
			break;
		case ARG_TRACE:
			args->manager.trace_path = optarg;
			break;
		case ARG_STATE_DIR:
			if (optarg[0] != '/')
				return log_error_errno(EINVAL, "--state-dir needs an absolute path, not "
							       "\"%s\".",
						       optarg);
			args->manager.state_dir = optarg;
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
			printf("blinkd %s\n", BLINKD_VERSION);
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(EINVAL, "Unexpected argument \"%s\".", argv[optind]);
	if (!args->manager.state_dir) {
		int r = default_state_dir(args->user_bus, &args->state_dir);
		if (r < 0)
			return r;
		args->manager.state_dir = args->state_dir;
	}
	return 1;
}

/*
 * Knobs for the benchmark, which measures what each of these choices buys;
 * not for production. A value that is not a number in [0, @max] is an
 * error, never silently 0.
 */
static int parse_env_knob(const char *name, uint64_t max, uint64_t *ret)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s)
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		return log_error_errno(EINVAL, "$%s=\"%s\" is not a number from 0 to %llu.", name,
				       s, (unsigned long long)max);
	*ret = v;
	return 1;
}

static int run(int argc, char *argv[])
{
	_cleanup_(manager_freep) Manager *m = NULL;
	_cleanup_(bus_freep) Bus *bus = NULL; /* freed first: it borrows the manager */
	_cleanup_(freep) char *state_dir = NULL;
	Arguments args = {};
	uint64_t slack = 1, accuracy = 1, fail_step = 0;
	int r;

	log_set_ident("blinkd");
	r = parse_argv(argc, argv, &args);
	state_dir = args.state_dir;
	if (r <= 0)
		return r;

	/*
	 * The default timer slack of 50us would let the kernel push every edge
	 * late by that much; blinkd sleeps rarely and wants to wake on time.
	 * The engine timer's accuracy is 1us for the same reason.
	 */
	if ((r = parse_env_knob("BLINKD_TIMER_SLACK_NSEC", NSEC_PER_USEC * USEC_PER_SEC, &slack)) < 0 ||
	    (r = parse_env_knob("BLINKD_TIMER_ACCURACY_USEC", USEC_PER_SEC, &accuracy)) < 0 ||
	    (r = parse_env_knob("BLINKD_FAIL_STEP", UINT_MAX, &fail_step)) < 0)
		return r;
	startup_fail_at((unsigned)fail_step); /* tests only: startup.h */
	(void)prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
	args.manager.timer_accuracy = accuracy;

	/*
	 * No fastbins: glibc keeps small freed chunks there unmerged and
	 * merges them all at the next large malloc() or free(). Replying to
	 * GetManagedObjects for 10,000 programs leaves tens of thousands of
	 * them, and merging them held the loop 0.6-1 ms in one go. Without
	 * fastbins each free() merges its chunk at once (small chunks still
	 * go through the per-thread cache first).
	 */
	(void)mallopt(M_MXFAST, 0);
	/*
	 * Large blocks from the heap, and the heap kept: a 5 MB reply body
	 * that is mmap()ed is copied whenever glibc moves it, and its
	 * munmap() took 0.4 ms of the loop. From the heap, the body grows in
	 * place at its top and its pages stay for the next reply.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 64 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 64 << 20);

	/*
	 * Built in this order and undone in the reverse one: the bus borrows
	 * the manager and is freed first (the cleanups run in the reverse
	 * order of the declarations above); what manager_startup() started
	 * ends while the bus is still there, so that clients hear of it.
	 */
	r = manager_new(&m, &args.manager);
	if (r < 0)
		return r;
	r = bus_new(&bus, m, args.user_bus);
	if (r < 0)
		return r;
	r = manager_startup(m);
	if (r < 0) {
		(void)manager_shutdown(m);
		return r;
	}
	return manager_run(m);
}

int main(int argc, char *argv[])
{
	int r = run(argc, argv);

	if (r == -EINVAL && argc > 0)
		return 1;
	return r < 0 ? 1 : 0;
}

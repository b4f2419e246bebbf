/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define PATHS_MAX 128
#define PATH_LEN 256
#define WRAPPER_WORDS_MAX 32

/*
 * Everything the exit path must undo. Kept in static storage of fixed size,
 * so the signal handler can clean up with async-signal-safe calls only.
 */
static struct {
	char tmpdir[PATH_LEN];
	char paths[PATHS_MAX][PATH_LEN]; /* files to unlink at exit */
	size_t n_paths;
	volatile pid_t bus_pid;
	volatile pid_t daemon_pid;
	char trace[PATH_LEN];
	char log[PATH_LEN];
	char state[PATH_LEN]; /* the daemons' --state-dir */
	unsigned n_daemons;
	unsigned n_runs;
	const char *blinkd;
	sd_bus *control; /* asks the bus who owns io.blinkd1 */
	char *wrapper;	 /* $BLINKD_WRAPPER, or NULL */
	char *wrapper_split; /* a copy of it, cut into words at spaces */
	char *wrapper_words[WRAPPER_WORDS_MAX]; /* pointers into wrapper_split */
	size_t n_wrapper_words;
} h;

usec_t now_usec(clockid_t clock)
{
	struct timespec ts;

	(void)clock_gettime(clock, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
}

void sleep_usec(usec_t usec)
{
	struct timespec ts = {
		.tv_sec = (time_t)(usec / USEC_PER_SEC),
		.tv_nsec = (long)(usec % USEC_PER_SEC) * 1000L,
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void kill_and_reap(volatile pid_t *pid)
{
	if (*pid <= 0)
		return;
	(void)kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

/* Async-signal-safe: kill, waitpid, unlink and rmdir only. */
static void harness_cleanup(void)
{
	kill_and_reap(&h.daemon_pid);
	kill_and_reap(&h.bus_pid);
	for (size_t i = 0; i < h.n_paths; i++)
		(void)unlink(h.paths[i]);
	h.n_paths = 0;
	if (h.state[0])
		(void)rmdir(h.state);
	if (h.tmpdir[0])
		(void)rmdir(h.tmpdir);
	h.tmpdir[0] = '\0';
}

/* Show what blinkd said, when it ended in a way the test did not ask for. */
static void print_daemon_log(const char *why)
{
	_cleanup_(freep) char *text = read_file(h.log);

	fflush(stdout);
	fprintf(stderr, "harness: blinkd %s; its log (%s):\n%s--\n", why, h.log,
		text ? text : "(unreadable)\n");
}

static void on_exit_handler(void)
{
	if (h.daemon_pid > 0 && !harness_daemon_alive())
		print_daemon_log("exited by itself");
	if (h.control)
		h.control = sd_bus_flush_close_unref(h.control);
	harness_cleanup();
}

static void on_fatal_signal(int sig)
{
	harness_cleanup();
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

void harness_fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "harness: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

const char *harness_path(const char *name)
{
	char p[PATH_LEN];

	if (snprintf(p, sizeof(p), "%s/%s", h.tmpdir, name) >= (int)sizeof(p))
		harness_fatal("path too long: %s/%s", h.tmpdir, name);
	for (size_t i = 0; i < h.n_paths; i++)
		if (streq(h.paths[i], p))
			return h.paths[i];
	if (h.n_paths >= PATHS_MAX)
		harness_fatal("too many files in the temporary directory");
	memcpy(h.paths[h.n_paths], p, sizeof(p));
	return h.paths[h.n_paths++];
}

const char *harness_write_file(const char *name, const char *text)
{
	const char *path = harness_path(name);
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		harness_fatal("cannot write %s: %m", path);
	return path;
}

char *read_file(const char *path)
{
	_cleanup_(fclosep) FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t size = 0, len = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t k;

		if (size - len < 4096) {
			char *t = realloc(text, size + 65536);
			if (!t) {
				free(text);
				return NULL;
			}
			text = t;
			size += 65536;
		}
		k = fread(text + len, 1, size - len - 1, f);
		len += k;
		if (k == 0)
			break;
	}
	if (ferror(f)) {
		free(text);
		return NULL;
	}
	text[len] = '\0';
	return text;
}

size_t count_lines(const char *text)
{
	size_t n = 0;

	for (const char *p = text; p && *p; p++)
		if (*p == '\n' || p[1] == '\0')
			n++;
	return n;
}

const char *harness_blinkd(void)
{
	return h.blinkd;
}

const char *harness_wrapper(void)
{
	return h.wrapper;
}

usec_t harness_timeout(void)
{
	return h.wrapper ? HARNESS_WRAPPER_SLOWDOWN * HARNESS_TIMEOUT : HARNESS_TIMEOUT;
}

/* Split $BLINKD_WRAPPER at spaces into the words that go before blinkd. */
static void wrapper_init(void)
{
	const char *env = getenv("BLINKD_WRAPPER");
	char *word, *save = NULL;

	if (!env || !env[strspn(env, " \t")])
		return;
	h.wrapper = strdup(env);
	h.wrapper_split = strdup(env);
	if (!h.wrapper || !h.wrapper_split)
		harness_fatal("out of memory");
	for (word = strtok_r(h.wrapper_split, " \t", &save); word;
	     word = strtok_r(NULL, " \t", &save)) {
		if (h.n_wrapper_words >= WRAPPER_WORDS_MAX)
			harness_fatal("BLINKD_WRAPPER has more than %d words", WRAPPER_WORDS_MAX);
		h.wrapper_words[h.n_wrapper_words++] = word;
	}
}

/* Put the wrapper's words and then blinkd at @argv; returns how many were put. */
static size_t blinkd_command(const char **argv)
{
	size_t n = 0;

	for (size_t i = 0; i < h.n_wrapper_words; i++)
		argv[n++] = h.wrapper_words[i];
	argv[n++] = h.blinkd;
	return n;
}

/* Fork and exec @argv with stdout and stderr to @log; the child dies with us. */
static pid_t spawn(const char *const *argv, const char *out, const char *err)
{
	pid_t parent = getpid(), pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		harness_fatal("fork: %m");
	if (pid == 0) {
		int fd_out, fd_err, fd_null;
		sigset_t none;

		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127); /* the test died while we forked */
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		fd_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		fd_out = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		fd_err = fd_out;
		if (!streq(out, err))
			fd_err = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd_null < 0 || fd_out < 0 || fd_err < 0 || dup2(fd_null, 0) < 0 ||
		    dup2(fd_out, 1) < 0 || dup2(fd_err, 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %m\n", argv[0]);
		_exit(127);
	}
	return pid;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -EIO;
}

/* Wait up to @timeout for @pid to end; its exit code, or -ETIMEDOUT (then it is killed). */
static int wait_exit(pid_t pid, usec_t timeout)
{
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;
	int status;

	for (;;) {
		pid_t k = waitpid(pid, &status, WNOHANG);
		if (k == pid)
			return exit_code(status);
		if (k < 0 && errno != EINTR)
			harness_fatal("waitpid(%d): %m", (int)pid);
		if (now_usec(CLOCK_MONOTONIC) >= deadline) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
			return -ETIMEDOUT;
		}
		sleep_usec(2 * USEC_PER_MSEC);
	}
}

static int name_has_owner(const char *name)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r, owned;

	r = sd_bus_call_method(h.control, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "NameHasOwner", &error, &reply, "s", name);
	if (r < 0) {
		sd_bus_error_free(&error);
		return r;
	}
	r = sd_bus_message_read(reply, "b", &owned);
	return r < 0 ? r : owned;
}

void harness_init(void)
{
	char address[PATH_LEN + 32];
	const char *socket, *log;
	const char *argv[8];
	usec_t deadline;
	int r;

	h.blinkd = getenv("BLINKD");
	if (!h.blinkd || !*h.blinkd) {
		printf("BLINKD is not set (meson sets it to the blinkd under test); skipping\n");
		exit(77);
	}
	wrapper_init();

	snprintf(h.tmpdir, sizeof(h.tmpdir), "/tmp/blinkd-dbus-test-XXXXXX");
	if (!mkdtemp(h.tmpdir)) {
		h.tmpdir[0] = '\0';
		harness_fatal("mkdtemp: %m");
	}
	if (atexit(on_exit_handler) != 0)
		harness_fatal("atexit failed");
	(void)signal(SIGTERM, on_fatal_signal);
	(void)signal(SIGINT, on_fatal_signal);
	(void)signal(SIGHUP, on_fatal_signal);
	(void)signal(SIGALRM, on_fatal_signal);
	(void)signal(SIGPIPE, SIG_IGN);

	socket = harness_path("bus");
	log = harness_path("dbus-daemon.log");
	snprintf(address, sizeof(address), "unix:path=%s", socket);
	if (setenv("DBUS_SESSION_BUS_ADDRESS", address, 1) < 0)
		harness_fatal("setenv: %m");
	/* Nothing of the surrounding session may leak in. */
	(void)unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
	(void)unsetenv("NOTIFY_SOCKET");
	(void)unsetenv("WATCHDOG_USEC");
	(void)unsetenv("WATCHDOG_PID");

	snprintf(address, sizeof(address), "--address=unix:path=%s", socket);
	argv[0] = "dbus-daemon";
	argv[1] = "--session";
	argv[2] = "--nofork";
	argv[3] = "--nopidfile";
	argv[4] = address;
	argv[5] = NULL;
	h.bus_pid = spawn(argv, log, log);

	deadline = now_usec(CLOCK_MONOTONIC) + HARNESS_TIMEOUT;
	for (;;) {
		int status;
		struct stat st;

		if (waitpid(h.bus_pid, &status, WNOHANG) == h.bus_pid) {
			_cleanup_(freep) char *text = read_file(log);
			h.bus_pid = 0;
			harness_fatal("dbus-daemon exited (%d):\n%s", exit_code(status),
				      text ? text : "");
		}
		if (stat(socket, &st) == 0 && S_ISSOCK(st.st_mode)) {
			r = sd_bus_open_user(&h.control);
			if (r >= 0 && name_has_owner("org.freedesktop.DBus") > 0)
				break;
			h.control = sd_bus_flush_close_unref(h.control);
		}
		if (now_usec(CLOCK_MONOTONIC) >= deadline)
			harness_fatal("dbus-daemon did not come up at %s", socket);
		sleep_usec(5 * USEC_PER_MSEC);
	}
}

pid_t harness_bus_pid(void)
{
	return h.bus_pid;
}

pid_t harness_daemon_pid(void)
{
	return h.daemon_pid;
}

const char *harness_trace_path(void)
{
	return h.trace;
}

const char *harness_daemon_log(void)
{
	return h.log;
}

bool harness_daemon_alive(void)
{
	siginfo_t info = {};

	if (h.daemon_pid <= 0)
		return false;
	/* WNOWAIT: only look; harness_stop_daemon() reaps it. */
	if (waitid(P_PID, (id_t)h.daemon_pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
		return false;
	return info.si_pid == 0;
}

void harness_start_daemon(const char *config_text)
{
	harness_start_daemon_with_trace(config_text, NULL);
}

/* The files a daemon may leave in its state directory, each removed at exit. */
static const char *const state_files[] = { "state/state.json", "state/.state.json.new",
					   "state/state.json.broken" };

static void start_daemon(const char *config_text, const char *trace, bool keep_state)
{
	char name[64];
	const char *config;
	const char *argv[WRAPPER_WORDS_MAX + 14];
	usec_t deadline;
	size_t n;

	if (h.daemon_pid > 0)
		harness_fatal("a daemon already runs");
	h.n_daemons++;
	snprintf(name, sizeof(name), "config-%u.json", h.n_daemons);
	config = harness_write_file(name, config_text ? config_text : "{}");
	snprintf(name, sizeof(name), "trace-%u", h.n_daemons);
	snprintf(h.trace, sizeof(h.trace), "%s", trace ? trace : harness_path(name));
	snprintf(name, sizeof(name), "blinkd-%u.log", h.n_daemons);
	snprintf(h.log, sizeof(h.log), "%s", harness_path(name));
	/* Each daemon starts from an empty store, unless it is to find the last one's. */
	if (snprintf(h.state, sizeof(h.state), "%s/state", h.tmpdir) >= (int)sizeof(h.state))
		harness_fatal("path too long: %s/state", h.tmpdir);
	for (size_t i = 0; i < ELEMENTSOF(state_files); i++) {
		const char *path = harness_path(state_files[i]);
		if (!keep_state)
			(void)unlink(path);
	}

	n = blinkd_command(argv);
	argv[n++] = "--user";
	argv[n++] = "--state-dir";
	argv[n++] = h.state;
	argv[n++] = "--chip";
	argv[n++] = "sim";
	argv[n++] = "--trace";
	argv[n++] = h.trace;
	argv[n++] = "--config";
	argv[n++] = config;
	argv[n] = NULL;
	h.daemon_pid = spawn(argv, h.log, h.log);

	deadline = now_usec(CLOCK_MONOTONIC) + harness_timeout();
	for (;;) {
		int status, r;

		if (waitpid(h.daemon_pid, &status, WNOHANG) == h.daemon_pid) {
			_cleanup_(freep) char *text = read_file(h.log);
			h.daemon_pid = 0;
			harness_fatal("blinkd exited (%d) before it took %s:\n%s",
				      exit_code(status), BLINKD_BUS_NAME, text ? text : "");
		}
		r = name_has_owner(BLINKD_BUS_NAME);
		if (r < 0)
			harness_fatal("NameHasOwner: %s", strerror(-r));
		if (r > 0)
			return;
		if (now_usec(CLOCK_MONOTONIC) >= deadline)
			harness_fatal("blinkd did not take %s in time", BLINKD_BUS_NAME);
		sleep_usec(5 * USEC_PER_MSEC);
	}
}

void harness_start_daemon_with_trace(const char *config_text, const char *trace)
{
	start_daemon(config_text, trace, false);
}

void harness_restart_daemon(const char *config_text)
{
	start_daemon(config_text, NULL, true);
}

const char *harness_state_dir(void)
{
	return h.state;
}

int harness_stop_daemon(int sig)
{
	usec_t deadline;
	int code;

	if (h.daemon_pid <= 0)
		return -ESRCH;
	if (sig > 0)
		(void)kill(h.daemon_pid, sig);
	code = wait_exit(h.daemon_pid, harness_timeout());
	h.daemon_pid = 0;
	if (code != 0)
		print_daemon_log(code == -ETIMEDOUT ? "did not exit in time" : "did not exit 0");

	/* The next daemon must not find the name still taken by this one. */
	deadline = now_usec(CLOCK_MONOTONIC) + harness_timeout();
	while (name_has_owner(BLINKD_BUS_NAME) > 0) {
		if (now_usec(CLOCK_MONOTONIC) >= deadline)
			harness_fatal("%s is still owned after blinkd exited", BLINKD_BUS_NAME);
		sleep_usec(2 * USEC_PER_MSEC);
	}
	return code;
}

int harness_run_blinkd(const char *const *argv, char **ret_stdout, char **ret_stderr)
{
	const char *full[WRAPPER_WORDS_MAX + 32];
	char name[64];
	const char *out, *err;
	size_t n;
	int code;

	n = blinkd_command(full);
	for (; *argv && n < ELEMENTSOF(full) - 1; argv++)
		full[n++] = *argv;
	full[n] = NULL;

	h.n_runs++;
	snprintf(name, sizeof(name), "run-%u.out", h.n_runs);
	out = harness_path(name);
	snprintf(name, sizeof(name), "run-%u.err", h.n_runs);
	err = harness_path(name);

	code = wait_exit(spawn(full, out, err), harness_timeout());
	if (ret_stdout)
		*ret_stdout = read_file(out);
	if (ret_stderr)
		*ret_stderr = read_file(err);
	return code;
}

/* ------------------------------------------------------------ clients */

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Client *c = userdata;

	if (c->n_signals == c->n_allocated) {
		size_t n = c->n_allocated ? 2 * c->n_allocated : 256;
		Signal *s = realloc(c->signals, n * sizeof(Signal));
		if (!s)
			harness_fatal("out of memory");
		c->signals = s;
		c->n_allocated = n;
	}
	c->signals[c->n_signals++] = (Signal){
		.message = sd_bus_message_ref(m),
		.received = now_usec(CLOCK_MONOTONIC),
	};
	return 0;
}

Client *client_new(void)
{
	Client *c = calloc(1, sizeof(Client));
	int r;

	if (!c)
		harness_fatal("out of memory");
	r = sd_bus_open_user(&c->bus);
	if (r < 0)
		harness_fatal("cannot connect to the private bus: %s", strerror(-r));
	/*
	 * Under a wrapper the daemon is many times slower, and a call queued
	 * behind a burst of others (160 vanishing clients, 4 MiB calls) was
	 * seen to outlast sd-bus's default 25 s on a loaded machine.
	 */
	if (harness_wrapper())
		(void)sd_bus_set_method_call_timeout(c->bus, harness_timeout());
	/*
	 * Every signal under /io/blinkd1: only blinkd sends there on this bus.
	 * (No sender= in the rule: it stays valid across daemon restarts.)
	 */
	r = sd_bus_add_match(c->bus, &c->match, "type='signal',path_namespace='/io/blinkd1'",
			     on_signal, c);
	if (r < 0)
		harness_fatal("cannot add the signal match: %s", strerror(-r));
	return c;
}

Client *client_free(Client *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_signals; i++)
		sd_bus_message_unref(c->signals[i].message);
	free(c->signals);
	sd_bus_slot_unref(c->match);
	sd_bus_flush_close_unref(c->bus);
	free(c);
	return NULL;
}

/* Dispatch everything that is queued now, without waiting. */
static void client_dispatch(Client *c)
{
	int r;

	while ((r = sd_bus_process(c->bus, NULL)) > 0)
		;
	if (r < 0)
		harness_fatal("sd_bus_process: %s", strerror(-r));
}

/* Wait until @deadline for something to dispatch; false once it has passed. */
static bool client_wait_until(Client *c, usec_t deadline)
{
	usec_t now = now_usec(CLOCK_MONOTONIC);
	int r;

	if (now >= deadline)
		return false;
	r = sd_bus_wait(c->bus, deadline - now);
	if (r < 0 && r != -EINTR)
		harness_fatal("sd_bus_wait: %s", strerror(-r));
	return true;
}

void client_settle(Client *c, usec_t duration)
{
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + duration;

	do
		client_dispatch(c);
	while (client_wait_until(c, deadline));
	client_dispatch(c);
}

void client_forget_signals(Client *c)
{
	client_dispatch(c);
	for (size_t i = 0; i < c->n_signals; i++)
		sd_bus_message_unref(c->signals[i].message);
	c->n_signals = 0;
}

typedef bool (*SignalFilter)(sd_bus_message *m, const void *userdata);

static sd_bus_message *client_wait_filtered(Client *c, const char *interface, const char *member,
					    SignalFilter filter, const void *userdata,
					    usec_t timeout)
{
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;
	size_t scanned = 0;

	do {
		client_dispatch(c);
		for (; scanned < c->n_signals; scanned++) {
			Signal *s = &c->signals[scanned];

			if (s->consumed || !sd_bus_message_is_signal(s->message, interface, member))
				continue;
			(void)sd_bus_message_rewind(s->message, true);
			if (filter && !filter(s->message, userdata))
				continue;
			s->consumed = true;
			(void)sd_bus_message_rewind(s->message, true);
			return sd_bus_message_ref(s->message);
		}
	} while (client_wait_until(c, deadline));
	return NULL;
}

sd_bus_message *client_wait_signal(Client *c, const char *interface, const char *member,
				   usec_t timeout)
{
	return client_wait_filtered(c, interface, member, NULL, NULL, timeout);
}

static bool finished_of(sd_bus_message *m, const void *userdata)
{
	const char *name, *result;

	return sd_bus_message_read(m, "ss", &name, &result) >= 0 && streq(name, userdata);
}

bool client_wait_finished(Client *c, const char *name, usec_t timeout, char **ret_result)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	const char *n, *result;

	m = client_wait_filtered(c, BLINKD_MANAGER_INTERFACE, "Finished", finished_of, name,
				 timeout);
	if (!m)
		return false;
	if (sd_bus_message_read(m, "ss", &n, &result) < 0)
		return false;
	if (ret_result) {
		*ret_result = strdup(result);
		if (!*ret_result)
			harness_fatal("out of memory");
	}
	return true;
}

size_t client_count_signals(Client *c, const char *interface, const char *member)
{
	size_t n = 0;

	client_dispatch(c);
	for (size_t i = 0; i < c->n_signals; i++)
		if (sd_bus_message_is_signal(c->signals[i].message, interface, member))
			n++;
	return n;
}

int client_call(Client *c, const char *method, sd_bus_error *error, sd_bus_message **reply,
		const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = sd_bus_call_methodv(c->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, method, error, reply, types, ap);
	va_end(ap);
	return r;
}

int client_start(Client *c, const char *name, const char *program, sd_bus_error *error,
		 char **ret_path)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	int r;

	r = client_call(c, "Start", error, &reply, "ss", name, program);
	if (r < 0)
		return r;
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return r;
	if (ret_path) {
		*ret_path = strdup(path);
		if (!*ret_path)
			return -ENOMEM;
	}
	return 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *client_managed_objects(Client *c)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	char **paths = NULL, *text = NULL;
	size_t n = 0, size = 0;
	FILE *f;
	int r;

	r = sd_bus_call_method(c->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
			       "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL,
			       &reply, NULL);
	if (r < 0)
		return NULL;
	r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
	while (r > 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
		if (sd_bus_message_read(reply, "o", &path) <= 0 ||
		    sd_bus_message_skip(reply, "a{sa{sv}}") < 0 ||
		    sd_bus_message_exit_container(reply) < 0) {
			r = -EBADMSG;
			break;
		}
		paths = realloc(paths, (n + 1) * sizeof(char *));
		if (!paths || !(paths[n++] = strdup(path)))
			harness_fatal("out of memory");
	}
	f = r >= 0 ? open_memstream(&text, &size) : NULL;
	if (n > 0)
		qsort(paths, n, sizeof(char *), compare_strings);
	for (size_t i = 0; i < n; i++) {
		if (f)
			fprintf(f, "%s\n", paths[i]);
		free(paths[i]);
	}
	free(paths);
	if (f)
		fclose(f);
	return text;
}

char *client_list(Client *c, bool definitions)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *name, *program;
	char *text = NULL;
	size_t size = 0;
	FILE *f;
	int r;

	r = client_call(c, definitions ? "ListDefinitions" : "List", NULL, &reply, NULL);
	if (r < 0)
		return NULL;
	f = open_memstream(&text, &size);
	if (!f)
		return NULL;
	r = sd_bus_message_enter_container(reply, 'a', "(ss)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(ss)", &name, &program)) > 0)
		fprintf(f, "%s %s\n", name, program);
	fclose(f);
	if (r < 0) {
		free(text);
		return NULL;
	}
	return text;
}

int client_get_property(Client *c, const char *path, const char *interface, const char *property,
			const char *type, sd_bus_message **ret)
{
	return sd_bus_get_property(c->bus, BLINKD_BUS_NAME, path, interface, property, NULL, ret,
				   type);
}

int message_read_au(sd_bus_message *m, unsigned **ret)
{
	const void *p;
	size_t size;
	unsigned *copy;
	int r;

	r = sd_bus_message_read_array(m, 'u', &p, &size);
	if (r < 0)
		return r;
	copy = malloc(size ? size : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, p, size);
	*ret = copy;
	return (int)(size / sizeof(unsigned));
}

/* ------------------------------------------------------------- traces */

int trace_read(const char *path, Trace *ret)
{
	_cleanup_(freep) char *text = read_file(path);
	Trace t = {};
	size_t allocated = 0;
	char *line, *end;

	if (!text)
		return -errno;
	for (line = text; (end = strchr(line, '\n')); line = end + 1) {
		unsigned long long ns;
		unsigned offset, level = 0;
		int value = -1, physical = -1, used = 0, more = 0;
		char token[16];

		*end = '\0';
		/* "<ns> <number> <0|1|0.dddd>[ <physical>]": a level between dark and lit has a point. */
		if (sscanf(line, "%llu %u %15s%n", &ns, &offset, token, &used) == 3) {
			if (streq(token, "0") || streq(token, "1")) {
				value = token[0] - '0';
				level = value ? 10000 : 0;
			} else if (strncmp(token, "0.", 2) == 0 && strlen(token) == 6 &&
				   strspn(token + 2, "0123456789") == 4) {
				level = (unsigned)atoi(token + 2);
				value = level > 0;
			}
			/* The physical level follows where it differs (active-low lines). */
			if (line[used] == ' ' && sscanf(line + used, " %d%n", &physical, &more) == 1) {
				used += more;
				if (physical != !value)
					value = -1; /* bad */
			}
		}
		if (value < 0 || line[used] != '\0' ||
		    (t.n > 0 && ns < t.events[t.n - 1].ns)) {
			fprintf(stderr, "%s: bad trace line \"%s\"\n", path, line);
			trace_done(&t);
			return -EBADMSG;
		}
		if (t.n == allocated) {
			TraceEvent *e;

			allocated = allocated ? 2 * allocated : 1024;
			e = realloc(t.events, allocated * sizeof(TraceEvent));
			if (!e) {
				trace_done(&t);
				return -ENOMEM;
			}
			t.events = e;
		}
		t.events[t.n++] = (TraceEvent){
			.ns = ns, .offset = offset, .value = value, .physical = physical, .level = level
		};
	}
	/* A last line without "\n" is still being written: left out. */
	*ret = t;
	return 0;
}

void trace_done(Trace *t)
{
	free(t->events);
	*t = (Trace){};
}

int trace_value_after(const Trace *t, size_t n, unsigned offset)
{
	int value = 0;

	for (size_t i = 0; i < n && i < t->n; i++)
		if (t->events[i].offset == offset)
			value = t->events[i].value;
	return value;
}

size_t trace_count(const Trace *t, size_t from, unsigned offset)
{
	size_t n = 0;

	for (size_t i = from; i < t->n; i++)
		if (t->events[i].offset == offset)
			n++;
	return n;
}

TracePwm trace_check_pwm(const Trace *t, unsigned offset, uint64_t from, uint64_t to,
			 uint64_t period, uint64_t on)
{
	_cleanup_(freep) uint64_t *rise = calloc(t->n + 1, sizeof(uint64_t));
	TracePwm f = { .periods = (to - from) / period };
	uint64_t phase = 0;
	size_t best = 0;
	int v = -1;

	if (!rise)
		harness_fatal("out of memory");
	for (size_t i = 0; i < t->n; i++) {
		const TraceEvent *e = &t->events[i];

		if (e->offset != offset)
			continue;
		if (e->ns >= from && e->ns < to && v != 1 && e->value)
			rise[f.rising++] = e->ns;
		v = e->value;
	}
	for (size_t j = 0; j < f.rising; j++) {
		size_t in = 0;

		for (size_t i = 0; i < f.rising; i++)
			if ((rise[i] - rise[j] % period + period) % period < on + TRACE_PWM_SLACK)
				in++;
		if (in > best) {
			best = in;
			phase = rise[j] % period;
		}
	}
	f.rising_off = f.rising - best;
	f.phase = phase;
	/* A rising edge in phase is less than a period after its period's start. */
	for (size_t i = 1; i < f.rising; i++) {
		uint64_t a = (rise[i] - phase) / period - (rise[0] - phase) / period, b = f.spacing;

		while (b) {
			uint64_t r = a % b;
			a = b;
			b = r;
		}
		f.spacing = a;
	}
	v = -1;
	for (size_t i = 0; i < t->n; i++) {
		const TraceEvent *e = &t->events[i];
		uint64_t at;

		if (e->offset != offset)
			continue;
		at = (e->ns - phase + period) % period;
		if (e->ns >= from && e->ns < to && v == 1 && !e->value) {
			f.falling++;
			if (at >= TRACE_PWM_SLACK && at + TRACE_PWM_SLACK < on)
				f.falling_off++;
			if (at + TRACE_PWM_SLACK >= on && at < on + TRACE_PWM_SLACK)
				f.falling_near++;
		}
		v = e->value;
	}
	return f;
}

bool trace_pwm_holds(const TracePwm *f, const char *what)
{
	bool ok = f->rising >= 10 && f->rising <= f->periods + 1 && f->rising_off * 20 <= f->rising &&
		  f->falling_off * 20 <= f->falling && f->falling_near * 20 >= f->falling &&
		  f->spacing == 1;

	printf("%s: %zu rising edges in %zu periods (%zu off phase, their distances' gcd %llu "
	       "periods), %zu falling (%zu off phase, %zu right at the end of the on-time)%s\n",
	       what, f->rising, f->periods, f->rising_off, (unsigned long long)f->spacing,
	       f->falling, f->falling_off, f->falling_near, ok ? "" : ": WRONG");
	return ok;
}

size_t trace_wait_count(Client *c, size_t from, unsigned offset, size_t n)
{
	usec_t end = now_usec(CLOCK_MONOTONIC) + harness_timeout();

	for (;;) {
		Trace t = {};
		size_t k = 0;

		if (trace_read(harness_trace_path(), &t) >= 0)
			k = trace_count(&t, from, offset);
		trace_done(&t);
		if (k >= n || now_usec(CLOCK_MONOTONIC) >= end)
			return k;
		client_settle(c, 20 * USEC_PER_MSEC);
	}
}

const char *harness_path_outside(const char *path)
{
	if (strlen(path) >= PATH_LEN)
		harness_fatal("path too long: %s", path);
	if (h.n_paths >= PATHS_MAX)
		harness_fatal("too many files to remove at exit");
	snprintf(h.paths[h.n_paths], PATH_LEN, "%s", path);
	return h.paths[h.n_paths++];
}

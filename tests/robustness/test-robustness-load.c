/* SPDX-License-Identifier: MIT */
/*
 * Load: 1000 programs blink, one line each of a 1040-line layout, intervals
 * 10 to 100 ms, while 20 clients (threads, each its own bus connection)
 * issue 50,000 Start, Replace, Stop and List calls. Each client works on
 * names and lines of its own, in a fixed cycle of ten calls whose answers
 * are known, three of them errors by design:
 *
 *   Start a (ok), Start a (Exists), Replace a (ok), List (ok, a listed),
 *   Replace a (ok), Stop a (ok), Stop a (NotRunning),
 *   Replace b (ok: starts it), Start b (Exists), Stop b (ok)
 *
 * Checked: no call fails otherwise; no edge of the 1000 blinking lines is
 * later than 5 ms (per line, edge k is due at its first edge + k * interval,
 * read from the trace; less any time the machine itself stood still, as a
 * real-time canary thread per CPU saw it), before, during and after the storm;
 * afterwards the daemon runs exactly the 1000 programs again and its memory
 * (VmRSS) is back within 512 KiB of its level before the storm. Reported: calls per second,
 * lateness, the daemon's CPU time per call (/proc/PID/stat), RSS.
 *
 * The daemon runs at the realtime priority blinkd.service gives it (read
 * from the unit), the canary above it.
 *
 * The clients run as SCHED_IDLE threads: they are the load, not the system
 * under test. Even at nice 19 a client thread was seen (perf sched) to keep
 * the CPU for 7 ms while the daemon, woken by its timer, waited on that
 * CPU's run queue and the other CPU went idle: under EEVDF a task that has
 * used more than its share (the daemon runs ~75% of a CPU in the storm) does
 * not preempt at wakeup, and the next tick is 4 ms away. A SCHED_IDLE thread
 * is preempted at once by any normal one. BLINKD_LOAD_CLIENTS_NICE=1 runs
 * them at nice 19 instead, to see that again.
 *
 * Under a wrapper (valgrind) the storm is small and nothing is timed: the
 * run looks for leaks and memory errors on these paths only. In a sanitizer
 * build the storm is whole, but neither time nor memory is checked.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "robustness.h"


#define N_CLIENTS 20
#define N_LINES 1040 /* 1000 blinking, two for each client */
#define N_BLINKERS 1000
#define CALLS_PER_CYCLE 10
#define LATENESS_BOUND (5 * MS)
/*
 * What memory may stay taken after the storm: the allocator keeps freed
 * memory of the storm's high-water mark (at most 40 extra programs, 20 calls
 * and their replies in flight, tables grown past 1024 entries); none of that
 * grows with the number of calls. A leak of 11 bytes per call over 50,000
 * calls is more than this.
 */
#define RSS_SLACK_KIB 512
#define STORM_TIME_LIMIT (120 * S)

static unsigned n_blinkers = N_BLINKERS;
static unsigned cycles_per_client = 50000 / N_CLIENTS / CALLS_PER_CYCLE;

typedef struct Worker {
	pthread_t thread;
	unsigned index;
	usec_t deadline;
	/* Results. */
	unsigned calls, ok, exists, not_running, unexpected;
	char first_unexpected[512];
} Worker;

static unsigned interval_ms(unsigned line)
{
	return 10 + line % 91;
}

static void worker_unexpected(Worker *w, const char *call, int r, const sd_bus_error *error,
			      const char *want)
{
	w->unexpected++;
	if (!w->first_unexpected[0])
		snprintf(w->first_unexpected, sizeof(w->first_unexpected),
			 "client %u: %s: %s%s%s, expected %s", w->index, call,
			 error->name ? error->name : strerror(-r), error->message ? ": " : "",
			 error->message ? error->message : "", want);
}

/* One call and its expected answer: NULL for success, else the error name. */
static void worker_call(Worker *w, sd_bus *bus, const char *want, const char *method,
			const char *name, const char *program)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char what[128];
	int r;

	if (program)
		r = sd_bus_call_method(bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				       BLINKD_MANAGER_INTERFACE, method, &error, &reply, "ss", name,
				       program);
	else
		r = sd_bus_call_method(bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				       BLINKD_MANAGER_INTERFACE, method, &error, &reply, "s", name);
	w->calls++;
	snprintf(what, sizeof(what), "%s(%s)", method, name);
	if (!want && r >= 0)
		w->ok++;
	else if (want && r < 0 && error.name && streq(error.name, want) &&
		 streq(want, BLINKD_ERROR_EXISTS))
		w->exists++;
	else if (want && r < 0 && error.name && streq(error.name, want))
		w->not_running++;
	else
		worker_unexpected(w, what, r, &error, want ? want : "success");
	sd_bus_error_free(&error);
}

/* List(): answers, and has @name with @program among at least n_blinkers + 1 entries. */
static void worker_list(Worker *w, sd_bus *bus, const char *name, const char *program)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *n, *p;
	unsigned entries = 0;
	bool found = false;
	int r;

	r = sd_bus_call_method(bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE,
			       "List", &error, &reply, NULL);
	w->calls++;
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "(ss)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(ss)", &n, &p)) > 0) {
		entries++;
		if (streq(n, name))
			found = streq(p, program);
	}
	if (r >= 0 && found && entries > n_blinkers)
		w->ok++;
	else if (r < 0)
		worker_unexpected(w, "List()", r, &error, "success");
	else {
		sd_bus_error e = SD_BUS_ERROR_MAKE_CONST("(test)", "wrong content");
		worker_unexpected(w,
				  found ? "List(): too few entries" : "List(): own entry missing",
				  -EBADMSG, &e, "the entry and > 1000 entries");
	}
	sd_bus_error_free(&error);
}

static void *worker_run(void *userdata)
{
	Worker *w = userdata;
	char a[16], b[16], on_a[64], on_a_again[64], blink_a[96], for_a[96], on_b[64];
	sd_bus *bus = NULL;
	int r;

	/* The clients are the load, not what is measured: they yield to the daemon. */
	if (getenv("BLINKD_LOAD_CLIENTS_NICE"))
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	else
		(void)pthread_setschedparam(pthread_self(), SCHED_IDLE,
					    &(struct sched_param){ .sched_priority = 0 });
	r = sd_bus_open_user(&bus);
	if (r < 0) {
		sd_bus_error e = SD_BUS_ERROR_MAKE_CONST("(test)", "cannot connect");
		worker_unexpected(w, "connect", r, &e, "a connection");
		return NULL;
	}
	snprintf(a, sizeof(a), "s%02u.a", w->index);
	snprintf(b, sizeof(b), "s%02u.b", w->index);
	snprintf(on_a, sizeof(on_a), "{\"on\":{\"lines\":[%u]}}", N_BLINKERS + 2 * w->index);
	snprintf(on_a_again, sizeof(on_a_again), "{\"on\":{\"lines\":[%u]}}",
		 N_BLINKERS + 2 * w->index);
	snprintf(blink_a, sizeof(blink_a), "{\"blink\":{\"lines\":[%u],\"interval\":\"20ms\"}}",
		 N_BLINKERS + 2 * w->index);
	snprintf(for_a, sizeof(for_a), "{\"on\":{\"lines\":[%u],\"for\":\"1h\"}}",
		 N_BLINKERS + 2 * w->index);
	snprintf(on_b, sizeof(on_b), "{\"on\":{\"lines\":[%u]}}", N_BLINKERS + 2 * w->index + 1);

	for (unsigned cycle = 0; cycle < cycles_per_client; cycle++) {
		if (now_usec(CLOCK_MONOTONIC) > w->deadline)
			break;
		worker_call(w, bus, NULL, "Start", a, on_a);
		worker_call(w, bus, BLINKD_ERROR_EXISTS, "Start", a, on_a_again);
		worker_call(w, bus, NULL, "Replace", a, blink_a);
		worker_list(w, bus, a, blink_a);
		worker_call(w, bus, NULL, "Replace", a, for_a);
		worker_call(w, bus, NULL, "Stop", a, NULL);
		worker_call(w, bus, BLINKD_ERROR_NOT_RUNNING, "Stop", a, NULL);
		worker_call(w, bus, NULL, "Replace", b, on_b);
		worker_call(w, bus, BLINKD_ERROR_EXISTS, "Start", b, on_b);
		worker_call(w, bus, NULL, "Stop", b, NULL);
	}
	sd_bus_flush_close_unref(bus);
	return NULL;
}

/* --------------------------------------------------------------- canaries */

/*
 * One thread of the test per CPU, pinned to it, that sleeps to absolute
 * 1 ms deadlines with a timer slack of 1 ns, as the daemon does, and notes
 * how late it wakes. They run SCHED_FIFO above the daemon where they may,
 * so that nothing of the test's own load (the daemon, dbus-daemon, the
 * clients) can keep them off their CPU: when one is late, its CPU did not
 * run anything then (the hypervisor took the vCPU, or the kernel did not
 * deliver the timer). One canary per CPU, because on a VM one vCPU stalls
 * while the other runs on. A late edge is reported with the longest stall
 * any canary saw in the same interval, so it can be told apart from a slow
 * daemon; which CPU the daemon was on is not known, so a stall of either
 * counts.
 */
#define CANARY_PERIOD (1 * MS)
#define CANARY_STALL (2 * MS) /* later than this is a stall worth noting */
#define CANARY_MAX_STALLS 256
#define MAX_CANARIES 8
/* Above the daemon's realtime priority: nothing of the test may delay them. */
#define CANARY_PRIORITY 50

typedef struct Stall {
	usec_t due, woke;
} Stall;

typedef struct Canary {
	pthread_t thread;
	int cpu;
	bool realtime; /* SCHED_FIFO; else a nice 0 thread (no privilege) */
	bool pinned;
	usec_t worst;
	size_t n_wakeups, n_stalls;
	Stall stalls[CANARY_MAX_STALLS];
} Canary;

static Canary canaries[MAX_CANARIES];
static size_t n_canaries;
static atomic_bool canaries_stop;

static void *canary_run(void *userdata)
{
	Canary *canary = userdata;
	struct timespec ts;
	cpu_set_t set;
	usec_t due;

	CPU_ZERO(&set);
	CPU_SET(canary->cpu, &set);
	canary->pinned = pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	canary->realtime = pthread_setschedparam(pthread_self(), SCHED_FIFO,
						 &(struct sched_param){ .sched_priority = CANARY_PRIORITY }) == 0;
	due = now_usec(CLOCK_MONOTONIC);
	while (!atomic_load(&canaries_stop)) {
		usec_t woke, late;

		due += CANARY_PERIOD;
		ts.tv_sec = (time_t)(due / S);
		ts.tv_nsec = (long)(due % S) * 1000;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		woke = now_usec(CLOCK_MONOTONIC);
		late = woke - due;
		canary->n_wakeups++;
		if (late > canary->worst)
			canary->worst = late;
		if (late > CANARY_STALL && canary->n_stalls < CANARY_MAX_STALLS)
			canary->stalls[canary->n_stalls++] = (Stall){ due, woke };
		/* After a stall, the next deadline from now: no burst of catching up. */
		if (woke > due + CANARY_PERIOD)
			due = woke;
	}
	return NULL;
}

static void canaries_start(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	n_canaries = cpus < 1 ? 1 : cpus > MAX_CANARIES ? MAX_CANARIES : (size_t)cpus;
	for (size_t i = 0; i < n_canaries; i++) {
		canaries[i].cpu = (int)i;
		if (pthread_create(&canaries[i].thread, NULL, canary_run, &canaries[i]) != 0)
			harness_fatal("pthread_create failed");
	}
}

static void canaries_end(void)
{
	atomic_store(&canaries_stop, true);
	for (size_t i = 0; i < n_canaries; i++)
		(void)pthread_join(canaries[i].thread, NULL);
}

/* The longest any one canary spent stalled within [@from, @to]. */
static usec_t canary_stalled_within(usec_t from, usec_t to)
{
	usec_t longest = 0;

	for (size_t c = 0; c < n_canaries; c++) {
		usec_t total = 0;

		for (size_t i = 0; i < canaries[c].n_stalls; i++) {
			const Stall *st = &canaries[c].stalls[i];
			usec_t a = st->due > from ? st->due : from;
			usec_t b = st->woke < to ? st->woke : to;

			if (b > a)
				total += b - a;
		}
		if (total > longest)
			longest = total;
	}
	return longest;
}

/* ------------------------------------------------------------- lateness */

/* A blinking line's edge as the trace shows it. */
typedef struct Edge {
	usec_t at;   /* when it was written */
	usec_t late; /* after its due time */
	unsigned line;
	unsigned merged; /* not an edge: on/off pairs due by then and never written */
} Edge;

/*
 * edges_from_trace() - every edge of the blinking lines up to @until (the
 * SIGTERM batch after it is not the programs'), with its lateness: per
 * line, edge k is due at its first edge + k * interval, lit on even k.
 * Counts edges of the wrong value, and lines with fewer edges than the time
 * allows.
 *
 * A daemon woken an interval or more late writes what fell due as its end
 * state: an on/off pair due meanwhile is merged, not written, and the next
 * edge comes at its own due time. So an edge is taken for the latest due
 * instant of its parity before it was written (never earlier: the daemon
 * writes nothing ahead of time), and every pair skipped so becomes an entry
 * of its own (.merged), at least an interval late. Without this,
 * one pair merged in a 9 ms stall of the VM makes every later edge of a
 * 10 ms line look 20 ms late.
 */
static Edge *edges_from_trace(const Trace *t, usec_t until, size_t *ret_n, size_t *ret_bad_value,
			      size_t *ret_short_lines)
{
	_cleanup_(freep) uint64_t *first = calloc(n_blinkers, sizeof(uint64_t));
	_cleanup_(freep) uint64_t *count = calloc(n_blinkers, sizeof(uint64_t));
	Edge *edges = malloc((2 * t->n + 1) * sizeof(Edge));
	size_t n = 0, bad_value = 0, short_lines = 0;

	if (!first || !count || !edges)
		harness_fatal("out of memory");
	for (size_t i = 0; i < t->n; i++) {
		const TraceEvent *e = &t->events[i];
		uint64_t due, k, interval, pairs;

		if (e->offset >= n_blinkers || e->ns / 1000 >= until)
			continue;
		interval = interval_ms(e->offset) * 1000000ULL;
		if (count[e->offset] == 0)
			first[e->offset] = e->ns;
		k = count[e->offset];
		due = first[e->offset] + k * interval;
		if (e->value != (k % 2 == 0)) {
			bad_value++;
			pairs = 0;
		} else
			/*
			 * Half an interval of grace: due times count from the
			 * line's first edge, which may itself have been late,
			 * and then an edge on time looks early by as much. (An
			 * edge is never an interval late: by then the next
			 * toggle is due too, and the two merge.)
			 */
			pairs = e->ns + interval / 2 > due ? (e->ns + interval / 2 - due) / (2 * interval) : 0;
		/*
		 * When the merging batch went out the trace does not say (it
		 * wrote nothing for this line); edge k was still pending when
		 * edge k + 1 fell due, so it was at least an interval late then.
		 */
		if (pairs > 0)
			edges[n++] = (Edge){
				.at = (due + interval) / 1000,
				.late = interval / 1000,
				.line = e->offset,
				.merged = (unsigned)pairs,
			};
		k += 2 * pairs;
		count[e->offset] = k + 1;
		due = first[e->offset] + k * interval;
		edges[n++] = (Edge){
			.at = e->ns / 1000,
			.late = e->ns > due ? (e->ns - due) / 1000 : 0,
			.line = e->offset,
		};
	}
	for (unsigned line = 0; line < n_blinkers; line++) {
		uint64_t span = first[line] ? until - first[line] / 1000 : 0;

		/* One edge may be due but not yet written when the window closes. */
		if (count[line] + 1 < span / (interval_ms(line) * MS))
			short_lines++;
	}
	*ret_n = n;
	*ret_bad_value = bad_value;
	*ret_short_lines = short_lines;
	return edges;
}

#define N_WORST 5

typedef struct Lateness {
	size_t n_edges, n_late;
	size_t n_merged; /* on/off pairs merged (their lateness counts, not in the percentiles) */
	usec_t worst, worst_in_storm, p99, p999;
	/* Less the time the canary was stalled within the same interval. */
	size_t n_late_daemon;
	usec_t worst_daemon;
	Edge worst_edges[N_WORST];
} Lateness;

static int compare_usec(const void *a, const void *b)
{
	usec_t x = *(const usec_t *)a, y = *(const usec_t *)b;

	return x < y ? -1 : x > y;
}

/* The lateness of the edges written within [@from, @to). */
static void lateness_within(const Edge *edges, size_t n, usec_t from, usec_t to,
			    usec_t storm_from, usec_t storm_to, Lateness *ret)
{
	_cleanup_(freep) usec_t *all = malloc((n + 1) * sizeof(usec_t));
	Lateness l = {};

	if (!all)
		harness_fatal("out of memory");
	for (size_t i = 0; i < n; i++) {
		const Edge *e = &edges[i];
		usec_t daemon;
		size_t k;

		if (e->at < from || e->at >= to)
			continue;
		if (e->merged)
			l.n_merged += e->merged;
		else
			all[l.n_edges++] = e->late;
		if (e->late > LATENESS_BOUND)
			l.n_late++;
		if (e->late > l.worst)
			l.worst = e->late;
		if (e->at >= storm_from && e->at < storm_to && e->late > l.worst_in_storm)
			l.worst_in_storm = e->late;
		daemon = e->late > MS ? e->late - canary_stalled_within(e->at - e->late, e->at)
				      : e->late;
		if (daemon > LATENESS_BOUND)
			l.n_late_daemon++;
		if (daemon > l.worst_daemon)
			l.worst_daemon = daemon;
		for (k = N_WORST; k > 0 && l.worst_edges[k - 1].late < e->late; k--)
			if (k < N_WORST)
				l.worst_edges[k] = l.worst_edges[k - 1];
		if (k < N_WORST)
			l.worst_edges[k] = *e;
	}
	if (l.n_edges > 0) {
		qsort(all, l.n_edges, sizeof(usec_t), compare_usec);
		l.p99 = all[l.n_edges * 99 / 100];
		l.p999 = all[l.n_edges * 999 / 1000];
	}
	*ret = l;
}

/* ------------------------------------------------------------ big calls */

/*
 * After the measured window: List and GetManagedObjects with 1000 programs,
 * three of each, to see what one large reply costs the edges due meanwhile.
 * Not part of the storm's mix; reported, not checked.
 */
typedef struct BigCall {
	const char *what;
	usec_t from[3], to[3];
	usec_t slowest;	  /* the call as the client saw it */
	usec_t worst_late; /* edges written during it, or within 10 ms after */
} BigCall;

static void big_calls(Client *c, BigCall *list, BigCall *objects)
{
	list->what = "List";
	objects->what = "GetManagedObjects";
	for (size_t i = 0; i < 3; i++) {
		BigCall *calls[] = { list, objects };

		for (size_t j = 0; j < ELEMENTSOF(calls); j++) {
			_cleanup_(freep) char *text = NULL;

			client_settle(c, 200 * MS);
			calls[j]->from[i] = now_usec(CLOCK_MONOTONIC);
			text = j == 0 ? client_list(c, false) : client_managed_objects(c);
			calls[j]->to[i] = now_usec(CLOCK_MONOTONIC);
			check(text != NULL);
			if (calls[j]->to[i] - calls[j]->from[i] > calls[j]->slowest)
				calls[j]->slowest = calls[j]->to[i] - calls[j]->from[i];
		}
	}
}

static void big_call_lateness(const Edge *edges, size_t n, BigCall *call)
{
	for (size_t i = 0; i < 3; i++) {
		Lateness l;

		lateness_within(edges, n, call->from[i], call->to[i] + 10 * MS, 0, 0, &l);
		if (l.worst > call->worst_late)
			call->worst_late = l.worst;
	}
}

/* ---------------------------------------------------------------- the test */

/*
 * The scheduling policy blinkd.service gives the daemon, read from the unit
 * (BLINKD_UNIT): CPUSchedulingPolicy=fifo and CPUSchedulingPriority=N give
 * SCHED_FIFO at N. Returns false if the unit sets no realtime policy.
 */
static bool service_policy(int *ret_policy, int *ret_priority)
{
	_cleanup_(freep) char *unit = NULL;
	const char *path = getenv("BLINKD_UNIT"), *p;
	int policy = SCHED_OTHER, priority = 0;

	if (!path || !(unit = read_file(path)))
		harness_fatal("cannot read the unit (BLINKD_UNIT=%s)", path ? path : "");
	for (p = unit; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "CPUSchedulingPolicy=fifo\n", 25) == 0)
			policy = SCHED_FIFO;
		else if (strncmp(p, "CPUSchedulingPolicy=rr\n", 23) == 0)
			policy = SCHED_RR;
		else if (strncmp(p, "CPUSchedulingPriority=", 22) == 0)
			priority = atoi(p + 22);
	}
	*ret_policy = policy;
	*ret_priority = priority;
	return policy != SCHED_OTHER && priority > 0;
}

static void start_blinkers(Client *c)
{
	check_int(start_line_blinkers(c, "bg", n_blinkers, interval_ms), n_blinkers);
}

int main(void)
{
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_(freep) char *config = NULL, *list_before = NULL, *list_after = NULL;
	_cleanup_(freep) char *objects_before = NULL, *objects_after = NULL;
	char shm_trace[64];
	_cleanup_(freep) Edge *edges = NULL;
	Worker workers[N_CLIENTS] = {};
	Worker total = {};
	Lateness late = {};
	BigCall list_call = {}, objects_call = {};
	Trace t = {};
	long rss_before, rss_after, rss_peak = 0;
	long long cpu0, cpu1, cpu2, cpu3;
	usec_t window0, quiet0, quiet1, storm0, storm1, window1, end;
	double seconds, idle_rate, cpu_per_call_raw, cpu_per_call_net, clients_cpu;
	SchedStat daemon0 = {}, daemon1 = {}, bus0 = {}, bus1 = {};
	struct rusage self0, self1;
	long long steal0, steal1;
	size_t n_edges, bad_value, short_lines, canary_stalls = 0;
	usec_t canary_worst = 0;
	bool all_realtime = true;
	const char *instrumented;
	pid_t pid;
	bool wrapped;

	harness_init();
	figures_begin("test-robustness-load");
	instrumented = daemon_instrumented();
	wrapped = harness_wrapper() != NULL;
	if (wrapped) {
		n_blinkers = 100;
		cycles_per_client = 10;
		printf("under %s: 100 blinking programs, %u calls, nothing timed\n",
		       harness_wrapper(), N_CLIENTS * cycles_per_client * CALLS_PER_CYCLE);
	}
	config = config_with_lines(N_LINES, N_LINES + 24, "");
	/*
	 * The trace (several MB a second here) in memory where there is a
	 * tmpfs: on a disk that others write to, a write() waits out their
	 * writeback (one batch 85 ms late with no CPU stall, in a run beside
	 * other builds), and that is the instrument's, not the daemon's.
	 */
	snprintf(shm_trace, sizeof(shm_trace), "/dev/shm/blinkd-load-trace-%d", (int)getpid());
	if (access("/dev/shm", W_OK) == 0)
		harness_start_daemon_with_trace(config, harness_path_outside(shm_trace));
	else
		harness_start_daemon(config);
	pid = harness_daemon_pid();
	/*
	 * The daemon runs as the service runs it: blinkd.service gives it the
	 * lowest realtime priority, so that its timer wakeups are not queued
	 * behind ordinary load on a busy machine (see the unit for why).
	 */
	if (!wrapped) {
		int policy, priority;

		check(service_policy(&policy, &priority));
		check(priority < CANARY_PRIORITY);
		if (sched_setscheduler(pid, policy, &(struct sched_param){ .sched_priority = priority }) < 0)
			printf("cannot give blinkd the realtime priority %d blinkd.service gives it "
			       "(%s); it runs as a normal process, and its edges may be late\n",
			       priority, strerror(errno));
	}
	/* A connection without a signal match: the storm's signals are not for it. */
	c = calloc(1, sizeof(Client));
	if (!c || sd_bus_open_user(&c->bus) < 0)
		harness_fatal("cannot connect");
	canaries_start();

	start_blinkers(c);
	list_before = client_list(c, false);
	objects_before = client_managed_objects(c);
	check_int(count_lines(list_before), n_blinkers);

	/*
	 * The measured window: from here to after the storm. Quiet first: the
	 * 1000 blink, nobody calls; the daemon's own cost, and its memory.
	 */
	client_settle(c, 500 * MS);
	window0 = quiet0 = now_usec(CLOCK_MONOTONIC);
	cpu0 = proc_cpu_usec(pid);
	client_settle(c, 2 * S);
	cpu1 = proc_cpu_usec(pid);
	quiet1 = now_usec(CLOCK_MONOTONIC);
	rss_before = proc_rss_kib(pid);

	/* The storm. */
	(void)proc_schedstat(pid, &daemon0);
	(void)proc_schedstat(harness_bus_pid(), &bus0);
	(void)getrusage(RUSAGE_SELF, &self0);
	steal0 = steal_usec();
	storm0 = now_usec(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < N_CLIENTS; i++) {
		workers[i].index = i;
		workers[i].deadline = storm0 + STORM_TIME_LIMIT;
		if (pthread_create(&workers[i].thread, NULL, worker_run, &workers[i]) != 0)
			harness_fatal("pthread_create failed");
	}
	for (unsigned i = 0; i < N_CLIENTS; i++) {
		long rss;

		(void)pthread_join(workers[i].thread, NULL);
		rss = proc_rss_kib(pid);
		if (rss > rss_peak)
			rss_peak = rss;
	}
	storm1 = now_usec(CLOCK_MONOTONIC);
	cpu2 = proc_cpu_usec(pid);
	(void)proc_schedstat(pid, &daemon1);
	(void)proc_schedstat(harness_bus_pid(), &bus1);
	(void)getrusage(RUSAGE_SELF, &self1);
	steal1 = steal_usec();
	clients_cpu = (double)(self1.ru_utime.tv_sec - self0.ru_utime.tv_sec +
			       self1.ru_stime.tv_sec - self0.ru_stime.tv_sec) * S +
		      (double)(self1.ru_utime.tv_usec - self0.ru_utime.tv_usec +
			       self1.ru_stime.tv_usec - self0.ru_stime.tv_usec);
	for (unsigned i = 0; i < N_CLIENTS; i++) {
		total.calls += workers[i].calls;
		total.ok += workers[i].ok;
		total.exists += workers[i].exists;
		total.not_running += workers[i].not_running;
		total.unexpected += workers[i].unexpected;
		if (workers[i].first_unexpected[0])
			fprintf(stderr, "%s\n", workers[i].first_unexpected);
	}

	/* After: the same 1000 programs, nothing of the storm, memory back. */
	client_settle(c, 1 * S);
	rss_after = proc_rss_kib(pid);
	cpu3 = proc_cpu_usec(pid);
	list_after = client_list(c, false);
	check_str(list_after, list_before);
	window1 = now_usec(CLOCK_MONOTONIC);
	objects_after = client_managed_objects(c);
	check_str(objects_after, objects_before);
	big_calls(c, &list_call, &objects_call);
	end = now_usec(CLOCK_MONOTONIC);
	canaries_end();
	check(harness_daemon_alive());
	check_int(harness_stop_daemon(SIGTERM), 0);

	/* The calls. */
	figure_mark();
	check_int(total.calls, N_CLIENTS * cycles_per_client * CALLS_PER_CYCLE);
	check_int(total.unexpected, 0);
	check_int(total.ok, total.calls / CALLS_PER_CYCLE * 7);
	check_int(total.exists, total.calls / CALLS_PER_CYCLE * 2);
	check_int(total.not_running, total.calls / CALLS_PER_CYCLE);
	seconds = (double)(storm1 - storm0) / S;
	idle_rate = (double)(cpu1 - cpu0) / (double)(quiet1 - quiet0);
	cpu_per_call_raw = (double)(cpu2 - cpu1) / total.calls;
	cpu_per_call_net = ((double)(cpu2 - cpu1) - idle_rate * (double)(storm1 - quiet1)) /
			   total.calls;
	printf("storm, %.1f s: daemon ran %.0f%% of a CPU and waited %.1f ms for one in %lld "
	       "slices; dbus-daemon ran %.0f%%, waited %.1f ms; the clients ran %.0f%%; steal "
	       "%.1f%%\n",
	       seconds, (double)(daemon1.run_us - daemon0.run_us) / (double)(storm1 - storm0) * 100,
	       (double)(daemon1.wait_us - daemon0.wait_us) / MS, daemon1.slices - daemon0.slices,
	       (double)(bus1.run_us - bus0.run_us) / (double)(storm1 - storm0) * 100,
	       (double)(bus1.wait_us - bus0.wait_us) / MS,
	       clients_cpu / (double)(storm1 - storm0) * 100,
	       (double)(steal1 - steal0) / (double)(storm1 - storm0) * 100);
	figure("%u clients (%s), %u Start/Replace/Stop/List calls in a fixed cycle, while %u "
	       "programs blink (intervals 10-100 ms) |"
	       " %.1f s, %.0f calls/s; %u ok, %u Exists and %u NotRunning as designed, %u "
	       "otherwise; daemon CPU %.1f us per call (%.1f us with the blinking's own share "
	       "taken out; the blinking alone: %.1f%% of a CPU); in the storm the daemon ran "
	       "%.0f%% of a CPU, dbus-daemon %.0f%%, the clients %.0f%%",
	       N_CLIENTS,
	       getenv("BLINKD_LOAD_CLIENTS_NICE") ? "threads at nice 19" : "SCHED_IDLE threads",
	       total.calls, n_blinkers, seconds, total.calls / seconds, total.ok,
	       total.exists, total.not_running, total.unexpected, cpu_per_call_raw,
	       cpu_per_call_net, idle_rate * 100,
	       (double)(daemon1.run_us - daemon0.run_us) / (double)(storm1 - storm0) * 100,
	       (double)(bus1.run_us - bus0.run_us) / (double)(storm1 - storm0) * 100,
	       clients_cpu / (double)(storm1 - storm0) * 100);

	/* The edges. */
	check_int(trace_read(harness_trace_path(), &t), 0);
	edges = edges_from_trace(&t, end, &n_edges, &bad_value, &short_lines);
	trace_done(&t);
	/* A daemon too slow for its edges (instrumented) merges on and off: not checked then. */
	if (!instrumented) {
		check_int(bad_value, 0);
		check_int(short_lines, 0);
	}
	lateness_within(edges, n_edges, window0, window1, storm0, storm1, &late);
	big_call_lateness(edges, n_edges, &list_call);
	big_call_lateness(edges, n_edges, &objects_call);
	for (size_t i = 0; i < N_WORST && late.worst_edges[i].late > 0; i++) {
		const Edge *e = &late.worst_edges[i];
		usec_t stalled = canary_stalled_within(e->at - e->late, e->at);

		printf("  late %s: line %u, %.2f ms late, at %+.3f s from the storm's start "
		       "(CLOCK_MONOTONIC %.6f s); a canary was stalled %.2f ms of that time\n",
		       e->merged ? "on/off pair merged" : "edge", e->line, (double)e->late / MS,
		       ((double)e->at - (double)storm0) / S, (double)e->at / S,
		       (double)stalled / MS);
	}
	for (size_t i = 0; i < n_canaries; i++) {
		const Canary *k = &canaries[i];

		printf("canary on CPU %d (%s%s): %zu wakeups, latest %.2f ms, %zu later than %.0f ms\n",
		       k->cpu, k->realtime ? "SCHED_FIFO" : "nice 0", k->pinned ? "" : ", not pinned",
		       k->n_wakeups, (double)k->worst / MS, k->n_stalls, (double)CANARY_STALL / MS);
		for (size_t j = 0; j < k->n_stalls && j < 8; j++)
			printf("  stall: %.2f ms at %.6f s\n",
			       (double)(k->stalls[j].woke - k->stalls[j].due) / MS,
			       (double)k->stalls[j].due / S);
		if (k->worst > canary_worst)
			canary_worst = k->worst;
		canary_stalls += k->n_stalls;
		all_realtime = all_realtime && k->realtime;
	}
	if (instrumented)
		printf("%s: lateness not checked\n", instrumented);
	else {
		check_int(late.n_late_daemon, 0);
		check(late.worst_daemon <= LATENESS_BOUND);
	}
	figure("edges of the %u blinking lines from the trace: 2 s quiet, the storm, 1 s after "
	       "(due: first edge + k * interval); bound 5 ms |"
	       " %zu edges; latest %.2f ms, %.2f ms during the storm; 99th percentile %.2f ms, "
	       "99.9th %.2f ms; %zu later than 5 ms. Less the longest time a canary thread "
	       "(one per CPU, 1 ms sleeps, %s) was itself stalled in the same interval: latest "
	       "%.2f ms, %zu later than 5 ms. Canaries: latest wakeup %.2f ms, %zu stalls over "
	       "2 ms; load average %.1f; on/off pairs merged by a late wakeup: %zu",
	       n_blinkers, late.n_edges, (double)late.worst / MS, (double)late.worst_in_storm / MS,
	       (double)late.p99 / MS, (double)late.p999 / MS, late.n_late,
	       all_realtime ? "SCHED_FIFO" : "nice 0: SCHED_FIFO was refused",
	       (double)late.worst_daemon / MS, late.n_late_daemon, (double)canary_worst / MS,
	       canary_stalls, load_average(), late.n_merged);

	figure("after the window: List (%u entries) and GetManagedObjects (%u objects), three "
	       "of each; not part of the storm, not checked |"
	       " List answered in at most %.1f ms, edges due meanwhile up to %.2f ms late; "
	       "GetManagedObjects in at most %.1f ms, edges up to %.2f ms late",
	       n_blinkers, n_blinkers, (double)list_call.slowest / MS,
	       (double)list_call.worst_late / MS, (double)objects_call.slowest / MS,
	       (double)objects_call.worst_late / MS);

	/* The memory. */
	if (instrumented)
		printf("%s: memory not checked\n", instrumented);
	else
		check(rss_before > 0 && rss_after > 0 && rss_after <= rss_before + RSS_SLACK_KIB);
	figure("the daemon's memory (VmRSS) before and after the storm; allowed %d KiB more "
	       "(allocator high-water, not per call) |"
	       " %ld KiB before, %ld KiB at most while clients ended, %ld KiB after (%+ld KiB); "
	       "CPU in the second after the storm %.1f%% of a CPU",
	       RSS_SLACK_KIB, rss_before, rss_peak, rss_after, rss_after - rss_before,
	       (double)(cpu3 - cpu2) / (double)(window1 - storm1) * 100);

	figures_end();
	free(c->signals);
	sd_bus_flush_close_unref(c->bus);
	free(TAKE_PTR(c));
	return test_summary("test-robustness-load");
}

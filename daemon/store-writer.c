/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store-writer.h"
#include "store.h"

/*
 * The loop and the thread share no memory and no lock: a mutex the loop
 * waits on while the low-priority thread holds it, preempted, would hold
 * the loop. Two pipes carry everything, each message one write() of less
 * than PIPE_BUF, so atomic:
 *  - work: the loop -> the thread, a StoreContent pointer (ownership goes
 *    with it); end of file tells the thread to end;
 *  - result: the thread -> the loop, a WriterResult.
 */
typedef struct WriterResult {
	int error;
	const char *step; /* a string literal of store.c */
} WriterResult;

/* What the thread owns: its ends of the pipes and the directory's name. */
typedef struct WriterThread {
	int work_fd;
	int result_fd;
	char *dir;
} WriterThread;

struct StoreWriter {
	int work_fd;		/* the loop's end: write */
	int result_fd;		/* the loop's end: read, nonblocking */
	sd_event_source *source;
	pthread_t thread;
	bool in_flight;		/* submitted, result not reported */
	StoreWriterDone done;
	void *userdata;
	char *dir;
};

static int close_fd(int fd)
{
	if (fd >= 0)
		(void)close(fd);
	return -1;
}

static usec_t monotonic_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
}

static void writer_thread_free(WriterThread *t)
{
	close_fd(t->work_fd);
	close_fd(t->result_fd);
	free(t->dir);
	free(t);
}

static int read_whole(int fd, void *buf, size_t size)
{
	ssize_t k;

	do
		k = read(fd, buf, size);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	return (size_t)k == size ? 1 : 0; /* 0: end of file (or a torn message, never written) */
}

static void *writer_thread(void *arg)
{
	WriterThread *t = arg;
	StoreContent *content;

	/*
	 * The timeline comes first: a write formatted and synced beside the
	 * loop must not delay it. A thread of a SCHED_FIFO daemon would
	 * inherit it; it runs as a normal thread instead, which the loop
	 * preempts at once. (Not at a lower weight: on a busy machine a nice
	 * 19 thread waited so long for a CPU that 400 Defines took seconds.)
	 * Only when it is not one already: blinkd.service's system call filter
	 * refuses the change (EPERM), and there the unit's
	 * CPUSchedulingResetOnFork=yes has made it a normal thread already.
	 */
	if (sched_getscheduler(0) != SCHED_OTHER)
		(void)pthread_setschedparam(pthread_self(), SCHED_OTHER,
					    &(struct sched_param){ 0 });

	while (read_whole(t->work_fd, &content, sizeof(content)) > 0) {
		_cleanup_(freep) char *text = NULL;
		_cleanup_(closep) int dir_fd = -1;
		WriterResult result = { .step = "prepare" };
		size_t len = 0;
		ssize_t k;

		/* The bytes are made here too: formatting 500 programs takes milliseconds. */
		result.error = store_format(content, &text, &len);
		free(content);
		if (result.error >= 0) {
			/* Opened for each write: the directory may be made, or made again, meanwhile. */
			result.step = "open the directory";
			dir_fd = store_open_directory(t->dir);
			result.error = dir_fd < 0 ? dir_fd
						  : store_write_at(dir_fd, text, len, &result.step);
		}
		do
			k = write(t->result_fd, &result, sizeof(result));
		while (k < 0 && errno == EINTR);
		if (k != (ssize_t)sizeof(result))
			break; /* the loop is gone */
	}
	writer_thread_free(t);
	return NULL;
}

/* Report the result of the write in flight, if it is there; whether it was. */
static bool report(StoreWriter *w)
{
	WriterResult result;

	if (!w->in_flight || read_whole(w->result_fd, &result, sizeof(result)) <= 0)
		return false;
	w->in_flight = false;
	/* done() may submit the next write at once. */
	if (w->done)
		w->done(w->userdata, result.error, result.step);
	return true;
}

static int on_result(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	(void)report(userdata);
	return 0;
}

int store_writer_new(StoreWriter **ret, sd_event *event, const char *dir, StoreWriterDone done,
		     void *userdata)
{
	_cleanup_(freep) StoreWriter *w = NULL;
	WriterThread *t = NULL;
	int work[2] = { -1, -1 }, result[2] = { -1, -1 };
	sigset_t all, old;
	int r;

	w = calloc(1, sizeof(*w));
	t = calloc(1, sizeof(*t));
	if (!w || !t)
		goto oom;
	w->work_fd = w->result_fd = t->work_fd = t->result_fd = -1;
	w->dir = strdup(dir);
	t->dir = strdup(dir);
	if (!w->dir || !t->dir)
		goto oom;
	if (pipe2(work, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	t->work_fd = work[0];
	w->work_fd = work[1];
	w->result_fd = result[0];
	t->result_fd = result[1];
	work[0] = work[1] = result[0] = result[1] = -1;
	if (fcntl(w->result_fd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	w->done = done;
	w->userdata = userdata;

	r = sd_event_add_io(event, &w->source, w->result_fd, EPOLLIN, on_result, w);
	if (r < 0)
		goto fail;
	/* After the engine's timer and the bus: a result is news, never urgent. */
	(void)sd_event_source_set_priority(w->source, SD_EVENT_PRIORITY_IDLE);
	(void)sd_event_source_set_description(w->source, "store-writer");

	/* The thread takes no signal: the loop's signalfd must see every one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&w->thread, NULL, writer_thread, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto fail;
	*ret = TAKE_PTR(w);
	return 0;
oom:
	r = -ENOMEM;
fail:
	close_fd(work[0]);
	close_fd(work[1]);
	close_fd(result[0]);
	close_fd(result[1]);
	if (t)
		writer_thread_free(t);
	if (w) {
		w->source = sd_event_source_unref(w->source);
		close_fd(w->work_fd);
		close_fd(w->result_fd);
		free(w->dir);
	}
	return r;
}

int store_writer_submit(StoreWriter *w, StoreContent *content)
{
	ssize_t k;

	if (w->in_flight) {
		free(content);
		return -EBUSY;
	}
	do
		k = write(w->work_fd, &content, sizeof(content));
	while (k < 0 && errno == EINTR);
	if (k != (ssize_t)sizeof(content)) {
		free(content);
		return k < 0 ? -errno : -EIO;
	}
	w->in_flight = true;
	return 0;
}

bool store_writer_busy(const StoreWriter *w)
{
	return w->in_flight;
}

/* Wait, at most @timeout, until the result of the write in flight can be read. */
static int wait_result(StoreWriter *w, usec_t timeout)
{
	struct pollfd p = { .fd = w->result_fd, .events = POLLIN };
	usec_t deadline = monotonic_usec() + timeout, t;
	int k;

	for (;;) {
		t = monotonic_usec();
		if (t >= deadline)
			return -ETIMEDOUT;
		k = poll(&p, 1, (int)((deadline - t + USEC_PER_MSEC - 1) / USEC_PER_MSEC));
		if (k > 0)
			return 0;
		if (k < 0 && errno != EINTR)
			return -errno;
	}
}

int store_writer_wait(StoreWriter *w, usec_t timeout)
{
	if (!w->in_flight)
		return 0;
	if (wait_result(w, timeout) < 0)
		return -ETIMEDOUT;
	return report(w) ? 0 : -EIO;
}

StoreWriter *store_writer_free(StoreWriter *w, usec_t timeout)
{
	bool done;

	if (!w)
		return NULL;
	done = !w->in_flight || wait_result(w, timeout) >= 0;
	w->source = sd_event_source_unref(w->source);
	/* End of file on its pipe: the thread ends after the write it may still have. */
	w->work_fd = close_fd(w->work_fd);
	if (done)
		(void)pthread_join(w->thread, NULL);
	else {
		log_warning("A write of the state in %s did not finish in time; exiting without it.",
			    w->dir);
		(void)pthread_detach(w->thread);
	}
	close_fd(w->result_fd);
	free(w->dir);
	free(w);
	return NULL;
}

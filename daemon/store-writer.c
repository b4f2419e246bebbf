/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store-writer.h"
#include "store.h"

/* What the loop and the thread share; guarded by lock. */
typedef struct WriterShared {
	pthread_mutex_t lock;
	pthread_cond_t work;	/* the thread waits here for a write, or the end */
	pthread_cond_t idle;	/* store_writer_wait() waits here for the result */
	unsigned n_ref;		/* the StoreWriter's and the thread's */
	char *dir;
	int event_fd;		/* written once per result */

	char *text;		/* the write handed over, not yet taken by the thread */
	size_t len;
	bool writing;		/* the thread has taken it */
	bool has_result;	/* the thread is done with it; the loop has not read it */
	int error;
	const char *step;
	bool quit;
} WriterShared;

struct StoreWriter {
	WriterShared *shared;
	sd_event_source *source;
	pthread_t thread;
	bool in_flight;		/* submitted, result not reported: the loop's own view */
	StoreWriterDone done;
	void *userdata;
};

static void shared_unref_locked(WriterShared *s)
{
	if (--s->n_ref > 0) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->idle);
	if (s->event_fd >= 0)
		(void)close(s->event_fd);
	free(s->text);
	free(s->dir);
	free(s);
}

static void *writer_thread(void *arg)
{
	WriterShared *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		_cleanup_(freep) char *text = NULL;
		_cleanup_(closep) int dir_fd = -1;
		const char *step = "open the directory";
		size_t len;
		int r;

		while (!s->text && !s->quit)
			pthread_cond_wait(&s->work, &s->lock);
		if (!s->text)
			break;
		text = TAKE_PTR(s->text);
		len = s->len;
		s->writing = true;
		pthread_mutex_unlock(&s->lock);

		/* Opened for each write: the directory may be made, or made again, meanwhile. */
		dir_fd = store_open_directory(s->dir);
		r = dir_fd < 0 ? dir_fd : store_write_at(dir_fd, text, len, &step);

		pthread_mutex_lock(&s->lock);
		s->writing = false;
		s->has_result = true;
		s->error = r;
		s->step = step;
		pthread_cond_broadcast(&s->idle);
		(void)eventfd_write(s->event_fd, 1);
	}
	shared_unref_locked(s);
	return NULL;
}

/* Take the thread's result, if it has one; true when it had. */
static bool take_result(StoreWriter *w, int *ret_error, const char **ret_step)
{
	WriterShared *s = w->shared;
	bool has;

	pthread_mutex_lock(&s->lock);
	has = s->has_result;
	if (has) {
		s->has_result = false;
		*ret_error = s->error;
		*ret_step = s->step;
	}
	pthread_mutex_unlock(&s->lock);
	return has;
}

static void report(StoreWriter *w)
{
	const char *step = NULL;
	eventfd_t value;
	int error = 0;

	(void)eventfd_read(w->shared->event_fd, &value); /* nonblocking: drained or nothing */
	if (!w->in_flight || !take_result(w, &error, &step))
		return;
	w->in_flight = false;
	if (w->done)
		w->done(w->userdata, error, step);
}

static int on_result(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	report(userdata);
	return 0;
}

int store_writer_new(StoreWriter **ret, sd_event *event, const char *dir, StoreWriterDone done,
		     void *userdata)
{
	_cleanup_(freep) StoreWriter *w = NULL;
	WriterShared *s;
	sigset_t all, old;
	int r;

	w = calloc(1, sizeof(*w));
	s = calloc(1, sizeof(*s));
	if (!w || !s) {
		free(s);
		return -ENOMEM;
	}
	s->event_fd = -1;
	s->dir = strdup(dir);
	s->n_ref = 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	{
		pthread_condattr_t attr;

		/* store_writer_wait() counts its bound on the monotonic clock. */
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&s->idle, &attr);
		pthread_condattr_destroy(&attr);
	}
	w->shared = s;
	w->done = done;
	w->userdata = userdata;
	s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!s->dir || s->event_fd < 0) {
		r = s->dir ? -errno : -ENOMEM;
		pthread_mutex_lock(&s->lock);
		shared_unref_locked(s);
		return r;
	}

	r = sd_event_add_io(event, &w->source, s->event_fd, EPOLLIN, on_result, w);
	if (r < 0) {
		pthread_mutex_lock(&s->lock);
		shared_unref_locked(s);
		return r;
	}
	/* After the engine's timer and the bus: a result is news, never urgent. */
	(void)sd_event_source_set_priority(w->source, SD_EVENT_PRIORITY_IDLE);
	(void)sd_event_source_set_description(w->source, "store-writer");

	/* The thread takes no signal: the loop's signalfd must see every one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	s->n_ref = 2;
	r = -pthread_create(&w->thread, NULL, writer_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		w->source = sd_event_source_unref(w->source);
		s->n_ref = 1;
		pthread_mutex_lock(&s->lock);
		shared_unref_locked(s);
		return r;
	}
	*ret = TAKE_PTR(w);
	return 0;
}

int store_writer_submit(StoreWriter *w, char *text, size_t len)
{
	WriterShared *s = w->shared;

	if (w->in_flight) {
		free(text);
		return -EBUSY;
	}
	pthread_mutex_lock(&s->lock);
	s->text = text;
	s->len = len;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	w->in_flight = true;
	return 0;
}

bool store_writer_busy(const StoreWriter *w)
{
	return w->in_flight;
}

/* Wait until the thread has a result for the write in flight, until @deadline (CLOCK_MONOTONIC). */
static int wait_until(StoreWriter *w, usec_t timeout)
{
	WriterShared *s = w->shared;
	struct timespec ts;
	int r = 0;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(timeout / USEC_PER_SEC);
	ts.tv_nsec += (long)(timeout % USEC_PER_SEC) * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!s->has_result && r == 0)
		r = pthread_cond_timedwait(&s->idle, &s->lock, &ts);
	r = s->has_result ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&s->lock);
	return r;
}

int store_writer_wait(StoreWriter *w, usec_t timeout)
{
	if (!w->in_flight)
		return 0;
	if (wait_until(w, timeout) < 0)
		return -ETIMEDOUT;
	report(w);
	return 0;
}

StoreWriter *store_writer_free(StoreWriter *w, usec_t timeout)
{
	WriterShared *s;
	bool done;

	if (!w)
		return NULL;
	s = w->shared;
	done = !w->in_flight || wait_until(w, timeout) >= 0;
	w->source = sd_event_source_unref(w->source);
	pthread_mutex_lock(&s->lock);
	s->quit = true;
	free(TAKE_PTR(s->text)); /* not yet taken: never written */
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	if (done)
		(void)pthread_join(w->thread, NULL);
	else {
		log_warning("A write of the state in %s did not finish in time; exiting without it.",
			    s->dir);
		(void)pthread_detach(w->thread);
	}
	pthread_mutex_lock(&s->lock);
	shared_unref_locked(s);
	free(w);
	return NULL;
}

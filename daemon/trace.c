/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "program.h"
#include "trace.h"

/* The longest line: 20 digits of time, 10 of number, 6 of level, physical level, spaces, newline. */
#define TRACE_LINE_MAX 56

struct Trace {
	int fd;
	const Layout *layout; /* for the physical level of active-low lines */
	bool broken; /* the last write failed: said once, until writing works again */
	char *buf;   /* room for the largest batch */
};

int trace_open(Trace **ret, const char *path, const Layout *layout)
{
	size_t max_lines = layout->n_lines;
	_cleanup_(trace_closep) Trace *t = calloc(1, sizeof(Trace));

	if (!t)
		return log_oom();
	t->fd = -1;
	t->layout = layout;
	t->buf = malloc(max_lines * TRACE_LINE_MAX + 1);
	if (!t->buf)
		return log_oom();
	t->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (t->fd < 0)
		return log_error_errno(errno, "Failed to open trace file %s: %m", path);
	*ret = TAKE_PTR(t);
	return 0;
}

Trace *trace_close(Trace *t)
{
	if (!t)
		return NULL;
	if (t->fd >= 0)
		(void)close(t->fd);
	free(t->buf);
	free(t);
	return NULL;
}

/* Writes @v in decimal at @p; returns the end. */
static char *format_decimal(char *p, uint64_t v)
{
	char digits[20];
	size_t n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

/*
 * Formatted by hand, the time once per batch: with 1000 lines a batch,
 * sprintf() was 40% of the daemon's CPU.
 */
void trace_batch(Trace *t, size_t n, const unsigned *numbers, const uint16_t *values)
{
	struct timespec ts;
	char stamp[24], *end_stamp, *p;
	size_t len, n_stamp;
	ssize_t k;

	if (!t || n == 0)
		return;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	end_stamp = format_decimal(stamp, (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
	*end_stamp++ = ' ';
	n_stamp = (size_t)(end_stamp - stamp);
	p = t->buf;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, stamp, n_stamp);
		p = format_decimal(p + n_stamp, numbers[i]);
		*p++ = ' ';
		if (values[i] == 0 || values[i] >= LEVEL_MAX)
			*p++ = values[i] ? '1' : '0';
		else {
			/* A level between: "0.dddd". */
			*p++ = '0';
			*p++ = '.';
			for (unsigned d = LEVEL_MAX / 10, v = values[i]; d > 0; v %= d, d /= 10)
				*p++ = (char)('0' + v / d);
		}
		if (t->layout->any_active_low) {
			/* Where the physical level differs from the logical value, it follows. */
			int idx = layout_index_of(t->layout, numbers[i]);
			if (idx >= 0 && t->layout->info[idx].settings.active_low) {
				*p++ = ' ';
				*p++ = values[i] ? '0' : '1';
			}
		}
		*p++ = '\n';
	}
	len = (size_t)(p - t->buf);

	k = write(t->fd, t->buf, len);
	if (k > 0 && (size_t)k < len) {
		struct stat st;

		/*
		 * A full disk took part of the batch: cut the fragment off
		 * again (the file is O_APPEND and ours alone, so it is the last
		 * k bytes), so the trace stays whole lines when writing works
		 * again.
		 */
		if (fstat(t->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= k)
			(void)ftruncate(t->fd, st.st_size - k);
	}
	if (k < 0 || (size_t)k != len) {
		if (!t->broken)
			(void)log_warning_errno(k < 0 ? errno : ENOSPC,
						"Failed to write the trace: %m; trace lines are "
						"dropped until writing works again");
		t->broken = true;
	} else if (t->broken) {
		log_notice("Writing the trace works again.");
		t->broken = false;
	}
}

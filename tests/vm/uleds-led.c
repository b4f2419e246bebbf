/* SPDX-License-Identifier: MIT */
/*
 * uleds-led: an LED class device made from user space, for the vm tier's
 * guest (built by tests/vm/run, statically, and put into the initramfs).
 *
 *   uleds-led NAME MAX_BRIGHTNESS
 *
 * Opens /dev/uleds (the kernel's uleds module) and writes the struct
 * uleds_user_dev that names the LED: /sys/class/leds/NAME exists from then
 * on, with max_brightness MAX_BRIGHTNESS, for as long as this process keeps
 * the file open, that is until it ends (SIGTERM, SIGKILL): the kernel then
 * removes the LED. Each read() of the file waits for a new brightness and
 * returns it as an int; a change that comes while none is read replaces the
 * one before, so a reader sees the latest value, not every one.
 *
 * Writes a line "T B" to stdout for every brightness read, T the
 * CLOCK_MONOTONIC time in microseconds (the clock of blinkd's --trace) and B
 * the brightness; the first line is the brightness at registration (0).
 * Each line is one write(), so a file it goes to is whole lines whenever it
 * is read. Exits 1 with a message on stderr when the LED cannot be made or
 * read.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <linux/uleds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "uleds-led: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct uleds_user_dev dev;
	char *end;
	long max;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: uleds-led NAME MAX_BRIGHTNESS\n");
		return 2;
	}
	errno = 0;
	max = strtol(argv[2], &end, 10);
	if (strlen(argv[1]) >= sizeof(dev.name) || errno || *end || max <= 0 || max > 65535) {
		fprintf(stderr, "uleds-led: bad name or max_brightness\n");
		return 2;
	}
	memset(&dev, 0, sizeof(dev));
	strcpy(dev.name, argv[1]);
	dev.max_brightness = (int)max;

	fd = open("/dev/uleds", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open /dev/uleds");
	if (write(fd, &dev, sizeof(dev)) != (ssize_t)sizeof(dev))
		return fail("register the LED");

	for (;;) {
		struct timespec ts;
		char line[64];
		int brightness, n;
		ssize_t k;

		k = read(fd, &brightness, sizeof(brightness));
		if (k < 0 && errno == EINTR)
			continue;
		if (k != (ssize_t)sizeof(brightness))
			return k < 0 ? fail("read") : 1;
		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		n = snprintf(line, sizeof(line), "%lld %d\n",
		             (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, brightness);
		if (write(STDOUT_FILENO, line, (size_t)n) != n)
			return fail("write");
	}
}

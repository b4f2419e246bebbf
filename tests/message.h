/* SPDX-License-Identifier: MIT */
/*
 * D-Bus messages for unit tests, without a bus daemon. sd-bus makes
 * messages only on a bus object that has been started; one started on one
 * end of a socket pair is enough, and nothing is ever sent on it. A
 * message is read back after sealing it (as sending would) and rewinding.
 */
#pragma once

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

/* A started bus on a socket pair, for making messages; NULL on failure. */
static inline sd_bus *test_message_bus(void)
{
	sd_bus *bus = NULL;
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
		return NULL;
	if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 ||
	    sd_bus_start(bus) < 0) {
		sd_bus_unref(bus);
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	/* The other end stays open for the test's life: the bus may write its greeting. */
	return bus;
}

/* A new, empty method call on @bus to append a value to. */
static inline int test_message_new(sd_bus *bus, sd_bus_message **ret)
{
	return sd_bus_message_new_method_call(bus, ret, "io.blinkd1.Test", "/io/blinkd1/test",
					      "io.blinkd1.Test", "Value");
}

/* Seal @m as sending would, and go back to its first value, for reading. */
static inline int test_message_seal(sd_bus_message *m)
{
	static uint64_t cookie;
	int r;

	r = sd_bus_message_seal(m, ++cookie, 0);
	if (r < 0)
		return r;
	r = sd_bus_message_rewind(m, true);
	return r < 0 ? r : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * blinkd as the bridge sees it: a remote object that knows whether
 * io.blinkd1 has an owner, what that blinkd offers and shows (layout
 * numbers, chip, version, running programs, definitions, lit lines), and
 * makes the calls that requests ask for. RemoteOps are the bridge's calls
 * into it, RemoteEvents what it tells the bridge. The real remote is
 * bridge-blinkd.c, over blinkd's D-Bus API; the unit tests put a fake
 * behind the same table.
 *
 * Owner: whoever made the remote object (blinkd-mqtt's main.c, or a test)
 * owns it; the bridge only borrows it. What the queries return belongs to
 * the remote and stays valid until its next event.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "request.h"

/* A call's answer: an error, or success with the new program's path for the start calls. */
typedef struct RemoteReply {
	const char *error_name; /* NULL: the call succeeded */
	const char *error_message;
	const char *path; /* Start, Replace, StartWithOptions: the program's object path */
} RemoteReply;

/* Called exactly once for every call that returned 0. */
typedef void (*RemoteReplyFn)(const RemoteReply *reply, void *userdata);

typedef struct RemoteOps {
	/* Begin watching for io.blinkd1; failures are retried, never fatal. */
	int (*watch)(void *remote);

	/* io.blinkd1 has an owner (and the bus is there). */
	bool (*present)(void *remote);
	/*
	 * Whether blinkd is there is known, and, when it is, what it offers:
	 * requests that come before wait for this.
	 */
	bool (*settled)(void *remote);
	/* The capability of StartWithOptions: requests with options need it. */
	bool (*has_start_with_options)(void *remote);

	/* Every line of the layout, row by row, then the lines outside; NULL until read. */
	const unsigned *(*numbers)(void *remote, size_t *ret_n);
	const char *(*chip)(void *remote);    /* NULL until read */
	const char *(*version)(void *remote); /* NULL until read */
	/* List() as [{"name": N, "program": P}], P as JSON; NULL until read. */
	json_object *(*running)(void *remote);
	/* ListDefinitions() the same way; NULL until read. */
	json_object *(*definitions)(void *remote);
	/* The definitions' names, NULL-terminated; NULL until read. */
	char *const *(*definition_names)(void *remote);
	/* The lit lines, as the last frame said. */
	const unsigned *(*lit)(void *remote, size_t *ret_n);

	/* Read the definitions anew; definitions_read comes when they are. */
	void (*refresh_definitions)(void *remote);

	/*
	 * The calls requests make. Each returns 0, and @reply comes later,
	 * once; or a negative errno with @error naming why the call could not
	 * be made, and no reply.
	 */
	int (*start)(void *remote, const char *name, const char *program, RemoteReplyFn reply,
		     void *userdata, RequestError *error);
	int (*replace)(void *remote, const char *name, const char *program, RemoteReplyFn reply,
		       void *userdata, RequestError *error);
	/*
	 * A start or replace with options (request.c checked them): its name,
	 * program and options, as StartWithOptions' a{sv} with "replace" for
	 * the replace verb (request_append_options()).
	 */
	int (*start_with_options)(void *remote, const Request *request, RemoteReplyFn reply,
				  void *userdata, RequestError *error);
	int (*stop)(void *remote, const char *name, RemoteReplyFn reply, void *userdata,
		    RequestError *error);
	int (*stop_all)(void *remote, RemoteReplyFn reply, void *userdata, RequestError *error);
} RemoteOps;

typedef struct RemoteEvents {
	/* io.blinkd1 got an owner: its state is being read. */
	void (*appeared)(void *userdata);
	/* It lost its owner, or the bus went: everything read from it is forgotten. */
	void (*vanished)(void *userdata);
	/* The bus answered that io.blinkd1 has no owner. */
	void (*absent)(void *userdata);
	/* settled() may have become true. */
	void (*settled)(void *userdata);
	/* The layout numbers, chip, version and lit lines were read anew. */
	void (*layout_changed)(void *userdata);
	/* A frame changed the lit lines. */
	void (*lit_changed)(void *userdata);
	/* running() changed. */
	void (*running_changed)(void *userdata);
	/* definitions() was read (again); @changed: it differs from before. */
	void (*definitions_read)(bool changed, void *userdata);
	/* The program @name finished with @result. */
	void (*finished)(const char *name, const char *result, void *userdata);
} RemoteEvents;

/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "start-options.h"
#include "timestamp.h"
#include "utf8.h"

static int refuse(StartOptionError *e, const char *fmt, ...) _printf_(2, 3);
static int refuse(StartOptionError *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_priority(const StartOption *row, const char *arg, usec_t now, void *value,
			  StartOptionError *e)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < row->min || v > row->max)
		return refuse(e, "--%s: \"%s\" is not an integer from %" PRId64 " to %" PRId64 ".",
			      row->name, arg, row->min, row->max);
	*(int32_t *)value = (int32_t)v;
	return 0;
}

static int parse_timeout(const StartOption *row, const char *arg, usec_t now, void *value,
			 StartOptionError *e)
{
	usec_t v;

	if (duration_parse_argument(arg, &v) < 0)
		return refuse(e, "--%s: \"%s\" is not a duration (0.25, 250ms, 1.5s, 2m, ...).",
			      row->name, arg);
	if (v < (usec_t)row->min)
		return refuse(e, "--%s: \"%s\" is shorter than %" PRId64 "us.", row->name, arg,
			      row->min);
	*(usec_t *)value = v;
	return 0;
}

static int parse_at(const StartOption *row, const char *arg, usec_t now, void *value,
		    StartOptionError *e)
{
	int r;

	r = timestamp_parse(arg, now, value);
	if (r == -ERANGE)
		return refuse(e, "--%s: \"%s\" is out of range.", row->name, arg);
	if (r < 0)
		return refuse(e, "--%s: \"%s\" is not a time: give RFC 3339 with a zone "
			      "(2026-11-30T17:00:00Z, 2026-11-30T18:00:00+01:00) or +DURATION.",
			      row->name, arg);
	return 0;
}

/* 0 is "none" to the daemon: a timeout or an "at" given as 0 says nothing it could do. */
static int check_timeout(const StartOption *row, const void *value, StartOptionError *e)
{
	if (*(const usec_t *)value == 0)
		return refuse(e, "%s: must be at least %" PRId64 " us, not 0", row->name, row->min);
	return 0;
}

static int check_at(const StartOption *row, const void *value, StartOptionError *e)
{
	if (*(const usec_t *)value == 0)
		return refuse(e, "%s: must be a CLOCK_REALTIME instant in microseconds, not 0",
			      row->name);
	return 0;
}

static const StartOption rows[] = {
	{
		.name = "priority",
		.type = 'i',
		.offset = offsetof(StartOptions, priority),
		.min = START_PRIORITY_MIN,
		.max = START_PRIORITY_MAX,
		.command_line = true,
		.argument = "N",
		.parse_argument = parse_priority,
	},
	{
		/* The client's replace verb, not an option there. */
		.name = "replace",
		.type = 'b',
		.offset = offsetof(StartOptions, replace),
		.max = 1,
	},
	{
		.name = "bind",
		.type = 'b',
		.offset = offsetof(StartOptions, bind),
		.max = 1,
		.command_line = true,
	},
	{
		.name = "persist",
		.type = 'b',
		.offset = offsetof(StartOptions, persist),
		.max = 1,
		.command_line = true,
	},
	{
		.name = "timeout",
		.type = 't',
		.offset = offsetof(StartOptions, timeout),
		.min = START_TIMEOUT_MIN,
		.max = START_SPAN_MAX,
		.command_line = true,
		.argument = "DURATION",
		.parse_argument = parse_timeout,
		.check = check_timeout,
	},
	{
		.name = "at",
		.type = 't',
		.offset = offsetof(StartOptions, at),
		.min = 1,
		.max = INT64_MAX,
		.command_line = true,
		.argument = "TIME",
		.parse_argument = parse_at,
		.check = check_at,
	},
};

const StartOptionTable start_option_table = {
	.rows = rows,
	.n_rows = ELEMENTSOF(rows),
};

static void *value_of(const StartOption *row, StartOptions *o)
{
	return (uint8_t *)o + row->offset;
}

static const void *const_value_of(const StartOption *row, const StartOptions *o)
{
	return (const uint8_t *)o + row->offset;
}

static uint64_t bit_of(const StartOptionTable *t, const StartOption *row)
{
	return UINT64_C(1) << (size_t)(row - t->rows);
}

const StartOption *start_option_find(const StartOptionTable *t, const char *name)
{
	for (size_t i = 0; i < t->n_rows && i < 64; i++)
		if (streq(t->rows[i].name, name))
			return &t->rows[i];
	return NULL;
}

bool start_options_given(const StartOptionTable *t, const StartOptions *o, const StartOption *row)
{
	return o->given & bit_of(t, row);
}

int start_options_set_bool(const StartOptionTable *t, StartOptions *o, const char *name,
			   bool value)
{
	const StartOption *row = start_option_find(t, name);

	if (!row || row->type != 'b')
		return -EINVAL;
	*(bool *)value_of(row, o) = value;
	o->given |= bit_of(t, row);
	return 0;
}

/* "priority, replace, bind, ..." into @buf, for the messages about an unknown key. */
static const char *names(const StartOptionTable *t, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->n_rows && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i > 0 ? ", " : "", t->rows[i].name);
	return buf;
}

int start_options_parse_argument(const StartOptionTable *t, const StartOption *row,
				 const char *arg, usec_t now, StartOptions *o, StartOptionError *e)
{
	int r;

	if (!row->command_line)
		return refuse(e, "--%s: not an option of the command line.", row->name);
	if (start_options_given(t, o, row))
		return refuse(e, "--%s: given twice.", row->name);
	if (row->parse_argument) {
		r = row->parse_argument(row, arg, now, value_of(row, o), e);
		if (r < 0)
			return r;
	} else if (row->type == 'b')
		*(bool *)value_of(row, o) = true;
	else
		return -EINVAL; /* a row of a value that does not say how to parse it */
	o->given |= bit_of(t, row);
	return 0;
}

int start_options_parse_json(const StartOptionTable *t, json_object *j, const char *path,
			     StartOptions *o, StartOptionError *e)
{
	char known[256];

	if (!json_object_is_type(j, json_type_object))
		return refuse(e, "%s: must be an object", path);
	json_object_object_foreach(j, key, v) {
		const StartOption *row = start_option_find(t, key);
		void *value;
		int64_t n;

		if (!row)
			return refuse(e, "%s.%s: unknown option (known: %s)", path, key,
				      names(t, known, sizeof(known)));
		value = value_of(row, o);
		switch (row->type) {
		case 'b':
			if (!json_object_is_type(v, json_type_boolean))
				return refuse(e, "%s.%s: must be true or false", path, key);
			*(bool *)value = json_object_get_boolean(v);
			break;
		case 't':
			/* json-c keeps integers up to 2^64-1; doubles are not microseconds. */
			if (!json_object_is_type(v, json_type_int))
				return refuse(e, "%s.%s: must be an integer of microseconds", path,
					      key);
			if (json_object_get_int64(v) < 0)
				return refuse(e, "%s.%s: must not be negative", path, key);
			*(usec_t *)value = json_object_get_uint64(v);
			break;
		case 'i':
			if (!json_object_is_type(v, json_type_int))
				return refuse(e, "%s.%s: must be an integer", path, key);
			n = json_object_get_int64(v);
			if (n < INT32_MIN || n > INT32_MAX)
				return refuse(e, "%s.%s: must fit in 32 bits", path, key);
			*(int32_t *)value = (int32_t)n;
			break;
		default:
			return -EINVAL;
		}
		o->given |= bit_of(t, row);
	}
	return 0;
}

int start_options_append(const StartOptionTable *t, const StartOptions *o, sd_bus_message *m)
{
	int r;

	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	for (size_t i = 0; i < t->n_rows; i++) {
		const StartOption *row = &t->rows[i];
		const void *value = const_value_of(row, o);

		if (!start_options_given(t, o, row))
			continue;
		switch (row->type) {
		case 'b':
			r = sd_bus_message_append(m, "{sv}", row->name, "b", (int)*(const bool *)value);
			break;
		case 'i':
			r = sd_bus_message_append(m, "{sv}", row->name, "i", *(const int32_t *)value);
			break;
		case 't':
			r = sd_bus_message_append(m, "{sv}", row->name, "t",
						  (uint64_t)*(const usec_t *)value);
			break;
		default:
			r = -EINVAL;
		}
		if (r < 0)
			return r;
	}
	r = sd_bus_message_close_container(m);
	return r < 0 ? r : 0;
}

/* A message that does not parse is never -EINVAL: that is a refused option's. */
static int bad_message(int r)
{
	return r == -EINVAL ? -EBADMSG : r;
}

int start_options_read(const StartOptionTable *t, sd_bus_message *m, StartOptions *o,
		       StartOptionError *e)
{
	char known[256];
	int r;

	e->message[0] = '\0';
	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return bad_message(r);
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const StartOption *row;
		const char *key, *contents;
		char type_string[2] = {};
		void *value;
		int b = 0;

		if ((r = sd_bus_message_read_basic(m, 's', &key)) < 0 ||
		    (r = sd_bus_message_peek_type(m, NULL, &contents)) < 0)
			return bad_message(r);
		row = start_option_find(t, key);
		if (!row)
			return refuse(e, "unknown option \"%s\" (expected %s)",
				      QUOTE(key, QUOTE_CHARS_MAX), names(t, known, sizeof(known)));
		if (start_options_given(t, o, row))
			return refuse(e, "%s: given twice", key);
		o->given |= bit_of(t, row);
		type_string[0] = row->type;
		if (!streq(contents, type_string))
			return refuse(e, "%s: must be of type \"%s\", not \"%.20s\"", key, type_string,
				      contents);
		value = value_of(row, o);
		/* sd-bus reads a 'b' as an int. */
		if ((r = sd_bus_message_enter_container(m, 'v', type_string)) < 0 ||
		    (r = sd_bus_message_read_basic(m, row->type, row->type == 'b' ? &b : value)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0)
			return bad_message(r);
		if (row->type == 'b')
			*(bool *)value = b;
		if (row->check) {
			r = row->check(row, value, e);
			if (r < 0)
				return r;
		}
	}
	if (r < 0)
		return bad_message(r);
	r = sd_bus_message_exit_container(m);
	return r < 0 ? bad_message(r) : 0;
}

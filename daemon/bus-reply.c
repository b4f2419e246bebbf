/* SPDX-License-Identifier: MIT */
/*
 * Replies that list every program (List, ListDefinitions, GetManagedObjects,
 * the introspection of /io/blinkd1/program) are built in slices, so that no
 * call holds the loop from a due edge: with 10,000 programs, building one
 * such reply whole took milliseconds.
 *
 * When the call arrives, the reply takes a snapshot of what it lists: a
 * reference on each Running or Definition, so the client sees the state as
 * of its call, however the programs change meanwhile. A defer source below
 * the engine's timer in priority appends entries for at most SLICE_BUDGET
 * per dispatch, then lets the loop turn (the timer fires in between when an
 * edge is due), and sends the reply when it is whole. Replies go out in the
 * order their calls came.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-names.h"
#include "bus-program.h"
#include "bus-reply.h"
#include "log.h"

/* Work per dispatch: well under the 500us an edge may wait for a call. */
#define SLICE_BUDGET (150 * NSEC_PER_USEC)
/*
 * Entries between two looks at the clock: a program's object in
 * GetManagedObjects costs some microseconds, a List entry a fraction of one.
 */
#define SLICE_STRIDE 16
#define SLICE_STRIDE_OBJECTS 1

struct SlicedReply {
	SlicedReply *next;
	Manager *manager;	/* pinned while the reply lists programs */
	SliceKind kind;
	sd_bus_message *call;
	sd_bus_message *reply;	/* being built; NULL for the introspection (text) */
	void **items;		/* Definition *, each referenced; Running *, pinned */
	size_t n_items, done;
	char *text;		/* introspection XML being built */
	size_t text_len, text_cap;
};

static bool kind_lists_definitions(SliceKind kind)
{
	return kind == SLICE_DEFINITIONS;
}

static void item_unref(SlicedReply *s, size_t i)
{
	if (kind_lists_definitions(s->kind))
		definition_unref(s->items[i]);
	s->items[i] = NULL;
}

static SlicedReply *sliced_reply_free(SlicedReply *s)
{
	if (!s)
		return NULL;
	/* Those not appended yet: a reply given up (the bus closing, an error). */
	for (size_t i = s->done; i < s->n_items; i++)
		item_unref(s, i);
	if (s->manager)
		manager_unpin_running(s->manager);
	free(s->items);
	free(s->text);
	sd_bus_message_unref(s->call);
	sd_bus_message_unref(s->reply);
	free(s);
	return NULL;
}

void bus_replies_free(Bus *b)
{
	while (b->replies) {
		SlicedReply *s = b->replies;
		b->replies = s->next;
		sliced_reply_free(s);
	}
	b->replies_last = NULL;
}

static int text_append(SlicedReply *s, const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
	size_t need = s->text_len + la + lb + lc + 1;

	if (need > s->text_cap) {
		size_t cap = need * 2;
		char *t = realloc(s->text, cap);
		if (!t)
			return -ENOMEM;
		s->text = t;
		s->text_cap = cap;
	}
	memcpy(s->text + s->text_len, a, la);
	if (b)
		memcpy(s->text + s->text_len + la, b, lb);
	if (c)
		memcpy(s->text + s->text_len + la + lb, c, lc);
	s->text_len += la + lb + lc;
	s->text[s->text_len] = '\0';
	return 0;
}

/* The interfaces every object here has, as sd-bus implements them. */
static const char introspection_head[] =
	"<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
	"\"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"
	"<node>\n"
	" <interface name=\"org.freedesktop.DBus.Peer\">\n"
	"  <method name=\"Ping\"/>\n"
	"  <method name=\"GetMachineId\"><arg type=\"s\" name=\"machine_uuid\" direction=\"out\"/></method>\n"
	" </interface>\n"
	" <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
	"  <method name=\"Introspect\"><arg name=\"xml_data\" type=\"s\" direction=\"out\"/></method>\n"
	" </interface>\n"
	" <interface name=\"org.freedesktop.DBus.Properties\">\n"
	"  <method name=\"Get\"><arg name=\"interface_name\" direction=\"in\" type=\"s\"/>"
	"<arg name=\"property_name\" direction=\"in\" type=\"s\"/>"
	"<arg name=\"value\" direction=\"out\" type=\"v\"/></method>\n"
	"  <method name=\"GetAll\"><arg name=\"interface_name\" direction=\"in\" type=\"s\"/>"
	"<arg name=\"props\" direction=\"out\" type=\"a{sv}\"/></method>\n"
	"  <method name=\"Set\"><arg name=\"interface_name\" direction=\"in\" type=\"s\"/>"
	"<arg name=\"property_name\" direction=\"in\" type=\"s\"/>"
	"<arg name=\"value\" direction=\"in\" type=\"v\"/></method>\n"
	"  <signal name=\"PropertiesChanged\"><arg type=\"s\" name=\"interface_name\"/>"
	"<arg type=\"a{sv}\" name=\"changed_properties\"/>"
	"<arg type=\"as\" name=\"invalidated_properties\"/></signal>\n"
	" </interface>\n";

/* Begin the reply: open its outer containers (or the XML). */
static int reply_begin(SlicedReply *s)
{
	int k;

	if (s->kind == SLICE_INTROSPECT_PROGRAMS)
		return text_append(s, introspection_head, NULL, NULL);
	k = sd_bus_message_new_method_return(s->call, &s->reply);
	if (k < 0)
		return k;
	return sd_bus_message_open_container(s->reply, 'a',
					     s->kind == SLICE_MANAGED_OBJECTS ? "{oa{sa{sv}}}" : "(ss)");
}

static int append_name_and_program(sd_bus_message *m, const char *name, const char *canonical)
{
	int k;

	/* Basic appends, not sd_bus_message_append(): no signature to parse per entry. */
	if ((k = sd_bus_message_open_container(m, 'r', "ss")) < 0 ||
	    (k = sd_bus_message_append_basic(m, 's', name)) < 0 ||
	    (k = sd_bus_message_append_basic(m, 's', canonical)) < 0)
		return k;
	return sd_bus_message_close_container(m);
}

/* One object of GetManagedObjects: its path, the standard interfaces and io.blinkd1.Program. */
static int append_managed_object(sd_bus_message *m, Running *r)
{
	static const char *const standard[] = { "org.freedesktop.DBus.Peer",
						 "org.freedesktop.DBus.Introspectable",
						 "org.freedesktop.DBus.Properties" };
	_cleanup_(freep) char *path = NULL;
	int k;

	k = bus_program_path(r->name, &path);
	if (k < 0)
		return k;
	if ((k = sd_bus_message_open_container(m, 'e', "oa{sa{sv}}")) < 0 ||
	    (k = sd_bus_message_append_basic(m, 'o', path)) < 0 ||
	    (k = sd_bus_message_open_container(m, 'a', "{sa{sv}}")) < 0)
		return k;
	for (size_t i = 0; i < ELEMENTSOF(standard); i++)
		if ((k = sd_bus_message_open_container(m, 'e', "sa{sv}")) < 0 ||
		    (k = sd_bus_message_append_basic(m, 's', standard[i])) < 0 ||
		    (k = sd_bus_message_open_container(m, 'a', "{sv}")) < 0 ||
		    (k = sd_bus_message_close_container(m)) < 0 ||
		    (k = sd_bus_message_close_container(m)) < 0)
			return k;
	if ((k = sd_bus_message_open_container(m, 'e', "sa{sv}")) < 0 ||
	    (k = sd_bus_message_append_basic(m, 's', BLINKD_PROGRAM_INTERFACE)) < 0 ||
	    (k = bus_program_append_properties(m, r)) < 0 ||
	    (k = sd_bus_message_close_container(m)) < 0 ||
	    (k = sd_bus_message_close_container(m)) < 0)
		return k;
	return sd_bus_message_close_container(m);
}

static int append_child_node(SlicedReply *s, Running *r)
{
	_cleanup_(freep) char *path = NULL;
	int k;

	k = bus_program_path(r->name, &path);
	if (k < 0)
		return k;
	return text_append(s, " <node name=\"", path + strlen(BLINKD_PROGRAM_PATH_PREFIX "/"),
			   "\"/>\n");
}

static int append_item(SlicedReply *s, void *item)
{
	switch (s->kind) {
	case SLICE_LIST: {
		Running *r = item;
		return append_name_and_program(s->reply, r->name, r->canonical);
	}
	case SLICE_DEFINITIONS: {
		Definition *d = item;
		return append_name_and_program(s->reply, d->name, d->canonical);
	}
	case SLICE_MANAGED_OBJECTS:
		return append_managed_object(s->reply, item);
	case SLICE_INTROSPECT_PROGRAMS:
		return append_child_node(s, item);
	default:
		return -EINVAL;
	}
}

static int reply_finish(SlicedReply *s)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int k;

	if (s->kind != SLICE_INTROSPECT_PROGRAMS) {
		k = sd_bus_message_close_container(s->reply);
		if (k < 0)
			return k;
		return sd_bus_send(NULL, s->reply, NULL);
	}
	k = text_append(s, "</node>\n", NULL, NULL);
	if (k < 0)
		return k;
	k = sd_bus_message_new_method_return(s->call, &m);
	if (k < 0)
		return k;
	k = sd_bus_message_append_basic(m, 's', s->text);
	if (k < 0)
		return k;
	return sd_bus_send(NULL, m, NULL);
}

static uint64_t now_nsec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Work on the oldest reply for one slice; sends it when it is whole. */
static int on_slice(sd_event_source *source, void *userdata)
{
	Bus *b = userdata;
	SlicedReply *s = b->replies;
	uint64_t deadline = now_nsec() + SLICE_BUDGET;
	size_t stride;
	int k = 0;

	if (!s)
		return sd_event_source_set_enabled(source, SD_EVENT_OFF);
	stride = s->kind == SLICE_MANAGED_OBJECTS ? SLICE_STRIDE_OBJECTS : SLICE_STRIDE;
	while (s->done < s->n_items) {
		/*
		 * A definition's reference goes as its entry is appended, so
		 * the last slice does not drop them all at once.
		 */
		k = append_item(s, s->items[s->done]);
		item_unref(s, s->done++);
		if (k < 0)
			break;
		if (s->done % stride == 0 && now_nsec() >= deadline)
			return 0; /* the rest in the next slice, after whatever is due */
	}
	if (k >= 0)
		k = reply_finish(s);
	if (k < 0) {
		(void)log_warning_errno(k, "Failed to build a reply: %m");
		(void)sd_bus_reply_method_errno(s->call, k, NULL);
	}
	b->replies = s->next;
	if (!b->replies)
		b->replies_last = NULL;
	sliced_reply_free(s);
	if (!b->replies)
		(void)sd_event_source_set_enabled(source, SD_EVENT_OFF);
	return 0;
}

int bus_reply_sliced(Bus *b, sd_bus_message *call, SliceKind kind)
{
	const NameTable *table = kind_lists_definitions(kind) ? &b->manager->registry.definitions
							       : &b->manager->registry.running;
	SlicedReply *s;
	int k;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->kind = kind;
	s->call = sd_bus_message_ref(call);
	s->items = calloc(table->n + 1, sizeof(void *));
	if (!s->items) {
		sliced_reply_free(s);
		return -ENOMEM;
	}
	/*
	 * The snapshot, in name order, as the call finds them: definitions
	 * referenced (they are few), programs pinned (manager.h says why).
	 */
	for (size_t i = 0; i < table->n; i++)
		s->items[s->n_items++] = kind_lists_definitions(kind)
						 ? (void *)definition_ref(table->entries[i].value)
						 : table->entries[i].value;
	if (!kind_lists_definitions(kind)) {
		s->manager = b->manager;
		manager_pin_running(s->manager);
	}
	k = reply_begin(s);
	if (k < 0) {
		sliced_reply_free(s);
		return k;
	}
	if (b->replies_last)
		b->replies_last->next = s;
	else
		b->replies = s;
	b->replies_last = s;
	(void)sd_event_source_set_enabled(b->slicer, SD_EVENT_ON);
	return 1;
}

int bus_replies_init(Bus *b)
{
	int k;

	k = sd_event_add_defer(b->manager->event, &b->slicer, on_slice, b);
	if (k < 0)
		return log_error_errno(k, "Failed to add the reply event: %m");
	(void)sd_event_source_set_enabled(b->slicer, SD_EVENT_OFF);
	/* Below the engine's timer: an edge that falls due goes first. */
	(void)sd_event_source_set_priority(b->slicer, SD_EVENT_PRIORITY_NORMAL);
	(void)sd_event_source_set_description(b->slicer, "sliced-replies");
	return 0;
}

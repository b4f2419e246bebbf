/* SPDX-License-Identifier: MIT */
/*
 * The remote blinkd (remote.h). Its life follows the owner of io.blinkd1:
 *
 *   unknown --GetNameOwner answers / NameOwnerChanged--> no owner | owner
 *   owner: Subscribe(), probe StartWithOptions, GetAll, List(), ListDefinitions()
 *          as the flags ask; signals keep the caches
 *   owner --NameOwnerChanged--> no owner, or another owner (caches dropped, asked anew)
 *   any --Disconnected--> unknown (until the caller makes a new remote on a new bus)
 *
 * Every reply slot is dropped when the owner changes, so a reply from the
 * old owner never lands in the new owner's caches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "lines.h"
#include "log.h"
#include "properties.h"
#include "remote.h"
#include "strv.h"

#define FLAGS_SUBSCRIBE (BLINKD_REMOTE_FRAMES | BLINKD_REMOTE_LIT | BLINKD_REMOTE_LEVELS)
#define FLAGS_PROPERTIES                                                                           \
	(BLINKD_REMOTE_LIT | BLINKD_REMOTE_LEVELS | BLINKD_REMOTE_LINES | BLINKD_REMOTE_CHIPS)

/*
 * A list of programs the remote keeps from the a(ss) a method of the
 * Manager returns: List() or ListDefinitions(). One call in flight at a
 * time; @again asks for one more after it.
 */
typedef struct RemoteList {
	BlinkdRemote *remote; /* the remote it is part of */
	const char *method;
	sd_bus_slot *slot;
	bool again;
	BlinkdRemoteProgram *items; /* NULL until a reply was read */
	size_t n_items;
} RemoteList;

struct BlinkdRemote {
	unsigned n_ref; /* the user's, and one per callback being dispatched */
	bool freed;	/* blinkd_remote_free() was called: no more callbacks */

	sd_bus *bus;
	unsigned flags;
	const BlinkdRemoteOps *ops;
	void *userdata;

	sd_bus_slot *owner_match, *disconnected_match, *frame_match, *levels_match;
	sd_bus_slot *finished_match, *added_match, *removed_match, *properties_match;

	bool owner_known;
	char *owner;
	unsigned generation;
	bool early_subscribe; /* a Subscribe() went out right behind GetNameOwner */

	/* while there is an owner */
	sd_bus_slot *owner_slot, *subscribe_slot, *probe_slot, *properties_slot;
	bool subscribed;
	bool probed, has_start_with_options;
	bool properties_again;
	uint64_t state_cookie; /* Frames and Levels older than the GetAll reply are stale */

	unsigned *lit;
	size_t n_lit;
	BlinkdLevel *levels;
	size_t n_levels;
	unsigned *matrix; /* the Layout property, row-major */
	unsigned n_rows, n_cols;
	Layout *layout;
	char **labels;
	char *chip, *version;
	BlinkdChip *chips;
	size_t n_chips;
	RemoteList programs;    /* List() */
	RemoteList definitions; /* ListDefinitions() */
};

/* ------------------------------------------------------------ lifetime */

static BlinkdRemote *remote_ref(BlinkdRemote *r)
{
	r->n_ref++;
	return r;
}

static void programs_free(BlinkdRemoteProgram *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].program);
	}
	free(p);
}

static void remote_list_forget(RemoteList *list)
{
	list->slot = sd_bus_slot_unref(list->slot);
	list->again = false;
	programs_free(list->items, list->n_items);
	list->items = NULL;
	list->n_items = 0;
}

/* Drop everything that belongs to the present owner: its calls in flight and its caches. */
static void remote_forget(BlinkdRemote *r)
{
	r->subscribe_slot = sd_bus_slot_unref(r->subscribe_slot);
	r->probe_slot = sd_bus_slot_unref(r->probe_slot);
	r->properties_slot = sd_bus_slot_unref(r->properties_slot);
	r->subscribed = r->probed = r->has_start_with_options = false;
	r->properties_again = false;
	r->state_cookie = 0;
	free(r->owner);
	r->owner = NULL;
	free(r->lit);
	r->lit = NULL;
	r->n_lit = 0;
	free(r->levels);
	r->levels = NULL;
	r->n_levels = 0;
	free(r->matrix);
	r->matrix = NULL;
	r->n_rows = r->n_cols = 0;
	r->layout = layout_free(r->layout);
	r->labels = strv_free(r->labels);
	free(r->chip);
	free(r->version);
	r->chip = r->version = NULL;
	blinkd_chips_free(r->chips, r->n_chips);
	r->chips = NULL;
	r->n_chips = 0;
	remote_list_forget(&r->programs);
	remote_list_forget(&r->definitions);
}

static void remote_drop_slots(BlinkdRemote *r)
{
	r->owner_match = sd_bus_slot_unref(r->owner_match);
	r->disconnected_match = sd_bus_slot_unref(r->disconnected_match);
	r->frame_match = sd_bus_slot_unref(r->frame_match);
	r->levels_match = sd_bus_slot_unref(r->levels_match);
	r->finished_match = sd_bus_slot_unref(r->finished_match);
	r->added_match = sd_bus_slot_unref(r->added_match);
	r->removed_match = sd_bus_slot_unref(r->removed_match);
	r->properties_match = sd_bus_slot_unref(r->properties_match);
	r->owner_slot = sd_bus_slot_unref(r->owner_slot);
}

static void remote_unref(BlinkdRemote *r)
{
	if (!r || --r->n_ref > 0)
		return;
	remote_drop_slots(r);
	remote_forget(r);
	sd_bus_unref(r->bus);
	free(r);
}

static void remote_unrefp(BlinkdRemote **r)
{
	remote_unref(*r);
}

/* Held by every callback from sd-bus: a user callback may free the remote. */
#define REMOTE_HOLD(r) _cleanup_(remote_unrefp) _unused_ BlinkdRemote *_hold_ = remote_ref(r)

/* Call ops->@member if set; evaluates to whether the remote is still in use after it. */
#define EMIT(r, member, ...)                                                                       \
	({                                                                                         \
		if (!(r)->freed && (r)->ops && (r)->ops->member)                                   \
			(r)->ops->member((r), ##__VA_ARGS__, (r)->userdata);                       \
		!(r)->freed;                                                                       \
	})

BlinkdRemote *blinkd_remote_free(BlinkdRemote *r)
{
	if (!r || r->freed)
		return NULL;
	r->freed = true;
	/* Not subscribed any more: the daemon stops sending frames nobody reads. */
	if (r->subscribed && r->owner && sd_bus_is_open(r->bus) > 0)
		(void)sd_bus_call_method_async(r->bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					       BLINKD_MANAGER_INTERFACE, "Unsubscribe", NULL, NULL,
					       NULL);
	remote_drop_slots(r);
	remote_forget(r);
	remote_unref(r);
	return NULL;
}

/* -------------------------------------------------------------- getters */

sd_bus *blinkd_remote_get_bus(const BlinkdRemote *r)
{
	return r->bus;
}

const char *blinkd_remote_get_owner(const BlinkdRemote *r)
{
	return r->owner;
}

unsigned blinkd_remote_get_generation(const BlinkdRemote *r)
{
	return r->generation;
}

bool blinkd_remote_is_settled(const BlinkdRemote *r)
{
	return r->owner_known &&
	       (!r->owner || !(r->flags & BLINKD_REMOTE_CAPABILITIES) || r->probed);
}

bool blinkd_remote_has_start_with_options(const BlinkdRemote *r)
{
	return r->has_start_with_options;
}

const unsigned *blinkd_remote_get_lit(const BlinkdRemote *r, size_t *ret_n)
{
	*ret_n = r->n_lit;
	return r->lit;
}

const BlinkdLevel *blinkd_remote_get_levels(const BlinkdRemote *r, size_t *ret_n)
{
	*ret_n = r->n_levels;
	return r->levels;
}

const Layout *blinkd_remote_get_layout(const BlinkdRemote *r)
{
	return r->layout;
}

char *const *blinkd_remote_get_labels(const BlinkdRemote *r)
{
	return r->labels;
}

const char *blinkd_remote_get_chip(const BlinkdRemote *r)
{
	return r->chip;
}

const char *blinkd_remote_get_version(const BlinkdRemote *r)
{
	return r->version;
}

const BlinkdChip *blinkd_remote_get_chips(const BlinkdRemote *r, size_t *ret_n)
{
	*ret_n = r->n_chips;
	return r->chips;
}

const BlinkdRemoteProgram *blinkd_remote_get_programs(const BlinkdRemote *r, size_t *ret_n)
{
	*ret_n = r->programs.n_items;
	return r->programs.items;
}

const BlinkdRemoteProgram *blinkd_remote_get_definitions(const BlinkdRemote *r, size_t *ret_n)
{
	*ret_n = r->definitions.n_items;
	return r->definitions.items;
}

/* --------------------------------------------------- programs, definitions */

/* An a(ss) of List() or ListDefinitions(). */
static int read_programs(sd_bus_message *m, BlinkdRemoteProgram **ret, size_t *ret_n)
{
	BlinkdRemoteProgram *v = NULL;
	size_t n = 0;
	const char *name, *text;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "(ss)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(ss)", &name, &text)) > 0) {
		BlinkdRemoteProgram *grown = realloc(v, (n + 1) * sizeof(*v));

		if (!grown) {
			r = -ENOMEM;
			break;
		}
		v = grown;
		v[n].name = strdup(name);
		v[n].program = strdup(text);
		n++;
		if (!v[n - 1].name || !v[n - 1].program) {
			r = -ENOMEM;
			break;
		}
	}
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	if (r < 0) {
		programs_free(v, n);
		return r;
	}
	/* Read, even if empty: not NULL, which means "not read yet". */
	if (!v && !(v = calloc(1, sizeof(*v))))
		return -ENOMEM;
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool programs_equal(const BlinkdRemoteProgram *a, size_t n_a, const BlinkdRemoteProgram *b,
			   size_t n_b)
{
	if (!a || !b || n_a != n_b)
		return false;
	for (size_t i = 0; i < n_a; i++)
		if (!streq(a[i].name, b[i].name) || !streq(a[i].program, b[i].program))
			return false;
	return true;
}

static void remote_list_refresh(RemoteList *list);

static int on_list_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	RemoteList *list = userdata;
	BlinkdRemote *r = list->remote;
	REMOTE_HOLD(r);
	BlinkdRemoteProgram *v = NULL;
	size_t n = 0;
	int k;

	list->slot = sd_bus_slot_unref(list->slot);
	if (sd_bus_message_is_method_error(m, NULL))
		log_warning("%s() failed: %s", list->method, sd_bus_message_get_error(m)->message);
	else if ((k = read_programs(m, &v, &n)) < 0)
		log_warning_errno(k, "Failed to read the reply of %s(): %m", list->method);
	else {
		bool changed = !programs_equal(list->items, list->n_items, v, n);

		programs_free(list->items, list->n_items);
		list->items = v;
		list->n_items = n;
		if (list == &r->programs ? !EMIT(r, programs_read, changed)
					 : !EMIT(r, definitions_read, changed))
			return 0;
	}
	if (list->again) {
		list->again = false;
		remote_list_refresh(list);
	}
	return 0;
}

static void remote_list_refresh(RemoteList *list)
{
	BlinkdRemote *r = list->remote;
	int k;

	if (!r->owner || r->freed)
		return;
	if (list->slot) {
		list->again = true;
		return;
	}
	k = sd_bus_call_method_async(r->bus, &list->slot, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				     BLINKD_MANAGER_INTERFACE, list->method, on_list_reply, list,
				     NULL);
	if (k < 0)
		log_warning_errno(k, "Failed to call %s(): %m", list->method);
}

void blinkd_remote_refresh_programs(BlinkdRemote *r)
{
	remote_list_refresh(&r->programs);
}

void blinkd_remote_refresh_definitions(BlinkdRemote *r)
{
	remote_list_refresh(&r->definitions);
}

/* ------------------------------------------------------ lit and levels */

/* The lit numbers of the levels, for the Lit cache. */
static int lit_of_levels(const BlinkdLevel *levels, size_t n, unsigned **ret)
{
	unsigned *v = malloc(n ? n * sizeof(unsigned) : 1);

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = levels[i].number;
	*ret = v;
	return 0;
}

/* Whether a signal of the daemon's is older than the state read with GetAll. */
static bool signal_is_stale(const BlinkdRemote *r, sd_bus_message *m)
{
	uint64_t cookie;

	return r->state_cookie > 0 && sd_bus_message_get_cookie(m, &cookie) >= 0 &&
	       cookie < r->state_cookie;
}

static int on_frame(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;
	REMOTE_HOLD(r);
	_cleanup_(freep) unsigned *lit = NULL;
	BlinkdLevel *levels = NULL;
	uint64_t usec;
	size_t n;
	int k;

	if (!r->owner || signal_is_stale(r, m))
		return 0;
	k = sd_bus_message_read_basic(m, 't', &usec);
	if (k >= 0)
		k = properties_read_lit(m, &lit, &n);
	if (k < 0) {
		log_warning_errno(k, "Ignoring a Frame signal that does not parse: %m");
		return 0;
	}
	if (!EMIT(r, frame, usec, lit, n))
		return 0;
	if (!(r->flags & (BLINKD_REMOTE_LIT | BLINKD_REMOTE_LEVELS)))
		return 0;
	if ((r->flags & BLINKD_REMOTE_LEVELS) &&
	    properties_levels_of_lit(r->levels, r->n_levels, lit, n, &levels) < 0)
		return log_oom(), 0;
	if (levels) {
		free(r->levels);
		r->levels = levels;
		r->n_levels = n;
	}
	free(r->lit);
	r->lit = TAKE_PTR(lit);
	r->n_lit = n;
	if (!EMIT(r, lit_changed))
		return 0;
	if (r->flags & BLINKD_REMOTE_LEVELS)
		(void)EMIT(r, levels_changed);
	return 0;
}

static int on_levels(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;
	REMOTE_HOLD(r);
	BlinkdLevel *levels = NULL;
	unsigned *lit = NULL;
	uint64_t usec;
	size_t n;
	int k;

	if (!r->owner || signal_is_stale(r, m))
		return 0;
	k = sd_bus_message_read_basic(m, 't', &usec);
	if (k >= 0)
		k = properties_read_levels(m, &levels, &n);
	if (k < 0) {
		log_warning_errno(k, "Ignoring a Levels signal that does not parse: %m");
		return 0;
	}
	if (lit_of_levels(levels, n, &lit) < 0) {
		free(levels);
		return log_oom(), 0;
	}
	free(r->levels);
	r->levels = levels;
	r->n_levels = n;
	free(r->lit);
	r->lit = lit;
	r->n_lit = n;
	if (!EMIT(r, lit_changed))
		return 0;
	(void)EMIT(r, levels_changed);
	return 0;
}

/* ------------------------------------------------------------ properties */

/*
 * The layout anew: from the Lines value at @lines (a(sssa{sv})) with the
 * matrix of Layout, or from the matrix alone when @lines is NULL (a daemon
 * without Lines).
 */
static int remote_set_layout(BlinkdRemote *r, sd_bus_message *lines)
{
	Layout *l = NULL;
	char **labels = NULL;
	int k;

	if (lines)
		k = lines_read_layout(lines, r->n_rows, r->n_cols, r->matrix, &l, &labels);
	else if (r->n_rows > 0)
		k = layout_new(&l, r->n_rows, r->n_cols, r->matrix);
	else
		k = -EBADMSG;
	if (k < 0)
		return k;
	layout_free(r->layout);
	strv_free(r->labels);
	r->layout = l;
	r->labels = labels;
	return 0;
}

static int read_string_into(sd_bus_message *m, char **ret)
{
	const char *s;
	char *copy;
	int r;

	r = sd_bus_message_read_basic(m, 's', &s);
	if (r < 0)
		return r;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	free(*ret);
	*ret = copy;
	return 0;
}

/* Which caches one reading of properties touched. */
typedef struct PropertiesRead {
	bool lit, levels, lines, chips;
} PropertiesRead;

/*
 * An a{sv} of Manager properties at @m (GetAll's reply, or the changed ones
 * of PropertiesChanged), into the caches the flags ask for. Layout is read
 * before Lines whatever their order, as Lines needs its matrix.
 */
static int read_properties(BlinkdRemote *r, sd_bus_message *m, PropertiesRead *ret)
{
	PropertiesRead done = {};
	bool lines_seen = false;
	const char *key;
	int k;

	k = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (k < 0)
		return k;
	for (int pass = 0; pass < 2; pass++) {
		/* Back to the first entry of the dict. */
		if (pass == 1 && (k = sd_bus_message_rewind(m, false)) < 0)
			return k;
		while ((k = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
			bool lines = r->flags & BLINKD_REMOTE_LINES;

			k = sd_bus_message_read_basic(m, 's', &key);
			if (k < 0)
				return k;
			if (pass == 0 && lines && streq(key, "Layout")) {
				free(r->matrix);
				r->matrix = NULL;
				k = sd_bus_message_enter_container(m, 'v', "aau");
				if (k >= 0)
					k = lines_read_matrix(m, &r->matrix, &r->n_rows,
							      &r->n_cols);
				if (k >= 0)
					k = sd_bus_message_exit_container(m);
				done.lines = true;
			} else if (pass == 1 && lines && streq(key, "Lines")) {
				k = sd_bus_message_enter_container(m, 'v', "a(sssa{sv})");
				if (k >= 0)
					k = remote_set_layout(r, m);
				if (k >= 0)
					k = sd_bus_message_exit_container(m);
				lines_seen = done.lines = true;
			} else if (pass == 1 && lines &&
				   (streq(key, "Chip") || streq(key, "Version"))) {
				k = sd_bus_message_enter_container(m, 'v', "s");
				if (k >= 0)
					k = read_string_into(m, streq(key, "Chip") ? &r->chip
										   : &r->version);
				if (k >= 0)
					k = sd_bus_message_exit_container(m);
				done.lines = true;
			} else if (pass == 1 && (r->flags & BLINKD_REMOTE_CHIPS) &&
				   streq(key, "Chips")) {
				BlinkdChip *chips = NULL;
				size_t n = 0;

				k = sd_bus_message_enter_container(m, 'v', "a(ssb)");
				if (k >= 0)
					k = properties_read_chips(m, &chips, &n);
				if (k >= 0) {
					blinkd_chips_free(r->chips, r->n_chips);
					r->chips = chips;
					r->n_chips = n;
					k = sd_bus_message_exit_container(m);
				}
				done.chips = true;
			} else if (pass == 1 &&
				   (r->flags & (BLINKD_REMOTE_LIT | BLINKD_REMOTE_LEVELS)) &&
				   streq(key, "Lit")) {
				unsigned *lit = NULL;
				size_t n = 0;

				k = sd_bus_message_enter_container(m, 'v', "au");
				if (k >= 0)
					k = properties_read_lit(m, &lit, &n);
				if (k >= 0) {
					free(r->lit);
					r->lit = lit;
					r->n_lit = n;
					k = sd_bus_message_exit_container(m);
				}
				done.lit = true;
			} else if (pass == 1 && (r->flags & BLINKD_REMOTE_LEVELS) &&
				   streq(key, "Levels")) {
				BlinkdLevel *levels = NULL;
				size_t n = 0;

				k = sd_bus_message_enter_container(m, 'v', "a(ud)");
				if (k >= 0)
					k = properties_read_levels(m, &levels, &n);
				if (k >= 0) {
					free(r->levels);
					r->levels = levels;
					r->n_levels = n;
					k = sd_bus_message_exit_container(m);
				}
				done.levels = true;
			} else
				k = sd_bus_message_skip(m, "v");
			if (k < 0)
				return k;
			k = sd_bus_message_exit_container(m);
			if (k < 0)
				return k;
		}
		if (k < 0)
			return k;
	}
	k = sd_bus_message_exit_container(m);
	if (k < 0)
		return k;
	/* A daemon from before Lines: the matrix alone, offsets on one chip. */
	if (done.lines && !lines_seen && r->matrix && !r->layout) {
		k = remote_set_layout(r, NULL);
		if (k < 0)
			return k;
	}
	*ret = done;
	return 0;
}

/* Call back for what a reading of properties changed, in the order of the caches. */
static bool emit_properties(BlinkdRemote *r, const PropertiesRead *done)
{
	if (done->lines && !EMIT(r, lines_changed))
		return false;
	if (done->chips && !EMIT(r, chips_changed))
		return false;
	if (done->lit && !EMIT(r, lit_changed))
		return false;
	if ((done->lit || done->levels) && (r->flags & BLINKD_REMOTE_LEVELS) &&
	    !EMIT(r, levels_changed))
		return false;
	return true;
}

static void remote_get_properties(BlinkdRemote *r);

static int on_properties_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;
	REMOTE_HOLD(r);
	PropertiesRead done = {};
	int k;

	r->properties_slot = sd_bus_slot_unref(r->properties_slot);
	if (sd_bus_message_is_method_error(m, NULL)) {
		log_warning("Cannot read blinkd's properties: %s",
			    sd_bus_message_get_error(m)->message);
		return 0;
	}
	k = read_properties(r, m, &done);
	if (k < 0) {
		log_warning_errno(k, "Failed to read blinkd's properties: %m");
		return 0;
	}
	/* Lit from a daemon without Levels: every lit line at full level. */
	if (done.lit && !done.levels && (r->flags & BLINKD_REMOTE_LEVELS)) {
		BlinkdLevel *levels = NULL;

		if (properties_levels_of_lit(r->levels, r->n_levels, r->lit, r->n_lit, &levels) < 0)
			return log_oom(), 0;
		free(r->levels);
		r->levels = levels;
		r->n_levels = r->n_lit;
	}
	if (done.lit)
		(void)sd_bus_message_get_cookie(m, &r->state_cookie);
	if (!emit_properties(r, &done))
		return 0;
	if (r->properties_again) {
		r->properties_again = false;
		remote_get_properties(r);
	}
	return 0;
}

static void remote_get_properties(BlinkdRemote *r)
{
	int k;

	if (!r->owner || r->freed || !(r->flags & FLAGS_PROPERTIES))
		return;
	if (r->properties_slot) {
		r->properties_again = true;
		return;
	}
	k = sd_bus_call_method_async(r->bus, &r->properties_slot, BLINKD_BUS_NAME,
				     BLINKD_OBJECT_PATH, "org.freedesktop.DBus.Properties",
				     "GetAll", on_properties_reply, r, "s",
				     BLINKD_MANAGER_INTERFACE);
	if (k < 0)
		log_warning_errno(k, "Failed to read blinkd's properties: %m");
}

/* PropertiesChanged of the Manager: chips that come and go, and the names they give lines. */
static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;
	REMOTE_HOLD(r);
	PropertiesRead done = {};
	const char *interface, *name;
	bool again = false;
	int k;

	if (!r->owner)
		return 0;
	k = sd_bus_message_read_basic(m, 's', &interface);
	if (k < 0 || !streq(interface, BLINKD_MANAGER_INTERFACE))
		return 0;
	k = read_properties(r, m, &done);
	if (k >= 0)
		k = sd_bus_message_enter_container(m, 'a', "s");
	/* Said changed without the value: ask for them all. */
	while (k >= 0 && (k = sd_bus_message_read_basic(m, 's', &name)) > 0)
		again =
		    again || streq(name, "Chips") || streq(name, "Lines") || streq(name, "Chip");
	if (k < 0) {
		log_warning_errno(k, "Ignoring a PropertiesChanged signal that does not parse: %m");
		return 0;
	}
	if (!emit_properties(r, &done))
		return 0;
	if (again)
		remote_get_properties(r);
	return 0;
}

/* ------------------------------------------------------------- signals */

static int on_finished(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;
	REMOTE_HOLD(r);
	const char *name, *result;

	if (!r->owner || sd_bus_message_read(m, "ss", &name, &result) < 0)
		return 0;
	if (!EMIT(r, finished, name, result))
		return 0;
	if (r->flags & BLINKD_REMOTE_PROGRAMS)
		blinkd_remote_refresh_programs(r);
	return 0;
}

static int on_objects_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;

	blinkd_remote_refresh_programs(r);
	return 0;
}

/* ------------------------------------------------------ owner comes, goes */

static void remote_emit_settled(BlinkdRemote *r)
{
	if (blinkd_remote_is_settled(r))
		(void)EMIT(r, settled);
}

/*
 * StartWithOptions without its arguments: where the method is, sd-bus
 * checks the signature before the daemon's handler runs and answers
 * InvalidArgs; where it is not, the answer is UnknownMethod.
 */
static int on_probe_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;
	REMOTE_HOLD(r);
	const sd_bus_error *e = sd_bus_message_get_error(m);

	r->probe_slot = sd_bus_slot_unref(r->probe_slot);
	r->probed = true;
	if (!e || sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS))
		r->has_start_with_options = true;
	else if (!sd_bus_error_has_names(e, SD_BUS_ERROR_UNKNOWN_METHOD,
					 SD_BUS_ERROR_UNKNOWN_INTERFACE,
					 SD_BUS_ERROR_UNKNOWN_OBJECT))
		log_warning(
		    "Cannot tell whether blinkd has StartWithOptions, taking it has not: %s",
		    e->message ? e->message : e->name);
	log_debug("blinkd %s StartWithOptions.", r->has_start_with_options ? "has" : "has no");
	remote_emit_settled(r);
	return 0;
}

static void remote_probe(BlinkdRemote *r)
{
	int k;

	k = sd_bus_call_method_async(r->bus, &r->probe_slot, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				     BLINKD_MANAGER_INTERFACE, "StartWithOptions", on_probe_reply,
				     r, NULL);
	if (k < 0) {
		log_warning_errno(k, "Failed to ask whether blinkd has StartWithOptions: %m");
		r->probed = true; /* no answer will come to wait for */
	}
}

static int on_subscribe_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;

	r->subscribe_slot = sd_bus_slot_unref(r->subscribe_slot);
	/* Without an owner, the early Subscribe() was refused by the bus: appearing subscribes. */
	if (r->owner && sd_bus_message_is_method_error(m, NULL))
		log_warning("Subscribe() failed, lit lines will not follow: %s",
			    sd_bus_message_get_error(m)->message);
	return 0;
}

static int remote_subscribe(BlinkdRemote *r, sd_bus_slot **slot)
{
	int k;

	k = sd_bus_call_method_async(r->bus, slot, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				     BLINKD_MANAGER_INTERFACE, "Subscribe", on_subscribe_reply, r,
				     NULL);
	if (k < 0)
		return log_warning_errno(k, "Failed to call Subscribe(): %m");
	return 0;
}

/* Returns false when a callback freed the remote. */
static bool remote_appeared(BlinkdRemote *r, const char *owner)
{
	char *copy = strdup(owner);
	sd_bus_slot *early;

	if (!copy) {
		log_oom();
		return true;
	}
	/* The early Subscribe()'s reply is this owner's: keep waiting for it. */
	early = r->early_subscribe ? TAKE_PTR(r->subscribe_slot) : NULL;
	remote_forget(r);
	r->subscribe_slot = early;
	r->owner = copy;
	r->owner_known = true;
	r->generation++;

	/* Subscribe() first, then the state: no change falls in between. */
	if (r->flags & FLAGS_SUBSCRIBE) {
		if (r->early_subscribe)
			r->subscribed = true;
		else
			r->subscribed = remote_subscribe(r, &r->subscribe_slot) >= 0;
	}
	r->early_subscribe = false;
	if (r->flags & BLINKD_REMOTE_CAPABILITIES)
		remote_probe(r);
	remote_get_properties(r);
	if (r->flags & BLINKD_REMOTE_PROGRAMS)
		blinkd_remote_refresh_programs(r);
	if (r->flags & BLINKD_REMOTE_DEFINITIONS)
		blinkd_remote_refresh_definitions(r);
	return EMIT(r, appeared, owner);
}

static bool remote_vanished(BlinkdRemote *r)
{
	if (!r->owner)
		return true;
	remote_forget(r);
	r->generation++;
	return EMIT(r, vanished);
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;
	REMOTE_HOLD(r);
	const char *name, *old_owner, *new_owner;

	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
	    !streq(name, BLINKD_BUS_NAME))
		return 0;
	/* The lookup's answer is older than this: drop it. */
	r->owner_slot = sd_bus_slot_unref(r->owner_slot);
	r->early_subscribe = false;
	r->owner_known = true;
	if (old_owner[0] && !remote_vanished(r))
		return 0;
	if (new_owner[0] && !remote_appeared(r, new_owner))
		return 0;
	remote_emit_settled(r);
	return 0;
}

static int on_get_name_owner_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;
	REMOTE_HOLD(r);
	const char *owner;

	r->owner_slot = sd_bus_slot_unref(r->owner_slot);
	r->owner_known = true;
	if (!sd_bus_message_is_method_error(m, NULL) && sd_bus_message_read(m, "s", &owner) >= 0 &&
	    !remote_appeared(r, owner))
		return 0;
	r->early_subscribe = false;
	remote_emit_settled(r);
	return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	BlinkdRemote *r = userdata;
	REMOTE_HOLD(r);

	r->owner_slot = sd_bus_slot_unref(r->owner_slot);
	if (!remote_vanished(r))
		return 0;
	/* Nothing is known of a bus that is gone. */
	r->owner_known = false;
	return 0;
}

/* --------------------------------------------------------------- create */

static int remote_match(BlinkdRemote *r, sd_bus_slot **slot, const char *interface,
			const char *member, sd_bus_message_handler_t handler)
{
	return sd_bus_match_signal(r->bus, slot, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH, interface,
				   member, handler, r);
}

int blinkd_remote_new(BlinkdRemote **ret, sd_bus *bus, unsigned flags, const BlinkdRemoteOps *ops,
		      void *userdata)
{
	_cleanup_(blinkd_remote_freep) BlinkdRemote *r = NULL;
	int k;

	if (!ret || !bus)
		return -EINVAL;
	/* Levels are kept beside the lit lines; the lit lines come with frames. */
	if (flags & BLINKD_REMOTE_LEVELS)
		flags |= BLINKD_REMOTE_LIT;
	if (flags & BLINKD_REMOTE_LIT)
		flags |= BLINKD_REMOTE_FRAMES;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->n_ref = 1;
	r->bus = sd_bus_ref(bus);
	r->flags = flags;
	r->ops = ops;
	r->userdata = userdata;
	r->programs = (RemoteList){.remote = r, .method = "List"};
	r->definitions = (RemoteList){.remote = r, .method = "ListDefinitions"};

	/* Matches first, then the lookup: no change of owner falls in between. */
	k = sd_bus_add_match(bus, &r->owner_match,
			     "type='signal',sender='org.freedesktop.DBus',"
			     "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
			     "member='NameOwnerChanged',arg0='" BLINKD_BUS_NAME "'",
			     on_name_owner_changed, r);
	if (k >= 0)
		k = sd_bus_match_signal(bus, &r->disconnected_match, NULL,
					"/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
					"Disconnected", on_disconnected, r);
	if (k >= 0 && (flags & BLINKD_REMOTE_FRAMES))
		k = remote_match(r, &r->frame_match, BLINKD_MANAGER_INTERFACE, "Frame", on_frame);
	if (k >= 0 && (flags & BLINKD_REMOTE_LEVELS))
		k = remote_match(r, &r->levels_match, BLINKD_MANAGER_INTERFACE, "Levels",
				 on_levels);
	if (k >= 0 && (flags & (BLINKD_REMOTE_FINISHED | BLINKD_REMOTE_PROGRAMS)))
		k = remote_match(r, &r->finished_match, BLINKD_MANAGER_INTERFACE, "Finished",
				 on_finished);
	if (k >= 0 && (flags & BLINKD_REMOTE_PROGRAMS))
		k = remote_match(r, &r->added_match, "org.freedesktop.DBus.ObjectManager",
				 "InterfacesAdded", on_objects_changed);
	if (k >= 0 && (flags & BLINKD_REMOTE_PROGRAMS))
		k = remote_match(r, &r->removed_match, "org.freedesktop.DBus.ObjectManager",
				 "InterfacesRemoved", on_objects_changed);
	if (k >= 0 && (flags & (BLINKD_REMOTE_LINES | BLINKD_REMOTE_CHIPS)))
		k = remote_match(r, &r->properties_match, "org.freedesktop.DBus.Properties",
				 "PropertiesChanged", on_properties_changed);
	if (k < 0)
		return k;

	k = sd_bus_call_method_async(bus, &r->owner_slot, "org.freedesktop.DBus",
				     "/org/freedesktop/DBus", "org.freedesktop.DBus",
				     "GetNameOwner", on_get_name_owner_reply, r, "s",
				     BLINKD_BUS_NAME);
	if (k < 0)
		return k;
	/*
	 * Right behind the lookup, so that the owner it names is the one that
	 * gets it: frames flow from then on, without waiting for the answer.
	 * Without an owner the bus refuses it, and appearing subscribes.
	 */
	if (flags & FLAGS_SUBSCRIBE) {
		k = remote_subscribe(r, &r->subscribe_slot);
		r->early_subscribe = k >= 0;
	}

	*ret = TAKE_PTR(r);
	return 0;
}

/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "log.h"
#include "resume.h"
#include "utf8.h"

/* A stored definition on its way in: parsed, and whether it was left out. */
typedef struct Candidate {
	const StoredDefinition *stored;
	Program *program;
	bool out;
} Candidate;

typedef struct CandidateView {
	Registry *registry;
	NameTable candidates; /* name -> Candidate; those left out are passed over */
	const char *missing;  /* the first name a check found undefined */
} CandidateView;

/* The definitions as they will be: the store's over the config's of the same name. */
static Program *lookup_view(const char *name, void *userdata)
{
	CandidateView *v = userdata;
	Candidate *c = name_table_get(&v->candidates, name);

	return c && !c->out ? c->program : registry_lookup_program(name, v->registry);
}

static int check_call_defined(const char *name, void *userdata)
{
	CandidateView *v = userdata;

	if (lookup_view(name, v))
		return 0;
	v->missing = name;
	return -ENOENT;
}

static void definition_left_out(const char *name, const char *fmt, ...) _printf_(2, 3);
static void definition_left_out(const char *name, const char *fmt, ...)
{
	char why[1300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warning("Stored definition \"%s\" left out: %s.", QUOTE(name, QUOTE_CHARS_MAX), why);
}

/* Marked, not removed: removing from the middle of a table of a million moves it each time. */
static void candidate_leave_out(CandidateView *v, Candidate *c)
{
	c->out = true;
}

/* The index of @name in @t (sorted), or -1. */
static ssize_t name_table_index(const NameTable *t, const char *name)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->entries[mid].name, name);

		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* A node of the definitions as they will be: the candidates, then the config's. */
static ssize_t view_node(const CandidateView *v, const char *name)
{
	ssize_t i = name_table_index(&v->candidates, name);

	if (i >= 0 && !((Candidate *)v->candidates.entries[i].value)->out)
		return i;
	i = name_table_index(&v->registry->definitions, name);
	return i >= 0 ? (ssize_t)v->candidates.n + i : -1;
}

static Program *view_program(const CandidateView *v, size_t node)
{
	if (node < v->candidates.n)
		return ((Candidate *)v->candidates.entries[node].value)->program;
	return ((Definition *)v->registry->definitions.entries[node - v->candidates.n].value)
		->program;
}

static const char *view_name(const CandidateView *v, size_t node)
{
	if (node < v->candidates.n)
		return v->candidates.entries[node].name;
	return v->registry->definitions.entries[node - v->candidates.n].name;
}

typedef struct CallList {
	ssize_t *nodes;
	size_t n, cap;
	const CandidateView *view;
} CallList;

static int collect_call(const char *name, void *userdata)
{
	CallList *l = userdata;
	ssize_t node = view_node(l->view, name);

	if (node < 0)
		return 0; /* undefined: the config's own (the candidates' were checked) */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		ssize_t *n = realloc(l->nodes, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		l->nodes = n;
		l->cap = cap;
	}
	l->nodes[l->n++] = node;
	return 0;
}

typedef struct Frame {
	size_t node;
	CallList calls;
	size_t next;
} Frame;

/*
 * One depth-first walk of the definitions as they will be, without
 * recursion (a store may chain a million): the first call cycle found, or
 * the first definition whose calls nest deeper than a run can bind
 * (PROGRAM_NODES_MAX), has a candidate on it left out, in *@ret. Returns
 * 1 when one was left out, 0 when there is neither, -ENOMEM.
 *
 * @frames has room for a frame per node. @height (a node each: 0 not seen, 1 open, h + 2 done with calls nested h
 * deep) is kept from one call to the next: a node done never reaches a
 * node open at the time (that would have been a cycle), so neither the
 * one left out nor those calling it, which go next, are below it, and its
 * height holds. So the walks of a store with many cycles add up to one.
 */
static int find_cycle_or_depth(CandidateView *v, unsigned *height, Frame *frames,
			       size_t *next_root, Candidate **ret)
{
	size_t n_frames = 0, root;
	Candidate *blame = NULL;
	char why[1300] = "";
	int r = 0;

	/* The roots before *@next_root are done or left out: no need to look at them again. */
	for (root = *next_root; root < v->candidates.n && !blame && r >= 0; root++) {
		if (height[root] != 0 || ((Candidate *)v->candidates.entries[root].value)->out)
			continue;
		frames[n_frames++] = (Frame){ .node = root, .calls.view = v };
		height[root] = 1;
		r = program_for_each_call(view_program(v, root), collect_call, &frames[0].calls);
		while (n_frames > 0 && !blame && r >= 0) {
			Frame *f = &frames[n_frames - 1];

			if (f->next < f->calls.n) {
				size_t to = (size_t)f->calls.nodes[f->next++];

				if (height[to] == 1) {
					/* A cycle: the frames from @to up. Its last candidate goes. */
					size_t len = (size_t)snprintf(why, sizeof(why), "call cycle:");
					size_t first = n_frames;

					while (first > 0 && frames[first - 1].node != to)
						first--;
					for (size_t i = first - 1; i < n_frames; i++) {
						if (len < sizeof(why))
							len += (size_t)snprintf(why + len, sizeof(why) - len,
										" %s ->",
										view_name(v, frames[i].node));
						if (frames[i].node < v->candidates.n)
							blame = v->candidates.entries[frames[i].node].value;
					}
					if (len < sizeof(why))
						snprintf(why + len, sizeof(why) - len, " %s", view_name(v, to));
				} else if (height[to] == 0) {
					frames[n_frames++] = (Frame){ .node = to, .calls.view = v };
					height[to] = 1;
					r = program_for_each_call(view_program(v, to), collect_call,
								  &frames[n_frames - 1].calls);
				}
				continue;
			}
			/* Done: its height is one more than its highest call's. */
			{
				unsigned h = 1;

				for (size_t i = 0; i < f->calls.n; i++)
					if (height[f->calls.nodes[i]] - 1 > h)
						h = height[f->calls.nodes[i]] - 1;
				height[f->node] = h + 2;
				if (h >= PROGRAM_NODES_MAX && f->node < v->candidates.n) {
					blame = v->candidates.entries[f->node].value;
					snprintf(why, sizeof(why), "its calls nest more than %d deep",
						 PROGRAM_NODES_MAX - 1);
				}
				free(f->calls.nodes);
				n_frames--;
			}
		}
		/* Open ones are walked again next time; done ones stay done (see above). */
		while (n_frames > 0) {
			n_frames--;
			height[frames[n_frames].node] = 0;
			free(frames[n_frames].calls.nodes);
		}
	}
	*next_root = blame ? root - 1 : root;
	if (r < 0)
		return r;
	if (!blame)
		return 0;
	definition_left_out(blame->stored->name, "%s", why);
	candidate_leave_out(v, blame);
	*ret = blame;
	return 1;
}

/* A call from candidate @caller to the name @callee. */
typedef struct CallEdge {
	const char *callee;
	size_t caller;
} CallEdge;

typedef struct EdgeCollector {
	CallEdge *edges;
	size_t n, cap;
	size_t caller;
} EdgeCollector;

static int collect_edge(const char *name, void *userdata)
{
	EdgeCollector *c = userdata;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		CallEdge *e = realloc(c->edges, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->edges = e;
		c->cap = cap;
	}
	c->edges[c->n++] = (CallEdge){ name, c->caller };
	return 0;
}

static int compare_edges(const void *a, const void *b)
{
	return strcmp(((const CallEdge *)a)->callee, ((const CallEdge *)b)->callee);
}

/* Every call of the candidates not left out, sorted by the name called. */
static int call_edges(CandidateView *v, Candidate *candidates, size_t n, CallEdge **ret,
		      size_t *ret_n)
{
	EdgeCollector c = {};

	for (size_t i = 0; i < n; i++) {
		if (candidates[i].out)
			continue;
		c.caller = i;
		if (program_for_each_call(candidates[i].program, collect_edge, &c) < 0) {
			free(c.edges);
			return -ENOMEM;
		}
	}
	if (c.n > 0)
		qsort(c.edges, c.n, sizeof(*c.edges), compare_edges);
	*ret = c.edges;
	*ret_n = c.n;
	return 0;
}

/* The first edge calling @name, or @n. */
static size_t first_edge(const CallEdge *edges, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(edges[mid].callee, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The store's definitions, each only if it still fits: it parses against
 * the lines there are now, every name it calls is defined (by the store or
 * the config), and it closes no cycle of calls. Leaving one out may leave
 * another calling a name no longer defined, so the checks run until none
 * is left out. A definition the config has too is the store's, as Define
 * made it, unless the store's is left out. Returns how many were left out.
 */
size_t resume_definitions(Registry *reg, const Layout *layout, const StoreContent *s,
			  NameTable *left_out)
{
	_cleanup_(freep) Candidate *candidates = calloc(s->n_definitions + 1, sizeof(Candidate));
	_cleanup_(freep) size_t *queue = calloc(s->n_definitions + 1, sizeof(size_t));
	/* The walk's marks, a node each: the candidates, then the config's definitions. */
	_cleanup_(freep) unsigned *height = calloc(s->n_definitions + reg->definitions.n + 1,
						   sizeof(unsigned));
	_cleanup_(freep) Frame *frames = calloc(s->n_definitions + reg->definitions.n + 1,
						sizeof(Frame));
	_cleanup_(freep) CallEdge *edges = NULL;
	CandidateView v = { .registry = reg };
	size_t n_out = 0, n_queue = 0, n_edges = 0, next_root = 0;
	bool checked = true; /* cycles and depth looked for; false after running out of memory */
	int r;

	if (!candidates || !queue || !height || !frames) {
		log_oom();
		return s->n_definitions;
	}
	for (size_t i = 0; i < s->n_definitions; i++) {
		Candidate *c = &candidates[i];
		ProgramError perr = {};

		c->stored = &s->definitions[i];
		r = program_parse(c->stored->program, layout, 0, &c->program, &perr);
		if (r >= 0)
			r = name_table_put(&v.candidates, c->stored->name, c);
		if (r < 0) {
			c->out = true;
			if (r == -EINVAL)
				definition_left_out(c->stored->name, "it no longer parses (%s: %s)",
						    perr.path, perr.message);
			else
				definition_left_out(c->stored->name, "%s", strerror(-r));
		}
	}
	/*
	 * Each name a definition calls; then, for each one left out, only
	 * the definitions calling its name again (the edges, sorted by the
	 * name called); then one walk of the whole graph for a cycle or calls
	 * nested too deep, again after each one left out for that. Work in
	 * proportion to the calls, however they chain.
	 */
	r = call_edges(&v, candidates, s->n_definitions, &edges, &n_edges);
	if (r < 0) {
		log_oom();
		checked = false;
	}
	for (size_t i = 0; checked && i < s->n_definitions; i++) {
		Candidate *c = &candidates[i];

		v.missing = NULL;
		if (c->out || program_for_each_call(c->program, check_call_defined, &v) >= 0)
			continue;
		definition_left_out(c->stored->name, "it calls \"%s\", which is no longer defined",
				    QUOTE(v.missing, QUOTE_CHARS_MAX));
		candidate_leave_out(&v, c);
		queue[n_queue++] = i;
	}
	while (checked) {
		Candidate *blame = NULL;

		while (n_queue > 0) {
			const char *name = candidates[queue[--n_queue]].stored->name;

			/* The config's of that name, if any, is what its callers call now. */
			if (lookup_view(name, &v))
				continue;
			for (size_t e = first_edge(edges, n_edges, name);
			     e < n_edges && streq(edges[e].callee, name); e++) {
				Candidate *c = &candidates[edges[e].caller];

				if (c->out)
					continue;
				definition_left_out(c->stored->name,
						    "it calls \"%s\", which is no longer defined",
						    QUOTE(name, QUOTE_CHARS_MAX));
				candidate_leave_out(&v, c);
				queue[n_queue++] = edges[e].caller;
			}
		}
		r = find_cycle_or_depth(&v, height, frames, &next_root, &blame);
		if (r == -ENOMEM) {
			log_oom();
			checked = false;
		}
		if (r <= 0)
			break;
		queue[n_queue++] = (size_t)(blame - candidates);
	}
	for (size_t i = 0; i < s->n_definitions; i++) {
		Candidate *c = &candidates[i];
		ProgramError perr = {};

		if (!c->out) {
			/* Checked for cycles above, the store at once: no walk per definition. */
			r = registry_define(reg, c->stored->name, c->program, true, !checked, &perr);
			if (r == -ELOOP)
				definition_left_out(c->stored->name, "%s: %s", perr.path, perr.message);
			else if (r < 0)
				definition_left_out(c->stored->name, "%s", strerror(-r));
			if (r < 0)
				c->out = true;
		}
		n_out += c->out;
		/* The names are the store content's, which outlives the table. */
		if (c->out)
			(void)name_table_put(left_out, c->stored->name, c);
		program_unref(c->program);
	}
	name_table_done(&v.candidates);
	return n_out;
}

/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "heap.h"

void heap_init(Heap *h)
{
	*h = (Heap){};
}

void heap_done(Heap *h)
{
	free(h->entries);
	*h = (Heap){};
}

static bool heap_less(const HeapEntry *a, const HeapEntry *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

static void heap_set(Heap *h, size_t i, HeapEntry x)
{
	h->entries[i] = x;
	x.node->index = i;
}

static void heap_up(Heap *h, size_t i)
{
	HeapEntry x = h->entries[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!heap_less(&x, &h->entries[parent]))
			break;
		heap_set(h, i, h->entries[parent]);
		i = parent;
	}
	heap_set(h, i, x);
}

static void heap_down(Heap *h, size_t i)
{
	HeapEntry x = h->entries[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && heap_less(&h->entries[c + 1], &h->entries[c]))
			c++;
		if (!heap_less(&h->entries[c], &x))
			break;
		heap_set(h, i, h->entries[c]);
		i = c;
	}
	heap_set(h, i, x);
}

int heap_reserve(Heap *h, size_t n)
{
	HeapEntry *a;
	size_t cap;

	if (n <= h->cap)
		return 0;
	cap = h->cap ? h->cap * 2 : 64;
	while (cap < n)
		cap *= 2;
	a = realloc(h->entries, cap * sizeof(HeapEntry));
	if (!a)
		return -ENOMEM;
	h->entries = a;
	h->cap = cap;
	return 0;
}

void heap_schedule(Heap *h, HeapNode *node, usec_t deadline)
{
	usec_t old = node->deadline;
	HeapEntry x = { .deadline = deadline, .seq = h->seq++, .node = node };

	node->deadline = deadline;
	if (old == USEC_INFINITY) {
		node->index = h->n++;
		h->entries[node->index] = x;
		heap_up(h, node->index);
	} else {
		h->entries[node->index] = x;
		if (deadline >= old)
			heap_down(h, node->index);
		else
			heap_up(h, node->index);
	}
}

void heap_remove(Heap *h, HeapNode *node)
{
	size_t i = node->index;
	HeapEntry last;

	if (node->deadline == USEC_INFINITY)
		return;
	node->deadline = USEC_INFINITY;
	last = h->entries[--h->n];
	if (i == h->n)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, last.node->index);
}

/* SPDX-License-Identifier: MIT */
/*
 * The deadline heap: a binary min-heap of timer events, earliest deadline
 * first and, among equal deadlines, in the order they were scheduled.
 *
 * What waits is a HeapNode embedded in its owner (the engine's tasks); the
 * heap holds each node's key beside a pointer to it, so sifting compares
 * entries of one array and touches a node only to note where it moved. With
 * the keys in the tasks, each level of a sift read two tasks scattered over
 * memory: with 10,000 programs, sifting down was a seventh of the daemon's
 * CPU samples, most of it waiting for memory.
 *
 * Owners: the Heap is embedded in its user (heap_init() / heap_done()) and
 * owns its array of entries; it never owns the nodes, which must stay put
 * while queued. Scheduling never allocates: room is reserved beforehand with
 * heap_reserve(), one entry per node that may be queued at once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* A place in the heap, embedded in what waits. */
typedef struct HeapNode {
	usec_t deadline;	/* USEC_INFINITY while not queued */
	size_t index;		/* its entry, while queued */
} HeapNode;

#define HEAP_NODE_INIT ((HeapNode){ .deadline = USEC_INFINITY })

typedef struct HeapEntry {
	usec_t deadline;
	uint64_t seq;		/* FIFO order among equal deadlines */
	HeapNode *node;
} HeapEntry;

typedef struct Heap {
	HeapEntry *entries;
	size_t n, cap;
	uint64_t seq;
} Heap;

void heap_init(Heap *h);
void heap_done(Heap *h);

/* heap_reserve() - make room for @n queued nodes. Returns 0 or -ENOMEM. */
int heap_reserve(Heap *h, size_t n);

/*
 * heap_schedule() - queue @node at @deadline, or move it there when it is
 * queued already (one sift instead of a removal and an insertion). It goes
 * after every node already queued at that deadline. Room must have been
 * reserved: this cannot fail.
 */
void heap_schedule(Heap *h, HeapNode *node, usec_t deadline);

/* heap_remove() - take @node out of the heap; nothing when it is not queued. */
void heap_remove(Heap *h, HeapNode *node);

static inline bool heap_node_queued(const HeapNode *node)
{
	return node->deadline != USEC_INFINITY;
}

/* The node due first, or NULL when the heap is empty. */
static inline HeapNode *heap_peek(const Heap *h)
{
	return h->n > 0 ? h->entries[0].node : NULL;
}

/* The earliest deadline, or USEC_INFINITY when the heap is empty. */
static inline usec_t heap_next_deadline(const Heap *h)
{
	return h->n > 0 ? h->entries[0].deadline : USEC_INFINITY;
}

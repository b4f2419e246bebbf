/* SPDX-License-Identifier: MIT */
/*
 * The deadline heap: earliest deadline first, FIFO among equal deadlines,
 * nodes moved and removed in place, checked against a plain sort.
 */
#include <stdlib.h>

#include "heap.h"
#include "test.h"

#define N 2000

typedef struct Item {
	HeapNode node;
	unsigned id;
} Item;

static Item items[N];

static Item *item_of(HeapNode *node)
{
	return (Item *)((char *)node - offsetof(Item, node));
}

/* Pop everything; returns how many came out, checking order (deadline, then @seq_of order). */
static size_t drain(Heap *h, const uint64_t *order)
{
	usec_t last = 0;
	uint64_t last_order = 0;
	size_t n = 0;

	while (heap_peek(h)) {
		HeapNode *node = heap_peek(h);
		Item *it = item_of(node);

		check_int(heap_next_deadline(h), node->deadline);
		check(node->deadline >= last);
		if (n > 0 && node->deadline == last)
			check(order[it->id] > last_order);
		last = node->deadline;
		last_order = order[it->id];
		heap_remove(h, node);
		check(!heap_node_queued(node));
		n++;
	}
	check_int(heap_next_deadline(h), USEC_INFINITY);
	return n;
}

static void test_order(void)
{
	static uint64_t order[N];
	Heap h;

	heap_init(&h);
	check(!heap_peek(&h));
	check_int(heap_reserve(&h, N), 0);
	srand(1);
	for (unsigned i = 0; i < N; i++) {
		items[i] = (Item){ .node = HEAP_NODE_INIT, .id = i };
		/* Few distinct deadlines: most ties are broken by the order of scheduling. */
		heap_schedule(&h, &items[i].node, 1000 + (usec_t)(rand() % 17));
		order[i] = i + 1;
		check(heap_node_queued(&items[i].node));
	}
	check_int(h.n, N);
	check_int(drain(&h, order), N);
	heap_done(&h);
}

static void test_move_and_remove(void)
{
	static uint64_t order[N];
	uint64_t seq = 0;
	size_t removed = 0;
	Heap h;

	heap_init(&h);
	check_int(heap_reserve(&h, N), 0);
	srand(2);
	for (unsigned i = 0; i < N; i++) {
		items[i] = (Item){ .node = HEAP_NODE_INIT, .id = i };
		heap_schedule(&h, &items[i].node, (usec_t)(rand() % 1000));
		order[i] = ++seq;
	}
	/* Moves, both ways, to a deadline shared with others: each goes after those there. */
	for (unsigned i = 0; i < N; i += 3) {
		heap_schedule(&h, &items[i].node, (usec_t)(rand() % 1000));
		order[i] = ++seq;
	}
	/* Removals from anywhere, and one of a node not queued (nothing happens). */
	for (unsigned i = 1; i < N; i += 7) {
		heap_remove(&h, &items[i].node);
		heap_remove(&h, &items[i].node);
		removed++;
	}
	check_int(h.n, N - removed);
	/* Every queued node knows its entry. */
	for (size_t i = 0; i < h.n; i++)
		check_int(h.entries[i].node->index, i);
	check_int(drain(&h, order), N - removed);
	heap_done(&h);
}

static void test_reserve(void)
{
	Heap h;

	heap_init(&h);
	check_int(heap_reserve(&h, 0), 0);
	check_int(heap_reserve(&h, 65), 0);
	check(h.cap >= 65);
	heap_done(&h);
	check(!h.entries);
}

int main(void)
{
	test_order();
	test_move_and_remove();
	test_reserve();
	return test_summary("test-heap");
}

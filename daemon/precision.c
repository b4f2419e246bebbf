/* SPDX-License-Identifier: MIT */
#include "precision.h"

void precision_init(Precision *p)
{
	*p = (Precision){ .margin = PRECISION_MARGIN_START };
}

usec_t precision_fire(const Precision *p, usec_t due)
{
	return due > p->margin ? due - p->margin : 0;
}

/* The second largest of what the ring holds: one pass, no sort. */
static usec_t second_latest(const Precision *p)
{
	unsigned n = p->n < PRECISION_WINDOW ? p->n : PRECISION_WINDOW;
	usec_t first = 0, second = 0;

	for (unsigned i = 0; i < n; i++) {
		usec_t x = p->late[i];

		if (x > first) {
			second = first;
			first = x;
		} else if (x > second)
			second = x;
	}
	return second;
}

void precision_woke(Precision *p, usec_t fire, usec_t now)
{
	usec_t margin;

	p->late[p->n % PRECISION_WINDOW] = now > fire ? now - fire : 0;
	p->n++;
	if (p->n % PRECISION_LEARN != 0)
		return;
	margin = second_latest(p) + PRECISION_MARGIN_MIN;
	p->margin = margin > PRECISION_MARGIN_MAX ? PRECISION_MARGIN_MAX : margin;
}

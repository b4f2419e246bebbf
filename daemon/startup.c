/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "log.h"
#include "startup.h"

static unsigned step, fail_at;

void startup_fail_at(unsigned n)
{
	fail_at = n;
}

int startup_step(const char *what)
{
	step++;
	log_debug("Startup step %u: %s.", step, what);
	if (step != fail_at)
		return 0;
	return log_error_errno(ECANCELED,
	                       "Startup step %u, %s, fails on purpose "
	                       "($BLINKD_FAIL_STEP=%u, for tests only).",
	                       step, what, fail_at);
}

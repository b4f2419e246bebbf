/* SPDX-License-Identifier: MIT */
/*
 * The steps of the daemon's startup, counted in the order main() takes them
 * (manager_new(), bus_new(), manager_startup()): each step calls
 * startup_step() before it acts, which logs "Startup step N: WHAT." at
 * debug level, so the log shows how far a start came.
 *
 * For tests only: $BLINKD_FAIL_STEP=N (main() reads it once) makes the Nth
 * step fail before it acts, logged naming it, so that a test can make each
 * step fail in turn and check that what the earlier steps built is torn
 * down (tests/robustness/test-robustness-startup.c). Never set it otherwise.
 *
 * The count is the process's, not an object's: blinkd starts once.
 */
#pragma once

/* Make step @n fail (1 is the first); 0, the default: none. */
void startup_fail_at(unsigned n);

/*
 * startup_step() - the next step of startup, @what (e.g. "the engine"),
 * begins. Returns 0, or -ECANCELED (logged) when it is the step
 * startup_fail_at() named.
 */
int startup_step(const char *what);

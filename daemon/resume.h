/* SPDX-License-Identifier: MIT */
/*
 * The store's definitions on their way back into the registry at startup:
 * each only if it still fits what the daemon is now (its lines, the names
 * it calls, no cycle, calls nested no deeper than a run can bind). What
 * does not fit is left out with a log line, never fatal. It knows no event
 * loop and no manager: manager_startup() calls it before it resumes the
 * stored programs.
 *
 * Owners: what it reads (the StoreContent) is the caller's; what it
 * defines goes into the registry (registry.h), which owns it from then on.
 * Its working tables are its own, freed before it returns.
 */
#pragma once

#include <stddef.h>

#include "layout.h"
#include "registry.h"
#include "store.h"

/*
 * resume_definitions() - define in @reg each of @s's definitions that
 * still fits: it parses against @layout, every name it calls is defined
 * (by the store or by what @reg has, the config's), and it closes no cycle
 * of calls. Leaving one out may leave another calling a name no longer
 * defined, so the checks run until none is left out. A definition @reg has
 * too is the store's, as Define made it, unless the store's is left out.
 * The names of those left out go into @left_out (borrowed from @s, which
 * must outlive it). Returns how many were left out.
 */
size_t resume_definitions(Registry *reg, const Layout *layout, const StoreContent *s,
			  NameTable *left_out);

/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz targets: libFuzzer's entry point, and a way to report a
 * broken property (an abort, which libFuzzer and the corpus replay both see).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline _Noreturn void fuzz_fail(const char *what, const char *text)
{
	fprintf(stderr, "fuzz: %s: %.200s\n", what, text);
	abort();
}

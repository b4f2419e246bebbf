/* SPDX-License-Identifier: MIT */
/*
 * Without libFuzzer, a fuzz target runs every file of its corpus once: the
 * corpus, and every crash ever found and added to it, is a regression test.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	_cleanup_(fclosep) FILE *f = fopen(path, "re");
	_cleanup_(freep) uint8_t *buf = NULL;
	size_t n;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	buf = malloc(1 << 20);
	if (!buf)
		return -ENOMEM;
	n = fread(buf, 1, 1 << 20, f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int main(int argc, char *argv[])
{
	unsigned n = 0;

	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *de;
		char path[4096];

		if (!d) {
			if (run_file(argv[i]) < 0)
				return 1;
			n++;
			continue;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (run_file(path) < 0) {
				closedir(d);
				return 1;
			}
			n++;
		}
		closedir(d);
	}
	printf("%u inputs ran without a crash\n", n);
	return n > 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "utf8.h"

static int max_level = LOG_INFO;
static int prefix = -1; /* -1: decide on first use */
static const char *ident;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

int log_level_from_string(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	return -EINVAL;
}

void log_set_prefix(bool on)
{
	prefix = on;
}

void log_set_ident(const char *s)
{
	ident = s;
}

int log_internal(int level, int error, const char *fmt, ...)
{
	int saved_errno = errno;
	int e = error < 0 ? -error : error;

	if (level <= max_level) {
		char buf[2048], line[UTF8_QUOTE_SIZE(sizeof(buf))];
		va_list ap;
		int n;

		if (prefix < 0)
			prefix = !isatty(STDERR_FILENO);

		/* %m prints the error we were handed, not whatever errno is. */
		errno = e;
		va_start(ap, fmt);
		n = vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		/*
		 * One message is one line of valid UTF-8, whatever it quotes: a
		 * newline in a name must not forge a second line, and a message
		 * cut to fit must not end in half a character.
		 */
		if (n >= (int)sizeof(buf))
			utf8_trim_partial(buf);
		utf8_escape_controls(line, sizeof(line), buf, strlen(buf), SIZE_MAX);

		if (prefix)
			fprintf(stderr, "<%d>%s\n", level, line);
		else if (ident)
			fprintf(stderr, "%s: %s\n", ident, line);
		else
			fprintf(stderr, "%s\n", line);
	}

	errno = saved_errno;
	return e ? -e : 0;
}

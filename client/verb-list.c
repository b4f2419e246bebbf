/* SPDX-License-Identifier: MIT */
/*
 * list: the running programs with their age, lines, start options and
 * canonical text, all read in one GetManagedObjects() call so that the
 * table is one snapshot. The PRIO and FLAGS columns appear only when a
 * program has a priority or a flag: a table of plain programs reads as it
 * did before start options existed.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "client.h"
#include "duration.h"
#include "json-util.h"
#include "log.h"
#include "properties.h"
#include "timestamp.h"

static const char list_help[] =
	"Usage: blinkd-client list [--json]\n"
	"\n"
	"The running programs, sorted by name: NAME, AGE (since it started; negative\n"
	"while it waits for its --at time), LINES (the lines it drives: by alias, else\n"
	"as the configuration writes them), PRIO and FLAGS (bound, persistent,\n"
	"timeout=DURATION, scheduled), shown when a program has a priority or a flag,\n"
	"and PROGRAM (its canonical text).\n"
	"\n"
	"      --json   an array of {\"name\", \"started_usec\" (CLOCK_REALTIME),\n"
	"               \"lines\" (numbers), \"program\", \"priority\", \"bound\",\n"
	"               \"persistent\", \"timeout_usec\" (0: none), \"scheduled\"}\n"
	"               objects\n"
	"\n"
	"Exit status: 0 listed, 2 bad usage, 3 daemon not reachable.\n";

typedef struct ProgramInfo {
	char *name;
	char *program;
	uint64_t started_usec;
	unsigned *lines;
	size_t n_lines;
	int32_t priority;
	bool bound;
	bool persistent;
	uint64_t timeout_usec; /* 0: none */
	bool scheduled;
} ProgramInfo;

static void program_infos_free(ProgramInfo *infos, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(infos[i].name);
		free(infos[i].program);
		free(infos[i].lines);
	}
	free(infos);
}

static int compare_infos(const void *a, const void *b)
{
	return strcmp(((const ProgramInfo *)a)->name, ((const ProgramInfo *)b)->name);
}

static int read_string_variant(sd_bus_message *m, char **ret)
{
	const char *s;
	int r;

	r = sd_bus_message_read(m, "v", "s", &s);
	if (r < 0)
		return r;
	free(*ret);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* D-Bus booleans are 32 bits wide; C's bool is not. */
static int read_bool_variant(sd_bus_message *m, bool *ret)
{
	int b, r;

	r = sd_bus_message_read(m, "v", "b", &b);
	if (r < 0)
		return r;
	*ret = b;
	return 0;
}

/* A Program's Lines (au): the numbers of its lines, decoded as Lit is. */
static int read_lines_variant(sd_bus_message *m, ProgramInfo *info)
{
	int r;

	r = sd_bus_message_enter_container(m, 'v', "au");
	if (r < 0)
		return r;
	free(info->lines);
	info->lines = NULL;
	info->n_lines = 0;
	r = properties_read_lit(m, &info->lines, &info->n_lines);
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* The a{sv} of one io.blinkd1.Program object. */
static int read_program_properties(sd_bus_message *m, ProgramInfo *info)
{
	const char *property;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		r = sd_bus_message_read_basic(m, 's', &property);
		if (r < 0)
			return r;
		if (streq(property, "Name"))
			r = read_string_variant(m, &info->name);
		else if (streq(property, "Program"))
			r = read_string_variant(m, &info->program);
		else if (streq(property, "StartedUSec"))
			r = sd_bus_message_read(m, "v", "t", &info->started_usec);
		else if (streq(property, "Lines"))
			r = read_lines_variant(m, info);
		else if (streq(property, "Priority"))
			r = sd_bus_message_read(m, "v", "i", &info->priority);
		else if (streq(property, "Bound"))
			r = read_bool_variant(m, &info->bound);
		else if (streq(property, "Persistent"))
			r = read_bool_variant(m, &info->persistent);
		else if (streq(property, "TimeoutUSec"))
			r = sd_bus_message_read(m, "v", "t", &info->timeout_usec);
		else if (streq(property, "Scheduled"))
			r = read_bool_variant(m, &info->scheduled);
		else
			r = sd_bus_message_skip(m, "v");
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* The reply of GetManagedObjects(): a{oa{sa{sv}}}. */
static int read_managed_objects(sd_bus_message *m, ProgramInfo **ret, size_t *ret_n)
{
	ProgramInfo *infos = NULL;
	size_t n = 0;
	const char *path, *interface;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}");
	if (r < 0)
		goto fail;
	while ((r = sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}")) > 0) {
		r = sd_bus_message_read_basic(m, 'o', &path);
		if (r < 0)
			goto fail;
		r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
		if (r < 0)
			goto fail;
		while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
			r = sd_bus_message_read_basic(m, 's', &interface);
			if (r < 0)
				goto fail;
			if (streq(interface, BLINKD_PROGRAM_INTERFACE)) {
				ProgramInfo *grown = realloc(infos, (n + 1) * sizeof(ProgramInfo));
				if (!grown) {
					r = -ENOMEM;
					goto fail;
				}
				infos = grown;
				infos[n++] = (ProgramInfo){};
				r = read_program_properties(m, &infos[n - 1]);
			} else
				r = sd_bus_message_skip(m, "a{sv}");
			if (r < 0)
				goto fail;
			r = sd_bus_message_exit_container(m);
			if (r < 0)
				goto fail;
		}
		if (r < 0)
			goto fail;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			goto fail;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			goto fail;
	}
	if (r < 0)
		goto fail;

	/* An object without its Name is no use to anybody: refuse the reply. */
	for (size_t i = 0; i < n; i++)
		if (!infos[i].name || !infos[i].program) {
			r = -EBADMSG;
			goto fail;
		}
	if (n > 0)
		qsort(infos, n, sizeof(ProgramInfo), compare_infos);
	*ret = infos;
	*ret_n = n;
	return 0;

fail:
	program_infos_free(infos, n);
	return r;
}

/*
 * Compact, to the two largest units: "42s", "3m05s", "2h10m", "4d02h"; with a
 * minus sign until a program that starts later does ("-3s": in 3 seconds,
 * rounded up, so that one about to start is not shown as started).
 */
static const char *format_age(uint64_t started, uint64_t now, char buf[static 32])
{
	const char *sign = now < started ? "-" : "";
	uint64_t s = now >= started ? (now - started) / USEC_PER_SEC
				    : (started - now + USEC_PER_SEC - 1) / USEC_PER_SEC;

	if (s < 60)
		snprintf(buf, 32, "%s%" PRIu64 "s", sign, s);
	else if (s < 3600)
		snprintf(buf, 32, "%s%" PRIu64 "m%02" PRIu64 "s", sign, s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, 32, "%s%" PRIu64 "h%02" PRIu64 "m", sign, s / 3600, s % 3600 / 60);
	else
		snprintf(buf, 32, "%s%" PRIu64 "d%02" PRIu64 "h", sign, s / 86400,
			 s % 86400 / 3600);
	return buf;
}

/* "bound,persistent,timeout=200ms,scheduled", or "-" for none. */
static char *format_flags(const ProgramInfo *info)
{
	char *buf = NULL, timeout[DURATION_STRING_MAX];
	size_t size = 0;
	const char *sep = "";
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	if (info->bound) {
		fprintf(f, "%sbound", sep);
		sep = ",";
	}
	if (info->persistent) {
		fprintf(f, "%spersistent", sep);
		sep = ",";
	}
	if (info->timeout_usec > 0) {
		fprintf(f, "%stimeout=%s", sep, duration_format(info->timeout_usec, timeout));
		sep = ",";
	}
	if (info->scheduled) {
		fprintf(f, "%sscheduled", sep);
		sep = ",";
	}
	if (!*sep)
		fputs("-", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static bool has_flags(const ProgramInfo *info)
{
	return info->bound || info->persistent || info->timeout_usec > 0 || info->scheduled;
}

/* The lines by alias, else by reference; by number without a layout or for a line it lacks. */
static char *format_lines(const ProgramInfo *info, const Layout *layout)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	for (size_t i = 0; i < info->n_lines; i++) {
		int k = layout ? layout_index_of(layout, info->lines[i]) : -1;

		if (k >= 0)
			fprintf(f, "%s%s", i ? "," : "", client_line_label(layout, (size_t)k));
		else
			fprintf(f, "%s%u", i ? "," : "", info->lines[i]);
	}
	if (info->n_lines == 0)
		fputs("-", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

static void print_table(const ProgramInfo *infos, size_t n, const Layout *layout)
{
	uint64_t now = timestamp_now(CLOCK_REALTIME);
	int w_name = 4, w_age = 3, w_lines = 5, w_prio = 4, w_flags = 5;
	bool show_prio = false, show_flags = false;
	char **lines = calloc(n + 1, sizeof(char *)), **flags = calloc(n + 1, sizeof(char *));
	char age[32], prio[16];

	for (size_t i = 0; i < n; i++) {
		w_name = max_int(w_name, (int)strlen(infos[i].name));
		w_age = max_int(w_age, (int)strlen(format_age(infos[i].started_usec, now, age)));
		if (lines)
			lines[i] = format_lines(&infos[i], layout);
		w_lines = max_int(w_lines, lines && lines[i] ? (int)strlen(lines[i]) : 1);
		w_prio = max_int(w_prio, snprintf(prio, sizeof(prio), "%" PRIi32,
						  infos[i].priority));
		if (flags)
			flags[i] = format_flags(&infos[i]);
		w_flags = max_int(w_flags, flags && flags[i] ? (int)strlen(flags[i]) : 1);
		show_prio = show_prio || infos[i].priority != 0;
		show_flags = show_flags || has_flags(&infos[i]);
	}

	printf("%-*s  %-*s  %-*s  ", w_name, "NAME", w_age, "AGE", w_lines, "LINES");
	if (show_prio)
		printf("%*s  ", w_prio, "PRIO");
	if (show_flags)
		printf("%-*s  ", w_flags, "FLAGS");
	printf("PROGRAM\n");
	for (size_t i = 0; i < n; i++) {
		printf("%-*s  %-*s  %-*s  ", w_name, infos[i].name, w_age,
		       format_age(infos[i].started_usec, now, age), w_lines,
		       lines && lines[i] ? lines[i] : "?");
		if (show_prio)
			printf("%*" PRIi32 "  ", w_prio, infos[i].priority);
		if (show_flags)
			printf("%-*s  ", w_flags, flags && flags[i] ? flags[i] : "?");
		printf("%s\n", infos[i].program);
	}

	for (size_t i = 0; i < n; i++) {
		if (lines)
			free(lines[i]);
		if (flags)
			free(flags[i]);
	}
	free(lines);
	free(flags);
}

/* The canonical text as a JSON value; the text itself if it does not parse. */
static json_object *program_to_json(const char *text)
{
	json_object *j = json_tokener_parse(text);

	return j ? j : json_object_new_string(text);
}

static int print_json(const ProgramInfo *infos, size_t n)
{
	_cleanup_(json_object_putp) json_object *array = json_object_new_array();

	if (!array)
		return log_oom();
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object(), *lines = json_object_new_array();

		if (!o || !lines || json_object_array_add(array, o) < 0) {
			json_object_put(o);
			json_object_put(lines);
			return log_oom();
		}
		for (size_t k = 0; k < infos[i].n_lines; k++)
			json_object_array_add(lines, json_object_new_int64(infos[i].lines[k]));
		json_object_object_add(o, "name", json_object_new_string(infos[i].name));
		json_object_object_add(o, "started_usec",
				       json_object_new_uint64(infos[i].started_usec));
		json_object_object_add(o, "lines", lines);
		json_object_object_add(o, "program", program_to_json(infos[i].program));
		json_object_object_add(o, "priority", json_object_new_int(infos[i].priority));
		json_object_object_add(o, "bound", json_object_new_boolean(infos[i].bound));
		json_object_object_add(o, "persistent",
				       json_object_new_boolean(infos[i].persistent));
		json_object_object_add(o, "timeout_usec",
				       json_object_new_uint64(infos[i].timeout_usec));
		json_object_object_add(o, "scheduled", json_object_new_boolean(infos[i].scheduled));
	}
	client_print_json(array);
	return 0;
}

int verb_list(int argc, char **argv, Client *c)
{
	static const struct option options[] = {
		CLIENT_COMMON_OPTIONS,
		{},
	};
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	ProgramInfo *infos = NULL;
	size_t n = 0;
	int opt, r, status;

	optind = 0;
	while ((opt = getopt_long(argc, argv, CLIENT_COMMON_SHORT, options, NULL)) >= 0)
		if (client_parse_common_option(c, opt, optarg, list_help, &status))
			return status;
	if (optind < argc)
		return client_usage_error("list takes no arguments.");

	r = client_connect(c);
	if (r != 0)
		return r;
	r = sd_bus_call_method(c->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
			       "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &error,
			       &reply, NULL);
	if (r < 0)
		return client_report_bus_error(c, &error, r);
	r = read_managed_objects(reply, &infos, &n);
	if (r < 0)
		return log_error_errno(r, "Failed to read the daemon's programs: %m");

	if (c->json)
		r = print_json(infos, n);
	else {
		_cleanup_(layout_freep) Layout *layout = NULL;
		int level = log_get_max_level();

		/* Names for the LINES column; without them, numbers, and no word about why. */
		if (n > 0) {
			log_set_max_level(LOG_CRIT);
			if (client_get_layout(c, &layout) != 0)
				layout = layout_free(layout);
			log_set_max_level(level);
		}
		print_table(infos, n, layout);
	}
	program_infos_free(infos, n);
	return r;
}

/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "config.h"
#include "lines.h"
#include "log.h"

int client_parse_common_option(Client *c, int opt, const char *arg, const char *help,
			       int *ret_exit)
{
	switch (opt) {
	case 'h':
		fputs(help, stdout);
		fputs("\nEvery verb also takes --user, -H/--host [USER@]HOST, --json and\n"
		      "--no-ask-password; see blinkd-client --help.\n",
		      stdout);
		*ret_exit = EXIT_STATUS_OK;
		return 1;
	case CLIENT_OPTION_VERSION:
		printf("blinkd-client %s\n", BLINKD_VERSION);
		*ret_exit = EXIT_STATUS_OK;
		return 1;
	case 'H':
		c->transport = BUS_TRANSPORT_REMOTE;
		c->host = arg;
		return 0;
	case CLIENT_OPTION_USER:
		c->transport = BUS_TRANSPORT_USER;
		return 0;
	case CLIENT_OPTION_JSON:
		c->json = true;
		return 0;
	case CLIENT_OPTION_NO_ASK_PASSWORD:
		c->ask_password = false;
		return 0;
	default:
		/* '?': getopt_long() has said what was wrong. */
		log_error("Try 'blinkd-client --help' or 'blinkd-client VERB --help'.");
		*ret_exit = EXIT_STATUS_USAGE;
		return 1;
	}
}

int client_usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_error("%s", buf);
	log_error("Try 'blinkd-client --help' or 'blinkd-client VERB --help'.");
	return EXIT_STATUS_USAGE;
}

static const char *transport_to_string(const Client *c)
{
	static char remote[300];

	switch (c->transport) {
	case BUS_TRANSPORT_USER:
		return "the session bus";
	case BUS_TRANSPORT_REMOTE:
		snprintf(remote, sizeof(remote), "the system bus of %s", c->host);
		return remote;
	default:
		return "the system bus";
	}
}

int client_connect(Client *c)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	if (c->bus)
		return 0;

	switch (c->transport) {
	case BUS_TRANSPORT_USER:
		r = sd_bus_open_user(&bus);
		break;
	case BUS_TRANSPORT_REMOTE:
		r = sd_bus_open_system_remote(&bus, c->host);
		break;
	default:
		r = sd_bus_open_system(&bus);
		break;
	}
	if (r < 0) {
		log_error_errno(r, "Failed to connect to %s: %m", transport_to_string(c));
		return EXIT_STATUS_UNREACHABLE;
	}

	/* Only changes what the daemon's bus policy (polkit) may do; failure is harmless. */
	(void)sd_bus_set_allow_interactive_authorization(bus, c->ask_password);

	c->bus = TAKE_PTR(bus);
	return 0;
}

int client_report_program_error(const char *path, const char *message)
{
	const char *last = strrchr(path, '.');

	/* The key the person wrote goes first; the full path is for finding it. */
	if (last && last[1])
		log_error("%s: %s (at %s)", last + 1, message, path);
	else
		log_error("%s (at %s)", message, path);
	return EXIT_STATUS_INVALID;
}

/* The daemon sends "PATH: RULE"; anything else is printed as it came. */
static int report_invalid_program(const char *message)
{
	_cleanup_(freep) char *path = NULL;
	const char *sep = NULL;

	if (message && message[0] == '$')
		sep = strstr(message, ": ");
	if (!sep) {
		log_error("%s", message ? message : "invalid program");
		return EXIT_STATUS_INVALID;
	}
	path = strndup(message, (size_t)(sep - message));
	if (!path)
		return log_oom();
	return client_report_program_error(path, sep + 2);
}

/* Failures of the connection itself, which no daemon reply carries. */
static bool errno_is_disconnect(int r)
{
	switch (-r) {
	case ECONNREFUSED:
	case ECONNRESET:
	case ENOTCONN:
	case EPIPE:
	case ESHUTDOWN:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return true;
	default:
		return false;
	}
}

int client_report_bus_error(const Client *c, const sd_bus_error *error, int r)
{
	static const struct {
		const char *name;
		ExitStatus status;
	} daemon_errors[] = {
		{ BLINKD_ERROR_INVALID_NAME, EXIT_STATUS_INVALID },
		{ BLINKD_ERROR_INVALID_OPTIONS, EXIT_STATUS_INVALID },
		{ BLINKD_ERROR_EXISTS, EXIT_STATUS_CONFLICT },
		{ BLINKD_ERROR_NOT_RUNNING, EXIT_STATUS_NOT_FOUND },
		{ BLINKD_ERROR_NOT_DEFINED, EXIT_STATUS_NOT_FOUND },
		{ BLINKD_ERROR_LIMIT_EXCEEDED, EXIT_STATUS_CONFLICT },
		{ BLINKD_ERROR_STATE_NOT_WRITABLE, EXIT_STATUS_FAILURE },
	};

	if (sd_bus_error_has_name(error, BLINKD_ERROR_INVALID_PROGRAM))
		return report_invalid_program(error->message);
	for (size_t i = 0; i < ELEMENTSOF(daemon_errors); i++)
		if (sd_bus_error_has_name(error, daemon_errors[i].name)) {
			log_error("%s", error->message ? error->message : error->name);
			return daemon_errors[i].status;
		}

	if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN,
				   SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
		log_error("blinkd is not running: nothing owns %s on %s.", BLINKD_BUS_NAME,
			  transport_to_string(c));
		return EXIT_STATUS_UNREACHABLE;
	}
	if (sd_bus_error_has_names(error, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT,
				   SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_NO_SERVER) ||
	    errno_is_disconnect(r)) {
		log_error_errno(r, "blinkd is not reachable on %s: %m", transport_to_string(c));
		return EXIT_STATUS_UNREACHABLE;
	}

	if (sd_bus_error_is_set(error))
		log_error("%s", error->message ? error->message : error->name);
	else
		log_error_errno(r, "Failed to talk to blinkd: %m");
	return EXIT_STATUS_FAILURE;
}

int client_call(Client *c, const char *method, sd_bus_message **reply, const char *types, ...)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	va_list ap;
	int r;

	r = client_connect(c);
	if (r != 0)
		return r;

	va_start(ap, types);
	r = sd_bus_call_methodv(c->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, method, &error, reply, types, ap);
	va_end(ap);
	if (r < 0)
		return client_report_bus_error(c, &error, r);
	return 0;
}

int client_call_message(Client *c, sd_bus_message *m, sd_bus_message **reply)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call(c->bus, m, 0, &error, reply);
	if (r < 0)
		return client_report_bus_error(c, &error, r);
	return 0;
}

/* A property of the Manager; -ENOENT (nothing reported) when the daemon lacks it. */
static int get_property(Client *c, const char *name, const char *type, sd_bus_message **ret)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_get_property(c->bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, name, &error, ret, type);
	if (r >= 0)
		return 0;
	/* A daemon older than the property: sd-bus says UnknownProperty, others InvalidArgs. */
	if (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_PROPERTY,
				   SD_BUS_ERROR_INVALID_ARGS))
		return -ENOENT;
	return client_report_bus_error(c, &error, r);
}

int client_get_layout_labels(Client *c, Layout **ret, char ***ret_labels)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *layout = NULL, *lines = NULL;
	_cleanup_(freep) unsigned *matrix = NULL;
	unsigned n_rows = 0, n_cols = 0;
	int r;

	r = client_connect(c);
	if (r != 0)
		return r;
	r = get_property(c, "Layout", "aau", &layout);
	if (r == -ENOENT)
		return log_error_errno(-EBADMSG, "The daemon has no Layout property.");
	if (r != 0)
		return r;
	r = lines_read_matrix(layout, &matrix, &n_rows, &n_cols);
	if (r < 0)
		return log_error_errno(r, "Failed to read the daemon's Layout property: %m");

	r = get_property(c, "Lines", "a(sssa{sv})", &lines);
	if (r == -ENOENT) {
		/* A daemon from before Lines: offsets on one chip, all in the matrix. */
		r = layout_new(ret, n_rows, n_cols, matrix);
		if (r < 0)
			return log_error_errno(r, "The daemon's layout is not usable: %m");
		if (ret_labels)
			*ret_labels = NULL;
		return 0;
	}
	if (r != 0)
		return r;
	r = lines_read_layout(lines, n_rows, n_cols, matrix, ret, ret_labels);
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return log_error_errno(r, "Failed to read the daemon's Lines property: %m");
	return 0;
}

int client_get_layout(Client *c, Layout **ret)
{
	return client_get_layout_labels(c, ret, NULL);
}

int client_get_chips(Client *c, BlinkdChip **ret, size_t *ret_n)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = client_connect(c);
	if (r != 0)
		return r;
	r = get_property(c, "Chips", "a(ssb)", &reply);
	if (r == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r != 0)
		return r;
	r = properties_read_chips(reply, ret, ret_n);
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return log_error_errno(r, "Failed to read the daemon's Chips property: %m");
	return 0;
}

const char *client_line_label(const Layout *l, size_t i)
{
	const LayoutLine *info = &l->info[i];

	return info->alias ? info->alias : info->ref;
}

int client_list_names(Client *c, char ***ret, uint64_t *ret_cookie)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(strv_freep) char **names = NULL;
	const char *name, *program;
	int r;

	r = client_call(c, "List", &reply, NULL);
	if (r != 0)
		return r;

	r = sd_bus_message_enter_container(reply, 'a', "(ss)");
	if (r < 0)
		return log_error_errno(r, "Failed to read the reply of List(): %m");
	while ((r = sd_bus_message_read(reply, "(ss)", &name, &program)) > 0)
		if (strv_extend(&names, name) < 0)
			return log_oom();
	if (r < 0)
		return log_error_errno(r, "Failed to read the reply of List(): %m");

	if (!names) {
		names = calloc(1, sizeof(char *));
		if (!names)
			return log_oom();
	}
	strv_sort(names);
	if (ret_cookie) {
		r = sd_bus_message_get_cookie(reply, ret_cookie);
		if (r < 0)
			return log_error_errno(r, "Failed to get the serial of a reply: %m");
	}
	*ret = TAKE_PTR(names);
	return 0;
}

void client_print_json(struct json_object *j)
{
	puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int on_daemon_gone(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	Client *c = userdata;
	const char *name, *old_owner, *new_owner;

	if (sd_bus_message_is_signal(m, "org.freedesktop.DBus", "NameOwnerChanged")) {
		if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
		    new_owner[0] != '\0')
			return 0;
		c->gone = "blinkd left the bus.";
	} else
		c->gone = "Lost the connection to the bus.";
	return sd_event_exit(sd_bus_get_event(c->bus), EXIT_STATUS_UNREACHABLE);
}

void client_report_gone(const Client *c)
{
	if (c->gone)
		log_error("%s", c->gone);
}

int client_attach_event(Client *c, sd_event *event)
{
	int r;

	r = sd_bus_attach_event(c->bus, event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
	r = sd_bus_add_match(c->bus, NULL,
			     "type='signal',sender='org.freedesktop.DBus',"
			     "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
			     "member='NameOwnerChanged',arg0='" BLINKD_BUS_NAME "'",
			     on_daemon_gone, c);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the daemon's bus name: %m");
	r = sd_bus_match_signal(c->bus, NULL, NULL, "/org/freedesktop/DBus/Local",
				"org.freedesktop.DBus.Local", "Disconnected", on_daemon_gone, c);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the bus connection: %m");
	return 0;
}

/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "json-util.h"
#include "log.h"
#include "mqtt-config.h"

#define CONFIG_FILE_MAX (64 * 1024)

MqttConfig *mqtt_config_free(MqttConfig *c)
{
	if (!c)
		return NULL;
	free(c->path);
	free(c->broker);
	free(c->host);
	free(c->ca_file);
	free(c->credentials_file);
	free(c->username);
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->client_id);
	free(c->prefix);
	free(c->board);
	free(c->discovery_prefix);
	free(c);
	return NULL;
}

static int config_fail(const char *file, const char *key, const char *fmt, ...) _printf_(3, 4);
static int config_fail(const char *file, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s: %s: %s", file, key, msg);
	return -EINVAL;
}

bool mqtt_board_name_is_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || streq(name, MQTT_GROUP_BOARD))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

bool mqtt_prefix_is_valid(const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 0 || n > 128 || prefix[0] == '/' || prefix[n - 1] == '/' ||
	    strstr(prefix, "//") || strpbrk(prefix, "+#"))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)prefix[i] < 0x20 || prefix[i] == 0x7f)
			return false;
	return true;
}

int mqtt_board_from_hostname(char **ret)
{
	char host[HOST_NAME_MAX + 1] = "";
	char *board;

	if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "board");
	/* Only the first label: "pi3.local" is the board "pi3". */
	host[strcspn(host, ".")] = '\0';
	host[64] = '\0';
	for (char *p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			*p = '_';
	if (streq(host, MQTT_GROUP_BOARD) || host[0] == '\0')
		snprintf(host, sizeof(host), "board");
	board = strdup(host);
	if (!board)
		return -ENOMEM;
	*ret = board;
	return 0;
}

int mqtt_broker_url_parse(const char *url, char **ret_host, int *ret_port, bool *ret_tls)
{
	const char *rest, *host_end, *port_text = NULL;
	_cleanup_(freep) char *host = NULL;
	bool tls;
	long port;

	if (strncmp(url, "mqtt://", 7) == 0) {
		tls = false;
		rest = url + 7;
	} else if (strncmp(url, "mqtts://", 8) == 0) {
		tls = true;
		rest = url + 8;
	} else
		return -EINVAL;

	if (rest[0] == '[') {
		host_end = strchr(rest, ']');
		if (!host_end || host_end == rest + 1)
			return -EINVAL;
		host = strndup(rest + 1, (size_t)(host_end - rest - 1));
		host_end++;
	} else {
		host_end = rest + strcspn(rest, ":/");
		if (host_end == rest)
			return -EINVAL;
		host = strndup(rest, (size_t)(host_end - rest));
	}
	if (!host)
		return -ENOMEM;
	if (strpbrk(host, "@ \t?#"))
		return -EINVAL;

	if (*host_end == ':')
		port_text = host_end + 1;
	else if (*host_end != '\0' && !streq(host_end, "/"))
		return -EINVAL;

	if (port_text) {
		char *end;

		errno = 0;
		port = strtol(port_text, &end, 10);
		if (errno != 0 || end == port_text || port < 1 || port > 65535 ||
		    (*end != '\0' && !streq(end, "/")) || port_text[0] == '+' || port_text[0] == '-')
			return -EINVAL;
	} else
		port = tls ? 8883 : 1883;

	*ret_host = TAKE_PTR(host);
	*ret_port = (int)port;
	*ret_tls = tls;
	return 0;
}

static int get_string(const char *file, json_object *v, const char *key, char **ret)
{
	char *s;

	if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
		return config_fail(file, key, "must be a non-empty string");
	s = strdup(json_object_get_string(v));
	if (!s)
		return log_oom();
	free(*ret);
	*ret = s;
	return 0;
}

static int get_unsigned(const char *file, json_object *v, const char *key, int64_t min,
			int64_t max, int64_t *ret)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return config_fail(file, key, "must be an integer");
	errno = 0;
	n = json_object_get_int64(v);
	if (errno != 0 || n < min || n > max)
		return config_fail(file, key, "must be between %" PRId64 " and %" PRId64, min, max);
	*ret = n;
	return 0;
}

/* Read a small file whole; -EFBIG past @max bytes. */
static int read_small_file(const char *path, size_t max, char **ret, size_t *ret_len,
			   struct stat *ret_st)
{
	_cleanup_(closep) int fd = -1;
	_cleanup_(freep) char *buf = NULL;
	struct stat st;
	size_t n = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADF;
	buf = malloc(max + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k = read(fd, buf + n, max + 1 - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max)
			return -EFBIG;
	}
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = n;
	if (ret_st)
		*ret_st = st;
	return 0;
}

/* {"username": "...", "password": "..."}, readable by its owner only. */
static int load_credentials(MqttConfig *c, const char *path)
{
	_cleanup_(json_object_putp) json_object *j = NULL;
	_cleanup_(freep) char *text = NULL;
	JsonError jerr = {};
	struct stat st;
	size_t len;
	int r;

	r = read_small_file(path, 4096, &text, &len, &st);
	if (r < 0)
		return log_error_errno(r, "Failed to read the credentials file %s: %m", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		explicit_bzero(text, len);
		return config_fail(path, "$", "group or others may read it (mode %04o); "
				   "make it 0600 or 0400", (unsigned)(st.st_mode & 07777));
	}
	r = json_parse_strict(text, len, 4, &j, &jerr);
	explicit_bzero(text, len);
	if (r < 0)
		return config_fail(path, jerr.path, "%s", jerr.message);
	if (!json_object_is_type(j, json_type_object))
		return config_fail(path, "$", "must be an object with username and password");
	json_object_object_foreach(j, key, v) {
		if (streq(key, "username"))
			r = get_string(path, v, "$.username", &c->username);
		else if (streq(key, "password"))
			r = get_string(path, v, "$.password", &c->password);
		else
			r = config_fail(path, "$", "unknown key \"%s\"", key);
		if (r < 0)
			return r;
	}
	if (!c->username)
		return config_fail(path, "$.username", "is missing");
	return 0;
}

char *mqtt_config_topic(const MqttConfig *c, const char *leaf)
{
	char *s;

	if (asprintf(&s, "%s/%s/%s", c->prefix, c->board, leaf) < 0)
		return NULL;
	return s;
}

int mqtt_config_parse(MqttConfig **ret, const char *path, const char *text)
{
	_cleanup_(mqtt_config_freep) MqttConfig *c = NULL;
	_cleanup_(json_object_putp) json_object *j = NULL;
	JsonError jerr = {};
	int64_t n;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return log_oom();
	c->path = strdup(path);
	if (!c->path)
		return log_oom();
	c->payload_max = MQTT_CONFIG_DEFAULT_PAYLOAD_MAX;
	c->keepalive = MQTT_CONFIG_DEFAULT_KEEPALIVE;
	c->discovery = true;
	c->definitions_refresh = MQTT_CONFIG_DEFAULT_DEFINITIONS_REFRESH;

	if (text) {
		r = json_parse_strict(text, strlen(text), 8, &j, &jerr);
		if (r < 0)
			return config_fail(path, jerr.path, "%s", jerr.message);
		if (!json_object_is_type(j, json_type_object))
			return config_fail(path, "$", "must be a JSON object");

		json_object_object_foreach(j, key, v) {
			if (streq(key, "broker"))
				r = get_string(path, v, "$.broker", &c->broker);
			else if (streq(key, "ca_file"))
				r = get_string(path, v, "$.ca_file", &c->ca_file);
			else if (streq(key, "credentials_file"))
				r = get_string(path, v, "$.credentials_file", &c->credentials_file);
			else if (streq(key, "client_id"))
				r = get_string(path, v, "$.client_id", &c->client_id);
			else if (streq(key, "topic_prefix"))
				r = get_string(path, v, "$.topic_prefix", &c->prefix);
			else if (streq(key, "board"))
				r = get_string(path, v, "$.board", &c->board);
			else if (streq(key, "discovery_prefix"))
				r = get_string(path, v, "$.discovery_prefix", &c->discovery_prefix);
			else if (streq(key, "payload_max")) {
				r = get_unsigned(path, v, "$.payload_max", 16, MQTT_PAYLOAD_LIMIT, &n);
				c->payload_max = (size_t)n;
			} else if (streq(key, "keepalive")) {
				r = get_unsigned(path, v, "$.keepalive", 5, 65535, &n);
				c->keepalive = (unsigned)n;
			} else if (streq(key, "definitions_refresh")) {
				r = get_unsigned(path, v, "$.definitions_refresh", 0, 86400, &n);
				c->definitions_refresh = (unsigned)n;
			} else if (streq(key, "discovery")) {
				if (!json_object_is_type(v, json_type_boolean))
					r = config_fail(path, "$.discovery", "must be true or false");
				else
					c->discovery = json_object_get_boolean(v);
			} else
				r = config_fail(path, "$", "unknown key \"%s\"", key);
			if (r < 0)
				return r;
		}
	}

	if (!c->broker && !(c->broker = strdup(MQTT_CONFIG_DEFAULT_BROKER)))
		return log_oom();
	r = mqtt_broker_url_parse(c->broker, &c->host, &c->port, &c->tls);
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return config_fail(path, "$.broker",
				   "\"%s\" is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]",
				   c->broker);
	if (c->ca_file && !c->tls)
		return config_fail(path, "$.ca_file", "needs an mqtts:// broker");

	if (!c->prefix && !(c->prefix = strdup(MQTT_CONFIG_DEFAULT_PREFIX)))
		return log_oom();
	if (!mqtt_prefix_is_valid(c->prefix))
		return config_fail(path, "$.topic_prefix",
				   "\"%s\" must be 1-128 bytes of topic levels without + or # "
				   "and without empty levels", c->prefix);
	if (!c->discovery_prefix &&
	    !(c->discovery_prefix = strdup(MQTT_CONFIG_DEFAULT_DISCOVERY_PREFIX)))
		return log_oom();
	if (!mqtt_prefix_is_valid(c->discovery_prefix))
		return config_fail(path, "$.discovery_prefix",
				   "\"%s\" must be topic levels without + or #", c->discovery_prefix);

	if (!c->board && mqtt_board_from_hostname(&c->board) < 0)
		return log_oom();
	if (!mqtt_board_name_is_valid(c->board))
		return config_fail(path, "$.board",
				   "\"%s\" must be 1-64 of A-Z a-z 0-9 _ -, and not \"%s\"",
				   c->board, MQTT_GROUP_BOARD);

	if (!c->client_id && asprintf(&c->client_id, "blinkd-mqtt-%s", c->board) < 0) {
		c->client_id = NULL;
		return log_oom();
	}
	if (strlen(c->client_id) > 65535)
		return config_fail(path, "$.client_id", "is longer than 65535 bytes");

	*ret = TAKE_PTR(c);
	return 0;
}

int mqtt_config_load(MqttConfig **ret, const char *path, bool must_exist)
{
	_cleanup_(mqtt_config_freep) MqttConfig *c = NULL;
	_cleanup_(freep) char *text = NULL;
	_cleanup_(freep) char *credential = NULL;
	const char *credentials_dir;
	int r;

	r = read_small_file(path, CONFIG_FILE_MAX, &text, NULL, NULL);
	if (r == -ENOENT && !must_exist)
		log_info("No %s; using the defaults.", path);
	else if (r == -EFBIG)
		return log_error_errno(r, "%s is larger than %d bytes.", path, CONFIG_FILE_MAX);
	else if (r < 0)
		return log_error_errno(r, "Failed to read %s: %m", path);

	r = mqtt_config_parse(&c, path, text);
	if (r < 0)
		return r;

	/* systemd's LoadCredential= hands the file over where only the service can read it. */
	credentials_dir = getenv("CREDENTIALS_DIRECTORY");
	if (!c->credentials_file && credentials_dir) {
		if (asprintf(&credential, "%s/%s", credentials_dir, MQTT_CREDENTIAL_NAME) < 0)
			return log_oom();
		if (access(credential, F_OK) == 0)
			c->credentials_file = TAKE_PTR(credential);
	}
	if (c->credentials_file) {
		r = load_credentials(c, c->credentials_file);
		if (r < 0)
			return r;
	}
	if (c->ca_file && access(c->ca_file, R_OK) < 0)
		return log_error_errno(errno, "%s: $.ca_file: cannot read %s: %m", path, c->ca_file);

	*ret = TAKE_PTR(c);
	return 0;
}

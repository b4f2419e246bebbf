/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "json-util.h"
#include "log.h"
#include "program.h"
#include "store.h"

#define STORE_FORMAT "blinkd-state-1"
#define STORE_TEMPORARY ".state.json.new"
#define STORE_BROKEN "state.json.broken"
#define STORE_SIZE_MAX (64 * 1024 * 1024)

void store_content_done(StoreContent *c)
{
	for (size_t i = 0; i < c->n_programs; i++) {
		free(c->programs[i].name);
		free(c->programs[i].program);
	}
	for (size_t i = 0; i < c->n_definitions; i++) {
		free(c->definitions[i].name);
		free(c->definitions[i].program);
	}
	free(c->programs);
	free(c->definitions);
	*c = (StoreContent){};
}

static char *path_join(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* mkdir -p, the last level 0700: the state is the daemon's own. */
static int make_directory(const char *dir)
{
	_cleanup_(freep) char *copy = strdup(dir);

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(copy, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(copy, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static const char *string_of(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool int_of(json_object *o, const char *key, int64_t *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*ret = json_object_get_int64(v);
	return true;
}

/* Read the parsed file into @c; -EBADMSG when it is not blinkd's state. */
static int store_read(json_object *root, StoreContent *c)
{
	json_object *programs, *definitions;
	const char *format = string_of(root, "format");

	if (!format || !streq(format, STORE_FORMAT) ||
	    !json_object_object_get_ex(root, "programs", &programs) ||
	    !json_object_is_type(programs, json_type_array) ||
	    !json_object_object_get_ex(root, "definitions", &definitions) ||
	    !json_object_is_type(definitions, json_type_array))
		return -EBADMSG;

	c->programs = calloc(json_object_array_length(programs) + 1, sizeof(StoredProgram));
	c->definitions = calloc(json_object_array_length(definitions) + 1, sizeof(StoredDefinition));
	if (!c->programs || !c->definitions)
		return -ENOMEM;
	for (size_t i = 0; i < json_object_array_length(programs); i++) {
		json_object *o = json_object_array_get_idx(programs, i);
		const char *name = string_of(o, "name"), *program = string_of(o, "program");
		int64_t priority, timeout, started;
		StoredProgram *s = &c->programs[c->n_programs];

		if (!name || !program || !int_of(o, "priority", &priority) ||
		    !int_of(o, "timeout", &timeout) || !int_of(o, "started", &started) ||
		    timeout < 0 || started < 0)
			return -EBADMSG;
		s->name = strdup(name);
		s->program = strdup(program);
		s->priority = (int)priority;
		s->timeout = (usec_t)timeout;
		s->started = (usec_t)started;
		c->n_programs++;
		if (!s->name || !s->program)
			return -ENOMEM;
	}
	for (size_t i = 0; i < json_object_array_length(definitions); i++) {
		json_object *o = json_object_array_get_idx(definitions, i);
		const char *name = string_of(o, "name"), *program = string_of(o, "program");
		StoredDefinition *s = &c->definitions[c->n_definitions];

		if (!name || !program)
			return -EBADMSG;
		s->name = strdup(name);
		s->program = strdup(program);
		c->n_definitions++;
		if (!s->name || !s->program)
			return -ENOMEM;
	}
	return 0;
}

static void set_aside(const char *dir, const char *path, const char *why)
{
	_cleanup_(freep) char *broken = path_join(dir, STORE_BROKEN);

	if (broken && rename(path, broken) >= 0)
		log_warning("%s %s; set aside as %s, starting without it.", path, why, broken);
	else
		(void)log_warning_errno(errno, "%s %s, and could not be set aside: %m; starting "
					       "without it.",
					path, why);
}

int store_load(const char *dir, StoreContent *ret)
{
	_cleanup_(freep) char *path = path_join(dir, STORE_FILE), *text = NULL;
	_cleanup_(json_object_putp) json_object *root = NULL;
	_cleanup_(fclosep) FILE *f = NULL;
	StoreContent c = {};
	JsonError error;
	size_t len;
	int r;

	*ret = (StoreContent){};
	if (!path)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			set_aside(dir, path, "cannot be read");
		return 0;
	}
	text = malloc(STORE_SIZE_MAX + 1);
	if (!text)
		return -ENOMEM;
	len = fread(text, 1, STORE_SIZE_MAX, f);
	text[len] = '\0';
	if (ferror(f) || len == STORE_SIZE_MAX) {
		set_aside(dir, path, "cannot be read whole");
		return 0;
	}
	r = json_parse_strict(text, len, 16, &root, &error);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || !json_object_is_type(root, json_type_object)) {
		set_aside(dir, path, "is not valid JSON");
		return 0;
	}
	r = store_read(root, &c);
	if (r == -ENOMEM) {
		store_content_done(&c);
		return r;
	}
	if (r < 0) {
		store_content_done(&c);
		set_aside(dir, path, "is not blinkd's state");
		return 0;
	}
	*ret = c;
	return 0;
}

static json_object *store_to_json(const StoreContent *c)
{
	_cleanup_(json_object_putp) json_object *root = json_object_new_object();
	json_object *programs = json_object_new_array(), *definitions = json_object_new_array();

	if (!root || !programs || !definitions) {
		json_object_put(programs);
		json_object_put(definitions);
		return NULL;
	}
	json_object_object_add(root, "format", json_object_new_string(STORE_FORMAT));
	json_object_object_add(root, "programs", programs);
	json_object_object_add(root, "definitions", definitions);
	for (size_t i = 0; i < c->n_programs; i++) {
		const StoredProgram *s = &c->programs[i];
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(programs, o) < 0)
			return json_object_put(o), NULL;
		json_object_object_add(o, "name", json_object_new_string(s->name));
		json_object_object_add(o, "program", json_object_new_string(s->program));
		json_object_object_add(o, "priority", json_object_new_int64(s->priority));
		json_object_object_add(o, "timeout", json_object_new_int64((int64_t)s->timeout));
		json_object_object_add(o, "started", json_object_new_int64((int64_t)s->started));
	}
	for (size_t i = 0; i < c->n_definitions; i++) {
		const StoredDefinition *s = &c->definitions[i];
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(definitions, o) < 0)
			return json_object_put(o), NULL;
		json_object_object_add(o, "name", json_object_new_string(s->name));
		json_object_object_add(o, "program", json_object_new_string(s->program));
	}
	return TAKE_PTR(root);
}

int store_format(const StoreContent *c, char **ret_text, size_t *ret_len)
{
	_cleanup_(json_object_putp) json_object *root = store_to_json(c);
	const char *text;
	size_t len;
	char *copy;

	if (!root)
		return -ENOMEM;
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	copy = malloc(len + 2);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len++] = '\n';
	copy[len] = '\0';
	*ret_text = copy;
	*ret_len = len;
	return 0;
}

int store_open_directory(const char *dir)
{
	int r, fd;

	r = make_directory(dir);
	if (r < 0)
		return r;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int write_all(int fd, const char *text, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t k = write(fd, text + done, len - done);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)k;
	}
	return 0;
}

int store_write_temporary_at(int dir_fd, const char *text, size_t len, const char **ret_step)
{
	_cleanup_(closep) int fd = -1;
	struct stat st;
	int r;

	/*
	 * A stale temporary file, or anything planted under its name (a
	 * symlink to some other file), is unlinked, never followed: the file
	 * is made new, and O_EXCL with O_NOFOLLOW fails rather than open what
	 * is there.
	 */
	*ret_step = "create";
	if (unlinkat(dir_fd, STORE_TEMPORARY, 0) < 0 && errno != ENOENT)
		return -errno;
	fd = openat(dir_fd, STORE_TEMPORARY,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = errno ? -errno : -EBADF;
		goto fail;
	}
	*ret_step = "write";
	r = write_all(fd, text, len);
	if (r < 0)
		goto fail;
	*ret_step = "sync";
	if (fsync(fd) < 0 || close(TAKE_FD(fd)) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	/* On a full disk the half-written file would only take the room of the next try. */
	(void)unlinkat(dir_fd, STORE_TEMPORARY, 0);
	return r;
}

int store_commit_temporary_at(int dir_fd, const char **ret_step)
{
	*ret_step = "rename";
	if (renameat(dir_fd, STORE_TEMPORARY, dir_fd, STORE_FILE) < 0) {
		int r = -errno;

		(void)unlinkat(dir_fd, STORE_TEMPORARY, 0);
		return r;
	}
	/* The rename itself survives a crash only once the directory is on disk. */
	*ret_step = "sync the directory";
	if (fsync(dir_fd) < 0)
		return -errno;
	return 0;
}

int store_write_at(int dir_fd, const char *text, size_t len, const char **ret_step)
{
	int r = store_write_temporary_at(dir_fd, text, len, ret_step);

	if (r < 0)
		return r;
	return store_commit_temporary_at(dir_fd, ret_step);
}

int store_write_temporary(const char *dir, const StoreContent *c)
{
	_cleanup_(freep) char *text = NULL;
	_cleanup_(closep) int dir_fd = -1;
	const char *step = "write";
	size_t len;
	int r;

	dir_fd = store_open_directory(dir);
	if (dir_fd < 0)
		return log_error_errno(dir_fd, "Failed to make the state directory %s: %m", dir);
	r = store_format(c, &text, &len);
	if (r < 0)
		return log_oom();
	r = store_write_temporary_at(dir_fd, text, len, &step);
	if (r < 0)
		return log_error_errno(r, "Failed to %s %s/%s: %m", step, dir, STORE_TEMPORARY);
	return 0;
}

int store_commit_temporary(const char *dir)
{
	_cleanup_(closep) int dir_fd = -1;
	const char *step = "rename";
	int r;

	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return log_error_errno(errno, "Failed to open the state directory %s: %m", dir);
	r = store_commit_temporary_at(dir_fd, &step);
	if (r < 0)
		return log_error_errno(r, "Failed to %s in %s: %m", step, dir);
	return 0;
}

int store_save(const char *dir, const StoreContent *c)
{
	int r = store_write_temporary(dir, c);

	if (r < 0)
		return r;
	return store_commit_temporary(dir);
}

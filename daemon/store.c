/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "engine.h"
#include "json-util.h"
#include "log.h"
#include "name-table.h"
#include "program.h"
#include "store.h"
#include "utf8.h"

#define STORE_FORMAT "blinkd-state-1"
#define STORE_TEMPORARY ".state.json.new"
#define STORE_BROKEN "state.json.broken."
#define STORE_BROKEN_KEEP 16
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

/* Why an entry is left out: one log line naming it, escaped. */
static void left_out(const char *path, const char *what, size_t index, const char *name,
		     const char *fmt, ...) _printf_(5, 6);
static void left_out(const char *path, const char *what, size_t index, const char *name,
		     const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (name)
		log_warning("%s: stored %s \"%s\" left out: %s.", path, what,
			    QUOTE(name, QUOTE_CHARS_MAX), why);
	else
		log_warning("%s: stored %s #%zu left out: %s.", path, what, index, why);
}

/* The first key of @o that is not in @keys (NULL-terminated), or NULL. */
static const char *unknown_key(json_object *o, const char *const *keys)
{
	json_object_object_foreach(o, key, v)
	{
		bool known = false;

		(void)v;
		for (size_t i = 0; keys[i] && !known; i++)
			known = streq(key, keys[i]);
		if (!known)
			return key;
	}
	return NULL;
}

/* A string member, or NULL when it is missing or of another type. */
static const char *string_of(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * An integer member in [@min, @max]. json-c keeps a number beyond int64 as
 * the nearest int64 (or as an unsigned one), so the range is checked on
 * what it read, and a number past INT64_MAX never passes for a small one.
 */
static bool int_of(json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret)
{
	json_object *v;
	int64_t i;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	i = json_object_get_int64(v);
	if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return false;
	if (i < min || i > max)
		return false;
	*ret = i;
	return true;
}

/* The name of entry @o when it has one that can be shown, for the log line. */
static const char *entry_name(json_object *o)
{
	return json_object_is_type(o, json_type_object) ? string_of(o, "name") : NULL;
}

/*
 * Read one program entry into @s; false (logged) when it is left out. A
 * key blinkd does not know is a later writer's or a hand's: its meaning
 * cannot be kept, so the entry is not resumed without it.
 */
static bool read_program(const char *path, size_t index, json_object *o, NameTable *seen,
			 StoredProgram *s)
{
	static const char *const keys[] = { "name", "program", "priority", "timeout", "started",
					    NULL };
	const char *name = entry_name(o), *program, *key;
	int64_t priority, timeout, started;

	if (!json_object_is_type(o, json_type_object))
		return left_out(path, "program", index, NULL, "not an object"), false;
	if (!name)
		return left_out(path, "program", index, NULL, "name: missing or not a string"),
		       false;
	if (!program_name_is_valid(name))
		return left_out(path, "program", index, name,
				"not a valid name (1 to 64 of A-Z a-z 0-9 _ . -)"),
		       false;
	if ((key = unknown_key(o, keys)))
		return left_out(path, "program", index, name,
				"it has a key blinkd does not know (%s)",
				QUOTE(key, QUOTE_CHARS_MAX)),
		       false;
	program = string_of(o, "program");
	if (!program)
		return left_out(path, "program", index, name, "program: missing or not a string"),
		       false;
	if (!int_of(o, "priority", ENGINE_PRIORITY_MIN, ENGINE_PRIORITY_MAX, &priority))
		return left_out(path, "program", index, name,
				"priority: missing, not an integer, or out of range (-1000 to 1000)"),
		       false;
	if (!int_of(o, "timeout", 0, ENGINE_OFFSET_MAX, &timeout))
		return left_out(path, "program", index, name,
				"timeout: missing, not an integer, or out of range"),
		       false;
	if (!int_of(o, "started", 0, INT64_MAX, &started))
		return left_out(path, "program", index, name,
				"started: missing, not an integer, or out of range"),
		       false;
	if (name_table_get(seen, name))
		return left_out(path, "program", index, name, "a program of that name came before"),
		       false;
	*s = (StoredProgram){
		.name = (char *)name, /* borrowed from the JSON until copied */
		.program = (char *)program,
		.priority = (int)priority,
		.timeout = (usec_t)timeout,
		.started = (usec_t)started,
	};
	return true;
}

static bool read_definition(const char *path, size_t index, json_object *o, NameTable *seen,
			    StoredDefinition *s)
{
	static const char *const keys[] = { "name", "program", NULL };
	const char *name = entry_name(o), *program, *key;

	if (!json_object_is_type(o, json_type_object))
		return left_out(path, "definition", index, NULL, "not an object"), false;
	if (!name)
		return left_out(path, "definition", index, NULL, "name: missing or not a string"),
		       false;
	if (!program_name_is_valid(name))
		return left_out(path, "definition", index, name,
				"not a valid name (1 to 64 of A-Z a-z 0-9 _ . -)"),
		       false;
	if ((key = unknown_key(o, keys)))
		return left_out(path, "definition", index, name,
				"it has a key blinkd does not know (%s)",
				QUOTE(key, QUOTE_CHARS_MAX)),
		       false;
	program = string_of(o, "program");
	if (!program)
		return left_out(path, "definition", index, name,
				"program: missing or not a string"),
		       false;
	if (name_table_get(seen, name))
		return left_out(path, "definition", index, name,
				"a definition of that name came before"),
		       false;
	*s = (StoredDefinition){ (char *)name, (char *)program };
	return true;
}

/* The array member @key of @root; NULL (logged when it is there but not an array) if none. */
static json_object *list_of(const char *path, json_object *root, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(root, key, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_array)) {
		log_warning("%s: %s is not a list; every stored %s left out.", path, key,
			    streq(key, "programs") ? "program" : "definition");
		return NULL;
	}
	return v;
}

/*
 * Read the parsed file into @c, entry by entry: an entry that does not fit
 * is left out with a log line, the others are read. -EBADMSG only when the
 * file as a whole is not blinkd's state (not an object, another format).
 */
static int store_read(const char *path, json_object *root, StoreContent *c)
{
	static const char *const keys[] = { "format", "programs", "definitions", NULL };
	_cleanup_(name_table_done) NameTable seen_programs = {}, seen_definitions = {};
	json_object *programs, *definitions;
	const char *format = string_of(root, "format"), *key;
	size_t n;

	if (!format || !streq(format, STORE_FORMAT))
		return -EBADMSG;
	if ((key = unknown_key(root, keys)))
		log_warning("%s: a key blinkd does not know (%s), ignored.", path,
			    QUOTE(key, QUOTE_CHARS_MAX));
	programs = list_of(path, root, "programs");
	definitions = list_of(path, root, "definitions");

	n = programs ? json_object_array_length(programs) : 0;
	c->programs = calloc(n + 1, sizeof(StoredProgram));
	if (!c->programs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		StoredProgram *s = &c->programs[c->n_programs];

		if (!read_program(path, i, json_object_array_get_idx(programs, i), &seen_programs, s))
			continue;
		s->name = strdup(s->name);
		s->program = strdup(s->program);
		c->n_programs++;
		if (!s->name || !s->program || name_table_put(&seen_programs, s->name, s) < 0)
			return -ENOMEM;
	}

	n = definitions ? json_object_array_length(definitions) : 0;
	c->definitions = calloc(n + 1, sizeof(StoredDefinition));
	if (!c->definitions)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		StoredDefinition *s = &c->definitions[c->n_definitions];

		if (!read_definition(path, i, json_object_array_get_idx(definitions, i),
				     &seen_definitions, s))
			continue;
		s->name = strdup(s->name);
		s->program = strdup(s->program);
		c->n_definitions++;
		if (!s->name || !s->program || name_table_put(&seen_definitions, s->name, s) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The number N of a set-aside file "state.json.broken.N", or 0 when @name is not one. */
static unsigned long broken_number(const char *name)
{
	const char *p;
	char *end;
	unsigned long n;

	if (strncmp(name, STORE_BROKEN, strlen(STORE_BROKEN)) != 0)
		return 0;
	p = name + strlen(STORE_BROKEN);
	if (*p < '1' || *p > '9')
		return 0;
	errno = 0;
	n = strtoul(p, &end, 10);
	return errno == 0 && *end == '\0' ? n : 0;
}

static int compare_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/*
 * The numbers of the set-aside files in @dfd, ascending, in *@ret; returns
 * how many, or a negative errno.
 */
static int broken_numbers(int dfd, unsigned long **ret)
{
	_cleanup_(freep) unsigned long *numbers = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	int fd;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		(void)close(fd);
		return r;
	}
	for (struct dirent *e; (e = readdir(d));) {
		unsigned long k = broken_number(e->d_name);

		if (k == 0)
			continue;
		if (n == cap) {
			unsigned long *p = realloc(numbers, (cap ? 2 * cap : 16) * sizeof(*p));
			if (!p) {
				(void)closedir(d);
				return -ENOMEM;
			}
			numbers = p;
			cap = cap ? 2 * cap : 16;
		}
		numbers[n++] = k;
	}
	(void)closedir(d);
	if (n > 0)
		qsort(numbers, n, sizeof(*numbers), compare_ulong);
	*ret = TAKE_PTR(numbers);
	return (int)n;
}

/*
 * Set state.json aside as state.json.broken.N, N one more than the highest
 * there is, so that no earlier one is overwritten; of those, the
 * STORE_BROKEN_KEEP newest are kept.
 */
static void set_aside(int dfd, const char *path, const char *why)
{
	_cleanup_(freep) unsigned long *numbers = NULL;
	char name[64];
	unsigned long next;
	int n, r = -EEXIST;

	n = broken_numbers(dfd, &numbers);
	if (n < 0) {
		(void)log_warning_errno(n, "%s %s, and could not be set aside: %m; starting without "
					   "it.",
					path, why);
		return;
	}
	next = n > 0 ? numbers[n - 1] + 1 : 1;
	/* RENAME_NOREPLACE: a name taken since the directory was read is not overwritten. */
	for (unsigned tries = 0; r == -EEXIST && tries < 100; tries++, next++) {
		snprintf(name, sizeof(name), "%s%lu", STORE_BROKEN, next);
		r = renameat2(dfd, STORE_FILE, dfd, name, RENAME_NOREPLACE) < 0 ? -errno : 0;
		if (r == -EINVAL || r == -ENOSYS) {
			/* A file system without RENAME_NOREPLACE: look first, then rename. */
			if (faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
				r = -EEXIST;
			else
				r = renameat(dfd, STORE_FILE, dfd, name) < 0 ? -errno : 0;
		}
	}
	if (r < 0) {
		(void)log_warning_errno(r, "%s %s, and could not be set aside: %m; starting without "
					   "it.",
					path, why);
		return;
	}
	log_warning("%s %s; set aside as %s, starting without it.", path, why, name);

	/* The oldest beyond the newest STORE_BROKEN_KEEP go (the one just made is one of those). */
	for (int i = 0; i + STORE_BROKEN_KEEP - 1 < n; i++) {
		snprintf(name, sizeof(name), "%s%lu", STORE_BROKEN, numbers[i]);
		if (unlinkat(dfd, name, 0) < 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
			continue; /* a directory with something in it: left as it is */
		log_info("Removed %s, the oldest of more than %d set-aside state files.", name,
			 STORE_BROKEN_KEEP);
	}
}

/*
 * The state directory is the daemon's own: mode 0700 and the daemon's
 * user, whatever made it. A directory with the sticky bit is a shared one
 * (/tmp): it is not changed, only named in a warning.
 */
static void tighten_directory(int dfd, const char *dir)
{
	struct stat st;
	mode_t mode;

	if (fstat(dfd, &st) < 0)
		return (void)log_warning_errno(errno, "Failed to look at the state directory %s: %m",
					       dir);
	mode = st.st_mode & 07777;
	if (mode & S_ISVTX) {
		log_warning("The state directory %s is shared (mode %04o): others may read and "
			    "plant files there. Give blinkd a directory of its own.",
			    dir, (unsigned)mode);
		return;
	}
	if (st.st_uid != geteuid() || st.st_gid != getegid()) {
		if (fchown(dfd, geteuid(), getegid()) < 0)
			(void)log_warning_errno(errno, "The state directory %s belongs to %u:%u, not "
						       "to the daemon's user %u:%u, and cannot be "
						       "given to it: %m",
						dir, (unsigned)st.st_uid, (unsigned)st.st_gid,
						(unsigned)geteuid(), (unsigned)getegid());
		else
			log_notice("The state directory %s belonged to %u:%u; now to the daemon's "
				   "user %u:%u.",
				   dir, (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)geteuid(),
				   (unsigned)getegid());
	}
	if (mode != 0700) {
		if (fchmod(dfd, 0700) < 0)
			(void)log_warning_errno(errno, "Failed to tighten the mode of the state "
						       "directory %s from %04o to 0700: %m",
						dir, (unsigned)mode);
		else
			log_notice("Tightened the mode of the state directory %s from %04o to 0700: "
				   "the state is the daemon's alone.",
				   dir, (unsigned)mode);
	}
}

static const char *file_type(mode_t mode)
{
	return S_ISDIR(mode)    ? "a directory"
	       : S_ISFIFO(mode) ? "a FIFO"
	       : S_ISSOCK(mode) ? "a socket"
	       : S_ISCHR(mode)  ? "a character device"
	       : S_ISBLK(mode)  ? "a block device"
				: "not a regular file";
}

/* Read the whole of @fd, @size bytes by fstat(), into a NUL-terminated buffer. */
static int read_whole(int fd, size_t size, char **ret, size_t *ret_len)
{
	_cleanup_(freep) char *text = malloc(size + 1);
	size_t len = 0;

	if (!text)
		return -ENOMEM;
	/* One byte more than fstat() said: a file that grows meanwhile is not cut silently. */
	while (len < size + 1) {
		ssize_t k = read(fd, text + len, size + 1 - len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		len += (size_t)k;
	}
	if (len != size)
		return -EBUSY;
	text[len] = '\0';
	*ret = TAKE_PTR(text);
	*ret_len = len;
	return 0;
}

int store_load(const char *dir, StoreContent *ret)
{
	_cleanup_(freep) char *path = path_join(dir, STORE_FILE), *text = NULL;
	_cleanup_(json_object_putp) json_object *root = NULL;
	_cleanup_(closep) int dfd = -1, fd = -1;
	StoreContent c = {};
	JsonError error = {};
	struct stat st;
	char why[600];
	size_t len = 0;
	int r;

	*ret = (StoreContent){};
	if (!path)
		return -ENOMEM;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno != ENOENT)
			(void)log_warning_errno(errno, "Failed to open the state directory %s: %m; "
						       "starting without its state.",
						dir);
		return 0;
	}
	tighten_directory(dfd, dir);

	/*
	 * Not followed if a symbolic link, no controlling terminal, and no
	 * wait for a writer if a FIFO: whatever is there, the open returns at
	 * once, and only a regular file is read.
	 */
	fd = openat(dfd, STORE_FILE, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			set_aside(dfd, path, "is a symbolic link");
		else {
			snprintf(why, sizeof(why), "cannot be opened (%s)", strerror(errno));
			set_aside(dfd, path, why);
		}
		return 0;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, sizeof(why), "cannot be looked at (%s)", strerror(errno));
		set_aside(dfd, path, why);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, sizeof(why), "is %s, not a regular file", file_type(st.st_mode));
		set_aside(dfd, path, why);
		return 0;
	}
	if (st.st_size > STORE_SIZE_MAX) {
		snprintf(why, sizeof(why), "is larger than %d MiB (%lld bytes)",
			 STORE_SIZE_MAX / 1024 / 1024, (long long)st.st_size);
		set_aside(dfd, path, why);
		return 0;
	}
	r = read_whole(fd, (size_t)st.st_size, &text, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot be read whole (%s)",
			 r == -EBUSY ? "it changed while read" : strerror(-r));
		set_aside(dfd, path, why);
		return 0;
	}
	r = json_parse_strict(text, len, 16, &root, &error);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		snprintf(why, sizeof(why), "is not valid JSON (%s: %s)", error.path, error.message);
		set_aside(dfd, path, why);
		return 0;
	}
	if (!json_object_is_type(root, json_type_object)) {
		set_aside(dfd, path, "is not a JSON object");
		return 0;
	}
	r = store_read(path, root, &c);
	if (r == -ENOMEM) {
		store_content_done(&c);
		return r;
	}
	if (r < 0) {
		store_content_done(&c);
		set_aside(dfd, path, "is not blinkd's state (no \"format\": \"" STORE_FORMAT "\")");
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

/* SPDX-License-Identifier: MIT */
/*
 * The configuration file: what it accepts, what it refuses, and the shipped
 * example, whose definitions must all parse and run on the engine.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config-file.h"
#include "engine.h"
#include "log.h"
#include "test.h"

static int parse(const char *text, Config **ret)
{
	return config_parse(ret, text, strlen(text), "test.json");
}

static void test_defaults(void)
{
	_cleanup_(config_freep) Config *c = NULL;

	check_int(parse("{}", &c), 0);
	check_str(c->chip, "/dev/gpiochip0");
	check_str(c->consumer, "blinkd");
	check_int(c->max_programs, 1024);
	check_int(c->layout->n_rows, 5);
	check_int(c->layout->n_cols, 5);
	check_int(c->layout->matrix[0], 11);
	check_int(c->layout->matrix[24], 14);
	check(c->definitions == NULL);
}

static void test_keys(void)
{
	_cleanup_(config_freep) Config *c = NULL;

	check_int(parse("{\"chip\":\"sim\",\"consumer\":\"leds\",\"max_programs\":10000,"
			"\"matrix\":[[3,4,5],[6,7,8]],\"definitions\":{\"a\":{\"wait\":1}},"
			"\"autostart\":{\"b\":{\"call\":\"a\"}},\"precision\":\"spin\"}",
			&c),
		  0);
	check(c->precision_spin);
	check_str(c->chip, "sim");
	check_str(c->consumer, "leds");
	check_int(c->max_programs, 10000);
	check_int(c->layout->n_rows, 2);
	check_int(c->layout->n_cols, 3);
	check_int(c->layout->n_lines, 6);
	check_int(layout_index_of(c->layout, 8), 5);
	check_int(layout_index_of(c->layout, 11), -ENOENT);
	check_int(json_object_object_length(c->definitions), 1);
	check_int(json_object_object_length(c->autostart), 1);
}

static void test_refused(void)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"chip\":\"sim\"} x",
		"{\"chip\":\"sim\",}",
		"{\"colour\":\"red\"}",
		"{\"chip\":\"\"}",
		"{\"chip\":7}",
		"{\"consumer\":null}",
		"{\"matrix\":[]}",
		"{\"matrix\":[[]]}",
		"{\"matrix\":[[1,2],[3]]}",
		"{\"matrix\":[[1,2],[3,1]]}",
		"{\"matrix\":[[1,-2]]}",
		"{\"matrix\":[[1,65536]]}",
		"{\"matrix\":[[1,true]]}",
		"{\"matrix\":[1,2]}",
		"{\"definitions\":[]}",
		"{\"definitions\":{\"a b\":{\"wait\":1}}}",
		"{\"autostart\":{\"\":{\"wait\":1}}}",
		"{\"max_programs\":0}",
		"{\"max_programs\":100001}",
		"{\"max_programs\":\"5\"}",
		"{\"precision\":\"fast\"}",
		"{\"precision\":true}",
		/* Strings whole or refused: a NUL, escaped, in a value or a name. */
		"{\"chip\":\"sim\\u0000x\"}",
		"{\"consumer\":\"a\\u0000\"}",
		"{\"definitions\":{\"a\\u0000b\":{\"wait\":1}}}",
		"{\"autostart\":{\"x\":{\"wait\":\"1s\\u0000\"}}}",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		Config *c = NULL;
		int r = parse(bad[i], &c);
		if (r != -EINVAL)
			fprintf(stderr, "config accepted or failed oddly (%d): %s\n", r, bad[i]);
		check_int(r, -EINVAL);
		check(c == NULL);
	}
}

/* Lines by reference: numbers, chips, settings, aliases, a layout without a matrix. */
static void test_lines(void)
{
	_cleanup_(config_freep) Config *c = NULL;
	const Layout *l;
	unsigned n;

	check_int(parse("{\"chip\":\"/dev/gpiochip0\",\"matrix\":[[3,\"GPIO4\"],[\"rp1:17\",5]],"
			"\"lines\":{\"3\":{\"alias\":\"status\",\"active_low\":true,"
			"\"drive\":\"open-drain\",\"bias\":\"pull-up\",\"initial\":\"keep\","
			"\"exit\":\"on\"},\"rp1:RELAY\":{\"alias\":\"relay\"},"
			"\"gpiochip0:5\":{\"exit\":\"keep\"}}}",
			&c),
		  0);
	l = c->layout;
	check_int(l->n_rows, 2);
	check_int(l->n_lines, 5);
	check_int(l->n_chips, 2);
	check_str(l->chips[1], "rp1");
	/* Offsets on the default chip keep their number; the others count from 65536. */
	check_int(l->matrix[0], 3);
	check_int(l->matrix[1], LAYOUT_NUMBER_EXTRA);
	check_int(l->matrix[2], LAYOUT_NUMBER_EXTRA + 1);
	check_int(l->matrix[3], 5);
	check_int(l->lines[4], LAYOUT_NUMBER_EXTRA + 2);
	check_int(l->info[0].settings.active_low, 1);
	check_int(l->info[0].settings.drive, LINE_DRIVE_OPEN_DRAIN);
	check_int(l->info[0].settings.bias, LINE_BIAS_PULL_UP);
	check_int(l->info[0].settings.initial, LINE_STATE_KEEP);
	check_int(l->info[0].settings.exit, LINE_STATE_ON);
	check(l->any_active_low);
	check_str(l->info[1].line_name, "GPIO4");
	check_int(l->info[2].chip, 1);
	check_int(l->info[2].offset, 17);
	check_int(l->info[3].settings.exit, LINE_STATE_KEEP); /* "gpiochip0:5" is line 5 */
	check_str(l->info[4].where, "$.lines[\"rp1:RELAY\"]");
	check_int(layout_find_name(l, "status", &n), 0);
	check_int(n, 3);
	check_int(layout_find_name(l, "relay", &n), 0);
	check_int(n, LAYOUT_NUMBER_EXTRA + 2);
	check_int(layout_find_name(l, "rp1:17", &n), 0);
	check_int(n, LAYOUT_NUMBER_EXTRA + 1);
	config_free(c);
	c = NULL;

	/* Lines without a matrix. */
	check_int(parse("{\"chip\":\"sim\",\"lines\":{\"7\":{\"alias\":\"a\"},\"9\":{}}}", &c), 0);
	check_int(c->layout->n_rows, 0);
	check_int(c->layout->n_lines, 2);
	config_free(c);
	c = NULL;

	check_int(parse("{\"sim_chips\":[{\"label\":\"exp\",\"lines\":8,\"names\":[\"A\",\"\",\"C\"],"
			"\"present\":false}]}",
			&c),
		  0);
	check_int(c->n_sim_chips, 1);
	check_str(c->sim_chips[0].label, "exp");
	check_int(c->sim_chips[0].n_lines, 8);
	check_str(c->sim_chips[0].names[2], "C");
	check(c->sim_chips[0].names[1] == NULL);
	check(!c->sim_chips[0].present);
}

/* What the log said while parsing @text: stderr caught in a file. */
static const char *parse_error(const char *text)
{
	static char buf[1024];
	Config *c = NULL;
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	log_set_max_level(LOG_DEBUG);
	check_int(parse(text, &c), -EINVAL);
	log_set_max_level(-1);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	config_free(c);
	return buf;
}

/* Every bad reference or setting is refused, naming its JSON path. */
static void test_lines_refused(void)
{
	static const struct {
		const char *text, *path;
	} bad[] = {
		{ "{\"lines\":[]}", "$.lines:" },
		{ "{\"lines\":{\"\":{}}}", "$.lines[\"\"]:" },
		{ "{\"lines\":{\"65536\":{}}}", "$.lines[\"65536\"]: line offset" },
		{ "{\"lines\":{\":3\":{}}}", "$.lines[\":3\"]:" },
		{ "{\"lines\":{\"rp1:\":{}}}", "$.lines[\"rp1:\"]:" },
		{ "{\"lines\":{\"3\":7}}", "$.lines[\"3\"]:" },
		{ "{\"lines\":{\"3\":{\"colour\":1}}}", "$.lines[\"3\"].colour:" },
		{ "{\"lines\":{\"3\":{\"active_low\":1}}}", "$.lines[\"3\"].active_low:" },
		{ "{\"lines\":{\"3\":{\"drive\":\"open\"}}}", "$.lines[\"3\"].drive:" },
		{ "{\"lines\":{\"3\":{\"bias\":\"up\"}}}", "$.lines[\"3\"].bias:" },
		{ "{\"lines\":{\"3\":{\"initial\":true}}}", "$.lines[\"3\"].initial:" },
		{ "{\"lines\":{\"3\":{\"exit\":\"lit\"}}}", "$.lines[\"3\"].exit:" },
		{ "{\"lines\":{\"3\":{\"alias\":\"a b\"}}}", "$.lines[\"3\"].alias:" },
		{ "{\"lines\":{\"3\":{\"alias\":\"9x\"}}}", "$.lines[\"3\"].alias:" },
		{ "{\"lines\":{\"3\":{\"alias\":\"a\"},\"4\":{\"alias\":\"a\"}}}", "$.lines[\"4\"]: alias" },
		{ "{\"lines\":{\"3\":{\"alias\":\"LED4\"},\"LED4\":{}}}", "$.lines[\"3\"]: alias" },
		{ "{\"chip\":\"c\",\"lines\":{\"3\":{},\"c:3\":{}}}", "$.lines[\"c:3\"]: is the same line" },
		{ "{\"matrix\":[[3,\"3\"]]}", "$.matrix[0][1]:" },
		{ "{\"matrix\":[[3,\"a\\u0001\"]]}", "$.matrix[0][1]:" },
		{ "{\"sim_chips\":{}}", "$.sim_chips:" },
		{ "{\"sim_chips\":[{\"label\":\"a:b\",\"lines\":2}]}", "$.sim_chips[0].label:" },
		{ "{\"sim_chips\":[{\"label\":\"a\",\"lines\":0}]}", "$.sim_chips[0].lines:" },
		{ "{\"sim_chips\":[{\"label\":\"a\"}]}", "$.sim_chips[0]:" },
		{ "{\"sim_chips\":[{\"label\":\"a\",\"lines\":1,\"names\":[\"x\",\"y\"]}]}", "$.sim_chips[0]:" },
		{ "{\"sim_chips\":[{\"label\":\"a\",\"lines\":1,\"names\":[3]}]}", "$.sim_chips[0].names[0]:" },
		{ "{\"sim_chips\":[{\"label\":\"a\",\"lines\":2,\"levels\":[0,2]}]}", "$.sim_chips[0].levels[1]:" },
		{ "{\"sim_chips\":[{\"label\":\"a\",\"lines\":1,\"levels\":[0,1]}]}", "$.sim_chips[0]: gives 2" },
		{ "{\"lines\":{\"led:x\":{\"active_low\":true}}}", "$.lines[\"led:x\"].active_low: an LED" },
		{ "{\"lines\":{\"led:\":{}}}", "$.lines[\"led:\"]: \"led:\" is not an LED" },
		{ "{\"lines\":{\"led:a/b\":{}}}", "$.lines[\"led:a/b\"]:" },
		{ "{\"pwm_hz\":0}", "$.pwm_hz:" },
		{ "{\"pwm_hz\":2001}", "$.pwm_hz:" },
		{ "{\"sim_chips\":[{\"label\":\"a\",\"lines\":1},{\"label\":\"a\",\"lines\":1}]}", "$.sim_chips[1]:" },
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		const char *said = parse_error(bad[i].text);

		if (!strstr(said, bad[i].path))
			fprintf(stderr, "%s: expected \"%s\" in: %s\n", bad[i].text, bad[i].path, said);
		check(strstr(said, bad[i].path) != NULL);
	}
}

static Config *example;
static Program *example_defs[16];
static const char *example_names[16];
static size_t n_example_defs;

static Program *example_lookup(const char *name, void *userdata)
{
	for (size_t i = 0; i < n_example_defs; i++)
		if (streq(example_names[i], name))
			return example_defs[i];
	return NULL;
}

static size_t n_batches;

static int count_commit(void *userdata, usec_t now, size_t n, const unsigned *offsets,
			const uint16_t *values)
{
	n_batches++;
	return 0;
}

static void ignore_finished(void *userdata, EngineRun *run, RunResult result)
{
}

static const EngineOps ops = {
	.commit = count_commit,
	.finished = ignore_finished,
};

/*
 * A client rebuilds the daemon's layout from its Lines property with
 * layout_add_numbered(): the same numbers, chips, matrix and names.
 */
static void test_lines_rebuilt(void)
{
	_cleanup_(config_freep) Config *c = NULL;
	_cleanup_(layout_freep) Layout *l = NULL, *twice = NULL, *big = NULL;
	const Layout *d;
	unsigned positions[4], number;

	check_int(parse("{\"matrix\":[[\"exp:1\",11],[\"GPIO4\",\"/dev/gpiochip0:3\"]],"
			"\"lines\":{\"exp:0\":{\"alias\":\"beacon\"},\"usb:LED\":{},"
			"\"7\":{\"alias\":\"status\",\"active_low\":true}}}",
			&c),
		  0);
	d = c->layout;
	check_int(layout_new_empty(&l, d->chips[0]), 0);
	for (size_t i = 0; i < d->n_lines; i++) {
		int k = layout_add_numbered(l, d->info[i].number, d->info[i].ref,
					d->chips[d->info[i].chip]);
		check_int(k, (int)i);
		if (k < 0)
			return;
		if (d->info[i].alias)
			l->info[k].alias = strdup(d->info[i].alias);
		l->info[k].settings = d->info[i].settings;
	}
	for (size_t i = 0; i < 4; i++)
		positions[i] = (unsigned)layout_index_of(d, d->matrix[i]);
	check_int(layout_set_matrix(l, 2, 2, positions), 0);
	check_int(layout_finish(l), 0);

	check_int(l->n_lines, d->n_lines);
	check_int(l->n_chips, d->n_chips);
	for (size_t i = 0; i < d->n_lines; i++) {
		check_int(l->lines[i], d->lines[i]);
		check_int(l->info[i].chip, d->info[i].chip);
	}
	for (size_t i = 0; i < 4; i++)
		check_int(l->matrix[i], d->matrix[i]);
	check(l->any_active_low);
	check_int(layout_find_name(l, "beacon", &number), 0);
	check_int(number, LAYOUT_NUMBER_EXTRA + 2);
	check_int(layout_find_name(l, "status", &number), 0);
	check_int(number, 7);
	check_int(layout_find_name(l, "usb:LED", &number), 0);
	check_int(number, LAYOUT_NUMBER_EXTRA + 3);

	/* A number given twice, or past the last, does not make a layout. */
	check_int(layout_new_empty(&twice, "chip"), 0);
	check_int(layout_add_numbered(twice, 5, "5", NULL), 0);
	check_int(layout_add_numbered(twice, 5, "x:5", "x"), 1);
	check_int(twice->n_chips, 2);
	check_int(layout_finish(twice), -EEXIST);
	check_int(layout_new_empty(&big, "chip"), 0);
	check_int(layout_add_numbered(big, LAYOUT_NUMBER_MAX + 1, "x:1", "x"), -ERANGE);
	check_int(layout_add_numbered(big, LAYOUT_NUMBER_MAX, "x:1", "x"), 0);
	check_int(layout_finish(big), 0);
	check_int(layout_index_of(big, LAYOUT_NUMBER_MAX), 0);
}

/* The README's board, examples/board.json: its lines, their settings, its programs. */
static void test_board_example(void)
{
	_cleanup_(freep) char *text = malloc(1 << 16);
	_cleanup_(fclosep) FILE *f = fopen(BLINKD_SOURCE_DIR "/examples/board.json", "re");
	_cleanup_(config_freep) Config *c = NULL;
	const LayoutLine *relay;
	ProgramError error;
	unsigned n;
	size_t len;

	check(f != NULL);
	if (!f || !text)
		return;
	len = fread(text, 1, (1 << 16) - 1, f);
	text[len] = '\0';
	check_int(config_parse(&c, text, len, "board.json"), 0);
	if (!c)
		return;
	check_int(c->layout->n_rows, 0);
	check_int(c->layout->n_lines, 4);
	check_int(c->layout->n_chips, 2);
	check_int(layout_find_name(c->layout, "status", &n), 0);
	check_int(n, 27);
	check(c->layout->info[layout_index_of(c->layout, 27)].settings.active_low);
	check_int(layout_find_name(c->layout, "relay", &n), 0);
	relay = &c->layout->info[layout_index_of(c->layout, n)];
	check(relay->settings.active_low);
	check_int(relay->settings.initial, LINE_STATE_KEEP);
	check_int(relay->settings.exit, LINE_STATE_KEEP);
	check_int(layout_find_name(c->layout, "red", &n), 0);
	check_str(c->layout->chips[c->layout->info[layout_index_of(c->layout, n)].chip],
		  "mcp2221_gpio");
	check_int(c->n_sim_chips, 1);
	check_str(c->sim_chips[0].label, "mcp2221_gpio");
	json_object_object_foreach(c->definitions, name, val)
	{
		Program *p = NULL;
		int r = program_parse_json(val, "$", c->layout, 0, &p, &error);

		if (r < 0)
			fprintf(stderr, "definition %s: %s: %s\n", name, error.path, error.message);
		check_int(r, 0);
		program_unref(p);
	}
	json_object_object_foreach(c->autostart, name2, val2)
	{
		Program *p = NULL;
		int r = program_parse_json(val2, "$", c->layout, 0, &p, &error);

		if (r < 0)
			fprintf(stderr, "autostart %s: %s: %s\n", name2, error.path, error.message);
		check_int(r, 0);
		program_unref(p);
	}
}

/* Every definition of the shipped example parses, and its showcase runs for an hour. */
static void test_example(void)
{
	_cleanup_(freep) char *text = malloc(1 << 20);
	_cleanup_(fclosep) FILE *f = fopen(BLINKD_SOURCE_DIR "/daemon/blinkd.json.example", "re");
	_cleanup_(engine_freep) Engine *e = NULL;
	Program *showcase;
	ProgramError error;
	unsigned failed = 0;
	size_t len;

	check(f != NULL);
	if (!f || !text)
		return;
	len = fread(text, 1, (1 << 20) - 1, f);
	text[len] = '\0';
	check_int(config_parse(&example, text, len, "blinkd.json.example"), 0);
	if (!example)
		return;
	check_int(layout_name_unnamed_lines(example->layout), 0);

	json_object_object_foreach(example->definitions, name, val)
	{
		int r = program_parse_json(val, "$", example->layout, 0,
					   &example_defs[n_example_defs], &error);
		if (r < 0)
			fprintf(stderr, "definition %s: %s: %s\n", name, error.path, error.message);
		check_int(r, 0);
		example_names[n_example_defs++] = name;
	}
	check_int(n_example_defs, 7);

	showcase = example_lookup("showcase", NULL);
	check(showcase != NULL);
	if (!showcase)
		return;
	check_int(engine_new(&e, example->layout, &ops, NULL), 0);
	check_int(engine_start(e, showcase, example_lookup, NULL, 0, NULL, NULL, &error), 0);
	for (usec_t t = 0; t <= 3600 * USEC_PER_SEC; t = engine_next_deadline(e))
		if (engine_advance(e, t) < 0)
			failed++;
	check_int(failed, 0);
	check_int(engine_n_runs(e), 1); /* forever */
	check(n_batches > 10000);
	/* Every round recycles its tasks: an hour in, no more tasks than in the first round. */
	check(engine_n_tasks(e) < 64);
}

/* What config_parse() logs for @text, read back from stderr; its result in @ret_r. */
static char *parse_logged(const char *text, int *ret_r)
{
	char path[] = "/tmp/test-config-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO), level = log_get_max_level();
	char *out = calloc(1, 4096);
	Config *c = NULL;

	if (fd < 0 || saved < 0 || !out)
		abort();
	(void)unlink(path);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	log_set_max_level(LOG_INFO);
	log_set_prefix(false);
	*ret_r = parse(text, &c);
	config_free(c);
	log_set_max_level(level);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (pread(fd, out, 4095, 0) < 0)
		abort();
	close(fd);
	return out;
}

static void check_logged(const char *text, const char *line)
{
	int r = 0;
	_cleanup_(freep) char *log = parse_logged(text, &r);

	check_int(r, -EINVAL);
	check_str(log, line);
}

/* A key written twice is refused at every level, naming its path; json-c kept the last. */
static void test_duplicate_keys(void)
{
	check_logged("{\"lines\":{\"11\":{}},\"lines\":{\"12\":{}}}",
		     "test.json: $.lines: duplicate key \"lines\"\n");
	check_logged("{\"chip\":\"sim\",\"max_programs\":3,\"chip\":\"sim\"}",
		     "test.json: $.chip: duplicate key \"chip\"\n");
	check_logged("{\"lines\":{\"11\":{\"alias\":\"a\",\"alias\":\"b\"}}}",
		     "test.json: $.lines.11.alias: duplicate key \"alias\"\n");
	check_logged("{\"sim_chips\":[{\"label\":\"x\",\"lines\":2,\"lines\":3}]}",
		     "test.json: $.sim_chips[0].lines: duplicate key \"lines\"\n");
	check_logged("{\"definitions\":{\"a\":{\"wait\":1},\"a\":{\"wait\":2}}}",
		     "test.json: $.definitions.a: duplicate key \"a\"\n");
	check_logged("{\"autostart\":{\"a\":{\"fade\":{\"lines\":[11],\"from\":0,\"from\":1,"
		     "\"to\":1,\"duration\":\"1s\"}}}}",
		     "test.json: $.autostart.a.fade.from: duplicate key \"from\"\n");
}

/* A label (or any name) with a newline stays on its one log line, escaped. */
static void test_label_newline_logged(void)
{
	check_logged("{\"sim_chips\":[{\"label\":\"a\\nb\",\"lines\":2},"
		     "{\"label\":\"a\\nb\",\"lines\":2}]}",
		     "test.json: $.sim_chips[1]: label \"a\\x0ab\" is already chip 0's\n");
	/* a key quoted in a path: cut on a character, control characters escaped */
	check_logged("{\"\\u0001\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\":1}",
		     "test.json: $.\\x01\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xe2\x80\xa6: unknown key (expected chip, consumer, matrix, lines, "
		     "sim_chips, definitions, autostart, max_programs, precision, pwm_hz)\n");
}

int main(void)
{
	log_set_max_level(-1); /* refused configs log; that is not under test here */
	test_defaults();
	test_keys();
	test_refused();
	test_lines();
	test_lines_refused();
	test_lines_rebuilt();
	test_duplicate_keys();
	test_label_newline_logged();
	test_board_example();
	test_example();
	for (size_t i = 0; i < n_example_defs; i++)
		program_unref(example_defs[i]);
	config_free(example);
	return test_summary("test-config");
}

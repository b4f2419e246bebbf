/* SPDX-License-Identifier: MIT */
/*
 * The configuration file: what it accepts, what it refuses, and the shipped
 * example, whose definitions must all parse and run on the engine.
 */
#include <errno.h>
#include <stdlib.h>

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
		"{\"matrix\":[[1,\"GPIO2\"]]}",
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
			const uint8_t *values)
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

int main(void)
{
	log_set_max_level(-1); /* refused configs log; that is not under test here */
	test_defaults();
	test_keys();
	test_refused();
	test_example();
	for (size_t i = 0; i < n_example_defs; i++)
		program_unref(example_defs[i]);
	config_free(example);
	return test_summary("test-config");
}

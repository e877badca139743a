/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rp_stream_flush: the daemon calls it when a writer pauses. A value ending the last write must be
 * decided then, not at close; a value continuing in the next write must still be found whole.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "detectors.h"

struct seen {
	unsigned n;
	uint64_t offset[16];
	uint64_t length[16];
	unsigned detector[16];
};

static int collect(const struct rp_finding *f, void *u)
{
	struct seen *s = u;
	if (s->n < 16) {
		s->offset[s->n] = f->offset;
		s->length[s->n] = f->length;
		s->detector[s->n] = f->detector;
	}
	s->n++;
	return 0;
}

static struct rp_engine *engine;
static struct rp_scratch *scratch;

static void setup(void)
{
	struct rp_engine_config cfg;
	rp_engine_config_default(&cfg);
	ck_assert_int_eq(rp_engine_new(&cfg, &engine, NULL, 0), 0);
	ck_assert_int_eq(rp_scratch_new(engine, &scratch), 0);
}

static void teardown(void)
{
	rp_scratch_free(scratch);
	rp_engine_free(engine);
}

static void feed(struct rp_stream *st, const char *s, struct seen *seen)
{
	ck_assert_int_eq(rp_stream_feed(st, scratch, s, strlen(s), collect, seen), 0);
}

START_TEST(value_ending_a_write_is_decided_at_flush)
{
	struct rp_stream *st;
	struct seen seen = {0};

	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	feed(st, "numéro de sécurité sociale 2 95 10 99 126 111 93", &seen);
	ck_assert_int_eq(rp_stream_flush(st, scratch, collect, &seen), 0);
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_uint_eq(seen.detector[0], RP_DET_FR_NIR);
	ck_assert_int_eq(rp_stream_close(st, scratch, NULL, NULL), 0);
}
END_TEST

START_TEST(value_split_by_a_flush_is_found_whole)
{
	struct rp_stream *st;
	struct seen seen = {0};
	const char *a = "NIR du patient : 2 95 10 99 1", *b = "26 111 93, merci";

	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	feed(st, a, &seen);
	ck_assert_int_eq(rp_stream_flush(st, scratch, collect, &seen), 0);
	ck_assert_uint_eq(seen.n, 0); /* a prefix is no NIR */
	feed(st, b, &seen);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect, &seen), 0);
	ck_assert_uint_ge(seen.n, 1);
	for (unsigned i = 0; i < seen.n && i < 16; i++) {
		ck_assert_uint_eq(seen.detector[i], RP_DET_FR_NIR);
		ck_assert_uint_eq(seen.offset[i], strlen("NIR du patient : "));
		ck_assert_uint_eq(seen.length[i], strlen("2 95 10 99 126 111 93"));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stream_flush");
	TCase *tc = tcase_create("flush");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, value_ending_a_write_is_decided_at_flush);
	tcase_add_test(tc, value_split_by_a_flush_is_found_whole);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

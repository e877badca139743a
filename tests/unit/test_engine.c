/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Engine, block and streaming scans: NIR end to end (separators, splits, offsets, masking). */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_fixture.h"
#include "run_suite.h"

static void scan_block(const char *s, struct collect *c)
{
	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(rp_scan_block(engine, scratch, s, strlen(s), collect_cb, c), 0);
}

/* Stream s in two feeds split at k. */
static void scan_split(const char *s, size_t k, struct collect *c)
{
	struct rp_stream *st = NULL;
	size_t len = strlen(s);
	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	ck_assert_int_eq(rp_stream_feed(st, scratch, s, k, collect_cb, c), 0);
	ck_assert_int_eq(rp_stream_feed(st, scratch, s + k, len - k, collect_cb, c), 0);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, c), 0);
}

static void expect_one_nir(const char *text, uint64_t off, uint64_t len, const char *masked)
{
	struct collect c;
	const struct rp_finding *f;
	scan_block(text, &c);
	ck_assert_msg(count_det(&c, "fr_nir") == 1, "block '%s': %u nir findings", text, count_det(&c, "fr_nir"));
	f = find_det(&c, "fr_nir");
	ck_assert_uint_eq(f->offset, off);
	ck_assert_uint_eq(f->length, len);
	if (masked)
		ck_assert_str_eq(f->masked, masked);
	ck_assert(f->confidence >= 0.75 && f->confidence <= 1.0);
	/* every split point, found exactly once, same offsets */
	for (size_t k = 1; k < strlen(text); k++) {
		scan_split(text, k, &c);
		ck_assert_msg(count_det(&c, "fr_nir") == 1, "split %zu of '%s': %u findings", k, text,
			      count_det(&c, "fr_nir"));
		f = find_det(&c, "fr_nir");
		ck_assert_uint_eq(f->offset, off);
		ck_assert_uint_eq(f->length, len);
		if (masked)
			ck_assert_str_eq(f->masked, masked);
	}
}

START_TEST(nir_vectors)
{
	expect_one_nir("NIR 2 95 10 99 126 111 93", 4, 21, "2 95 10 ** *** *** 93");
	expect_one_nir("253072B07300470", 0, 15, "25307********70");
	expect_one_nir("patient 253072A07300443.", 8, 15, "25307********43");
	expect_one_nir("n° sécu: 1-51-02-46102-043-25", 11, 20, "1-51-02-*****-***-25");
	expect_one_nir("2.95.10.99.126.111.93", 0, 21, "2.95.10.**.***.***.93");
}
END_TEST

START_TEST(nir_unicode_separators)
{
	/* NBSP (C2 A0) and narrow NBSP (E2 80 AF) keep their positions as spaces */
	expect_one_nir("NSS 2\xc2\xa0" "95\xc2\xa0" "10\xc2\xa0" "99\xc2\xa0" "126\xc2\xa0" "111\xc2\xa0" "93 fin", 4, 27,
		       "2 95 10 ** *** *** 93");
	expect_one_nir("NSS 2\xe2\x80\xaf" "95\xe2\x80\xaf" "10\xe2\x80\xaf" "99\xe2\x80\xaf" "126\xe2\x80\xaf"
		       "111\xe2\x80\xaf" "93",
		       4, 33, "2 95 10 ** *** *** 93");
	/* JSON-escaped NBSP inside a chat request body */
	expect_one_nir("{\"content\":\"NIR 2\\u00a095\\u00a010\\u00a099\\u00a0126\\u00a0111\\u00a093\\n\"}", 16, 51,
		       "2 95 10 ** *** *** 93");
	expect_one_nir("{\"content\":\"Patient:\\n253072B07300470\\nmerci\"}", 22, 15, "25307********70");
}
END_TEST

START_TEST(nir_lookalikes)
{
	struct collect c;
	/* wrong key */
	scan_block("NIR 2 95 10 99 126 111 94", &c);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 0);
	scan_block("253072B07300471", &c);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 0);
	/* glued to letters */
	scan_block("REF2951099126111930", &c);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 0);
	/* phone numbers, SIRET, dates */
	scan_block("tél 06 12 34 56 78, SIRET 732 829 320 00074, le 12/03/1985", &c);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 0);
	/* month 13 is not a NIR even with a matching key: 2 95 13 99 126 111 key */
	scan_block("2951399126111 05", &c);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 0);
}
END_TEST

START_TEST(nir_stream_offsets)
{
	struct rp_stream *st = NULL;
	struct collect c = {0};
	char pad[5000];
	memset(pad, 'a', sizeof(pad));
	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	ck_assert_int_eq(rp_stream_feed(st, scratch, pad, sizeof(pad), collect_cb, &c), 0);
	ck_assert_int_eq(rp_stream_feed(st, scratch, " 1 51 02 46", 11, collect_cb, &c), 0);
	ck_assert_int_eq(rp_stream_feed(st, scratch, "102 043 25 ", 11, collect_cb, &c), 0);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, &c), 0);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 1);
	ck_assert_uint_eq(find_det(&c, "fr_nir")->offset, 5001);
	ck_assert_uint_eq(find_det(&c, "fr_nir")->length, 20);
	ck_assert_str_eq(find_det(&c, "fr_nir")->masked, "1 51 02 ***** *** 25");
}
END_TEST

START_TEST(nir_byte_by_byte)
{
	const char *text = "Bonjour, le patient (NIR 2\xc2\xa0" "95 10 99 126 111 93) est sorti.";
	struct rp_stream *st = NULL;
	struct collect c = {0};
	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	for (size_t i = 0; text[i]; i++)
		ck_assert_int_eq(rp_stream_feed(st, scratch, text + i, 1, collect_cb, &c), 0);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, &c), 0);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 1);
	ck_assert_uint_eq(find_det(&c, "fr_nir")->offset, 25);
	ck_assert_str_eq(find_det(&c, "fr_nir")->masked, "2 95 10 ** *** *** 93");
}
END_TEST

START_TEST(nir_context_raises_confidence)
{
	struct collect c;
	struct rp_stream *st = NULL;
	double alone, before;
	char text[1200];

	scan_block("2 95 10 99 126 111 93", &c);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 1);
	alone = find_det(&c, "fr_nir")->confidence;
	scan_block("numéro de sécurité sociale : 2 95 10 99 126 111 93", &c);
	before = find_det(&c, "fr_nir")->confidence;
	ck_assert(before > alone);
	/* keyword after the value, streamed in a later feed, also counts (and accents may be JSON escapes) */
	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(rp_stream_feed(st, scratch, "valeur 2 95 10 99 126 111 93 ", 29, collect_cb, &c), 0);
	ck_assert_uint_eq(c.n, 0); /* pending: context may still come */
	ck_assert_int_eq(rp_stream_feed(st, scratch, "(s\\u00e9curit\\u00e9 sociale)", 28, collect_cb, &c), 0);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, &c), 0);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 1);
	ck_assert(find_det(&c, "fr_nir")->confidence > alone);
	/* a keyword beyond the window does not count */
	memset(text, 'x', sizeof(text));
	memcpy(text, "2 95 10 99 126 111 93 ", 22);
	memcpy(text + 600, " NIR ", 5);
	text[sizeof(text) - 1] = '\0';
	scan_block(text, &c);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 1);
	ck_assert(find_det(&c, "fr_nir")->confidence == alone);
}
END_TEST

START_TEST(stream_skip_restarts)
{
	struct rp_stream *st = NULL;
	struct collect c = {0};
	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	/* half a NIR, a gap, the other half: not one value */
	ck_assert_int_eq(rp_stream_feed(st, scratch, "x 2 95 10 99", 12, collect_cb, &c), 0);
	ck_assert_int_eq(rp_stream_skip(st, scratch, 1000, collect_cb, &c), 0);
	ck_assert_int_eq(rp_stream_feed(st, scratch, " 126 111 93 y ", 14, collect_cb, &c), 0);
	/* after the gap a whole NIR at the right offset */
	ck_assert_int_eq(rp_stream_feed(st, scratch, "253072B07300470 ", 16, collect_cb, &c), 0);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, &c), 0);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 1);
	ck_assert_uint_eq(find_det(&c, "fr_nir")->offset, 12 + 1000 + 14);
}
END_TEST

static int stop_cb(const struct rp_finding *f, void *userdata)
{
	(*(int *)userdata)++;
	return 42;
}

START_TEST(callback_stops_scan)
{
	const char *s = "2 95 10 99 126 111 93 et 253072B07300470";
	int calls = 0;
	ck_assert_int_eq(rp_scan_block(engine, scratch, s, strlen(s), stop_cb, &calls), 42);
	ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(api_misuse)
{
	struct rp_stream *st = NULL;
	ck_assert_int_lt(rp_scan_block(NULL, scratch, "x", 1, collect_cb, NULL), 0);
	ck_assert_int_lt(rp_scan_block(engine, NULL, "x", 1, collect_cb, NULL), 0);
	ck_assert_int_lt(rp_scan_block(engine, scratch, NULL, 1, collect_cb, NULL), 0);
	ck_assert_int_eq(rp_scan_block(engine, scratch, NULL, 0, collect_cb, NULL), 0);
	ck_assert_int_lt(rp_stream_open(NULL, &st), 0);
	ck_assert_int_eq(rp_stream_close(NULL, scratch, NULL, NULL), 0);
	rp_engine_free(NULL);
	rp_scratch_free(NULL);
	ck_assert_int_eq(rp_engine_detector_lookup(engine, "fr_nir"), RP_DET_FR_NIR);
	ck_assert_int_eq(rp_engine_detector_lookup(engine, "nope"), -ENOENT);
	ck_assert_str_eq(rp_engine_detector_id(engine, RP_DET_DICOM), "dicom");
	ck_assert_uint_eq(rp_engine_detector_count(engine), RP_DET__BUILTIN);
	ck_assert_uint_gt(rp_engine_stream_state_size(engine), 0);
	ck_assert_uint_le(rp_engine_stream_state_size(engine), 256);
	ck_assert_uint_gt(rp_scratch_size(scratch), 0);
}
END_TEST

/* One engine shared by threads, one scratch each (the daemon's model). */
static void *thread_scan(void *arg)
{
	struct rp_scratch *s = NULL;
	struct collect c;
	const char *t = "NIR 2 95 10 99 126 111 93 et IBAN FR7630006000011234567890189";
	long ok = 1;
	(void)arg;
	if (rp_scratch_new(engine, &s) < 0)
		return NULL;
	for (int i = 0; i < 2000 && ok; i++) {
		memset(&c, 0, sizeof(c));
		ok = rp_scan_block(engine, s, t, strlen(t), collect_cb, &c) == 0 && c.n == 2;
	}
	rp_scratch_free(s);
	return (void *)ok;
}

START_TEST(threads_share_engine)
{
	pthread_t th[4];
	void *ret;
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, thread_scan, NULL), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], &ret), 0);
		ck_assert_ptr_eq(ret, (void *)1);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("nir");

	/* compiling the databases takes a while: once per test case */
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, nir_vectors);
	tcase_add_test(tc, nir_unicode_separators);
	tcase_add_test(tc, nir_lookalikes);
	tcase_add_test(tc, nir_stream_offsets);
	tcase_add_test(tc, nir_byte_by_byte);
	tcase_add_test(tc, nir_context_raises_confidence);
	tcase_add_test(tc, stream_skip_restarts);
	tcase_add_test(tc, callback_stops_scan);
	tcase_add_test(tc, api_misuse);
	tcase_add_test(tc, threads_share_engine);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

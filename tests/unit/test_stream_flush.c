/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rp_stream_flush: the daemon calls it when a writer pauses. A value ending the last write must be
 * decided then, not at close; a value continuing in the next write must still be found whole.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_fixture.h"
#include "run_suite.h"

static void feed(struct rp_stream *st, const char *s, struct collect *seen)
{
	ck_assert_int_eq(rp_stream_feed(st, scratch, s, strlen(s), collect_cb, seen), 0);
}

START_TEST(value_ending_a_write_is_decided_at_flush)
{
	struct rp_stream *st;
	struct collect seen = {0};

	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	feed(st, "numéro de sécurité sociale 2 95 10 99 126 111 93", &seen);
	ck_assert_int_eq(rp_stream_flush(st, scratch, collect_cb, &seen), 0);
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_uint_eq(seen.f[0].detector, RP_DET_FR_NIR);
	ck_assert_int_eq(rp_stream_close(st, scratch, NULL, NULL), 0);
}
END_TEST

START_TEST(value_split_by_a_flush_is_found_whole)
{
	struct rp_stream *st;
	struct collect seen = {0};
	const char *a = "NIR du patient : 2 95 10 99 1", *b = "26 111 93, merci";

	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	feed(st, a, &seen);
	ck_assert_int_eq(rp_stream_flush(st, scratch, collect_cb, &seen), 0);
	ck_assert_uint_eq(seen.n, 0); /* a prefix is no NIR */
	feed(st, b, &seen);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, &seen), 0);
	ck_assert_uint_ge(seen.n, 1);
	for (unsigned i = 0; i < seen.n && i < MAXF; i++) {
		ck_assert_uint_eq(seen.f[i].detector, RP_DET_FR_NIR);
		ck_assert_uint_eq(seen.f[i].offset, strlen("NIR du patient : "));
		ck_assert_uint_eq(seen.f[i].length, strlen("2 95 10 99 126 111 93"));
	}
}
END_TEST

/* An idle stream lets most of its history go: a keyword further back than what it keeps still
 * gives its context to a value in the next write. */
START_TEST(keyword_before_a_pause_still_counts)
{
	struct rp_stream *st;
	struct collect seen = {0};
	const char *a = "Code FINESS de l'établissement où la patiente a été hospitalisée la semaine dernière, "
			"à reporter sur le formulaire : ";

	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	feed(st, a, &seen);
	ck_assert_int_eq(rp_stream_flush(st, scratch, collect_cb, &seen), 0);
	ck_assert_uint_le(rp_stream_memory(st), 256);
	feed(st, "750712184.", &seen);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, &seen), 0);
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_uint_eq(seen.f[0].detector, RP_DET_FR_FINESS);
	ck_assert_uint_eq(seen.f[0].offset, strlen(a));
}
END_TEST

/* A busy flow keeps its context window; an idle one a few hundred bytes at most, Hyperscan's
 * stream state included. */
START_TEST(idle_stream_is_small)
{
	struct rp_stream *st;
	struct collect seen = {0};
	char body[4096];
	size_t busy;

	snprintf(body, sizeof(body), "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"");
	while (strlen(body) < 3000)
		strcat(body, "Peux-tu r\\u00e9sumer ce compte rendu ? Patiente de 67 ans, dyspn\\u00e9e d'effort.\\n");
	strcat(body, "\"}]}");
	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	feed(st, body, &seen);
	busy = rp_stream_memory(st);
	ck_assert_int_eq(rp_stream_flush(st, scratch, collect_cb, &seen), 0);
	ck_assert_uint_le(rp_stream_memory(st), 256);
	ck_assert_uint_lt(rp_stream_memory(st), busy);
	/* a short flow shrinks too */
	{
		struct rp_stream *small;
		ck_assert_int_eq(rp_stream_open(engine, &small), 0);
		feed(small, "{\"q\":\"bonjour\"}", &seen);
		ck_assert_int_eq(rp_stream_flush(small, scratch, collect_cb, &seen), 0);
		ck_assert_uint_le(rp_stream_memory(small), 256);
		ck_assert_int_eq(rp_stream_close(small, scratch, collect_cb, &seen), 0);
	}
	/* and it comes back to work */
	feed(st, "NIR 2 95 10 99 126 111 93 ", &seen);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, &seen), 0);
	ck_assert_uint_eq(seen.n, 1);
	ck_assert_uint_eq(seen.f[0].detector, RP_DET_FR_NIR);
}
END_TEST

static const char *const flush_texts[] = {
	"Patient: NIR 2 95 10 99 126 111 93, FINESS 750712184 (établissement)",
	"{\"content\":\"IBAN FR76\\u00a03000\\u00a06000\\u00a00112\\u00a03456\\u00a07890\\u00a0189\"}",
	"écrire à jean.dupont@chu-lyon.fr, née le 12 mars 1985, CIM-10 F32.1",
	"{\"resourceType\": \"Patient\", \"birthDate\": \"1985-03-12\"}",
	"MSH|^~\\&|LAB|CHU|||20240101||ADT^A01|1|P|2.5\rPID|1||253072B07300470^^^INS-NIR",
	"<Observation xmlns=\"http://hl7.org/fhir\"><status value=\"final\"/> tél 06 12 34 56 78",
	"{\"to\":\"marie.curie-sklodowska@secretariat.chu-lyon.example.fr\",\"cc\":\"\\nj@chu.fr\"}",
};

/* Whatever a block scan finds, a stream paused (flushed, made idle) every few bytes finds too. */
START_TEST(pauses_everywhere)
{
	static const size_t steps[] = {1, 3, 7, 16};
	const char *text = flush_texts[_i];
	size_t len = strlen(text);
	struct collect block = {0};

	ck_assert_int_eq(rp_scan_block(engine, scratch, text, len, collect_cb, &block), 0);
	ck_assert_uint_gt(block.n, 0);
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		struct rp_stream *st;
		struct collect seen = {0};
		ck_assert_int_eq(rp_stream_open(engine, &st), 0);
		for (size_t i = 0; i < len; i += steps[k]) {
			size_t n = len - i < steps[k] ? len - i : steps[k];
			ck_assert_int_eq(rp_stream_feed(st, scratch, text + i, n, collect_cb, &seen), 0);
			ck_assert_int_eq(rp_stream_flush(st, scratch, collect_cb, &seen), 0);
		}
		ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, &seen), 0);
		for (unsigned b = 0; b < block.n && b < MAXF; b++) {
			ck_assert_msg(has_finding(&seen, &block.f[b]), "'%s' paused every %zu bytes: %s at %llu missed", text, steps[k],
				      rp_detector_builtin_id(block.f[b].detector), (unsigned long long)block.f[b].offset);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stream_flush");
	TCase *tc = tcase_create("flush");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, value_ending_a_write_is_decided_at_flush);
	tcase_add_test(tc, value_split_by_a_flush_is_found_whole);
	tcase_add_test(tc, keyword_before_a_pause_still_counts);
	tcase_add_test(tc, idle_stream_is_small);
	tcase_add_loop_test(tc, pauses_everywhere, 0, (int)(sizeof(flush_texts) / sizeof(flush_texts[0])));
	suite_add_tcase(s, tc);
	return run_suite(s);
}

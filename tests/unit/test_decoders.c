/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Flow decoders: what a flow carries must reach the scanner as text whatever the split of the
 * writes, framing stripped only when understood, everything else passed raw; limits hold.
 * HTTP/2 inputs are built here with nghttp2's HPACK encoder and hand-made frames.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <nghttp2/nghttp2.h>

#include "decoders.h"
#include "detectors.h"
#include "run_suite.h"

#define NIR "2 95 10 99 126 111 93"

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static int collect(const void *p, size_t n, void *u)
{
	ck_assert_uint_gt(n, 0);
	buf_add(u, p, n);
	return 0;
}

static bool contains(const struct buf *b, const char *s)
{
	return memmem(b->p, b->n, s, strlen(s)) != NULL;
}

/* Decode in pieces of `step` bytes (0: at once). */
static struct buf decode(const struct buf *in, size_t step, struct rp_decoder_stats *st)
{
	struct rp_decoder *d = NULL;
	struct buf out = {0};

	ck_assert_int_eq(rp_decoder_new(&d), 0);
	for (size_t pos = 0; pos < in->n;) {
		size_t n = step && in->n - pos > step ? step : in->n - pos;
		ck_assert_int_eq(rp_decoder_feed(d, in->p + pos, n, collect, &out), 0);
		pos += n;
	}
	if (st)
		rp_decoder_get_stats(d, st);
	rp_decoder_free(d);
	buf_add(&out, "", 0);
	return out;
}

static const size_t steps[] = {0, 1, 2, 7, 100, 4096};
#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

/* zlib helpers: wbits 15+16 gzip, 15 zlib, -15 raw deflate. */
static void compress_into(struct buf *out, const void *p, size_t n, int wbits)
{
	z_stream zs = {0};
	uint8_t tmp[16384];
	int r;

	ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)p;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = tmp;
		zs.avail_out = sizeof(tmp);
		r = deflate(&zs, Z_FINISH);
		buf_add(out, tmp, sizeof(tmp) - zs.avail_out);
	} while (r == Z_OK);
	ck_assert_int_eq(r, Z_STREAM_END);
	deflateEnd(&zs);
}

START_TEST(raw_passes_unchanged)
{
	struct buf in = {0};
	uint8_t bin[300];

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 37 + 0x16);
	buf_str(&in, "ssh-2.0 hello " NIR "\n");
	buf_add(&in, bin, sizeof(bin));
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert_uint_eq(out.n, in.n);
		ck_assert_mem_eq(out.p, in.p, in.n);
		ck_assert_int_eq(st.protocol, RP_DECODER_RAW);
		ck_assert_uint_eq(st.bytes_in, in.n);
		ck_assert_uint_eq(st.bytes_out, in.n);
		free(out.p);
	}
	free(in.p);
}
END_TEST

START_TEST(http1_content_length_keep_alive)
{
	struct buf in = {0};
	const char *body1 = "{\"prompt\": \"NIR " NIR "\"}";

	buf_str(&in, "POST /chat HTTP/1.1\r\nHost: x\r\nContent-Length: ");
	char len[32];
	snprintf(len, sizeof(len), "%zu\r\n\r\n", strlen(body1));
	buf_str(&in, len);
	buf_str(&in, body1);
	buf_str(&in, "GET /next?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	buf_str(&in, "\r\nPUT /x HTTP/1.0\r\ncontent-length: 3\r\n\r\nabc");
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		/* Identity HTTP/1 is text already: the scanner sees exactly the flow. */
		ck_assert_uint_eq(out.n, in.n);
		ck_assert_mem_eq(out.p, in.p, in.n);
		ck_assert_int_eq(st.protocol, RP_DECODER_HTTP1);
		ck_assert_int_eq(st.mode, RP_DECODER_HTTP1);
		ck_assert_uint_eq(st.messages, 3);
		ck_assert_uint_eq(st.fallbacks, 0);
		free(out.p);
	}
	free(in.p);
}
END_TEST

START_TEST(http1_chunked_strips_framing)
{
	struct buf in = {0};

	buf_str(&in, "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "9\r\nNIR: 2 95\r\n"
		     "6;ext=1\r\n 10 99\r\n"
		     "A\r\n 126 111 9\r\n"
		     "1\r\n3\r\n"
		     "0\r\nX-Trailer: t\r\n\r\n"
		     "GET / HTTP/1.1\r\n\r\n");
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert_msg(contains(&out, "\r\n\r\nNIR: " NIR "X-Trailer: t\r\n\r\nGET / HTTP/1.1"), "step %zu: %.*s",
			      steps[s], (int)out.n, out.p);
		ck_assert(!contains(&out, "6;ext"));
		ck_assert_uint_eq(st.messages, 2);
		ck_assert_uint_eq(st.fallbacks, 0);
		free(out.p);
	}
	free(in.p);
}
END_TEST

static void gzip_request(struct buf *in, const char *coding, int wbits, const char *plain, bool chunked)
{
	struct buf z = {0};
	char head[256];

	compress_into(&z, plain, strlen(plain), wbits);
	if (chunked) {
		snprintf(head, sizeof(head), "POST /g HTTP/1.1\r\nContent-Encoding: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
			 coding);
		buf_str(in, head);
		/* Two chunks, cut in the middle of the compressed data. */
		size_t half = z.n / 2;
		snprintf(head, sizeof(head), "%zx\r\n", half);
		buf_str(in, head);
		buf_add(in, z.p, half);
		snprintf(head, sizeof(head), "\r\n%zx\r\n", z.n - half);
		buf_str(in, head);
		buf_add(in, z.p + half, z.n - half);
		buf_str(in, "\r\n0\r\n\r\n");
	} else {
		snprintf(head, sizeof(head), "POST /g HTTP/1.1\r\nContent-Encoding: %s\r\nContent-Length: %zu\r\n\r\n",
			 coding, z.n);
		buf_str(in, head);
		buf_add(in, z.p, z.n);
	}
	free(z.p);
}

START_TEST(http1_tiny_chunks_in_one_feed)
{
	/* Thousands of one-byte chunks in one write: four parser passes per six bytes. The framing
	 * must be followed to the end, not given up (raw framing would split the value). */
	struct buf in = {0};
	const char *nir = "NIR " NIR;
	char chunk[16];

	buf_str(&in, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 3000; i++)
		buf_str(&in, "1\r\nx\r\n");
	for (const char *c = nir; *c; c++) {
		snprintf(chunk, sizeof(chunk), "1\r\n%c\r\n", *c);
		buf_str(&in, chunk);
	}
	buf_str(&in, "0\r\n\r\n");
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert_msg(contains(&out, "xxx" "NIR " NIR), "step %zu", steps[s]);
		ck_assert_uint_eq(st.fallbacks, 0);
		free(out.p);
	}
	free(in.p);
}
END_TEST

START_TEST(http1_gzip_deflate_bodies)
{
	static const struct {
		const char *coding;
		int wbits;
		bool chunked;
	} cases[] = {
		{"gzip", 15 + 16, false}, {"x-gzip", 15 + 16, true}, {"deflate", 15, false}, {"deflate", -15, true},
	};
	const char *plain = "{\"messages\":[{\"role\":\"user\",\"content\":\"Le patient NIR " NIR " présente...\"}]}";

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct buf in = {0};
		gzip_request(&in, cases[c].coding, cases[c].wbits, plain, cases[c].chunked);
		buf_str(&in, "GET /after HTTP/1.1\r\n\r\n");
		ck_assert(!contains(&in, NIR));
		for (size_t s = 0; s < N_STEPS; s++) {
			struct rp_decoder_stats st;
			struct buf out = decode(&in, steps[s], &st);
			ck_assert_msg(contains(&out, plain), "case %zu step %zu", c, steps[s]);
			ck_assert(contains(&out, "GET /after HTTP/1.1"));
			ck_assert_uint_eq(st.inflated, strlen(plain));
			ck_assert_uint_eq(st.inflate_errors, 0);
			ck_assert_uint_eq(st.messages, 2);
			free(out.p);
		}
		free(in.p);
	}
}
END_TEST

/* Made once with libbrotlienc (quality 9): the JSON below. */
static const uint8_t br_body[] = {
	0x1b, 0x53, 0x00, 0x00, 0xc4, 0x3e, 0xf6, 0x57, 0xaa, 0x3b, 0x2f, 0x7f, 0x39, 0x34, 0x38, 0x44, 0xc0,
	0x77, 0xb0, 0x01, 0x27, 0xa0, 0x01, 0x07, 0x84, 0x01, 0x2d, 0xc3, 0xc6, 0x98, 0x9e, 0xe5, 0x8b, 0xfe,
	0x8f, 0xe6, 0x75, 0x1a, 0xe6, 0x9d, 0x2c, 0x50, 0xba, 0x4e, 0x7b, 0xdf, 0x20, 0x9d, 0xf2, 0x87, 0xc1,
	0xf5, 0x2c, 0x08, 0xec, 0x04, 0x12, 0x4c, 0x15, 0xa2, 0x00, 0xd3, 0x84, 0x28, 0x69, 0x20, 0x8a, 0x2a,
	0x33, 0xc8, 0xe2, 0x2a, 0xb0, 0x16, 0x63, 0x7e, 0x20, 0x2f, 0x30, 0x2b, 0x9b, 0x82, 0xfe,
};
static const char br_plain[] = "{\"prompt\": \"brotli body, patient NIR " NIR ", compte rendu de sortie\"}";

START_TEST(http1_brotli_when_built_with_it)
{
	struct buf in = {0};
	char head[128];

	ck_assert(rp_decoder_supports("gzip"));
	ck_assert(rp_decoder_supports("deflate"));
	ck_assert(!rp_decoder_supports("identity"));
	ck_assert(!rp_decoder_supports("compress"));
	snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: %zu\r\n\r\n", sizeof(br_body));
	buf_str(&in, head);
	buf_add(&in, br_body, sizeof(br_body));
	/* A mislabelled plain body: decoding fails, every byte of it is still scanned. */
	buf_str(&in, "POST / HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: 25\r\n\r\nplain text NIR 2951099126");
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		if (rp_decoder_supports("br")) {
			ck_assert_msg(contains(&out, br_plain), "step %zu", steps[s]);
			ck_assert_uint_eq(st.inflated, strlen(br_plain));
			ck_assert_uint_eq(st.inflate_errors, 1);
		} else {
			ck_assert_uint_eq(out.n, in.n);
			ck_assert_mem_eq(out.p, in.p, in.n);
		}
		ck_assert_msg(contains(&out, "\r\n\r\nplain text NIR 2951099126"), "step %zu", steps[s]);
		free(out.p);
	}
	free(in.p);
}
END_TEST

#ifdef __has_include
#if __has_include(<zstd.h>)
#include <zstd.h>
#define TEST_HAVE_ZSTD 1
#endif
#endif

START_TEST(http1_zstd_when_built_with_it)
{
#ifdef TEST_HAVE_ZSTD
	const char *plain = "{\"prompt\": \"Patient NIR 2 95 10 99 126 111 93, suivi cardiologie\"}";
	struct buf in = {0};
	uint8_t z[512];
	char head[128];
	size_t zn = ZSTD_compress(z, sizeof(z), plain, strlen(plain), 3);

	ck_assert(!ZSTD_isError(zn));
	snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nContent-Encoding: zstd\r\nContent-Length: %zu\r\n\r\n", zn);
	buf_str(&in, head);
	buf_add(&in, z, zn);
	/* a mislabelled plain body: every byte of it is still scanned */
	buf_str(&in, "POST / HTTP/1.1\r\nContent-Encoding: zstd\r\nContent-Length: 25\r\n\r\nplain text NIR 2951099126");
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert(rp_decoder_supports("zstd"));
		ck_assert_msg(contains(&out, plain), "step %zu: %.*s", steps[s], (int)out.n, out.p);
		ck_assert_uint_eq(st.inflated, strlen(plain));
		ck_assert_uint_eq(st.inflate_errors, 1);
		ck_assert_msg(contains(&out, "\r\n\r\nplain text NIR 2951099126"), "step %zu", steps[s]);
		free(out.p);
	}
	free(in.p);
#endif
}
END_TEST

START_TEST(http1_lying_gzip_passes_raw)
{
	struct buf in = {0};
	const char *body = "not compressed at all: NIR " NIR;
	char head[128];

	snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", strlen(body));
	buf_str(&in, head);
	buf_str(&in, body);
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert_uint_eq(out.n, in.n);
		ck_assert_mem_eq(out.p, in.p, in.n);
		ck_assert_uint_eq(st.inflate_errors, 1);
		free(out.p);
	}
	free(in.p);
}
END_TEST

START_TEST(http1_malformed_chunk_falls_back_raw)
{
	struct buf in = {0};

	buf_str(&in, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nzz\r\nNIR " NIR);
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert_msg(contains(&out, "\r\n\r\nabcdzz\r\nNIR " NIR), "step %zu", steps[s]);
		ck_assert_uint_eq(st.fallbacks, 1);
		ck_assert_int_eq(st.mode, RP_DECODER_RAW);
		free(out.p);
	}
	free(in.p);
}
END_TEST

START_TEST(http1_gzip_bomb_bounded)
{
	struct buf in = {0}, z = {0};
	size_t plain_len = 256u << 20; /* 256 MiB of zeros */
	uint8_t *zeros = calloc(1, plain_len);
	char head[128];

	ck_assert_ptr_nonnull(zeros);
	compress_into(&z, zeros, plain_len, 15 + 16);
	free(zeros);
	snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", z.n);
	buf_str(&in, head);
	buf_add(&in, z.p, z.n);
	buf_str(&in, "POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nNext");

	struct rp_decoder_stats st;
	struct buf out = decode(&in, 65536, &st);
	ck_assert_uint_eq(st.bombs, 1);
	ck_assert_uint_le(st.inflated, RP_DECODER_INFLATE_MAX);
	ck_assert_uint_lt(out.n, 16u << 20); /* the ratio limit stops it long before 256 MiB */
	/* Framing survived: the next request is decoded too. */
	ck_assert(contains(&out, "POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nNext"));
	ck_assert_uint_eq(st.messages, 2);
	free(out.p);
	free(z.p);
	free(in.p);
}
END_TEST

/* Bodies each within the ratio limit, together past the flow's decompression budget. */
START_TEST(http1_flow_inflate_budget)
{
	size_t plain_len = 16u << 20, bodies = 5;
	uint8_t *plain = calloc(1, plain_len);
	struct buf in = {0}, z = {0};
	char head[128];
	uint32_t x = 12345;

	ck_assert_ptr_nonnull(plain);
	for (size_t i = 0; i < plain_len; i += 64) {
		x = x * 1103515245u + 12345u;
		plain[i] = (uint8_t)(x >> 24);
	}
	compress_into(&z, plain, plain_len, 15 + 16);
	free(plain);
	ck_assert_uint_gt(z.n * RP_DECODER_INFLATE_RATIO, plain_len * 4); /* ratio well under the limit */
	for (size_t b = 0; b < bodies; b++) {
		snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", z.n);
		buf_str(&in, head);
		buf_add(&in, z.p, z.n);
	}
	struct rp_decoder_stats st;
	struct buf out = decode(&in, 16384, &st);
	ck_assert_uint_eq(st.bombs, 1);
	ck_assert_uint_le(st.inflated, RP_DECODER_INFLATE_MAX);
	ck_assert_uint_ge(st.inflated, RP_DECODER_INFLATE_MAX - (64u << 10));
	ck_assert_uint_eq(st.messages, bodies);
	/* The body that hit the budget, and the one after, went out compressed. */
	ck_assert(memmem(out.p + out.n - z.n, z.n, z.p, z.n) != NULL);
	free(out.p);
	free(z.p);
	free(in.p);
}
END_TEST

START_TEST(http1_response_until_close)
{
	struct buf in = {0}, z = {0};
	const char *plain = "<html>dossier NIR " NIR "</html>";

	compress_into(&z, plain, strlen(plain), 15 + 16);
	buf_str(&in, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n");
	buf_add(&in, z.p, z.n);
	for (size_t s = 0; s < N_STEPS; s++) {
		struct buf out = decode(&in, steps[s], NULL);
		ck_assert(contains(&out, plain));
		free(out.p);
	}
	free(z.p);
	free(in.p);
}
END_TEST

START_TEST(gap_gives_up_framing)
{
	struct rp_decoder *d = NULL;
	struct buf out = {0};
	struct rp_decoder_stats st;
	const char *a = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123";
	const char *b = "4\r\nNIR " NIR;

	ck_assert_int_eq(rp_decoder_new(&d), 0);
	ck_assert_int_eq(rp_decoder_feed(d, a, strlen(a), collect, &out), 0);
	rp_decoder_gap(d, 100);
	ck_assert_int_eq(rp_decoder_feed(d, b, strlen(b), collect, &out), 0);
	rp_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.gaps, 1);
	ck_assert_int_eq(st.mode, RP_DECODER_RAW);
	buf_add(&out, "", 0);
	ck_assert(contains(&out, "01234\r\nNIR " NIR));
	rp_decoder_free(d);
	rp_decoder_free(NULL);
	free(out.p);
}
END_TEST

static int failing(const void *p, size_t n, void *u)
{
	(*(unsigned *)u)++;
	return -EIO;
}

START_TEST(emit_error_is_returned)
{
	struct rp_decoder *d = NULL;
	unsigned calls = 0;

	ck_assert_int_eq(rp_decoder_new(&d), 0);
	ck_assert_int_eq(rp_decoder_feed(d, "hello", 5, failing, &calls), -EIO);
	ck_assert_uint_ge(calls, 1);
	ck_assert_int_eq(rp_decoder_feed(NULL, "x", 1, failing, &calls), -EINVAL);
	rp_decoder_free(d);
}
END_TEST

/* ---- HTTP/2 */

static void frame(struct buf *b, uint8_t type, uint8_t flags, uint32_t stream, const void *p, size_t n)
{
	uint8_t h[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			(uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8), (uint8_t)stream};
	buf_add(b, h, 9);
	buf_add(b, p, n);
}

static void preface(struct buf *b)
{
	static const uint8_t settings[] = {0, 3, 0, 0, 0, 100, 0, 4, 0, 0x60, 0, 0};
	buf_add(b, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	frame(b, 0x4, 0, 0, settings, sizeof(settings));
	frame(b, 0x8, 0, 0, "\0\x0f\0\x01", 4); /* WINDOW_UPDATE */
}

#define MAKE_NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

static struct buf hpack(nghttp2_hd_deflater *def, const nghttp2_nv *nv, size_t n)
{
	struct buf b = {0};
	size_t bound = nghttp2_hd_deflate_bound(def, nv, n);
	ssize_t r;

	b.p = malloc(bound);
	b.cap = bound;
	r = nghttp2_hd_deflate_hd(def, b.p, bound, nv, n);
	ck_assert_int_ge(r, 0);
	b.n = (size_t)r;
	return b;
}

START_TEST(http2_hpack_and_data_across_frames)
{
	nghttp2_hd_deflater *def;
	struct buf in = {0}, hb, hb2;
	const char *path = "/v1/chat?nir=295109912611193&lang=fr";
	nghttp2_nv nv[] = {
		MAKE_NV(":method", "POST"), MAKE_NV(":scheme", "https"), MAKE_NV(":authority", "127.0.0.1"),
		MAKE_NV(":path", path), MAKE_NV("content-type", "application/json"),
	};
	const char *d1 = "{\"prompt\": \"NIR 2 95 10";
	const char *d2 = " 99 126 111 93\"}";
	uint8_t padded[64];

	ck_assert_int_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	hb = hpack(def, nv, 5);
	preface(&in);
	frame(&in, 0x1, 0x4, 1, hb.p, hb.n); /* HEADERS, END_HEADERS */
	frame(&in, 0x0, 0, 1, d1, strlen(d1));
	frame(&in, 0x8, 0, 1, "\0\0\x10\0", 4);
	/* The rest in a padded DATA frame: pad length 5, then data, then 5 zero bytes. */
	padded[0] = 5;
	memcpy(padded + 1, d2, strlen(d2));
	memset(padded + 1 + strlen(d2), 0, 5);
	frame(&in, 0x0, 0x8 | 0x1, 1, padded, 1 + strlen(d2) + 5);
	/* A second request on the same connection reuses the dynamic table. */
	hb2 = hpack(def, nv, 5);
	ck_assert_uint_lt(hb2.n, hb.n);
	frame(&in, 0x1, 0x4 | 0x1, 3, hb2.p, hb2.n);
	/* HPACK Huffman-coded the path: the raw flow does not carry it in clear. */
	ck_assert(!contains(&in, "295109912611193"));
	ck_assert(!contains(&in, NIR));

	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert_int_eq(st.protocol, RP_DECODER_HTTP2);
		ck_assert_int_eq(st.mode, RP_DECODER_HTTP2);
		ck_assert_uint_eq(st.fallbacks, 0);
		ck_assert_uint_eq(st.messages, 2);
		ck_assert_msg(contains(&out, ":method: POST\n:scheme: https\n:authority: 127.0.0.1\n:path: /v1/chat?nir=295109912611193&lang=fr\ncontent-type: application/json\n"),
			      "step %zu: %.*s", steps[s], (int)out.n, out.p);
		ck_assert(contains(&out, "{\"prompt\": \"NIR " NIR "\"}\n:method: POST"));
		ck_assert(!contains(&out, "PRI *"));
		free(out.p);
	}
	nghttp2_hd_deflate_del(def);
	free(hb.p);
	free(hb2.p);
	free(in.p);
}
END_TEST

START_TEST(http2_continuation_gzip_streams)
{
	nghttp2_hd_deflater *def;
	struct buf in = {0}, hb, hb3, z = {0};
	nghttp2_nv nv[] = {
		MAKE_NV(":method", "POST"), MAKE_NV(":path", "/upload"),
		MAKE_NV("content-encoding", "gzip"), MAKE_NV("x-note", "a header value long enough to split"),
	};
	nghttp2_nv nv3[] = {MAKE_NV(":method", "POST"), MAKE_NV(":path", "/plain")};
	const char *plain = "compressed prompt with NIR " NIR " inside";
	size_t cut;

	ck_assert_int_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	hb = hpack(def, nv, 4);
	hb3 = hpack(def, nv3, 2);
	compress_into(&z, plain, strlen(plain), 15 + 16);
	preface(&in);
	/* Stream 1's header block split over HEADERS (with priority) and CONTINUATION. */
	cut = hb.n / 2;
	{
		struct buf p = {0};
		buf_add(&p, "\0\0\0\0\x10", 5); /* priority: dependency 0, weight 16 */
		buf_add(&p, hb.p, cut);
		frame(&in, 0x1, 0x20, 1, p.p, p.n);
		free(p.p);
	}
	frame(&in, 0x9, 0x4, 1, hb.p + cut, hb.n - cut);
	frame(&in, 0x1, 0x4, 3, hb3.p, hb3.n);
	/* Streams interleave: stream 1's gzip in two DATA frames (cut inside the compressed data),
	 * stream 3's plain text before them. A new line separates text of different streams, so
	 * digits from two streams are never glued into one value. */
	frame(&in, 0x0, 0x1, 3, "plain text", 10);
	frame(&in, 0x0, 0, 1, z.p, z.n / 2);
	frame(&in, 0x0, 0x1, 1, z.p + z.n / 2, z.n - z.n / 2);
	frame(&in, 0x3, 0, 5, "\0\0\0\x08", 4); /* RST_STREAM of an unknown stream: harmless */
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert_msg(contains(&out, plain), "step %zu: %.*s", steps[s], (int)out.n, out.p);
		ck_assert(contains(&out, "x-note: a header value long enough to split\n"));
		ck_assert(contains(&out, "\nplain text\n"));
		ck_assert_uint_eq(st.inflated, strlen(plain));
		ck_assert_uint_eq(st.fallbacks, 0);
		ck_assert_uint_eq(st.messages, 2);
		free(out.p);
	}
	nghttp2_hd_deflate_del(def);
	free(hb.p);
	free(hb3.p);
	free(z.p);
	free(in.p);
}
END_TEST

/* More compressed streams open at once than slots: the one idle longest gives its slot up. */
START_TEST(http2_compressed_streams_bounded)
{
	nghttp2_hd_deflater *def;
	nghttp2_nv nv[] = {MAKE_NV(":method", "POST"), MAKE_NV(":path", "/s"), MAKE_NV("content-encoding", "gzip")};
	struct buf in = {0}, hb, z = {0};
	const char *plain = "stream text NIR " NIR " end";
	uint32_t n = RP_DECODER_H2_INFLATE_STREAMS + 1;

	ck_assert_int_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	compress_into(&z, plain, strlen(plain), 15 + 16);
	preface(&in);
	for (uint32_t i = 0; i < n; i++) {
		hb = hpack(def, nv, 3);
		frame(&in, 0x1, 0x4, 2 * i + 1, hb.p, hb.n);
		free(hb.p);
	}
	for (uint32_t i = 0; i < n; i++)
		frame(&in, 0x0, 0x1, 2 * i + 1, z.p, z.n);
	struct rp_decoder_stats st;
	struct buf out = decode(&in, 0, &st);
	ck_assert_uint_eq(st.inflate_errors, 1);               /* stream 1 was evicted */
	ck_assert_uint_eq(st.inflated, (n - 1) * strlen(plain)); /* the others decoded */
	ck_assert(memmem(out.p, out.n, z.p, z.n) != NULL);       /* stream 1 passed compressed */
	ck_assert_uint_eq(st.fallbacks, 0);
	free(out.p);
	nghttp2_hd_deflate_del(def);
	free(z.p);
	free(in.p);
}
END_TEST

START_TEST(http2_malformed_falls_back_raw)
{
	struct buf in = {0}, big = {0};

	/* CONTINUATION without a HEADERS before it. */
	preface(&in);
	frame(&in, 0x9, 0x4, 1, "NIR " NIR, strlen("NIR " NIR));
	buf_str(&in, " and after");
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert(contains(&out, "NIR " NIR " and after"));
		ck_assert_uint_eq(st.fallbacks, 1);
		ck_assert_int_eq(st.mode, RP_DECODER_RAW);
		free(out.p);
	}
	free(in.p);

	/* A HEADERS frame over the header limit: not buffered, passed raw. */
	in = (struct buf){0};
	preface(&in);
	for (size_t i = 0; i < RP_DECODER_HEADER_MAX + 10; i++)
		buf_add(&big, "x", 1);
	frame(&in, 0x1, 0x4, 1, big.p, big.n);
	{
		struct rp_decoder_stats st;
		struct buf out = decode(&in, 1000, &st);
		ck_assert_uint_eq(st.fallbacks, 1);
		ck_assert_uint_ge(out.n, big.n + 9);
		free(out.p);
	}
	/* Garbage HPACK: decoding error, raw from that frame. */
	free(in.p);
	in = (struct buf){0};
	preface(&in);
	frame(&in, 0x1, 0x4, 1, "\xff\xff\xff\xff\xff\xff\xff\xff\xff" NIR, 9 + strlen(NIR));
	{
		struct rp_decoder_stats st;
		struct buf out = decode(&in, 3, &st);
		ck_assert_uint_eq(st.fallbacks, 1);
		ck_assert(contains(&out, NIR));
		free(out.p);
	}
	/* Padding longer than the frame. */
	free(in.p);
	in = (struct buf){0};
	preface(&in);
	frame(&in, 0x0, 0x8, 1, "\x20" "abc", 4);
	{
		struct rp_decoder_stats st;
		struct buf out = decode(&in, 0, &st);
		ck_assert_uint_eq(st.fallbacks, 1);
		ck_assert(contains(&out, "\x20" "abc"));
		free(out.p);
	}
	free(in.p);
	free(big.p);
}
END_TEST

START_TEST(h2c_upgrade_after_http1)
{
	nghttp2_hd_deflater *def;
	nghttp2_nv nv[] = {MAKE_NV(":method", "GET"), MAKE_NV(":path", "/q?id=295109912611193")};
	struct buf in = {0}, hb;

	ck_assert_int_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	hb = hpack(def, nv, 2);
	buf_str(&in, "GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n");
	preface(&in);
	frame(&in, 0x1, 0x5, 3, hb.p, hb.n);
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert(contains(&out, ":path: /q?id=295109912611193\n"));
		ck_assert_int_eq(st.protocol, RP_DECODER_HTTP1);
		ck_assert_int_eq(st.mode, RP_DECODER_HTTP2);
		free(out.p);
	}
	nghttp2_hd_deflate_del(def);
	free(hb.p);
	free(in.p);
}
END_TEST

/* Through an HTTP proxy: the CONNECT names the far end, and the flow is a tunnel from then on
 * (what the agent does with it is flows.c's). A request that is not a CONNECT opens no tunnel. */
START_TEST(http1_connect_opens_a_tunnel)
{
	char host[256];

	static const char req[] = "CONNECT chat.example:443 HTTP/1.1\r\nHost: chat.example:443\r\n"
				  "Proxy-Connection: keep-alive\r\n\r\n";
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder *d = NULL;
		struct buf out = {0};
		size_t n = sizeof(req) - 1;

		ck_assert_int_eq(rp_decoder_new(&d), 0);
		for (size_t pos = 0; pos < n;) {
			size_t k = steps[s] && n - pos > steps[s] ? steps[s] : n - pos;
			ck_assert(!rp_decoder_tunnel(d));
			ck_assert_int_eq(rp_decoder_feed(d, req + pos, k, collect, &out), 0);
			pos += k;
		}
		ck_assert(rp_decoder_tunnel(d));
		ck_assert_str_eq(rp_decoder_host(d), "chat.example:443");
		ck_assert_int_eq(rp_decoder_tunnel_host(d, host, sizeof(host)), 0);
		ck_assert_str_eq(host, "chat.example");
		ck_assert_int_eq(rp_decoder_tunnel_host(d, host, 5), -EMSGSIZE);
		rp_decoder_free(d);
		free(out.p);
	}
	{
		struct rp_decoder *d = NULL;
		struct buf out = {0};
		const char *get = "GET / HTTP/1.1\r\nHost: chat.example\r\n\r\n";

		ck_assert_int_eq(rp_decoder_new(&d), 0);
		ck_assert_int_eq(rp_decoder_feed(d, get, strlen(get), collect, &out), 0);
		ck_assert(!rp_decoder_tunnel(d));
		ck_assert_int_eq(rp_decoder_tunnel_host(d, host, sizeof(host)), -ENOENT);
		rp_decoder_free(d);
		free(out.p);
	}
	/* Addresses: IPv6 in brackets loses them and its port; no port at all is fine. */
	{
		static const struct {
			const char *req, *host;
		} cases[] = {
			{"CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n", "2001:db8::1"},
			{"CONNECT 192.0.2.7:8443 HTTP/1.1\r\n\r\n", "192.0.2.7"},
			{"CONNECT chat.example HTTP/1.1\r\n\r\n", "chat.example"},
			/* the target is what the proxy reaches, whatever the Host header says */
			{"CONNECT chat.example:443 HTTP/1.1\r\nHost: intranet.example\r\n\r\n", "chat.example"},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct rp_decoder *d = NULL;
			struct buf out = {0};

			ck_assert_int_eq(rp_decoder_new(&d), 0);
			ck_assert_int_eq(rp_decoder_feed(d, cases[i].req, strlen(cases[i].req), collect, &out), 0);
			ck_assert_int_eq(rp_decoder_tunnel_host(d, host, sizeof(host)), 0);
			ck_assert_str_eq(host, cases[i].host);
			rp_decoder_free(d);
			free(out.p);
		}
	}
}
END_TEST

/* Through a proxy, a session whose plaintext is hooked (Firefox writes its CONNECT and then the
 * session's requests through the same NSPR descriptor) is decoded after the CONNECT like any
 * flow: a gzip body comes out as text. Bytes that are no protocol we know pass raw. */
START_TEST(http1_inside_a_tunnel_is_decoded)
{
	static const char body[] = "{\"note\": \"NIR 2 95 10 99 126 111 93\"}";
	struct buf in = {0}, gz = {0}, raw = {0};
	char head[256];

	buf_str(&in, "CONNECT chat.example:443 HTTP/1.1\r\nHost: chat.example:443\r\n\r\n");
	compress_into(&gz, body, sizeof(body) - 1, 15 + 16);
	snprintf(head, sizeof(head),
		 "POST /api HTTP/1.1\r\nHost: chat.example\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", gz.n);
	buf_str(&in, head);
	buf_add(&in, gz.p, gz.n);
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert(contains(&out, "NIR 2 95 10 99 126 111 93"));
		ck_assert_int_eq(st.mode, RP_DECODER_HTTP1);
		free(out.p);
	}
	buf_str(&raw, "CONNECT chat.example:443 HTTP/1.1\r\n\r\n\x17\x03\x03 ciphertext");
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&raw, steps[s], &st);
		ck_assert(contains(&out, " ciphertext"));
		ck_assert_int_eq(st.mode, RP_DECODER_RAW);
		ck_assert_uint_eq(st.fallbacks, 0);
		free(out.p);
	}
	free(in.p);
	free(gz.p);
	free(raw.p);
}
END_TEST

/* The reason for all this: the detector misses a NIR cut by a DATA frame header in the raw flow,
 * and finds it in the decoded text. */
static int count_nir(const struct rp_finding *f, void *u)
{
	if (f->detector == RP_DET_FR_NIR)
		(*(unsigned *)u)++;
	return 0;
}

/* ---- the organisation a request is authenticated for (decoders/tenant.c) */

/* Base64 of data[0..n): the standard alphabet padded with '=' (url false), or the URL-safe one
 * without padding, as in JWTs (url true). */
static void b64(struct buf *b, const void *data, size_t n, bool url)
{
	const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			    : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		char q[4] = {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
		buf_add(b, q, 4);
	}
	if (n - i > 0) {
		uint32_t v = (uint32_t)p[i] << 16 | (n - i == 2 ? (uint32_t)p[i + 1] << 8 : 0);
		char q[4] = {a[v >> 18], a[(v >> 12) & 63], n - i == 2 ? a[(v >> 6) & 63] : '=', '='};
		/* url-safe: the significant characters only (2 or 3) */
		buf_add(b, q, url ? n - i + 1 : 4);
	}
}

/* "Bearer <header>.<payload>.<signature>" with these claims; the JOSE header is padded so the
 * claims start far past what a header line keeps. */
static void bearer(struct buf *b, const char *claims)
{
	char jose[512];

	snprintf(jose, sizeof(jose), "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"x5t\":\"%0300d\",\"kid\":\"k1\"}", 7);
	buf_str(b, "Bearer ");
	b64(b, jose, strlen(jose), true);
	buf_str(b, ".");
	b64(b, claims, strlen(claims), true);
	buf_str(b, ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk");
}

#define TID "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define CLAIMS_ENTRA                                                                                \
	"{\"aud\":\"https://substrate.office.com/sydney\",\"iss\":\"https://sts.windows.net/" TID "/\"," \
	"\"iat\":1764460800,\"amr\":[\"pwd\",\"mfa\"],\"name\":\"Jean Dupont\",\"preferred_username\":"  \
	"\"j.dupont@other.example\",\"scp\":\"user_impersonation\",\"x\":{\"tid\":\"nested-not-ours\"}," \
	"\"tid\":\"" TID "\",\"unique_name\":\"jean.dupont@chu-exemple.onmicrosoft.com\","                 \
	"\"upn\" : \"Jean.Dupont@CHU-Exemple.fr\",\"ver\":\"1.0\"}"

struct tenant_seen {
	char id[160], domain[160];
};

/* Decode in pieces of step bytes; what the decoder says about the tenant at the end. */
static struct tenant_seen decode_tenant(const struct buf *in, size_t step)
{
	struct rp_decoder *d = NULL;
	struct buf out = {0};
	struct tenant_seen t = {{0}, {0}};

	ck_assert_int_eq(rp_decoder_new(&d), 0);
	for (size_t pos = 0; pos < in->n;) {
		size_t n = step && in->n - pos > step ? step : in->n - pos;
		ck_assert_int_eq(rp_decoder_feed(d, in->p + pos, n, collect, &out), 0);
		pos += n;
	}
	snprintf(t.id, sizeof(t.id), "%s", rp_decoder_tenant(d) ? rp_decoder_tenant(d) : "-");
	snprintf(t.domain, sizeof(t.domain), "%s", rp_decoder_tenant_domain(d) ? rp_decoder_tenant_domain(d) : "-");
	rp_decoder_free(d);
	free(out.p);
	return t;
}

static void http1_request(struct buf *in, const char *auth_claims, const char *extra_header)
{
	buf_str(in, "POST /c/api/chat HTTP/1.1\r\nHost: copilot.microsoft.com\r\n");
	if (auth_claims) {
		buf_str(in, "Authorization: ");
		bearer(in, auth_claims);
		buf_str(in, "\r\n");
	}
	if (extra_header)
		buf_str(in, extra_header);
	buf_str(in, "Content-Length: 5\r\n\r\nhello");
}

START_TEST(tenant_from_bearer_jwt)
{
	struct buf in = {0};

	http1_request(&in, CLAIMS_ENTRA, NULL);
	ck_assert_uint_gt(in.n, 700); /* the claims are far past a kept line */
	for (size_t s = 0; s < N_STEPS; s++) {
		struct tenant_seen t = decode_tenant(&in, steps[s]);
		ck_assert_msg(strcmp(t.id, TID) == 0, "step %zu: id %s", steps[s], t.id);
		/* upn names the organisation best; the person's name is not kept */
		ck_assert_msg(strcmp(t.domain, "chu-exemple.fr") == 0, "step %zu: domain %s", steps[s], t.domain);
	}
	free(in.p);
}
END_TEST

START_TEST(tenant_later_requests)
{
	struct buf in = {0};
	struct tenant_seen t;

	/* A request without credentials keeps what the connection's last token said; another token
	 * replaces it; an opaque token or Basic credentials name nobody. */
	http1_request(&in, CLAIMS_ENTRA, NULL);
	http1_request(&in, NULL, "Authorization: Basic dXNlcjpwYXNz\r\n");
	http1_request(&in, NULL, "Authorization: Bearer sk-opaque-api-key\r\n");
	t = decode_tenant(&in, 0);
	ck_assert_str_eq(t.id, TID);
	http1_request(&in, "{\"tid\":\"9188040d-6c67-4c5b-b112-36a304b66dad\",\"email\":\"someone@outlook.com\"}", NULL);
	for (size_t s = 0; s < N_STEPS; s++) {
		t = decode_tenant(&in, steps[s]);
		ck_assert_str_eq(t.id, "9188040d-6c67-4c5b-b112-36a304b66dad");
		ck_assert_str_eq(t.domain, "outlook.com");
	}
	free(in.p);

	/* Nothing but untrusted shapes: escaped, nested, not a token, oversized. */
	memset(&in, 0, sizeof(in));
	http1_request(&in, "{\"tid\":\"a\\u0062c\",\"x\":[{\"tid\":\"nested\"}],\"upn\":\"no-at-sign\","
			   "\"hd\":\"bad domain\",\"email\":\"x@y\\\"z\"}", NULL);
	t = decode_tenant(&in, 3);
	ck_assert_str_eq(t.id, "-");
	ck_assert_str_eq(t.domain, "-");
	free(in.p);

	/* OpenAI API requests name their organisation in a header. */
	memset(&in, 0, sizeof(in));
	http1_request(&in, NULL, "OpenAI-Organization:  org-AbCdEf123456 \r\n");
	t = decode_tenant(&in, 5);
	ck_assert_str_eq(t.id, "org-AbCdEf123456");
	free(in.p);
}
END_TEST

START_TEST(tenant_from_http2_authorization)
{
	nghttp2_hd_deflater *def;
	struct buf in = {0}, hb, auth = {0};
	struct tenant_seen t;

	bearer(&auth, CLAIMS_ENTRA);
	buf_add(&auth, "", 1);
	nghttp2_nv nv[] = {
		MAKE_NV(":method", "POST"), MAKE_NV(":scheme", "https"), MAKE_NV(":authority", "copilot.microsoft.com"),
		MAKE_NV(":path", "/c/api/chat"), MAKE_NV("authorization", (const char *)auth.p),
	};
	ck_assert_int_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	hb = hpack(def, nv, 5);
	preface(&in);
	frame(&in, 0x1, 0x4 | 0x1, 1, hb.p, hb.n);
	for (size_t s = 0; s < N_STEPS; s++) {
		t = decode_tenant(&in, steps[s]);
		ck_assert_str_eq(t.id, TID);
		ck_assert_str_eq(t.domain, "chu-exemple.fr");
	}
	nghttp2_hd_deflate_del(def);
	free(hb.p);
	free(auth.p);
	free(in.p);
}
END_TEST

/* ---- documents in bodies (decoders/content.c) */

static void le16_add(struct buf *b, unsigned v)
{
	uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	buf_add(b, x, 2);
}

static void le32_add(struct buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	buf_add(b, x, 4);
}

/* One zip entry: deflated (method 8) or stored (0); with a data descriptor (sizes after the
 * data, as streaming writers do) or sizes in the header. */
static void zip_entry(struct buf *z, const char *name, const void *data, size_t n, int method, bool descriptor)
{
	struct buf body = {0};
	uint32_t crc = (uint32_t)crc32(0, data, (uInt)n);

	if (method == 8)
		compress_into(&body, data, n, -15);
	else
		buf_add(&body, data, n);
	buf_add(z, "PK\3\4", 4);
	le16_add(z, 20);
	le16_add(z, descriptor ? 8 : 0);
	le16_add(z, (unsigned)method);
	le16_add(z, 0);
	le16_add(z, 0);
	le32_add(z, descriptor ? 0 : crc);
	le32_add(z, descriptor ? 0 : (uint32_t)body.n);
	le32_add(z, descriptor ? 0 : (uint32_t)n);
	le16_add(z, (unsigned)strlen(name));
	le16_add(z, 4);
	buf_str(z, name);
	buf_add(z, "\xfe\xca\0\0", 4); /* an extra field */
	buf_add(z, body.p, body.n);
	if (descriptor) {
		buf_add(z, "PK\7\x08", 4);
		le32_add(z, crc);
		le32_add(z, (uint32_t)body.n);
		le32_add(z, (uint32_t)n);
	}
	free(body.p);
}

static void zip_end(struct buf *z, const char *name)
{
	uint8_t zeros[42] = {0};

	buf_add(z, "PK\1\2", 4);
	buf_add(z, zeros, sizeof(zeros));
	buf_str(z, name);
	buf_add(z, "PK\5\6", 4);
	buf_add(z, zeros, 18);
}

#define DOCX_XML                                                                                   \
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"                          \
	"<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>" \
	"<w:p><w:r><w:t>Compte rendu d&apos;hospitalisation</w:t></w:r></w:p>"                       \
	"<w:p><w:pPr><w:jc w:val=\"left\"/></w:pPr><w:r><w:rPr><w:b/></w:rPr><w:t>Patient : N° de s" \
	"</w:t></w:r><w:proofErr w:type=\"spellStart\"/><w:r><w:t>&#233;curit&#xE9; sociale 2 95 10</w:t>" \
	"</w:r><w:r><w:rPr><w:lang w:val=\"fr-FR\"/></w:rPr><w:t xml:space=\"preserve\"> 99 126 111 93</w:t>" \
	"</w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>12</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r>"     \
	"<w:t>34 &amp; 56</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:body></w:document>"

static void docx_zip(struct buf *z, bool descriptor)
{
	uint8_t png[600];

	for (size_t i = 0; i < sizeof(png); i++)
		png[i] = (uint8_t)(i * 7 + 3);
	memcpy(png + 100, "295109912611193", 15); /* inside an image: not text, skipped */
	zip_entry(z, "[Content_Types].xml", "<Types><Default Extension=\"xml\"/></Types>", 41, 8, descriptor);
	zip_entry(z, "word/media/image1.png", png, sizeof(png), 0, descriptor);
	zip_entry(z, "word/document.xml", DOCX_XML, strlen(DOCX_XML), 8, descriptor);
	zip_end(z, "word/document.xml");
}

static void multipart_request(struct buf *in, const struct buf *file, const char *filename)
{
	struct buf part = {0};
	char head[256];

	buf_str(&part, "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"");
	buf_str(&part, filename);
	buf_str(&part, "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
	buf_add(&part, file->p, file->n);
	buf_str(&part, "\r\n--XyZ--\r\n");
	snprintf(head, sizeof(head),
		 "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
		 "Content-Length: %zu\r\n\r\n", part.n);
	buf_str(in, head);
	buf_add(in, part.p, part.n);
	free(part.p);
}

START_TEST(docx_in_multipart_upload)
{
	for (int descriptor = 0; descriptor <= 1; descriptor++) {
		struct buf zip = {0}, in = {0};

		docx_zip(&zip, descriptor);
		ck_assert(!contains(&zip, "99 126 111 93")); /* deflated: nothing to see raw */
		multipart_request(&in, &zip, "compte-rendu.docx");
		for (size_t s = 0; s < N_STEPS; s++) {
			struct rp_decoder_stats st;
			struct buf out = decode(&in, steps[s], &st);

			ck_assert_msg(contains(&out, "Patient : N° de sécurité sociale 2 95 10 99 126 111 93\n"),
				      "descriptor %d step %zu: %.*s", descriptor, steps[s], (int)out.n, out.p);
			ck_assert(contains(&out, "Compte rendu d'hospitalisation\n"));
			ck_assert(contains(&out, "\n12\n34 & 56\n")); /* cells apart, entities decoded */
			ck_assert(!contains(&out, "<w:t>"));
			/* the image is no text: it passes as it is, like any byte not decoded */
			ck_assert(contains(&out, "295109912611193"));
			ck_assert(contains(&out, "filename=\"compte-rendu.docx\"")); /* the part head passes */
			ck_assert(contains(&out, "--XyZ--"));                        /* and the trailer */
			ck_assert_uint_eq(st.doc_entries, 2);
			ck_assert_uint_eq(st.fallbacks, 0);
			free(out.p);
		}
		free(zip.p);
		free(in.p);
	}
}
END_TEST

START_TEST(xlsx_odt_and_damaged_entries)
{
	const char *shared = "<sst count=\"3\"><si><t>Nom</t></si><si><t>NIR</t></si>"
			     "<si><r><t>1 84 12 </t></r><r><rPr><b/></rPr><t>76 451 089 46</t></r></si></sst>";
	const char *sheet = "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c>"
			    "<c r=\"B1\"><v>295109912611193</v></c></row></sheetData></worksheet>";
	const char *odt = "<office:document-content><office:body><office:text><text:p>RPPS<text:s/>"
			  "10003054831</text:p><text:h>Suite</text:h></office:text></office:body></office:document-content>";
	struct buf zip = {0}, in = {0}, out;
	struct rp_decoder_stats st;

	zip_entry(&zip, "xl/sharedStrings.xml", shared, strlen(shared), 8, false);
	/* a damaged deflate stream: skipped, the entries after it still read */
	buf_add(&zip, "PK\3\4\x14\0\x08\0\x08\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x0d\0\0\0xl/broken.xml", 30 + 13);
	buf_add(&zip, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	zip_entry(&zip, "xl/worksheets/sheet1.xml", sheet, strlen(sheet), 8, true);
	zip_entry(&zip, "content.xml", odt, strlen(odt), 0, false);
	zip_end(&zip, "content.xml");
	/* a raw upload (PUT of the file itself) */
	{
		char head[160];
		snprintf(head, sizeof(head), "PUT /blob HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n", zip.n);
		buf_str(&in, head);
		buf_add(&in, zip.p, zip.n);
	}
	for (size_t s = 0; s < N_STEPS; s++) {
		out = decode(&in, steps[s], &st);
		ck_assert_msg(contains(&out, "Nom\nNIR\n1 84 12 76 451 089 46\n"), "step %zu: %.*s", steps[s], (int)out.n, out.p);
		ck_assert(contains(&out, "0\n295109912611193\n"));
		ck_assert(contains(&out, "RPPS 10003054831\nSuite\n"));
		ck_assert_uint_eq(st.doc_entries, 4);
		ck_assert_uint_ge(st.inflate_errors, 1);
		free(out.p);
	}
	free(zip.p);
	free(in.p);
}
END_TEST

START_TEST(document_limits_and_lookalikes)
{
	struct buf zip = {0}, in = {0}, out;
	struct rp_decoder_stats st;
	size_t big = 80u << 20; /* past the flow's whole decompression budget */
	char *zeros = calloc(1, big);

	ck_assert_ptr_nonnull(zeros);
	memcpy(zeros, "<p>debut</p>", 12);
	zip_entry(&zip, "word/document.xml", zeros, big, 8, false);
	free(zeros);
	multipart_request(&in, &zip, "bomb.docx");
	out = decode(&in, 0, &st);
	ck_assert_uint_ge(st.bombs, 1);
	ck_assert_uint_le(st.inflated, RP_DECODER_INFLATE_MAX);
	ck_assert(contains(&out, "--XyZ--")); /* the body after it still reaches the scanner */
	ck_assert(contains(&out, "debut\n")); /* what came before the limit was read */
	free(out.p);
	free(zip.p);
	free(in.p);

	/* Text that merely mentions PK, and a false signature, passes unchanged. */
	memset(&in, 0, sizeof(in));
	buf_str(&in, "POST /x HTTP/1.1\r\nContent-Length: 37\r\n\r\nPKU PK\3\4 not a zip; NIR 2 95 10 99 1P");
	for (size_t s = 0; s < N_STEPS; s++) {
		out = decode(&in, steps[s], &st);
		ck_assert_msg(contains(&out, "PKU PK\3\4 not a zip; NIR 2 95 10 99 1P"), "step %zu: %.*s", steps[s], (int)out.n, out.p);
		free(out.p);
	}
	free(in.p);
}
END_TEST

START_TEST(docx_over_http2)
{
	nghttp2_hd_deflater *def;
	struct buf in = {0}, hb, zip = {0};
	nghttp2_nv nv[] = {
		MAKE_NV(":method", "POST"), MAKE_NV(":scheme", "https"), MAKE_NV(":authority", "chatgpt.com"),
		MAKE_NV(":path", "/backend-api/files"), MAKE_NV("content-type", "application/octet-stream"),
	};

	docx_zip(&zip, true);
	ck_assert_int_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	hb = hpack(def, nv, 5);
	preface(&in);
	frame(&in, 0x1, 0x4, 1, hb.p, hb.n);
	/* in two DATA frames, interleaved with another stream's */
	frame(&in, 0x0, 0, 1, zip.p, zip.n / 2);
	frame(&in, 0x1, 0x4, 3, hb.p, hb.n);
	frame(&in, 0x0, 0x1, 3, "hello", 5);
	frame(&in, 0x0, 0x1, 1, zip.p + zip.n / 2, zip.n - zip.n / 2);
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert_msg(contains(&out, "sociale 2 95 10 99 126 111 93\n"), "step %zu", steps[s]);
		ck_assert_uint_eq(st.doc_entries, 2);
		free(out.p);
	}
	nghttp2_hd_deflate_del(def);
	free(hb.p);
	free(zip.p);
	free(in.p);
}
END_TEST

/* A Flate stream object into pdf: its head is before, the compressed length, then after (the rest
 * of the dictionary, "stream" and its end of line). */
static void pdf_flate_stream(struct buf *pdf, const char *before, const char *after, const void *p, size_t n)
{
	struct buf z = {0};
	char len[24];

	compress_into(&z, p, n, 15);
	snprintf(len, sizeof(len), "%zu", z.n);
	buf_str(pdf, before);
	buf_str(pdf, len);
	buf_str(pdf, after);
	buf_add(pdf, z.p, z.n);
	free(z.p);
}

START_TEST(pdf_content_streams)
{
	const char *content = "q 1 0 0 1 0 0 cm BT /F1 10 Tf 72 700 Td (Num\\351ro de s\\351curit\\351 sociale : 2 95 1) Tj\n"
			      "[(0 99 ) -30 (126)] TJ ( 111 93) Tj ET\n% a comment (not text)\nBT 72 680 Td <4950503a20303031> Tj "
			      "[(Dr) -300 (Martin \\(cardio\\))] TJ ET Q";
	uint8_t font[300];
	struct buf pdf = {0}, in = {0};

	for (size_t i = 0; i < sizeof(font); i++)
		font[i] = (uint8_t)(i * 13);
	buf_str(&pdf, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	pdf_flate_stream(&pdf, "4 0 obj\n<< /Length ", " /Filter /FlateDecode >>\nstream\r\n", content, strlen(content));
	buf_str(&pdf, "\r\nendstream\nendobj\n");
	pdf_flate_stream(&pdf, "5 0 obj\n<< /Length1 300 /Filter /FlateDecode /Length ", " >>\nstream\n", font,
			 sizeof(font));
	buf_str(&pdf, "\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
	ck_assert(!contains(&pdf, "111 93"));
	multipart_request(&in, &pdf, "resultats.pdf");
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert_msg(contains(&out, " Numéro de sécurité sociale : 2 95 10 99 126 111 93\n"), "step %zu: %.*s",
			      steps[s], (int)out.n, out.p);
		ck_assert_msg(contains(&out, "IPP: 001Dr Martin (cardio)\n"), "%.*s", (int)out.n, out.p);
		ck_assert(!contains(&out, "a comment"));
		ck_assert_uint_eq(st.doc_entries, 1); /* the font program is not read */
		free(out.p);
	}
	free(pdf.p);
	free(in.p);
}
END_TEST

/* A PDF as Chrome's "Save as PDF" and Word write it: text in a Type0 font with Identity-H, whose
 * strings are glyph numbers (<0035004B...>) that only the font's ToUnicode CMap, written after the
 * page, turns back into characters; beside it a font whose CMap keeps ASCII as it is (cairo's
 * WinAnsi subsets), whose text must not come out twice. */
static uint16_t glyph_of(char ch)
{
	/* glyph numbers, not character codes: read as bytes they are no text */
	return ch >= '0' && ch <= '9' ? (uint16_t)(0x13 + (ch - '0')) : (uint16_t)(0x200 + ((unsigned char)ch * 7) % 0x1f0);
}

static void identity_h_hex(struct buf *b, const char *text)
{
	char h[8];

	buf_str(b, "<");
	for (const char *c = text; *c; c++) {
		snprintf(h, sizeof(h), "%04X", glyph_of(*c));
		buf_str(b, h);
	}
	buf_str(b, ">");
}

START_TEST(pdf_tounicode_fonts)
{
	const char *line1 = "Patient : Jean Dupont", *line2 = "NIR 2 95 10 ", *line3 = "99 126 111 93";
	const char *letters = "Patient:JeanDupontNIR ,";
	struct buf content = {0}, cmap = {0}, cmap1 = {0}, pdf = {0}, in = {0};
	char entry[64];

	/* Chrome places a glyph that kerns with the next one, then the rest of the word, with Td */
	buf_str(&content, "BT\n/F4 12 Tf\n72 700 Td\n");
	identity_h_hex(&content, "P");
	buf_str(&content, " Tj 7.2 0 Td ");
	identity_h_hex(&content, line1 + 1);
	buf_str(&content, "Tj\n0 -14 Td\n[");
	identity_h_hex(&content, line2);
	buf_str(&content, " -3 ");
	identity_h_hex(&content, line3);
	buf_str(&content, "] TJ\n/F1 10 Tf\n0 -14 Td\n(Dr Martin, cardiologue)Tj\nET\n");

	/* the Identity-H font's CMap: digits by a range, the rest one by one */
	buf_str(&cmap, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n"
		       "<< /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n"
		       "/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
		       "1 beginbfrange\n<0013> <001C> <0030>\nendbfrange\n");
	snprintf(entry, sizeof(entry), "%zu beginbfchar\n", strlen(letters));
	buf_str(&cmap, entry);
	for (const char *c = letters; *c; c++) {
		snprintf(entry, sizeof(entry), "<%04X> <%04X>\n", glyph_of(*c), (unsigned char)*c);
		buf_str(&cmap, entry);
	}
	buf_str(&cmap, "endbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
	/* the simple font's CMap: ASCII to itself */
	buf_str(&cmap1, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n1 begincodespacerange\n"
			"<00> <FF>\nendcodespacerange\n1 beginbfrange\n<20> <7E> <0020>\nendbfrange\nendcmap\nend\nend\n");

	buf_str(&pdf, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
		      "3 0 obj\n<< /Type /Page /Parent 2 0 R /Resources << /Font << /F4 7 0 R /F1 10 0 R >> >> "
		      "/Contents 4 0 R >>\nendobj\n");
	pdf_flate_stream(&pdf, "4 0 obj\n<< /Length ", " /Filter /FlateDecode >>\nstream\n", content.p, content.n);
	buf_str(&pdf, "\nendstream\nendobj\n"
		      "7 0 obj\n<< /Type /Font /Subtype /Type0 /BaseFont /AAAAAA+Arial /Encoding /Identity-H "
		      "/DescendantFonts [8 0 R] /ToUnicode 9 0 R >>\nendobj\n"
		      "10 0 obj\n<< /Type /Font /Subtype /TrueType /BaseFont /BBBBBB+Arial /Encoding /WinAnsiEncoding "
		      "/ToUnicode 11 0 R >>\nendobj\n");
	pdf_flate_stream(&pdf, "9 0 obj\n<< /Length ", " /Filter /FlateDecode >>\nstream\r\n", cmap.p, cmap.n);
	buf_str(&pdf, "\r\nendstream\nendobj\n");
	pdf_flate_stream(&pdf, "11 0 obj\n<< /Filter /FlateDecode /Length ", " >>\nstream\n", cmap1.p, cmap1.n);
	buf_str(&pdf, "\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
	ck_assert(!contains(&pdf, "111 93"));
	multipart_request(&in, &pdf, "dossier.pdf");
	for (size_t s = 0; s < N_STEPS; s++) {
		struct buf out = decode(&in, steps[s], NULL);
		const char *first;

		ck_assert_msg(contains(&out, "\nPatient : Jean Dupont NIR 2 95 10 99 126 111 93 \n"), "step %zu: %.*s",
			      steps[s], (int)out.n, out.p);
		/* the simple font's text came out as it was read, once */
		first = memmem(out.p, out.n, "Dr Martin, cardiologue", 22);
		ck_assert(first);
		ck_assert(!memmem(first + 1, out.n - (size_t)(first + 1 - (const char *)out.p), "Dr Martin", 9));
		free(out.p);
	}
	free(content.p);
	free(cmap.p);
	free(cmap1.p);
	free(pdf.p);
	free(in.p);
}
END_TEST

/* ReportLab's embedded TrueType: one-byte subset codes, ASCII kept, accents given codes from 0x80,
 * the font and its CMap written before the page: the strings are read through the CMap as they
 * come, once. */
START_TEST(pdf_tounicode_font_first)
{
	const char *cmap = "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n1 begincodespacerange\n"
			   "<00> <81>\nendcodespacerange\n3 beginbfrange\n<20> <7E> <0020>\n<80> <80> <00E9>\n"
			   "<81> <81> [<00E0>]\nendbfrange\nendcmap\nend\nend\n";
	const char *content = "BT /F2+0 11 Tf 72 760 Tm (N\\200 le 12/10/1995 \\201 Lyon, NIR 2 95 10 99 126 111 93) Tj ET\n";
	struct buf pdf = {0}, in = {0};

	buf_str(&pdf, "%PDF-1.4\n1 0 obj\n<<\n/F1 2 0 R /F2+0 7 0 R\n>>\nendobj\n");
	pdf_flate_stream(&pdf, "4 0 obj\n<<\n/Filter [ /FlateDecode ] /Length ", "\n>>\nstream\n", cmap, strlen(cmap));
	buf_str(&pdf, "endstream\nendobj\n7 0 obj\n<<\n/BaseFont /AAAAAA+DejaVuSans /FirstChar 0 /LastChar 129 "
		      "/Name /F2+0 /Subtype /TrueType /ToUnicode 4 0 R /Type /Font\n>>\nendobj\n"
		      "3 0 obj\n<<\n/Contents 11 0 R /Resources <<\n/Font 1 0 R\n>> /Type /Page\n>>\nendobj\n");
	pdf_flate_stream(&pdf, "11 0 obj\n<<\n/Filter [ /FlateDecode ] /Length ", "\n>>\nstream\n", content,
			 strlen(content));
	buf_str(&pdf, "endstream\nendobj\ntrailer\n<< /Root 8 0 R >>\n%%EOF\n");
	multipart_request(&in, &pdf, "resultats.pdf");
	for (size_t s = 0; s < N_STEPS; s++) {
		struct buf out = decode(&in, steps[s], NULL);
		const char *first = memmem(out.p, out.n, "NIR 2 95 10 99 126 111 93", 25);

		ck_assert_msg(contains(&out, "Né le 12/10/1995 à Lyon, NIR 2 95 10 99 126 111 93"), "step %zu: %.*s",
			      steps[s], (int)out.n, out.p);
		ck_assert(first);
		ck_assert_msg(!memmem(first + 25, out.n - (size_t)(first + 25 - (const char *)out.p), "2 95 10", 7),
			      "step %zu: %.*s", steps[s], (int)out.n, out.p);
		free(out.p);
	}
	free(pdf.p);
	free(in.p);
}
END_TEST

static void json_request(struct buf *in, const struct buf *body)
{
	char head[160];

	snprintf(head, sizeof(head), "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n", body->n);
	buf_str(in, head);
	buf_add(in, body->p, body->n);
}

START_TEST(base64_files_in_json)
{
	const char *csv = "nom;prenom;nir;ddn\nDUPONT;Jean;2 95 10 99 126 111 93;12/10/1995\nMARTIN;Luc;1 84 12 76 451 089 46;01/02/1984\n";
	uint8_t png[200];
	struct buf body = {0}, in = {0}, zip = {0};

	for (size_t i = 0; i < sizeof(png); i++)
		png[i] = (uint8_t)(i * 31 + 7);
	memcpy(png, "\x89PNG\r\n\x1a\n", 8);
	docx_zip(&zip, false);
	/* Gemini inline_data (a CSV), OpenAI file_data (a data: URL of a docx, '/' escaped as "\/"),
	 * an image, and short "data" strings that are no file at all. */
	buf_str(&body, "{\"contents\":[{\"parts\":[{\"text\":\"r\\u00e9sume\"},{\"inline_data\": {\"mime_type\": \"text/csv\", \"data\": \"");
	b64(&body, csv, strlen(csv), false);
	buf_str(&body, "\"}},{\"file\":{\"file_data\":\"data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,");
	{
		struct buf z64 = {0};
		b64(&z64, zip.p, zip.n, false);
		for (size_t i = 0; i < z64.n; i++) {
			if (z64.p[i] == '/')
				buf_str(&body, "\\/");
			else
				buf_add(&body, z64.p + i, 1);
		}
		free(z64.p);
	}
	buf_str(&body, "\"}},{\"image_url\":{\"url\":\"data:image/png;base64,");
	b64(&body, png, sizeof(png), false);
	buf_str(&body, "\"}},{\"data\":\"NIR 2 95 10 99 126 111 93\"},{\"data\":\"QUJD\"}]}]}");
	ck_assert(!contains(&body, "126 111 93;"));
	json_request(&in, &body);
	for (size_t s = 0; s < N_STEPS; s++) {
		struct rp_decoder_stats st;
		struct buf out = decode(&in, steps[s], &st);
		ck_assert_msg(contains(&out, "DUPONT;Jean;2 95 10 99 126 111 93;12/10/1995\n"), "step %zu: %.*s", steps[s],
			      (int)out.n, out.p);
		ck_assert(contains(&out, "sociale 2 95 10 99 126 111 93\n")); /* the docx inside */
		ck_assert(contains(&out, "{\"data\":\"NIR 2 95 10 99 126 111 93\"}")); /* not base64: as it is */
		ck_assert(contains(&out, "{\"data\":\"QUJD\"}"));
		ck_assert(!contains(&out, "PNG")); /* the image is dropped, decoded or not */
		ck_assert_uint_eq(st.doc_entries, 2);
		free(out.p);
	}
	free(zip.p);
	free(body.p);
	free(in.p);
}
END_TEST

START_TEST(detector_needs_the_decoder)
{
	struct rp_engine_config cfg;
	struct rp_engine *e = NULL;
	struct rp_scratch *sc = NULL;
	struct buf in = {0};
	unsigned raw = 0, dec = 0;
	const char *d1 = "{\"prompt\": \"Patient NIR 2 95 10 9";
	const char *d2 = "9 126 111 93, compte rendu\"}";

	rp_engine_config_default(&cfg);
	ck_assert_int_eq(rp_engine_new(&cfg, &e, NULL, 0), 0);
	ck_assert_int_eq(rp_scratch_new(e, &sc), 0);
	preface(&in);
	frame(&in, 0x0, 0, 1, d1, strlen(d1));
	frame(&in, 0x0, 0x1, 1, d2, strlen(d2));
	struct buf out = decode(&in, 0, NULL);
	ck_assert_int_eq(rp_scan_block(e, sc, in.p, in.n, count_nir, &raw), 0);
	ck_assert_int_eq(rp_scan_block(e, sc, out.p, out.n, count_nir, &dec), 0);
	ck_assert_uint_eq(raw, 0);
	ck_assert_uint_eq(dec, 1);
	free(out.p);
	free(in.p);
	rp_scratch_free(sc);
	rp_engine_free(e);
}
END_TEST

/* A ClientHello as a client writes it: record header, handshake header, the fixed fields, then
 * the extensions given (each "type, then its body"). */
static size_t client_hello(uint8_t *out, const uint8_t *exts, size_t exts_len)
{
	uint8_t body[4096];
	size_t n = 0, hs_len, rec;

	body[n++] = 3, body[n++] = 3;           /* legacy_version */
	memset(body + n, 0xab, 32), n += 32;    /* random */
	body[n++] = 32, memset(body + n, 0xcd, 32), n += 32; /* session id */
	body[n++] = 0, body[n++] = 4;           /* two cipher suites */
	body[n++] = 0x13, body[n++] = 0x01, body[n++] = 0x13, body[n++] = 0x02;
	body[n++] = 1, body[n++] = 0;           /* compression: null */
	body[n++] = (uint8_t)(exts_len >> 8), body[n++] = (uint8_t)exts_len;
	memcpy(body + n, exts, exts_len), n += exts_len;
	hs_len = n;
	rec = hs_len + 4;
	out[0] = 22, out[1] = 3, out[2] = 1, out[3] = (uint8_t)(rec >> 8), out[4] = (uint8_t)rec;
	out[5] = 1, out[6] = 0, out[7] = (uint8_t)(hs_len >> 8), out[8] = (uint8_t)hs_len;
	memcpy(out + 9, body, hs_len);
	return 9 + hs_len;
}

/* Extension type, then server_name_list with one host_name entry. */
static size_t sni_ext(uint8_t *out, const char *host)
{
	size_t h = strlen(host), n = 0;

	out[n++] = 0, out[n++] = 0;                                          /* server_name */
	out[n++] = (uint8_t)((h + 5) >> 8), out[n++] = (uint8_t)(h + 5);     /* ext length */
	out[n++] = (uint8_t)((h + 3) >> 8), out[n++] = (uint8_t)(h + 3);     /* list length */
	out[n++] = 0;                                                        /* host_name */
	out[n++] = (uint8_t)(h >> 8), out[n++] = (uint8_t)h;
	memcpy(out + n, host, h);
	return n + h;
}

START_TEST(tls_hello_server_name)
{
	uint8_t exts[2048], hello[4096];
	char name[256];
	size_t e = 0, n;

	/* A GREASE extension and a large key share before the name, as Chrome orders them at random. */
	exts[e++] = 0x0a, exts[e++] = 0x0a, exts[e++] = 0, exts[e++] = 0;
	exts[e++] = 0, exts[e++] = 51, exts[e++] = 0x04, exts[e++] = 0xc4;
	memset(exts + e, 0x11, 0x4c4), e += 0x4c4;
	e += sni_ext(exts + e, "ChatGPT.com");
	n = client_hello(hello, exts, e);
	ck_assert_int_eq(rp_tls_hello_server_name(hello, n, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "chatgpt.com");

	/* Cut before the name ends: not a guess, a clear "cut off". */
	ck_assert_int_eq(rp_tls_hello_server_name(hello, n - 3, name, sizeof(name)), -EMSGSIZE);
	ck_assert_str_eq(name, "");
	/* Every prefix: never a crash, never a name that is not the whole one. */
	for (size_t k = 0; k < n; k++) {
		int r = rp_tls_hello_server_name(hello, k, name, sizeof(name));

		ck_assert_msg(r < 0 || strcmp(name, "chatgpt.com") == 0, "prefix %zu gave %s", k, name);
	}
	/* Too small a buffer. */
	ck_assert_int_eq(rp_tls_hello_server_name(hello, n, name, 5), -EMSGSIZE);

	/* No server name (a connection by address). */
	n = client_hello(hello, exts, 8 + 0x4c4);
	ck_assert_int_eq(rp_tls_hello_server_name(hello, n, name, sizeof(name)), -ENOENT);

	/* A name with bytes no host name has (a NUL, a slash): refused, not copied. */
	e = sni_ext(exts, "evil.example/x");
	n = client_hello(hello, exts, e);
	ck_assert_int_eq(rp_tls_hello_server_name(hello, n, name, sizeof(name)), -EBADMSG);
	ck_assert_str_eq(name, ""); /* not the part before the slash */

	/* Not a hello: application data, a ServerHello, HTTP. */
	e = sni_ext(exts, "gemini.google.com");
	n = client_hello(hello, exts, e);
	hello[5] = 2;
	ck_assert_int_eq(rp_tls_hello_server_name(hello, n, name, sizeof(name)), -EBADMSG);
	hello[5] = 1, hello[0] = 23;
	ck_assert_int_eq(rp_tls_hello_server_name(hello, n, name, sizeof(name)), -EBADMSG);
	ck_assert_int_eq(rp_tls_hello_server_name("GET / HTTP/1.1\r\n\r\n", 18, name, sizeof(name)), -EBADMSG);
	hello[0] = 22;
	ck_assert_int_eq(rp_tls_hello_server_name(hello, n, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "gemini.google.com");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("decoders");
	TCase *h1 = tcase_create("http1"), *h2 = tcase_create("http2");

	tcase_set_timeout(h1, 120);
	tcase_add_test(h1, raw_passes_unchanged);
	tcase_add_test(h1, http1_connect_opens_a_tunnel);
	tcase_add_test(h1, http1_inside_a_tunnel_is_decoded);
	tcase_add_test(h1, http1_content_length_keep_alive);
	tcase_add_test(h1, http1_chunked_strips_framing);
	tcase_add_test(h1, http1_tiny_chunks_in_one_feed);
	tcase_add_test(h1, http1_gzip_deflate_bodies);
	tcase_add_test(h1, http1_lying_gzip_passes_raw);
	tcase_add_test(h1, http1_brotli_when_built_with_it);
	tcase_add_test(h1, http1_zstd_when_built_with_it);
	tcase_add_test(h1, http1_malformed_chunk_falls_back_raw);
	tcase_add_test(h1, http1_gzip_bomb_bounded);
	tcase_add_test(h1, http1_flow_inflate_budget);
	tcase_add_test(h1, http1_response_until_close);
	tcase_add_test(h1, gap_gives_up_framing);
	tcase_add_test(h1, emit_error_is_returned);
	tcase_add_test(h2, http2_hpack_and_data_across_frames);
	tcase_add_test(h2, http2_continuation_gzip_streams);
	tcase_add_test(h2, http2_compressed_streams_bounded);
	tcase_add_test(h2, http2_malformed_falls_back_raw);
	tcase_add_test(h2, h2c_upgrade_after_http1);
	tcase_add_test(h2, detector_needs_the_decoder);
	tcase_add_test(h1, tenant_from_bearer_jwt);
	tcase_add_test(h1, docx_in_multipart_upload);
	tcase_add_test(h1, xlsx_odt_and_damaged_entries);
	tcase_add_test(h1, document_limits_and_lookalikes);
	tcase_add_test(h1, pdf_content_streams);
	tcase_add_test(h1, pdf_tounicode_fonts);
	tcase_add_test(h1, pdf_tounicode_font_first);
	tcase_add_test(h1, base64_files_in_json);
	tcase_add_test(h2, docx_over_http2);
	tcase_add_test(h1, tenant_later_requests);
	tcase_add_test(h2, tenant_from_http2_authorization);
	tcase_add_test(h1, tls_hello_server_name);
	suite_add_tcase(s, h1);
	suite_add_tcase(s, h2);
	return run_suite(s);
}

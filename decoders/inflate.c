/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compressed bodies (Content-Encoding: gzip / deflate; br in brotli.c, zstd in zstd.c), decompressed as they stream in, across
 * any number of feeds. Bounded: the flow has a decompression budget and each body a ratio limit;
 * past either, decompression stops and the rest of the body passes raw (compressed bytes, which
 * are harmless to scan) so a bomb costs at most the budget. A body that is not what it claims
 * (corrupt, or plain text labelled gzip) also passes raw from where zlib gave up.
 */
#include <string.h>
#include <strings.h>

#include "internal.h"

#define OUT_CHUNK 16384u
#define RATIO_FLOOR (1u << 20) /* the ratio limit applies past this much output */

enum rp_coding rp_coding_parse(const char *v, size_t len)
{
	/* One coding only: stacked codings ("gzip, gzip") are rare enough to pass raw. */
	while (len && (v[0] == ' ' || v[0] == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	if (len == 0 || (len == 8 && strncasecmp(v, "identity", 8) == 0))
		return RP_CODING_IDENTITY;
	if ((len == 4 && strncasecmp(v, "gzip", 4) == 0) || (len == 6 && strncasecmp(v, "x-gzip", 6) == 0))
		return RP_CODING_GZIP;
	if (len == 7 && strncasecmp(v, "deflate", 7) == 0)
		return RP_CODING_DEFLATE;
	if (len == 2 && strncasecmp(v, "br", 2) == 0 && rp_brotli_available())
		return RP_CODING_BR;
	if (len == 4 && strncasecmp(v, "zstd", 4) == 0 && rp_zstd_available())
		return RP_CODING_ZSTD;
	return RP_CODING_UNKNOWN;
}

bool rp_decoder_supports(const char *content_coding)
{
	enum rp_coding c;

	if (!content_coding)
		return false;
	c = rp_coding_parse(content_coding, strlen(content_coding));
	return c != RP_CODING_UNKNOWN && c != RP_CODING_IDENTITY;
}

void rp_inflate_begin(struct rp_inflate *z, enum rp_coding c)
{
	rp_inflate_discard(z);
	memset(z, 0, sizeof(*z));
	z->coding = c;
}

void rp_inflate_discard(struct rp_inflate *z)
{
	if (z->init)
		(void)inflateEnd(&z->zs);
	z->init = false;
	rp_brotli_free(z);
	rp_zstd_free(z);
}

void rp_inflate_give_up(struct rp_inflate *z, uint64_t *counter)
{
	(*counter)++;
	z->failed = true;
	rp_inflate_discard(z);
}

bool rp_inflate_deliver(struct rp_inflate *z, const uint8_t *out, size_t n, struct rp_out *o)
{
	if (n > *o->inflate_budget || (z->out + n > RATIO_FLOOR && z->out + n > z->in * RP_DECODER_INFLATE_RATIO)) {
		rp_inflate_give_up(z, &o->stats->bombs);
		return false;
	}
	*o->inflate_budget -= n;
	z->out += n;
	o->stats->inflated += n;
	out_emit(o, out, n);
	return true;
}

/* The first two bytes tell the container: gzip magic, a zlib header, or (for "deflate", which
 * many servers and clients send without its zlib wrapper) raw deflate. */
static int window_bits(const struct rp_inflate *z)
{
	unsigned cmf = z->head[0], flg = z->head[1];

	if (cmf == 0x1f && flg == 0x8b)
		return 15 + 16;
	if ((cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0)
		return 15;
	if (z->coding == RP_CODING_DEFLATE)
		return -15;
	return 0; /* labelled gzip, is neither: not compressed */
}

/* Decompression stopped (corrupt data, a limit): this piece of the body goes out as it is, whole
 * (zlib may have pulled in bytes without producing their text yet), preceded by the held first
 * bytes when nothing of the body was decoded at all. Some compressed bytes may be scanned twice:
 * harmless, while dropping them could hide a mislabelled plain body. */
static void pass_raw(struct rp_inflate *z, const uint8_t *buf, size_t len, struct rp_out *o)
{
	if (z->out == 0 && buf != z->head)
		out_emit(o, z->head, z->n_head);
	out_emit(o, buf, len);
}

static void inflate_run(struct rp_inflate *z, const uint8_t *buf, size_t len, struct rp_out *o)
{
	uint8_t out[OUT_CHUNK];

	z->zs.next_in = (Bytef *)buf;
	z->zs.avail_in = (uInt)len;
	/* Each pass consumes input or produces output; zlib guarantees progress while both
	 * buffers have room, and Z_BUF_ERROR (no progress possible) ends the loop. */
	while (z->zs.avail_in > 0) {
		uInt before_in = z->zs.avail_in;
		size_t produced;
		int r;

		z->zs.next_out = out;
		z->zs.avail_out = sizeof(out);
		r = inflate(&z->zs, Z_NO_FLUSH);
		produced = sizeof(out) - z->zs.avail_out;
		z->in += before_in - z->zs.avail_in;
		if (produced && !rp_inflate_deliver(z, out, produced, o)) {
			/* A bomb: stop here, the rest of the body passes compressed. */
			pass_raw(z, buf, len, o);
			return;
		}
		if (r == Z_STREAM_END) {
			/* gzip allows several members back to back; whatever follows must parse as one. */
			if (inflateReset(&z->zs) != Z_OK)
				break;
			continue;
		}
		if (r == Z_BUF_ERROR && produced == 0 && before_in == z->zs.avail_in)
			break;
		if (r != Z_OK && r != Z_BUF_ERROR) {
			rp_inflate_give_up(z, &o->stats->inflate_errors);
			pass_raw(z, buf, len, o);
			return;
		}
	}
}

void rp_inflate_feed(struct rp_inflate *z, const uint8_t *buf, size_t len, struct rp_out *o)
{
	if (z->failed || z->coding == RP_CODING_IDENTITY || z->coding == RP_CODING_UNKNOWN) {
		out_emit(o, buf, len);
		return;
	}
	if (z->coding == RP_CODING_BR) {
		rp_brotli_feed(z, buf, len, o);
		return;
	}
	if (z->coding == RP_CODING_ZSTD) {
		rp_zstd_feed(z, buf, len, o);
		return;
	}
	if (!z->init) {
		int wb;

		while (z->n_head < 2 && len > 0) {
			z->head[z->n_head++] = *buf++;
			len--;
		}
		if (z->n_head < 2)
			return;
		wb = window_bits(z);
		if (wb == 0 || inflateInit2(&z->zs, wb) != Z_OK) {
			z->failed = true;
			o->stats->inflate_errors++;
			out_emit(o, z->head, z->n_head);
			out_emit(o, buf, len);
			return;
		}
		z->init = true;
		inflate_run(z, z->head, z->n_head, o);
		if (z->failed) {
			out_emit(o, buf, len);
			return;
		}
	}
	if (len)
		inflate_run(z, buf, len, o);
}

void rp_inflate_end(struct rp_inflate *z, struct rp_out *o)
{
	/* Fewer than two bytes never told their format: scan them as they are. */
	if (z->coding != RP_CODING_BR && z->coding != RP_CODING_ZSTD && !z->init && !z->failed && z->n_head)
		out_emit(o, z->head, z->n_head);
	rp_inflate_discard(z);
	z->n_head = 0;
	z->coding = RP_CODING_IDENTITY;
	z->failed = false;
}

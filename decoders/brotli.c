/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Content-Encoding: br, when the build found libbrotlidec (optional: without it "br" bodies are
 * an unknown coding and pass raw). Same limits as zlib bodies (rp_inflate_deliver). Brotli has no
 * magic number, so a body that is not brotli is only found out when the decoder fails: its first
 * bytes are kept and replayed raw then, with the whole current piece, so a mislabelled plain body
 * still reaches the scanner.
 */
#include <string.h>

#include "internal.h"

#ifdef HAVE_BROTLI
#include <brotli/decode.h>

bool rp_brotli_available(void)
{
	return true;
}

void rp_brotli_free(struct rp_inflate *z)
{
	if (z->br)
		BrotliDecoderDestroyInstance(z->br);
	z->br = NULL;
}

static void fail(struct rp_inflate *z, const uint8_t *buf, size_t len, uint64_t in_before, struct rp_out *o)
{
	/* Nothing decoded yet: what came before this piece (up to head's size) goes out too. */
	if (z->out == 0 && in_before <= sizeof(z->head))
		out_emit(o, z->head, (size_t)in_before);
	rp_inflate_give_up(z, &o->stats->inflate_errors);
	out_emit(o, buf, len);
}

void rp_brotli_feed(struct rp_inflate *z, const uint8_t *buf, size_t len, struct rp_out *o)
{
	uint8_t out[16384];
	const uint8_t *next_in = buf;
	size_t avail_in = len;
	uint64_t in_before = z->in;

	if (!z->br) {
		z->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
		if (!z->br)
			return fail(z, buf, len, in_before, o);
	}
	if (z->n_head < sizeof(z->head)) {
		size_t k = sizeof(z->head) - z->n_head < len ? sizeof(z->head) - z->n_head : len;
		memcpy(z->head + z->n_head, buf, k);
		z->n_head += (unsigned)k;
	}
	/* Each pass consumes input or fills the output buffer; a finished stream or an error ends
	 * the loop, and so does a pass that made no progress. */
	for (;;) {
		uint8_t *next_out = out;
		size_t avail_out = sizeof(out), before = avail_in;
		BrotliDecoderResult r = BrotliDecoderDecompressStream(z->br, &avail_in, &next_in, &avail_out,
								      &next_out, NULL);
		size_t produced = sizeof(out) - avail_out;

		z->in += before - avail_in;
		if (r == BROTLI_DECODER_RESULT_ERROR)
			return fail(z, buf, len, in_before, o);
		if (produced && !rp_inflate_deliver(z, out, produced, o)) {
			out_emit(o, next_in, avail_in); /* a bomb: the rest passes compressed */
			return;
		}
		if (r == BROTLI_DECODER_RESULT_SUCCESS) {
			/* Bytes after the end of the stream are not brotli: scan them as they are. */
			if (avail_in) {
				rp_inflate_give_up(z, &o->stats->inflate_errors);
				out_emit(o, next_in, avail_in);
			}
			return;
		}
		if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
			return;
		if (produced == 0 && before == avail_in)
			return fail(z, buf, len, in_before, o);
	}
}

#else

bool rp_brotli_available(void)
{
	return false;
}

void rp_brotli_free(struct rp_inflate *z)
{
	z->br = NULL;
}

void rp_brotli_feed(struct rp_inflate *z, const uint8_t *buf, size_t len, struct rp_out *o)
{
	out_emit(o, buf, len);
}

#endif

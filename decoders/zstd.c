/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Content-Encoding: zstd, when the build found libzstd (optional: without it "zstd" bodies are an
 * unknown coding and pass raw). Same limits as zlib bodies (rp_inflate_deliver), and the window a
 * frame may ask for is capped, so a hostile frame header cannot make the agent allocate 128 MiB
 * per flow. A body that is not zstd (its magic number says so) or that fails passes raw from
 * there, preceded by its first bytes when nothing was decoded.
 */
#include <string.h>

#include "internal.h"

#ifdef HAVE_ZSTD
#include <zstd.h>

#define ZSTD_WINDOW_LOG_MAX 23 /* 8 MiB: what zstd's levels 1-19 use for bodies this size */

bool rp_zstd_available(void)
{
	return true;
}

void rp_zstd_free(struct rp_inflate *z)
{
	if (z->zst)
		ZSTD_freeDStream(z->zst);
	z->zst = NULL;
}

static void fail(struct rp_inflate *z, const uint8_t *buf, size_t len, uint64_t in_before, struct rp_out *o)
{
	if (z->out == 0 && in_before <= sizeof(z->head))
		out_emit(o, z->head, (size_t)in_before);
	rp_inflate_give_up(z, &o->stats->inflate_errors);
	out_emit(o, buf, len);
}

void rp_zstd_feed(struct rp_inflate *z, const uint8_t *buf, size_t len, struct rp_out *o)
{
	uint8_t out[16384];
	ZSTD_inBuffer in = {buf, len, 0};
	uint64_t in_before = z->in;

	if (!z->zst) {
		z->zst = ZSTD_createDStream();
		if (!z->zst || ZSTD_isError(ZSTD_initDStream(z->zst)) ||
		    ZSTD_isError(ZSTD_DCtx_setParameter(z->zst, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX)))
			return fail(z, buf, len, in_before, o);
	}
	if (z->n_head < sizeof(z->head)) {
		size_t k = sizeof(z->head) - z->n_head < len ? sizeof(z->head) - z->n_head : len;
		memcpy(z->head + z->n_head, buf, k);
		z->n_head += (unsigned)k;
	}
	/* Each pass consumes input or fills the output buffer; an error ends the loop, and so does
	 * a pass that made no progress. Frames may follow one another. */
	while (in.pos < in.size) {
		ZSTD_outBuffer ob = {out, sizeof(out), 0};
		size_t before = in.pos, r = ZSTD_decompressStream(z->zst, &ob, &in);

		z->in += in.pos - before;
		if (ZSTD_isError(r))
			return fail(z, buf, len, in_before, o);
		if (ob.pos && !rp_inflate_deliver(z, out, ob.pos, o)) {
			out_emit(o, buf + in.pos, in.size - in.pos); /* a bomb: the rest passes compressed */
			return;
		}
		if (ob.pos == 0 && before == in.pos)
			break;
	}
	/* zstd may hold decoded bytes until its output buffer is offered again */
	for (unsigned guard = 0; guard < 4096; guard++) {
		ZSTD_outBuffer ob = {out, sizeof(out), 0};
		ZSTD_inBuffer none = {NULL, 0, 0};
		size_t r = ZSTD_decompressStream(z->zst, &ob, &none);

		if (ZSTD_isError(r) || ob.pos == 0)
			break;
		if (!rp_inflate_deliver(z, out, ob.pos, o))
			return;
	}
}

#else

bool rp_zstd_available(void)
{
	return false;
}

void rp_zstd_free(struct rp_inflate *z)
{
	z->zst = NULL;
}

void rp_zstd_feed(struct rp_inflate *z, const uint8_t *buf, size_t len, struct rp_out *o)
{
	(void)z;
	out_emit(o, buf, len);
}

#endif

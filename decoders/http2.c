/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP/2 in one direction of a flow (after the client preface): frames are parsed across feeds;
 * DATA payloads are emitted per stream without frame headers or padding (a 16 KiB frame boundary
 * must not split a value), and decompressed when the stream's headers say gzip or deflate;
 * HEADERS / PUSH_PROMISE / CONTINUATION header blocks are HPACK-decoded with libnghttp2 into
 * "name: value\n" lines (":path" carries query strings, often Huffman-coded). Other frames are
 * framing and skipped. Only header-block frames are buffered, one at a time, up to
 * RP_DECODER_HEADER_MAX; DATA streams through. Malformed or oversized framing, or an HPACK error
 * (the dynamic table can no longer be trusted), sends the rest of the flow raw, starting with the
 * frame at fault.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <nghttp2/nghttp2.h>

#include "internal.h"

enum {
	T_DATA = 0x0,
	T_HEADERS = 0x1,
	T_RST_STREAM = 0x3,
	T_PUSH_PROMISE = 0x5,
	T_CONTINUATION = 0x9,
	F_END_STREAM = 0x1,
	F_END_HEADERS = 0x4,
	F_PADDED = 0x8,
	F_PRIORITY = 0x20,
	/* A peer may allow the client a larger HPACK table than the default 4096: accept up to
	 * this much so decoding does not fail on a legitimate table size update. */
	HPACK_TABLE_MAX = 65536,
};

enum h2_state { H2_FRAME_HEADER = 0, H2_DATA_PADLEN, H2_DATA, H2_SKIP, H2_BUFFER };

/* A request stream with a body: its Content-Encoding and its document layer (content.c). */
struct h2_zslot {
	uint32_t stream;
	bool used;
	uint64_t last_use;
	struct rp_inflate z;
	struct rp_content content;
};

struct rp_http2 {
	nghttp2_hd_inflater *hd;
	enum h2_state state;
	uint8_t fh[9];
	size_t n_fh;
	uint32_t len, stream, left, data_left;
	uint8_t type, flags;
	uint8_t *buf;               /* the header-block frame being buffered */
	size_t n_buf, cap;
	bool in_block, block_end_stream, block_push;
	uint32_t block_stream;
	size_t block_bytes;
	enum rp_coding block_coding;
	uint32_t last_data_stream;  /* a new line separates DATA of different streams */
	uint64_t tick;              /* slot use order */
	struct h2_zslot z[RP_DECODER_H2_INFLATE_STREAMS];
};

int rp_http2_new(struct rp_http2 **out)
{
	struct rp_http2 *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	if (nghttp2_hd_inflate_new(&h->hd) != 0) {
		free(h);
		return -ENOMEM;
	}
	if (nghttp2_hd_inflate_change_table_size(h->hd, HPACK_TABLE_MAX) != 0) {
		nghttp2_hd_inflate_del(h->hd);
		free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

void rp_http2_free(struct rp_http2 *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < RP_DECODER_H2_INFLATE_STREAMS; i++) {
		rp_inflate_discard(&h->z[i].z);
		rp_content_discard(&h->z[i].content);
	}
	nghttp2_hd_inflate_del(h->hd);
	free(h->buf);
	free(h);
}

/* The body of a slot's stream is over: what its decoders hold goes out, they are released. */
static void slot_end(struct h2_zslot *s, struct rp_out *o)
{
	o->content = &s->content;
	rp_inflate_end(&s->z, o);
	o->content = NULL;
	rp_content_end(&s->content, o);
	s->used = false;
}

/* The frame at fault goes out raw (its header, what was buffered), then everything after it. */
static void fail(struct rp_decoder *d, struct rp_out *o)
{
	struct rp_http2 *h = d->h2;

	/* Streams may hold their first bytes: they came before this frame. */
	for (size_t i = 0; i < RP_DECODER_H2_INFLATE_STREAMS; i++)
		if (h->z[i].used)
			slot_end(&h->z[i], o);
	out_emit(o, h->fh, h->n_fh);
	if (h->state == H2_BUFFER)
		out_emit(o, h->buf, h->n_buf);
	rp_decoder_fallback(d, true);
}

static struct h2_zslot *slot_find(struct rp_http2 *h, uint32_t stream)
{
	for (size_t i = 0; i < RP_DECODER_H2_INFLATE_STREAMS; i++)
		if (h->z[i].used && h->z[i].stream == stream)
			return &h->z[i];
	return NULL;
}

static void stream_end(struct rp_http2 *h, uint32_t stream, struct rp_out *o)
{
	struct h2_zslot *s = slot_find(h, stream);

	if (s)
		slot_end(s, o);
}

static void stream_coding(struct rp_http2 *h, uint32_t stream, enum rp_coding c, struct rp_out *o)
{
	struct h2_zslot *s = &h->z[0];

	stream_end(h, stream, o);
	for (size_t i = 0; i < RP_DECODER_H2_INFLATE_STREAMS; i++) {
		if (!h->z[i].used) {
			s = &h->z[i];
			break;
		}
		if (h->z[i].last_use < s->last_use)
			s = &h->z[i];
	}
	/* All slots busy: the stream idle longest (most likely abandoned without END_STREAM or
	 * RST_STREAM) loses its decoding; whatever else it sends passes as it is. */
	if (s->used) {
		if (s->z.coding != RP_CODING_IDENTITY)
			o->stats->inflate_errors++;
		slot_end(s, o);
	}
	s->used = true;
	s->stream = stream;
	s->last_use = ++h->tick;
	rp_inflate_begin(&s->z, c);
	rp_content_begin(&s->content);
}

static void stream_data(struct rp_http2 *h, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct h2_zslot *s;

	if (n == 0)
		return;
	if (h->last_data_stream && h->last_data_stream != h->stream)
		out_emit(o, "\n", 1);
	h->last_data_stream = h->stream;
	s = slot_find(h, h->stream);
	if (s) {
		s->last_use = ++h->tick;
		o->content = &s->content;
		rp_inflate_feed(&s->z, p, n, o);
		o->content = NULL;
	} else {
		out_emit(o, p, n);
	}
}

/* Header lines are gathered so the scanner is not called once per name and value. */
struct lines {
	uint8_t b[4096];
	size_t n;
	struct rp_out *o;
};

static void lines_put(struct lines *l, const void *p, size_t n)
{
	if (l->n + n > sizeof(l->b)) {
		out_emit(l->o, l->b, l->n);
		l->n = 0;
	}
	if (n > sizeof(l->b)) {
		out_emit(l->o, p, n);
		return;
	}
	memcpy(l->b + l->n, p, n);
	l->n += n;
}

static int hpack_feed(struct rp_decoder *d, const uint8_t *in, size_t len, bool final, struct rp_out *o)
{
	struct rp_http2 *h = d->h2;
	struct lines l = {.n = 0, .o = o};
	int r = 0;

	if (h->last_data_stream) {
		lines_put(&l, "\n", 1);
		h->last_data_stream = 0;
	}
	/* Every call consumes input, emits a field or ends the block: bounded by the input size
	 * (as given: len shrinks as fields are read). */
	size_t steps = 2 * len + 16;

	for (size_t guard = 0; guard <= steps; guard++) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t used = nghttp2_hd_inflate_hd2(h->hd, &nv, &flags, in, len, final);

		if (used < 0 || (size_t)used > len) {
			r = -EBADMSG;
			break;
		}
		in += used;
		len -= (size_t)used;
		if (flags & NGHTTP2_HD_INFLATE_EMIT) {
			lines_put(&l, nv.name, nv.namelen);
			lines_put(&l, ": ", 2);
			lines_put(&l, nv.value, nv.valuelen);
			lines_put(&l, "\n", 1);
			if (nv.namelen == 16 && strncasecmp((const char *)nv.name, "content-encoding", 16) == 0)
				h->block_coding = rp_coding_parse((const char *)nv.value, nv.valuelen);
			if ((nv.namelen == 10 && memcmp(nv.name, ":authority", 10) == 0) ||
			    (nv.namelen == 4 && strncasecmp((const char *)nv.name, "host", 4) == 0))
				rp_decoder_set_host(d, (const char *)nv.value, nv.valuelen);
			else if (nv.namelen == 13 && memcmp(nv.name, "authorization", 13) == 0)
				rp_decoder_read_authorization(d, (const char *)nv.value, nv.valuelen);
			else if (nv.namelen == 19 && memcmp(nv.name, "openai-organization", 19) == 0)
				rp_decoder_set_organisation(d, (const char *)nv.value, nv.valuelen);
		}
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(h->hd);
			break;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && len == 0)
			break;
	}
	out_emit(o, l.b, l.n);
	return r;
}

/* A whole HEADERS / PUSH_PROMISE / CONTINUATION frame is in h->buf. */
static void header_frame(struct rp_decoder *d, struct rp_out *o)
{
	struct rp_http2 *h = d->h2;
	size_t off = 0, pad = 0, len = h->n_buf;
	bool final = h->flags & F_END_HEADERS;

	if (h->type != T_CONTINUATION) {
		if (h->flags & F_PADDED) {
			if (len < 1)
				return fail(d, o);
			pad = h->buf[0];
			off = 1;
		}
		if (h->type == T_HEADERS && (h->flags & F_PRIORITY))
			off += 5;
		if (h->type == T_PUSH_PROMISE)
			off += 4;
		if (off > len || pad > len - off)
			return fail(d, o);
		h->in_block = true;
		h->block_stream = h->stream;
		h->block_bytes = 0;
		h->block_end_stream = h->type == T_HEADERS && (h->flags & F_END_STREAM);
		h->block_push = h->type == T_PUSH_PROMISE;
		h->block_coding = RP_CODING_IDENTITY;
	}
	h->block_bytes += len - off - pad;
	if (h->block_bytes > RP_DECODER_HEADER_MAX)
		return fail(d, o);
	/* An empty frame may have no buffer at all: hand nghttp2 a valid pointer anyway. */
	if (hpack_feed(d, h->buf ? h->buf + off : (const uint8_t *)"", len - off - pad, final, o) < 0)
		return fail(d, o);
	if (!final)
		return;
	h->in_block = false;
	o->stats->messages++;
	if (h->block_end_stream)
		stream_end(h, h->block_stream, o);
	else if (!h->block_push)
		stream_coding(h, h->block_stream, h->block_coding, o);
}

static void frame_done(struct rp_decoder *d, struct rp_out *o)
{
	struct rp_http2 *h = d->h2;

	switch (h->type) {
	case T_DATA:
		if (h->flags & F_END_STREAM)
			stream_end(h, h->stream, o);
		break;
	case T_RST_STREAM:
		stream_end(h, h->stream, o);
		break;
	case T_HEADERS:
	case T_PUSH_PROMISE:
	case T_CONTINUATION:
		header_frame(d, o);
		if (d->mode != MODE_HTTP2)
			return; /* fell back: h is gone */
		/* Keep the flow's footprint small between header blocks. */
		if (h->cap > 16384) {
			free(h->buf);
			h->buf = NULL;
			h->cap = 0;
		}
		break;
	default:
		break;
	}
	h->state = H2_FRAME_HEADER;
	h->n_fh = 0;
	h->n_buf = 0;
}

static size_t frame_header(struct rp_decoder *d, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct rp_http2 *h = d->h2;
	size_t take = n < 9 - h->n_fh ? n : 9 - h->n_fh;

	memcpy(h->fh + h->n_fh, p, take);
	h->n_fh += take;
	if (h->n_fh < 9)
		return take;
	h->len = (uint32_t)h->fh[0] << 16 | (uint32_t)h->fh[1] << 8 | h->fh[2];
	h->type = h->fh[3];
	h->flags = h->fh[4];
	h->stream = ((uint32_t)h->fh[5] << 24 | (uint32_t)h->fh[6] << 16 | (uint32_t)h->fh[7] << 8 | h->fh[8]) &
		    0x7fffffffu;
	h->left = h->len;
	h->n_buf = 0;
	/* A header block is contiguous: only its CONTINUATION frames may come until it ends. */
	if (h->in_block != (h->type == T_CONTINUATION) || (h->in_block && h->stream != h->block_stream)) {
		fail(d, o);
		return take;
	}
	switch (h->type) {
	case T_DATA:
		if (h->stream == 0 || ((h->flags & F_PADDED) && h->len == 0)) {
			fail(d, o);
			return take;
		}
		h->data_left = h->flags & F_PADDED ? 0 : h->len;
		h->state = h->flags & F_PADDED ? H2_DATA_PADLEN : H2_DATA;
		break;
	case T_HEADERS:
	case T_PUSH_PROMISE:
	case T_CONTINUATION:
		if (h->stream == 0 || h->len > RP_DECODER_HEADER_MAX) {
			fail(d, o);
			return take;
		}
		if (h->cap < h->len) {
			uint8_t *b = realloc(h->buf, h->len);
			if (!b) {
				fail(d, o);
				return take;
			}
			h->buf = b;
			h->cap = h->len;
		}
		h->state = H2_BUFFER;
		break;
	default:
		h->state = H2_SKIP;
		break;
	}
	if (h->left == 0)
		frame_done(d, o);
	return take;
}

size_t rp_http2_feed(struct rp_decoder *d, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct rp_http2 *h = d->h2;
	size_t take;

	switch (h->state) {
	case H2_FRAME_HEADER:
		return frame_header(d, p, n, o);
	case H2_DATA_PADLEN:
		if (p[0] > h->left - 1) {
			fail(d, o);
			return 0; /* the pad length byte goes out raw with the rest */
		}
		h->left--;
		h->data_left = h->left - p[0];
		h->state = H2_DATA;
		if (h->left == 0)
			frame_done(d, o);
		return 1;
	case H2_DATA:
		if (h->data_left) {
			take = n < h->data_left ? n : h->data_left;
			stream_data(h, p, take, o);
			h->data_left -= (uint32_t)take;
		} else {
			take = n < h->left ? n : h->left; /* padding */
		}
		h->left -= (uint32_t)take;
		if (h->left == 0)
			frame_done(d, o);
		return take;
	case H2_SKIP:
		take = n < h->left ? n : h->left;
		h->left -= (uint32_t)take;
		if (h->left == 0)
			frame_done(d, o);
		return take;
	case H2_BUFFER:
		take = n < h->left ? n : h->left;
		memcpy(h->buf + h->n_buf, p, take);
		h->n_buf += take;
		h->left -= (uint32_t)take;
		if (h->left == 0)
			frame_done(d, o);
		return take;
	}
	fail(d, o);
	return 0;
}

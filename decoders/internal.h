/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Decoder internals shared by detect.c, http1.c, http2.c, inflate.c and the document layer. */
#ifndef REMPART_DECODERS_INTERNAL_H
#define REMPART_DECODERS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "decoders.h"

#define H1_LINE_MAX 256u   /* bytes of a line kept for parsing; the line itself may be longer */
#define RP_TENANT_MAX 128u /* tenant id or domain kept, with its NUL */
#define H1_TAIL 16u        /* last bytes of a line (the request line's version is at its end) */

/* Where decoded text goes: the caller's callback, its first error, and the byte count. */
struct rp_out {
	rp_decoded_fn fn;
	void *userdata;
	int err;
	struct rp_decoder_stats *stats;
	uint64_t *inflate_budget; /* decompressed bytes the flow may still produce */
	struct rp_content *content; /* set while a body is fed: its document layer */
};

/* ---- content.c: documents (zip containers of XML) inside a body, turned back into text */
struct zip_entry;
struct pdf_fonts;
struct b64_run;
struct rp_content {
	uint8_t state;
	uint32_t entries;     /* local headers followed in this body */
	uint64_t left;        /* bytes of the current name, extra field or sized entry */
	struct zip_entry *e;  /* allocated at the first local header or PDF stream */
	bool pdf;             /* a "%PDF-" header was seen in this body */
	uint8_t tail[16];     /* the last bytes consumed: a header or marker cut between pieces */
	bool no_b64;          /* a decoded base64 file's own layer: no base64 in base64 */
	struct b64_run *b64;  /* the base64 run being read */
	uint8_t n_tail;
	uint8_t *win;         /* PDF: the last bytes passed, for the dictionary before "stream" */
	size_t n_win;
	bool win_fresh;       /* the window was just seeded with the header: skip this step's bytes */
	struct pdf_fonts *fonts; /* PDF: fonts and the strings shown in them (pdf_fonts.c) */
};
void rp_content_begin(struct rp_content *c);
void rp_content_feed(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o);
/* The body ended: flush what is held, release. */
void rp_content_end(struct rp_content *c, struct rp_out *o);
void rp_content_discard(struct rp_content *c); /* release without emitting */

/* Text for the scanner, as it is. */
static inline void out_text(struct rp_out *o, const void *buf, size_t len)
{
	int r;

	if (len == 0)
		return;
	o->stats->bytes_out += len;
	r = o->fn(buf, len, o->userdata);
	if (r < 0 && o->err == 0)
		o->err = r;
}

/* Bytes of the flow: through the body's document layer when a body is being read. */
static inline void out_emit(struct rp_out *o, const void *buf, size_t len)
{
	if (o->content && len)
		rp_content_feed(o->content, buf, len, o);
	else
		out_text(o, buf, len);
}

/* The value of a hexadecimal digit, or -1. */
static inline int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* cp (1..0x10ffff) in UTF-8 into b: its length, 0 for a code point that is none. */
static inline size_t utf8_encode(uint32_t cp, uint8_t b[4])
{
	if (cp == 0 || cp > 0x10ffff)
		return 0;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (uint8_t)(0xf0 | cp >> 18);
	b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* ---- inflate.c: one compressed body, decompressed as it streams in */
enum rp_coding {
	RP_CODING_IDENTITY = 0,
	RP_CODING_GZIP,
	RP_CODING_DEFLATE,
	RP_CODING_BR,        /* only when built with libbrotlidec */
	RP_CODING_ZSTD,      /* only when built with libzstd */
	RP_CODING_UNKNOWN,   /* something we cannot decode: the body passes raw */
};
enum rp_coding rp_coding_parse(const char *value, size_t len);

struct rp_inflate {
	z_stream zs;
	enum rp_coding coding;
	bool init;           /* zs initialised */
	bool failed;         /* corrupt or over a limit: the rest of the body passes raw */
	uint8_t head[16];    /* zlib: first two bytes, held until the format is known;
			      * brotli: a copy of the first bytes, replayed raw if it fails at once */
	unsigned n_head;
	uint64_t in, out;    /* this body */
	void *br;            /* brotli decoder state */
	void *zst;           /* zstd decoder state */
};
void rp_inflate_begin(struct rp_inflate *z, enum rp_coding c);
void rp_inflate_feed(struct rp_inflate *z, const uint8_t *buf, size_t len, struct rp_out *o);
/* The body ended: whatever is still held passes raw; zlib state is released. */
void rp_inflate_end(struct rp_inflate *z, struct rp_out *o);
/* Release without emitting (gap, free). */
void rp_inflate_discard(struct rp_inflate *z);
/* Decompressed bytes: emitted if within the flow's budget and the body's ratio; false (and the
 * body marked failed, the bomb counted) when over. */
bool rp_inflate_deliver(struct rp_inflate *z, const uint8_t *out, size_t n, struct rp_out *o);
void rp_inflate_give_up(struct rp_inflate *z, uint64_t *counter);

/* ---- brotli.c */
bool rp_brotli_available(void);
void rp_brotli_feed(struct rp_inflate *z, const uint8_t *buf, size_t len, struct rp_out *o);
void rp_brotli_free(struct rp_inflate *z);

/* ---- zstd.c */
bool rp_zstd_available(void);
void rp_zstd_feed(struct rp_inflate *z, const uint8_t *buf, size_t len, struct rp_out *o);
void rp_zstd_free(struct rp_inflate *z);

/* ---- http1.c */
enum h1_state {
	H1_START_LINE = 0,
	H1_HEADERS,
	H1_BODY_LEN,
	H1_BODY_CLOSE,
	H1_CHUNK_SIZE,
	H1_CHUNK_DATA,
	H1_CHUNK_CRLF,
	H1_TRAILERS,
};

struct h1_line {
	char buf[H1_LINE_MAX];
	size_t len;          /* stored, <= H1_LINE_MAX */
	uint64_t total;      /* whole line so far */
	char tail[H1_TAIL];
	size_t n_tail;
};

struct rp_http1 {
	enum h1_state state;
	struct h1_line line;
	bool request, connect, no_body, framing_unknown, chunked, seen_cr;
	bool auth_line;         /* the header line streaming in is Authorization */
	int64_t content_length; /* -1: none */
	enum rp_coding coding;
	uint64_t remaining;     /* body or chunk bytes left */
	struct rp_inflate body;
	struct rp_content content; /* documents in the body */
};

/* ---- http2.c */
struct rp_http2;
int rp_http2_new(struct rp_http2 **out);
void rp_http2_free(struct rp_http2 *h);

/* ---- the decoder (detect.c) */
enum dec_mode {
	MODE_DETECT = 0,
	MODE_RAW,
	MODE_HTTP1,
	MODE_HTTP2,
};

struct rp_decoder {
	enum dec_mode mode;
	uint8_t det[24];        /* first bytes of a message, until its protocol is known */
	size_t n_det;
	bool between_messages;  /* DETECT after an HTTP/1 message (keep-alive) */
	struct rp_http1 h1;
	struct rp_http2 *h2;    /* allocated on the HTTP/2 preface */
	uint64_t inflate_budget;/* decompressed bytes this flow may still produce */
	struct rp_decoder_stats stats;
	char host[256];         /* latest Host / :authority, "" when none seen */
	bool tunnel;            /* a CONNECT request ended: the bytes after it are the tunnel's */
	char tenant[RP_TENANT_MAX];        /* latest organisation id a request named, or "" */
	char tenant_domain[RP_TENANT_MAX]; /* and its domain, or "" */
	struct rp_tenant_reader *tenant_reader; /* while an Authorization header streams past */
};

/* A base64 digit's value, standard or URL-safe alphabet (tokens use one, files the other), or -1. */
static inline int rp_base64_digit(uint8_t b)
{
	if (b >= 'A' && b <= 'Z')
		return b - 'A';
	if (b >= 'a' && b <= 'z')
		return b - 'a' + 26;
	if (b >= '0' && b <= '9')
		return b - '0' + 52;
	if (b == '+' || b == '-')
		return 62;
	if (b == '/' || b == '_')
		return 63;
	return -1;
}

/* ---- tenant.c: the organisation a request is authenticated for (Authorization bearer JWT) */
struct rp_tenant_reader;
int rp_tenant_reader_begin(struct rp_tenant_reader **r); /* allocates or resets *r */
void rp_tenant_reader_feed(struct rp_tenant_reader *r, const char *p, size_t n); /* header value */
void rp_tenant_reader_end(struct rp_tenant_reader *r, struct rp_decoder *d);     /* record it in d */
void rp_tenant_reader_free(struct rp_tenant_reader *r);
/* A whole "Authorization" header value (HTTP/2 hands them over decoded). */
void rp_decoder_read_authorization(struct rp_decoder *d, const char *v, size_t len);
/* An "OpenAI-Organization" header value. */
void rp_decoder_set_organisation(struct rp_decoder *d, const char *v, size_t len);

/* Remember the request's host (HTTP/1 Host, HTTP/2 :authority) for the policy's destinations. */
void rp_decoder_set_host(struct rp_decoder *d, const char *v, size_t len);

/* Each consumes a prefix of buf (at least one byte unless it changed d->mode) and returns its size. */
size_t rp_http1_feed(struct rp_decoder *d, const uint8_t *buf, size_t len, struct rp_out *o);
size_t rp_http2_feed(struct rp_decoder *d, const uint8_t *buf, size_t len, struct rp_out *o);
void rp_http1_reset(struct rp_decoder *d);
void rp_http1_discard(struct rp_decoder *d);
/* Give up framing: from now on bytes pass raw. malformed counts it as a fallback (a tunnel
 * after CONNECT is not one). */
void rp_decoder_fallback(struct rp_decoder *d, bool malformed);

#endif

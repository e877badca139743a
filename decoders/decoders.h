/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rempart flow decoders: turn what an outbound flow carries into the text the detectors should
 * scan. HTTP/1.x (request/status line and headers as they are, bodies without chunk framing,
 * gzip/deflate bodies decompressed), HTTP/2 (frames parsed, HPACK header blocks decoded into
 * "name: value\n" lines, DATA payloads without padding, per-stream gzip/deflate), and in bodies
 * the documents clinicians upload (docx/xlsx/pptx/odt and PDF, raw, multipart or base64 in JSON)
 * read back into their text. Anything else,
 * or anything malformed, passes through raw from that point on: a decoder that fails must never
 * blind the detector, so bytes are only ever dropped when they are framing that was understood.
 *
 * One decoder per flow, outbound direction only. Library code: never logs, negative errno.
 * Memory per flow is bounded (one partial line, one partial HTTP/2 frame of at most
 * RP_DECODER_HEADER_MAX bytes, a bounded number of zlib streams), and so is decompression.
 */
#ifndef REMPART_DECODERS_H
#define REMPART_DECODERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RP_DECODER_HEADER_MAX (64u * 1024u)        /* HTTP/2 frame or header block buffered */
#define RP_DECODER_INFLATE_MAX (64ull << 20)       /* decompressed bytes per flow */
#define RP_DECODER_INFLATE_RATIO 1000u             /* output/input per body, past 1 MiB */
#define RP_DECODER_H2_INFLATE_STREAMS 8u           /* HTTP/2 streams decompressed at once */

struct rp_decoder;

/* Text to scan, in flow order. A negative return is remembered and returned by the feed call
 * (decoding carries on so the decoder's state stays consistent with the flow). */
typedef int (*rp_decoded_fn)(const void *buf, size_t len, void *userdata);

enum rp_decoder_protocol {
	RP_DECODER_UNKNOWN = 0, /* not enough bytes yet */
	RP_DECODER_RAW,         /* not recognised: passed through */
	RP_DECODER_HTTP1,
	RP_DECODER_HTTP2,
};

struct rp_decoder_stats {
	uint64_t bytes_in;          /* fed */
	uint64_t bytes_out;         /* emitted for scanning */
	uint64_t inflated;          /* of bytes_out, produced by decompression */
	uint64_t messages;          /* HTTP/1 messages, HTTP/2 header blocks */
	uint64_t fallbacks;         /* malformed or over-limit framing: raw from there on */
	uint64_t inflate_errors;    /* corrupt compressed bodies: passed raw */
	uint64_t bombs;             /* decompression stopped at a limit: rest passed raw */
	uint64_t gaps;              /* capture gaps seen */
	uint64_t doc_entries;       /* text entries read out of documents (docx, xlsx, odt...) */
	enum rp_decoder_protocol protocol; /* as first detected */
	enum rp_decoder_protocol mode;     /* current: RAW after a fallback or a gap */
};

int rp_decoder_new(struct rp_decoder **out);
/* Feed the flow's next outbound bytes, split anywhere; emit gets the text to scan, in order. */
int rp_decoder_feed(struct rp_decoder *d, const void *buf, size_t len, rp_decoded_fn emit, void *userdata);
/* len bytes of the flow were lost: framing is given up, the rest of the flow passes raw. */
void rp_decoder_gap(struct rp_decoder *d, uint64_t len);
void rp_decoder_get_stats(const struct rp_decoder *d, struct rp_decoder_stats *out);
const char *rp_decoder_protocol_name(enum rp_decoder_protocol p);
/* The host the flow's latest request named (HTTP/1 Host, HTTP/2 :authority), or NULL. */
const char *rp_decoder_host(const struct rp_decoder *d);
/* Whether the flow opened a tunnel through an HTTP proxy (CONNECT host:port, then the far end's
 * own protocol, usually TLS): the host is then the request's target. What follows the request
 * passes raw. */
bool rp_decoder_tunnel(const struct rp_decoder *d);
/* The tunnel's far end without its port or brackets ("chat.example", "2001:db8::1") into buf:
 * 0, -ENOENT (no tunnel, or no name), -EMSGSIZE (does not fit). */
int rp_decoder_tunnel_host(const struct rp_decoder *d, char *buf, size_t size);
/* The organisation the flow's latest authenticated request named, or NULL: the Microsoft Entra
 * tenant id or OpenAI organisation id (tenant), and the domain of the signed-in account or
 * Google Workspace (tenant_domain). Read from "Authorization: Bearer" JWT claims and the
 * "OpenAI-Organization" header; never the account name itself. */
const char *rp_decoder_tenant(const struct rp_decoder *d);
const char *rp_decoder_tenant_domain(const struct rp_decoder *d);
/* Whether this build decodes a Content-Encoding ("gzip", "deflate", "br"...). */
bool rp_decoder_supports(const char *content_coding);
void rp_decoder_free(struct rp_decoder *d); /* NULL-safe */

/*
 * The document layer alone, for a file rather than a flow: Office Open XML and OpenDocument
 * files (zip containers of XML) come out as their text, every other byte as it is. Same bounds
 * as in a flow (RP_DECODER_INFLATE_MAX of decompressed text per document).
 */
struct rp_document;
int rp_document_new(struct rp_document **out);
int rp_document_feed(struct rp_document *d, const void *buf, size_t len, rp_decoded_fn emit, void *userdata);
/* The file ended: what is held comes out. */
int rp_document_end(struct rp_document *d, rp_decoded_fn emit, void *userdata);
void rp_document_get_stats(const struct rp_document *d, struct rp_decoder_stats *out); /* doc_entries... */
void rp_document_free(struct rp_document *d); /* NULL-safe */

/*
 * The server name (SNI) a TLS ClientHello asks for, from the first bytes of the client's first
 * write (one TLS record, possibly cut short). Writes a lowercase, NUL-terminated host name of
 * letters, digits, '-', '.' and '_' into name. Returns 0, -ENOENT when the hello names no server
 * (connections by address), -EMSGSIZE when the name does not fit or the extension was cut off,
 * -EBADMSG when the bytes are not a ClientHello or the name is not a host name.
 */
int rp_tls_hello_server_name(const void *buf, size_t len, char *name, size_t cap);

#ifdef __cplusplus
}
#endif
#endif

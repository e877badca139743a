/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The decoder of one flow: tells the protocol from the first bytes of each message (HTTP/2
 * client preface, an HTTP/1 request or status line, or anything else, which passes raw) and
 * hands bytes to the matching parser. Detection holds at most 24 bytes; once it has decided,
 * those bytes are replayed through the chosen path so nothing is lost.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char preface[24] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#define METHOD_MAX 20 /* longest request method we wait for before calling a flow raw */

int rp_decoder_new(struct rp_decoder **out)
{
	struct rp_decoder *d;

	if (!out)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->h1.content_length = -1;
	d->inflate_budget = RP_DECODER_INFLATE_MAX;
	*out = d;
	return 0;
}

void rp_decoder_free(struct rp_decoder *d)
{
	if (!d)
		return;
	rp_http1_discard(d);
	rp_http2_free(d->h2);
	rp_tenant_reader_free(d->tenant_reader);
	free(d);
}

void rp_decoder_fallback(struct rp_decoder *d, bool malformed)
{
	if (malformed)
		d->stats.fallbacks++;
	rp_http1_discard(d);
	rp_http2_free(d->h2);
	d->h2 = NULL;
	d->mode = MODE_RAW;
	d->stats.mode = RP_DECODER_RAW;
	if (d->stats.protocol == RP_DECODER_UNKNOWN)
		d->stats.protocol = RP_DECODER_RAW;
}

void rp_decoder_gap(struct rp_decoder *d, uint64_t len)
{
	if (!d || len == 0)
		return;
	d->stats.gaps++;
	/* Framing cannot be recovered without the lost bytes; held detection bytes are dropped
	 * too (they were a message start whose continuation is gone). */
	d->n_det = 0;
	rp_decoder_fallback(d, false);
}

void rp_decoder_get_stats(const struct rp_decoder *d, struct rp_decoder_stats *out)
{
	if (!out)
		return;
	if (!d) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = d->stats;
}

const char *rp_decoder_protocol_name(enum rp_decoder_protocol p)
{
	switch (p) {
	case RP_DECODER_RAW:
		return "raw";
	case RP_DECODER_HTTP1:
		return "http/1";
	case RP_DECODER_HTTP2:
		return "http/2";
	default:
		return "unknown";
	}
}

enum verdict { NEED_MORE, IS_H2, IS_H1, IS_RAW };

static enum verdict classify(const uint8_t *b, size_t n)
{
	size_t i;

	if (memcmp(b, preface, n < sizeof(preface) ? n : sizeof(preface)) == 0)
		return n >= sizeof(preface) ? IS_H2 : NEED_MORE;
	if (memcmp(b, "HTTP/1.", n < 7 ? n : 7) == 0)
		return n >= 7 ? IS_H1 : NEED_MORE;
	/* A request method: an upper-case token then a space. */
	for (i = 0; i < n && i <= METHOD_MAX; i++) {
		if (b[i] == ' ')
			return i > 0 ? IS_H1 : IS_RAW;
		if (!((b[i] >= 'A' && b[i] <= 'Z') || b[i] == '-' || b[i] == '_'))
			return IS_RAW;
	}
	return i > METHOD_MAX ? IS_RAW : NEED_MORE;
}

static int dispatch(struct rp_decoder *d, const uint8_t *p, size_t n, struct rp_out *o);

static size_t detect_feed(struct rp_decoder *d, const uint8_t *p, size_t n, struct rp_out *o)
{
	size_t used = 0;
	enum verdict v = NEED_MORE;
	uint8_t held[sizeof(d->det)];
	size_t n_held;

	/* Between keep-alive messages, stray CRLFs are tolerated (RFC 9112 §2.2). */
	while (d->between_messages && d->n_det == 0 && used < n && (p[used] == '\r' || p[used] == '\n'))
		out_emit(o, p + used++, 1);
	while (v == NEED_MORE && used < n) {
		d->det[d->n_det++] = p[used++];
		v = classify(d->det, d->n_det);
	}
	if (v == NEED_MORE)
		return used;

	n_held = d->n_det;
	memcpy(held, d->det, n_held);
	d->n_det = 0;
	switch (v) {
	case IS_H2:
		if (!d->h2 && rp_http2_new(&d->h2) < 0) {
			rp_decoder_fallback(d, true);
			out_emit(o, held, n_held);
			return used;
		}
		d->mode = MODE_HTTP2;
		d->stats.mode = RP_DECODER_HTTP2;
		if (d->stats.protocol == RP_DECODER_UNKNOWN)
			d->stats.protocol = RP_DECODER_HTTP2;
		/* The preface itself is framing: nothing to scan in it. */
		return used;
	case IS_H1:
		rp_http1_reset(d);
		d->mode = MODE_HTTP1;
		d->stats.mode = RP_DECODER_HTTP1;
		if (d->stats.protocol == RP_DECODER_UNKNOWN)
			d->stats.protocol = RP_DECODER_HTTP1;
		break;
	default:
		/* Not HTTP: at the start, another protocol; after HTTP/1 messages, usually an
		 * upgraded connection (websocket). Either way the rest passes raw, unchanged. */
		rp_decoder_fallback(d, false);
		break;
	}
	(void)dispatch(d, held, n_held, o);
	return used;
}

static int dispatch(struct rp_decoder *d, const uint8_t *p, size_t n, struct rp_out *o)
{
	/* Every pass consumes bytes or changes mode, and a mode change to RAW consumes the rest:
	 * the bound below is never reached by a correct parser; it guards against a bug looping.
	 * It is set once, from the bytes given: a bound that shrank with them ended a run of tiny
	 * chunks ("1\r\nx\r\n": four passes per six bytes) early and sent its rest raw. */
	size_t steps = 4 * n + 64;

	for (size_t guard = 0; n > 0 && guard < steps; guard++) {
		size_t used;

		switch (d->mode) {
		case MODE_DETECT:
			used = detect_feed(d, p, n, o);
			break;
		case MODE_HTTP1:
			used = rp_http1_feed(d, p, n, o);
			break;
		case MODE_HTTP2:
			used = rp_http2_feed(d, p, n, o);
			break;
		default:
			out_emit(o, p, n);
			used = n;
			break;
		}
		if (used > n)
			used = n;
		p += used;
		n -= used;
	}
	if (n > 0) {
		rp_decoder_fallback(d, true);
		out_emit(o, p, n);
	}
	return o->err;
}

int rp_decoder_feed(struct rp_decoder *d, const void *buf, size_t len, rp_decoded_fn emit, void *userdata)
{
	struct rp_out o = {
		.fn = emit,
		.userdata = userdata,
		.stats = NULL,
	};

	if (!d || !emit || (!buf && len))
		return -EINVAL;
	o.stats = &d->stats;
	o.inflate_budget = &d->inflate_budget;
	d->stats.bytes_in += len;
	return dispatch(d, buf, len, &o);
}

void rp_decoder_set_host(struct rp_decoder *d, const char *v, size_t len)
{
	size_t n = 0;

	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r'))
		len--;
	/* A host name is short and printable; anything else is not worth keeping. */
	if (len == 0 || len >= sizeof(d->host))
		return;
	for (; n < len; n++) {
		unsigned char c = (unsigned char)v[n];
		if (c <= 0x20 || c >= 0x7f)
			return;
	}
	memcpy(d->host, v, len);
	d->host[len] = '\0';
}

const char *rp_decoder_host(const struct rp_decoder *d)
{
	return d && d->host[0] ? d->host : NULL;
}

bool rp_decoder_tunnel(const struct rp_decoder *d)
{
	return d && d->tunnel;
}

int rp_decoder_tunnel_host(const struct rp_decoder *d, char *buf, size_t size)
{
	const char *t = d && d->tunnel ? d->host : "";
	size_t len = strlen(t);
	const char *colon = strrchr(t, ':');

	if (!buf || size == 0)
		return -EINVAL;
	buf[0] = '\0';
	/* host:port, or [v6]:port: the port goes; a bare v6 address has colons and no port. */
	if (t[0] == '[') {
		const char *close = strchr(t, ']');
		if (!close)
			return -ENOENT;
		t++;
		len = (size_t)(close - t);
	} else if (colon && colon == strchr(t, ':')) {
		len = (size_t)(colon - t);
	}
	if (len == 0)
		return -ENOENT;
	if (len >= size)
		return -EMSGSIZE;
	memcpy(buf, t, len);
	buf[len] = '\0';
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP/1.x messages in one direction of a flow: the start line and headers are emitted as they
 * are (they are text, and URLs and cookies carry data too); bodies are delimited by
 * Content-Length, chunked framing (stripped: a chunk-size line must not split a value) or the end
 * of the flow, and decompressed when their Content-Encoding says gzip or deflate. Lines are
 * emitted as they arrive and only their first bytes are kept for parsing, so a long header costs
 * no memory. Whatever does not parse passes raw from there on.
 */
#include <string.h>
#include <strings.h>

#include "internal.h"

void rp_http1_reset(struct rp_decoder *d)
{
	struct rp_http1 *h = &d->h1;

	rp_inflate_discard(&h->body);
	rp_content_discard(&h->content);
	memset(h, 0, sizeof(*h));
	h->content_length = -1;
}

void rp_http1_discard(struct rp_decoder *d)
{
	rp_inflate_discard(&d->h1.body);
	rp_content_discard(&d->h1.content);
}

/* A body's bytes: its Content-Encoding undone, then its document layer (content.c). */
static void body_feed(struct rp_http1 *h, const uint8_t *p, size_t n, struct rp_out *o)
{
	o->content = &h->content;
	rp_inflate_feed(&h->body, p, n, o);
	o->content = NULL;
}

static void body_end(struct rp_http1 *h, struct rp_out *o)
{
	o->content = &h->content;
	rp_inflate_end(&h->body, o);
	o->content = NULL;
	rp_content_end(&h->content, o);
}

static void line_reset(struct h1_line *l)
{
	l->len = 0;
	l->total = 0;
	l->n_tail = 0;
}

static void line_append(struct h1_line *l, const uint8_t *p, size_t n)
{
	size_t keep = n < H1_LINE_MAX - l->len ? n : H1_LINE_MAX - l->len;

	memcpy(l->buf + l->len, p, keep);
	l->len += keep;
	l->total += n;
	if (n >= H1_TAIL) {
		memcpy(l->tail, p + n - H1_TAIL, H1_TAIL);
		l->n_tail = H1_TAIL;
	} else {
		size_t drop = l->n_tail + n > H1_TAIL ? l->n_tail + n - H1_TAIL : 0;
		memmove(l->tail, l->tail + drop, l->n_tail - drop);
		memcpy(l->tail + l->n_tail - drop, p, n);
		l->n_tail = l->n_tail - drop + n;
	}
}

/* The line without its CRLF, as stored; complete is false when it was longer than kept. */
static size_t line_content(const struct h1_line *l, bool *complete)
{
	size_t n = l->len;

	*complete = l->total == l->len;
	if (*complete) {
		if (n && l->buf[n - 1] == '\n')
			n--;
		if (n && l->buf[n - 1] == '\r')
			n--;
	}
	return n;
}

static bool is_tchar(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void to_raw(struct rp_decoder *d)
{
	rp_decoder_fallback(d, true);
}

static void message_done(struct rp_decoder *d)
{
	d->stats.messages++;
	rp_http1_reset(d);
	d->mode = MODE_DETECT;
	d->between_messages = true;
}

static void start_line(struct rp_decoder *d)
{
	struct rp_http1 *h = &d->h1;
	const struct h1_line *l = &h->line;
	char tail[H1_TAIL + 1];
	size_t n = l->n_tail, i = 0;

	/* The version sits at the very end of a request line: " HTTP/1.x" before the CRLF. */
	memcpy(tail, l->tail, n);
	tail[n] = 0;
	if (n && tail[n - 1] == '\n')
		tail[--n] = 0;
	if (n && tail[n - 1] == '\r')
		tail[--n] = 0;

	if (l->len >= 12 && memcmp(l->buf, "HTTP/1.", 7) == 0 && l->buf[8] == ' ') {
		/* A status line (the flow is a server's): 1xx, 204 and 304 have no body. */
		int code = 0;
		for (i = 9; i < 12; i++) {
			if (l->buf[i] < '0' || l->buf[i] > '9')
				return to_raw(d);
			code = code * 10 + (l->buf[i] - '0');
		}
		h->request = false;
		h->no_body = (code >= 100 && code < 200) || code == 204 || code == 304;
		if (code == 101) /* switching protocols: what follows is not HTTP/1 */
			h->connect = true;
		h->state = H1_HEADERS;
		return;
	}
	while (i < l->len && is_tchar((unsigned char)l->buf[i]))
		i++;
	if (i == 0 || i >= l->len || l->buf[i] != ' ' || n < 9 ||
	    (strcmp(tail + n - 9, " HTTP/1.1") != 0 && strcmp(tail + n - 9, " HTTP/1.0") != 0))
		return to_raw(d);
	h->request = true;
	h->connect = i == 7 && memcmp(l->buf, "CONNECT", 7) == 0;
	if (h->connect) {
		/* The request-target of a CONNECT is the tunnel's far end (host:port): through a proxy,
		 * the only name of the destination outside the tunnel. */
		size_t end = i + 1;
		while (end < l->len && l->buf[end] != ' ')
			end++;
		rp_decoder_set_host(d, l->buf + i + 1, end - i - 1);
	}
	h->state = H1_HEADERS;
}

static bool parse_length(const char *v, size_t len, int64_t *out)
{
	int64_t x = 0;

	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0 || len > 18)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return true;
}

/* Transfer-Encoding we can follow: exactly "chunked" (other transfer codings are not used by
 * clients in practice; the body then has unknown framing and passes raw). */
static bool te_is_chunked(const char *v, size_t len)
{
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	return len == 7 && strncasecmp(v, "chunked", 7) == 0;
}

static void header_line(struct rp_decoder *d)
{
	struct rp_http1 *h = &d->h1;
	bool complete;
	size_t n = line_content(&h->line, &complete), colon;
	const char *b = h->line.buf;
	const char *colon_p = memchr(b, ':', n);

	if (!colon_p)
		return; /* obs-fold continuation or junk: nothing we need */
	colon = (size_t)(colon_p - b);
#define IS(name) (colon == sizeof(name) - 1 && strncasecmp(b, name, colon) == 0)
	if (IS("content-length")) {
		int64_t v;
		if (!complete || !parse_length(b + colon + 1, n - colon - 1, &v) ||
		    (h->content_length >= 0 && h->content_length != v))
			h->framing_unknown = true;
		else
			h->content_length = v;
	} else if (IS("transfer-encoding")) {
		if (complete && te_is_chunked(b + colon + 1, n - colon - 1))
			h->chunked = true;
		else
			h->framing_unknown = true;
	} else if (IS("content-encoding")) {
		h->coding = complete ? rp_coding_parse(b + colon + 1, n - colon - 1) : RP_CODING_UNKNOWN;
	} else if (IS("host") && complete && !h->connect) {
		/* A CONNECT's Host header repeats its target, which is what the proxy reaches. */
		rp_decoder_set_host(d, b + colon + 1, n - colon - 1);
	} else if (IS("openai-organization") && complete) {
		rp_decoder_set_organisation(d, b + colon + 1, n - colon - 1);
	}
#undef IS
}

static void headers_end(struct rp_decoder *d)
{
	struct rp_http1 *h = &d->h1;

	if (h->connect && h->request) {
		/* A client's CONNECT: the proxy's tunnel starts after it, carrying the far end's own
		 * protocol from its first byte. A TLS session is flows.c's to judge; a library we hook
		 * (Firefox's NSPR, through its proxy) writes its session's plaintext here, HTTP/1 or
		 * HTTP/2 to be decoded like any other. */
		d->tunnel = true;
		rp_http1_reset(d);
		d->mode = MODE_DETECT;
		d->between_messages = false;
		return;
	}
	if (h->connect)
		return rp_decoder_fallback(d, false); /* 101: what follows is not HTTP/1 any more */
	if (h->no_body)
		return message_done(d);
	/* Chunked wins over Content-Length (RFC 9112 §6.3). */
	if (h->framing_unknown && !h->chunked)
		return to_raw(d);
	rp_inflate_begin(&h->body, h->coding);
	rp_content_begin(&h->content);
	line_reset(&h->line);
	if (h->chunked) {
		h->state = H1_CHUNK_SIZE;
	} else if (h->content_length > 0) {
		h->remaining = (uint64_t)h->content_length;
		h->state = H1_BODY_LEN;
	} else if (h->content_length == 0 || h->request) {
		message_done(d); /* a request without a length has no body */
	} else {
		h->state = H1_BODY_CLOSE; /* a response delimited by the end of the connection */
	}
}

/* "1a2b[;ext]\r\n": false when malformed. */
static bool chunk_size(const struct h1_line *l, uint64_t *out)
{
	uint64_t x = 0;
	size_t i = 0;
	bool complete;
	size_t n = line_content(l, &complete);

	for (; i < n && hex_value((unsigned char)l->buf[i]) >= 0; i++) {
		if (i >= 15)
			return false;
		x = x * 16 + (uint64_t)hex_value((unsigned char)l->buf[i]);
	}
	if (i == 0)
		return false;
	while (i < n && (l->buf[i] == ' ' || l->buf[i] == '\t'))
		i++;
	if (i < n && l->buf[i] != ';')
		return false;
	*out = x;
	return true;
}

/* Chunk framing is dropped only once understood: a bad size line goes out raw, with the rest. */
static size_t chunk_size_feed(struct rp_decoder *d, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct rp_http1 *h = &d->h1;
	const uint8_t *nl = memchr(p, '\n', n);
	size_t seg = nl ? (size_t)(nl - p) + 1 : n;
	uint64_t size;

	if (h->line.total + seg > H1_LINE_MAX) {
		body_end(h, o); /* body bytes it still held came first */
		out_emit(o, h->line.buf, h->line.len);
		to_raw(d);
		return 0;
	}
	line_append(&h->line, p, seg);
	if (!nl)
		return seg;
	if (!chunk_size(&h->line, &size)) {
		body_end(h, o); /* body bytes it still held came first */
		out_emit(o, h->line.buf, h->line.len);
		to_raw(d);
		return seg;
	}
	line_reset(&h->line);
	if (size == 0) {
		body_end(h, o);
		h->state = H1_TRAILERS;
	} else {
		h->remaining = size;
		h->state = H1_CHUNK_DATA;
	}
	return seg;
}

/*
 * An Authorization header runs to kilobytes (a JWT), past what a line keeps: stream its value to
 * the tenant reader as it arrives. seg is the line's latest segment, already appended.
 */
#define AUTH_PREFIX "authorization:"
#define AUTH_PREFIX_LEN (sizeof(AUTH_PREFIX) - 1)
static void authorization_stream(struct rp_decoder *d, const uint8_t *p, size_t seg, bool line_end)
{
	struct rp_http1 *h = &d->h1;
	uint64_t start = h->line.total - seg; /* line offset of p[0] */

	if (!h->auth_line) {
		if (start >= AUTH_PREFIX_LEN || h->line.len < AUTH_PREFIX_LEN ||
		    strncasecmp(h->line.buf, AUTH_PREFIX, AUTH_PREFIX_LEN) != 0 ||
		    rp_tenant_reader_begin(&d->tenant_reader) < 0)
			return;
		h->auth_line = true;
		p += AUTH_PREFIX_LEN - start;
		seg -= AUTH_PREFIX_LEN - start;
	}
	rp_tenant_reader_feed(d->tenant_reader, (const char *)p, seg);
	if (line_end) {
		rp_tenant_reader_end(d->tenant_reader, d);
		rp_tenant_reader_free(d->tenant_reader);
		d->tenant_reader = NULL;
		h->auth_line = false;
	}
}

size_t rp_http1_feed(struct rp_decoder *d, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct rp_http1 *h = &d->h1;
	size_t take;

	switch (h->state) {
	case H1_START_LINE:
	case H1_HEADERS:
	case H1_TRAILERS: {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) + 1 : n;
		bool complete;

		out_emit(o, p, seg);
		line_append(&h->line, p, seg);
		if (h->state == H1_HEADERS)
			authorization_stream(d, p, seg, nl != NULL);
		if (!nl)
			return seg;
		if (h->state == H1_START_LINE)
			start_line(d);
		else if (line_content(&h->line, &complete) == 0 && complete)
			h->state == H1_HEADERS ? headers_end(d) : message_done(d);
		else if (h->state == H1_HEADERS)
			header_line(d);
		if (d->mode == MODE_HTTP1 && (h->state == H1_HEADERS || h->state == H1_TRAILERS))
			line_reset(&h->line);
		return seg;
	}
	case H1_BODY_LEN:
		take = n < h->remaining ? n : (size_t)h->remaining;
		body_feed(h, p, take, o);
		h->remaining -= take;
		if (h->remaining == 0) {
			body_end(h, o);
			message_done(d);
		}
		return take;
	case H1_BODY_CLOSE:
		body_feed(h, p, n, o);
		return n;
	case H1_CHUNK_SIZE:
		return chunk_size_feed(d, p, n, o);
	case H1_CHUNK_DATA:
		take = n < h->remaining ? n : (size_t)h->remaining;
		body_feed(h, p, take, o);
		h->remaining -= take;
		if (h->remaining == 0) {
			h->state = H1_CHUNK_CRLF;
			h->seen_cr = false;
		}
		return take;
	case H1_CHUNK_CRLF:
		if (p[0] == '\r' && !h->seen_cr) {
			h->seen_cr = true;
			return 1;
		}
		if (p[0] == '\n') {
			h->state = H1_CHUNK_SIZE;
			line_reset(&h->line);
			return 1;
		}
		body_end(h, o);
		if (h->seen_cr)
			out_emit(o, "\r", 1);
		to_raw(d);
		return 0;
	}
	to_raw(d);
	return 0;
}

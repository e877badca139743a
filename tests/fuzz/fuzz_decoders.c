/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: any bytes through a flow decoder, cut at split points taken from the input,
 * sometimes behind an HTTP/2 preface or an HTTP/1 chunked+gzip request head (to reach deep states
 * sooner), with a capture gap in the middle of some runs. Every emitted byte is read (ASan checks
 * the buffers), the byte counts must agree, and a second decode with another split must produce
 * the same text: decoding may not depend on how the writes were cut (except where zlib gave up
 * on a corrupt or oversized body: how much input it had pulled in then depends on the cut).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoders.h"

struct sink {
	uint64_t n;
	uint64_t hash;
	bool zlib_trouble; /* where zlib gives up depends on how its input was cut */
};

static int sink(const void *buf, size_t len, void *u)
{
	struct sink *s = u;
	const uint8_t *p = buf;

	if (len == 0)
		abort();
	for (size_t i = 0; i < len; i++)
		s->hash = (s->hash ^ p[i]) * 0x100000001b3ull;
	s->n += len;
	return 0;
}

static const char h2_head[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
static const char h1_head[] = "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n";

static struct sink run(const uint8_t *data, size_t size, unsigned mode, unsigned salt, size_t gap_at)
{
	struct rp_decoder *d = NULL;
	struct rp_decoder_stats st;
	struct sink s = {0, 0xcbf29ce484222325ull, false};
	size_t pos = 0, step = salt % 61 + 1;

	if (rp_decoder_new(&d) < 0)
		abort();
	if (mode == 1 && rp_decoder_feed(d, h2_head, sizeof(h2_head) - 1, sink, &s) < 0)
		abort();
	if (mode == 2 && rp_decoder_feed(d, h1_head, sizeof(h1_head) - 1, sink, &s) < 0)
		abort();
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step;
		if (pos <= gap_at && gap_at < pos + n)
			rp_decoder_gap(d, 100);
		if (rp_decoder_feed(d, data + pos, n, sink, &s) < 0)
			abort();
		pos += n;
		step = (data[pos % size] ^ salt) % 97 + 1;
	}
	{
		/* A tunnel's far end: a clean, short name or nothing. */
		char host[64];
		int r = rp_decoder_tunnel_host(d, host, sizeof(host));

		if ((r == 0 && (!rp_decoder_tunnel(d) || !host[0] || strlen(host) >= sizeof(host))) ||
		    (r < 0 && host[0]))
			abort();
	}
	rp_decoder_get_stats(d, &st);
	if (st.bytes_out != s.n || st.bytes_in != size + (mode == 1 ? 24 : mode == 2 ? sizeof(h1_head) - 1 : 0) ||
	    st.inflated > RP_DECODER_INFLATE_MAX)
		abort();
	s.zlib_trouble = st.inflate_errors || st.bombs;
	rp_decoder_free(d);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode;
	struct sink a, b;

	if (size < 1)
		return 0;
	{
		/* The same bytes as the first write of a TLS client we cannot read: a server name
		 * comes out whole and clean, or not at all. */
		char name[64];

		if (rp_tls_hello_server_name(data, size, name, sizeof(name)) == 0) {
			size_t k = strlen(name);

			if (k == 0 || k >= sizeof(name) || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-._") != k)
				abort();
		} else if (name[0]) {
			abort();
		}
	}
	mode = data[0] % 4;
	data++, size--;
	a = run(data, size, mode, 0, SIZE_MAX);
	b = run(data, size, mode, 1 + (size ? data[size / 2] : 0), SIZE_MAX);
	if (!a.zlib_trouble && !b.zlib_trouble && (a.n != b.n || a.hash != b.hash))
		abort();
	if (size > 2)
		(void)run(data, size, mode, 7, size / 2);
	return 0;
}

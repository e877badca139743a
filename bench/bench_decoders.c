/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Decoder throughput, one core, on flows generated in-process and fed in 16 KiB pieces (the size
 * of the capture's records): HTTP/1.1 keep-alive with Content-Length bodies, the same chunked,
 * the same gzip-compressed, HTTP/2 (HPACK headers, 16 KiB DATA frames, several streams), HTTP/2
 * with gzip bodies, and raw pass-through (a non-HTTP flow) as the ceiling. MB/s are of flow bytes
 * fed (what the capture delivers); the decoded size is shown beside. Identity paths hand the
 * scanner pointers into the input (no copy), so their figures are the decoder's overhead only;
 * the last column is the realistic one: decoding plus the detectors' streaming scan of the text.
 * Usage: bench_decoders [MiB of plain text per flow]   (default 64; env BENCH_MIB also works)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <nghttp2/nghttp2.h>

#include "decoders.h"
#include "detectors.h"

#define FEED (16u << 10)
#define BODY (64u << 10)   /* plain text per request */

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void add(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p) {
			fprintf(stderr, "bench_decoders: out of memory\n");
			exit(1);
		}
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* A JSON chat body of French clinical prose: compresses about as well as real prompts (~4:1). */
static void make_body(uint8_t *out, size_t n)
{
	static const char *words[] = {"patient", "examen", "clinique", "sans", "particularité", "compte",
				      "rendu", "hospitalisation", "traitement", "antécédents", "douleur", "thoracique",
				      "le", "la", "de", "du", "et", "une", "suivi", "cardiologie", "IRM", "bilan",
				      "biologique", "normal", "contrôle", "à", "J3", "sortie", "ordonnance"};
	size_t i = 0;
	const char *head = "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"";

	memcpy(out, head, strlen(head));
	i = strlen(head);
	while (i + 32 < n) {
		const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
		size_t l = strlen(w);
		memcpy(out + i, w, l);
		i += l;
		out[i++] = rnd() % 11 ? ' ' : '.';
		if (rnd() % 97 == 0)
			i += (size_t)sprintf((char *)out + i, "%u ", rnd() % 100000);
	}
	memcpy(out + i, "\"}]}", 4);
	i += 4;
	memset(out + i, ' ', n - i);
}

static size_t gz(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream zs = {0};
	size_t r;

	deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	deflate(&zs, Z_FINISH);
	r = cap - zs.avail_out;
	deflateEnd(&zs);
	return r;
}

static void frame(struct buf *b, uint8_t type, uint8_t flags, uint32_t stream, const void *p, size_t n)
{
	uint8_t h[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			(uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8), (uint8_t)stream};
	add(b, h, 9);
	add(b, p, n);
}

enum kind { K_RAW, K_H1, K_H1_CHUNKED, K_H1_GZIP, K_H2, K_H2_GZIP, K_H1_DOCX, K_H1_PDF, K__MAX };
static const char *names[] = {"raw pass-through (not HTTP)", "HTTP/1.1 Content-Length", "HTTP/1.1 chunked (4 KiB chunks)",
			      "HTTP/1.1 gzip bodies", "HTTP/2 (HPACK, 16 KiB DATA)", "HTTP/2 gzip bodies",
			      "HTTP/1.1 .docx uploads (multipart)", "HTTP/1.1 .pdf uploads (Identity-H)"};

static void le(struct buf *b, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++) {
		uint8_t c = (uint8_t)(v >> (8 * i));
		add(b, &c, 1);
	}
}

/* The body's text as a Word document (word/document.xml: a paragraph per 200 bytes, deflated)
 * in a multipart/form-data part, as a browser uploads it. */
static size_t docx_upload(const uint8_t *text, size_t n, struct buf *out)
{
	struct buf xml = {0};
	uint8_t *z = malloc(n * 2 + 65536);
	z_stream zs = {0};
	size_t zn;
	const char *part = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cr.docx\"\r\n"
			   "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n\r\n";

	add(&xml, "<?xml version=\"1.0\"?><w:document><w:body>", 41);
	for (size_t o = 0; o < n; o += 200) {
		add(&xml, "<w:p><w:r><w:t>", 15);
		add(&xml, text + o, n - o < 200 ? n - o : 200);
		add(&xml, "</w:t></w:r></w:p>", 18);
	}
	add(&xml, "</w:body></w:document>", 22);
	deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = xml.p;
	zs.avail_in = (uInt)xml.n;
	zs.next_out = z;
	zs.avail_out = (uInt)(n * 2 + 65536);
	deflate(&zs, Z_FINISH);
	zn = zs.total_out;
	deflateEnd(&zs);
	out->n = 0;
	add(out, part, strlen(part));
	add(out, "PK\3\4", 4);
	le(out, 20, 2);
	le(out, 0, 2);
	le(out, 8, 2);
	le(out, 0, 4);
	le(out, (uint32_t)crc32(0, xml.p, (uInt)xml.n), 4);
	le(out, (uint32_t)zn, 4);
	le(out, (uint32_t)xml.n, 4);
	le(out, 17, 2);
	le(out, 0, 2);
	add(out, "word/document.xml", 17);
	add(out, z, zn);
	add(out, "PK\1\2", 4); /* the central directory, briefly */
	add(out, "\r\n--XyZ--\r\n", 11);
	free(xml.p);
	free(z);
	return out->n;
}

static void adds(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

/* Deflate p into a fresh buffer (zlib format, as PDF streams are). */
static struct buf zlib_of(const void *p, size_t n)
{
	struct buf z = {0};
	uLongf zn = compressBound((uLong)n);

	z.p = malloc(zn);
	if (!z.p || compress2(z.p, &zn, p, (uLong)n, 6) != Z_OK) {
		fprintf(stderr, "bench_decoders: compress failed\n");
		exit(1);
	}
	z.n = zn;
	return z;
}

static void pdf_stream(struct buf *pdf, unsigned obj, const struct buf *plain)
{
	struct buf z = zlib_of(plain->p, plain->n);
	char head[96];

	snprintf(head, sizeof(head), "%u 0 obj\n<< /Length %zu /Filter /FlateDecode >>\nstream\n", obj, z.n);
	add(pdf, head, strlen(head));
	add(pdf, z.p, z.n);
	add(pdf, "\nendstream\nendobj\n", 18);
	free(z.p);
}

/* The body's text as Chrome's "Save as PDF" writes it: glyph numbers of an Identity-H font in hex
 * strings, a line of 80 per Td, the font and its ToUnicode CMap after the page; in a
 * multipart/form-data part. */
static size_t pdf_upload(const uint8_t *text, size_t n, struct buf *out)
{
	struct buf content = {0}, cmap = {0}, pdf = {0};
	char h[64];
	const char *part = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cr.pdf\"\r\n"
			   "Content-Type: application/pdf\r\n\r\n";
	const char *cmap_head = "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n1 begincodespacerange\n"
				"<0000> <FFFF>\nendcodespacerange\n256 beginbfchar\n";

	adds(&content, "BT\n/F4 11 Tf\n72 760 Td\n");
	for (size_t o = 0; o < n; o += 80) {
		add(&content, "<", 1);
		for (size_t i = o; i < n && i < o + 80; i++) {
			snprintf(h, sizeof(h), "%04X", 0x200 + (text[i] * 7) % 0x1f0);
			add(&content, h, 4);
		}
		adds(&content, "> Tj\n0 -14 Td\n");
	}
	adds(&content, "ET\n");
	add(&cmap, cmap_head, strlen(cmap_head));
	for (unsigned b = 1; b < 256; b++) {
		snprintf(h, sizeof(h), "<%04X> <%04X>\n", 0x200 + (b * 7) % 0x1f0, b);
		add(&cmap, h, strlen(h));
	}
	adds(&cmap, "endbfchar\nendcmap\nend\nend\n");
	adds(&pdf, "%PDF-1.4\n3 0 obj\n<< /Type /Page /Resources << /Font << /F4 7 0 R >> >> /Contents 4 0 R >>\nendobj\n");
	pdf_stream(&pdf, 4, &content);
	adds(&pdf, "7 0 obj\n<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /ToUnicode 9 0 R >>\nendobj\n");
	pdf_stream(&pdf, 9, &cmap);
	adds(&pdf, "trailer\n<< /Root 1 0 R >>\n%%EOF\n");
	out->n = 0;
	add(out, part, strlen(part));
	add(out, pdf.p, pdf.n);
	add(out, "\r\n--XyZ--\r\n", 11);
	free(content.p);
	free(cmap.p);
	free(pdf.p);
	return out->n;
}

static struct buf make_flow(enum kind k, size_t mib)
{
	struct buf f = {0};
	size_t requests = (mib << 20) / BODY;
	uint8_t *body = malloc(BODY), *z = malloc(BODY * 2);
	nghttp2_hd_deflater *def = NULL;
	char head[512];

	if (!body || !z || nghttp2_hd_deflate_new(&def, 4096) != 0) {
		fprintf(stderr, "bench_decoders: out of memory\n");
		exit(1);
	}
	if (k == K_RAW) {
		add(&f, "\x16\x03\x01", 3);
		for (size_t r = 0; r < requests; r++) {
			make_body(body, BODY);
			add(&f, body, BODY);
		}
	}
	if (k == K_H2 || k == K_H2_GZIP)
		add(&f, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	for (size_t r = 0; r < requests && k != K_RAW; r++) {
		size_t zn = 0;
		make_body(body, BODY);
		if (k == K_H1_DOCX || k == K_H1_PDF) {
			struct buf up = {0};
			if (k == K_H1_DOCX)
				docx_upload(body, BODY, &up);
			else
				pdf_upload(body, BODY, &up);
			snprintf(head, sizeof(head),
				 "POST /backend-api/files HTTP/1.1\r\nHost: chatgpt.example\r\n"
				 "Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: %zu\r\n\r\n", up.n);
			add(&f, head, strlen(head));
			add(&f, up.p, up.n);
			free(up.p);
			continue;
		}
		if (k == K_H1_GZIP || k == K_H2_GZIP)
			zn = gz(body, BODY, z, BODY * 2);
		if (k == K_H1 || k == K_H1_GZIP || k == K_H1_CHUNKED) {
			snprintf(head, sizeof(head),
				 "POST /v1/chat/completions HTTP/1.1\r\nHost: api.example.org\r\nUser-Agent: bench\r\n"
				 "Content-Type: application/json\r\nAuthorization: Bearer abcdefghijklmnop\r\n%s%s\r\n\r\n",
				 k == K_H1_GZIP ? "Content-Encoding: gzip\r\n" : "",
				 k == K_H1_CHUNKED ? "Transfer-Encoding: chunked" : "Content-Length: ");
			add(&f, head, strlen(head) - (k == K_H1_CHUNKED ? 0 : 4));
			if (k != K_H1_CHUNKED) {
				snprintf(head, sizeof(head), "%zu\r\n\r\n", k == K_H1_GZIP ? zn : (size_t)BODY);
				add(&f, head, strlen(head));
				add(&f, k == K_H1_GZIP ? z : body, k == K_H1_GZIP ? zn : BODY);
			} else {
				for (size_t o = 0; o < BODY; o += 4096) {
					add(&f, "1000\r\n", 6);
					add(&f, body + o, 4096);
					add(&f, "\r\n", 2);
				}
				add(&f, "0\r\n\r\n", 5);
			}
			continue;
		}
		/* HTTP/2: streams 1, 3, 5... one request each. */
		uint32_t sid = (uint32_t)(2 * r + 1);
		nghttp2_nv nv[] = {
			{(uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0},
			{(uint8_t *)":path", (uint8_t *)"/v1/chat/completions", 5, 20, 0},
			{(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0},
			{(uint8_t *)":authority", (uint8_t *)"api.example.org", 10, 15, 0},
			{(uint8_t *)"content-type", (uint8_t *)"application/json", 12, 16, 0},
			{(uint8_t *)"content-encoding", (uint8_t *)"gzip", 16, 4, 0},
		};
		uint8_t hb[1024];
		ssize_t hn = nghttp2_hd_deflate_hd(def, hb, sizeof(hb), nv, k == K_H2_GZIP ? 6 : 5);
		const uint8_t *p = k == K_H2_GZIP ? z : body;
		size_t n = k == K_H2_GZIP ? zn : BODY;
		frame(&f, 0x1, 0x4, sid, hb, (size_t)hn);
		for (size_t o = 0; o < n; o += 16384) {
			size_t l = n - o < 16384 ? n - o : 16384;
			frame(&f, 0x0, o + l == n ? 0x1 : 0, sid, p + o, l);
		}
		frame(&f, 0x8, 0, 0, "\0\0\x40\0", 4);
	}
	nghttp2_hd_deflate_del(def);
	free(body);
	free(z);
	return f;
}

static int sink(const void *buf, size_t len, void *u)
{
	*(uint64_t *)u += len + ((const uint8_t *)buf)[len - 1];
	return 0;
}

struct scan {
	struct rp_stream *st;
	struct rp_scratch *sc;
	uint64_t findings;
};

static int count(const struct rp_finding *f, void *u)
{
	((struct scan *)u)->findings++;
	return 0;
}

static int scan_sink(const void *buf, size_t len, void *u)
{
	struct scan *s = u;
	return rp_stream_feed(s->st, s->sc, buf, len, count, s);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : getenv("BENCH_MIB") ? strtoul(getenv("BENCH_MIB"), NULL, 10) : 64;

	struct rp_engine_config cfg;
	struct rp_engine *e = NULL;
	struct scan sc = {0};

	if (mib == 0)
		mib = 64;
	rp_engine_config_default(&cfg);
	if (rp_engine_new(&cfg, &e, NULL, 0) < 0 || rp_scratch_new(e, &sc.sc) < 0)
		return 1;
	printf("%-36s %8s %8s %12s %10s %14s\n", "flow (1 core, 16 KiB feeds)", "in MiB", "out MiB", "decode in MB/s",
	       "out MB/s", "+scan in MB/s");
	for (int k = 0; k < K__MAX; k++) {
		struct buf f = make_flow((enum kind)k, mib);
		struct rp_decoder *d = NULL;
		struct rp_decoder_stats st;
		uint64_t sum = 0;
		double t;

		if (rp_decoder_new(&d) < 0)
			return 1;
		t = now();
		for (size_t o = 0; o < f.n; o += FEED)
			if (rp_decoder_feed(d, f.p + o, f.n - o < FEED ? f.n - o : FEED, sink, &sum) < 0)
				return 1;
		t = now() - t;
		rp_decoder_get_stats(d, &st);
		rp_decoder_free(d);

		/* Again, the decoded text going into a detection stream as in rempartd. */
		double t2;
		if (rp_decoder_new(&d) < 0 || rp_stream_open(e, &sc.st) < 0)
			return 1;
		t2 = now();
		for (size_t o = 0; o < f.n; o += FEED)
			if (rp_decoder_feed(d, f.p + o, f.n - o < FEED ? f.n - o : FEED, scan_sink, &sc) < 0)
				return 1;
		rp_stream_close(sc.st, sc.sc, count, &sc);
		t2 = now() - t2;
		printf("%-36s %8.1f %8.1f %12.0f %10.0f %14.0f   (%s, fallbacks %llu, inflated %.1f MiB)\n", names[k],
		       f.n / 1048576.0, st.bytes_out / 1048576.0, f.n / t / 1e6, st.bytes_out / t / 1e6, f.n / t2 / 1e6,
		       rp_decoder_protocol_name(st.protocol), (unsigned long long)st.fallbacks, st.inflated / 1048576.0);
		if (st.fallbacks || st.bytes_in != f.n) {
			fprintf(stderr, "bench_decoders: %s did not decode cleanly\n", names[k]);
			return 1;
		}
		rp_decoder_free(d);
		free(f.p);
	}
	rp_scratch_free(sc.sc);
	rp_engine_free(e);
	return 0;
}

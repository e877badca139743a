/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PDF bodies: which streams to inflate (FlateDecode, or ASCII85 then Flate, with a dictionary
 * that is no font program, image or cross-reference), decided on a window of the bytes before
 * the "stream" keyword that is the same whatever the split of the input; ASCII85 streams read up
 * to their "~>".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "content_internal.h"

static void a85_inflate(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
{
	if (c->e->z_done || n == 0)
		return;
	c->state = C_INFLATE;
	(void)zip_entry_inflate(c, p, n, o);
	if (c->state != C_INFLATE)
		c->e->z_done = true; /* ended, given up or over a limit: the rest is read and dropped */
	c->state = C_A85;
}

/* C_A85: returns the raw bytes consumed; at "~" the stream is over and PASS takes the rest. */
size_t pdf_a85_feed(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct zip_entry *e = c->e;
	uint8_t out[1024];
	size_t k = 0, i;

	for (i = 0; i < n; i++) {
		uint8_t b = p[i];

		if (b == '~') {
			/* a final partial group of m characters gives m-1 bytes */
			if (e->n_a85 > 1) {
				unsigned m = e->n_a85;
				for (unsigned j = m; j < 5; j++)
					e->a85 = e->a85 * 85 + 84;
				for (unsigned j = 0; j + 1 < m; j++)
					out[k++] = (uint8_t)(e->a85 >> (24 - 8 * j));
			}
			a85_inflate(c, out, k, o);
			if (!e->z_done)
				zip_entry_done(c, o);
			c->state = C_PASS;
			return i + 1;
		}
		if (b == 'z' && e->n_a85 == 0) {
			memset(out + k, 0, 4);
			k += 4;
		} else if (b >= '!' && b <= 'u') {
			e->a85 = e->a85 * 85 + (uint32_t)(b - '!');
			if (++e->n_a85 == 5) {
				for (unsigned j = 0; j < 4; j++)
					out[k++] = (uint8_t)(e->a85 >> (24 - 8 * j));
				e->a85 = 0;
				e->n_a85 = 0;
			}
		} /* white space and anything else: ignored, as the filter says */
		if (k + 4 > sizeof(out)) {
			a85_inflate(c, out, k, o);
			k = 0;
		}
	}
	a85_inflate(c, out, k, o);
	return n;
}


/* ---- PDF: FlateDecode streams of a PDF body are inflated and their text operators read */


static bool win_has(const uint8_t *w, size_t n, const char *s)
{
	return memmem(w, n, s, strlen(s)) != NULL;
}

/*
 * Whether the dictionary just before a "stream" keyword (the end of w) announces a stream worth
 * inflating: FlateDecode, no predictor, and not a font program, an image or a cross-reference
 * stream. Streams that still turn out binary stop being read (part_pdf_text_prefix()).
 */
static bool pdf_dict_ok(const uint8_t *w, size_t n, bool *a85)
{
	const uint8_t *obj = NULL;

	for (size_t i = n; i >= 3 && !obj; i--)
		if (memcmp(w + i - 3, "obj", 3) == 0)
			obj = w + i;
	if (obj) {
		n -= (size_t)(obj - w);
		w = obj;
	}
	/* FlateDecode alone, or behind ASCII85Decode (ReportLab's default) */
	*a85 = win_has(w, n, "/ASCII85Decode") || win_has(w, n, "/A85");
	return win_has(w, n, "/FlateDecode") && !win_has(w, n, "/DecodeParms") && !win_has(w, n, "/Length1") &&
	       !win_has(w, n, "/Image") && !win_has(w, n, "/FontFile") && !win_has(w, n, "XRef") &&
	       !win_has(w, n, "/Type1C") && !win_has(w, n, "/CIDFontType0C") && !win_has(w, n, "/OpenType");
}

/* The keyword "stream" at w[at] (w holds what came before it up to at) opens a stream worth
 * inflating: not "endstream", and its dictionary says so. */
static bool pdf_keyword_ok(const uint8_t *w, size_t at, bool *a85)
{
	size_t k = at > PDF_DICT_CTX ? PDF_DICT_CTX : at;

	if (at >= 3 && memcmp(w + at - 3, "end", 3) == 0)
		return false;
	return pdf_dict_ok(w + at - k, k, a85);
}

/* The end of line after a keyword ending at b[k]: its length (1 or 2), 0 for none, -1 when b
 * ends before it is known. */
int pdf_eol(const uint8_t *b, size_t n, size_t k)
{
	if (k >= n)
		return -1;
	if (b[k] == '\n')
		return 1;
	if (b[k] != '\r')
		return 0;
	if (k + 1 >= n)
		return -1;
	return b[k + 1] == '\n' ? 2 : 0;
}

void pdf_win_push(struct rp_content *c, const uint8_t *p, size_t n)
{
	if (c->win)
		content_keep_last(c->win, PDF_WIN, &c->n_win, p, n);
}

bool pdf_stream_start(struct rp_content *c, bool a85, struct rp_out *o)
{
	struct zip_entry *e;

	if (!c->e && !(c->e = calloc(1, sizeof(*c->e))))
		return false;
	e = c->e;
	zip_entry_release(e);
	memset(&e->zs, 0, sizeof(e->zs));
	if (inflateInit2(&e->zs, 15) != Z_OK)
		return false;
	e->zinit = true;
	e->text = e->pdf = true;
	e->drain = false;
	e->xml = false;
	e->in = e->out = 0;
	e->n_obuf = 0;
	memset(&e->pt, 0, sizeof(e->pt));
	e->z_done = false;
	e->a85 = 0;
	e->n_a85 = 0;
	e->fonts = c->fonts;
	pdf_fonts_stream_begin(c->fonts);
	o->stats->doc_entries++;
	c->state = a85 ? C_A85 : C_INFLATE;
	return true;
}


/* The dictionary before a "stream" keyword whose 's' is at b[ks] (b holds what follows the
 * window; ks < 0: the keyword began in the window): the same bytes whatever the split. */
bool pdf_stream_dict_ok(const struct rp_content *c, const uint8_t *b, ptrdiff_t ks, bool *a85)
{
	uint8_t w[PDF_WIN + 8];
	size_t nw = 0, from_b = ks > 0 ? (size_t)ks : 0;

	if (ks < 0 && (size_t)(-ks) > c->n_win)
		return false; /* the keyword began before the PDF header: no stream of this PDF */
	if (from_b > PDF_DICT_CTX)
		from_b = PDF_DICT_CTX;
	if (from_b < PDF_DICT_CTX) {
		/* the window's bytes before the keyword (all of it, or up to where the keyword began) */
		size_t avail = ks >= 0 ? c->n_win : c->n_win - (size_t)(-ks);
		size_t take = PDF_DICT_CTX - from_b < avail ? PDF_DICT_CTX - from_b : avail;
		memcpy(w, c->win + avail - take, take);
		nw = take;
	}
	if (from_b) {
		memcpy(w + nw, b + ks - (ptrdiff_t)from_b, from_b);
		nw += from_b;
	}
	return pdf_keyword_ok(w, nw, a85);
}

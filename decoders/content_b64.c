/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Base64 files inside JSON bodies, as genAI APIs take them inline: a run after ";base64," (a
 * data: URL) or a "data" member is held until it is 64 characters long (shorter, it is no file
 * and passes as it is), then decoded; the decoded file goes through its own document layer when
 * it is text or a document, and is dropped when it is binary (an image).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "content_internal.h"

/* ---- base64 in bodies: files that genAI APIs take inline ("data":"<base64>", data: URLs) */


/* The first decoded bytes are in: a document or text goes to the file's own layer, anything
 * else (an image) is binary. */
static void b64_decide(struct b64_run *r, struct rp_out *o)
{
	bool doc = (r->n_sniff >= 5 && memcmp(r->sniff, "%PDF-", 5) == 0) ||
		   (r->n_sniff >= 4 && memcmp(r->sniff, "PK\3\4", 4) == 0);
	unsigned ctl = 0;

	r->decided = true;
	for (size_t i = 0; i < r->n_sniff; i++)
		ctl += r->sniff[i] < 0x09 || (r->sniff[i] > 0x0d && r->sniff[i] < 0x20);
	r->binary = !doc && ctl > 2;
	if (r->binary)
		return;
	if (!r->inner && !(r->inner = calloc(1, sizeof(*r->inner)))) {
		r->binary = true;
		return;
	}
	r->inner->no_b64 = true;
	out_text(o, "\n", 1);
	rp_content_feed(r->inner, r->sniff, r->n_sniff, o);
}

/* Decoded bytes: once the first ones say what the file is, to its own document layer (a PDF, a
 * docx, text); a binary file (an image) is dropped, its base64 having said nothing either. */
static void b64_decoded(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct b64_run *r = c->b64;

	if (!r->decided) {
		size_t k = sizeof(r->sniff) - r->n_sniff < n ? sizeof(r->sniff) - r->n_sniff : n;
		memcpy(r->sniff + r->n_sniff, p, k);
		r->n_sniff = (uint8_t)(r->n_sniff + k);
		p += k;
		n -= k;
		if (r->n_sniff < sizeof(r->sniff))
			return;
		b64_decide(r, o);
	}
	if (!r->binary && n)
		rp_content_feed(r->inner, p, n, o);
}

void b64_end(struct rp_content *c, struct rp_out *o)
{
	struct b64_run *r = c->b64;
	uint8_t last[2];
	size_t k = 0;

	if (r->nq == 2) {
		last[k++] = (uint8_t)(r->quad >> 4);
	} else if (r->nq == 3) {
		last[k++] = (uint8_t)(r->quad >> 10);
		last[k++] = (uint8_t)(r->quad >> 2);
	}
	b64_decoded(c, last, k, o);
	if (!r->decided)
		b64_decide(r, o); /* a short file: judged on what there is */
	if (r->inner) {
		rp_content_end(r->inner, o);
		free(r->inner);
		r->inner = NULL;
		out_text(o, "\n", 1);
	}
	free(c->b64);
	c->b64 = NULL;
}

static void b64_quad_char(struct rp_content *c, int v, uint8_t *out, size_t *k)
{
	struct b64_run *r = c->b64;

	r->quad = r->quad << 6 | (uint32_t)v;
	if (++r->nq == 4) {
		out[(*k)++] = (uint8_t)(r->quad >> 16);
		out[(*k)++] = (uint8_t)(r->quad >> 8);
		out[(*k)++] = (uint8_t)r->quad;
		r->quad = 0;
		r->nq = 0;
	}
}

/* C_B64: returns the bytes consumed; the byte that ends the run is left to PASS. */
size_t b64_feed(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct b64_run *r = c->b64;
	uint8_t out[3072];
	size_t k = 0, i;

	for (i = 0; i < n; i++) {
		uint8_t b = p[i];
		int v = rp_base64_digit(b);

		if (r->esc) {
			r->esc = false;
			v = b == '/' ? 63 : -1; /* JSON may write '/' as "\/" */
		} else if (b == '\\' && r->committed) {
			r->esc = true;
			continue;
		} else if (b == '=' && r->committed) {
			continue; /* padding */
		}
		if (v < 0) {
			if (!r->committed) {
				/* no file: the characters as they were; an empty run takes its end with it,
				 * or its marker would be found again right there */
				bool empty = r->n_hold == 0 && i == 0;
				out_text(o, r->hold, r->n_hold);
				free(c->b64);
				c->b64 = NULL;
				if (empty) {
					out_text(o, p, 1);
					c->state = C_PASS;
					return 1;
				}
			} else {
				b64_decoded(c, out, k, o);
				b64_end(c, o);
			}
			c->state = C_PASS;
			return i;
		}
		if (!r->committed) {
			r->hold[r->n_hold++] = b;
			if (r->n_hold == B64_COMMIT) {
				r->committed = true;
				for (size_t h = 0; h < r->n_hold; h++)
					b64_quad_char(c, rp_base64_digit(r->hold[h]), out, &k);
			}
			continue;
		}
		b64_quad_char(c, v, out, &k);
		if (k + 3 > sizeof(out)) {
			b64_decoded(c, out, k, o);
			k = 0;
		}
	}
	if (r->committed)
		b64_decoded(c, out, k, o);
	return n;
}


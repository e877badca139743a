/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Documents inside a request body: what a clinician uploads is a .docx, .xlsx, .pptx or .odt
 * (zip containers of XML) far more often than plain text, and in those the words are deflated
 * and cut into XML runs ("<w:t>2 95 10</w:t></w:r><w:r><w:t> 99 126 111 93</w:t>"). Scanning
 * the raw bytes finds nothing; this layer turns them back into text.
 *
 * It sits on a body's bytes after its Content-Encoding was undone, in whatever framing carries
 * the file (raw upload, multipart/form-data part). Bytes pass through unchanged until a zip local
 * file header ("PK\3\4") shows up; from there each entry is read as it streams in: text entries
 * (.xml, .txt, .csv, .json, .htm(l), .md) are inflated, XML is reduced to its character data
 * (markup and attributes dropped, entities decoded, a line break where a paragraph, cell or row
 * ends, nothing where a run of the same paragraph ends). Every other byte passes as it is, as
 * with every decoder here: other entries (images, fonts), what a corrupt or over-limit entry has
 * left, the central directory, a multipart trailer; so a fake zip header cannot hide what follows
 * it. Bounded like every other decompression: the flow's budget and a ratio limit per entry.
 * State is a few bytes until the first header.
 *
 * PDF bodies too ("%PDF-"): their FlateDecode streams are inflated, and content streams give the
 * strings their text operators show ("(Patient : 2 95 10) Tj [(99 1) -20 (26)] TJ"), joined as
 * the page lays them out. Fonts with their own codes (Identity-H CID fonts, TrueType subsets)
 * are read through their ToUnicode CMaps (pdf_fonts.c), which the body outside streams and the
 * CMap streams give.
 *
 * Here: the body state machine, zip framing, and the one pass over passing bytes that finds
 * what announces a document. doc_text.c, content_pdf.c, pdf_fonts.c and content_b64.c do the
 * rest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "content_internal.h"

/* Keep the last cap bytes of a byte sequence in buf (*len of them so far), appending p. */
void content_keep_last(uint8_t *buf, size_t cap, size_t *len, const uint8_t *p, size_t n)
{
	if (n >= cap) {
		memcpy(buf, p + n - cap, cap);
		*len = cap;
		return;
	}
	if (*len + n > cap) {
		size_t drop = *len + n - cap;
		memmove(buf, buf + drop, *len - drop);
		*len -= drop;
	}
	memcpy(buf + *len, p, n);
	*len += n;
}

/* The last bytes consumed, whatever became of them: what came before the next piece. */
static void tail_push(struct rp_content *c, const uint8_t *p, size_t n)
{
	size_t len = c->n_tail;

	content_keep_last(c->tail, sizeof(c->tail), &len, p, n);
	c->n_tail = (uint8_t)len;
}

/* ---- zip framing */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool name_is_text(const char *name, size_t n, bool *xml)
{
	static const char *const xml_ext[] = {".xml", ".htm", ".html", ".xhtml"};
	static const char *const text_ext[] = {".txt", ".csv", ".json", ".md", ".hl7", ".tsv"};

	*xml = false;
	for (size_t i = 0; i < sizeof(xml_ext) / sizeof(xml_ext[0]); i++) {
		size_t k = strlen(xml_ext[i]);
		if (n >= k && strncasecmp(name + n - k, xml_ext[i], k) == 0)
			return *xml = true;
	}
	for (size_t i = 0; i < sizeof(text_ext) / sizeof(text_ext[0]); i++) {
		size_t k = strlen(text_ext[i]);
		if (n >= k && strncasecmp(name + n - k, text_ext[i], k) == 0)
			return true;
	}
	return false;
}

void zip_entry_release(struct zip_entry *e)
{
	if (e && e->zinit) {
		(void)inflateEnd(&e->zs);
		e->zinit = false;
	}
}

/* The entry's text is complete (or given up): flush it, and a line break after it. */
void zip_entry_done(struct rp_content *c, struct rp_out *o)
{
	struct zip_entry *e = c->e;

	if (e->text) {
		if (e->x.in_ent) {
			part_text_put(e, "&", 1, o);
			part_text_put(e, e->x.ent, e->x.n_ent, o);
		}
		part_text_put(e, "\n", 1, o);
		part_text_flush(e, o);
	}
	zip_entry_release(e);
}

/* The fixed header is in: read it. False when it is no header we can follow. */
static bool header_parsed(struct rp_content *c)
{
	struct zip_entry *e = c->e;

	e->flags = le16(e->hdr + 2);
	e->method = le16(e->hdr + 4);
	e->csize = le32(e->hdr + 14);
	e->name_len = le16(e->hdr + 22);
	e->extra_len = le16(e->hdr + 24);
	e->n_name = 0;
	c->left = e->name_len;
	e->in = e->out = 0;
	e->n_obuf = 0;
	memset(&e->x, 0, sizeof(e->x));
	e->x.last_sep = true;
	return e->name_len > 0 && (e->flags & 1) == 0; /* encrypted entries are opaque */
}

static void entry_start(struct rp_content *c, struct rp_out *o)
{
	struct zip_entry *e = c->e;
	bool sized = (e->flags & 8) == 0 || e->csize != 0;

	e->name[e->n_name] = '\0';
	e->pdf = false;
	e->drain = false;
	e->text = name_is_text(e->name, e->n_name, &e->xml) && e->n_name == e->name_len;
	c->entries++;
	if (e->text && e->method == 8) {
		memset(&e->zs, 0, sizeof(e->zs));
		if (inflateInit2(&e->zs, -15) == Z_OK) {
			e->zinit = true;
			o->stats->doc_entries++;
			c->state = C_INFLATE;
			return;
		}
		e->text = false;
	} else if (e->text && e->method == 0 && sized) {
		o->stats->doc_entries++;
		c->left = e->csize;
		c->state = C_STORED;
		return;
	}
	/* Not text (an image, a font), or nothing we can decode: its bytes pass as they are, like
	 * any byte no decoder understood; a fake header cannot blind the scanner to what follows. */
	e->text = false;
	if (sized) {
		c->left = e->csize;
		c->state = C_SKIP;
	} else {
		c->state = C_PASS;
	}
}

/* Inflate a text entry; returns bytes of p consumed (all of them unless the entry ended). */
size_t zip_entry_inflate(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct zip_entry *e = c->e;
	uint8_t out[INFLATE_OUT];

	e->zs.next_in = (Bytef *)p;
	e->zs.avail_in = (uInt)n;
	while (e->zs.avail_in > 0) {
		uInt before = e->zs.avail_in;
		size_t produced;
		int r;

		e->zs.next_out = out;
		e->zs.avail_out = sizeof(out);
		r = inflate(&e->zs, Z_NO_FLUSH);
		produced = sizeof(out) - e->zs.avail_out;
		e->in += before - e->zs.avail_in;
		if (produced) {
			if (produced > *o->inflate_budget ||
			    (e->out + produced > RATIO_FLOOR && e->out + produced > e->in * RP_DECODER_INFLATE_RATIO)) {
				/* a bomb: the rest of the entry passes compressed */
				o->stats->bombs++;
				zip_entry_done(c, o);
				c->state = C_PASS;
				return n - e->zs.avail_in;
			}
			if (e->pdf && !e->drain) {
				size_t text = part_pdf_text_prefix(e, out, produced);
				if (text < produced) {
					/* Binary from here: the text read so far counts, the rest of the
					 * stream is inflated to its end and dropped. Stopping the input
					 * here instead would leave the bytes zlib had already taken (as
					 * many as the write that carried them) out of the raw pass: what
					 * was read would depend on how the writes were cut. */
					part_text(e, out, text, o);
					e->drain = true;
				}
			}
			*o->inflate_budget -= produced;
			e->out += produced;
			o->stats->inflated += produced;
			if (!e->drain)
				part_text(e, out, produced, o);
		}
		if (r == Z_STREAM_END) {
			size_t used = n - e->zs.avail_in;
			zip_entry_done(c, o);
			/* a data descriptor may follow: it passes like anything between entries */
			c->state = C_PASS;
			return used;
		}
		if (r == Z_BUF_ERROR && produced == 0 && before == e->zs.avail_in)
			break;
		if (r != Z_OK && r != Z_BUF_ERROR) {
			o->stats->inflate_errors++;
			zip_entry_done(c, o);
			c->state = C_PASS;
			return n - e->zs.avail_in;
		}
	}
	return n;
}

/* Inflate bytes decoded from ASCII85; the Flate stream's end does not end the ASCII85 text. */

/* ---- PASS: one look at every byte for what announces something to decode */

enum announce {
	AN_NONE = 0,
	AN_MORE,   /* the bytes end before it can be told */
	AN_ZIP,    /* "PK\3\4": a zip local file header follows */
	AN_PDF,    /* "%PDF-" */
	AN_B64,    /* ";base64," or "data": " then a base64 run */
	AN_STREAM, /* "stream" + end of line after a dictionary worth inflating */
};


/*
 * What the trigger byte b[k] announces, for b[0..len); *start and *end delimit the announcing
 * text (its bytes pass as text; decoding starts at *end). For a "stream" keyword, b[0] must be
 * the first byte after the window (junction buffers pass their offset in base).
 */
static enum announce announce_at(const struct rp_content *c, const uint8_t *b, size_t len, size_t k, size_t base,
				 size_t *start, size_t *end, bool *a85)
{
	switch (b[k]) {
	case 'K':
		if (k == 0 || b[k - 1] != 'P')
			return AN_NONE;
		if (k + 2 >= len)
			return AN_MORE;
		if (b[k + 1] != 3 || b[k + 2] != 4 || c->entries >= ZIP_MAX_ENTRIES)
			return AN_NONE;
		*start = k - 1;
		*end = k + 3;
		return AN_ZIP;
	case '%':
		if (c->pdf)
			return AN_NONE;
		if (k + 5 > len)
			return AN_MORE;
		if (memcmp(b + k, "%PDF-", 5) != 0)
			return AN_NONE;
		*start = k;
		*end = k + 5;
		return AN_PDF;
	case ';':
		if (c->no_b64)
			return AN_NONE;
		if (k + 8 > len)
			return AN_MORE;
		if (memcmp(b + k, ";base64,", 8) != 0)
			return AN_NONE;
		*start = k;
		*end = k + 8;
		return AN_B64;
	case 't': /* the "ta\"" of "data": then ':' and '"', maybe a space between */
		if (c->no_b64 || k < 3)
			return AN_NONE;
		if (k + 5 > len)
			return AN_MORE;
		if (memcmp(b + k - 3, "\"data\"", 6) != 0 || b[k + 3] != ':')
			return AN_NONE;
		if (b[k + 4] == '"') {
			*end = k + 5;
		} else if (b[k + 4] == ' ') {
			if (k + 6 > len)
				return AN_MORE;
			if (b[k + 5] != '"')
				return AN_NONE;
			*end = k + 6;
		} else {
			return AN_NONE;
		}
		*start = k - 3;
		return AN_B64;
	case 'm': { /* the end of "stream" */
		int eol;
		if (!c->pdf || !c->win || k < 5 || memcmp(b + k - 5, "strea", 5) != 0)
			return AN_NONE;
		eol = pdf_eol(b, len, k + 1);
		if (eol < 0)
			return AN_MORE;
		if (eol == 0 || !pdf_stream_dict_ok(c, b, (ptrdiff_t)(k - 5) - (ptrdiff_t)base, a85))
			return AN_NONE;
		*start = k - 5;
		*end = k + 1 + (size_t)eol;
		return AN_STREAM;
	}
	default:
		return AN_NONE;
	}
}

/* Bytes that may be the trigger of an announcement: 'K', '%', ';', "ta\"", "m\n", "m\r". */
static bool trigger_at(const uint8_t *b, size_t len, size_t k)
{
	switch (b[k]) {
	case 'K':
	case '%':
	case ';':
		return true;
	case 't':
		return k + 2 < len && b[k + 1] == 'a' && b[k + 2] == '"';
	case 'm':
		return k + 1 < len && (b[k + 1] == '\n' || b[k + 1] == '\r');
	default:
		return false;
	}
}

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The next possible trigger in p[i..n), or n: 16 bytes at a time where the ISA allows. Text
 * passes at memory speed; the candidates are rare in prose and JSON. */
static size_t next_trigger(const uint8_t *p, size_t n, size_t i)
{
#if defined(__SSE2__)
	const __m128i K = _mm_set1_epi8('K'), PC = _mm_set1_epi8('%'), SC = _mm_set1_epi8(';');
	const __m128i T = _mm_set1_epi8('t'), A = _mm_set1_epi8('a'), Q = _mm_set1_epi8('"');
	const __m128i M = _mm_set1_epi8('m'), LF = _mm_set1_epi8('\n'), CR = _mm_set1_epi8('\r');

	for (; i + 18 <= n; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(p + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(p + i + 1));
		__m128i c = _mm_loadu_si128((const __m128i *)(p + i + 2));
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(a, K), _mm_cmpeq_epi8(a, PC)), _mm_cmpeq_epi8(a, SC));
		m = _mm_or_si128(m, _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(a, T), _mm_cmpeq_epi8(b, A)),
						  _mm_cmpeq_epi8(c, Q)));
		m = _mm_or_si128(m, _mm_and_si128(_mm_cmpeq_epi8(a, M), _mm_or_si128(_mm_cmpeq_epi8(b, LF), _mm_cmpeq_epi8(b, CR))));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask)
			return i + (size_t)__builtin_ctz(mask);
	}
#endif
	for (; i < n; i++)
		if (trigger_at(p, n, i))
			return i;
	return n;
}

/* Act on an announcement whose text ended where decoding now starts. */
static void announce_act(struct rp_content *c, enum announce an, bool a85)
{
	switch (an) {
	case AN_ZIP:
		if (!c->e && !(c->e = calloc(1, sizeof(*c->e))))
			return; /* no memory: the entry passes as it is */
		c->e->n_hdr = 0;
		c->state = C_HEADER;
		break;
	case AN_PDF:
		/* PDF streams are looked for from here, with a window that starts at the header
		 * whatever the split of the input */
		c->pdf = true;
		if (!c->fonts)
			(void)pdf_fonts_new(&c->fonts); /* no memory: fonts with their own codes unread */
		c->win = malloc(PDF_WIN);
		if (c->win) {
			memcpy(c->win, "%PDF-", 5);
			c->n_win = 5;
			c->win_fresh = true;
		}
		break;
	case AN_B64:
		if (!c->b64 && !(c->b64 = calloc(1, sizeof(*c->b64))))
			return; /* no memory: the run passes as it is */
		c->state = C_B64;
		break;
	default:
		break;
	}
}

/*
 * PASS: bytes pass as they are, up to and including the text that announces something to decode
 * (which may have begun in the bytes before p). Returns the bytes consumed; c->state says what
 * was found.
 */
static size_t pass_scan(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
{
	size_t start = 0, end = 0, i = 0;
	enum announce an = AN_NONE;
	bool a85 = false;

	/* an announcement begun in the bytes before p and ending in it */
	if (c->n_tail) {
		uint8_t j[sizeof(c->tail) + 16];
		size_t head = n < 16 ? n : 16, len = c->n_tail + head;

		memcpy(j, c->tail, c->n_tail);
		memcpy(j + c->n_tail, p, head);
		for (size_t k = 0; k < len && an == AN_NONE; k++) {
			enum announce a;
			if (!trigger_at(j, len, k))
				continue;
			a = announce_at(c, j, len, k, c->n_tail, &start, &end, &a85);
			if (a > AN_MORE && start < c->n_tail && end >= c->n_tail)
				an = a;
		}
		if (an != AN_NONE) {
			end -= c->n_tail;
			goto found;
		}
	}
	for (;;) {
		enum announce a;
		size_t k = next_trigger(p, n, i);

		if (k >= n) {
			out_text(o, p, n);
			pdf_fonts_body(c->fonts, p, n);
			return n;
		}
		i = k + 1;
		a = announce_at(c, p, n, k, 0, &start, &end, &a85);
		/* AN_MORE: cut by the end of p, found with the next piece through the tail. An
		 * announcement found here starts in p (announce_at looks back only from its trigger). */
		if (a > AN_MORE) {
			an = a;
			break;
		}
	}
found:
	out_text(o, p, end);
	pdf_fonts_body(c->fonts, p, end); /* up to "stream": the stream's object is known */
	if (an == AN_STREAM)
		(void)pdf_stream_start(c, a85, o); /* no memory: the stream passes compressed */
	else
		announce_act(c, an, a85);
	return end;
}


void rp_content_feed(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
{
	/* every step consumes at least one byte or changes state towards one that does: bounded by
	 * the bytes given (a step taking none is followed by one that does) */
	size_t steps = 4 * n + 64;

	for (size_t guard = 0; n > 0 && guard < steps; guard++) {
		struct zip_entry *e = c->e;
		size_t take = 0;

		switch (c->state) {
		case C_PASS:
			take = pass_scan(c, p, n, o);
			break;
		case C_B64:
			take = b64_feed(c, p, n, o);
			break;
		case C_HEADER:
			take = ZIP_LOCAL_FIXED - e->n_hdr < n ? ZIP_LOCAL_FIXED - e->n_hdr : n;
			memcpy(e->hdr + e->n_hdr, p, take);
			e->n_hdr = (uint8_t)(e->n_hdr + take);
			if (e->n_hdr == ZIP_LOCAL_FIXED) {
				if (header_parsed(c)) {
					c->state = C_NAME;
				} else {
					/* no header we follow: those bytes are ordinary ones */
					out_text(o, e->hdr, ZIP_LOCAL_FIXED);
					c->state = C_PASS;
				}
			}
			break;
		case C_NAME:
			take = c->left < n ? (size_t)c->left : n;
			for (size_t k = 0; k < take && e->n_name < ZIP_NAME_KEEP; k++)
				e->name[e->n_name++] = (char)p[k];
			c->left -= take;
			if (c->left == 0) {
				c->left = e->extra_len;
				c->state = C_EXTRA;
			}
			break;
		case C_EXTRA:
			take = c->left < n ? (size_t)c->left : n;
			c->left -= take;
			if (c->left == 0)
				entry_start(c, o);
			break;
		case C_INFLATE:
			take = zip_entry_inflate(c, p, n, o);
			break;
		case C_STORED:
			take = c->left < n ? (size_t)c->left : n;
			part_text(e, p, take, o);
			c->left -= take;
			if (c->left == 0) {
				zip_entry_done(c, o);
				c->state = C_PASS;
			}
			break;
		case C_A85:
			take = pdf_a85_feed(c, p, n, o);
			break;
		case C_SKIP:
			take = c->left < n ? (size_t)c->left : n;
			out_text(o, p, take);
			c->left -= take;
			if (c->left == 0)
				c->state = C_PASS;
			break;
		}
		/* the window holds every byte of the body after the PDF header, whatever became of it */
		if (c->win && !c->win_fresh)
			pdf_win_push(c, p, take);
		c->win_fresh = false;
		tail_push(c, p, take);
		p += take;
		n -= take;
	}
	/* Never reached; if it were, the bytes would still be scanned, not dropped. */
	if (n)
		out_text(o, p, n);
	/* Text read so far goes to the scanner with the write that carried it: a held write (hold
	 * mode) is judged on everything it brought, not on what a buffer kept back. */
	if (c->e && c->e->n_obuf)
		part_text_flush(c->e, o);
}

void rp_content_begin(struct rp_content *c)
{
	rp_content_discard(c);
	memset(c, 0, sizeof(*c));
}

void rp_content_end(struct rp_content *c, struct rp_out *o)
{
	if (c->b64) {
		if (c->b64->committed) {
			b64_end(c, o);
		} else {
			out_text(o, c->b64->hold, c->b64->n_hold);
			free(c->b64);
			c->b64 = NULL;
		}
	}
	if (c->e && (c->state == C_INFLATE || c->state == C_STORED || (c->state == C_A85 && !c->e->z_done)))
		zip_entry_done(c, o); /* a truncated upload: what was read of the entry still counts */
	pdf_fonts_finish(c->fonts, o);
	rp_content_discard(c);
	memset(c, 0, sizeof(*c));
}

void rp_content_discard(struct rp_content *c)
{
	if (!c)
		return;
	zip_entry_release(c->e);
	free(c->e);
	c->e = NULL;
	free(c->win);
	c->win = NULL;
	pdf_fonts_free(c->fonts);
	c->fonts = NULL;
	if (c->b64) {
		if (c->b64->inner) {
			rp_content_discard(c->b64->inner);
			free(c->b64->inner);
		}
		free(c->b64);
		c->b64 = NULL;
	}
}

/* ---- the document layer alone, for files (rempart scan) */

struct rp_document {
	struct rp_content c;
	struct rp_decoder_stats stats;
	uint64_t budget;
};

int rp_document_new(struct rp_document **out)
{
	struct rp_document *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->budget = RP_DECODER_INFLATE_MAX;
	*out = d;
	return 0;
}

static struct rp_out document_out(struct rp_document *d, rp_decoded_fn emit, void *userdata)
{
	struct rp_out o = {.fn = emit, .userdata = userdata, .stats = &d->stats, .inflate_budget = &d->budget};
	return o;
}

int rp_document_feed(struct rp_document *d, const void *buf, size_t len, rp_decoded_fn emit, void *userdata)
{
	struct rp_out o;

	if (!d || !emit || (!buf && len))
		return -EINVAL;
	o = document_out(d, emit, userdata);
	d->stats.bytes_in += len;
	if (len)
		rp_content_feed(&d->c, buf, len, &o);
	return o.err;
}

int rp_document_end(struct rp_document *d, rp_decoded_fn emit, void *userdata)
{
	struct rp_out o;

	if (!d || !emit)
		return -EINVAL;
	o = document_out(d, emit, userdata);
	rp_content_end(&d->c, &o);
	return o.err;
}

void rp_document_get_stats(const struct rp_document *d, struct rp_decoder_stats *out)
{
	if (d && out)
		*out = d->stats;
}

void rp_document_free(struct rp_document *d)
{
	if (!d)
		return;
	rp_content_discard(&d->c);
	free(d);
}


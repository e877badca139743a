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
 * the page lays them out. Fonts with their own encodings (most Identity-H CID fonts) give no
 * readable text: that is a limit, said in the README.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define ZIP_LOCAL_FIXED 26u     /* local file header after its 4-byte signature */
#define ZIP_NAME_KEEP 255u
#define ZIP_MAX_ENTRIES 65536u  /* per body; past it the rest passes raw */
#define INFLATE_OUT 16384u
#define RATIO_FLOOR (1u << 20)

enum content_state {
	C_PASS = 0,      /* not in an entry we read: bytes pass, looking for a signature */
	C_HEADER,        /* the fixed part of a local file header */
	C_NAME,
	C_EXTRA,
	C_INFLATE,       /* a deflated text entry */
	C_STORED,        /* a stored text entry of known size */
	C_SKIP,          /* an entry of known size that is not text: passes as it is */
	C_A85,           /* a PDF stream in ASCII85 then Flate: ASCII85 read up to its "~>" */
	C_B64,           /* a base64 run after a marker: held, then decoded once long enough */
};

struct xml_strip {
	bool in_tag, tag_named, closing, name_done, last_sep, in_ent;
	char quote;
	char tag[24];
	uint8_t n_tag;
	char ent[12];
	uint8_t n_ent;
};

/* Text operators of a PDF content stream: strings shown, the rest dropped. */
struct pdf_text {
	uint8_t mode;        /* PT_* */
	uint8_t depth;       /* nesting of () in a literal string */
	uint8_t esc;         /* in a literal: 1 after '\\', 2..4 in an octal escape */
	uint8_t octal;
	uint8_t hex_hi;      /* a hex string's pending nibble + 1, or 0 */
	bool in_array;       /* inside [ ] of TJ */
	char tok[8];         /* the operator or number being read */
	uint8_t n_tok;
	uint32_t binary;     /* non-text bytes seen in the stream's first KiB */
	uint32_t seen;
};

struct zip_entry {
	uint8_t hdr[ZIP_LOCAL_FIXED];
	uint8_t n_hdr;
	uint16_t flags, method, name_len, extra_len, n_name;
	uint32_t csize;
	char name[ZIP_NAME_KEEP + 1];
	bool text, xml, pdf;  /* pdf: a PDF content stream, not a zip entry */
	bool z_done;          /* C_A85: the Flate stream inside ended (or was given up) */
	uint32_t a85;         /* ASCII85 group being read */
	uint8_t n_a85;
	z_stream zs;
	bool zinit;
	uint64_t in, out;
	struct xml_strip x;
	struct pdf_text pt;
	uint8_t obuf[4096];
	size_t n_obuf;
};

#define B64_COMMIT 64u   /* base64 characters in a row before the run is taken for a file */

struct b64_run {
	uint8_t hold[B64_COMMIT]; /* the run's first characters, passed as they are if it stops short */
	uint8_t n_hold;
	bool committed, esc, decided, binary;
	uint32_t quad;
	uint8_t nq;
	uint8_t sniff[64];        /* the first decoded bytes: a document, text, or binary? */
	uint8_t n_sniff;
	struct rp_content *inner; /* the decoded file's own document layer */
};

/* ---- text out of an entry */

static void text_flush(struct zip_entry *e, struct rp_out *o)
{
	out_text(o, e->obuf, e->n_obuf);
	e->n_obuf = 0;
}

static void text_put(struct zip_entry *e, const void *p, size_t n, struct rp_out *o)
{
	if (e->n_obuf + n > sizeof(e->obuf))
		text_flush(e, o);
	if (n > sizeof(e->obuf)) {
		out_text(o, p, n);
		return;
	}
	memcpy(e->obuf + e->n_obuf, p, n);
	e->n_obuf += n;
}

/* Where text flows on a new line: block-level elements of OOXML (w:p, a:p, w:tc, c, si, row...),
 * ODF (text:p, text:h, table-cell...) and HTML. Elements inside a paragraph (runs, properties)
 * join their text with nothing between: Word cuts words and numbers into runs at will. */
static char separator_for(const char *name, size_t n)
{
	static const char *const lines[] = {"p", "br", "cr", "tc", "tr", "c", "si", "row", "h", "line-break",
					    "table-cell", "table-row", "list-item", "td", "th", "li", "div",
					    "title", "tbl", "txBody", "sp"};
	static const char *const spaces[] = {"tab", "s", "space"};
	const char *colon = memchr(name, ':', n);

	if (colon) {
		n -= (size_t)(colon + 1 - name);
		name = colon + 1;
	}
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (strlen(lines[i]) == n && memcmp(lines[i], name, n) == 0)
			return '\n';
	for (size_t i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++)
		if (strlen(spaces[i]) == n && memcmp(spaces[i], name, n) == 0)
			return ' ';
	return 0;
}

static void utf8_put(struct zip_entry *e, uint32_t cp, struct rp_out *o)
{
	uint8_t b[4];
	size_t n;

	if (cp == 0 || cp > 0x10ffff)
		return;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | cp >> 18);
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	text_put(e, b, n, o);
}

/* The entity collected in x->ent ("amp", "#233", "#xE9"): its character, or it as written. */
static void entity_end(struct zip_entry *e, struct rp_out *o)
{
	struct xml_strip *x = &e->x;
	static const struct {
		const char *name;
		char c;
	} named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
	size_t n = x->n_ent;

	x->in_ent = false;
	x->n_ent = 0;
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strlen(named[i].name) == n && memcmp(named[i].name, x->ent, n) == 0) {
			text_put(e, &named[i].c, 1, o);
			return;
		}
	if (n >= 2 && x->ent[0] == '#') {
		bool hex = x->ent[1] == 'x' || x->ent[1] == 'X';
		uint32_t cp = 0;
		size_t i = hex ? 2 : 1;
		bool ok = i < n;

		for (; i < n && ok; i++) {
			char c = x->ent[i];
			int v = c >= '0' && c <= '9' ? c - '0'
				: hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
				: hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			ok = v >= 0 && cp <= 0x10ffff;
			cp = cp * (hex ? 16 : 10) + (uint32_t)(v < 0 ? 0 : v);
		}
		if (ok) {
			utf8_put(e, cp, o);
			return;
		}
	}
	text_put(e, "&", 1, o);
	text_put(e, x->ent, n, o);
	text_put(e, ";", 1, o);
}

static void tag_end(struct zip_entry *e, struct rp_out *o)
{
	struct xml_strip *x = &e->x;
	char sep = separator_for(x->tag, x->n_tag);

	x->in_tag = false;
	if (sep && !x->last_sep) {
		text_put(e, &sep, 1, o);
		x->last_sep = true;
	}
}

static void xml_feed(struct zip_entry *e, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct xml_strip *x = &e->x;

	for (size_t i = 0; i < n; i++) {
		char c = (char)p[i];

		if (x->in_tag) {
			if (x->quote) {
				if (c == x->quote)
					x->quote = 0;
			} else if (c == '>') {
				tag_end(e, o);
			} else if (c == '"' || c == '\'') {
				x->quote = c;
				x->name_done = true;
			} else if (!x->name_done) {
				if (c == '/' && x->n_tag == 0 && !x->closing) {
					x->closing = true;
				} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/') {
					x->name_done = x->n_tag > 0;
				} else if (x->n_tag < sizeof(x->tag)) {
					x->tag[x->n_tag++] = c;
				} else {
					x->name_done = true; /* too long for any name we act on */
					x->n_tag = 0;
				}
			}
			continue;
		}
		if (x->in_ent) {
			if (c == ';') {
				entity_end(e, o);
				continue;
			}
			if (x->n_ent < sizeof(x->ent) && c != '<' && c != '&' && c != ' ') {
				x->ent[x->n_ent++] = c;
				continue;
			}
			/* not an entity after all: as written, then c as usual */
			text_put(e, "&", 1, o);
			text_put(e, x->ent, x->n_ent, o);
			x->in_ent = false;
			x->n_ent = 0;
		}
		if (c == '<') {
			x->in_tag = true;
			x->closing = false;
			x->name_done = false;
			x->quote = 0;
			x->n_tag = 0;
		} else if (c == '&') {
			x->in_ent = true;
			x->n_ent = 0;
		} else {
			/* Pretty-printing between elements is not text worth a scan; keep it cheap. */
			if ((c == '\n' || c == '\r') && x->last_sep)
				continue;
			text_put(e, &c, 1, o);
			x->last_sep = false;
		}
	}
}

/* ---- PDF content streams: "BT /F1 10 Tf 72 700 Td (Patient : 2 95 10) Tj [(99 1) -20 (26)] TJ ET" */

enum { PT_CODE = 0, PT_LITERAL, PT_HEX, PT_COMMENT };

static void pdf_char(struct zip_entry *e, uint8_t b, struct rp_out *o)
{
	/* Simple fonts (WinAnsi, Standard): bytes are Latin-1-ish; emit ASCII, and Latin-1 as UTF-8. */
	if (b >= 0x20 && b < 0x7f) {
		char c = (char)b;
		text_put(e, &c, 1, o);
	} else if (b >= 0xa0) {
		utf8_put(e, b, o);
	} else if (b == '\n' || b == '\r' || b == '\t') {
		text_put(e, " ", 1, o);
	}
}

/* A token of code ended: an operator tells where the text moves, a number in a TJ array how far. */
static void pdf_token(struct zip_entry *e, struct rp_out *o)
{
	struct pdf_text *t = &e->pt;
	const char *k = t->tok;
	size_t n = t->n_tok;

	t->n_tok = 0;
	if (n == 0)
		return;
	if (t->in_array) {
		/* a kerning adjustment: a large negative one is the gap between two words */
		if (k[0] == '-' && n >= 4)
			text_put(e, " ", 1, o);
		return;
	}
	if ((n == 2 && (memcmp(k, "Td", 2) == 0 || memcmp(k, "TD", 2) == 0 || memcmp(k, "Tm", 2) == 0 ||
			memcmp(k, "T*", 2) == 0)) || (n == 1 && (k[0] == '\'' || k[0] == '"')))
		text_put(e, " ", 1, o);
	else if (n == 2 && memcmp(k, "ET", 2) == 0)
		text_put(e, "\n", 1, o);
}

static void pdf_feed(struct zip_entry *e, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct pdf_text *t = &e->pt;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];

		switch (t->mode) {
		case PT_LITERAL:
			if (t->esc == 1) {
				static const char from[] = "nrtbf()\\", to[] = "\n\r\t\b\f()\\";
				const char *f = memchr(from, b, sizeof(from) - 1);
				t->esc = 0;
				if (b >= '0' && b <= '7') {
					t->esc = 2;
					t->octal = (uint8_t)(b - '0');
				} else if (f) {
					pdf_char(e, (uint8_t)to[f - from], o);
				} /* else: a line continuation or an unknown escape, dropped */
				continue;
			}
			if (t->esc >= 2) {
				if (b >= '0' && b <= '7' && t->esc < 4) {
					t->octal = (uint8_t)(t->octal * 8 + (b - '0'));
					t->esc++;
					continue;
				}
				pdf_char(e, t->octal, o);
				t->esc = 0;
			}
			if (b == '\\') {
				t->esc = 1;
			} else if (b == '(') {
				if (t->depth < 255)
					t->depth++;
				pdf_char(e, b, o);
			} else if (b == ')') {
				if (t->depth == 0) {
					t->mode = PT_CODE;
				} else {
					t->depth--;
					pdf_char(e, b, o);
				}
			} else {
				pdf_char(e, b, o);
			}
			break;
		case PT_HEX: {
			int v = b >= '0' && b <= '9' ? b - '0' : b >= 'a' && b <= 'f' ? b - 'a' + 10
				: b >= 'A' && b <= 'F' ? b - 'A' + 10 : -1;
			if (b == '>') {
				if (t->hex_hi)
					pdf_char(e, (uint8_t)((t->hex_hi - 1) << 4), o);
				t->hex_hi = 0;
				t->mode = PT_CODE;
			} else if (v >= 0) {
				if (t->hex_hi) {
					pdf_char(e, (uint8_t)((t->hex_hi - 1) << 4 | v), o);
					t->hex_hi = 0;
				} else {
					t->hex_hi = (uint8_t)(v + 1);
				}
			}
			break;
		}
		case PT_COMMENT:
			if (b == '\n' || b == '\r')
				t->mode = PT_CODE;
			break;
		default:
			if (b == '(' || b == '<' || b == '[' || b == ']' || b == '%' || b == '/' || b == ' ' ||
			    b == '\n' || b == '\r' || b == '\t') {
				pdf_token(e, o);
				if (b == '(') {
					t->mode = PT_LITERAL;
					t->depth = 0;
					t->esc = 0;
				} else if (b == '<') {
					t->mode = PT_HEX; /* "<<" dictionaries (inline images) read as empty hex */
					t->hex_hi = 0;
				} else if (b == '[') {
					t->in_array = true;
				} else if (b == ']') {
					t->in_array = false;
				} else if (b == '%') {
					t->mode = PT_COMMENT;
				}
			} else if (t->n_tok < sizeof(t->tok)) {
				t->tok[t->n_tok++] = (char)b;
			}
			break;
		}
	}
}

/* Inflated bytes that are not text (a font program, an image, a stream of objects we cannot
 * read as content): the stream stops being read at the byte where that became clear (whatever
 * the split of the input), and its bytes pass as they came. Returns how many of p are text. */
static size_t pdf_text_prefix(struct zip_entry *e, const uint8_t *p, size_t n)
{
	struct pdf_text *t = &e->pt;

	for (size_t i = 0; i < n && t->seen < 1024; i++, t->seen++)
		if ((p[i] < 0x09 || (p[i] > 0x0d && p[i] < 0x20)) && ++t->binary > 16)
			return i;
	return n;
}

static void entry_text(struct zip_entry *e, const uint8_t *p, size_t n, struct rp_out *o)
{
	if (e->pdf)
		pdf_feed(e, p, n, o);
	else if (e->xml)
		xml_feed(e, p, n, o);
	else
		text_put(e, p, n, o);
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

static void entry_release(struct zip_entry *e)
{
	if (e && e->zinit) {
		(void)inflateEnd(&e->zs);
		e->zinit = false;
	}
}

/* The entry's text is complete (or given up): flush it, and a line break after it. */
static void entry_done(struct rp_content *c, struct rp_out *o)
{
	struct zip_entry *e = c->e;

	if (e->text) {
		if (e->x.in_ent) {
			text_put(e, "&", 1, o);
			text_put(e, e->x.ent, e->x.n_ent, o);
		}
		text_put(e, "\n", 1, o);
		text_flush(e, o);
	}
	entry_release(e);
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
static size_t entry_inflate(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
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
				entry_done(c, o);
				c->state = C_PASS;
				return n - e->zs.avail_in;
			}
			if (e->pdf) {
				size_t text = pdf_text_prefix(e, out, produced);
				if (text < produced) {
					entry_text(e, out, text, o);
					entry_done(c, o);
					c->state = C_PASS;
					return n - e->zs.avail_in;
				}
			}
			*o->inflate_budget -= produced;
			e->out += produced;
			o->stats->inflated += produced;
			entry_text(e, out, produced, o);
		}
		if (r == Z_STREAM_END) {
			size_t used = n - e->zs.avail_in;
			entry_done(c, o);
			/* a data descriptor may follow: it passes like anything between entries */
			c->state = C_PASS;
			return used;
		}
		if (r == Z_BUF_ERROR && produced == 0 && before == e->zs.avail_in)
			break;
		if (r != Z_OK && r != Z_BUF_ERROR) {
			o->stats->inflate_errors++;
			entry_done(c, o);
			c->state = C_PASS;
			return n - e->zs.avail_in;
		}
	}
	return n;
}

/* Inflate bytes decoded from ASCII85; the Flate stream's end does not end the ASCII85 text. */
static void a85_inflate(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
{
	if (c->e->z_done || n == 0)
		return;
	c->state = C_INFLATE;
	(void)entry_inflate(c, p, n, o);
	if (c->state != C_INFLATE)
		c->e->z_done = true; /* ended, given up or over a limit: the rest is read and dropped */
	c->state = C_A85;
}

/* C_A85: returns the raw bytes consumed; at "~" the stream is over and PASS takes the rest. */
static size_t a85_feed(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
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
				entry_done(c, o);
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

#define PDF_WIN 512u

/* Keep the last cap bytes of a byte sequence in buf (*len of them so far), appending p. */
static void keep_last(uint8_t *buf, size_t cap, size_t *len, const uint8_t *p, size_t n)
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

	keep_last(c->tail, sizeof(c->tail), &len, p, n);
	c->n_tail = (uint8_t)len;
}

static bool win_has(const uint8_t *w, size_t n, const char *s)
{
	return memmem(w, n, s, strlen(s)) != NULL;
}

/*
 * Whether the dictionary just before a "stream" keyword (the end of w) announces a stream worth
 * inflating: FlateDecode, no predictor, and not a font program, an image or a cross-reference
 * stream. Streams that still turn out binary stop being read (pdf_text_prefix()).
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
#define PDF_DICT_CTX (PDF_WIN - 8) /* bytes before a keyword read for its dictionary: the same
					 * whether the keyword began in the window or in the piece */
static bool pdf_keyword_ok(const uint8_t *w, size_t at, bool *a85)
{
	size_t k = at > PDF_DICT_CTX ? PDF_DICT_CTX : at;

	if (at >= 3 && memcmp(w + at - 3, "end", 3) == 0)
		return false;
	return pdf_dict_ok(w + at - k, k, a85);
}

/* The end of line after a keyword ending at b[k]: its length (1 or 2), 0 for none, -1 when b
 * ends before it is known. */
static int pdf_eol(const uint8_t *b, size_t n, size_t k)
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

static void win_push(struct rp_content *c, const uint8_t *p, size_t n)
{
	if (c->win)
		keep_last(c->win, PDF_WIN, &c->n_win, p, n);
}

static bool pdf_stream_start(struct rp_content *c, bool a85, struct rp_out *o)
{
	struct zip_entry *e;

	if (!c->e && !(c->e = calloc(1, sizeof(*c->e))))
		return false;
	e = c->e;
	entry_release(e);
	memset(&e->zs, 0, sizeof(e->zs));
	if (inflateInit2(&e->zs, 15) != Z_OK)
		return false;
	e->zinit = true;
	e->text = e->pdf = true;
	e->xml = false;
	e->in = e->out = 0;
	e->n_obuf = 0;
	memset(&e->pt, 0, sizeof(e->pt));
	e->z_done = false;
	e->a85 = 0;
	e->n_a85 = 0;
	o->stats->doc_entries++;
	c->state = a85 ? C_A85 : C_INFLATE;
	return true;
}

/* ---- PASS: one look at every byte for what announces something to decode */

enum announce {
	AN_NONE = 0,
	AN_MORE,   /* the bytes end before it can be told */
	AN_ZIP,    /* "PK\3\4": a zip local file header follows */
	AN_PDF,    /* "%PDF-" */
	AN_B64,    /* ";base64," or "data": " then a base64 run */
	AN_STREAM, /* "stream" + end of line after a dictionary worth inflating */
};

/* The dictionary before a "stream" keyword whose 's' is at b[ks] (b holds what follows the
 * window; ks < 0: the keyword began in the window): the same bytes whatever the split. */
static bool stream_dict_ok(const struct rp_content *c, const uint8_t *b, ptrdiff_t ks, bool *a85)
{
	uint8_t w[PDF_WIN + 8];
	size_t nw = 0, from_b = ks > 0 ? (size_t)ks : 0;

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
		if (eol == 0 || !stream_dict_ok(c, b, (ptrdiff_t)(k - 5) - (ptrdiff_t)base, a85))
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
			return n;
		}
		i = k + 1;
		a = announce_at(c, p, n, k, 0, &start, &end, &a85);
		/* AN_MORE: cut by the end of p, found with the next piece through the tail */
		if (a > AN_MORE && start < n && (ptrdiff_t)start >= 0) {
			an = a;
			break;
		}
	}
found:
	out_text(o, p, end);
	if (an == AN_STREAM)
		(void)pdf_stream_start(c, a85, o); /* no memory: the stream passes compressed */
	else
		announce_act(c, an, a85);
	return end;
}

/* ---- base64 in bodies: files that genAI APIs take inline ("data":"<base64>", data: URLs) */


static int b64_value(uint8_t b)
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

static void b64_end(struct rp_content *c, struct rp_out *o)
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
static size_t b64_feed(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct b64_run *r = c->b64;
	uint8_t out[3072];
	size_t k = 0, i;

	for (i = 0; i < n; i++) {
		uint8_t b = p[i];
		int v = b64_value(b);

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
					b64_quad_char(c, b64_value(r->hold[h]), out, &k);
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

void rp_content_feed(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o)
{
	/* every step consumes at least one byte or changes state towards one that does */
	for (size_t guard = 0; n > 0 && guard < 4 * n + 64; guard++) {
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
			take = entry_inflate(c, p, n, o);
			break;
		case C_STORED:
			take = c->left < n ? (size_t)c->left : n;
			entry_text(e, p, take, o);
			c->left -= take;
			if (c->left == 0) {
				entry_done(c, o);
				c->state = C_PASS;
			}
			break;
		case C_A85:
			take = a85_feed(c, p, n, o);
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
			win_push(c, p, take);
		c->win_fresh = false;
		tail_push(c, p, take);
		p += take;
		n -= take;
	}
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
		entry_done(c, o); /* a truncated upload: what was read of the entry still counts */
	rp_content_discard(c);
	memset(c, 0, sizeof(*c));
}

void rp_content_discard(struct rp_content *c)
{
	if (!c)
		return;
	entry_release(c->e);
	free(c->e);
	c->e = NULL;
	free(c->win);
	c->win = NULL;
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

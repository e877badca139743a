/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Text out of document parts: an XML entry reduced to its character data (markup and
 * attributes dropped, entities decoded, a line break where a paragraph, cell or row ends, nothing
 * where a run of the same paragraph ends: Word cuts numbers into runs at will), a PDF content
 * stream reduced to the strings its text operators show, joined as the page lays them out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "content_internal.h"

/* ---- text out of an entry */

void part_text_flush(struct zip_entry *e, struct rp_out *o)
{
	out_text(o, e->obuf, e->n_obuf);
	e->n_obuf = 0;
}

void part_text_put(struct zip_entry *e, const void *p, size_t n, struct rp_out *o)
{
	if (e->n_obuf + n > sizeof(e->obuf))
		part_text_flush(e, o);
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

	part_text_put(e, b, utf8_encode(cp, b), o);
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
			part_text_put(e, &named[i].c, 1, o);
			return;
		}
	if (n >= 2 && x->ent[0] == '#') {
		bool hex = x->ent[1] == 'x' || x->ent[1] == 'X';
		uint32_t cp = 0;
		size_t i = hex ? 2 : 1;
		bool ok = i < n;

		for (; i < n && ok; i++) {
			char c = x->ent[i];
			int v = hex ? hex_value(c) : c >= '0' && c <= '9' ? c - '0' : -1;
			ok = v >= 0 && cp <= 0x10ffff;
			cp = cp * (hex ? 16 : 10) + (uint32_t)(v < 0 ? 0 : v);
		}
		if (ok) {
			utf8_put(e, cp, o);
			return;
		}
	}
	part_text_put(e, "&", 1, o);
	part_text_put(e, x->ent, n, o);
	part_text_put(e, ";", 1, o);
}

static void tag_end(struct zip_entry *e, struct rp_out *o)
{
	struct xml_strip *x = &e->x;
	char sep = separator_for(x->tag, x->n_tag);

	x->in_tag = false;
	if (sep && !x->last_sep) {
		part_text_put(e, &sep, 1, o);
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
			part_text_put(e, "&", 1, o);
			part_text_put(e, x->ent, x->n_ent, o);
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
			/* character data runs up to the next markup: copied as one span */
			size_t j = i + 1;
			while (j < n && p[j] != '<' && p[j] != '&')
				j++;
			part_text_put(e, p + i, j - i, o);
			x->last_sep = false;
			i = j - 1;
		}
	}
}

/* ---- PDF content streams: "BT /F1 10 Tf 72 700 Td (Patient : 2 95 10) Tj [(99 1) -20 (26)] TJ ET" */

enum { PT_CODE = 0, PT_LITERAL, PT_HEX, PT_COMMENT };

static void pdf_char(struct zip_entry *e, uint8_t b, struct rp_out *o)
{
	uint32_t cps[2];
	int k = pdf_fonts_shown(e->fonts, b, cps);

	if (e->pt.shown < UINT32_MAX)
		e->pt.shown++;

	if (k >= 0) { /* a font with its own codes, whose CMap came before the page */
		for (int i = 0; i < k; i++) {
			if (cps[i] < 0x20)
				part_text_put(e, " ", 1, o);
			else
				utf8_put(e, cps[i], o);
		}
		return;
	}
	/* Simple fonts (WinAnsi, Standard): bytes are Latin-1-ish; emit ASCII, and Latin-1 as UTF-8. */
	if (b >= 0x20 && b < 0x7f) {
		char c = (char)b;
		part_text_put(e, &c, 1, o);
	} else if (b >= 0xa0) {
		utf8_put(e, b, o);
	} else if (b == '\n' || b == '\r' || b == '\t') {
		part_text_put(e, " ", 1, o);
	}
}

/* A PDF number ("-27.78", ".24", "700"); false for anything else. */
static bool pdf_number(const char *k, size_t n, float *v)
{
	float x = 0, scale = 0.1f;
	bool neg = false, frac = false, digits = false;
	size_t i = 0;

	if (n && (k[0] == '-' || k[0] == '+'))
		neg = k[i++] == '-';
	for (; i < n; i++) {
		if (k[i] >= '0' && k[i] <= '9') {
			digits = true;
			if (frac) {
				x += (float)(k[i] - '0') * scale;
				scale /= 10;
			} else {
				x = x * 10 + (float)(k[i] - '0');
			}
		} else if (k[i] == '.' && !frac) {
			frac = true;
		} else {
			return false;
		}
	}
	*v = neg ? -x : x;
	return digits;
}

static void pdf_space(struct zip_entry *e, char sep, struct rp_out *o)
{
	part_text_put(e, &sep, 1, o);
	pdf_fonts_sep(e->fonts, sep);
}

/*
 * A token of code ended: an operator tells where the text moves, a number in a TJ array how far.
 * A move along the line no longer than what was shown since the last one (at most an em per
 * byte shown) is the next glyphs of the same word: Chrome places "T" then "exte", or each "1"
 * of "111", with Td for its kerning. Anything else starts a new word.
 */
static void pdf_token(struct zip_entry *e, struct rp_out *o)
{
	struct pdf_text *t = &e->pt;
	const char *k = t->tok;
	size_t n = t->n_tok;
	float v;

	t->n_tok = 0;
	if (n == 0)
		return;
	if (pdf_number(k, n, &v)) {
		/* in a TJ array, in thousandths of an em: a quarter em back is a word gap */
		if (t->in_array && v <= -250)
			pdf_space(e, ' ', o);
		t->nums[0] = t->nums[1];
		t->nums[1] = v;
		if (t->n_nums < 2)
			t->n_nums++;
		return;
	}
	if (t->in_array)
		return;
	if (n == 2 && (memcmp(k, "Td", 2) == 0 || memcmp(k, "TD", 2) == 0)) {
		float tx = t->nums[0], ty = t->nums[1];
		bool same_word = t->n_nums == 2 && ty == 0 && tx >= 0 && t->font_size > 0 &&
				 tx <= (float)t->shown * t->font_size;
		if (!same_word)
			pdf_space(e, ' ', o);
		t->shown = 0;
	} else if ((n == 2 && (memcmp(k, "Tm", 2) == 0 || memcmp(k, "T*", 2) == 0)) ||
		   (n == 1 && (k[0] == '\'' || k[0] == '"'))) {
		pdf_space(e, ' ', o);
		t->shown = 0;
	} else if (n == 2 && memcmp(k, "ET", 2) == 0) {
		pdf_space(e, '\n', o);
		t->shown = 0;
	} else if (n == 2 && memcmp(k, "Tf", 2) == 0) {
		if (t->n_nums >= 1)
			t->font_size = t->nums[1] < 0 ? -t->nums[1] : t->nums[1];
		pdf_fonts_select(e->fonts, t->name, t->n_name);
	}
	t->n_nums = 0;
}

static void pdf_feed(struct zip_entry *e, const uint8_t *p, size_t n, struct rp_out *o)
{
	struct pdf_text *t = &e->pt;

	pdf_fonts_stream(e->fonts, p, n); /* a ToUnicode CMap, when this stream is one */

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
			int v = hex_value(b);
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
				t->in_name = b == '/';
				if (t->in_name)
					t->n_name = 0;
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
			} else {
				if (t->n_tok < sizeof(t->tok))
					t->tok[t->n_tok++] = (char)b;
				if (t->in_name && t->n_name < sizeof(t->name))
					t->name[t->n_name++] = (char)b;
			}
			break;
		}
	}
}

/* Inflated bytes that are not text (a font program, an image, a stream of objects we cannot
 * read as content): the stream stops being read at the byte where that became clear (whatever
 * the split of the input), and its bytes pass as they came. Returns how many of p are text. */
size_t part_pdf_text_prefix(struct zip_entry *e, const uint8_t *p, size_t n)
{
	struct pdf_text *t = &e->pt;

	for (size_t i = 0; i < n && t->seen < 1024; i++, t->seen++)
		if ((p[i] < 0x09 || (p[i] > 0x0d && p[i] < 0x20)) && ++t->binary > 16)
			return i;
	return n;
}

void part_text(struct zip_entry *e, const uint8_t *p, size_t n, struct rp_out *o)
{
	if (e->pdf)
		pdf_feed(e, p, n, o);
	else if (e->xml)
		xml_feed(e, p, n, o);
	else
		part_text_put(e, p, n, o);
}


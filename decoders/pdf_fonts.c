/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PDF text in fonts with their own codes: a font whose strings are glyph numbers (Type0 fonts with
 * Identity-H, as Chrome's "Save as PDF" and Word write them) or subset codes (ReportLab's embedded
 * TrueType) shows bytes that mean nothing until its ToUnicode CMap says which character each code
 * is. The pieces come in any order and in separate places:
 *   - the body names fonts ("/F1 5 0 R" in a /Font dictionary) and gives each its CMap
 *     ("5 0 obj << ... /ToUnicode 9 0 R >>"), outside streams: pdf_fonts_body();
 *   - a CMap stream (inflated like content streams) maps codes to Unicode: pdf_fonts_stream();
 *   - content streams select a font ("/F1 11 Tf") and show strings: pdf_fonts_select(),
 *     pdf_fonts_shown(), pdf_fonts_sep().
 * Writers put fonts after the pages that use them, so the strings shown are kept (bounded) and
 * read at the end of the document, through the CMaps of their fonts: pdf_fonts_finish() emits
 * the text of every string whose font maps codes to other characters (strings of fonts that keep
 * ASCII as it is were emitted already, as they came). Every input is parsed byte by byte with its
 * state kept between calls, so the result is the same whatever the split of the input.
 * Not read: objects inside object streams (/ObjStm), uncompressed CMap or content streams.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "content_internal.h"

#define PF_NAME 32u
#define PF_MAX_NAMES 256u       /* resource names bound to objects */
#define PF_MAX_FONTS 256u       /* fonts with a ToUnicode CMap */
#define PF_MAX_CMAPS 128u
#define PF_MAX_RANGES 16384u    /* code ranges over all the CMaps of a document */
#define PF_MAX_USED 64u         /* font names selected in content streams */
#define PF_RUNS_MAX (256u << 10) /* shown strings kept for the end of the document */

enum { BT_CODE = 0, BT_LITERAL, BT_HEX, BT_COMMENT, BT_STREAM };
enum { CM_NONE = 0, CM_CODESPACE, CM_BFCHAR, CM_BFRANGE };
enum { RUN_TEXT = 1, RUN_SEP = 2 };

struct pf_name {
	char s[PF_NAME];
	uint8_t n;
	uint32_t obj;
};

struct pf_font {
	uint32_t obj, cmap_obj;
};

struct pf_cmap {
	uint32_t obj;
	uint8_t code_bytes; /* 1 or 2, from its codespace range (else its first source code) */
	bool changes;       /* some code maps to another character than itself */
	bool reread;        /* and its strings read as they came lost or garbled text: two-byte
			     * codes, or ASCII codes that are other characters, or control codes that
			     * are letters or digits (not: codes 0x80-0xff of quotes and dashes) */
};

struct pf_range {
	uint32_t lo, hi; /* source codes */
	uint32_t cp, cp2; /* the character of lo (the next ones follow), and a second one (ligatures) */
	uint16_t cmap;
};

struct pdf_fonts {
	/* body tokenizer */
	uint8_t mode, lit_depth, es_match;
	bool lit_esc;
	char tok[PF_NAME];
	uint8_t n_tok;
	bool tok_name, tok_long;
	uint32_t num1, num2; /* the last two numbers: "N G obj", "/Name N G R" */
	uint8_t n_nums;      /* numbers in a row since the last other token (up to 3) */
	uint32_t cur_obj;
	char ref_name[PF_NAME]; /* the name just before those numbers, if one was */
	uint8_t n_ref_name;
	/* tables */
	struct pf_name names[PF_MAX_NAMES];
	unsigned n_names;
	struct pf_font fonts[PF_MAX_FONTS];
	unsigned n_fonts;
	struct pf_cmap cmaps[PF_MAX_CMAPS];
	unsigned n_cmaps;
	struct pf_range *ranges;
	unsigned n_ranges, cap_ranges;
	/* CMap parser, over the stream being inflated */
	int cm;               /* index of the stream's CMap in cmaps, -1 before "begincmap" */
	uint32_t stream_obj;
	uint8_t cm_mode, cm_tok_n;
	char cm_tok[24];
	bool cm_hex, cm_array;
	uint64_t hexv;
	uint8_t hex_digits;
	uint64_t ops[2];
	uint8_t ops_digits[2];
	uint8_t n_ops;
	uint32_t arr_i;
	/* content: the font in use and the strings shown */
	char used[PF_MAX_USED][PF_NAME];
	uint8_t n_used_len[PF_MAX_USED];
	unsigned n_used;
	int cur_font;         /* index into used, -1 before any Tf */
	int live_cm;          /* the font in use has a CMap known already that changes codes: its
			       * strings are read through it as they come, -1 otherwise */
	uint8_t live_hi;      /* the first byte of a two-byte code */
	bool live_have_hi;
	bool sorted;          /* ranges are sorted for lookup(), and the cache agrees with them */
	struct {
		uint32_t key;     /* (CMap << 16 | code) + 1, 0 when empty */
		uint32_t cp, cp2; /* cp 0: the code maps to nothing */
	} cache[256];         /* the codes last read: a page repeats few glyphs many times */
	uint8_t bc_match;     /* how much of "begincmap" the stream's last bytes were */
	uint8_t *runs;
	size_t n_runs, cap_runs;
	size_t open_run;      /* offset of the open text record's length byte, 0 when none */
	size_t last_sep;      /* offset of the last record's char when it is a separator, else 0 */
};

int pdf_fonts_new(struct pdf_fonts **out)
{
	struct pdf_fonts *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->cm = -1;
	f->cur_font = -1;
	f->live_cm = -1;
	*out = f;
	return 0;
}

void pdf_fonts_free(struct pdf_fonts *f)
{
	if (!f)
		return;
	free(f->ranges);
	free(f->runs);
	free(f);
}

/* ---- the body: "/Name N G R" bindings, "N G obj", strings and streams skipped */

/* Dictionary keys that take references and never name a font. */
static bool key_not_font(const char *s, size_t n)
{
	static const char *const keys[] = {
		"Parent", "Contents", "Resources", "Font", "XObject", "ExtGState", "Pages", "Root", "Info",
		"FontDescriptor", "FontFile", "FontFile2", "FontFile3", "Length", "Metadata", "Annots",
		"StructTreeRoot", "Outlines", "First", "Last", "Next", "Prev", "P", "Pg", "K", "Dest", "A",
		"Encoding", "ColorSpace", "Shading", "Pattern", "Properties", "Group", "OpenAction", "Names",
		"AcroForm", "MarkInfo", "ParentTree", "RoleMap", "OCProperties", "DescendantFonts", "Widths",
		"CIDToGIDMap", "CIDSet", "Thumb", "Dests", "AA", "Lang", "PageLabels", "ViewerPreferences"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i]) == n && memcmp(keys[i], s, n) == 0)
			return true;
	return false;
}

static void bind_ref(struct pdf_fonts *f, uint32_t obj)
{
	const char *s = f->ref_name;
	size_t n = f->n_ref_name;

	if (n == 9 && memcmp(s, "ToUnicode", 9) == 0) {
		for (unsigned i = 0; i < f->n_fonts; i++)
			if (f->fonts[i].obj == f->cur_obj) {
				f->fonts[i].cmap_obj = obj;
				return;
			}
		if (f->n_fonts < PF_MAX_FONTS)
			f->fonts[f->n_fonts++] = (struct pf_font){.obj = f->cur_obj, .cmap_obj = obj};
		return;
	}
	if (key_not_font(s, n))
		return;
	/* The last binding of a name wins: pages of one document rarely give one name two fonts. */
	for (unsigned i = 0; i < f->n_names; i++)
		if (f->names[i].n == n && memcmp(f->names[i].s, s, n) == 0) {
			f->names[i].obj = obj;
			return;
		}
	if (f->n_names < PF_MAX_NAMES) {
		struct pf_name *b = &f->names[f->n_names++];
		memcpy(b->s, s, n);
		b->n = (uint8_t)n;
		b->obj = obj;
	}
}

static bool tok_is(const struct pdf_fonts *f, const char *k)
{
	size_t n = strlen(k);
	return !f->tok_name && !f->tok_long && f->n_tok == n && memcmp(f->tok, k, n) == 0;
}

static bool tok_number(const struct pdf_fonts *f, uint32_t *v)
{
	uint32_t x = 0;

	if (f->tok_name || f->tok_long || f->n_tok == 0 || f->n_tok > 9)
		return false;
	for (unsigned i = 0; i < f->n_tok; i++) {
		if (f->tok[i] < '0' || f->tok[i] > '9')
			return false;
		x = x * 10 + (uint32_t)(f->tok[i] - '0');
	}
	*v = x;
	return true;
}

/* A token of the body ended (at a delimiter or a string). */
static void body_token(struct pdf_fonts *f)
{
	uint32_t v;

	if (f->n_tok == 0 && !f->tok_name)
		return;
	if (f->tok_name) {
		f->n_ref_name = f->tok_long ? 0 : f->n_tok;
		memcpy(f->ref_name, f->tok, f->n_ref_name);
		f->n_nums = 0;
	} else if (tok_number(f, &v)) {
		f->num1 = f->num2;
		f->num2 = v;
		if (f->n_nums < 3)
			f->n_nums++;
	} else {
		if (tok_is(f, "R") && f->n_nums == 2 && f->n_ref_name)
			bind_ref(f, f->num1);
		else if (tok_is(f, "obj") && f->n_nums == 2)
			f->cur_obj = f->num1;
		else if (tok_is(f, "stream"))
			f->mode = BT_STREAM;
		f->n_ref_name = 0;
		f->n_nums = 0;
	}
	f->n_tok = 0;
	f->tok_name = f->tok_long = false;
}

/* A delimiter that is not a name's start or a token's end ends whatever reference was read. */
static void body_break(struct pdf_fonts *f)
{
	body_token(f);
	f->n_ref_name = 0;
	f->n_nums = 0;
}

void pdf_fonts_body(struct pdf_fonts *f, const uint8_t *p, size_t n)
{
	static const char endstream[] = "endstream";

	if (!f)
		return;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];

		switch (f->mode) {
		case BT_STREAM:
			/* raw stream data (a font program, an image, an uncompressed stream): up to
			 * "endstream" (its first letter restarts a match cut short); images are large,
			 * so straight to the next 'e' */
			if (f->es_match == 0 && b != 'e') {
				const uint8_t *e = memchr(p + i, 'e', n - i);
				if (!e)
					return;
				i = (size_t)(e - p);
				b = 'e';
			}
			if (b == (uint8_t)endstream[f->es_match])
				f->es_match++;
			else
				f->es_match = b == 'e' ? 1 : 0;
			if (f->es_match == sizeof(endstream) - 1) {
				f->es_match = 0;
				f->mode = BT_CODE;
			}
			break;
		case BT_LITERAL:
			if (f->lit_esc)
				f->lit_esc = false;
			else if (b == '\\')
				f->lit_esc = true;
			else if (b == '(' && f->lit_depth < 255)
				f->lit_depth++;
			else if (b == ')' && f->lit_depth == 0)
				f->mode = BT_CODE;
			else if (b == ')')
				f->lit_depth--;
			break;
		case BT_HEX:
			if (b == '>')
				f->mode = BT_CODE;
			else if (b == '<') /* "<<": a dictionary opens */
				f->mode = BT_CODE;
			break;
		case BT_COMMENT:
			if (b == '\n' || b == '\r')
				f->mode = BT_CODE;
			break;
		default:
			if (b == '/') {
				body_token(f);
				f->tok_name = true;
			} else if (b == ' ' || b == '\n' || b == '\r' || b == '\t' || b == '\f' || b == 0) {
				body_token(f);
			} else if (b == '(' || b == '<' || b == '>' || b == '[' || b == ']' || b == '{' || b == '}' ||
				   b == '%' || b == ')') {
				body_break(f);
				if (b == '(') {
					f->mode = BT_LITERAL;
					f->lit_depth = 0;
					f->lit_esc = false;
				} else if (b == '<') {
					f->mode = BT_HEX;
				} else if (b == '%') {
					f->mode = BT_COMMENT;
				}
			} else if (f->n_tok < PF_NAME) {
				f->tok[f->n_tok++] = (char)b;
			} else {
				f->tok_long = true;
			}
			break;
		}
	}
}

/* ---- CMap streams: "begincodespacerange", "beginbfchar", "beginbfrange" */

static int cmap_of_obj(const struct pdf_fonts *f, uint32_t obj)
{
	for (unsigned i = 0; i < f->n_cmaps; i++)
		if (f->cmaps[i].obj == obj)
			return (int)i;
	return -1;
}

void pdf_fonts_stream_begin(struct pdf_fonts *f)
{
	if (!f)
		return;
	/* "N G obj << ... >> stream": the body tokenizer is past "stream" and in its skip mode,
	 * which the inflated stream's "endstream" ends */
	f->stream_obj = f->cur_obj;
	f->cur_font = -1; /* a stream selects its font before showing text (a CMap never does) */
	f->live_cm = -1;
	f->open_run = 0;
	f->cm = -1;
	f->bc_match = 0;
	f->cm_mode = CM_NONE;
	f->cm_tok_n = 0;
	f->cm_hex = f->cm_array = false;
	f->n_ops = 0;
}

/* The character(s) of a UTF-16BE destination of d hex digits. */
static void utf16_cps(uint64_t v, uint8_t d, uint32_t *cp, uint32_t *cp2)
{
	uint32_t u[4] = {0};
	unsigned n = d / 4 > 4 ? 4 : d / 4;

	for (unsigned i = 0; i < n; i++)
		u[i] = (uint32_t)(v >> (16 * (n - 1 - i))) & 0xffff;
	*cp = *cp2 = 0;
	if (n == 0)
		return;
	if (u[0] >= 0xd800 && u[0] < 0xdc00 && n >= 2 && u[1] >= 0xdc00 && u[1] < 0xe000) {
		*cp = 0x10000 + ((u[0] - 0xd800) << 10) + (u[1] - 0xdc00);
		if (n >= 3)
			*cp2 = u[2];
	} else {
		*cp = u[0];
		if (n >= 2)
			*cp2 = u[1];
	}
}

static void add_range(struct pdf_fonts *f, uint32_t lo, uint32_t hi, uint64_t dst, uint8_t dst_digits)
{
	struct pf_range *r;
	uint32_t cp, cp2;

	if (f->cm < 0 || hi < lo || hi - lo > 0xffff || f->n_ranges >= PF_MAX_RANGES)
		return;
	if (f->n_ranges == f->cap_ranges) {
		unsigned cap = f->cap_ranges ? 2 * f->cap_ranges : 256;
		struct pf_range *nr = realloc(f->ranges, cap * sizeof(*nr));
		if (!nr)
			return;
		f->ranges = nr;
		f->cap_ranges = cap;
	}
	utf16_cps(dst, dst_digits, &cp, &cp2);
	if (cp == 0)
		return;
	r = &f->ranges[f->n_ranges++];
	f->sorted = false;
	*r = (struct pf_range){.lo = lo, .hi = hi, .cp = cp, .cp2 = cp2, .cmap = (uint16_t)f->cm};
	if (cp != lo || cp2)
		f->cmaps[f->cm].changes = true;
	if (!f->cmaps[f->cm].code_bytes)
		f->cmaps[f->cm].code_bytes = f->ops_digits[0] > 2 ? 2 : 1;
	if (f->ops_digits[0] > 2 || hi > 0xff) {
		f->cmaps[f->cm].reread = f->cmaps[f->cm].reread || f->cmaps[f->cm].changes;
		return;
	}
	for (uint32_t code = lo; code <= hi && !f->cmaps[f->cm].reread; code++) {
		uint32_t c = cp + (code - lo);
		bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
		if ((code >= 0x20 && code < 0x7f && c != code) || (code < 0x20 && alnum))
			f->cmaps[f->cm].reread = true;
	}
}

static void cmap_keyword(struct pdf_fonts *f)
{
	const char *k = f->cm_tok;
	size_t n = f->cm_tok_n;

	f->cm_tok_n = 0;
	if (n == 19 && memcmp(k, "begincodespacerange", 19) == 0) {
		f->cm_mode = CM_CODESPACE;
	} else if (n == 11 && memcmp(k, "beginbfchar", 11) == 0) {
		f->cm_mode = CM_BFCHAR;
	} else if (n == 12 && memcmp(k, "beginbfrange", 12) == 0) {
		f->cm_mode = CM_BFRANGE;
	} else if (n >= 3 && memcmp(k, "end", 3) == 0) {
		f->cm_mode = CM_NONE;
	}
	f->n_ops = 0;
}

/* A hex string of the CMap ended: an operand, or an element of a bfrange's array. */
static void cmap_hex(struct pdf_fonts *f)
{
	uint64_t v = f->hexv;
	uint8_t d = f->hex_digits;

	f->hexv = 0;
	f->hex_digits = 0;
	if (f->cm < 0 || f->cm_mode == CM_NONE)
		return;
	if (f->cm_array) {
		if (f->cm_mode == CM_BFRANGE && f->n_ops == 2 && f->ops[0] + f->arr_i <= f->ops[1]) {
			uint32_t code = (uint32_t)f->ops[0] + f->arr_i;
			add_range(f, code, code, v, d);
			f->arr_i++;
		}
		return;
	}
	if (f->cm_mode == CM_CODESPACE) {
		if (!f->cmaps[f->cm].code_bytes)
			f->cmaps[f->cm].code_bytes = d > 2 ? 2 : 1;
		return;
	}
	if (f->n_ops < 2) {
		f->ops[f->n_ops] = v;
		f->ops_digits[f->n_ops++] = d;
		if (f->cm_mode == CM_BFCHAR && f->n_ops == 2) {
			add_range(f, (uint32_t)f->ops[0], (uint32_t)f->ops[0], v, d);
			f->n_ops = 0;
		}
		return;
	}
	/* bfrange: lo hi dst */
	add_range(f, (uint32_t)f->ops[0], (uint32_t)f->ops[1], v, d);
	f->n_ops = 0;
}

/* "begincmap": the stream is a CMap, the object's (a stream it took for another fills none). */
static void start_cmap(struct pdf_fonts *f)
{
	f->cm = cmap_of_obj(f, f->stream_obj);
	if (f->cm < 0 && f->n_cmaps < PF_MAX_CMAPS) {
		f->cm = (int)f->n_cmaps++;
		f->cmaps[f->cm] = (struct pf_cmap){.obj = f->stream_obj};
	}
	f->cm_tok_n = 0;
	f->n_ops = 0;
}

void pdf_fonts_stream(struct pdf_fonts *f, const uint8_t *p, size_t n)
{
	static const char begincmap[] = "begincmap";
	size_t i = 0;

	if (!f)
		return;
	/* Until "begincmap" the stream is content (or a CMap's preamble): only that word is looked
	 * for, its first letter by memchr. Content streams are most of what passes here. */
	while (f->cm < 0 && i < n) {
		if (f->bc_match == 0) {
			const uint8_t *b = memchr(p + i, 'b', n - i);
			if (!b)
				return;
			i = (size_t)(b - p);
		}
		if (p[i] == (uint8_t)begincmap[f->bc_match]) {
			if (++f->bc_match == sizeof(begincmap) - 1) {
				f->bc_match = 0;
				start_cmap(f);
				if (f->cm < 0)
					return; /* no room for another CMap: the stream is not read */
			}
		} else {
			f->bc_match = p[i] == 'b' ? 1 : 0;
		}
		i++;
	}
	for (; i < n; i++) {
		uint8_t b = p[i];

		if (f->cm_hex) {
			int v = hex_value(b);
			if (b == '>') {
				f->cm_hex = false;
				cmap_hex(f);
			} else if (v >= 0 && f->hex_digits < 16) {
				f->hexv = f->hexv << 4 | (uint64_t)v;
				f->hex_digits++;
			}
			continue;
		}
		if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) {
			if (f->cm_tok_n < sizeof(f->cm_tok))
				f->cm_tok[f->cm_tok_n++] = (char)b;
			continue;
		}
		if (f->cm_tok_n)
			cmap_keyword(f);
		if (b == '<') {
			f->cm_hex = true;
			f->hexv = 0;
			f->hex_digits = 0;
		} else if (b == '[') {
			f->cm_array = true;
			f->arr_i = 0;
		} else if (b == ']') {
			f->cm_array = false;
			f->n_ops = 0;
		}
	}
}

/* ---- reading codes through a CMap */

static int range_cmp(const void *a, const void *b)
{
	const struct pf_range *x = a, *y = b;

	if (x->cmap != y->cmap)
		return x->cmap < y->cmap ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The CMap (index) through which the content font used[u] is read, or -1. */
static int cmap_of_used(const struct pdf_fonts *f, unsigned u)
{
	for (unsigned i = 0; i < f->n_names; i++) {
		if (f->names[i].n != f->n_used_len[u] || memcmp(f->names[i].s, f->used[u], f->names[i].n) != 0)
			continue;
		for (unsigned k = 0; k < f->n_fonts; k++)
			if (f->fonts[k].obj == f->names[i].obj)
				return cmap_of_obj(f, f->fonts[k].cmap_obj);
		return -1;
	}
	return -1;
}

static const struct pf_range *lookup(struct pdf_fonts *f, int cm, uint32_t code)
{
	size_t lo = 0, hi = f->n_ranges;

	if (!f->sorted) {
		qsort(f->ranges, f->n_ranges, sizeof(*f->ranges), range_cmp);
		memset(f->cache, 0, sizeof(f->cache));
		f->sorted = true;
	}
	/* the last range of cm whose lo ≤ code */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pf_range *r = &f->ranges[mid];
		if (r->cmap < cm || (r->cmap == cm && r->lo <= code))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct pf_range *r = &f->ranges[lo - 1];
	return r->cmap == cm && code <= r->hi ? r : NULL;
}

/* The characters of code in CMap cm (0, 1 or 2 of them, in cps), through the cache. */
static unsigned decode_code(struct pdf_fonts *f, int cm, uint32_t code, uint32_t cps[2])
{
	uint32_t key = ((uint32_t)cm << 16 | (code & 0xffff)) + 1;
	unsigned slot = (code ^ (uint32_t)cm * 97u) & 255u, k = 0;

	if (!f->sorted || f->cache[slot].key != key) {
		const struct pf_range *r = lookup(f, cm, code); /* sorts, and empties the cache, if need be */
		f->cache[slot].key = key;
		f->cache[slot].cp = r ? r->cp + (code - r->lo) : 0;
		f->cache[slot].cp2 = r ? r->cp2 : 0;
	}
	if (f->cache[slot].cp) {
		cps[k++] = f->cache[slot].cp;
		if (f->cache[slot].cp2)
			cps[k++] = f->cache[slot].cp2;
	}
	return k;
}

/* ---- content streams: the font in use, the strings it shows */

void pdf_fonts_select(struct pdf_fonts *f, const char *name, size_t n)
{
	if (!f)
		return;
	f->open_run = 0;
	f->cur_font = -1;
	f->live_cm = -1;
	f->live_have_hi = false;
	if (n == 0 || n > PF_NAME)
		return;
	for (unsigned i = 0; i < f->n_used && f->cur_font < 0; i++)
		if (f->n_used_len[i] == n && memcmp(f->used[i], name, n) == 0)
			f->cur_font = (int)i;
	if (f->cur_font < 0 && f->n_used < PF_MAX_USED) {
		memcpy(f->used[f->n_used], name, n);
		f->n_used_len[f->n_used] = (uint8_t)n;
		f->cur_font = (int)f->n_used++;
	}
	/* A writer that put the font and its CMap before the page (ReportLab does): read its
	 * strings right away, instead of as they came and then again at the end. */
	if (f->cur_font >= 0) {
		int cm = cmap_of_used(f, (unsigned)f->cur_font);
		if (cm >= 0 && f->cmaps[cm].changes)
			f->live_cm = cm;
	}
}

static bool runs_room(struct pdf_fonts *f, size_t need)
{
	if (f->n_runs + need <= f->cap_runs)
		return true;
	if (f->n_runs + need > PF_RUNS_MAX)
		return false;
	size_t cap = f->cap_runs ? 2 * f->cap_runs : 4096;
	while (cap < f->n_runs + need)
		cap *= 2;
	if (cap > PF_RUNS_MAX)
		cap = PF_RUNS_MAX;
	uint8_t *nr = realloc(f->runs, cap);
	if (!nr)
		return false;
	f->runs = nr;
	f->cap_runs = cap;
	return true;
}

/* Records: RUN_TEXT font len bytes... (len ≤ 255; a longer string continues in another record),
 * RUN_SEP char. */
int pdf_fonts_shown(struct pdf_fonts *f, uint8_t b, uint32_t cps[2])
{
	if (!f || f->cur_font < 0)
		return -1;
	if (f->live_cm >= 0) {
		uint32_t code = b;
		if (f->cmaps[f->live_cm].code_bytes == 2) {
			if (!f->live_have_hi) {
				f->live_hi = b;
				f->live_have_hi = true;
				return 0;
			}
			code = (uint32_t)f->live_hi << 8 | b;
			f->live_have_hi = false;
		}
		return (int)decode_code(f, f->live_cm, code, cps);
	}
	if (!f->open_run || f->runs[f->open_run] == 255) {
		if (!runs_room(f, 4))
			return -1;
		f->runs[f->n_runs++] = RUN_TEXT;
		f->runs[f->n_runs++] = (uint8_t)f->cur_font;
		f->open_run = f->n_runs;
		f->runs[f->n_runs++] = 0;
	} else if (!runs_room(f, 1)) {
		return -1;
	}
	f->runs[f->n_runs++] = b;
	f->runs[f->open_run]++;
	f->last_sep = 0;
	return -1;
}

void pdf_fonts_sep(struct pdf_fonts *f, char sep)
{
	if (!f || f->n_runs == 0)
		return;
	f->open_run = 0;
	if (f->last_sep) {
		if (sep == '\n')
			f->runs[f->last_sep] = '\n'; /* a line end outweighs a space */
		return;
	}
	if (!runs_room(f, 2))
		return;
	f->runs[f->n_runs++] = RUN_SEP;
	f->last_sep = f->n_runs;
	f->runs[f->n_runs++] = (uint8_t)sep;
}

/* ---- the end of the document: strings read through their fonts' CMaps */

struct emitter {
	uint8_t buf[2048];
	size_t n;
	struct rp_out *o;
};

static void emit_flush(struct emitter *em)
{
	out_text(em->o, em->buf, em->n);
	em->n = 0;
}

static void emit_cp(struct emitter *em, uint32_t cp)
{
	if (em->n + 4 > sizeof(em->buf))
		emit_flush(em);
	if (cp == 0 || (cp >= 0xd800 && cp < 0xe000))
		return;
	if (cp < 0x20 && cp != '\n') /* control characters of a CMap (tabs, breaks) read as a space */
		cp = ' ';
	em->n += utf8_encode(cp, em->buf + em->n);
}

/* What content text emitted for a string byte as it came (doc_text.c's pdf_char): ASCII as it is,
 * bytes from 0xa0 as Latin-1, line breaks and tabs as spaces, nothing for the rest. */
static uint32_t raw_reading(uint8_t b)
{
	if ((b >= 0x20 && b < 0x7f) || b >= 0xa0)
		return b;
	return b == '\n' || b == '\r' || b == '\t' ? ' ' : 0;
}

void pdf_fonts_finish(struct pdf_fonts *f, struct rp_out *o)
{
	struct emitter em = {.o = o};
	int cm_of[PF_MAX_USED];
	uint32_t dec[2 * 255], raw[255];
	bool any = false, last_text = false, started = false;

	if (!f || f->n_runs == 0 || f->n_ranges == 0)
		return;
	for (unsigned u = 0; u < f->n_used; u++) {
		cm_of[u] = cmap_of_used(f, u);
		if (cm_of[u] >= 0 && !f->cmaps[cm_of[u]].reread)
			cm_of[u] = -1; /* its strings were read well enough as they came */
		any = any || cm_of[u] >= 0;
	}
	if (!any)
		return;
	for (size_t i = 0; i + 1 < f->n_runs;) {
		if (f->runs[i] == RUN_SEP) {
			if (last_text)
				emit_cp(&em, f->runs[i + 1]);
			last_text = false;
			i += 2;
			continue;
		}
		/* RUN_TEXT font len bytes */
		if (i + 3 > f->n_runs)
			break;
		unsigned u = f->runs[i + 1], len = f->runs[i + 2], n_dec = 0, n_raw = 0;
		const uint8_t *s = f->runs + i + 3;
		i += 3;
		if (i + len > f->n_runs)
			break;
		i += len;
		if (u >= f->n_used || cm_of[u] < 0)
			continue;
		int cm = cm_of[u];
		unsigned step = f->cmaps[cm].code_bytes == 2 ? 2 : 1;
		for (unsigned k = 0; k + step <= len; k += step) {
			uint32_t code = step == 2 ? (uint32_t)s[k] << 8 | s[k + 1] : s[k];
			n_dec += decode_code(f, cm, code, dec + n_dec);
		}
		for (unsigned k = 0; k < len; k++)
			if ((raw[n_raw] = raw_reading(s[k])) != 0)
				n_raw++;
		for (unsigned k = 0; k < n_dec; k++)
			if (dec[k] < 0x20)
				dec[k] = ' ';
		/* read the same as it came (ASCII kept as it is in a font that changes other codes):
		 * emitted already, and twice would count its findings twice */
		if (n_dec == n_raw && memcmp(dec, raw, n_dec * sizeof(dec[0])) == 0)
			continue;
		if (!started) {
			emit_cp(&em, '\n');
			started = true;
		}
		for (unsigned k = 0; k < n_dec; k++)
			emit_cp(&em, dec[k]);
		last_text = n_dec > 0;
	}
	if (started)
		emit_cp(&em, '\n');
	emit_flush(&em);
}

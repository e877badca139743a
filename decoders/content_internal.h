/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The document layer's parts (content.c: body state machine, zip framing, what announces a
 * document; doc_text.c: text out of XML and PDF content streams; content_pdf.c: PDF streams;
 * content_b64.c: base64 files in JSON), and the state they share. Internal to libdecoders.
 */
#ifndef REMPART_DECODERS_CONTENT_INTERNAL_H
#define REMPART_DECODERS_CONTENT_INTERNAL_H

#include <stddef.h>

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
	char name[32];       /* the last name (/F1): the font of a Tf operator */
	uint8_t n_name;
	bool in_name;
	uint8_t n_nums;      /* numbers since the last operator (the last two kept) */
	float nums[2];
	float font_size;     /* of the last Tf */
	uint32_t shown;      /* string bytes shown since the text last moved */
};

struct zip_entry {
	uint8_t hdr[ZIP_LOCAL_FIXED];
	uint8_t n_hdr;
	uint16_t flags, method, name_len, extra_len, n_name;
	uint32_t csize;
	char name[ZIP_NAME_KEEP + 1];
	bool text, xml, pdf;  /* pdf: a PDF content stream, not a zip entry */
	bool drain;           /* a PDF stream that turned binary: inflated to its end, not read */
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
	struct pdf_fonts *fonts; /* a PDF stream: its document's fonts (pdf_fonts.c), may be NULL */
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


#define PDF_WIN 512u
#define PDF_DICT_CTX (PDF_WIN - 8) /* bytes before a keyword read for its dictionary: the same
					 * whether the keyword began in the window or in the piece */

/* doc_text.c: the text of an entry or stream, buffered in the entry */
void part_text_flush(struct zip_entry *e, struct rp_out *o);
void part_text_put(struct zip_entry *e, const void *p, size_t n, struct rp_out *o);
/* Decoded bytes of e: XML reduced to its text, PDF content reduced to the strings it shows,
 * other text as it is. */
void part_text(struct zip_entry *e, const uint8_t *p, size_t n, struct rp_out *o);
size_t part_pdf_text_prefix(struct zip_entry *e, const uint8_t *p, size_t n);

/* content.c */
void zip_entry_release(struct zip_entry *e);
void zip_entry_done(struct rp_content *c, struct rp_out *o);
size_t zip_entry_inflate(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o);
void content_keep_last(uint8_t *buf, size_t cap, size_t *len, const uint8_t *p, size_t n);

/* content_pdf.c */
int pdf_eol(const uint8_t *b, size_t n, size_t k);
bool pdf_stream_dict_ok(const struct rp_content *c, const uint8_t *b, ptrdiff_t ks, bool *a85);
bool pdf_stream_start(struct rp_content *c, bool a85, struct rp_out *o);
size_t pdf_a85_feed(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o);
void pdf_win_push(struct rp_content *c, const uint8_t *p, size_t n);

/* pdf_fonts.c: text of fonts with their own codes, read through their ToUnicode CMaps */
struct pdf_fonts;
int pdf_fonts_new(struct pdf_fonts **out);
void pdf_fonts_free(struct pdf_fonts *f); /* NULL-safe */
void pdf_fonts_body(struct pdf_fonts *f, const uint8_t *p, size_t n); /* body bytes outside streams */
void pdf_fonts_stream_begin(struct pdf_fonts *f);                      /* after "stream", before its data */
void pdf_fonts_stream(struct pdf_fonts *f, const uint8_t *p, size_t n); /* a stream's inflated bytes */
void pdf_fonts_select(struct pdf_fonts *f, const char *name, size_t n); /* content: "/name size Tf" */
/* content: a byte of a string shown. Returns -1 when it is to be read as it is (and is kept to be
 * read again at the end, should its font turn out to have its own codes), else the number of
 * characters it gave in cps (0 to 2), read through its font's CMap. */
int pdf_fonts_shown(struct pdf_fonts *f, uint8_t b, uint32_t cps[2]);
void pdf_fonts_sep(struct pdf_fonts *f, char sep);                      /* content: the text moves */
void pdf_fonts_finish(struct pdf_fonts *f, struct rp_out *o);           /* the document ended */

/* content_b64.c */
size_t b64_feed(struct rp_content *c, const uint8_t *p, size_t n, struct rp_out *o);
void b64_end(struct rp_content *c, struct rp_out *o);

#endif

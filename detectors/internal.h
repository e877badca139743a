/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal structures of the detection library. Nothing here is part of the public API.
 *
 * Data path, per block or feed:
 *  - Hyperscan (one block and one streaming database per engine) finds what has a literal to
 *    anchor on: e-mail '@', written dates, HL7/FHIR/CDA/DICOM markers, custom regexes;
 *  - the C digit scanner (scanner.c) finds where digit groups end: digit runs with separators,
 *    Corsican NIRs, IBANs, DEA numbers, ICD-10/ATC codes, numeric dates;
 *  - handlers walk back from that end over a "view" (the current chunk plus the stream's kept
 *    history) to the value's start, validate it and mask it;
 *  - scoring.c searches the context window around the value for its keywords (one small
 *    Hyperscan database per keyword class), and emits the finding, drops it, or parks it in a
 *    small pending list until the stream has passed the window after it.
 * Patterns report only end offsets: start-of-match tracking would grow the stream state.
 */
#ifndef REMPART_DETECTORS_INTERNAL_H
#define REMPART_DETECTORS_INTERNAL_H

#include <hs/hs.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detectors.h"

/* Bytes of history a stream keeps for candidates split across feeds. Long enough for an IBAN with
 * JSON-escaped separators (34 chars + 8 * 6 bytes) and the look-behind at its start. */
#define RP_TAIL 160
/* Findings waiting for context after them, per stream (bounded: overflow flushes the oldest). */
#define RP_PENDING_MAX 8
/* History an idle stream keeps at least (rp_stream_flush): split markers and dates. */
#define RP_IDLE_KEEP 48
/* Longest separator: the JSON escape "\u00a0". */
#define RP_SEP_MAXLEN 6
/* Longest candidate we extract, significant characters (digits/letters). */
#define RP_SIG_MAX 40
/* Raw bytes of one candidate (significant chars + separators). */
#define RP_RAW_MAX 256
#define RP_DEFAULT_WINDOW 300
#define RP_MAX_WINDOW 4096
/* Keywords straddling the edge of an already searched range are searched again: at most this many
 * bytes before it (the class's own reach, engine->kw_reach, when shorter). */
#define RP_KW_OVERLAP 64

#define RP_NEVER UINT64_MAX

/* Context keyword classes of the built-ins; custom detectors get one class each after these. */
enum rp_kw_class {
	KW_NIR = 0,
	KW_RPPS,
	KW_FINESS,
	KW_ADELI,
	KW_VITALE,
	KW_IBAN,
	KW_CARD,
	KW_NPI,
	KW_SSN,
	KW_DEA,
	KW_PHONE,
	KW_EMAIL,
	KW_DOB,
	KW_ICD,
	KW_ATC,
	KW_BUSINESS,    /* SIREN/SIRET/TVA: negative context for business identifiers */
	KW_ORDER,       /* order/tracking/invoice numbers: negative context */
	KW_FHIR_FR,     /* FR Core INS OIDs: raises fhir/hl7v2 */
	KW_CDA_ROOT,    /* "<ClinicalDocument" */
	KW_CDA_NS,      /* "urn:hl7-org:v3" */
	KW_CDA_FR,      /* CI-SIS templateId */
	KW__BUILTIN,
};
#define KW_NONE UINT32_MAX

/* Hyperscan pattern ids; DATE_NUM, DATE_ISO, DATE_TXT, ICD10 and ATC only select a handler for
 * the digit scanner (they are not in the databases). */
enum rp_pattern_id {
	PAT_DATE_NUM = 1,
	PAT_DATE_ISO,
	PAT_DATE_TXT,
	PAT_ICD10,
	PAT_ATC,
	PAT_HL7,
	PAT_FHIR_JSON,
	PAT_FHIR_XML,
	PAT_DICOM_ANY,
	PAT_DICOM_128,
	PAT_CDA_ROOT,
	PAT_CDA_NS,
	PAT_KW_BASE = 1000,      /* + index in engine->kw */
	PAT_CUSTOM_BASE = 100000 /* + custom index */
};

enum rp_validator {
	VAL_NONE = 0,
	VAL_LUHN,
	VAL_NIR,
	VAL_IBAN,
	VAL_CREDIT_CARD,
	VAL_US_NPI,
	VAL_US_SSN,
	VAL_US_DEA,
	VAL_FR_NIF,
	VAL__COUNT,
};

struct rp_det_info {
	char id[RP_ID_MAX];
	double base;           /* confidence after a pattern hit (and a valid checksum, if any) */
	double ctx_bonus;      /* added when a context keyword is in the window */
	bool needs_context;
	bool enabled;
	double min_confidence;
	uint32_t kw_class;     /* KW_* or custom class, KW_NONE when no keyword helps */
	unsigned window;       /* context window on each side, bytes (the policy's, or shorter) */
	enum rp_validator validator; /* custom detectors */
};

struct rp_kw_entry {
	uint64_t classes;      /* bit i: built-in class i */
	uint32_t custom_class; /* KW_NONE or a class >= KW__BUILTIN */
};

struct rp_engine {
	hs_database_t *db_block;
	hs_database_t *db_stream;
	hs_database_t **db_kwc; /* per keyword class (n_classes, NULL when empty), block mode: searched
				 * only around candidates */
	uint8_t *kw_reach;      /* per keyword class: how far before a window its keywords may start
				 * (longest match + 1 byte for a word boundary, at most RP_KW_OVERLAP) */
	hs_database_t *db_kw_all; /* every keyword, ids PAT_KW_BASE + index in kw: an idle stream's
				   * history is summed up with it (rp_stream_flush) */
	unsigned n_det;        /* built-ins + customs */
	unsigned n_classes;    /* keyword classes */
	unsigned window;
	int now_year;          /* for date-of-birth plausibility, fixed at compile time */
	unsigned birth_cy_first, birth_cy_last; /* the centuries of birth years as written: '1' << 8 | '9' */
	struct rp_det_info det[RP_DET_MAX];
	struct rp_kw_entry *kw;
	size_t n_kw;
};

struct rp_pending {
	uint64_t offset, length;
	uint64_t scanned_to;   /* context after the value searched up to here */
	double confidence;     /* without context */
	unsigned detector;
	char masked[RP_MASKED_MAX];
};

/* Digit/upper-case region tracker of the C scanner (scanner.c), carried across feeds. */
struct rp_dscan {
	uint64_t tracked_to;   /* bytes before this offset went through the tracker */
	uint32_t digits;       /* digits in the current region (loosely: escapes' hex digits count) */
	uint32_t upper;        /* upper-case letters in it */
	uint32_t rdigits;      /* digits since its last capital: a digit run never crosses one */
	uint32_t glen;         /* length of the current digit group */
	uint8_t gap;           /* separator-ish bytes since the last digit or letter */
	uint8_t uprun;         /* capitals just before the current byte */
	bool in_digit;
	bool in_upper;
	bool saw_ab;           /* a digit then A or B: Corsican NIR candidate */
	bool saw_cc;           /* two capitals then a digit ("FR76"): IBAN candidate */
};

/* Per-stream (or per-block-scan) state beside Hyperscan's. Fields ordered to pack: one per flow. */
struct rp_side {
	struct rp_dscan ds;
	struct rp_pending *pending; /* RP_PENDING_MAX entries, allocated when one is parked */
	/* Decisions waiting for the next feed's bytes (0: none); rp_waiting_of/rp_waiting_put. */
	uint64_t run_end;      /* a digit run ended at a feed boundary */
	uint64_t code_end;     /* same for an ICD-10 code ("E11" then ".9" in the next feed) */
	uint64_t cda_root;     /* end of the latest "<ClinicalDocument", RP_NEVER */
	uint64_t cda_ns;       /* end of the latest "urn:hl7-org:v3", RP_NEVER */
	uint8_t n_pending;
	uint8_t time_left;     /* a date-time's hour ended this many bytes before the feed and its
				* minutes had not arrived (rp_time_deferred) */
	uint8_t email_left;    /* an e-mail's '@' was this many bytes before the feed and its domain
				* ran to the end of it (rp_email_at) */
	bool cda_done : 1, fhir_done : 1, hl7_done : 1, dicom_done : 1;
};

/* The waiting decisions of a side, as one value: a flush puts them back after deciding them as
 * if the data ended, a gap or a reset clears them. (Not a member struct: its padding would grow
 * every flow by 8 bytes.) */
struct rp_waiting {
	uint64_t run_end, code_end;
	uint8_t time_left, email_left;
};

static inline struct rp_waiting rp_waiting_of(const struct rp_side *sd)
{
	return (struct rp_waiting){sd->run_end, sd->code_end, sd->time_left, sd->email_left};
}

/* A decision waiting *left bytes before the current feed: its offset in *at, and it waits no
 * more (the caller decides it, or records it again). */
static inline bool rp_waiting_take(uint64_t cur_base, uint8_t *left, uint64_t *at)
{
	if (!*left || cur_base < *left)
		return false;
	*at = cur_base - *left;
	*left = 0;
	return true;
}

static inline void rp_waiting_put(struct rp_side *sd, struct rp_waiting w)
{
	sd->run_end = w.run_end;
	sd->code_end = w.code_end;
	sd->time_left = w.time_left;
	sd->email_left = w.email_left;
}

/*
 * Candidates waiting for their keyword search, per scan call. One Hyperscan call per keyword class
 * over all their windows costs far less than one call per candidate (dense clinical text has a
 * date or a number every few lines).
 */
#define RP_QUEUE_MAX 128
#define RP_BATCH_BUF (16u << 10)
struct rp_queued {
	uint64_t offset, length;
	uint64_t lo, hi;       /* accepted keyword ends */
	unsigned det;
	unsigned head, tail;   /* evidence masking (struct rp_evidence) */
	bool found;
};

struct rp_scratch {
	hs_scratch_t *hs;
	hs_scratch_t *hs_kw;   /* keyword searches run inside the main scan's callback */
	const struct rp_engine *engine;
	struct rp_side block_side; /* reused by rp_scan_block */
	uint8_t *kwbuf;        /* bytes around a candidate, gathered for the keyword search */
	size_t kwbuf_len;
	uint8_t *batch;        /* RP_BATCH_BUF: windows of queued candidates, NUL-separated */
	struct rp_queued queue[RP_QUEUE_MAX];
	unsigned n_queued;
};

/*
 * A keyword that ended before an idle stream's kept history: what the context window before a
 * value still needs of the bytes let go (rp_stream_flush).
 */
struct rp_kw_mark {
	uint16_t cls;
	uint16_t dist;         /* the keyword ended this many bytes before the stream's position */
};
_Static_assert(RP_MAX_WINDOW + RP_TAIL < UINT16_MAX, "mark distances fit");

struct rp_stream {
	const struct rp_engine *engine;
	hs_stream_t *hs;
	uint64_t hs_base;      /* stream offset where the Hyperscan stream (re)started */
	uint64_t pos;          /* bytes fed (and skipped) so far */
	/* The last bytes before pos, contiguous (cleared by a skip): a split value and the context
	 * window before it while the stream is busy (window + RP_TAIL), fewer once idle; then, at
	 * rp_marks_at(tail_cap), n_marks keywords older than that history. */
	uint8_t *tail;
	uint16_t tail_len, tail_cap, n_marks;
	bool stopped;          /* a callback asked to stop: Hyperscan refuses further scans */
	struct rp_side side;
};

static inline size_t rp_marks_at(size_t tail_cap)
{
	return (tail_cap + 3) & ~(size_t)3;
}

/* Value of a byte in a view, or one of these. */
#define VB_FUTURE (-1) /* not arrived yet (streaming) */
#define VB_GONE (-2)   /* older than the kept history */
#define VB_EOD (-3)    /* past the end of the data (block mode, close, gap) */

/* What the C side can see around a match: kept history + current chunk. */
struct rp_view {
	const uint8_t *hist;
	uint64_t hist_base;
	size_t hist_len;
	const uint8_t *cur;
	uint64_t cur_base;
	size_t cur_len;
	bool eod;
	const struct rp_kw_mark *marks; /* keywords before hist (distances back from cur_base) */
	unsigned n_marks;
};

struct rp_scan_ctx {
	const struct rp_engine *e;
	struct rp_scratch *s;
	struct rp_side *side;
	struct rp_view v;
	uint64_t hs_base;
	rp_finding_cb cb;
	void *userdata;
	int stop;              /* non-zero value returned by cb */
};

static inline int view_byte(const struct rp_view *v, uint64_t off)
{
	if (off >= v->cur_base) {
		uint64_t i = off - v->cur_base;
		if (i < v->cur_len)
			return v->cur[i];
		return v->eod ? VB_EOD : VB_FUTURE;
	}
	if (off >= v->hist_base && off - v->hist_base < v->hist_len)
		return v->hist[off - v->hist_base];
	return VB_GONE;
}

/* The letter of a JSON-escaped blank: "\n", "\t", "\r". */
static inline bool rp_blank_escape_letter(int b)
{
	return b == 'n' || b == 't' || b == 'r';
}

/* Does a JSON-escaped blank (not "\\n": an escaped backslash, then n) end at pos? */
static inline bool rp_view_blank_escape_back(const struct rp_view *v, uint64_t pos)
{
	return pos >= 2 && rp_blank_escape_letter(view_byte(v, pos - 1)) && view_byte(v, pos - 2) == '\\' &&
	       (pos < 3 || view_byte(v, pos - 3) != '\\');
}

/* validators.c */
bool rp_luhn(const char *digits, size_t n);
bool rp_nir_valid(const char *sig, size_t n);     /* 15 chars, 2A/2B allowed */
bool rp_nir_shape(const char *sig, size_t n);     /* first 13 chars: sex, month, dept */
bool rp_iban_valid(const char *sig, size_t n);
int rp_iban_country_length(const char *cc);       /* 0 when unknown */
bool rp_card_valid(const char *digits, size_t n);
bool rp_card_grouping_ok(const unsigned *groups, size_t n_groups, size_t n_digits);
bool rp_npi_valid(const char *digits, size_t n);
bool rp_ssn_valid(const char *digits, size_t n);
bool rp_dea_valid(const char *sig, size_t n);
bool rp_nif_valid(const char *digits, size_t n);
bool rp_date_valid(int day, int month, int year, int now_year);
int rp_validator_lookup(const char *name);        /* enum rp_validator or -ENOENT */
bool rp_validator_run(enum rp_validator v, const char *sig, size_t n);

/* mask.c */
/* Copy raw bytes to out, significant chars (letters, digits) masked but the first head and the
 * last tail; separators kept (multi-byte ones become a space). */
void rp_mask_keep_ends(const uint8_t *raw, size_t raw_len, size_t head, size_t tail, char *out, size_t outlen);
size_t rp_sep_len_fwd(const uint8_t *p, size_t avail);
/* The same backwards, on contiguous bytes: end is one past the last, avail bytes before it. */
size_t rp_sep_len_back(const uint8_t *end, size_t avail);
/* Byte classes of the handlers; a view's negative values (VB_*) are in none. */
static inline bool rp_is_digit(int b)
{
	return b >= '0' && b <= '9';
}

static inline bool rp_is_upper(int b)
{
	return b >= 'A' && b <= 'Z';
}

static inline bool rp_is_alnum(int b)
{
	return rp_is_digit(b) || rp_is_upper(b) || (b >= 'a' && b <= 'z');
}

/* \b's word characters: a value must not be glued to one */
static inline bool rp_is_word(int b)
{
	return rp_is_alnum(b) || b == '_';
}

static inline bool rp_is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* "\uXXXX" ends at end; called for every byte walked back over, hence inline */
static inline bool rp_escape_back(const uint8_t *end, size_t avail)
{
	const uint8_t *q = end - 6;
	return avail >= 6 && q[0] == '\\' && q[1] == 'u' && rp_is_hex(q[2]) && rp_is_hex(q[3]) && rp_is_hex(q[4]) &&
	       rp_is_hex(q[5]);
}
size_t rp_mask_count_sig(const uint8_t *raw, size_t raw_len);

/* sep.c */
int rp_view_sep_fwd(const struct rp_view *v, uint64_t off); /* length, 0, or VB_FUTURE */
int rp_view_sep_back(const struct rp_view *v, uint64_t end); /* length of a separator ending at end, or 0 */
bool rp_view_escape_back_at(const struct rp_view *v, uint64_t end); /* the full check, '\\' at end - 6 */
/* "\uXXXX" ends at end; called for every byte walked back over, hence the inline rejection */
static inline bool rp_view_escape_back(const struct rp_view *v, uint64_t end)
{
	return end >= 6 && view_byte(v, end - 6) == '\\' && rp_view_escape_back_at(v, end);
}
/* Collect up to max+1 significant chars ending at end (single separators allowed between them),
 * in forward order with their offsets. Returns how many. */
int rp_collect_back(const struct rp_view *v, uint64_t end, size_t max, bool (*acc)(int), char *sig, uint64_t *offs);
/* The byte before start does not glue a value to a word. */
bool rp_view_boundary_before(const struct rp_view *v, uint64_t start);
bool rp_view_gather(const struct rp_view *v, uint64_t from, uint64_t to, uint8_t *out);

/* keywords.c */
int rp_keywords_build(struct rp_engine *e, const struct rp_engine_config *cfg, char ***exprs,
		      unsigned **flags, unsigned **ids, size_t *n, char *err, size_t errlen);
/* patterns.c */
size_t rp_builtin_patterns(const char *const **exprs, const unsigned **flags, const unsigned **ids);
void rp_builtin_info(struct rp_det_info det[RP_DET__BUILTIN], unsigned window);

/*
 * A candidate's evidence, masked only when the candidate is reported or parked: most candidates
 * are dropped (no keyword, a look-alike), and masking them all cost more than validating them.
 */
struct rp_evidence {
	const uint8_t *raw;    /* the value as it appears, or NULL: read from the view when needed */
	size_t raw_len;
	unsigned head, tail;   /* significant characters kept at each end */
	const char *fixed;     /* evidence that is not the value (markers), or NULL */
};
/* mask.c */
void rp_evidence_mask(const struct rp_evidence *ev, char out[RP_MASKED_MAX]);

/* scoring.c */
void rp_side_reset(struct rp_side *sd);
/* A value whose place in a record is its context (HL7 PID-7): reported at once, with the bonus. */
void rp_candidate_in_context(struct rp_scan_ctx *c, unsigned det, uint64_t offset, uint64_t length,
			     const struct rp_evidence *ev);
/* A validated candidate: emit now (context known), park it, or drop it. */
void rp_candidate(struct rp_scan_ctx *c, unsigned det, uint64_t offset, uint64_t length,
		  const struct rp_evidence *ev);
/* Search the newly arrived bytes for context after pending findings; decide those whose window
 * is complete (all of them with force). */
void rp_pending_update(struct rp_scan_ctx *c, bool force);
void rp_cda_check(struct rp_scan_ctx *c);
/* scanner.c: digit groups and upper-case codes, found in C rather than by Hyperscan */
void rp_dscan(struct rp_scan_ctx *c, const uint8_t *p, size_t n, uint64_t base);
void rp_dscan_eod(struct rp_scan_ctx *c, uint64_t end);
/* For the tests: the scanner's trigger search as rp_dscan walks it (from 0; after a trigger at t,
 * on from t + 1, plus up to jump - 1 bytes), with the SSE2 code or the best at hand. Records each
 * search's start and result (n: none); returns how many searches. */
size_t rp_scan_trigger_walk(const uint8_t *p, size_t n, bool sse2, unsigned jump, size_t *starts, size_t *found,
			    size_t max);
/* Bytes at the end of p[0..n) that a region still being tracked may span (walking back). */
size_t rp_dscan_region_back(const uint8_t *p, size_t n);
/* SIREN/SIRET/order keyword just before start: a Luhn-only number there is not health data. */
bool rp_negative_near(struct rp_scan_ctx *c, uint64_t start);

/* How many bytes before a window its keywords of class cls may start. */
static inline uint64_t rp_kw_reach(const struct rp_engine *e, uint32_t cls)
{
	return e->kw_reach && cls < e->n_classes ? e->kw_reach[cls] : RP_KW_OVERLAP;
}

/* match.c */
int rp_on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *ctx);
/* A digit run whose end could not be decided at the previous feed boundary. */
void rp_deferred_run(struct rp_scan_ctx *c);
void rp_time_deferred(struct rp_scan_ctx *c);
/* digits.c */
/* 1: handled (or rejected), 0: run continues, -1: undecidable yet (streaming) */
/* glued: the run is glued to a letter after it, only a NIR ending it counts */
int rp_digit_run(struct rp_scan_ctx *c, uint64_t end, bool glued);
void rp_nir_corsica(struct rp_scan_ctx *c, uint64_t end);
/* text.c */
void rp_iban(struct rp_scan_ctx *c, uint64_t end);
void rp_dea(struct rp_scan_ctx *c, uint64_t end);
void rp_email_at(struct rp_scan_ctx *c, uint64_t at);
void rp_email_deferred(struct rp_scan_ctx *c);
void rp_date(struct rp_scan_ctx *c, unsigned pat, uint64_t end);
/* -1 when the bytes after end (still to come) decide */
int rp_code(struct rp_scan_ctx *c, unsigned pat, uint64_t end);
void rp_marker(struct rp_scan_ctx *c, unsigned pat, uint64_t end);
/* HL7 v2 PID-7 birth date ending at end (g digits after a '|'). */
void rp_hl7_birth_date(struct rp_scan_ctx *c, uint64_t end, uint32_t g);
void rp_custom(struct rp_scan_ctx *c, unsigned idx, uint64_t from, uint64_t end);

#endif

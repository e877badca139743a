/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The digit scanner: finds where groups of digits end and hands those ends to the validators
 * (digit runs, Corsican NIR, IBAN, DEA, ICD-10/ATC codes, numeric dates).
 *
 * Why not Hyperscan: digits are everywhere in clinical text (doses, dates, lab values), and the
 * generic "digits with separators" and "letter + digits" patterns have no literal factor for
 * Hyperscan to anchor on; as NFAs they ran at a fraction of the speed of this loop. Most 16-byte
 * blocks of prose hold no digit and no capital letter and are skipped with SSE2; the rest goes
 * through a small state machine that tracks the current "region" (digits, capitals and
 * separator-ish bytes) loosely: the handlers re-check everything exactly on the view, so the
 * region only has to be a superset of every real value.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "internal.h"

enum { C_OTHER = 0, C_DIGIT, C_UPPER, C_SEP };

/* Separator-ish: ' ', '.', '-', the bytes of NBSP/narrow NBSP and of the escapes \u00a0 \u202f.
 * A constant table: the daemon scans from several threads. */
static const uint8_t cls_table[256] = {
	['0' ... '9'] = C_DIGIT,
	['A' ... 'Z'] = C_UPPER,
	[' '] = C_SEP, ['.'] = C_SEP, ['-'] = C_SEP, ['\\'] = C_SEP, ['u'] = C_SEP, ['a'] = C_SEP, ['f'] = C_SEP,
	[0xc2] = C_SEP, [0xa0] = C_SEP, [0xe2] = C_SEP, [0x80] = C_SEP, [0xaf] = C_SEP,
};

static bool is_word(int b)
{
	return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || b == '_';
}

static bool is_upper(int b)
{
	return b >= 'A' && b <= 'Z';
}

/* A group of digits ended at end (exclusive). */
static void group_end(struct rp_scan_ctx *c, const struct rp_dscan *ds, uint64_t end)
{
	int after = view_byte(&c->v, end);
	uint32_t g = ds->glen;

	/* the value must end at a word boundary (EOD counts) */
	if (after >= 0 && is_word(after) && !is_upper(after))
		return;
	if (after >= 0 && is_upper(after)) {
		/* "253072B0..." or "FR76ABCD": only letter-and-digit values go on past a capital */
		return;
	}
	if (ds->digits >= 9 && rp_digit_run(c, end) == -1) {
		c->side->run_deferred = true;
		c->side->run_end = end;
	}
	if (ds->saw_ab && ds->digits >= 13)
		rp_nir_corsica(c, end);
	if (ds->upper >= 2 && ds->digits + ds->upper >= 14)
		rp_iban(c, end);
	if (ds->upper >= 1 && end > g + 1) {
		/* cheap shape checks before the handlers: the byte(s) just before the group */
		uint64_t gs = end - g;
		int b1 = view_byte(&c->v, gs - 1), b2 = gs >= 2 ? view_byte(&c->v, gs - 2) : -1;
		if ((g == 7 && is_upper(b1) && (is_upper(b2))) || (g == 8 && is_upper(b1)))
			rp_dea(c, end);
		/* ICD-10 "F32", "E1165", or the part after the dot of "F32.1" */
		if ((g >= 2 && g <= 6 && is_upper(b1)) ||
		    (g <= 4 && b1 == '.' && gs >= 4 && is_upper(view_byte(&c->v, gs - 4)))) {
			if (rp_code(c, PAT_ICD10, end) == -1) {
				c->side->code_deferred = true;
				c->side->code_end = end;
			}
		}
		if (g == 2 && is_upper(b1) && is_upper(b2) && ds->upper >= 3)
			rp_code(c, PAT_ATC, end);
	}
	if (g == 4 && end >= 5) {
		int sep = view_byte(&c->v, end - 5);
		if (sep == '/' || sep == '.' || sep == '-')
			rp_date(c, PAT_DATE_NUM, end);
	} else if (g == 2 && end >= 10 && view_byte(&c->v, end - 3) == '-' && view_byte(&c->v, end - 6) == '-') {
		rp_date(c, PAT_DATE_ISO, end);
	}
}

/* A run of capitals ended at end: IBANs may end with letters (IT, for one). */
static void upper_end(struct rp_scan_ctx *c, const struct rp_dscan *ds, uint64_t end)
{
	int after = view_byte(&c->v, end);
	if (after >= 0 && is_word(after))
		return;
	if (ds->digits >= 2 && ds->upper >= 2 && ds->digits + ds->upper >= 14)
		rp_iban(c, end);
}

static inline void reset_region(struct rp_dscan *ds)
{
	ds->digits = 0;
	ds->upper = 0;
	ds->gap = 0;
	ds->saw_ab = false;
}

void rp_dscan(struct rp_scan_ctx *c, const uint8_t *p, size_t n, uint64_t base)
{
	const uint8_t *cls = cls_table;
	struct rp_dscan *ds = &c->side->ds;
	size_t i = 0;

	while (i < n && !c->stop) {
#if defined(__SSE2__)
		/* Outside any region, skip blocks with no digit and no capital. */
		if (!ds->in_digit && !ds->in_upper && ds->digits == 0 && ds->upper == 0) {
			const __m128i c0 = _mm_set1_epi8('0'), cA = _mm_set1_epi8('A');
			const __m128i d9 = _mm_set1_epi8(9), u25 = _mm_set1_epi8(25), z = _mm_setzero_si128();
			while (i + 17 <= n) {
				/* a digit, or a capital followed by a capital or a digit ("F32", "FR76",
				 * "AB1234563"): a capital starting a word ("Patient") is no value */
				__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
				__m128i w = _mm_loadu_si128((const __m128i *)(p + i + 1));
				__m128i isd = _mm_cmpeq_epi8(_mm_subs_epu8(_mm_sub_epi8(v, c0), d9), z);
				__m128i isu = _mm_cmpeq_epi8(_mm_subs_epu8(_mm_sub_epi8(v, cA), u25), z);
				__m128i nxd = _mm_cmpeq_epi8(_mm_subs_epu8(_mm_sub_epi8(w, c0), d9), z);
				__m128i nxu = _mm_cmpeq_epi8(_mm_subs_epu8(_mm_sub_epi8(w, cA), u25), z);
				__m128i trig = _mm_or_si128(isd, _mm_and_si128(isu, _mm_or_si128(nxd, nxu)));
				unsigned m = (unsigned)_mm_movemask_epi8(trig);
				if (m) {
					i += (size_t)__builtin_ctz(m);
					break;
				}
				i += 16;
			}
			if (i >= n)
				break;
			/* JSON bodies escape every accent ("\u00e9"): its hex digits are not a value */
			if (i >= 2 && p[i - 1] == 'u' && p[i - 2] == '\\' && i + 4 <= n && !rp_sep_len_fwd(p + i - 2, 6)) {
				i += 4;
				continue;
			}
		}
#endif
		uint8_t b = p[i];
		switch (cls[b]) {
		case C_DIGIT:
			ds->in_upper = false;
			if (!ds->in_digit) {
				ds->in_digit = true;
				ds->glen = 0;
			}
			ds->glen++;
			ds->digits++;
			ds->gap = 0;
			break;
		case C_UPPER:
			if (ds->in_digit) {
				ds->in_digit = false;
				group_end(c, ds, base + i);
			}
			ds->upper++;
			ds->in_upper = true;
			ds->gap = 0;
			if (b == 'A' || b == 'B')
				ds->saw_ab = true;
			break;
		case C_SEP:
			if (ds->in_digit) {
				ds->in_digit = false;
				group_end(c, ds, base + i);
			}
			if (ds->in_upper) {
				ds->in_upper = false;
				upper_end(c, ds, base + i);
			}
			if (++ds->gap > RP_SEP_MAXLEN)
				reset_region(ds);
			break;
		default:
			if (ds->in_digit) {
				ds->in_digit = false;
				group_end(c, ds, base + i);
			}
			if (ds->in_upper) {
				ds->in_upper = false;
				upper_end(c, ds, base + i);
			}
			reset_region(ds);
			break;
		}
		i++;
	}
}

void rp_dscan_eod(struct rp_scan_ctx *c, uint64_t end)
{
	struct rp_dscan *ds = &c->side->ds;
	if (ds->in_digit && !c->stop) {
		ds->in_digit = false;
		group_end(c, ds, end);
	}
	if (ds->in_upper && !c->stop) {
		ds->in_upper = false;
		upper_end(c, ds, end);
	}
	reset_region(ds);
}

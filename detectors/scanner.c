/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The digit scanner: finds where groups of digits end and hands those ends to the validators
 * (digit runs, Corsican NIR, IBAN, DEA, ICD-10/ATC codes, numeric dates); and the '@' of e-mail
 * addresses, which its windows see for a few instructions (patterns.c says why not Hyperscan).
 *
 * Why not Hyperscan: digits are everywhere in clinical text (doses, dates, lab values), and the
 * generic "digits with separators" and "letter + digits" patterns have no literal factor for
 * Hyperscan to anchor on; as NFAs they ran at a fraction of the speed of this loop. SIMD finds
 * the few positions where a value could start (next_trigger: most numbers in clinical prose are
 * too short to be anything); from there a small state machine tracks the "region" (digits,
 * capitals and separator-ish bytes) loosely: the handlers re-check everything exactly on the
 * view, so the region only has to be a superset of every real value.
 */
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "internal.h"

enum { C_OTHER = 0, C_DIGIT, C_UPPER, C_SEP, C_ESC };

/* Separator-ish: ' ', '.', '-', the bytes of NBSP/narrow NBSP and of the escapes \u00a0 \u202f,
 * whose letters (C_ESC) count only inside them. A constant table: the daemon scans from several
 * threads. */
static const uint8_t cls_table[256] = {
	['0' ... '9'] = C_DIGIT,
	['A' ... 'Z'] = C_UPPER,
	[' '] = C_SEP, ['.'] = C_SEP, ['-'] = C_SEP, ['\\'] = C_SEP, ['u'] = C_ESC, ['a'] = C_ESC, ['f'] = C_ESC,
	[0xc2] = C_SEP, [0xa0] = C_SEP, [0xe2] = C_SEP, [0x80] = C_SEP, [0xaf] = C_SEP,
};

/* Can a year whose first two digits are these be a birth year (rp_date_valid: the last 120
 * years)? Most four-digit groups are not years at all: ids, amounts, times. */
static inline bool birth_century(const struct rp_engine *e, int y0, int y1)
{
	unsigned v = (unsigned)y0 << 8 | (unsigned)y1;
	return v >= e->birth_cy_first && v <= e->birth_cy_last && rp_is_digit(y1);
}

/* The class of byte b at off: 'u', 'a' and 'f' separate only inside \u00a0 and \u202f (hex ids
 * and words are full of them, and would join digit groups into long regions). */
static inline int class_at(const struct rp_view *v, uint8_t b, uint64_t off)
{
	int k = cls_table[b];
	if (k == C_ESC) {
		/* the bytes before it: "\\" for 'u', "\\u00" for 'a', "\\u202" for 'f' */
		const char *e = b == 'u' ? "\\" : b == 'a' ? "\\u00" : "\\u202";
		unsigned need = b == 'u' ? 1 : b == 'a' ? 4 : 5;
		if (off < need)
			return C_OTHER;
		for (unsigned j = 1; j <= need; j++)
			if (view_byte(v, off - j) != (uint8_t)e[need - j])
				return C_OTHER;
		return C_SEP;
	}
	return k;
}

/* After the hour of a date-time (end): are its minutes and seconds, where present, zero? A
 * birth date stored as a date-time is midnight ("T00:00:00", "T23:00:00.000Z"); an event's
 * timestamp rarely is. 1: yes, 0: no, -1: not arrived yet. */
static int zero_time_after(const struct rp_view *v, uint64_t end)
{
	for (unsigned k = 0; k < 2; k++, end += 3) {
		int colon = view_byte(v, end);
		if (colon == VB_FUTURE)
			return -1;
		if (colon != ':')
			return 1;
		for (unsigned j = 1; j <= 2; j++) {
			int b = view_byte(v, end + j);
			if (b == VB_FUTURE)
				return -1;
			if (b != '0')
				return 0;
		}
	}
	return 1;
}

/* A midnight date-time whose hour ended at end: a birth date ("1985-03-12T00:00:00"), or its
 * minutes are still to come: decided on the next feed. (The byte after the hour is always there:
 * it is what ended the group, so time_left is at least 1.) */
static void midnight_date(struct rp_scan_ctx *c, uint64_t end)
{
	int z = zero_time_after(&c->v, end);
	if (z > 0)
		rp_date(c, PAT_DATE_ISO, end - 3);
	else if (z < 0)
		c->side->time_left = (uint8_t)(c->v.cur_base + c->v.cur_len - end);
}

void rp_time_deferred(struct rp_scan_ctx *c)
{
	uint64_t end;
	if (rp_waiting_take(c->v.cur_base, &c->side->time_left, &end))
		midnight_date(c, end);
}

/* A group of digits ended at end (exclusive). */
static void group_end(struct rp_scan_ctx *c, const struct rp_dscan *ds, uint64_t end)
{
	const struct rp_view *v = &c->v;
	uint32_t g = ds->glen;
	/* The bytes around the group, read straight from the buffer when they are all in it (the
	 * usual case: this runs on every group of every region) */
	uint64_t rel = end - v->cur_base, back = g < 6 ? 10 : g + 4; /* rel wraps when end is older */
	const uint8_t *q = rel < v->cur_len && rel >= back ? v->cur + rel : NULL;
#define AT(k) (q ? (int)q[-(long)(k)] : view_byte(v, end - (k))) /* the byte k before end */
	int after = AT(0);

	/* the value must end at a word boundary (EOD counts); "253072B0..." or "FR76ABCD": only
	 * letter-and-digit values go on past a capital, and a NIR glued to the next word */
	if (after >= 0 && rp_is_word(after)) {
		if (after != '_' && !rp_is_digit(after) && ds->digits >= 13 && g >= 2) {
			if (ds->rdigits >= 15)
				(void)rp_digit_run(c, end, true);
			if (ds->saw_ab)
				rp_nir_corsica(c, end);
		}
		return;
	}
	if (ds->rdigits >= 9 && rp_digit_run(c, end, false) == -1)
		c->side->run_end = end;
	if (ds->saw_ab && ds->digits >= 13)
		rp_nir_corsica(c, end);
	if (ds->saw_cc && ds->digits + ds->upper >= 14)
		rp_iban(c, end);
	if (ds->upper >= 1 && end > g + 1) {
		/* cheap shape checks before the handlers: the byte(s) just before the group */
		uint64_t gs = end - g;
		int b1 = AT(g + 1), b2 = gs >= 2 ? AT(g + 2) : -1;
		if ((g == 7 && rp_is_upper(b1) && (rp_is_upper(b2))) || (g == 8 && rp_is_upper(b1)))
			rp_dea(c, end);
		/* "(X11; Linux x86_64" is the platform token of every Linux browser's user agent, in
		 * each request's headers and in telemetry, not a code: its context search cost a
		 * fifth of the time spent on API traffic */
		bool user_agent = g == 2 && b1 == 'X' && b2 == '(' && after == ';' && AT(1) == '1' && AT(2) == '1';
		/* ICD-10 "F32", "E1165" (a word of its own: not the T of "2026-03-15T12"), or the part
		 * after the dot of "F32.1" */
		if ((g >= 2 && g <= 6 && rp_is_upper(b1) && !user_agent &&
		     (!rp_is_word(b2) || rp_view_boundary_before(v, gs - 1))) ||
		    (g <= 4 && b1 == '.' && gs >= 4 && rp_is_upper(AT(g + 4)))) {
			if (rp_code(c, PAT_ICD10, end) == -1)
				c->side->code_end = end;
		}
		if (g == 2 && rp_is_upper(b1) && rp_is_upper(b2) && ds->upper >= 3)
			rp_code(c, PAT_ATC, end);
	}
	/* HL7 v2 PID-7: "|19850312|", a time may follow the date */
	if ((g == 8 || g == 12 || g == 14) && end > g && AT(g + 1) == '|')
		rp_hl7_birth_date(c, end, g);
	if (g >= 4 && end >= 5) {
		int sep = AT(5), y0 = AT(4), y1 = AT(3);
		bool year = birth_century(c->e, y0, y1);
		if (g == 4 && year && (sep == '/' || sep == '.' || sep == '-'))
			rp_date(c, PAT_DATE_NUM, end);
		/* "12 mars 1985": a year after a blank, the month name is read back ("\u00a0" before the
		 * year reads as more digits) */
		else if (year && after != '-' &&
			 ((g == 4 && (sep == ' ' || sep == 0xa0 || sep == '\t' || sep == '\n' ||
				      rp_view_blank_escape_back(v, end - 4))) ||
			  (g > 4 && rp_view_escape_back(v, end - 4))))
			rp_date(c, PAT_DATE_TXT, end);
	} else if (g == 2 && end >= 10 && AT(3) == '-' && AT(6) == '-' && birth_century(c->e, AT(10), AT(9))) {
		rp_date(c, PAT_DATE_ISO, end);
	} else if (g == 2 && end >= 13 && AT(3) == 'T' && AT(6) == '-' && AT(9) == '-' &&
		   ((AT(2) == '0' && AT(1) == '0') || (AT(2) == '2' && (AT(1) == '2' || AT(1) == '3'))) &&
		   birth_century(c->e, AT(13), AT(12))) {
		/* "1985-03-12T00:00:00", "1985-03-11T23:00:00.000Z": a birth date stored as a
		 * date-time, at midnight local time or midnight in France converted to UTC; other
		 * hours are events' times */
		midnight_date(c, end);
	}
#undef AT
}

/* A run of capitals ended at end: IBANs may end with letters (IT, for one). */
static void upper_end(struct rp_scan_ctx *c, const struct rp_dscan *ds, uint64_t end)
{
	int after = view_byte(&c->v, end);
	if (after >= 0 && rp_is_word(after))
		return;
	if (ds->saw_cc && ds->digits + ds->upper >= 14)
		rp_iban(c, end);
	/* an ICD-10-CM code ending with a letter ("S72.001A") */
	if (ds->uprun == 1 && ds->digits >= 3 && end >= 2 && rp_is_digit(view_byte(&c->v, end - 2)) &&
	    rp_code(c, PAT_ICD10, end) == -1)
		c->side->code_end = end;
}

static inline void reset_region(struct rp_dscan *ds)
{
	ds->digits = 0;
	ds->rdigits = 0;
	ds->upper = 0;
	ds->gap = 0;
	ds->saw_ab = false;
	ds->saw_cc = false;
	ds->uprun = 0;
}

static inline bool region_active(const struct rp_dscan *ds)
{
	return ds->in_digit || ds->in_upper || ds->digits || ds->upper;
}

/* A byte that is neither digit nor capital ends the digit group or capital run going on. */
static inline __attribute__((always_inline)) void close_groups(struct rp_scan_ctx *c, struct rp_dscan *ds,
								uint64_t off)
{
	if (ds->in_digit) {
		ds->in_digit = false;
		group_end(c, ds, off);
	}
	if (ds->in_upper) {
		ds->in_upper = false;
		upper_end(c, ds, off);
	}
}

/* One byte through the region tracker; false once the region is over. */
static inline __attribute__((always_inline)) bool track_byte(struct rp_scan_ctx *c, struct rp_dscan *ds, uint8_t b, uint64_t off)
{
	switch (class_at(&c->v, b, off)) {
	case C_DIGIT:
		ds->in_upper = false;
		if (ds->uprun >= 2)
			ds->saw_cc = true;
		ds->uprun = 0;
		if (!ds->in_digit) {
			ds->in_digit = true;
			ds->glen = 0;
		}
		ds->glen++;
		ds->digits++;
		ds->rdigits++;
		ds->gap = 0;
		return true;
	case C_UPPER:
		/* Corsica's "2A"/"2B" follows a digit; the A of "IBAN" does not */
		if ((b == 'A' || b == 'B') && ds->in_digit)
			ds->saw_ab = true;
		if (ds->in_digit) {
			ds->in_digit = false;
			group_end(c, ds, off);
		}
		ds->upper++;
		ds->rdigits = 0;
		ds->in_upper = true;
		ds->gap = 0;
		if (ds->uprun < 2)
			ds->uprun++;
		return true;
	case C_SEP:
		close_groups(c, ds, off);
		ds->uprun = 0;
		if (++ds->gap > RP_SEP_MAXLEN)
			reset_region(ds);
		return region_active(ds);
	default:
		close_groups(c, ds, off);
		reset_region(ds);
		return false;
	}
}

/* Track the region from p[i] until it is over; returns the index after its last byte. */
static size_t run_region(struct rp_scan_ctx *c, struct rp_dscan *ds, const uint8_t *p, size_t n, uint64_t base,
			 size_t i)
{
	while (i < n && !c->stop) {
		if (cls_table[p[i]] == C_DIGIT) {
			/* a group's digits at once: they only count */
			size_t j = i + 1;
			while (j < n && cls_table[p[j]] == C_DIGIT)
				j++;
			(void)track_byte(c, ds, p[i], base + i);
			ds->glen += (uint32_t)(j - i - 1);
			ds->digits += (uint32_t)(j - i - 1);
			ds->rdigits += (uint32_t)(j - i - 1);
			i = j;
			continue;
		}
		bool more = track_byte(c, ds, p[i], base + i);
		i++;
		if (!more)
			break;
	}
	ds->tracked_to = base + i;
	return i;
}

/*
 * Where could a value be? Every '@' (an e-mail address: text.c, rp_email_at). Most digits in
 * clinical text are doses, ages, lab values and dates' day and month: they never start the
 * tracker. A position triggers it when it starts
 *  - four digits in a row ("1985", "4111", "10003361234", "2024-118734"),
 *  - short groups of digits split by single separators: pair, separator, pair, separator, digit
 *    ("06 12 34 56 78", "2 95 10 99 126 111 93", "123-45-6789"), or four lone digits ("1 9 5 0"),
 *  - a capital starting a word and followed by two digits ("F32", "N02BE01": every code the
 *    handlers read after a capital has two digits at least; "FR76 3000", "AB1234563" also have
 *    four digits in a row). With one digit, base64 started a region every few hundred bytes,
 *  - a digit followed by a multi-byte separator (NBSP, narrow NBSP, "\u00a0"), whose digits are
 *    further apart.
 * The hex digits of JSON escapes ("\u00e9", on every accent of a chat request) do not count.
 * The tracker then starts where the region starts (walking back), so a trigger anywhere in a value
 * is enough. Bytes past the data read as '0', so whatever ends a feed is tracked and carried over.
 */
/*
 * The trigger rules run on 64-byte windows: each one evaluates STRIDE positions, with BEHIND bytes
 * before them (an escape's "\u" before its hex digits) and 64 - BEHIND - STRIDE after (the rules
 * look 6 bytes ahead).
 */
#define BEHIND 6
#define STRIDE 52
#define EVAL_BITS ((((uint64_t)1 << STRIDE) - 1) << BEHIND)

/* Trigger bits of the window being scanned: bit k is position blk + k. */
struct trig {
	size_t blk;
	uint64_t bits;
	bool valid;
	uint8_t pad[64];       /* a window at the data's edges, padded */
};

#if defined(__SSE2__)
/*
 * The rules on the byte classes of a window (bit i: byte i), each class computed only when a rule
 * still needs it: most windows of prose stop at "no digit outside an escape", most of the rest at
 * "no two digits close together". DIGITS(), UPPER() and EQ(b) give the class masks of the window
 * q with the ISA at hand.
 */
#define WINDOW_RULES(DIGITS, UPPER, LOWER, EQ, MBLEAD, HIGH)                                        \
	do {                                                                                       \
		uint64_t D = DIGITS(), at = EQ('@');                                               \
		if (!(D & (EVAL_BITS | EVAL_BITS << 1)))                                           \
			return at & EVAL_BITS;                                                     \
		uint64_t bs = EQ('\\'), esc = bs ? bs & (EQ('u') >> 1) : 0;                         \
		uint64_t hex = (esc << 2) | (esc << 3) | (esc << 4) | (esc << 5);                  \
		uint64_t a = D & ~hex;                                                             \
		if (!a)                                                                            \
			return at & EVAL_BITS;                                                     \
		uint64_t b = a >> 1, c = a >> 2, d = a >> 3, e = a >> 4, g = a >> 6;               \
		uint64_t U = UPPER(), pair = a & b, cap = U & ~hex & pair >> 1;                    \
		uint64_t t = pair & c & d, mb = esc;                  /* four in a row */          \
		/* 2\u00a095: the lead bytes of NBSP and narrow NBSP are not ASCII, and most     \
		 * windows are */                                                                  \
		if (a & (HIGH() >> 1))                                                             \
			mb |= MBLEAD();                                                            \
		t |= a & (mb >> 1);                                                                \
		/* F32: a capital starting a word, then two digits (base64 and tokens are full  \
		 * of capitals glued to digits; a value starts at a boundary): after a non-word  \
		 * byte (base64's '+' and '/' among them), an escape                             \
		 * such as \n, or a \u00XX escape. After a digit or a capital only the last one \
		 * can be; the others need the lower-case class. */                               \
		if (cap) {                                                                         \
			uint64_t rest = cap & ~((D | U) << 1);                                     \
			t |= cap & (esc << 6);                                                     \
			if (rest) {                                                                \
				uint64_t lower = LOWER(), nonword = rest & ~(lower << 1);          \
				if (nonword)                                                       \
					nonword &= ~(EQ('_') << 1);                                \
				t |= nonword | (rest & ((lower & (bs << 1)) << 1));                \
			}                                                                          \
		}                                                                                  \
		/* groups split by single separators: "dd.dd.d", "d d d d" */                      \
		if ((pair & (pair >> 3) & g) | (a & c & e & g)) {                                  \
			uint64_t S = EQ(' ') | EQ('.') | EQ('-');                                  \
			t |= (pair & (S >> 2) & (pair >> 3) & (S >> 5) & g) |                      \
			     (a & (S >> 1) & c & (S >> 3) & e & (S >> 5) & g);                     \
		}                                                                                  \
		return (t | at) & EVAL_BITS;                                                       \
	} while (0)

/* lo <= v <= lo + span: v - lo, moved into the signed range, is below span - 127 */
static inline __attribute__((always_inline)) uint64_t mm_range(__m128i v, char lo, uint8_t span)
{
	__m128i x = _mm_add_epi8(v, _mm_set1_epi8((char)(128 - lo)));
	return (uint16_t)_mm_movemask_epi8(_mm_cmpgt_epi8(_mm_set1_epi8((char)(span - 127)), x));
}

static inline __attribute__((always_inline)) uint64_t mm_eq(__m128i v, uint8_t b)
{
	return (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)b)));
}

/* 0xc2 or 0xe2, the lead bytes of NBSP and narrow NBSP */
static inline __attribute__((always_inline)) uint64_t mm_eq_or20(__m128i v, uint8_t b)
{
	return mm_eq(_mm_or_si128(v, _mm_set1_epi8(0x20)), b);
}

static inline __attribute__((always_inline)) uint64_t window_sse2(const uint8_t *q)
{
	__m128i v0 = _mm_loadu_si128((const __m128i *)q), v1 = _mm_loadu_si128((const __m128i *)(q + 16));
	__m128i v2 = _mm_loadu_si128((const __m128i *)(q + 32)), v3 = _mm_loadu_si128((const __m128i *)(q + 48));
#define SSE2_CLASS(F, ...) (F(v0, __VA_ARGS__) | F(v1, __VA_ARGS__) << 16 | F(v2, __VA_ARGS__) << 32 | F(v3, __VA_ARGS__) << 48)
#define SSE2_DIGITS() SSE2_CLASS(mm_range, '0', 9)
#define SSE2_UPPER() SSE2_CLASS(mm_range, 'A', 25)
#define SSE2_LOWER() SSE2_CLASS(mm_range, 'a', 25)
#define SSE2_EQ(x) SSE2_CLASS(mm_eq, x)
#define SSE2_MBLEAD() SSE2_CLASS(mm_eq_or20, 0xe2)
#define SSE2_HIGH() ((uint64_t)(uint16_t)_mm_movemask_epi8(v0) | (uint64_t)(uint16_t)_mm_movemask_epi8(v1) << 16 | \
		     (uint64_t)(uint16_t)_mm_movemask_epi8(v2) << 32 | (uint64_t)(uint16_t)_mm_movemask_epi8(v3) << 48)
	WINDOW_RULES(SSE2_DIGITS, SSE2_UPPER, SSE2_LOWER, SSE2_EQ, SSE2_MBLEAD, SSE2_HIGH);
}

/* Bytes past the data are padding: a trigger there is none. */
#define MIN_N(x, n) ((x) < (n) ? (x) : (n))

/*
 * First trigger position in p[i..n), or n. Windows at the edges of the data are copied into a
 * padded buffer: nothing before the data, '0' after it.
 */
#define NEXT_TRIGGER_BODY(WINDOW)                                                                  \
	do {                                                                                       \
		if (tc->valid && i >= tc->blk && i < tc->blk + STRIDE) {                           \
			uint64_t t = tc->bits & (~0ull << (i - tc->blk));                          \
			if (t)                                                                     \
				return MIN_N(tc->blk + (size_t)__builtin_ctzll(t), n);             \
			i = tc->blk + STRIDE;                                                      \
		}                                                                                  \
		for (; i < n; i += STRIDE) {                                                       \
			const uint8_t *q;                                                          \
			uint64_t t;                                                                \
			if (i >= BEHIND && i + 64 - BEHIND <= n) {                                 \
				q = p + i - BEHIND;                                                \
			} else {                                                                   \
				/* pad[k] is p[i - BEHIND + k] */                                \
				size_t k0 = i < BEHIND ? BEHIND - i : 0;                           \
				size_t k1 = n + BEHIND - i < 64 ? n + BEHIND - i : 64;             \
				memset(tc->pad, 0, k0);                                            \
				memcpy(tc->pad + k0, p + i + k0 - BEHIND, k1 - k0);                \
				memset(tc->pad + k1, '0', 64 - k1);                                \
				q = tc->pad;                                                       \
			}                                                                          \
			t = WINDOW(q) >> BEHIND;                                                   \
			if (t) {                                                                   \
				tc->blk = i;                                                       \
				tc->bits = t;                                                      \
				tc->valid = true;                                                  \
				i += (size_t)__builtin_ctzll(t);                                   \
				return i < n ? i : n;                                              \
			}                                                                          \
		}                                                                                  \
		return n;                                                                          \
	} while (0)

static size_t next_trigger_sse2(const uint8_t *p, size_t n, size_t i, struct trig *tc)
{
	NEXT_TRIGGER_BODY(window_sse2);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_VARIANT 1
#define AVX2 __attribute__((target("avx2")))

AVX2 static inline __attribute__((always_inline)) uint64_t mm256_range(__m256i v, char lo, uint8_t span)
{
	__m256i x = _mm256_add_epi8(v, _mm256_set1_epi8((char)(128 - lo)));
	return (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(_mm256_set1_epi8((char)(span - 127)), x));
}

AVX2 static inline __attribute__((always_inline)) uint64_t mm256_eq(__m256i v, uint8_t b)
{
	return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8((char)b)));
}

AVX2 static inline __attribute__((always_inline)) uint64_t mm256_eq_or20(__m256i v, uint8_t b)
{
	return mm256_eq(_mm256_or_si256(v, _mm256_set1_epi8(0x20)), b);
}

AVX2 static inline __attribute__((always_inline)) uint64_t window_avx2(const uint8_t *q)
{
	__m256i lo = _mm256_loadu_si256((const __m256i *)q), hi = _mm256_loadu_si256((const __m256i *)(q + 32));
#define AVX2_CLASS(F, ...) (F(lo, __VA_ARGS__) | F(hi, __VA_ARGS__) << 32)
#define AVX2_DIGITS() AVX2_CLASS(mm256_range, '0', 9)
#define AVX2_UPPER() AVX2_CLASS(mm256_range, 'A', 25)
#define AVX2_LOWER() AVX2_CLASS(mm256_range, 'a', 25)
#define AVX2_EQ(x) AVX2_CLASS(mm256_eq, x)
#define AVX2_MBLEAD() AVX2_CLASS(mm256_eq_or20, 0xe2)
#define AVX2_HIGH() ((uint64_t)(uint32_t)_mm256_movemask_epi8(lo) | (uint64_t)(uint32_t)_mm256_movemask_epi8(hi) << 32)
	WINDOW_RULES(AVX2_DIGITS, AVX2_UPPER, AVX2_LOWER, AVX2_EQ, AVX2_MBLEAD, AVX2_HIGH);
}

AVX2 static size_t next_trigger_avx2(const uint8_t *p, size_t n, size_t i, struct trig *tc)
{
	NEXT_TRIGGER_BODY(window_avx2);
}
#endif
#endif

static size_t next_trigger(const uint8_t *p, size_t n, size_t i, struct trig *tc)
{
#if defined(__SSE2__)
#if HAVE_AVX2_VARIANT
	/* Decided once (a benign race between threads computes the same answer).
	 * REMPART_SCANNER_ISA=sse2 lets the tests run the SSE2 code on AVX2 machines. */
	static int avx2 = -1;
	if (avx2 < 0) {
		const char *isa = getenv("REMPART_SCANNER_ISA");
		avx2 = __builtin_cpu_supports("avx2") && !(isa && strcmp(isa, "sse2") == 0) ? 1 : 0;
	}
	if (avx2)
		return next_trigger_avx2(p, n, i, tc);
#endif
	return next_trigger_sse2(p, n, i, tc);
#else
	/* portable: every digit or capital starts the tracker */
	(void)tc;
	for (; i < n; i++)
		if (cls_table[p[i]] == C_DIGIT || cls_table[p[i]] == C_UPPER || p[i] == '@')
			return i;
	return n;
#endif
}

size_t rp_scan_trigger_walk(const uint8_t *p, size_t n, bool sse2, unsigned jump, size_t *starts, size_t *found,
			    size_t max)
{
	struct trig tc;
	size_t k = 0, i = 0;

	tc.valid = false;
	while (k < max) {
		size_t t;
#if defined(__SSE2__) && HAVE_AVX2_VARIANT
		if (!sse2 && __builtin_cpu_supports("avx2"))
			t = next_trigger_avx2(p, n, i, &tc);
		else
			t = next_trigger_sse2(p, n, i, &tc);
#else
		(void)sse2;
		t = next_trigger(p, n, i, &tc);
#endif
		starts[k] = i;
		found[k++] = t;
		if (t >= n)
			break;
		i = t + 1 + (jump ? (t * 7 + 3) % jump : 0);
	}
	return k;
}

/*
 * Digits glued to a lower-case letter ("3fa85f64", "csrf=9d41b7c2", base64): a token, not a value,
 * which starts at a word boundary (rp_view_boundary_before: only a JSON escape such as "\n" or
 * "\u00ea" may precede it). t is a trigger: four digits there start a run (the search never
 * resumes inside one). Not rp_view_boundary_before itself: near the start of the data the trigger
 * may sit on the hex digits of an escape begun in the previous feed, which the trigger search
 * could not see; any backslash close before keeps the digits, and so do the first six bytes.
 */
static inline bool glued_token(const uint8_t *p, size_t n, size_t t)
{
	if (t < 6 || t + 4 > n || p[t - 1] < 'a' || p[t - 1] > 'z' || cls_table[p[t + 3]] != C_DIGIT ||
	    cls_table[p[t]] != C_DIGIT || cls_table[p[t + 1]] != C_DIGIT || cls_table[p[t + 2]] != C_DIGIT)
		return false;
	for (size_t k = 2; k <= 6; k++)
		if (p[t - k] == '\\')
			return false;
	return true;
}

/*
 * Regions that yield nothing, recognised at their trigger (t, where the region starts: the byte
 * before is of no class) and skipped without tracking: on API and telemetry traffic they are most
 * regions, and tracking one costs several hundred instructions. Returns the index to resume at,
 * or 0. Both shapes follow from group_end's rules, which a region of that shape never reaches:
 *  - a lone group of 4 to 8 digits between bytes of no class ("session":69362845,): too short for
 *    a digit run, and no date unless '/', '|', a tab or a newline (or "\n") comes before it;
 *  - an event's ISO date-time, "2026-03-15T12:" whose hour is not one of a birth date's (00, 22,
 *    23: see midnight_date).
 */
static inline size_t inert_region(const uint8_t *p, size_t n, size_t t)
{
	uint8_t b = t ? p[t - 1] : 0;
	size_t e = t;

	if (!t || cls_table[b] != C_OTHER || b == '/' || b == '|' || b == '\t' || b == '\n' ||
	    (t >= 2 && p[t - 2] == '\\'))
		return 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (t + 9 <= n) {
		/* the digits among the next 8 bytes at once: a byte is a digit when, xor '0', its high
		 * nibble is 0 and its low nibble plus 6 does not carry */
		uint64_t x, nd;
		memcpy(&x, p + t, 8);
		x ^= 0x3030303030303030ull;
		nd = (x & 0xf0f0f0f0f0f0f0f0ull) | (((x & 0x0f0f0f0f0f0f0f0full) + 0x0606060606060606ull) & 0x1010101010101010ull);
		/* little-endian: the first non-digit is the lowest non-zero byte */
		e += nd ? (size_t)__builtin_ctzll(nd) / 8 : 8 + (cls_table[p[t + 8]] == C_DIGIT);
	} else
#endif
	{
		while (e < n && cls_table[p[e]] == C_DIGIT)
			e++;
	}
	if (e >= n)
		return 0;
	if (e - t >= 4 && e - t <= 8 && cls_table[p[e]] == C_OTHER)
		return e;
	/* DDDD-DD-DDTHH: */
	if (e - t == 4 && t + 14 <= n && p[t + 4] == '-' && p[t + 7] == '-' && p[t + 10] == 'T' && p[t + 13] == ':' &&
	    cls_table[p[t + 5]] == C_DIGIT && cls_table[p[t + 6]] == C_DIGIT && cls_table[p[t + 8]] == C_DIGIT &&
	    cls_table[p[t + 9]] == C_DIGIT && cls_table[p[t + 11]] == C_DIGIT && cls_table[p[t + 12]] == C_DIGIT) {
		uint8_t h0 = p[t + 11], h1 = p[t + 12];
		if (!((h0 == '0' && h1 == '0') || (h0 == '2' && (h1 == '2' || h1 == '3'))))
			return t + 13;
	}
	return 0;
}

/* A region ended at p[i - 1], a byte of no class: an '@' there is a trigger the search skips. */
static inline void region_ended(struct rp_scan_ctx *c, const uint8_t *p, size_t n, uint64_t base, size_t i)
{
	if (i > 0 && i <= n && p[i - 1] == '@' && !c->stop)
		rp_email_at(c, base + i - 1);
}

void rp_dscan(struct rp_scan_ctx *c, const uint8_t *p, size_t n, uint64_t base)
{
	struct rp_dscan *ds = &c->side->ds;
	struct trig tc;
	size_t i = 0;

	tc.valid = false;
	/* a region carried over from the previous feed goes on first */
	if (region_active(ds)) {
		i = run_region(c, ds, p, n, base, 0);
		region_ended(c, p, n, base, i);
	}
	while (i < n && !c->stop) {
		size_t t = next_trigger(p, n, i, &tc);
		uint64_t start, floor;
		if (t >= n)
			break;
		if (p[t] == '@') {
			rp_email_at(c, base + t);
			i = t + 1;
			continue;
		}
		if (glued_token(p, n, t)) {
			/* skip its digits: a later group of the same region still walks back here */
			for (i = t + 4; i < n && cls_table[p[i]] == C_DIGIT;)
				i++;
			continue;
		}
		size_t skip = inert_region(p, n, t);
		if (skip) {
			i = skip;
			continue;
		}
		/* back to the region's start, never into bytes already tracked */
		floor = ds->tracked_to;
		if (base + t > RP_TAIL && floor < base + t - RP_TAIL)
			floor = base + t - RP_TAIL;
		start = base + t;
		while (start > floor) {
			int b = view_byte(&c->v, start - 1);
			if (b < 0 || class_at(&c->v, (uint8_t)b, start - 1) == C_OTHER)
				break;
			start--;
		}
		/* Separators before its first digit or capital do not start a region (the tracker
		 * would stop at the first one and come back here for the next): "à 4500", "n° 2024". */
		while (start < base + t && class_at(&c->v, (uint8_t)view_byte(&c->v, start), start) == C_SEP)
			start++;
		/* the part of the region still in the history (a value split across feeds) */
		for (; start < base && !c->stop; start++)
			(void)track_byte(c, ds, (uint8_t)view_byte(&c->v, start), start);
		i = run_region(c, ds, p, n, base, (size_t)(start - base));
		region_ended(c, p, n, base, i);
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

size_t rp_dscan_region_back(const uint8_t *p, size_t n)
{
	size_t k = 0;
	while (k < n && cls_table[p[n - 1 - k]] != C_OTHER)
		k++;
	return k;
}

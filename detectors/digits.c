/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Digit runs: one Hyperscan pattern reports where a run of 9+ digits (single separators allowed)
 * ends; here we find where it starts, split it into groups and dispatch by digit count to the
 * validators. A French phone number, a SIRET or an order number has its own length, grouping or
 * failing checksum, which is how look-alikes are told apart.
 */
#include <string.h>

#include "internal.h"

struct run {
	char d[RP_SIG_MAX + 1];       /* digits, forward */
	size_t n;
	unsigned glen[RP_SIG_MAX];    /* digits per group */
	uint64_t gstart[RP_SIG_MAX], gend[RP_SIG_MAX];
	size_t gfirst[RP_SIG_MAX];    /* index in d of each group's first digit */
	size_t ng;
	uint64_t start, end;
	uint8_t raw[RP_RAW_MAX];
};

/* A NIR keeps sex, year and month (the same for thousands of people) and its key; place of
 * birth and order number go. */
static void add_nir(struct rp_scan_ctx *c, unsigned det, uint64_t off, const uint8_t *raw, size_t raw_len)
{
	struct rp_evidence ev = {raw, raw_len, 5, det == RP_DET_FR_NIR ? 2 : 0, NULL};
	rp_candidate(c, det, off, raw_len, &ev);
}

static void add(struct rp_scan_ctx *c, unsigned det, uint64_t off, const uint8_t *raw, size_t raw_len,
		size_t head, size_t tail)
{
	struct rp_evidence ev = {raw, raw_len, (unsigned)head, (unsigned)tail, NULL};
	rp_candidate(c, det, off, raw_len, &ev);
}

static bool is_phone_fr(const char *d, size_t n, int before)
{
	if (n == 10)
		return d[0] == '0' && d[1] >= '1' && d[1] <= '9';
	if (n == 11) /* +33 6 12 34 56 78, or 336... pasted without the plus */
		return d[0] == '3' && d[1] == '3' && d[2] >= '1' && d[2] <= '9' && before != '0';
	if (n == 13)
		return memcmp(d, "0033", 4) == 0 && d[4] >= '1' && d[4] <= '9';
	return false;
}

/* Try every detector of this digit count on groups gi..gj. Returns true when one fired. */
static bool try_span(struct rp_scan_ctx *c, struct run *r, size_t gi, size_t gj)
{
	const char *d = r->d + r->gfirst[gi];
	size_t n = 0, ng = gj - gi + 1;
	uint64_t off = r->gstart[gi];
	const uint8_t *raw = r->raw + (off - r->start);
	size_t raw_len = (size_t)(r->gend[gj] - off);
	/* SIRET/order keyword right before: searched only once a Luhn-only check passed */
	int neg_state = -1;
#define NEG() (neg_state < 0 ? (neg_state = rp_negative_near(c, off)) : neg_state)
	bool found = false;
	int before = off > 0 ? view_byte(&c->v, off - 1) : -1;

	for (size_t g = gi; g <= gj; g++)
		n += r->glen[g];

	/* 15 digits grouped 4-6-5 are an American Express number, whatever their NIR key says */
	if (n == 15 && ng == 3 && r->glen[gi] == 4 && r->glen[gi + 1] == 6 && rp_card_valid(d, n) && !NEG()) {
		add(c, RP_DET_CREDIT_CARD, off, raw, raw_len, 4, 4);
		return true;
	}
	if (n == 15 && rp_nir_valid(d, 15)) {
		add_nir(c, RP_DET_FR_NIR, off, raw, raw_len);
		return true;
	}
	if (n == 13 && rp_nir_shape(d, 13)) {
		add_nir(c, RP_DET_FR_NIR_NOKEY, off, raw, raw_len);
		found = true;
	}
	if (is_phone_fr(d, n, before)) {
		add(c, RP_DET_PHONE_FR, off, raw, raw_len, n == 10 ? 2 : 3, 2);
		return true;
	}
	if (n >= 13 && n <= 19 && rp_card_valid(d, n) && rp_card_grouping_ok(r->glen + gi, ng, n) && !NEG()) {
		add(c, RP_DET_CREDIT_CARD, off, raw, raw_len, 4, 4);
		return true;
	}
	if (found)
		return true;
	switch (n) {
	case 9:
		/* US SSN: 3-2-4 with the same delimiter both times */
		if (ng == 3 && r->glen[gi] == 3 && r->glen[gi + 1] == 2 && r->glen[gi + 2] == 4 &&
		    raw_len == 11 && raw[3] == raw[6] && (raw[3] == '-' || raw[3] == ' ')) {
			if (rp_ssn_valid(d, 9)) {
				add(c, RP_DET_US_SSN, off, raw, raw_len, 0, 4);
				return true;
			}
			return false;
		}
		if (rp_luhn(d, 9) && !NEG()) {
			/* FINESS and ADELI share the shape; the keyword nearby decides which counts */
			add(c, RP_DET_FR_FINESS, off, raw, raw_len, 2, 2);
			add(c, RP_DET_FR_ADELI, off, raw, raw_len, 2, 2);
			return true;
		}
		break;
	case 10:
		if (rp_npi_valid(d, 10) && !NEG()) {
			add(c, RP_DET_US_NPI, off, raw, raw_len, 2, 2);
			return true;
		}
		break;
	case 11:
		if (rp_luhn(d, 11) && !NEG()) {
			add(c, RP_DET_FR_RPPS, off, raw, raw_len, 2, 2);
			return true;
		}
		break;
	case 12:
		/* IdNat_PS: "8" + RPPS */
		if (d[0] == '8' && rp_luhn(d + 1, 11) && !NEG()) {
			add(c, RP_DET_FR_RPPS, off, raw, raw_len, 2, 2);
			return true;
		}
		break;
	case 21:
		add(c, RP_DET_FR_VITALE, off, raw, raw_len, 2, 2);
		return true;
	default:
		break;
	}
	return false;
#undef NEG
}

/* A long run may hold a NIR or a phone number followed by another number ("... 93 12 ans"):
 * look at spans aligned on its groups. */
static void try_subspans(struct rp_scan_ctx *c, struct run *r)
{
	for (size_t gi = 0; gi < r->ng; gi++) {
		size_t sum = 0;
		for (size_t gj = gi; gj < r->ng; gj++) {
			sum += r->glen[gj];
			if (sum > 15)
				break;
			if (sum == 15 && rp_nir_valid(r->d + r->gfirst[gi], 15)) {
				uint64_t off = r->gstart[gi];
				add_nir(c, RP_DET_FR_NIR, off, r->raw + (off - r->start), (size_t)(r->gend[gj] - off));
				gi = gj;
				break;
			}
			if (sum == 10 && gj > gi && is_phone_fr(r->d + r->gfirst[gi], 10, -1)) {
				bool pairs = true;
				for (size_t g = gi; g <= gj; g++)
					pairs = pairs && r->glen[g] == 2;
				if (pairs) {
					uint64_t off = r->gstart[gi];
					add(c, RP_DET_PHONE_FR, off, r->raw + (off - r->start), (size_t)(r->gend[gj] - off), 2, 2);
					gi = gj;
					break;
				}
			}
		}
	}
}

/*
 * A NIR glued to the word after it ("... 111 93POSTE", PDF text losing its line breaks): only a
 * NIR, whose key makes a chance match rare, counts there; the groups that end the run make it.
 */
static void glued_nir(struct rp_scan_ctx *c, struct run *r)
{
	size_t sum = 0;
	for (size_t gi = r->ng; gi-- > 0;) {
		sum += r->glen[gi];
		if (sum > 15)
			return;
		if (sum == 15 && rp_nir_valid(r->d + r->gfirst[gi], 15)) {
			uint64_t off = r->gstart[gi];
			add_nir(c, RP_DET_FR_NIR, off, r->raw + (off - r->start), (size_t)(r->end - off));
			return;
		}
	}
}

int rp_digit_run(struct rp_scan_ctx *c, uint64_t end, bool glued)
{
	const struct rp_view *v = &c->v;
	struct run r;
	uint64_t pos = end;
	size_t n = 0, ng = 0;
	int s, b;

	/* Does the run go on after a separator? Then a later match reports the longer run. */
	s = glued ? 0 : rp_view_sep_fwd(v, end);
	if (s == VB_FUTURE)
		return -1;
	if (s > 0) {
		b = view_byte(v, end + (uint64_t)s);
		if (b == VB_FUTURE)
			return -1;
		if (rp_is_digit(b))
			return 0;
	}
	/* "123 456 789,50": an amount, not an identifier */
	if (!glued && view_byte(v, end) == ',' && rp_is_digit(view_byte(v, end + 1)))
		return 1;

	/* The bytes a value ending here may span (and an escape before it), in one array: the walk
	 * back runs on plain memory, not byte by byte through the view. */
	uint64_t avail_lo = v->hist_len ? v->hist_base : v->cur_base;
	uint64_t from = end > RP_RAW_MAX + 8 ? end - (RP_RAW_MAX + 8) : 0;
	uint8_t wbuf[RP_RAW_MAX + 8];
	const uint8_t *w;
	if (from < avail_lo)
		from = avail_lo;
	if (from >= v->cur_base)
		w = v->cur + (from - v->cur_base);
	else if (rp_view_gather(v, from, end, wbuf))
		w = wbuf;
	else
		return 1;
#define AT(off) (w + ((off) - from)) /* pointer to the byte at stream offset off */

	/* Walking back, digits and groups are stored from the end of their arrays, then moved to
	 * the front: no reversing. */
	for (;;) {
		uint64_t gend = pos;
		unsigned gl = 0;
		while (pos > from && !rp_escape_back(AT(pos), pos - from)) {
			b = *AT(pos - 1);
			if (!rp_is_digit(b))
				break;
			if (n == RP_SIG_MAX)
				return 1;
			n++;
			r.d[RP_SIG_MAX - n] = (char)b;
			pos--;
			gl++;
		}
		/* reached the start of what is kept (or RP_RAW_MAX): no identifier is that long */
		if (pos == from && from > 0)
			return 1;
		if (gl == 0 || ng == RP_SIG_MAX)
			return 1;
		ng++;
		r.glen[RP_SIG_MAX - ng] = gl;
		r.gstart[RP_SIG_MAX - ng] = pos;
		r.gend[RP_SIG_MAX - ng] = gend;
		s = (int)rp_sep_len_back(AT(pos), pos - from);
		if (s <= 0 || pos - from <= (uint64_t)s)
			break;
		b = *AT(pos - (uint64_t)s - 1);
		if (!rp_is_digit(b) || rp_escape_back(AT(pos - (uint64_t)s), pos - (uint64_t)s - from))
			break;
		pos -= (uint64_t)s;
	}
	if (!rp_view_boundary_before(v, pos))
		return 1;
	if (end - pos > RP_RAW_MAX)
		return 1;
	memcpy(r.raw, AT(pos), (size_t)(end - pos));
#undef AT

	r.n = n;
	r.ng = ng;
	r.start = pos;
	r.end = end;
	memmove(r.d, r.d + RP_SIG_MAX - n, n);
	r.d[n] = '\0';
	memmove(r.glen, r.glen + RP_SIG_MAX - ng, ng * sizeof(r.glen[0]));
	memmove(r.gstart, r.gstart + RP_SIG_MAX - ng, ng * sizeof(r.gstart[0]));
	memmove(r.gend, r.gend + RP_SIG_MAX - ng, ng * sizeof(r.gend[0]));
	for (size_t i = 0, first = 0; i < ng; i++) {
		r.gfirst[i] = first;
		first += r.glen[i];
	}
	if (glued)
		glued_nir(c, &r);
	else if (!try_span(c, &r, 0, ng - 1) && ng > 1 && n > 10)
		try_subspans(c, &r);
	return 1;
}

void rp_deferred_run(struct rp_scan_ctx *c)
{
	if (c->side->run_end && rp_digit_run(c, c->side->run_end, false) != -1)
		c->side->run_end = 0;
	if (c->side->code_end && rp_code(c, PAT_ICD10, c->side->code_end) != -1)
		c->side->code_end = 0;
	rp_time_deferred(c);
	rp_email_deferred(c);
}

static bool nir_char(int b)
{
	return rp_is_digit(b) || b == 'A' || b == 'B' || b == 'a' || b == 'b';
}

void rp_nir_corsica(struct rp_scan_ctx *c, uint64_t end)
{
	char sig[RP_SIG_MAX + 1];
	uint64_t offs[RP_SIG_MAX + 1];
	uint8_t raw[RP_RAW_MAX];
	int n = rp_collect_back(&c->v, end, 15, nir_char, sig, offs);
	size_t i0;
	uint64_t off;

	if (n < 15)
		return;
	i0 = (size_t)n - 15;
	off = offs[i0];
	if (i0 > 0 && offs[i0 - 1] + 1 == off)
		return; /* glued to more characters */
	if (i0 == 0 && !rp_view_boundary_before(&c->v, off))
		return;
	if (!rp_nir_valid(sig + i0, 15) || end - off > RP_RAW_MAX || !rp_view_gather(&c->v, off, end, raw))
		return;
	add_nir(c, RP_DET_FR_NIR, off, raw, (size_t)(end - off));
}

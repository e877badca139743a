/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Candidates that are not plain digit runs: IBAN, DEA, e-mail, dates, ICD-10 and ATC codes.
 * Each handler gets the end of a pattern match, walks back over the view to the value's start,
 * checks the boundary before it and validates it.
 */
#include <ctype.h>
#include <string.h>

#include "internal.h"

static bool iban_char(int b)
{
	return rp_is_digit(b) || rp_is_upper(b);
}

void rp_iban(struct rp_scan_ctx *c, uint64_t end)
{
	char sig[RP_SIG_MAX + 1];
	uint64_t offs[RP_SIG_MAX + 1];
	uint8_t raw[RP_RAW_MAX];
	int n = rp_collect_back(&c->v, end, 34, iban_char, sig, offs);

	/* The country code fixes the length: the IBAN must end exactly here. */
	for (int i = 0; i + 15 <= n; i++) {
		int len;
		if (!rp_is_upper(sig[i]) || !rp_is_upper(sig[i + 1]) || !rp_is_digit(sig[i + 2]) || !rp_is_digit(sig[i + 3]))
			continue;
		len = rp_iban_country_length(sig + i);
		if (len == 0 || len != n - i)
			continue;
		if (i > 0 ? offs[i - 1] + 1 == offs[i] : !rp_view_boundary_before(&c->v, offs[i]))
			continue;
		if (!rp_iban_valid(sig + i, (size_t)len))
			continue;
		if (end - offs[i] > RP_RAW_MAX || !rp_view_gather(&c->v, offs[i], end, raw))
			return;
		rp_candidate(c, RP_DET_IBAN, offs[i], end - offs[i],
			     &(struct rp_evidence){raw, (size_t)(end - offs[i]), 4, 4, NULL});
		return;
	}
}

void rp_dea(struct rp_scan_ctx *c, uint64_t end)
{
	uint8_t raw[9];
	if (end < 9 || !rp_view_gather(&c->v, end - 9, end, raw))
		return;
	if (!rp_view_boundary_before(&c->v, end - 9) || !rp_dea_valid((const char *)raw, 9))
		return;
	rp_candidate(c, RP_DET_US_DEA, end - 9, 9, &(struct rp_evidence){raw, 9, 2, 1, NULL});
}

void rp_email(struct rp_scan_ctx *c, uint64_t end)
{
	const struct rp_view *v = &c->v;
	uint64_t pos = end, at, lp;
	uint8_t raw[RP_RAW_MAX];
	size_t nl = 0, ns;
	int b;

	while (pos > 0 && end - pos < 200) {
		b = view_byte(v, pos - 1);
		if (b == '@')
			break;
		if (!rp_is_alnum(b) && b != '.' && b != '-')
			return;
		pos--;
	}
	if (pos == 0 || view_byte(v, pos - 1) != '@')
		return;
	at = pos - 1;
	lp = at;
	while (lp > 0 && at - lp < 64) {
		b = view_byte(v, lp - 1);
		if (!rp_is_alnum(b) && !strchr("._%+-", b))
			break;
		lp--;
	}
	/* "\njean@..." inside JSON: the n belongs to the escape */
	if (lp > 0 && lp < at && view_byte(v, lp - 1) == '\\')
		lp++;
	if (lp == at || end - lp > RP_RAW_MAX || !rp_view_gather(v, lp, end, raw))
		return;
	for (uint64_t i = lp; i < at; i++)
		if (rp_is_alnum(raw[i - lp]))
			nl++;
	/* the first character of the local part, and the domain, stay */
	ns = rp_mask_count_sig(raw, (size_t)(end - lp));
	rp_candidate(c, RP_DET_EMAIL, lp, end - lp,
		     &(struct rp_evidence){raw, (size_t)(end - lp), 1, (unsigned)(ns > nl ? ns - nl : 0), NULL});
}

static inline bool email_alpha(int b)
{
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

/*
 * The address around the '@' at offset at: "local@label(.label)*.tld", labels [A-Za-z0-9-]+, the
 * last one starting with 2 to 24 letters and a non-word byte (or the end of the data) after them.
 * Where the domain could end more than once ("x@chu.fr-lyon.com", "x@chu.fr.") the longest is the
 * address. When the domain runs to the end of the data that has arrived, the '@' is looked at
 * again on the next feed (email_left, at most EMAIL_DOMAIN_MAX + 2 bytes back: rp_email_deferred).
 */
#define EMAIL_DOMAIN_MAX 200 /* rp_email looks no further back for the '@' */
void rp_email_at(struct rp_scan_ctx *c, uint64_t at)
{
	const struct rp_view *v = &c->v;
	uint64_t lstart = at + 1, end = 0;
	bool dotted = false, letters = true;
	int b;

	if (at == 0)
		return;
	b = view_byte(v, at - 1);
	if (b < 0 || !(rp_is_alnum(b) || b == '.' || b == '_' || b == '%' || b == '+' || b == '-'))
		return;
	for (uint64_t pos = at + 1; pos - at <= EMAIL_DOMAIN_MAX + 1; pos++) {
		b = view_byte(v, pos);
		if (b == VB_FUTURE) {
			c->side->email_left = (uint8_t)(pos - at); /* pos is the end of the data */
			return;
		}
		if (letters && !email_alpha(b)) {
			/* the letters starting this label end: a top-level domain if a non-word byte follows */
			uint64_t len = pos - lstart;
			letters = false;
			if (dotted && len >= 2 && len <= 24 && !rp_is_word(b))
				end = pos;
		}
		if (b >= 0 && (rp_is_alnum(b) || b == '-'))
			continue;
		if (b != '.' || pos == lstart)
			break; /* the domain ends, or an empty label does */
		dotted = true;
		letters = true;
		lstart = pos + 1;
	}
	if (end)
		rp_email(c, end);
}

void rp_email_deferred(struct rp_scan_ctx *c)
{
	uint64_t at;
	if (rp_waiting_take(c->v.cur_base, &c->side->email_left, &at))
		rp_email_at(c, at);
}

/* Up to max digits ending at pos; returns how many (0 when none), value in *val. */
static int digits_back(const struct rp_view *v, uint64_t pos, int max, int *val)
{
	int n = 0, mul = 1;
	*val = 0;
	while (n < max && pos > (uint64_t)n) {
		int b = view_byte(v, pos - 1 - (uint64_t)n);
		if (!rp_is_digit(b))
			break;
		*val += (b - '0') * mul;
		mul *= 10;
		n++;
	}
	return n;
}

static const struct {
	const char *name;
	size_t len;
} months[12] = {
	{"janvier", 7}, {"fevrier", 7}, {"mars", 4}, {"avril", 5}, {"mai", 3}, {"juin", 4}, {"juillet", 7},
	{"aout", 4}, {"septembre", 9}, {"octobre", 7}, {"novembre", 8}, {"decembre", 8},
};

/* Blanks between the words of a written date, backwards; returns bytes skipped. */
static uint64_t blanks_back(const struct rp_view *v, uint64_t pos)
{
	uint64_t p = pos;
	while (p > 0 && pos - p < 32) {
		int b = view_byte(v, p - 1);
		if (b == ' ' || b == '\t' || b == '\n' || b == '\r') {
			p--;
		} else if (rp_view_blank_escape_back(v, p)) {
			p -= 2; /* "\n" in a JSON string: a line break in what the user wrote */
		} else if (b == 0xa0 && p >= 2 && view_byte(v, p - 2) == 0xc2) {
			p -= 2;
		} else if (rp_view_escape_back(v, p) && rp_view_sep_back(v, p) == 6) {
			p -= 6;
		} else {
			break;
		}
	}
	return pos - p;
}

/* The year stays (with a written month), the day and a numeric month go: keep is how many
 * significant characters end the evidence, or 0 for all but the first mask_sig. */
static void date_emit(struct rp_scan_ctx *c, uint64_t start, uint64_t end, size_t mask_sig, size_t keep)
{
	uint8_t raw[RP_RAW_MAX];
	size_t ns;
	if (end - start > RP_RAW_MAX)
		return;
	if (!keep) {
		if (!rp_view_gather(&c->v, start, end, raw))
			return;
		ns = rp_mask_count_sig(raw, (size_t)(end - start));
		keep = ns > mask_sig ? ns - mask_sig : 0;
	}
	/* the bytes are read again from the view if the date is reported */
	rp_candidate(c, RP_DET_DATE_OF_BIRTH, start, end - start,
		     &(struct rp_evidence){NULL, (size_t)(end - start), 0, (unsigned)keep, NULL});
}

void rp_date(struct rp_scan_ctx *c, unsigned pat, uint64_t end)
{
	const struct rp_view *v = &c->v;
	int year, a, b, na, nb, now = c->e->now_year;
	uint64_t p;

	if (pat == PAT_DATE_ISO) {
		/* YYYY-MM-DD: the year is first */
		if (end < 10 || digits_back(v, end, 2, &b) != 2 || digits_back(v, end - 3, 2, &a) != 2 ||
		    digits_back(v, end - 6, 4, &year) != 4 || view_byte(v, end - 3) != '-' ||
		    view_byte(v, end - 6) != '-')
			return;
		if (!rp_view_boundary_before(v, end - 10) || !rp_date_valid(b, a, year, now))
			return;
		rp_candidate(c, RP_DET_DATE_OF_BIRTH, end - 10, 10, &(struct rp_evidence){NULL, 10, 4, 0, NULL});
		return;
	}
	if (end < 8 || digits_back(v, end, 4, &year) != 4)
		return;
	p = end - 4;
	if (pat == PAT_DATE_NUM) {
		int sep = view_byte(v, p - 1);
		if (sep != '/' && sep != '.' && sep != '-')
			return;
		nb = digits_back(v, p - 1, 2, &b);
		if (nb == 0 || p - 1 < (uint64_t)nb + 2)
			return;
		p = p - 1 - (uint64_t)nb;
		if (view_byte(v, p - 1) != sep)
			return;
		na = digits_back(v, p - 1, 2, &a);
		if (na == 0 || p - 1 < (uint64_t)na)
			return;
		p = p - 1 - (uint64_t)na;
		if (!rp_view_boundary_before(v, p))
			return;
		/* French order first, then US month/day */
		if (!rp_date_valid(a, b, year, now) && !rp_date_valid(b, a, year, now))
			return;
		date_emit(c, p, end, (size_t)(na + nb), 4);
		return;
	}
	/* "12 mars 1985", "1er août 1950" */
	{
		char word[16];
		size_t wl = 0;
		int month = 0;
		uint64_t q;
		p -= blanks_back(v, p);
		/* every month name ends with an ASCII letter */
		{
			int last = p ? view_byte(v, p - 1) : -1;
			if (last < 0 || last >= 0x80 || !isalpha(last))
				return;
		}
		q = p;
		while (q > 0 && p - q < 40 && wl < sizeof(word)) {
			int ch;
			if (rp_view_blank_escape_back(v, q))
				break; /* the n of "\n" is no letter of the month */
			if (rp_view_escape_back(v, q)) {
				int h = view_byte(v, q - 2), l = view_byte(v, q - 1);
				/* \u00e9 \u00c9 (é É) \u00fb (û) */
				ch = (h == 'e' || h == 'E' || h == 'c' || h == 'C') && l == '9' ? 'e' :
				     (h == 'f' || h == 'F') && (l == 'b' || l == 'B') ? 'u' : 0;
				q -= 6;
			} else {
				int x = view_byte(v, q - 1);
				if (x >= 0x80 && q >= 2 && view_byte(v, q - 2) == 0xc3) {
					ch = (x == 0xa9 || x == 0x89) ? 'e' : (x == 0xbb || x == 0x9b) ? 'u' : 0;
					q -= 2;
				} else if (x >= 0 && x < 0x80 && isalpha(x)) {
					ch = tolower(x);
					q--;
				} else {
					break;
				}
			}
			if (!ch)
				return;
			word[wl++] = (char)ch;
		}
		for (size_t i = 0; i < wl / 2; i++) {
			char t = word[i];
			word[i] = word[wl - 1 - i];
			word[wl - 1 - i] = t;
		}
		for (int m = 0; m < 12; m++)
			if (wl == months[m].len && memcmp(word, months[m].name, wl) == 0)
				month = m + 1;
		if (!month)
			return;
		q -= blanks_back(v, q);
		if (q >= 2 && tolower(view_byte(v, q - 1)) == 'r' && tolower(view_byte(v, q - 2)) == 'e')
			q -= 2;
		na = digits_back(v, q, 2, &a);
		if (na == 0)
			return;
		q -= (uint64_t)na;
		if (!rp_view_boundary_before(v, q) || !rp_date_valid(a, month, year, now))
			return;
		date_emit(c, q, end, (size_t)na, 0);
	}
}

int rp_code(struct rp_scan_ctx *c, unsigned pat, uint64_t end)
{
	const struct rp_view *v = &c->v;
	uint8_t raw[9];

	if (pat == PAT_ATC) {
		if (end < 7 || !rp_view_gather(v, end - 7, end, raw) || !rp_view_boundary_before(v, end - 7))
			return 1;
		/* [ABCDGHJLMNPRSV]\d\d[A-Z]{2}\d\d */
		if (!raw[0] || !strchr("ABCDGHJLMNPRSV", raw[0]) || !rp_is_digit(raw[1]) || !rp_is_digit(raw[2]) || !rp_is_upper(raw[3]) ||
		    !rp_is_upper(raw[4]) || !rp_is_digit(raw[5]) || !rp_is_digit(raw[6]))
			return 1;
		rp_candidate(c, RP_DET_ATC, end - 7, 7, &(struct rp_evidence){raw, 7, 3, 0, NULL});
		return 1;
	}
	/* ICD-10: letter, 2 digits, then optionally [.]1-4 alnum (ICD-10-CM: "S72.001A",
	 * "T36.0X1A"); "F32" is also reported before "F32.1", keep only the longest. */
	if (view_byte(v, end) == '.') {
		int b = view_byte(v, end + 1);
		if (b == VB_FUTURE)
			return -1;
		if (iban_char(b))
			return 1;
	}
	/* the 8 bytes before end at most, read once; cand then points at the candidate's start */
	uint8_t last[8];
	unsigned have = 8;
	while (have >= 3 && (end < have || !rp_view_gather(v, end - have, end, last)))
		have--;
	for (unsigned len = have; len >= 3; len--) {
		const uint8_t *cand = last + (have - len);
		size_t i = 3;
		if (!rp_is_upper(cand[0]) || !rp_is_digit(cand[1]) || !rp_is_digit(cand[2]))
			continue;
		if (i < len && cand[i] == '.')
			i++;
		if (len > 3 && i == len)
			continue; /* ends with the dot */
		while (i < len && iban_char(cand[i]))
			i++;
		if (i != len || len - (len > 3 && cand[3] == '.' ? 4 : 3) > 4)
			continue;
		if (!rp_view_boundary_before(v, end - len))
			return 1;
		/* the ATC shape (4th char a letter, 7 chars) is never an ICD-10 code */
		if (len == 7 && rp_is_upper(cand[3]) && rp_is_upper(cand[4]) && rp_is_digit(cand[5]) && rp_is_digit(cand[6]))
			return 1;
		rp_candidate(c, RP_DET_ICD10, end - len, len, &(struct rp_evidence){cand, len, 1, 0, NULL});
		return 1;
	}
	return 1;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Checksum and structure validators. Inputs are the significant characters of a candidate
 * (separators already removed), never NUL-terminated: every function takes a length and checks it.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static unsigned num(const char *s, size_t n)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

/* Luhn sum of n digits, the last one being the check digit. */
static unsigned luhn_sum(const char *digits, size_t n)
{
	static const uint8_t doubled[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(digits[n - 1 - i] - '0');
		sum += (i & 1) ? doubled[d] : d;
	}
	return sum;
}

bool rp_luhn(const char *digits, size_t n)
{
	if (n < 2 || !all_digits(digits, n))
		return false;
	return luhn_sum(digits, n) % 10 == 0;
}

/* Sex, month and department of a NIR (first 7 chars; dept may be 2A/2B). */
bool rp_nir_shape(const char *s, size_t n)
{
	if (n < 13)
		return false;
	if (s[0] < '1' || s[0] > '8' || s[0] == '5' || s[0] == '6')
		return false;
	if (!all_digits(s, 5))
		return false;
	unsigned month = num(s + 3, 2);
	if (!((month >= 1 && month <= 12) || month == 20 || (month >= 30 && month <= 42) || month >= 50))
		return false;
	if ((s[5] == '2') && (s[6] == 'A' || s[6] == 'B' || s[6] == 'a' || s[6] == 'b')) {
		/* Corsica since 1976 */
	} else {
		if (!all_digits(s + 5, 2))
			return false;
		unsigned dept = num(s + 5, 2);
		if (dept == 0 || dept == 96)
			return false;
		/* Overseas: 3-digit department (97x, 98x), then a 2-digit commune. */
		if ((dept == 97 && (s[7] < '1' || s[7] > '8')))
			return false;
	}
	if (!all_digits(s + 7, 6))
		return false;
	/* Commune (or country) and birth order number are never 000. */
	if (num(s + 7, 3) == 0 || num(s + 10, 3) == 0)
		return false;
	return true;
}

bool rp_nir_valid(const char *s, size_t n)
{
	char body[13];
	uint64_t v = 0;
	if (n != 15 || !rp_nir_shape(s, n) || !all_digits(s + 13, 2))
		return false;
	memcpy(body, s, 13);
	/* Corsica: 2A counts as 19, 2B as 18 in the key computation. */
	if (body[5] == '2' && (body[6] == 'A' || body[6] == 'a')) {
		body[5] = '1';
		body[6] = '9';
	} else if (body[5] == '2' && (body[6] == 'B' || body[6] == 'b')) {
		body[5] = '1';
		body[6] = '8';
	}
	for (size_t i = 0; i < 13; i++)
		v = v * 10 + (uint64_t)(body[i] - '0');
	return 97 - v % 97 == num(s + 13, 2);
}

/* ISO 13616 registry lengths (SWIFT IBAN registry). */
static const struct {
	char cc[3];
	unsigned char len;
} iban_lengths[] = {
	{"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
	{"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
	{"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
	{"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
	{"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
	{"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
	{"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
	{"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31},
	{"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
	{"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

int rp_iban_country_length(const char *cc)
{
	for (size_t i = 0; i < sizeof(iban_lengths) / sizeof(iban_lengths[0]); i++)
		if (cc[0] == iban_lengths[i].cc[0] && cc[1] == iban_lengths[i].cc[1])
			return iban_lengths[i].len;
	return 0;
}

bool rp_iban_valid(const char *s, size_t n)
{
	unsigned rem = 0;
	int want;
	if (n < 15 || n > 34)
		return false;
	want = rp_iban_country_length(s);
	if (want == 0 || (size_t)want != n)
		return false;
	if (s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9')
		return false;
	/* Move the first four chars to the end, letters become 10..35, then mod 97 piecewise. */
	for (size_t k = 0; k < n; k++) {
		char ch = s[(k + 4) % n];
		if (ch >= '0' && ch <= '9')
			rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
		else if (ch >= 'A' && ch <= 'Z')
			rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1;
}

/* Issuer prefixes and the lengths each network issues. */
bool rp_card_valid(const char *d, size_t n)
{
	unsigned p2, p3, p4, p6;
	bool ok = false;
	if (n < 13 || n > 19 || !all_digits(d, n))
		return false;
	p2 = num(d, 2);
	p3 = num(d, 3);
	p4 = num(d, 4);
	p6 = num(d, 6);
	if (d[0] == '4')
		ok = n == 13 || n == 16 || n == 19;                      /* Visa */
	else if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
		ok = n == 16;                                            /* Mastercard */
	else if (p2 == 34 || p2 == 37)
		ok = n == 15;                                            /* Amex */
	else if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || (p6 >= 622126 && p6 <= 622925))
		ok = n >= 16 && n <= 19;                                 /* Discover */
	else if (p4 >= 3528 && p4 <= 3589)
		ok = n >= 16 && n <= 19;                                 /* JCB */
	else if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39)
		ok = n == 14 || (n == 16 && p2 != 36);                   /* Diners */
	return ok && rp_luhn(d, n);
}

/* Card numbers are printed in groups of 4 (Amex/Diners 4-6-5 / 4-6-4); a separated number
 * grouped otherwise (SIRET 3-3-3-5, phone 2-2-2-2-2) is something else. */
bool rp_card_grouping_ok(const unsigned *g, size_t ng, size_t n)
{
	if (ng <= 1)
		return true;
	if (ng == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4))
		return true;
	for (size_t i = 0; i + 1 < ng; i++)
		if (g[i] != 4)
			return false;
	return g[ng - 1] >= 1 && g[ng - 1] <= 4 && n >= 13;
}

bool rp_npi_valid(const char *d, size_t n)
{
	if (n != 10 || !all_digits(d, n) || (d[0] != '1' && d[0] != '2'))
		return false;
	/* The NPI check digit is a Luhn digit over the card issuer prefix 80840 + the 9 digits;
	 * the prefix, at positions 14..10 from the right, adds 8 + 0 + 8 + 8 + 0 = 24. */
	return (24 + luhn_sum(d, 10)) % 10 == 0;
}

bool rp_ssn_valid(const char *d, size_t n)
{
	unsigned area, group, serial;
	if (n != 9 || !all_digits(d, n))
		return false;
	area = num(d, 3);
	group = num(d + 3, 2);
	serial = num(d + 5, 4);
	if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
		return false;
	/* Published fakes (Woolworth wallet card, advertising samples). */
	if (memcmp(d, "078051120", 9) == 0 || memcmp(d, "457555462", 9) == 0 ||
	    memcmp(d, "219099999", 9) == 0)
		return false;
	return true;
}

bool rp_dea_valid(const char *s, size_t n)
{
	unsigned c;
	if (n != 9 || !strchr("ABCDEFGHJKLMPRSTUX", s[0]) || s[0] == 0)
		return false;
	if (!((s[1] >= 'A' && s[1] <= 'Z') || s[1] == '9') || !all_digits(s + 2, 7))
		return false;
	c = (unsigned)(s[2] - '0') + (unsigned)(s[4] - '0') + (unsigned)(s[6] - '0') +
	    2 * ((unsigned)(s[3] - '0') + (unsigned)(s[5] - '0') + (unsigned)(s[7] - '0'));
	return c % 10 == (unsigned)(s[8] - '0');
}

bool rp_nif_valid(const char *d, size_t n)
{
	uint64_t v = 0;
	if (n != 13 || !all_digits(d, n) || d[0] > '3')
		return false;
	for (size_t i = 0; i < 10; i++)
		v = v * 10 + (uint64_t)(d[i] - '0');
	return v % 511 == num(d + 10, 3);
}

bool rp_date_valid(int day, int month, int year, int now_year)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1])
		return false;
	if (month == 2 && day == 29 && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return false;
	/* A birth date: not in the future, age at most 120. */
	return year <= now_year && year >= now_year - 120;
}

static const char *const validator_names[] = {
	"luhn", "nir", "iban", "credit_card", "us_npi", "us_ssn", "us_dea", "fr_nif", NULL,
};

const char *const *rp_validator_names(void)
{
	return validator_names;
}

int rp_validator_lookup(const char *name)
{
	if (!name)
		return VAL_NONE;
	for (int i = 0; validator_names[i]; i++)
		if (strcmp(validator_names[i], name) == 0)
			return i + 1;
	return -ENOENT;
}

bool rp_validator_run(enum rp_validator v, const char *s, size_t n)
{
	switch (v) {
	case VAL_NONE:
		return true;
	case VAL_LUHN:
		return rp_luhn(s, n);
	case VAL_NIR:
		return rp_nir_valid(s, n);
	case VAL_IBAN:
		return rp_iban_valid(s, n);
	case VAL_CREDIT_CARD:
		return rp_card_valid(s, n);
	case VAL_US_NPI:
		return rp_npi_valid(s, n);
	case VAL_US_SSN:
		return rp_ssn_valid(s, n);
	case VAL_US_DEA:
		return rp_dea_valid(s, n);
	case VAL_FR_NIF:
		return rp_nif_valid(s, n);
	default:
		return false;
	}
}

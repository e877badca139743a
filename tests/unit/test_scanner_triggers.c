/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The digit scanner's SIMD trigger search (AVX2 and SSE2, bit masks over 64-byte windows) against
 * its rules written out byte by byte: the same positions, whatever the input, wherever the search
 * starts. A wrong shift in the masks would make the scanner blind to a value while every
 * detection test still passed on the values it happens to contain.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "run_suite.h"

/* The data as the rules see it: nothing before it, '0' after it. */
static int at(const uint8_t *p, size_t n, long j)
{
	return j < 0 ? 0 : (size_t)j < n ? p[j] : '0';
}

static bool esc(const uint8_t *p, size_t n, long j)
{
	return at(p, n, j) == '\\' && at(p, n, j + 1) == 'u';
}

/* a hex digit of an escape ("\u00e9"): not a digit for the rules */
static bool hex(const uint8_t *p, size_t n, long j)
{
	return esc(p, n, j - 2) || esc(p, n, j - 3) || esc(p, n, j - 4) || esc(p, n, j - 5);
}

static bool dig(const uint8_t *p, size_t n, long j)
{
	int b = at(p, n, j);
	return b >= '0' && b <= '9' && !hex(p, n, j);
}

static bool sep(const uint8_t *p, size_t n, long j)
{
	int b = at(p, n, j);
	return b == ' ' || b == '.' || b == '-';
}

static bool is_word(int b)
{
	return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || b == '_';
}

/* a value may start here: after a non-word byte, an escape such as \n, or a \u00XX escape */
static bool word_start(const uint8_t *p, size_t n, long i)
{
	int b = at(p, n, i - 1);
	return !is_word(b) || (b >= 'a' && b <= 'z' && at(p, n, i - 2) == '\\') || esc(p, n, i - 6);
}

static bool trigger_ref(const uint8_t *p, size_t n, long i)
{
	int b = at(p, n, i), b1 = at(p, n, i + 1);
#define A(k) dig(p, n, i + (k))
#define S(k) sep(p, n, i + (k))
	if (b == '@')
		return true; /* an e-mail address */
	if (A(0) && A(1) && A(2) && A(3))
		return true; /* four in a row */
	if (b >= 'A' && b <= 'Z' && !hex(p, n, i) && A(1) && A(2) && word_start(p, n, i))
		return true; /* F32 */
	if (A(0) && (b1 == 0xc2 || b1 == 0xe2 || esc(p, n, i + 1)))
		return true; /* 2\u00a095 */
	if (A(0) && A(1) && S(2) && A(3) && A(4) && S(5) && A(6))
		return true; /* 06 12 34 */
	if (A(0) && S(1) && A(2) && S(3) && A(4) && S(5) && A(6))
		return true; /* 1 9 5 0 */
	return false;
#undef A
#undef S
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static unsigned rnd(unsigned m)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % m);
}

/* Each search's result is the first reference trigger at or after its start. */
static void check_walks(const uint8_t *p, size_t n, const char *what)
{
	enum { MAX = 4096 };
	static size_t starts[MAX], found[MAX];
	bool *ref = calloc(n + 1, sizeof(*ref));
	size_t *next = calloc(n + 1, sizeof(*next));

	ck_assert(ref && next);
	for (size_t i = 0; i < n; i++)
		ref[i] = trigger_ref(p, n, (long)i);
	next[n] = n;
	for (size_t i = n; i-- > 0;)
		next[i] = ref[i] ? i : next[i + 1];
	for (int sse2 = 0; sse2 <= 1; sse2++)
		for (unsigned jump = 0; jump <= 97; jump += 97) {
			size_t k = rp_scan_trigger_walk(p, n, sse2, jump, starts, found, MAX);
			for (size_t j = 0; j < k; j++)
				ck_assert_msg(found[j] == next[starts[j] < n ? starts[j] : n],
					      "%s (%zu bytes, %s, jump %u): search from %zu found %zu, rules say %zu", what,
					      n, sse2 ? "sse2" : "best ISA", jump, starts[j], found[j],
					      next[starts[j] < n ? starts[j] : n]);
		}
	free(ref);
	free(next);
}

START_TEST(random_bytes_of_interest)
{
	/* the bytes the rules look at, and a few they do not */
	static const uint8_t alphabet[] = "0123456789012345 .-\\uuAZFFx_n/,@\xc2\xa0\xe2\x80\xaf";
	uint8_t buf[700];

	for (int round = 0; round < 3000; round++) {
		size_t n = rnd(sizeof(buf) + 1);
		for (size_t i = 0; i < n; i++)
			buf[i] = alphabet[rnd(sizeof(alphabet) - 1)];
		check_walks(buf, n, "random");
	}
}
END_TEST

START_TEST(escapes_and_groups)
{
	/* values the rules exist for, at every offset around window edges */
	static const char *const values[] = {
		"2 95 10 99 126 111 93", "06 12 34 56 78", "1 9 5 0", "F32", "4111 1111 1111 1111", "123-45-6789",
		"aF32", "\\nF32", "\\u00e9F32", "_F32", "x9F32", "N02BE01", "QmFzZTY0K4xZ9",
		"\\u00e9t\\u00e9 2\\u00a095", "2\302\24095", "caf\\u00e9 12", "\\u00e9\\u00e9\\u00e9\\u00e9", "12.34.5",
		"jean@chu.fr", "@", "a@b@c",
	};
	uint8_t buf[256];

	for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++)
		for (size_t off = 0; off < 140; off++) {
			size_t len = strlen(values[v]), n = off + len + rnd(70);
			memset(buf, 'x', sizeof(buf));
			if (n > sizeof(buf))
				n = sizeof(buf);
			if (off + len > n)
				continue;
			memcpy(buf + off, values[v], len);
			check_walks(buf, n, values[v]);
		}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scanner_triggers");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, random_bytes_of_interest);
	tcase_add_test(tc, escapes_and_groups);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

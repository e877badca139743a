/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Separators inside identifiers, seen through a view (history + current chunk). Clinicians type
 * NIRs with spaces, dots or dashes; word processors insert NBSP or narrow NBSP; JSON bodies carry
 * those as "\u00a0" / "\u202f".
 */
#include <string.h>

#include "internal.h"

static bool escape_is_sep(const int b[6])
{
	/* \u00a0 or \u202f, hex digits in either case */
	if (b[2] == '0' && b[3] == '0' && (b[4] == 'a' || b[4] == 'A') && b[5] == '0')
		return true;
	if (b[2] == '2' && b[3] == '0' && b[4] == '2' && (b[5] == 'f' || b[5] == 'F'))
		return true;
	return false;
}

size_t rp_sep_len_back(const uint8_t *end, size_t avail)
{
	if (avail == 0)
		return 0;
	if (rp_escape_back(end, avail)) {
		int b[6];
		for (int i = 0; i < 6; i++)
			b[i] = end[i - 6];
		return escape_is_sep(b) ? 6 : 0;
	}
	if (end[-1] == ' ' || end[-1] == '.' || end[-1] == '-')
		return 1;
	if (end[-1] == 0xa0 && avail >= 2 && end[-2] == 0xc2)
		return 2;
	if (end[-1] == 0xaf && avail >= 3 && end[-2] == 0x80 && end[-3] == 0xe2)
		return 3;
	return 0;
}

size_t rp_sep_len_fwd(const uint8_t *p, size_t avail)
{
	if (avail == 0)
		return 0;
	if (p[0] == ' ' || p[0] == '.' || p[0] == '-')
		return 1;
	if (p[0] == 0xc2 && avail >= 2 && p[1] == 0xa0)
		return 2;
	if (p[0] == 0xe2 && avail >= 3 && p[1] == 0x80 && p[2] == 0xaf)
		return 3;
	if (p[0] == '\\' && avail >= 6 && p[1] == 'u') {
		int b[6];
		for (int i = 0; i < 6; i++)
			b[i] = p[i];
		if (escape_is_sep(b))
			return 6;
	}
	return 0;
}

int rp_view_sep_fwd(const struct rp_view *v, uint64_t off)
{
	int b[6];
	b[0] = view_byte(v, off);
	if (b[0] == VB_FUTURE)
		return VB_FUTURE;
	if (b[0] == ' ' || b[0] == '.' || b[0] == '-')
		return 1;
	if (b[0] != 0xc2 && b[0] != 0xe2 && b[0] != '\\')
		return 0;
	/* Multi-byte forms: every byte that decides must be present. */
	int need = b[0] == 0xc2 ? 2 : b[0] == 0xe2 ? 3 : 6;
	for (int i = 1; i < need; i++) {
		b[i] = view_byte(v, off + (uint64_t)i);
		if (b[i] == VB_FUTURE)
			return VB_FUTURE;
		if (b[i] < 0)
			return 0;
	}
	if (b[0] == 0xc2)
		return b[1] == 0xa0 ? 2 : 0;
	if (b[0] == 0xe2)
		return b[1] == 0x80 && b[2] == 0xaf ? 3 : 0;
	return b[1] == 'u' && escape_is_sep(b) ? 6 : 0;
}

bool rp_view_escape_back_at(const struct rp_view *v, uint64_t end)
{
	uint8_t b[6];
	return end >= 6 && rp_view_gather(v, end - 6, end, b) && rp_escape_back(b + 6, 6);
}

int rp_view_sep_back(const struct rp_view *v, uint64_t end)
{
	uint8_t b[6];
	/* the longest separator is 6 bytes; fewer may be in view */
	for (uint64_t k = end < 6 ? end : 6; k > 0; k--)
		if (rp_view_gather(v, end - k, end, b))
			return (int)rp_sep_len_back(b + k, (size_t)k);
	return 0;
}

bool rp_view_gather(const struct rp_view *v, uint64_t from, uint64_t to, uint8_t *out)
{
	/* fast path: the range lies in the history and/or the current chunk, which are contiguous */
	if (from <= to && to <= v->cur_base + v->cur_len) {
		uint64_t hist_end = v->hist_base + v->hist_len;
		if (from >= v->cur_base) {
			memcpy(out, v->cur + (from - v->cur_base), (size_t)(to - from));
			return true;
		}
		if (v->hist_len && from >= v->hist_base && hist_end == v->cur_base) {
			size_t h = (size_t)((to < hist_end ? to : hist_end) - from);
			memcpy(out, v->hist + (from - v->hist_base), h);
			if (to > hist_end)
				memcpy(out + h, v->cur, (size_t)(to - hist_end));
			return true;
		}
	}
	for (uint64_t o = from; o < to; o++) {
		int c = view_byte(v, o);
		if (c < 0)
			return false;
		out[o - from] = (uint8_t)c;
	}
	return true;
}

int rp_collect_back(const struct rp_view *v, uint64_t end, size_t max, bool (*acc)(int), char *sig, uint64_t *offs)
{
	char rsig[RP_SIG_MAX + 1];
	uint64_t roffs[RP_SIG_MAX + 1], pos = end;
	size_t n = 0;

	if (max > RP_SIG_MAX)
		max = RP_SIG_MAX;
	while (pos > 0 && n <= max) {
		bool esc = rp_view_escape_back(v, pos);
		int b = esc ? -1 : view_byte(v, pos - 1);
		/* an escape ending here is a separator ("\u00a0") or ends the value ("\u00e9") */
		if (esc || b < 0 || !acc(b)) {
			/* one separator between two significant chars */
			int s = rp_view_sep_back(v, pos);
			if (n == 0 || s <= 0 || pos <= (uint64_t)s)
				break;
			b = view_byte(v, pos - (uint64_t)s - 1);
			if (b < 0 || !acc(b) || rp_view_escape_back(v, pos - (uint64_t)s))
				break;
			pos -= (uint64_t)s;
			continue;
		}
		rsig[n] = (char)b;
		roffs[n] = pos - 1;
		n++;
		pos--;
	}
	for (size_t i = 0; i < n; i++) {
		sig[i] = rsig[n - 1 - i];
		offs[i] = roffs[n - 1 - i];
	}
	return (int)n;
}

bool rp_view_boundary_before(const struct rp_view *v, uint64_t start)
{
	int b;
	if (start == 0)
		return true;
	if (rp_view_escape_back(v, start))
		return true;
	b = view_byte(v, start - 1);
	if (b == VB_GONE)
		return false;
	if (b < 0)
		return true;
	if (rp_is_word(b)) {
		/* a JSON escape such as \n right before the value is a boundary */
		return (b >= 'a' && b <= 'z') && start >= 2 && view_byte(v, start - 2) == '\\';
	}
	return true;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Masked evidence: the only form of a matched value that leaves the library. Separators stay
 * where they were (multi-byte ones as a plain space) so an analyst recognises the layout.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The separator starting at raw[i], 0 if none (rp_sep_len_fwd; the one-byte ones, by far the
 * most common, without the call). */
static inline size_t sep_at(const uint8_t *raw, size_t raw_len, size_t i)
{
	uint8_t b = raw[i];
	if (b == ' ' || b == '.' || b == '-')
		return 1;
	if (b == 0xc2 || b == 0xe2 || b == '\\')
		return rp_sep_len_fwd(raw + i, raw_len - i);
	return 0;
}

/* Significant characters as rp_mask() counts them (escaped separators are not). */
size_t rp_mask_count_sig(const uint8_t *raw, size_t raw_len)
{
	size_t n = 0;
	for (size_t i = 0; i < raw_len;) {
		size_t sl = sep_at(raw, raw_len, i);
		if (sl > 0) {
			i += sl;
			continue;
		}
		if (rp_is_alnum(raw[i]))
			n++;
		i++;
	}
	return n;
}

void rp_mask_keep_ends(const uint8_t *raw, size_t raw_len, size_t head, size_t tail, char *out, size_t outlen)
{
	size_t n = rp_mask_count_sig(raw, raw_len), o = 0, k = 0, i = 0;
	if (outlen == 0)
		return;
	while (i < raw_len && o + 1 < outlen) {
		size_t sl = sep_at(raw, raw_len, i);
		if (sl > 0) {
			out[o++] = sl == 1 ? (char)raw[i] : ' ';
			i += sl;
			continue;
		}
		if (rp_is_alnum(raw[i])) {
			out[o++] = k < head || k + tail >= n ? (char)raw[i] : '*';
			k++;
		} else if (raw[i] >= 0x20 && raw[i] < 0x7f && raw[i] != '"' && raw[i] != '\\') {
			out[o++] = (char)raw[i];
		} else {
			out[o++] = '?';
		}
		i++;
	}
	out[o] = '\0';
}

void rp_evidence_mask(const struct rp_evidence *ev, char out[RP_MASKED_MAX])
{
	if (ev->fixed || !ev->raw) {
		snprintf(out, RP_MASKED_MAX, "%s", ev->fixed ? ev->fixed : "***");
		return;
	}
	rp_mask_keep_ends(ev->raw, ev->raw_len, ev->head, ev->tail, out, RP_MASKED_MAX);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Masked evidence: the only form of a matched value that leaves the library. Separators stay
 * where they were (multi-byte ones as a plain space) so an analyst recognises the layout.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* How rp_mask() treats each byte: a significant character, a one-byte separator, the first byte
 * of a possible multi-byte separator (rp_sep_len_fwd decides), printable, or shown as '?'. */
enum { M_OTHER = 0, M_SIG, M_SEP1, M_SEPN, M_PRINT };
static const uint8_t mask_class[256] = {
	[' '] = M_SEP1, ['!'] = M_PRINT, ['"'] = M_OTHER, ['#' ... ','] = M_PRINT, ['-'] = M_SEP1,
	['.'] = M_SEP1, ['/'] = M_PRINT, ['0' ... '9'] = M_SIG, [':' ... '@'] = M_PRINT,
	['A' ... 'Z'] = M_SIG, ['['] = M_PRINT, ['\\'] = M_SEPN, [']' ... '`'] = M_PRINT,
	['a' ... 'z'] = M_SIG, ['{' ... '~'] = M_PRINT, [0xc2] = M_SEPN, [0xe2] = M_SEPN,
};

/* The separator starting at raw[i] (its length), 0 if none. */
static inline size_t sep_at(const uint8_t *raw, size_t raw_len, size_t i)
{
	switch (mask_class[raw[i]]) {
	case M_SEP1:
		return 1;
	case M_SEPN:
		/* a JSON-escaped line break or tab inside a value (a written date across lines) */
		if (raw[i] == '\\' && i + 1 < raw_len && rp_blank_escape_letter(raw[i + 1]))
			return 2;
		return rp_sep_len_fwd(raw + i, raw_len - i);
	default:
		return 0;
	}
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
		n += mask_class[raw[i]] == M_SIG;
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
		uint8_t b = raw[i];
		size_t sl = sep_at(raw, raw_len, i);
		if (sl > 0) {
			out[o++] = sl == 1 ? (char)b : ' ';
			i += sl;
			continue;
		}
		switch (mask_class[b]) {
		case M_SIG:
			out[o++] = k < head || k + tail >= n ? (char)b : '*';
			k++;
			break;
		case M_PRINT:
			out[o++] = (char)b;
			break;
		default: /* '"', '\\' that starts no separator, control and non-ASCII bytes */
			out[o++] = '?';
			break;
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

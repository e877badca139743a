/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Strict base64 (RFC 4648, standard alphabet, padded, no whitespace) for bundle envelopes.
 * Strict on purpose: a bundle has exactly one valid encoding of its bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_internal.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *rp_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t olen = (len + 2) / 3 * 4;
	char *out = malloc(olen + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = alphabet[(v >> 18) & 63];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? alphabet[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int sextet(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

int rp_base64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len)
{
	unsigned char *buf, *o;
	size_t pad = 0;

	if (len % 4 != 0)
		return -EINVAL;
	if (len >= 1 && s[len - 1] == '=')
		pad++;
	if (len >= 2 && s[len - 2] == '=')
		pad++;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	o = buf;
	for (size_t i = 0; i < len; i += 4) {
		int a = sextet(s[i]), b = sextet(s[i + 1]);
		bool last = i + 4 == len;
		int c = last && pad >= 2 ? 0 : sextet(s[i + 2]);
		int d = last && pad >= 1 ? 0 : sextet(s[i + 3]);

		if (a < 0 || b < 0 || c < 0 || d < 0)
			goto invalid;
		/* Non-canonical encodings (bits set in the padding) are refused. */
		if (last && pad == 2 && (b & 15))
			goto invalid;
		if (last && pad == 1 && (c & 3))
			goto invalid;
		*o++ = (unsigned char)((a << 2) | (b >> 4));
		if (!(last && pad >= 2))
			*o++ = (unsigned char)(((b & 15) << 4) | (c >> 2));
		if (!(last && pad >= 1))
			*o++ = (unsigned char)(((c & 3) << 6) | d);
	}
	*out = buf;
	*out_len = (size_t)(o - buf);
	return 0;
invalid:
	free(buf);
	return -EINVAL;
}

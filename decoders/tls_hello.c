/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The server name in a TLS ClientHello (RFC 8446 4.1.2, RFC 6066 3). Used for TLS the agent
 * cannot read (a browser with its own TLS stack): the name is all there is to judge by. Every
 * length is checked against what was read; nothing is trusted.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "decoders.h"

#define TLS_HANDSHAKE 22
#define HS_CLIENT_HELLO 1
#define EXT_SERVER_NAME 0
#define SNI_HOST_NAME 0

struct cursor {
	const uint8_t *p;
	size_t n;
	bool short_read; /* ran past the end of what was captured */
};

static bool take(struct cursor *c, size_t k, const uint8_t **out)
{
	if (k > c->n) {
		c->short_read = true;
		return false;
	}
	if (out)
		*out = c->p;
	c->p += k;
	c->n -= k;
	return true;
}

/* A big-endian integer of k (1 to 3) bytes. */
static bool take_be(struct cursor *c, size_t k, size_t *v)
{
	const uint8_t *b;

	if (!take(c, k, &b))
		return false;
	*v = 0;
	for (size_t i = 0; i < k; i++)
		*v = *v << 8 | b[i];
	return true;
}

/* A sub-cursor of len bytes; what the capture lacks of it is a short read, not an error. */
static void sub(struct cursor *c, size_t len, struct cursor *out)
{
	size_t k = len < c->n ? len : c->n;

	out->p = c->p;
	out->n = k;
	out->short_read = k < len;
	c->p += k;
	c->n -= k;
	if (k < len)
		c->short_read = true;
}

static int copy_host_name(const uint8_t *p, size_t n, char *name, size_t cap)
{
	if (n == 0)
		return -EBADMSG;
	if (n >= cap)
		return -EMSGSIZE;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch - 'A' + 'a');
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_')) {
			name[0] = '\0'; /* no part of a name that is not one */
			return -EBADMSG;
		}
		name[i] = (char)ch;
	}
	name[n] = '\0';
	return 0;
}

static int server_name_ext(struct cursor *e, char *name, size_t cap)
{
	struct cursor list;
	size_t list_len;

	if (!take_be(e, 2, &list_len))
		return -EMSGSIZE;
	sub(e, list_len, &list);
	while (list.n > 0 || list.short_read) {
		size_t type, len;
		const uint8_t *host;

		if (!take_be(&list, 1, &type) || !take_be(&list, 2, &len))
			return -EMSGSIZE;
		if (!take(&list, len, &host))
			return -EMSGSIZE;
		if (type == SNI_HOST_NAME)
			return copy_host_name(host, len, name, cap);
	}
	return -ENOENT;
}

int rp_tls_hello_server_name(const void *buf, size_t len, char *name, size_t cap)
{
	struct cursor rec = {.p = buf, .n = buf ? len : 0}, hs, body, exts;
	const uint8_t *hdr;
	size_t rec_len, type, hs_len, v, ext_total;

	if (!name || cap == 0)
		return -EINVAL;
	name[0] = '\0';
	/* record: type, version, length */
	if (!take(&rec, 3, &hdr) || !take_be(&rec, 2, &rec_len))
		return -EBADMSG;
	if (hdr[0] != TLS_HANDSHAKE || hdr[1] != 3 || rec_len == 0 || rec_len > 16384 + 2048)
		return -EBADMSG;
	sub(&rec, rec_len, &hs);
	if (!take_be(&hs, 1, &type) || type != HS_CLIENT_HELLO || !take_be(&hs, 3, &hs_len))
		return -EBADMSG;
	sub(&hs, hs_len, &body);
	/* legacy_version, random, session id, cipher suites, compression methods */
	if (!take(&body, 2 + 32, NULL) || !take_be(&body, 1, &v) || !take(&body, v, NULL) || !take_be(&body, 2, &v) ||
	    !take(&body, v, NULL) || !take_be(&body, 1, &v) || !take(&body, v, NULL))
		return body.short_read ? -EMSGSIZE : -EBADMSG;
	if (body.n == 0 && !body.short_read)
		return -ENOENT; /* no extensions at all */
	if (!take_be(&body, 2, &ext_total))
		return -EMSGSIZE;
	sub(&body, ext_total, &exts);
	while (exts.n > 0) {
		struct cursor e;
		size_t ext_type, ext_len;

		if (!take_be(&exts, 2, &ext_type) || !take_be(&exts, 2, &ext_len))
			return -EMSGSIZE;
		sub(&exts, ext_len, &e);
		if (ext_type == EXT_SERVER_NAME)
			return server_name_ext(&e, name, cap);
	}
	return exts.short_read ? -EMSGSIZE : -ENOENT;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which organisation a request is authenticated for, so a policy can approve a service for the
 * hospital's own tenant only (Copilot under the hospital's Microsoft 365, not a personal account).
 *
 * Sources, read from request headers as they stream past:
 *  - "Authorization: Bearer <JWT>": the token's payload (base64url JSON, readable without keys)
 *    carries the Microsoft Entra tenant id ("tid") and the signed-in account, whose domain
 *    ("upn", "preferred_username", "unique_name", "email") names the organisation; Google
 *    tokens carry the Workspace domain in "hd";
 *  - "OpenAI-Organization: org-...": the organisation an OpenAI API request is billed to.
 * The agent cannot verify a token's signature; a forged one is refused by the service, and the
 * verdict only ever widens approval to what the policy names.
 *
 * A JWT header runs to kilobytes, longer than any line the HTTP/1 decoder keeps: the reader
 * decodes it as it streams, a few bytes of state between chunks, and reads the payload's
 * top-level string members with a tokenizer that keeps one bounded string at a time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define TR_STR_MAX 160u              /* longest claim value read (a upn is at most 113 in Entra) */
#define TR_PAYLOAD_MAX (32u << 10)   /* decoded payload bytes read at most */

enum tr_state {
	TR_SCHEME,  /* "Bearer" */
	TR_SPACES,  /* after it */
	TR_SEG1,    /* the JOSE header, skipped */
	TR_PAYLOAD, /* base64url of the claims */
	TR_DONE,
};

/* Claims that name the organisation, by preference: a better one replaces a weaker one. */
enum tr_claim {
	CLAIM_NONE = 0,
	CLAIM_TID,
	CLAIM_HD,
	CLAIM_EMAIL,
	CLAIM_UNIQUE_NAME,
	CLAIM_PREFERRED_USERNAME,
	CLAIM_UPN,
};

struct rp_tenant_reader {
	enum tr_state state;
	char scheme[8];
	uint8_t n_scheme;
	/* base64url */
	uint32_t quad;
	uint8_t n_quad;
	uint32_t decoded;
	/* JSON tokenizer over the decoded payload */
	bool in_str, esc, str_is_value, after_colon, str_bad;
	uint8_t key;            /* enum tr_claim of the member whose value comes next */
	uint8_t domain_rank;    /* enum tr_claim the domain below came from */
	uint32_t depth;
	char str[TR_STR_MAX];
	uint32_t n_str;
	/* what was found */
	char tid[RP_TENANT_MAX];
	char domain[RP_TENANT_MAX];
};

static enum tr_claim claim_of(const char *s, size_t n)
{
	static const struct {
		const char *name;
		enum tr_claim claim;
	} claims[] = {
		{"tid", CLAIM_TID},
		{"hd", CLAIM_HD},
		{"email", CLAIM_EMAIL},
		{"unique_name", CLAIM_UNIQUE_NAME},
		{"preferred_username", CLAIM_PREFERRED_USERNAME},
		{"upn", CLAIM_UPN},
	};
	for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
		if (strlen(claims[i].name) == n && memcmp(claims[i].name, s, n) == 0)
			return claims[i].claim;
	return CLAIM_NONE;
}

/* A tenant id or domain is a short token of letters, digits, '.', '-' and '_'. */
static bool token_ok(const char *s, size_t n)
{
	if (n == 0 || n >= RP_TENANT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* Domains are kept in lower case; ids as the service spelled them (compared case-insensitively). */
static void set_token(char *dst, const char *s, size_t n, bool lower)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (lower && s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	dst[n] = '\0';
}

static void claim_value(struct rp_tenant_reader *r, enum tr_claim claim, const char *s, size_t n)
{
	const char *at;

	if (claim == CLAIM_TID) {
		if (token_ok(s, n))
			set_token(r->tid, s, n, false);
		return;
	}
	if (claim != CLAIM_HD) {
		/* An account name: keep its domain only, never the person. */
		at = memchr(s, '@', n);
		if (!at)
			return;
		n -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	if (claim >= r->domain_rank && token_ok(s, n)) {
		set_token(r->domain, s, n, true);
		r->domain_rank = (uint8_t)claim;
	}
}

static void json_byte(struct rp_tenant_reader *r, char c)
{
	if (r->in_str) {
		if (r->esc) {
			r->esc = false;
			r->str_bad = true; /* an escaped claim is not a plain token: not ours */
		} else if (c == '\\') {
			r->esc = true;
		} else if (c == '"') {
			r->in_str = false;
			if (r->str_bad || r->depth != 1) {
				r->key = CLAIM_NONE;
			} else if (r->str_is_value) {
				if (r->key != CLAIM_NONE)
					claim_value(r, (enum tr_claim)r->key, r->str, r->n_str);
				r->key = CLAIM_NONE;
			} else {
				r->key = (uint8_t)claim_of(r->str, r->n_str);
			}
			r->after_colon = false;
		} else if (r->n_str < TR_STR_MAX) {
			r->str[r->n_str++] = c;
		} else {
			r->str_bad = true;
		}
		return;
	}
	switch (c) {
	case '"':
		r->in_str = true;
		r->esc = false;
		r->str_bad = false;
		r->n_str = 0;
		r->str_is_value = r->after_colon;
		break;
	case ':':
		r->after_colon = true;
		break;
	case '{':
	case '[':
		r->depth++;
		r->key = CLAIM_NONE;
		r->after_colon = false;
		break;
	case '}':
	case ']':
		if (r->depth)
			r->depth--;
		r->key = CLAIM_NONE;
		r->after_colon = false;
		break;
	case ',':
		r->key = CLAIM_NONE;
		r->after_colon = false;
		break;
	default:
		break; /* white space, numbers, true/false/null */
	}
}

static void payload_emit(struct rp_tenant_reader *r, uint32_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		if (r->decoded++ >= TR_PAYLOAD_MAX) {
			r->state = TR_DONE;
			return;
		}
		json_byte(r, (char)((v >> (16 - 8 * i)) & 0xff));
	}
}

/* The payload ended (at '.', or at whatever ends the header value): flush a partial quad. */
static void payload_end(struct rp_tenant_reader *r)
{
	if (r->n_quad == 2)
		payload_emit(r, r->quad << 12, 1);
	else if (r->n_quad == 3)
		payload_emit(r, r->quad << 6, 2);
	r->n_quad = 0;
	r->state = TR_DONE;
}

int rp_tenant_reader_begin(struct rp_tenant_reader **rp)
{
	struct rp_tenant_reader *r = *rp;

	if (!r) {
		r = malloc(sizeof(*r));
		if (!r)
			return -ENOMEM;
		*rp = r;
	}
	memset(r, 0, sizeof(*r));
	return 0;
}

void rp_tenant_reader_feed(struct rp_tenant_reader *r, const char *p, size_t n)
{
	for (size_t i = 0; r && i < n && r->state != TR_DONE; i++) {
		char c = p[i];
		int v;

		switch (r->state) {
		case TR_SCHEME:
			if (c == ' ' || c == '\t') {
				if (r->n_scheme == 0)
					break; /* before the scheme */
				bool bearer = r->n_scheme == 6 && strncasecmp(r->scheme, "bearer", 6) == 0;
				r->state = bearer ? TR_SPACES : TR_DONE;
			} else if (r->n_scheme < sizeof(r->scheme)) {
				r->scheme[r->n_scheme++] = c;
			} else {
				r->state = TR_DONE;
			}
			break;
		case TR_SPACES:
			if (c == ' ' || c == '\t')
				break;
			r->state = TR_SEG1;
			__attribute__((fallthrough)); /* c is the token's first byte */
		case TR_SEG1:
			if (c == '.')
				r->state = TR_PAYLOAD;
			else if (rp_base64_digit((uint8_t)c) < 0)
				r->state = TR_DONE;
			break;
		case TR_PAYLOAD:
			v = rp_base64_digit((uint8_t)c);
			if (v < 0) {
				payload_end(r);
				break;
			}
			r->quad = (r->quad << 6) | (uint32_t)v;
			if (++r->n_quad == 4) {
				payload_emit(r, r->quad, 3);
				r->quad = 0;
				r->n_quad = 0;
			}
			break;
		case TR_DONE:
			break;
		}
	}
}

void rp_tenant_reader_end(struct rp_tenant_reader *r, struct rp_decoder *d)
{
	if (!r || !d)
		return;
	if (r->state == TR_PAYLOAD)
		payload_end(r);
	/* A token naming no organisation leaves what an earlier request said. */
	if (r->tid[0] || r->domain[0]) {
		memcpy(d->tenant, r->tid, sizeof(d->tenant));
		memcpy(d->tenant_domain, r->domain, sizeof(d->tenant_domain));
	}
}

void rp_tenant_reader_free(struct rp_tenant_reader *r)
{
	free(r);
}

void rp_decoder_read_authorization(struct rp_decoder *d, const char *v, size_t len)
{
	if (rp_tenant_reader_begin(&d->tenant_reader) < 0)
		return;
	rp_tenant_reader_feed(d->tenant_reader, v, len);
	rp_tenant_reader_end(d->tenant_reader, d);
	rp_tenant_reader_free(d->tenant_reader);
	d->tenant_reader = NULL;
}

void rp_decoder_set_organisation(struct rp_decoder *d, const char *v, size_t len)
{
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r'))
		len--;
	if (!token_ok(v, len))
		return;
	set_token(d->tenant, v, len, false);
	d->tenant_domain[0] = '\0';
}

const char *rp_decoder_tenant(const struct rp_decoder *d)
{
	return d && d->tenant[0] ? d->tenant : NULL;
}

const char *rp_decoder_tenant_domain(const struct rp_decoder *d)
{
	return d && d->tenant_domain[0] ? d->tenant_domain : NULL;
}

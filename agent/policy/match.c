/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Matching a flow against destinations and scopes: hosts, addresses, processes, users. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_internal.h"

#define HOST_MAX 253

/* A DNS name: labels of [a-z0-9-_] (underscore appears in real service names), 1..63 chars each. */
static bool dns_name_valid(const char *s)
{
	size_t label = 0, total = strlen(s);

	if (total == 0 || total > HOST_MAX)
		return false;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

bool rp_host_pattern_valid(const char *pattern)
{
	if (strncmp(pattern, "*.", 2) == 0)
		pattern += 2;
	return dns_name_valid(pattern);
}

/*
 * Put what the daemon saw into the form patterns are written in: lowercase, without a port or a
 * trailing dot. Returns false when it cannot be a host name (then it never matches).
 */
static bool normalize_host(const char *host, char out[HOST_MAX + 2])
{
	size_t n = 0;

	if (host[0] == '[') /* IPv6 literal authority: not a name */
		return false;
	for (; *host && *host != ':'; host++) {
		if (n > HOST_MAX)
			return false;
		out[n++] = (char)tolower((unsigned char)*host);
	}
	if (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return n > 0;
}

/* "*.example.org" matches any name below example.org, not example.org itself. */
static bool host_match_norm(const char *pattern, const char *host)
{
	size_t hl, sl;

	if (strncmp(pattern, "*.", 2) != 0)
		return strcmp(pattern, host) == 0;
	pattern += 1; /* keep the dot: ".example.org" */
	hl = strlen(host);
	sl = strlen(pattern);
	return hl > sl && strcmp(host + hl - sl, pattern) == 0;
}

bool rp_host_match(const char *pattern, const char *host)
{
	char norm[HOST_MAX + 2];

	if (!pattern || !host || !normalize_host(host, norm))
		return false;
	return host_match_norm(pattern, norm);
}

int rp_cidr_parse(const char *s, struct rp_cidr *out)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxbits;
	long prefix;

	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		maxbits = 128;
	} else {
		return -EINVAL;
	}
	if (slash) {
		char *end;

		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		prefix = strtol(slash + 1, &end, 10);
		if (*end || prefix < 0 || prefix > (long)maxbits)
			return -EINVAL;
	} else {
		prefix = maxbits;
	}
	out->prefix = (unsigned)prefix;
	/* Clear host bits so matching is a plain prefix comparison. */
	for (unsigned bit = out->prefix; bit < maxbits; bit++)
		out->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	return 0;
}

bool rp_cidr_match(const struct rp_cidr *c, int family, const uint8_t *addr)
{
	uint8_t a4[16];

	if (!addr)
		return false;
	/* An IPv4-mapped IPv6 peer (dual-stack socket) is the IPv4 address it maps. */
	if (family == AF_INET6 && c->family == AF_INET &&
	    memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memcpy(a4, addr + 12, 4);
		addr = a4;
		family = AF_INET;
	}
	if (family != c->family)
		return false;
	for (unsigned bit = 0; bit < c->prefix; bit++) {
		uint8_t m = (uint8_t)(0x80u >> (bit % 8));

		if ((addr[bit / 8] & m) != (c->addr[bit / 8] & m))
			return false;
	}
	return true;
}

static bool cidrs_match(const struct rp_cidr *c, size_t n, const struct rp_flow_context *ctx)
{
	for (size_t i = 0; i < n; i++)
		if (rp_cidr_match(&c[i], ctx->family, ctx->raddr))
			return true;
	return false;
}

static bool hosts_match(const rp_strv patterns, const char *host)
{
	char norm[HOST_MAX + 2];

	if (!host || !normalize_host(host, norm))
		return false;
	for (size_t i = 0; patterns && patterns[i]; i++)
		if (host_match_norm(patterns[i], norm))
			return true;
	return false;
}

/* First catalogue entry whose hosts or addresses match; by name first, the address may be a CDN. */
ssize_t rp_destination_lookup(const struct rp_policy *p, const struct rp_flow_context *ctx)
{
	if (!ctx)
		return -1;
	for (size_t i = 0; ctx->host && i < p->n_dests; i++)
		if (hosts_match(p->dests[i].hosts, ctx->host))
			return (ssize_t)i;
	for (size_t i = 0; ctx->raddr && i < p->n_dests; i++)
		if (cidrs_match(p->dests[i].addrs, p->dests[i].n_addrs, ctx))
			return (ssize_t)i;
	return -1;
}

bool rp_destination_approved(const struct rp_policy *p, ssize_t dest,
			     const struct rp_flow_context *ctx)
{
	const struct rp_destination *d;

	if (dest < 0)
		return false;
	d = &p->dests[dest];
	if (!d->approved)
		return false;
	if (!d->approved_tenants)
		return true;
	/* Approved for named tenants only: an unknown tenant is not one of them. */
	for (size_t i = 0; ctx && d->approved_tenants[i]; i++)
		if ((ctx->tenant && strcasecmp(d->approved_tenants[i], ctx->tenant) == 0) ||
		    (ctx->tenant_domain && strcasecmp(d->approved_tenants[i], ctx->tenant_domain) == 0))
			return true;
	return false;
}

static bool fnmatch_any(const rp_strv patterns, const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; patterns[i]; i++)
		if (fnmatch(patterns[i], s, 0) == 0)
			return true;
	return false;
}

static bool users_match(const rp_strv users, const struct rp_flow_context *ctx)
{
	for (size_t i = 0; users[i]; i++) {
		const char *u = users[i];
		char *end;
		unsigned long uid;

		if (isdigit((unsigned char)u[0])) {
			uid = strtoul(u, &end, 10);
			if (*end == '\0' && uid == ctx->uid)
				return true;
			continue;
		}
		if (ctx->user && strcmp(u, ctx->user) == 0)
			return true;
	}
	return false;
}

bool rp_scope_match(const struct rp_policy *p, const struct rp_scope *s,
		    const struct rp_flow_context *ctx, ssize_t dest)
{
	static const struct rp_flow_context empty;

	if (!ctx)
		ctx = &empty;
	if (s->comm && !fnmatch_any(s->comm, ctx->comm))
		return false;
	if (s->exe && !fnmatch_any(s->exe, ctx->exe))
		return false;
	if (s->users && !users_match(s->users, ctx))
		return false;
	if (s->ports) {
		bool ok = false;

		for (size_t i = 0; i < s->n_ports; i++)
			ok |= s->ports[i] == ctx->rport;
		if (!ok)
			return false;
	}
	/* Hosts and addresses are alternatives: either identifies the peer. */
	if (s->hosts || s->addrs) {
		bool ok = (s->hosts && hosts_match(s->hosts, ctx->host)) ||
			  (s->addrs && cidrs_match(s->addrs, s->n_addrs, ctx));

		if (!ok)
			return false;
	}
	if (s->destinations) {
		bool ok = false;

		for (size_t i = 0; dest >= 0 && i < s->n_destinations; i++)
			ok |= s->destinations[i] == (size_t)dest;
		if (!ok)
			return false;
	}
	if (s->categories && (dest < 0 || !rp_strv_contains(s->categories, p->dests[dest].category)))
		return false;
	if (s->approved >= 0 && rp_destination_approved(p, dest, ctx) != (s->approved == 1))
		return false;
	if (s->negated && rp_scope_match(p, s->negated, ctx, dest))
		return false;
	return true;
}

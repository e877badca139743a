/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy: parse and validate a JSON policy (policies/schema.json), compile its detectors, and
 * decide what to do with a flow given what was found in it. Library code: never logs; errors are
 * returned as diagnostics naming the JSON path ("rules[3].action: ...").
 *
 * A struct rp_policy is immutable once loaded: the daemon swaps whole policies atomically and
 * frees the old one when no flow refers to it any more.
 */
#ifndef REMPART_POLICY_H
#define REMPART_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detectors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ordered by severity: when several rules match, the most severe action wins. */
enum rp_action {
	RP_ACTION_NONE = 0,
	RP_ACTION_AUDIT,   /* log only */
	RP_ACTION_ALERT,   /* log + desktop notification */
	RP_ACTION_BLOCK,   /* kill the flow */
	RP_ACTION_HOLD,    /* strict: hold each write until its verdict; a match blocks */
	RP_ACTION_KILL,    /* kill the process */
};
const char *rp_action_name(enum rp_action a);

#define RP_DIAG_MAX 64
#define RP_DIAG_LEN 320

/* Diagnostics: each line "json.path: what is wrong". Overflow is counted, not stored. */
struct rp_diag {
	size_t n;
	size_t dropped;
	char lines[RP_DIAG_MAX][RP_DIAG_LEN];
};

struct rp_policy_settings {
	uint64_t capture_budget_bytes;   /* per-write capture budget handed to BPF */
	uint32_t hold_timeout_ms;        /* verdict timeout in hold mode */
	bool fail_closed;                /* on hold timeout: true kills the flow, false releases */
	uint32_t notify_rate_per_minute; /* desktop notifications per user per minute */
	/* What to do with a flow some of whose bytes were not inspected (over the per-write capture
	 * budget, ring buffer full): RP_ACTION_NONE ignores it. */
	enum rp_action capture_gap_action;
};

struct rp_policy;

/*
 * Load, validate and compile (Hyperscan included). On failure returns a negative errno, *out is
 * untouched, and diag (if given) says why. origin names the source in messages (file path).
 */
int rp_policy_load_file(const char *path, struct rp_policy **out, struct rp_diag *diag);
int rp_policy_load_buffer(const char *json, size_t len, const char *origin, struct rp_policy **out,
			  struct rp_diag *diag);
void rp_policy_free(struct rp_policy *p); /* NULL-safe */

const struct rp_engine *rp_policy_engine(const struct rp_policy *p);
const struct rp_policy_settings *rp_policy_settings(const struct rp_policy *p);
const char *rp_policy_name(const struct rp_policy *p);
uint64_t rp_policy_serial(const struct rp_policy *p);
const char *rp_policy_sha256(const struct rp_policy *p); /* hex of the JSON bytes */

/* What the daemon knows about a flow when it asks for a verdict. Any pointer may be NULL. */
struct rp_flow_context {
	uint32_t pid;
	uint32_t uid;
	const char *comm;
	const char *exe;
	const char *user;
	int family;                 /* AF_INET / AF_INET6 / 0 */
	const uint8_t *raddr;       /* 4 or 16 bytes per family */
	uint16_t rport;
	const char *host;           /* HTTP Host / :authority / SNI when known */
	/* The organisation the flow's latest authenticated request named (decoders/tenant.c): a
	 * tenant or organisation id, and an organisation domain. Destinations with
	 * "approved_tenants" are approved only when one of them is listed. */
	const char *tenant;
	const char *tenant_domain;
	/* The flow is TLS from a stack the agent does not hook (a ClientHello nobody hooked sent):
	 * its content cannot be read. Only rules with "uninspected_tls": true apply to it. */
	bool uninspected_tls;
};

struct rp_verdict {
	enum rp_action action;
	const char *rule_id;        /* owned by the policy; NULL when no rule matched */
	const char *message;        /* notification text, owned by the policy; may be NULL */
	const char *destination;    /* catalogue entry name for the destination, or NULL */
	bool destination_approved;
};

/*
 * Decide for a flow. counts[i] is how many findings of engine detector i (at or above its minimum
 * confidence) the flow carried so far; n is rp_engine_detector_count(). Always fills v.
 */
void rp_policy_evaluate(const struct rp_policy *p, const struct rp_flow_context *ctx,
			const uint32_t *counts, size_t n, struct rp_verdict *v);

/* Strictest action any rule could take on this flow before content is seen (hold scoping). */
enum rp_action rp_policy_prejudge(const struct rp_policy *p, const struct rp_flow_context *ctx);

/* ---- Additions to the original API ---- */

/* Policies (and files read by the loader) larger than this are refused before parsing. */
#define RP_POLICY_MAX_BYTES (16u * 1024u * 1024u)

/* Flags for the _ex loaders. */
#define RP_POLICY_NO_COMPILE 0x1u /* validate only: no Hyperscan, rp_policy_engine() is NULL */

int rp_policy_load_file_ex(const char *path, unsigned flags, struct rp_policy **out,
			   struct rp_diag *diag);
int rp_policy_load_buffer_ex(const char *json, size_t len, const char *origin, unsigned flags,
			     struct rp_policy **out, struct rp_diag *diag);

/* Action by name ("block"), or -ENOENT. */
int rp_action_from_name(const char *name);

/* Read a whole file but never more than max bytes (-EFBIG past it). *out is NUL-terminated
 * (the NUL is not counted in *out_len) and must be freed. */
int rp_read_file_bounded(const char *path, size_t max, char **out, size_t *out_len);

/* Inspection (`rempart policy show`, `rempart status`). Strings are owned by the policy. */
struct rp_rule_info {
	const char *id;
	enum rp_action action;
	uint32_t min_count;
	const char *message;              /* may be NULL */
	const char *const *detectors;     /* NULL-terminated detector ids; NULL for uninspected_tls */
	bool uninspected_tls;             /* matches TLS the agent cannot read, not content */
};
size_t rp_policy_rule_count(const struct rp_policy *p);
int rp_policy_rule_info(const struct rp_policy *p, size_t i, struct rp_rule_info *info);

struct rp_destination_info {
	const char *name;
	const char *category;
	bool approved;
	const char *const *hosts;         /* NULL-terminated */
};
size_t rp_policy_destination_count(const struct rp_policy *p);
int rp_policy_destination_info(const struct rp_policy *p, size_t i, struct rp_destination_info *info);
size_t rp_policy_exception_count(const struct rp_policy *p);

/* ==== Enforcement settings (tracker issue 5) — agent/policy/destinations_access.c ============
 * The optional top-level "enforcement" object (policies/README.md, "Enforcement"):
 *   "deny": ["203.0.113.0/24", "2001:db8::1", "paste.example.net"]   addresses, CIDRs, host names
 *   "deny_destinations": ["deepseek"]   catalogue entries: their exact host names and addresses
 *   "block_quic": true                  refuse UDP/443 for the processes named in quic_comm
 *   "quic_comm": ["firefox", ...]       process names (comm, at most 15 bytes)
 *   "kill_if_unstoppable": false        block falls back to killing the writer when the flow can
 *                                       be neither destroyed nor dropped
 * Host names are resolved by the agent (getaddrinfo) when the policy is loaded; wildcard host
 * patterns cannot be resolved and are ignored for connect-time denial. */
struct rp_enforce_cidr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* network byte order */
	unsigned prefix;
};
struct rp_enforcement_settings {
	struct rp_enforce_cidr *deny_addrs;
	size_t n_deny_addrs;
	char **deny_hosts;         /* NULL-terminated, lowercase exact names */
	bool block_quic;
	char **quic_comm;          /* NULL-terminated */
	bool kill_if_unstoppable;
};
/* Parse the "enforcement" object of the policy document json (the bytes p was loaded from; p
 * resolves catalogue names). Defaults when absent. Returns -EINVAL with diagnostics on errors. */
int rp_policy_enforcement_parse(const struct rp_policy *p, const char *json, size_t len,
				struct rp_enforcement_settings **out, struct rp_diag *diag);
void rp_enforcement_settings_free(struct rp_enforcement_settings *s); /* NULL-safe */
/* The settings parsed when p was loaded (defaults when the policy has no "enforcement"). */
const struct rp_enforcement_settings *rp_policy_enforcement(const struct rp_policy *p);
/* Whether a hold rule's scope names destinations (hosts, addresses, ports, catalogue entries,
 * categories, approval): then a flow's hold answer needs its destination. */
bool rp_policy_hold_depends_on_destination(const struct rp_policy *p);
/* ==== end enforcement settings ==== */

#ifdef __cplusplus
}
#endif
#endif

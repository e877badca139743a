/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to the policy library: the in-memory model of a validated policy, shared by the
 * validator (which builds it), the compiler (which turns it into an engine) and the evaluator.
 */
#ifndef REMPART_POLICY_INTERNAL_H
#define REMPART_POLICY_INTERNAL_H

#include <netinet/in.h>
#include <sys/types.h>
#include <stdarg.h>

#include "policy.h"

struct json_object;

/* An address range from a destination or a scope: family + prefix. */
struct rp_cidr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* network byte order, bits past prefix cleared */
	unsigned prefix;   /* 0..32 or 0..128 */
};

/* A NULL-terminated list of strings owned by the policy. */
typedef char **rp_strv;

struct rp_destination {
	char *name;
	char *category;
	rp_strv hosts;             /* lowercase; "exact.name" or "*.suffix" */
	struct rp_cidr *addrs;
	size_t n_addrs;
	bool approved;
	rp_strv approved_tenants;  /* when set, only these tenants are approved */
};

/*
 * Who and where a rule (or an exception) applies to. Every field that is set must match (AND);
 * inside a list any entry may match (OR). `negated` is the optional "not" sub-scope: the scope
 * fails when it matches.
 */
struct rp_scope {
	rp_strv comm;          /* fnmatch patterns on the process name */
	rp_strv exe;           /* fnmatch patterns on the executable path */
	rp_strv users;         /* user names, or decimal uids */
	rp_strv hosts;         /* host patterns */
	struct rp_cidr *addrs;
	size_t n_addrs;
	uint16_t *ports;
	size_t n_ports;
	size_t *destinations;  /* indexes in the catalogue */
	size_t n_destinations;
	rp_strv categories;
	int approved;          /* -1 any, 0 destination not approved (or unknown), 1 approved */
	struct rp_scope *negated;
};

struct rp_rule {
	char *id;
	char *message;
	enum rp_action action;
	uint32_t min_count;
	rp_strv detector_ids;  /* as written */
	int *detectors;        /* engine indexes, resolved at compile time */
	size_t n_detectors;
	bool uninspected_tls;  /* matches flows whose TLS is not readable instead of findings */
	struct rp_scope scope;
};

struct rp_exception {
	char *id;
	size_t *rules;         /* rule indexes; n_rules == 0 means every rule */
	size_t n_rules;
	struct rp_scope scope;
};

struct rp_custom_model {
	char *id;
	char *regex;
	char *validator;
	rp_strv keywords;
	double confidence;
	bool needs_context;
};

struct rp_policy {
	char *name;
	uint64_t serial;
	char sha256[65];
	struct rp_policy_settings settings;
	unsigned context_window;

	/* detectors */
	struct rp_detector_setting builtin[RP_DET__BUILTIN];
	bool builtin_set[RP_DET__BUILTIN];
	struct rp_custom_model *custom;
	size_t n_custom;

	struct rp_destination *dests;
	size_t n_dests;
	struct rp_rule *rules;
	size_t n_rules;
	struct rp_exception *exceptions;
	size_t n_exceptions;

	struct rp_engine *engine;
	struct rp_enforcement_settings *enforcement; /* issue 5: destinations_access.c */
};

/* diag.c */
void rp_diag_addf(struct rp_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_diag_vaddf(struct rp_diag *d, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* parse.c: bytes -> JSON tree, with UTF-8, depth and trailing-garbage checks. */
int rp_json_parse(const char *buf, size_t len, const char *origin, struct json_object **out,
		  struct rp_diag *diag);

/* validate.c: JSON tree -> model. Returns -EINVAL when anything was reported. */
int rp_policy_from_json(struct json_object *root, struct rp_policy *p, struct rp_diag *diag);

/* compile.c: model -> engine, rule detector indexes. */
int rp_policy_compile(struct rp_policy *p, struct rp_diag *diag);

/* match.c */
bool rp_host_pattern_valid(const char *pattern);
bool rp_host_match(const char *pattern, const char *host);
int rp_cidr_parse(const char *s, struct rp_cidr *out);
bool rp_cidr_match(const struct rp_cidr *c, int family, const uint8_t *addr);
ssize_t rp_destination_lookup(const struct rp_policy *p, const struct rp_flow_context *ctx);
bool rp_destination_approved(const struct rp_policy *p, ssize_t dest,
			     const struct rp_flow_context *ctx);
bool rp_scope_match(const struct rp_policy *p, const struct rp_scope *s,
		    const struct rp_flow_context *ctx, ssize_t dest);

/* destinations_access.c (issue 5): the "enforcement" object (catalogue already parsed). */
/* Parse o (NULL: the defaults) into p->enforcement; -EINVAL with diagnostics. */
int rp_enforcement_attach(struct rp_policy *p, struct json_object *o, struct rp_diag *diag);

/* policy.c */
void rp_strv_free(rp_strv v);
size_t rp_strv_len(const rp_strv v);
bool rp_strv_contains(const rp_strv v, const char *s);

#endif

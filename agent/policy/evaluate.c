/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Verdicts: which rule applies to a flow, given its context and what the detectors counted. */
#include <string.h>

#include "policy_internal.h"

static bool suppressed(const struct rp_policy *p, size_t rule, const struct rp_flow_context *ctx,
		       ssize_t dest)
{
	for (size_t i = 0; i < p->n_exceptions; i++) {
		const struct rp_exception *e = &p->exceptions[i];
		bool applies = e->n_rules == 0;

		for (size_t k = 0; k < e->n_rules && !applies; k++)
			applies = e->rules[k] == rule;
		if (applies && rp_scope_match(p, &e->scope, ctx, dest))
			return true;
	}
	return false;
}

static uint64_t rule_count(const struct rp_rule *r, const uint32_t *counts, size_t n)
{
	uint64_t sum = 0;

	if (!counts)
		return 0;
	for (size_t k = 0; k < r->n_detectors; k++)
		if (r->detectors[k] >= 0 && (size_t)r->detectors[k] < n)
			sum += counts[r->detectors[k]];
	return sum;
}

void rp_policy_evaluate(const struct rp_policy *p, const struct rp_flow_context *ctx,
			const uint32_t *counts, size_t n, struct rp_verdict *v)
{
	ssize_t dest;
	bool unreadable;

	if (!v)
		return;
	memset(v, 0, sizeof(*v));
	if (!p)
		return;
	unreadable = ctx && ctx->uninspected_tls;
	dest = rp_destination_lookup(p, ctx);
	if (dest >= 0) {
		v->destination = p->dests[dest].name;
		v->destination_approved = rp_destination_approved(p, dest, ctx);
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rp_rule *r = &p->rules[i];

		/* Strictly more severe only: on a tie the earlier rule (file order) keeps the verdict. */
		if (r->action <= v->action)
			continue;
		/* A rule either judges content or judges that content cannot be read, never both. */
		if (r->uninspected_tls != unreadable)
			continue;
		if (!r->uninspected_tls && rule_count(r, counts, n) < r->min_count)
			continue;
		if (!rp_scope_match(p, &r->scope, ctx, dest) || suppressed(p, i, ctx, dest))
			continue;
		v->action = r->action;
		v->rule_id = r->id;
		v->message = r->message;
	}
}

enum rp_action rp_policy_prejudge(const struct rp_policy *p, const struct rp_flow_context *ctx)
{
	enum rp_action worst = RP_ACTION_NONE;
	ssize_t dest;

	if (!p)
		return RP_ACTION_NONE;
	dest = rp_destination_lookup(p, ctx);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rp_rule *r = &p->rules[i];

		/* Holding applies to hooked TLS writes: rules on unreadable TLS never hold one. */
		if (r->uninspected_tls)
			continue;
		if (r->action > worst && rp_scope_match(p, &r->scope, ctx, dest) &&
		    !suppressed(p, i, ctx, dest))
			worst = r->action;
	}
	return worst;
}

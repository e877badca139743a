/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A policy in use. Flows keep a reference to the policy their detection stream was opened with,
 * so a reload swaps the active policy at once while flows in progress finish under the old one.
 */
#include <errno.h>
#include <stdlib.h>

#include "daemon.h"

int rp_policy_ref_new(struct rp_policy *p, uint64_t generation, struct rp_policy_ref **out)
{
	struct rp_policy_ref *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	e = rp_scratch_new(rp_policy_engine(p), &r->scratch);
	if (e < 0) {
		free(r);
		return e;
	}
	r->policy = p;
	r->refs = 1;
	r->generation = generation;
	*out = r;
	return 0;
}

struct rp_policy_ref *rp_policy_ref_get(struct rp_policy_ref *r)
{
	r->refs++;
	return r;
}

void rp_policy_ref_put(struct rp_policy_ref *r)
{
	if (!r || --r->refs > 0)
		return;
	rp_scratch_free(r->scratch);
	rp_policy_free(r->policy);
	free(r);
}

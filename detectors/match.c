/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Hyperscan match callback: dispatch a pattern end to its handler. */
#include "internal.h"

int rp_on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *ctx)
{
	struct rp_scan_ctx *c = ctx;
	uint64_t end = c->hs_base + to;

	(void)flags;
	if (c->stop)
		return 1;
	if (id >= PAT_CUSTOM_BASE) {
		rp_custom(c, id - PAT_CUSTOM_BASE, c->hs_base + from, end);
	} else {
		rp_marker(c, id, end);
	}
	return c->stop ? 1 : 0;
}

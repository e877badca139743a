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
	} else if (id >= PAT_KW_BASE) {
		rp_keyword_hit(c, id - PAT_KW_BASE, end);
	} else {
		switch (id) {
		case PAT_DIGITRUN:
			if (rp_digit_run(c, end) == -1) {
				/* the bytes that decide are in the next feed */
				c->side->run_deferred = true;
				c->side->run_end = end;
			}
			break;
		case PAT_NIR_CORSICA:
			rp_nir_corsica(c, end);
			break;
		case PAT_IBAN:
			rp_iban(c, end);
			break;
		case PAT_DEA:
			rp_dea(c, end);
			break;
		case PAT_EMAIL:
			rp_email(c, end);
			break;
		case PAT_DATE_NUM:
		case PAT_DATE_ISO:
		case PAT_DATE_TXT:
			rp_date(c, id, end);
			break;
		case PAT_ICD10:
		case PAT_ATC:
			if (rp_code(c, id, end) == -1) {
				c->side->code_deferred = true;
				c->side->code_end = end;
			}
			break;
		default:
			rp_marker(c, id, end);
			break;
		}
	}
	rp_pending_flush(c, end, false);
	return c->stop ? 1 : 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Collecting diagnostics: bounded, so a hostile policy cannot make us allocate per error. */
#include <stdio.h>

#include "policy_internal.h"

void rp_diag_vaddf(struct rp_diag *d, const char *fmt, va_list ap)
{
	if (!d)
		return;
	if (d->n >= RP_DIAG_MAX) {
		d->dropped++;
		return;
	}
	/* Truncation is acceptable: the path comes first, so what is cut is the tail of the text. */
	vsnprintf(d->lines[d->n], RP_DIAG_LEN, fmt, ap);
	d->n++;
}

void rp_diag_addf(struct rp_diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rp_diag_vaddf(d, fmt, ap);
	va_end(ap);
}

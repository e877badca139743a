/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scoring: base confidence, context keywords in a window before or after the match, pending
 * findings. A finding without context is held until the stream has moved past its window (a
 * keyword may still come after it), then reported at its base confidence, or dropped when its
 * detector needs context. The pending list is bounded: on overflow the oldest is decided early.
 */
#include <string.h>

#include "internal.h"

/* Negative context ("SIRET : ...", "commande n° ...") must be close before the number. */
#define NEG_WINDOW 48
/* A CDA root element and its namespace are in the same start tag, or near it. */
#define CDA_SPAN 1024

void rp_side_reset(struct rp_side *sd, unsigned n_classes)
{
	for (unsigned i = 0; i < n_classes; i++)
		sd->last_kw[i] = RP_NEVER;
	sd->n_pending = 0;
	sd->run_deferred = false;
	sd->run_end = 0;
	sd->code_deferred = false;
	sd->code_end = 0;
	sd->cda_root = RP_NEVER;
	sd->cda_done = sd->fhir_done = sd->hl7_done = sd->dicom_done = false;
}

bool rp_context_near(const struct rp_scan_ctx *c, uint32_t cls, uint64_t start, uint64_t end, unsigned window)
{
	uint64_t k;
	if (cls == KW_NONE || cls >= c->e->n_classes)
		return false;
	k = c->side->last_kw[cls];
	if (k == RP_NEVER)
		return false;
	/* k is where the keyword ended: before the match (within window) or after it. */
	return k + window >= start && k <= end + window;
}

static void emit(struct rp_scan_ctx *c, unsigned det, uint64_t offset, uint64_t length, double conf,
		 const char *masked)
{
	const struct rp_det_info *d = &c->e->det[det];
	struct rp_finding f;
	int r;

	if (c->stop || !c->cb)
		return;
	if (conf > 1.0)
		conf = 1.0;
	if (conf < 0.0)
		conf = 0.0;
	if (conf + 1e-9 < d->min_confidence)
		return;
	memset(&f, 0, sizeof(f));
	f.detector = det;
	f.id = d->id;
	f.offset = offset;
	f.length = length;
	f.confidence = conf;
	strncpy(f.masked, masked, sizeof(f.masked) - 1);
	r = c->cb(&f, c->userdata);
	if (r)
		c->stop = r;
}

static void pending_remove(struct rp_side *sd, unsigned i)
{
	memmove(&sd->pending[i], &sd->pending[i + 1], (sd->n_pending - i - 1) * sizeof(sd->pending[0]));
	sd->n_pending--;
}

/* Decide a pending finding that got no context. */
static void pending_expire(struct rp_scan_ctx *c, unsigned i)
{
	struct rp_pending p = c->side->pending[i];
	pending_remove(c->side, i);
	if (!c->e->det[p.detector].needs_context)
		emit(c, p.detector, p.offset, p.length, p.confidence, p.masked);
}

void rp_pending_flush(struct rp_scan_ctx *c, uint64_t pos, bool force)
{
	struct rp_side *sd = c->side;
	for (unsigned i = 0; i < sd->n_pending;) {
		const struct rp_pending *p = &sd->pending[i];
		if (force || p->offset + p->length + c->e->window < pos)
			pending_expire(c, i);
		else
			i++;
	}
}

void rp_candidate(struct rp_scan_ctx *c, unsigned det, uint64_t offset, uint64_t length, double conf_adj,
		  const char *masked)
{
	const struct rp_det_info *d = &c->e->det[det];
	struct rp_side *sd = c->side;
	double conf = d->base + conf_adj;
	struct rp_pending *p;

	if (!d->enabled || c->stop)
		return;
	if (rp_context_near(c, d->kw_class, offset, offset + length, c->e->window)) {
		emit(c, det, offset, length, conf + d->ctx_bonus, masked);
		return;
	}
	if (d->kw_class == KW_NONE) {
		if (!d->needs_context)
			emit(c, det, offset, length, conf, masked);
		return;
	}
	/* The same value can be reached twice (e.g. two pattern ends); keep one. */
	for (unsigned i = 0; i < sd->n_pending; i++)
		if (sd->pending[i].detector == det && sd->pending[i].offset == offset)
			return;
	if (sd->n_pending == RP_PENDING_MAX)
		pending_expire(c, 0);
	p = &sd->pending[sd->n_pending++];
	p->offset = offset;
	p->length = length;
	p->confidence = conf;
	p->detector = det;
	strncpy(p->masked, masked, sizeof(p->masked) - 1);
	p->masked[sizeof(p->masked) - 1] = '\0';
}

static bool class_hit(const struct rp_kw_entry *k, uint32_t cls)
{
	if (cls == KW_NONE)
		return false;
	if (cls < KW__BUILTIN)
		return (k->classes >> cls) & 1;
	return k->custom_class == cls;
}

static void cda_check(struct rp_scan_ctx *c, uint64_t end)
{
	struct rp_side *sd = c->side;
	uint64_t ns = sd->last_kw[KW_CDA_NS], root = sd->cda_root;
	static const size_t root_len = sizeof("<ClinicalDocument") - 1;

	if (sd->cda_done || root == RP_NEVER || ns == RP_NEVER)
		return;
	if (ns > root + CDA_SPAN || root > ns + CDA_SPAN)
		return;
	sd->cda_done = true;
	rp_candidate(c, RP_DET_CDA, root >= root_len ? root - root_len : 0, root_len, 0, "<ClinicalDocument>");
	(void)end;
}

void rp_keyword_hit(struct rp_scan_ctx *c, unsigned kw_index, uint64_t end)
{
	const struct rp_kw_entry *k;
	struct rp_side *sd = c->side;

	if (kw_index >= c->e->n_kw)
		return;
	k = &c->e->kw[kw_index];
	for (uint32_t cls = 0; cls < KW__BUILTIN; cls++)
		if ((k->classes >> cls) & 1)
			sd->last_kw[cls] = end;
	if (k->custom_class != KW_NONE && k->custom_class < c->e->n_classes)
		sd->last_kw[k->custom_class] = end;

	/* Context after a finding: promote the pending ones it covers. */
	for (unsigned i = 0; i < sd->n_pending;) {
		struct rp_pending *p = &sd->pending[i];
		const struct rp_det_info *d = &c->e->det[p->detector];
		if (class_hit(k, d->kw_class) && end <= p->offset + p->length + c->e->window + 64 &&
		    end + c->e->window >= p->offset) {
			struct rp_pending q = *p;
			pending_remove(sd, i);
			emit(c, q.detector, q.offset, q.length, q.confidence + d->ctx_bonus, q.masked);
			continue;
		}
		i++;
	}
	if ((k->classes >> KW_CDA_ROOT) & 1) {
		sd->cda_root = end;
		cda_check(c, end);
	}
	if ((k->classes >> KW_CDA_NS) & 1)
		cda_check(c, end);
}

bool rp_negative_near(const struct rp_scan_ctx *c, uint64_t start)
{
	static const uint32_t neg[] = {KW_BUSINESS, KW_ORDER};
	for (size_t i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
		uint64_t k = c->side->last_kw[neg[i]];
		if (k != RP_NEVER && k <= start && k + NEG_WINDOW >= start)
			return true;
	}
	return false;
}

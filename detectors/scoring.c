/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scoring: base confidence, then context keywords within the window before or after the value.
 *
 * Keywords are not scanned over the whole traffic (a hundred accent-insensitive keyword patterns
 * would cost more than all detectors together); they are searched with their own small Hyperscan
 * database only in the bytes around a candidate, which are rare. The window before a value is in
 * the view (the stream keeps that much history); the window after it may still be to come: then
 * the finding waits in a small pending list, and each later feed searches only its new bytes,
 * until the window is complete or the stream closes.
 */
#include <string.h>

#include "internal.h"

/* Negative context ("SIRET : ...", "commande n° ...") must be close before the number. */
#define NEG_WINDOW 48
/* A CDA root element and its namespace are in the same start tag, or near it. */
#define CDA_SPAN 1024

void rp_side_reset(struct rp_side *sd)
{
	memset(&sd->ds, 0, sizeof(sd->ds));
	sd->n_pending = 0;
	sd->run_deferred = false;
	sd->run_end = 0;
	sd->code_deferred = false;
	sd->code_end = 0;
	sd->cda_root = RP_NEVER;
	sd->cda_ns = RP_NEVER;
	sd->cda_done = sd->fhir_done = sd->hl7_done = sd->dicom_done = false;
}

struct kw_query {
	uint64_t base;         /* stream offset of the searched buffer */
	uint64_t lo, hi;       /* accepted keyword end offsets */
	bool found;
};

static int kw_cb(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *ctx)
{
	struct kw_query *q = ctx;
	uint64_t end = q->base + to;
	(void)id;
	(void)from;
	(void)flags;
	if (end < q->lo || end > q->hi)
		return 0;
	q->found = true;
	return 1; /* one is enough */
}

/* A keyword of class cls ending within [lo, hi], in the view bytes [from, to)? */
static bool kw_search(struct rp_scan_ctx *c, uint32_t cls, uint64_t from, uint64_t to, uint64_t lo, uint64_t hi)
{
	const struct rp_view *v = &c->v;
	uint64_t avail_lo = v->hist_len ? v->hist_base : v->cur_base, avail_hi = v->cur_base + v->cur_len;
	struct kw_query q = {0, lo, hi, false};
	hs_database_t *db;

	if (!c->s || cls >= c->e->n_classes || !(db = c->e->db_kwc[cls]))
		return false;
	if (from < avail_lo)
		from = avail_lo;
	if (to > avail_hi)
		to = avail_hi;
	if (from >= to)
		return false;
	if (to - from > c->s->kwbuf_len)
		from = to - c->s->kwbuf_len;
	if (!rp_view_gather(v, from, to, c->s->kwbuf))
		return false;
	q.base = from;
	hs_scan(db, (const char *)c->s->kwbuf, (unsigned)(to - from), 0, c->s->hs_kw, kw_cb, &q);
	return q.found;
}

static bool context_before(struct rp_scan_ctx *c, uint32_t cls, uint64_t w, uint64_t start, uint64_t end)
{
	uint64_t lo = start > w ? start - w : 0;
	uint64_t from = lo > RP_KW_OVERLAP ? lo - RP_KW_OVERLAP : 0;
	/* everything in view up to the end of the window after the value */
	return kw_search(c, cls, from, end + w, lo, end + w);
}

bool rp_negative_near(struct rp_scan_ctx *c, uint64_t start)
{
	uint64_t lo = start > NEG_WINDOW ? start - NEG_WINDOW : 0;
	uint64_t from = lo > RP_KW_OVERLAP ? lo - RP_KW_OVERLAP : 0;
	return kw_search(c, KW_BUSINESS, from, start, lo, start) || kw_search(c, KW_ORDER, from, start, lo, start);
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

void rp_pending_update(struct rp_scan_ctx *c, bool force)
{
	struct rp_side *sd = c->side;
	uint64_t avail_hi = c->v.cur_base + c->v.cur_len;

	for (unsigned i = 0; i < sd->n_pending;) {
		struct rp_pending *p = &sd->pending[i];
		const struct rp_det_info *d = &c->e->det[p->detector];
		uint64_t end = p->offset + p->length, hi = end + d->window;
		uint64_t from = p->scanned_to > end + RP_KW_OVERLAP ? p->scanned_to - RP_KW_OVERLAP : end;
		if (avail_hi > p->scanned_to && kw_search(c, d->kw_class, from, hi, end, hi)) {
			struct rp_pending q = *p;
			pending_remove(sd, i);
			emit(c, q.detector, q.offset, q.length, q.confidence + d->ctx_bonus, q.masked);
			continue;
		}
		if (avail_hi > p->scanned_to)
			p->scanned_to = avail_hi;
		if (force || c->v.eod || p->scanned_to >= hi) {
			pending_expire(c, i);
			continue;
		}
		i++;
	}
}

static void emit_ev(struct rp_scan_ctx *c, unsigned det, uint64_t offset, uint64_t length, double conf,
		    const struct rp_evidence *ev)
{
	char masked[RP_MASKED_MAX];
	if (c->stop || !c->cb || conf + 1e-9 < c->e->det[det].min_confidence)
		return;
	rp_evidence_mask(ev, masked);
	emit(c, det, offset, length, conf, masked);
}

void rp_candidate(struct rp_scan_ctx *c, unsigned det, uint64_t offset, uint64_t length,
		  const struct rp_evidence *ev)
{
	const struct rp_det_info *d = &c->e->det[det];
	struct rp_side *sd = c->side;
	double conf = d->base;
	uint64_t end = offset + length, avail_hi = c->v.cur_base + c->v.cur_len;
	struct rp_pending *p;

	if (!d->enabled || c->stop)
		return;
	if (d->kw_class == KW_NONE) {
		if (!d->needs_context)
			emit_ev(c, det, offset, length, conf, ev);
		return;
	}
	if (context_before(c, d->kw_class, d->window, offset, end)) {
		emit_ev(c, det, offset, length, conf + d->ctx_bonus, ev);
		return;
	}
	/* the whole window after the value was in view: decided */
	if (c->v.eod || end + d->window <= avail_hi) {
		if (!d->needs_context)
			emit_ev(c, det, offset, length, conf, ev);
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
	p->scanned_to = avail_hi;
	p->confidence = conf;
	p->detector = det;
	rp_evidence_mask(ev, p->masked);
}

void rp_cda_check(struct rp_scan_ctx *c)
{
	struct rp_side *sd = c->side;
	uint64_t ns = sd->cda_ns, root = sd->cda_root;
	static const size_t root_len = sizeof("<ClinicalDocument") - 1;

	if (sd->cda_done || root == RP_NEVER || ns == RP_NEVER)
		return;
	if (ns > root + CDA_SPAN || root > ns + CDA_SPAN)
		return;
	sd->cda_done = true;
	rp_candidate(c, RP_DET_CDA, root >= root_len ? root - root_len : 0, root_len,
		     &(struct rp_evidence){.fixed = "<ClinicalDocument>"});
}

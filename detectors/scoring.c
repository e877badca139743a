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
#include <stdlib.h>
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
	rp_waiting_put(sd, (struct rp_waiting){0});
	sd->cda_root = RP_NEVER;
	sd->cda_ns = RP_NEVER;
	sd->cda_done = sd->fhir_done = sd->hl7_done = sd->dicom_done = false;
}

struct kw_query {
	uint64_t base;         /* stream offset of the searched buffer */
	uint64_t lo, hi;       /* accepted keyword end offsets */
	uint64_t open_end;     /* where the data that has arrived ends (UINT64_MAX at its end) */
	bool found;
};

/*
 * A keyword is searched in the view bytes up to one past the last accepted end: "DP" or "NIR"
 * must be followed by a non-letter, and the end of the searched bytes reads as one. Where the
 * data that has arrived ends, the next byte is not known yet: a keyword ending there is decided
 * on the next feed (decide() and rp_pending_update() wait for that byte).
 */
static uint64_t kw_slice_end(const struct rp_view *v, uint64_t hi, uint64_t *open_end)
{
	uint64_t avail_hi = v->cur_base + v->cur_len;
	*open_end = v->eod ? UINT64_MAX : avail_hi;
	return hi < avail_hi ? hi + 1 : avail_hi;
}

static int kw_cb(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *ctx)
{
	struct kw_query *q = ctx;
	uint64_t end = q->base + to;
	(void)id;
	(void)from;
	(void)flags;
	if (end < q->lo || end > q->hi || end == q->open_end)
		return 0;
	q->found = true;
	return 1; /* one is enough */
}

/* A keyword of class cls ended within [lo, hi] in the bytes an idle stream let go? */
static bool marks_hit(const struct rp_view *v, uint32_t cls, uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < v->n_marks; i++) {
		uint64_t end = v->cur_base - v->marks[i].dist;
		if (v->marks[i].cls == cls && end >= lo && end <= hi)
			return true;
	}
	return false;
}

/* A keyword of class cls ending within [lo, hi], in the view bytes [from, to)? */
static bool kw_search(struct rp_scan_ctx *c, uint32_t cls, uint64_t from, uint64_t to, uint64_t lo, uint64_t hi)
{
	const struct rp_view *v = &c->v;
	uint64_t avail_lo = v->hist_len ? v->hist_base : v->cur_base, avail_hi = v->cur_base + v->cur_len;
	struct kw_query q = {0, lo, hi, 0, false};
	hs_database_t *db;

	if (!c->s || cls >= c->e->n_classes || !(db = c->e->db_kwc[cls]))
		return false;
	if (marks_hit(v, cls, lo, hi))
		return true;
	to = kw_slice_end(v, to, &q.open_end);
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
	uint64_t lo = start > w ? start - w : 0, reach = rp_kw_reach(c->e, cls);
	uint64_t from = lo > reach ? lo - reach : 0;
	/* everything in view up to the end of the window after the value */
	return kw_search(c, cls, from, end + w, lo, end + w);
}

bool rp_negative_near(struct rp_scan_ctx *c, uint64_t start)
{
	uint64_t lo = start > NEG_WINDOW ? start - NEG_WINDOW : 0;
	uint64_t rb = rp_kw_reach(c->e, KW_BUSINESS), ro = rp_kw_reach(c->e, KW_ORDER);
	return kw_search(c, KW_BUSINESS, lo > rb ? lo - rb : 0, start, lo, start) ||
	       kw_search(c, KW_ORDER, lo > ro ? lo - ro : 0, start, lo, start);
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

static void score_queued(struct rp_scan_ctx *c);

void rp_pending_update(struct rp_scan_ctx *c, bool force)
{
	struct rp_side *sd = c->side;

	score_queued(c);
	uint64_t avail_hi = c->v.cur_base + c->v.cur_len;

	for (unsigned i = 0; i < sd->n_pending;) {
		struct rp_pending *p = &sd->pending[i];
		const struct rp_det_info *d = &c->e->det[p->detector];
		uint64_t end = p->offset + p->length, hi = end + d->window, reach = rp_kw_reach(c->e, d->kw_class);
		uint64_t from = p->scanned_to > end + reach ? p->scanned_to - reach : end;
		if (avail_hi > p->scanned_to && kw_search(c, d->kw_class, from, hi, end, hi)) {
			struct rp_pending q = *p;
			pending_remove(sd, i);
			emit(c, q.detector, q.offset, q.length, q.confidence + d->ctx_bonus, q.masked);
			continue;
		}
		if (avail_hi > p->scanned_to)
			p->scanned_to = avail_hi;
		if (force || c->v.eod || p->scanned_to > hi) {
			pending_expire(c, i);
			continue;
		}
		i++;
	}
}

/* The masked form of a candidate's evidence; a value not at hand is read from the view. */
static void mask_evidence(struct rp_scan_ctx *c, uint64_t offset, uint64_t length, const struct rp_evidence *ev,
			  char out[RP_MASKED_MAX])
{
	uint8_t raw[RP_RAW_MAX];
	struct rp_evidence e = *ev;

	if (!e.fixed && !e.raw) {
		if (length > RP_RAW_MAX || !rp_view_gather(&c->v, offset, offset + length, raw))
			e.fixed = "***";
		e.raw = raw;
		e.raw_len = (size_t)length;
	}
	rp_evidence_mask(&e, out);
}

static void emit_ev(struct rp_scan_ctx *c, unsigned det, uint64_t offset, uint64_t length, double conf,
		    const struct rp_evidence *ev)
{
	char masked[RP_MASKED_MAX];
	if (c->stop || !c->cb || conf + 1e-9 < c->e->det[det].min_confidence)
		return;
	mask_evidence(c, offset, length, ev, masked);
	emit(c, det, offset, length, conf, masked);
}

/* Emit, park or drop a candidate whose context before (and after, as far as seen) is known. */
static void decide(struct rp_scan_ctx *c, unsigned det, uint64_t offset, uint64_t length, bool context,
		   const struct rp_evidence *ev)
{
	const struct rp_det_info *d = &c->e->det[det];
	struct rp_side *sd = c->side;
	uint64_t end = offset + length, avail_hi = c->v.cur_base + c->v.cur_len;
	struct rp_pending *p;

	if (context) {
		emit_ev(c, det, offset, length, d->base + d->ctx_bonus, ev);
		return;
	}
	/* the whole window after the value was in view, and the byte after it: decided */
	if (c->v.eod || end + d->window < avail_hi) {
		if (!d->needs_context)
			emit_ev(c, det, offset, length, d->base, ev);
		return;
	}
	/* The same value can be reached twice (e.g. two pattern ends); keep one. */
	for (unsigned i = 0; i < sd->n_pending; i++)
		if (sd->pending[i].detector == det && sd->pending[i].offset == offset)
			return;
	if (!sd->pending && !(sd->pending = calloc(RP_PENDING_MAX, sizeof(*sd->pending)))) {
		/* cannot wait for the context after it: decide without */
		if (!d->needs_context)
			emit_ev(c, det, offset, length, d->base, ev);
		return;
	}
	if (sd->n_pending == RP_PENDING_MAX)
		pending_expire(c, 0);
	p = &sd->pending[sd->n_pending++];
	p->offset = offset;
	p->length = length;
	p->scanned_to = avail_hi;
	p->confidence = d->base;
	p->detector = det;
	mask_evidence(c, offset, length, ev, p->masked);
}

struct batch_seg {
	uint64_t at;           /* stream offset of the segment's first byte */
	size_t pos, len;       /* where it is in the batch buffer */
};

struct batch_scan {
	struct rp_scan_ctx *c;
	struct batch_seg *seg;
	unsigned n_seg, cur_seg;
	unsigned *idx;         /* queue entries of this class, by offset */
	unsigned n_idx, first;
	uint64_t open_end;     /* kw_slice_end */
};

static int batch_cb(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *ctx)
{
	struct batch_scan *b = ctx;
	struct rp_queued *q = b->c->s->queue;
	uint64_t end;
	(void)id;
	(void)from;
	(void)flags;
	/* matches come by increasing end; segments are separated by a NUL no keyword crosses */
	while (b->cur_seg + 1 < b->n_seg && to > b->seg[b->cur_seg].pos + b->seg[b->cur_seg].len)
		b->cur_seg++;
	end = b->seg[b->cur_seg].at + (to - b->seg[b->cur_seg].pos);
	if (end == b->open_end)
		return 0;
	while (b->first < b->n_idx && q[b->idx[b->first]].hi < end)
		b->first++;
	for (unsigned k = b->first; k < b->n_idx && q[b->idx[k]].lo <= end; k++)
		if (end <= q[b->idx[k]].hi)
			q[b->idx[k]].found = true;
	return 0;
}

/* One search over the windows of idx[0..n) (same class, by offset), in batches that fit. */
static void batch_search(struct rp_scan_ctx *c, hs_database_t *db, unsigned *idx, unsigned n)
{
	const struct rp_view *v = &c->v;
	uint64_t avail_lo = v->hist_len ? v->hist_base : v->cur_base, avail_hi = v->cur_base + v->cur_len;
	struct rp_queued *q = c->s->queue;
	struct batch_seg seg[RP_QUEUE_MAX];
	unsigned done = 0;

	while (done < n) {
		struct batch_scan b = {c, seg, 0, 0, idx + done, 0, 0, 0};
		size_t used = 0;
		unsigned k = done;
		for (; k < n; k++) {
			struct rp_queued *e = &q[idx[k]];
			uint64_t reach = rp_kw_reach(c->e, c->e->det[e->det].kw_class);
			uint64_t from = e->lo > reach ? e->lo - reach : 0, to = kw_slice_end(v, e->hi, &b.open_end);
			if (!e->found && marks_hit(v, c->e->det[e->det].kw_class, e->lo, e->hi))
				e->found = true;
			if (from < avail_lo)
				from = avail_lo;
			if (to > avail_hi)
				to = avail_hi;
			if (from >= to)
				continue;
			if (b.n_seg && from <= seg[b.n_seg - 1].at + seg[b.n_seg - 1].len) {
				/* overlaps the previous window: extend it */
				struct batch_seg *sg = &seg[b.n_seg - 1];
				uint64_t sg_end = sg->at + sg->len;
				if (to > sg_end) {
					if (used + (to - sg_end) > RP_BATCH_BUF)
						break;
					if (!rp_view_gather(v, sg_end, to, c->s->batch + used))
						continue;
					used += (size_t)(to - sg_end);
					sg->len += (size_t)(to - sg_end);
				}
				continue;
			}
			if (used + (b.n_seg ? 1 : 0) + (to - from) > RP_BATCH_BUF)
				break;
			if (b.n_seg)
				c->s->batch[used++] = '\0';
			if (!rp_view_gather(v, from, to, c->s->batch + used)) {
				if (b.n_seg)
					used--;
				continue;
			}
			seg[b.n_seg++] = (struct batch_seg){from, used, (size_t)(to - from)};
			used += (size_t)(to - from);
		}
		b.n_idx = k - done;
		if (b.n_seg)
			hs_scan(db, (const char *)c->s->batch, (unsigned)used, 0, c->s->hs_kw, batch_cb, &b);
		if (k == done) /* a single window larger than the buffer: cannot happen (window <= 4 KiB) */
			k++;
		done = k;
	}
}

/* Decide every queued candidate: one keyword search per class. */
static void score_queued(struct rp_scan_ctx *c)
{
	struct rp_scratch *s = c->s;
	unsigned idx[RP_QUEUE_MAX], n_all;
	bool done[RP_QUEUE_MAX] = {false};

	if (!s || !s->n_queued)
		return;
	n_all = s->n_queued;
	s->n_queued = 0;
	for (unsigned i = 0; i < n_all; i++) {
		uint32_t cls;
		unsigned n = 0;
		hs_database_t *db;
		if (done[i])
			continue;
		cls = c->e->det[s->queue[i].det].kw_class;
		/* this class's entries, by offset (insertion sort: they arrive nearly sorted) */
		for (unsigned j = i; j < n_all; j++) {
			if (done[j] || c->e->det[s->queue[j].det].kw_class != cls)
				continue;
			done[j] = true;
			unsigned k = n;
			while (k > 0 && s->queue[idx[k - 1]].lo > s->queue[j].lo) {
				idx[k] = idx[k - 1];
				k--;
			}
			idx[k] = j;
			n++;
		}
		db = cls < c->e->n_classes ? c->e->db_kwc[cls] : NULL;
		if (db)
			batch_search(c, db, idx, n);
	}
	for (unsigned i = 0; i < n_all && !c->stop; i++) {
		struct rp_queued *e = &s->queue[i];
		struct rp_evidence ev = {NULL, (size_t)e->length, e->head, e->tail, NULL};
		decide(c, e->det, e->offset, e->length, e->found, &ev);
	}
}

void rp_candidate_in_context(struct rp_scan_ctx *c, unsigned det, uint64_t offset, uint64_t length,
			     const struct rp_evidence *ev)
{
	const struct rp_det_info *d = &c->e->det[det];

	if (d->enabled && !c->stop)
		emit_ev(c, det, offset, length, d->base + d->ctx_bonus, ev);
}

void rp_candidate(struct rp_scan_ctx *c, unsigned det, uint64_t offset, uint64_t length,
		  const struct rp_evidence *ev)
{
	const struct rp_det_info *d = &c->e->det[det];
	uint64_t end = offset + length;
	struct rp_queued *q;

	if (!d->enabled || c->stop)
		return;
	if (d->kw_class == KW_NONE) {
		if (!d->needs_context)
			emit_ev(c, det, offset, length, d->base, ev);
		return;
	}
	/* Evidence that is not the value itself (markers) is decided now; values wait for the
	 * batched keyword search at the end of the scan call. */
	if (ev->fixed || !c->s) {
		decide(c, det, offset, length, context_before(c, d->kw_class, d->window, offset, end), ev);
		return;
	}
	if (c->s->n_queued == RP_QUEUE_MAX)
		score_queued(c);
	q = &c->s->queue[c->s->n_queued++];
	*q = (struct rp_queued){
		.offset = offset,
		.length = length,
		.lo = offset > d->window ? offset - d->window : 0,
		.hi = end + d->window,
		.det = det,
		.head = ev->head,
		.tail = ev->tail,
	};
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

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Streaming: one Hyperscan stream per flow plus a small side state: the last bytes of the flow
 * (a value split across feeds is extracted and validated from them, the keywords before a value
 * searched in them), the digit scanner's region, and the findings still waiting for context
 * after them.
 *
 * A flow is busy for a burst of writes, then idle for a long time (keep-alive connections, chat
 * sessions). While busy it keeps the whole context window (window + RP_TAIL bytes); once idle
 * (rp_stream_flush) it keeps only what a value continuing in the next write needs (the region
 * being tracked, the current word, RP_IDLE_KEEP bytes) and, for the context window, where the
 * keywords of the bytes it let go ended: a few bytes instead of a few hundred. Those marks share
 * the history's allocation and age with each feed until no later value's window reaches them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int rp_stream_open(const struct rp_engine *e, struct rp_stream **out)
{
	struct rp_stream *st;
	if (!e || !out)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->engine = e;
	rp_side_reset(&st->side);
	if (hs_open_stream(e->db_stream, 0, &st->hs) != HS_SUCCESS) {
		free(st);
		return -ENOMEM;
	}
	*out = st;
	return 0;
}

static void ctx_init(struct rp_scan_ctx *c, struct rp_stream *st, struct rp_scratch *s, const void *buf, size_t len,
		     bool eod, rp_finding_cb cb, void *userdata)
{
	memset(c, 0, sizeof(*c));
	c->e = st->engine;
	c->s = s;
	if (s)
		s->n_queued = 0;
	c->side = &st->side;
	c->v.hist = st->tail;
	c->v.hist_len = st->tail_len;
	c->v.hist_base = st->pos - st->tail_len;
	c->v.cur = buf;
	c->v.cur_len = len;
	c->v.cur_base = st->pos;
	c->v.eod = eod;
	c->v.marks = st->n_marks ? (const struct rp_kw_mark *)(st->tail + rp_marks_at(st->tail_cap)) : NULL;
	c->v.n_marks = st->n_marks;
	c->hs_base = st->hs_base;
	c->cb = cb;
	c->userdata = userdata;
}

static struct rp_kw_mark *marks_of(struct rp_stream *st)
{
	return (struct rp_kw_mark *)(st->tail + rp_marks_at(st->tail_cap));
}

/* A new history allocation of cap bytes keeping the last keep bytes and the given marks. */
static int tail_resize(struct rp_stream *st, size_t cap, size_t keep, const struct rp_kw_mark *m, unsigned n)
{
	uint8_t *t = malloc(rp_marks_at(cap) + n * sizeof(*m));
	if (!t)
		return -ENOMEM;
	if (keep)
		memcpy(t, st->tail + st->tail_len - keep, keep);
	if (n)
		memcpy(t + rp_marks_at(cap), m, n * sizeof(*m));
	free(st->tail);
	st->tail = t;
	st->tail_len = (uint16_t)keep;
	st->tail_cap = (uint16_t)cap;
	st->n_marks = (uint16_t)n;
	return 0;
}

/* The busy-size history, keeping what the idle one holds. */
static int tail_grow(struct rp_stream *st)
{
	size_t cap = (size_t)st->engine->window + RP_TAIL;
	if (st->tail_cap >= cap)
		return 0;
	return tail_resize(st, cap, st->tail_len, st->n_marks ? marks_of(st) : NULL, st->n_marks);
}

static void tail_append(struct rp_stream *st, const uint8_t *p, size_t len)
{
	size_t cap = st->tail_cap, keep;
	if (len >= cap) {
		memcpy(st->tail, p + len - cap, cap);
		st->tail_len = (uint16_t)cap;
		return;
	}
	keep = st->tail_len + len > cap ? cap - len : st->tail_len;
	memmove(st->tail, st->tail + st->tail_len - keep, keep);
	memcpy(st->tail + keep, p, len);
	st->tail_len = (uint16_t)(keep + len);
}

/* len more bytes went by: marks age, and go once no later value's window reaches them. */
static void marks_age(struct rp_stream *st, size_t len)
{
	struct rp_kw_mark *m = marks_of(st);
	unsigned n = 0;
	for (unsigned i = 0; i < st->n_marks; i++) {
		uint64_t d = (uint64_t)m[i].dist + len;
		if (d > st->engine->window)
			continue;
		m[n].cls = m[i].cls;
		m[n].dist = (uint16_t)d;
		n++;
	}
	st->n_marks = (uint16_t)n;
}

int rp_stream_feed(struct rp_stream *st, struct rp_scratch *s, const void *buf, size_t len,
		   rp_finding_cb cb, void *userdata)
{
	struct rp_scan_ctx c;
	const uint8_t *p = buf;
	size_t done = 0;

	if (!st || !s || s->engine != st->engine || (!buf && len))
		return -EINVAL;
	/* After a callback stopped the scan Hyperscan refuses the stream; the caller is done with it. */
	if (st->stopped || len == 0)
		return 0;
	if (tail_grow(st) < 0)
		return -ENOMEM;
	ctx_init(&c, st, s, buf, len, false, cb, userdata);
	rp_deferred_run(&c);
	while (done < len && !c.stop) {
		size_t n = len - done > (1u << 30) ? (1u << 30) : len - done;
		hs_error_t hr = hs_scan_stream(st->hs, (const char *)p + done, (unsigned)n, 0, s->hs, rp_on_match, &c);
		if (hr == HS_SCAN_TERMINATED)
			break;
		if (hr != HS_SUCCESS)
			return hr == HS_NOMEM ? -ENOMEM : -EIO;
		done += n;
	}
	if (!c.stop)
		rp_dscan(&c, p, len, st->pos);
	if (!c.stop)
		rp_pending_update(&c, false);
	if (c.stop)
		st->stopped = true;
	st->pos += len;
	tail_append(st, p, len);
	marks_age(st, len);
	return c.stop;
}

static void pending_free(struct rp_side *sd)
{
	free(sd->pending);
	sd->pending = NULL;
	sd->n_pending = 0;
}

int rp_stream_skip(struct rp_stream *st, struct rp_scratch *s, uint64_t len, rp_finding_cb cb, void *userdata)
{
	struct rp_scan_ctx c;
	hs_error_t hr;

	if (!st || !s || s->engine != st->engine)
		return -EINVAL;
	if (st->stopped || len == 0)
		return 0;
	/* The data ends here as far as matching goes: decide what was waiting for more bytes. */
	ctx_init(&c, st, s, NULL, 0, true, cb, userdata);
	rp_deferred_run(&c);
	rp_dscan_eod(&c, st->pos);
	hr = hs_reset_stream(st->hs, 0, s->hs, rp_on_match, &c);
	if (hr != HS_SUCCESS && hr != HS_SCAN_TERMINATED)
		return -EIO;
	rp_waiting_put(&st->side, (struct rp_waiting){0});
	/* what waited for context after it gets none from across the gap */
	if (!c.stop)
		rp_pending_update(&c, true);
	if (c.stop)
		st->stopped = true;
	st->pos += len;
	st->hs_base = st->pos;
	st->tail_len = 0;
	st->n_marks = 0;
	st->side.ds.tracked_to = st->pos;
	if (!st->side.n_pending)
		pending_free(&st->side);
	return c.stop;
}

int rp_stream_close(struct rp_stream *st, struct rp_scratch *s, rp_finding_cb cb, void *userdata)
{
	struct rp_scan_ctx c;

	if (!st)
		return 0;
	ctx_init(&c, st, s, NULL, 0, true, cb, userdata);
	if (s && s->engine == st->engine && !st->stopped) {
		rp_deferred_run(&c);
		rp_dscan_eod(&c, st->pos);
		/* end-of-data matches (a value ending the stream) come out here */
		(void)hs_close_stream(st->hs, s->hs, rp_on_match, &c);
		rp_pending_update(&c, true);
	} else {
		hs_close_stream(st->hs, NULL, NULL, NULL);
	}
	pending_free(&st->side);
	free(st->tail);
	free(st);
	return c.stop;
}

/* A byte no value (digits, codes, e-mail, identifiers) contains: the current word ends there. */
static bool word_boundary(uint8_t b)
{
	return b <= ' ' || b == '"' || b == '{' || b == '}' || b == '[' || b == ']' || b == '<' || b == '>' ||
	       b == ',' || b == ';' || b == '(' || b == ')';
}

struct marks_fill {
	const struct rp_engine *e;
	uint64_t base;         /* stream offset of the scanned history */
	uint64_t keep_from;    /* keywords ending after here are in the kept history anyway */
	uint64_t pos;
	struct rp_kw_mark *m;
	unsigned n;
};

/* The latest keyword of a class is the only one a later value's window can reach first. */
static void mark_class(struct marks_fill *f, uint32_t cls, uint64_t end)
{
	uint16_t dist = (uint16_t)(f->pos - end);
	for (unsigned i = 0; i < f->n; i++)
		if (f->m[i].cls == cls) {
			if (dist < f->m[i].dist)
				f->m[i].dist = dist;
			return;
		}
	if (f->n < f->e->n_classes)
		f->m[f->n++] = (struct rp_kw_mark){(uint16_t)cls, dist};
}

static int marks_cb(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *ctx)
{
	struct marks_fill *f = ctx;
	uint64_t end = f->base + to;
	size_t k;
	(void)from;
	(void)flags;
	/* keywords in the kept history are searched there; a window back from pos reaches no older */
	if (id < PAT_KW_BASE || end > f->keep_from || f->pos - end > f->e->window)
		return 0;
	k = id - PAT_KW_BASE;
	if (k >= f->e->n_kw)
		return 0;
	for (uint32_t cls = 0; cls < KW__BUILTIN; cls++)
		if ((f->e->kw[k].classes >> cls) & 1)
			mark_class(f, cls, end);
	if (f->e->kw[k].custom_class != KW_NONE)
		mark_class(f, f->e->kw[k].custom_class, end);
	return 0;
}

/*
 * The writer paused: keep only the history a continuation needs, and marks for the keywords of
 * the bytes let go. Best effort: without memory the stream stays as it was.
 */
static void stream_idle(struct rp_stream *st, struct rp_scratch *s)
{
	const struct rp_engine *e = st->engine;
	const struct rp_dscan *ds = &st->side.ds;
	size_t keep = RP_IDLE_KEEP, run = 0, len = st->tail_len;
	/* one mark per keyword class at most: no allocation on every pause */
	struct rp_kw_mark m[KW__BUILTIN + RP_DET_MAX];
	struct marks_fill f = {e, st->pos - len, 0, st->pos, m, 0};

	if (st->side.n_pending == 0)
		pending_free(&st->side);
	if (!st->tail)
		return;
	/* the region being tracked, and the word being written, may go on in the next write */
	if (ds->in_digit || ds->in_upper || ds->digits || ds->upper)
		run = rp_dscan_region_back(st->tail, len);
	if (run > keep)
		keep = run;
	run = 0;
	while (run < len && run < RP_TAIL && !word_boundary(st->tail[len - 1 - run]))
		run++;
	if (run > keep)
		keep = run;
	if (keep > RP_TAIL)
		keep = RP_TAIL;
	if (keep > len)
		keep = len;
	/* already as small as it gets (a short flow paused twice) */
	if (keep == len && st->tail_cap == len)
		return;
	f.keep_from = st->pos - keep;
	/* the marks of an earlier pause still within reach */
	for (unsigned i = 0; i < st->n_marks; i++)
		mark_class(&f, marks_of(st)[i].cls, st->pos - marks_of(st)[i].dist);
	/* keywords in the bytes let go */
	if (keep < len && (!e->db_kw_all || hs_scan(e->db_kw_all, (const char *)st->tail, (unsigned)len, 0,
						  s->hs_kw, marks_cb, &f) != HS_SUCCESS))
		return;
	if (keep == 0 && f.n == 0) {
		free(st->tail);
		st->tail = NULL;
		st->tail_len = st->tail_cap = st->n_marks = 0;
	} else {
		(void)tail_resize(st, keep, keep, f.m, f.n);
	}
}

int rp_stream_flush(struct rp_stream *st, struct rp_scratch *s, rp_finding_cb cb, void *userdata)
{
	struct rp_scan_ctx c;
	hs_stream_t *copy = NULL;

	if (!st || !s || s->engine != st->engine)
		return -EINVAL;
	if (st->stopped)
		return 0;
	/*
	 * Decide as if the data ended here, on a copy of the Hyperscan stream: its end-of-data
	 * matches come out, while the stream itself, the tail and the keyword offsets are kept, so
	 * a value continuing in the next write is still matched whole.
	 */
	struct rp_dscan ds = st->side.ds;
	struct rp_waiting waiting = rp_waiting_of(&st->side);

	ctx_init(&c, st, s, NULL, 0, true, cb, userdata);
	rp_deferred_run(&c);
	rp_dscan_eod(&c, st->pos);
	if (!c.stop) {
		if (hs_copy_stream(&copy, st->hs) != HS_SUCCESS)
			return -ENOMEM;
		(void)hs_close_stream(copy, s->hs, rp_on_match, &c);
	}
	/* Put back what a continuation needs: the next feed picks the digit run up where it was. */
	st->side.ds = ds;
	rp_waiting_put(&st->side, waiting);
	if (!c.stop)
		rp_pending_update(&c, true);
	if (c.stop)
		st->stopped = true;
	else
		stream_idle(st, s);
	return c.stop;
}

size_t rp_stream_memory(const struct rp_stream *st)
{
	size_t hs = 0;
	if (!st)
		return 0;
	(void)hs_stream_size(st->engine->db_stream, &hs);
	return sizeof(*st) + hs + (st->tail ? rp_marks_at(st->tail_cap) + st->n_marks * sizeof(struct rp_kw_mark) : 0) +
	       (st->side.pending ? RP_PENDING_MAX * sizeof(struct rp_pending) : 0);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Streaming: one Hyperscan stream per flow plus a small side state, fixed at open: the last
 * bytes of the flow (context window + RP_TAIL: a value split across feeds can be extracted and
 * validated, and the keywords before it searched), the digit scanner's region, and the findings
 * still waiting for context after them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t stream_ids;

int rp_stream_open(const struct rp_engine *e, struct rp_stream **out)
{
	struct rp_stream *st;
	size_t cap;
	if (!e || !out)
		return -EINVAL;
	cap = (size_t)e->window + RP_TAIL;
	st = calloc(1, sizeof(*st) + cap);
	if (!st)
		return -ENOMEM;
	st->engine = e;
	st->tail = (uint8_t *)(st + 1);
	st->tail_cap = (unsigned)cap;
	rp_side_reset(&st->side);
	/* never 0 (block scans) nor reused: a stable name for the flow */
	st->side.id = __atomic_add_fetch(&stream_ids, 1, __ATOMIC_RELAXED);
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
	c->hs_base = st->hs_base;
	c->cb = cb;
	c->userdata = userdata;
}

static void tail_append(struct rp_stream *st, const uint8_t *p, size_t len)
{
	size_t cap = st->tail_cap, keep;
	if (len >= cap) {
		memcpy(st->tail, p + len - cap, cap);
		st->tail_len = (unsigned)cap;
		return;
	}
	keep = st->tail_len + len > cap ? cap - len : st->tail_len;
	memmove(st->tail, st->tail + st->tail_len - keep, keep);
	memcpy(st->tail + keep, p, len);
	st->tail_len = (unsigned)(keep + len);
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
	return c.stop;
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
	st->side.run_deferred = false;
	st->side.code_deferred = false;
	/* what waited for context after it gets none from across the gap */
	if (!c.stop)
		rp_pending_update(&c, true);
	if (c.stop)
		st->stopped = true;
	st->pos += len;
	st->hs_base = st->pos;
	st->tail_len = 0;
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
	free(st);
	return c.stop;
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
	bool run_deferred = st->side.run_deferred, code_deferred = st->side.code_deferred;
	uint64_t run_end = st->side.run_end, code_end = st->side.code_end;

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
	st->side.run_deferred = run_deferred;
	st->side.run_end = run_end;
	st->side.code_deferred = code_deferred;
	st->side.code_end = code_end;
	if (!c.stop)
		rp_pending_update(&c, true);
	if (c.stop)
		st->stopped = true;
	return c.stop;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Engine: compile the built-in patterns, the context keywords and the policy's custom detectors
 * into one block-mode and one streaming Hyperscan database. Immutable once built.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void rp_engine_config_default(struct rp_engine_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	for (unsigned i = 0; i < RP_DET__BUILTIN; i++) {
		cfg->builtin[i].enabled = true;
		cfg->builtin[i].min_confidence = 0.5;
	}
	cfg->context_window = RP_DEFAULT_WINDOW;
}

/* Check one custom detector alone, so the message can name it. */
static int check_custom(const struct rp_custom_detector *cd, size_t i, const struct rp_engine_config *cfg,
			char *err, size_t errlen)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *ce = NULL;
	size_t idlen = strnlen(cd->id, RP_ID_MAX);

	if (idlen == 0 || idlen == RP_ID_MAX) {
		set_err(err, errlen, "detectors.custom[%zu]: id is empty or too long", i);
		return -EINVAL;
	}
	if (rp_detector_builtin_lookup(cd->id) >= 0) {
		set_err(err, errlen, "detectors.custom[%zu] (%s): id is a built-in detector", i, cd->id);
		return -EEXIST;
	}
	for (size_t j = 0; j < i; j++)
		if (strncmp(cfg->custom[j].id, cd->id, RP_ID_MAX) == 0) {
			set_err(err, errlen, "detectors.custom[%zu] (%s): duplicate id", i, cd->id);
			return -EEXIST;
		}
	if (!cd->regex || !*cd->regex) {
		set_err(err, errlen, "detectors.custom[%zu] (%s): missing regex", i, cd->id);
		return -EINVAL;
	}
	if (cd->validator && rp_validator_lookup(cd->validator) < 0) {
		set_err(err, errlen, "detectors.custom[%zu] (%s): unknown validator '%s'", i, cd->id, cd->validator);
		return -EINVAL;
	}
	if (!(cd->base_confidence >= 0.0 && cd->base_confidence <= 1.0)) {
		set_err(err, errlen, "detectors.custom[%zu] (%s): base_confidence must be within 0..1", i, cd->id);
		return -EINVAL;
	}
	if (cd->needs_context && (!cd->keywords || !cd->keywords[0])) {
		set_err(err, errlen, "detectors.custom[%zu] (%s): needs_context without keywords", i, cd->id);
		return -EINVAL;
	}
	if (hs_compile(cd->regex, HS_FLAG_SOM_LEFTMOST, HS_MODE_STREAM | HS_MODE_SOM_HORIZON_SMALL, NULL, &db,
		       &ce) != HS_SUCCESS) {
		set_err(err, errlen, "detectors.custom[%zu] (%s): invalid regex: %s", i, cd->id,
			ce && ce->message ? ce->message : "unknown error");
		hs_free_compile_error(ce);
		return -EINVAL;
	}
	hs_free_database(db);
	return 0;
}

/*
 * One small keyword database per context class: a candidate's window is searched only for the
 * keywords of its own detector, a handful of literals, which Hyperscan does at memory speed.
 */
/*
 * How far before a searched window a keyword of these patterns may start: the longest match, and
 * one byte more so that a word boundary at the start of the searched bytes is judged on the real
 * byte before it. Searching less before each window matters: dates alone, on every line of
 * clinical text, have their windows searched for birth-date keywords.
 */
static uint8_t keyword_reach(const char *const *ex, const unsigned *fl, unsigned m)
{
	unsigned reach = 0;

	for (unsigned i = 0; i < m; i++) {
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *ce = NULL;
		unsigned w = RP_KW_OVERLAP;
		if (hs_expression_info(ex[i], fl[i], &info, &ce) == HS_SUCCESS && info && info->max_width < RP_KW_OVERLAP)
			w = info->max_width + 1;
		free(info);
		hs_free_compile_error(ce);
		if (w > reach)
			reach = w;
	}
	return (uint8_t)(reach < RP_KW_OVERLAP ? reach : RP_KW_OVERLAP);
}

static int compile_keywords(struct rp_engine *e, const char *const *kexprs, const unsigned *kflags,
			    const unsigned *kids, size_t nk, const struct rp_engine_config *cfg, char *err,
			    size_t errlen)
{
	const char **ex = calloc(nk ? nk : 1, sizeof(*ex));
	unsigned *fl = calloc(nk ? nk : 1, sizeof(*fl)), *id = calloc(nk ? nk : 1, sizeof(*id));
	hs_compile_error_t *ce = NULL;
	int r = -ENOMEM;

	e->db_kwc = calloc(e->n_classes, sizeof(*e->db_kwc));
	e->kw_reach = calloc(e->n_classes, sizeof(*e->kw_reach));
	if (!ex || !fl || !id || !e->db_kwc || !e->kw_reach)
		goto cleanup;
	for (uint32_t cls = 0; cls < e->n_classes; cls++) {
		unsigned m = 0;
		for (size_t k = 0; k < nk; k++) {
			bool in = cls < KW__BUILTIN ? (e->kw[k].classes >> cls) & 1 : e->kw[k].custom_class == cls;
			if (!in)
				continue;
			ex[m] = kexprs[k];
			fl[m] = kflags[k];
			id[m] = kids[k];
			m++;
		}
		if (m == 0)
			continue;
		e->kw_reach[cls] = keyword_reach(ex, fl, m);
		if (hs_compile_multi(ex, fl, id, m, HS_MODE_BLOCK, NULL, &e->db_kwc[cls], &ce) != HS_SUCCESS) {
			if (cls >= KW__BUILTIN)
				set_err(err, errlen, "detectors.custom[%u] (%s): invalid keyword: %s", cls - KW__BUILTIN,
					cfg->custom[cls - KW__BUILTIN].id, ce && ce->message ? ce->message : "?");
			else
				set_err(err, errlen, "detectors: cannot compile keyword class %u: %s", cls,
					ce && ce->message ? ce->message : "unknown error");
			hs_free_compile_error(ce);
			r = -EINVAL;
			goto cleanup;
		}
	}
	r = 0;
cleanup:
	free(ex);
	free(fl);
	free(id);
	return r;
}

static int compile(struct rp_engine *e, const struct rp_engine_config *cfg, char *err, size_t errlen)
{
	const char *const *bexprs;
	const unsigned *bflags, *bids;
	size_t nb = rp_builtin_patterns(&bexprs, &bflags, &bids), nk = 0, n;
	char **kexprs = NULL;
	unsigned *kflags = NULL, *kids = NULL, *flags = NULL, *ids = NULL;
	const char **exprs = NULL;
	hs_compile_error_t *ce = NULL;
	int r;

	r = rp_keywords_build(e, cfg, &kexprs, &kflags, &kids, &nk, err, errlen);
	if (r < 0)
		return r;
	n = nb + cfg->n_custom;
	r = -ENOMEM;
	exprs = calloc(n, sizeof(*exprs));
	flags = calloc(n, sizeof(*flags));
	ids = calloc(n, sizeof(*ids));
	if (!exprs || !flags || !ids)
		goto cleanup;
	for (size_t i = 0; i < nb; i++) {
		exprs[i] = bexprs[i];
		flags[i] = bflags[i];
		ids[i] = bids[i];
	}
	for (size_t i = 0; i < cfg->n_custom; i++) {
		exprs[nb + i] = cfg->custom[i].regex;
		flags[nb + i] = HS_FLAG_SOM_LEFTMOST;
		ids[nb + i] = PAT_CUSTOM_BASE + (unsigned)i;
	}

	r = -EINVAL;
	r = compile_keywords(e, (const char *const *)kexprs, kflags, kids, nk, cfg, err, errlen);
	if (r < 0)
		goto cleanup;
	r = -EINVAL;
	if (nk && hs_compile_multi((const char *const *)kexprs, kflags, kids, (unsigned)nk, HS_MODE_BLOCK, NULL,
				   &e->db_kw_all, &ce) != HS_SUCCESS) {
		set_err(err, errlen, "detectors: cannot compile the keyword database: %s",
			ce && ce->message ? ce->message : "unknown error");
		hs_free_compile_error(ce);
		goto cleanup;
	}
	r = -EINVAL;
	if (hs_compile_multi(exprs, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, &e->db_block, &ce) != HS_SUCCESS)
		goto compile_error;
	if (hs_compile_multi(exprs, flags, ids, (unsigned)n,
			     HS_MODE_STREAM | (cfg->n_custom ? HS_MODE_SOM_HORIZON_SMALL : 0), NULL, &e->db_stream,
			     &ce) != HS_SUCCESS)
		goto compile_error;
	r = 0;
	goto cleanup;

compile_error:
	if (ce && ce->expression >= 0 && (size_t)ce->expression >= nb) {
		size_t i = (size_t)ce->expression - nb;
		set_err(err, errlen, "detectors.custom[%zu] (%s): invalid regex: %s", i, cfg->custom[i].id, ce->message);
	} else {
		set_err(err, errlen, "detectors: cannot compile the pattern database: %s",
			ce && ce->message ? ce->message : "unknown error");
	}
	hs_free_compile_error(ce);
cleanup:
	for (size_t i = 0; kexprs && i < nk; i++)
		free(kexprs[i]);
	free(kexprs);
	free(kflags);
	free(kids);
	free(exprs);
	free(flags);
	free(ids);
	return r;
}

/* The first two digits of a year as bytes, the first one high: 1985 -> '1' << 8 | '9'. */
static unsigned century_as_written(int year)
{
	return (unsigned)('0' + year / 1000 % 10) << 8 | (unsigned)('0' + year / 100 % 10);
}

int rp_engine_new(const struct rp_engine_config *cfg, struct rp_engine **out, char *err, size_t errlen)
{
	struct rp_engine *e = NULL;
	struct tm tm;
	time_t now = time(NULL);
	int r;

	if (!cfg || !out)
		return -EINVAL;
	if (cfg->n_custom > RP_DET_MAX - RP_DET__BUILTIN) {
		set_err(err, errlen, "detectors.custom: at most %d custom detectors", RP_DET_MAX - RP_DET__BUILTIN);
		return -E2BIG;
	}
	if (cfg->n_custom && !cfg->custom)
		return -EINVAL;
	if (cfg->context_window > RP_MAX_WINDOW) {
		set_err(err, errlen, "detectors: context window must be at most %d bytes", RP_MAX_WINDOW);
		return -EINVAL;
	}
	for (unsigned i = 0; i < RP_DET__BUILTIN; i++) {
		double m = cfg->builtin[i].min_confidence;
		if (!(m >= 0.0 && m <= 1.0)) {
			set_err(err, errlen, "detectors.%s: min_confidence must be within 0..1", rp_detector_builtin_id(i));
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < cfg->n_custom; i++) {
		r = check_custom(&cfg->custom[i], i, cfg, err, errlen);
		if (r < 0)
			return r;
	}

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->window = cfg->context_window ? cfg->context_window : RP_DEFAULT_WINDOW;
	e->now_year = gmtime_r(&now, &tm) ? tm.tm_year + 1900 : 2025;
	e->birth_cy_first = century_as_written(e->now_year - 120);
	e->birth_cy_last = century_as_written(e->now_year);
	e->n_det = RP_DET__BUILTIN + (unsigned)cfg->n_custom;
	e->n_classes = KW__BUILTIN + (unsigned)cfg->n_custom;
	rp_builtin_info(e->det, e->window);
	for (unsigned i = 0; i < RP_DET__BUILTIN; i++) {
		snprintf(e->det[i].id, sizeof(e->det[i].id), "%s", rp_detector_builtin_id(i));
		e->det[i].enabled = cfg->builtin[i].enabled;
		e->det[i].min_confidence = cfg->builtin[i].min_confidence;
	}
	for (size_t i = 0; i < cfg->n_custom; i++) {
		const struct rp_custom_detector *cd = &cfg->custom[i];
		struct rp_det_info *d = &e->det[RP_DET__BUILTIN + i];
		int v = rp_validator_lookup(cd->validator);
		snprintf(d->id, sizeof(d->id), "%.*s", RP_ID_MAX - 1, cd->id);
		d->base = cd->base_confidence;
		d->ctx_bonus = 0.2;
		d->window = e->window;
		d->needs_context = cd->needs_context;
		d->enabled = true;
		d->min_confidence = 0.0;
		d->kw_class = cd->keywords && cd->keywords[0] ? KW__BUILTIN + (uint32_t)i : KW_NONE;
		d->validator = v > 0 ? (enum rp_validator)v : VAL_NONE;
	}
	r = compile(e, cfg, err, errlen);
	if (r < 0) {
		rp_engine_free(e);
		return r;
	}
	*out = e;
	return 0;
}

void rp_engine_free(struct rp_engine *e)
{
	if (!e)
		return;
	hs_free_database(e->db_block);
	hs_free_database(e->db_stream);
	hs_free_database(e->db_kw_all);
	for (unsigned i = 0; e->db_kwc && i < e->n_classes; i++)
		hs_free_database(e->db_kwc[i]);
	free(e->db_kwc);
	free(e->kw_reach);
	free(e->kw);
	free(e);
}

unsigned rp_engine_detector_count(const struct rp_engine *e)
{
	return e ? e->n_det : 0;
}

const char *rp_engine_detector_id(const struct rp_engine *e, unsigned idx)
{
	return e && idx < e->n_det ? e->det[idx].id : NULL;
}

int rp_engine_detector_lookup(const struct rp_engine *e, const char *id)
{
	if (!e || !id)
		return -EINVAL;
	for (unsigned i = 0; i < e->n_det; i++)
		if (strcmp(e->det[i].id, id) == 0)
			return (int)i;
	return -ENOENT;
}

size_t rp_engine_stream_state_size(const struct rp_engine *e)
{
	size_t sz = 0;
	if (!e || hs_stream_size(e->db_stream, &sz) != HS_SUCCESS)
		return 0;
	return sz;
}

size_t rp_engine_stream_side_size(const struct rp_engine *e)
{
	if (!e)
		return 0;
	return sizeof(struct rp_stream) + e->window + RP_TAIL + RP_PENDING_MAX * sizeof(struct rp_pending);
}

int rp_scratch_new(const struct rp_engine *e, struct rp_scratch **out)
{
	struct rp_scratch *s;
	if (!e || !out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->engine = e;
	/* the value, the window on each side, and keywords straddling the window's edges */
	s->kwbuf_len = 2 * (size_t)e->window + RP_RAW_MAX + 2 * RP_KW_OVERLAP;
	s->kwbuf = malloc(s->kwbuf_len);
	s->batch = malloc(RP_BATCH_BUF);
	if (!s->kwbuf || !s->batch || hs_alloc_scratch(e->db_block, &s->hs) != HS_SUCCESS ||
	    hs_alloc_scratch(e->db_stream, &s->hs) != HS_SUCCESS)
		goto fail;
	for (unsigned i = 0; i < e->n_classes; i++)
		if (e->db_kwc[i] && hs_alloc_scratch(e->db_kwc[i], &s->hs_kw) != HS_SUCCESS)
			goto fail;
	if (e->db_kw_all && hs_alloc_scratch(e->db_kw_all, &s->hs_kw) != HS_SUCCESS)
		goto fail;
	*out = s;
	return 0;
fail:
	rp_scratch_free(s);
	return -ENOMEM;
}

void rp_scratch_free(struct rp_scratch *s)
{
	if (!s)
		return;
	hs_free_scratch(s->hs);
	hs_free_scratch(s->hs_kw);
	free(s->kwbuf);
	free(s->batch);
	free(s);
}

size_t rp_scratch_size(const struct rp_scratch *s)
{
	size_t sz = 0, kw = 0;
	if (!s || hs_scratch_size(s->hs, &sz) != HS_SUCCESS)
		return 0;
	if (s->hs_kw && hs_scratch_size(s->hs_kw, &kw) != HS_SUCCESS)
		return 0;
	return sz + kw + sizeof(*s) + s->kwbuf_len + RP_BATCH_BUF;
}

int rp_scan_block(const struct rp_engine *e, struct rp_scratch *s, const void *buf, size_t len,
		  rp_finding_cb cb, void *userdata)
{
	struct rp_scan_ctx c;
	hs_error_t hr;

	if (!e || !s || s->engine != e || (!buf && len))
		return -EINVAL;
	/* Hyperscan takes an unsigned int length; larger inputs go through the streaming API. */
	if (len > UINT32_MAX)
		return -E2BIG;
	memset(&c, 0, sizeof(c));
	c.e = e;
	c.s = s;
	s->n_queued = 0;
	c.side = &s->block_side;
	rp_side_reset(c.side);
	c.v.cur = buf;
	c.v.cur_len = len;
	c.v.eod = true;
	c.cb = cb;
	c.userdata = userdata;
	hr = hs_scan(e->db_block, buf ? buf : "", (unsigned)len, 0, s->hs, rp_on_match, &c);
	if (hr != HS_SUCCESS && hr != HS_SCAN_TERMINATED)
		return hr == HS_NOMEM ? -ENOMEM : -EIO;
	rp_dscan(&c, buf, len, 0);
	rp_dscan_eod(&c, len);
	rp_pending_update(&c, true);
	return c.stop;
}

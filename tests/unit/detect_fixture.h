/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the detection tests share: a default engine and scratch per test case, and a callback
 * that keeps the findings. Included by one test file each (its statics are that file's).
 */
#ifndef REMPART_TESTS_DETECT_FIXTURE_H
#define REMPART_TESTS_DETECT_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "detectors.h"

#define MAXF 256

struct collect {
	unsigned n; /* findings reported, even past MAXF */
	struct rp_finding f[MAXF];
};

static int collect_cb(const struct rp_finding *f, void *userdata)
{
	struct collect *c = userdata;
	if (c->n < MAXF)
		c->f[c->n] = *f;
	c->n++;
	return 0;
}

static inline unsigned count_det(const struct collect *c, const char *id)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->n && i < MAXF; i++)
		if (strcmp(c->f[i].id, id) == 0)
			n++;
	return n;
}

static inline const struct rp_finding *find_det(const struct collect *c, const char *id)
{
	for (unsigned i = 0; i < c->n && i < MAXF; i++)
		if (strcmp(c->f[i].id, id) == 0)
			return &c->f[i];
	return NULL;
}

/* c holds a finding of f's detector at f's offset and length. */
static inline bool has_finding(const struct collect *c, const struct rp_finding *f)
{
	for (unsigned i = 0; i < c->n && i < MAXF; i++)
		if (c->f[i].detector == f->detector && c->f[i].offset == f->offset && c->f[i].length == f->length)
			return true;
	return false;
}

static struct rp_engine *engine;
static struct rp_scratch *scratch;

static void setup(void)
{
	struct rp_engine_config cfg;
	char err[256] = "";
	rp_engine_config_default(&cfg);
	ck_assert_int_eq(rp_engine_new(&cfg, &engine, err, sizeof(err)), 0);
	ck_assert_int_eq(rp_scratch_new(engine, &scratch), 0);
}

static void teardown(void)
{
	rp_scratch_free(scratch);
	rp_engine_free(engine);
	scratch = NULL;
	engine = NULL;
}

#endif

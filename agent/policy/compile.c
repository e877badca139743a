/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Model -> detection engine. The engine is compiled from the policy's detector settings, then
 * every rule's detector ids are resolved to engine indexes once, so evaluation is array lookups.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

static void fill_custom(const struct rp_custom_model *m, struct rp_custom_detector *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", m->id);
	c->regex = m->regex;
	c->validator = m->validator;
	c->keywords = (const char *const *)m->keywords;
	c->base_confidence = m->confidence;
	c->needs_context = m->needs_context;
}

/*
 * The engine's message names the failing detector in its own words; to give the author a JSON
 * path, compile each custom detector alone to find the culprit. Only on the error path.
 */
static void blame_custom(const struct rp_policy *p, const char *whole_err, struct rp_diag *diag)
{
	bool blamed = false;

	for (size_t i = 0; i < p->n_custom; i++) {
		struct rp_engine_config cfg;
		struct rp_custom_detector c;
		struct rp_engine *e = NULL;
		char err[256] = "";

		rp_engine_config_default(&cfg);
		for (unsigned b = 0; b < RP_DET__BUILTIN; b++)
			cfg.builtin[b].enabled = false;
		fill_custom(&p->custom[i], &c);
		cfg.custom = &c;
		cfg.n_custom = 1;
		cfg.context_window = p->context_window;
		if (rp_engine_new(&cfg, &e, err, sizeof(err)) < 0) {
			const char *msg = err;

			/* Compiled alone it was the engine's custom[0]: drop that, our path is exact. */
			if (strncmp(msg, "detectors.custom[", 17) == 0) {
				msg += 17 + strspn(msg + 17, "0123456789");
				if (*msg == ']')
					msg++;
				msg += strspn(msg, " ");
			}
			rp_diag_addf(diag, "detectors.custom[%zu].regex: %s", i,
				     *msg ? msg : "does not compile");
			blamed = true;
		}
		rp_engine_free(e);
	}
	if (!blamed)
		rp_diag_addf(diag, "detectors: %s", whole_err[0] ? whole_err : "engine compilation failed");
}

int rp_policy_compile(struct rp_policy *p, struct rp_diag *diag)
{
	struct rp_engine_config cfg;
	struct rp_custom_detector *custom = NULL;
	char err[256] = "";
	int r;

	rp_engine_config_default(&cfg);
	for (unsigned b = 0; b < RP_DET__BUILTIN; b++) {
		if (!p->builtin_set[b])
			continue;
		cfg.builtin[b].enabled = p->builtin[b].enabled;
		if (p->builtin[b].min_confidence >= 0.0)
			cfg.builtin[b].min_confidence = p->builtin[b].min_confidence;
	}
	if (p->n_custom) {
		custom = calloc(p->n_custom, sizeof(*custom));
		if (!custom)
			return -ENOMEM;
		for (size_t i = 0; i < p->n_custom; i++)
			fill_custom(&p->custom[i], &custom[i]);
	}
	cfg.custom = custom;
	cfg.n_custom = p->n_custom;
	cfg.context_window = p->context_window;

	r = rp_engine_new(&cfg, &p->engine, err, sizeof(err));
	if (r < 0) {
		p->engine = NULL;
		if (r == -ENOMEM)
			rp_diag_addf(diag, "detectors: out of memory compiling the detection engine");
		else if (p->n_custom)
			blame_custom(p, err, diag);
		else
			rp_diag_addf(diag, "detectors: %s", err[0] ? err : "engine compilation failed");
		goto cleanup;
	}

	for (size_t i = 0; i < p->n_rules; i++) {
		struct rp_rule *rule = &p->rules[i];
		size_t n = rp_strv_len(rule->detector_ids);

		rule->detectors = calloc(n ? n : 1, sizeof(int));
		if (!rule->detectors) {
			r = -ENOMEM;
			goto cleanup;
		}
		for (size_t k = 0; k < n; k++) {
			int idx = rp_engine_detector_lookup(p->engine, rule->detector_ids[k]);

			if (idx < 0) {
				/* Validation checked the id exists; the engine leaves out disabled ones. */
				rp_diag_addf(diag, "rules[%zu].detectors[%zu]: detector \"%s\" is not in the "
						   "compiled engine (disabled?)",
					     i, k, rule->detector_ids[k]);
				r = -EINVAL;
				continue;
			}
			rule->detectors[rule->n_detectors++] = idx;
		}
	}
cleanup:
	free(custom);
	return r < 0 ? r : 0;
}

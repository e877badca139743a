/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy's "enforcement" object (connect-time destination control, QUIC, block fallback),
 * read from the same JSON document the policy was loaded from. Library code: no logging; errors
 * are diagnostics naming the JSON path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "policy_internal.h"

#define MAX_DENY 4096
#define COMM_MAX 15

static const char *const default_browsers[] = {
	"firefox", "firefox-esr", "firefox-bin", "chromium", "chrome", "msedge", "brave", "opera", "vivaldi-bin",
	NULL,
};

void rp_enforcement_settings_free(struct rp_enforcement_settings *s)
{
	if (!s)
		return;
	free(s->deny_addrs);
	rp_strv_free(s->deny_hosts);
	rp_strv_free(s->quic_comm);
	free(s);
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv;

	if (rp_strv_contains(*v, s))
		return 0;
	nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	nv[++*n] = NULL;
	return 0;
}

static int cidr_push(struct rp_enforcement_settings *s, const struct rp_cidr *c)
{
	struct rp_enforce_cidr *n = realloc(s->deny_addrs, (s->n_deny_addrs + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->deny_addrs = n;
	n[s->n_deny_addrs].family = c->family;
	memcpy(n[s->n_deny_addrs].addr, c->addr, sizeof(c->addr));
	n[s->n_deny_addrs].prefix = c->prefix;
	s->n_deny_addrs++;
	return 0;
}

static bool get_bool_key(struct json_object *o, const char *key, bool *out, struct rp_diag *diag)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return true;
	if (!json_object_is_type(v, json_type_boolean)) {
		rp_diag_addf(diag, "enforcement.%s: expected true or false", key);
		return false;
	}
	*out = json_object_get_boolean(v);
	return true;
}

/* Fetch an array of strings; NULL (and no error) when absent. */
static struct json_object *get_array(struct json_object *o, const char *key, bool *ok, struct rp_diag *diag)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	if (!json_object_is_type(v, json_type_array)) {
		rp_diag_addf(diag, "enforcement.%s: expected an array of strings", key);
		*ok = false;
		return NULL;
	}
	if (json_object_array_length(v) > MAX_DENY) {
		rp_diag_addf(diag, "enforcement.%s: too many entries (at most %d)", key, MAX_DENY);
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string)) {
			rp_diag_addf(diag, "enforcement.%s[%zu]: expected a string", key, i);
			*ok = false;
			return NULL;
		}
	return v;
}

static int add_deny(struct rp_enforcement_settings *s, size_t *n_hosts, const char *entry, size_t i,
		    struct rp_diag *diag, bool *ok)
{
	struct rp_cidr c;
	char lower[254];
	size_t len = strlen(entry);

	if (rp_cidr_parse(entry, &c) == 0)
		return cidr_push(s, &c);
	if (len == 0 || len >= sizeof(lower)) {
		rp_diag_addf(diag, "enforcement.deny[%zu]: not an address, a CIDR or a host name", i);
		*ok = false;
		return 0;
	}
	for (size_t k = 0; k <= len; k++)
		lower[k] = (char)((entry[k] >= 'A' && entry[k] <= 'Z') ? entry[k] + 32 : entry[k]);
	if (lower[0] == '*' || !rp_host_pattern_valid(lower)) {
		rp_diag_addf(diag,
			     "enforcement.deny[%zu]: \"%.64s\" is not an address, a CIDR or an exact host name "
			     "(wildcards cannot be resolved at connect time)",
			     i, entry);
		*ok = false;
		return 0;
	}
	return strv_push(&s->deny_hosts, n_hosts, lower);
}

static int parse_enforcement(const struct rp_policy *p, struct json_object *o, struct rp_enforcement_settings *s,
			     struct rp_diag *diag, bool *ok)
{
	static const char *const keys[] = {"deny", "deny_destinations", "block_quic", "quic_comm",
					   "kill_if_unstoppable", "description", NULL};
	struct json_object *a;
	size_t n_hosts = 0, n_comm = 0;
	int r;

	json_object_object_foreach(o, key, val) {
		bool known = false;

		(void)val;
		for (const char *const *k = keys; *k; k++)
			known = known || strcmp(*k, key) == 0;
		if (!known) {
			rp_diag_addf(diag,
				     "enforcement.%.64s: unknown key (expected one of: deny, deny_destinations, "
				     "block_quic, quic_comm, kill_if_unstoppable, description)",
				     key);
			*ok = false;
		}
	}
	*ok = get_bool_key(o, "block_quic", &s->block_quic, diag) && *ok;
	*ok = get_bool_key(o, "kill_if_unstoppable", &s->kill_if_unstoppable, diag) && *ok;

	a = get_array(o, "deny", ok, diag);
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		r = add_deny(s, &n_hosts, json_object_get_string(json_object_array_get_idx(a, i)), i, diag, ok);
		if (r < 0)
			return r;
	}

	a = get_array(o, "deny_destinations", ok, diag);
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(a, i));
		const struct rp_destination *d = NULL;

		for (size_t k = 0; k < p->n_dests; k++)
			if (p->dests[k].name && strcmp(p->dests[k].name, name) == 0)
				d = &p->dests[k];
		if (!d) {
			rp_diag_addf(diag, "enforcement.deny_destinations[%zu]: unknown destination \"%.64s\"", i,
				     name);
			*ok = false;
			continue;
		}
		for (size_t k = 0; k < d->n_addrs; k++) {
			r = cidr_push(s, &d->addrs[k]);
			if (r < 0)
				return r;
		}
		for (char **h = d->hosts; h && *h; h++) {
			if ((*h)[0] == '*')
				continue; /* "*.suffix" names no host to resolve */
			r = strv_push(&s->deny_hosts, &n_hosts, *h);
			if (r < 0)
				return r;
		}
	}

	a = get_array(o, "quic_comm", ok, diag);
	if (a) {
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			const char *c = json_object_get_string(json_object_array_get_idx(a, i));

			if (!c[0] || strlen(c) > COMM_MAX) {
				rp_diag_addf(diag, "enforcement.quic_comm[%zu]: a process name is 1 to %d bytes", i,
					     COMM_MAX);
				*ok = false;
				continue;
			}
			r = strv_push(&s->quic_comm, &n_comm, c);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Parse o (the "enforcement" object, or NULL for the defaults) into *out. */
static int enforcement_from_object(const struct rp_policy *p, struct json_object *o,
				   struct rp_enforcement_settings **out, struct rp_diag *diag)
{
	struct rp_enforcement_settings *s;
	size_t n_comm = 0;
	bool ok = true;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->block_quic = true;
	if (o) {
		if (!json_object_is_type(o, json_type_object)) {
			rp_diag_addf(diag, "enforcement: expected an object");
			r = -EINVAL;
			goto cleanup;
		}
		r = parse_enforcement(p, o, s, diag, &ok);
		if (r < 0)
			goto cleanup;
	}
	if (!ok) {
		r = -EINVAL;
		goto cleanup;
	}
	if (!s->quic_comm)
		for (const char *const *b = default_browsers; *b; b++) {
			r = strv_push(&s->quic_comm, &n_comm, *b);
			if (r < 0)
				goto cleanup;
		}
	*out = s;
	return 0;
cleanup:
	rp_enforcement_settings_free(s);
	return r;
}

int rp_enforcement_attach(struct rp_policy *p, struct json_object *o, struct rp_diag *diag)
{
	struct rp_enforcement_settings *s = NULL;
	int r = enforcement_from_object(p, o, &s, diag);

	if (r < 0)
		return r;
	rp_enforcement_settings_free(p->enforcement);
	p->enforcement = s;
	return 0;
}

const struct rp_enforcement_settings *rp_policy_enforcement(const struct rp_policy *p)
{
	return p ? p->enforcement : NULL;
}

int rp_policy_enforcement_parse(const struct rp_policy *p, const char *json, size_t len,
				struct rp_enforcement_settings **out, struct rp_diag *diag)
{
	struct json_object *root = NULL, *o = NULL;
	int r;

	if (!p || !json || !out)
		return -EINVAL;
	r = rp_json_parse(json, len, "policy", &root, diag);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(root, "enforcement", &o))
		o = NULL;
	r = enforcement_from_object(p, o, out, diag);
	json_object_put(root);
	return r;
}

static bool scope_uses_destination(const struct rp_scope *s)
{
	if (!s)
		return false;
	return s->hosts || s->n_addrs || s->n_ports || s->n_destinations || s->categories || s->approved != -1 ||
	       scope_uses_destination(s->negated);
}

bool rp_policy_hold_depends_on_destination(const struct rp_policy *p)
{
	for (size_t i = 0; p && i < p->n_rules; i++)
		if (p->rules[i].action == RP_ACTION_HOLD && scope_uses_destination(&p->rules[i].scope))
			return true;
	return false;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON tree -> policy model, checking everything policies/README.md promises: unknown keys, types,
 * ranges, references between sections, duplicates. Each problem is reported with its JSON path and
 * validation goes on, so an author sees every mistake at once rather than one per attempt.
 */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

#define PATH_LEN 160
#define MAX_RULES 1024
#define MAX_DESTS 1024
#define MAX_EXCEPTIONS 1024
#define MAX_LIST 1024
#define MAX_KEYWORDS 256
#define MAX_STR 4096
#define MAX_SERIAL ((int64_t)1 << 53) /* stays exact in every JSON implementation */

struct vctx {
	struct rp_diag *diag;
	unsigned errors;
	struct rp_policy *p;
	rp_strv categories; /* known categories, from the catalogue */
};

static void verr(struct vctx *v, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void verr(struct vctx *v, const char *path, const char *fmt, ...)
{
	char msg[RP_DIAG_LEN];
	va_list ap;

	v->errors++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rp_diag_addf(v->diag, "%s: %s", path && *path ? path : "(top level)", msg);
}

/* A value as it appears in a message: quoted, control characters escaped, long ones cut. */
static const char *quote(const char *s, char *buf, size_t n)
{
	size_t o = 0;

	buf[o++] = '"';
	for (; *s && o + 8 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (*s) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* Paths are built by appending with truncation: an over-long path still starts right. */
static void path_cat(char *dst, size_t *o, const char *s)
{
	while (*s && *o + 1 < PATH_LEN)
		dst[(*o)++] = *s++;
	dst[*o] = '\0';
}

static void join_key(char *dst, const char *path, const char *key)
{
	size_t o = 0;

	dst[0] = '\0';
	if (path && *path) {
		path_cat(dst, &o, path);
		path_cat(dst, &o, ".");
	}
	path_cat(dst, &o, key);
}

static void join_idx(char *dst, const char *path, size_t i)
{
	char idx[32];
	size_t o = 0;

	snprintf(idx, sizeof(idx), "[%zu]", i);
	dst[0] = '\0';
	path_cat(dst, &o, path);
	path_cat(dst, &o, idx);
}

static const char *type_name(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
	case json_type_int:
		return "a number";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "unknown";
}

static bool expect_type(struct vctx *v, const char *path, struct json_object *o, enum json_type t,
			const char *what)
{
	if (json_object_is_type(o, t))
		return true;
	verr(v, path, "expected %s, got %s", what, type_name(o));
	return false;
}

/* Report keys of obj that are not in allowed (NULL-terminated). */
static void check_keys(struct vctx *v, const char *path, struct json_object *obj,
		       const char *const *allowed)
{
	json_object_object_foreach(obj, key, val) {
		char kp[PATH_LEN], list[200];
		size_t o = 0;
		bool ok = false;

		(void)val;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				ok = true;
		if (ok)
			continue;
		list[0] = '\0';
		for (const char *const *a = allowed; *a && o < sizeof(list); a++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", a == allowed ? "" : ", ",
					      *a);
		join_key(kp, path, key);
		verr(v, kp, "unknown key (expected one of: %s)", list);
	}
}

static struct json_object *get(struct vctx *v, const char *path, struct json_object *obj,
			       const char *key, bool required)
{
	struct json_object *val = NULL;
	char kp[PATH_LEN];

	if (json_object_object_get_ex(obj, key, &val))
		return val;
	if (required) {
		join_key(kp, path, key);
		verr(v, kp, "required key is missing");
	}
	return NULL;
}

/* String value: no NUL inside, within length bounds. Returns a copy or NULL (error reported). */
static char *string_value(struct vctx *v, const char *path, struct json_object *o, size_t minlen,
			  size_t maxlen)
{
	const char *s;
	size_t len;
	char *copy;

	if (!expect_type(v, path, o, json_type_string, "a string"))
		return NULL;
	s = json_object_get_string(o);
	len = (size_t)json_object_get_string_len(o);
	if (strlen(s) != len) {
		verr(v, path, "string contains a NUL character");
		return NULL;
	}
	if (len < minlen) {
		verr(v, path, minlen == 1 ? "must not be empty" : "too short (at least %zu characters)",
		     minlen);
		return NULL;
	}
	if (len > maxlen) {
		verr(v, path, "too long (%zu bytes, at most %zu)", len, maxlen);
		return NULL;
	}
	copy = strdup(s);
	if (!copy)
		verr(v, path, "out of memory");
	return copy;
}

static char *get_string(struct vctx *v, const char *path, struct json_object *obj, const char *key,
			bool required, size_t maxlen)
{
	struct json_object *o = get(v, path, obj, key, required);
	char kp[PATH_LEN];

	if (!o)
		return NULL;
	join_key(kp, path, key);
	return string_value(v, kp, o, 1, maxlen);
}

/* Identifiers (rule ids, destination names, custom detector ids): lowercase, digits, _ - . */
static bool identifier_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= RP_ID_MAX || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("_-.", *s))
			return false;
	return true;
}

static char *identifier_value(struct vctx *v, const char *path, struct json_object *o)
{
	char q[96];
	char *s = string_value(v, path, o, 1, MAX_STR);

	if (s && !identifier_ok(s)) {
		verr(v, path,
		     "%s is not a valid identifier (lowercase letters, digits, '_', '-', '.', starting "
		     "with a letter or digit, at most %d characters)",
		     quote(s, q, sizeof(q)), RP_ID_MAX - 1);
		free(s);
		return NULL;
	}
	return s;
}

static bool get_int(struct vctx *v, const char *path, struct json_object *obj, const char *key,
		    bool required, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *o = get(v, path, obj, key, required);
	char kp[PATH_LEN];
	int64_t x;

	if (!o)
		return false;
	join_key(kp, path, key);
	if (json_object_is_type(o, json_type_double)) {
		verr(v, kp, "must be an integer, got %s", json_object_get_string(o));
		return false;
	}
	if (!expect_type(v, kp, o, json_type_int, "an integer"))
		return false;
	x = json_object_get_int64(o);
	/* json-c keeps integers above INT64_MAX as unsigned; get_int64 then clamps. */
	if (x < min || x > max || (x == INT64_MAX && json_object_get_uint64(o) > (uint64_t)INT64_MAX)) {
		verr(v, kp, "%s is out of range (%lld to %lld)", json_object_get_string(o),
		     (long long)min, (long long)max);
		return false;
	}
	*out = x;
	return true;
}

static bool get_number(struct vctx *v, const char *path, struct json_object *obj, const char *key,
		       double min, double max, double *out)
{
	struct json_object *o = get(v, path, obj, key, false);
	char kp[PATH_LEN];
	double x;

	if (!o)
		return false;
	join_key(kp, path, key);
	if (!json_object_is_type(o, json_type_double) && !json_object_is_type(o, json_type_int)) {
		verr(v, kp, "expected a number, got %s", type_name(o));
		return false;
	}
	x = json_object_get_double(o);
	if (!(x >= min && x <= max)) {
		verr(v, kp, "%s is out of range (%g to %g)", json_object_get_string(o), min, max);
		return false;
	}
	*out = x;
	return true;
}

static bool get_bool(struct vctx *v, const char *path, struct json_object *obj, const char *key,
		     bool *out)
{
	struct json_object *o = get(v, path, obj, key, false);
	char kp[PATH_LEN];

	if (!o)
		return false;
	join_key(kp, path, key);
	if (!expect_type(v, kp, o, json_type_boolean, "true or false"))
		return false;
	*out = json_object_get_boolean(o);
	return true;
}

/*
 * Array of strings at obj.key. check (may be NULL) validates one element and may rewrite it
 * (e.g. lowercase a host); it reports its own errors and returns false to drop the element.
 * Duplicates are errors: in a policy they are always a copy-paste mistake.
 */
typedef bool (*elem_check)(struct vctx *v, const char *path, char *s);

static rp_strv get_strv(struct vctx *v, const char *path, struct json_object *obj, const char *key,
			bool required, size_t max_items, size_t maxlen, elem_check check)
{
	struct json_object *a = get(v, path, obj, key, required);
	char kp[PATH_LEN], ep[PATH_LEN], q[96];
	rp_strv out;
	size_t n, k = 0;

	if (!a)
		return NULL;
	join_key(kp, path, key);
	if (!expect_type(v, kp, a, json_type_array, "an array of strings"))
		return NULL;
	n = json_object_array_length(a);
	if (n == 0 && required) {
		verr(v, kp, "must not be empty");
		return NULL;
	}
	if (n > max_items) {
		verr(v, kp, "too many entries (%zu, at most %zu)", n, max_items);
		return NULL;
	}
	out = calloc(n + 1, sizeof(char *));
	if (!out) {
		verr(v, kp, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		char *s;

		join_idx(ep, kp, i);
		s = string_value(v, ep, json_object_array_get_idx(a, i), 1, maxlen);
		if (!s)
			continue;
		if (check && !check(v, ep, s)) {
			free(s);
			continue;
		}
		if (rp_strv_contains(out, s)) {
			verr(v, ep, "duplicate entry %s", quote(s, q, sizeof(q)));
			free(s);
			continue;
		}
		out[k++] = s;
	}
	return out;
}

/* ---- element checks ---- */

static bool check_host(struct vctx *v, const char *path, char *s)
{
	char q[96];

	for (char *c = s; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!rp_host_pattern_valid(s)) {
		verr(v, path,
		     "%s is not a host pattern (a DNS name, or \"*.\" followed by a DNS name; no other "
		     "wildcard, no port, no scheme)",
		     quote(s, q, sizeof(q)));
		return false;
	}
	return true;
}

static bool check_exe(struct vctx *v, const char *path, char *s)
{
	char q[96];

	if (s[0] != '/' && s[0] != '*') {
		verr(v, path, "%s must be an absolute path pattern (starting with '/' or '*')",
		     quote(s, q, sizeof(q)));
		return false;
	}
	return true;
}

static bool check_category(struct vctx *v, const char *path, char *s)
{
	char q[96];

	if (!rp_strv_contains(v->categories, s)) {
		verr(v, path, "unknown category %s (no destination in the catalogue has it)",
		     quote(s, q, sizeof(q)));
		return false;
	}
	return true;
}

static bool check_identifier(struct vctx *v, const char *path, char *s)
{
	char q[96];

	if (!identifier_ok(s)) {
		verr(v, path, "%s is not a valid identifier", quote(s, q, sizeof(q)));
		return false;
	}
	return true;
}

static bool get_cidrs(struct vctx *v, const char *path, struct json_object *obj, const char *key,
		      struct rp_cidr **out, size_t *n_out)
{
	struct json_object *a = get(v, path, obj, key, false);
	char kp[PATH_LEN], ep[PATH_LEN], q[96];
	struct rp_cidr *c;
	size_t n, k = 0;

	if (!a)
		return false;
	join_key(kp, path, key);
	if (!expect_type(v, kp, a, json_type_array, "an array of addresses"))
		return false;
	n = json_object_array_length(a);
	if (n > MAX_LIST) {
		verr(v, kp, "too many entries (%zu, at most %d)", n, MAX_LIST);
		return false;
	}
	c = calloc(n ? n : 1, sizeof(*c));
	if (!c)
		return false;
	for (size_t i = 0; i < n; i++) {
		char *s;

		join_idx(ep, kp, i);
		s = string_value(v, ep, json_object_array_get_idx(a, i), 1, 64);
		if (!s)
			continue;
		if (rp_cidr_parse(s, &c[k]) < 0)
			verr(v, ep,
			     "%s is not an IPv4 or IPv6 address or CIDR block (e.g. \"10.0.0.0/8\", "
			     "\"2001:db8::/32\")",
			     quote(s, q, sizeof(q)));
		else
			k++;
		free(s);
	}
	*out = c;
	*n_out = k;
	return true;
}

/* ---- sections ---- */

static void parse_settings(struct vctx *v, struct json_object *o)
{
	static const char *const keys[] = {"capture_budget_bytes", "hold_timeout_ms", "fail_mode",
					   "notify_rate_per_minute", "context_window", "capture_gap_action", NULL};
	struct rp_policy_settings *s = &v->p->settings;
	int64_t x;
	char *mode;
	char q[96];

	if (!expect_type(v, "settings", o, json_type_object, "an object"))
		return;
	check_keys(v, "settings", o, keys);
	if (get_int(v, "settings", o, "capture_budget_bytes", false, 64 * 1024, 256 * 1024 * 1024, &x))
		s->capture_budget_bytes = (uint64_t)x;
	if (get_int(v, "settings", o, "hold_timeout_ms", false, 10, 60000, &x))
		s->hold_timeout_ms = (uint32_t)x;
	if (get_int(v, "settings", o, "notify_rate_per_minute", false, 0, 1000, &x))
		s->notify_rate_per_minute = (uint32_t)x;
	if (get_int(v, "settings", o, "context_window", false, 1, 4096, &x))
		v->p->context_window = (unsigned)x;
	mode = get_string(v, "settings", o, "fail_mode", false, 64);
	if (mode) {
		if (strcmp(mode, "open") == 0)
			s->fail_closed = false;
		else if (strcmp(mode, "closed") == 0)
			s->fail_closed = true;
		else
			verr(v, "settings.fail_mode", "%s is not one of open, closed",
			     quote(mode, q, sizeof(q)));
		free(mode);
	}
	mode = get_string(v, "settings", o, "capture_gap_action", false, 64);
	if (mode) {
		int a = strcmp(mode, "none") == 0 ? RP_ACTION_NONE : rp_action_from_name(mode);
		/* hold is about writes to come; a gap is in the past. */
		if (a < 0 || a == RP_ACTION_HOLD)
			verr(v, "settings.capture_gap_action", "%s is not one of none, audit, alert, block, kill",
			     quote(mode, q, sizeof(q)));
		else
			s->capture_gap_action = (enum rp_action)a;
		free(mode);
	}
}

static bool validator_known(const char *name)
{
	const char *const *names = rp_validator_names();

	for (size_t i = 0; names && names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static void parse_custom(struct vctx *v, struct json_object *a)
{
	static const char *const keys[] = {"id",	  "regex",	   "validator", "keywords",
					   "confidence", "needs_context", "description", NULL};
	const char *path = "detectors.custom";
	char ep[PATH_LEN], q[96];
	size_t n;

	if (!expect_type(v, path, a, json_type_array, "an array of custom detectors"))
		return;
	n = json_object_array_length(a);
	if (n > RP_DET_MAX - RP_DET__BUILTIN) {
		verr(v, path, "too many custom detectors (%zu, at most %d)", n,
		     RP_DET_MAX - RP_DET__BUILTIN);
		return;
	}
	v->p->custom = calloc(n ? n : 1, sizeof(*v->p->custom));
	if (!v->p->custom)
		return;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *val;
		struct rp_custom_model *c = &v->p->custom[v->p->n_custom];

		join_idx(ep, path, i);
		if (!expect_type(v, ep, o, json_type_object, "an object"))
			continue;
		check_keys(v, ep, o, keys);
		c->confidence = 0.5;
		val = get(v, ep, o, "id", true);
		if (val) {
			char ip[PATH_LEN];

			join_key(ip, ep, "id");
			c->id = identifier_value(v, ip, val);
			if (c->id && rp_detector_builtin_lookup(c->id) >= 0) {
				verr(v, ip, "%s is the id of a built-in detector", quote(c->id, q, sizeof(q)));
			} else if (c->id) {
				for (size_t k = 0; k < v->p->n_custom; k++)
					if (v->p->custom[k].id && strcmp(v->p->custom[k].id, c->id) == 0)
						verr(v, ip, "duplicate custom detector id %s (also detectors.custom[%zu])",
						     quote(c->id, q, sizeof(q)), k);
			}
		}
		c->regex = get_string(v, ep, o, "regex", true, MAX_STR);
		val = get(v, ep, o, "validator", false);
		if (val && !json_object_is_type(val, json_type_null)) {
			char vp[PATH_LEN];

			join_key(vp, ep, "validator");
			c->validator = string_value(v, vp, val, 1, 64);
			if (c->validator && !validator_known(c->validator)) {
				const char *const *names = rp_validator_names();
				char list[200] = "";
				size_t o2 = 0;

				for (size_t k = 0; names && names[k] && o2 < sizeof(list); k++)
					o2 += (size_t)snprintf(list + o2, sizeof(list) - o2, "%s%s",
							       k ? ", " : "", names[k]);
				verr(v, vp, "%s is not one of %s", quote(c->validator, q, sizeof(q)), list);
			}
		}
		c->keywords = get_strv(v, ep, o, "keywords", false, MAX_KEYWORDS, 256, NULL);
		get_number(v, ep, o, "confidence", 0.0, 1.0, &c->confidence);
		get_bool(v, ep, o, "needs_context", &c->needs_context);
		if (c->needs_context && rp_strv_len(c->keywords) == 0) {
			char np[PATH_LEN];

			join_key(np, ep, "needs_context");
			verr(v, np, "is true but the detector has no keywords");
		}
		free(get_string(v, ep, o, "description", false, MAX_STR));
		v->p->n_custom++;
	}
}

static void parse_detectors(struct vctx *v, struct json_object *o)
{
	static const char *const keys[] = {"enabled", "min_confidence", NULL};
	char kp[PATH_LEN], q[96];

	if (!expect_type(v, "detectors", o, json_type_object, "an object"))
		return;
	json_object_object_foreach(o, key, val) {
		int idx;

		join_key(kp, "detectors", key);
		if (strcmp(key, "custom") == 0) {
			parse_custom(v, val);
			continue;
		}
		idx = rp_detector_builtin_lookup(key);
		if (idx < 0) {
			verr(v, kp, "unknown detector id %s (built-in ids are listed in policies/README.md; "
				    "define your own under detectors.custom)",
			     quote(key, q, sizeof(q)));
			continue;
		}
		if (!expect_type(v, kp, val, json_type_object, "an object"))
			continue;
		check_keys(v, kp, val, keys);
		/* Unset fields keep the engine's defaults: enabled, documented minimum confidence. */
		v->p->builtin[idx].enabled = true;
		v->p->builtin[idx].min_confidence = -1.0;
		get_bool(v, kp, val, "enabled", &v->p->builtin[idx].enabled);
		get_number(v, kp, val, "min_confidence", 0.0, 1.0, &v->p->builtin[idx].min_confidence);
		v->p->builtin_set[idx] = true;
	}
}

static void parse_destinations(struct vctx *v, struct json_object *a)
{
	static const char *const keys[] = {"name",	   "category", "hosts", "addresses",
					   "approved", "approved_tenants", "description", NULL};
	const char *path = "destinations";
	char ep[PATH_LEN], q[96];
	size_t n, n_cat = 0;

	if (!expect_type(v, path, a, json_type_array, "an array"))
		return;
	n = json_object_array_length(a);
	if (n > MAX_DESTS) {
		verr(v, path, "too many destinations (%zu, at most %d)", n, MAX_DESTS);
		return;
	}
	v->p->dests = calloc(n ? n : 1, sizeof(*v->p->dests));
	v->categories = calloc(n + 1, sizeof(char *));
	if (!v->p->dests || !v->categories)
		return;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *val;
		struct rp_destination *d = &v->p->dests[v->p->n_dests];

		join_idx(ep, path, i);
		if (!expect_type(v, ep, o, json_type_object, "an object"))
			continue;
		check_keys(v, ep, o, keys);
		val = get(v, ep, o, "name", true);
		if (val) {
			char np[PATH_LEN];

			join_key(np, ep, "name");
			d->name = identifier_value(v, np, val);
			for (size_t k = 0; d->name && k < v->p->n_dests; k++)
				if (v->p->dests[k].name && strcmp(v->p->dests[k].name, d->name) == 0)
					verr(v, np, "duplicate destination name %s (also destinations[%zu])",
					     quote(d->name, q, sizeof(q)), k);
		}
		val = get(v, ep, o, "category", true);
		if (val) {
			char cp[PATH_LEN];

			join_key(cp, ep, "category");
			d->category = identifier_value(v, cp, val);
			if (d->category && !rp_strv_contains(v->categories, d->category))
				v->categories[n_cat++] = strdup(d->category);
		}
		d->hosts = get_strv(v, ep, o, "hosts", false, MAX_LIST, 253, check_host);
		get_cidrs(v, ep, o, "addresses", &d->addrs, &d->n_addrs);
		if (!get(v, ep, o, "hosts", false) && !get(v, ep, o, "addresses", false))
			verr(v, ep, "a destination needs \"hosts\" or \"addresses\"");
		for (const char *const *k = (const char *const[]){"hosts", "addresses", NULL}; *k; k++) {
			struct json_object *l = get(v, ep, o, *k, false);
			char lp[PATH_LEN];

			if (l && json_object_is_type(l, json_type_array) && json_object_array_length(l) == 0) {
				join_key(lp, ep, *k);
				verr(v, lp, "must not be empty (leave the key out instead)");
			}
		}
		get_bool(v, ep, o, "approved", &d->approved);
		d->approved_tenants = get_strv(v, ep, o, "approved_tenants", false, MAX_LIST, 253, NULL);
		if (d->approved_tenants && !d->approved) {
			char tp[PATH_LEN];

			join_key(tp, ep, "approved_tenants");
			verr(v, tp, "only meaningful with \"approved\": true");
		}
		free(get_string(v, ep, o, "description", false, MAX_STR));
		v->p->n_dests++;
	}
}

static bool parse_scope(struct vctx *v, const char *path, struct json_object *o, struct rp_scope *s,
			bool allow_not)
{
	static const char *const keys[] = {"comm",	   "exe",	 "users",    "hosts",    "addresses",
					   "ports",	   "destinations", "categories", "approved", "not",
					   NULL};
	static const char *const keys_no_not[] = {"comm",	  "exe",	"users",	"hosts",
						  "addresses",	  "ports",	"destinations", "categories",
						  "approved",	  NULL};
	struct json_object *val;
	char kp[PATH_LEN], ep[PATH_LEN], q[96];
	bool b;

	s->approved = -1;
	if (!expect_type(v, path, o, json_type_object, "an object"))
		return false;
	check_keys(v, path, o, allow_not ? keys : keys_no_not);
	/* An empty list would match nothing, which is never what the author meant. */
	json_object_object_foreach(o, key, lv) {
		if (json_object_is_type(lv, json_type_array) && json_object_array_length(lv) == 0) {
			join_key(kp, path, key);
			verr(v, kp, "must not be empty (leave the key out to match anything)");
		}
	}
	s->comm = get_strv(v, path, o, "comm", false, MAX_LIST, 255, NULL);
	s->exe = get_strv(v, path, o, "exe", false, MAX_LIST, 4096, check_exe);
	s->users = get_strv(v, path, o, "users", false, MAX_LIST, 255, NULL);
	s->hosts = get_strv(v, path, o, "hosts", false, MAX_LIST, 253, check_host);
	s->categories = get_strv(v, path, o, "categories", false, MAX_LIST, 255, check_category);
	get_cidrs(v, path, o, "addresses", &s->addrs, &s->n_addrs);
	if (get_bool(v, path, o, "approved", &b))
		s->approved = b;

	val = get(v, path, o, "ports", false);
	if (val) {
		join_key(kp, path, "ports");
		if (expect_type(v, kp, val, json_type_array, "an array of port numbers")) {
			size_t n = json_object_array_length(val);

			if (n > MAX_LIST) {
				verr(v, kp, "too many entries");
			} else {
				s->ports = calloc(n ? n : 1, sizeof(*s->ports));
				for (size_t i = 0; s->ports && i < n; i++) {
					struct json_object *e = json_object_array_get_idx(val, i);
					int64_t port;

					join_idx(ep, kp, i);
					if (!json_object_is_type(e, json_type_int)) {
						verr(v, ep, "expected a port number, got %s", type_name(e));
						continue;
					}
					port = json_object_get_int64(e);
					if (port < 1 || port > 65535) {
						verr(v, ep, "%lld is out of range (1 to 65535)", (long long)port);
						continue;
					}
					s->ports[s->n_ports++] = (uint16_t)port;
				}
			}
		}
	}

	val = get(v, path, o, "destinations", false);
	if (val) {
		rp_strv names;

		join_key(kp, path, "destinations");
		names = get_strv(v, path, o, "destinations", false, MAX_LIST, 255, NULL);
		s->destinations = calloc(rp_strv_len(names) + 1, sizeof(size_t));
		for (size_t i = 0; names && s->destinations && names[i]; i++) {
			size_t k;

			for (k = 0; k < v->p->n_dests; k++)
				if (v->p->dests[k].name && strcmp(v->p->dests[k].name, names[i]) == 0)
					break;
			if (k == v->p->n_dests) {
				join_idx(ep, kp, i);
				verr(v, ep, "unknown destination %s (not in the destinations catalogue)",
				     quote(names[i], q, sizeof(q)));
				continue;
			}
			s->destinations[s->n_destinations++] = k;
		}
		rp_strv_free(names);
	}

	val = get(v, path, o, "not", false);
	if (val && allow_not) {
		join_key(kp, path, "not");
		s->negated = calloc(1, sizeof(*s->negated));
		if (s->negated)
			parse_scope(v, kp, val, s->negated, false);
	}
	return json_object_object_length(o) > 0;
}

static void parse_rules(struct vctx *v, struct json_object *a)
{
	static const char *const keys[] = {"id",     "description", "detectors", "min_count",
					   "scope",  "action",	    "message",   "uninspected_tls", NULL};
	const char *path = "rules";
	char ep[PATH_LEN], kp[PATH_LEN], q[96];
	size_t n;

	if (!expect_type(v, path, a, json_type_array, "an array of rules"))
		return;
	n = json_object_array_length(a);
	if (n == 0) {
		verr(v, path, "a policy needs at least one rule");
		return;
	}
	if (n > MAX_RULES) {
		verr(v, path, "too many rules (%zu, at most %d)", n, MAX_RULES);
		return;
	}
	v->p->rules = calloc(n, sizeof(*v->p->rules));
	if (!v->p->rules)
		return;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *val;
		struct rp_rule *r = &v->p->rules[v->p->n_rules];
		int64_t x;
		char *action;

		join_idx(ep, path, i);
		r->min_count = 1;
		r->scope.approved = -1;
		if (!expect_type(v, ep, o, json_type_object, "an object"))
			continue;
		v->p->n_rules++;
		check_keys(v, ep, o, keys);
		val = get(v, ep, o, "id", true);
		if (val) {
			join_key(kp, ep, "id");
			r->id = identifier_value(v, kp, val);
			for (size_t k = 0; r->id && k + 1 < v->p->n_rules; k++)
				if (v->p->rules[k].id && strcmp(v->p->rules[k].id, r->id) == 0)
					verr(v, kp, "duplicate rule id %s (also rules[%zu])",
					     quote(r->id, q, sizeof(q)), k);
		}
		free(get_string(v, ep, o, "description", false, MAX_STR));
		r->message = get_string(v, ep, o, "message", false, 1024);

		action = get_string(v, ep, o, "action", true, 64);
		if (action) {
			int act = rp_action_from_name(action);

			join_key(kp, ep, "action");
			if (act < 0)
				verr(v, kp, "%s is not one of audit, alert, block, kill, hold",
				     quote(action, q, sizeof(q)));
			else
				r->action = (enum rp_action)act;
			free(action);
		}
		if ((val = get(v, ep, o, "uninspected_tls", false))) {
			join_key(kp, ep, "uninspected_tls");
			if (expect_type(v, kp, val, json_type_boolean, "true or false"))
				r->uninspected_tls = json_object_get_boolean(val);
		}
		if (r->uninspected_tls) {
			/* Nothing is read from such a flow: no detector could count, no write is held. */
			if (get(v, ep, o, "detectors", false) || get(v, ep, o, "min_count", false))
				verr(v, ep, "a rule with \"uninspected_tls\": true matches traffic that cannot be "
					    "read: it takes no detectors and no min_count");
			if (r->action == RP_ACTION_HOLD) {
				join_key(kp, ep, "action");
				verr(v, kp, "\"hold\" waits for a verdict on content, which an uninspected_tls rule "
					    "never has: use block, alert or audit");
			}
		} else {
			if (get_int(v, ep, o, "min_count", false, 1, 1000000, &x))
				r->min_count = (uint32_t)x;

			r->detector_ids = get_strv(v, ep, o, "detectors", true, RP_DET_MAX, RP_ID_MAX - 1, NULL);
			join_key(kp, ep, "detectors");
			for (size_t k = 0; r->detector_ids && r->detector_ids[k]; k++) {
				const char *id = r->detector_ids[k];
				int b = rp_detector_builtin_lookup(id);
				bool custom = false;
				char dp[PATH_LEN];

				for (size_t c = 0; c < v->p->n_custom; c++)
					if (v->p->custom[c].id && strcmp(v->p->custom[c].id, id) == 0)
						custom = true;
				join_idx(dp, kp, k);
				if (b < 0 && !custom)
					verr(v, dp, "unknown detector id %s (neither built-in nor in detectors.custom)",
					     quote(id, q, sizeof(q)));
				else if (b >= 0 && v->p->builtin_set[b] && !v->p->builtin[b].enabled)
					verr(v, dp, "detector %s is disabled in detectors.%s, so this rule could never "
						    "match",
					     quote(id, q, sizeof(q)), id);
			}
		}

		val = get(v, ep, o, "scope", false);
		if (val) {
			join_key(kp, ep, "scope");
			parse_scope(v, kp, val, &r->scope, true);
		}
	}
}

static void parse_exceptions(struct vctx *v, struct json_object *a)
{
	static const char *const keys[] = {"id", "reason", "rules", "scope", NULL};
	const char *path = "exceptions";
	char ep[PATH_LEN], kp[PATH_LEN], q[96];
	size_t n;

	if (!expect_type(v, path, a, json_type_array, "an array"))
		return;
	n = json_object_array_length(a);
	if (n > MAX_EXCEPTIONS) {
		verr(v, path, "too many exceptions (%zu, at most %d)", n, MAX_EXCEPTIONS);
		return;
	}
	v->p->exceptions = calloc(n ? n : 1, sizeof(*v->p->exceptions));
	if (!v->p->exceptions)
		return;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *val;
		struct rp_exception *e = &v->p->exceptions[v->p->n_exceptions];
		rp_strv rules;
		char *reason;

		join_idx(ep, path, i);
		e->scope.approved = -1;
		if (!expect_type(v, ep, o, json_type_object, "an object"))
			continue;
		v->p->n_exceptions++;
		check_keys(v, ep, o, keys);
		val = get(v, ep, o, "id", true);
		if (val) {
			join_key(kp, ep, "id");
			e->id = identifier_value(v, kp, val);
			for (size_t k = 0; e->id && k + 1 < v->p->n_exceptions; k++)
				if (v->p->exceptions[k].id && strcmp(v->p->exceptions[k].id, e->id) == 0)
					verr(v, kp, "duplicate exception id %s (also exceptions[%zu])",
					     quote(e->id, q, sizeof(q)), k);
		}
		/* An exception weakens protection: it must say why, for the audit trail. */
		reason = get_string(v, ep, o, "reason", true, MAX_STR);
		free(reason);

		rules = get_strv(v, ep, o, "rules", false, MAX_RULES, RP_ID_MAX - 1, check_identifier);
		e->rules = calloc(rp_strv_len(rules) + 1, sizeof(size_t));
		join_key(kp, ep, "rules");
		for (size_t k = 0; rules && e->rules && rules[k]; k++) {
			size_t r;

			for (r = 0; r < v->p->n_rules; r++)
				if (v->p->rules[r].id && strcmp(v->p->rules[r].id, rules[k]) == 0)
					break;
			if (r == v->p->n_rules) {
				char rp[PATH_LEN];

				join_idx(rp, kp, k);
				verr(v, rp, "unknown rule id %s", quote(rules[k], q, sizeof(q)));
				continue;
			}
			e->rules[e->n_rules++] = r;
		}
		rp_strv_free(rules);

		val = get(v, ep, o, "scope", true);
		if (val) {
			join_key(kp, ep, "scope");
			if (!parse_scope(v, kp, val, &e->scope, true) &&
			    json_object_is_type(val, json_type_object))
				verr(v, kp, "must not be empty (an empty scope would switch the rules off "
					    "everywhere)");
		}
	}
}

int rp_policy_from_json(struct json_object *root, struct rp_policy *p, struct rp_diag *diag)
{
	static const char *const keys[] = {"schema_version", "name",	     "serial",	 "description",
					   "settings",	     "detectors",    "destinations", "rules",
					   "exceptions",
					   "enforcement", /* issue 5: read by destinations_access.c */
					   NULL};
	struct vctx v = {.diag = diag, .p = p};
	struct json_object *o;
	int64_t x;

	/* Defaults (documented in policies/README.md). */
	p->settings.capture_budget_bytes = 4 * 1024 * 1024;
	p->settings.hold_timeout_ms = 1500;
	p->settings.fail_closed = false;
	p->settings.notify_rate_per_minute = 6;
	p->settings.capture_gap_action = RP_ACTION_AUDIT;
	p->context_window = 300;

	/* The version decides what every other key means: stop here if we do not know it. */
	if (get_int(&v, "", root, "schema_version", true, 0, INT32_MAX, &x) && x != 1)
		verr(&v, "schema_version", "%lld is not supported (this agent reads version 1)",
		     (long long)x);
	if (v.errors)
		return -EINVAL;

	check_keys(&v, "", root, keys);
	p->name = get_string(&v, "", root, "name", true, 128);
	if (get_int(&v, "", root, "serial", true, 1, MAX_SERIAL, &x))
		p->serial = (uint64_t)x;
	free(get_string(&v, "", root, "description", false, MAX_STR));

	if ((o = get(&v, "", root, "settings", false)))
		parse_settings(&v, o);
	if ((o = get(&v, "", root, "detectors", false)))
		parse_detectors(&v, o);
	/* Catalogue before rules and exceptions: their scopes refer to it. */
	if ((o = get(&v, "", root, "destinations", false)))
		parse_destinations(&v, o);
	if ((o = get(&v, "", root, "rules", true)))
		parse_rules(&v, o);
	if ((o = get(&v, "", root, "exceptions", false)))
		parse_exceptions(&v, o);
	/* issue 5: the "enforcement" object is checked by destinations_access.c */
	if (rp_enforcement_attach(p, get(&v, "", root, "enforcement", false), diag) < 0)
		v.errors++;

	rp_strv_free(v.categories);
	return v.errors ? -EINVAL : 0;
}

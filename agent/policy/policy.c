/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading a policy (file or buffer), its lifetime and accessors. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy_internal.h"

void rp_strv_free(rp_strv v)
{
	if (!v)
		return;
	for (char **s = v; *s; s++)
		free(*s);
	free(v);
}

size_t rp_strv_len(const rp_strv v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

bool rp_strv_contains(const rp_strv v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static void scope_clear(struct rp_scope *s)
{
	rp_strv_free(s->comm);
	rp_strv_free(s->exe);
	rp_strv_free(s->users);
	rp_strv_free(s->hosts);
	rp_strv_free(s->categories);
	free(s->addrs);
	free(s->ports);
	free(s->destinations);
	if (s->negated) {
		scope_clear(s->negated);
		free(s->negated);
	}
	memset(s, 0, sizeof(*s));
}

void rp_policy_free(struct rp_policy *p)
{
	if (!p)
		return;
	rp_engine_free(p->engine);
	rp_enforcement_settings_free(p->enforcement); /* issue 5 */
	for (size_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].id);
		free(p->rules[i].message);
		rp_strv_free(p->rules[i].detector_ids);
		free(p->rules[i].detectors);
		scope_clear(&p->rules[i].scope);
	}
	free(p->rules);
	for (size_t i = 0; i < p->n_exceptions; i++) {
		free(p->exceptions[i].id);
		free(p->exceptions[i].rules);
		scope_clear(&p->exceptions[i].scope);
	}
	free(p->exceptions);
	for (size_t i = 0; i < p->n_dests; i++) {
		free(p->dests[i].name);
		free(p->dests[i].category);
		rp_strv_free(p->dests[i].hosts);
		free(p->dests[i].addrs);
		rp_strv_free(p->dests[i].approved_tenants);
	}
	free(p->dests);
	for (size_t i = 0; i < p->n_custom; i++) {
		free(p->custom[i].id);
		free(p->custom[i].regex);
		free(p->custom[i].validator);
		rp_strv_free(p->custom[i].keywords);
	}
	free(p->custom);
	free(p->name);
	free(p);
}

static int sha256_hex(const void *buf, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int rp_policy_load_buffer_ex(const char *json, size_t len, const char *origin, unsigned flags,
			     struct rp_policy **out, struct rp_diag *diag)
{
	struct json_object *root = NULL;
	struct rp_policy *p = NULL;
	int r;

	if (!json || !out)
		return -EINVAL;
	if (!origin)
		origin = "policy";
	if (len > RP_POLICY_MAX_BYTES) {
		rp_diag_addf(diag, "%s: policy is %zu bytes, more than the %u-byte limit", origin, len,
			     RP_POLICY_MAX_BYTES);
		return -EFBIG;
	}
	r = rp_json_parse(json, len, origin, &root, diag);
	if (r < 0)
		return r;

	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto cleanup;
	}
	r = sha256_hex(json, len, p->sha256);
	if (r < 0)
		goto cleanup;
	r = rp_policy_from_json(root, p, diag);
	if (r < 0)
		goto cleanup;
	if (!(flags & RP_POLICY_NO_COMPILE)) {
		r = rp_policy_compile(p, diag);
		if (r < 0)
			goto cleanup;
	}
	*out = p;
	p = NULL;
	r = 0;
cleanup:
	rp_policy_free(p);
	json_object_put(root);
	return r;
}

int rp_policy_load_buffer(const char *json, size_t len, const char *origin, struct rp_policy **out,
			  struct rp_diag *diag)
{
	return rp_policy_load_buffer_ex(json, len, origin, 0, out, diag);
}

int rp_read_file_bounded(const char *path, size_t max, char **out, size_t *out_len)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto cleanup;
	}
	/* Refuse early on the size we can see; pipes and /proc files are bounded by the loop below. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto cleanup;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	buf = malloc(cap + 1);
	if (!buf) {
		r = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap > max) {
				r = -EFBIG;
				goto cleanup;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EFBIG;
			goto cleanup;
		}
	}
	buf[len] = '\0'; /* convenience for callers handling text; len excludes it */
	*out = buf;
	*out_len = len;
	buf = NULL;
	r = 0;
cleanup:
	free(buf);
	close(fd);
	return r;
}

int rp_policy_load_file_ex(const char *path, unsigned flags, struct rp_policy **out,
			   struct rp_diag *diag)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path || !out)
		return -EINVAL;
	r = rp_read_file_bounded(path, RP_POLICY_MAX_BYTES, &buf, &len);
	if (r == -EFBIG) {
		rp_diag_addf(diag, "%s: file is larger than the %u-byte limit for a policy", path,
			     RP_POLICY_MAX_BYTES);
		return r;
	}
	if (r < 0) {
		rp_diag_addf(diag, "%s: cannot read: %s", path, strerror(-r));
		return r;
	}
	r = rp_policy_load_buffer_ex(buf, len, path, flags, out, diag);
	free(buf);
	return r;
}

int rp_policy_load_file(const char *path, struct rp_policy **out, struct rp_diag *diag)
{
	return rp_policy_load_file_ex(path, 0, out, diag);
}

const struct rp_engine *rp_policy_engine(const struct rp_policy *p)
{
	return p ? p->engine : NULL;
}

const struct rp_policy_settings *rp_policy_settings(const struct rp_policy *p)
{
	return p ? &p->settings : NULL;
}

const char *rp_policy_name(const struct rp_policy *p)
{
	return p ? p->name : NULL;
}

uint64_t rp_policy_serial(const struct rp_policy *p)
{
	return p ? p->serial : 0;
}

const char *rp_policy_sha256(const struct rp_policy *p)
{
	return p ? p->sha256 : NULL;
}

size_t rp_policy_rule_count(const struct rp_policy *p)
{
	return p ? p->n_rules : 0;
}

int rp_policy_rule_info(const struct rp_policy *p, size_t i, struct rp_rule_info *info)
{
	if (!p || !info || i >= p->n_rules)
		return -EINVAL;
	info->id = p->rules[i].id;
	info->action = p->rules[i].action;
	info->min_count = p->rules[i].min_count;
	info->message = p->rules[i].message;
	info->detectors = (const char *const *)p->rules[i].detector_ids;
	info->uninspected_tls = p->rules[i].uninspected_tls;
	return 0;
}

size_t rp_policy_destination_count(const struct rp_policy *p)
{
	return p ? p->n_dests : 0;
}

int rp_policy_destination_info(const struct rp_policy *p, size_t i, struct rp_destination_info *info)
{
	if (!p || !info || i >= p->n_dests)
		return -EINVAL;
	info->name = p->dests[i].name;
	info->category = p->dests[i].category;
	info->approved = p->dests[i].approved;
	info->hosts = (const char *const *)p->dests[i].hosts;
	return 0;
}

size_t rp_policy_exception_count(const struct rp_policy *p)
{
	return p ? p->n_exceptions : 0;
}

const char *rp_action_name(enum rp_action a)
{
	switch (a) {
	case RP_ACTION_NONE:
		return "none";
	case RP_ACTION_AUDIT:
		return "audit";
	case RP_ACTION_ALERT:
		return "alert";
	case RP_ACTION_BLOCK:
		return "block";
	case RP_ACTION_HOLD:
		return "hold";
	case RP_ACTION_KILL:
		return "kill";
	}
	return "unknown";
}

int rp_action_from_name(const char *name)
{
	static const enum rp_action all[] = {RP_ACTION_AUDIT, RP_ACTION_ALERT, RP_ACTION_BLOCK,
					     RP_ACTION_KILL, RP_ACTION_HOLD};

	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(rp_action_name(all[i]), name) == 0)
			return (int)all[i];
	return -ENOENT;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bundle envelopes: signing, opening (verify, then load), and picking one from a spool directory. */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle_internal.h"
#include "policy_internal.h"

void rp_bundle_clear(struct rp_bundle *b)
{
	if (!b)
		return;
	rp_policy_free(b->policy);
	free(b->raw);
	memset(b, 0, sizeof(*b));
}

int rp_bundle_sign(const void *policy, size_t len, const char *privkey_pem_path, char **out,
		   size_t *out_len, struct rp_diag *diag)
{
	unsigned char sig[64];
	char key_id[RP_KEY_ID_LEN];
	char *b64_policy = NULL, *b64_sig = NULL, *text = NULL;
	struct json_object *env = NULL;
	const char *s;
	int r;

	if (!policy || !privkey_pem_path || !out)
		return -EINVAL;
	if (len > RP_POLICY_MAX_BYTES) {
		rp_diag_addf(diag, "policy: larger than the %u-byte limit", RP_POLICY_MAX_BYTES);
		return -EFBIG;
	}
	r = rp_bundle_sign_raw(policy, len, privkey_pem_path, sig, key_id, diag);
	if (r < 0)
		return r;
	b64_policy = rp_base64_encode(policy, len);
	b64_sig = rp_base64_encode(sig, sizeof(sig));
	env = json_object_new_object();
	if (!b64_policy || !b64_sig || !env) {
		r = -ENOMEM;
		goto cleanup;
	}
	json_object_object_add(env, "format", json_object_new_string(RP_BUNDLE_FORMAT));
	json_object_object_add(env, "key_id", json_object_new_string(key_id));
	json_object_object_add(env, "signature", json_object_new_string(b64_sig));
	json_object_object_add(env, "policy", json_object_new_string(b64_policy));
	s = json_object_to_json_string_ext(env, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(&text, "%s\n", s) < 0) {
		text = NULL;
		r = -ENOMEM;
		goto cleanup;
	}
	*out_len = strlen(text);
	*out = text;
	r = 0;
cleanup:
	json_object_put(env);
	free(b64_policy);
	free(b64_sig);
	return r;
}

/* A bundle envelope (as opposed to a bare policy) is an object with "format". */
static bool is_envelope(struct json_object *root)
{
	return json_object_object_get_ex(root, "format", NULL);
}

static const char *env_string(struct json_object *root, const char *key, const char *origin,
			      struct rp_diag *diag)
{
	struct json_object *o;

	if (!json_object_object_get_ex(root, key, &o)) {
		rp_diag_addf(diag, "%s: bundle %s: required key is missing", origin, key);
		return NULL;
	}
	if (!json_object_is_type(o, json_type_string)) {
		rp_diag_addf(diag, "%s: bundle %s: expected a string", origin, key);
		return NULL;
	}
	return json_object_get_string(o);
}

/* Envelope -> verified policy bytes. */
static int open_envelope(struct json_object *root, const char *origin, const struct rp_keyring *keys,
			 unsigned char **policy, size_t *policy_len, char key_id[RP_KEY_ID_LEN],
			 struct rp_diag *diag)
{
	static const char *const allowed[] = {"format", "key_id", "signature", "policy", NULL};
	const char *format, *kid, *sig64, *pol64;
	unsigned char *sig = NULL, *pol = NULL;
	size_t siglen = 0, pollen = 0;
	int r;

	json_object_object_foreach(root, key, val) {
		bool ok = false;

		(void)val;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, key) == 0;
		if (!ok) {
			rp_diag_addf(diag, "%s: bundle %s: unknown key (expected one of: format, key_id, "
					   "signature, policy)",
				     origin, key);
			return -EBADMSG;
		}
	}
	format = env_string(root, "format", origin, diag);
	kid = env_string(root, "key_id", origin, diag);
	sig64 = env_string(root, "signature", origin, diag);
	pol64 = env_string(root, "policy", origin, diag);
	if (!format || !kid || !sig64 || !pol64)
		return -EBADMSG;
	if (strcmp(format, RP_BUNDLE_FORMAT) != 0) {
		rp_diag_addf(diag, "%s: bundle format: \"%.40s\" is not supported (expected %s)", origin,
			     format, RP_BUNDLE_FORMAT);
		return -EBADMSG;
	}
	if (strlen(kid) != RP_KEY_ID_LEN - 1 || strspn(kid, "0123456789abcdef") != RP_KEY_ID_LEN - 1) {
		rp_diag_addf(diag, "%s: bundle key_id: expected 64 lowercase hex digits", origin);
		return -EBADMSG;
	}
	if (rp_base64_decode(sig64, strlen(sig64), &sig, &siglen) < 0 || siglen != 64) {
		rp_diag_addf(diag, "%s: bundle signature: not the base64 of a 64-byte Ed25519 signature",
			     origin);
		r = -EBADMSG;
		goto cleanup;
	}
	r = rp_base64_decode(pol64, strlen(pol64), &pol, &pollen);
	if (r < 0) {
		rp_diag_addf(diag, "%s: bundle policy: not valid base64", origin);
		r = r == -ENOMEM ? r : -EBADMSG;
		goto cleanup;
	}
	if (pollen > RP_POLICY_MAX_BYTES) {
		rp_diag_addf(diag, "%s: bundle policy: larger than the %u-byte limit", origin,
			     RP_POLICY_MAX_BYTES);
		r = -EFBIG;
		goto cleanup;
	}
	r = rp_keyring_verify(keys, kid, sig, siglen, pol, pollen);
	if (r == -ENOKEY) {
		rp_diag_addf(diag, "%s: signed by key %s, which is not among the %zu trusted keys", origin,
			     kid, rp_keyring_count(keys));
		r = -EKEYREJECTED;
		goto cleanup;
	}
	if (r < 0) {
		rp_diag_addf(diag, "%s: the signature does not match the policy (tampered, or signed "
				   "with another key)",
			     origin);
		r = -EKEYREJECTED;
		goto cleanup;
	}
	memcpy(key_id, kid, RP_KEY_ID_LEN);
	*policy = pol;
	*policy_len = pollen;
	pol = NULL;
cleanup:
	free(sig);
	free(pol);
	return r;
}

static int open_bundle(const void *buf, size_t len, const char *origin, const struct rp_keyring *keys,
		       unsigned flags, unsigned load_flags, struct rp_bundle *out,
		       struct rp_diag *diag)
{
	struct json_object *root = NULL;
	struct rp_bundle b = {0};
	unsigned char *pol = NULL;
	size_t pollen = 0;
	int r;

	if (!buf || !out)
		return -EINVAL;
	if (!origin)
		origin = "bundle";
	snprintf(b.origin, sizeof(b.origin), "%s", origin);
	if (len > RP_BUNDLE_MAX_BYTES) {
		rp_diag_addf(diag, "%s: larger than the %u-byte limit for a bundle", origin,
			     (unsigned)RP_BUNDLE_MAX_BYTES);
		return -EFBIG;
	}
	r = rp_json_parse(buf, len, origin, &root, diag);
	if (r < 0)
		return r == -EFBIG ? r : -EBADMSG;

	if (is_envelope(root)) {
		r = open_envelope(root, origin, keys, &pol, &pollen, b.key_id, diag);
		if (r < 0)
			goto cleanup;
		b.is_signed = true;
		r = rp_policy_load_buffer_ex((const char *)pol, pollen, origin, load_flags, &b.policy,
					     diag);
	} else if (flags & RP_BUNDLE_ALLOW_UNSIGNED) {
		r = rp_policy_load_buffer_ex(buf, len, origin, load_flags, &b.policy, diag);
	} else {
		rp_diag_addf(diag, "%s: unsigned policy refused: a signed bundle is required (rempart "
				   "policy sign)",
			     origin);
		r = -EPERM;
	}
	if (r < 0)
		goto cleanup;
	b.raw = malloc(len + 1);
	if (!b.raw) {
		r = -ENOMEM;
		goto cleanup;
	}
	memcpy(b.raw, buf, len);
	b.raw[len] = '\0';
	b.raw_len = len;
	*out = b;
	memset(&b, 0, sizeof(b));
	r = 0;
cleanup:
	rp_bundle_clear(&b);
	free(pol);
	json_object_put(root);
	return r;
}

int rp_bundle_open(const void *buf, size_t len, const char *origin, const struct rp_keyring *keys,
		   unsigned flags, struct rp_bundle *out, struct rp_diag *diag)
{
	return open_bundle(buf, len, origin, keys, flags, 0, out, diag);
}

static int open_file(const char *path, const struct rp_keyring *keys, unsigned flags,
		     unsigned load_flags, struct rp_bundle *out, struct rp_diag *diag)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path)
		return -EINVAL;
	r = rp_read_file_bounded(path, RP_BUNDLE_MAX_BYTES, &buf, &len);
	if (r == -EFBIG) {
		rp_diag_addf(diag, "%s: larger than the %u-byte limit for a bundle", path,
			     (unsigned)RP_BUNDLE_MAX_BYTES);
		return r;
	}
	if (r < 0) {
		rp_diag_addf(diag, "%s: cannot read: %s", path, strerror(-r));
		return r;
	}
	r = open_bundle(buf, len, path, keys, flags, load_flags, out, diag);
	free(buf);
	return r;
}

int rp_bundle_open_file(const char *path, const struct rp_keyring *keys, unsigned flags,
			struct rp_bundle *out, struct rp_diag *diag)
{
	return open_file(path, keys, flags, 0, out, diag);
}

struct candidate {
	char *path;
	uint64_t serial;
};

static int cmp_candidates(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	/* Highest serial first; equal serials by name, so the choice is reproducible. */
	if (x->serial != y->serial)
		return x->serial < y->serial ? 1 : -1;
	return strcmp(x->path, y->path);
}

static bool spool_name_ignored(const char *name)
{
	size_t n = strlen(name);

	return name[0] == '.' || (n >= 4 && strcmp(name + n - 4, ".tmp") == 0) ||
	       (n >= 5 && strcmp(name + n - 5, ".part") == 0) || name[n - 1] == '~';
}

#define SPOOL_MAX_FILES 256

int rp_bundle_scan_dir(const char *dir, const struct rp_keyring *keys, unsigned flags,
		       uint64_t min_serial, struct rp_bundle *out, struct rp_diag *diag)
{
	struct candidate cand[SPOOL_MAX_FILES];
	struct dirent *de;
	size_t n = 0, seen = 0;
	DIR *d;
	int r = -ENOENT;

	if (!dir || !out)
		return -EINVAL;
	d = opendir(dir);
	if (!d) {
		r = -errno;
		rp_diag_addf(diag, "%s: cannot open spool directory: %s", dir, strerror(errno));
		return r;
	}
	/*
	 * Pass 1, cheap: verify signatures and validate without compiling, to learn each serial.
	 * Hyperscan compilation is the expensive part; only the winner pays for it.
	 */
	while ((de = readdir(d))) {
		struct rp_bundle b = {0};
		char path[4096];
		struct stat st;

		if (spool_name_ignored(de->d_name))
			continue;
		if (++seen > SPOOL_MAX_FILES) {
			rp_diag_addf(diag, "%s: more than %d files, the rest are ignored", dir,
				     SPOOL_MAX_FILES);
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (open_file(path, keys, flags, RP_POLICY_NO_COMPILE, &b, diag) < 0)
			continue;
		if (rp_policy_serial(b.policy) > min_serial) {
			cand[n].path = strdup(path);
			cand[n].serial = rp_policy_serial(b.policy);
			if (cand[n].path)
				n++;
		}
		rp_bundle_clear(&b);
	}
	closedir(d);

	/* Pass 2: the newest that also compiles. */
	qsort(cand, n, sizeof(cand[0]), cmp_candidates);
	for (size_t i = 0; i < n && r < 0; i++)
		if (open_file(cand[i].path, keys, flags, 0, out, diag) == 0)
			r = 0;
	for (size_t i = 0; i < n; i++)
		free(cand[i].path);
	return r;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Trusted Ed25519 public keys, key ids, and signature checks (OpenSSL EVP). */
#include <dirent.h>
#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_internal.h"
#include "policy_internal.h"

#define KEYRING_MAX 64

struct rp_keyring {
	size_t n;
	EVP_PKEY *keys[KEYRING_MAX];
	char ids[KEYRING_MAX][RP_KEY_ID_LEN];
};

struct rp_keyring *rp_keyring_new(void)
{
	return calloc(1, sizeof(struct rp_keyring));
}

void rp_keyring_free(struct rp_keyring *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		EVP_PKEY_free(k->keys[i]);
	free(k);
}

size_t rp_keyring_count(const struct rp_keyring *k)
{
	return k ? k->n : 0;
}

int rp_key_id(EVP_PKEY *pkey, char key_id[RP_KEY_ID_LEN])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len, r = 0;

	/* SubjectPublicKeyInfo: the same bytes as `openssl pkey -pubout -outform DER`. */
	len = i2d_PUBKEY(pkey, &der);
	if (len <= 0)
		return -EINVAL;
	if (!EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		r = -EIO;
	else
		for (unsigned i = 0; i < 32; i++)
			snprintf(key_id + 2 * i, 3, "%02x", md[i]);
	OPENSSL_free(der);
	return r;
}

/* Public key from a PEM file that holds either a public or a private key. */
static EVP_PKEY *read_any_key(const char *path, bool *is_private)
{
	EVP_PKEY *pkey;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	*is_private = false;
	if (!pkey) {
		rewind(f);
		/* The empty passphrase callback result refuses encrypted keys instead of prompting. */
		pkey = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
		*is_private = pkey != NULL;
	}
	fclose(f);
	return pkey;
}

int rp_key_id_of_file(const char *pem_path, char key_id[RP_KEY_ID_LEN], struct rp_diag *diag)
{
	bool priv;
	EVP_PKEY *pkey = read_any_key(pem_path, &priv);
	int r;

	if (!pkey) {
		rp_diag_addf(diag, "%s: not a PEM public or private key", pem_path);
		return -EINVAL;
	}
	r = rp_key_id(pkey, key_id);
	EVP_PKEY_free(pkey);
	return r;
}

int rp_keyring_add_file(struct rp_keyring *k, const char *path, struct rp_diag *diag)
{
	EVP_PKEY *pkey = NULL;
	bool priv = false;
	int r;

	if (!k || !path)
		return -EINVAL;
	if (k->n >= KEYRING_MAX) {
		rp_diag_addf(diag, "%s: too many trusted keys (at most %d)", path, KEYRING_MAX);
		return -E2BIG;
	}
	pkey = read_any_key(path, &priv);
	if (!pkey || priv) {
		/* A private key in the trust directory is a deployment mistake worth refusing. */
		rp_diag_addf(diag, "%s: %s", path,
			     priv ? "is a private key; only public keys belong in the keys directory"
				  : "not a PEM public key");
		r = -EINVAL;
		goto cleanup;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
		rp_diag_addf(diag, "%s: not an Ed25519 key", path);
		r = -EINVAL;
		goto cleanup;
	}
	r = rp_key_id(pkey, k->ids[k->n]);
	if (r < 0)
		goto cleanup;
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->ids[i], k->ids[k->n]) == 0) {
			r = 0; /* same key twice: harmless */
			goto cleanup;
		}
	k->keys[k->n++] = pkey;
	pkey = NULL;
	r = 0;
cleanup:
	EVP_PKEY_free(pkey);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rp_keyring_load_dir(const char *dir, struct rp_keyring **out, struct rp_diag *diag)
{
	struct rp_keyring *k = NULL;
	struct dirent *de;
	char *names[256];
	size_t n = 0;
	DIR *d;
	int r = 0;

	if (!dir || !out)
		return -EINVAL;
	d = opendir(dir);
	if (!d) {
		r = -errno;
		rp_diag_addf(diag, "%s: cannot open keys directory: %s", dir, strerror(errno));
		return r;
	}
	k = rp_keyring_new();
	if (!k) {
		r = -ENOMEM;
		goto cleanup;
	}
	while ((de = readdir(d)) && n < sizeof(names) / sizeof(names[0])) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".pem") != 0)
			continue;
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto cleanup;
		}
		n++;
	}
	/* Sorted, so which key wins a slot (and the messages) do not depend on readdir order. */
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)rp_keyring_add_file(k, path, diag); /* reported; other keys still count */
	}
	*out = k;
	k = NULL;
cleanup:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	rp_keyring_free(k);
	closedir(d);
	return r;
}

int rp_keyring_verify(const struct rp_keyring *k, const char *key_id, const unsigned char *sig,
		      size_t siglen, const void *msg, size_t len)
{
	EVP_MD_CTX *ctx;
	int ok;

	for (size_t i = 0; k && i < k->n; i++) {
		if (strcmp(k->ids[i], key_id) != 0)
			continue;
		ctx = EVP_MD_CTX_new();
		if (!ctx)
			return -ENOMEM;
		/* Ed25519 is "pure": no digest, the whole message is given at once. */
		ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->keys[i]) == 1 &&
		     EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
		EVP_MD_CTX_free(ctx);
		return ok ? 0 : -EKEYREJECTED;
	}
	return -ENOKEY;
}


int rp_bundle_sign_raw(const void *msg, size_t len, const char *privkey_pem_path,
		       unsigned char sig[64], char key_id[RP_KEY_ID_LEN], struct rp_diag *diag)
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t siglen = 64;
	bool priv = false;
	int r;

	pkey = read_any_key(privkey_pem_path, &priv);
	if (!pkey || !priv) {
		rp_diag_addf(diag, "%s: not an unencrypted PEM private key", privkey_pem_path);
		r = -EINVAL;
		goto cleanup;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
		rp_diag_addf(diag, "%s: not an Ed25519 key (make one with: openssl genpkey -algorithm "
				   "ed25519 -out key.pem)",
			     privkey_pem_path);
		r = -EINVAL;
		goto cleanup;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		r = -ENOMEM;
		goto cleanup;
	}
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != 64) {
		rp_diag_addf(diag, "%s: signing failed", privkey_pem_path);
		r = -EIO;
		goto cleanup;
	}
	r = rp_key_id(pkey, key_id);
cleanup:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return r;
}

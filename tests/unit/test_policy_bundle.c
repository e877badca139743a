/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Signed bundles: signature checks (tampering, unknown and wrong keys), unsigned policies,
 * anti-rollback, last-known-good persistence and the spool directory scan. Keys are made fresh
 * by each run with OpenSSL.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "policy.h"
#include "run_suite.h"

static char tmp[] = "/tmp/rempart-bundle-test.XXXXXX";
static char key1[512], key2[512], keydir[512], key2pub[512];

static void write_text(const char *path, const char *s, size_t len)
{
	FILE *f = fopen(path, "we");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void make_key(const char *priv_path, const char *pub_path)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f;

	ck_assert_ptr_nonnull(k);
	f = fopen(priv_path, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	f = fopen(pub_path, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
	EVP_PKEY_free(k);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void setup(void)
{
	char pub1[600];

	strcpy(tmp, "/tmp/rempart-bundle-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(keydir, sizeof(keydir), "%s/keys", tmp);
	ck_assert_int_eq(mkdir(keydir, 0700), 0);
	snprintf(key1, sizeof(key1), "%s/signer1.pem", tmp);
	snprintf(key2, sizeof(key2), "%s/signer2.pem", tmp);
	snprintf(pub1, sizeof(pub1), "%s/signer1.pem", keydir);
	snprintf(key2pub, sizeof(key2pub), "%s/signer2.pub.pem", tmp); /* not trusted */
	make_key(key1, pub1);
	make_key(key2, key2pub);
}

static void teardown(void)
{
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *policy_text(unsigned serial, const char *action)
{
	char *s = NULL;

	ck_assert_int_ge(asprintf(&s,
				  "{\"schema_version\":1,\"name\":\"fleet\",\"serial\":%u,\"rules\":"
				  "[{\"id\":\"r\",\"detectors\":[\"fr_nir\"],\"action\":\"%s\"}]}\n",
				  serial, action),
			 0);
	return s;
}

static char *sign(const char *key, unsigned serial, const char *action, size_t *len)
{
	char *pol = policy_text(serial, action), *bundle = NULL;
	struct rp_diag d = {0};

	ck_assert_int_eq(rp_bundle_sign(pol, strlen(pol), key, &bundle, len, &d), 0);
	free(pol);
	return bundle;
}

static struct rp_keyring *trusted(void)
{
	struct rp_keyring *k = NULL;
	struct rp_diag d = {0};

	ck_assert_int_eq(rp_keyring_load_dir(keydir, &k, &d), 0);
	ck_assert_uint_eq(rp_keyring_count(k), 1);
	return k;
}

/* Replace one string field of a bundle envelope. */
static char *with_field(const char *bundle, const char *key, const char *value)
{
	struct json_object *o = json_tokener_parse(bundle);
	char *out;

	ck_assert_ptr_nonnull(o);
	json_object_object_add(o, key, json_object_new_string(value));
	out = strdup(json_object_to_json_string(o));
	json_object_put(o);
	return out;
}

static char *b64(const void *data, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

static bool diag_has(const struct rp_diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->lines[i], needle))
			return true;
	return false;
}

START_TEST(test_sign_and_open)
{
	struct rp_keyring *k = trusted();
	struct rp_bundle b = {0};
	struct rp_diag d = {0};
	char kid[RP_KEY_ID_LEN];
	size_t len;
	char *bundle = sign(key1, 5, "block", &len);
	int r = rp_bundle_open(bundle, len, "b", k, 0, &b, &d);

	ck_assert_msg(r == 0, "%d %s", r, d.n ? d.lines[0] : "");
	ck_assert(b.is_signed);
	ck_assert_uint_eq(rp_policy_serial(b.policy), 5);
	ck_assert_ptr_nonnull(rp_policy_engine(b.policy));
	ck_assert_int_eq(rp_key_id_of_file(key1, kid, &d), 0);
	ck_assert_str_eq(b.key_id, kid);
	ck_assert_uint_eq(b.raw_len, len);
	ck_assert_mem_eq(b.raw, bundle, len);
	rp_bundle_clear(&b);
	rp_bundle_clear(&b); /* idempotent */
	free(bundle);
	rp_keyring_free(k);
}
END_TEST

START_TEST(test_tampered_policy_refused)
{
	struct rp_keyring *k = trusted();
	struct rp_bundle b = {0};
	struct rp_diag d = {0};
	size_t len;
	char *bundle = sign(key1, 5, "block", &len);
	char *weaker = policy_text(5, "audit"); /* the attacker's edit: block -> audit */
	char *enc = b64(weaker, strlen(weaker));
	char *tampered = with_field(bundle, "policy", enc);

	ck_assert_int_eq(rp_bundle_open(tampered, strlen(tampered), "t", k, 0, &b, &d), -EKEYREJECTED);
	ck_assert_ptr_null(b.policy);
	ck_assert(diag_has(&d, "the signature does not match the policy"));
	free(bundle);
	free(weaker);
	free(enc);
	free(tampered);
	rp_keyring_free(k);
}
END_TEST

START_TEST(test_tampered_signature_refused)
{
	struct rp_keyring *k = trusted();
	struct rp_bundle b = {0};
	struct rp_diag d = {0};
	unsigned char zero[64] = {0};
	size_t len;
	char *bundle = sign(key1, 5, "block", &len);
	char *enc = b64(zero, sizeof(zero));
	char *tampered = with_field(bundle, "signature", enc);

	ck_assert_int_eq(rp_bundle_open(tampered, strlen(tampered), "t", k, 0, &b, &d), -EKEYREJECTED);
	free(bundle);
	free(enc);
	free(tampered);
	rp_keyring_free(k);
}
END_TEST

START_TEST(test_wrong_key_refused)
{
	struct rp_keyring *k = trusted();
	struct rp_bundle b = {0};
	struct rp_diag d = {0};
	char kid1[RP_KEY_ID_LEN];
	size_t len;
	char *bundle = sign(key2, 5, "block", &len), *relabelled;

	/* Signed by an untrusted key: refused as unknown. */
	ck_assert_int_eq(rp_bundle_open(bundle, len, "w", k, 0, &b, &d), -EKEYREJECTED);
	ck_assert(diag_has(&d, "which is not among the 1 trusted keys"));

	/* Same, claiming to come from the trusted key: the signature check refuses it. */
	ck_assert_int_eq(rp_key_id_of_file(key1, kid1, &d), 0);
	relabelled = with_field(bundle, "key_id", kid1);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(rp_bundle_open(relabelled, strlen(relabelled), "w", k, 0, &b, &d),
			 -EKEYREJECTED);
	ck_assert(diag_has(&d, "the signature does not match"));

	/* Once trusted, the same bundle opens. */
	ck_assert_int_eq(rp_keyring_add_file(k, key2pub, &d), 0);
	ck_assert_int_eq(rp_bundle_open(bundle, len, "w", k, 0, &b, &d), 0);
	rp_bundle_clear(&b);
	free(bundle);
	free(relabelled);
	rp_keyring_free(k);
}
END_TEST

START_TEST(test_unsigned_policy)
{
	struct rp_keyring *k = trusted();
	struct rp_bundle b = {0};
	struct rp_diag d = {0};
	char *pol = policy_text(3, "alert");

	ck_assert_int_eq(rp_bundle_open(pol, strlen(pol), "u", k, 0, &b, &d), -EPERM);
	ck_assert(diag_has(&d, "unsigned policy refused"));
	ck_assert_int_eq(rp_bundle_open(pol, strlen(pol), "u", k, RP_BUNDLE_ALLOW_UNSIGNED, &b, &d), 0);
	ck_assert(!b.is_signed);
	ck_assert_uint_eq(rp_policy_serial(b.policy), 3);
	rp_bundle_clear(&b);
	free(pol);
	rp_keyring_free(k);
}
END_TEST

START_TEST(test_malformed_envelopes)
{
	struct rp_keyring *k = trusted();
	size_t len;
	char *bundle = sign(key1, 5, "block", &len);
	static const struct {
		const char *key, *value, *expect;
	} cases[] = {
		{"format", "rempart-bundle-9", "is not supported"},
		{"signature", "not base64!", "not the base64 of a 64-byte Ed25519 signature"},
		{"signature", "AAAA", "not the base64 of a 64-byte Ed25519 signature"},
		{"policy", "e30", "bundle policy: not valid base64"},
		{"key_id", "ABCDEF", "expected 64 lowercase hex digits"},
		{"extra", "x", "bundle extra: unknown key"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rp_bundle b = {0};
		struct rp_diag d = {0};
		char *bad = with_field(bundle, cases[i].key, cases[i].value);
		int r = rp_bundle_open(bad, strlen(bad), "m", k, 0, &b, &d);

		ck_assert_msg(r == -EBADMSG && diag_has(&d, cases[i].expect), "case %zu: %d %s", i, r,
			      d.n ? d.lines[0] : "");
		free(bad);
	}
	{
		struct rp_bundle b = {0};
		struct rp_diag d = {0};

		const char *only = "{\"format\":\"rempart-bundle-1\"}";

		ck_assert_int_eq(rp_bundle_open(only, strlen(only), "m", k, 0, &b, &d), -EBADMSG);
		ck_assert(diag_has(&d, "bundle key_id: required key is missing"));
	}
	free(bundle);
	rp_keyring_free(k);
}
END_TEST

START_TEST(test_signed_invalid_policy_refused)
{
	/* A valid signature does not make an invalid policy acceptable. */
	struct rp_keyring *k = trusted();
	struct rp_bundle b = {0};
	struct rp_diag d = {0};
	size_t len;
	char *bundle = sign(key1, 5, "blok", &len);

	ck_assert_int_eq(rp_bundle_open(bundle, len, "i", k, 0, &b, &d), -EINVAL);
	ck_assert(diag_has(&d, "rules[0].action: \"blok\" is not one of"));
	free(bundle);
	rp_keyring_free(k);
}
END_TEST

static struct rp_bundle open_signed(struct rp_keyring *k, unsigned serial, const char *action)
{
	struct rp_bundle b = {0};
	struct rp_diag d = {0};
	size_t len;
	char *bundle = sign(key1, serial, action, &len);

	ck_assert_int_eq(rp_bundle_open(bundle, len, "s", k, 0, &b, &d), 0);
	free(bundle);
	return b;
}

START_TEST(test_accept_and_rollback)
{
	struct rp_keyring *k = trusted();
	char state[600], sha[65], path[700];
	struct rp_diag d = {0};
	struct rp_bundle b5 = open_signed(k, 5, "block"), b4 = open_signed(k, 4, "block"),
			 b5b = open_signed(k, 5, "audit"), b6 = open_signed(k, 6, "block"), lkg = {0};
	uint64_t serial = 0;

	snprintf(state, sizeof(state), "%s/state", tmp);
	ck_assert_int_eq(rp_bundle_last_serial(state, &serial, NULL), -ENOENT);
	ck_assert_int_eq(rp_bundle_load_last_good(state, k, 0, &lkg, &d), -ENOENT);

	ck_assert_int_eq(rp_bundle_accept(state, &b5, &d), 0);
	ck_assert_int_eq(rp_bundle_last_serial(state, &serial, sha), 0);
	ck_assert_uint_eq(serial, 5);
	ck_assert_str_eq(sha, rp_policy_sha256(b5.policy));

	ck_assert_int_eq(rp_bundle_accept(state, &b5, &d), -EALREADY);
	ck_assert_int_eq(rp_bundle_accept(state, &b4, &d), -ESTALE); /* replayed older serial */
	ck_assert(diag_has(&d, "serial 4 is not newer than the last accepted serial 5"));
	ck_assert_int_eq(rp_bundle_accept(state, &b5b, &d), -ESTALE); /* same serial, new content */

	/* The refused ones did not touch the last-known-good. */
	ck_assert_int_eq(rp_bundle_load_last_good(state, k, 0, &lkg, &d), 0);
	ck_assert_str_eq(rp_policy_sha256(lkg.policy), rp_policy_sha256(b5.policy));
	rp_bundle_clear(&lkg);

	ck_assert_int_eq(rp_bundle_accept(state, &b6, &d), 0);
	ck_assert_int_eq(rp_bundle_load_last_good(state, k, 0, &lkg, &d), 0);
	ck_assert_uint_eq(rp_policy_serial(lkg.policy), 6);
	ck_assert_uint_eq(lkg.raw_len, b6.raw_len);
	ck_assert_mem_eq(lkg.raw, b6.raw, b6.raw_len);
	rp_bundle_clear(&lkg);

	/* No temporary files left behind. */
	snprintf(path, sizeof(path), "%s/." RP_BUNDLE_LKG_FILE ".XXXXXX", state);
	ck_assert_int_ne(access(path, F_OK), 0);

	/* A damaged state file does not reset rollback protection. */
	snprintf(path, sizeof(path), "%s/%s", state, RP_BUNDLE_STATE_FILE);
	write_text(path, "garbage\n", 8);
	ck_assert_int_eq(rp_bundle_accept(state, &b4, &d), -EBADMSG);
	ck_assert(diag_has(&d, "unreadable state"));

	/* The last-known-good is verified again at boot: untrusting the key refuses it. */
	{
		struct rp_keyring *none = rp_keyring_new();

		ck_assert_int_eq(rp_bundle_load_last_good(state, none, 0, &lkg, &d), -EKEYREJECTED);
		rp_keyring_free(none);
	}
	rp_bundle_clear(&b4);
	rp_bundle_clear(&b5);
	rp_bundle_clear(&b5b);
	rp_bundle_clear(&b6);
	rp_keyring_free(k);
}
END_TEST

static void spool_put(const char *dir, const char *name, const char *data, size_t len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_text(path, data, len);
}

START_TEST(test_spool_scan)
{
	struct rp_keyring *k = trusted();
	struct rp_bundle b = {0};
	struct rp_diag d = {0};
	char spool[600];
	size_t len;
	char *s3 = sign(key1, 3, "block", &len), *s7 = sign(key1, 7, "block", &len);
	char *s8bad = sign(key1, 8, "blok", &len), *s9untrusted = sign(key2, 9, "block", &len);
	char *s10 = sign(key1, 10, "block", &len), *weaker = policy_text(9, "audit");
	char *enc = b64(weaker, strlen(weaker)), *s9tampered = with_field(s7, "policy", enc);

	snprintf(spool, sizeof(spool), "%s/spool", tmp);
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	ck_assert_int_eq(rp_bundle_scan_dir(spool, k, 0, 0, &b, &d), -ENOENT);

	spool_put(spool, "a-3.bundle", s3, strlen(s3));
	spool_put(spool, "b-7.bundle", s7, strlen(s7));
	spool_put(spool, "c-8-invalid.bundle", s8bad, strlen(s8bad));
	spool_put(spool, "d-9-untrusted.bundle", s9untrusted, strlen(s9untrusted));
	spool_put(spool, "e-9-tampered.bundle", s9tampered, strlen(s9tampered));
	spool_put(spool, "f-10.bundle.tmp", s10, strlen(s10)); /* still being written */
	spool_put(spool, ".g-10.bundle", s10, strlen(s10));
	spool_put(spool, "h-unsigned.json", weaker, strlen(weaker));

	ck_assert_int_eq(rp_bundle_scan_dir(spool, k, 0, 0, &b, &d), 0);
	ck_assert_uint_eq(rp_policy_serial(b.policy), 7);
	ck_assert_ptr_nonnull(strstr(b.origin, "b-7.bundle"));
	ck_assert_ptr_nonnull(rp_policy_engine(b.policy));
	ck_assert(diag_has(&d, "c-8-invalid.bundle: rules[0].action") ||
		  diag_has(&d, "rules[0].action: \"blok\""));
	ck_assert(diag_has(&d, "d-9-untrusted.bundle: signed by key"));
	ck_assert(diag_has(&d, "e-9-tampered.bundle: the signature does not match"));
	ck_assert(diag_has(&d, "h-unsigned.json: unsigned policy refused"));
	rp_bundle_clear(&b);

	/* Nothing newer than what is active: nothing to do. */
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(rp_bundle_scan_dir(spool, k, 0, 7, &b, &d), -ENOENT);
	/* Development mode takes the unsigned serial 9. */
	ck_assert_int_eq(rp_bundle_scan_dir(spool, k, RP_BUNDLE_ALLOW_UNSIGNED, 7, &b, &d), 0);
	ck_assert_uint_eq(rp_policy_serial(b.policy), 9);
	ck_assert(!b.is_signed);
	rp_bundle_clear(&b);

	free(s3), free(s7), free(s8bad), free(s9untrusted), free(s10), free(weaker), free(enc);
	free(s9tampered);
	rp_keyring_free(k);
}
END_TEST

START_TEST(test_keyring_skips_bad_files)
{
	struct rp_keyring *k = NULL;
	struct rp_diag d = {0};
	char path[600];
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	FILE *f;

	snprintf(path, sizeof(path), "%s/not-a-key.pem", keydir);
	write_text(path, "hello\n", 6);
	snprintf(path, sizeof(path), "%s/private.pem", keydir);
	{
		char priv[4096];
		FILE *in = fopen(key2, "re");
		size_t n;

		ck_assert_ptr_nonnull(in);
		n = fread(priv, 1, sizeof(priv), in);
		fclose(in);
		write_text(path, priv, n);
	}
	snprintf(path, sizeof(path), "%s/rsa.pem", keydir);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(rsa);
	PEM_write_PUBKEY(f, rsa);
	fclose(f);
	EVP_PKEY_free(rsa);
	snprintf(path, sizeof(path), "%s/ignored.txt", keydir);
	write_text(path, "x", 1);

	ck_assert_int_eq(rp_keyring_load_dir(keydir, &k, &d), 0);
	ck_assert_uint_eq(rp_keyring_count(k), 1);
	ck_assert(diag_has(&d, "not-a-key.pem: not a PEM public key"));
	ck_assert(diag_has(&d, "private.pem: is a private key"));
	ck_assert(diag_has(&d, "rsa.pem: not an Ed25519 key"));
	ck_assert(!diag_has(&d, "ignored.txt"));
	rp_keyring_free(k);
	ck_assert_int_eq(rp_keyring_load_dir("/nonexistent/keys", &k, &d), -ENOENT);
}
END_TEST

START_TEST(test_sign_needs_ed25519_private_key)
{
	struct rp_diag d = {0};
	char *out = NULL;
	size_t len;

	ck_assert_int_eq(rp_bundle_sign("{}", 2, key2pub, &out, &len, &d), -EINVAL);
	ck_assert(diag_has(&d, "not an unencrypted PEM private key"));
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_fetch_refusals)
{
	/* The HTTPS happy path, ETag and 304 run against a real TLS server in test_policy_cli.sh. */
	struct rp_diag d = {0};
	char etag[RP_ETAG_MAX] = "x", *body = (char *)0x1;
	size_t len = 1;

	ck_assert_int_eq(rp_bundle_fetch("http://127.0.0.1:1/p", NULL, NULL, etag, sizeof(etag), &body,
					 &len, 1024, 1000, &d),
			 -EINVAL);
	ck_assert(diag_has(&d, "only https:// URLs are fetched"));
	ck_assert_ptr_null(body);
	ck_assert_str_eq(etag, "");
	ck_assert_int_eq(rp_bundle_fetch("https://127.0.0.1:1/p", NULL, "\"a\"\r\nX-Evil: 1", etag,
					 sizeof(etag), &body, &len, 1024, 1000, &d),
			 -EINVAL);
	ck_assert(diag_has(&d, "invalid ETag to send"));
	ck_assert_int_eq(rp_bundle_fetch("https://127.0.0.1:1/p", NULL, NULL, etag, sizeof(etag), &body,
					 &len, 0, 1000, &d),
			 -EINVAL);
	/* Nothing listens on port 1. */
	ck_assert_int_eq(rp_bundle_fetch("https://127.0.0.1:1/p", NULL, NULL, etag, sizeof(etag), &body,
					 &len, 1024, 2000, &d),
			 -ECONNREFUSED);
	ck_assert_ptr_null(body);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy-bundle");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sign_and_open);
	tcase_add_test(tc, test_tampered_policy_refused);
	tcase_add_test(tc, test_tampered_signature_refused);
	tcase_add_test(tc, test_wrong_key_refused);
	tcase_add_test(tc, test_unsigned_policy);
	tcase_add_test(tc, test_malformed_envelopes);
	tcase_add_test(tc, test_signed_invalid_policy_refused);
	tcase_add_test(tc, test_accept_and_rollback);
	tcase_add_test(tc, test_spool_scan);
	tcase_add_test(tc, test_keyring_skips_bad_files);
	tcase_add_test(tc, test_sign_needs_ed25519_private_key);
	tcase_add_test(tc, test_fetch_refusals);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Signed policy bundles: how a policy travels from the security team to the workstations.
 *
 * Format (one file, JSON, documented in policies/README.md):
 *   { "format": "rempart-bundle-1",
 *     "key_id": "<hex SHA-256 of the signer's public key, DER SubjectPublicKeyInfo>",
 *     "signature": "<base64 of the Ed25519 signature of the exact policy bytes>",
 *     "policy": "<base64 of the exact policy bytes>" }
 * The policy is carried as bytes, not as a JSON sub-object, so what was signed is exactly what is
 * verified and hashed, whatever JSON formatting the policy uses.
 *
 * Life of a bundle in the daemon:
 *   rp_bundle_open_file / rp_bundle_scan_dir / rp_bundle_fetch + rp_bundle_open
 *     -> verified (signature against trusted keys) and fully compiled, or refused with diagnostics
 *   rp_bundle_accept(state_dir)
 *     -> refused when its serial is not newer than the last accepted one (rollback), otherwise
 *        persisted atomically as the last-known-good
 *   swap bundle.policy in (take ownership: set it to NULL before rp_bundle_clear)
 * At boot: rp_bundle_load_last_good(state_dir), falling back to the bundled default.
 *
 * Library code: never logs; returns negative errno values and fills struct rp_diag.
 */
#ifndef REMPART_BUNDLE_H
#define REMPART_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RP_BUNDLE_FORMAT "rempart-bundle-1"
/* base64 of the largest policy plus room for the envelope. */
#define RP_BUNDLE_MAX_BYTES ((RP_POLICY_MAX_BYTES / 3 + 1) * 4 + 64u * 1024u)
#define RP_KEY_ID_LEN 65  /* 64 hex digits + NUL */
#define RP_ETAG_MAX 256   /* ETag buffer size for rp_bundle_fetch, NUL included */

/* File names inside the state directory given to accept/load_last_good. */
#define RP_BUNDLE_STATE_FILE "policy.state"   /* "serial sha256 name" of the last accepted policy */
#define RP_BUNDLE_LKG_FILE "policy.bundle"    /* the last accepted bundle, as received */

/* Flags */
#define RP_BUNDLE_ALLOW_UNSIGNED 0x1u /* also accept a bare policy JSON (development, tests) */

/* ---- trusted keys ---- */

struct rp_keyring;

/*
 * Load every "*.pem" file of dir as an Ed25519 public key (default dir: RP_DEFAULT_KEYS_DIR,
 * /etc/rempart/keys). Files that are not Ed25519 public keys are reported in diag and skipped.
 * An empty keyring is not an error here (rp_keyring_count() == 0): no signed bundle will verify.
 */
int rp_keyring_load_dir(const char *dir, struct rp_keyring **out, struct rp_diag *diag);
/* Add one PEM public key file. -EINVAL (diag says why) when it is not an Ed25519 public key. */
int rp_keyring_add_file(struct rp_keyring *k, const char *path, struct rp_diag *diag);
struct rp_keyring *rp_keyring_new(void);
size_t rp_keyring_count(const struct rp_keyring *k);
void rp_keyring_free(struct rp_keyring *k); /* NULL-safe */

/* Key id (hex SHA-256 of the DER public key) of a PEM file holding a public or private key. */
int rp_key_id_of_file(const char *pem_path, char key_id[RP_KEY_ID_LEN], struct rp_diag *diag);

/* ---- signing (the `rempart policy sign` side) ---- */

/*
 * Sign policy bytes with an Ed25519 private key (PEM, unencrypted) into a bundle. *out is a
 * NUL-terminated JSON envelope to free(). The caller validates the policy first.
 */
int rp_bundle_sign(const void *policy, size_t len, const char *privkey_pem_path, char **out,
		   size_t *out_len, struct rp_diag *diag);

/* ---- opening (verify + validate + compile) ---- */

struct rp_bundle {
	struct rp_policy *policy; /* compiled; take it by setting this to NULL */
	char *raw;                /* the bundle bytes as received: what accept persists */
	size_t raw_len;
	bool is_signed;
	char key_id[RP_KEY_ID_LEN]; /* signer, when signed */
	char origin[256];           /* file name or URL, for messages */
};
void rp_bundle_clear(struct rp_bundle *b); /* frees what is still owned; NULL-safe */

/*
 * Verify the envelope's signature against keys and load the policy it carries (validated and
 * compiled). With RP_BUNDLE_ALLOW_UNSIGNED, a buffer that is a bare policy is loaded as such.
 * Errors: -EBADMSG malformed envelope, -EKEYREJECTED bad signature or unknown key,
 * -EPERM unsigned refused, -EINVAL invalid policy, -EFBIG too large.
 */
int rp_bundle_open(const void *buf, size_t len, const char *origin, const struct rp_keyring *keys,
		   unsigned flags, struct rp_bundle *out, struct rp_diag *diag);
int rp_bundle_open_file(const char *path, const struct rp_keyring *keys, unsigned flags,
			struct rp_bundle *out, struct rp_diag *diag);

/*
 * Spool directory: among the regular files of dir (dot-files and names ending in ".tmp", ".part"
 * or "~" are ignored: writers still at work), open the valid bundle with the highest serial above
 * min_serial. Invalid files are reported in diag (each line starts with the file path) and
 * skipped. -ENOENT when there is none. Only the winner is compiled with Hyperscan.
 */
int rp_bundle_scan_dir(const char *dir, const struct rp_keyring *keys, unsigned flags,
		       uint64_t min_serial, struct rp_bundle *out, struct rp_diag *diag);

/* ---- anti-rollback and last-known-good ---- */

/*
 * Record b as the active policy: refuses (-ESTALE) a serial lower than the last accepted one, or
 * equal with different content; returns -EALREADY for the very same policy again (nothing to do).
 * On success writes RP_BUNDLE_LKG_FILE then RP_BUNDLE_STATE_FILE in state_dir, each atomically
 * (temporary file, fsync, rename, fsync of the directory). state_dir is created if missing.
 */
int rp_bundle_accept(const char *state_dir, const struct rp_bundle *b, struct rp_diag *diag);
/* Last accepted serial (and sha256 if given); -ENOENT when nothing was ever accepted. */
int rp_bundle_last_serial(const char *state_dir, uint64_t *serial, char sha256[65]);
/* Boot: open the last-known-good bundle again (signature re-verified against today's keys). */
int rp_bundle_load_last_good(const char *state_dir, const struct rp_keyring *keys, unsigned flags,
			     struct rp_bundle *out, struct rp_diag *diag);

/* ---- HTTPS pull ---- */

/*
 * GET url (https only, redirects to https only, at most 3). ca_file pins the CA bundle used to
 * verify the server (NULL: the system store). etag_in (may be NULL or "") is sent as
 * If-None-Match. Returns 0 with the body in *out (free()) and *out_len, 1 on 304 Not Modified
 * (*out NULL), or a negative errno: -EFBIG body over max_bytes, -ETIMEDOUT, -EPROTO unexpected
 * HTTP status, -ECONNREFUSED, -EKEYREJECTED TLS verification failed, -EIO otherwise. etag_out
 * (etag_out_size bytes, may be NULL) receives the server's ETag, or etag_in on 304, or "".
 * timeout_ms bounds the whole transfer (0: 30 s). The caller should have called
 * curl_global_init() once at start-up, before starting threads.
 */
int rp_bundle_fetch(const char *url, const char *ca_file, const char *etag_in, char *etag_out,
		    size_t etag_out_size, char **out, size_t *out_len, size_t max_bytes,
		    unsigned timeout_ms, struct rp_diag *diag);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private to the bundle code: encoding and crypto helpers shared by bundle.c, keys.c, state.c. */
#ifndef REMPART_BUNDLE_INTERNAL_H
#define REMPART_BUNDLE_INTERNAL_H

#include <openssl/evp.h>

#include "bundle.h"

char *rp_base64_encode(const void *data, size_t len);
int rp_base64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len);

/* keys.c */
int rp_key_id(EVP_PKEY *pkey, char key_id[RP_KEY_ID_LEN]);
/* 0 when sig is a valid signature of msg by the key with that id; -EKEYREJECTED otherwise,
 * -ENOKEY when no trusted key has that id. */
int rp_keyring_verify(const struct rp_keyring *k, const char *key_id, const unsigned char *sig,
		      size_t siglen, const void *msg, size_t len);

int rp_bundle_sign_raw(const void *msg, size_t len, const char *privkey_pem_path,
		       unsigned char sig[64], char key_id[RP_KEY_ID_LEN], struct rp_diag *diag);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the policy parser and validator, and for bundle envelopes: policies come
 * from the network (HTTPS pull, spool directory), so every byte sequence must be refused cleanly.
 *
 * Hyperscan compilation costs ~0.5 s per policy, so most inputs stop after validation
 * (RP_POLICY_NO_COMPILE); a deterministic sample of the valid ones goes through the full
 * rp_policy_load_buffer, engine included.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bundle.h"
#include "policy.h"

static struct rp_diag diag;

static void exercise(const struct rp_policy *p)
{
	static const uint8_t addr[4] = {10, 1, 2, 3};
	const struct rp_flow_context ctx = {
		.comm = "firefox-esr", .exe = "/usr/lib/firefox-esr/firefox-esr", .user = "alice",
		.uid = 1000, .family = AF_INET, .raddr = addr, .rport = 443,
		.host = "API.openai.com:443", .tenant = "chu.onmicrosoft.com",
	};
	uint32_t counts[RP_DET_MAX];
	struct rp_verdict v;

	for (size_t i = 0; i < RP_DET_MAX; i++)
		counts[i] = (uint32_t)(i % 3);
	rp_policy_evaluate(p, &ctx, counts, RP_DET_MAX, &v);
	rp_policy_evaluate(p, NULL, NULL, 0, &v);
	(void)rp_policy_prejudge(p, &ctx);
	(void)rp_policy_prejudge(p, NULL);
}

static uint32_t fnv1a(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_policy *p = NULL;
	struct rp_keyring *keys;
	struct rp_bundle b = {0};

	memset(&diag, 0, sizeof(diag));
	if (rp_policy_load_buffer_ex((const char *)data, size, "fuzz", RP_POLICY_NO_COMPILE, &p,
				     &diag) == 0) {
		exercise(p);
		rp_policy_free(p);
		p = NULL;
		if (fnv1a(data, size) % 256 == 0 &&
		    rp_policy_load_buffer((const char *)data, size, "fuzz", &p, &diag) == 0) {
			exercise(p);
			rp_policy_free(p);
		}
	}

	/* As a bundle: with no trusted key nothing verifies, so this never reaches compilation. */
	keys = rp_keyring_new();
	memset(&diag, 0, sizeof(diag));
	if (keys && rp_bundle_open(data, size, "fuzz", keys, 0, &b, &diag) == 0)
		abort(); /* accepting anything here would be a signature bypass */
	rp_bundle_clear(&b);
	rp_keyring_free(keys);
	return 0;
}

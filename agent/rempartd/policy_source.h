/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Central policy sources: a watched spool directory of signed bundles, an HTTPS URL, and the
 * last-known-good bundle at boot. See policy_source.c. */
#ifndef REMPARTD_POLICY_SOURCE_H
#define REMPARTD_POLICY_SOURCE_H

#define RP_SOURCE_MSG_LEN 1536 /* room for an origin and a diagnostic */

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

struct rp_policy_source_config {
	const char *keys_dir;       /* trusted Ed25519 public keys (*.pem) */
	const char *state_dir;      /* last accepted serial and last-known-good bundle */
	const char *spool_dir;      /* NULL: no spool */
	const char *url;            /* NULL: no HTTPS pull */
	const char *ca_file;        /* CA pinned for the URL; NULL: system store */
	unsigned pull_interval_s;
	bool allow_unsigned;        /* accept bare policies as bundles (explicit local setting) */
};

struct rp_policy_source;

int rp_policy_source_open(const struct rp_policy_source_config *cfg, struct rp_policy_source **out, char *err,
			  size_t errlen);
void rp_policy_source_free(struct rp_policy_source *s); /* NULL-safe */
/* The last accepted central policy, verified again; -ENOENT when there is none. */
int rp_policy_source_load_last_good(struct rp_policy_source *s, struct rp_policy **out, char *origin, size_t len);
/* File descriptors for the event loop (-1 when unused): results, spool watch, pull timer. */
void rp_policy_source_fds(const struct rp_policy_source *s, int fds[3]);
/* Look again now (SIGHUP, rempart reload): rescan the spool, pull the URL. */
void rp_policy_source_refresh(struct rp_policy_source *s);
/*
 * Handle one ready fd. Returns 1 with *policy set (to put in force; caller owns it), 0 when there
 * is nothing to do, or a negative errno when a candidate was refused (msg says why; the running
 * policy stays). msg may be set with 0 too (informational).
 */
int rp_policy_source_handle(struct rp_policy_source *s, int fd, struct rp_policy **policy, char *origin,
			    size_t origin_len, char *msg, size_t msg_len);

#endif

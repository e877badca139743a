/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Anti-rollback and last-known-good: what was accepted last is remembered on disk, written so
 * that a crash at any point leaves either the old or the new state, never a torn file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_internal.h"
#include "policy_internal.h"

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* dir/name <- buf: temporary file, fsync, rename over, fsync the directory. */
static int write_atomic(const char *dir, const char *name, const void *buf, size_t len)
{
	char tmp[4096], final[4096];
	int fd = -1, dfd = -1, r;

	if ((size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >= sizeof(final) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write_all(fd, buf, len);
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, final) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fsync(dfd) < 0)
		r = -errno;
	close(dfd);
	return r;
}

int rp_bundle_last_serial(const char *state_dir, uint64_t *serial, char sha256[65])
{
	char path[4096], *buf = NULL, sha[65];
	size_t len;
	uint64_t s;
	int r;

	if (!state_dir || !serial)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", state_dir, RP_BUNDLE_STATE_FILE);
	r = rp_read_file_bounded(path, 4096, &buf, &len);
	if (r < 0)
		return r;
	if (sscanf(buf, "%" SCNu64 " %64[0-9a-f]", &s, sha) != 2 || strlen(sha) != 64) {
		free(buf);
		return -EBADMSG;
	}
	free(buf);
	*serial = s;
	if (sha256)
		memcpy(sha256, sha, 65);
	return 0;
}

int rp_bundle_accept(const char *state_dir, const struct rp_bundle *b, struct rp_diag *diag)
{
	char line[512], last_sha[65];
	uint64_t last = 0, serial;
	int lock = -1, r;
	char lockpath[4096];

	if (!state_dir || !b || !b->policy || !b->raw)
		return -EINVAL;
	if (mkdir(state_dir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		rp_diag_addf(diag, "%s: cannot create state directory: %s", state_dir, strerror(errno));
		return r;
	}
	/* Serialize accepts (daemon and a concurrent CLI) so the check and the write go together. */
	snprintf(lockpath, sizeof(lockpath), "%s/.lock", state_dir);
	lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		r = -errno;
		rp_diag_addf(diag, "%s: cannot lock state: %s", state_dir, strerror(errno));
		goto cleanup;
	}

	serial = rp_policy_serial(b->policy);
	r = rp_bundle_last_serial(state_dir, &last, last_sha);
	if (r < 0 && r != -ENOENT) {
		/* A damaged state must not reset the rollback protection to zero. */
		rp_diag_addf(diag, "%s/%s: unreadable state (%s); refusing to accept anything until it is "
				   "repaired or removed",
			     state_dir, RP_BUNDLE_STATE_FILE, strerror(-r));
		goto cleanup;
	}
	if (r == 0 && serial == last && strcmp(last_sha, rp_policy_sha256(b->policy)) == 0) {
		r = -EALREADY;
		goto cleanup;
	}
	if (r == 0 && serial <= last) {
		rp_diag_addf(diag, "%s: serial %" PRIu64 " is not newer than the last accepted serial %" PRIu64
				   " (rollback refused)",
			     b->origin, serial, last);
		r = -ESTALE;
		goto cleanup;
	}

	/* Bundle first: a crash before the state update only means the same bundle is accepted again. */
	r = write_atomic(state_dir, RP_BUNDLE_LKG_FILE, b->raw, b->raw_len);
	if (r < 0) {
		rp_diag_addf(diag, "%s/%s: cannot write: %s", state_dir, RP_BUNDLE_LKG_FILE, strerror(-r));
		goto cleanup;
	}
	snprintf(line, sizeof(line), "%" PRIu64 " %s %s\n", serial, rp_policy_sha256(b->policy),
		 rp_policy_name(b->policy));
	r = write_atomic(state_dir, RP_BUNDLE_STATE_FILE, line, strlen(line));
	if (r < 0)
		rp_diag_addf(diag, "%s/%s: cannot write: %s", state_dir, RP_BUNDLE_STATE_FILE,
			     strerror(-r));
cleanup:
	if (lock >= 0)
		close(lock);
	return r;
}

int rp_bundle_load_last_good(const char *state_dir, const struct rp_keyring *keys, unsigned flags,
			     struct rp_bundle *out, struct rp_diag *diag)
{
	char path[4096];

	if (!state_dir || !out)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", state_dir, RP_BUNDLE_LKG_FILE);
	if (access(path, F_OK) < 0)
		return -errno;
	return rp_bundle_open_file(path, keys, flags, out, diag);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mount the pseudo-filesystems BPF needs when a fresh machine has not: tracefs (tracepoint ids)
 * and bpffs (pinned objects). A failure is only an error if the filesystem is really missing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "daemon.h"

static int ensure_mount(const char *dir, const char *type, unsigned long magic, char *err, size_t errlen)
{
	struct statfs sfs;

	if (statfs(dir, &sfs) == 0 && (unsigned long)sfs.f_type == magic)
		return 0;
	(void)mkdir(dir, 0700);
	if (mount(type, dir, type, 0, NULL) < 0) {
		int r = -errno;
		snprintf(err, errlen, "cannot mount %s on %s: %s", type, dir, strerror(-r));
		return r;
	}
	return 1;
}

int rp_ensure_mounts(char *err, size_t errlen)
{
	int r;

	r = ensure_mount("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC, err, errlen);
	if (r < 0)
		return r;
	r = ensure_mount("/sys/fs/bpf", "bpf", BPF_FS_MAGIC, err, errlen);
	if (r < 0)
		return r;
	return 0;
}

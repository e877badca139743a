/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What userspace adds to a flow's identity: executable path and user name. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

int rp_proc_exe(pid_t pid, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	if (len == 0)
		return -EINVAL;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, buf, len - 1);
	if (n < 0) {
		buf[0] = '\0';
		return -errno;
	}
	buf[n] = '\0';
	return 0;
}

int rp_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];
	int r;

	r = getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res);
	if (r != 0 || !res) {
		snprintf(buf, len, "%u", (unsigned)uid);
		return r ? -r : -ENOENT;
	}
	snprintf(buf, len, "%s", res->pw_name);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Find the TLS code worth hooking: the libraries installed in the usual directories, the ones
 * running processes actually mapped (copies bundled under an application's own directory), and
 * executables that embed a TLS library (reported as candidates; the caller checks their symbols).
 * The caller de-duplicates by (device, inode): /lib and /usr/lib are often the same files.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

static const char *const lib_dirs[] = {
	"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
	"/lib/aarch64-linux-gnu",    "/usr/lib64",            "/lib64",
	"/usr/lib",                  "/lib",                  "/usr/local/lib",
};

/* Sonames by library family. Versioned names only: the unversioned .so is a -dev symlink, except
 * for NSPR whose soname has no version. */
static const struct {
	const char *soname;
	enum rp_tls_kind kind;
} known[] = {
	{"libssl.so.3", RP_TLS_OPENSSL},
	{"libssl.so.1.1", RP_TLS_OPENSSL},
	{"libgnutls.so.30", RP_TLS_GNUTLS},
	{"libnspr4.so", RP_TLS_NSPR},
};

static int classify(const char *base, enum rp_tls_kind *kind)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t n = strlen(known[i].soname);
		/* Exact soname, or soname plus a minor suffix (libssl.so.1.1.1w). */
		if (strncmp(base, known[i].soname, n) == 0 && (base[n] == '\0' || base[n] == '.')) {
			*kind = known[i].kind;
			return 1;
		}
	}
	return 0;
}

static int report(const char *path, enum rp_tls_kind kind, rp_tls_found_fn fn, void *u)
{
	struct rp_tls_object o = {.kind = kind};
	struct stat st;
	char real[PATH_MAX];

	/* Attach by the resolved file: symlinks and /lib vs /usr/lib resolve to one inode. */
	if (!realpath(path, real) || stat(real, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (strlen(real) >= sizeof(o.path))
		return 0;
	strcpy(o.path, real);
	o.dev = st.st_dev;
	o.ino = st.st_ino;
	return fn(&o, u);
}

static int scan_dirs(rp_tls_found_fn fn, void *u)
{
	for (size_t i = 0; i < sizeof(lib_dirs) / sizeof(lib_dirs[0]); i++) {
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
			char path[PATH_MAX];
			int r;
			snprintf(path, sizeof(path), "%s/%s", lib_dirs[i], known[k].soname);
			r = report(path, known[k].kind, fn, u);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int rp_tls_scan_pid(pid_t pid, rp_tls_found_fn fn, void *u)
{
	char path[64], exe[PATH_MAX], line[4608];
	FILE *f;
	int r = 0;
	ssize_t n;

	/* The executable itself may embed a TLS library (node exports OpenSSL's SSL_write). */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		r = report(exe, RP_TLS_CANDIDATE_EXE, fn, u);
		if (r < 0)
			return r;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0; /* the process went away, or is not ours to read */
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/');
		char *nl, *base;
		enum rp_tls_kind kind;

		if (!file)
			continue;
		nl = strchr(file, '\n');
		if (nl)
			*nl = '\0';
		base = strrchr(file, '/') + 1;
		if (!classify(base, &kind))
			continue;
		r = report(file, kind, fn, u);
		if (r < 0)
			break;
	}
	fclose(f);
	return r;
}

int rp_tls_libs_scan(rp_tls_found_fn fn, void *u)
{
	DIR *proc;
	struct dirent *de;
	int r;

	r = scan_dirs(fn, u);
	if (r < 0)
		return r;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((de = readdir(proc))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		r = rp_tls_scan_pid((pid_t)atoi(de->d_name), fn, u);
		if (r < 0)
			break;
	}
	closedir(proc);
	return r < 0 ? r : 0;
}

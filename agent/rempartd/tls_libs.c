/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Find the TLS code worth hooking: the libraries installed in the usual directories, the ones
 * running processes actually mapped (copies bundled under an application's own directory), and
 * executables that embed a TLS library (reported as candidates; the caller checks their symbols):
 * the installed programs at start-up, any other at its exec.
 * The caller de-duplicates by (device, inode): /lib and /usr/lib are often the same files.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
	/* glibc's dynamic loader: hooked to learn when a process loads a library (dlopen). */
	{"ld-linux-x86-64.so.2", RP_TLS_LOADER},
	{"ld-linux-aarch64.so.1", RP_TLS_LOADER},
};

static int classify_soname(const char *base, enum rp_tls_kind *kind)
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

/* Python wheels repaired by auditwheel bundle the libraries they need renamed with a hash of
 * their content (libssl-1b2c3d4e.so.3, libgnutls-9a8b7c6d.so.30): the name without it. */
#define WHEEL_HASH_MIN 8

static int classify(const char *base, enum rp_tls_kind *kind)
{
	const char *dash, *so;
	char plain[NAME_MAX + 1];
	size_t stem;

	if (classify_soname(base, kind))
		return 1;
	dash = strchr(base, '-');
	so = dash ? strstr(dash, ".so.") : NULL;
	if (!so || (size_t)(so - dash - 1) < WHEEL_HASH_MIN)
		return 0;
	for (const char *p = dash + 1; p < so; p++)
		if (!isxdigit((unsigned char)*p))
			return 0;
	stem = (size_t)(dash - base);
	if (stem + strlen(so) >= sizeof(plain))
		return 0;
	memcpy(plain, base, stem);
	strcpy(plain + stem, so);
	return classify_soname(plain, kind);
}

/* The regular file at path, taken as it is. Also for a file named through /proc/PID/root (see
 * report_mapped): resolving that further would leave the process's namespace (the magic link
 * reads as "/"); the kernel follows it when the probes are attached, which then hold the file. */
static int report_as_is(const char *path, enum rp_tls_kind kind, rp_tls_found_fn fn, void *u)
{
	struct rp_tls_object o = {.kind = kind};
	struct stat st;

	if (strlen(path) >= sizeof(o.path) || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	strcpy(o.path, path);
	o.dev = st.st_dev;
	o.ino = st.st_ino;
	o.ctime = st.st_ctim;
	return fn(&o, u);
}

static int report(const char *path, enum rp_tls_kind kind, rp_tls_found_fn fn, void *u)
{
	char real[PATH_MAX];

	/* Attach by the resolved file: symlinks and /lib vs /usr/lib resolve to one inode. */
	if (!realpath(path, real))
		return 0;
	return report_as_is(real, kind, fn, u);
}

/*
 * A file a process maps (path as it sees it, inode as the kernel says): by that path when the same
 * path here is that file (the usual case), else through the process's own root: it may live in
 * another mount namespace (a container, a Flatpak or snap application) or behind a mount the
 * agent does not see (the service's private /tmp hides the /tmp where PyInstaller programs unpack
 * their libraries). Inode numbers only: device numbers differ between maps and stat on overlayfs.
 */
static int report_mapped(pid_t pid, const char *file, ino_t ino, enum rp_tls_kind kind, rp_tls_found_fn fn, void *u)
{
	char in_ns[PATH_MAX];
	struct stat st;

	if (ino == 0 || (stat(file, &st) == 0 && st.st_ino == ino))
		return report(file, kind, fn, u);
	if (snprintf(in_ns, sizeof(in_ns), "/proc/%d/root%s", (int)pid, file) >= (int)sizeof(in_ns))
		return 0;
	if (stat(in_ns, &st) < 0 || st.st_ino != ino)
		return 0;
	return report_as_is(in_ns, kind, fn, u);
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

/*
 * Installed programs. A program that embeds its TLS (node, Go programs: gh, rclone, AI command-line
 * tools) is otherwise hooked at its exec, while it already runs: its first run after the agent
 * starts could send before its probes are in. Hooking the installed ones at start-up reads those
 * first runs from the first byte. Home directories are left to the exec path: scanning users'
 * files at every start is not worth its cost. Bounded in depth and count.
 */
static const struct rp_scan_root exe_dirs[] = {
	{"/usr/bin", 0},   {"/usr/sbin", 0}, {"/usr/local/bin", 0}, {"/usr/local/sbin", 0},
	{"/usr/local/lib", 3}, /* npm's global packages, language toolchains */
	{"/opt", 4},           /* vendors' applications */
};
#define MAX_EXE_FILES 20000

#define MAX_EXE_DEPTH 4

/* A walk of exe_dirs that can stop anywhere and resume: the agent examines installed programs a
 * few at a time between events (reading a large program's symbols cold takes tens of ms). */
struct rp_program_scan {
	const struct rp_scan_root *roots;
	size_t n_roots;
	size_t next_root; /* the root to open when the stack is empty */
	unsigned top;     /* directories open */
	struct {
		DIR *d;
		unsigned depth; /* levels still allowed below this one */
		char path[PATH_MAX];
	} stack[MAX_EXE_DEPTH + 1];
	unsigned visited;
	unsigned reported;
};

/* An ELF file with an execute bit, worth asking its symbols (the caller reads them). */
static bool is_elf_program(int dirfd, const char *name)
{
	unsigned char magic[4];
	struct stat st;
	bool ok;
	int fd;

	/* Symbolic links are followed for files (/usr/bin/node -> nodejs); report() resolves them. */
	if (fstatat(dirfd, name, &st, 0) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111) ||
	    st.st_size < (off_t)sizeof(magic))
		return false;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return false;
	ok = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) && memcmp(magic, "\x7f" "ELF", 4) == 0;
	close(fd);
	return ok;
}

static void scan_push(struct rp_program_scan *s, const char *path, unsigned depth)
{
	DIR *d;

	if (s->top > MAX_EXE_DEPTH || strlen(path) >= sizeof(s->stack[0].path))
		return;
	if (depth > MAX_EXE_DEPTH - s->top) /* the stack holds MAX_EXE_DEPTH + 1 levels */
		depth = MAX_EXE_DEPTH - s->top;
	d = opendir(path);
	if (!d)
		return; /* absent, or not ours to read */
	s->stack[s->top].d = d;
	s->stack[s->top].depth = depth;
	strcpy(s->stack[s->top].path, path);
	s->top++;
}

static void scan_pop(struct rp_program_scan *s)
{
	closedir(s->stack[--s->top].d);
}

int rp_program_scan_new(struct rp_program_scan **out, const struct rp_scan_root *roots, size_t n_roots)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->roots = roots ? roots : exe_dirs;
	(*out)->n_roots = roots ? n_roots : sizeof(exe_dirs) / sizeof(exe_dirs[0]);
	return 0;
}

void rp_program_scan_free(struct rp_program_scan *s)
{
	if (!s)
		return;
	while (s->top)
		scan_pop(s);
	free(s);
}

unsigned rp_program_scan_reported(const struct rp_program_scan *s)
{
	return s ? s->reported : 0;
}

int rp_program_scan_step(struct rp_program_scan *s, uint64_t deadline_ns, rp_tls_found_fn fn, void *u)
{
	const unsigned first = s->visited;

	while (s->visited < MAX_EXE_FILES) {
		enum rp_tls_kind kind;
		struct dirent *de;
		char path[PATH_MAX];
		struct stat st;
		DIR *d;
		int r;

		if (s->top == 0) {
			if (s->next_root == s->n_roots)
				return 0;
			scan_push(s, s->roots[s->next_root].dir, s->roots[s->next_root].depth);
			s->next_root++;
			continue;
		}
		/* Before every entry, reported or not (a directory of data files costs a stat each);
		 * one entry at least per step. */
		if (s->visited != first && rp_monotonic_ns() >= deadline_ns)
			return 1;
		d = s->stack[s->top - 1].d;
		de = readdir(d);
		if (!de) {
			scan_pop(s);
			continue;
		}
		if (de->d_name[0] == '.')
			continue;
		s->visited++;
		if (snprintf(path, sizeof(path), "%s/%s", s->stack[s->top - 1].path, de->d_name) >= (int)sizeof(path))
			continue;
		/* Directories are entered only when real (a link could lead anywhere, or in a circle). */
		if ((de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			if (s->stack[s->top - 1].depth > 0)
				scan_push(s, path, s->stack[s->top - 1].depth - 1);
			continue;
		}
		/* A TLS library bundled with an application (Firefox or Thunderbird unpacked in /opt):
		 * hooked now rather than when the application first maps it. */
		if (classify(de->d_name, &kind)) {
			if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
				continue;
		} else if (is_elf_program(dirfd(d), de->d_name)) {
			kind = RP_TLS_CANDIDATE_EXE;
		} else {
			continue;
		}
		s->reported++;
		r = report(path, kind, fn, u);
		if (r < 0)
			return r;
	}
	return 0;
}

int rp_tls_scan_pid(pid_t pid, rp_tls_found_fn fn, void *u)
{
	char path[64], exe[PATH_MAX], line[4608];
	struct stat st;
	FILE *f;
	int r = 0;
	ssize_t n;

	/* The executable itself may embed a TLS library (node exports OpenSSL's SSL_write); the
	 * link names it by its path in the process's namespace, the link itself reaches it. */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0 && stat(path, &st) == 0) {
		exe[n] = '\0';
		r = report_mapped(pid, exe, st.st_ino, RP_TLS_CANDIDATE_EXE, fn, u);
		if (r < 0)
			return r;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0; /* the process went away, or is not ours to read */
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/');
		unsigned long ino = 0;
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
		/* address perms offset dev inode path */
		if (sscanf(line, "%*s %*s %*s %*s %lu", &ino) != 1)
			ino = 0;
		r = report_mapped(pid, file, (ino_t)ino, kind, fn, u);
		if (r < 0)
			break;
	}
	fclose(f);
	return r;
}

/* Calls fn for every process in /proc until it returns a negative errno, which is returned. */
static int each_process(int (*fn)(pid_t pid, void *u), void *u)
{
	struct dirent *de;
	DIR *proc;
	int r = 0;

	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (r >= 0 && (de = readdir(proc)))
		if (isdigit((unsigned char)de->d_name[0]))
			r = fn((pid_t)atoi(de->d_name), u);
	closedir(proc);
	return r < 0 ? r : 0;
}

struct mapped_ctx {
	const ino_t *inos;
	bool *mapped;
	size_t n;
};

static int mark_mapped_by(pid_t pid, void *u)
{
	struct mapped_ctx *m = u;
	char path[64], line[4608];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long ino;
		/* address perms offset dev inode path */
		if (sscanf(line, "%*s %*s %*s %*s %llu", &ino) != 1 || ino == 0)
			continue;
		for (size_t i = 0; i < m->n; i++)
			if ((unsigned long long)m->inos[i] == ino)
				m->mapped[i] = true;
	}
	fclose(f);
	return 0;
}

/* Whether any process maps a file with one of these inode numbers. The device is not compared:
 * /proc/PID/maps and stat() name it differently on overlayfs and btrfs, and a false "mapped"
 * only keeps probes a while longer. */
void rp_tls_mark_mapped(const ino_t *inos, bool *mapped, size_t n)
{
	struct mapped_ctx m = {.inos = inos, .mapped = mapped, .n = n};

	if (each_process(mark_mapped_by, &m) < 0)
		for (size_t i = 0; i < n; i++)
			mapped[i] = true; /* cannot tell: keep them */
}

struct scan_pid_ctx {
	rp_tls_found_fn fn;
	void *u;
};

static int scan_pid_cb(pid_t pid, void *u)
{
	struct scan_pid_ctx *c = u;

	return rp_tls_scan_pid(pid, c->fn, c->u);
}

int rp_tls_libs_scan(rp_tls_found_fn fn, void *u)
{
	struct scan_pid_ctx c = {.fn = fn, .u = u};
	int r;

	r = scan_dirs(fn, u);
	if (r < 0)
		return r;
	return each_process(scan_pid_cb, &c);
}

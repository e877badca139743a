/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The walk over installed programs (tls_libs.c): every ELF file with an execute bit is reported
 * once, however the walk is cut into slices, and so is a TLS library bundled there (by its soname,
 * with its kind); the depth bound holds; links to directories are not entered (they could lead
 * anywhere, or in a circle); other files are not reported.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "run_suite.h"

static char root[64];

static void put_file(const char *rel, const char *content, size_t len, mode_t mode)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	chmod(path, mode);
}

static void put_dir(const char *rel)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* A tree: ELF programs at depths 0 to 3, a non-executable ELF, an executable script, a link to
 * a program (reported: its target is a program) and a link back to the root (not entered). */
static void make_tree(void)
{
	static const char elf[] = "\x7f" "ELF\x02\x01\x01";
	char path[128], target[128];

	snprintf(root, sizeof(root), "/tmp/rempart-scan.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	put_file("prog0", elf, sizeof(elf), 0755);
	put_file("lib.so", elf, sizeof(elf), 0644);
	put_file("script.sh", "#!/bin/sh\n", 10, 0755);
	put_file("tiny", "\x7f", 1, 0755);
	put_dir("a");
	put_file("a/prog1", elf, sizeof(elf), 0755);
	put_dir("a/b");
	put_file("a/b/prog2", elf, sizeof(elf), 0700);
	put_dir("a/b/c");
	put_file("a/b/c/prog3", elf, sizeof(elf), 0755);
	put_file("a/libnspr4.so", elf, sizeof(elf), 0644); /* as in a Firefox tarball */
	put_file("a/libssl-1b2c3d4e.so.3", elf, sizeof(elf), 0644); /* as in a Python wheel */
	put_file("a/libssl-notahash.so.3", elf, sizeof(elf), 0644);  /* not a wheel's: not TLS */
	snprintf(path, sizeof(path), "%s/loop", root);
	ck_assert_int_eq(symlink(root, path), 0);
	snprintf(path, sizeof(path), "%s/link-to-prog1", root);
	snprintf(target, sizeof(target), "%s/a/prog1", root);
	ck_assert_int_eq(symlink(target, path), 0);
}

static void remove_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

struct seen {
	char names[16][64];
	unsigned n;
};

static int on_found(const struct rp_tls_object *o, void *u)
{
	struct seen *s = u;
	const char *base = strrchr(o->path, '/');

	ck_assert_int_eq(o->kind, strstr(o->path, "libnspr4")	   ? RP_TLS_NSPR
				  : strstr(o->path, "libssl-") ? RP_TLS_OPENSSL
							       : RP_TLS_CANDIDATE_EXE);
	ck_assert_uint_lt(s->n, 16);
	base = base ? base + 1 : o->path;
	ck_assert_uint_lt(strlen(base), sizeof(s->names[0]));
	strcpy(s->names[s->n++], base);
	return 0;
}

static unsigned count(const struct seen *s, const char *name)
{
	unsigned k = 0;

	for (unsigned i = 0; i < s->n; i++)
		k += strcmp(s->names[i], name) == 0;
	return k;
}

/* Walk to the end; deadline 0 makes every step stop after its first entry. */
static unsigned walk(unsigned depth, uint64_t deadline, struct seen *s)
{
	const struct rp_scan_root roots[] = {{root, depth}, {"/nonexistent/rempart", 2}};
	struct rp_program_scan *scan;
	unsigned steps = 0;
	int r;

	ck_assert_int_eq(rp_program_scan_new(&scan, roots, 2), 0);
	do {
		r = rp_program_scan_step(scan, deadline, on_found, s);
		ck_assert_int_ge(r, 0);
		ck_assert_uint_lt(++steps, 100);
	} while (r > 0);
	ck_assert_uint_eq(rp_program_scan_reported(scan), s->n);
	rp_program_scan_free(scan);
	return steps;
}

START_TEST(all_programs_once_in_slices)
{
	struct seen s = {0};
	unsigned steps;

	make_tree();
	steps = walk(3, 0, &s);
	/* prog1 twice: by its own name and through the link (the caller de-duplicates by inode) */
	ck_assert_uint_eq(s.n, 7);
	ck_assert_uint_eq(count(&s, "libnspr4.so"), 1);
	ck_assert_uint_eq(count(&s, "libssl-1b2c3d4e.so.3"), 1);
	ck_assert_uint_eq(count(&s, "libssl-notahash.so.3"), 0);
	ck_assert_uint_eq(count(&s, "prog0") + count(&s, "prog2") + count(&s, "prog3"), 3);
	ck_assert_uint_eq(count(&s, "prog1"), 2); /* report() names the resolved file */
	ck_assert_uint_ge(steps, 10);             /* one entry per slice, then the end */
	remove_tree();
}
END_TEST

START_TEST(one_slice_when_time_allows)
{
	struct seen s = {0};

	make_tree();
	ck_assert_uint_eq(walk(3, UINT64_MAX, &s), 1);
	ck_assert_uint_eq(s.n, 7);
	remove_tree();
}
END_TEST

START_TEST(depth_bound)
{
	struct seen s = {0};

	make_tree();
	walk(1, UINT64_MAX, &s);
	ck_assert_uint_eq(count(&s, "prog0"), 1);
	ck_assert_uint_eq(count(&s, "prog1"), 2);
	ck_assert_uint_eq(count(&s, "prog2") + count(&s, "prog3"), 0);
	remove_tree();
}
END_TEST

START_TEST(free_mid_walk)
{
	const struct rp_scan_root roots[] = {{root, 3}};
	struct rp_program_scan *scan;
	struct seen s = {0};

	make_tree();
	ck_assert_int_eq(rp_program_scan_new(&scan, roots, 1), 0);
	ck_assert_int_eq(rp_program_scan_step(scan, 0, on_found, &s), 1);
	rp_program_scan_free(scan); /* directories still open: closed, no leak under ASan */
	rp_program_scan_free(NULL);
	remove_tree();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("program_scan");
	TCase *tc = tcase_create("walk");

	tcase_add_test(tc, all_programs_once_in_slices);
	tcase_add_test(tc, one_slice_when_time_allows);
	tcase_add_test(tc, depth_bound);
	tcase_add_test(tc, free_mid_walk);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

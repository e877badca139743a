/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every tests/policies/malformed/NAME.json must be refused, and every line of NAME.expect must
 * appear in the diagnostics: the messages are part of the contract with policy authors. Inputs
 * too big or too odd to commit (100 MB, invalid UTF-8) are generated here.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "run_suite.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static bool diag_has(const struct rp_diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->lines[i], needle))
			return true;
	return false;
}

static void dump(const char *name, const struct rp_diag *d)
{
	fprintf(stderr, "%s: got %zu diagnostics:\n", name, d->n);
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  %s\n", d->lines[i]);
}

START_TEST(test_malformed_fixtures)
{
	char dir[2048];
	struct dirent *de;
	unsigned checked = 0, failures = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/policies/malformed", getenv("REMPART_SOURCE_DIR"));
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char path[4096], expect_path[4096], *expect, *line, *save = NULL;
		struct rp_diag diag = {0};
		struct rp_policy *p = NULL;
		int r;

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(expect_path, sizeof(expect_path), "%s/%.*s.expect", dir, (int)(len - 5),
			 de->d_name);
		ck_assert_msg(access(expect_path, R_OK) == 0, "%s has no .expect file", de->d_name);

		r = rp_policy_load_file(path, &p, &diag);
		if (r >= 0 || p != NULL) {
			fprintf(stderr, "%s: accepted, should be refused\n", de->d_name);
			failures++;
			rp_policy_free(p);
			continue;
		}
		if (diag.n == 0) {
			fprintf(stderr, "%s: refused without a diagnostic\n", de->d_name);
			failures++;
		}
		expect = slurp(expect_path);
		for (line = strtok_r(expect, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (!diag_has(&diag, line)) {
				fprintf(stderr, "%s: missing expected message \"%s\"\n", de->d_name, line);
				dump(de->d_name, &diag);
				failures++;
			}
		}
		free(expect);
		checked++;
	}
	closedir(d);
	ck_assert_uint_eq(failures, 0);
	ck_assert_uint_ge(checked, 30);
}
END_TEST

START_TEST(test_errors_are_collected)
{
	/* Several independent mistakes in one file are all reported in one pass. */
	const char *json = "{\"schema_version\":1,\"name\":\"x\",\"serial\":1,\"bogus\":1,"
			   "\"settings\":{\"fail_mode\":\"ajar\",\"hold_timeout_ms\":5},"
			   "\"rules\":[{\"id\":\"a\",\"detectors\":[\"nope\"],\"action\":\"blok\"},"
			   "{\"id\":\"a\",\"detectors\":[\"fr_nir\"],\"action\":\"alert\",\"min_count\":-3}]}";
	struct rp_diag d = {0};
	struct rp_policy *p = NULL;

	ck_assert_int_eq(rp_policy_load_buffer(json, strlen(json), "inline", &p, &d), -EINVAL);
	ck_assert_ptr_null(p);
	ck_assert(diag_has(&d, "bogus: unknown key"));
	ck_assert(diag_has(&d, "settings.fail_mode: \"ajar\" is not one of open, closed"));
	ck_assert(diag_has(&d, "settings.hold_timeout_ms: 5 is out of range (10 to 60000)"));
	ck_assert(diag_has(&d, "rules[0].detectors[0]: unknown detector id \"nope\""));
	ck_assert(diag_has(&d, "rules[0].action: \"blok\" is not one of audit, alert, block, kill, hold"));
	ck_assert(diag_has(&d, "rules[1].id: duplicate rule id \"a\" (also rules[0])"));
	ck_assert(diag_has(&d, "rules[1].min_count: -3 is out of range"));
	ck_assert_uint_eq(d.n, 7);
}
END_TEST

START_TEST(test_diag_overflow_is_counted)
{
	/* 100 rules with a bad action: 64 lines kept, the rest counted. */
	size_t cap = 200000, o = 0;
	char *json = malloc(cap);
	struct rp_diag *d = calloc(1, sizeof(*d));
	struct rp_policy *p = NULL;

	ck_assert_ptr_nonnull(json);
	o += (size_t)snprintf(json + o, cap - o, "{\"schema_version\":1,\"name\":\"x\",\"serial\":1,\"rules\":[");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(json + o, cap - o,
				      "%s{\"id\":\"r%d\",\"detectors\":[\"fr_nir\"],\"action\":\"nope\"}",
				      i ? "," : "", i);
	o += (size_t)snprintf(json + o, cap - o, "]}");
	ck_assert_int_eq(rp_policy_load_buffer(json, o, "inline", &p, d), -EINVAL);
	ck_assert_uint_eq(d->n, RP_DIAG_MAX);
	ck_assert_uint_eq(d->dropped, 100 - RP_DIAG_MAX);
	free(json);
	free(d);
}
END_TEST

START_TEST(test_huge_file_refused_without_reading)
{
	char path[] = "/tmp/rempart-policy-huge.XXXXXX";
	struct rp_diag d = {0};
	struct rp_policy *p = NULL;
	struct rlimit old, lim;
	int fd = mkstemp(path), r;

	ck_assert_int_ge(fd, 0);
	/* 100 MB: sparse, so the test is cheap; a loader that slurps would hit the limit below. */
	ck_assert_int_eq(ftruncate(fd, 100 * 1024 * 1024), 0);
	ck_assert_int_eq(pwrite(fd, "{", 1, 0), 1);
	close(fd);
	getrlimit(RLIMIT_AS, &old);
	lim = old;
	if (old.rlim_cur == RLIM_INFINITY || old.rlim_cur > 2048ul * 1024 * 1024)
		lim.rlim_cur = 2048ul * 1024 * 1024; /* generous, but far from infinite */
	setrlimit(RLIMIT_AS, &lim);
	r = rp_policy_load_file(path, &p, &d);
	setrlimit(RLIMIT_AS, &old);
	unlink(path);
	ck_assert_int_eq(r, -EFBIG);
	ck_assert_ptr_null(p);
	ck_assert(diag_has(&d, "larger than the 16777216-byte limit"));
}
END_TEST

START_TEST(test_oversized_stream_refused)
{
	/* A FIFO has no size to look at: the bound must hold while reading. */
	char dir[] = "/tmp/rempart-policy-fifo.XXXXXX", path[256];
	struct rp_diag d = {0};
	struct rp_policy *p = NULL;
	pid_t pid;
	int r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static char chunk[65536];
		int fd = open(path, O_WRONLY);

		memset(chunk, ' ', sizeof(chunk));
		/* 32 MiB of spaces, or until the reader goes away (SIGPIPE ends us). */
		for (int i = 0; fd >= 0 && i < 512; i++)
			if (write(fd, chunk, sizeof(chunk)) < 0)
				break;
		_exit(0);
	}
	r = rp_policy_load_file(path, &p, &d);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(path);
	rmdir(dir);
	ck_assert_int_eq(r, -EFBIG);
	ck_assert(diag_has(&d, "larger than"));
}
END_TEST

START_TEST(test_invalid_utf8)
{
	static const struct {
		const char *bytes;
		const char *where;
	} cases[] = {
		{"\xff", "byte 28)"},                 /* never valid */
		{"\xc0\xaf", "byte 28)"},             /* overlong '/' */
		{"\xed\xa0\x80", "byte 28)"},         /* UTF-16 surrogate */
		{"caf\xc3", "byte 31)"},              /* truncated sequence */
		{"\xf4\x90\x80\x80", "byte 28)"},     /* past U+10FFFF */
		{"ok \xe2\x82", "byte 31)"},          /* truncated 3-byte */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char json[256];
		struct rp_diag d = {0};
		struct rp_policy *p = NULL;
		int n = snprintf(json, sizeof(json),
				 "{\"schema_version\":1,\"name\":\"%s\",\"serial\":1,\"rules\":[]}",
				 cases[i].bytes);

		ck_assert_int_eq(rp_policy_load_buffer(json, (size_t)n, "utf8", &p, &d), -EILSEQ);
		ck_assert_msg(diag_has(&d, "invalid UTF-8") && diag_has(&d, cases[i].where),
			      "case %zu: %s", i, d.n ? d.lines[0] : "(none)");
	}
	/* Valid multi-byte text (accents, NBSP, emoji) passes this stage. */
	{
		const char *ok = "{\"schema_version\":1,\"name\":\"h\xc3\xb4pital\xc2\xa0\xf0\x9f\x8f\xa5\","
				 "\"serial\":1,\"rules\":[{\"id\":\"r\",\"detectors\":[\"fr_nir\"],"
				 "\"action\":\"alert\"}]}";
		struct rp_diag d = {0};
		struct rp_policy *p = NULL;

		ck_assert_int_eq(rp_policy_load_buffer_ex(ok, strlen(ok), "utf8", RP_POLICY_NO_COMPILE, &p,
							  &d),
				 0);
		ck_assert_str_eq(rp_policy_name(p), "h\xc3\xb4pital\xc2\xa0\xf0\x9f\x8f\xa5");
		rp_policy_free(p);
	}
}
END_TEST

START_TEST(test_embedded_nul_in_buffer)
{
	const char json[] = "{\"schema_version\":1}\0{\"x\":1}";
	struct rp_diag d = {0};
	struct rp_policy *p = NULL;

	ck_assert_int_eq(rp_policy_load_buffer(json, sizeof(json) - 1, "nul", &p, &d), -EINVAL);
	ck_assert(diag_has(&d, "trailing data after the JSON document"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy-malformed");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_malformed_fixtures);
	tcase_add_test(tc, test_errors_are_collected);
	tcase_add_test(tc, test_diag_overflow_is_counted);
	tcase_add_test(tc, test_huge_file_refused_without_reading);
	tcase_add_test(tc, test_oversized_stream_refused);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_embedded_nul_in_buffer);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

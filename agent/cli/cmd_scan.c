/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `rempart scan [--policy FILE] [--json] PATH...`: run the detectors over files, offline. Each
 * file goes through the streaming API in fixed-size chunks, so memory stays bounded whatever the
 * file size, and offsets are offsets in the file as given. Only masked evidence is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "decoders.h"
#include "detectors.h"
#include "policy.h"

#define CHUNK (64 * 1024)

struct scan_out {
	const char *file;
	bool json;
	bool document;      /* the file is read as a document: offsets are in its text */
	unsigned long findings;
};

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static int on_finding(const struct rp_finding *fd, void *userdata)
{
	struct scan_out *o = userdata;
	o->findings++;
	if (o->json) {
		fputs("{\"file\": ", stdout);
		json_string(stdout, o->file);
		fputs(", \"detector\": ", stdout);
		json_string(stdout, fd->id);
		printf(", \"offset\": %llu, \"length\": %llu, \"confidence\": %.2f, \"masked\": ",
		       (unsigned long long)fd->offset, (unsigned long long)fd->length, fd->confidence);
		json_string(stdout, fd->masked);
		/* In a document, offsets count in the text read out of it, not in the file's bytes. */
		if (o->document)
			fputs(", \"decoded\": \"document\"", stdout);
		fputs("}\n", stdout);
	} else {
		printf("%s%s:%llu: %s (confidence %.2f): %s\n", o->file, o->document ? " (document text)" : "",
		       (unsigned long long)fd->offset, fd->id, fd->confidence, fd->masked);
	}
	return 0;
}

struct to_stream_ctx {
	struct rp_stream *st;
	struct rp_scratch *s;
	struct scan_out *o;
};

static int to_stream(const void *buf, size_t len, void *userdata)
{
	struct to_stream_ctx *t = userdata;

	return rp_stream_feed(t->st, t->s, buf, len, on_finding, t->o);
}

/* A file that opens with a zip local header (docx, xlsx, odt...) or a PDF header is read as a
 * document: its text is scanned, as the agent scans an uploaded one. Any other file is scanned
 * as it is. */
static int scan_fd(const struct rp_engine *e, struct rp_scratch *s, int fd, struct scan_out *o)
{
	struct rp_stream *st = NULL;
	struct rp_document *doc = NULL;
	struct to_stream_ctx t = {.s = s, .o = o};
	bool first = true;
	char *buf = NULL;
	int r;

	buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;
	r = rp_stream_open(e, &st);
	if (r < 0)
		goto cleanup;
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		if (first && ((n >= 4 && memcmp(buf, "PK\3\4", 4) == 0) || (n >= 5 && memcmp(buf, "%PDF-", 5) == 0))) {
			r = rp_document_new(&doc);
			if (r < 0)
				goto cleanup;
			o->document = true;
		}
		first = false;
		t.st = st;
		if (doc)
			r = rp_document_feed(doc, buf, (size_t)n, to_stream, &t);
		else
			r = rp_stream_feed(st, s, buf, (size_t)n, on_finding, o);
		if (r < 0)
			goto cleanup;
	}
	if (doc) {
		t.st = st;
		r = rp_document_end(doc, to_stream, &t);
		if (r < 0)
			goto cleanup;
	}
	r = rp_stream_close(st, s, on_finding, o);
	st = NULL;
cleanup:
	rp_stream_close(st, NULL, NULL, NULL);
	rp_document_free(doc);
	free(buf);
	return r < 0 ? r : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: rempart scan [--policy FILE] [--json] PATH...\n\n"
		   "Scan files for health data with Rempart's detectors ('-' reads stdin). Office,\n"
		   "OpenDocument (docx, xlsx, pptx, odt...) and PDF files are scanned for the text inside them;\n"
		   "their findings' offsets count in that text (\"decoded\": \"document\" in JSON).\n\n"
		   "  -p, --policy FILE  use the detectors and thresholds of this policy\n"
		   "  -j, --json         one JSON object per finding on stdout\n"
		   "  -h, --help         this help\n\n"
		   "Exit status: 0 when the scan ran (findings or not), 2 on usage or input errors.\n");
}

static int run_scan(const struct rp_cli_global *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *policy_path = NULL;
	struct rp_policy *policy = NULL;
	struct rp_engine *own = NULL;
	const struct rp_engine *e = NULL;
	struct rp_scratch *s = NULL;
	struct scan_out o = {0};
	int c, r, ret = 0;

	/* The files scanned hold patient data: no core dump of this process may carry it. */
	(void)setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	(void)g;
	while ((c = getopt_long(argc, argv, "p:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy_path = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}

	if (policy_path) {
		struct rp_diag diag = {0};
		r = rp_policy_load_file(policy_path, &policy, &diag);
		if (r < 0) {
			fprintf(stderr, "rempart scan: %s: %s\n", policy_path, strerror(-r));
			for (size_t i = 0; i < diag.n && i < RP_DIAG_MAX; i++)
				fprintf(stderr, "  %s\n", diag.lines[i]);
			return 2;
		}
		e = rp_policy_engine(policy);
	} else {
		struct rp_engine_config cfg;
		char err[512] = "";
		rp_engine_config_default(&cfg);
		r = rp_engine_new(&cfg, &own, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "rempart scan: %s\n", err[0] ? err : strerror(-r));
			return 2;
		}
		e = own;
	}
	r = e ? rp_scratch_new(e, &s) : -EINVAL;
	if (r < 0) {
		fprintf(stderr, "rempart scan: %s\n", strerror(-r));
		ret = 2;
		goto cleanup;
	}

	for (int i = optind; i < argc; i++) {
		bool is_stdin = strcmp(argv[i], "-") == 0;
		int fd = is_stdin ? STDIN_FILENO : open(argv[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "rempart scan: %s: %s\n", argv[i], strerror(errno));
			ret = 2;
			continue;
		}
		o.file = argv[i];
		o.document = false;
		r = scan_fd(e, s, fd, &o);
		if (r < 0) {
			fprintf(stderr, "rempart scan: %s: %s\n", argv[i], strerror(-r));
			ret = 2;
		}
		if (!is_stdin)
			close(fd);
	}
	if (!o.json)
		fprintf(stderr, "rempart scan: %lu finding(s)\n", o.findings);
	if (fflush(stdout) != 0)
		ret = 2;
cleanup:
	rp_scratch_free(s);
	rp_engine_free(own);
	rp_policy_free(policy);
	return ret;
}

RP_CLI_COMMAND(scan, "scan", "scan files for health data", run_scan)

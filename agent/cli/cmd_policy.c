/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `rempart policy`: offline tools for policy authors and fleet administrators. Everything here
 * runs without the daemon, against the same library the daemon uses, so "check OK" means the
 * daemon will load it.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cli.h"
#include "paths.h"
#include "policy.h"

static void policy_usage(FILE *f)
{
	fprintf(f,
		"Usage: rempart policy COMMAND ...\n\n"
		"  check [--no-compile] FILE...       validate and compile policies; prints\n"
		"                                     \"OK name serial sha256\" per valid file\n"
		"  show FILE                          summary of a valid policy\n"
		"  sign --key PRIVKEY.pem -o BUNDLE POLICY.json\n"
		"                                     check, then sign into a bundle (Ed25519)\n"
		"  verify [--keys DIR] [--allow-unsigned] BUNDLE\n"
		"                                     verify signature, validate, compile (keys: %s)\n"
		"  accept [--keys DIR] [--allow-unsigned] --state DIR BUNDLE\n"
		"                                     verify, then record as last-known-good unless it\n"
		"                                     is not newer than the last accepted serial\n"
		"  fetch [--ca CA.pem] [--etag ETAG] [--max-bytes N] [--timeout-ms N] -o FILE URL\n"
		"                                     HTTPS pull; prints \"FETCHED etag\" or \"NOT-MODIFIED\"\n"
		"  keyid KEY.pem                      key id (hex SHA-256 of the public key)\n\n"
		"Exit status: 0 success, 1 failure (e.g. invalid policy), 2 usage error.\n",
		RP_DEFAULT_KEYS_DIR);
}

/* Library lines either start with the file name (document-level) or with a JSON path. */
static void print_diag(const char *file, const struct rp_diag *d)
{
	size_t flen = strlen(file);

	for (size_t i = 0; i < d->n; i++) {
		if (strncmp(d->lines[i], file, flen) == 0 && d->lines[i][flen] == ':')
			fprintf(stderr, "%s\n", d->lines[i]);
		else
			fprintf(stderr, "%s: %s\n", file, d->lines[i]);
	}
	if (d->dropped)
		fprintf(stderr, "%s: ... and %zu more problems\n", file, d->dropped);
}

static int write_file(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	if (fwrite(buf, 1, len, f) != len) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) == 0 ? 0 : -errno;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"no-compile", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned flags = 0;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			flags |= RP_POLICY_NO_COMPILE;
			break;
		case 'h':
			policy_usage(stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "rempart policy check: missing FILE\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		struct rp_diag *d = calloc(1, sizeof(*d));
		struct rp_policy *p = NULL;

		if (!d)
			return 1;
		if (rp_policy_load_file_ex(argv[i], flags, &p, d) < 0) {
			print_diag(argv[i], d);
			rc = 1;
		} else {
			printf("OK %s %" PRIu64 " %s\n", rp_policy_name(p), rp_policy_serial(p),
			       rp_policy_sha256(p));
		}
		rp_policy_free(p);
		free(d);
	}
	return rc;
}

static int cmd_show(int argc, char **argv)
{
	struct rp_diag *d;
	struct rp_policy *p = NULL;
	const struct rp_policy_settings *s;

	if (argc != 2) {
		fprintf(stderr, "Usage: rempart policy show FILE\n");
		return 2;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	if (rp_policy_load_file(argv[1], &p, d) < 0) {
		print_diag(argv[1], d);
		free(d);
		return 1;
	}
	s = rp_policy_settings(p);
	printf("name: %s\nserial: %" PRIu64 "\nsha256: %s\n", rp_policy_name(p), rp_policy_serial(p),
	       rp_policy_sha256(p));
	printf("settings: capture_budget_bytes=%" PRIu64 " hold_timeout_ms=%u fail_mode=%s "
	       "notify_rate_per_minute=%u\n",
	       s->capture_budget_bytes, s->hold_timeout_ms, s->fail_closed ? "closed" : "open",
	       s->notify_rate_per_minute);
	printf("detectors (%u):", rp_engine_detector_count(rp_policy_engine(p)));
	for (unsigned i = 0; i < rp_engine_detector_count(rp_policy_engine(p)); i++)
		printf(" %s", rp_engine_detector_id(rp_policy_engine(p), i));
	printf("\ndestinations (%zu):\n", rp_policy_destination_count(p));
	for (size_t i = 0; i < rp_policy_destination_count(p); i++) {
		struct rp_destination_info di;

		rp_policy_destination_info(p, i, &di);
		printf("  %-20s %-10s %s", di.name, di.category, di.approved ? "approved  " : "unapproved");
		for (size_t k = 0; di.hosts && di.hosts[k]; k++)
			printf(" %s", di.hosts[k]);
		printf("\n");
	}
	printf("rules (%zu):\n", rp_policy_rule_count(p));
	for (size_t i = 0; i < rp_policy_rule_count(p); i++) {
		struct rp_rule_info ri;

		rp_policy_rule_info(p, i, &ri);
		if (ri.uninspected_tls) {
			printf("  %-36s %-5s uninspected_tls\n", ri.id, rp_action_name(ri.action));
			continue;
		}
		printf("  %-36s %-5s min_count=%u detectors=", ri.id, rp_action_name(ri.action),
		       ri.min_count);
		for (size_t k = 0; ri.detectors && ri.detectors[k]; k++)
			printf("%s%s", k ? "," : "", ri.detectors[k]);
		printf("\n");
	}
	printf("exceptions: %zu\n", rp_policy_exception_count(p));
	rp_policy_free(p);
	free(d);
	return 0;
}

static int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"output", required_argument, NULL, 'o'},
		{0},
	};
	const char *key = NULL, *output = NULL;
	struct rp_diag *d = NULL;
	struct rp_policy *p = NULL;
	char *json = NULL, *bundle = NULL, key_id[RP_KEY_ID_LEN];
	size_t len = 0, blen = 0;
	int c, r, rc = 1;

	while ((c = getopt_long(argc, argv, "k:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!key || !output || optind + 1 != argc) {
		fprintf(stderr, "Usage: rempart policy sign --key PRIVKEY.pem -o BUNDLE POLICY.json\n");
		return 2;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	r = rp_read_file_bounded(argv[optind], RP_POLICY_MAX_BYTES, &json, &len);
	if (r < 0) {
		fprintf(stderr, "%s: cannot read: %s\n", argv[optind], strerror(-r));
		goto cleanup;
	}
	/* Never sign what the agents would refuse: full check, Hyperscan included. */
	if (rp_policy_load_buffer(json, len, argv[optind], &p, d) < 0) {
		print_diag(argv[optind], d);
		fprintf(stderr, "%s: not signed: the policy is invalid\n", argv[optind]);
		goto cleanup;
	}
	if (rp_bundle_sign(json, len, key, &bundle, &blen, d) < 0) {
		print_diag(key, d);
		goto cleanup;
	}
	r = write_file(output, bundle, blen);
	if (r < 0) {
		fprintf(stderr, "%s: cannot write: %s\n", output, strerror(-r));
		goto cleanup;
	}
	if (rp_key_id_of_file(key, key_id, d) == 0)
		printf("SIGNED %s %" PRIu64 " %s key %s\n", rp_policy_name(p), rp_policy_serial(p),
		       rp_policy_sha256(p), key_id);
	rc = 0;
cleanup:
	rp_policy_free(p);
	free(json);
	free(bundle);
	free(d);
	return rc;
}

/* verify and accept share option parsing and the open step. */
static int cmd_verify_or_accept(int argc, char **argv, bool accept)
{
	static const struct option opts[] = {
		{"keys", required_argument, NULL, 'k'},
		{"allow-unsigned", no_argument, NULL, 'u'},
		{"state", required_argument, NULL, 's'},
		{0},
	};
	const char *keys_dir = RP_DEFAULT_KEYS_DIR, *state = NULL;
	struct rp_keyring *keys = NULL;
	struct rp_bundle b = {0};
	struct rp_diag *d = NULL;
	unsigned flags = 0;
	int c, r, rc = 1;

	while ((c = getopt_long(argc, argv, "k:us:", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keys_dir = optarg;
			break;
		case 'u':
			flags |= RP_BUNDLE_ALLOW_UNSIGNED;
			break;
		case 's':
			state = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc || (accept && !state)) {
		fprintf(stderr, "Usage: rempart policy %s [--keys DIR] [--allow-unsigned]%s BUNDLE\n",
			accept ? "accept" : "verify", accept ? " --state DIR" : "");
		return 2;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	r = rp_keyring_load_dir(keys_dir, &keys, d);
	if (r < 0 && !(flags & RP_BUNDLE_ALLOW_UNSIGNED)) {
		print_diag(keys_dir, d);
		goto cleanup;
	}
	print_diag(keys_dir, d); /* skipped key files, if any */
	memset(d, 0, sizeof(*d));
	if (!keys)
		keys = rp_keyring_new();

	r = rp_bundle_open_file(argv[optind], keys, flags, &b, d);
	if (r < 0) {
		print_diag(argv[optind], d);
		goto cleanup;
	}
	if (accept) {
		r = rp_bundle_accept(state, &b, d);
		if (r == -EALREADY) {
			printf("ALREADY %s %" PRIu64 " %s\n", rp_policy_name(b.policy),
			       rp_policy_serial(b.policy), rp_policy_sha256(b.policy));
			rc = 0;
			goto cleanup;
		}
		if (r < 0) {
			print_diag(argv[optind], d);
			goto cleanup;
		}
	}
	printf("%s %s %" PRIu64 " %s %s\n", accept ? "ACCEPTED" : "OK", rp_policy_name(b.policy),
	       rp_policy_serial(b.policy), rp_policy_sha256(b.policy),
	       b.is_signed ? b.key_id : "unsigned");
	rc = 0;
cleanup:
	rp_bundle_clear(&b);
	rp_keyring_free(keys);
	free(d);
	return rc;
}

static int cmd_fetch(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ca", required_argument, NULL, 'c'},
		{"etag", required_argument, NULL, 'e'},
		{"max-bytes", required_argument, NULL, 'm'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"output", required_argument, NULL, 'o'},
		{0},
	};
	const char *ca = NULL, *etag = NULL, *output = NULL;
	size_t max = RP_BUNDLE_MAX_BYTES, len = 0;
	unsigned timeout = 0;
	char etag_out[RP_ETAG_MAX], *body = NULL;
	struct rp_diag *d;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:e:m:t:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ca = optarg;
			break;
		case 'e':
			etag = optarg;
			break;
		case 'm':
			max = strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'o':
			output = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!output || optind + 1 != argc || max == 0) {
		fprintf(stderr, "Usage: rempart policy fetch [--ca CA.pem] [--etag ETAG] [--max-bytes N] "
				"[--timeout-ms N] -o FILE URL\n");
		return 2;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = rp_bundle_fetch(argv[optind], ca, etag, etag_out, sizeof(etag_out), &body, &len, max,
			    timeout, d);
	if (r < 0) {
		print_diag(argv[optind], d);
	} else if (r == 1) {
		printf("NOT-MODIFIED %s\n", etag_out);
	} else {
		int w = write_file(output, body, len);

		if (w < 0) {
			fprintf(stderr, "%s: cannot write: %s\n", output, strerror(-w));
			r = w;
		} else {
			printf("FETCHED %s\n", etag_out);
		}
	}
	free(body);
	free(d);
	curl_global_cleanup();
	return r < 0 ? 1 : 0;
}

static int cmd_keyid(int argc, char **argv)
{
	char id[RP_KEY_ID_LEN];
	struct rp_diag d = {0};

	if (argc != 2) {
		fprintf(stderr, "Usage: rempart policy keyid KEY.pem\n");
		return 2;
	}
	if (rp_key_id_of_file(argv[1], id, &d) < 0) {
		print_diag(argv[1], &d);
		return 1;
	}
	printf("%s\n", id);
	return 0;
}

static int run_policy(const struct rp_cli_global *g, int argc, char **argv)
{
	const char *sub;

	(void)g;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		policy_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	/* Subcommand parsing restarts getopt on argv + 1. */
	optind = 0;
	argc--;
	argv++;
	if (strcmp(sub, "check") == 0)
		return cmd_check(argc, argv);
	if (strcmp(sub, "show") == 0)
		return cmd_show(argc, argv);
	if (strcmp(sub, "sign") == 0)
		return cmd_sign(argc, argv);
	if (strcmp(sub, "verify") == 0)
		return cmd_verify_or_accept(argc, argv, false);
	if (strcmp(sub, "accept") == 0)
		return cmd_verify_or_accept(argc, argv, true);
	if (strcmp(sub, "fetch") == 0)
		return cmd_fetch(argc, argv);
	if (strcmp(sub, "keyid") == 0)
		return cmd_keyid(argc, argv);
	fprintf(stderr, "rempart policy: unknown command '%s'\n\n", sub);
	policy_usage(stderr);
	return 2;
}

RP_CLI_COMMAND(policy, "policy", "check, sign and inspect policies", run_policy)

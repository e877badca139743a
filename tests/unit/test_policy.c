/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy library: loading the shipped policies, accessors, and evaluation semantics. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"
#include "run_suite.h"

static const char *src_dir(void)
{
	const char *s = getenv("REMPART_SOURCE_DIR");

	ck_assert_msg(s && *s, "REMPART_SOURCE_DIR must be set");
	return s;
}

static struct rp_policy *load_src(const char *rel)
{
	struct rp_diag d = {0};
	struct rp_policy *p = NULL;
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/%s", src_dir(), rel);
	r = rp_policy_load_file(path, &p, &d);
	ck_assert_msg(r == 0, "%s: %d: %s", rel, r, d.n ? d.lines[0] : "(no diagnostic)");
	ck_assert_ptr_nonnull(p);
	return p;
}

static struct rp_policy *load_str(const char *json)
{
	struct rp_diag d = {0};
	struct rp_policy *p = NULL;
	int r = rp_policy_load_buffer(json, strlen(json), "inline", &p, &d);

	ck_assert_msg(r == 0, "inline policy: %d: %s", r, d.n ? d.lines[0] : "(no diagnostic)");
	return p;
}

/* counts[] for the policy's engine with `n` findings of detector `id` (may be NULL). */
static uint32_t *counts_for(const struct rp_policy *p, const char *id, uint32_t n)
{
	const struct rp_engine *e = rp_policy_engine(p);
	uint32_t *c = calloc(rp_engine_detector_count(e) + 1, sizeof(uint32_t));

	ck_assert_ptr_nonnull(c);
	if (id) {
		int idx = rp_engine_detector_lookup(e, id);

		ck_assert_msg(idx >= 0, "detector %s not in engine", id);
		c[idx] += n;
	}
	return c;
}

static struct rp_verdict verdict(const struct rp_policy *p, const struct rp_flow_context *ctx,
				 const char *id, uint32_t n)
{
	struct rp_verdict v;
	uint32_t *c = counts_for(p, id, n);

	memset(&v, 0xaa, sizeof(v)); /* evaluate must fill every field */
	rp_policy_evaluate(p, ctx, c, rp_engine_detector_count(rp_policy_engine(p)), &v);
	free(c);
	return v;
}

START_TEST(test_default_policy_loads)
{
	struct rp_policy *p = load_src("policies/default.json");
	const struct rp_policy_settings *s = rp_policy_settings(p);

	ck_assert_str_eq(rp_policy_name(p), "rempart-default");
	ck_assert_uint_ge(rp_policy_serial(p), 1);
	ck_assert_uint_eq(strlen(rp_policy_sha256(p)), 64);
	ck_assert_ptr_nonnull(rp_policy_engine(p));
	ck_assert_uint_eq(s->capture_budget_bytes, 4u * 1024 * 1024);
	ck_assert(!s->fail_closed);
	ck_assert_int_ge(rp_engine_detector_lookup(rp_policy_engine(p), "fr_nir"), 0);
	ck_assert_uint_ge(rp_policy_rule_count(p), 4);
	rp_policy_free(p);
}
END_TEST

START_TEST(test_examples_load)
{
	static const char *const files[] = {"policies/examples/audit-only.json",
					    "policies/examples/strict-genai.json"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		rp_policy_free(load_src(files[i]));
}
END_TEST

START_TEST(test_default_genai_verdicts)
{
	struct rp_policy *p = load_src("policies/default.json");
	struct rp_flow_context chat = {.comm = "firefox-esr", .host = "chatgpt.com"};
	struct rp_flow_context api = {.comm = "python3", .host = "API.OpenAI.com:443"};
	struct rp_flow_context approved = {.comm = "firefox-esr", .host = "llm.hospital.example.org"};
	struct rp_flow_context other = {.comm = "curl", .host = "pastebin.example.net"};
	struct rp_verdict v;

	v = verdict(p, &chat, "fr_nir", 1);
	ck_assert_int_eq(v.action, RP_ACTION_BLOCK);
	ck_assert_str_eq(v.rule_id, "patient-id-to-unapproved-genai");
	ck_assert_str_eq(v.destination, "openai-chatgpt");
	ck_assert(!v.destination_approved);
	ck_assert_ptr_nonnull(v.message);

	v = verdict(p, &api, "fhir", 1);
	ck_assert_int_eq(v.action, RP_ACTION_BLOCK);

	v = verdict(p, &approved, "fr_nir", 2);
	ck_assert_int_eq(v.action, RP_ACTION_AUDIT);
	ck_assert_str_eq(v.destination, "hospital-llm");
	ck_assert(v.destination_approved);

	v = verdict(p, &other, "fr_nir", 1);
	ck_assert_int_eq(v.action, RP_ACTION_ALERT);
	ck_assert_ptr_null(v.destination);

	/* Nothing found: no rule, whatever the destination. */
	v = verdict(p, &chat, NULL, 0);
	ck_assert_int_eq(v.action, RP_ACTION_NONE);
	ck_assert_ptr_null(v.rule_id);
	ck_assert_ptr_null(v.message);

	/* Weak signals need three together. */
	v = verdict(p, &chat, "icd10", 2);
	ck_assert_int_eq(v.action, RP_ACTION_NONE);
	v = verdict(p, &chat, "icd10", 3);
	ck_assert_int_eq(v.action, RP_ACTION_BLOCK);
	ck_assert_str_eq(v.rule_id, "patient-context-to-unapproved-genai");
	rp_policy_free(p);
}
END_TEST

static const char *const catalogue_policy =
	"{\"schema_version\":1,\"name\":\"t\",\"serial\":7,"
	"\"destinations\":["
	"{\"name\":\"openai\",\"category\":\"genai\",\"hosts\":[\"chatgpt.com\",\"*.openai.com\"]},"
	"{\"name\":\"corp-ai\",\"category\":\"genai\",\"approved\":true,"
	"\"approved_tenants\":[\"chu.onmicrosoft.com\"],\"hosts\":[\"copilot.microsoft.com\"]},"
	"{\"name\":\"lan\",\"category\":\"internal\",\"approved\":true,"
	"\"addresses\":[\"10.1.0.0/16\",\"2001:db8::/32\"]}],"
	"\"rules\":["
	"{\"id\":\"r-genai\",\"detectors\":[\"fr_nir\",\"fr_vitale\"],\"min_count\":2,"
	"\"scope\":{\"categories\":[\"genai\"]},\"action\":\"block\",\"message\":\"m1\"},"
	"{\"id\":\"r-any\",\"detectors\":[\"fr_nir\"],\"action\":\"alert\"},"
	"{\"id\":\"r-any2\",\"detectors\":[\"fr_nir\"],\"action\":\"alert\"},"
	"{\"id\":\"r-kill\",\"detectors\":[\"us_ssn\"],\"action\":\"kill\","
	"\"scope\":{\"users\":[\"mallory\",\"4242\"],\"exe\":[\"/usr/bin/python3*\"]}},"
	"{\"id\":\"r-port\",\"detectors\":[\"iban\"],\"action\":\"audit\",\"scope\":{\"ports\":[8443]}},"
	"{\"id\":\"r-unapproved\",\"detectors\":[\"email\"],\"action\":\"alert\","
	"\"scope\":{\"approved\":false,\"not\":{\"comm\":[\"thunderbird\"]}}}],"
	"\"exceptions\":["
	"{\"id\":\"e1\",\"reason\":\"test\",\"rules\":[\"r-genai\"],\"scope\":{\"comm\":[\"trusted\"]}},"
	"{\"id\":\"e2\",\"reason\":\"test\",\"scope\":{\"addresses\":[\"192.0.2.7\"]}}]}";

START_TEST(test_host_matching)
{
	struct rp_policy *p = load_str(catalogue_policy);
	static const struct {
		const char *host;
		const char *dest;
	} cases[] = {
		{"chatgpt.com", "openai"},  {"CHATGPT.COM", "openai"},   {"chatgpt.com.", "openai"},
		{"chatgpt.com:443", "openai"}, {"api.openai.com", "openai"}, {"a.b.openai.com", "openai"},
		{"openai.com", NULL},         /* "*." does not cover the apex */
		{"evilopenai.com", NULL},     /* suffix on a label boundary only */
		{"chatgpt.com.evil.net", NULL}, {"xchatgpt.com", NULL}, {"", NULL},
		{"[2001:db8::1]:443", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rp_flow_context ctx = {.host = cases[i].host};
		struct rp_verdict v = verdict(p, &ctx, NULL, 0);

		if (cases[i].dest)
			ck_assert_msg(v.destination && strcmp(v.destination, cases[i].dest) == 0,
				      "%s should be %s", cases[i].host, cases[i].dest);
		else
			ck_assert_msg(v.destination == NULL, "%s should match nothing, got %s",
				      cases[i].host, v.destination);
	}
	rp_policy_free(p);
}
END_TEST

START_TEST(test_address_matching)
{
	struct rp_policy *p = load_str(catalogue_policy);
	uint8_t a4[4], a6[16], mapped[16];
	struct rp_flow_context ctx = {.family = AF_INET, .raddr = a4};
	struct rp_verdict v;

	inet_pton(AF_INET, "10.1.200.3", a4);
	v = verdict(p, &ctx, NULL, 0);
	ck_assert_str_eq(v.destination, "lan");
	ck_assert(v.destination_approved);

	inet_pton(AF_INET, "10.2.0.1", a4);
	v = verdict(p, &ctx, NULL, 0);
	ck_assert_ptr_null(v.destination);

	inet_pton(AF_INET6, "2001:db8:ffff::1", a6);
	ctx = (struct rp_flow_context){.family = AF_INET6, .raddr = a6};
	v = verdict(p, &ctx, NULL, 0);
	ck_assert_str_eq(v.destination, "lan");

	inet_pton(AF_INET6, "::ffff:10.1.0.9", mapped);
	ctx = (struct rp_flow_context){.family = AF_INET6, .raddr = mapped};
	v = verdict(p, &ctx, NULL, 0);
	ck_assert_str_eq(v.destination, "lan");
	rp_policy_free(p);
}
END_TEST

START_TEST(test_severity_min_count_and_ties)
{
	struct rp_policy *p = load_str(catalogue_policy);
	struct rp_flow_context ctx = {.host = "chatgpt.com", .comm = "firefox"};
	uint32_t *c = counts_for(p, NULL, 0);
	const struct rp_engine *e = rp_policy_engine(p);
	size_t n = rp_engine_detector_count(e);
	struct rp_verdict v;

	/* One NIR: r-genai needs 2 -> the alert rules; on a tie the first (r-any) wins. */
	c[rp_engine_detector_lookup(e, "fr_nir")] = 1;
	rp_policy_evaluate(p, &ctx, c, n, &v);
	ck_assert_int_eq(v.action, RP_ACTION_ALERT);
	ck_assert_str_eq(v.rule_id, "r-any");

	/* The count is summed over the rule's detectors: 1 NIR + 1 Vitale reaches 2. */
	c[rp_engine_detector_lookup(e, "fr_vitale")] = 1;
	rp_policy_evaluate(p, &ctx, c, n, &v);
	ck_assert_int_eq(v.action, RP_ACTION_BLOCK);
	ck_assert_str_eq(v.rule_id, "r-genai");
	ck_assert_str_eq(v.message, "m1");

	/* Counts shorter than the engine: missing entries count as zero, nothing read past n. */
	rp_policy_evaluate(p, &ctx, c, 0, &v);
	ck_assert_int_eq(v.action, RP_ACTION_NONE);
	rp_policy_evaluate(p, &ctx, NULL, n, &v);
	ck_assert_int_eq(v.action, RP_ACTION_NONE);
	free(c);
	rp_policy_free(p);
}
END_TEST

START_TEST(test_scopes_users_exe_ports_not)
{
	struct rp_policy *p = load_str(catalogue_policy);
	struct rp_flow_context ctx = {.user = "mallory", .uid = 1000, .exe = "/usr/bin/python3.11"};
	struct rp_verdict v;

	v = verdict(p, &ctx, "us_ssn", 1);
	ck_assert_int_eq(v.action, RP_ACTION_KILL);
	ctx.user = "alice";
	v = verdict(p, &ctx, "us_ssn", 1);
	ck_assert_int_eq(v.action, RP_ACTION_NONE);
	ctx.uid = 4242; /* numeric entries match the uid */
	v = verdict(p, &ctx, "us_ssn", 1);
	ck_assert_int_eq(v.action, RP_ACTION_KILL);
	ctx.exe = "/usr/bin/perl";
	v = verdict(p, &ctx, "us_ssn", 1);
	ck_assert_int_eq(v.action, RP_ACTION_NONE);
	ctx.exe = NULL; /* unknown executable never matches an exe scope */
	v = verdict(p, &ctx, "us_ssn", 1);
	ck_assert_int_eq(v.action, RP_ACTION_NONE);

	ctx = (struct rp_flow_context){.rport = 8443};
	ck_assert_int_eq(verdict(p, &ctx, "iban", 1).action, RP_ACTION_AUDIT);
	ctx.rport = 443;
	ck_assert_int_eq(verdict(p, &ctx, "iban", 1).action, RP_ACTION_NONE);

	/* approved:false covers unknown destinations; the "not" sub-scope excludes thunderbird. */
	ctx = (struct rp_flow_context){.comm = "firefox", .host = "example.net"};
	ck_assert_int_eq(verdict(p, &ctx, "email", 1).action, RP_ACTION_ALERT);
	ctx.comm = "thunderbird";
	ck_assert_int_eq(verdict(p, &ctx, "email", 1).action, RP_ACTION_NONE);
	ctx = (struct rp_flow_context){.comm = "firefox", .host = "copilot.microsoft.com",
				       .tenant = "chu.onmicrosoft.com"};
	ck_assert_int_eq(verdict(p, &ctx, "email", 1).action, RP_ACTION_NONE);
	rp_policy_free(p);
}
END_TEST

START_TEST(test_tenants)
{
	struct rp_policy *p = load_str(catalogue_policy);
	struct rp_flow_context ctx = {.host = "copilot.microsoft.com"};
	struct rp_verdict v;

	v = verdict(p, &ctx, NULL, 0);
	ck_assert_str_eq(v.destination, "corp-ai");
	ck_assert(!v.destination_approved); /* tenant unknown: not the approved one */
	ctx.tenant = "CHU.onmicrosoft.com";
	v = verdict(p, &ctx, NULL, 0);
	ck_assert(v.destination_approved);
	ctx.tenant = "other.onmicrosoft.com";
	v = verdict(p, &ctx, NULL, 0);
	ck_assert(!v.destination_approved);
	/* The tenant id or the organisation domain: either listed one approves. */
	ctx.tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
	ctx.tenant_domain = "chu.onmicrosoft.com";
	v = verdict(p, &ctx, NULL, 0);
	ck_assert(v.destination_approved);
	ctx.tenant_domain = "gmail.com";
	v = verdict(p, &ctx, NULL, 0);
	ck_assert(!v.destination_approved);
	rp_policy_free(p);
}
END_TEST

START_TEST(test_exceptions)
{
	struct rp_policy *p = load_str(catalogue_policy);
	struct rp_flow_context ctx = {.host = "chatgpt.com", .comm = "trusted"};
	uint8_t a4[4];
	uint32_t *c = counts_for(p, "fr_nir", 2);
	size_t n = rp_engine_detector_count(rp_policy_engine(p));
	struct rp_verdict v;

	/* e1 suppresses r-genai only: the alert rules still apply. */
	rp_policy_evaluate(p, &ctx, c, n, &v);
	ck_assert_int_eq(v.action, RP_ACTION_ALERT);
	ck_assert_str_eq(v.rule_id, "r-any");
	ctx.comm = "firefox";
	rp_policy_evaluate(p, &ctx, c, n, &v);
	ck_assert_int_eq(v.action, RP_ACTION_BLOCK);

	/* e2 lists no rule: it suppresses every rule for that address. */
	inet_pton(AF_INET, "192.0.2.7", a4);
	ctx.family = AF_INET;
	ctx.raddr = a4;
	rp_policy_evaluate(p, &ctx, c, n, &v);
	ck_assert_int_eq(v.action, RP_ACTION_NONE);
	free(c);
	rp_policy_free(p);
}
END_TEST

START_TEST(test_prejudge)
{
	struct rp_policy *p = load_src("policies/examples/strict-genai.json");
	struct rp_flow_context chat = {.comm = "firefox-esr", .host = "chat.mistral.ai"};
	struct rp_flow_context lan = {.comm = "firefox-esr", .host = "dpi.chu.example.org"};
	struct rp_flow_context ehr = {.exe = "/opt/dpi/bin/client", .host = "dpi.chu.example.org"};
	const struct rp_policy_settings *s = rp_policy_settings(p);

	ck_assert_int_eq(rp_policy_prejudge(p, &chat), RP_ACTION_HOLD);
	ck_assert_int_eq(rp_policy_prejudge(p, &lan), RP_ACTION_NONE);
	ck_assert_int_eq(rp_policy_prejudge(p, &ehr), RP_ACTION_NONE);
	ck_assert_int_eq(rp_policy_prejudge(p, NULL), RP_ACTION_ALERT);
	ck_assert(s->fail_closed);
	ck_assert_uint_eq(s->hold_timeout_ms, 3000);
	ck_assert_int_ge(rp_engine_detector_lookup(rp_policy_engine(p), "chu_ipp"), RP_DET__BUILTIN);
	rp_policy_free(p);
}
END_TEST

START_TEST(test_settings_defaults)
{
	struct rp_policy *p = load_str("{\"schema_version\":1,\"name\":\"m\",\"serial\":1,\"rules\":"
				       "[{\"id\":\"r\",\"detectors\":[\"fr_nir\"],\"action\":\"alert\"}]}");
	const struct rp_policy_settings *s = rp_policy_settings(p);

	ck_assert_uint_eq(s->capture_budget_bytes, 4u * 1024 * 1024);
	ck_assert_uint_eq(s->hold_timeout_ms, 1500);
	ck_assert(!s->fail_closed);
	ck_assert_uint_eq(s->notify_rate_per_minute, 6);
	rp_policy_free(p);
}
END_TEST

START_TEST(test_actions_and_null_safety)
{
	struct rp_verdict v;

	ck_assert_str_eq(rp_action_name(RP_ACTION_NONE), "none");
	ck_assert_str_eq(rp_action_name(RP_ACTION_AUDIT), "audit");
	ck_assert_str_eq(rp_action_name(RP_ACTION_ALERT), "alert");
	ck_assert_str_eq(rp_action_name(RP_ACTION_BLOCK), "block");
	ck_assert_str_eq(rp_action_name(RP_ACTION_HOLD), "hold");
	ck_assert_str_eq(rp_action_name(RP_ACTION_KILL), "kill");
	ck_assert_int_eq(rp_action_from_name("hold"), RP_ACTION_HOLD);
	ck_assert_int_eq(rp_action_from_name("blok"), -ENOENT);
	ck_assert(RP_ACTION_AUDIT < RP_ACTION_ALERT && RP_ACTION_ALERT < RP_ACTION_BLOCK &&
		  RP_ACTION_BLOCK < RP_ACTION_HOLD && RP_ACTION_HOLD < RP_ACTION_KILL);
	rp_policy_free(NULL);
	rp_policy_evaluate(NULL, NULL, NULL, 0, &v);
	ck_assert_int_eq(v.action, RP_ACTION_NONE);
	ck_assert_ptr_null(rp_policy_name(NULL));
}
END_TEST

START_TEST(test_missing_file)
{
	struct rp_diag d = {0};
	struct rp_policy *p = (struct rp_policy *)0x1;

	ck_assert_int_eq(rp_policy_load_file("/nonexistent/policy.json", &p, &d), -ENOENT);
	ck_assert_ptr_eq(p, (struct rp_policy *)0x1); /* untouched on failure */
	ck_assert_uint_eq(d.n, 1);
	ck_assert_ptr_nonnull(strstr(d.lines[0], "/nonexistent/policy.json: cannot read"));
}
END_TEST

START_TEST(test_sha256_is_of_bytes)
{
	const char *a = "{\"schema_version\":1,\"name\":\"m\",\"serial\":1,\"rules\":"
			"[{\"id\":\"r\",\"detectors\":[\"fr_nir\"],\"action\":\"alert\"}]}";
	char b[512];
	struct rp_policy *p1, *p2;

	snprintf(b, sizeof(b), "%s\n", a); /* same meaning, different bytes */
	p1 = load_str(a);
	p2 = load_str(b);
	ck_assert_str_ne(rp_policy_sha256(p1), rp_policy_sha256(p2));
	/* printf '%s' "$a" | sha256sum, computed outside the library */
	ck_assert_str_eq(rp_policy_sha256(p1),
			 "4518d3809fa8fcf47a263600f33361a5ef1ba387f12522edd7169fefb0347434");
	rp_policy_free(p1);
	rp_policy_free(p2);
}
END_TEST

static int count_finding(const struct rp_finding *f, void *userdata)
{
	uint32_t *counts = userdata;

	counts[f->detector]++;
	return 0;
}

/* What the daemon does: scan with the policy's engine, count, evaluate. */
static struct rp_verdict scan_and_judge(const struct rp_policy *p, const struct rp_flow_context *ctx,
					const char *text)
{
	const struct rp_engine *e = rp_policy_engine(p);
	uint32_t *counts = calloc(rp_engine_detector_count(e), sizeof(uint32_t));
	struct rp_scratch *s = NULL;
	struct rp_verdict v;

	ck_assert_ptr_nonnull(counts);
	ck_assert_int_eq(rp_scratch_new(e, &s), 0);
	ck_assert_int_eq(rp_scan_block(e, s, text, strlen(text), count_finding, counts), 0);
	rp_policy_evaluate(p, ctx, counts, rp_engine_detector_count(e), &v);
	rp_scratch_free(s);
	free(counts);
	return v;
}

START_TEST(test_default_policy_end_to_end)
{
	/* The thresholds in default.json must let a checksum-valid NIR count without a keyword. */
	struct rp_policy *p = load_src("policies/default.json");
	struct rp_flow_context chat = {.comm = "firefox-esr", .host = "chatgpt.com"};
	struct rp_flow_context other = {.comm = "curl", .host = "upload.example.net"};
	struct rp_verdict v;

	v = scan_and_judge(p, &chat,
			   "{\"prompt\":\"R\\u00e9sume le dossier du patient 2 95 10 99 126 111 93, "
			   "hospitalis\\u00e9 pour une pneumopathie\"}");
	ck_assert_int_eq(v.action, RP_ACTION_BLOCK);
	ck_assert_str_eq(v.rule_id, "patient-id-to-unapproved-genai");

	v = scan_and_judge(p, &other, "NIR : 253072B07300470");
	ck_assert_int_eq(v.action, RP_ACTION_ALERT);

	/* A NIR-shaped number with a wrong key is not patient data. */
	v = scan_and_judge(p, &chat, "reference 2 95 10 99 126 111 94 for the order");
	ck_assert_int_eq(v.action, RP_ACTION_NONE);
	v = scan_and_judge(p, &chat, "Bonjour, peux-tu corriger ce texte ?");
	ck_assert_int_eq(v.action, RP_ACTION_NONE);
	rp_policy_free(p);
}
END_TEST

static const char *const unreadable_policy =
	"{\"schema_version\":1,\"name\":\"u\",\"serial\":1,"
	"\"destinations\":[{\"name\":\"openai\",\"category\":\"genai\",\"hosts\":[\"chatgpt.com\"]},"
	"{\"name\":\"ours\",\"category\":\"genai\",\"approved\":true,\"hosts\":[\"llm.chu.example\"]}],"
	"\"rules\":["
	"{\"id\":\"r-content\",\"detectors\":[\"fr_nir\"],\"action\":\"alert\"},"
	"{\"id\":\"r-unreadable\",\"uninspected_tls\":true,\"action\":\"block\","
	"\"scope\":{\"categories\":[\"genai\"],\"approved\":false}}],"
	"\"exceptions\":[{\"id\":\"e\",\"reason\":\"kiosk\",\"rules\":[\"r-unreadable\"],"
	"\"scope\":{\"exe\":[\"/opt/kiosk/*\"]}}]}";

START_TEST(test_uninspected_tls_rules)
{
	struct rp_policy *p = load_str(unreadable_policy);
	struct rp_flow_context chrome = {.comm = "chromium", .host = "chatgpt.com", .uninspected_tls = true};
	struct rp_flow_context chrome_ours = {.comm = "chromium", .host = "llm.chu.example", .uninspected_tls = true};
	struct rp_flow_context chrome_other = {.comm = "chromium", .host = "intranet.chu.example", .uninspected_tls = true};
	struct rp_flow_context kiosk = {.comm = "kiosk", .exe = "/opt/kiosk/bin/app", .host = "chatgpt.com",
					.uninspected_tls = true};
	struct rp_flow_context firefox = {.comm = "firefox-esr", .host = "chatgpt.com"};
	struct rp_rule_info ri;
	struct rp_verdict v;

	v = verdict(p, &chrome, NULL, 0);
	ck_assert_int_eq(v.action, RP_ACTION_BLOCK);
	ck_assert_str_eq(v.rule_id, "r-unreadable");
	ck_assert_str_eq(v.destination, "openai");
	/* Only unapproved genAI is in scope; the exception exempts its executable. */
	ck_assert_int_eq(verdict(p, &chrome_ours, NULL, 0).action, RP_ACTION_NONE);
	ck_assert_int_eq(verdict(p, &chrome_other, NULL, 0).action, RP_ACTION_NONE);
	ck_assert_int_eq(verdict(p, &kiosk, NULL, 0).action, RP_ACTION_NONE);
	/* Content rules never judge an unreadable flow, and the unreadable rule never a readable one. */
	ck_assert_int_eq(verdict(p, &chrome_other, "fr_nir", 3).action, RP_ACTION_NONE);
	ck_assert_int_eq(verdict(p, &firefox, NULL, 0).action, RP_ACTION_NONE);
	v = verdict(p, &firefox, "fr_nir", 1);
	ck_assert_int_eq(v.action, RP_ACTION_ALERT);
	ck_assert_str_eq(v.rule_id, "r-content");
	/* Holding is for hooked writes: the unreadable rule's block is not a reason to hold. */
	ck_assert_int_eq(rp_policy_prejudge(p, &firefox), RP_ACTION_ALERT);
	ck_assert_int_eq(rp_policy_rule_info(p, 1, &ri), 0);
	ck_assert(ri.uninspected_tls);
	ck_assert_ptr_null(ri.detectors);
	rp_policy_free(p);
}
END_TEST

static bool load_fails_with(const char *json, const char *needle)
{
	struct rp_diag d = {0};
	struct rp_policy *p = NULL;
	int r = rp_policy_load_buffer(json, strlen(json), "inline", &p, &d);

	for (size_t i = 0; i < d.n; i++)
		if (strstr(d.lines[i], needle))
			return r < 0 && !p;
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "  %s\n", d.lines[i]);
	rp_policy_free(p);
	return false;
}

START_TEST(test_uninspected_tls_rule_errors)
{
#define U_HEAD "{\"schema_version\":1,\"name\":\"u\",\"serial\":1,\"rules\":["
	ck_assert(load_fails_with(U_HEAD "{\"id\":\"r\",\"uninspected_tls\":true,\"detectors\":[\"fr_nir\"],"
					 "\"action\":\"block\"}]}",
				  "rules[0]: a rule with \"uninspected_tls\": true matches traffic that cannot be read"));
	ck_assert(load_fails_with(U_HEAD "{\"id\":\"r\",\"uninspected_tls\":true,\"action\":\"hold\"}]}",
				  "rules[0].action: \"hold\" waits for a verdict on content"));
	ck_assert(load_fails_with(U_HEAD "{\"id\":\"r\",\"uninspected_tls\":\"yes\",\"action\":\"block\"}]}",
				  "rules[0].uninspected_tls"));
	/* Without it a rule still needs its detectors. */
	ck_assert(load_fails_with(U_HEAD "{\"id\":\"r\",\"uninspected_tls\":false,\"action\":\"block\"}]}",
				  "rules[0].detectors: required key is missing"));
#undef U_HEAD
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_uninspected_tls_rules);
	tcase_add_test(tc, test_uninspected_tls_rule_errors);

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_default_policy_loads);
	tcase_add_test(tc, test_examples_load);
	tcase_add_test(tc, test_default_genai_verdicts);
	tcase_add_test(tc, test_default_policy_end_to_end);
	tcase_add_test(tc, test_host_matching);
	tcase_add_test(tc, test_address_matching);
	tcase_add_test(tc, test_severity_min_count_and_ties);
	tcase_add_test(tc, test_scopes_users_exe_ports_not);
	tcase_add_test(tc, test_tenants);
	tcase_add_test(tc, test_exceptions);
	tcase_add_test(tc, test_prejudge);
	tcase_add_test(tc, test_settings_defaults);
	tcase_add_test(tc, test_actions_and_null_safety);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_sha256_is_of_bytes);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

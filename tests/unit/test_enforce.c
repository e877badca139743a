/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Enforcement: the BPF and C views of the enforcement structs agree (both objects that share the
 * maps), and the policy's "enforcement" object is parsed and validated as documented.
 */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>


#include "policy.h"
#include "rempart.h"

#include "btf_layout.h"
#include "run_suite.h"

static void check_shared(struct btf *btf)
{
	CHECK_SIZE(btf, rp_flow_ref);
	CHECK_MEMBER(btf, rp_flow_ref, pid);
	CHECK_SIZE(btf, rp_hold_config);
	CHECK_MEMBER(btf, rp_hold_config, heartbeat_ns);
	CHECK_MEMBER(btf, rp_hold_config, window_ns);
	CHECK_MEMBER(btf, rp_hold_config, hold_default);
	CHECK_SIZE(btf, rp_held);
	CHECK_MEMBER(btf, rp_held, ktime_ns);
	CHECK_MEMBER(btf, rp_held, flow_key);
	CHECK_MEMBER(btf, rp_held, offset_end);
	CHECK_MEMBER(btf, rp_held, tid);
	CHECK_SIZE(btf, rp_flow_fd);
	CHECK_SIZE(btf, rp_enforce_gate);
	CHECK_MEMBER(btf, rp_enforce_gate, kill_any);
	CHECK_MEMBER(btf, rp_enforce_gate, block_any);
}

START_TEST(enforce_structs_agree)
{
	struct btf *btf = load_btf("enforce.bpf.o");

	check_shared(btf);
	CHECK_SIZE(btf, rp_hold_record);
	CHECK_MEMBER(btf, rp_hold_record, id);
	CHECK_MEMBER(btf, rp_hold_record, offset_end);
	CHECK_MEMBER(btf, rp_hold_record, write_len);
	CHECK_SIZE(btf, rp_lpm4_key);
	CHECK_MEMBER(btf, rp_lpm4_key, addr);
	CHECK_SIZE(btf, rp_lpm6_key);
	CHECK_MEMBER(btf, rp_lpm6_key, addr);
	CHECK_SIZE(btf, rp_net_config);
	CHECK_MEMBER(btf, rp_net_config, self_tgid);
	btf__free(btf);

	/* The capture object reuses the same maps: same layouts there. */
	btf = load_btf("capture.bpf.o");
	check_shared(btf);
	btf__free(btf);

	ck_assert_int_eq(sizeof(struct rp_hold_record) % 8, 0);
	ck_assert_int_eq(sizeof(struct rp_lpm6_key), 20); /* prefixlen then data, no padding */
}
END_TEST

#define BASE_POLICY "{\"schema_version\": 1, \"name\": \"t\", \"serial\": 1,"\
				 " \"destinations\": [{\"name\": \"paste\", \"category\": \"paste\","\
				 " \"hosts\": [\"paste.example.net\", \"*.paste.example.net\"], \"addresses\": [\"198.51.100.0/24\"]}],"\
				 " \"rules\": [{\"id\": \"r\", \"detectors\": [\"fr_nir\"], \"action\": \"block\"}]%s}"

static int parse(const char *enforcement, struct rp_enforcement_settings **out, struct rp_diag *diag)
{
	char json[4096];
	struct rp_policy *p = NULL;
	int r;

	snprintf(json, sizeof(json), BASE_POLICY, enforcement);
	r = rp_policy_load_buffer_ex(json, strlen(json), "test", RP_POLICY_NO_COMPILE, &p, diag);
	if (r < 0)
		return r;
	r = rp_policy_enforcement_parse(p, json, strlen(json), out, diag);
	/* The loader keeps the same settings with the policy. */
	ck_assert_ptr_nonnull(rp_policy_enforcement(p));
	if (r == 0) {
		ck_assert_int_eq(rp_policy_enforcement(p)->n_deny_addrs, (*out)->n_deny_addrs);
		ck_assert_int_eq(rp_policy_enforcement(p)->block_quic, (*out)->block_quic);
	}
	rp_policy_free(p);
	return r;
}

START_TEST(enforcement_defaults)
{
	struct rp_enforcement_settings *s = NULL;
	struct rp_diag diag = {0};
	bool firefox = false;

	ck_assert_int_eq(parse("", &s, &diag), 0);
	ck_assert(s->block_quic);
	ck_assert(!s->kill_if_unstoppable);
	ck_assert_int_eq(s->n_deny_addrs, 0);
	for (char **c = s->quic_comm; c && *c; c++)
		firefox = firefox || strcmp(*c, "firefox-esr") == 0;
	ck_assert(firefox);
	rp_enforcement_settings_free(s);
}
END_TEST

START_TEST(enforcement_full)
{
	struct rp_enforcement_settings *s = NULL;
	struct rp_diag diag = {0};

	ck_assert_int_eq(parse(", \"enforcement\": {\"deny\": [\"203.0.113.7\", \"2001:db8::/32\", \"Exfil.Example.COM\"],"
			       " \"deny_destinations\": [\"paste\"], \"block_quic\": false, \"quic_comm\": [\"brave\"],"
			       " \"kill_if_unstoppable\": true}",
			       &s, &diag),
			 0);
	ck_assert(!s->block_quic);
	ck_assert(s->kill_if_unstoppable);
	ck_assert_int_eq(s->n_deny_addrs, 3); /* 203.0.113.7/32, 2001:db8::/32, 198.51.100.0/24 */
	ck_assert_int_eq(s->deny_addrs[0].family, AF_INET);
	ck_assert_int_eq(s->deny_addrs[0].prefix, 32);
	ck_assert_int_eq(s->deny_addrs[1].family, AF_INET6);
	ck_assert_int_eq(s->deny_addrs[1].prefix, 32);
	ck_assert_int_eq(s->deny_addrs[2].prefix, 24);
	ck_assert_str_eq(s->deny_hosts[0], "exfil.example.com");
	ck_assert_str_eq(s->deny_hosts[1], "paste.example.net"); /* the wildcard is skipped */
	ck_assert_ptr_null(s->deny_hosts[2]);
	ck_assert_str_eq(s->quic_comm[0], "brave");
	ck_assert_ptr_null(s->quic_comm[1]);
	rp_enforcement_settings_free(s);
}
END_TEST

START_TEST(enforcement_errors)
{
	static const struct {
		const char *json, *diag;
	} cases[] = {
		{", \"enforcement\": []", "enforcement: expected an object"},
		{", \"enforcement\": {\"denny\": []}", "enforcement.denny: unknown key"},
		{", \"enforcement\": {\"deny\": [\"*.example.com\"]}", "enforcement.deny[0]:"},
		{", \"enforcement\": {\"deny\": [\"10.0.0.0/33\"]}", "enforcement.deny[0]:"},
		{", \"enforcement\": {\"deny\": [42]}", "enforcement.deny[0]: expected a string"},
		{", \"enforcement\": {\"deny_destinations\": [\"nope\"]}", "unknown destination"},
		{", \"enforcement\": {\"block_quic\": \"yes\"}", "enforcement.block_quic: expected true or false"},
		{", \"enforcement\": {\"quic_comm\": [\"a-very-long-process-name\"]}", "enforcement.quic_comm[0]"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rp_enforcement_settings *s = NULL;
		struct rp_diag diag = {0};

		ck_assert_int_eq(parse(cases[i].json, &s, &diag), -EINVAL);
		ck_assert_ptr_null(s);
		ck_assert_msg(diag.n >= 1 && strstr(diag.lines[0], cases[i].diag), "case %zu: got '%s'", i,
			      diag.n ? diag.lines[0] : "(none)");
	}
}
END_TEST

START_TEST(hold_destination_dependency)
{
	static const char *plain = "{\"schema_version\": 1, \"name\": \"t\", \"serial\": 1, \"rules\": [{\"id\": \"r\","
				   " \"detectors\": [\"fr_nir\"], \"action\": \"hold\", \"scope\": {\"comm\": [\"curl\"]}}]}";
	static const char *by_addr = "{\"schema_version\": 1, \"name\": \"t\", \"serial\": 1, \"rules\": [{\"id\": \"r\","
				     " \"detectors\": [\"fr_nir\"], \"action\": \"hold\", \"scope\": {\"addresses\": [\"10.0.0.0/8\"]}},"
				     " {\"id\": \"b\", \"detectors\": [\"fr_nir\"], \"action\": \"block\","
				     " \"scope\": {\"ports\": [443]}}]}";
	struct rp_policy *p = NULL;
	struct rp_diag diag = {0};

	ck_assert_int_eq(rp_policy_load_buffer_ex(plain, strlen(plain), "t", RP_POLICY_NO_COMPILE, &p, &diag), 0);
	ck_assert(!rp_policy_hold_depends_on_destination(p));
	rp_policy_free(p);
	p = NULL;
	ck_assert_int_eq(rp_policy_load_buffer_ex(by_addr, strlen(by_addr), "t", RP_POLICY_NO_COMPILE, &p, &diag), 0);
	ck_assert(rp_policy_hold_depends_on_destination(p));
	rp_policy_free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("enforce");
	TCase *tc = tcase_create("enforce");

	tcase_add_test(tc, enforce_structs_agree);
	tcase_add_test(tc, enforcement_defaults);
	tcase_add_test(tc, enforcement_full);
	tcase_add_test(tc, enforcement_errors);
	tcase_add_test(tc, hold_destination_dependency);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

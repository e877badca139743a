/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BPF and userspace must agree on every struct that crosses the ring buffer. Read the layout the
 * BPF compiler produced from the object's BTF and compare it with this compiler's view.
 */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btf_layout.h"
#include "rempart.h"
#include "run_suite.h"

START_TEST(capture_records_agree)
{
	struct btf *btf = load_btf("capture.bpf.o");

	CHECK_SIZE(btf, rp_record_header);
	CHECK_MEMBER(btf, rp_record_header, type);
	CHECK_MEMBER(btf, rp_record_header, size);
	CHECK_MEMBER(btf, rp_record_header, ktime_ns);

	CHECK_SIZE(btf, rp_flow_identity);
	CHECK_MEMBER(btf, rp_flow_identity, flow_key);
	CHECK_MEMBER(btf, rp_flow_identity, sock_cookie);
	CHECK_MEMBER(btf, rp_flow_identity, pid);
	CHECK_MEMBER(btf, rp_flow_identity, uid);
	CHECK_MEMBER(btf, rp_flow_identity, source);
	CHECK_MEMBER(btf, rp_flow_identity, family);
	CHECK_MEMBER(btf, rp_flow_identity, lport);
	CHECK_MEMBER(btf, rp_flow_identity, rport);
	CHECK_MEMBER(btf, rp_flow_identity, laddr);
	CHECK_MEMBER(btf, rp_flow_identity, raddr);
	CHECK_MEMBER(btf, rp_flow_identity, comm);

	CHECK_SIZE(btf, rp_data_record);
	CHECK_MEMBER(btf, rp_data_record, id);
	CHECK_MEMBER(btf, rp_data_record, flow_offset);
	CHECK_MEMBER(btf, rp_data_record, write_len);
	CHECK_MEMBER(btf, rp_data_record, len);
	CHECK_MEMBER(btf, rp_data_record, data);

	CHECK_SIZE(btf, rp_gap_record);
	CHECK_MEMBER(btf, rp_gap_record, flow_offset);
	CHECK_MEMBER(btf, rp_gap_record, len);
	CHECK_MEMBER(btf, rp_gap_record, reason);

	CHECK_SIZE(btf, rp_flow_end_record);
	CHECK_SIZE(btf, rp_tls_hello_record);
	CHECK_MEMBER(btf, rp_tls_hello_record, id);
	CHECK_MEMBER(btf, rp_tls_hello_record, write_len);
	CHECK_MEMBER(btf, rp_tls_hello_record, len);
	CHECK_MEMBER(btf, rp_tls_hello_record, data);
	CHECK_SIZE(btf, rp_libs_changed_record);
	CHECK_MEMBER(btf, rp_libs_changed_record, pid);
	CHECK_SIZE(btf, rp_runtime_config);
	CHECK_MEMBER(btf, rp_runtime_config, write_budget);
	CHECK_MEMBER(btf, rp_runtime_config, enabled);
	CHECK_SIZE(btf, rp_counters);
	btf__free(btf);
}
END_TEST

START_TEST(records_are_8_byte_multiples)
{
	/* Ring buffer records are 8-byte aligned; a struct that is not a multiple of 8 hides padding. */
	ck_assert_int_eq(sizeof(struct rp_record_header) % 8, 0);
	ck_assert_int_eq(sizeof(struct rp_flow_identity) % 8, 0);
	ck_assert_int_eq(sizeof(struct rp_data_record) % 8, 0);
	ck_assert_int_eq(sizeof(struct rp_gap_record) % 8, 0);
	ck_assert_int_eq(sizeof(struct rp_flow_end_record) % 8, 0);
	ck_assert_int_eq(sizeof(struct rp_tls_hello_record) % 8, 0);
	ck_assert_int_eq(sizeof(struct rp_libs_changed_record) % 8, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("abi");
	TCase *tc = tcase_create("layout");

	tcase_add_test(tc, capture_records_agree);
	tcase_add_test(tc, records_are_8_byte_multiples);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where uprobes go: past a straight-line prologue to the first relative branch, only over
 * instructions known exactly and that keep rdi/rsi/rdx; the entry when in doubt.
 */
#include <check.h>
#include <stdlib.h>

#include "daemon.h"
#include "run_suite.h"

START_TEST(openssl3_ssl_write)
{
	/* sub $0x18,%rsp; mov %fs:0x28,%rax; mov %rax,0x8(%rsp); xor %eax,%eax; test %edx,%edx; js */
	static const uint8_t code[] = {0x48, 0x83, 0xec, 0x18, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00,
				       0x48, 0x89, 0x44, 0x24, 0x08, 0x31, 0xc0, 0x85, 0xd2, 0x78, 0x2f, 0x48, 0x89};
	ck_assert_uint_eq(rp_probe_site(code, sizeof(code)), 22);
}
END_TEST

START_TEST(openssl3_ssl_write_ex)
{
	/* sub $0x8,%rsp; call rel32 */
	static const uint8_t code[] = {0x48, 0x83, 0xec, 0x08, 0xe8, 0x87, 0xfb, 0xff, 0xff, 0x31, 0xd2};
	ck_assert_uint_eq(rp_probe_site(code, sizeof(code)), 4);
}
END_TEST

START_TEST(node_ssl_write)
{
	/* push %rbp; mov %rsp,%rbp; push %r14; push %r13; push %r12; sub $0x48,%rsp; test %edx,%edx; js rel32 */
	static const uint8_t code[] = {0x55, 0x48, 0x89, 0xe5, 0x41, 0x56, 0x41, 0x55, 0x41, 0x54, 0x48,
				       0x83, 0xec, 0x48, 0x85, 0xd2, 0x0f, 0x88, 0x1d, 0x01, 0x00, 0x00};
	ck_assert_uint_eq(rp_probe_site(code, sizeof(code)), 16);
}
END_TEST

START_TEST(argument_register_written_stops)
{
	/* endbr64; xor %edi,%edi; jmp: rdi is clobbered before the branch -> entry */
	static const uint8_t xor_rdi[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x31, 0xff, 0xeb, 0x00};
	/* mov %rbx,%rsi then jcc -> entry */
	static const uint8_t mov_rsi[] = {0x48, 0x89, 0xde, 0x74, 0x02};
	/* mov %rcx,%r14 writes r14 (REX.B), not rsi -> fine */
	static const uint8_t mov_r14[] = {0x49, 0x89, 0xce, 0x74, 0x02};
	ck_assert_uint_eq(rp_probe_site(xor_rdi, sizeof(xor_rdi)), 0);
	ck_assert_uint_eq(rp_probe_site(mov_rsi, sizeof(mov_rsi)), 0);
	ck_assert_uint_eq(rp_probe_site(mov_r14, sizeof(mov_r14)), 3);
}
END_TEST

START_TEST(unknown_or_truncated_stays_at_entry)
{
	/* mov (%rdi),%rax; jmp *0x18(%rax): a memory load we do not decode -> entry */
	static const uint8_t nspr[] = {0x48, 0x8b, 0x07, 0xff, 0x60, 0x18};
	/* a prologue cut before its branch */
	static const uint8_t cut[] = {0x48, 0x83, 0xec};
	/* 64 bytes of pushes and no branch */
	uint8_t pushes[80];
	for (size_t i = 0; i < sizeof(pushes); i++)
		pushes[i] = 0x53;
	ck_assert_uint_eq(rp_probe_site(nspr, sizeof(nspr)), 0);
	ck_assert_uint_eq(rp_probe_site(cut, sizeof(cut)), 0);
	ck_assert_uint_eq(rp_probe_site(pushes, sizeof(pushes)), 0);
	ck_assert_uint_eq(rp_probe_site(NULL, 0), 0);
}
END_TEST

START_TEST(branch_at_entry)
{
	static const uint8_t jmp[] = {0xe9, 0x00, 0x00, 0x00, 0x00};
	ck_assert_uint_eq(rp_probe_site(jmp, sizeof(jmp)), 0);
}
END_TEST

START_TEST(go_functions_past_the_stack_check)
{
	/* crypto/tls.(*Conn).Write, Go 1.19: lea -0x68(%rsp),%r12; cmp 0x10(%r14),%r12; jbe rel32 */
	static const uint8_t write[] = {0x4c, 0x8d, 0x64, 0x24, 0x98, 0x4d, 0x3b, 0x66, 0x10, 0x0f,
					0x86, 0x64, 0x07, 0x00, 0x00, 0x48, 0x81, 0xec, 0xe8, 0x00};
	/* (*Conn).handshakeContext: lea -0x140(%rsp),%r12 (disp32) */
	static const uint8_t big[] = {0x4c, 0x8d, 0xa4, 0x24, 0xc0, 0xfe, 0xff, 0xff, 0x4d, 0x3b,
				      0x66, 0x10, 0x0f, 0x86, 0x67, 0x05, 0x00, 0x00, 0x48};
	/* (*Conn).Close: cmp 0x10(%r14),%rsp; jbe rel32 */
	static const uint8_t close_[] = {0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x15, 0x01, 0x00, 0x00, 0x48, 0x83};
	/* a small frame: cmp 0x10(%r14),%rsp; jbe rel8 */
	static const uint8_t small[] = {0x49, 0x3b, 0x66, 0x10, 0x76, 0x20, 0x55};
	/* lea into r12 but compared through rsp (not a form Go writes), C code, truncated */
	static const uint8_t mixed[] = {0x4c, 0x8d, 0x64, 0x24, 0x98, 0x49, 0x3b, 0x66, 0x10, 0x76, 0x20};
	static const uint8_t c_code[] = {0x48, 0x83, 0xec, 0x08, 0xe8, 0x87, 0xfb, 0xff, 0xff};

	ck_assert_uint_eq(rp_go_probe_site(write, sizeof(write)), 15);
	ck_assert_uint_eq(rp_go_probe_site(big, sizeof(big)), 18);
	ck_assert_uint_eq(rp_go_probe_site(close_, sizeof(close_)), 10);
	ck_assert_uint_eq(rp_go_probe_site(small, sizeof(small)), 6);
	ck_assert_uint_eq(rp_go_probe_site(mixed, sizeof(mixed)), 0);
	ck_assert_uint_eq(rp_go_probe_site(c_code, sizeof(c_code)), 0);
	ck_assert_uint_eq(rp_go_probe_site(write, 12), 0);
	ck_assert_uint_eq(rp_go_probe_site(small, 5), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("probe_site");
	TCase *tc = tcase_create("prologues");

	tcase_add_test(tc, openssl3_ssl_write);
	tcase_add_test(tc, go_functions_past_the_stack_check);
	tcase_add_test(tc, openssl3_ssl_write_ex);
	tcase_add_test(tc, node_ssl_write);
	tcase_add_test(tc, argument_register_written_stops);
	tcase_add_test(tc, unknown_or_truncated_stays_at_entry);
	tcase_add_test(tc, branch_at_entry);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

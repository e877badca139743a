/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where to put a uprobe in a function so that it costs least. At the entry, the kernel usually
 * has to single-step the displaced instruction (sub $n,%rsp; push on kernels before 6.x), a
 * second trap that costs tens of microseconds in a VM. Relative branches (jcc, jmp, call) are
 * emulated instead. So: walk the function's straight-line prologue over instructions we know
 * exactly and that leave the argument registers alone, and probe at the first relative branch.
 * Anything unknown stops the walk at the entry: a wrong guess would corrupt the program, so only
 * exact encodings are accepted.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

#define MAX_WALK 64

/* Registers our programs read: rdi, rsi, rdx (arguments 1 to 3), numbered as in ModRM. */
static bool is_arg_reg(unsigned reg, bool rex_ext)
{
	return !rex_ext && (reg == 7 || reg == 6 || reg == 2);
}

/* Length of a relative branch at p, or 0 when it is not one. */
static size_t rel_branch_len(const uint8_t *p, size_t n)
{
	if (n >= 2 && (p[0] >= 0x70 && p[0] <= 0x7f)) /* jcc rel8 */
		return 2;
	if (n >= 2 && p[0] == 0xeb) /* jmp rel8 */
		return 2;
	if (n >= 5 && (p[0] == 0xe8 || p[0] == 0xe9)) /* call/jmp rel32 */
		return 5;
	if (n >= 6 && p[0] == 0x0f && p[1] >= 0x80 && p[1] <= 0x8f) /* jcc rel32 */
		return 6;
	return 0;
}

/* Length of a known, argument-preserving, non-branching instruction at p, or 0. */
static size_t safe_insn_len(const uint8_t *p, size_t n)
{
	uint8_t rex = 0;
	size_t i = 0;

	if (n >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) /* endbr64 */
		return 4;
	/* mov %fs:0x28,%rax (stack protector canary) */
	if (n >= 9 && p[0] == 0x64 && p[1] == 0x48 && p[2] == 0x8b && p[3] == 0x04 && p[4] == 0x25 && p[5] == 0x28 &&
	    p[6] == 0 && p[7] == 0 && p[8] == 0)
		return 9;
	if (n >= 1 && p[0] >= 0x50 && p[0] <= 0x57) /* push r64 */
		return 1;
	if (n >= 2 && p[0] == 0x41 && p[1] >= 0x50 && p[1] <= 0x57) /* push r8-r15 */
		return 2;
	if (n >= 1 && (p[0] & 0xf0) == 0x40) /* REX prefix */
		rex = p[i++];
	if (n < i + 2)
		return 0;
	uint8_t op = p[i], modrm = p[i + 1];
	unsigned mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
	bool rex_r = rex & 4, rex_b = rex & 1;

	switch (op) {
	case 0x83: /* sub/add $imm8,%rsp */
		if (rex == 0x48 && (modrm == 0xec || modrm == 0xc4) && n >= i + 3)
			return i + 3;
		return 0;
	case 0x81: /* sub/add $imm32,%rsp */
		if (rex == 0x48 && (modrm == 0xec || modrm == 0xc4) && n >= i + 6)
			return i + 6;
		return 0;
	case 0x89: /* mov reg,reg or mov reg,disp8(%rsp) */
		if (mod == 3)
			return is_arg_reg(rm, rex_b) ? 0 : i + 2; /* writes rm */
		if (mod == 1 && rm == 4 && n >= i + 4 && p[i + 2] == 0x24) /* [rsp + disp8] */
			return i + 4;
		return 0;
	case 0x31: /* xor r32,r32: zeroes one register */
		if (mod == 3 && reg == rm && rex_r == rex_b)
			return is_arg_reg(rm, rex_b) ? 0 : i + 2;
		return 0;
	case 0x85: /* test reg,reg: writes flags only */
		if (mod == 3)
			return i + 2;
		return 0;
	default:
		return 0;
	}
}

size_t rp_probe_site(const uint8_t *code, size_t len)
{
	size_t off = 0;

	if (len > MAX_WALK)
		len = MAX_WALK;
	while (off < len) {
		size_t n;
		if (rel_branch_len(code + off, len - off))
			return off;
		n = safe_insn_len(code + off, len - off);
		if (n == 0)
			return 0;
		off += n;
	}
	return 0;
}

/*
 * A Go function (register ABI) starts by comparing the stack pointer, or a pointer below it,
 * with the goroutine's stack guard, and branches to grow the stack. Growing the stack restarts
 * the function from its entry, so a probe at the entry (or on that branch) would see one call
 * twice: the probe goes just after the branch, where the arguments are still in their registers
 * and the stack is known to be big enough. Returns that offset, or 0 when the prologue is not
 * one of these exact forms.
 */
size_t rp_go_probe_site(const uint8_t *code, size_t len)
{
	size_t off = 0;
	bool via_r12 = false;

	/* lea -N(%rsp),%r12, disp8 or disp32 */
	if (len >= 5 && code[0] == 0x4c && code[1] == 0x8d && code[2] == 0x64 && code[3] == 0x24) {
		off = 5, via_r12 = true;
	} else if (len >= 8 && code[0] == 0x4c && code[1] == 0x8d && code[2] == 0xa4 && code[3] == 0x24) {
		off = 8, via_r12 = true;
	}
	/* cmp 0x10(%r14),%rsp or cmp 0x10(%r14),%r12: the g's stackguard0 */
	if (len < off + 4 || code[off] != (via_r12 ? 0x4d : 0x49) || code[off + 1] != 0x3b || code[off + 2] != 0x66 ||
	    code[off + 3] != 0x10)
		return 0;
	off += 4;
	if (len >= off + 2 && code[off] == 0x76) /* jbe rel8 */
		return off + 2;
	if (len >= off + 6 && code[off] == 0x0f && code[off + 1] == 0x86) /* jbe rel32 */
		return off + 6;
	return 0;
}

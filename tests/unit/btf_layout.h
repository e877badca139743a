/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Check helpers for tests comparing a BPF object's view of a shared struct (from its BTF) with
 * this compiler's: include once per test file.
 */
#ifndef REMPART_TEST_BTF_LAYOUT_H
#define REMPART_TEST_BTF_LAYOUT_H

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>

#ifndef REMPART_SKEL_DIR
#error "REMPART_SKEL_DIR must point at the built BPF objects"
#endif

static struct btf *load_btf(const char *obj)
{
	char path[4096];
	struct btf *btf;

	snprintf(path, sizeof(path), "%s/%s", REMPART_SKEL_DIR, obj);
	btf = btf__parse_elf(path, NULL);
	ck_assert_msg(btf != NULL, "cannot read BTF from %s", path);
	return btf;
}

static const struct btf_type *find_struct(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
	ck_assert_msg(id > 0, "struct %s not in BPF object", name);
	return btf__type_by_id(btf, (__u32)id);
}

/* Offset in bytes of member `member` of struct `name` as the BPF compiler laid it out. */
static long bpf_offset(const struct btf *btf, const char *name, const char *member)
{
	const struct btf_type *t = find_struct(btf, name);
	const struct btf_member *m = btf_members(t);

	for (unsigned i = 0; i < btf_vlen(t); i++, m++)
		if (strcmp(btf__name_by_offset(btf, m->name_off), member) == 0)
			return (long)(btf_member_bit_offset(t, i) / 8);
	ck_abort_msg("member %s.%s not in BPF object", name, member);
	return -1;
}

#define CHECK_MEMBER(btf, type, member)                                                           \
	ck_assert_int_eq(bpf_offset(btf, #type, #member), (long)offsetof(struct type, member))
#define CHECK_SIZE(btf, type) ck_assert_int_eq((long)find_struct(btf, #type)->size, (long)sizeof(struct type))

#endif

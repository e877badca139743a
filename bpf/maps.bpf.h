/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Helpers shared by the BPF programs: counters and small map utilities. BPF side only. */
#ifndef REMPART_MAPS_BPF_H
#define REMPART_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "rempart.h"

/* Per-CPU counters, read and summed by userspace (rempart status). Never bpf_printk. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += n; /* per-CPU slot: no atomic needed */
}

#endif

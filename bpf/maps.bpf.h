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
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_counters);
} counters SEC(".maps");

/* This CPU's counters: a hot path looks them up once (a helper call each time costs). */
static __always_inline struct rp_counters *counters_here(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline void count_to(struct rp_counters *cn, __u32 idx, __u64 n)
{
	if (cn && idx < RP_CNT__MAX)
		cn->v[idx] += n; /* per-CPU slot: no atomic needed */
}

static __always_inline void count_add(__u32 idx, __u64 n)
{
	count_to(counters_here(), idx, n);
}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Enforcement state shared by the capture programs (capture.bpf.c calls the two hooks below from
 * its TLS write path) and the cgroup/tracepoint programs of enforce.bpf.c. Both objects define
 * these maps by the same names; userspace (agent/rempartd/enforce.c) creates them once, with the
 * enforce object, and makes the capture object reuse them before it loads.
 *
 * What the TLS hooks do, and why (uprobes cannot change a return value):
 *   - a pid in rp_kill_pids gets SIGKILL at its next hooked write (the daemon kill(2)s it too);
 *   - a write on a flow in rp_blocked_flows is not captured (its socket was destroyed or its
 *     packets are dropped, so the write fails or goes nowhere); when neither was possible and the
 *     policy allows it, the writer is killed before the write runs;
 *   - a write on a held flow (hold mode) is captured, announced by a HOLD record, and the writer is
 *     stopped with SIGSTOP before the TLS library encrypts anything; the daemon resumes it
 *     (SIGCONT) or blocks/kills it. Never when the daemon's heartbeat is stale.
 *   - capture's socket link (the TLS library's write/send syscall that follows a TLS write, see
 *     capture.bpf.c) also records the flow's socket fd in rp_flow_fds, for the daemon to find the
 *     socket of a flow whose records do not carry its cookie yet.
 */
#ifndef REMPART_ENFORCE_HOOKS_BPF_H
#define REMPART_ENFORCE_HOOKS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "rempart.h"

#define RP_SIGKILL 9
#define RP_SIGSTOP 19

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_ECNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} rp_enforce_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct rp_flow_ref);
	__type(value, __u32); /* enum rp_block_flags */
} rp_blocked_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);   /* tgid */
	__type(value, __u64); /* ktime when marked */
} rp_kill_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_enforce_gate);
} rp_enforce_gate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_hold_config);
} rp_hold_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct rp_flow_ref);
	__type(value, __u32); /* enum rp_hold_mode */
} rp_hold_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, struct rp_held);
} rp_held SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct rp_flow_ref);
	__type(value, struct rp_flow_fd);
} rp_flow_fds SEC(".maps");

static __always_inline void rp_ecount(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&rp_enforce_counters, &idx);

	if (v)
		*v += 1;
}

/* At the top of a TLS write. Returns 1 when the write must not be captured. */
static __always_inline int rp_enforce_on_write(__u64 flow_key, __u32 tgid)
{
	struct rp_flow_ref ref = {.flow_key = flow_key, .pid = tgid};
	struct rp_enforce_gate *gate;
	__u32 *flags, zero = 0;

	gate = bpf_map_lookup_elem(&rp_enforce_gate, &zero);
	if ((!gate || gate->kill_any) && bpf_map_lookup_elem(&rp_kill_pids, &tgid)) {
		bpf_send_signal(RP_SIGKILL);
		rp_ecount(RP_ECNT_KILL_SIGNALS);
		return 1;
	}
	flags = !gate || gate->block_any ? bpf_map_lookup_elem(&rp_blocked_flows, &ref) : NULL;
	if (flags) {
		rp_ecount(RP_ECNT_BLOCKED_WRITES);
		if (*flags & RP_BLOCK_KILL_WRITER) {
			bpf_send_signal(RP_SIGKILL);
			rp_ecount(RP_ECNT_KILL_SIGNALS);
		}
		return 1;
	}
	return 0;
}

/* The TLS object is freed: its address may come back for another flow of the same process. */
static __always_inline void rp_enforce_on_free(__u64 flow_key, __u32 tgid)
{
	struct rp_flow_ref ref = {.flow_key = flow_key, .pid = tgid};

	bpf_map_delete_elem(&rp_blocked_flows, &ref);
	bpf_map_delete_elem(&rp_flow_fds, &ref);
	bpf_map_delete_elem(&rp_hold_flows, &ref);
}

/*
 * After the write's DATA/GAP records were emitted into rb: stop the writer if its flow is held.
 * The HOLD record follows the data in the ring buffer, so the daemon has scanned the write when
 * it reads it. SIGSTOP is delivered on the way back to user space, before the TLS function runs.
 */
static __always_inline void rp_enforce_after_write(void *rb, const struct rp_flow_identity *id, __u64 offset_end,
						   __u64 write_len)
{
	struct rp_flow_ref ref = {.flow_key = id->flow_key, .pid = id->pid};
	struct rp_hold_config *cfg;
	struct rp_hold_record *rec;
	struct rp_held held = {};
	__u32 zero = 0, *mode;
	__u64 now;

	cfg = bpf_map_lookup_elem(&rp_hold_cfg, &zero);
	/* hold_default is set exactly when the policy has a hold rule, the only way a flow's mode
	 * can be "hold": without one, every write is spared the two lookups below. */
	if (!cfg || !cfg->hold_default)
		return;
	mode = bpf_map_lookup_elem(&rp_hold_flows, &ref);
	if (!mode) {
		/* Not judged yet: the process's answer (flow_key 0), else the default. */
		struct rp_flow_ref proc = {.flow_key = 0, .pid = id->pid};

		mode = bpf_map_lookup_elem(&rp_hold_flows, &proc);
	}
	if (mode ? *mode != RP_HOLD_YES : !cfg->hold_default)
		return;
	now = bpf_ktime_get_ns();
	if (now > cfg->heartbeat_ns + cfg->window_ns) {
		rp_ecount(RP_ECNT_HOLD_STALE);
		return;
	}
	rec = bpf_ringbuf_reserve(rb, sizeof(*rec), 0);
	if (!rec) {
		rp_ecount(RP_ECNT_HOLD_LOST);
		return;
	}
	held.ktime_ns = now;
	held.flow_key = id->flow_key;
	held.offset_end = offset_end;
	held.tid = id->tid;
	if (bpf_map_update_elem(&rp_held, &ref.pid, &held, BPF_ANY) < 0) {
		bpf_ringbuf_discard(rec, 0);
		rp_ecount(RP_ECNT_HOLD_LOST);
		return;
	}
	rec->hdr.type = RP_REC_HOLD;
	rec->hdr.flags = 0;
	rec->hdr.size = sizeof(*rec);
	rec->hdr.ktime_ns = now;
	__builtin_memcpy(&rec->id, id, sizeof(*id));
	rec->offset_end = offset_end;
	rec->write_len = write_len;
	/* Signal first: the daemon may answer (SIGCONT) as soon as it reads the record, and a
	 * SIGCONT sent before the stop takes effect cancels it, which is what release means. */
	bpf_send_signal(RP_SIGSTOP);
	rp_ecount(RP_ECNT_HOLD_STOPS);
	bpf_ringbuf_submit(rec, BPF_RB_FORCE_WAKEUP); /* the writer waits for it */
}

#endif

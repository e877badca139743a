// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Enforcement programs, attached to the cgroup v2 root (so to every process) and to the exec
 * tracepoint:
 *   cgroup_skb/egress      drop every packet of a blocked socket (by socket cookie)
 *   cgroup/connect4|6      refuse denied destinations (LPM tries) and UDP/443 for browsers (QUIC)
 *   cgroup/sendmsg4|6      the same for unconnected UDP sends
 *   sched_process_exec     forget a process's hold answer when it runs another program
 * A TLS flow's socket fd (rp_flow_fds) is recorded by capture's socket link, which already runs
 * on every write syscall: a second program there cost every write on the machine a map lookup.
 * Returning 0 from a cgroup sock_addr program makes connect()/sendmsg() fail with EPERM.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "rempart.h"
#include "enforce_hooks.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Keep the shared structs in BTF for tests/unit/test_abi.c. */
const struct rp_hold_record *unused_hold_record __attribute__((unused));
const struct rp_held *unused_held __attribute__((unused));
const struct rp_hold_config *unused_hold_config __attribute__((unused));
const struct rp_net_config *unused_net_config __attribute__((unused));

#define RP_IPPROTO_UDP 17
#define RP_QUIC_PORT 443

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* socket cookie */
	__type(value, __u64); /* ktime when blocked */
} rp_blocked_cookies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rp_lpm4_key);
	__type(value, __u8);
} rp_deny4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rp_lpm6_key);
	__type(value, __u8);
} rp_deny6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, char[RP_COMM_LEN]); /* zero-padded process name */
	__type(value, __u8);
} rp_quic_comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_net_config);
} rp_net_cfg SEC(".maps");

SEC("cgroup_skb/egress")
int rp_egress(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);

	if (cookie && bpf_map_lookup_elem(&rp_blocked_cookies, &cookie)) {
		rp_ecount(RP_ECNT_EGRESS_DROPPED);
		return 0;
	}
	return 1;
}

static __always_inline struct rp_net_config *net_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&rp_net_cfg, &zero);
}

static __always_inline bool is_self(const struct rp_net_config *cfg)
{
	return cfg && (__u32)(bpf_get_current_pid_tgid() >> 32) == cfg->self_tgid;
}

/* UDP to port 443 from a process whose name is in rp_quic_comms. user_port is network order. */
static __always_inline bool quic_refused(const struct rp_net_config *cfg, struct bpf_sock_addr *ctx)
{
	char comm[RP_COMM_LEN] = {};

	if (!cfg || !cfg->block_quic || ctx->protocol != RP_IPPROTO_UDP)
		return false;
	if (ctx->user_port != bpf_htons(RP_QUIC_PORT))
		return false;
	bpf_get_current_comm(comm, sizeof(comm));
	return bpf_map_lookup_elem(&rp_quic_comms, comm) != NULL;
}

static __always_inline bool denied4(struct bpf_sock_addr *ctx)
{
	struct rp_lpm4_key k = {.prefixlen = 32};
	__u32 ip = ctx->user_ip4;

	__builtin_memcpy(k.addr, &ip, 4);
	return bpf_map_lookup_elem(&rp_deny4, &k) != NULL;
}

static __always_inline bool denied6(struct bpf_sock_addr *ctx)
{
	struct rp_lpm6_key k = {.prefixlen = 128};
	__u32 w;

	/* 4-byte loads only: that is what the context allows for user_ip6[]. */
	w = ctx->user_ip6[0];
	__builtin_memcpy(&k.addr[0], &w, 4);
	w = ctx->user_ip6[1];
	__builtin_memcpy(&k.addr[4], &w, 4);
	w = ctx->user_ip6[2];
	__builtin_memcpy(&k.addr[8], &w, 4);
	w = ctx->user_ip6[3];
	__builtin_memcpy(&k.addr[12], &w, 4);
	/* IPv4-mapped addresses (::ffff:a.b.c.d) are checked against the IPv4 list too. */
	if (k.addr[10] == 0xff && k.addr[11] == 0xff) {
		struct rp_lpm4_key k4 = {.prefixlen = 32};
		__u64 hi;

		__builtin_memcpy(&hi, &k.addr[0], 8);
		if (hi == 0 && k.addr[8] == 0 && k.addr[9] == 0) {
			__builtin_memcpy(k4.addr, &k.addr[12], 4);
			if (bpf_map_lookup_elem(&rp_deny4, &k4))
				return true;
		}
	}
	return bpf_map_lookup_elem(&rp_deny6, &k) != NULL;
}

static __always_inline int decide(struct bpf_sock_addr *ctx, bool denied)
{
	struct rp_net_config *cfg = net_cfg();

	if (is_self(cfg))
		return 1;
	if (denied) {
		rp_ecount(RP_ECNT_CONNECT_DENIED);
		return 0;
	}
	if (quic_refused(cfg, ctx)) {
		rp_ecount(RP_ECNT_QUIC_DENIED);
		return 0;
	}
	return 1;
}

SEC("cgroup/connect4")
int rp_connect4(struct bpf_sock_addr *ctx)
{
	return decide(ctx, denied4(ctx));
}

SEC("cgroup/connect6")
int rp_connect6(struct bpf_sock_addr *ctx)
{
	return decide(ctx, denied6(ctx));
}

SEC("cgroup/sendmsg4")
int rp_sendmsg4(struct bpf_sock_addr *ctx)
{
	return decide(ctx, denied4(ctx));
}

SEC("cgroup/sendmsg6")
int rp_sendmsg6(struct bpf_sock_addr *ctx)
{
	return decide(ctx, denied6(ctx));
}

/* A process that execs another program is judged anew: forget its hold answer. */
SEC("tracepoint/sched/sched_process_exec")
int rp_tp_exec(void *ctx)
{
	struct rp_flow_ref proc = {.flow_key = 0, .pid = (__u32)(bpf_get_current_pid_tgid() >> 32)};

	bpf_map_delete_elem(&rp_hold_flows, &proc);
	return 0;
}

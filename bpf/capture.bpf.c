// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Capture outbound plaintext at the entry of TLS write functions, before encryption, and stream
 * it to userspace through a ring buffer. Copy at entry (buffer and length are valid there) in
 * chunks of at most RP_CHUNK_MAX bytes, each record sized to its data. Whatever cannot be copied
 * (over the per-write budget, ring buffer full, unreadable memory) is announced by a GAP record
 * and counted: userspace always knows exactly which bytes it did not see.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "rempart.h"
#include "maps.bpf.h"
#include "enforce_hooks.bpf.h" /* enforcement (issue 5): shared maps + TLS hooks */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Keep every record type in the object's BTF, so tests/unit/test_abi.c can compare layouts. */
const struct rp_data_record *unused_data_record __attribute__((unused));
const struct rp_gap_record *unused_gap_record __attribute__((unused));
const struct rp_flow_end_record *unused_flow_end_record __attribute__((unused));

/* Set by userspace before load. */
const volatile __u32 self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20); /* resized by userspace before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_runtime_config);
} runtime_config SEC(".maps");

/* Flow state keyed by (pid, TLS object): running byte offset of the outbound stream. */
struct tls_flow_key {
	__u64 obj;
	__u32 pid;
	__u32 _pad;
};

struct tls_flow_state {
	__u64 offset;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tls_flow_key);
	__type(value, struct tls_flow_state);
} tls_flows SEC(".maps");

/* One per CPU: a DATA record is assembled here, then copied to the ring buffer at its real size
 * (bpf_ringbuf_reserve only takes constant sizes). */
#pragma clang diagnostic ignored "-Wgnu-variable-sized-type-not-at-end"
struct chunk_buf {
	struct rp_data_record rec; /* its flexible data[] is the array below */
	__u8 data[RP_CHUNK_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct chunk_buf);
} chunk_bufs SEC(".maps");

struct emit_ctx {
	struct chunk_buf *cb;
	const __u8 *ubuf;
	__u64 captured;     /* bytes of this write to copy (≤ budget) */
	__u64 base_offset;  /* flow offset of ubuf[0] */
	__u64 stopped_at;   /* first byte not emitted when a chunk failed, else captured */
	__u32 reason;       /* gap reason when stopped early */
};

static __always_inline void fill_identity(struct rp_flow_identity *id, __u64 flow_key, __u8 source)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	__builtin_memset(id, 0, sizeof(*id));
	id->flow_key = flow_key;
	id->pid = pid_tgid >> 32;
	id->tid = (__u32)pid_tgid;
	id->uid = (__u32)bpf_get_current_uid_gid();
	id->source = source;
	bpf_get_current_comm(id->comm, sizeof(id->comm));
}

static void emit_gap(const struct rp_flow_identity *id, __u64 offset, __u64 len, __u32 reason)
{
	struct rp_gap_record *g;

	g = bpf_ringbuf_reserve(&events, sizeof(*g), 0);
	if (!g) {
		count_add(RP_CNT_GAPS_LOST, 1);
		count_add(RP_CNT_GAP_BYTES, len);
		return;
	}
	g->hdr.type = RP_REC_GAP;
	g->hdr.flags = 0;
	g->hdr.size = sizeof(*g);
	g->hdr.ktime_ns = bpf_ktime_get_ns();
	__builtin_memcpy(&g->id, id, sizeof(*id));
	g->flow_offset = offset;
	g->len = len;
	g->reason = reason;
	g->_pad = 0;
	bpf_ringbuf_submit(g, 0);
	count_add(RP_CNT_GAP_RECORDS, 1);
	count_add(RP_CNT_GAP_BYTES, len);
}

static long emit_chunk(__u32 i, void *data)
{
	struct emit_ctx *ctx = data;
	struct chunk_buf *cb = ctx->cb;
	__u64 off = (__u64)i * RP_CHUNK_MAX;
	__u64 n;

	if (off >= ctx->captured)
		return 1;
	n = ctx->captured - off;
	if (n > RP_CHUNK_MAX)
		n = RP_CHUNK_MAX;
	/* Make the bound explicit for the verifier: 1..RP_CHUNK_MAX. */
	n &= (RP_CHUNK_MAX << 1) - 1;
	if (n == 0 || n > RP_CHUNK_MAX)
		return 1;

	if (bpf_probe_read_user(cb->data, n, ctx->ubuf + off) < 0) {
		count_add(RP_CNT_READ_FAULTS, 1);
		ctx->stopped_at = off;
		ctx->reason = RP_GAP_FAULT;
		return 1;
	}
	cb->rec.hdr.ktime_ns = bpf_ktime_get_ns();
	cb->rec.hdr.size = sizeof(cb->rec) + n;
	cb->rec.flow_offset = ctx->base_offset + off;
	cb->rec.len = n;
	if (bpf_ringbuf_output(&events, cb, sizeof(cb->rec) + n, 0) < 0) {
		count_add(RP_CNT_RINGBUF_FULL, 1);
		ctx->stopped_at = off;
		ctx->reason = RP_GAP_RINGBUF;
		return 1;
	}
	count_add(RP_CNT_RECORDS, 1);
	count_add(RP_CNT_BYTES_CAPTURED, n);
	return 0;
}

/* Capture one application write of len bytes at ubuf on the TLS object obj. */
static __always_inline int capture_write(void *obj, const void *ubuf, __u64 len, __u8 source)
{
	struct tls_flow_key key = {};
	struct tls_flow_state *st, init = {};
	struct rp_runtime_config *cfg;
	struct chunk_buf *cb;
	struct emit_ctx ctx = {};
	__u32 zero = 0;
	__u64 budget, base;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == self_tgid) {
		count_add(RP_CNT_SELF_SKIPPED, 1);
		return 0;
	}
	cfg = bpf_map_lookup_elem(&runtime_config, &zero);
	if (!cfg || !cfg->enabled)
		return 0;
	if (!ubuf || len == 0 || (__s64)len < 0)
		return 0;
	/* ---- enforcement (issue 5): kill / blocked flow / arm fd link */
	if (rp_enforce_on_write((__u64)obj, tgid, (__u32)bpf_get_current_pid_tgid()))
		return 0;
	/* ---- end enforcement */

	count_add(RP_CNT_WRITES, 1);
	count_add(RP_CNT_BYTES, len);

	key.obj = (__u64)obj;
	key.pid = tgid;
	st = bpf_map_lookup_elem(&tls_flows, &key);
	if (!st) {
		bpf_map_update_elem(&tls_flows, &key, &init, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&tls_flows, &key);
		if (!st)
			return 0;
	}
	base = __sync_fetch_and_add(&st->offset, len);

	cb = bpf_map_lookup_elem(&chunk_bufs, &zero);
	if (!cb)
		return 0;
	fill_identity(&cb->rec.id, (__u64)obj, source);
	cb->rec.hdr.type = RP_REC_DATA;
	cb->rec.hdr.flags = 0;
	cb->rec.write_len = len;
	cb->rec._pad = 0;

	budget = cfg->write_budget;
	if (budget > (__u64)RP_MAX_CHUNKS_PER_WRITE * RP_CHUNK_MAX)
		budget = (__u64)RP_MAX_CHUNKS_PER_WRITE * RP_CHUNK_MAX;
	ctx.cb = cb;
	ctx.ubuf = ubuf;
	ctx.captured = len < budget ? len : budget;
	ctx.base_offset = base;
	ctx.stopped_at = ctx.captured;

	bpf_loop(RP_MAX_CHUNKS_PER_WRITE, emit_chunk, &ctx, 0);

	if (ctx.stopped_at < len) {
		__u32 reason = ctx.stopped_at < ctx.captured ? ctx.reason : RP_GAP_BUDGET;
		emit_gap(&cb->rec.id, base + ctx.stopped_at, len - ctx.stopped_at, reason);
	}
	/* ---- enforcement (issue 5): hold mode stops the writer here, before encryption */
	rp_enforce_after_write(&events, &cb->rec.id, base + len, len);
	/* ---- end enforcement */
	return 0;
}

static __always_inline void end_flow(void *obj, __u8 source)
{
	struct tls_flow_key key = {};
	struct rp_flow_end_record *r;

	key.obj = (__u64)obj;
	key.pid = bpf_get_current_pid_tgid() >> 32;
	rp_enforce_on_free(key.obj, key.pid); /* enforcement (issue 5): the object may be reused */
	/* Only flows that wrote something were announced to userspace. */
	if (bpf_map_delete_elem(&tls_flows, &key) < 0)
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		count_add(RP_CNT_RINGBUF_FULL, 1);
		return;
	}
	r->hdr.type = RP_REC_FLOW_END;
	r->hdr.flags = 0;
	r->hdr.size = sizeof(*r);
	r->hdr.ktime_ns = bpf_ktime_get_ns();
	fill_identity(&r->id, (__u64)obj, source);
	bpf_ringbuf_submit(r, 0);
}

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ssl_write, void *ssl, const void *buf, int num)
{
	if (num <= 0)
		return 0;
	return capture_write(ssl, buf, (__u64)num, RP_SRC_OPENSSL);
}

/* int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(ssl_write_ex, void *ssl, const void *buf, __u64 num)
{
	return capture_write(ssl, buf, num, RP_SRC_OPENSSL);
}

/* void SSL_free(SSL *ssl) */
SEC("uprobe")
int BPF_KPROBE(ssl_free, void *ssl)
{
	end_flow(ssl, RP_SRC_OPENSSL);
	return 0;
}

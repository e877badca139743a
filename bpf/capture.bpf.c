// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Capture outbound plaintext and stream it to userspace through a ring buffer:
 *  - at the entry of TLS write functions (OpenSSL, GnuTLS, NSPR), before encryption;
 *  - at the write/send* syscalls on TCP sockets that do not carry TLS.
 * Copy at entry (buffer and length are valid there) in chunks of at most RP_CHUNK_MAX bytes, each
 * record sized to its data. Whatever cannot be copied (over the per-write budget, ring buffer
 * full, unreadable memory) is announced by a GAP record and counted: userspace always knows
 * exactly which bytes it did not see.
 *
 * Linking a TLS object to its socket without kprobes: every TLS call arms a per-thread "pending"
 * slot; the next write/send* syscall of that thread on a TCP socket is the library writing the
 * TLS records, so that socket belongs to the TLS object. The socket is then marked as carrying TLS
 * and its syscall writes (ciphertext) are not scanned.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "rempart.h"
#include "maps.bpf.h"
#include "enforce_hooks.bpf.h" /* enforcement (issue 5): shared maps + TLS hooks */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define MAX_IOV 16      /* iovecs scanned per writev/sendmsg; more are reported as a gap */
#define MAX_MMSG 4      /* messages scanned per sendmmsg */
#define EFAULT 14
#define ENOSPC 28

/* Keep every record type in the object's BTF, so tests/unit/test_abi.c can compare layouts. */
const struct rp_data_record *unused_data_record __attribute__((unused));
const struct rp_gap_record *unused_gap_record __attribute__((unused));
const struct rp_flow_end_record *unused_flow_end_record __attribute__((unused));
const struct rp_flow_link_record *unused_flow_link_record __attribute__((unused));
const struct rp_exec_record *unused_exec_record __attribute__((unused));
const struct rp_tls_hello_record *unused_tls_hello_record __attribute__((unused));
const struct rp_libs_changed_record *unused_libs_changed_record __attribute__((unused));

/* Set by userspace before load. */
const volatile __u32 self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20); /* resized by userspace before load */
} events SEC(".maps");

/*
 * Waking the agent is an interrupt (a self-IPI, then one to the agent's CPU: in a VM, exits
 * costing tens of microseconds), paid by the writer. While records keep coming the agent drains
 * on a short timer and says until when in drain_due_ns: writes before that do not wake it.
 * Otherwise a data record wakes it, at most once per WAKE_GAP_NS (the agent, once woken, drains
 * and announces its next drain). The agent clears drain_due_ns before it stops polling and then
 * looks at the ring once more (rp_capture_idle), and a writer reads drain_due_ns after reserving
 * its record, with a full barrier: either the writer sees the cleared value and wakes the agent,
 * or the agent sees the record.
 */
#define WAKE_GAP_NS 1000000ull /* as often as the agent could be woken before: a hung agent costs writers no more */
__u64 drain_due_ns = 0; /* written by the agent (mmapped .bss) */
__u64 last_wake_ns = 0;

static __always_inline __u64 data_wakeup_flag(__u64 now, struct rp_counters *cn)
{
	/* an atomic read: the barrier orders it after the reservation (see above) */
	__u64 due = __sync_fetch_and_or(&drain_due_ns, 0);

	if (now < due || now - last_wake_ns < WAKE_GAP_NS)
		return BPF_RB_NO_WAKEUP;
	last_wake_ns = now;
	count_to(cn, RP_CNT_WAKEUPS, 1);
	return BPF_RB_FORCE_WAKEUP;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_runtime_config);
} runtime_config SEC(".maps");

/* Where a flow's socket is, once known. */
struct sock_info {
	__u64 cookie;
	__u8 family;
	__u8 linked;
	__u16 lport;
	__u16 rport;
	__u16 _pad;
	__u8 laddr[16];
	__u8 raddr[16];
};

/* A flow: a TLS object in a process, or a plaintext TCP socket (pid 0, obj = socket inode). */
struct flow_key {
	__u64 obj;
	__u32 pid;
	__u8 source;
	__u8 _pad[3];
};

struct flow_state {
	__u64 offset;       /* outbound bytes so far: flow offset of the next write */
	__u64 sock_ino;     /* inode of the socket a TLS flow was linked to, 0 before */
	struct sock_info si;
	char comm[RP_COMM_LEN]; /* a TLS flow's process name, read at its first write */
};

/*
 * Per CPU: the socket the thread's latest TLS write goes out on. The library's write syscall
 * that follows (same thread, same CPU in practice) carries ciphertext: recognising the socket by
 * its inode spares that syscall the rest of the walk and two hash lookups. Inode numbers are not
 * reused like addresses are, so a match is always that TLS socket; anything else takes the walk.
 */
struct tls_mark {
	__u32 tid;
	__u32 _pad;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tls_mark);
} tls_marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct flow_state);
} flows SEC(".maps");

/* Per thread: the TLS object whose call is in progress, waiting for its socket syscall. */
struct pending_tls {
	__u64 obj;
	__u8 source;
	__u8 _pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct pending_tls);
} pending SEC(".maps");

/*
 * Per thread: when a hooked TLS library last began a client session on it (SSL_connect,
 * SSL_set_connect_state, gnutls_handshake, NSPR's connect...). A ClientHello written by that
 * thread soon after is that library's, not a stack we cannot read: node writes the hello of a
 * handshake its SSL_read drove, Firefox from its socket thread after NSPR's connect, and no
 * hooked write is under way then. Sessions begin a few times a second at most: the update is
 * off the write path.
 */
#define TLS_HINT_NS (10ull * 1000000000ull)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);   /* tid */
	__type(value, __u64); /* ktime */
} tls_hints SEC(".maps");

static __always_inline void hint_hooked_tls(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&tls_hints, &tid, &now, BPF_ANY);
}

static __always_inline bool hooked_tls_hinted(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *t = bpf_map_lookup_elem(&tls_hints, &tid);

	return t && bpf_ktime_get_ns() - *t < TLS_HINT_NS;
}

/* socket inode number -> enum rp_sock_kind */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} sock_kinds SEC(".maps");

/* One per CPU: the header of a write's DATA records (identity, lengths), filled once per write and
 * copied in front of each chunk. */
struct chunk_buf {
	struct rp_data_record rec;
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
	__u64 ktime_ns;     /* one timestamp for all the write's records */
	struct rp_counters *cn;
	__u32 reason;       /* gap reason when stopped early */
	__u32 _pad;
};

/* The process's name, not the thread's: Firefox writes from a thread named "Socket Thread". */
static __always_inline void current_process_comm(char *comm)
{
	struct task_struct *leader = bpf_get_current_task_btf()->group_leader;

	if (!leader || bpf_probe_read_kernel_str(comm, RP_COMM_LEN, leader->comm) < 0)
		bpf_get_current_comm(comm, RP_COMM_LEN);
}

static __always_inline void fill_identity_comm(struct rp_flow_identity *id, const struct flow_key *key,
					       const struct sock_info *si, bool fill_comm)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	__builtin_memset(id, 0, sizeof(*id));
	id->flow_key = key->obj;
	id->pid = pid_tgid >> 32;
	id->tid = (__u32)pid_tgid;
	id->uid = (__u32)bpf_get_current_uid_gid();
	id->source = key->source;
	if (fill_comm)
		current_process_comm(id->comm);
	if (si && si->linked) {
		id->sock_cookie = si->cookie;
		id->family = si->family;
		id->lport = si->lport;
		id->rport = si->rport;
		__builtin_memcpy(id->laddr, si->laddr, sizeof(id->laddr));
		__builtin_memcpy(id->raddr, si->raddr, sizeof(id->raddr));
	}
}

static __always_inline void fill_identity(struct rp_flow_identity *id, const struct flow_key *key,
					  const struct sock_info *si)
{
	fill_identity_comm(id, key, si, true);
}

/* A record of size bytes reserved in the ring with its header filled, or NULL (counted) when the
 * ring is full. size is a constant once inlined, as bpf_ringbuf_reserve wants. */
static __always_inline void *record_reserve(__u32 size, __u16 type)
{
	struct rp_record_header *h = bpf_ringbuf_reserve(&events, size, 0);

	if (!h) {
		count_add(RP_CNT_RINGBUF_FULL, 1);
		return NULL;
	}
	h->type = type;
	h->flags = 0;
	h->size = size;
	h->ktime_ns = bpf_ktime_get_ns();
	return h;
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

/*
 * Copy n (1..cls) bytes of the write straight from user memory into a ring buffer record sized
 * for cls: bpf_ringbuf_reserve takes only constant sizes, and reserving in place copies every
 * byte once, where assembling the record elsewhere for bpf_ringbuf_output copied it twice and
 * ran 16 KiB through the cache for nothing. The record's header says its real size.
 */
static __always_inline long emit_in_class(struct emit_ctx *ctx, __u64 off, __u64 n, bool last,
					  const __u32 cls)
{
	struct rp_data_record *rec;

	rec = bpf_ringbuf_reserve(&events, sizeof(*rec) + cls, 0);
	if (!rec)
		return -ENOSPC;
	if (n > cls) /* never: the caller chose cls for n; the verifier wants it said */
		n = cls;
	if (bpf_probe_read_user(rec->data, n, ctx->ubuf + off) < 0) {
		bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP);
		return -EFAULT;
	}
	__builtin_memcpy(rec, &ctx->cb->rec, sizeof(*rec));
	rec->hdr.ktime_ns = ctx->ktime_ns;
	rec->hdr.size = sizeof(*rec) + n;
	rec->flow_offset = ctx->base_offset + off;
	rec->len = n;
	/* At most one wakeup per write, on its last chunk, decided after the reservation. */
	bpf_ringbuf_submit(rec, last ? data_wakeup_flag(ctx->ktime_ns, ctx->cn) : BPF_RB_NO_WAKEUP);
	return 0;
}

static long emit_chunk(__u32 i, void *data)
{
	struct emit_ctx *ctx = data;
	__u64 off = (__u64)i * RP_CHUNK_MAX;
	__u64 n;
	bool last;
	long err;

	if (off >= ctx->captured)
		return 1;
	n = ctx->captured - off;
	if (n > RP_CHUNK_MAX)
		n = RP_CHUNK_MAX;
	last = off + n >= ctx->captured;
	/* Size classes a factor 2 apart: a record never wastes more than half of itself. */
	if (n <= 256)
		err = emit_in_class(ctx, off, n, last, 256);
	else if (n <= 512)
		err = emit_in_class(ctx, off, n, last, 512);
	else if (n <= 1024)
		err = emit_in_class(ctx, off, n, last, 1024);
	else if (n <= 2048)
		err = emit_in_class(ctx, off, n, last, 2048);
	else if (n <= 4096)
		err = emit_in_class(ctx, off, n, last, 4096);
	else if (n <= 8192)
		err = emit_in_class(ctx, off, n, last, 8192);
	else
		err = emit_in_class(ctx, off, n, last, RP_CHUNK_MAX);
	if (err) {
		if (err == -EFAULT) {
			count_to(ctx->cn, RP_CNT_READ_FAULTS, 1);
			ctx->reason = RP_GAP_FAULT;
		} else {
			count_to(ctx->cn, RP_CNT_RINGBUF_FULL, 1);
			ctx->reason = RP_GAP_RINGBUF;
		}
		ctx->stopped_at = off;
		return 1;
	}
	count_to(ctx->cn, RP_CNT_RECORDS, 1);
	count_to(ctx->cn, RP_CNT_BYTES_CAPTURED, n);
	return 0;
}

static __always_inline struct flow_state *flow_lookup_or_create(const struct flow_key *key)
{
	struct flow_state *st, init = {};

	st = bpf_map_lookup_elem(&flows, key);
	if (st)
		return st;
	bpf_map_update_elem(&flows, key, &init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&flows, key);
}

static __always_inline bool capture_enabled(struct rp_runtime_config **cfgp)
{
	__u32 zero = 0;
	struct rp_runtime_config *cfg = bpf_map_lookup_elem(&runtime_config, &zero);

	*cfgp = cfg;
	return cfg && cfg->enabled;
}

/* Capture one application write of len bytes at ubuf on the flow key (its state st when the
 * caller looked it up already, else NULL). */
static __noinline int capture_write(const struct flow_key *key, struct flow_state *st, const void *ubuf, __u64 len)
{
	struct rp_runtime_config *cfg;
	struct chunk_buf *cb;
	struct emit_ctx ctx = {};
	__u32 zero = 0;
	__u64 budget, base;

	if (!capture_enabled(&cfg))
		return 0;
	if (!ubuf || len == 0 || (__s64)len < 0)
		return 0;
	/* ---- enforcement (issue 5): kill / blocked flow. Keyed like userspace keys flows in its
	 * maps: (flow key, writing process). */
	if (rp_enforce_on_write(key->obj, bpf_get_current_pid_tgid() >> 32))
		return 0;
	/* ---- end enforcement */

	ctx.cn = counters_here();
	count_to(ctx.cn, RP_CNT_WRITES, 1);
	count_to(ctx.cn, RP_CNT_BYTES, len);

	if (!st)
		st = flow_lookup_or_create(key);
	if (!st)
		return 0;
	base = __sync_fetch_and_add(&st->offset, len);

	cb = bpf_map_lookup_elem(&chunk_bufs, &zero);
	if (!cb)
		return 0;
	fill_identity_comm(&cb->rec.id, key, &st->si, false);
	/* A TLS flow belongs to one process: its name is read once (two reads through the task
	 * every write cost more than the copy of a small write); a plaintext socket may be
	 * written by several processes, so its writer's name is read each time. */
	if (key->source != RP_SRC_TCP) {
		if (!st->comm[0])
			current_process_comm(st->comm);
		__builtin_memcpy(cb->rec.id.comm, st->comm, RP_COMM_LEN);
	} else {
		current_process_comm(cb->rec.id.comm);
	}
	cb->rec.hdr.type = RP_REC_DATA;
	cb->rec.hdr.flags = key->source == RP_SRC_TCP && hooked_tls_hinted() ? RP_DATA_F_HOOKED_TLS_THREAD : 0;
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
	ctx.ktime_ns = bpf_ktime_get_ns();

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

static __always_inline bool is_self(void)
{
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid) {
		count_add(RP_CNT_SELF_SKIPPED, 1);
		return true;
	}
	return false;
}

/*
 * A TLS call is starting on obj: arm the thread's pending slot so the next socket syscall links
 * obj to its socket. Nested hooked calls (gnutls_record_send calling gnutls_record_send2) are
 * avoided where the probes are attached, not here: an application may well write the same buffer
 * twice in a row.
 */
static __always_inline void arm_pending(void *obj, __u8 source)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_tls np = {}, *cur;

	/* Armed already (a TLS object whose writes reach no socket, e.g. over a memory BIO): an
	 * LRU map update on every write cost more than the rest of the hook. */
	cur = bpf_map_lookup_elem(&pending, &tid);
	if (cur && cur->obj == (__u64)obj && cur->source == source)
		return;

	np.obj = (__u64)obj;
	np.source = source;
	bpf_map_update_elem(&pending, &tid, &np, BPF_ANY);
}

/* Before a TLS write: its socket, when linked; else no mark, so the syscall links it. */
static __always_inline void mark_tls_socket(const struct flow_state *st)
{
	__u32 zero = 0;
	struct tls_mark *m = bpf_map_lookup_elem(&tls_marks, &zero);

	if (!m)
		return;
	if (st && st->si.linked && st->sock_ino) {
		m->tid = (__u32)bpf_get_current_pid_tgid();
		m->ino = st->sock_ino;
	} else {
		m->tid = 0;
		m->ino = 0;
	}
}

static __always_inline int tls_write(void *obj, const void *buf, __u64 len, __u8 source)
{
	struct flow_key key = {};
	struct flow_state *st;

	if (is_self() || !obj)
		return 0;
	key.obj = (__u64)obj;
	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.source = source;
	/* Link the flow to its socket through the nested syscall until it is linked: relinking on
	 * every write cost each write syscall a walk from fd to sock. A TLS object moved to another
	 * socket goes through a new handshake, which arms the link again. */
	st = flow_lookup_or_create(&key);
	if (!st || !st->si.linked)
		arm_pending(obj, source);
	mark_tls_socket(st);
	return capture_write(&key, st, buf, len);
}

static __always_inline void tls_handshake(void *obj, __u8 source)
{
	if (!is_self() && obj) {
		arm_pending(obj, source);
		hint_hooked_tls();
	}
}

static __always_inline void tls_end(void *obj, __u8 source)
{
	struct flow_key key = {};
	struct rp_flow_end_record *r;

	key.obj = (__u64)obj;
	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.source = source;
	rp_enforce_on_free(key.obj, key.pid); /* enforcement (issue 5): the object may be reused */
	/* Only flows that were seen were announced to userspace. */
	if (bpf_map_delete_elem(&flows, &key) < 0)
		return;
	r = record_reserve(sizeof(*r), RP_REC_FLOW_END);
	if (!r)
		return;
	fill_identity(&r->id, &key, NULL);
	bpf_ringbuf_submit(r, 0);
}

/* ---- OpenSSL (libssl.so.3, libssl.so.1.1, and binaries exporting its symbols such as node) */

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ssl_write, void *ssl, const void *buf, int num)
{
	if (num <= 0)
		return 0;
	return tls_write(ssl, buf, (__u64)num, RP_SRC_OPENSSL);
}

/* int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(ssl_write_ex, void *ssl, const void *buf, __u64 num)
{
	return tls_write(ssl, buf, num, RP_SRC_OPENSSL);
}

/* int SSL_do_handshake(SSL *ssl), SSL_connect(SSL *ssl): the handshake links the socket early. */
SEC("uprobe")
int BPF_KPROBE(ssl_handshake, void *ssl)
{
	tls_handshake(ssl, RP_SRC_OPENSSL);
	return 0;
}

/* void SSL_set_connect_state(SSL *ssl); NSPR's PR_Connect, PR_ConnectContinue: a client session
 * of a hooked library begins on this thread (its hello may come from a call we do not hook). */
SEC("uprobe")
int tls_session_hint(struct pt_regs *ctx)
{
	if (!is_self())
		hint_hooked_tls();
	return 0;
}

/* void SSL_free(SSL *ssl) */
SEC("uprobe")
int BPF_KPROBE(ssl_free, void *ssl)
{
	tls_end(ssl, RP_SRC_OPENSSL);
	return 0;
}

/* ---- Go's crypto/tls, in Go programs built by Go 1.18 or later (register calling convention on
 * x86-64: the receiver in RAX, then a slice's pointer, length and capacity in RBX, RCX, RDI).
 * The probes sit past the stack-growth check (rp_go_probe_site), which may restart a function. */
#if defined(__TARGET_ARCH_x86)
#define GO_ARG1(ctx) ((ctx)->ax)
#define GO_ARG2(ctx) ((ctx)->bx)
#define GO_ARG3(ctx) ((ctx)->cx)
#else
#define GO_ARG1(ctx) 0 /* not attached on other architectures (capture.c) */
#define GO_ARG2(ctx) 0
#define GO_ARG3(ctx) 0
#endif

/* func (c *Conn) Write(b []byte) (int, error) */
SEC("uprobe")
int go_tls_write(struct pt_regs *ctx)
{
	return tls_write((void *)GO_ARG1(ctx), (const void *)GO_ARG2(ctx), (__u64)GO_ARG3(ctx), RP_SRC_GO);
}

/* func (c *Conn) clientHandshake(ctx context.Context) error: a client session begins */
SEC("uprobe")
int go_tls_handshake(struct pt_regs *ctx)
{
	tls_handshake((void *)GO_ARG1(ctx), RP_SRC_GO);
	return 0;
}

/* func (c *Conn) Close() error */
SEC("uprobe")
int go_tls_close(struct pt_regs *ctx)
{
	tls_end((void *)GO_ARG1(ctx), RP_SRC_GO);
	return 0;
}

/* ---- GnuTLS (libgnutls.so.30) */

/* ssize_t gnutls_record_send(gnutls_session_t, const void *data, size_t size); _send2 and
 * _send_range take the same first three arguments. */
SEC("uprobe")
int BPF_KPROBE(gnutls_send, void *session, const void *data, __u64 size)
{
	return tls_write(session, data, size, RP_SRC_GNUTLS);
}

/* int gnutls_handshake(gnutls_session_t) */
SEC("uprobe")
int BPF_KPROBE(gnutls_handshake, void *session)
{
	tls_handshake(session, RP_SRC_GNUTLS);
	return 0;
}

/* void gnutls_deinit(gnutls_session_t) */
SEC("uprobe")
int BPF_KPROBE(gnutls_deinit, void *session)
{
	tls_end(session, RP_SRC_GNUTLS);
	return 0;
}

/* ---- NSPR (libnspr4.so: Firefox, Thunderbird). PRFileDesc and PRIOMethods are public, stable ABI
 * (prio.h); they are not kernel types, so they are declared here. */
struct pr_io_methods {
	int file_type; /* PRDescType */
};

struct pr_file_desc {
	const struct pr_io_methods *methods;
	void *secret;
	struct pr_file_desc *lower;
	struct pr_file_desc *higher;
};

enum {
	PR_DESC_FILE = 1,
	PR_DESC_SOCKET_TCP = 2,
	PR_DESC_SOCKET_UDP = 3,
	PR_DESC_LAYERED = 4,
	PR_DESC_PIPE = 5,
};

static __always_inline int pr_file_type(const struct pr_file_desc *fd)
{
	const struct pr_io_methods *m = NULL;
	int t = 0;

	if (bpf_probe_read_user(&m, sizeof(m), &fd->methods) < 0 || !m)
		return 0;
	if (bpf_probe_read_user(&t, sizeof(t), &m->file_type) < 0)
		return 0;
	return t;
}

/*
 * Firefox calls PR_Write on files too. Only a layered descriptor (the SSL layer, possibly under
 * others) whose bottom layer is a TCP socket carries network plaintext; a bare TCP socket's
 * plaintext is captured by the syscall hooks instead.
 */
static __always_inline bool pr_is_layered_tcp(const struct pr_file_desc *fd)
{
	const struct pr_file_desc *cur = fd, *lower = NULL;

	if (pr_file_type(fd) != PR_DESC_LAYERED)
		return false;
	for (int i = 0; i < 8; i++) {
		if (bpf_probe_read_user(&lower, sizeof(lower), &cur->lower) < 0)
			return false;
		if (!lower)
			return pr_file_type(cur) == PR_DESC_SOCKET_TCP;
		cur = lower;
	}
	return false;
}

/* PRInt32 PR_Write(PRFileDesc *fd, const void *buf, PRInt32 amount) */
SEC("uprobe")
int BPF_KPROBE(pr_write, struct pr_file_desc *fd, const void *buf, int amount)
{
	if (amount <= 0 || !pr_is_layered_tcp(fd))
		return 0;
	return tls_write(fd, buf, (__u64)amount, RP_SRC_NSPR);
}

/* PRInt32 PR_Send(PRFileDesc *fd, const void *buf, PRInt32 amount, PRIntn flags, PRIntervalTime) */
SEC("uprobe")
int BPF_KPROBE(pr_send, struct pr_file_desc *fd, const void *buf, int amount)
{
	if (amount <= 0 || !pr_is_layered_tcp(fd))
		return 0;
	return tls_write(fd, buf, (__u64)amount, RP_SRC_NSPR);
}

/* PRStatus PR_Close(PRFileDesc *fd) */
SEC("uprobe")
int BPF_KPROBE(pr_close, struct pr_file_desc *fd)
{
	tls_end(fd, RP_SRC_NSPR);
	return 0;
}

/* ---- Sockets: from a file descriptor to its TCP sock, with CO-RE (no kprobes, no offsets) */

/* The open file behind fd in the current task, or NULL. The task's BTF pointer lets the walk to
 * the fd array be plain loads (each bpf_probe_read_kernel is a helper call); the array slot,
 * indexed by fd, still takes one read. */
static __always_inline struct file *file_of_fd(__u64 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = task->files;
	struct fdtable *fdt;
	struct file *file = NULL;

	if (!files)
		return NULL;
	fdt = files->fdt;
	if (!fdt || fd >= fdt->max_fds)
		return NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), (void *)((unsigned long)fdt->fd + fd * sizeof(file))) < 0)
		return NULL;
	return file;
}

/* The socket inode behind file, or NULL: one read each for the inode and its mode, so the
 * writes that are not to sockets (files, pipes, terminals: most writes on a machine) stop here. */
static __always_inline struct inode *socket_inode_of_file(struct file *file)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);

	if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	return inode;
}

/* The TCP sock behind a socket file. Its inode number, not the sock's address (which the
 * allocator reuses), identifies one socket for the life of the system. */
static __always_inline struct sock *tcp_sock_of_file(struct file *file)
{
	struct socket *sock;
	struct sock *sk;

	sock = BPF_CORE_READ(file, private_data);
	/* A socket file's private_data is its struct socket, which points back at the file. */
	if (!sock || BPF_CORE_READ(sock, file) != file)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	if (BPF_CORE_READ(sk, sk_type) != SOCK_STREAM || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	return sk;
}

static __always_inline void read_sock_info(struct sock *sk, struct sock_info *si)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(si, 0, sizeof(*si));
	si->cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	si->family = (__u8)family;
	si->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	si->rport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	si->linked = 1;
	if (family == AF_INET) {
		bpf_core_read(si->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(si->raddr, 4, &sk->__sk_common.skc_daddr);
	} else if (family == AF_INET6) {
		bpf_core_read(si->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(si->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/* The TLS call pending on this thread writes to sk through fd: remember the link (the socket for
 * the records, the fd for enforcement), mark sk as TLS. */
static __always_inline void link_pending(struct pending_tls *p, struct sock *sk, __u64 ino, __u32 tid, __u64 fd)
{
	struct flow_key key = {};
	struct flow_state *st;
	struct sock_info si;
	struct rp_flow_ref ref = {};
	struct rp_flow_fd ffd = {.fd = (__s32)fd};
	__u8 kind = RP_SOCK_KIND_TLS;

	key.obj = p->obj;
	key.pid = bpf_get_current_pid_tgid() >> 32;
	key.source = p->source;
	bpf_map_delete_elem(&pending, &tid);
	bpf_map_update_elem(&sock_kinds, &ino, &kind, BPF_ANY);
	ref.flow_key = key.obj;
	ref.pid = key.pid;
	if (fd <= 0x7fffffff && bpf_map_update_elem(&rp_flow_fds, &ref, &ffd, BPF_ANY) == 0)
		rp_ecount(RP_ECNT_FD_LINKED);

	st = flow_lookup_or_create(&key);
	if (!st)
		return;
	st->sock_ino = ino;
	read_sock_info(sk, &si);
	if (st->si.linked && st->si.lport == si.lport && st->si.rport == si.rport)
		return;
	st->si = si;
	count_add(RP_CNT_LINKS, 1);
	if (st->offset == 0)
		return; /* nothing sent yet: the first DATA record will carry the socket */

	struct rp_flow_link_record *r = record_reserve(sizeof(*r), RP_REC_FLOW_LINK);
	if (!r)
		return;
	fill_identity(&r->id, &key, &st->si);
	bpf_ringbuf_submit(r, 0);
}

/* TLS records start with a content type (20-23) and major version 3: a socket whose first bytes
 * look like that carries TLS from a library we do not hook (e.g. Chromium's BoringSSL). Sets
 * *hello when the record is a handshake (22) whose first message is a ClientHello (1). */
static __always_inline bool looks_like_tls(const void *ubuf, __u64 len, bool *hello)
{
	__u8 h[6] = {};

	*hello = false;
	if (len < 3 || bpf_probe_read_user(h, len < sizeof(h) ? 3 : sizeof(h), ubuf) < 0)
		return false;
	if (!(h[0] >= 20 && h[0] <= 23 && h[1] == 3 && h[2] <= 4))
		return false;
	*hello = len >= sizeof(h) && h[0] == 22 && h[5] == 1;
	return true;
}

/* A client we cannot read is opening a TLS session on sk: tell userspace who, where, and the
 * hello's first bytes (the server name is in them). */
static __noinline void emit_tls_hello(struct sock *sk, __u64 ino, const void *ubuf, __u64 len)
{
	struct flow_key key = {.obj = ino, .pid = 0, .source = RP_SRC_TCP};
	struct rp_tls_hello_record *r;
	struct sock_info si;
	__u64 n = len < RP_HELLO_MAX ? len : RP_HELLO_MAX;

	r = record_reserve(sizeof(*r), RP_REC_TLS_HELLO);
	if (!r)
		return;
	read_sock_info(sk, &si);
	fill_identity(&r->id, &key, &si);
	if (bpf_probe_read_user(r->data, n, ubuf) < 0)
		n = 0;
	r->write_len = len;
	r->len = (__u32)n;
	r->_pad = 0;
	bpf_ringbuf_submit(r, 0);
	count_add(RP_CNT_TLS_HELLOS, 1);
}

/*
 * Decide what a syscall write on fd is. Returns the TCP sock to capture plaintext for, or NULL
 * when there is nothing to capture (not TCP, ciphertext of a hooked or unhooked TLS stack).
 */
static __always_inline struct sock *plaintext_sock(__u64 fd, const void *first_buf, __u64 first_len, __u64 *ino)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct pending_tls *p;
	struct tls_mark *m;
	struct inode *inode;
	struct file *file;
	struct sock *sk;
	__u32 zero = 0;
	__u8 *kind, k;
	bool hello;

	if ((pid_tgid >> 32) == self_tgid)
		return NULL;
	file = file_of_fd(fd);
	if (!file)
		return NULL;
	inode = socket_inode_of_file(file);
	if (!inode)
		return NULL;
	*ino = BPF_CORE_READ(inode, i_ino);
	m = bpf_map_lookup_elem(&tls_marks, &zero);
	if (m && m->tid == tid && m->ino && *ino == m->ino) {
		count_add(RP_CNT_TLS_SOCK_SKIPS, 1);
		return NULL; /* the ciphertext of the TLS write just captured */
	}
	sk = tcp_sock_of_file(file);
	if (!sk)
		return NULL;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p) {
		link_pending(p, sk, *ino, tid, fd);
		return NULL;
	}
	kind = bpf_map_lookup_elem(&sock_kinds, ino);
	if (kind) {
		if (*kind == RP_SOCK_KIND_TLS) {
			count_add(RP_CNT_TLS_SOCK_SKIPS, 1);
			return NULL;
		}
		return sk;
	}
	k = looks_like_tls(first_buf, first_len, &hello) ? RP_SOCK_KIND_TLS : RP_SOCK_KIND_PLAIN;
	bpf_map_update_elem(&sock_kinds, ino, &k, BPF_ANY);
	if (hello && !hooked_tls_hinted())
		emit_tls_hello(sk, *ino, first_buf, first_len);
	return k == RP_SOCK_KIND_PLAIN ? sk : NULL;
}

/* len bytes of the flow were written but cannot be captured: they take their place in the flow's
 * offsets and a GAP record says so. */
static __always_inline void flow_gap(const struct flow_key *key, struct flow_state *st, __u64 len, __u32 reason)
{
	struct chunk_buf *cb;
	__u32 zero = 0;

	cb = bpf_map_lookup_elem(&chunk_bufs, &zero);
	if (!cb)
		return;
	fill_identity(&cb->rec.id, key, &st->si);
	emit_gap(&cb->rec.id, __sync_fetch_and_add(&st->offset, len), len, reason);
}

static __always_inline struct flow_state *tcp_flow(struct sock *sk, __u64 ino, struct flow_key *key)
{
	struct flow_state *st;

	key->obj = ino;
	key->pid = 0; /* a socket may be shared by processes: one flow */
	key->source = RP_SRC_TCP;
	st = flow_lookup_or_create(key);
	if (st && !st->si.linked)
		read_sock_info(sk, &st->si);
	return st;
}

static __always_inline int tcp_write(__u64 fd, const void *buf, __u64 len)
{
	struct flow_key key = {};
	struct sock *sk;
	__u64 ino = 0;

	if (len == 0)
		return 0;
	sk = plaintext_sock(fd, buf, len, &ino);
	if (!sk || !tcp_flow(sk, ino, &key))
		return 0;
	count_add(RP_CNT_TCP_WRITES, 1);
	return capture_write(&key, NULL, buf, len);
}

struct user_iovec {
	const void *base;
	__u64 len;
};

/* Capture up to MAX_IOV iovecs of one vectored write; the rest is reported as a gap. */
static __always_inline int tcp_writev(__u64 fd, const struct user_iovec *iov, __u64 iovcnt)
{
	struct user_iovec v = {};
	struct flow_key key = {};
	struct flow_state *st;
	struct sock *sk;
	__u64 i, ino = 0;

	if (!iov || iovcnt == 0)
		return 0;
	if (bpf_probe_read_user(&v, sizeof(v), &iov[0]) < 0)
		return 0;
	sk = plaintext_sock(fd, v.base, v.len, &ino);
	if (!sk || !(st = tcp_flow(sk, ino, &key)))
		return 0;
	count_add(RP_CNT_TCP_WRITES, 1);
	for (i = 0; i < MAX_IOV && i < iovcnt; i++) {
		if (bpf_probe_read_user(&v, sizeof(v), &iov[i]) < 0)
			break;
		capture_write(&key, NULL, v.base, v.len);
	}
	/* Vectors beyond MAX_IOV: count their bytes as a gap rather than pretend they were seen. */
	if (i < iovcnt) {
		__u64 rest = 0;
		for (__u64 j = MAX_IOV; j < MAX_IOV * 4 && j < iovcnt; j++) {
			if (bpf_probe_read_user(&v, sizeof(v), &iov[j]) < 0)
				break;
			rest += v.len;
		}
		if (rest)
			flow_gap(&key, st, rest, RP_GAP_BUDGET);
	}
	return 0;
}

struct user_msghdr_min {
	void *name;
	int namelen;
	int _pad;
	const struct user_iovec *iov;
	__u64 iovlen;
};

SEC("tracepoint/syscalls/sys_enter_write")
int trace_write(struct trace_event_raw_sys_enter *ctx)
{
	return tcp_write(ctx->args[0], (const void *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int trace_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return tcp_write(ctx->args[0], (const void *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int trace_writev(struct trace_event_raw_sys_enter *ctx)
{
	return tcp_writev(ctx->args[0], (const struct user_iovec *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int trace_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct user_msghdr_min m = {};

	if (bpf_probe_read_user(&m, sizeof(m), (const void *)ctx->args[1]) < 0)
		return 0;
	return tcp_writev(ctx->args[0], m.iov, m.iovlen);
}

/* struct mmsghdr { struct msghdr msg_hdr (56 bytes); unsigned int msg_len; } padded to 64 */
#define MMSGHDR_SIZE 64

SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int trace_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	const __u8 *vec = (const __u8 *)ctx->args[1];
	__u64 vlen = ctx->args[2];
	struct user_msghdr_min m = {};

	for (__u64 i = 0; i < MAX_MMSG && i < vlen; i++) {
		if (bpf_probe_read_user(&m, sizeof(m), vec + i * MMSGHDR_SIZE) < 0)
			break;
		tcp_writev(ctx->args[0], m.iov, m.iovlen);
	}
	return 0;
}

/*
 * Bytes that reach a TCP socket without passing through the process's memory: sendfile(2) from a
 * file, splice(2) from a pipe (also OpenSSL's SSL_sendfile over kernel TLS). They cannot be read
 * here; the socket's flow gets a gap of as many bytes as the call sent, so that the policy knows
 * they were not inspected (capture_gap_action) instead of never hearing of them. The socket is
 * noted at entry (the exit does not say which), the gap emitted at exit (the entry does not say
 * how many bytes go: a splice asks for more than its pipe holds).
 */
/* What the entry learnt: the socket, still open at the exit (the call holds its file). */
struct uncopied_send {
	__u64 sk;  /* struct sock * */
	__u64 ino; /* its inode number: the plaintext flow's key */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* thread id */
	__type(value, struct uncopied_send);
} uncopied_sends SEC(".maps");

static __always_inline int note_uncopied_send(__u64 fd)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct uncopied_send u = {};
	struct inode *inode;
	struct file *file;
	struct sock *sk;

	if (is_self())
		return 0;
	file = file_of_fd(fd);
	if (!file || !(inode = socket_inode_of_file(file)) || !(sk = tcp_sock_of_file(file)))
		return 0;
	u.sk = (__u64)sk;
	u.ino = BPF_CORE_READ(inode, i_ino);
	bpf_map_update_elem(&uncopied_sends, &tid, &u, BPF_ANY);
	return 0;
}

static __always_inline int gap_uncopied_send(long sent)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct flow_key key = {};
	struct uncopied_send *up, u;
	struct flow_state *st;

	up = bpf_map_lookup_elem(&uncopied_sends, &tid);
	if (!up)
		return 0;
	u = *up;
	bpf_map_delete_elem(&uncopied_sends, &tid);
	if (sent <= 0)
		return 0;
	st = tcp_flow((struct sock *)u.sk, u.ino, &key);
	if (!st)
		return 0;
	count_add(RP_CNT_NO_USER_COPY, 1);
	flow_gap(&key, st, (__u64)sent, RP_GAP_NO_USER_COPY);
	return 0;
}

/* ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count) */
SEC("tracepoint/syscalls/sys_enter_sendfile64")
int trace_sendfile(struct trace_event_raw_sys_enter *ctx)
{
	return note_uncopied_send(ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_sendfile64")
int trace_sendfile_exit(struct trace_event_raw_sys_exit *ctx)
{
	return gap_uncopied_send(ctx->ret);
}

/* ssize_t splice(int fd_in, off_t *off_in, int fd_out, off_t *off_out, size_t len, unsigned flags) */
SEC("tracepoint/syscalls/sys_enter_splice")
int trace_splice(struct trace_event_raw_sys_enter *ctx)
{
	return note_uncopied_send(ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_splice")
int trace_splice_exit(struct trace_event_raw_sys_exit *ctx)
{
	return gap_uncopied_send(ctx->ret);
}

/*
 * io_uring: a program queues its sends in shared memory and the kernel performs them, often from
 * a worker thread, never through the syscalls traced above. What was sent is known when each
 * request completes; its buffer is described by io_uring's private structures, which change from
 * one kernel to the next, so the bytes are not read: the socket's flow gets a gap of exactly what
 * was sent, as for sendfile. The opcodes are the UAPI's (linux/io_uring.h), fixed forever.
 */
static __always_inline bool uring_op_sends(__u8 op)
{
	switch (op) {
	case 2:  /* IORING_OP_WRITEV */
	case 5:  /* IORING_OP_WRITE_FIXED */
	case 9:  /* IORING_OP_SENDMSG */
	case 23: /* IORING_OP_WRITE */
	case 26: /* IORING_OP_SEND */
	case 30: /* IORING_OP_SPLICE (its request's file is the output) */
	case 47: /* IORING_OP_SEND_ZC (its notification completes as a NOP) */
	case 48: /* IORING_OP_SENDMSG_ZC */
	case 61: /* IORING_OP_WRITEV_FIXED (Linux 6.15) */
		return true;
	default:
		return false;
	}
}

SEC("tracepoint/io_uring/io_uring_complete")
int trace_uring_complete(struct trace_event_raw_io_uring_complete *ctx)
{
	struct flow_key key = {};
	struct flow_state *st;
	struct io_kiocb *req;
	struct inode *inode;
	struct file *file;
	struct sock *sk;
	__u8 *kind;
	__u64 ino;
	int res;

	/* Kernels before 5.18 do not name the request in this event: nothing to learn there. */
	if (!bpf_core_field_exists(ctx->req))
		return 0;
	res = ctx->res;
	req = ctx->req;
	/* Most completions on a machine are reads, timeouts, polls: one load rules them out. */
	if (res <= 0 || !req || !uring_op_sends(BPF_CORE_READ(req, opcode)) || is_self())
		return 0;
	file = BPF_CORE_READ(req, file);
	if (!file || !(inode = socket_inode_of_file(file)) || !(sk = tcp_sock_of_file(file)))
		return 0;
	ino = BPF_CORE_READ(inode, i_ino);
	/* A socket known to carry TLS: ciphertext, judged by its session (hooked or not), as the
	 * syscall path judges it. */
	kind = bpf_map_lookup_elem(&sock_kinds, &ino);
	if (kind && *kind == RP_SOCK_KIND_TLS)
		return 0;
	st = tcp_flow(sk, ino, &key);
	if (!st)
		return 0;
	count_add(RP_CNT_IO_URING_SENDS, 1);
	flow_gap(&key, st, (__u64)res, RP_GAP_IO_URING);
	return 0;
}

/* ---- New programs: userspace looks for TLS code to hook in what they map. */
SEC("tracepoint/sched/sched_process_exec")
int trace_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct rp_exec_record *r;

	if (is_self())
		return 0;
	r = record_reserve(sizeof(*r), RP_REC_EXEC);
	if (!r)
		return 0;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	/* __data_loc: the string's offset from the record in the low 16 bits */
	if (bpf_probe_read_kernel_str(r->filename, sizeof(r->filename),
				      (const char *)ctx + (ctx->__data_loc_filename & 0xFFFF)) < 0)
		r->filename[0] = '\0';
	bpf_ringbuf_submit(r, 0);
	count_add(RP_CNT_EXECS, 1);
	return 0;
}

/*
 * ---- The dynamic loader. glibc's ld.so calls _dl_debug_state(), the debuggers' breakpoint, each
 * time it changes a process's list of libraries, before and after the change; _r_debug.r_state
 * says which (RT_CONSISTENT, 0: done). A TLS library loaded by dlopen long after exec (Python
 * importing ssl, a bundled copy under an application's directory) is then looked for at once,
 * where the scheduled looks after exec may come too late or never. The attach cookie is the
 * distance from the probe to _r_debug (0 when the loader does not export it: report every call).
 */
struct r_debug_head {
	__s32 r_version;
	__s32 _pad;
	__u64 r_map;
	__u64 r_brk;
	__s32 r_state;
};

SEC("uprobe")
int loader_change(struct pt_regs *ctx)
{
	__s64 to_r_debug = (__s64)bpf_get_attach_cookie(ctx);
	struct rp_libs_changed_record *r;
	__s32 state = 0;

	if (is_self())
		return 0;
	if (to_r_debug) {
		const __u8 *rd = (const __u8 *)(PT_REGS_IP(ctx) + to_r_debug);

		if (bpf_probe_read_user(&state, sizeof(state), rd + __builtin_offsetof(struct r_debug_head, r_state)) == 0 &&
		    state != 0)
			return 0; /* RT_ADD, RT_DELETE: the change is under way */
	}
	r = record_reserve(sizeof(*r), RP_REC_LIBS_CHANGED);
	if (!r)
		return 0;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->_pad = 0;
	bpf_ringbuf_submit(r, 0);
	count_add(RP_CNT_LOADER_CHANGES, 1);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one header shared by the BPF programs and userspace: records that travel through the ring
 * buffer, map keys and values, counters. Plain __u* types only, explicit padding, every struct a
 * multiple of 8 bytes, so both compilers lay them out the same (tests/unit/test_abi.c checks it).
 *
 * Record types and capture sources are never reused: add new values, retire old ones.
 */
#ifndef REMPART_BPF_SHARED_H
#define REMPART_BPF_SHARED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define RP_COMM_LEN 16
#define RP_ABI_VERSION 1

/* Largest plaintext slice one DATA record carries. Records are sized to their data. */
#define RP_CHUNK_MAX 16384
/* Default per-write capture budget (policy settings.capture_budget_bytes overrides it). */
#define RP_DEFAULT_WRITE_BUDGET (4u << 20)
/* Hard upper bound of chunks per write, whatever the budget: bounds the BPF loop. */
#define RP_MAX_CHUNKS_PER_WRITE 4096

enum rp_record_type {
	RP_REC_DATA = 1,   /* plaintext bytes of one write, or a slice of it */
	RP_REC_GAP = 2,    /* bytes of a write that were not captured (budget, ring full, fault) */
	RP_REC_FLOW_END = 3, /* TLS object freed / socket closed: userspace may flush the flow */
	RP_REC_FLOW_LINK = 4, /* a TLS flow was linked to its socket after data was already sent */
	RP_REC_EXEC = 5,     /* a process called exec: userspace looks for new TLS code to hook */
	RP_REC_TLS_HELLO = 6, /* a TLS ClientHello no hooked TLS call made: traffic we cannot read */
	RP_REC_LIBS_CHANGED = 7, /* the dynamic loader changed a process's libraries (dlopen) */
};

enum rp_source {
	RP_SRC_OPENSSL = 1,  /* SSL_write, SSL_write_ex */
	RP_SRC_GNUTLS = 2,   /* gnutls_record_send* */
	RP_SRC_NSPR = 3,     /* PR_Write, PR_Send */
	RP_SRC_TCP = 4,      /* plaintext write/send* syscalls on TCP sockets */
	RP_SRC_GO = 5,       /* Go's crypto/tls (*Conn).Write */
};

enum rp_gap_reason {
	RP_GAP_BUDGET = 1,    /* write larger than the per-write budget */
	RP_GAP_RINGBUF = 2,   /* ring buffer full */
	RP_GAP_FAULT = 3,     /* user memory could not be read */
	RP_GAP_NO_USER_COPY = 4, /* sent from a file or pipe by sendfile/splice: never in user memory */
	RP_GAP_IO_URING = 5,  /* sent through io_uring, which no syscall tracepoint sees */
};

/* Every record starts with this. */
struct rp_record_header {
	__u16 type;       /* enum rp_record_type */
	__u16 flags;
	__u32 size;       /* whole record, header included */
	__u64 ktime_ns;   /* bpf_ktime_get_ns() at capture */
};

/*
 * Who wrote, and on which flow. flow_key identifies the flow for its whole life: the TLS object
 * pointer for TLS sources (unique while the object lives, evicted at free), the socket cookie for
 * plaintext TCP. pid disambiguates TLS pointers between processes.
 */
struct rp_flow_identity {
	__u64 flow_key;
	__u64 sock_cookie;  /* 0 when not (yet) linked to a socket */
	__u32 pid;          /* thread group id */
	__u32 tid;
	__u32 uid;
	__u8 source;        /* enum rp_source */
	__u8 family;        /* AF_INET, AF_INET6 or 0 when unknown */
	__u16 lport;        /* host byte order */
	__u16 rport;        /* host byte order */
	__u16 _pad0;
	__u32 _pad1;
	__u8 laddr[16];     /* IPv4 in the first 4 bytes */
	__u8 raddr[16];
	char comm[RP_COMM_LEN];
};

/* DATA record flags (hdr.flags) */
enum rp_data_flags {
	/* A plaintext TCP write from a thread where a hooked TLS library began a client session in
	 * the last seconds: bytes that look like a TLS hello are that library's (through a proxy's
	 * tunnel, after a CONNECT), not an unreadable client's. */
	RP_DATA_F_HOOKED_TLS_THREAD = 1,
};

/* What a TCP socket carries, as the capture programs know it (map sock_kinds, by socket inode):
 * the first write decides; userspace sets TLS when a proxy's tunnel turns out to carry TLS. */
enum rp_sock_kind {
	RP_SOCK_KIND_PLAIN = 1,
	RP_SOCK_KIND_TLS = 2,
};

struct rp_data_record {
	struct rp_record_header hdr;
	struct rp_flow_identity id;
	__u64 flow_offset;  /* offset of data[0] in the flow's outbound byte stream */
	__u64 write_len;    /* length the application asked to write */
	__u32 len;          /* bytes in data[] */
	__u32 _pad;
	__u8 data[];        /* len bytes */
};

struct rp_gap_record {
	struct rp_record_header hdr;
	struct rp_flow_identity id;
	__u64 flow_offset;  /* first byte not captured */
	__u64 len;          /* bytes not captured */
	__u32 reason;       /* enum rp_gap_reason */
	__u32 _pad;
};

struct rp_flow_end_record {
	struct rp_record_header hdr;
	struct rp_flow_identity id;
};

struct rp_flow_link_record {
	struct rp_record_header hdr;
	struct rp_flow_identity id; /* with its socket fields filled */
};

/*
 * The first write on a TCP socket was a TLS ClientHello, and no hooked TLS call was under way on
 * the thread: a TLS stack the agent cannot read (Chromium's BoringSSL, Go, Java) is about to talk
 * to a server. Its first bytes name the server (SNI); userspace decides what the policy says of
 * traffic it cannot inspect. One per socket.
 */
#define RP_HELLO_MAX 4096
struct rp_tls_hello_record {
	struct rp_record_header hdr;
	struct rp_flow_identity id; /* source RP_SRC_TCP, flow_key the socket inode, socket filled */
	__u64 write_len;            /* length of the write that carried the hello */
	__u32 len;                  /* bytes in data[] */
	__u32 _pad;
	__u8 data[RP_HELLO_MAX];
};

#define RP_EXEC_PATH_MAX 256

struct rp_exec_record {
	struct rp_record_header hdr;
	__u32 pid;
	__u32 uid;
	char comm[RP_COMM_LEN];
	/* The file exec'd, as given to exec (cut at RP_EXEC_PATH_MAX - 1): a process may be gone
	 * from /proc before its records are read, its alerts still name it. */
	char filename[RP_EXEC_PATH_MAX];
};

/*
 * The dynamic loader finished changing a process's set of libraries (at start-up, dlopen, dlclose):
 * userspace looks at its mappings at once for TLS code to hook, instead of at its next scheduled
 * look, seconds later or never.
 */
struct rp_libs_changed_record {
	struct rp_record_header hdr;
	__u32 pid;
	__u32 _pad;
};

/* Per-CPU counters: index into the counters array map. Never reuse an index. */
enum rp_counter {
	RP_CNT_WRITES = 0,         /* hooked write calls seen */
	RP_CNT_BYTES = 1,          /* bytes asked to be written */
	RP_CNT_RECORDS = 2,        /* records emitted */
	RP_CNT_BYTES_CAPTURED = 3, /* bytes emitted in DATA records */
	RP_CNT_GAP_RECORDS = 4,
	RP_CNT_GAP_BYTES = 5,
	RP_CNT_RINGBUF_FULL = 6,   /* reserve/output failures */
	RP_CNT_READ_FAULTS = 7,    /* bpf_probe_read_user failures */
	RP_CNT_GAPS_LOST = 8,      /* a gap record itself could not be emitted */
	RP_CNT_SELF_SKIPPED = 9,   /* writes by the agent itself, ignored */
	RP_CNT_LINKS = 10,         /* TLS flows linked to their socket */
	RP_CNT_TCP_WRITES = 11,    /* plaintext TCP writes captured */
	RP_CNT_TLS_SOCK_SKIPS = 12, /* syscall writes skipped: the socket carries TLS */
	RP_CNT_EXECS = 13,         /* exec records sent */
	RP_CNT_WAKEUPS = 14,       /* data records that woke the agent (an interrupt each) */
	RP_CNT_TLS_HELLOS = 15,    /* ClientHellos from TLS stacks that are not hooked (sockets) */
	RP_CNT_NO_USER_COPY = 16,  /* sendfile/splice calls to TCP sockets: bytes reported as gaps */
	RP_CNT_IO_URING_SENDS = 17, /* io_uring sends to TCP sockets: bytes reported as gaps */
	RP_CNT_LOADER_CHANGES = 18, /* library sets completed by the dynamic loader, reported */
	RP_CNT__MAX = 19,
};

/* The counters map's one per-CPU value: a program looks it up once and adds to any of them. */
struct rp_counters {
	__u64 v[RP_CNT__MAX];
};

/* Settings userspace may change while running (policy reload): one-element array map. */
struct rp_runtime_config {
	__u64 write_budget;        /* bytes captured per write before a gap */
	__u32 enabled;             /* 0: hooks return at once */
	__u32 _pad;
};

/* ==== Enforcement (tracker issue 5): everything below is owned by bpf/enforce.bpf.c, its hooks
 * in capture.bpf.c (bpf/enforce_hooks.bpf.h) and agent/rempartd/enforce.c. Appended only. ==== */

/* Enforcement record types live from 32 up so they never collide with capture's. */
enum rp_enforce_record_type {
	RP_REC_HOLD = 32,  /* a writer was stopped (SIGSTOP) at TLS entry; its data records precede */
};

/* A flow as the TLS hooks see it: the TLS object in a process. Key of the flow maps below. */
struct rp_flow_ref {
	__u64 flow_key;
	__u32 pid;
	__u32 _pad;
};

/*
 * rp_enforce_gate: whether rp_kill_pids / rp_blocked_flows may hold anything. Every TLS write
 * consults them; on a workstation where nothing was blocked lately both are empty, and the gate
 * spares each write two hash lookups. The daemon sets a flag after inserting into its map and
 * clears it only once it has seen the map empty (it is the only writer of either map).
 */
struct rp_enforce_gate {
	__u32 kill_any;
	__u32 block_any;
};

/* rp_blocked_flows values: what the TLS hook does at the flow's next write. */
enum rp_block_flags {
	RP_BLOCK_SKIP_CAPTURE = 1,  /* do not capture: the socket is dead or its packets dropped */
	RP_BLOCK_KILL_WRITER = 2,   /* no way to stop the bytes (no SOCK_DESTROY, no cookie): SIGKILL */
};

/* Hold mode state: one-element array, written by the daemon. */
struct rp_hold_config {
	__u64 heartbeat_ns;   /* bpf_ktime_get_ns() clock (CLOCK_MONOTONIC) of the daemon's last beat */
	__u64 window_ns;      /* past heartbeat_ns + window_ns the daemon is presumed dead: never stop */
	__u32 hold_default;   /* 1: the policy holds: writes of flows not judged yet are held, and
			       * flows judged "hold" are; 0: nothing is held */
	__u32 _pad;
};

/* rp_hold_flows values (per flow, set by the daemon once it has prejudged the flow; flow_key 0
 * holds the answer for the whole process, used for its flows not judged yet, reset at exec). */
enum rp_hold_mode {
	RP_HOLD_NO = 1,
	RP_HOLD_YES = 2,
};

/* rp_held values, keyed by pid (thread group): a process the BPF side stopped. */
struct rp_held {
	__u64 ktime_ns;
	__u64 flow_key;
	__u64 offset_end;     /* flow offset just past the held write */
	__u32 tid;
	__u32 _pad;
};

struct rp_hold_record {
	struct rp_record_header hdr;
	struct rp_flow_identity id;
	__u64 offset_end;     /* flow offset just past the held write */
	__u64 write_len;
};

/* Destination control: LPM trie keys (prefixlen in bits, address in network byte order). */
struct rp_lpm4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct rp_lpm6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Settings of the cgroup programs: one-element array. */
struct rp_net_config {
	__u32 block_quic;     /* refuse UDP/443 for processes whose comm is in rp_quic_comms */
	__u32 self_tgid;      /* the agent itself is never refused */
};

/* Per-CPU enforcement counters: index into rp_enforce_counters. Never reuse an index. */
enum rp_enforce_counter {
	RP_ECNT_CONNECT_DENIED = 0,   /* connect4/6 refused by destination */
	RP_ECNT_QUIC_DENIED = 1,      /* UDP/443 connect or sendmsg refused for a browser */
	RP_ECNT_EGRESS_DROPPED = 2,   /* packets dropped for a blocked cookie */
	RP_ECNT_BLOCKED_WRITES = 3,   /* TLS writes on a blocked flow */
	RP_ECNT_KILL_SIGNALS = 4,     /* SIGKILL sent from a TLS hook */
	RP_ECNT_HOLD_STOPS = 5,       /* SIGSTOP sent from a TLS hook */
	RP_ECNT_HOLD_STALE = 6,       /* hold wanted but the daemon's heartbeat was stale */
	RP_ECNT_HOLD_LOST = 7,        /* hold record could not be emitted: writer not stopped */
	RP_ECNT_FD_LINKED = 8,        /* TLS flows linked to their socket fd (capture's socket link) */
	RP_ECNT__MAX = 16,
};

/* rp_flow_fds values: the socket fd a TLS flow wrote through (nested-syscall link). */
struct rp_flow_fd {
	__s32 fd;
	__u32 _pad;
};

#endif

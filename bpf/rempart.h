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
};

enum rp_source {
	RP_SRC_OPENSSL = 1,  /* SSL_write, SSL_write_ex */
	RP_SRC_GNUTLS = 2,   /* gnutls_record_send* */
	RP_SRC_NSPR = 3,     /* PR_Write, PR_Send */
	RP_SRC_TCP = 4,      /* plaintext write/send* syscalls on TCP sockets */
};

enum rp_gap_reason {
	RP_GAP_BUDGET = 1,    /* write larger than the per-write budget */
	RP_GAP_RINGBUF = 2,   /* ring buffer full */
	RP_GAP_FAULT = 3,     /* user memory could not be read */
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

struct rp_exec_record {
	struct rp_record_header hdr;
	__u32 pid;
	__u32 uid;
	char comm[RP_COMM_LEN];
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
	RP_CNT__MAX = 16,
};

/* Settings userspace may change while running (policy reload): one-element array map. */
struct rp_runtime_config {
	__u64 write_budget;        /* bytes captured per write before a gap */
	__u32 enabled;             /* 0: hooks return at once */
	__u32 _pad;
};

#endif

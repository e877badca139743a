/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Enforcement (tracker issue 5): what rempartd does once the policy has decided.
 *   enforce.c   load bpf/enforce.bpf.c, attach it to the cgroup v2 root and the write syscalls,
 *               share its maps with the capture object, apply the policy's enforcement settings
 *               (denied destinations, QUIC), carry out block and kill verdicts
 *   sockdiag.c  find a TCP socket over NETLINK_SOCK_DIAG (by cookie or inode) and SOCK_DESTROY it
 *   hold.c      hold mode: writers stopped at TLS entry, scanned, then resumed or blocked; the
 *               heartbeat, the verdict timeout and the guardian that resumes them if rempartd dies
 */
#ifndef REMPARTD_ENFORCE_H
#define REMPARTD_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"
#include "rempart.h"

struct rp_daemon;
struct rp_enforce;
struct bpf_object;

/* ---- sockdiag.c */
struct rp_sock_info {
	uint64_t cookie;
	uint32_t inode;
	uint8_t family;       /* AF_INET / AF_INET6 */
	uint8_t state;        /* TCP_ESTABLISHED ... */
	uint16_t sport, dport; /* host byte order */
	uint8_t src[16], dst[16];
	uint32_t _id_if;      /* idiag_if as reported, needed to address the socket back */
	uint32_t _id_cookie[2];
};
/* Find the TCP socket with this inode (cookie 0) or this cookie (inode 0). -ENOENT if none. */
int rp_sockdiag_find(uint32_t inode, uint64_t cookie, struct rp_sock_info *out);
/* Destroy it (SOCK_DESTROY). -EOPNOTSUPP when the kernel lacks CONFIG_INET_DIAG_DESTROY. */
int rp_sockdiag_destroy(const struct rp_sock_info *s);
/* The cookies of every TCP socket that exists now, sorted, into out (at most max); returns how
 * many, -E2BIG when there are more, or a negative errno. */
ssize_t rp_sockdiag_cookies(uint64_t *out, size_t max);
int rp_cmp_u64(const void *a, const void *b); /* qsort/bsearch order of uint64_t */
/* Socket inode of /proc/PID/fd/FD, or -ENOTSOCK / -errno. */
int rp_proc_fd_socket_inode(pid_t pid, int fd, uint32_t *inode);
/* The established TCP sockets of a process: up to max inodes. Returns how many, or -errno. */
int rp_proc_socket_inodes(pid_t pid, uint32_t *inodes, size_t max);

/* ---- enforce.c */
int rp_enforce_open(struct rp_enforce **out, char *err, size_t errlen);
void rp_enforce_free(struct rp_enforce *e); /* NULL-safe: resumes held writers, detaches */
/* Make the capture object use the shared maps. Call between its open and its load. */
int rp_enforce_share_maps(struct rp_enforce *e, struct bpf_object *capture_obj);
/* Attach the cgroup and tracepoint programs. */
int rp_enforce_attach(struct rp_enforce *e, char *err, size_t errlen);
/* Apply the policy's enforcement settings (parsed with it): denied destinations (names resolved
 * here), QUIC, hold scope and timeouts. origin only names the policy in messages. */
int rp_enforce_apply_policy(struct rp_enforce *e, const struct rp_policy *p, const char *origin, char *err,
			    size_t errlen);
int rp_enforce_timer_fd(const struct rp_enforce *e);
void rp_enforce_on_timer(struct rp_daemon *d);

/*
 * Carry out a verdict on a flow. Returns a static description for the alert's "enforcement"
 * field. *suppress is set when the alert was already emitted by the hold path for this flow.
 */
const char *rp_enforce_verdict(struct rp_daemon *d, const struct rp_flow_identity *id, enum rp_action action,
			       bool *suppress);

/* Hold-mode hooks called from flows.c for each DATA record and each HOLD record. */
void rp_enforce_on_data(struct rp_daemon *d, const struct rp_data_record *r);
int rp_enforce_on_hold_record(struct rp_daemon *d, const void *rec, size_t size);
/* The flow ended (TLS object freed): forget its hold state. */
void rp_enforce_on_flow_end(struct rp_daemon *d, const struct rp_flow_identity *id);

struct rp_enforce_stats {
	uint64_t counters[RP_ECNT__MAX];
	uint64_t holds, released, blocked_in_hold, hold_timeouts, flows_blocked, processes_killed;
	uint64_t destroy_ok, destroy_unsupported, socket_not_found, cookies_swept;
	size_t deny_addrs, deny_hosts_resolved, deny_hosts_failed;
	bool cgroup_attached;
};
void rp_enforce_stats(const struct rp_enforce *e, struct rp_enforce_stats *out);
/* The same as a JSON object for `rempart status` (a new reference; empty object when e is NULL). */
struct json_object *rp_enforce_status_json(const struct rp_enforce *e);

/* ---- hold.c (internal to enforce.c / hold.c) */
struct rp_hold;
int rp_hold_new(struct rp_hold **out, int held_map_fd, int cfg_map_fd, int flows_map_fd);
void rp_hold_free(struct rp_hold *h); /* resumes every writer still held */
/* Start the guardian: a small child that resumes held writers if rempartd dies. */
int rp_hold_start_guardian(struct rp_hold *h);
int rp_hold_configure(struct rp_hold *h, bool hold_default, uint32_t timeout_ms, bool fail_closed);
void rp_hold_heartbeat(struct rp_hold *h);
bool rp_hold_active(const struct rp_hold *h);
/* Resume pid if we hold it (SIGCONT); forget it. Returns true if it was held. */
bool rp_hold_release(struct rp_hold *h, pid_t pid);
/* Forget pid without resuming it (it was killed). */
void rp_hold_forget(struct rp_hold *h, pid_t pid);
/* Pids held longer than the timeout: calls cb for each (the caller decides and releases). */
void rp_hold_expired(struct rp_hold *h, uint64_t now_ns, void (*cb)(pid_t pid, uint64_t flow_key, void *u), void *u);
bool rp_hold_fail_closed(const struct rp_hold *h);
void rp_hold_set_flow_mode(struct rp_hold *h, uint64_t flow_key, uint32_t pid, uint32_t mode);

#endif

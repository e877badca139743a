/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rempartd's moving parts and how they meet. The data path, in order:
 *   capture.c  (load BPF, attach uprobes to TLS libraries found by tls_libs.c, drain the ring buffer)
 *   flows.c    (one entry per flow: detection stream, counts, verdict)
 *   verdict    (policy library: rp_policy_evaluate)
 *   alerts.c   (JSON line + stderr + journald)
 * control.c serves the CLI on a Unix socket; policy_state.c owns the active policy.
 */
#ifndef REMPARTD_DAEMON_H
#define REMPARTD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "detectors.h"
#include "policy.h"
#include "rempart.h"

struct rp_daemon;
struct rp_policy_source;

/* ---- policy_state.c: the active policy, reference-counted so flows keep theirs across reloads */
struct rp_policy_ref {
	struct rp_policy *policy;
	struct rp_scratch *scratch; /* the daemon's (single) scanning thread's scratch for this engine */
	unsigned refs;
	uint64_t generation;
};
int rp_policy_ref_new(struct rp_policy *p, uint64_t generation, struct rp_policy_ref **out);
struct rp_policy_ref *rp_policy_ref_get(struct rp_policy_ref *r);
void rp_policy_ref_put(struct rp_policy_ref *r); /* NULL-safe */

/* CLOCK_MONOTONIC in ns: the agent's one clock for deadlines and ages (bpf_ktime_get_ns's too). */
static inline uint64_t rp_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- capture.c */
struct rp_capture;
struct rp_capture_stats {
	uint64_t counters[RP_CNT__MAX];
	unsigned attached_probes;
	unsigned attached_objects;
	unsigned programs_examined; /* installed ELF programs looked at for embedded TLS */
	bool programs_pending;      /* some not yet */
	unsigned objects_released;  /* hooked files replaced on disk, no longer run: probes detached */
};
typedef int (*rp_record_fn)(struct rp_daemon *d, const void *rec, size_t size);
int rp_capture_open(struct rp_capture **out, uint64_t write_budget, size_t ringbuf_bytes,
		    rp_record_fn fn, struct rp_daemon *d, char *err, size_t errlen);
void rp_capture_free(struct rp_capture *c); /* NULL-safe; detaches everything */
int rp_capture_attach_all(struct rp_capture *c, char *err, size_t errlen);
/* A process exec'd: hook its executable now if it embeds TLS, and its libraries a moment later. */
void rp_capture_on_exec(struct rp_capture *c, pid_t pid, const char *filename);
/* The plaintext TCP socket of inode number ino turned out to carry TLS (a proxy's tunnel): the
 * capture programs stop copying its writes, as for any TLS socket. */
int rp_capture_socket_carries_tls(struct rp_capture *c, uint64_t ino);
/* The dynamic loader of pid has just loaded (or unloaded) libraries: hook the TLS ones now. */
void rp_capture_on_libs_changed(struct rp_capture *c, pid_t pid);
/* The executable a recent exec of pid ran (resolved when it was seen), for a process already gone
 * from /proc; -ENOENT when none is known. */
int rp_capture_exec_path(const struct rp_capture *c, pid_t pid, char *buf, size_t len);
/* Installed programs that embed TLS are hooked after start-up, one slice of at most budget_ns at
 * a time, while some remain to be examined. */
bool rp_capture_programs_pending(const struct rp_capture *c);
void rp_capture_examine_programs(struct rp_capture *c, uint64_t budget_ns);
/* Whether pid runs TLS code (its executable or a library) whose probes went in at or after
 * since_ns (CLOCK_MONOTONIC, as bpf_ktime_get_ns): what it did before then was not seen. */
bool rp_capture_hooked_since(const struct rp_capture *c, pid_t pid, uint64_t since_ns);
/* Periodic work: deferred library scans of recently started processes. */
void rp_capture_tick(struct rp_capture *c, uint64_t now_ns);
int rp_capture_fd(const struct rp_capture *c);   /* epoll-able ring buffer fd */
int rp_capture_drain(struct rp_capture *c);      /* consume available records */
/* The agent drains again within span_ns without being woken (and while it drains): writers need
 * not wake it until then. */
void rp_capture_poll_within(struct rp_capture *c, uint64_t span_ns);
/* Stop polling: writers wake the agent again, then one more drain. > 0: records came meanwhile
 * (or one is still being written), keep polling. */
int rp_capture_idle(struct rp_capture *c);
int rp_capture_set_budget(struct rp_capture *c, uint64_t write_budget);
void rp_capture_stats(const struct rp_capture *c, struct rp_capture_stats *out);
/* Describe each attached probe as "target:function" into a callback. */
void rp_capture_foreach_probe(const struct rp_capture *c, void (*cb)(const char *target, const char *func, void *u),
			      void *u);

/* ---- tls_libs.c: find TLS libraries on disk and in running processes */
enum rp_tls_kind {
	RP_TLS_OPENSSL = 1,
	RP_TLS_GNUTLS = 2,
	RP_TLS_NSPR = 3,
	RP_TLS_CANDIDATE_EXE = 4, /* an executable: hooked as OpenSSL if it defines SSL_write, as
				   * Go if it defines crypto/tls.(*Conn).Write (register ABI) */
	RP_TLS_GO = 5,
	RP_TLS_LOADER = 6, /* the dynamic loader (ld.so): tells when a process loads libraries */
};
struct rp_tls_object {
	char path[4096];
	dev_t dev;
	ino_t ino;
	struct timespec ctime; /* tells a file from an earlier one that had its inode number */
	enum rp_tls_kind kind;
};
typedef int (*rp_tls_found_fn)(const struct rp_tls_object *o, void *u);
int rp_tls_libs_scan(rp_tls_found_fn fn, void *u);
int rp_tls_scan_pid(pid_t pid, rp_tls_found_fn fn, void *u);
/* Sets mapped[i] when some process maps a file whose inode number is inos[i] (all of them when
 * /proc cannot be read). */
void rp_tls_mark_mapped(const ino_t *inos, bool *mapped, size_t n);
/* Installed programs (/usr/bin, /usr/local, /opt...) reported as candidates a few at a time, and
 * the TLS libraries bundled there (by their sonames): step() reports until deadline_ns
 * (CLOCK_MONOTONIC) passes; 1 while some remain, 0 when done, or fn's negative errno. */
struct rp_program_scan;
struct rp_scan_root {
	const char *dir;
	unsigned depth; /* levels of subdirectories walked (at most 4) */
};
/* roots NULL: the installed programs' directories; else these (kept alive by the caller). */
int rp_program_scan_new(struct rp_program_scan **out, const struct rp_scan_root *roots, size_t n_roots);
int rp_program_scan_step(struct rp_program_scan *s, uint64_t deadline_ns, rp_tls_found_fn fn, void *u);
unsigned rp_program_scan_reported(const struct rp_program_scan *s); /* programs and libraries so far */
void rp_program_scan_free(struct rp_program_scan *s);                 /* NULL-safe */

/* ---- elf_syms.c: 1 if the ELF file defines the function (dynamic or full symbol table), 0 if not */
int rp_elf_defines(const char *path, const char *symbol);
/* The Go release an executable was built with ("go1.22.1"), from its build info, when the build
 * info is of the form Go 1.18+ writes (register calling convention); -ENOENT otherwise. */
int rp_elf_go_version(const char *path, char *buf, size_t len);
/* A defined function's file offset (where a uprobe goes; offset may be NULL) and up to len bytes
 * of its code; returns how many bytes, or a negative errno (-ENOENT: not defined). */
ssize_t rp_elf_func_code(const char *path, const char *symbol, uint64_t *offset, uint8_t *buf, size_t len);
/* How far an exported object lies from an exported function, in the loaded image (the same in
 * every process, whatever the load address): 0, or -ENOENT when either is not exported. */
int rp_elf_distance(const char *path, const char *func, const char *object, int64_t *distance);
/* Read up to len bytes of a defined function's code; returns how many, or a negative errno. */
ssize_t rp_elf_func_bytes(const char *path, const char *symbol, uint8_t *buf, size_t len);

/* ---- probe_site.c: offset in a function where a uprobe is cheapest (0: the entry) */
size_t rp_probe_site(const uint8_t *code, size_t len);
/* Where to probe a Go function: just past its stack-growth check (see probe_site.c), or 0. */
size_t rp_go_probe_site(const uint8_t *code, size_t len);

/* ---- mounts.c */
int rp_ensure_mounts(char *err, size_t errlen);

/* ---- procinfo.c */
int rp_proc_exe(pid_t pid, char *buf, size_t len);
int rp_user_name(uid_t uid, char *buf, size_t len);

/* ---- flows.c */
struct rp_flow;
struct rp_flow_table;
int rp_flow_table_new(struct rp_flow_table **out, size_t max_flows);
void rp_flow_table_free(struct rp_flow_table *t, struct rp_daemon *d);
int rp_flows_on_record(struct rp_daemon *d, const void *rec, size_t size);
size_t rp_flow_table_count(const struct rp_flow_table *t);
/* Bytes the detection library holds for all flows (busy flows keep their context window). */
size_t rp_flow_table_detection_bytes(const struct rp_flow_table *t);
/* What the flows' decoders did, ended flows included (counts since start). */
struct rp_decoder_stats;
void rp_flow_table_decoder_stats(const struct rp_flow_table *t, struct rp_decoder_stats *out);
void rp_flow_table_expire(struct rp_flow_table *t, struct rp_daemon *d, uint64_t now_ns, uint64_t idle_ns);
/* Decide what flows idle for idle_ns were holding back (a value at the very end of a write).
 * Returns true while some flows still have undecided bytes. */
bool rp_flows_flush_idle(struct rp_daemon *d, uint64_t now_ns, uint64_t idle_ns);
/* Emit alerts that waited at least max_wait_ns for their flow's socket. */
void rp_flows_flush_alerts(struct rp_daemon *d, uint64_t now_ns, uint64_t max_wait_ns);

/* ---- alerts.c */
struct rp_alert_sink;
struct rp_alert {
	uint64_t time_ms;
	enum rp_action action;
	const char *rule_id;
	const char *message;
	const char *policy_name;
	uint64_t policy_serial;
	const struct rp_finding *finding;   /* the finding that triggered the alert */
	const uint32_t *counts;             /* per engine detector */
	const struct rp_engine *engine;
	const struct rp_flow_identity *id;
	const char *exe;
	const char *user;
	const char *destination;
	const char *host;                   /* HTTP Host / :authority, or NULL */
	const char *tenant;                 /* organisation the request named (decoders), or NULL */
	const char *tenant_domain;
	bool destination_approved;
	bool flow_had_gap;
	const char *enforcement;            /* what was done, e.g. "none", "socket destroyed" */
};
/* Fill what an alert takes from the policy and its verdict (time, action, rule, policy, destination);
 * the caller adds the flow, the finding and what enforcement did. */
void rp_alert_from_verdict(struct rp_alert *a, const struct rp_policy *p, const struct rp_verdict *v);
int rp_alert_sink_open(const char *path, bool to_stderr, bool to_journal, struct rp_alert_sink **out);
void rp_alert_sink_free(struct rp_alert_sink *s);
int rp_alert_emit(struct rp_alert_sink *s, const struct rp_alert *a);
uint64_t rp_alert_sink_count(const struct rp_alert_sink *s);
uint64_t rp_alert_sink_errors(const struct rp_alert_sink *s);

/* ---- control.c: Unix socket for the CLI */
struct rp_control;
int rp_control_open(const char *path, struct rp_control **out);
void rp_control_free(struct rp_control *c);
int rp_control_fd(const struct rp_control *c);
/* Accept/serve whatever is ready on fd (the listening socket or a client). */
void rp_control_handle(struct rp_control *c, struct rp_daemon *d, int fd, uint32_t events);
bool rp_control_owns_fd(const struct rp_control *c, int fd);

/* ---- notify_server.c: per-user desktop notifications (declarations in notify_server.h) */
#include "notify_server.h"

/* ---- main.c: the daemon itself */
struct rp_daemon {
	const char *policy_path;
	const char *alerts_path;
	const char *socket_path;
	int epfd;
	bool ready;
	bool stopping;
	uint64_t started_ns;
	struct rp_policy_ref *policy;     /* active */
	uint64_t policy_generation;
	char policy_error[1536];          /* last reload error, empty when none */
	char policy_origin[256];          /* where the active policy came from */
	struct rp_policy_source *source;  /* central policy (spool, URL), or NULL */
	struct rp_capture *capture;
	struct rp_flow_table *flows;
	struct rp_alert_sink *alerts;
	struct rp_control *control;
	struct rp_notify_server *notify;  /* NULL when its socket could not be opened */
	const char *notify_socket_path;
	uint64_t records_seen;
	uint64_t records_malformed;
	uint64_t findings;
	uint64_t uninspected_tls;         /* TLS sessions opened by stacks we do not hook */
	uint64_t uninspected_tls_tunnels; /* of which inside an HTTP proxy's tunnel (CONNECT) */
	struct rp_enforce *enforce;       /* enforcement (issue 5): enforce.h */
};

/* Reload the policy from its path; on failure the active one stays and the error is kept. */
int rp_daemon_reload(struct rp_daemon *d);

#endif

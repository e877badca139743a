/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Enforcement: load bpf/enforce.bpf.c, attach it to the cgroup v2 root (every process) and to the
 * exec tracepoint, apply the policy's "enforcement" settings, and carry out verdicts.
 *
 * block: find the flow's TCP socket -- by the socket cookie when capture linked it, else by the fd
 *        the TLS library wrote the ciphertext to (rp_flow_fds, recorded by capture's socket
 *        link) resolved to a socket inode through /proc/PID/fd, else by the process's only TCP
 *        socket -- and SOCK_DESTROY it; put its cookie in the egress drop map; mark the flow so
 *        the TLS hooks refuse (do not capture) further writes. Without SOCK_DESTROY (EOPNOTSUPP):
 *        egress drop, plus killing the writer when the policy allows it (kill_if_unstoppable).
 * kill:  kill(2) at once and SIGKILL from the TLS hooks at the process's next write.
 * hold:  see hold.c and on_hold_record() below.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "daemon.h"
#include "enforce.h"
#include "enforce.skel.h"

#define HOLD_BUCKETS 1024u
#define HOLD_MAX_FLOWS 4096u
#define HOLD_TAIL 512u                 /* bytes of earlier writes rescanned with a held write */
#define HOLD_MAX_BYTES (8u << 20)      /* bytes of one held write kept for its scan */
#define KILL_ENTRY_TTL_NS (10ull * 1000000000ull)
/* Egress-drop entries are checked against the sockets that exist this often, once this old. */
#define COOKIE_SWEEP_NS (5ull * 1000000000ull)
#define SWEEP_MAX_SOCKETS 262144
#define MAX_SOCKETS 256
#define FD_LINK_WAIT_STEPS 40u           /* x FD_LINK_WAIT_US: at most 10 ms */
#define FD_LINK_WAIT_US 250u

/* Userspace state of a flow seen while hold mode is on. */
struct hold_flow {
	struct hold_flow *next;
	uint64_t flow_key;
	uint32_t pid;
	uint32_t mode;         /* 0 not prejudged yet, else enum rp_hold_mode */
	bool blocked;          /* blocked (by hold or by a verdict): later alerts are redundant */
	bool alerted;
	uint64_t last_ns;
	uint8_t *buf;          /* tail of earlier writes, then the bytes of the write being held */
	size_t len, cap, tail; /* tail: how many leading bytes of buf are from earlier writes */
	uint32_t *counts;      /* per engine detector, cumulative over held writes */
	size_t n_counts;
	uint64_t generation;   /* policy generation counts refer to */
};

struct rp_enforce {
	struct enforce_bpf *skel;
	struct bpf_link *links[16];
	size_t n_links;
	struct rp_hold *hold;
	int timerfd;
	int ncpus;
	bool cgroup_attached;
	bool kill_if_unstoppable;
	bool writer_stopped;   /* set around block_flow() for a held writer: no fd link can come */
	bool fault_no_destroy; /* REMPART_FAULT_NO_SOCK_DESTROY: act as a kernel without SOCK_DESTROY */
	bool fault_slow_verdict; /* REMPART_FAULT_NO_HOLD_VERDICT: leave held writes to the timeout */
	struct hold_flow *buckets[HOLD_BUCKETS];
	size_t n_flows;
	char how[256];
	struct rp_enforce_stats st;
	struct rp_enforce_gate gate; /* as last written to the rp_enforce_gate map */
	uint64_t last_cookie_sweep_ns;
};

/* ------------------------------------------------------------------------------------------ */
/* hold flow table */

static unsigned flow_bucket(uint64_t key, uint32_t pid)
{
	uint64_t h = key ^ ((uint64_t)pid << 29);
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> 40) % HOLD_BUCKETS;
}

static void hold_flow_free(struct hold_flow *f)
{
	if (!f)
		return;
	free(f->buf);
	free(f->counts);
	free(f);
}

static struct hold_flow *hold_flow_find(struct rp_enforce *e, uint64_t key, uint32_t pid)
{
	for (struct hold_flow *f = e->buckets[flow_bucket(key, pid)]; f; f = f->next)
		if (f->flow_key == key && f->pid == pid)
			return f;
	return NULL;
}

/* Drop flows idle for more than idle_ns (all of them with 0). */
static void hold_flows_expire(struct rp_enforce *e, uint64_t now, uint64_t idle_ns)
{
	for (unsigned b = 0; b < HOLD_BUCKETS; b++) {
		struct hold_flow **pp = &e->buckets[b];
		while (*pp) {
			struct hold_flow *f = *pp;
			if (idle_ns == 0 || now - f->last_ns > idle_ns) {
				*pp = f->next;
				hold_flow_free(f);
				e->n_flows--;
			} else {
				pp = &f->next;
			}
		}
	}
}

static struct hold_flow *hold_flow_get(struct rp_enforce *e, uint64_t key, uint32_t pid)
{
	struct hold_flow *f = hold_flow_find(e, key, pid);
	unsigned b;

	if (f)
		return f;
	if (e->n_flows >= HOLD_MAX_FLOWS)
		hold_flows_expire(e, rp_monotonic_ns(), 60ull * 1000000000ull);
	if (e->n_flows >= HOLD_MAX_FLOWS)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->flow_key = key;
	f->pid = pid;
	b = flow_bucket(key, pid);
	f->next = e->buckets[b];
	e->buckets[b] = f;
	e->n_flows++;
	return f;
}

static int hold_flow_append(struct hold_flow *f, const uint8_t *data, size_t len)
{
	if (f->len + len > HOLD_MAX_BYTES)
		return -E2BIG;
	if (f->len + len > f->cap) {
		size_t cap = f->cap ? f->cap : 4096;
		uint8_t *nb;
		while (cap < f->len + len)
			cap *= 2;
		nb = realloc(f->buf, cap);
		if (!nb)
			return -ENOMEM;
		f->buf = nb;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, data, len);
	f->len += len;
	return 0;
}

/* After a held write was judged: keep only its last HOLD_TAIL bytes as context for the next. */
static void hold_flow_keep_tail(struct hold_flow *f)
{
	size_t keep = f->len < HOLD_TAIL ? f->len : HOLD_TAIL;

	memmove(f->buf, f->buf + f->len - keep, keep);
	f->len = keep;
	f->tail = keep;
}

/* ------------------------------------------------------------------------------------------ */
/* open / attach / policy */

static int find_cgroup2_root(char *path, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/mounts", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char dev[256], dir[2048], type[64];
		if (sscanf(line, "%255s %2047s %63s", dev, dir, type) != 3)
			continue;
		if (strcmp(type, "cgroup2") == 0) {
			snprintf(path, len, "%s", dir);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

int rp_enforce_open(struct rp_enforce **out, char *err, size_t errlen)
{
	struct rp_net_config net = {.self_tgid = (__u32)getpid()};
	struct rp_enforce *e;
	__u32 zero = 0;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->timerfd = -1;
	e->ncpus = libbpf_num_possible_cpus();
	/* Fault injection for tests: the fallback path of kernels built without SOCK_DESTROY. */
	e->fault_no_destroy = getenv("REMPART_FAULT_NO_SOCK_DESTROY") != NULL;
	/* ... and a verdict that never comes (hold timeout, fail_mode). */
	e->fault_slow_verdict = getenv("REMPART_FAULT_NO_HOLD_VERDICT") != NULL;
	e->skel = enforce_bpf__open_and_load();
	if (!e->skel) {
		r = -errno;
		snprintf(err, errlen, "cannot load BPF enforcement programs: %s", strerror(-r));
		goto fail;
	}
	if (bpf_map__update_elem(e->skel->maps.rp_net_cfg, &zero, sizeof(zero), &net, sizeof(net), BPF_ANY) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot configure enforcement: %s", strerror(-r));
		goto fail;
	}
	r = rp_hold_new(&e->hold, bpf_map__fd(e->skel->maps.rp_held), bpf_map__fd(e->skel->maps.rp_hold_cfg),
			bpf_map__fd(e->skel->maps.rp_hold_flows));
	if (r < 0) {
		snprintf(err, errlen, "cannot set up hold mode: %s", strerror(-r));
		goto fail;
	}
	/* Fork the guardian now, before any program is attached: it must not keep them alive. */
	r = rp_hold_start_guardian(e->hold);
	if (r < 0) {
		snprintf(err, errlen, "cannot start the hold guardian: %s", strerror(-r));
		goto fail;
	}
	e->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (e->timerfd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create the enforcement timer: %s", strerror(-r));
		goto fail;
	}
	struct itimerspec its = {.it_interval = {.tv_nsec = 100 * 1000000}, .it_value = {.tv_nsec = 100 * 1000000}};
	timerfd_settime(e->timerfd, 0, &its, NULL);
	*out = e;
	return 0;
fail:
	rp_enforce_free(e);
	return r;
}

void rp_enforce_free(struct rp_enforce *e)
{
	if (!e)
		return;
	/* Resume every held writer first, then detach. */
	rp_hold_free(e->hold);
	for (size_t i = 0; i < e->n_links; i++)
		bpf_link__destroy(e->links[i]);
	hold_flows_expire(e, 0, 0);
	if (e->timerfd >= 0)
		close(e->timerfd);
	enforce_bpf__destroy(e->skel);
	free(e);
}

int rp_enforce_share_maps(struct rp_enforce *e, struct bpf_object *obj)
{
	struct bpf_map *const shared[] = {
		e->skel->maps.rp_enforce_counters, e->skel->maps.rp_blocked_flows, e->skel->maps.rp_kill_pids,
		e->skel->maps.rp_hold_cfg,	   e->skel->maps.rp_hold_flows,	   e->skel->maps.rp_held,
		e->skel->maps.rp_flow_fds,	   e->skel->maps.rp_enforce_gate,
	};

	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, bpf_map__name(shared[i]));
		int r;

		if (!m)
			return -ENOENT;
		r = bpf_map__reuse_fd(m, bpf_map__fd(shared[i]));
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_link(struct rp_enforce *e, struct bpf_link *l)
{
	if (!l)
		return -errno;
	if (e->n_links == sizeof(e->links) / sizeof(e->links[0])) {
		bpf_link__destroy(l);
		return -E2BIG;
	}
	e->links[e->n_links++] = l;
	return 0;
}

int rp_enforce_attach(struct rp_enforce *e, char *err, size_t errlen)
{
	struct bpf_program *const cg[] = {
		e->skel->progs.rp_egress,   e->skel->progs.rp_connect4, e->skel->progs.rp_connect6,
		e->skel->progs.rp_sendmsg4, e->skel->progs.rp_sendmsg6,
	};
	struct bpf_program *const tp[] = {
		e->skel->progs.rp_tp_exec,
	};
	char root[2048];
	int cgfd, r;

	r = find_cgroup2_root(root, sizeof(root));
	if (r < 0) {
		snprintf(err, errlen, "no cgroup v2 hierarchy in /proc/mounts: cannot attach enforcement");
		return r;
	}
	cgfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open cgroup %s: %s", root, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < sizeof(cg) / sizeof(cg[0]); i++) {
		r = add_link(e, bpf_program__attach_cgroup(cg[i], cgfd));
		if (r < 0) {
			snprintf(err, errlen, "cannot attach %s to cgroup %s: %s", bpf_program__name(cg[i]), root,
				 strerror(-r));
			close(cgfd);
			return r;
		}
	}
	close(cgfd);
	e->cgroup_attached = true;
	for (size_t i = 0; i < sizeof(tp) / sizeof(tp[0]); i++) {
		r = add_link(e, bpf_program__attach(tp[i]));
		if (r < 0) {
			snprintf(err, errlen, "cannot attach %s: %s", bpf_program__name(tp[i]), strerror(-r));
			return r;
		}
	}
	return 0;
}

static void map_clear(struct bpf_map *m, size_t key_size)
{
	uint8_t key[64];
	int fd = bpf_map__fd(m);

	if (key_size > sizeof(key))
		return;
	/* Bounded: each round deletes one key. */
	for (unsigned i = 0; i < 65536 && bpf_map_get_next_key(fd, NULL, key) == 0; i++)
		(void)bpf_map_delete_elem(fd, key);
}

static int deny_add(struct rp_enforce *e, int family, const uint8_t *addr, unsigned prefix)
{
	__u8 one = 1;

	if (family == AF_INET) {
		struct rp_lpm4_key k = {.prefixlen = prefix};
		memcpy(k.addr, addr, 4);
		return bpf_map__update_elem(e->skel->maps.rp_deny4, &k, sizeof(k), &one, 1, BPF_ANY) < 0 ? -errno : 0;
	}
	struct rp_lpm6_key k = {.prefixlen = prefix};
	memcpy(k.addr, addr, 16);
	return bpf_map__update_elem(e->skel->maps.rp_deny6, &k, sizeof(k), &one, 1, BPF_ANY) < 0 ? -errno : 0;
}

static bool policy_has_hold(const struct rp_policy *p)
{
	size_t n = rp_policy_rule_count(p);

	for (size_t i = 0; i < n; i++) {
		struct rp_rule_info ri;
		if (rp_policy_rule_info(p, i, &ri) == 0 && ri.action == RP_ACTION_HOLD)
			return true;
	}
	return false;
}

int rp_enforce_apply_policy(struct rp_enforce *e, const struct rp_policy *p, const char *origin, char *err,
			    size_t errlen)
{
	const struct rp_enforcement_settings *s = rp_policy_enforcement(p);
	struct rp_net_config net;
	__u32 zero = 0;
	int r = 0;

	if (!s) {
		snprintf(err, errlen, "%s: no enforcement settings (policy not loaded by the library?)",
			 origin ? origin : "policy");
		return -EINVAL;
	}
	/* Destinations: rebuild both tries. Names resolve now (and at every reload). */
	map_clear(e->skel->maps.rp_deny4, sizeof(struct rp_lpm4_key));
	map_clear(e->skel->maps.rp_deny6, sizeof(struct rp_lpm6_key));
	e->st.deny_addrs = e->st.deny_hosts_resolved = e->st.deny_hosts_failed = 0;
	for (size_t i = 0; i < s->n_deny_addrs; i++)
		if (deny_add(e, s->deny_addrs[i].family, s->deny_addrs[i].addr, s->deny_addrs[i].prefix) == 0)
			e->st.deny_addrs++;
	for (char **h = s->deny_hosts; h && *h; h++) {
		struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
		if (getaddrinfo(*h, NULL, &hints, &res) != 0) {
			e->st.deny_hosts_failed++;
			continue;
		}
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
			if (ai->ai_family == AF_INET)
				r = deny_add(e, AF_INET, (const uint8_t *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr, 32);
			else if (ai->ai_family == AF_INET6)
				r = deny_add(e, AF_INET6, ((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr.s6_addr, 128);
			else
				continue;
			if (r == 0)
				e->st.deny_addrs++;
		}
		freeaddrinfo(res);
		e->st.deny_hosts_resolved++;
	}

	/* QUIC */
	map_clear(e->skel->maps.rp_quic_comms, RP_COMM_LEN);
	for (char **c = s->quic_comm; c && *c; c++) {
		char key[RP_COMM_LEN] = {0};
		__u8 one = 1;
		strncpy(key, *c, RP_COMM_LEN - 1);
		(void)bpf_map__update_elem(e->skel->maps.rp_quic_comms, key, sizeof(key), &one, 1, BPF_ANY);
	}
	net = (struct rp_net_config){.block_quic = s->block_quic, .self_tgid = (__u32)getpid()};
	(void)bpf_map__update_elem(e->skel->maps.rp_net_cfg, &zero, sizeof(zero), &net, sizeof(net), BPF_ANY);
	e->kill_if_unstoppable = s->kill_if_unstoppable;

	/* Hold: a new policy judges every flow anew. */
	map_clear(e->skel->maps.rp_hold_flows, sizeof(struct rp_flow_ref));
	hold_flows_expire(e, 0, 0);
	r = rp_hold_configure(e->hold, policy_has_hold(p), rp_policy_settings(p)->hold_timeout_ms,
			      rp_policy_settings(p)->fail_closed);
	if (r < 0)
		snprintf(err, errlen, "cannot configure hold mode: %s", strerror(-r));
	return r;
}

int rp_enforce_timer_fd(const struct rp_enforce *e)
{
	return e->timerfd;
}

/* ------------------------------------------------------------------------------------------ */
/* block and kill */

static void gate_write(struct rp_enforce *e, struct rp_enforce_gate g)
{
	__u32 zero = 0;

	if (g.kill_any == e->gate.kill_any && g.block_any == e->gate.block_any)
		return;
	if (bpf_map__update_elem(e->skel->maps.rp_enforce_gate, &zero, sizeof(zero), &g, sizeof(g), BPF_ANY) == 0)
		e->gate = g;
}

static void mark_flow(struct rp_enforce *e, uint64_t flow_key, uint32_t pid, uint32_t flags)
{
	struct rp_flow_ref ref = {.flow_key = flow_key, .pid = pid};
	struct rp_enforce_gate g = e->gate;

	(void)bpf_map__update_elem(e->skel->maps.rp_blocked_flows, &ref, sizeof(ref), &flags, sizeof(flags), BPF_ANY);
	g.block_any = 1; /* after the entry: a hook that sees the gate open finds it */
	gate_write(e, g);
}

static void drop_cookie(struct rp_enforce *e, uint64_t cookie)
{
	uint64_t now = rp_monotonic_ns();

	(void)bpf_map__update_elem(e->skel->maps.rp_blocked_cookies, &cookie, sizeof(cookie), &now, sizeof(now),
				   BPF_ANY);
}

static void kill_process(struct rp_enforce *e, pid_t pid)
{
	uint64_t now = rp_monotonic_ns();
	__u32 key = (__u32)pid;

	struct rp_enforce_gate g = e->gate;

	(void)bpf_map__update_elem(e->skel->maps.rp_kill_pids, &key, sizeof(key), &now, sizeof(now), BPF_ANY);
	g.kill_any = 1;
	gate_write(e, g);
	(void)kill(pid, SIGKILL);
	rp_hold_forget(e->hold, pid);
	e->st.processes_killed++;
}

/*
 * Blocked-flow marks of processes that are gone: their TLS objects will never be freed through
 * the hook that forgets them. Returns whether the map was seen empty afterwards.
 */
static bool blocked_flows_collect(struct rp_enforce *e)
{
	struct rp_flow_ref key, next, dead[256];
	unsigned n_dead = 0, walked;
	bool first = true;

	for (walked = 0; walked < 16384; walked++) {
		if (bpf_map__get_next_key(e->skel->maps.rp_blocked_flows, first ? NULL : &key, &next, sizeof(next)) < 0)
			break;
		first = false;
		key = next;
		if (n_dead < sizeof(dead) / sizeof(dead[0]) && kill((pid_t)next.pid, 0) < 0 && errno == ESRCH)
			dead[n_dead++] = next;
	}
	for (unsigned i = 0; i < n_dead; i++)
		(void)bpf_map__delete_elem(e->skel->maps.rp_blocked_flows, &dead[i], sizeof(dead[i]), 0);
	return walked < 16384 && walked == n_dead;
}

/* Close the hooks' gate once the daemon has seen a map empty (it alone inserts into them). */
static void gate_close_if_empty(struct rp_enforce *e, bool no_kill_marks, bool no_blocked_flows)
{
	struct rp_enforce_gate g = e->gate;

	if (no_kill_marks)
		g.kill_any = 0;
	if (no_blocked_flows)
		g.block_any = 0;
	gate_write(e, g);
}

/* Socket inodes of pid's other TLS flows, as linked by the nested syscall. */
static size_t linked_inodes(struct rp_enforce *e, pid_t pid, uint64_t except_flow, uint32_t *out, size_t max)
{
	struct rp_flow_ref key, next;
	struct rp_flow_fd v;
	size_t n = 0;
	bool first = true;

	for (unsigned i = 0; i < 65536 && n < max; i++) {
		if (bpf_map__get_next_key(e->skel->maps.rp_flow_fds, first ? NULL : &key, &next, sizeof(next)) < 0)
			break;
		first = false;
		key = next;
		if (next.pid != (uint32_t)pid || next.flow_key == except_flow)
			continue;
		if (bpf_map__lookup_elem(e->skel->maps.rp_flow_fds, &next, sizeof(next), &v, sizeof(v), 0) == 0 &&
		    rp_proc_fd_socket_inode(pid, v.fd, &out[n]) == 0)
			n++;
	}
	return n;
}

/* The flow's TCP socket. *how_found says by what. */
static int find_flow_socket(struct rp_enforce *e, const struct rp_flow_identity *id, struct rp_sock_info *si,
			    const char **how_found)
{
	struct rp_flow_ref ref = {.flow_key = id->flow_key, .pid = id->pid};
	struct rp_flow_fd ffd = {.fd = -1};
	uint32_t inodes[MAX_SOCKETS], linked_buf[MAX_SOCKETS], inode;
	size_t linked;
	int n, r, found = 0;

	if (id->sock_cookie && rp_sockdiag_find(0, id->sock_cookie, si) == 0) {
		*how_found = "cookie";
		return 0;
	}
	/* A plaintext or unreadable TLS socket's flow is named by the socket's inode. */
	if (id->source == RP_SRC_TCP && id->flow_key <= UINT32_MAX && rp_sockdiag_find((uint32_t)id->flow_key, 0, si) == 0) {
		*how_found = "inode";
		return 0;
	}
	/* The link is made by the TLS library's first send after the write: a verdict on a flow's
	 * first write can be faster than that. Wait for it a little (bounded). */
	for (unsigned i = 0; i < (e->writer_stopped ? 1u : FD_LINK_WAIT_STEPS); i++) {
		if (bpf_map__lookup_elem(e->skel->maps.rp_flow_fds, &ref, sizeof(ref), &ffd, sizeof(ffd), 0) == 0)
			break;
		ffd.fd = -1;
		if (kill((pid_t)id->pid, 0) < 0)
			break;
		usleep(FD_LINK_WAIT_US);
	}
	if (ffd.fd >= 0 && rp_proc_fd_socket_inode((pid_t)id->pid, ffd.fd, &inode) == 0 &&
	    rp_sockdiag_find(inode, 0, si) == 0) {
		*how_found = "fd";
		return 0;
	}
	/* Last resort: the process's only connected TCP socket that no other TLS flow of it is known
	 * to write to (a held first write has not reached its socket yet, so nothing links it). */
	n = rp_proc_socket_inodes((pid_t)id->pid, inodes, MAX_SOCKETS);
	if (n < 0)
		return n;
	linked = linked_inodes(e, (pid_t)id->pid, id->flow_key, linked_buf, MAX_SOCKETS);
	for (int i = 0; i < n; i++) {
		struct rp_sock_info cand;
		bool other = false;

		for (size_t k = 0; k < linked; k++)
			other = other || linked_buf[k] == inodes[i];
		if (other || rp_sockdiag_find(inodes[i], 0, &cand) < 0 || cand.state == TCP_LISTEN)
			continue;
		if (++found > 1)
			return -ENOTUNIQ;
		*si = cand;
	}
	if (!found)
		return -ENOENT;
	r = 0;
	*how_found = linked ? "only socket of the process not linked to another flow" : "only socket of the process";
	return r;
}

/*
 * Kill the flow. Returns true when its bytes can no longer leave (socket destroyed or dropped, or
 * the writer killed). Fills e->how.
 */
static bool block_flow(struct rp_enforce *e, const struct rp_flow_identity *id, const char *prefix)
{
	struct rp_sock_info si;
	const char *by = "";
	int r;

	e->st.flows_blocked++;
	r = find_flow_socket(e, id, &si, &by);
	if (r < 0) {
		e->st.socket_not_found++;
		if (e->kill_if_unstoppable) {
			mark_flow(e, id->flow_key, id->pid, RP_BLOCK_SKIP_CAPTURE | RP_BLOCK_KILL_WRITER);
			kill_process(e, (pid_t)id->pid);
			snprintf(e->how, sizeof(e->how), "%sblocked: socket not found (%s); process killed", prefix,
				 strerror(-r));
			return true;
		}
		mark_flow(e, id->flow_key, id->pid, RP_BLOCK_SKIP_CAPTURE);
		snprintf(e->how, sizeof(e->how), "%sblock failed: socket not found (%s); further writes not captured",
			 prefix, strerror(-r));
		return false;
	}
	/* Mark first: once the socket is destroyed the writer may free its TLS object at once, and
	 * that free is what clears the mark (the address may be reused by the next flow). A flow
	 * that is a socket (plaintext, or TLS we cannot read) ends with the socket: no mark, which
	 * would stay until the process exits and keep every hooked write looking marks up. */
	if (id->source != RP_SRC_TCP)
		mark_flow(e, id->flow_key, id->pid, RP_BLOCK_SKIP_CAPTURE);
	r = e->fault_no_destroy ? -EOPNOTSUPP : rp_sockdiag_destroy(&si);
	/* The cookie goes into the drop map after the destroy, so the RST still reaches the peer. */
	drop_cookie(e, si.cookie);
	if (r == 0) {
		e->st.destroy_ok++;
		snprintf(e->how, sizeof(e->how), "%sblocked: socket destroyed (SOCK_DESTROY, found by %s) + egress drop",
			 prefix, by);
		return true;
	}
	if (r == -EOPNOTSUPP)
		e->st.destroy_unsupported++;
	if (id->source == RP_SRC_TCP) /* the socket lives on: its plaintext writes are not captured */
		mark_flow(e, id->flow_key, id->pid, RP_BLOCK_SKIP_CAPTURE);
	if (e->kill_if_unstoppable) {
		kill_process(e, (pid_t)id->pid);
		snprintf(e->how, sizeof(e->how), "%sblocked: egress drop by cookie (SOCK_DESTROY: %s) + process killed",
			 prefix, strerror(-r));
	} else {
		snprintf(e->how, sizeof(e->how), "%sblocked: egress drop by cookie (SOCK_DESTROY: %s)", prefix,
			 strerror(-r));
	}
	return true;
}

const char *rp_enforce_verdict(struct rp_daemon *d, const struct rp_flow_identity *id, enum rp_action action,
			       bool *suppress)
{
	struct rp_enforce *e = d->enforce;
	struct hold_flow *f;

	*suppress = false;
	if (!e || !id)
		return "none";
	f = hold_flow_find(e, id->flow_key, id->pid);
	if (f && f->blocked && action <= RP_ACTION_HOLD && f->alerted) {
		*suppress = true; /* the hold path already stopped and reported this flow */
		return "already blocked";
	}
	switch (action) {
	case RP_ACTION_NONE:
	case RP_ACTION_AUDIT:
	case RP_ACTION_ALERT:
		return "none";
	case RP_ACTION_BLOCK:
	case RP_ACTION_HOLD: /* a match in a held flow blocks it */
		if (f && rp_hold_active(e->hold) && f->mode != RP_HOLD_NO) {
			/* The writer is being held at TLS entry (the HOLD record follows its data): the
			 * socket goes now, the HOLD record resumes it into a failing write. */
			f->blocked = true;
			f->alerted = true;
			e->st.blocked_in_hold++;
			bool ok;

			e->writer_stopped = true;
			ok = block_flow(e, id, "held at TLS entry, nothing sent; ");
			e->writer_stopped = false;
			if (!ok) {
				kill_process(e, (pid_t)id->pid);
				snprintf(e->how, sizeof(e->how),
					 "held at TLS entry; socket not found, process killed before the write (nothing sent)");
			}
			return e->how;
		}
		if (f)
			f->blocked = true;
		block_flow(e, id, "");
		return e->how;
	case RP_ACTION_KILL:
		kill_process(e, (pid_t)id->pid);
		snprintf(e->how, sizeof(e->how), "process killed (SIGKILL now, and at its next TLS write)");
		return e->how;
	}
	return "none";
}

/* ------------------------------------------------------------------------------------------ */
/* hold */

/* Whether the BPF side already knows this flow, or its process, is not held. */
static bool flow_known_not_held(struct rp_enforce *e, uint64_t flow_key, uint32_t pid)
{
	struct rp_flow_ref ref = {.flow_key = flow_key, .pid = pid};
	__u32 mode;

	if (bpf_map__lookup_elem(e->skel->maps.rp_hold_flows, &ref, sizeof(ref), &mode, sizeof(mode), 0) == 0)
		return mode == RP_HOLD_NO;
	ref.flow_key = 0;
	if (bpf_map__lookup_elem(e->skel->maps.rp_hold_flows, &ref, sizeof(ref), &mode, sizeof(mode), 0) == 0)
		return mode == RP_HOLD_NO;
	return false;
}

void rp_enforce_on_data(struct rp_daemon *d, const struct rp_data_record *r)
{
	struct rp_enforce *e = d->enforce;
	struct hold_flow *f;

	if (!e || !rp_hold_active(e->hold))
		return;
	f = hold_flow_get(e, r->id.flow_key, r->id.pid);
	if (!f)
		return;
	if (f->mode == 0 && flow_known_not_held(e, r->id.flow_key, r->id.pid))
		f->mode = RP_HOLD_NO; /* the BPF side will not hold it: keep nothing */
	if (f->mode == RP_HOLD_NO)
		return;
	f->last_ns = rp_monotonic_ns();
	(void)hold_flow_append(f, r->data, r->len); /* too big: the scan sees less, the stream all */
}

struct scan_ctx {
	struct hold_flow *f;
	size_t n;
	struct rp_finding first;
	bool have_first;
};

static int on_hold_finding(const struct rp_finding *fi, void *u)
{
	struct scan_ctx *sc = u;

	/* Findings entirely inside the context tail were judged with the earlier write. */
	if (fi->offset + fi->length <= sc->f->tail)
		return 0;
	if (fi->detector < sc->n && sc->f->counts[fi->detector] < UINT32_MAX)
		sc->f->counts[fi->detector]++;
	if (!sc->have_first) {
		sc->first = *fi;
		sc->have_first = true;
	}
	return 0;
}

static void emit_hold_alert(struct rp_daemon *d, const struct rp_flow_identity *id, const struct rp_verdict *v,
			    const struct rp_finding *fi, const uint32_t *counts, const char *how)
{
	char exe[512] = "", user[64] = "";
	struct rp_alert a;

	(void)rp_proc_exe((pid_t)id->pid, exe, sizeof(exe));
	(void)rp_user_name((uid_t)id->uid, user, sizeof(user));
	rp_alert_from_verdict(&a, d->policy->policy, v);
	a.finding = fi;
	a.counts = counts;
	a.id = id;
	a.exe = exe;
	a.user = user;
	a.enforcement = how;
	(void)rp_alert_emit(d->alerts, &a);
}

static void flow_context(const struct rp_flow_identity *id, char *exe, size_t exelen, char *user, size_t userlen,
			 struct rp_flow_context *ctx)
{
	(void)rp_proc_exe((pid_t)id->pid, exe, exelen);
	(void)rp_user_name((uid_t)id->uid, user, userlen);
	*ctx = (struct rp_flow_context){
		.pid = id->pid,
		.uid = id->uid,
		.comm = id->comm,
		.exe = exe[0] ? exe : NULL,
		.user = user,
		.family = id->family,
		.raddr = id->family ? id->raddr : NULL,
		.rport = id->rport,
	};
}

int rp_enforce_on_hold_record(struct rp_daemon *d, const void *rec, size_t size)
{
	const struct rp_hold_record *h = rec;
	struct rp_enforce *e = d->enforce;
	const struct rp_policy *p;
	const struct rp_engine *eng;
	struct rp_flow_context ctx;
	struct scan_ctx sc = {0};
	struct hold_flow *f;
	struct rp_verdict v;
	char exe[512] = "", user[64] = "";
	pid_t pid;

	if (size < sizeof(*h))
		return -EBADMSG;
	if (!e)
		return 0;
	pid = (pid_t)h->id.pid;
	e->st.holds++;
	if (e->fault_slow_verdict)
		return 0;
	p = d->policy->policy;
	eng = rp_policy_engine(p);
	f = hold_flow_get(e, h->id.flow_key, h->id.pid);
	if (!f) {
		/* No room to judge: fail per the policy. */
		if (rp_hold_fail_closed(e->hold)) {
			block_flow(e, &h->id, "hold (no state): ");
			if (!rp_hold_release(e->hold, pid))
				kill_process(e, pid);
		} else {
			rp_hold_release(e->hold, pid);
			e->st.released++;
		}
		return 0;
	}
	f->last_ns = rp_monotonic_ns();
	flow_context(&h->id, exe, sizeof(exe), user, sizeof(user), &ctx);

	if (f->blocked) {
		/* A verdict already blocked the flow while its writer was stopping: resume it, the write
		 * fails on the destroyed socket. */
		rp_hold_release(e->hold, pid);
		return 0;
	}
	if (f->mode == 0) {
		bool by_dest = rp_policy_hold_depends_on_destination(p);
		uint32_t mode = rp_policy_prejudge(p, &ctx) >= RP_ACTION_HOLD ? RP_HOLD_YES : RP_HOLD_NO;

		/* An answer that may depend on a destination not known yet is not an answer: this write
		 * is judged on its content below, the flow stays held until its socket is known. */
		if (!by_dest || h->id.family) {
			f->mode = mode;
			rp_hold_set_flow_mode(e->hold, f->flow_key, f->pid, f->mode);
		}
		/* When no hold rule looks at destinations the answer is the process's: its next flows
		 * are not stopped just to learn it again. */
		if (!by_dest)
			rp_hold_set_flow_mode(e->hold, 0, f->pid, mode);
	}
	if (f->mode == RP_HOLD_NO) {
		free(f->buf);
		f->buf = NULL;
		f->len = f->cap = f->tail = 0;
		rp_hold_release(e->hold, pid);
		e->st.released++;
		return 0;
	}
	if (!f->counts || f->generation != d->policy->generation) {
		free(f->counts);
		f->n_counts = rp_engine_detector_count(eng);
		f->counts = calloc(f->n_counts + 1, sizeof(*f->counts));
		f->generation = d->policy->generation;
		if (!f->counts) {
			rp_hold_release(e->hold, pid);
			return -ENOMEM;
		}
	}
	sc.f = f;
	sc.n = f->n_counts;
	if (f->len)
		(void)rp_scan_block(eng, d->policy->scratch, f->buf, f->len, on_hold_finding, &sc);
	rp_policy_evaluate(p, &ctx, f->counts, f->n_counts, &v);

	if (v.action >= RP_ACTION_BLOCK) {
		f->blocked = true;
		f->alerted = true;
		bool stopped_bytes = false;

		if (v.action != RP_ACTION_KILL) {
			e->writer_stopped = true;
			stopped_bytes = block_flow(e, &h->id, "held at TLS entry, nothing sent; ");
			e->writer_stopped = false;
		}
		if (v.action == RP_ACTION_KILL) {
			kill_process(e, pid);
			snprintf(e->how, sizeof(e->how), "held at TLS entry; process killed before the write (nothing sent)");
		} else if (stopped_bytes) {
			/* Socket gone (or its packets dropped): resume, the write fails. */
			rp_hold_release(e->hold, pid);
		} else {
			/* Could not stop the bytes any other way: the writer must not resume. */
			kill_process(e, pid);
			snprintf(e->how, sizeof(e->how),
				 "held at TLS entry; socket not found, process killed before the write (nothing sent)");
		}
		e->st.blocked_in_hold++;
		emit_hold_alert(d, &h->id, &v, sc.have_first ? &sc.first : NULL, f->counts, e->how);
	} else {
		rp_hold_release(e->hold, pid);
		e->st.released++;
	}
	hold_flow_keep_tail(f);
	return 0;
}

struct expire_ctx {
	struct rp_daemon *d;
};

static void on_expired(pid_t pid, uint64_t flow_key, void *u)
{
	struct expire_ctx *ec = u;
	struct rp_enforce *e = ec->d->enforce;
	struct rp_flow_identity id = {.flow_key = flow_key, .pid = (uint32_t)pid};

	struct rp_verdict v = {.action = RP_ACTION_BLOCK, .rule_id = "settings.hold_timeout_ms"};
	char path[64];
	struct stat st;
	FILE *f;

	e->st.hold_timeouts++;
	if (!rp_hold_fail_closed(e->hold)) {
		rp_hold_release(e->hold, pid);
		e->st.released++;
		return;
	}
	/* The alert names the process as /proc knows it (the HOLD record may never have come). */
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(id.comm, sizeof(id.comm), f))
			id.comm[strcspn(id.comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) == 0)
		id.uid = st.st_uid;
	if (block_flow(e, &id, "hold timeout (fail closed): "))
		rp_hold_release(e->hold, pid);
	else
		kill_process(e, pid);
	emit_hold_alert(ec->d, &id, &v, NULL, NULL, e->how);
}

/*
 * Egress-drop entries (rp_blocked_cookies, 16384) of sockets that no longer exist. Cookies are
 * never reused, so such an entry only takes room; a full map would leave the next block whose
 * socket could not be destroyed without its drop, which is all a kernel without SOCK_DESTROY has.
 * An entry whose socket still exists stays, however old: that socket may still try to send.
 */
static void blocked_cookies_sweep(struct rp_enforce *e, uint64_t now)
{
	uint64_t key, next, t, *live, old[256];
	unsigned n_old = 0;
	bool first = true;
	ssize_t n_live;

	if (now - e->last_cookie_sweep_ns < COOKIE_SWEEP_NS)
		return;
	e->last_cookie_sweep_ns = now;
	/* The entries old enough to be judged (a bounded batch per sweep)... */
	for (unsigned walked = 0; walked < 16384 && n_old < sizeof(old) / sizeof(old[0]); walked++) {
		if (bpf_map__get_next_key(e->skel->maps.rp_blocked_cookies, first ? NULL : &key, &next, sizeof(next)) < 0)
			break;
		first = false;
		key = next;
		if (bpf_map__lookup_elem(e->skel->maps.rp_blocked_cookies, &next, sizeof(next), &t, sizeof(t), 0) == 0 &&
		    now - t >= COOKIE_SWEEP_NS)
			old[n_old++] = next;
	}
	if (n_old == 0)
		return;
	/* ...go when their socket is not among those that exist; not knowing, keep them all. */
	live = malloc(SWEEP_MAX_SOCKETS * sizeof(*live));
	if (!live)
		return;
	n_live = rp_sockdiag_cookies(live, SWEEP_MAX_SOCKETS);
	for (unsigned i = 0; n_live >= 0 && i < n_old; i++)
		if (!bsearch(&old[i], live, (size_t)n_live, sizeof(*live), rp_cmp_u64) &&
		    bpf_map__delete_elem(e->skel->maps.rp_blocked_cookies, &old[i], sizeof(old[i]), 0) == 0)
			e->st.cookies_swept++;
	free(live);
}

void rp_enforce_on_timer(struct rp_daemon *d)
{
	struct rp_enforce *e = d->enforce;
	struct expire_ctx ec = {.d = d};
	uint64_t ticks, now = rp_monotonic_ns();
	__u32 key, next;
	uint64_t t;
	bool first = true;

	if (!e)
		return;
	if (read(e->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	rp_hold_heartbeat(e->hold);
	rp_hold_expired(e->hold, now, on_expired, &ec);
	/* Forget kill marks after a while: the pid may be reused. */
	unsigned kill_marks = 0, i;
	for (i = 0; i < 4096; i++) {
		if (bpf_map__get_next_key(e->skel->maps.rp_kill_pids, first ? NULL : &key, &next, sizeof(next)) < 0)
			break;
		first = false;
		key = next;
		if (bpf_map__lookup_elem(e->skel->maps.rp_kill_pids, &next, sizeof(next), &t, sizeof(t), 0) == 0 &&
		    now - t > KILL_ENTRY_TTL_NS) {
			(void)bpf_map__delete_elem(e->skel->maps.rp_kill_pids, &next, sizeof(next), 0);
			first = true;
			kill_marks = 0; /* the walk starts over */
		} else {
			kill_marks++;
		}
	}
	gate_close_if_empty(e, i < 4096 && kill_marks == 0, blocked_flows_collect(e));
	hold_flows_expire(e, now, 600ull * 1000000000ull);
	blocked_cookies_sweep(e, now);
}

void rp_enforce_stats(const struct rp_enforce *e, struct rp_enforce_stats *out)
{
	__u64 *vals;

	memset(out, 0, sizeof(*out));
	if (!e)
		return;
	*out = e->st;
	out->cgroup_attached = e->cgroup_attached;
	memset(out->counters, 0, sizeof(out->counters));
	vals = calloc((size_t)e->ncpus, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 i = 0; i < RP_ECNT__MAX; i++) {
		if (bpf_map__lookup_elem(e->skel->maps.rp_enforce_counters, &i, sizeof(i), vals,
					 sizeof(*vals) * (size_t)e->ncpus, 0) < 0)
			continue;
		for (int c = 0; c < e->ncpus; c++)
			out->counters[i] += vals[c];
	}
	free(vals);
}

struct json_object *rp_enforce_status_json(const struct rp_enforce *e)
{
	static const char *const kernel_names[RP_ECNT__MAX] = {
		[RP_ECNT_CONNECT_DENIED] = "connect_denied", [RP_ECNT_QUIC_DENIED] = "quic_denied",
		[RP_ECNT_EGRESS_DROPPED] = "egress_dropped", [RP_ECNT_BLOCKED_WRITES] = "blocked_writes",
		[RP_ECNT_KILL_SIGNALS] = "kill_signals",     [RP_ECNT_HOLD_STOPS] = "hold_stops",
		[RP_ECNT_HOLD_STALE] = "hold_stale",	     [RP_ECNT_HOLD_LOST] = "hold_lost",
		[RP_ECNT_FD_LINKED] = "fd_linked",
	};
	struct json_object *o = json_object_new_object();
	struct rp_enforce_stats st;

	if (!o || !e)
		return o;
	rp_enforce_stats(e, &st);
	for (int i = 0; i < RP_ECNT__MAX; i++)
		if (kernel_names[i])
			json_object_object_add(o, kernel_names[i], json_object_new_uint64(st.counters[i]));
#define ADD(name) json_object_object_add(o, #name, json_object_new_uint64((uint64_t)st.name))
	ADD(holds);
	ADD(released);
	ADD(blocked_in_hold);
	ADD(hold_timeouts);
	ADD(flows_blocked);
	ADD(processes_killed);
	ADD(destroy_ok);
	ADD(destroy_unsupported);
	ADD(socket_not_found);
	ADD(cookies_swept);
	ADD(deny_addrs);
	ADD(deny_hosts_resolved);
	ADD(deny_hosts_failed);
	/* Whether the TLS hooks currently consult the kill and block maps (rp_enforce_gate). */
	json_object_object_add(o, "kill_marks_open", json_object_new_boolean(e->gate.kill_any));
	json_object_object_add(o, "blocked_flows_open", json_object_new_boolean(e->gate.block_any));
#undef ADD
	json_object_object_add(o, "cgroup_attached", json_object_new_boolean(st.cgroup_attached));
	return o;
}

void rp_enforce_on_flow_end(struct rp_daemon *d, const struct rp_flow_identity *id)
{
	struct rp_enforce *e = d->enforce;
	struct hold_flow **pp;

	if (!e || !id)
		return;
	for (pp = &e->buckets[flow_bucket(id->flow_key, id->pid)]; *pp; pp = &(*pp)->next) {
		struct hold_flow *f = *pp;
		if (f->flow_key == id->flow_key && f->pid == id->pid) {
			*pp = f->next;
			hold_flow_free(f);
			e->n_flows--;
			return;
		}
	}
}

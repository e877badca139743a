/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hold mode plumbing: the writers the BPF side stopped (rp_held map, keyed by pid), the heartbeat
 * that lets the BPF side stop anyone at all, and the guardian.
 *
 * Invariants:
 *   - only pids present in rp_held are ever resumed: the BPF side inserts a pid right before it
 *     sends SIGSTOP, so rempartd never resumes a process someone else stopped;
 *   - the BPF side stops nobody when the heartbeat (refreshed every RP_HOLD_BEAT_MS) is older than
 *     RP_HOLD_WINDOW_MS: a hung or dead rempartd holds nothing new;
 *   - the guardian, a child forked before any BPF program is attached, keeps only the rp_held and
 *     rp_hold_cfg maps and a pipe from rempartd; when the pipe closes (rempartd exited or was
 *     killed) it turns holding off and resumes every writer still in rp_held, then exits. While
 *     rempartd lives but its heartbeat is stale (hung, frozen), it resumes held writers too.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "enforce.h"

#define RP_HOLD_BEAT_MS 100u
#define RP_HOLD_WINDOW_MS 1000u
#define RP_HOLD_MAX_ITER 8192u /* bound on map walks (the map holds 4096) */

struct rp_hold {
	int held_fd, cfg_fd, flows_fd;
	int guard_pipe;  /* write end: closing it (exit, crash) wakes the guardian */
	pid_t guardian;
	bool hold_default;
	uint32_t timeout_ms;
	bool fail_closed;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int write_cfg(int cfg_fd, uint64_t beat_ns, bool hold_default)
{
	struct rp_hold_config cfg = {
		.heartbeat_ns = beat_ns,
		.window_ns = (uint64_t)RP_HOLD_WINDOW_MS * 1000000ull,
		.hold_default = hold_default,
	};
	__u32 zero = 0;

	return bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY) < 0 ? -errno : 0;
}

/* Resume every writer in rp_held; used at exit and by the guardian. */
static unsigned release_all(int held_fd)
{
	__u32 key, next;
	unsigned n = 0, iter = 0;
	bool first = true;

	while (iter++ < RP_HOLD_MAX_ITER) {
		if (bpf_map_get_next_key(held_fd, first ? NULL : &key, &next) < 0)
			break;
		/* Deleting the current key would break the walk: always restart from the start. */
		(void)kill((pid_t)next, SIGCONT);
		(void)bpf_map_delete_elem(held_fd, &next);
		n++;
		first = true;
	}
	return n;
}

int rp_hold_new(struct rp_hold **out, int held_fd, int cfg_fd, int flows_fd)
{
	struct rp_hold *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	h->held_fd = held_fd;
	h->cfg_fd = cfg_fd;
	h->flows_fd = flows_fd;
	h->guard_pipe = -1;
	h->timeout_ms = 1500;
	r = write_cfg(cfg_fd, 0, false);
	if (r < 0) {
		free(h);
		return r;
	}
	*out = h;
	return 0;
}

static void guardian_main(int held_fd, int cfg_fd, int pipe_fd)
{
	struct pollfd pfd = {.fd = pipe_fd, .events = POLLIN};
	sigset_t mask;
	char c;

	(void)prctl(PR_SET_NAME, "rempartd-guard");
	/* Stay alive through the signals meant for rempartd; exit only when it is gone. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	for (;;) {
		int n = poll(&pfd, 1, RP_HOLD_BEAT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			/* rempartd alive but hung (or frozen): nothing it holds may stay stopped past
			 * the heartbeat window. */
			struct rp_hold_config cfg;
			__u32 zero = 0;

			if (bpf_map_lookup_elem(cfg_fd, &zero, &cfg) == 0 && cfg.heartbeat_ns &&
			    mono_ns() > cfg.heartbeat_ns + cfg.window_ns)
				(void)release_all(held_fd);
			continue;
		}
		if (pfd.revents & (POLLHUP | POLLERR))
			break;
		if ((pfd.revents & POLLIN) && read(pipe_fd, &c, 1) <= 0)
			break;
	}
	(void)write_cfg(cfg_fd, 0, false);
	(void)release_all(held_fd);
	_exit(0);
}

int rp_hold_start_guardian(struct rp_hold *h)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		/* Keep the two maps and the pipe as fds 3, 4, 5; drop everything else (BPF programs
		 * included, so nothing of rempartd stays attached through the guardian). */
		int held = fcntl(h->held_fd, F_DUPFD, 100), cfg = fcntl(h->cfg_fd, F_DUPFD, 100),
		    rd = fcntl(p[0], F_DUPFD, 100);
		if (held < 0 || cfg < 0 || rd < 0 || dup2(held, 3) < 0 || dup2(cfg, 4) < 0 || dup2(rd, 5) < 0)
			_exit(1);
		close_range(6, ~0u, 0);
		guardian_main(3, 4, 5);
	}
	close(p[0]);
	h->guard_pipe = p[1];
	h->guardian = pid;
	return 0;
}

void rp_hold_free(struct rp_hold *h)
{
	if (!h)
		return;
	(void)write_cfg(h->cfg_fd, 0, false);
	(void)release_all(h->held_fd);
	if (h->guard_pipe >= 0)
		close(h->guard_pipe);
	if (h->guardian > 0) {
		/* It exits as soon as it sees the pipe closed; bounded wait. */
		for (int i = 0; i < 100; i++) {
			if (waitpid(h->guardian, NULL, WNOHANG) != 0)
				break;
			usleep(10000);
		}
	}
	free(h);
}

int rp_hold_configure(struct rp_hold *h, bool hold_default, uint32_t timeout_ms, bool fail_closed)
{
	h->hold_default = hold_default;
	h->timeout_ms = timeout_ms ? timeout_ms : 1500;
	h->fail_closed = fail_closed;
	return write_cfg(h->cfg_fd, mono_ns(), hold_default);
}

void rp_hold_heartbeat(struct rp_hold *h)
{
	(void)write_cfg(h->cfg_fd, mono_ns(), h->hold_default);
}

bool rp_hold_active(const struct rp_hold *h)
{
	return h && h->hold_default;
}

bool rp_hold_fail_closed(const struct rp_hold *h)
{
	return h->fail_closed;
}

bool rp_hold_release(struct rp_hold *h, pid_t pid)
{
	__u32 key = (__u32)pid;
	struct rp_held v;

	if (bpf_map_lookup_elem(h->held_fd, &key, &v) < 0)
		return false;
	(void)kill(pid, SIGCONT);
	(void)bpf_map_delete_elem(h->held_fd, &key);
	return true;
}

void rp_hold_forget(struct rp_hold *h, pid_t pid)
{
	__u32 key = (__u32)pid;

	(void)bpf_map_delete_elem(h->held_fd, &key);
}

void rp_hold_expired(struct rp_hold *h, uint64_t now, void (*cb)(pid_t pid, uint64_t flow_key, void *u), void *u)
{
	uint64_t limit = (uint64_t)h->timeout_ms * 1000000ull;
	__u32 key, next, expired[64];
	uint64_t flows[64];
	unsigned n = 0, iter = 0;
	bool first = true;
	struct rp_held v;

	while (n < 64 && iter++ < RP_HOLD_MAX_ITER) {
		if (bpf_map_get_next_key(h->held_fd, first ? NULL : &key, &next) < 0)
			break;
		first = false;
		key = next;
		if (bpf_map_lookup_elem(h->held_fd, &next, &v) < 0)
			continue;
		if (now > v.ktime_ns && now - v.ktime_ns > limit) {
			flows[n] = v.flow_key;
			expired[n++] = next;
		}
	}
	for (unsigned i = 0; i < n; i++)
		cb((pid_t)expired[i], flows[i], u);
}

void rp_hold_set_flow_mode(struct rp_hold *h, uint64_t flow_key, uint32_t pid, uint32_t mode)
{
	struct rp_flow_ref ref = {.flow_key = flow_key, .pid = pid};

	(void)bpf_map_update_elem(h->flows_fd, &ref, &mode, BPF_ANY);
}

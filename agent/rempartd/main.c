/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rempartd: load the policy, attach the capture programs, then run one event loop that drains
 * the ring buffer into the flow table, serves the control socket and handles signals.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

/* journalctl MESSAGE_ID=... lists every policy change. */
#define RP_POLICY_MESSAGE_ID "0c7a4e8b2f1d4a5e9b6c3d2e1f0a9b8c"

#include "daemon.h"
#include "enforce.h" /* enforcement (issue 5) */
#include "paths.h"
#include "policy_source.h"

#define FLOW_IDLE_NS (600ull * 1000000000ull) /* a flow silent this long is closed */
/* How long an alert may wait for its TLS flow's socket (to name the destination). */
#define ALERT_LINK_WAIT_NS (200ull * 1000000ull)
/* A flow whose writer paused this long is flushed: a value ending its last write is decided. A
 * value split across writes closer together than this is still found whole. */
#define FLOW_PAUSE_NS (20ull * 1000000ull)

/* While records keep coming, drain again this soon: writers do not wake the agent while it
 * polls (capture.bpf.c), so the records that follow a wakeup are picked up here. */
#define DRAIN_AGAIN_NS (2ull * 1000000ull)
/* How late that drain may be before writers wake the agent anyway. */
#define DRAIN_DUE_SLACK_NS (1ull * 1000000ull)
/* Examining installed programs never holds the loop longer than this (plus one program: reading a
 * large one's symbols from a cold disk takes tens of ms, once, after start-up). */
#define PROGRAM_SLICE_NS (5ull * 1000000ull)

static void arm_timer_ns(int fd, uint64_t ns)
{
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)}};
	timerfd_settime(fd, 0, &its, NULL);
}

static void arm_flush_timer(int fd, bool on)
{
	struct itimerspec its = {.it_value = {.tv_nsec = on ? (long)FLOW_PAUSE_NS : 0}};
	timerfd_settime(fd, 0, &its, NULL);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: rempartd [OPTIONS]\n\n"
		"Rempart agent: watches outbound plaintext before TLS encryption and flags or stops\n"
		"patient data leaving this workstation, as the policy says.\n\n"
		"Options:\n"
		"  -p, --policy FILE      policy to enforce (default %s)\n"
		"  -a, --alerts FILE      append alerts as JSON lines to FILE (default %s)\n"
		"  -s, --socket PATH      control socket for the rempart CLI (default %s)\n"
		"      --notify-socket PATH  socket rempart-notify clients subscribe to (default %s)\n"
		"      --ringbuf-mb N     size of the kernel-to-agent ring buffer in MiB, power of two (default 16)\n"
		"Central policy (signed bundles; either source turns it on):\n"
		"      --spool DIR        watch DIR for signed policy bundles from configuration management\n"
		"      --policy-url URL   pull signed bundles from this https URL\n"
		"      --policy-ca FILE   CA certificate(s) trusted for --policy-url (default: system store)\n"
		"      --pull-interval S  seconds between pulls, with jitter (default 300)\n"
		"      --keys DIR         trusted Ed25519 public keys, *.pem (default %s)\n"
		"      --state-dir DIR    last accepted serial and last-known-good bundle (default %s)\n"
		"      --allow-unsigned   accept unsigned policies from the spool or URL (testing only)\n"
		"      --no-journal       do not send alerts to journald\n"
		"  -q, --quiet            do not print alerts on stderr\n"
		"  -h, --help             this help\n"
		"  -V, --version          print the version\n\n"
		"At start the last-known-good central policy is used when there is one, else --policy.\n"
		"Signals: SIGHUP reloads the policy (central mode: looks for a newer bundle);\n"
		"SIGINT/SIGTERM detach everything and exit.\n",
		RP_DEFAULT_POLICY, RP_DEFAULT_ALERTS, RP_DEFAULT_SOCKET, RP_DEFAULT_NOTIFY_SOCKET, RP_DEFAULT_KEYS_DIR,
		RP_DEFAULT_STATE_DIR);
}

/* Root, or the capabilities BPF capture needs. */
static bool privileged(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	/* CAP_BPF (39) and CAP_PERFMON (38) live in the second word. */
	return (data[1].effective & (1u << (39 - 32))) && (data[1].effective & (1u << (38 - 32)));
}

static void format_diag(const struct rp_diag *diag, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < diag->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "; " : "", diag->lines[i]);
	if (diag->dropped && off < len)
		snprintf(buf + off, len - off, "; and %zu more", diag->dropped);
}

static int load_policy(const char *path, struct rp_policy **out, char *err, size_t errlen)
{
	struct rp_diag *diag = calloc(1, sizeof(*diag));
	int r;

	if (!diag)
		return -ENOMEM;
	r = rp_policy_load_file(path, out, diag);
	if (r < 0) {
		char detail[1024];
		format_diag(diag, detail, sizeof(detail));
		snprintf(err, errlen, "policy %s: %s", path, detail[0] ? detail : strerror(-r));
	}
	free(diag);
	return r;
}

/* Put a loaded policy in force: flows in progress keep theirs, new flows get this one. */
static int install_policy(struct rp_daemon *d, struct rp_policy *p, const char *origin)
{
	struct rp_policy_ref *ref;
	int r;

	r = rp_policy_ref_new(p, ++d->policy_generation, &ref);
	if (r < 0) {
		rp_policy_free(p);
		snprintf(d->policy_error, sizeof(d->policy_error), "cannot allocate scratch: %s", strerror(-r));
		return r;
	}
	if (d->capture)
		(void)rp_capture_set_budget(d->capture, rp_policy_settings(p)->capture_budget_bytes);
	/* ---- enforcement (issue 5): on failure the previous enforcement settings stay */
	if (d->enforce) {
		char eerr[512];
		if (rp_enforce_apply_policy(d->enforce, p, origin, eerr, sizeof(eerr)) < 0)
			fprintf(stderr, "rempartd: enforcement settings not updated: %s\n", eerr);
	}
	/* ---- end enforcement */
	rp_policy_ref_put(d->policy);
	d->policy = ref;
	d->policy_error[0] = '\0';
	snprintf(d->policy_origin, sizeof(d->policy_origin), "%s", origin);
	fprintf(stderr, "rempartd: policy '%s' serial %llu sha256 %s from %s in force\n", rp_policy_name(p),
		(unsigned long long)rp_policy_serial(p), rp_policy_sha256(p), origin);
	(void)sd_journal_send("MESSAGE=rempart policy '%s' serial %llu in force", rp_policy_name(p),
			      (unsigned long long)rp_policy_serial(p), "MESSAGE_ID=" RP_POLICY_MESSAGE_ID,
			      "REMPART_POLICY_SHA256=%s", rp_policy_sha256(p), "REMPART_POLICY_ORIGIN=%s", origin,
			      NULL);
	return 0;
}

int rp_daemon_reload(struct rp_daemon *d)
{
	struct rp_policy *p = NULL;
	int r;

	/* Central mode: the central policy rules; look for a newer one. */
	if (d->source) {
		rp_policy_source_refresh(d->source);
		return 0;
	}
	r = load_policy(d->policy_path, &p, d->policy_error, sizeof(d->policy_error));
	if (r < 0) {
		fprintf(stderr, "rempartd: reload refused, previous policy stays in force: %s\n", d->policy_error);
		return r;
	}
	return install_policy(d, p, d->policy_path);
}

static void on_policy_source(struct rp_daemon *d, int fd)
{
	struct rp_policy *p = NULL;
	char origin[256], msg[RP_SOURCE_MSG_LEN];
	int r = rp_policy_source_handle(d->source, fd, &p, origin, sizeof(origin), msg, sizeof(msg));

	if (r > 0) {
		(void)install_policy(d, p, origin);
	} else if (r < 0) {
		snprintf(d->policy_error, sizeof(d->policy_error), "%s", msg);
		fprintf(stderr, "rempartd: policy refused, the running one stays in force: %s\n", msg);
	} else if (msg[0]) {
		fprintf(stderr, "rempartd: %s\n", msg);
	}
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Drain the ring; while records keep coming, drain again on a short timer and tell the writers,
 * who then do not wake the agent (each wakeup costs them an interrupt). */
static void drain_ring(struct rp_daemon *d, int drainfd, bool *armed)
{
	int got = rp_capture_drain(d->capture);

	if (*armed)
		return;
	if (got == 0)
		got = rp_capture_idle(d->capture);
	if (got > 0) {
		arm_timer_ns(drainfd, DRAIN_AGAIN_NS);
		*armed = true;
		rp_capture_poll_within(d->capture, DRAIN_AGAIN_NS + DRAIN_DUE_SLACK_NS);
	}
}

static int run(struct rp_daemon *d, int sigfd, int timerfd, int flushfd, int drainfd)
{
	struct epoll_event evs[32];
	int capfd = rp_capture_fd(d->capture);
	int srcfds[3] = {-1, -1, -1};
	bool flush_armed = false, drain_armed = false;

	if (d->source)
		rp_policy_source_fds(d->source, srcfds);

	while (!d->stopping) {
		/* Installed programs still to examine: between events, a slice at a time. */
		bool examine = rp_capture_programs_pending(d->capture);
		int n = epoll_wait(d->epfd, evs, 32, examine ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0 && examine) {
			/* Records first: a short-lived process must still be in /proc when its alert is
			 * written, and a verdict must not wait behind the examination. */
			drain_ring(d, drainfd, &drain_armed);
			rp_flows_flush_alerts(d, rp_monotonic_ns(), ALERT_LINK_WAIT_NS);
			rp_capture_examine_programs(d->capture, PROGRAM_SLICE_NS);
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == capfd || fd == drainfd) {
				if (fd == drainfd) {
					uint64_t ticks;
					if (read(drainfd, &ticks, sizeof(ticks)) < 0)
						continue;
					drain_armed = false;
				}
				drain_ring(d, drainfd, &drain_armed);
				rp_flows_flush_alerts(d, rp_monotonic_ns(), ALERT_LINK_WAIT_NS);
				/* Not re-armed while armed: busy flows must not postpone paused ones. */
				if (!flush_armed)
					arm_flush_timer(flushfd, flush_armed = true);
			} else if (fd == flushfd) {
				uint64_t ticks;
				if (read(flushfd, &ticks, sizeof(ticks)) < 0)
					continue;
				flush_armed = rp_flows_flush_idle(d, rp_monotonic_ns(), FLOW_PAUSE_NS);
				arm_flush_timer(flushfd, flush_armed);
			} else if (fd == sigfd) {
				struct signalfd_siginfo si;
				if (read(sigfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP)
					(void)rp_daemon_reload(d);
				else
					d->stopping = true;
			} else if (fd == timerfd) {
				uint64_t ticks;
				if (read(timerfd, &ticks, sizeof(ticks)) < 0)
					continue;
				/* a backstop: records are never left waiting longer than a tick */
				drain_ring(d, drainfd, &drain_armed);
				uint64_t now = rp_monotonic_ns(); /* after the drain: it may take a while */
				rp_flows_flush_alerts(d, now, ALERT_LINK_WAIT_NS);
				rp_capture_tick(d->capture, now);
				rp_flow_table_expire(d->flows, d, now, FLOW_IDLE_NS);
				rp_notify_server_tick(d->notify, rp_policy_settings(d->policy->policy)->notify_rate_per_minute);
			} else if (d->source && (fd == srcfds[0] || fd == srcfds[1] || fd == srcfds[2])) {
				on_policy_source(d, fd);
			} else if (d->enforce && fd == rp_enforce_timer_fd(d->enforce)) { /* issue 5 */
				rp_enforce_on_timer(d);
			} else if (d->control && rp_control_owns_fd(d->control, fd)) {
				rp_control_handle(d->control, d, fd, evs[i].events);
			} else if (rp_notify_server_owns_fd(d->notify, fd)) {
				rp_notify_server_handle(d->notify, fd, evs[i].events);
			}
		}
	}
	/* Scan what is still in the ring buffer: an alert already captured is never lost at exit. */
	(void)rp_capture_drain(d->capture);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"alerts", required_argument, NULL, 'a'},
		{"socket", required_argument, NULL, 's'},
		{"notify-socket", required_argument, NULL, 'N'},
		{"ringbuf-mb", required_argument, NULL, 'R'},
		{"no-journal", no_argument, NULL, 'J'},
		{"spool", required_argument, NULL, 'S'},
		{"policy-url", required_argument, NULL, 'U'},
		{"policy-ca", required_argument, NULL, 'C'},
		{"pull-interval", required_argument, NULL, 'I'},
		{"keys", required_argument, NULL, 'K'},
		{"state-dir", required_argument, NULL, 'D'},
		{"allow-unsigned", no_argument, NULL, 'A'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct rp_daemon d = {
		.policy_path = RP_DEFAULT_POLICY,
		.alerts_path = RP_DEFAULT_ALERTS,
		.socket_path = RP_DEFAULT_SOCKET,
		.notify_socket_path = RP_DEFAULT_NOTIFY_SOCKET,
		.epfd = -1,
	};
	struct rp_policy *policy = NULL;
	unsigned long ringbuf_mb = 16;
	struct rp_policy_source_config src = {
		.keys_dir = RP_DEFAULT_KEYS_DIR,
		.state_dir = RP_DEFAULT_STATE_DIR,
		.pull_interval_s = 300,
	};
	bool journal = true, quiet = false;
	int c, r, sigfd = -1, timerfd = -1, flushfd = -1, drainfd = -1, ret = 1;
	char err[1024];
	sigset_t mask;

	while ((c = getopt_long(argc, argv, "p:a:s:qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			d.policy_path = optarg;
			break;
		case 'a':
			d.alerts_path = optarg;
			break;
		case 's':
			d.socket_path = optarg;
			break;
		case 'N':
			d.notify_socket_path = optarg;
			break;
		case 'R': {
			char *end;
			errno = 0;
			ringbuf_mb = strtoul(optarg, &end, 10);
			if (errno || *end || ringbuf_mb < 1 || ringbuf_mb > 1024 || (ringbuf_mb & (ringbuf_mb - 1))) {
				fprintf(stderr, "rempartd: --ringbuf-mb: '%s' is not a power of two between 1 and 1024\n", optarg);
				return 2;
			}
			break;
		}
		case 'J':
			journal = false;
			break;
		case 'S':
			src.spool_dir = optarg;
			break;
		case 'U':
			src.url = optarg;
			break;
		case 'C':
			src.ca_file = optarg;
			break;
		case 'I': {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || v < 10 || v > 86400) {
				fprintf(stderr, "rempartd: --pull-interval: '%s' is not a number of seconds between 10 and 86400\n",
					optarg);
				return 2;
			}
			src.pull_interval_s = (unsigned)v;
			break;
		}
		case 'K':
			src.keys_dir = optarg;
			break;
		case 'D':
			src.state_dir = optarg;
			break;
		case 'A':
			src.allow_unsigned = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rempartd %s\n", RP_VERSION);
			return 0;
		default:
			fprintf(stderr, "rempartd: see --help for the options\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rempartd: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}

	/* This process holds other people's plaintext: no core dump may carry it, and no unprivileged
	 * process may read its memory through ptrace or /proc/PID/mem. */
	(void)setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	/* Signals are read from a signalfd: block them before any thread exists, so none of the
	 * threads takes SIGTERM's default action. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	/* Policy first: a bad policy is a user error worth a precise message before anything else.
	 * In central mode the last-known-good bundle, when there is one, outranks the local file. */
	if (src.spool_dir || src.url) {
		r = rp_policy_source_open(&src, &d.source, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "rempartd: %s\n", err);
			return 1;
		}
		r = rp_policy_source_load_last_good(d.source, &policy, d.policy_origin, sizeof(d.policy_origin));
		if (r < 0 && r != -ENOENT)
			fprintf(stderr, "rempartd: last-known-good policy unusable (%s), using %s\n", strerror(-r),
				d.policy_path);
	}
	if (!policy) {
		r = load_policy(d.policy_path, &policy, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "rempartd: %s\n", err);
			rp_policy_source_free(d.source);
			return 1;
		}
		snprintf(d.policy_origin, sizeof(d.policy_origin), "%s", d.policy_path);
	}
	r = rp_policy_ref_new(policy, ++d.policy_generation, &d.policy);
	if (r < 0) {
		fprintf(stderr, "rempartd: cannot allocate scanning scratch: %s\n", strerror(-r));
		rp_policy_free(policy);
		rp_policy_source_free(d.source);
		return 1;
	}
	if (!privileged()) {
		fprintf(stderr, "rempartd: must run as root (or with CAP_BPF and CAP_PERFMON) to load BPF programs\n");
		goto out;
	}

	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	flushfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	drainfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sigfd < 0 || timerfd < 0 || flushfd < 0 || drainfd < 0 || d.epfd < 0) {
		fprintf(stderr, "rempartd: cannot set up the event loop: %s\n", strerror(errno));
		goto out;
	}
	/* 250 ms: deferred alerts and library scans; cheap when there is nothing to do. */
	struct itimerspec its = {.it_interval = {.tv_nsec = 250000000}, .it_value = {.tv_nsec = 250000000}};
	timerfd_settime(timerfd, 0, &its, NULL);

	r = rp_alert_sink_open(d.alerts_path, !quiet, journal, &d.alerts);
	if (r < 0) {
		fprintf(stderr, "rempartd: cannot open alert file %s: %s\n", d.alerts_path, strerror(-r));
		goto out;
	}
	r = rp_flow_table_new(&d.flows, 65536);
	if (r < 0)
		goto out;

	r = rp_ensure_mounts(err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "rempartd: %s\n", err);
		goto out;
	}
	/* ---- enforcement (issue 5): before capture, which shares its maps */
	r = rp_enforce_open(&d.enforce, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "rempartd: %s\n", err);
		goto out;
	}
	r = rp_enforce_apply_policy(d.enforce, policy, d.policy_path, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "rempartd: %s\n", err);
		goto out;
	}
	/* ---- end enforcement */
	r = rp_capture_open(&d.capture, rp_policy_settings(policy)->capture_budget_bytes,
			    (size_t)ringbuf_mb << 20, rp_flows_on_record, &d, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "rempartd: %s\n", err);
		goto out;
	}
	r = rp_capture_attach_all(d.capture, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "rempartd: %s\n", err);
		goto out;
	}
	/* ---- enforcement (issue 5) */
	r = rp_enforce_attach(d.enforce, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "rempartd: %s\n", err);
		goto out;
	}
	if (epoll_add(d.epfd, rp_enforce_timer_fd(d.enforce)) < 0) {
		fprintf(stderr, "rempartd: cannot set up the event loop: %s\n", strerror(errno));
		goto out;
	}
	/* ---- end enforcement */
	r = rp_control_open(d.socket_path, &d.control);
	if (r < 0) {
		fprintf(stderr, "rempartd: cannot listen on %s: %s\n", d.socket_path, strerror(-r));
		goto out;
	}
	if (d.source) {
		int fds[3];
		rp_policy_source_fds(d.source, fds);
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0 && epoll_add(d.epfd, fds[i]) < 0) {
				fprintf(stderr, "rempartd: cannot set up the event loop: %s\n", strerror(errno));
				goto out;
			}
	}
	if (epoll_add(d.epfd, rp_capture_fd(d.capture)) < 0 || epoll_add(d.epfd, sigfd) < 0 ||
	    epoll_add(d.epfd, timerfd) < 0 || epoll_add(d.epfd, flushfd) < 0 || epoll_add(d.epfd, drainfd) < 0 ||
	    epoll_add(d.epfd, rp_control_fd(d.control)) < 0) {
		fprintf(stderr, "rempartd: cannot set up the event loop: %s\n", strerror(errno));
		goto out;
	}
	/* Notifications are a courtesy to the user: without them, protection goes on. */
	r = rp_notify_server_open(d.notify_socket_path, d.epfd, &d.notify);
	if (r < 0 || epoll_add(d.epfd, rp_notify_server_fd(d.notify)) < 0) {
		fprintf(stderr, "rempartd: no desktop notifications: cannot listen on %s: %s\n", d.notify_socket_path,
			strerror(r < 0 ? -r : errno));
		rp_notify_server_free(d.notify);
		d.notify = NULL;
	}

	struct rp_capture_stats st;
	rp_capture_stats(d.capture, &st);
	d.ready = true;
	fprintf(stderr, "rempartd: ready: policy '%s' serial %llu from %s, %u probes on %u TLS objects, alerts to %s\n",
		rp_policy_name(policy), (unsigned long long)rp_policy_serial(policy), d.policy_origin,
		st.attached_probes, st.attached_objects, d.alerts_path);
	(void)sd_notify(0, "READY=1\nSTATUS=watching outbound plaintext");

	r = run(&d, sigfd, timerfd, flushfd, drainfd);
	if (r < 0)
		fprintf(stderr, "rempartd: event loop failed: %s\n", strerror(-r));
	else
		ret = 0;
	(void)sd_notify(0, "STOPPING=1");
	fprintf(stderr, "rempartd: stopping\n");
out:
	/* Order: stop capture first (links detached), then flush flows so pending findings alert. */
	rp_control_free(d.control);
	rp_policy_source_free(d.source);
	rp_capture_free(d.capture);
	d.capture = NULL;
	rp_flow_table_free(d.flows, &d);
	rp_notify_server_free(d.notify); /* after the flows: their last alerts are offered to it */
	rp_enforce_free(d.enforce); /* issue 5: resumes held writers, detaches */
	d.enforce = NULL;
	rp_alert_sink_free(d.alerts);
	rp_policy_ref_put(d.policy);
	if (sigfd >= 0)
		close(sigfd);
	if (timerfd >= 0)
		close(timerfd);
	if (flushfd >= 0)
		close(flushfd);
	if (drainfd >= 0)
		close(drainfd);
	if (d.epfd >= 0)
		close(d.epfd);
	return ret;
}

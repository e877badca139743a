/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the policy comes from, and how a new one gets in without ever weakening protection.
 *
 *  - Central policy: signed bundles, dropped in a spool directory by the fleet's configuration
 *    management (watched with inotify) or pulled over HTTPS (interval with jitter, ETag). Each is
 *    verified, validated and compiled on a worker thread (Hyperscan compilation takes a while and
 *    the event loop must keep draining the ring buffer), checked against the last accepted serial
 *    (no rollback), persisted as last-known-good, then handed to the event loop for the swap.
 *  - At boot: the last-known-good bundle when there is one, else the local policy file.
 *
 * Nothing here swaps the policy: the event loop does, in rp_policy_source_collect().
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bundle.h"
#include "daemon.h"
#include "policy_source.h"

enum job {
	JOB_SCAN_SPOOL = 1,
	JOB_FETCH = 2,
	JOB_STOP = 3,
};

/* A worker's answer: a policy to put in force, or why not. */
struct result {
	struct rp_policy *policy;   /* NULL on failure or nothing new */
	char origin[256];
	char message[RP_SOURCE_MSG_LEN]; /* error or "nothing new" detail */
	int error;                  /* negative errno, 0 when policy is set or nothing changed */
};

struct rp_policy_source {
	struct rp_policy_source_config cfg;
	struct rp_keyring *keys;
	unsigned bundle_flags;
	int job_pipe[2];            /* event loop -> worker: one byte per job */
	int result_pipe[2];         /* worker -> event loop: struct result * */
	int inotify_fd;
	int pull_timer_fd;
	pthread_t worker;
	bool worker_started;
	char etag[RP_ETAG_MAX];     /* worker only */
	unsigned pull_failures;     /* worker only */
};

static void diag_join(const struct rp_diag *diag, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; diag && i < diag->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "; " : "", diag->lines[i]);
}

/* Persist as last-known-good and report the bundle's policy, or say why not. */
static void finish_bundle(struct rp_policy_source *s, struct rp_bundle *b, struct result *res, struct rp_diag *diag)
{
	int r = rp_bundle_accept(s->cfg.state_dir, b, diag);

	if (r == -EALREADY) {
		snprintf(res->message, sizeof(res->message), "%s: already in force", b->origin);
		return;
	}
	if (r < 0) {
		char detail[1024];
		diag_join(diag, detail, sizeof(detail));
		snprintf(res->message, sizeof(res->message), "%s refused: %s", b->origin, detail[0] ? detail : strerror(-r));
		res->error = r;
		return;
	}
	res->policy = b->policy;
	b->policy = NULL;
}

static void do_scan_spool(struct rp_policy_source *s, struct result *res)
{
	struct rp_diag *diag = calloc(1, sizeof(*diag));
	struct rp_bundle b = {0};
	uint64_t last = 0;
	int r;

	if (!diag) {
		res->error = -ENOMEM;
		return;
	}
	snprintf(res->origin, sizeof(res->origin), "%s", s->cfg.spool_dir);
	(void)rp_bundle_last_serial(s->cfg.state_dir, &last, NULL);
	r = rp_bundle_scan_dir(s->cfg.spool_dir, s->keys, s->bundle_flags, last, &b, diag);
	if (r == -ENOENT) {
		/* Nothing newer; files that failed verification are still worth reporting. */
		if (diag->n) {
			char detail[1024];
			diag_join(diag, detail, sizeof(detail));
			snprintf(res->message, sizeof(res->message), "spool %s: %s", s->cfg.spool_dir, detail);
			res->error = -EINVAL;
		}
	} else if (r < 0) {
		char detail[1024];
		diag_join(diag, detail, sizeof(detail));
		snprintf(res->message, sizeof(res->message), "spool %s: %s", s->cfg.spool_dir, detail[0] ? detail : strerror(-r));
		res->error = r;
	} else {
		snprintf(res->origin, sizeof(res->origin), "%s", b.origin);
		finish_bundle(s, &b, res, diag);
	}
	rp_bundle_clear(&b);
	free(diag);
}

static void do_fetch(struct rp_policy_source *s, struct result *res)
{
	struct rp_diag *diag = calloc(1, sizeof(*diag));
	struct rp_bundle b = {0};
	char etag[RP_ETAG_MAX] = "";
	char *body = NULL;
	size_t len = 0;
	int r;

	if (!diag) {
		res->error = -ENOMEM;
		return;
	}
	snprintf(res->origin, sizeof(res->origin), "%s", s->cfg.url);
	r = rp_bundle_fetch(s->cfg.url, s->cfg.ca_file, s->etag, etag, sizeof(etag), &body, &len, RP_BUNDLE_MAX_BYTES,
			    30000, diag);
	if (r == 1)
		goto out; /* 304: what we have is current */
	if (r < 0) {
		char detail[1024];
		diag_join(diag, detail, sizeof(detail));
		snprintf(res->message, sizeof(res->message), "pull %s: %s", s->cfg.url, detail[0] ? detail : strerror(-r));
		res->error = r;
		s->pull_failures++;
		goto out;
	}
	s->pull_failures = 0;
	r = rp_bundle_open(body, len, s->cfg.url, s->keys, s->bundle_flags, &b, diag);
	if (r < 0) {
		char detail[1024];
		diag_join(diag, detail, sizeof(detail));
		snprintf(res->message, sizeof(res->message), "pull %s: bundle refused: %s", s->cfg.url,
			 detail[0] ? detail : strerror(-r));
		res->error = r;
		goto out;
	}
	finish_bundle(s, &b, res, diag);
	/* Remember the ETag only once the bundle was judged: a refused one is fetched again. */
	if (res->error == 0)
		snprintf(s->etag, sizeof(s->etag), "%s", etag);
out:
	rp_bundle_clear(&b);
	free(body);
	free(diag);
}

static void *worker_main(void *arg)
{
	struct rp_policy_source *s = arg;
	unsigned char job;

	for (;;) {
		ssize_t n = read(s->job_pipe[0], &job, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || job == JOB_STOP)
			break;
		struct result *res = calloc(1, sizeof(*res));
		if (!res)
			continue;
		if (job == JOB_SCAN_SPOOL)
			do_scan_spool(s, res);
		else if (job == JOB_FETCH)
			do_fetch(s, res);
		if (!res->policy && !res->error && !res->message[0]) {
			free(res); /* nothing new, nothing to say */
			continue;
		}
		if (write(s->result_pipe[1], &res, sizeof(res)) != sizeof(res)) {
			rp_policy_free(res->policy);
			free(res);
		}
	}
	return NULL;
}

static int post_job(struct rp_policy_source *s, enum job j)
{
	unsigned char b = (unsigned char)j;
	/* Non-blocking: if jobs pile up, one more scan is already queued. */
	return write(s->job_pipe[1], &b, 1) == 1 || errno == EAGAIN ? 0 : -errno;
}

static void arm_pull_timer(struct rp_policy_source *s, bool first)
{
	/* Interval with ±10 % jitter so a fleet does not pull in lockstep; backoff while failing. */
	uint64_t base = first ? 1 : s->cfg.pull_interval_s;
	unsigned shift = s->pull_failures < 4 ? s->pull_failures : 4;
	uint64_t ms = base * 1000ull;

	if (!first) {
		ms = ms << shift;
		if (ms > 3600000ull)
			ms = 3600000ull;
		ms = ms - ms / 10 + (uint64_t)(rand() % (int)(ms / 5 + 1));
	}
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000}};
	timerfd_settime(s->pull_timer_fd, 0, &its, NULL);
}

int rp_policy_source_open(const struct rp_policy_source_config *cfg, struct rp_policy_source **out, char *err,
			  size_t errlen)
{
	struct rp_policy_source *s = calloc(1, sizeof(*s));
	struct rp_diag *diag = calloc(1, sizeof(*diag));
	int r;

	if (!s || !diag) {
		free(s);
		free(diag);
		return -ENOMEM;
	}
	s->cfg = *cfg;
	s->job_pipe[0] = s->job_pipe[1] = s->result_pipe[0] = s->result_pipe[1] = -1;
	s->inotify_fd = s->pull_timer_fd = -1;
	s->bundle_flags = cfg->allow_unsigned ? RP_BUNDLE_ALLOW_UNSIGNED : 0;

	r = rp_keyring_load_dir(cfg->keys_dir, &s->keys, diag);
	if (r < 0 && r != -ENOENT) {
		snprintf(err, errlen, "cannot load trusted keys from %s: %s", cfg->keys_dir, strerror(-r));
		goto fail;
	}
	if (!s->keys)
		s->keys = rp_keyring_new();
	if (!s->keys) {
		r = -ENOMEM;
		goto fail;
	}
	if (pipe2(s->job_pipe, O_CLOEXEC) < 0 || pipe2(s->result_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create pipes: %s", strerror(-r));
		goto fail;
	}
	fcntl(s->job_pipe[1], F_SETFL, O_NONBLOCK);
	if (cfg->spool_dir) {
		s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (s->inotify_fd < 0 ||
		    inotify_add_watch(s->inotify_fd, cfg->spool_dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF) < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot watch spool directory %s: %s", cfg->spool_dir, strerror(-r));
			goto fail;
		}
	}
	if (cfg->url) {
		if (strncmp(cfg->url, "https://", 8) != 0) {
			r = -EINVAL;
			snprintf(err, errlen, "policy URL must be https: %s", cfg->url);
			goto fail;
		}
		curl_global_init(CURL_GLOBAL_DEFAULT);
		s->pull_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (s->pull_timer_fd < 0) {
			r = -errno;
			goto fail;
		}
		srand((unsigned)getpid() ^ (unsigned)time(NULL));
		arm_pull_timer(s, true);
	}
	r = pthread_create(&s->worker, NULL, worker_main, s);
	if (r) {
		r = -r;
		snprintf(err, errlen, "cannot start policy worker: %s", strerror(-r));
		goto fail;
	}
	s->worker_started = true;
	if (cfg->spool_dir)
		(void)post_job(s, JOB_SCAN_SPOOL);
	free(diag);
	*out = s;
	return 0;
fail:
	free(diag);
	rp_policy_source_free(s);
	return r;
}

void rp_policy_source_free(struct rp_policy_source *s)
{
	struct result *res;

	if (!s)
		return;
	if (s->worker_started) {
		unsigned char stop = JOB_STOP;
		/* A blocking write: the stop must get through even when jobs are queued. */
		fcntl(s->job_pipe[1], F_SETFL, 0);
		if (write(s->job_pipe[1], &stop, 1) == 1)
			pthread_join(s->worker, NULL);
		else
			pthread_detach(s->worker);
	}
	while (s->result_pipe[0] >= 0 && read(s->result_pipe[0], &res, sizeof(res)) == sizeof(res)) {
		rp_policy_free(res->policy);
		free(res);
	}
	for (int i = 0; i < 2; i++) {
		if (s->job_pipe[i] >= 0)
			close(s->job_pipe[i]);
		if (s->result_pipe[i] >= 0)
			close(s->result_pipe[i]);
	}
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	if (s->pull_timer_fd >= 0)
		close(s->pull_timer_fd);
	rp_keyring_free(s->keys);
	free(s);
}

int rp_policy_source_load_last_good(struct rp_policy_source *s, struct rp_policy **out, char *origin, size_t len)
{
	struct rp_diag *diag = calloc(1, sizeof(*diag));
	struct rp_bundle b = {0};
	int r;

	if (!diag)
		return -ENOMEM;
	r = rp_bundle_load_last_good(s->cfg.state_dir, s->keys, s->bundle_flags, &b, diag);
	if (r == 0) {
		*out = b.policy;
		b.policy = NULL;
		snprintf(origin, len, "%s (last known good)", s->cfg.state_dir);
	}
	rp_bundle_clear(&b);
	free(diag);
	return r;
}

void rp_policy_source_fds(const struct rp_policy_source *s, int fds[3])
{
	fds[0] = s->result_pipe[0];
	fds[1] = s->inotify_fd;
	fds[2] = s->pull_timer_fd;
}

void rp_policy_source_refresh(struct rp_policy_source *s)
{
	if (s->cfg.spool_dir)
		(void)post_job(s, JOB_SCAN_SPOOL);
	if (s->cfg.url)
		(void)post_job(s, JOB_FETCH);
}

int rp_policy_source_handle(struct rp_policy_source *s, int fd, struct rp_policy **policy, char *origin,
			    size_t origin_len, char *msg, size_t msg_len)
{
	msg[0] = '\0';
	if (fd == s->inotify_fd) {
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		/* Drain the events; one scan covers them all. */
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		(void)post_job(s, JOB_SCAN_SPOOL);
		return 0;
	}
	if (fd == s->pull_timer_fd) {
		uint64_t ticks;
		if (read(fd, &ticks, sizeof(ticks)) < 0)
			return 0;
		(void)post_job(s, JOB_FETCH);
		arm_pull_timer(s, false);
		return 0;
	}
	if (fd == s->result_pipe[0]) {
		struct result *res;
		if (read(fd, &res, sizeof(res)) != sizeof(res))
			return 0;
		int r = res->error;
		*policy = res->policy;
		snprintf(origin, origin_len, "%s", res->origin);
		snprintf(msg, msg_len, "%s", res->message);
		free(res);
		return r < 0 ? r : (*policy ? 1 : 0);
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The notification socket, driven through a real Unix socket and a real epoll loop: per-user
 * delivery by SO_PEERCRED, the root-only "all" subscription, the per-user rate limit, bounded
 * queues that never block the daemon, and the socket file's life cycle.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon.h"
#include "ipc.h"
#include "notify_server.h"
#include "run_suite.h"

static char dir[64];
static char path[128];
static int epfd = -1;
static struct rp_notify_server *srv;

static void setup(void)
{
	strcpy(dir, "/tmp/rp-notify-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/notify.sock", dir);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(epfd, 0);
	ck_assert_int_eq(rp_notify_server_open(path, epfd, &srv), 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = rp_notify_server_fd(srv)};
	ck_assert_int_eq(epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev), 0);
}

static void teardown(void)
{
	rp_notify_server_free(srv);
	srv = NULL;
	ck_assert_int_ne(access(path, F_OK), 0); /* socket file removed */
	close(epfd);
	rmdir(dir);
}

/* Run the daemon side's event loop for about ms milliseconds. */
static void pump(int ms)
{
	struct epoll_event evs[16];
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int n = epoll_wait(epfd, evs, 16, 10);
		for (int i = 0; i < n; i++)
			rp_notify_server_handle(srv, evs[i].data.fd, evs[i].events);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= ms)
			return;
	}
}

/* Connect and subscribe; returns the client fd with the acknowledgement consumed. */
static int subscriber(bool all)
{
	int fd = rp_ipc_connect(path);
	struct json_object *req = json_object_new_object(), *reply = NULL, *ok;

	ck_assert_int_ge(fd, 0);
	json_object_object_add(req, "cmd", json_object_new_string("subscribe"));
	if (all)
		json_object_object_add(req, "all", json_object_new_boolean(1));
	ck_assert_int_eq(rp_ipc_send(fd, req), 0);
	json_object_put(req);
	pump(50);
	ck_assert_int_eq(rp_ipc_recv(fd, 1000, &reply), 0);
	ck_assert(json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok));
	json_object_put(reply);
	return fd;
}

/* Everything the client can read now, as text. */
static char *drain(int fd)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			break;
		if (len + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		pump(5); /* let the server refill the socket */
	}
	buf[len] = '\0';
	return buf;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

struct alert_fixture {
	struct rp_finding finding;
	struct rp_flow_identity id;
	struct rp_alert a;
};

static void make_alert(struct alert_fixture *f, uint32_t uid, enum rp_action action, const char *masked,
		       const char *message)
{
	memset(f, 0, sizeof(*f));
	f->finding.id = "fr_nir";
	snprintf(f->finding.masked, sizeof(f->finding.masked), "%s", masked);
	f->id.uid = uid;
	f->id.pid = 4242;
	f->id.family = AF_INET;
	f->id.rport = 443;
	inet_pton(AF_INET, "127.0.0.1", f->id.raddr);
	strcpy(f->id.comm, "curl");
	f->a.action = action;
	f->a.rule_id = "unapproved-genai";
	f->a.message = message;
	f->a.finding = &f->finding;
	f->a.id = &f->id;
	f->a.exe = "/usr/bin/curl";
	f->a.time_ms = 1700000000000ull;
}

START_TEST(own_alerts_only)
{
	struct alert_fixture mine, other;
	int fd = subscriber(false);
	char *got;

	make_alert(&other, getuid() + 1, RP_ACTION_ALERT, "1 85 ** other", "other user's");
	make_alert(&mine, getuid(), RP_ACTION_BLOCK, "2 95 10 ** *** *** 93", "bloqué / blocked");
	ck_assert_int_eq(rp_notify_publish(srv, &other.a, 100), 0);
	ck_assert_int_eq(rp_notify_publish(srv, &mine.a, 100), 1);
	pump(20);
	got = drain(fd);
	ck_assert_uint_eq(count_lines(got), 1);
	ck_assert_ptr_null(strstr(got, "other"));
	struct json_object *o = json_tokener_parse(got), *v;
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "masked", &v));
	ck_assert_str_eq(json_object_get_string(v), "2 95 10 ** *** *** 93");
	ck_assert(json_object_object_get_ex(o, "action", &v));
	ck_assert_str_eq(json_object_get_string(v), "block");
	ck_assert(json_object_object_get_ex(o, "process", &v));
	ck_assert_str_eq(json_object_get_string(v), "curl");
	ck_assert(json_object_object_get_ex(o, "destination", &v));
	ck_assert_str_eq(json_object_get_string(v), "127.0.0.1:443");
	ck_assert(json_object_object_get_ex(o, "message", &v));
	ck_assert_str_eq(json_object_get_string(v), "bloqué / blocked");
	json_object_put(o);
	free(got);
	close(fd);
}
END_TEST

/* Returns the reply's "ok" after subscribing with all=true, as the current user. */
static bool try_all(void)
{
	struct json_object *req = json_object_new_object(), *reply = NULL, *ok;
	int fd = rp_ipc_connect(path);
	bool res;

	if (fd < 0)
		return false;
	json_object_object_add(req, "cmd", json_object_new_string("subscribe"));
	json_object_object_add(req, "all", json_object_new_boolean(1));
	rp_ipc_send(fd, req);
	json_object_put(req);
	if (rp_ipc_recv(fd, 2000, &reply) < 0)
		return false;
	res = json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok);
	json_object_put(reply);
	close(fd);
	return res;
}

START_TEST(all_is_root_only)
{
	pid_t child;
	int status;

	/* As an unprivileged user (nobody when we are root): refused. The server runs in this process,
	 * so the child only talks; the parent pumps. */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		if (getuid() == 0 && setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		_exit(try_all() ? 1 : 0);
	}
	pid_t w = 0;
	for (int i = 0; i < 100 && w == 0; i++) {
		pump(20);
		w = waitpid(child, &status, WNOHANG);
	}
	ck_assert_int_eq(w, child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "non-root got an all subscription");
	if (getuid() == 0) {
		struct alert_fixture other;
		int fd = subscriber(true);
		char *got;

		make_alert(&other, 1000, RP_ACTION_ALERT, "1 85 ** other", "x");
		ck_assert_int_eq(rp_notify_publish(srv, &other.a, 100), 1);
		pump(20);
		got = drain(fd);
		ck_assert_uint_eq(count_lines(got), 1);
		free(got);
		close(fd);
	}
}
END_TEST

START_TEST(rate_limit_per_user)
{
	struct alert_fixture mine;
	struct rp_notify_stats st;
	uint64_t t0 = 1000ull * 1000000000ull;
	int fd = subscriber(false), fd2 = subscriber(false);
	char *got;

	make_alert(&mine, getuid(), RP_ACTION_ALERT, "2 95 10 ** *** *** 93", "m");
	/* 2 per minute: a burst of 5 gives 2 notifications, to each of the user's two sessions. */
	for (int i = 0; i < 5; i++)
		rp_notify_publish_at(srv, &mine.a, 2, t0 + (uint64_t)i * 1000000ull);
	pump(20);
	got = drain(fd);
	ck_assert_uint_eq(count_lines(got), 2);
	free(got);
	got = drain(fd2);
	ck_assert_uint_eq(count_lines(got), 2);
	free(got);
	rp_notify_server_stats(srv, &st);
	ck_assert_uint_eq(st.dropped_rate, 3);
	/* 30 s later one token is back; the note says how many were held back. */
	ck_assert_int_eq(rp_notify_publish_at(srv, &mine.a, 2, t0 + 30ull * 1000000000ull + 5000000ull), 2);
	pump(20);
	got = drain(fd);
	ck_assert_uint_eq(count_lines(got), 1);
	ck_assert_ptr_nonnull(strstr(got, "\"suppressed\":3"));
	free(got);
	free(drain(fd2));
	/* Rate 0: notifications off. */
	ck_assert_int_eq(rp_notify_publish_at(srv, &mine.a, 0, t0 + 3600ull * 1000000000ull), 0);
	close(fd);
	close(fd2);
}
END_TEST

START_TEST(rate_limit_summary)
{
	struct alert_fixture mine;
	uint64_t t0 = 5000ull * 1000000000ull;
	int fd = subscriber(false);
	char *got;

	make_alert(&mine, getuid(), RP_ACTION_ALERT, "2 95 10 ** *** *** 93", "m");
	for (int i = 0; i < 4; i++)
		rp_notify_publish_at(srv, &mine.a, 1, t0 + (uint64_t)i * 1000000ull);
	pump(20);
	got = drain(fd);
	ck_assert_uint_eq(count_lines(got), 1);
	free(got);
	/* No token yet: nothing. A minute later: one summary of the 3 held back, once. */
	ck_assert_int_eq(rp_notify_server_tick_at(srv, 1, t0 + 30ull * 1000000000ull), 0);
	ck_assert_int_eq(rp_notify_server_tick_at(srv, 1, t0 + 61ull * 1000000000ull), 1);
	ck_assert_int_eq(rp_notify_server_tick_at(srv, 1, t0 + 200ull * 1000000000ull), 0);
	pump(20);
	got = drain(fd);
	ck_assert_uint_eq(count_lines(got), 1);
	ck_assert_ptr_nonnull(strstr(got, "\"action\":\"summary\""));
	ck_assert_ptr_nonnull(strstr(got, "\"suppressed\":3"));
	free(got);
	/* And the limit holds on: one a minute. */
	ck_assert_int_eq(rp_notify_publish_at(srv, &mine.a, 1, t0 + 201ull * 1000000000ull), 1);
	ck_assert_int_eq(rp_notify_publish_at(srv, &mine.a, 1, t0 + 202ull * 1000000000ull), 0);
	close(fd);
}
END_TEST

/*
 * Messages larger than half the socket buffer go out in several pieces, so a send can stop in the
 * middle of one: the queue must then never drop that half-sent message.
 */
#define BIG (200 * 1024)
#define N_PUB 80

START_TEST(slow_client_never_blocks)
{
	struct alert_fixture mine;
	struct rp_notify_stats st;
	struct timespec a, b;
	char *big = malloc(BIG), *got, *line, *save = NULL;
	int fd = subscriber(false), rcv = 4096;
	unsigned n = 0;
	bool saw_last = false, saw_dropped = false;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	memset(big, 'x', BIG - 1);
	big[BIG - 1] = '\0';
	make_alert(&mine, getuid(), RP_ACTION_ALERT, "2 95 10 ** *** *** 93", big);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < N_PUB; i++) {
		mine.a.time_ms = 1000 + (uint64_t)i;
		memset(big, 'a' + i % 26, BIG - 1); /* a message spliced from two would mix letters */
		rp_notify_publish(srv, &mine.a, 1000);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* 80 publishes of 200 KiB to a client that reads nothing: no blocking. */
	ck_assert_int_lt((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000, 2000);
	rp_notify_server_stats(srv, &st);
	ck_assert_uint_gt(st.dropped_queue, 0);
	ck_assert_uint_eq(st.clients, 1);

	/* The client catches up: every line it gets is whole, and the newest alert is among them. */
	got = drain(fd);
	for (line = strtok_r(got, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(line), *v;
		ck_assert_msg(o != NULL, "corrupt line in the stream");
		ck_assert(json_object_object_get_ex(o, "time", &v));
		int64_t t = json_object_get_int64(v);
		if (t == 1000 + N_PUB - 1)
			saw_last = true;
		ck_assert(json_object_object_get_ex(o, "message", &v));
		const char *msg = json_object_get_string(v);
		ck_assert_uint_eq(strlen(msg), BIG - 1);
		ck_assert_uint_eq(strspn(msg, (char[]){(char)('a' + (t - 1000) % 26), 0}), BIG - 1);
		if (json_object_object_get_ex(o, "dropped", &v) && json_object_get_int64(v) > 0)
			saw_dropped = true;
		json_object_put(o);
		n++;
	}
	ck_assert(saw_last);
	ck_assert(saw_dropped);
	ck_assert_uint_lt(n, N_PUB);
	ck_assert_uint_eq(n + st.dropped_queue, N_PUB);
	free(got);
	free(big);
	close(fd);
}
END_TEST

START_TEST(bad_requests_refused)
{
	struct json_object *reply = NULL, *ok;
	int fd = rp_ipc_connect(path);
	char c;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(send(fd, "hello\n", 6, 0), 6);
	pump(30);
	ck_assert_int_eq(rp_ipc_recv(fd, 1000, &reply), 0);
	ck_assert(json_object_object_get_ex(reply, "ok", &ok) && !json_object_get_boolean(ok));
	json_object_put(reply);
	ck_assert_int_eq(recv(fd, &c, 1, 0), 0); /* then closed */
	close(fd);

	/* Talking after the subscription: dropped, and the slot is free again. */
	struct rp_notify_stats st;
	fd = subscriber(false);
	rp_notify_server_stats(srv, &st);
	ck_assert_uint_eq(st.subscribers, 1);
	ck_assert_int_eq(send(fd, "more\n", 5, 0), 5);
	pump(30);
	rp_notify_server_stats(srv, &st);
	ck_assert_uint_eq(st.clients, 0);
	close(fd);
}
END_TEST

START_TEST(socket_file_life_cycle)
{
	struct rp_notify_server *second = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char other[160];
	int fd;

	/* A live server keeps its socket. */
	ck_assert_int_eq(rp_notify_server_open(path, epfd, &second), -EADDRINUSE);
	/* A stale socket (nobody listening) is replaced. */
	snprintf(other, sizeof(other), "%s/stale.sock", dir);
	strcpy(sa.sun_path, other);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ck_assert_int_eq(rp_notify_server_open(other, epfd, &second), 0);
	rp_notify_server_free(second);
	ck_assert_int_ne(access(other, F_OK), 0);
	/* Something that is not a socket is left alone. */
	fd = open(other, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(rp_notify_server_open(other, epfd, &second), -EEXIST);
	ck_assert_int_eq(access(other, F_OK), 0);
	unlink(other);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("notify_server");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, own_alerts_only);
	tcase_add_test(tc, all_is_root_only);
	tcase_add_test(tc, rate_limit_per_user);
	tcase_add_test(tc, rate_limit_summary);
	tcase_add_test(tc, slow_client_never_blocks);
	tcase_add_test(tc, bad_requests_refused);
	tcase_add_test(tc, socket_file_life_cycle);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}

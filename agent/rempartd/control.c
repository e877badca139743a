/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: one JSON request line in, one JSON reply line out, then close. Anyone may
 * read the status; changing the agent (reload) takes root, checked with SO_PEERCRED. Clients are
 * bounded in number and request size, and never block the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon.h"
#include "decoders.h"
#include "enforce.h" /* enforcement (issue 5) */
#include "ipc.h"
#include "paths.h"

#define MAX_CLIENTS 32
#define MAX_REQUEST 4096

struct client {
	int fd;
	uid_t uid;
	size_t len;
	char buf[MAX_REQUEST];
};

struct rp_control {
	int listen_fd;
	char path[108];
	struct client *clients[MAX_CLIENTS];
};

int rp_control_open(const char *path, struct rp_control **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct rp_control *c;
	char dir[sizeof(sa.sun_path)], *slash;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	strcpy(sa.sun_path, path);
	strcpy(c->path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
	}
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0) {
		r = -errno;
		goto fail;
	}
	/* A stale socket from a crashed run would make bind fail. */
	(void)unlink(path);
	if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(c->listen_fd, 16) < 0) {
		r = -errno;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	free(c);
	return r;
}

void rp_control_free(struct rp_control *c)
{
	if (!c)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (c->clients[i]) {
			close(c->clients[i]->fd);
			free(c->clients[i]);
		}
	}
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		(void)unlink(c->path);
	}
	free(c);
}

int rp_control_fd(const struct rp_control *c)
{
	return c->listen_fd;
}

bool rp_control_owns_fd(const struct rp_control *c, int fd)
{
	if (fd == c->listen_fd)
		return true;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (c->clients[i] && c->clients[i]->fd == fd)
			return true;
	return false;
}

static void drop_client(struct rp_control *c, struct rp_daemon *d, int i)
{
	(void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->clients[i]->fd, NULL);
	close(c->clients[i]->fd);
	free(c->clients[i]);
	c->clients[i] = NULL;
}

static const char *const counter_names[RP_CNT__MAX] = {
	[RP_CNT_WRITES] = "writes",
	[RP_CNT_BYTES] = "bytes",
	[RP_CNT_RECORDS] = "records",
	[RP_CNT_BYTES_CAPTURED] = "bytes_captured",
	[RP_CNT_GAP_RECORDS] = "gap_records",
	[RP_CNT_GAP_BYTES] = "gap_bytes",
	[RP_CNT_RINGBUF_FULL] = "ringbuf_full",
	[RP_CNT_READ_FAULTS] = "read_faults",
	[RP_CNT_GAPS_LOST] = "gaps_lost",
	[RP_CNT_SELF_SKIPPED] = "self_skipped",
	[RP_CNT_LINKS] = "tls_socket_links",
	[RP_CNT_TCP_WRITES] = "tcp_plaintext_writes",
	[RP_CNT_TLS_SOCK_SKIPS] = "tls_socket_syscalls_skipped",
	[RP_CNT_EXECS] = "execs",
	[RP_CNT_WAKEUPS] = "wakeups",
	[RP_CNT_TLS_HELLOS] = "unhooked_tls_hellos",
	[RP_CNT_NO_USER_COPY] = "sendfile_splice_sends",
	[RP_CNT_IO_URING_SENDS] = "io_uring_sends",
	[RP_CNT_LOADER_CHANGES] = "loader_changes",
};

static void add_probe(const char *target, const char *func, void *u)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "target", json_object_new_string(target));
	json_object_object_add(p, "function", json_object_new_string(func));
	json_object_array_add(u, p);
}

static struct json_object *status_reply(struct rp_daemon *d)
{
	struct json_object *o = json_object_new_object(), *counters, *probes, *pol, *agent;
	struct rp_capture_stats st = {0};

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "ready", json_object_new_boolean(d->ready));
	json_object_object_add(o, "version", json_object_new_string(RP_VERSION));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));

	pol = json_object_new_object();
	if (d->policy) {
		json_object_object_add(pol, "name", json_object_new_string(rp_policy_name(d->policy->policy)));
		json_object_object_add(pol, "serial", json_object_new_int64((int64_t)rp_policy_serial(d->policy->policy)));
		json_object_object_add(pol, "sha256", json_object_new_string(rp_policy_sha256(d->policy->policy)));
		json_object_object_add(pol, "generation", json_object_new_int64((int64_t)d->policy->generation));
	}
	json_object_object_add(pol, "path", json_object_new_string(d->policy_path ? d->policy_path : ""));
	json_object_object_add(pol, "origin", json_object_new_string(d->policy_origin));
	json_object_object_add(pol, "central", json_object_new_boolean(d->source != NULL));
	json_object_object_add(pol, "last_error", json_object_new_string(d->policy_error));
	json_object_object_add(o, "policy", pol);

	probes = json_object_new_array();
	counters = json_object_new_object();
	if (d->capture) {
		rp_capture_stats(d->capture, &st);
		rp_capture_foreach_probe(d->capture, add_probe, probes);
		for (int i = 0; i < RP_CNT__MAX; i++)
			if (counter_names[i])
				json_object_object_add(counters, counter_names[i], json_object_new_uint64(st.counters[i]));
	}
	json_object_object_add(o, "probes", probes);
	{
		struct json_object *progs = json_object_new_object();
		json_object_object_add(progs, "examined", json_object_new_uint64(st.programs_examined));
		json_object_object_add(progs, "complete", json_object_new_boolean(d->capture && !st.programs_pending));
		json_object_object_add(progs, "released", json_object_new_uint64(st.objects_released));
		json_object_object_add(o, "installed_programs", progs);
	}
	json_object_object_add(o, "kernel_counters", counters);

	agent = json_object_new_object();
	json_object_object_add(agent, "records", json_object_new_uint64(d->records_seen));
	json_object_object_add(agent, "records_malformed", json_object_new_uint64(d->records_malformed));
	json_object_object_add(agent, "findings", json_object_new_uint64(d->findings));
	json_object_object_add(agent, "uninspected_tls_sessions", json_object_new_uint64(d->uninspected_tls));
	json_object_object_add(agent, "uninspected_tls_tunnels", json_object_new_uint64(d->uninspected_tls_tunnels));
	json_object_object_add(agent, "alerts", json_object_new_uint64(rp_alert_sink_count(d->alerts)));
	json_object_object_add(agent, "alert_errors", json_object_new_uint64(rp_alert_sink_errors(d->alerts)));
	json_object_object_add(agent, "flows", json_object_new_uint64(rp_flow_table_count(d->flows)));
	json_object_object_add(agent, "detection_state_bytes",
			       json_object_new_uint64(rp_flow_table_detection_bytes(d->flows)));
	json_object_object_add(o, "agent_counters", agent);
	{
		/* What the decoders made of the traffic: documents read, decompression trouble. */
		struct rp_decoder_stats ds;
		struct json_object *dec = json_object_new_object();

		rp_flow_table_decoder_stats(d->flows, &ds);
		json_object_object_add(dec, "bytes_in", json_object_new_uint64(ds.bytes_in));
		json_object_object_add(dec, "bytes_out", json_object_new_uint64(ds.bytes_out));
		json_object_object_add(dec, "inflated", json_object_new_uint64(ds.inflated));
		json_object_object_add(dec, "messages", json_object_new_uint64(ds.messages));
		json_object_object_add(dec, "document_parts", json_object_new_uint64(ds.doc_entries));
		json_object_object_add(dec, "fallbacks", json_object_new_uint64(ds.fallbacks));
		json_object_object_add(dec, "inflate_errors", json_object_new_uint64(ds.inflate_errors));
		json_object_object_add(dec, "bombs", json_object_new_uint64(ds.bombs));
		json_object_object_add(o, "decoder_counters", dec);
	}
	json_object_object_add(o, "notify", rp_notify_server_status(d->notify));
	json_object_object_add(o, "enforcement_counters", rp_enforce_status_json(d->enforce)); /* issue 5 */
	return o;
}

static struct json_object *error_reply(const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static struct json_object *handle_request(struct rp_daemon *d, const struct client *cl, const char *line)
{
	struct json_object *req = json_tokener_parse(line), *cmd, *reply;
	const char *name;

	if (!req || !json_object_is_type(req, json_type_object) || !json_object_object_get_ex(req, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_string)) {
		json_object_put(req);
		return error_reply("request must be a JSON object with a string \"cmd\"");
	}
	name = json_object_get_string(cmd);
	if (strcmp(name, "status") == 0) {
		reply = status_reply(d);
	} else if (strcmp(name, "reload") == 0) {
		if (cl->uid != 0) {
			reply = error_reply("reload requires root");
		} else if (rp_daemon_reload(d) < 0) {
			reply = error_reply(d->policy_error);
		} else {
			reply = status_reply(d);
		}
	} else {
		reply = error_reply("unknown command");
	}
	json_object_put(req);
	return reply;
}

static void accept_clients(struct rp_control *c, struct rp_daemon *d)
{
	for (;;) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		int slot = -1;

		if (fd < 0)
			return;
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (!c->clients[i]) {
				slot = i;
				break;
			}
		if (slot < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
			close(fd); /* too many clients: the CLI retries */
			continue;
		}
		c->clients[slot] = calloc(1, sizeof(struct client));
		if (!c->clients[slot]) {
			close(fd);
			continue;
		}
		c->clients[slot]->fd = fd;
		c->clients[slot]->uid = cred.uid;
		ev.data.fd = fd;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			drop_client(c, d, slot);
	}
}

void rp_control_handle(struct rp_control *c, struct rp_daemon *d, int fd, uint32_t events)
{
	int i;

	if (fd == c->listen_fd) {
		accept_clients(c, d);
		return;
	}
	for (i = 0; i < MAX_CLIENTS; i++)
		if (c->clients[i] && c->clients[i]->fd == fd)
			break;
	if (i == MAX_CLIENTS)
		return;
	struct client *cl = c->clients[i];
	ssize_t n = recv(fd, cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		drop_client(c, d, i);
		return;
	}
	cl->len += (size_t)n;
	cl->buf[cl->len] = '\0';
	char *nl = strchr(cl->buf, '\n');
	if (!nl && cl->len < sizeof(cl->buf) - 1)
		return; /* wait for the rest of the line */
	if (nl)
		*nl = '\0';
	struct json_object *reply = nl ? handle_request(d, cl, cl->buf) : error_reply("request too long");
	/* Replies are small; a client that does not read gets dropped, not waited for. */
	(void)rp_ipc_send(fd, reply);
	json_object_put(reply);
	drop_client(c, d, i);
}

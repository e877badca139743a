/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Notification socket for rempart-notify clients: see notify_server.h for the protocol. Every
 * socket is non-blocking; nothing here waits for a client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "daemon.h"
#include "notify_server.h"

#define MAX_REQUEST 512

struct nmsg {
	char *data;
	size_t len;
};

struct nclient {
	int fd;
	uid_t uid;
	bool subscribed;
	bool all;
	uint32_t events;           /* what epoll watches now */
	size_t inlen;
	char inbuf[MAX_REQUEST];
	struct nmsg q[RP_NOTIFY_QUEUE_LEN];
	unsigned count;            /* messages in q, oldest first */
	size_t off;                /* bytes of q[0] already sent */
	uint64_t dropped;          /* dropped since last told to this client */
};

/* Token bucket per recipient user: rate tokens per minute, burst of rate. */
struct bucket {
	bool used;
	uid_t uid;
	double tokens;
	uint64_t last_ns;
	uint64_t suppressed;       /* held back since this user's last notification */
};

struct rp_notify_server {
	int listen_fd;
	int epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct nclient *clients[RP_NOTIFY_MAX_CLIENTS];
	struct bucket buckets[RP_NOTIFY_MAX_CLIENTS];
	struct rp_notify_stats st;
};

/* Refuse to take over a path a live server answers on, or a path that is not a socket. */
static int check_stale(const struct sockaddr_un *sa)
{
	struct stat stt;
	int fd, r;

	if (lstat(sa->sun_path, &stt) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(stt.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0 || errno == EAGAIN)
		return -EADDRINUSE;
	/* Nobody listens: a leftover from a crashed run. */
	return unlink(sa->sun_path) < 0 && errno != ENOENT ? -errno : 0;
}

int rp_notify_server_open(const char *path, int epfd, struct rp_notify_server **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct rp_notify_server *s;
	char dir[sizeof(sa.sun_path)], *slash;
	int r;

	if (!path || !out)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->epfd = epfd;
	s->listen_fd = -1;
	strcpy(sa.sun_path, path);
	strcpy(s->path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
	}
	r = check_stale(&sa);
	if (r < 0)
		goto fail;
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		r = -errno;
		goto fail;
	}
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto fail;
	}
	if (chmod(path, 0666) < 0 || listen(s->listen_fd, 16) < 0) {
		r = -errno;
		(void)unlink(path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s);
	return r;
}

static void client_free(struct nclient *c)
{
	for (unsigned i = 0; i < c->count; i++)
		free(c->q[i].data);
	close(c->fd);
	free(c);
}

static void drop_client(struct rp_notify_server *s, int i)
{
	(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->clients[i]->fd, NULL);
	client_free(s->clients[i]);
	s->clients[i] = NULL;
}

void rp_notify_server_free(struct rp_notify_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < RP_NOTIFY_MAX_CLIENTS; i++)
		if (s->clients[i])
			drop_client(s, i);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		(void)unlink(s->path);
	}
	free(s);
}

int rp_notify_server_fd(const struct rp_notify_server *s)
{
	return s->listen_fd;
}

static int find_client(const struct rp_notify_server *s, int fd)
{
	for (int i = 0; i < RP_NOTIFY_MAX_CLIENTS; i++)
		if (s->clients[i] && s->clients[i]->fd == fd)
			return i;
	return -1;
}

bool rp_notify_server_owns_fd(const struct rp_notify_server *s, int fd)
{
	return s && (fd == s->listen_fd || find_client(s, fd) >= 0);
}

static int set_events(struct rp_notify_server *s, struct nclient *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = c->fd};

	if (c->events == events)
		return 0;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		return -errno;
	c->events = events;
	return 0;
}

static void shift_out(struct nclient *c, unsigned i)
{
	free(c->q[i].data);
	memmove(&c->q[i], &c->q[i + 1], (c->count - i - 1) * sizeof(c->q[0]));
	c->count--;
}

/* Write what the socket takes now. Returns 0, or a negative errno when the client must go. */
static int flush(struct rp_notify_server *s, struct nclient *c)
{
	while (c->count) {
		struct nmsg *m = &c->q[0];
		ssize_t n = send(c->fd, m->data + c->off, m->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		c->off += (size_t)n;
		if (c->off == m->len) {
			c->off = 0;
			shift_out(c, 0);
			s->st.sent++;
		}
	}
	return set_events(s, c, EPOLLIN | (c->count ? EPOLLOUT : 0));
}

/* Queue one line (takes ownership of line). A full queue loses its oldest whole message. */
static void enqueue(struct rp_notify_server *s, struct nclient *c, char *line, size_t len)
{
	if (c->count == RP_NOTIFY_QUEUE_LEN) {
		/* A message already half-written must finish, or the stream would be corrupt. */
		shift_out(c, c->off > 0 ? 1 : 0);
		c->dropped++;
		s->st.dropped_queue++;
	}
	c->q[c->count].data = line;
	c->q[c->count].len = len;
	c->count++;
}

/* Serialise obj as one line into a new buffer. */
static char *to_line(struct json_object *obj, size_t *len)
{
	const char *js = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(js);
	char *line = malloc(n + 2);

	if (!line)
		return NULL;
	memcpy(line, js, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}

/* Queue obj to client i and try to send it; drops the client on a hard error. */
static int send_obj(struct rp_notify_server *s, int i, struct json_object *obj)
{
	struct nclient *c = s->clients[i];
	size_t len;
	char *line = to_line(obj, &len);

	if (!line)
		return -ENOMEM;
	enqueue(s, c, line, len);
	if (flush(s, c) < 0) {
		drop_client(s, i);
		return -EPIPE;
	}
	return 0;
}

static void refuse(struct rp_notify_server *s, int i, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(why));
	/* One try at telling it why, never waited for; -EPIPE means it is already gone. */
	if (send_obj(s, i, o) != -EPIPE)
		drop_client(s, i);
	json_object_put(o);
	s->st.refused++;
}

static void subscribe(struct rp_notify_server *s, int i, const char *line)
{
	struct nclient *c = s->clients[i];
	struct json_object *req = json_tokener_parse(line), *v, *reply;
	bool all = false;

	if (!req || !json_object_is_type(req, json_type_object) || !json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "subscribe") != 0) {
		json_object_put(req);
		refuse(s, i, "expected {\"cmd\":\"subscribe\"}");
		return;
	}
	if (json_object_object_get_ex(req, "all", &v))
		all = json_object_get_boolean(v);
	json_object_put(req);
	if (all && c->uid != 0) {
		refuse(s, i, "only root may subscribe to every user's alerts");
		return;
	}
	c->subscribed = true;
	c->all = all;
	reply = json_object_new_object();
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "uid", json_object_new_int64(c->uid));
	json_object_object_add(reply, "all", json_object_new_boolean(all));
	json_object_object_add(reply, "queue", json_object_new_int(RP_NOTIFY_QUEUE_LEN));
	(void)send_obj(s, i, reply);
	json_object_put(reply);
}

static unsigned connections_of(const struct rp_notify_server *s, uid_t uid)
{
	unsigned n = 0;

	for (int i = 0; i < RP_NOTIFY_MAX_CLIENTS; i++)
		if (s->clients[i] && s->clients[i]->uid == uid)
			n++;
	return n;
}

static void accept_clients(struct rp_notify_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		struct nclient *c;
		int slot = -1;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of fds: the rest wait in the backlog */
		}
		for (int i = 0; i < RP_NOTIFY_MAX_CLIENTS && slot < 0; i++)
			if (!s->clients[i])
				slot = i;
		/* A bounded table and a per-user cap: one user cannot crowd out the others. */
		if (slot < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
		    (cred.uid != 0 && connections_of(s, cred.uid) >= RP_NOTIFY_MAX_PER_UID)) {
			close(fd);
			s->st.refused++;
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		c->events = EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			client_free(c);
			continue;
		}
		s->clients[slot] = c;
	}
}

static void read_client(struct rp_notify_server *s, int i)
{
	struct nclient *c = s->clients[i];
	char *nl;

	/* Bounded by the request buffer: a client cannot keep the daemon reading. */
	while (!c->subscribed) {
		ssize_t n = recv(c->fd, c->inbuf + c->inlen, sizeof(c->inbuf) - 1 - c->inlen, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			drop_client(s, i);
			return;
		}
		c->inlen += (size_t)n;
		c->inbuf[c->inlen] = '\0';
		nl = strchr(c->inbuf, '\n');
		if (nl) {
			*nl = '\0';
			subscribe(s, i, c->inbuf);
			return;
		}
		if (c->inlen == sizeof(c->inbuf) - 1) {
			refuse(s, i, "request too long");
			return;
		}
	}
	/* Once subscribed a client has nothing more to say: data or end of stream, it goes. */
	drop_client(s, i);
}

void rp_notify_server_handle(struct rp_notify_server *s, int fd, uint32_t events)
{
	int i;

	if (fd == s->listen_fd) {
		accept_clients(s);
		return;
	}
	i = find_client(s, fd);
	if (i < 0)
		return;
	if (events & EPOLLOUT) {
		if (flush(s, s->clients[i]) < 0) {
			drop_client(s, i);
			return;
		}
	}
	/* EPOLLHUP/EPOLLERR: recv reports the end or the error and the client is dropped. */
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_client(s, i);
}

static struct bucket *bucket_of(struct rp_notify_server *s, uid_t uid, uint32_t rate, uint64_t now)
{
	struct bucket *b, *victim = &s->buckets[0];

	for (int i = 0; i < RP_NOTIFY_MAX_CLIENTS; i++) {
		b = &s->buckets[i];
		if (b->used && b->uid == uid)
			return b;
		if (!b->used)
			victim = b;
		else if (victim->used && b->last_ns < victim->last_ns)
			victim = b;
	}
	/* A new user starts with a full bucket; the least recently served user is forgotten. */
	*victim = (struct bucket){.used = true, .uid = uid, .tokens = rate, .last_ns = now};
	return victim;
}

static void refill(struct bucket *b, uint32_t rate, uint64_t now)
{
	if (now > b->last_ns)
		b->tokens += (double)(now - b->last_ns) * rate / 60e9;
	if (b->tokens > rate)
		b->tokens = rate;
	b->last_ns = now;
}

/* Take one token from uid's bucket. Returns false when the user is over the rate. */
static bool rate_take(struct rp_notify_server *s, uid_t uid, uint32_t rate, uint64_t now, uint64_t *suppressed)
{
	struct bucket *b = bucket_of(s, uid, rate, now);

	refill(b, rate, now);
	if (b->tokens < 1.0) {
		b->suppressed++;
		return false;
	}
	b->tokens -= 1.0;
	*suppressed = b->suppressed;
	b->suppressed = 0;
	return true;
}

static void format_destination(const struct rp_flow_identity *id, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (id->family == AF_INET && inet_ntop(AF_INET, id->raddr, ip, sizeof(ip)))
		snprintf(buf, len, "%s:%u", ip, id->rport);
	else if (id->family == AF_INET6 && inet_ntop(AF_INET6, id->raddr, ip, sizeof(ip)))
		snprintf(buf, len, "[%s]:%u", ip, id->rport);
	else
		snprintf(buf, len, "unknown");
}

static struct json_object *alert_object(const struct rp_alert *a)
{
	struct json_object *o = json_object_new_object();
	char dst[INET6_ADDRSTRLEN + 16];

	if (!o)
		return NULL;
	format_destination(a->id, dst, sizeof(dst));
	json_object_object_add(o, "action", json_object_new_string(rp_action_name(a->action)));
	json_object_object_add(o, "detector", json_object_new_string(a->finding ? a->finding->id : ""));
	json_object_object_add(o, "masked", json_object_new_string(a->finding ? a->finding->masked : ""));
	json_object_object_add(o, "process", json_object_new_string_len(a->id->comm, (int)strnlen(a->id->comm, sizeof(a->id->comm))));
	json_object_object_add(o, "exe", json_object_new_string(a->exe ? a->exe : ""));
	json_object_object_add(o, "pid", json_object_new_int64(a->id->pid));
	json_object_object_add(o, "uid", json_object_new_int64(a->id->uid));
	json_object_object_add(o, "destination", json_object_new_string(dst));
	if (a->destination)
		json_object_object_add(o, "destination_name", json_object_new_string(a->destination));
	json_object_object_add(o, "rule", json_object_new_string(a->rule_id ? a->rule_id : ""));
	json_object_object_add(o, "message", json_object_new_string(a->message ? a->message : ""));
	json_object_object_add(o, "enforcement", json_object_new_string(a->enforcement ? a->enforcement : "none"));
	json_object_object_add(o, "time", json_object_new_int64((int64_t)a->time_ms));
	return o;
}

/* Recipient users already decided for the alert being published. */
struct decision {
	uid_t uid;
	bool allowed;
	uint64_t suppressed;
};

int rp_notify_publish_at(struct rp_notify_server *s, const struct rp_alert *a, uint32_t rate_per_minute,
			 uint64_t now_ns)
{
	struct decision dec[RP_NOTIFY_MAX_CLIENTS];
	struct json_object *o;
	unsigned ndec = 0;
	int queued = 0;

	if (!s || !a || !a->id)
		return 0;
	if (rate_per_minute == 0)
		return 0; /* notifications off in this policy */
	s->st.published++;
	o = alert_object(a);
	if (!o)
		return -ENOMEM;
	for (int i = 0; i < RP_NOTIFY_MAX_CLIENTS; i++) {
		struct nclient *c = s->clients[i];
		struct decision *d = NULL;

		if (!c || !c->subscribed || (c->uid != a->id->uid && !c->all))
			continue;
		for (unsigned k = 0; k < ndec && !d; k++)
			if (dec[k].uid == c->uid)
				d = &dec[k];
		if (!d) {
			/* One token per user and alert, however many sessions the user has. */
			d = &dec[ndec++];
			d->uid = c->uid;
			d->suppressed = 0;
			d->allowed = rate_take(s, c->uid, rate_per_minute, now_ns, &d->suppressed);
			if (!d->allowed)
				s->st.dropped_rate++;
		}
		if (!d->allowed)
			continue;
		if (d->suppressed)
			json_object_object_add(o, "suppressed", json_object_new_uint64(d->suppressed));
		/* Tell the client what its queue lost, this enqueue's own drop included. */
		uint64_t lost = c->dropped + (c->count == RP_NOTIFY_QUEUE_LEN);
		if (lost)
			json_object_object_add(o, "dropped", json_object_new_uint64(lost));
		if (send_obj(s, i, o) == 0) {
			queued++;
			s->clients[i]->dropped = 0;
		}
		json_object_object_del(o, "suppressed");
		json_object_object_del(o, "dropped");
	}
	json_object_put(o);
	return queued;
}

int rp_notify_publish(struct rp_notify_server *s, const struct rp_alert *a, uint32_t rate_per_minute)
{
	return rp_notify_publish_at(s, a, rate_per_minute, rp_monotonic_ns());
}

int rp_notify_server_tick_at(struct rp_notify_server *s, uint32_t rate_per_minute, uint64_t now_ns)
{
	int sent = 0;

	if (!s || rate_per_minute == 0)
		return 0;
	for (int k = 0; k < RP_NOTIFY_MAX_CLIENTS; k++) {
		struct bucket *b = &s->buckets[k];
		struct json_object *o;
		bool listening = false;

		if (!b->used || !b->suppressed)
			continue;
		for (int i = 0; i < RP_NOTIFY_MAX_CLIENTS && !listening; i++)
			listening = s->clients[i] && s->clients[i]->subscribed && s->clients[i]->uid == b->uid;
		refill(b, rate_per_minute, now_ns);
		if (!listening || b->tokens < 1.0)
			continue; /* told with the user's next notification, or at a later tick */
		o = json_object_new_object();
		if (!o)
			return -ENOMEM;
		json_object_object_add(o, "action", json_object_new_string("summary"));
		json_object_object_add(o, "suppressed", json_object_new_uint64(b->suppressed));
		b->tokens -= 1.0;
		b->suppressed = 0;
		for (int i = 0; i < RP_NOTIFY_MAX_CLIENTS; i++)
			if (s->clients[i] && s->clients[i]->subscribed && s->clients[i]->uid == b->uid &&
			    send_obj(s, i, o) == 0)
				sent++;
		json_object_put(o);
	}
	return sent;
}

int rp_notify_server_tick(struct rp_notify_server *s, uint32_t rate_per_minute)
{
	return rp_notify_server_tick_at(s, rate_per_minute, rp_monotonic_ns());
}

void rp_notify_server_stats(const struct rp_notify_server *s, struct rp_notify_stats *out)
{
	*out = (struct rp_notify_stats){0};
	if (!s)
		return;
	*out = s->st;
	for (int i = 0; i < RP_NOTIFY_MAX_CLIENTS; i++) {
		if (!s->clients[i])
			continue;
		out->clients++;
		if (s->clients[i]->subscribed)
			out->subscribers++;
	}
}

struct json_object *rp_notify_server_status(const struct rp_notify_server *s)
{
	struct json_object *o = json_object_new_object();
	struct rp_notify_stats st;

	if (!o || !s)
		return o;
	rp_notify_server_stats(s, &st);
	json_object_object_add(o, "socket", json_object_new_string(s->path));
	json_object_object_add(o, "clients", json_object_new_uint64(st.clients));
	json_object_object_add(o, "subscribers", json_object_new_uint64(st.subscribers));
	json_object_object_add(o, "published", json_object_new_uint64(st.published));
	json_object_object_add(o, "sent", json_object_new_uint64(st.sent));
	json_object_object_add(o, "dropped_queue", json_object_new_uint64(st.dropped_queue));
	json_object_object_add(o, "dropped_rate", json_object_new_uint64(st.dropped_rate));
	json_object_object_add(o, "refused", json_object_new_uint64(st.refused));
	return o;
}

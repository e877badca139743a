/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The notification socket: per-user rempart-notify clients subscribe here and receive, as JSON
 * lines, the alerts raised on their own flows (alert uid == SO_PEERCRED uid); root's notifier may
 * ask for everyone's. Queues are bounded per client and sends never block: a client that does not
 * read loses its oldest messages (counted). Notifications are rate-limited per recipient user.
 *
 * Protocol (one JSON object per line; after subscribing, a client that sends anything is dropped):
 *   client -> daemon  {"cmd":"subscribe"}  or  {"cmd":"subscribe","all":true}  (root only)
 *   daemon -> client  {"ok":true,"uid":1000,"all":false,"queue":32}  or  {"ok":false,"error":"..."}
 *   daemon -> client  {"action":"block","detector":"fr_nir","masked":"2 95 10 ** *** *** 93",
 *                      "process":"curl","destination":"127.0.0.1:443","rule":"...","message":"...",
 *                      ...; "suppressed":N when the rate limit held N back; "dropped":N when this
 *                      client's queue overflowed}
 *   daemon -> client  {"action":"summary","suppressed":N}  when the rate limit held N notifications
 *                      back and none came since to tell the user
 * Only masked evidence is ever sent.
 */
#ifndef REMPARTD_NOTIFY_SERVER_H
#define REMPARTD_NOTIFY_SERVER_H

#include <stdbool.h>
#include <stdint.h>

struct json_object;
struct rp_alert;
struct rp_notify_server;

#define RP_NOTIFY_MAX_CLIENTS 64
#define RP_NOTIFY_MAX_PER_UID 8   /* connections per non-root user */
#define RP_NOTIFY_QUEUE_LEN 32    /* messages waiting per client */

struct rp_notify_stats {
	uint64_t clients;       /* connected now */
	uint64_t subscribers;   /* subscribed now */
	uint64_t published;     /* alerts offered for notification */
	uint64_t sent;          /* messages completely written to a client */
	uint64_t dropped_queue; /* messages dropped because a client's queue was full */
	uint64_t dropped_rate;  /* notifications held back by the per-user rate limit */
	uint64_t refused;       /* connections refused or dropped for misbehaving */
};

/*
 * Listen on path (mode 0666: anyone may subscribe, SO_PEERCRED decides what they get). Client fds
 * are added to and removed from epfd by the server; the caller adds rp_notify_server_fd() itself.
 * Returns -EADDRINUSE when a live server already answers on path, -EEXIST when path is not a socket.
 */
int rp_notify_server_open(const char *path, int epfd, struct rp_notify_server **out);
void rp_notify_server_free(struct rp_notify_server *s); /* NULL-safe; removes the socket file */
int rp_notify_server_fd(const struct rp_notify_server *s);
bool rp_notify_server_owns_fd(const struct rp_notify_server *s, int fd); /* NULL-safe */
/* Accept, read subscriptions, or flush queues, whatever fd and events call for. */
void rp_notify_server_handle(struct rp_notify_server *s, int fd, uint32_t events);

/*
 * Queue a notification of alert a for its user's subscribers (and root's "all" subscribers).
 * rate_per_minute is the policy's notify_rate_per_minute; 0 turns notifications off. NULL-safe on s.
 * Returns the number of clients it was queued for.
 */
int rp_notify_publish(struct rp_notify_server *s, const struct rp_alert *a, uint32_t rate_per_minute);
/* Same, with the monotonic clock reading (ns) given: for tests of the rate limit. */
int rp_notify_publish_at(struct rp_notify_server *s, const struct rp_alert *a, uint32_t rate_per_minute,
			 uint64_t now_ns);

/*
 * Call periodically (rempartd's 250 ms timer): once a user's rate allows it again, tell their
 * notifiers how many notifications were held back. Returns the number of messages queued.
 */
int rp_notify_server_tick(struct rp_notify_server *s, uint32_t rate_per_minute);
int rp_notify_server_tick_at(struct rp_notify_server *s, uint32_t rate_per_minute, uint64_t now_ns);

void rp_notify_server_stats(const struct rp_notify_server *s, struct rp_notify_stats *out); /* NULL-safe */
/* The stats as a JSON object for `rempart status` (a new reference; empty object when s is NULL). */
struct json_object *rp_notify_server_status(const struct rp_notify_server *s);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rempart-notify: the user's side of Rempart's desktop notifications. Subscribes to rempartd's
 * notification socket (the daemon sends only this user's alerts, checked with SO_PEERCRED) and
 * shows each alert on the session bus through org.freedesktop.Notifications, or on stdout.
 * Reconnects with backoff whenever the daemon goes away.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "desktop.h"
#include "ipc.h"
#include "note.h"
#include "paths.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define SUBSCRIBE_TIMEOUT_MS 5000
#define LINE_MAX_BYTES 65536

struct options {
	const char *socket_path;
	bool once;
	bool to_stdout;
	bool all;
};

struct line_reader {
	size_t len;
	char buf[LINE_MAX_BYTES];
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	stopping = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: rempart-notify [OPTIONS]\n\n"
		"Shows the desktop notifications of the Rempart data-loss-prevention agent: each alert\n"
		"rempartd raises on this user's outbound traffic appears through the session bus\n"
		"(org.freedesktop.Notifications). Only masked values are ever shown.\n\n"
		"Options:\n"
		"  -s, --socket PATH  notification socket of rempartd (default %s)\n"
		"      --once         exit after the first notification shown\n"
		"      --stdout       print notifications on standard output instead of the desktop\n"
		"      --all          every user's alerts (root only)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n\n"
		"Exit status: 0 on SIGTERM/SIGINT or after --once, 1 when the daemon refuses the\n"
		"subscription, 2 on a usage error.\n",
		RP_DEFAULT_NOTIFY_SOCKET);
}

/* Sleep ms, cut short by a signal. */
static void pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	if (!stopping)
		(void)nanosleep(&ts, NULL);
}

/*
 * Next complete line from fd into *line (NUL-terminated, inside r->buf, valid until the next
 * call). Returns 1 with a line, 0 on EOF, negative errno on error or when interrupted by a signal.
 */
static int read_line(int fd, struct line_reader *r, size_t *consumed, char **line)
{
	char *nl;

	/* Discard the line handed out last time. */
	if (*consumed) {
		memmove(r->buf, r->buf + *consumed, r->len - *consumed);
		r->len -= *consumed;
		*consumed = 0;
	}
	for (;;) {
		nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			*nl = '\0';
			*line = r->buf;
			*consumed = (size_t)(nl - r->buf) + 1;
			return 1;
		}
		if (r->len == sizeof(r->buf))
			return -EMSGSIZE;
		ssize_t n = recv(fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
		if (n < 0)
			return -errno; /* EINTR included: the caller checks `stopping` */
		if (n == 0)
			return 0;
		r->len += (size_t)n;
	}
}

/* Returns 0 when shown, negative errno otherwise. */
static int show(const struct options *o, struct rp_desktop *desk, struct json_object *alert)
{
	struct rp_note n;
	char err[512];
	int r;

	r = rp_note_from_alert(alert, !o->to_stdout, &n);
	if (r < 0) {
		fprintf(stderr, "rempart-notify: ignoring a malformed alert line\n");
		return r;
	}
	if (o->to_stdout) {
		printf("[%s] %s\n", n.urgency == RP_URGENCY_CRITICAL ? "critical" : "normal", n.summary);
		for (char *p = n.body, *e; *p; p = e + (*e ? 1 : 0)) {
			e = strchrnul(p, '\n');
			printf("  %.*s\n", (int)(e - p), p);
		}
		fflush(stdout);
		return ferror(stdout) ? -EIO : 0;
	}
	r = rp_desktop_show(desk, &n, err, sizeof(err));
	if (r < 0) {
		/* Never lose an alert silently: say it where the user unit's journal keeps it. */
		fprintf(stderr, "rempart-notify: %s; alert was: %s\n", err, n.summary);
		return r;
	}
	return 0;
}

/* Send the subscription and read the daemon's answer. 0, -EACCES when refused, other errno. */
static int subscribe(int fd, const struct options *o, struct line_reader *lr, size_t *consumed)
{
	struct json_object *req = json_object_new_object(), *reply, *v;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char *line;
	int r;

	if (!req)
		return -ENOMEM;
	json_object_object_add(req, "cmd", json_object_new_string("subscribe"));
	if (o->all)
		json_object_object_add(req, "all", json_object_new_boolean(1));
	r = rp_ipc_send(fd, req);
	json_object_put(req);
	if (r < 0)
		return r;
	r = poll(&pfd, 1, SUBSCRIBE_TIMEOUT_MS);
	if (r <= 0)
		return r < 0 ? -errno : -ETIMEDOUT;
	r = read_line(fd, lr, consumed, &line);
	if (r <= 0)
		return r < 0 ? r : -ECONNRESET;
	reply = json_tokener_parse(line);
	if (!reply)
		return -EBADMSG;
	if (!json_object_object_get_ex(reply, "ok", &v) || !json_object_get_boolean(v)) {
		fprintf(stderr, "rempart-notify: rempartd refused the subscription: %s\n",
			json_object_object_get_ex(reply, "error", &v) ? json_object_get_string(v) : "no reason given");
		r = -EACCES;
	} else {
		r = 0;
	}
	json_object_put(reply);
	return r;
}

/*
 * One connection: subscribe, then show alerts until the daemon goes away. Returns 1 when --once
 * is satisfied, 0 when the connection ended (reconnect), negative errno on a fatal error.
 */
static int session(int fd, const struct options *o, struct rp_desktop *desk, bool *subscribed)
{
	struct line_reader *lr = malloc(sizeof(*lr));
	size_t consumed = 0;
	char *line;
	int r;

	if (!lr)
		return -ENOMEM;
	lr->len = 0;
	r = subscribe(fd, o, lr, &consumed);
	if (r < 0)
		goto out;
	*subscribed = true;
	fprintf(stderr, "rempart-notify: subscribed to %s\n", o->socket_path);
	while (!stopping) {
		struct json_object *alert;

		r = read_line(fd, lr, &consumed, &line);
		if (r == -EINTR)
			continue;
		if (r <= 0)
			break;
		alert = json_tokener_parse(line);
		r = show(o, desk, alert);
		json_object_put(alert);
		if (r == 0 && o->once) {
			r = 1;
			goto out;
		}
	}
	r = 0;
out:
	free(lr);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"once", no_argument, NULL, 'o'},
		{"stdout", no_argument, NULL, 'S'},
		{"all", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct options o = {.socket_path = RP_DEFAULT_NOTIFY_SOCKET};
	struct sigaction sa = {.sa_handler = on_signal};
	struct rp_desktop *desk = NULL;
	int c, r, backoff = BACKOFF_MIN_MS, ret = 0;
	int last_err = 0;

	while ((c = getopt_long(argc, argv, "s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.socket_path = optarg;
			break;
		case 'o':
			o.once = true;
			break;
		case 'S':
			o.to_stdout = true;
			break;
		case 'a':
			o.all = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rempart-notify %s\n", RP_VERSION);
			return 0;
		default:
			fprintf(stderr, "rempart-notify: see --help for the options\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rempart-notify: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	/* No SA_RESTART: a signal interrupts the blocking read and the loop ends cleanly. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!o.to_stdout && rp_desktop_new(&desk) < 0) {
		fprintf(stderr, "rempart-notify: out of memory\n");
		return 1;
	}

	while (!stopping) {
		bool subscribed = false;
		int fd = rp_ipc_connect(o.socket_path);

		if (fd >= 0) {
			r = session(fd, &o, desk, &subscribed);
			close(fd);
			if (r == 1 || stopping)
				break;
			if (r == -EACCES) {
				ret = 1;
				break;
			}
			if (subscribed) {
				/* The daemon went away (restart, upgrade): come back quickly. */
				fprintf(stderr, "rempart-notify: connection to rempartd lost, reconnecting\n");
				backoff = BACKOFF_MIN_MS;
				last_err = 0;
				pause_ms(backoff);
				continue;
			}
		} else {
			r = fd;
		}
		/* Say so once per distinct error, not at every retry. */
		if (r < 0 && r != last_err) {
			fprintf(stderr, "rempart-notify: waiting for rempartd on %s: %s\n", o.socket_path, strerror(-r));
			last_err = r;
		}
		pause_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	rp_desktop_free(desk);
	return ret;
}

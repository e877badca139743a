/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"

int rp_ipc_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int rp_ipc_send(int fd, struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s), off = 0;

	while (off <= len) {
		/* Write the object then the newline; MSG_NOSIGNAL: a vanished peer is an error, not a signal. */
		const char *p = off < len ? s + off : "\n";
		size_t n = off < len ? len - off : 1;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	return 0;
}

int rp_ipc_recv(int fd, int timeout_ms, struct json_object **out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int r;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			goto out;
		}
		if (r == 0) {
			r = -ETIMEDOUT;
			goto out;
		}
		if (len + 1 >= cap) {
			if (cap >= RP_IPC_MAX_LINE) {
				r = -EMSGSIZE;
				goto out;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0) {
			r = -ECONNRESET;
			goto out;
		}
		char *nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			*nl = '\0';
			break;
		}
	}
	buf[len] = '\0';
	*out = json_tokener_parse(buf);
	r = *out ? 0 : -EBADMSG;
out:
	free(buf);
	return r;
}

int rp_ipc_call(const char *path, const char *cmd, int timeout_ms, struct json_object **reply)
{
	struct json_object *req = json_object_new_object();
	int fd, r;

	if (!req)
		return -ENOMEM;
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	fd = rp_ipc_connect(path);
	if (fd < 0) {
		json_object_put(req);
		return fd;
	}
	r = rp_ipc_send(fd, req);
	if (r == 0)
		r = rp_ipc_recv(fd, timeout_ms, reply);
	json_object_put(req);
	close(fd);
	return r;
}

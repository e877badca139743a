/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP sockets over NETLINK_SOCK_DIAG: find one by inode (from /proc/PID/fd) or by socket cookie
 * (the same cookie bpf_get_socket_cookie() returns), list the cookies that exist, and destroy one
 * with SOCK_DESTROY as `ss -K` does: the kernel aborts the connection, sends a RST, and the owner's next call fails with
 * ECONNABORTED. Kernels built without CONFIG_INET_DIAG_DESTROY answer EOPNOTSUPP.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "enforce.h"

#define DUMP_MAX_MSGS 1000000 /* bound on the dump loop, far above any workstation */

static int nl_open(void)
{
	struct timeval tv = {.tv_sec = 2};
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static uint64_t msg_cookie(const struct inet_diag_msg *m)
{
	return (uint64_t)m->id.idiag_cookie[0] | ((uint64_t)m->id.idiag_cookie[1] << 32);
}

static void fill_info(const struct inet_diag_msg *m, struct rp_sock_info *out)
{
	memset(out, 0, sizeof(*out));
	out->family = m->idiag_family;
	out->state = m->idiag_state;
	out->inode = m->idiag_inode;
	out->sport = ntohs(m->id.idiag_sport);
	out->dport = ntohs(m->id.idiag_dport);
	memcpy(out->src, m->id.idiag_src, 16);
	memcpy(out->dst, m->id.idiag_dst, 16);
	out->_id_if = m->id.idiag_if;
	out->_id_cookie[0] = m->id.idiag_cookie[0];
	out->_id_cookie[1] = m->id.idiag_cookie[1];
	out->cookie = msg_cookie(m);
}

/* Dump the TCP sockets of one family, calling visit for each; a visitor returning non-zero is
 * not called again (the dump is still read to its end, so the socket stays in sync). Returns 0,
 * or a negative errno. */
static int dump_each(int fd, int family, int (*visit)(const struct inet_diag_msg *m, void *u), void *u)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {.nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
		.req = {.sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u},
	};
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	static char buf[65536] __attribute__((aligned(8)));
	bool done = false;
	unsigned msgs = 0;

	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	while (msgs < DUMP_MAX_MSGS) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			msgs++;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error ? e->error : -EIO;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)) || done)
				continue;
			done = visit(NLMSG_DATA(h), u) != 0;
		}
	}
	return -E2BIG;
}

struct find_ctx {
	uint32_t inode;
	uint64_t cookie;
	struct rp_sock_info *out;
	bool found;
};

static int visit_find(const struct inet_diag_msg *m, void *u)
{
	struct find_ctx *f = u;

	if ((f->inode && m->idiag_inode == f->inode) || (f->cookie && msg_cookie(m) == f->cookie)) {
		fill_info(m, f->out);
		f->found = true;
	}
	return f->found;
}

int rp_sockdiag_find(uint32_t inode, uint64_t cookie, struct rp_sock_info *out)
{
	struct find_ctx f = {.inode = inode, .cookie = cookie, .out = out};
	int fd, r;

	if (!inode && !cookie)
		return -EINVAL;
	fd = nl_open();
	if (fd < 0)
		return fd;
	r = dump_each(fd, AF_INET, visit_find, &f);
	if (r == 0 && !f.found)
		r = dump_each(fd, AF_INET6, visit_find, &f);
	close(fd);
	return r < 0 ? r : f.found ? 0 : -ENOENT;
}

struct cookies_ctx {
	uint64_t *out;
	size_t n, max;
	bool overflow;
};

static int visit_cookie(const struct inet_diag_msg *m, void *u)
{
	struct cookies_ctx *c = u;

	if (c->n == c->max) {
		c->overflow = true;
		return 1;
	}
	c->out[c->n++] = msg_cookie(m);
	return 0;
}

int rp_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

ssize_t rp_sockdiag_cookies(uint64_t *out, size_t max)
{
	struct cookies_ctx c = {.out = out, .max = max};
	int fd, r;

	fd = nl_open();
	if (fd < 0)
		return fd;
	r = dump_each(fd, AF_INET, visit_cookie, &c);
	if (r == 0)
		r = dump_each(fd, AF_INET6, visit_cookie, &c);
	close(fd);
	if (r < 0)
		return r;
	if (c.overflow)
		return -E2BIG;
	qsort(out, c.n, sizeof(*out), rp_cmp_u64);
	return (ssize_t)c.n;
}

int rp_sockdiag_destroy(const struct rp_sock_info *s)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {.nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DESTROY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 2},
		.req = {.sdiag_family = s->family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u},
	};
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	char buf[1024] __attribute__((aligned(8)));
	struct nlmsghdr *h;
	ssize_t n;
	int fd, r;

	msg.req.id.idiag_sport = htons(s->sport);
	msg.req.id.idiag_dport = htons(s->dport);
	memcpy(msg.req.id.idiag_src, s->src, 16);
	memcpy(msg.req.id.idiag_dst, s->dst, 16);
	msg.req.id.idiag_if = s->_id_if;
	msg.req.id.idiag_cookie[0] = s->_id_cookie[0];
	msg.req.id.idiag_cookie[1] = s->_id_cookie[1];

	fd = nl_open();
	if (fd < 0)
		return fd;
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto cleanup;
	}
	do
		n = recv(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = -errno;
		goto cleanup;
	}
	h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != NLMSG_ERROR) {
		r = -EIO;
		goto cleanup;
	}
	r = ((const struct nlmsgerr *)NLMSG_DATA(h))->error;
cleanup:
	close(fd);
	return r;
}

int rp_proc_fd_socket_inode(pid_t pid, int fd, uint32_t *inode)
{
	char path[64], link[64];
	unsigned long ino;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	if (sscanf(link, "socket:[%lu]", &ino) != 1)
		return -ENOTSOCK;
	*inode = (uint32_t)ino;
	return 0;
}

int rp_proc_socket_inodes(pid_t pid, uint32_t *inodes, size_t max)
{
	char path[64];
	struct dirent *de;
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)) && n < max) {
		uint32_t ino;
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || de->d_name[0] == '\0' || fd < 0)
			continue;
		if (rp_proc_fd_socket_inode(pid, (int)fd, &ino) == 0)
			inodes[n++] = ino;
	}
	closedir(dir);
	return (int)n;
}

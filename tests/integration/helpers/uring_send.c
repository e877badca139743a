/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helper: send standard input to 127.0.0.1:PORT through io_uring, never through a write or
 * send syscall, as an asynchronous program would. Raw syscalls (liburing is not needed for four
 * requests). Usage: uring_send PORT OP   with OP one of send, write, sendmsg, send_zc.
 * Prints the bytes the kernel reports sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_open(struct ring *r)
{
	struct io_uring_params p;
	uint8_t *sq, *cq;
	size_t sq_len, cq_len;

	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -errno;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		sq_len = cq_len = sq_len > cq_len ? sq_len : cq_len;
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return -errno;
	cq = sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
		if (cq == MAP_FAILED)
			return -errno;
	}
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return -errno;
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Queue sqe and submit it. */
static int ring_submit(struct ring *r, const struct io_uring_sqe *sqe)
{
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;

	r->sqes[idx] = *sqe;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0) != 1)
		return errno ? -errno : -EIO;
	return 0;
}

/* Wait for the next completion; its result and flags. */
static int ring_wait(struct ring *r, int *res, unsigned *flags)
{
	unsigned head = *r->cq_head;

	for (int i = 0; i < 1000 && head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE); i++)
		if (syscall(__NR_io_uring_enter, r->fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0 && errno != EINTR)
			return -errno;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return -ETIMEDOUT;
	*res = r->cqes[head & *r->cq_mask].res;
	*flags = r->cqes[head & *r->cq_mask].flags;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct io_uring_sqe sqe;
	struct iovec iov[2];
	struct msghdr msg;
	struct ring r;
	size_t n = 0;
	ssize_t got;
	unsigned flags;
	int s, res, err;

	if (argc != 3) {
		fprintf(stderr, "usage: uring_send PORT send|write|sendmsg|send_zc < data\n");
		return 2;
	}
	while (n < sizeof(buf) && (got = read(0, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)got;
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("uring_send: connect");
		return 1;
	}
	err = ring_open(&r);
	if (err < 0) {
		fprintf(stderr, "uring_send: io_uring: %s\n", strerror(-err));
		return 1;
	}
	memset(&sqe, 0, sizeof(sqe));
	sqe.fd = s;
	sqe.addr = (uint64_t)(uintptr_t)buf;
	sqe.len = (uint32_t)n;
	if (!strcmp(argv[2], "send")) {
		sqe.opcode = IORING_OP_SEND;
	} else if (!strcmp(argv[2], "write")) {
		sqe.opcode = IORING_OP_WRITE;
		sqe.off = (uint64_t)-1; /* a stream: no offset */
	} else if (!strcmp(argv[2], "sendmsg")) {
		iov[0] = (struct iovec){buf, n / 2};
		iov[1] = (struct iovec){buf + n / 2, n - n / 2};
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = 2;
		sqe.opcode = IORING_OP_SENDMSG;
		sqe.addr = (uint64_t)(uintptr_t)&msg;
		sqe.len = 1;
#ifdef IORING_CQE_F_NOTIF
	} else if (!strcmp(argv[2], "send_zc")) {
		sqe.opcode = IORING_OP_SEND_ZC;
#endif
	} else {
		fprintf(stderr, "uring_send: unknown operation '%s'\n", argv[2]);
		return 2;
	}
	err = ring_submit(&r, &sqe);
	if (err == 0)
		err = ring_wait(&r, &res, &flags);
	if (err < 0) {
		fprintf(stderr, "uring_send: %s\n", strerror(-err));
		return 1;
	}
	if (res < 0) {
		fprintf(stderr, "uring_send: %s: %s\n", argv[2], strerror(-res));
		return 1;
	}
#ifdef IORING_CQE_F_MORE
	/* A zero-copy send completes twice: the result, then the buffer's release. */
	if (flags & IORING_CQE_F_MORE) {
		int notif;
		if (ring_wait(&r, &notif, &flags) < 0) {
			fprintf(stderr, "uring_send: no notification for the zero-copy send\n");
			return 1;
		}
	}
#endif
	printf("%d\n", res);
	close(s);
	return 0;
}

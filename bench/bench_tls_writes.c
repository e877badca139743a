/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS write benchmark: a client thread does COUNT SSL_write calls of SIZE bytes to a server thread
 * in the same process over loopback TCP; prints calls/s, MB/s and ns per call, the writing
 * thread's own CPU time per call and the context switches per 1000 calls. Run once without
 * the agent and once with it (bench/bench_capture.sh) to measure what the uprobes cost.
 * -r MBPS paces the client to find the highest rate followed with zero loss.
 * -m runs client and server over an in-memory BIO pair on one thread: no sockets, no scheduler
 * noise, so the difference with and without the agent is the cost of the hooks themselves.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling (writing) thread: what the hooks cost the writer itself, without the
 * server thread's share of the CPU, which depends on how the scheduler interleaves the two. */
static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Context switches of the whole process (writer and server threads) so far. */
static long switches(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* A throw-away self-signed key and certificate, made in memory. */
static int make_cert(SSL_CTX *ctx)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	int ok;

	if (!pkey || !x)
		return -1;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"bench", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_sign(x, pkey, EVP_sha256());
	ok = SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, pkey) == 1;
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ok ? 0 : -1;
}

struct server {
	int lfd;
	SSL_CTX *ctx;
	unsigned long long received;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	char buf[65536];
	int fd = accept(s->lfd, NULL, NULL);
	SSL *ssl;
	int n;

	if (fd < 0)
		return NULL;
	ssl = SSL_new(s->ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1)
		while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0)
			s->received += (unsigned long long)n;
	SSL_free(ssl);
	close(fd);
	return NULL;
}

/* Handshake and writes over a BIO pair; the ciphertext is drained and dropped. */
static int run_memory(SSL_CTX *sctx, SSL_CTX *cctx, const char *buf, size_t size, long count)
{
	BIO *cbio = NULL, *sbio = NULL;
	SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
	static char sink[1 << 16];

	if (!c || !s || BIO_new_bio_pair(&cbio, 1 << 20, &sbio, 1 << 20) != 1)
		return -1;
	SSL_set_bio(c, cbio, cbio);
	SSL_set_bio(s, sbio, sbio);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (int i = 0; i < 100 && (!SSL_is_init_finished(c) || !SSL_is_init_finished(s)); i++) {
		SSL_do_handshake(c);
		SSL_do_handshake(s);
	}
	if (!SSL_is_init_finished(c))
		return -1;
	double t0 = now_s(), c0 = thread_cpu_s();
	for (long i = 0; i < count; i++) {
		if (SSL_write(c, buf, (int)size) != (int)size)
			return -1;
		while (BIO_read(sbio, sink, sizeof(sink)) > 0)
			;
	}
	double secs = now_s() - t0, cpu = thread_cpu_s() - c0;
	printf("mode=memory size=%zu count=%ld seconds=%.3f calls_per_s=%.0f MB_per_s=%.1f ns_per_call=%.0f "
	       "writer_cpu_ns_per_call=%.0f\n",
	       size, count, secs, (double)count / secs, (double)count * (double)size / secs / 1e6,
	       secs * 1e9 / (double)count, cpu * 1e9 / (double)count);
	SSL_free(c);
	SSL_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	size_t size = 16384;
	long count = 20000;
	double rate_mbps = 0;
	bool memory = false;
	int c;

	while ((c = getopt(argc, argv, "s:n:r:mh")) != -1) {
		switch (c) {
		case 'm':
			memory = true;
			break;
		case 's':
			size = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'r':
			rate_mbps = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "Usage: bench_tls_writes [-m] [-s SIZE] [-n COUNT] [-r MB_PER_S]\n");
			return 2;
		}
	}
	if (size == 0 || size > (1u << 24) || count <= 0) {
		fprintf(stderr, "bench_tls_writes: bad size or count\n");
		return 2;
	}

	struct server srv = {0};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof(sa);
	pthread_t th;
	SSL_CTX *cctx;
	SSL *ssl;
	char *buf;
	int fd, one = 1;

	srv.ctx = SSL_CTX_new(TLS_server_method());
	cctx = SSL_CTX_new(TLS_client_method());
	if (!srv.ctx || !cctx || make_cert(srv.ctx) < 0) {
		fprintf(stderr, "bench_tls_writes: TLS setup failed\n");
		return 1;
	}
	buf = malloc(size);
	if (!buf)
		return 1;
	/* Text-like content: what the agent really scans. */
	for (size_t i = 0; i < size; i++)
		buf[i] = "Compte rendu: patient vu en consultation, examen normal. "[i % 56];
	if (memory)
		return run_memory(srv.ctx, cctx, buf, size, count) < 0 ? 1 : 0;

	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(srv.lfd, 1) < 0 ||
	    getsockname(srv.lfd, (struct sockaddr *)&sa, &slen) < 0) {
		perror("bench_tls_writes: listen");
		return 1;
	}
	pthread_create(&th, NULL, serve, &srv);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("bench_tls_writes: connect");
		return 1;
	}
	ssl = SSL_new(cctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		fprintf(stderr, "bench_tls_writes: handshake failed\n");
		return 1;
	}
	long sw0 = switches();
	double t0 = now_s(), c0 = thread_cpu_s();
	for (long i = 0; i < count; i++) {
		if (SSL_write(ssl, buf, (int)size) != (int)size) {
			fprintf(stderr, "bench_tls_writes: write failed\n");
			return 1;
		}
		if (rate_mbps > 0) {
			/* Pace: sleep until the time this many bytes should take at the given rate. */
			double due = t0 + (double)(i + 1) * (double)size / (rate_mbps * 1e6);
			double now = now_s();
			if (due > now) {
				struct timespec ts = {.tv_sec = (time_t)(due - now),
						      .tv_nsec = (long)((due - now - (double)(time_t)(due - now)) * 1e9)};
				nanosleep(&ts, NULL);
			}
		}
	}
	double t1 = now_s(), cpu = thread_cpu_s() - c0;
	long sw = switches() - sw0;
	/* Close our side cleanly, and let the server read everything before the socket goes: closing
	 * with unread session tickets would reset the connection and lose the tail. */
	SSL_shutdown(ssl);
	shutdown(fd, SHUT_WR);
	pthread_join(th, NULL);
	SSL_free(ssl);
	close(fd);

	double secs = t1 - t0;
	printf("size=%zu count=%ld seconds=%.3f calls_per_s=%.0f MB_per_s=%.1f ns_per_call=%.0f writer_cpu_ns_per_call=%.0f "
	       "switches_per_1000=%.1f received=%llu\n",
	       size, count, secs, (double)count / secs, (double)count * (double)size / secs / 1e6,
	       secs * 1e9 / (double)count, cpu * 1e9 / (double)count, (double)sw * 1000.0 / (double)count, srv.received);
	free(buf);
	SSL_CTX_free(cctx);
	SSL_CTX_free(srv.ctx);
	return srv.received == (unsigned long long)count * size ? 0 : 1;
}

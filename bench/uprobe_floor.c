/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attach an empty uprobe (bpf/bench_floor.bpf.c) to SSL_write in LIBRARY, for every process, at
 * the place the agent would put its own (probe_site.c; REMPART_PROBE_AT_ENTRY=1: the entry), and
 * hold it until SIGTERM or SIGINT: the floor a uprobe puts under any hooked call. For
 * bench_capture.sh only.
 * Usage: uprobe_floor LIBRARY   (as root); prints "attached" once ready.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bench_floor.skel.h"
#include "daemon.h" /* rp_elf_func_bytes, rp_probe_site: the agent's own placement */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "SSL_write");
	struct bench_floor_bpf *skel;
	struct bpf_link *link;
	uint8_t code[64];
	ssize_t n;
	size_t site = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: uprobe_floor LIBRARY\n");
		return 2;
	}
	skel = bench_floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "uprobe_floor: load: %s\n", strerror(errno));
		return 1;
	}
	if (!getenv("REMPART_PROBE_AT_ENTRY") && (n = rp_elf_func_bytes(argv[1], "SSL_write", code, sizeof(code))) > 0)
		site = rp_probe_site(code, (size_t)n);
	link = bpf_program__attach_uprobe_opts(skel->progs.floor_probe, -1, argv[1], site, &opts);
	if (!link) {
		fprintf(stderr, "uprobe_floor: attach to %s:SSL_write: %s\n", argv[1], strerror(errno));
		bench_floor_bpf__destroy(skel);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("attached at SSL_write+%zu\n", site);
	fflush(stdout);
	while (!stop)
		pause();
	bpf_link__destroy(link);
	bench_floor_bpf__destroy(skel);
	return 0;
}

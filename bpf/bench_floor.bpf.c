// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Benchmark only (bench/uprobe_floor.c): an empty uprobe. What a call pays with it attached is
 * the uprobe trap itself, which the platform decides; bench_capture.sh prints it beside what the
 * agent costs, so the agent's own share can be read.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("uprobe")
int floor_probe(void *ctx)
{
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: any bytes through rp_scan_block, and through a stream cut at split points
 * taken from the input itself, with a gap in the middle. Findings must be well formed and the
 * block and stream scans must not crash, read out of bounds or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detectors.h"

static struct rp_engine *engine;
static struct rp_scratch *scratch;

static int check_cb(const struct rp_finding *f, void *userdata)
{
	size_t len = *(const size_t *)userdata;
	if (f->detector >= RP_DET_MAX || !f->id || strnlen(f->masked, RP_MASKED_MAX) >= RP_MASKED_MAX ||
	    f->confidence < 0.0 || f->confidence > 1.0 || f->length == 0 || f->offset + f->length > len)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_stream *st = NULL;
	size_t pos = 0, total = size + 1000; /* the gap below adds 1000 stream bytes */
	unsigned step = size ? data[0] % 64 + 1 : 1;

	if (!engine) {
		struct rp_engine_config cfg;
		rp_engine_config_default(&cfg);
		if (rp_engine_new(&cfg, &engine, NULL, 0) < 0 || rp_scratch_new(engine, &scratch) < 0)
			abort();
	}
	if (rp_scan_block(engine, scratch, data, size, check_cb, &size) < 0)
		abort();
	if (rp_stream_open(engine, &st) < 0)
		abort();
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step;
		if (rp_stream_feed(st, scratch, data + pos, n, check_cb, &total) < 0)
			abort();
		pos += n;
		if (pos >= size / 2 && pos - n < size / 2 && rp_stream_skip(st, scratch, 1000, check_cb, &total) < 0)
			abort();
		step = data[pos % size] % 97 + 1;
	}
	rp_stream_close(st, scratch, check_cb, &total);
	return 0;
}

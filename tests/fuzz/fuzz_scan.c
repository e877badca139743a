/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the detection engine: any bytes, scanned in block mode and in streaming
 * mode cut at points the input chooses. Findings must stay inside the input and be masked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detectors.h"

static struct rp_engine *engine;
static struct rp_scratch *scratch;

struct bounds {
	uint64_t len;
};

static int check_finding(const struct rp_finding *f, void *u)
{
	const struct bounds *b = u;

	if (f->offset > b->len || f->length > b->len - f->offset)
		abort(); /* a finding outside the data */
	if (strnlen(f->masked, sizeof(f->masked)) == sizeof(f->masked))
		abort(); /* masked evidence not terminated */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bounds b = {.len = size};
	struct rp_stream *st = NULL;

	if (!engine) {
		struct rp_engine_config cfg;
		rp_engine_config_default(&cfg);
		if (rp_engine_new(&cfg, &engine, NULL, 0) < 0 || rp_scratch_new(engine, &scratch) < 0)
			abort();
	}
	(void)rp_scan_block(engine, scratch, data, size, check_finding, &b);

	/* Streaming: the first byte picks the cut size, so splits land everywhere. */
	size_t step = size ? (size_t)data[0] % 61 + 1 : 1;
	if (rp_stream_open(engine, &st) < 0)
		abort();
	for (size_t off = 0; off < size; off += step) {
		size_t n = size - off < step ? size - off : step;
		(void)rp_stream_feed(st, scratch, data + off, n, check_finding, &b);
		if (data[off] == 0xff)
			(void)rp_stream_flush(st, scratch, check_finding, &b);
	}
	(void)rp_stream_close(st, scratch, check_finding, &b);
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rempart detection library: finds health data in bytes. Shared by rempartd (streaming mode, one
 * stream per flow) and `rempart scan` (block mode, files). Library code: never logs, returns
 * negative errno values, fills an error message where one helps the user.
 *
 * Findings never carry the matched value: only a masked form. The full value lives in the
 * library's own buffers just long enough for the validator.
 */
#ifndef REMPART_DETECTORS_H
#define REMPART_DETECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Built-in detectors. Values are stable array indexes; custom detectors follow RP_DET__BUILTIN. */
enum rp_detector_builtin {
	RP_DET_FR_NIR = 0,
	RP_DET_FR_NIR_NOKEY,
	RP_DET_FR_RPPS,
	RP_DET_FR_FINESS,
	RP_DET_FR_ADELI,
	RP_DET_FR_VITALE,
	RP_DET_IBAN,
	RP_DET_CREDIT_CARD,
	RP_DET_US_NPI,
	RP_DET_US_SSN,
	RP_DET_US_DEA,
	RP_DET_PHONE_FR,
	RP_DET_EMAIL,
	RP_DET_DATE_OF_BIRTH,
	RP_DET_ICD10,
	RP_DET_ATC,
	RP_DET_HL7V2,
	RP_DET_FHIR,
	RP_DET_CDA,
	RP_DET_DICOM,
	RP_DET__BUILTIN, /* number of built-ins */
};

#define RP_DET_MAX 256          /* built-ins + custom detectors */
#define RP_MASKED_MAX 64        /* masked evidence, NUL included */
#define RP_ID_MAX 64            /* detector id, NUL included */

/* Stable id ("fr_nir") of a built-in, or NULL. */
const char *rp_detector_builtin_id(unsigned idx);
/* Index of a built-in by id, or -ENOENT. */
int rp_detector_builtin_lookup(const char *id);
/* Names of the validators a custom detector may use ("luhn", "nir", "iban", ...); NULL-terminated. */
const char *const *rp_validator_names(void);

/* One custom detector from the policy. */
struct rp_custom_detector {
	char id[RP_ID_MAX];
	const char *regex;          /* Hyperscan syntax; copied at compile time */
	const char *validator;      /* NULL or one of rp_validator_names() */
	const char *const *keywords;/* NULL-terminated, may be NULL */
	double base_confidence;     /* 0..1 */
	bool needs_context;         /* only counts with a keyword in the window */
};

/* Per-detector settings the policy controls. */
struct rp_detector_setting {
	bool enabled;
	double min_confidence;      /* findings below are dropped; 0..1 */
};

struct rp_engine_config {
	struct rp_detector_setting builtin[RP_DET__BUILTIN];
	const struct rp_custom_detector *custom;
	size_t n_custom;
	unsigned context_window;    /* bytes before and after a match searched for keywords; 0 = 300 */
};

/* Defaults: every built-in enabled at its documented minimum confidence, no custom detector. */
void rp_engine_config_default(struct rp_engine_config *cfg);

struct rp_finding {
	unsigned detector;          /* index: < RP_DET__BUILTIN for built-ins */
	const char *id;             /* stable id, owned by the engine */
	uint64_t offset;            /* first byte, in the block or in the whole stream */
	uint64_t length;            /* bytes, separators included */
	double confidence;          /* 0..1 after checksum and context */
	char masked[RP_MASKED_MAX]; /* e.g. "2 95 10 ** *** *** 93" */
};

/* Return non-zero to stop the scan (that value is returned by the scan call). */
typedef int (*rp_finding_cb)(const struct rp_finding *f, void *userdata);

struct rp_engine;   /* compiled databases; immutable and shareable between threads */
struct rp_scratch;  /* per thread */
struct rp_stream;   /* per flow */

/*
 * Compile. On error returns a negative errno and, when err is given, a message naming the
 * detector at fault (e.g. "detectors.custom[2] (my_id): invalid regex: ...").
 */
int rp_engine_new(const struct rp_engine_config *cfg, struct rp_engine **out, char *err, size_t errlen);
void rp_engine_free(struct rp_engine *e);            /* NULL-safe */
unsigned rp_engine_detector_count(const struct rp_engine *e);
const char *rp_engine_detector_id(const struct rp_engine *e, unsigned idx);
/* Index of a built-in or custom detector by id in this engine, or -ENOENT. */
int rp_engine_detector_lookup(const struct rp_engine *e, const char *id);

int rp_scratch_new(const struct rp_engine *e, struct rp_scratch **out);
void rp_scratch_free(struct rp_scratch *s);          /* NULL-safe */

/* One-shot scan of a buffer (offsets relative to buf). */
int rp_scan_block(const struct rp_engine *e, struct rp_scratch *s, const void *buf, size_t len,
		  rp_finding_cb cb, void *userdata);

/*
 * Streaming: a value split across feeds is found; offsets are stream offsets. A finding may be
 * reported after a later feed (context after the match) or at close.
 */
int rp_stream_open(const struct rp_engine *e, struct rp_stream **out);
int rp_stream_feed(struct rp_stream *st, struct rp_scratch *s, const void *buf, size_t len,
		   rp_finding_cb cb, void *userdata);
/* Tell the stream bytes were lost (capture gap): matching restarts after them. */
int rp_stream_skip(struct rp_stream *st, struct rp_scratch *s, uint64_t len, rp_finding_cb cb, void *userdata);
/*
 * The writer paused (the flow is idle, or held for a verdict): decide now what was waiting for
 * more bytes or for trailing context, as if the data ended here, and keep the stream usable:
 * a value continuing in the next feed is still matched whole (and may be reported again with
 * the same offset: callers count a (detector, offset) pair once).
 */
int rp_stream_flush(struct rp_stream *st, struct rp_scratch *s, rp_finding_cb cb, void *userdata);
/* Flush pending findings and free. NULL-safe; cb may be NULL to discard. */
int rp_stream_close(struct rp_stream *st, struct rp_scratch *s, rp_finding_cb cb, void *userdata);

/* Memory figures for benchmarks and `rempart status`. */
size_t rp_engine_stream_state_size(const struct rp_engine *e); /* Hyperscan stream state per flow */
/* Added: the library's own per-flow state beside Hyperscan's while the flow is busy (the context
 * window of history); an idle flow (after rp_stream_flush) keeps much less: rp_stream_memory(). */
size_t rp_engine_stream_side_size(const struct rp_engine *e);
/* Bytes this stream holds now: Hyperscan's state, the history, findings waiting for context. */
size_t rp_stream_memory(const struct rp_stream *st);
size_t rp_scratch_size(const struct rp_scratch *s);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow table: one entry per outbound byte stream (a TLS object in a process, or a TCP socket),
 * holding its detection stream, what was found so far, and the strongest action already taken.
 * Records arrive in order per flow; a hole in the offsets is a loss and is treated like a GAP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "enforce.h" /* enforcement (issue 5) */
#include "decoders.h"

#define N_BUCKETS 16384u

/* A flow through an HTTP proxy, once its CONNECT request is sent (decoders: rp_decoder_tunnel). */
enum tunnel_state {
	TUNNEL_NONE = 0,
	TUNNEL_OPENED, /* CONNECT sent: the next bytes say what the tunnel carries */
	TUNNEL_TLS,    /* a TLS session: ciphertext from here on, nothing to scan */
	TUNNEL_OTHER,  /* anything else: decoded from its first byte (a hooked library's plaintext) */
};

struct rp_flow {
	struct rp_flow *hnext;
	struct rp_flow *prev, *next;  /* LRU list, most recent at head */
	uint64_t obj;
	uint32_t pid;
	uint8_t source;
	struct rp_flow_identity id;   /* identity from the latest record */
	struct rp_policy_ref *pref;   /* policy the stream was opened with */
	struct rp_stream *stream;
	struct rp_decoder *decoder;   /* decoders: HTTP/1.1, HTTP/2, gzip -> text for the stream */
	uint32_t *counts;             /* per engine detector */
	uint64_t next_offset;
	uint64_t last_seen_ns;
	uint64_t gap_bytes;
	enum rp_action reported;      /* strongest action already decided */
	/* An alert waiting (briefly) for the flow's socket to be known, so it can name the
	 * destination: set when a TLS flow is judged before its first socket syscall was seen. */
	bool alert_pending;
	uint64_t alert_pending_since;
	struct rp_finding pending_finding;
	struct rp_verdict pending_verdict;
	const char *pending_enforcement;  /* static text from rp_enforce_verdict */
	struct rp_flow *pending_next;
	/* Bytes fed since the stream was last flushed: decided once the writer pauses. */
	bool dirty;
	struct rp_flow *dirty_next;
	/* Recent findings (detector, offset): a flush may report a value again when it continues. */
	struct {
		unsigned detector;
		uint64_t offset;
	} recent[4];
	unsigned n_recent;
	char exe[512];
	char user[64];
	enum tunnel_state tunnel;
};

struct rp_flow_table {
	struct rp_flow *buckets[N_BUCKETS];
	struct rp_flow *pending_alerts;  /* flows with alert_pending */
	struct rp_flow *dirty;           /* flows with dirty */
	struct rp_flow *lru_head, *lru_tail;
	size_t count, max;
	struct rp_decoder_stats ended; /* what the decoders of ended flows did */
};

static unsigned bucket_of(uint64_t obj, uint32_t pid, uint8_t source)
{
	uint64_t h = obj ^ ((uint64_t)pid << 32) ^ ((uint64_t)source << 56);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (unsigned)(h % N_BUCKETS);
}

int rp_flow_table_new(struct rp_flow_table **out, size_t max_flows)
{
	struct rp_flow_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->max = max_flows ? max_flows : 65536;
	*out = t;
	return 0;
}

size_t rp_flow_table_count(const struct rp_flow_table *t)
{
	return t ? t->count : 0;
}

size_t rp_flow_table_detection_bytes(const struct rp_flow_table *t)
{
	size_t sum = 0;
	for (const struct rp_flow *f = t ? t->lru_head : NULL; f; f = f->next)
		sum += rp_stream_memory(f->stream);
	return sum;
}

static void decoder_stats_add(struct rp_decoder_stats *sum, const struct rp_decoder *d)
{
	struct rp_decoder_stats st;

	if (!d)
		return;
	rp_decoder_get_stats(d, &st);
	sum->bytes_in += st.bytes_in;
	sum->bytes_out += st.bytes_out;
	sum->inflated += st.inflated;
	sum->messages += st.messages;
	sum->fallbacks += st.fallbacks;
	sum->inflate_errors += st.inflate_errors;
	sum->bombs += st.bombs;
	sum->gaps += st.gaps;
	sum->doc_entries += st.doc_entries;
}

void rp_flow_table_decoder_stats(const struct rp_flow_table *t, struct rp_decoder_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!t)
		return;
	*out = t->ended;
	for (const struct rp_flow *f = t->lru_head; f; f = f->next)
		decoder_stats_add(out, f->decoder);
}

static void lru_unlink(struct rp_flow_table *t, struct rp_flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		t->lru_head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		t->lru_tail = f->prev;
	f->prev = f->next = NULL;
}

static void lru_push_head(struct rp_flow_table *t, struct rp_flow *f)
{
	f->next = t->lru_head;
	f->prev = NULL;
	if (t->lru_head)
		t->lru_head->prev = f;
	t->lru_head = f;
	if (!t->lru_tail)
		t->lru_tail = f;
}

struct finding_ctx {
	struct rp_daemon *d;
	struct rp_flow *f;
};

/* Log the alert; an alert (not an audit) also goes to the user's desktop. */
static void publish_alert(struct rp_daemon *d, const struct rp_policy *p, const struct rp_alert *a)
{
	(void)rp_alert_emit(d->alerts, a);
	if (a->action >= RP_ACTION_ALERT)
		(void)rp_notify_publish(d->notify, a, rp_policy_settings(p)->notify_rate_per_minute);
}

static void emit_alert(struct rp_daemon *d, struct rp_flow *f, const struct rp_finding *trigger,
		       const struct rp_verdict *v, const char *enforcement)
{
	const struct rp_policy *p = f->pref->policy;
	struct rp_alert a;

	rp_alert_from_verdict(&a, p, v);
	a.finding = trigger;
	a.counts = f->counts;
	a.id = &f->id;
	a.exe = f->exe;
	a.user = f->user;
	a.host = rp_decoder_host(f->decoder);
	a.tenant = rp_decoder_tenant(f->decoder);
	a.tenant_domain = rp_decoder_tenant_domain(f->decoder);
	a.flow_had_gap = f->gap_bytes > 0;
	if (enforcement)
		a.enforcement = enforcement;
	publish_alert(d, p, &a);
}

static void pending_unlink(struct rp_flow_table *t, struct rp_flow *f)
{
	for (struct rp_flow **pp = &t->pending_alerts; *pp; pp = &(*pp)->pending_next) {
		if (*pp == f) {
			*pp = f->pending_next;
			break;
		}
	}
	f->pending_next = NULL;
	f->alert_pending = false;
}

static void flush_pending_alert(struct rp_daemon *d, struct rp_flow *f)
{
	if (!f->alert_pending)
		return;
	pending_unlink(d->flows, f);
	emit_alert(d, f, &f->pending_finding, &f->pending_verdict, f->pending_enforcement);
}

static void judge(struct rp_daemon *d, struct rp_flow *f, const struct rp_finding *trigger)
{
	const struct rp_policy *p = f->pref->policy;
	const struct rp_engine *e = rp_policy_engine(p);
	struct rp_flow_context ctx = {
		.pid = f->id.pid,
		.uid = f->id.uid,
		.comm = f->id.comm,
		.exe = f->exe[0] ? f->exe : NULL,
		.user = f->user,
		.family = f->id.family,
		.raddr = f->id.family ? f->id.raddr : NULL,
		.rport = f->id.rport,
		.host = rp_decoder_host(f->decoder), /* destinations are named by host */
		.tenant = rp_decoder_tenant(f->decoder),
		.tenant_domain = rp_decoder_tenant_domain(f->decoder),
	};
	struct rp_verdict v;
	const char *enforcement;
	bool suppress = false;

	rp_policy_evaluate(p, &ctx, f->counts, rp_engine_detector_count(e), &v);
	if (v.action <= f->reported)
		return;
	f->reported = v.action;
	/* ---- enforcement (issue 5): carry out the verdict before reporting it */
	enforcement = rp_enforce_verdict(d, &f->id, v.action, &suppress);
	if (suppress)
		return;
	/* ---- end enforcement */

	if (f->alert_pending) {
		/* A stronger verdict replaces the one still waiting. */
		f->pending_finding = *trigger;
		f->pending_verdict = v;
		f->pending_enforcement = enforcement;
		return;
	}
	if (f->id.family == 0 && f->source != RP_SRC_TCP) {
		f->alert_pending = true;
		f->alert_pending_since = rp_monotonic_ns();
		f->pending_finding = *trigger;
		f->pending_verdict = v;
		f->pending_enforcement = enforcement;
		f->pending_next = d->flows->pending_alerts;
		d->flows->pending_alerts = f;
		return;
	}
	emit_alert(d, f, trigger, &v, enforcement);
}

void rp_flows_flush_alerts(struct rp_daemon *d, uint64_t now, uint64_t max_wait_ns)
{
	struct rp_flow *f = d->flows->pending_alerts, *next;

	for (; f; f = next) {
		next = f->pending_next;
		if (now - f->alert_pending_since >= max_wait_ns)
			flush_pending_alert(d, f);
	}
}

static int on_finding(const struct rp_finding *fi, void *u)
{
	struct finding_ctx *fc = u;
	struct rp_flow *f = fc->f;
	const struct rp_engine *e = rp_policy_engine(f->pref->policy);

	for (unsigned i = 0; i < f->n_recent && i < 4; i++)
		if (f->recent[i].detector == fi->detector && f->recent[i].offset == fi->offset)
			return 0;
	f->recent[f->n_recent % 4].detector = fi->detector;
	f->recent[f->n_recent % 4].offset = fi->offset;
	f->n_recent++;
	fc->d->findings++;
	if (fi->detector < rp_engine_detector_count(e) && f->counts[fi->detector] < UINT32_MAX)
		f->counts[fi->detector]++;
	judge(fc->d, f, fi);
	return 0;
}

static void dirty_unlink(struct rp_flow_table *t, struct rp_flow *f)
{
	for (struct rp_flow **pp = &t->dirty; *pp; pp = &(*pp)->dirty_next) {
		if (*pp == f) {
			*pp = f->dirty_next;
			break;
		}
	}
	f->dirty_next = NULL;
	f->dirty = false;
}

static void flow_destroy(struct rp_flow_table *t, struct rp_daemon *d, struct rp_flow *f)
{
	struct finding_ctx fc = {.d = d, .f = f};
	struct rp_flow **pp = &t->buckets[bucket_of(f->obj, f->pid, f->source)];


	/* Closing flushes findings still waiting for trailing context: they may raise an alert. */
	if (f->stream)
		(void)rp_stream_close(f->stream, f->pref->scratch, d ? on_finding : NULL, &fc);
	if (d)
		flush_pending_alert(d, f);
	else if (f->alert_pending)
		pending_unlink(t, f);
	if (f->dirty)
		dirty_unlink(t, f);
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(t, f);
	t->count--;
	rp_policy_ref_put(f->pref);
	decoder_stats_add(&t->ended, f->decoder);
	rp_decoder_free(f->decoder);
	free(f->counts);
	free(f);
}

/* A TCP socket may be shared by processes: its flow is the socket's, whoever writes. */
static uint32_t flow_pid(const struct rp_flow_identity *id)
{
	return id->source == RP_SRC_TCP ? 0 : id->pid;
}

static struct rp_flow *flow_find(struct rp_flow_table *t, uint64_t obj, uint32_t pid, uint8_t source)
{
	for (struct rp_flow *f = t->buckets[bucket_of(obj, pid, source)]; f; f = f->hnext)
		if (f->obj == obj && f->pid == pid && f->source == source)
			return f;
	return NULL;
}

/* The writer's executable: from /proc while it runs, else from its exec as the agent saw it (a
 * short-lived program may be gone before its first record is read). */
static void exe_of(struct rp_daemon *d, pid_t pid, char *buf, size_t len)
{
	if (rp_proc_exe(pid, buf, len) < 0 && d->capture)
		(void)rp_capture_exec_path(d->capture, pid, buf, len);
}

static struct rp_flow *flow_create(struct rp_flow_table *t, struct rp_daemon *d, const struct rp_flow_identity *id)
{
	const struct rp_engine *e = rp_policy_engine(d->policy->policy);
	struct rp_flow *f;
	unsigned b;

	while (t->count >= t->max && t->lru_tail)
		flow_destroy(t, d, t->lru_tail);

	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->counts = calloc(rp_engine_detector_count(e) + 1, sizeof(*f->counts));
	if (!f->counts || rp_decoder_new(&f->decoder) < 0 || rp_stream_open(e, &f->stream) < 0) {
		rp_decoder_free(f->decoder);
		free(f->counts);
		free(f);
		return NULL;
	}
	f->obj = id->flow_key;
	f->pid = flow_pid(id);
	f->source = id->source;
	f->pref = rp_policy_ref_get(d->policy);
	exe_of(d, (pid_t)id->pid, f->exe, sizeof(f->exe));
	(void)rp_user_name((uid_t)id->uid, f->user, sizeof(f->user));
	b = bucket_of(f->obj, f->pid, f->source);
	f->hnext = t->buckets[b];
	t->buckets[b] = f;
	lru_push_head(t, f);
	t->count++;
	return f;
}

static struct rp_flow *flow_get(struct rp_flow_table *t, struct rp_daemon *d, const struct rp_flow_identity *id)
{
	struct rp_flow *f = flow_find(t, id->flow_key, flow_pid(id), id->source);

	if (!f)
		f = flow_create(t, d, id);
	if (f) {
		f->id = *id;
		f->last_seen_ns = rp_monotonic_ns();
		lru_unlink(t, f);
		lru_push_head(t, f);
	}
	return f;
}

/* Why bytes were not seen, for the alert: what the kernel said, when it said something. */
static const char *gap_reason_text(uint32_t reason)
{
	switch (reason) {
	case RP_GAP_BUDGET:
		return ", over the write budget";
	case RP_GAP_RINGBUF:
		return ", ring buffer full";
	case RP_GAP_FAULT:
		return ", memory unreadable";
	case RP_GAP_NO_USER_COPY:
		return ", sendfile/splice";
	case RP_GAP_IO_URING:
		return ", io_uring";
	default:
		return "";
	}
}

/*
 * Bytes of this flow were not inspected: the policy says what that deserves (settings
 * capture_gap_action), once per flow, as an alert whose detector is "capture_gap".
 */
static void judge_gap(struct rp_daemon *d, struct rp_flow *f, uint64_t lost, uint32_t reason)
{
	const struct rp_policy *p = f->pref->policy;
	enum rp_action a = rp_policy_settings(p)->capture_gap_action;
	struct rp_finding gap = {
		.detector = UINT32_MAX,
		.id = "capture_gap",
		.offset = f->next_offset,
		.length = lost,
		.confidence = 1.0,
	};
	struct rp_verdict v = {.action = a, .rule_id = "settings.capture_gap_action"};
	bool suppress = false;

	if (a == RP_ACTION_NONE)
		return;
	/* Its own alert, whatever the content verdict so far: not seeing is a different finding. */
	if (a > f->reported)
		f->reported = a;
	snprintf(gap.masked, sizeof(gap.masked), "%llu bytes not inspected%s", (unsigned long long)lost,
		 gap_reason_text(reason));
	emit_alert(d, f, &gap, &v, rp_enforce_verdict(d, &f->id, a, &suppress));
}

/* Bytes between what the flow has seen and where this record starts were lost (reason: a GAP
 * record's, 0 when records went missing). */
static void account_hole(struct rp_daemon *d, struct rp_flow *f, uint64_t offset, uint32_t reason)
{
	struct finding_ctx fc = {.d = d, .f = f};

	if (offset > f->next_offset) {
		uint64_t lost = offset - f->next_offset;
		bool first = f->gap_bytes == 0;
		f->gap_bytes += lost;
		if (first)
			judge_gap(d, f, lost, reason);
		rp_decoder_gap(f->decoder, lost);
		(void)rp_stream_skip(f->stream, f->pref->scratch, lost, on_finding, &fc);
		f->next_offset = offset;
	}
}

/* decoders: what the flow's decoder makes of its bytes is what the detection stream scans. */
static int on_decoded(const void *buf, size_t len, void *u)
{
	struct finding_ctx *fc = u;

	return rp_stream_feed(fc->f->stream, fc->f->pref->scratch, buf, len, on_finding, fc);
}

static enum tunnel_state tunnel_begins(struct rp_daemon *d, struct rp_flow *f, const struct rp_data_record *r,
				       const uint8_t *p, size_t n);

static int on_data(struct rp_daemon *d, const struct rp_data_record *r, size_t size)
{
	struct rp_flow *f;
	struct finding_ctx fc = {.d = d};
	uint64_t skip = 0;
	int ret;

	if (size < sizeof(*r) || r->len > size - sizeof(*r))
		return -EBADMSG;
	rp_enforce_on_data(d, r); /* enforcement (issue 5): hold mode keeps the held write */
	f = flow_get(d->flows, d, &r->id);
	if (!f)
		return -ENOMEM;
	fc.f = f;
	account_hole(d, f, r->flow_offset, 0);
	/* Overlap with bytes already scanned (should not happen): scan only the new part. */
	if (r->flow_offset < f->next_offset)
		skip = f->next_offset - r->flow_offset;
	if (skip >= r->len)
		return 0;
	f->next_offset = r->flow_offset + r->len;
	if (f->tunnel == TUNNEL_OPENED)
		f->tunnel = tunnel_begins(d, f, r, r->data + skip, r->len - skip);
	if (f->tunnel == TUNNEL_TLS)
		return 0; /* ciphertext: nothing to read in it */
	if (!f->dirty) {
		f->dirty = true;
		f->dirty_next = d->flows->dirty;
		d->flows->dirty = f;
	}
	ret = rp_decoder_feed(f->decoder, r->data + skip, r->len - skip, on_decoded, &fc);
	if (f->tunnel == TUNNEL_NONE && rp_decoder_tunnel(f->decoder))
		f->tunnel = TUNNEL_OPENED;
	return ret;
}

/* The writer paused: decide what the flow's detection stream was waiting for. */
static void flow_pause(struct rp_daemon *d, struct rp_flow *f)
{
	struct finding_ctx fc = {.d = d, .f = f};
	(void)rp_stream_flush(f->stream, f->pref->scratch, on_finding, &fc);
}

bool rp_flows_flush_idle(struct rp_daemon *d, uint64_t now, uint64_t idle_ns)
{
	struct rp_flow_table *t = d->flows;
	struct rp_flow **pp = &t->dirty;

	while (*pp) {
		struct rp_flow *f = *pp;
		if (f->last_seen_ns >= now || now - f->last_seen_ns < idle_ns) {
			pp = &f->dirty_next;
			continue;
		}
		*pp = f->dirty_next;
		f->dirty_next = NULL;
		f->dirty = false;
		flow_pause(d, f);
	}
	return t->dirty != NULL;
}

static int on_gap(struct rp_daemon *d, const struct rp_gap_record *g, size_t size)
{
	struct rp_flow *f;

	if (size < sizeof(*g))
		return -EBADMSG;
	f = flow_get(d->flows, d, &g->id);
	if (!f)
		return -ENOMEM;
	account_hole(d, f, g->flow_offset + g->len, g->reason);
	return 0;
}

static int on_flow_end(struct rp_daemon *d, const struct rp_flow_end_record *e, size_t size)
{
	struct rp_flow *f;

	if (size < sizeof(*e))
		return -EBADMSG;
	f = flow_find(d->flows, e->id.flow_key, flow_pid(&e->id), e->id.source);
	if (f)
		flow_destroy(d->flows, d, f);
	rp_enforce_on_flow_end(d, &e->id); /* enforcement (issue 5) */
	return 0;
}

static int on_flow_link(struct rp_daemon *d, const struct rp_flow_link_record *l, size_t size)
{
	struct rp_flow *f;

	if (size < sizeof(*l))
		return -EBADMSG;
	f = flow_find(d->flows, l->id.flow_key, flow_pid(&l->id), l->id.source);
	if (!f)
		return 0;
	f->id = l->id;
	flush_pending_alert(d, f);
	return 0;
}

static int on_exec(struct rp_daemon *d, const struct rp_exec_record *x, size_t size)
{
	if (size < sizeof(*x))
		return -EBADMSG;
	if (d->capture) {
		char name[RP_EXEC_PATH_MAX];
		/* Bounded here whatever the record says. */
		memcpy(name, x->filename, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		rp_capture_on_exec(d->capture, (pid_t)x->pid, name);
	}
	return 0;
}

static int on_libs_changed(struct rp_daemon *d, const struct rp_libs_changed_record *x, size_t size)
{
	if (size < sizeof(*x))
		return -EBADMSG;
	if (d->capture)
		rp_capture_on_libs_changed(d->capture, (pid_t)x->pid);
	return 0;
}

/*
 * A client whose TLS we do not hook (Chromium's BoringSSL, Java, rustls) is opening a session with
 * host (NULL when not named): what it sends will not be read, so the only judgement possible is on
 * who talks to whom. Rules with "uninspected_tls" decide, by name, destination and process;
 * nothing is kept of the flow (nothing more will come from it that could be read).
 */
static void judge_unreadable(struct rp_daemon *d, const struct rp_flow_identity *id, const char *host,
			     const char *how_seen)
{
	const struct rp_policy *p = d->policy->policy;
	char exe[512] = "", user[64] = "";
	struct rp_finding fi = {.detector = UINT32_MAX, .id = "uninspected_tls", .confidence = 1.0};
	struct rp_flow_context ctx;
	struct rp_verdict v;
	struct rp_alert a;
	bool suppress = false;
	const char *how;

	d->uninspected_tls++;
	exe_of(d, (pid_t)id->pid, exe, sizeof(exe));
	(void)rp_user_name((uid_t)id->uid, user, sizeof(user));
	ctx = (struct rp_flow_context){
		.pid = id->pid,
		.uid = id->uid,
		.comm = id->comm,
		.exe = exe[0] ? exe : NULL,
		.user = user[0] ? user : NULL,
		.family = id->family,
		.raddr = id->family ? id->raddr : NULL,
		.rport = id->rport,
		.host = host,
		.uninspected_tls = true,
	};
	rp_policy_evaluate(p, &ctx, NULL, 0, &v);
	if (v.action == RP_ACTION_NONE)
		return;
	how = rp_enforce_verdict(d, id, v.action, &suppress);
	if (suppress)
		return;
	/* Not a finding in the content: the alert says what could not be read, and where it went. */
	snprintf(fi.masked, sizeof(fi.masked), "TLS not readable, to %.42s%s", host ? host : "a server by address",
		 how_seen);
	rp_alert_from_verdict(&a, p, &v);
	a.finding = &fi;
	a.id = id;
	a.exe = exe[0] ? exe : NULL;
	a.user = user[0] ? user : NULL;
	a.host = host;
	a.enforcement = how;
	publish_alert(d, p, &a);
}

static int on_tls_hello(struct rp_daemon *d, const struct rp_tls_hello_record *h, size_t size)
{
	char host[256];

	if (size < sizeof(*h) || h->len > sizeof(h->data))
		return -EBADMSG;
	/* A program whose TLS we hook, hooked only after this hello: its first run, which started
	 * while the agent was hooking its executable at its exec. Its library wrote the hello, and
	 * what it sends from now on is read. */
	if (rp_capture_hooked_since(d->capture, (pid_t)h->id.pid, h->hdr.ktime_ns))
		return 0;
	if (rp_tls_hello_server_name(h->data, h->len, host, sizeof(host)) < 0)
		host[0] = '\0';
	judge_unreadable(d, &h->id, host[0] ? host : NULL, "");
	return 0;
}

/*
 * The first bytes through a proxy's tunnel (after the CONNECT). A TLS ClientHello there is a
 * session like any other: the socket is TLS from now on (the kernel stops copying its writes),
 * and when no hooked library wrote the hello (Chrome, Edge behind the hospital's proxy) it is
 * judged like an unreadable session, by the CONNECT's host: the destination the proxy reaches,
 * which the server name inside may hide (ECH) and which is the only name a bare address lacks.
 */
static enum tunnel_state tunnel_begins(struct rp_daemon *d, struct rp_flow *f, const struct rp_data_record *r,
				       const uint8_t *p, size_t n)
{
	char host[256], sni[256];
	struct in6_addr any;

	/* A TLS handshake record (22, version 3.x) whose first message is a ClientHello (1). */
	if (n < 6 || p[0] != 22 || p[1] != 3 || p[5] != 1)
		return TUNNEL_OTHER;
	if (f->source == RP_SRC_TCP)
		(void)rp_capture_socket_carries_tls(d->capture, f->obj);
	/* A hooked library's own hello (its plaintext is read at its writes), or a tunnel inside a
	 * session already read (an HTTPS proxy: the inner session's writes are hooked too). */
	if (f->source != RP_SRC_TCP || (r->hdr.flags & RP_DATA_F_HOOKED_TLS_THREAD) ||
	    rp_capture_hooked_since(d->capture, (pid_t)r->id.pid, r->hdr.ktime_ns))
		return TUNNEL_TLS;
	if (rp_decoder_tunnel_host(f->decoder, host, sizeof(host)) < 0)
		host[0] = '\0';
	/* CONNECT by address: the server name, if the hello gives one, is all there is. */
	if ((!host[0] || inet_pton(AF_INET, host, &any) == 1 || inet_pton(AF_INET6, host, &any) == 1) &&
	    rp_tls_hello_server_name(p, n, sni, sizeof(sni)) == 0 && sni[0])
		snprintf(host, sizeof(host), "%s", sni);
	d->uninspected_tls_tunnels++;
	judge_unreadable(d, &r->id, host[0] ? host : NULL, " (proxy tunnel)");
	return TUNNEL_TLS;
}

/*
 * A write is held at TLS entry (its HOLD record follows its data): the writer sends nothing more
 * until judged, so what the flow's detection stream waits for (the context after a value, the
 * end of a digit run) will not come. Decide it now, on what the decoder made of the bytes (a gzip
 * body, HTTP/2 frames): a match blocks the held flow before the HOLD record is judged.
 */
static void settle_held_flow(struct rp_daemon *d, const struct rp_hold_record *h, size_t size)
{
	struct rp_flow *f;

	if (size < sizeof(*h))
		return;
	f = flow_find(d->flows, h->id.flow_key, flow_pid(&h->id), h->id.source);
	if (f)
		flow_pause(d, f);
}

int rp_flows_on_record(struct rp_daemon *d, const void *rec, size_t size)
{
	const struct rp_record_header *h = rec;
	int r;

	d->records_seen++;
	if (size < sizeof(*h) || h->size > size) {
		d->records_malformed++;
		return -EBADMSG;
	}
	switch (h->type) {
	case RP_REC_DATA:
		r = on_data(d, rec, h->size);
		break;
	case RP_REC_GAP:
		r = on_gap(d, rec, h->size);
		break;
	case RP_REC_FLOW_END:
		r = on_flow_end(d, rec, h->size);
		break;
	case RP_REC_FLOW_LINK:
		r = on_flow_link(d, rec, h->size);
		break;
	case RP_REC_EXEC:
		r = on_exec(d, rec, h->size);
		break;
	case RP_REC_TLS_HELLO:
		r = on_tls_hello(d, rec, h->size);
		break;
	case RP_REC_LIBS_CHANGED:
		r = on_libs_changed(d, rec, h->size);
		break;
	case RP_REC_HOLD: /* enforcement (issue 5) */
		settle_held_flow(d, rec, h->size);
		r = rp_enforce_on_hold_record(d, rec, h->size);
		break;
	default:
		r = -EBADMSG;
	}
	if (r == -EBADMSG)
		d->records_malformed++;
	return r;
}

void rp_flow_table_expire(struct rp_flow_table *t, struct rp_daemon *d, uint64_t now, uint64_t idle_ns)
{
	/* The tail is the least recently seen: stop at the first flow still active. */
	while (t->lru_tail && now > t->lru_tail->last_seen_ns && now - t->lru_tail->last_seen_ns > idle_ns)
		flow_destroy(t, d, t->lru_tail);
}

void rp_flow_table_free(struct rp_flow_table *t, struct rp_daemon *d)
{
	if (!t)
		return;
	while (t->lru_tail)
		flow_destroy(t, d, t->lru_tail);
	free(t);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel side of the data path: load capture.bpf.c, attach its uprobes to every TLS library found,
 * and hand each ring-buffer record to the flow table.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.skel.h"
#include "daemon.h"
#include "enforce.h" /* enforcement (issue 5) */

struct probe {
	struct bpf_link *link;
	char target[4096];
	const char *func;
	size_t object; /* index in objects, NO_OBJECT for tracepoints */
};
#define NO_OBJECT SIZE_MAX

struct attached_object {
	dev_t dev;
	ino_t ino;
	struct timespec ctime; /* with (dev, ino): a deleted file's inode number comes back for another */
	uint64_t hooked_ns;    /* CLOCK_MONOTONIC when its probes went in; 0: not hooked */
	char *path;            /* hooked: where it was found, to notice it replaced */
	bool released;         /* hooked once; replaced and no longer run, its probes detached */
};

/* Probes hold their file: a hooked program or library replaced by an upgrade would stay on disk
 * until the agent exits. Every so often, the hooked files no longer at their path and no longer
 * mapped by any process have their probes detached. */
#define RELEASE_CHECK_NS (60ull * 1000000000ull)
#define RELEASE_BATCH 64

#define RP_DEFERRED_SCANS 256
/* A new program maps its libraries just after exec, and may dlopen a TLS library later (Python
 * imports ssl on first use): look again at these delays. One FIFO per stage keeps each sorted. */
static const uint64_t rescan_delay_ns[] = {250000000ull, 1500000000ull, 6000000000ull};
#define RP_RESCAN_STAGES (sizeof(rescan_delay_ns) / sizeof(rescan_delay_ns[0]))

struct deferred_scan {
	pid_t pid;
	uint64_t due_ns;
};

struct deferred_queue {
	struct deferred_scan q[RP_DEFERRED_SCANS];
	uint64_t head, tail;
};

struct rp_capture {
	struct capture_bpf *skel;
	struct ring_buffer *rb;
	rp_record_fn fn;
	struct rp_daemon *d;
	struct probe *probes;
	size_t n_probes, cap_probes;
	struct attached_object *objects;
	size_t n_objects, cap_objects;
	uint32_t *object_slots; /* index + 1 into objects, 0: free (object_find) */
	size_t object_mask;
	uint64_t release_every_ns, next_release_ns;
	unsigned n_released; /* objects whose probes were detached (release_replaced) */
	unsigned n_hooked;      /* objects with at least one probe */
	struct rp_program_scan *programs; /* installed programs not examined yet; NULL when done */
	unsigned programs_examined;
	struct deferred_queue deferred[RP_RESCAN_STAGES];
	/* Recent execs, and when the TLS code each runs was hooked: a short-lived program may be
	 * gone before its first records are judged, and /proc can no longer say. */
	struct {
		pid_t pid;
		uint64_t hooked_ns;
		char exe[RP_EXEC_PATH_MAX]; /* "" when not known */
	} execs[RP_DEFERRED_SCANS];
	unsigned n_execs;
	int ncpus;
	/* The ring's consumer and producer positions (its first two pages, mapped read-only): libbpf
	 * 1.1 has no call that says whether records are waiting. */
	const unsigned long *ring_pos;
	size_t ring_pos_len;
	uint64_t poll_span_ns;  /* last rp_capture_poll_within(): drains come at least this often */
	unsigned since_refresh; /* records consumed since the due time was last pushed back */
};

static void set_drain_due(struct rp_capture *c, uint64_t due_ns)
{
	if (c->skel->bss)
		__atomic_store_n(&c->skel->bss->drain_due_ns, due_ns, __ATOMIC_SEQ_CST);
}

static int on_ringbuf_record(void *ctx, void *data, size_t size)
{
	struct rp_capture *c = ctx;

	/* Draining a backlog may take longer than the announced due time: writers need not wake an
	 * agent that is busy reading their records. */
	if (++c->since_refresh >= 64) {
		c->since_refresh = 0;
		if (c->poll_span_ns)
			set_drain_due(c, rp_monotonic_ns() + c->poll_span_ns);
	}
	/* A record handler error must not stop the drain: the flow layer counts its own failures. */
	(void)c->fn(c->d, data, size);
	return 0;
}

static int set_runtime_config(struct rp_capture *c, uint64_t budget, bool enabled)
{
	struct rp_runtime_config cfg = {.write_budget = budget, .enabled = enabled};
	__u32 zero = 0;

	if (bpf_map__update_elem(c->skel->maps.runtime_config, &zero, sizeof(zero), &cfg, sizeof(cfg), BPF_ANY) < 0)
		return -errno;
	return 0;
}

int rp_capture_open(struct rp_capture **out, uint64_t write_budget, size_t ringbuf_bytes,
		    rp_record_fn fn, struct rp_daemon *d, char *err, size_t errlen)
{
	struct rp_capture *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->d = d;
	c->release_every_ns = RELEASE_CHECK_NS;
	{
		/* Tests shorten the interval; anything unparsable keeps the default. */
		const char *ms = getenv("REMPART_RELEASE_CHECK_MS");
		char *end;
		unsigned long v = ms ? strtoul(ms, &end, 10) : 0;
		if (ms && *ms && !*end && v > 0 && v <= 3600000)
			c->release_every_ns = (uint64_t)v * 1000000ull;
	}
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0) {
		r = c->ncpus < 0 ? c->ncpus : -EINVAL;
		snprintf(err, errlen, "cannot count possible CPUs: %s", strerror(-r));
		goto fail;
	}

	/* The chunk loop needs bpf_loop: say so plainly rather than fail in the verifier. */
	r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_loop, NULL);
	if (r == 0) {
		r = -EOPNOTSUPP;
		snprintf(err, errlen,
			 "this kernel has no bpf_loop BPF helper: rempartd needs Linux 5.17 or later, or a "
			 "distribution kernel that backports it (Ubuntu 22.04: the HWE kernel)");
		goto fail;
	}
	c->skel = capture_bpf__open();
	if (!c->skel) {
		r = -errno;
		snprintf(err, errlen, "cannot open BPF capture object: %s", strerror(-r));
		goto fail;
	}
	c->skel->rodata->self_tgid = (__u32)getpid();
	r = bpf_map__set_max_entries(c->skel->maps.events, (__u32)ringbuf_bytes);
	if (r < 0) {
		snprintf(err, errlen, "invalid ring buffer size %zu: %s", ringbuf_bytes, strerror(-r));
		goto fail;
	}
	/* ---- enforcement (issue 5): the TLS hooks use the enforcement maps */
	if (d && d->enforce) {
		r = rp_enforce_share_maps(d->enforce, c->skel->obj);
		if (r < 0) {
			snprintf(err, errlen, "cannot share enforcement maps with capture: %s", strerror(-r));
			goto fail;
		}
	}
	/* ---- end enforcement */
	r = capture_bpf__load(c->skel);
	if (r < 0) {
		snprintf(err, errlen,
			 "cannot load BPF capture programs: %s (rempartd needs root or CAP_BPF+CAP_PERFMON, "
			 "and a kernel with BTF)",
			 strerror(-r));
		goto fail;
	}
	r = set_runtime_config(c, write_budget, true);
	if (r < 0) {
		snprintf(err, errlen, "cannot set capture settings: %s", strerror(-r));
		goto fail;
	}
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), on_ringbuf_record, c, NULL);
	if (!c->rb) {
		r = -errno;
		snprintf(err, errlen, "cannot open ring buffer: %s", strerror(-r));
		goto fail;
	}
	c->ring_pos_len = 2 * (size_t)sysconf(_SC_PAGESIZE);
	c->ring_pos = mmap(NULL, c->ring_pos_len, PROT_READ, MAP_SHARED, bpf_map__fd(c->skel->maps.events), 0);
	if (c->ring_pos == MAP_FAILED) {
		c->ring_pos = NULL;
		r = -errno;
		snprintf(err, errlen, "cannot map ring buffer positions: %s", strerror(-r));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	rp_capture_free(c);
	return r;
}

void rp_capture_free(struct rp_capture *c)
{
	if (!c)
		return;
	if (c->skel)
		(void)set_runtime_config(c, 0, false);
	for (size_t i = 0; i < c->n_probes; i++)
		bpf_link__destroy(c->probes[i].link);
	free(c->probes);
	for (size_t i = 0; i < c->n_objects; i++)
		free(c->objects[i].path);
	free(c->objects);
	free(c->object_slots);
	rp_program_scan_free(c->programs);
	ring_buffer__free(c->rb);
	if (c->ring_pos)
		munmap((void *)c->ring_pos, c->ring_pos_len);
	capture_bpf__destroy(c->skel);
	free(c);
}

static int push_probe(struct rp_capture *c, struct bpf_link *link, const char *target, const char *func, size_t object)
{
	if (c->n_probes == c->cap_probes) {
		size_t cap = c->cap_probes ? c->cap_probes * 2 : 32;
		struct probe *np = realloc(c->probes, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		c->probes = np;
		c->cap_probes = cap;
	}
	c->probes[c->n_probes].link = link;
	snprintf(c->probes[c->n_probes].target, sizeof(c->probes[0].target), "%s", target);
	c->probes[c->n_probes].func = func;
	c->probes[c->n_probes].object = object;
	c->n_probes++;
	return 0;
}

/* A uprobe link just made (NULL: errno says why) joins the probes, or is destroyed. */
static int keep_probe(struct rp_capture *c, struct bpf_link *link, const char *path, const char *func, size_t object)
{
	int r;

	if (!link)
		return -errno;
	r = push_probe(c, link, path, func, object);
	if (r < 0)
		bpf_link__destroy(link);
	return r;
}

static bool is_go_func(const char *func)
{
	return strncmp(func, "crypto/tls.", 11) == 0;
}

/* Offset past the function's entry where the probe costs least (probe_site.c); 0 when unsure.
 * REMPART_PROBE_AT_ENTRY=1 turns the optimisation off. */
static size_t cheapest_site(const char *path, const char *func)
{
	uint8_t code[64];
	ssize_t n;

	if (getenv("REMPART_PROBE_AT_ENTRY"))
		return 0;
	n = rp_elf_func_bytes(path, func, code, sizeof(code));
	return n > 0 ? rp_probe_site(code, (size_t)n) : 0;
}

static int add_probe(struct rp_capture *c, struct bpf_program *prog, const char *path, const char *func, size_t object)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = func, .retprobe = false);
	struct bpf_link *link;

	/* pid -1: every process that maps this file, now and later. */
	if (is_go_func(func)) {
		/* A Go program's functions may be named only in its own table (stripped of ELF symbols),
		 * which libbpf does not read: the probe goes by file offset. */
		LIBBPF_OPTS(bpf_uprobe_opts, by_offset, .retprobe = false);
		uint8_t code[64];
		uint64_t off;
		size_t site;
		ssize_t n = rp_elf_func_code(path, func, &off, code, sizeof(code));

		if (n <= 0)
			return n < 0 ? (int)n : -ENOENT;
		/* Past the stack check, which may restart the function; and only where the code there
		 * is a Go prologue: a table that lied would have us put a breakpoint in the middle of
		 * some other instruction. */
		site = rp_go_probe_site(code, (size_t)n);
		if (site == 0)
			return -ENOEXEC;
		link = bpf_program__attach_uprobe_opts(prog, -1, path, off + site, &by_offset);
	} else {
		link = bpf_program__attach_uprobe_opts(prog, -1, path, cheapest_site(path, func), &opts);
	}
	return keep_probe(c, link, path, func, object);
}

/* The loader's probe: at _dl_debug_state's entry (a lone ret), with the distance to _r_debug as
 * the program's cookie when the loader exports it (bpf/capture.bpf.c: loader_change). */
static int add_loader_probe(struct rp_capture *c, const char *path, size_t object)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "_dl_debug_state", .retprobe = false);
	int64_t to_r_debug = 0;

	if (rp_elf_distance(path, "_dl_debug_state", "_r_debug", &to_r_debug) == 0)
		opts.bpf_cookie = (uint64_t)to_r_debug;
	return keep_probe(c, bpf_program__attach_uprobe_opts(c->skel->progs.loader_change, -1, path, 0, &opts), path,
			  "_dl_debug_state", object);
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Objects are found by (device, inode) in an open-addressing table of indexes into c->objects:
 * every exec asks for each file its process maps, and the installed programs make thousands. */
static size_t object_slot_of(dev_t dev, ino_t ino, size_t mask)
{
	uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 32 | (uint64_t)dev >> 32)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & mask;
}

static struct attached_object *object_find(const struct rp_capture *c, dev_t dev, ino_t ino)
{
	if (!c->object_slots)
		return NULL;
	for (size_t i = object_slot_of(dev, ino, c->object_mask);; i = (i + 1) & c->object_mask) {
		uint32_t v = c->object_slots[i];
		if (v == 0)
			return NULL;
		if (c->objects[v - 1].dev == dev && c->objects[v - 1].ino == ino)
			return &c->objects[v - 1];
	}
}

static void object_slot_put(uint32_t *slots, size_t mask, const struct attached_object *o, uint32_t v)
{
	size_t i = object_slot_of(o->dev, o->ino, mask);

	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = v;
}

/* Remember one more object (a new index in c->objects); the table stays at most half full. */
static struct attached_object *object_add(struct rp_capture *c, dev_t dev, ino_t ino)
{
	if (c->n_objects == c->cap_objects) {
		size_t cap = c->cap_objects ? c->cap_objects * 2 : 64;
		struct attached_object *no;

		if (cap > UINT32_MAX / 2)
			return NULL;
		no = realloc(c->objects, cap * sizeof(*no));
		if (!no)
			return NULL;
		c->objects = no;
		c->cap_objects = cap;
	}
	if (!c->object_slots || (c->n_objects + 1) * 2 > c->object_mask + 1) {
		size_t size = c->object_mask ? (c->object_mask + 1) * 2 : 128;
		uint32_t *slots = calloc(size, sizeof(*slots));

		if (!slots)
			return NULL;
		for (size_t k = 0; k < c->n_objects; k++)
			object_slot_put(slots, size - 1, &c->objects[k], (uint32_t)k + 1);
		free(c->object_slots);
		c->object_slots = slots;
		c->object_mask = size - 1;
	}
	c->objects[c->n_objects] = (struct attached_object){.dev = dev, .ino = ino};
	object_slot_put(c->object_slots, c->object_mask, &c->objects[c->n_objects], (uint32_t)c->n_objects + 1);
	return &c->objects[c->n_objects++];
}

struct attach_ctx {
	struct rp_capture *c;
	size_t object;      /* the one being hooked */
	uint64_t hooked_ns; /* the latest hooking of the objects seen (0: none hooked) */
	unsigned attached;
	int first_error;
	char *err;
	size_t errlen;
};

/* The Go probes read Go's x86-64 argument registers (bpf/capture.bpf.c). */
#if defined(__x86_64__)
#define GO_HOOKS_SUPPORTED 1
#else
#define GO_HOOKS_SUPPORTED 0
#endif

struct hook {
	struct bpf_program *prog;
	const char *func;
	bool required; /* the object is not worth hooking without it */
};

static int attach_hooks(struct attach_ctx *ac, const char *path, const struct hook *hooks, size_t n)
{
	int ok = 0;

	for (size_t i = 0; i < n; i++) {
		int r = add_probe(ac->c, hooks[i].prog, path, hooks[i].func, ac->object);
		if (r == 0) {
			ok++;
		} else if (hooks[i].required && !ac->first_error && ac->err) {
			ac->first_error = r;
			snprintf(ac->err, ac->errlen, "cannot attach %s in %s: %s", hooks[i].func, path, strerror(-r));
		}
	}
	return ok;
}

static int attach_object(const struct rp_tls_object *o, void *u)
{
	struct attach_ctx *ac = u;
	struct rp_capture *c = ac->c;
	struct capture_bpf *sk = c->skel;
	enum rp_tls_kind kind = o->kind;
	int ok = 0;

	struct attached_object *known = object_find(c, o->dev, o->ino);
	size_t idx;

	/* Hooked (probes hold the file: its inode number cannot be reused), or examined and not
	 * changed since: nothing to do. */
	if (known && !known->released && (known->hooked_ns || same_time(&known->ctime, &o->ctime))) {
		if (known->hooked_ns > ac->hooked_ns)
			ac->hooked_ns = known->hooked_ns;
		return 0;
	}
	/* Remember every object looked at, hooked or not, so each is examined once; one seen before
	 * under this (device, inode) is another file now (a deleted file's number reused, or the
	 * file behind released probes) and examined anew. */
	if (known) {
		free(known->path);
		*known = (struct attached_object){.dev = o->dev, .ino = o->ino};
	} else if (!(known = object_add(c, o->dev, o->ino))) {
		return -ENOMEM;
	}
	known->ctime = o->ctime;
	idx = (size_t)(known - c->objects);
	ac->object = idx;

	if (kind == RP_TLS_CANDIDATE_EXE) {
		char go[32];

		if (rp_elf_defines(o->path, "SSL_write") == 1)
			kind = RP_TLS_OPENSSL;
		/* The build info first: a small section, where the symbol search walks a whole table. */
		else if (GO_HOOKS_SUPPORTED && rp_elf_go_version(o->path, go, sizeof(go)) == 0 &&
			 rp_elf_defines(o->path, "crypto/tls.(*Conn).Write") == 1)
			kind = RP_TLS_GO;
		else
			return 0;
	}
	switch (kind) {
	case RP_TLS_OPENSSL: {
		/* SSL_write_ex appeared in OpenSSL 1.1.1; the others exist in every version. */
		const struct hook hooks[] = {
			{sk->progs.ssl_write, "SSL_write", true},
			{sk->progs.ssl_write_ex, "SSL_write_ex", false},
			{sk->progs.ssl_handshake, "SSL_do_handshake", false},
			{sk->progs.ssl_handshake, "SSL_connect", false},
			{sk->progs.tls_session_hint, "SSL_set_connect_state", false},
			{sk->progs.ssl_free, "SSL_free", false},
		};
		ok = attach_hooks(ac, o->path, hooks, sizeof(hooks) / sizeof(hooks[0]));
		break;
	}
	case RP_TLS_GNUTLS: {
		/* Since GnuTLS 3.6 gnutls_record_send is a wrapper of gnutls_record_send2: hooking both
		 * would capture each write twice. Hook the wrapper only where send2 does not exist. */
		bool has_send2 = rp_elf_defines(o->path, "gnutls_record_send2") == 1;
		const struct hook hooks[] = {
			{sk->progs.gnutls_send, has_send2 ? "gnutls_record_send2" : "gnutls_record_send", true},
			{sk->progs.gnutls_send, "gnutls_record_send_range", false},
			{sk->progs.gnutls_handshake, "gnutls_handshake", false},
			{sk->progs.gnutls_deinit, "gnutls_deinit", false},
		};
		ok = attach_hooks(ac, o->path, hooks, sizeof(hooks) / sizeof(hooks[0]));
		break;
	}
	case RP_TLS_NSPR: {
		const struct hook hooks[] = {
			{sk->progs.pr_write, "PR_Write", true},
			{sk->progs.pr_send, "PR_Send", false},
			{sk->progs.pr_close, "PR_Close", false},
			{sk->progs.tls_session_hint, "PR_Connect", false},
			{sk->progs.tls_session_hint, "PR_ConnectContinue", false},
		};
		ok = attach_hooks(ac, o->path, hooks, sizeof(hooks) / sizeof(hooks[0]));
		break;
	}
	case RP_TLS_GO: {
		/* Built by Go 1.18+ (arguments in registers); named by its symbols, or when stripped in
		 * Go's own function table (elf_syms.c). */
		const struct hook hooks[] = {
			{sk->progs.go_tls_write, "crypto/tls.(*Conn).Write", true},
			{sk->progs.go_tls_handshake, "crypto/tls.(*Conn).clientHandshake", false},
			{sk->progs.go_tls_close, "crypto/tls.(*Conn).Close", false},
		};
		ok = attach_hooks(ac, o->path, hooks, sizeof(hooks) / sizeof(hooks[0]));
		break;
	}
	case RP_TLS_LOADER:
		ok = add_loader_probe(c, o->path, idx) == 0;
		break;
	case RP_TLS_CANDIDATE_EXE:
		break;
	}
	if (ok) {
		c->objects[idx].path = strdup(o->path); /* NULL: never released, as before */
		c->objects[idx].hooked_ns = rp_monotonic_ns();
		c->n_hooked++;
		/* The loader is not TLS code: a process's TLS hooks are no more recent for it, and
		 * it alone is not a TLS library attached to. */
		if (kind != RP_TLS_LOADER) {
			ac->hooked_ns = c->objects[idx].hooked_ns;
			ac->attached++;
		}
	}
	return 0;
}

static int attach_tracepoints(struct rp_capture *c, char *err, size_t errlen)
{
	struct capture_bpf *sk = c->skel;
	struct {
		struct bpf_program *prog;
		bool optional; /* absent from some kernels: watched where it exists */
	} tps[] = {
		{sk->progs.trace_write, false},         {sk->progs.trace_sendto, false},
		{sk->progs.trace_writev, false},        {sk->progs.trace_sendmsg, false},
		{sk->progs.trace_sendmmsg, false},      {sk->progs.trace_sendfile, false},
		{sk->progs.trace_sendfile_exit, false}, {sk->progs.trace_splice, false},
		{sk->progs.trace_splice_exit, false},   {sk->progs.trace_exec, false},
		/* A kernel built without io_uring has no such event (and no io_uring to send with). */
		{sk->progs.trace_uring_complete, true},
	};

	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
		const char *section = bpf_program__section_name(tps[i].prog);
		struct bpf_link *link = bpf_program__attach(tps[i].prog);
		int r;

		if (!link) {
			r = -errno;
			if (tps[i].optional && r == -ENOENT)
				continue;
			snprintf(err, errlen, "cannot attach tracepoint %s: %s", section, strerror(-r));
			return r;
		}
		r = push_probe(c, link, section + strlen("tracepoint/"), "tracepoint", NO_OBJECT);
		if (r < 0) {
			bpf_link__destroy(link);
			return r;
		}
	}
	return 0;
}

int rp_capture_attach_all(struct rp_capture *c, char *err, size_t errlen)
{
	struct attach_ctx ac = {.c = c, .err = err, .errlen = errlen};
	int r;

	r = attach_tracepoints(c, err, errlen);
	if (r < 0)
		return r;
	r = rp_tls_libs_scan(attach_object, &ac);
	if (r < 0) {
		snprintf(err, errlen, "cannot scan for TLS libraries: %s", strerror(-r));
		return r;
	}
	/* Installed programs next, a slice at a time once the agent runs (rp_capture_examine_programs):
	 * the libraries cover most processes and are hooked before the agent says it is ready. */
	(void)rp_program_scan_new(&c->programs, NULL, 0); /* out of memory: not examined, as before */
	if (ac.attached == 0) {
		if (!ac.first_error)
			snprintf(err, errlen, "no TLS library found to attach to (libssl, libgnutls, libnspr4)");
		return ac.first_error ? ac.first_error : -ENOENT;
	}
	return (int)ac.attached;
}


static void defer_scan(struct rp_capture *c, unsigned stage, pid_t pid, uint64_t now)
{
	struct deferred_queue *dq = &c->deferred[stage];

	dq->q[dq->head % RP_DEFERRED_SCANS] = (struct deferred_scan){.pid = pid, .due_ns = now + rescan_delay_ns[stage]};
	if (dq->head - dq->tail == RP_DEFERRED_SCANS)
		dq->tail++; /* full: the oldest is dropped */
	dq->head++;
}

void rp_capture_on_exec(struct rp_capture *c, pid_t pid, const char *filename)
{
	struct attach_ctx ac = {.c = c};
	typeof(c->execs[0]) *e = &c->execs[c->n_execs++ % RP_DEFERRED_SCANS];
	char real[PATH_MAX];

	/* The executable is mapped already: if it embeds TLS, hook it now. */
	(void)rp_tls_scan_pid(pid, attach_object, &ac);
	e->pid = pid;
	e->hooked_ns = ac.hooked_ns;
	e->exe[0] = '\0';
	/* Where the process's exe link points, else the file exec'd, resolved like that link; a
	 * relative name (its directory unknown here) is not kept. */
	if ((rp_proc_exe(pid, real, sizeof(real)) == 0 || (filename && filename[0] == '/' && realpath(filename, real))) &&
	    strlen(real) < sizeof(e->exe))
		memcpy(e->exe, real, strlen(real) + 1); /* a longer one is not cut into another's name */
	defer_scan(c, 0, pid, rp_monotonic_ns());
}

void rp_capture_on_libs_changed(struct rp_capture *c, pid_t pid)
{
	struct attach_ctx ac = {.c = c};

	(void)rp_tls_scan_pid(pid, attach_object, &ac);
}

int rp_capture_socket_carries_tls(struct rp_capture *c, uint64_t ino)
{
	__u8 kind = RP_SOCK_KIND_TLS;

	if (!c || !c->skel)
		return -EINVAL;
	return bpf_map_update_elem(bpf_map__fd(c->skel->maps.sock_kinds), &ino, &kind, BPF_ANY) < 0 ? -errno : 0;
}

int rp_capture_exec_path(const struct rp_capture *c, pid_t pid, char *buf, size_t len)
{
	if (!c || len == 0)
		return -EINVAL;
	/* The most recent first: a pid is reused only after many others. */
	for (unsigned k = 1; k <= RP_DEFERRED_SCANS && k <= c->n_execs; k++) {
		const typeof(c->execs[0]) *e = &c->execs[(c->n_execs - k) % RP_DEFERRED_SCANS];
		if (e->pid == pid && e->exe[0]) {
			snprintf(buf, len, "%s", e->exe);
			return 0;
		}
	}
	return -ENOENT;
}

bool rp_capture_programs_pending(const struct rp_capture *c)
{
	return c && c->programs;
}

void rp_capture_examine_programs(struct rp_capture *c, uint64_t budget_ns)
{
	struct attach_ctx ac = {.c = c};
	int r;

	if (!c || !c->programs)
		return;
	r = rp_program_scan_step(c->programs, rp_monotonic_ns() + budget_ns, attach_object, &ac);
	c->programs_examined = rp_program_scan_reported(c->programs);
	if (r <= 0) {
		rp_program_scan_free(c->programs);
		c->programs = NULL;
	}
}

struct hooked_since_ctx {
	const struct rp_capture *c;
	uint64_t since_ns;
	bool found;
};

static int hooked_since_cb(const struct rp_tls_object *o, void *u)
{
	struct hooked_since_ctx *h = u;

	const struct attached_object *known = object_find(h->c, o->dev, o->ino);

	if (known && !known->released && known->hooked_ns >= h->since_ns)
		h->found = true;
	return 0;
}

bool rp_capture_hooked_since(const struct rp_capture *c, pid_t pid, uint64_t since_ns)
{
	struct hooked_since_ctx h = {.c = c, .since_ns = since_ns};

	if (!c || since_ns == 0)
		return false;
	for (unsigned i = 0; i < RP_DEFERRED_SCANS; i++)
		if (c->execs[i].pid == pid && c->execs[i].hooked_ns >= since_ns)
			return true;
	(void)rp_tls_scan_pid(pid, hooked_since_cb, &h);
	return h.found;
}

static void detach_object(struct rp_capture *c, size_t idx)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->n_probes; i++) {
		if (c->probes[i].object == idx)
			bpf_link__destroy(c->probes[i].link);
		else
			c->probes[kept++] = c->probes[i];
	}
	c->n_probes = kept;
	free(c->objects[idx].path);
	c->objects[idx].path = NULL;
	c->objects[idx].released = true;
	c->n_hooked--;
	c->n_released++;
}

/* Hooked files replaced at their path (an upgrade) and mapped by no process any more: detach
 * their probes, which would otherwise keep the old file on disk for as long as the agent runs.
 * A process still running the old copy keeps them. */
static void release_replaced(struct rp_capture *c)
{
	size_t idx[RELEASE_BATCH], n = 0;
	ino_t inos[RELEASE_BATCH];
	bool mapped[RELEASE_BATCH] = {false};

	for (size_t i = 0; i < c->n_objects && n < RELEASE_BATCH; i++) {
		const struct attached_object *o = &c->objects[i];
		struct stat st;

		if (!o->hooked_ns || o->released || !o->path)
			continue;
		if (stat(o->path, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino)
			continue;
		idx[n] = i;
		inos[n++] = o->ino;
	}
	if (n == 0)
		return;
	rp_tls_mark_mapped(inos, mapped, n);
	for (size_t k = 0; k < n; k++)
		if (!mapped[k])
			detach_object(c, idx[k]);
}

void rp_capture_tick(struct rp_capture *c, uint64_t now_ns)
{
	struct attach_ctx ac = {.c = c};

	if (now_ns >= c->next_release_ns) {
		c->next_release_ns = now_ns + c->release_every_ns;
		release_replaced(c);
	}

	for (unsigned stage = 0; stage < RP_RESCAN_STAGES; stage++) {
		struct deferred_queue *dq = &c->deferred[stage];
		while (dq->tail != dq->head) {
			struct deferred_scan d = dq->q[dq->tail % RP_DEFERRED_SCANS];
			if (d.due_ns > now_ns)
				break;
			dq->tail++;
			/* A process gone is not looked at again. */
			if (rp_tls_scan_pid(d.pid, attach_object, &ac) == 0 && kill(d.pid, 0) == 0 &&
			    stage + 1 < RP_RESCAN_STAGES)
				defer_scan(c, stage + 1, d.pid, now_ns);
		}
	}
}

int rp_capture_fd(const struct rp_capture *c)
{
	return ring_buffer__epoll_fd(c->rb);
}

int rp_capture_drain(struct rp_capture *c)
{
	return ring_buffer__consume(c->rb);
}

void rp_capture_poll_within(struct rp_capture *c, uint64_t span_ns)
{
	c->poll_span_ns = span_ns;
	c->since_refresh = 0;
	set_drain_due(c, rp_monotonic_ns() + span_ns);
}

int rp_capture_idle(struct rp_capture *c)
{
	const unsigned long *cons = c->ring_pos, *prod = (const unsigned long *)((const char *)c->ring_pos + c->ring_pos_len / 2);
	int n;

	/* Writers wake the agent again from here on; what a writer reserved before it read the
	 * cleared value is seen below (capture.bpf.c orders its side the same way). */
	set_drain_due(c, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	n = ring_buffer__consume(c->rb);
	if (n != 0)
		return n;
	/* a record reserved but not yet submitted stops the drain: still busy */
	return __atomic_load_n(prod, __ATOMIC_ACQUIRE) != __atomic_load_n(cons, __ATOMIC_ACQUIRE) ? 1 : 0;
}

int rp_capture_set_budget(struct rp_capture *c, uint64_t write_budget)
{
	return set_runtime_config(c, write_budget, true);
}

void rp_capture_stats(const struct rp_capture *c, struct rp_capture_stats *out)
{
	struct rp_counters *vals;
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	out->attached_probes = (unsigned)c->n_probes;
	out->attached_objects = c->n_hooked;
	out->programs_examined = c->programs_examined;
	out->programs_pending = c->programs != NULL;
	out->objects_released = c->n_released;
	vals = calloc((size_t)c->ncpus, sizeof(*vals));
	if (!vals)
		return;
	if (bpf_map__lookup_elem(c->skel->maps.counters, &zero, sizeof(zero), vals, sizeof(*vals) * (size_t)c->ncpus,
				 0) == 0)
		for (int cpu = 0; cpu < c->ncpus; cpu++)
			for (int i = 0; i < RP_CNT__MAX; i++)
				out->counters[i] += vals[cpu].v[i];
	free(vals);
}

void rp_capture_foreach_probe(const struct rp_capture *c, void (*cb)(const char *target, const char *func, void *u),
			      void *u)
{
	for (size_t i = 0; i < c->n_probes; i++)
		cb(c->probes[i].target, c->probes[i].func, u);
}

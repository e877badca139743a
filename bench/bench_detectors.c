/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Detector throughput on realistic traffic, generated in-process, two corpora: dense clinical text
 * (French clinical prose and JSON chat requests, escaped accents, \n, \u00a0, identifiers sprinkled
 * in), and a workstation mix (a quarter of that, the rest API JSON, forms, e-mail text, scripts and
 * base64). Measures, on one core and on the same buffer:
 *   - memchr for an absent byte (the memory-bandwidth ceiling),
 *   - rp_scan_block (1 MiB blocks) and the streaming API (1 MiB flows fed in 16 KiB chunks),
 *   - a conventional implementation: each detector's regex in turn with PCRE2-JIT, same
 *     validators (when libpcre2 is available).
 * Usage: bench_detectors [MiB]   (default 256; env BENCH_MIB also works; BENCH_REPEAT runs, best
 * kept, default 3; BENCH_NO_PCRE2=1 skips the slow baseline when profiling)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detectors.h"
#include "internal.h"

#ifdef HAVE_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif

#define BLOCK (1u << 20)
#define CHUNK (16u << 10)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, fast */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *const prose[] = {
	"Patient de 67 ans hospitalisé pour une décompensation cardiaque globale. ",
	"Antécédents : HTA, diabète de type 2 sous metformine, tabagisme sevré. ",
	"Examen clinique : auscultation pulmonaire avec crépitants bilatéraux, œdèmes des membres inférieurs. ",
	"Biologie : NT-proBNP à 4500 pg/mL, créatinine 130 µmol/L, hémoglobine 11,2 g/dL. ",
	"Traitement de sortie : furosémide 40 mg matin, bisoprolol 2,5 mg, ramipril 5 mg. ",
	"Peux-tu rédiger un courrier de sortie clair pour le médecin traitant ? ",
	"Rendez-vous de contrôle dans trois semaines avec ionogramme et fonction rénale. ",
	"La patiente signale une dyspnée d'effort stade II de la NYHA depuis deux mois. ",
	"Merci de reformuler ce compte rendu opératoire en langage simple pour la famille. ",
	"Échographie cardiaque : FEVG 35 %, insuffisance mitrale modérée, VD non dilaté. ",
	"Le 12/03/2024, consultation de suivi ; poids 78 kg, TA 135/80 mmHg, FC 72/min. ",
	"Commande n° 2024-118734 livrée au service, facture 88 213,40 EUR. ",
};

static const char *const ids[] = {
	"NIR 2 95 10 99 126 111 93", "n° sécu 253072B07300470", "IBAN FR76 3000 6000 0112 3456 7890 189",
	"carte 4111 1111 1111 1111", "RPPS 10003361234", "FINESS 750712184", "né le 12/03/1985",
	"diagnostic CIM-10 F32.1", "jean.dupont@chu-lyon.fr", "06 12 34 56 78", "SIRET 732 829 320 00074",
	"1-51-02-46102-043-25",
};

static size_t append(char *buf, size_t pos, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (pos + n > cap)
		n = cap - pos;
	memcpy(buf + pos, s, n);
	return pos + n;
}

/* JSON-escape s the way chat clients do (ensure_ascii): accents as \u00XX, newline as \n. */
static size_t append_json(char *buf, size_t pos, size_t cap, const char *s)
{
	char tmp[16];
	for (const unsigned char *p = (const unsigned char *)s; *p && pos < cap; p++) {
		if (*p == 0xc3 && p[1]) {
			snprintf(tmp, sizeof(tmp), "\\u00%02x", (unsigned)(p[1] + 0x40));
			pos = append(buf, pos, cap, tmp);
			p++;
		} else if (*p >= 0x80) {
			pos = append(buf, pos, cap, "\\u00b5");
			while (p[1] >= 0x80 && p[1] < 0xc0)
				p++;
		} else if (*p == '"') {
			pos = append(buf, pos, cap, "\\\"");
		} else {
			buf[pos++] = (char)*p;
		}
	}
	return pos;
}

/* One clinical message: French prose, half of them as a JSON chat request, an identifier now and
 * then (roughly one every 2-3 KiB). */
static size_t append_clinical(char *buf, size_t pos, size_t size, unsigned *planted)
{
	bool json = rnd() % 2;
	unsigned sentences = 8 + (unsigned)(rnd() % 24);
	if (json)
		pos = append(buf, pos, size, "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"");
	for (unsigned i = 0; i < sentences && pos < size; i++) {
		const char *s = prose[rnd() % (sizeof(prose) / sizeof(prose[0]))];
		pos = json ? append_json(buf, pos, size, s) : append(buf, pos, size, s);
		if (rnd() % 30 == 0) {
			const char *id = ids[rnd() % (sizeof(ids) / sizeof(ids[0]))];
			pos = json ? append_json(buf, pos, size, id) : append(buf, pos, size, id);
			pos = append(buf, pos, size, json ? "\\n" : "\n");
			(*planted)++;
		}
	}
	return append(buf, pos, size, json ? "\"}]}\n" : "\n\n");
}

static char *make_corpus(size_t size, unsigned *planted)
{
	char *buf = malloc(size);
	size_t pos = 0;
	*planted = 0;
	if (!buf)
		return NULL;
	while (pos < size)
		pos = append_clinical(buf, pos, size, planted);
	return buf;
}

/*
 * What else leaves a clinician's workstation: web and SaaS API calls, form posts, e-mail and
 * document text, scripts, attachments. Numbers everywhere (timestamps, ids, prices, versions),
 * and none of the identifiers the detectors look for.
 */
static const char *const words[] = {
	"the", "report", "meeting", "schedule", "please", "review", "attached", "budget", "team", "update",
	"project", "next", "week", "with", "from", "regarding", "quarter", "results", "thanks", "and", "for",
	"this", "that", "will", "we", "our", "you", "a", "of", "to", "in", "on", "is", "be", "planning",
	"training", "room", "agenda", "minutes", "draft", "version", "Monday", "Friday", "service", "staff",
};
static const char *const events[] = {"page_view", "click", "scroll", "search", "login", "heartbeat", "render"};
static const char *const hosts[] = {"intranet.chu.local", "api.office.example", "cdn.example.net", "sso.example.org"};

#define WORD() words[rnd() % (sizeof(words) / sizeof(words[0]))]

static size_t append_other(char *buf, size_t pos, size_t size)
{
	char tmp[1024];
	unsigned kind = (unsigned)(rnd() % 15), n;

	switch (kind) {
	case 0: case 1: case 2: case 3: /* API / telemetry JSON */
		n = 2 + (unsigned)(rnd() % 6);
		pos = append(buf, pos, size, "{\"batch\":[");
		for (unsigned i = 0; i < n; i++) {
			snprintf(tmp, sizeof(tmp),
				 "%s{\"id\":\"%08x-%04x-4%03x-a%03x-%012llx\",\"ts\":\"2026-%02u-%02uT%02u:%02u:%02u.%03uZ\","
				 "\"event\":\"%s\",\"session\":%llu,\"duration_ms\":%u,\"url\":\"https://%s/%s/%s?page=%u\","
				 "\"ua\":\"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\"}",
				 i ? "," : "", (unsigned)rnd(), (unsigned)(rnd() & 0xffff), (unsigned)(rnd() & 0xfff),
				 (unsigned)(rnd() & 0xfff), (unsigned long long)(rnd() & 0xffffffffffffull),
				 (unsigned)(1 + rnd() % 12), (unsigned)(1 + rnd() % 28), (unsigned)(rnd() % 24),
				 (unsigned)(rnd() % 60), (unsigned)(rnd() % 60), (unsigned)(rnd() % 1000),
				 events[rnd() % (sizeof(events) / sizeof(events[0]))], (unsigned long long)(rnd() % 100000000),
				 (unsigned)(rnd() % 5000), hosts[rnd() % (sizeof(hosts) / sizeof(hosts[0]))], WORD(), WORD(),
				 (unsigned)(rnd() % 40));
			pos = append(buf, pos, size, tmp);
		}
		return append(buf, pos, size, "]}\n");
	case 4: case 5: /* form posts and query strings */
		snprintf(tmp, sizeof(tmp), "csrf_token=%016llx%016llx&user=%s.%s&q=%s+%s+%s&page=%u&per_page=50&sort=updated_at&ts=%llu\n",
			 (unsigned long long)rnd(), (unsigned long long)rnd(), WORD(), WORD(), WORD(), WORD(), WORD(),
			 (unsigned)(rnd() % 100), (unsigned long long)(1790000000000ull + rnd() % 10000000000ull));
		return append(buf, pos, size, tmp);
	case 6: case 7: case 8: /* e-mail and document text */
		n = 40 + (unsigned)(rnd() % 120);
		for (unsigned i = 0; i < n; i++) {
			if (rnd() % 25 == 0)
				snprintf(tmp, sizeof(tmp), "%s %u.%u%s", i ? "" : "Hello,", (unsigned)(rnd() % 100),
					 (unsigned)(rnd() % 10), rnd() % 2 ? "% " : " ");
			else
				snprintf(tmp, sizeof(tmp), "%s%s", WORD(), rnd() % 12 == 0 ? ". " : " ");
			pos = append(buf, pos, size, tmp);
		}
		return append(buf, pos, size, "\n");
	case 9: case 10: case 11: /* scripts */
		n = 10 + (unsigned)(rnd() % 30);
		for (unsigned i = 0; i < n; i++) {
			snprintf(tmp, sizeof(tmp), "function %s%u(e,t){var n=e[%u]||{};if(n.%s>%u)return t;n.%s=t+%u;return n}",
				 WORD(), (unsigned)(rnd() % 100), (unsigned)(rnd() % 64), WORD(), (unsigned)(rnd() % 1000),
				 WORD(), (unsigned)(rnd() % 100));
			pos = append(buf, pos, size, tmp);
		}
		return append(buf, pos, size, "\n");
	default: { /* attachments, base64 in JSON */
		static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		n = 1024 + (unsigned)(rnd() % 7168);
		pos = append(buf, pos, size, "{\"name\":\"image.png\",\"data\":\"");
		for (unsigned i = 0; i < n && pos < size; i++)
			buf[pos++] = b64[rnd() % 64];
		return append(buf, pos, size, "\"}\n");
	}
	}
}

/* A quarter clinical messages (as above), three quarters the rest of a workstation's traffic. */
static char *make_mix(size_t size, unsigned *planted)
{
	char *buf = malloc(size);
	size_t pos = 0, clinical = 0;
	*planted = 0;
	if (!buf)
		return NULL;
	while (pos < size) {
		size_t before = pos;
		if (clinical * 4 < pos) {
			pos = append_clinical(buf, pos, size, planted);
			clinical += pos - before;
		} else {
			pos = append_other(buf, pos, size);
		}
	}
	return buf;
}

static int count_cb(const struct rp_finding *f, void *userdata)
{
	(void)f;
	(*(uint64_t *)userdata)++;
	return 0;
}

#ifdef HAVE_PCRE2
struct conv {
	const char *name;
	const char *re;
	bool (*validate)(const char *sig, size_t n);
};

static bool v_none(const char *s, size_t n)
{
	(void)s;
	(void)n;
	return true;
}

static bool v_nir(const char *s, size_t n)
{
	return rp_nir_valid(s, n) || (n == 13 && rp_nir_shape(s, n));
}

static bool v_luhn(const char *s, size_t n)
{
	return rp_luhn(s, n);
}

/* One regex per detector, the way a conventional scanner is written. */
static const struct conv convs[] = {
	{"fr_nir", "\\b[1-478][ .\\-]?\\d{2}[ .\\-]?(?:0[1-9]|1[0-2]|20|[3-9]\\d)[ .\\-]?(?:\\d{2}|2[AB])[ .\\-]?\\d{3}"
		   "[ .\\-]?\\d{3}(?:[ .\\-]?\\d{2})?\\b", v_nir},
	{"iban", "\\b[A-Z]{2}\\d{2}(?: ?[0-9A-Z]{4}){2,7}(?: ?[0-9A-Z]{1,4})?\\b", rp_iban_valid},
	{"credit_card", "\\b(?:\\d[ \\-]?){12,18}\\d\\b", rp_card_valid},
	{"fr_rpps", "\\b8?\\d{11}\\b", v_luhn},
	{"fr_finess", "\\b\\d[0-9AB]\\d{7}\\b", v_luhn},
	{"us_npi", "\\b[12]\\d{9}\\b", rp_npi_valid},
	{"us_ssn", "\\b\\d{3}([\\- ])\\d{2}\\1\\d{4}\\b", rp_ssn_valid},
	{"us_dea", "\\b[ABCDEFGHJKLMPRSTUX][A-Z9]\\d{7}\\b", rp_dea_valid},
	{"fr_vitale", "\\b\\d{10}[ ]?\\d{10}[ ]?\\d\\b", v_none},
	{"phone_fr", "(?:\\+33 ?|\\b0)[1-9](?:[ .\\-]?\\d{2}){4}\\b", v_none},
	{"email", "[A-Za-z0-9._%+\\-]+@[A-Za-z0-9\\-]+(?:\\.[A-Za-z0-9\\-]+)*\\.[A-Za-z]{2,24}\\b", v_none},
	{"date_of_birth", "\\b\\d{1,2}[/.\\-]\\d{1,2}[/.\\-](?:19|20)\\d{2}\\b", v_none},
	{"icd10", "\\b[A-Z]\\d{2}(?:\\.?[0-9A-Z]{1,4})?\\b", v_none},
	{"atc", "\\b[ABCDGHJLMNPRSV]\\d{2}[A-Z]{2}\\d{2}\\b", v_none},
	{"hl7v2", "(?m)^MSH\\|\\^~\\\\&", v_none},
	{"fhir", "\"resourceType\"\\s*:\\s*\"(?:Patient|Observation|Condition|Encounter|Bundle)\"", v_none},
	{"keywords", "(?i)\\b(?:nir|nss|ins|n° s[ée]cu|s[ée]curit[ée] sociale|carte vitale|rpps|finess|adeli|iban|rib|"
		     "carte bancaire|npi|ssn|dea|t[ée]l[ée]phone|date de naissance|n[ée]e? le|ddn|dob|cim-10|"
		     "diagnostic|atc|siret|siren|commande)\\b",
	 v_none},
};

static double run_pcre2(const char *buf, size_t len, uint64_t *hits, bool *ok)
{
	double t0, t;
	pcre2_match_data *md = NULL;
	*hits = 0;
	*ok = true;
	t0 = now();
	for (size_t i = 0; i < sizeof(convs) / sizeof(convs[0]); i++) {
		int errcode;
		PCRE2_SIZE erroff, start = 0;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)convs[i].re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_NO_UTF_CHECK,
					       &errcode, &erroff, NULL);
		if (!re) {
			fprintf(stderr, "pcre2: %s: compile error %d at %zu\n", convs[i].name, errcode, (size_t)erroff);
			*ok = false;
			continue;
		}
		if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0)
			*ok = false;
		md = pcre2_match_data_create_from_pattern(re, NULL);
		for (;;) {
			/* NO_UTF_CHECK: the buffer is valid UTF-8 by construction; checking it per call
			 * would make the baseline quadratic, not conventional */
			int rc = pcre2_jit_match(re, (PCRE2_SPTR)buf, len, start, PCRE2_NO_UTF_CHECK, md, NULL);
			PCRE2_SIZE *ov;
			char sig[64];
			size_t n = 0;
			if (rc < 0)
				break;
			ov = pcre2_get_ovector_pointer(md);
			for (PCRE2_SIZE k = ov[0]; k < ov[1] && n < sizeof(sig); k++)
				if ((buf[k] >= '0' && buf[k] <= '9') || (buf[k] >= 'A' && buf[k] <= 'Z'))
					sig[n++] = buf[k];
			if (convs[i].validate(sig, n))
				(*hits)++;
			start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
			if (start >= len)
				break;
		}
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
	t = now() - t0;
	return t;
}
#endif

/* memchr, block and stream scans of buf, best of repeat runs, and the PCRE2 baseline: one table. */
static int measure(const struct rp_engine *e, struct rp_scratch *s, const char *buf, size_t size, int repeat)
{
	double t, t_memchr, t_block, t_stream, mbs;
	uint64_t f_block = 0, f_stream = 0;
	volatile size_t sink = 0;

	/* warm-up: fault the pages in */
	for (size_t i = 0; i < size; i += 4096)
		sink += (unsigned char)buf[i];

	/* best of a few runs: the machine is shared, the minimum is the least disturbed */
	t_memchr = t_block = t_stream = 1e30;
	for (int rep = 0; rep < repeat; rep++) {
		f_block = f_stream = 0;
		t = now();
		for (size_t off = 0; off < size; off += BLOCK) {
			size_t n = size - off < BLOCK ? size - off : BLOCK;
			if (memchr(buf + off, 0x01, n))
				sink++;
		}
		t = now() - t;
		t_memchr = t < t_memchr ? t : t_memchr;

		t = now();
		for (size_t off = 0; off < size; off += BLOCK) {
			size_t n = size - off < BLOCK ? size - off : BLOCK;
			rp_scan_block(e, s, buf + off, n, count_cb, &f_block);
		}
		t = now() - t;
		t_block = t < t_block ? t : t_block;

		t = now();
		for (size_t off = 0; off < size; off += BLOCK) {
			struct rp_stream *st = NULL;
			size_t n = size - off < BLOCK ? size - off : BLOCK;
			if (rp_stream_open(e, &st) < 0)
				return -1;
			for (size_t k = 0; k < n; k += CHUNK)
				rp_stream_feed(st, s, buf + off + k, n - k < CHUNK ? n - k : CHUNK, count_cb, &f_stream);
			rp_stream_close(st, s, count_cb, &f_stream);
		}
		t = now() - t;
		t_stream = t < t_stream ? t : t_stream;
	}

	mbs = (double)size / 1e6;
	{
		double t_pcre = 0;
		uint64_t f_pcre = 0;
		bool ok = false, have = false;
		char rb[32] = "n/a", rs[32] = "n/a";
#ifdef HAVE_PCRE2
		if (!getenv("BENCH_NO_PCRE2")) {
			t_pcre = run_pcre2(buf, size, &f_pcre, &ok);
			have = true;
			snprintf(rb, sizeof(rb), "%.1fx", t_pcre / t_block);
			snprintf(rs, sizeof(rs), "%.1fx", t_pcre / t_stream);
		}
#endif
		printf("\n%-44s %10s %10s %12s %10s\n", "mode (1 core)", "MB/s", "findings", "vs memchr", "vs PCRE2");
		printf("%-44s %10.0f %10s %12s %10s\n", "memchr (absent byte)", mbs / t_memchr, "-", "1.000", "-");
		printf("%-44s %10.0f %10llu %12.3f %10s\n", "rempart block (1 MiB blocks)", mbs / t_block,
		       (unsigned long long)f_block, t_memchr / t_block, rb);
		printf("%-44s %10.0f %10llu %12.3f %10s\n", "rempart stream (16 KiB feeds, 1 MiB flows)", mbs / t_stream,
		       (unsigned long long)f_stream, t_memchr / t_stream, rs);
		if (have)
			printf("%-44s %10.0f %10llu %12.3f %10s%s\n", "PCRE2-JIT, one regex per detector in turn",
			       mbs / t_pcre, (unsigned long long)f_pcre, t_memchr / t_pcre, "1.0x",
			       ok ? "" : " (JIT errors)");
		else
			printf("(PCRE2 baseline not run)\n");
	}
	return sink == 42 ? 1 : 0;
}

/* What flows cost between bursts: the daemon flushes a flow once its writer pauses. */
struct idle {
	size_t total, worst, n;
};

static int idle_state(const struct rp_engine *e, struct rp_scratch *s, const char *buf, size_t size, struct idle *idle)
{
	for (size_t off = 0; off + CHUNK <= size && idle->n < 256; off += size / 256, idle->n++) {
		struct rp_stream *st = NULL;
		size_t m;
		if (rp_stream_open(e, &st) < 0)
			return -1;
		rp_stream_feed(st, s, buf + off, CHUNK, NULL, NULL);
		rp_stream_flush(st, s, NULL, NULL);
		m = rp_stream_memory(st);
		idle->total += m;
		idle->worst = m > idle->worst ? m : idle->worst;
		rp_stream_close(st, s, NULL, NULL);
	}
	return 0;
}

static const struct {
	const char *name, *what;
	char *(*make)(size_t size, unsigned *planted);
} corpora[] = {
	{"dense clinical text", "French clinical prose and JSON chat requests, a number or a date in every sentence",
	 make_corpus},
	{"workstation mix", "a quarter clinical messages as above, three quarters API and telemetry JSON, form posts, "
			    "e-mail text, scripts, base64 attachments", make_mix},
};

int main(int argc, char **argv)
{
	size_t mib = 256, size;
	const char *env = getenv("BENCH_MIB");
	int repeat = getenv("BENCH_REPEAT") ? atoi(getenv("BENCH_REPEAT")) : 5;
	struct rp_engine_config cfg;
	struct rp_engine *e = NULL;
	struct rp_scratch *s = NULL;
	char err[256] = "";
	unsigned planted;
	char *buf;
	double t;
	int r;
	struct idle idle = {0, 0, 0};

	if (argc > 1)
		mib = strtoul(argv[1], NULL, 10);
	else if (env)
		mib = strtoul(env, NULL, 10);
	if (mib == 0)
		mib = 256;
	if (repeat < 1)
		repeat = 1;
	size = mib << 20;

	rp_engine_config_default(&cfg);
	t = now();
	r = rp_engine_new(&cfg, &e, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "bench_detectors: %s\n", err);
		return 1;
	}
	printf("engine compile: %.2f s; best of %d runs\n", now() - t, repeat);
	if (rp_scratch_new(e, &s) < 0)
		return 1;

	for (size_t k = 0; k < sizeof(corpora) / sizeof(corpora[0]); k++) {
		buf = corpora[k].make(size, &planted);
		if (!buf) {
			fprintf(stderr, "bench_detectors: out of memory\n");
			return 1;
		}
		printf("\n== %s: %zu MiB, %s (%u identifiers planted)\n", corpora[k].name, mib, corpora[k].what, planted);
		if (measure(e, s, buf, size, repeat) < 0)
			return 1;
		/* idle flows on the text densest in values */
		if (k == 0 && idle_state(e, s, buf, size, &idle) < 0)
			return 1;
		free(buf);
	}

	printf("\nmemory\n");
	printf("  Hyperscan stream state per flow : %zu bytes\n", rp_engine_stream_state_size(e));
	printf("  library side state, busy flow   : %zu bytes at most (history: context window + %d B, %d pending findings)\n",
	       rp_engine_stream_side_size(e), RP_TAIL, RP_PENDING_MAX);
	printf("  whole state per idle flow       : %zu bytes mean, %zu worst (after rp_stream_flush, "
	       "Hyperscan's included; %zu flows of the dense text)\n", idle.n ? idle.total / idle.n : 0, idle.worst, idle.n);
	printf("  scratch per thread              : %zu bytes\n", rp_scratch_size(s));
	rp_scratch_free(s);
	rp_engine_free(e);
	return 0;
}

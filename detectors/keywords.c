/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Context keywords, FR and EN. Each keyword becomes one Hyperscan pattern that matches it
 * case-insensitively, with or without accents, in UTF-8 or as a JSON escape (s\u00e9curit\u00e9),
 * with any run of blanks (NBSP included) between words. Acronyms ("NIR", "DP") are matched as
 * whole words in upper case only: lower-case "das" or "ins" is ordinary prose.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define C(x) (UINT64_C(1) << (x))

struct kw_def {
	const char *text;
	uint64_t classes;
	int mode; /* SUBSTR: anywhere, any case; WORD: whole word, any case; ACRO: whole word, as written */
};
#define SUBSTR 0
#define WORD 1
#define ACRO 2
#define LIT 3 /* a form written out by hand (JSON escape, no accent), same treatment as SUBSTR */
#define KEY 4 /* a JSON field name, quoted, any case: acronyms are lower case there */

static const struct kw_def builtin_kw[] = {
	{"NIR", C(KW_NIR), ACRO},
	{"NSS", C(KW_NIR), ACRO},
	{"INS", C(KW_NIR), ACRO},
	{"INSEE", C(KW_NIR), ACRO},
	{"nir", C(KW_NIR), KEY},
	{"nss", C(KW_NIR), KEY},
	{"ins", C(KW_NIR), KEY},
	{"n° sécu", C(KW_NIR), LIT},
	{"n\\u00b0 s\\u00e9cu", C(KW_NIR), LIT},
	{"no secu", C(KW_NIR), LIT},
	{"sécurité sociale", C(KW_NIR), SUBSTR},
	{"numéro de sécu", C(KW_NIR), LIT},
	{"num\\u00e9ro de s\\u00e9cu", C(KW_NIR), LIT},
	{"numero de secu", C(KW_NIR), LIT},
	{"matricule", C(KW_NIR), SUBSTR},
	{"immatriculation", C(KW_NIR), SUBSTR},
	{"assuré", C(KW_NIR) | C(KW_VITALE), SUBSTR},
	{"carte vitale", C(KW_NIR) | C(KW_VITALE), SUBSTR},
	{"social security", C(KW_NIR) | C(KW_SSN), SUBSTR},
	{"1.2.250.1.213.1.4.8", C(KW_NIR) | C(KW_FHIR_FR), SUBSTR},
	{"1.2.250.1.213.1.4.9", C(KW_FHIR_FR), SUBSTR},
	{"1.2.250.1.213.1.4.13", C(KW_NIR) | C(KW_FHIR_FR), SUBSTR},
	{"RPPS", C(KW_RPPS), ACRO},
	{"rpps", C(KW_RPPS), KEY},
	{"IdNat_PS", C(KW_RPPS), SUBSTR},
	{"prescripteur", C(KW_RPPS), SUBSTR},
	{"médecin traitant", C(KW_RPPS), SUBSTR},
	{"praticien", C(KW_RPPS), SUBSTR},
	{"FINESS", C(KW_FINESS), SUBSTR},
	{"établissement", C(KW_FINESS), SUBSTR},
	{"ADELI", C(KW_ADELI), SUBSTR},
	{"infirmier", C(KW_ADELI), SUBSTR},
	{"infirmière", C(KW_ADELI), SUBSTR},
	{"kinésithérapeute", C(KW_ADELI), SUBSTR},
	{"orthophoniste", C(KW_ADELI), SUBSTR},
	{"vitale", C(KW_VITALE), SUBSTR},
	{"IBAN", C(KW_IBAN), SUBSTR},
	{"RIB", C(KW_IBAN), ACRO},
	{"BIC", C(KW_IBAN), ACRO},
	{"virement", C(KW_IBAN), SUBSTR},
	{"coordonnées bancaires", C(KW_IBAN), SUBSTR},
	{"compte bancaire", C(KW_IBAN), SUBSTR},
	{"bank account", C(KW_IBAN), SUBSTR},
	{"carte bancaire", C(KW_CARD), SUBSTR},
	{"carte de crédit", C(KW_CARD), SUBSTR},
	{"credit card", C(KW_CARD), SUBSTR},
	{"card number", C(KW_CARD), SUBSTR},
	{"numéro de carte", C(KW_CARD), SUBSTR},
	{"CB", C(KW_CARD), ACRO},
	{"Visa", C(KW_CARD), WORD},
	{"Mastercard", C(KW_CARD), SUBSTR},
	{"American Express", C(KW_CARD), SUBSTR},
	{"CVV", C(KW_CARD), ACRO},
	{"cryptogramme", C(KW_CARD), SUBSTR},
	{"NPI", C(KW_NPI), ACRO},
	{"npi", C(KW_NPI), KEY},
	{"national provider", C(KW_NPI), SUBSTR},
	{"provider identifier", C(KW_NPI), SUBSTR},
	{"SSN", C(KW_SSN), ACRO},
	{"ssn", C(KW_SSN), KEY},
	{"DEA", C(KW_DEA), ACRO},
	{"tél", C(KW_PHONE), WORD},
	{"tel", C(KW_PHONE), WORD},
	{"téléphone", C(KW_PHONE), SUBSTR},
	{"portable", C(KW_PHONE), SUBSTR},
	{"phone", C(KW_PHONE), SUBSTR},
	{"joignable", C(KW_PHONE), SUBSTR},
	{"email", C(KW_EMAIL), SUBSTR},
	{"courriel", C(KW_EMAIL), SUBSTR},
	{"mail", C(KW_EMAIL), WORD},
	{"né le", C(KW_DOB), LIT},
	{"née le", C(KW_DOB), LIT},
	{"né(e) le", C(KW_DOB), LIT},
	{"n\\u00e9 le", C(KW_DOB), LIT},
	{"n\\u00e9e le", C(KW_DOB), LIT},
	{"n\\u00e9(e) le", C(KW_DOB), LIT},
	{"date de naissance", C(KW_DOB), SUBSTR},
	{"naissance", C(KW_DOB), SUBSTR},
	{"DDN", C(KW_DOB), ACRO},
	{"DOB", C(KW_DOB), ACRO},
	{"date of birth", C(KW_DOB), SUBSTR},
	{"birth date", C(KW_DOB), SUBSTR},
	{"birthdate", C(KW_DOB), SUBSTR},
	/* field names of records sent as JSON */
	{"dateofbirth", C(KW_DOB), SUBSTR},
	{"date_of_birth", C(KW_DOB), LIT},
	{"dob", C(KW_DOB), KEY},
	{"ddn", C(KW_DOB), KEY},
	{"born", C(KW_DOB), WORD},
	{"CIM-10", C(KW_ICD), LIT},
	{"CIM10", C(KW_ICD), LIT},
	{"CIM 10", C(KW_ICD), LIT},
	{"ICD-10", C(KW_ICD), LIT},
	{"ICD10", C(KW_ICD), LIT},
	{"diagnostic", C(KW_ICD), SUBSTR},
	{"diagnosis", C(KW_ICD), SUBSTR},
	{"DP", C(KW_ICD), ACRO},
	{"DAS", C(KW_ICD), ACRO},
	{"PMSI", C(KW_ICD), ACRO},
	{"ATC", C(KW_ATC), ACRO},
	{"médicament", C(KW_ATC), SUBSTR},
	{"traitement", C(KW_ATC), SUBSTR},
	{"medication", C(KW_ATC), SUBSTR},
	{"ordonnance", C(KW_ATC), SUBSTR},
	{"SIREN", C(KW_BUSINESS), SUBSTR},
	{"SIRET", C(KW_BUSINESS), SUBSTR},
	{"TVA", C(KW_BUSINESS), ACRO},
	{"RCS", C(KW_BUSINESS), ACRO},
	{"commande", C(KW_ORDER), SUBSTR},
	{"order", C(KW_ORDER), WORD},
	{"n° de suivi", C(KW_ORDER), SUBSTR},
	{"numéro de suivi", C(KW_ORDER), SUBSTR},
	{"tracking", C(KW_ORDER), SUBSTR},
	{"colis", C(KW_ORDER), SUBSTR},
	{"facture", C(KW_ORDER), SUBSTR},
	{"invoice", C(KW_ORDER), SUBSTR},
	{"1.2.250.1.213.1.1.1.1", C(KW_CDA_FR), SUBSTR},
};

/* Latin-1 letters that French uses, as the second byte of their UTF-8 form (first is 0xC3). */
static const struct {
	unsigned char lo, up;
	char base;
} accents[] = {
	{0xa9, 0x89, 'e'}, {0xa8, 0x88, 'e'}, {0xaa, 0x8a, 'e'}, {0xab, 0x8b, 'e'}, {0xa0, 0x80, 'a'},
	{0xa2, 0x82, 'a'}, {0xae, 0x8e, 'i'}, {0xaf, 0x8f, 'i'}, {0xb4, 0x94, 'o'}, {0xbb, 0x9b, 'u'},
	{0xb9, 0x99, 'u'}, {0xa7, 0x87, 'c'},
};

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* A literal, every byte but letters and digits escaped. */
static char *literal_regex(const char *text)
{
	struct sbuf b = {0};
	char tmp[8];
	for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))
			snprintf(tmp, sizeof(tmp), "%c", *s);
		else
			snprintf(tmp, sizeof(tmp), "\\x%02x", *s);
		sb_add(&b, tmp);
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Regex for one keyword (UTF-8 text); NULL on OOM. */
static char *keyword_regex(const char *text, bool word)
{
	struct sbuf b = {0};
	const unsigned char *s = (const unsigned char *)text;
	char tmp[128];

	/* Whole word; inside JSON a word may follow an escape such as \n. */
	if (word)
		sb_add(&b, "(?:\\b|\\\\[nrt])");
	for (size_t i = 0; s[i]; i++) {
		unsigned char ch = s[i];
		if (ch == 0xc3 && s[i + 1]) {
			unsigned char c2 = s[i + 1];
			bool done = false;
			for (size_t k = 0; k < sizeof(accents) / sizeof(accents[0]); k++) {
				if (accents[k].lo != c2 && accents[k].up != c2)
					continue;
				snprintf(tmp, sizeof(tmp), "(?:%c|\\xc3\\x%02x|\\xc3\\x%02x|\\\\u00%02x|\\\\u00%02x)",
					 accents[k].base, accents[k].lo, accents[k].up, accents[k].lo + 0x40,
					 accents[k].up + 0x40);
				sb_add(&b, tmp);
				done = true;
				break;
			}
			if (!done) {
				snprintf(tmp, sizeof(tmp), "\\xc3\\x%02x", c2);
				sb_add(&b, tmp);
			}
			i++;
		} else if (ch == 0xc2 && s[i + 1] == 0xb0) {
			/* n° : degree sign, masculine ordinal, a plain o, or nothing but a dot */
			sb_add(&b, "(?:\\xc2[\\xb0\\xba]|\\\\u00[bB][0aA]|o\\.?|\\.)?");
			i++;
		} else if (ch == ' ') {
			sb_add(&b, "(?:[\\s_]|\\xc2\\xa0|\\\\u00[aA]0|\\\\n){1,3}");
		} else if (ch == '-' || ch == '_') {
			sb_add(&b, "(?:[\\s_\\-]|\\xc2\\xa0|\\\\u00[aA]0)?");
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
			tmp[0] = (char)ch;
			tmp[1] = '\0';
			sb_add(&b, tmp);
		} else if (ch < 0x80) {
			snprintf(tmp, sizeof(tmp), "\\x%02x", ch);
			sb_add(&b, tmp);
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", ch);
			sb_add(&b, tmp);
		}
	}
	if (word)
		sb_add(&b, "\\b");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

#define MAX_VARIANTS 5
#define VARIANT_LEN 512

/*
 * The forms a keyword takes in traffic, each searched as a plain literal (any ASCII case): as
 * written, without accents, JSON-escaped (s\u00e9curit\u00e9), and with a capital accented first
 * letter ("Établissement") in UTF-8 and escaped. Literals keep the keyword database fast, where
 * one pattern with accent and escape alternations would not be.
 */
static size_t variants(const char *text, char out[MAX_VARIANTS][VARIANT_LEN])
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len[MAX_VARIANTS] = {0}, n = 0;
	bool first_accent = s[0] == 0xc3;

	for (size_t i = 0; s[i]; i++) {
		char buf[MAX_VARIANTS][8];
		unsigned char c2 = s[i + 1];
		int k = -1;
		if (s[i] == 0xc3 && c2)
			for (size_t a = 0; a < sizeof(accents) / sizeof(accents[0]); a++)
				if (accents[a].lo == c2 || accents[a].up == c2)
					k = (int)a;
		if (k >= 0) {
			unsigned lo = accents[k].lo, up = accents[k].up;
			snprintf(buf[0], 8, "%c%c", 0xc3, c2);
			snprintf(buf[1], 8, "%c", accents[k].base);
			snprintf(buf[2], 8, "\\u00%02x", c2 + 0x40);
			snprintf(buf[3], 8, "%c%c", 0xc3, i == 0 ? up : c2);
			snprintf(buf[4], 8, "\\u00%02x", (i == 0 ? up : c2) + 0x40);
			(void)lo;
			i++;
		} else if (s[i] == 0xc2 && c2 == 0xb0) {
			snprintf(buf[0], 8, "%c%c", 0xc2, 0xb0);
			snprintf(buf[1], 8, "o");
			snprintf(buf[2], 8, "\\u00b0");
			snprintf(buf[3], 8, "%c%c", 0xc2, 0xb0);
			snprintf(buf[4], 8, "\\u00b0");
			i++;
		} else {
			for (int v = 0; v < MAX_VARIANTS; v++)
				snprintf(buf[v], 8, "%c", s[i]);
		}
		for (int v = 0; v < MAX_VARIANTS; v++) {
			size_t bl = strlen(buf[v]);
			if (len[v] + bl + 1 > VARIANT_LEN)
				return 0;
			memcpy(out[v] + len[v], buf[v], bl + 1);
			len[v] += bl;
		}
	}
	n = first_accent ? 5 : 3;
	/* drop duplicates (a keyword without accents has one form) */
	for (size_t v = 1; v < n;) {
		bool dup = false;
		for (size_t w = 0; w < v; w++)
			dup = dup || strcasecmp(out[v], out[w]) == 0;
		if (dup) {
			memmove(out[v], out[v + 1 < n ? v + 1 : v], (n - v - 1) * VARIANT_LEN);
			n--;
		} else {
			v++;
		}
	}
	return n;
}

int rp_keywords_build(struct rp_engine *e, const struct rp_engine_config *cfg, char ***exprs_out,
		      unsigned **flags_out, unsigned **ids_out, size_t *n_out, char *err, size_t errlen)
{
	size_t n_builtin = sizeof(builtin_kw) / sizeof(builtin_kw[0]), n = n_builtin * MAX_VARIANTS, k = 0;
	char **exprs = NULL;
	unsigned *flags = NULL, *ids = NULL;
	char (*var)[VARIANT_LEN] = NULL;
	int r = -ENOMEM;

	for (size_t i = 0; i < cfg->n_custom; i++)
		for (const char *const *kw = cfg->custom[i].keywords; kw && *kw; kw++)
			n += MAX_VARIANTS;
	exprs = calloc(n, sizeof(*exprs));
	flags = calloc(n, sizeof(*flags));
	ids = calloc(n, sizeof(*ids));
	e->kw = calloc(n, sizeof(*e->kw));
	var = calloc(MAX_VARIANTS, VARIANT_LEN);
	if (!exprs || !flags || !ids || !e->kw || !var)
		goto fail;

	for (size_t i = 0; i < n_builtin; i++) {
		const struct kw_def *d = &builtin_kw[i];
		bool literal = d->mode != WORD && d->mode != ACRO;
		size_t nv = 1;
		if (d->mode == KEY) {
			/* "nir": in a JSON object, and \"nir\": in one sent inside a JSON string */
			nv = 2;
			snprintf(var[0], VARIANT_LEN, "\"%s\"", d->text);
			snprintf(var[1], VARIANT_LEN, "\\\"%s\\\"", d->text);
		} else if (literal) {
			nv = variants(d->text, var);
		}
		for (size_t v = 0; v < nv; v++, k++) {
			exprs[k] = literal ? literal_regex(var[v]) : keyword_regex(d->text, true);
			if (!exprs[k])
				goto fail;
			flags[k] = d->mode == ACRO ? 0 : HS_FLAG_CASELESS;
			ids[k] = PAT_KW_BASE + (unsigned)k;
			e->kw[k].classes = d->classes;
			e->kw[k].custom_class = KW_NONE;
		}
	}
	for (size_t i = 0; i < cfg->n_custom; i++) {
		size_t j = 0;
		for (const char *const *kw = cfg->custom[i].keywords; kw && *kw; kw++, j++) {
			/* Short custom keywords match as whole words only, else "ID" is everywhere. */
			bool word = strlen(*kw) <= 4;
			size_t nv = word ? 1 : variants(*kw, var);
			if (!**kw || strlen(*kw) > 200 || nv == 0) {
				if (err)
					snprintf(err, errlen, "detectors.custom[%zu] (%s): keywords[%zu]: empty or longer than 200 bytes",
						 i, cfg->custom[i].id, j);
				r = -EINVAL;
				goto fail;
			}
			for (size_t v = 0; v < nv; v++, k++) {
				exprs[k] = word ? keyword_regex(*kw, true) : literal_regex(var[v]);
				if (!exprs[k])
					goto fail;
				flags[k] = HS_FLAG_CASELESS;
				ids[k] = PAT_KW_BASE + (unsigned)k;
				e->kw[k].classes = 0;
				e->kw[k].custom_class = KW__BUILTIN + (uint32_t)i;
			}
		}
	}
	n = k;
	free(var);
	e->n_kw = n;
	*exprs_out = exprs;
	*flags_out = flags;
	*ids_out = ids;
	*n_out = n;
	return 0;

fail:
	free(var);
	for (size_t i = 0; exprs && i < n; i++)
		free(exprs[i]);
	free(exprs);
	free(flags);
	free(ids);
	free(e->kw);
	e->kw = NULL;
	return r;
}

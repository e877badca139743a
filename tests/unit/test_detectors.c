/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every built-in detector on realistic snippets and on the look-alikes it must ignore; custom
 * detectors from a policy; hostile input (binary, NUL, invalid UTF-8, huge streams).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_fixture.h"
#include "run_suite.h"

static void scan_stream(const char *s, size_t feed, struct collect *stream)
{
	struct rp_stream *st = NULL;
	size_t len = strlen(s);
	memset(stream, 0, sizeof(*stream));
	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	for (size_t i = 0; i < len; i += feed)
		ck_assert_int_eq(rp_stream_feed(st, scratch, s + i, len - i < feed ? len - i : feed, collect_cb, stream), 0);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, stream), 0);
}

static void scan_both(const char *s, struct collect *block, struct collect *stream)
{
	memset(block, 0, sizeof(*block));
	ck_assert_int_eq(rp_scan_block(engine, scratch, s, strlen(s), collect_cb, block), 0);
	/* streamed in 3-byte feeds: every value crosses a boundary */
	scan_stream(s, 3, stream);
}

/* Other feed sizes put the boundaries everywhere else: same findings, same offsets. */
static void check_feed_sizes(const char *text, const struct collect *block)
{
	static const size_t feeds[] = {1, 2, 5, 7, 16, 61};
	static struct collect s;
	for (size_t k = 0; k < sizeof(feeds) / sizeof(feeds[0]); k++) {
		scan_stream(text, feeds[k], &s);
		ck_assert_msg(s.n == block->n, "'%s' fed %zu bytes at a time: %u findings, block %u", text, feeds[k],
			      s.n, block->n);
		for (unsigned i = 0; i < s.n && i < MAXF; i++) {
			ck_assert_msg(has_finding(block, &s.f[i]), "'%s' fed %zu bytes at a time: %s at %llu not found by the block scan", text,
				      feeds[k], s.f[i].id, (unsigned long long)s.f[i].offset);
		}
	}
}

struct vec {
	const char *text;
	const char *det;
	unsigned want;
	const char *masked; /* of the first finding of det, or NULL */
};

static const struct vec vecs[] = {
	/* positives */
	{"Virement sur l'IBAN FR76 3000 6000 0112 3456 7890 189 svp", "iban", 1, "FR76 **** **** **** **** ***0 189"},
	{"IBAN: GB82 WEST 1234 5698 7654 32.", "iban", 1, NULL},
	{"{\"msg\":\"iban DE89370400440532013000\"}", "iban", 1, NULL},
	{"payé avec la carte 4111 1111 1111 1111 hier", "credit_card", 1, "4111 **** **** 1111"},
	{"amex 3782 822463 10005", "credit_card", 1, NULL},
	/* digits after a JSON escape start a value; digits glued to a letter are a token */
	{"{\"c\":\"carte :\\n4111111111111111\\u00e94111111111111111\\u00ea4111111111111111\"}", "credit_card", 3, NULL},
	{"{\"token\":\"f3a94111111111111111\",\"csrf\":\"e4111111111111111 4111\"}", "credit_card", 0, NULL},
	{"Le prescripteur (RPPS 10003361234) a signé", "fr_rpps", 1, "10*******34"},
	{"IdNat_PS 810003361234", "fr_rpps", 1, NULL},
	{"établissement FINESS 750712184", "fr_finess", 1, "75*****84"},
	{"infirmière n° ADELI 750712184", "fr_adeli", 1, NULL},
	{"Provider NPI: 1234567893", "us_npi", 1, "12******93"},
	{"SSN 123-45-6789 on file", "us_ssn", 1, "***-**-6789"},
	{"DEA number AB1234563", "us_dea", 1, "AB******3"},
	{"Appelez le 06 12 34 56 78 ou le +33 1 42 34 56 78", "phone_fr", 2, "06 ** ** ** 78"},
	{"écrire à jean.dupont@chu-lyon.fr demain", "email", 1, "j***.******@chu-lyon.fr"},
	/* the longest address where the domain could end more than once; what is no address */
	{"contact: jean.dupont@chu.example.fr.", "email", 1, "j***.******@chu.example.fr"},
	{"écrire à jean@chu.fr-lyon.com ou marie@chu.fr_old", "email", 1, "j***@chu.fr-lyon.com"},
	{"version jean@chu.fr.2 du 12", "email", 1, "j***@chu.fr"},
	{"écrire à jean@chu.fr", "email", 1, "j***@chu.fr"}, /* at the end of the data */
	{"a@b@chu.fr, x@.fr, y@chu..fr, z@chu.f, @chu.fr", "email", 1, "b@chu.fr"},
	{"{\"to\":\"jean@chu.fr\",\"cc\":\"a\\nmarie@chu-lyon.fr\"}", "email", 2, NULL},
	{"Patiente née le 12/03/1985 à Lyon", "date_of_birth", 1, "**/**/1985"},
	{"date de naissance : 3 février 1950", "date_of_birth", 1, NULL},
	{"DOB 1985-03-12", "date_of_birth", 1, "1985-**-**"},
	{"{\"c\":\"Patiente n\\u00e9e le 1er ao\\u00fbt\\u00a01950\"}", "date_of_birth", 1, NULL},
	{"né le 12 MARS 1985", "date_of_birth", 1, "** MARS 1985"},
	{"Diagnostic principal (CIM-10) : F32.1, DAS E11.9", "icd10", 2, "F**.*"},
	{"traitement par C09AA05 (ramipril)", "atc", 1, "C09****"},
	{"Diagnosis (ICD-10-CM): S72.001A, then T36.0X1A.", "icd10", 2, "S**.****"},
	/* a code starting a JSON string line, or after an escaped accent */
	{"{\"c\":\"diagnostic :\\nF32.1\\nE11.9\"}", "icd10", 2, NULL},
	{"{\"c\":\"CIM-10 (\\u00e9pisode) F32.1\"}", "icd10", 1, NULL},
	{"DOB: 1985-03-12T00:00:00Z", "date_of_birth", 1, "1985-**-**"},
	{"{\"dateOfBirth\":\"1985-03-11T23:00:00.000Z\"}", "date_of_birth", 1, NULL},
	{"{\"dob\":\"1985-03-12T00:00\"}", "date_of_birth", 1, NULL},
	{"{\"id\":42,\"dob\":\"1985-03-12\"}", "date_of_birth", 1, NULL},
	{"{\"m\":\"{\\\"dob\\\": \\\"1985-03-12\\\"}\"}", "date_of_birth", 1, NULL},
	{"{\"date_of_birth\": \"12/03/1985\"}", "date_of_birth", 1, NULL},
	/* beside the regions skipped at their trigger (scanner.c, inert_region): a year after a tab
	 * or a newline, a birth date-time after an event's one, a number after a lone one */
	{"Patiente née le 12 mars\t1985, à Lyon", "date_of_birth", 1, NULL},
	{"Patiente née le 12 mars\n1985, à Lyon", "date_of_birth", 1, NULL},
	/* the same in a JSON string: line breaks arrive escaped */
	{"{\"c\":\"Patiente n\\u00e9e le 12\\nmars\\n1985, \\u00e0 Lyon\"}", "date_of_birth", 1, "** mars 1985"},
	{"{\"c\":\"Patiente née le 12 mars\\r\\n1985.\"}", "date_of_birth", 1, NULL},
	{"{\"c\":\"née le 12 mars\\\\n1985\"}", "date_of_birth", 0, NULL}, /* a backslash, then n */
	{"{\"ts\":\"2026-03-15T12:34:56Z\",\"birthDate\":\"1985-03-12T00:00:00Z\"}", "date_of_birth", 1, NULL},
	{"{\"session\":69362845,\"rpps\":\"10003361234\"}", "fr_rpps", 1, NULL},
	{"{\"session\":69362845,\"nir\":\"295109912611193\"}", "fr_nir", 1, NULL},
	/* acronyms as JSON field names, in lower case: they say what the value is */
	{"{\"nir\":\"1 51 02 46 102 043\"}", "fr_nir_nokey", 1, NULL},
	{"{\"patient\":{\"rpps\":\"10003361234\"}}", "fr_rpps", 1, NULL},
	{"{\"m\":\"{\\\"npi\\\":\\\"1234567893\\\"}\"}", "us_npi", 1, NULL},
	{"{\"ddn\":\"12/03/1985\"}", "date_of_birth", 1, NULL},
	{"carte vitale n° 123456789012345678901", "fr_vitale", 1, NULL},
	{"NIR sans clé 1 51 02 46 102 043", "fr_nir_nokey", 1, "1 51 02 ** *** ***"},
	/* PDF text that lost its line break: the NIR is glued to the next word */
	{"NIR : 2 95 10 99 126 111 93POSTE 4521", "fr_nir", 1, "2 95 10 ** *** *** 93"},
	{"assuré 295109912611193le 3 mars", "fr_nir", 1, NULL},
	{"MSH|^~\\&|LAB|CHU|||20240101||ADT^A01|1|P|2.5\rPID|1||253072B07300470^^^INS-NIR", "hl7v2", 1, NULL},
	{"MSH|^~\\&|LAB|CHU|||20240101||ADT^A01|1|P|2.5\rPID|1||253072B07300470^^^INS-NIR", "fr_nir", 1, NULL},
	{"Voici le message : MSH|^~\\&|LAB|CHU|||20240101||ADT^A01|1|P|2.5", "hl7v2", 1, NULL},
	/* HL7 PID-7: the birth date's place in the segment is its context; MSH-7 and OBX-5 are not it */
	{"MSH|^~\\&|LAB|CHU|||20240101||ADT^A01|1|P|2.5\rPID|1||123456^^^CHU^PI||DUPONT^JEAN^^^^^L||19850312|M\rOBX|1|DT|x||19850312|",
	 "date_of_birth", 1, "1985****"},
	{"PID|1||253072B07300470^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^NH||MARTIN^ANNE||195003151230|F", "date_of_birth", 1,
	 "1950********"},
	{"{\"m\":\"MSH|^~\\\\&|A|B|||20240101||ADT^A04|7|P|2.5\\rPID|1||42^^^H^PI||DOE^JOHN||19721231|M\\r\"}", "date_of_birth", 1, NULL},
	{"PID|1||19850312|DUPONT^JEAN", "date_of_birth", 0, NULL},                 /* PID-3, not PID-7 */
	{"PID|1||42||DUPONT^JEAN||19851312|M", "date_of_birth", 0, NULL},          /* month 13 */
	{"XPID|1||42||DUPONT^JEAN||19850312|M", "date_of_birth", 0, NULL},         /* not a segment */
	{"PID|1||42||DUPONT\r^JEAN||19850312|M", "date_of_birth", 0, NULL},       /* another segment */
	{"{\"content\":\"r\u00e9sume :\\nMSH|^~\\\\&|LAB|CHU\"}", "hl7v2", 1, NULL},
	{"{\"resourceType\": \"Patient\", \"identifier\": [{\"system\": \"urn:oid:1.2.250.1.213.1.4.8\"}]}", "fhir", 1,
	 "FHIR Patient"},
	{"{\"messages\":[{\"content\":\"{\\\"resourceType\\\":\\\"Bundle\\\"}\"}]}", "fhir", 1, NULL},
	{"<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"1\"/></Patient>", "fhir", 1, NULL},
	{"<Observation xmlns=\"http://hl7.org/fhir\"><status value=\"final\"/>", "fhir", 1, "FHIR Observation"},
	{"{\"resourceType\":\"QuestionnaireResponse\",\"status\":\"completed\"}", "fhir", 1, NULL},
	{"<?xml version=\"1.0\"?><ClinicalDocument xmlns=\"urn:hl7-org:v3\"><templateId root=\"1.2.250.1.213.1.1.1.1\"/>",
	 "cda", 1, NULL},
	{"IBAN IT05X054281110100000012345L, merci", "iban", 1, "IT05*******************345L"},
	{"iban IT93 X054 2811 1010 0000 0123 ABC", "iban", 1, NULL},
	/* keywords: capital accented first letter, JSON-escaped, ASCII without accents */
	{"\u00c9tablissement 750712184", "fr_finess", 1, NULL},
	{"\xc3\x89tablissement 750712184", "fr_finess", 1, NULL},
	{"etablissement 750712184", "fr_finess", 1, NULL},
	{"{\"c\":\"n\\u00e9 le 12/03/1985\"}", "date_of_birth", 1, NULL},
	{"{\"c\":\"NIR\\u00a02\\u202f53\\u202f07\\u202f2B\\u202f073\\u202f004\\u202f70\"}", "fr_nir", 1,
	 "2 53 07 ** *** *** 70"},
	/* a clinical "suivi" (follow-up) is not an order-tracking context */
	{"suivi par son médecin.\nNPI: 1234567893", "us_npi", 1, NULL},
	/* look-alikes */
	{"SIRET 732 829 320 00074 et SIREN 732 829 320", "credit_card", 0, NULL},
	{"SIRET 732 829 320 00074 et SIREN 732 829 320", "fr_finess", 0, NULL},
	{"SIRET 732 829 320 00074 et SIREN 732 829 320", "fr_nir", 0, NULL},
	{"commande n° 4111111111111111 expédiée", "credit_card", 0, NULL},
	{"tél 06 12 34 56 78", "fr_nir", 0, NULL},
	{"numéro 750712184 sans contexte", "fr_finess", 0, NULL},
	{"numéro 10003361234 sans contexte", "fr_rpps", 0, NULL},
	{"{\"nirvana\":\"10003361234\",\"das\":1}", "fr_rpps", 0, NULL},
	{"le 12/03/1985 sans mot-clé", "date_of_birth", 0, NULL},
	{"né le 31/02/1985", "date_of_birth", 0, NULL},
	{"né le 12/03/1885", "date_of_birth", 0, NULL},
	{"SSN 078-05-1120", "us_ssn", 0, NULL},
	{"SSN 123-45 6789", "us_ssn", 0, NULL},
	{"IBAN FR76 3000 6000 0112 3456 7890 188", "iban", 0, NULL},
	{"version 1.2.250.1.213.1.4.8 build 12345678901234", "fr_nir", 0, NULL},
	{"montant 123 456 789 012,50 EUR", "fr_nir", 0, NULL},
	{"vitamine B12 et COVID19", "icd10", 0, NULL},
	/* timestamps beside the keywords: the T of an ISO time is no code, 2026-03-15 is a date, and
	 * a year no one alive was born in is no birth date */
	{"diagnostic {\"ts\":\"2026-03-15T12:34:56.789Z\"}", "icd10", 0, NULL},
	{"diagnostic ref 15T12 et aE11", "icd10", 0, NULL},
	{"né le 12/03/1885 ou 1885-03-12", "date_of_birth", 0, NULL},
	{"date de naissance 2185-03-12", "date_of_birth", 0, NULL},
	{"DOB updated at 2024-03-15T12:34:56Z", "date_of_birth", 0, NULL}, /* an event's time */
	{"CIM-10: C09AA05", "icd10", 0, NULL},
	/* "DP" (diagnostic principal) is a keyword, "DPw" is not: not even when a feed ends after the P */
	{"code S82 ref DPw", "icd10", 0, NULL},
	{"code S82 ref DP.", "icd10", 1, NULL},
	/* an event's time, not midnight: no birth date even beside the keyword */
	{"{\"dob\":\"2001-03-12T00:17:02.112Z\"}", "date_of_birth", 0, NULL},
	{"{\"dob\":\"2001-03-12T23:00:41Z\"}", "date_of_birth", 0, NULL},
	/* the user agent of every Linux browser, next to a diagnosis; an external cause is still one */
	{"diagnostic F32 User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0)", "icd10", 1, NULL},
	{"diagnostic : X11; hospitalisation", "icd10", 1, NULL},
	{"ref ZZ2951099126111930", "fr_nir", 0, NULL},
	{"lot 2951099126111930ABC", "fr_nir", 0, NULL},
	{"code 295109912611194POSTE", "fr_nir", 0, NULL},
	{"MSH pas en début|^~\\&", "hl7v2", 0, NULL},
	{"voir XMSH|^~\\&|LAB", "hl7v2", 0, NULL},
	/* conformance resources hold no patient data */
	{"{\"resourceType\": \"CapabilityStatement\", \"status\": \"active\"}", "fhir", 0, NULL},
	{"le 12 mars 2024 sans mot-clé", "date_of_birth", 0, NULL},
};

START_TEST(vectors)
{
	const struct vec *v = &vecs[_i];
	struct collect b, s;
	scan_both(v->text, &b, &s);
	ck_assert_msg(count_det(&b, v->det) == v->want, "block '%s': %s %u, want %u", v->text, v->det,
		      count_det(&b, v->det), v->want);
	ck_assert_msg(count_det(&s, v->det) == v->want, "stream '%s': %s %u, want %u", v->text, v->det,
		      count_det(&s, v->det), v->want);
	check_feed_sizes(v->text, &b);
	for (unsigned i = 0; i < b.n && i < MAXF; i++) {
		/* the value itself never appears in evidence */
		ck_assert(b.f[i].confidence > 0.0 && b.f[i].confidence <= 1.0);
		ck_assert_uint_le(b.f[i].offset + b.f[i].length, strlen(v->text));
		if (v->masked && strcmp(b.f[i].id, v->det) == 0) {
			ck_assert_str_eq(b.f[i].masked, v->masked);
			break;
		}
	}
}
END_TEST

START_TEST(dicom)
{
	unsigned char buf[400];
	struct collect c = {0};
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 128, "DICM\x02\x00\x00\x00UL\x04\x00", 12);
	ck_assert_int_eq(rp_scan_block(engine, scratch, buf, sizeof(buf), collect_cb, &c), 0);
	ck_assert_uint_eq(count_det(&c, "dicom"), 1);
	memset(&c, 0, sizeof(c));
	memset(buf, 'x', sizeof(buf));
	memcpy(buf + 128, "DICM", 4); /* DICM at 128 of the stream without the group header */
	ck_assert_int_eq(rp_scan_block(engine, scratch, buf, sizeof(buf), collect_cb, &c), 0);
	ck_assert_uint_eq(count_det(&c, "dicom"), 1);
	memset(&c, 0, sizeof(c));
	memcpy(buf + 128, "xxxx", 4);
	memcpy(buf + 200, "DICM", 4);
	ck_assert_int_eq(rp_scan_block(engine, scratch, buf, sizeof(buf), collect_cb, &c), 0);
	ck_assert_uint_eq(count_det(&c, "dicom"), 0);
}
END_TEST

START_TEST(settings)
{
	struct rp_engine_config cfg;
	struct rp_engine *e = NULL;
	struct rp_scratch *s = NULL;
	struct collect c = {0};
	const char *t = "NIR 2 95 10 99 126 111 93, tél 06 12 34 56 78";
	rp_engine_config_default(&cfg);
	cfg.builtin[RP_DET_FR_NIR].enabled = false;
	cfg.builtin[RP_DET_PHONE_FR].min_confidence = 0.99;
	ck_assert_int_eq(rp_engine_new(&cfg, &e, NULL, 0), 0);
	ck_assert_int_eq(rp_scratch_new(e, &s), 0);
	ck_assert_int_eq(rp_scan_block(e, s, t, strlen(t), collect_cb, &c), 0);
	ck_assert_uint_eq(c.n, 0);
	/* a scratch belongs to its engine */
	ck_assert_int_eq(rp_scan_block(engine, s, t, strlen(t), collect_cb, &c), -EINVAL);
	rp_scratch_free(s);
	rp_engine_free(e);
	cfg.builtin[RP_DET_PHONE_FR].min_confidence = 1.5;
	ck_assert_int_eq(rp_engine_new(&cfg, &e, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(custom_detectors)
{
	static const char *const kws[] = {"dossier", "IPP", NULL};
	struct rp_custom_detector cd[3];
	struct rp_engine_config cfg;
	struct rp_engine *e = NULL;
	struct rp_scratch *s = NULL;
	struct collect c = {0};
	char err[256] = "";
	const char *t = "dossier IPP-00123456 et patient IPP-00999999, carte 4111111111111111 / 4111111111111112";

	memset(cd, 0, sizeof(cd));
	snprintf(cd[0].id, sizeof(cd[0].id), "chu_ipp");
	cd[0].regex = "IPP-[0-9]{8}";
	cd[0].keywords = kws;
	cd[0].base_confidence = 0.6;
	cd[0].needs_context = true;
	snprintf(cd[1].id, sizeof(cd[1].id), "any_luhn16");
	cd[1].regex = "\\b[0-9]{16}\\b";
	cd[1].validator = "luhn";
	cd[1].base_confidence = 0.7;
	rp_engine_config_default(&cfg);
	cfg.custom = cd;
	cfg.n_custom = 2;
	ck_assert_int_eq(rp_engine_new(&cfg, &e, err, sizeof(err)), 0);
	ck_assert_uint_eq(rp_engine_detector_count(e), RP_DET__BUILTIN + 2);
	ck_assert_int_eq(rp_engine_detector_lookup(e, "chu_ipp"), RP_DET__BUILTIN);
	ck_assert_int_eq(rp_scratch_new(e, &s), 0);
	ck_assert_int_eq(rp_scan_block(e, s, t, strlen(t), collect_cb, &c), 0);
	/* both IPPs are within the window of "dossier"; only the Luhn-valid 16 digits count */
	ck_assert_uint_eq(count_det(&c, "chu_ipp"), 2);
	ck_assert_uint_eq(count_det(&c, "any_luhn16"), 1);
	for (unsigned i = 0; i < c.n; i++)
		if (strcmp(c.f[i].id, "chu_ipp") == 0) {
			ck_assert_str_eq(c.f[i].masked, "IP*-******56");
			ck_assert(c.f[i].confidence > 0.6);
			break;
		}
	rp_scratch_free(s);
	rp_engine_free(e);

	/* errors name the detector */
	snprintf(cd[2].id, sizeof(cd[2].id), "my_id");
	cd[2].regex = "([0-9]{4";
	cfg.n_custom = 3;
	e = NULL;
	ck_assert_int_eq(rp_engine_new(&cfg, &e, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(e);
	ck_assert_msg(strncmp(err, "detectors.custom[2] (my_id): invalid regex: ", 44) == 0, "%s", err);
	cd[2].regex = "[0-9]{4}";
	cd[2].validator = "crc64";
	ck_assert_int_eq(rp_engine_new(&cfg, &e, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "detectors.custom[2] (my_id): unknown validator") == err, "%s", err);
	cd[2].validator = NULL;
	snprintf(cd[2].id, sizeof(cd[2].id), "fr_nir");
	ck_assert_int_eq(rp_engine_new(&cfg, &e, err, sizeof(err)), -EEXIST);
	snprintf(cd[2].id, sizeof(cd[2].id), "chu_ipp");
	ck_assert_int_eq(rp_engine_new(&cfg, &e, err, sizeof(err)), -EEXIST);
	snprintf(cd[2].id, sizeof(cd[2].id), "lonely");
	cd[2].needs_context = true;
	ck_assert_int_eq(rp_engine_new(&cfg, &e, err, sizeof(err)), -EINVAL);
}
END_TEST

static int no_leak_cb(const struct rp_finding *f, void *userdata)
{
	(*(unsigned *)userdata)++;
	ck_assert_uint_lt(f->detector, RP_DET__BUILTIN);
	ck_assert(strlen(f->masked) < RP_MASKED_MAX);
	ck_assert(f->confidence >= 0.0 && f->confidence <= 1.0);
	return 0;
}

START_TEST(hostile_input)
{
	/* random bytes (deterministic), with NULs and invalid UTF-8, in odd-sized feeds */
	size_t len = 4u << 20;
	unsigned char *buf = malloc(len);
	unsigned seed = 12345, n = 0;
	struct rp_stream *st = NULL;
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		/* skewed towards digits, separators and escapes to exercise the walkers */
		unsigned r = (seed >> 16) & 0xff;
		buf[i] = r < 100 ? (unsigned char)('0' + r % 10) : r < 130 ? " .-\\u00a0\xc2\xa0\xe2\x80\xaf"[r % 14] : (unsigned char)r;
	}
	ck_assert_int_eq(rp_scan_block(engine, scratch, buf, len, no_leak_cb, &n), 0);
	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	for (size_t i = 0, k = 1; i < len; i += k, k = k * 7 % 5003 + 1)
		ck_assert_int_eq(rp_stream_feed(st, scratch, buf + i, i + k > len ? len - i : k, no_leak_cb, &n), 0);
	ck_assert_int_eq(rp_stream_skip(st, scratch, 12345, no_leak_cb, &n), 0);
	ck_assert_int_eq(rp_stream_close(st, scratch, no_leak_cb, &n), 0);
	/* one very long line of digits: no identifier, no crash */
	memset(buf, '7', len);
	ck_assert_int_eq(rp_scan_block(engine, scratch, buf, len, no_leak_cb, &n), 0);
	/* all NUL */
	memset(buf, 0, len);
	ck_assert_int_eq(rp_scan_block(engine, scratch, buf, len, no_leak_cb, &n), 0);
	free(buf);
}
END_TEST

START_TEST(huge_stream_bounded)
{
	/* 256 MiB streamed through one flow in 16 KiB feeds, with a NIR near the end */
	static char chunk[16384];
	struct rp_stream *st = NULL;
	struct collect c = {0};
	const char *nir = " NIR 2 95 10 99 126 111 93 ";
	memset(chunk, 'a', sizeof(chunk));
	for (size_t i = 0; i < sizeof(chunk); i += 80)
		chunk[i] = '\n';
	ck_assert_int_eq(rp_stream_open(engine, &st), 0);
	for (unsigned i = 0; i < 16384; i++)
		ck_assert_int_eq(rp_stream_feed(st, scratch, chunk, sizeof(chunk), collect_cb, &c), 0);
	ck_assert_int_eq(rp_stream_feed(st, scratch, nir, strlen(nir), collect_cb, &c), 0);
	ck_assert_int_eq(rp_stream_close(st, scratch, collect_cb, &c), 0);
	ck_assert_uint_eq(count_det(&c, "fr_nir"), 1);
	ck_assert_uint_eq(c.f[0].offset, (uint64_t)16384 * 16384 + 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("detectors");
	TCase *tc = tcase_create("all");

	/* compiling the databases takes a while: once per test case */
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, vectors, 0, sizeof(vecs) / sizeof(vecs[0]));
	tcase_add_test(tc, dicom);
	tcase_add_test(tc, settings);
	tcase_add_test(tc, custom_detectors);
	tcase_add_test(tc, hostile_input);
	tcase_add_test(tc, huge_stream_bounded);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The built-in Hyperscan patterns and the scoring table of the built-in detectors.
 *
 * Hyperscan gets what it is fast at: patterns with a rare literal of several bytes to anchor on
 * (structure markers). Digit runs, letter+digit codes, dates (a written date is found from its
 * year) and e-mail addresses are found by the C scanner (scanner.c); context keywords have their
 * own database, searched only around candidates (scoring.c). Patterns report where a value ends;
 * the C side walks back to its start: no start-of-match tracking, which would grow the stream
 * state.
 *
 * The e-mail pattern anchored on '@' made this whole database a third slower (a one-byte literal
 * weakens Hyperscan's literal filter for every other pattern: measured 5.7 against 8.6 GB/s on the
 * benchmark mix, the same with "@" alone); the scanner's windows find the '@' for a few
 * instructions each (text.c, rp_email_at).
 */
#include "internal.h"

static const char *const exprs[] = {
	/* HL7 v2 message header with the standard delimiters; inside JSON the escape character
	 * arrives doubled. What comes before MSH is checked in C (a leading alternation here, for
	 * "line start, MLLP or JSON string", cost a third of the whole database's time). */
	"MSH\\|\\^~\\\\{1,2}&",
	/* FHIR resources: anchored on the long literals; the resource type is checked in C (a
	 * long alternation of type names here slowed the whole database down, and the element name
	 * before the XML namespace cost 31 bytes of stream state per flow) */
	"resourceType\\\\?\"\\s*:\\s*\\\\?\"[A-Z][A-Za-z]{2,40}\\\\?\"",
	"xmlns=\\\\?\"http://hl7\\.org/fhir",
	"DICM\\x02\\x00\\x00\\x00UL",
	"\\A.{128}DICM",
	"<ClinicalDocument\\b",
	"urn:hl7-org:v3",
};

static const unsigned flags[] = {
	0, 0, 0, 0, HS_FLAG_DOTALL, 0, 0,
};

static const unsigned ids[] = {
	PAT_HL7, PAT_FHIR_JSON, PAT_FHIR_XML, PAT_DICOM_ANY, PAT_DICOM_128, PAT_CDA_ROOT, PAT_CDA_NS,
};

_Static_assert(sizeof(exprs) / sizeof(exprs[0]) == sizeof(flags) / sizeof(flags[0]), "flags");
_Static_assert(sizeof(exprs) / sizeof(exprs[0]) == sizeof(ids) / sizeof(ids[0]), "ids");

size_t rp_builtin_patterns(const char *const **e, const unsigned **f, const unsigned **i)
{
	*e = exprs;
	*f = flags;
	*i = ids;
	return sizeof(exprs) / sizeof(exprs[0]);
}

/*
 * A number of a common shape (9 to 13 digits passing a Luhn check by chance one time in ten) is
 * only what its keyword says if the keyword is close: "RPPS 10003361234", "le numéro FINESS de
 * l'établissement d'origine est ...". A keyword a paragraph away named another number.
 */
#define NEAR 120

/*
 * Base confidence (pattern, plus a valid checksum where there is one) and the context bonus.
 * Modelled on Purview's French SSN (checksum alone 0.75, with a keyword 0.85+) and Presidio
 * (context adds ~0.35). Detectors whose shape is common (9-11 digit Luhn numbers, dates, short
 * codes) need a keyword: without one they never count.
 */
static const struct {
	double base, bonus;
	bool needs_context;
	uint32_t kw;
	unsigned window; /* 0: the policy's context window */
} table[RP_DET__BUILTIN] = {
	[RP_DET_FR_NIR] = {0.75, 0.20, false, KW_NIR, 0},
	[RP_DET_FR_NIR_NOKEY] = {0.35, 0.40, true, KW_NIR, NEAR},
	[RP_DET_FR_RPPS] = {0.40, 0.45, true, KW_RPPS, NEAR},
	[RP_DET_FR_FINESS] = {0.40, 0.45, true, KW_FINESS, NEAR},
	[RP_DET_FR_ADELI] = {0.35, 0.45, true, KW_ADELI, NEAR},
	[RP_DET_FR_VITALE] = {0.40, 0.45, true, KW_VITALE, NEAR},
	[RP_DET_IBAN] = {0.80, 0.15, false, KW_IBAN, 0},
	[RP_DET_CREDIT_CARD] = {0.75, 0.20, false, KW_CARD, 0},
	[RP_DET_US_NPI] = {0.40, 0.45, true, KW_NPI, NEAR},
	[RP_DET_US_SSN] = {0.55, 0.35, false, KW_SSN, 0},
	[RP_DET_US_DEA] = {0.60, 0.30, false, KW_DEA, 0},
	[RP_DET_PHONE_FR] = {0.50, 0.20, false, KW_PHONE, 0},
	[RP_DET_EMAIL] = {0.60, 0.20, false, KW_EMAIL, 0},
	/* "né le 12/03/1985", "DOB: ...", "birthDate": a birth date's keyword is right beside it;
	 * the short window also keeps the many ordinary dates of clinical text cheap */
	[RP_DET_DATE_OF_BIRTH] = {0.40, 0.45, true, KW_DOB, 80},
	[RP_DET_ICD10] = {0.30, 0.50, true, KW_ICD, 0},
	[RP_DET_ATC] = {0.55, 0.30, false, KW_ATC, 0},
	[RP_DET_HL7V2] = {0.90, 0.05, false, KW_FHIR_FR, 0},
	[RP_DET_FHIR] = {0.85, 0.10, false, KW_FHIR_FR, 0},
	[RP_DET_CDA] = {0.90, 0.05, false, KW_CDA_FR, 0},
	[RP_DET_DICOM] = {0.90, 0.00, false, KW_NONE, 0},
};

void rp_builtin_info(struct rp_det_info det[RP_DET__BUILTIN], unsigned window)
{
	for (unsigned i = 0; i < RP_DET__BUILTIN; i++) {
		det[i].base = table[i].base;
		det[i].ctx_bonus = table[i].bonus;
		det[i].needs_context = table[i].needs_context;
		det[i].kw_class = table[i].kw;
		det[i].validator = VAL_NONE;
		det[i].window = table[i].window && table[i].window < window ? table[i].window : window;
	}
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Structured health records (HL7 v2, FHIR, DICOM; CDA is decided from two keywords in scoring.c)
 * and custom detectors from the policy. A record marker is reported once per stream or block:
 * one FHIR Bundle is one finding, not one per resource.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define LOOKBACK 96

/* FHIR resource types that carry a person's health data (R4). Administrative and conformance
 * resources (CapabilityStatement, ValueSet, Organization...) are not reported. */
static const char *const fhir_types[] = {
	"AllergyIntolerance", "Appointment", "Bundle", "CarePlan", "CareTeam", "ClinicalImpression",
	"Composition", "Condition", "Consent", "Coverage", "DiagnosticReport", "DocumentReference",
	"Encounter", "EpisodeOfCare", "FamilyMemberHistory", "Goal", "ImagingStudy", "Immunization",
	"MedicationAdministration", "MedicationDispense", "MedicationRequest", "MedicationStatement",
	"Observation", "Patient", "Practitioner", "PractitionerRole", "Procedure", "QuestionnaireResponse",
	"RelatedPerson", "RiskAssessment", "ServiceRequest", "Specimen",
};

static bool fhir_type_known(const char *name)
{
	for (size_t i = 0; i < sizeof(fhir_types) / sizeof(fhir_types[0]); i++)
		if (strcmp(name, fhir_types[i]) == 0)
			return true;
	return false;
}

/* Position of the last occurrence of lit in the bytes before end (within LOOKBACK), or -1. */
static int64_t find_back(const struct rp_view *v, uint64_t end, const char *lit, uint8_t *buf, uint64_t *base)
{
	size_t ll = strlen(lit);
	uint64_t from = end > LOOKBACK ? end - LOOKBACK : 0;
	/* the view may not reach that far back */
	while (from < end && view_byte(v, from) < 0)
		from++;
	if (!rp_view_gather(v, from, end, buf))
		return -1;
	*base = from;
	for (size_t i = (size_t)(end - from); i >= ll; i--)
		if (memcmp(buf + i - ll, lit, ll) == 0)
			return (int64_t)(from + i - ll);
	return -1;
}

/* How far back from a birth date "PID|" may start: fields 1 to 6 are identifiers and a name. */
#define PID_REACH 512

/*
 * HL7 v2 PID-7, the patient's birth date: YYYYMMDD (a time may follow) right after the seventh
 * field separator of a PID segment. Its place in the segment says what it is, as a keyword would;
 * the same eight digits elsewhere in a message (an OBX value, a message date) are not one. end:
 * where the g digits end, a '|' before them.
 */
void rp_hl7_birth_date(struct rp_scan_ctx *c, uint64_t end, uint32_t g)
{
	const struct rp_view *v = &c->v;
	uint64_t start = end - g, from, pid;
	uint8_t buf[PID_REACH];
	int after = view_byte(v, end), year = 0, month = 0, day = 0;
	unsigned pipes = 0;
	size_t i;

	/* the field is the date: a component ('^'), the next field or the segment's end follows */
	if (after >= 0 && after != '|' && after != '^' && after != '\r' && after != '\n' && after != '\\' &&
	    after != '"')
		return;
	from = start > PID_REACH ? start - PID_REACH : 0;
	while (from < start && view_byte(v, from) < 0)
		from++;
	if (from == start || !rp_view_gather(v, from, start, buf))
		return;
	for (i = (size_t)(start - from); i > 0; i--) {
		uint8_t b = buf[i - 1];
		/* the segment started before: this is not PID's field */
		if (b == '\r' || b == '\n' || ((b == 'r' || b == 'n') && i >= 2 && buf[i - 2] == '\\'))
			return;
		if (b == '|' && ++pipes == 7)
			break;
	}
	if (pipes != 7 || i < 4 || memcmp(buf + i - 4, "PID", 3) != 0)
		return;
	pid = from + i - 4;
	/* PID starts a segment: a line, an MLLP frame, a JSON string ("\r" escapes count) */
	if (!rp_view_boundary_before(v, pid))
		return;
	for (uint32_t k = 0; k < 8; k++) {
		int d = view_byte(v, start + k) - '0';
		if (k < 4)
			year = year * 10 + d;
		else if (k < 6)
			month = month * 10 + d;
		else
			day = day * 10 + d;
	}
	if (!rp_date_valid(day, month, year, c->e->now_year))
		return;
	/* the year stays, month and day go: "1985****" */
	rp_candidate_in_context(c, RP_DET_DATE_OF_BIRTH, start, g, &(struct rp_evidence){NULL, g, 4, 0, NULL});
}

void rp_marker(struct rp_scan_ctx *c, unsigned pat, uint64_t end)
{
	struct rp_side *sd = c->side;
	uint8_t buf[LOOKBACK];
	uint64_t base = 0;
	char masked[RP_MASKED_MAX];
	int64_t at;

	switch (pat) {
	case PAT_HL7:
		if (sd->hl7_done)
			return;
		at = find_back(&c->v, end, "MSH", buf, &base);
		/* a segment starts a line, an MLLP frame, a JSON string or follows a blank, not a word */
		if (at < 0 || !rp_view_boundary_before(&c->v, (uint64_t)at))
			return;
		sd->hl7_done = true;
		snprintf(masked, sizeof(masked), "MSH%c^~\\&", buf[at - (int64_t)base + 3]);
		rp_candidate(c, RP_DET_HL7V2, (uint64_t)at, end - (uint64_t)at, &(struct rp_evidence){.fixed = masked});
		return;
	case PAT_FHIR_JSON: {
		size_t i, j, k = 0;
		char name[48];
		if (sd->fhir_done)
			return;
		at = find_back(&c->v, end, "resourceType", buf, &base);
		if (at < 0)
			return;
		/* the resource type is the last word of the match */
		i = (size_t)(end - base);
		while (i > 0 && !isalpha(buf[i - 1]))
			i--;
		j = i;
		while (i > 0 && isalpha(buf[i - 1]))
			i--;
		while (i < j && k + 1 < sizeof(name))
			name[k++] = (char)buf[i++];
		name[k] = '\0';
		if (!fhir_type_known(name))
			return;
		sd->fhir_done = true;
		/* include the opening quote of "resourceType" */
		if (at > (int64_t)base && buf[at - (int64_t)base - 1] == '"')
			at--;
		snprintf(masked, sizeof(masked), "FHIR %s", name);
		rp_candidate(c, RP_DET_FHIR, (uint64_t)at, end - (uint64_t)at, &(struct rp_evidence){.fixed = masked});
		return;
	}
	case PAT_FHIR_XML: {
		/* "<Patient xmlns="http://hl7.org/fhir": the element is the resource, its name after
		 * the '<' before the namespace (when that is still in view: else reported unnamed) */
		size_t i, k = 0;
		char name[48] = "resource";
		if (sd->fhir_done)
			return;
		at = find_back(&c->v, end, "<", buf, &base);
		if (at >= 0) {
			i = (size_t)(at - (int64_t)base) + 1;
			while (i < (size_t)(end - base) && (isalpha(buf[i]) || buf[i] == ':') && k + 1 < sizeof(name)) {
				/* a namespace prefix ("fhir:Patient") is not part of the type */
				if (buf[i] == ':')
					k = 0;
				else
					name[k++] = (char)buf[i];
				i++;
			}
			name[k] = '\0';
			if (!fhir_type_known(name))
				return;
		} else {
			at = (int64_t)(end - strlen("xmlns=\"http://hl7.org/fhir"));
		}
		sd->fhir_done = true;
		snprintf(masked, sizeof(masked), "FHIR %s", name);
		rp_candidate(c, RP_DET_FHIR, (uint64_t)at, end - (uint64_t)at, &(struct rp_evidence){.fixed = masked});
		return;
	}
	case PAT_CDA_ROOT:
		sd->cda_root = end;
		rp_cda_check(c);
		return;
	case PAT_CDA_NS:
		sd->cda_ns = end;
		rp_cda_check(c);
		return;
	case PAT_DICOM_ANY:
	case PAT_DICOM_128:
		if (sd->dicom_done)
			return;
		sd->dicom_done = true;
		if (pat == PAT_DICOM_ANY)
			rp_candidate(c, RP_DET_DICOM, end - 10, 10, &(struct rp_evidence){.fixed = "DICM"});
		else
			rp_candidate(c, RP_DET_DICOM, end - 4, 4, &(struct rp_evidence){.fixed = "DICM"});
		return;
	default:
		return;
	}
}

void rp_custom(struct rp_scan_ctx *c, unsigned idx, uint64_t from, uint64_t end)
{
	unsigned det = RP_DET__BUILTIN + idx;
	const struct rp_det_info *d;
	uint8_t raw[RP_RAW_MAX];
	char sig[RP_RAW_MAX];
	size_t n = 0, len;

	if (det >= c->e->n_det || end < from)
		return;
	d = &c->e->det[det];
	len = (size_t)(end - from);
	if (len == 0)
		return;
	if (len > RP_RAW_MAX || !rp_view_gather(&c->v, from, end, raw)) {
		/* the value is no longer in view: it can be reported, not validated */
		if (d->validator != VAL_NONE)
			return;
		rp_candidate(c, det, from, len, &(struct rp_evidence){.fixed = "***"});
		return;
	}
	for (size_t i = 0; i < len;) {
		size_t sl = rp_sep_len_fwd(raw + i, len - i);
		if (sl) {
			i += sl;
			continue;
		}
		if (isalnum(raw[i]))
			sig[n++] = (char)toupper(raw[i]);
		i++;
	}
	if (!rp_validator_run(d->validator, sig, n))
		return;
	/* short values are masked whole */
	rp_candidate(c, det, from, len, &(struct rp_evidence){raw, len, n >= 8 ? 2 : 0, n >= 8 ? 2 : 0, NULL});
}

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

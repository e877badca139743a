/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The stable ids of the built-in detectors: policies, alerts and `rempart scan` use these names. */
#include <errno.h>
#include <string.h>

#include "detectors.h"

static const char *const builtin_ids[RP_DET__BUILTIN] = {
	[RP_DET_FR_NIR] = "fr_nir",
	[RP_DET_FR_NIR_NOKEY] = "fr_nir_nokey",
	[RP_DET_FR_RPPS] = "fr_rpps",
	[RP_DET_FR_FINESS] = "fr_finess",
	[RP_DET_FR_ADELI] = "fr_adeli",
	[RP_DET_FR_VITALE] = "fr_vitale",
	[RP_DET_IBAN] = "iban",
	[RP_DET_CREDIT_CARD] = "credit_card",
	[RP_DET_US_NPI] = "us_npi",
	[RP_DET_US_SSN] = "us_ssn",
	[RP_DET_US_DEA] = "us_dea",
	[RP_DET_PHONE_FR] = "phone_fr",
	[RP_DET_EMAIL] = "email",
	[RP_DET_DATE_OF_BIRTH] = "date_of_birth",
	[RP_DET_ICD10] = "icd10",
	[RP_DET_ATC] = "atc",
	[RP_DET_HL7V2] = "hl7v2",
	[RP_DET_FHIR] = "fhir",
	[RP_DET_CDA] = "cda",
	[RP_DET_DICOM] = "dicom",
};

const char *rp_detector_builtin_id(unsigned idx)
{
	return idx < RP_DET__BUILTIN ? builtin_ids[idx] : NULL;
}

int rp_detector_builtin_lookup(const char *id)
{
	if (!id)
		return -EINVAL;
	for (unsigned i = 0; i < RP_DET__BUILTIN; i++)
		if (strcmp(builtin_ids[i], id) == 0)
			return (int)i;
	return -ENOENT;
}

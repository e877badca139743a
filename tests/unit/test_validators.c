/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Validators against published vectors, and their near misses. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "run_suite.h"

#define S(x) x, strlen(x)

START_TEST(luhn)
{
	ck_assert(rp_luhn(S("79927398713")));
	ck_assert(!rp_luhn(S("79927398710")));
	ck_assert(rp_luhn(S("750712184")));   /* FINESS from DETECTORS.md */
	ck_assert(rp_luhn(S("10003361234")));
	ck_assert(!rp_luhn(S("1000336123a")));
	ck_assert(!rp_luhn(S("7")));
}
END_TEST

START_TEST(nir)
{
	ck_assert(rp_nir_valid(S("295109912611193")));
	ck_assert(rp_nir_valid(S("253072B07300470")));
	ck_assert(rp_nir_valid(S("253072A07300443")));
	ck_assert(rp_nir_valid(S("151024610204325")));
	ck_assert(!rp_nir_valid(S("295109912611194")));  /* wrong key */
	ck_assert(!rp_nir_valid(S("253072A07300470")));  /* 2B key with 2A */
	ck_assert(!rp_nir_valid(S("551024610204325")));  /* sex 5 */
	ck_assert(!rp_nir_valid(S("15102461020432")));   /* 14 chars */
	ck_assert(!rp_nir_shape(S("1511346102043")));    /* month 13 */
	ck_assert(!rp_nir_shape(S("1510200000043")));    /* dept 00 */
	ck_assert(!rp_nir_shape(S("1510246000043")));    /* commune 000 */
	ck_assert(rp_nir_shape(S("1519997102043")));     /* month 99 is allowed (unknown) */
	ck_assert(rp_nir_shape(S("1510297102043")));     /* overseas 971 */
	ck_assert(!rp_nir_shape(S("1510297902043")));    /* 979 is not a department */
}
END_TEST

START_TEST(iban)
{
	ck_assert(rp_iban_valid(S("FR7630006000011234567890189")));
	ck_assert(rp_iban_valid(S("GB82WEST12345698765432")));
	ck_assert(rp_iban_valid(S("DE89370400440532013000")));
	ck_assert(rp_iban_valid(S("BE68539007547034")));
	ck_assert(rp_iban_valid(S("NL91ABNA0417164300")));
	ck_assert(rp_iban_valid(S("CH9300762011623852957")));
	ck_assert(!rp_iban_valid(S("FR7630006000011234567890188")));
	ck_assert(!rp_iban_valid(S("FR763000600001123456789018")));  /* FR is 27 long */
	ck_assert(!rp_iban_valid(S("ZZ7630006000011234567890189"))); /* unknown country */
	ck_assert_int_eq(rp_iban_country_length("FR"), 27);
	ck_assert_int_eq(rp_iban_country_length("NO"), 15);
}
END_TEST

START_TEST(cards)
{
	ck_assert(rp_card_valid(S("4111111111111111")));
	ck_assert(rp_card_valid(S("4222222222222")));
	ck_assert(rp_card_valid(S("5555555555554444")));
	ck_assert(rp_card_valid(S("2221000000000009")));
	ck_assert(rp_card_valid(S("378282246310005")));
	ck_assert(rp_card_valid(S("6011111111111117")));
	ck_assert(rp_card_valid(S("3530111333300000")));
	ck_assert(rp_card_valid(S("30569309025904")));
	ck_assert(!rp_card_valid(S("4111111111111112")));  /* Luhn */
	ck_assert(!rp_card_valid(S("1234567812345670")));  /* Luhn ok, no issuer */
	ck_assert(!rp_card_valid(S("73282932000074")));    /* SIRET: Luhn ok, no issuer */
	ck_assert(!rp_card_valid(S("37828224631000")));    /* Amex is 15 long */
	{
		unsigned g4[] = {4, 4, 4, 4}, amex[] = {4, 6, 5}, siret[] = {3, 3, 3, 5};
		ck_assert(rp_card_grouping_ok(g4, 4, 16));
		ck_assert(rp_card_grouping_ok(amex, 3, 15));
		ck_assert(!rp_card_grouping_ok(siret, 4, 14));
	}
}
END_TEST

START_TEST(us_ids)
{
	ck_assert(rp_npi_valid(S("1234567893")));
	ck_assert(!rp_npi_valid(S("1234567890")));
	ck_assert(!rp_npi_valid(S("3234567893")));
	ck_assert(rp_ssn_valid(S("123456789")));
	ck_assert(!rp_ssn_valid(S("000456789")));
	ck_assert(!rp_ssn_valid(S("666456789")));
	ck_assert(!rp_ssn_valid(S("912456789")));
	ck_assert(!rp_ssn_valid(S("123006789")));
	ck_assert(!rp_ssn_valid(S("123450000")));
	ck_assert(!rp_ssn_valid(S("078051120")));
	ck_assert(!rp_ssn_valid(S("457555462")));
	ck_assert(!rp_ssn_valid(S("219099999")));
	ck_assert(rp_dea_valid(S("AB1234563")));
	ck_assert(!rp_dea_valid(S("AB1234564")));
	ck_assert(!rp_dea_valid(S("IB1234563")));  /* I is not a registrant type */
	ck_assert(rp_nif_valid(S("0123456789211")));
	ck_assert(!rp_nif_valid(S("0123456789212")));
}
END_TEST

START_TEST(dates)
{
	ck_assert(rp_date_valid(29, 2, 2000, 2025));
	ck_assert(!rp_date_valid(29, 2, 1900, 2025));
	ck_assert(!rp_date_valid(31, 4, 1980, 2025));
	ck_assert(!rp_date_valid(1, 13, 1980, 2025));
	ck_assert(!rp_date_valid(1, 1, 1900, 2025));  /* 125 years old */
	ck_assert(!rp_date_valid(1, 1, 2030, 2025));  /* future */
	ck_assert(rp_date_valid(12, 3, 1985, 2025));
}
END_TEST

START_TEST(names)
{
	const char *const *n = rp_validator_names();
	unsigned count = 0;
	for (; n[count]; count++)
		ck_assert_int_gt(rp_validator_lookup(n[count]), 0);
	ck_assert_uint_ge(count, 5);
	ck_assert_int_eq(rp_validator_lookup("nope"), -ENOENT);
	ck_assert(rp_validator_run(rp_validator_lookup("iban"), S("FR7630006000011234567890189")));
	ck_assert(!rp_validator_run(rp_validator_lookup("luhn"), S("79927398710")));
	ck_assert_str_eq(rp_detector_builtin_id(RP_DET_FR_NIR), "fr_nir");
	ck_assert_int_eq(rp_detector_builtin_lookup("us_dea"), RP_DET_US_DEA);
	ck_assert_ptr_null(rp_detector_builtin_id(RP_DET__BUILTIN));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("validators");
	TCase *tc = tcase_create("vectors");

	tcase_add_test(tc, luhn);
	tcase_add_test(tc, nir);
	tcase_add_test(tc, iban);
	tcase_add_test(tc, cards);
	tcase_add_test(tc, us_ids);
	tcase_add_test(tc, dates);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The end of every unit test's main(): run the suite, exit non-zero when a test failed. */
#ifndef REMPART_TESTS_RUN_SUITE_H
#define REMPART_TESTS_RUN_SUITE_H

#include <check.h>
#include <stdlib.h>

static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif

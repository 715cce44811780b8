/* Tiny driver for CUnit suites.
 *
 * A unit-test file defines its tests and ends with
 *
 *     CUTEST_MAIN("ipc-frame",
 *             CUTEST(test_frame_roundtrip),
 *             CUTEST(test_frame_rejects_short));
 *
 * The binary runs every test and prints CUnit's report plus the closing
 * line "N passed, N failed" that tests/run-suites.sh adds up.  A test may
 * call CUTEST_SKIP("why") to count as skipped.
 */
#ifndef MICA_CUTEST_H
#define MICA_CUTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <CUnit/Basic.h>

struct cutest_case {
	const char *name;
	void (*fn)(void);
};

#define CUTEST(fn) { #fn, fn }

extern unsigned cutest_skipped;
unsigned cutest_skipped;

#define CUTEST_SKIP(why) \
	do { \
		printf("  skipped: %s: %s\n", __func__, (why)); \
		cutest_skipped++; \
		return; \
	} while (0)

static inline int cutest_run(const char *suite_name,
			     const struct cutest_case *cases, size_t n)
{
	CU_pSuite suite;
	unsigned run, failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite(suite_name, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		CU_add_test(suite, cases[i].name, cases[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	printf("\n%s: %u passed, %u failed, %u skipped\n", suite_name,
	       run - failed - cutest_skipped, failed, cutest_skipped);
	return failed ? 1 : 0;
}

#define CUTEST_MAIN(name, ...) \
	int main(void) \
	{ \
		static const struct cutest_case cases[] = { __VA_ARGS__ }; \
		return cutest_run(name, cases, sizeof(cases) / sizeof(cases[0])); \
	}

#endif

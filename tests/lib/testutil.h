/* Small helpers for C test programs. */
#ifndef MICA_TESTUTIL_H
#define MICA_TESTUTIL_H

/* system() of a formatted command line; returns its wait status. */
int test_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Path of a Mica program: $MICA_BIN/NAME, else build/bin/NAME. */
const char *test_program(const char *name);

#include <sys/types.h>

/* Start argv[0] with argv as a child; its stderr goes to /dev/null
 * unless MICA_TEST_VERBOSE is set.  Returns the pid (or -1). */
pid_t test_spawn(char *const argv[]);

#endif

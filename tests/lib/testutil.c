#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "testutil.h"

int test_run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

const char *test_program(const char *name)
{
	static char path[512];
	const char *bin = getenv("MICA_BIN");

	snprintf(path, sizeof(path), "%s/%s", bin != NULL ? bin : "build/bin", name);
	return path;
}

pid_t test_spawn(char *const argv[])
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (getenv("MICA_TEST_VERBOSE") == NULL)
			dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

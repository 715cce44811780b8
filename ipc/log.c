#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char log_tag_buf[32] = "mica";
static bool log_silent;

void log_quiet(bool quiet)
{
	log_silent = quiet;
}

void log_init(const char *tag)
{
	snprintf(log_tag_buf, sizeof(log_tag_buf), "%s", tag);
}

const char *log_tag(void)
{
	return log_tag_buf;
}

bool log_debug_enabled(const char *component)
{
	const char *list = getenv("MICA_DEBUG");
	size_t len = strlen(component);

	if (list == NULL)
		return false;
	if (strcmp(list, "all") == 0)
		return true;
	for (const char *p = list; *p != '\0'; p += strcspn(p, ",")) {
		p += (*p == ',');
		if (strncmp(p, component, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return true;
	}
	return false;
}

static void log_vmsg(const char *func, int errnum, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	if (log_silent)
		return;

	n = snprintf(buf, sizeof(buf), "%s: ", log_tag_buf);
	if (func != NULL && n < (int)sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, "%s: ", func);
	if (n < (int)sizeof(buf))
		n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (errnum != 0 && n < (int)sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(errnum));
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line so lines from several processes do not interleave. */
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

void log_msg(const char *func, int errnum, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vmsg(func, errnum, fmt, ap);
	va_end(ap);
	errno = saved;
}

void log_fatal(const char *func, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(func, errnum, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Logging shared by every Mica process.
 *
 * Messages go to stderr prefixed with the process tag (set once with
 * log_init) and the calling function:  "mica-blk: vq_pop_chain: ...".
 * log_warn appends strerror(errno); log_warnx does not.  log_debug prints
 * only when the component was named in MICA_DEBUG (comma list, or "all").
 */
#ifndef MICA_LOG_H
#define MICA_LOG_H

#include <stdbool.h>
#include <stdnoreturn.h>

void log_init(const char *tag);
const char *log_tag(void);
bool log_debug_enabled(const char *component);
/* Drop warnings and info (fuzzers, which feed garbage on purpose). */
void log_quiet(bool quiet);

void log_msg(const char *func, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
noreturn void log_fatal(const char *func, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_warn(...)  log_msg(__func__, errno, __VA_ARGS__)
#define log_warnx(...) log_msg(__func__, 0, __VA_ARGS__)
#define log_info(...)  log_msg(NULL, 0, __VA_ARGS__)
#define fatal(...)     log_fatal(__func__, errno, __VA_ARGS__)
#define fatalx(...)    log_fatal(__func__, 0, __VA_ARGS__)
#define log_debug(component, ...) \
	do { \
		if (log_debug_enabled(component)) \
			log_msg(__func__, 0, __VA_ARGS__); \
	} while (0)

#endif

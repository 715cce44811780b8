/* Code buffer mapped twice from one memfd: a writable view the
 * translator writes into and an executable view the CPU runs (W^X: no
 * mapping is both writable and executable). */
#ifndef MICA_TRANSLATOR_CODEBUF_H
#define MICA_TRANSLATOR_CODEBUF_H

#include <stddef.h>
#include <stdint.h>

struct codebuf {
	uint8_t *rw;		/* writable view */
	uint8_t *rx;		/* executable view */
	size_t size;
	size_t used;
	size_t reserved;	/* trampolines at the start, never flushed */
};

/* Returns 0 or a negative errno. */
int codebuf_init(struct codebuf *cb, size_t size);
void codebuf_reset(struct codebuf *cb);
/* Fork support: both views are MAP_SHARED, so parent and child would
 * write into each other's code.  Before fork, codebuf_snapshot() copies
 * the buffer into a new memfd (returns it, or a negative errno); the
 * child maps it over both views with codebuf_adopt(), which closes FD.
 * Returns 0 or a negative errno. */
int codebuf_snapshot(const struct codebuf *cb);
int codebuf_adopt(struct codebuf *cb, int fd);
static inline uint64_t codebuf_exec_addr(const struct codebuf *cb, size_t off)
{
	return (uint64_t)(uintptr_t)(cb->rx + off);
}
static inline int codebuf_contains(const struct codebuf *cb, uint64_t pc)
{
	return pc >= (uint64_t)(uintptr_t)cb->rx &&
	       pc < (uint64_t)(uintptr_t)(cb->rx + cb->size);
}

#endif

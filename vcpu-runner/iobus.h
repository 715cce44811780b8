/* Port I/O and MMIO dispatch inside the runner: a sorted table of
 * [base, base+len) ranges, each with read/write callbacks that get the
 * absolute address.  Unclaimed reads return all ones, writes are dropped. */
#ifndef MICA_IOBUS_H
#define MICA_IOBUS_H

#include <stdint.h>

struct io_handler {
	uint64_t (*read)(void *opaque, uint64_t addr, unsigned size);
	void (*write)(void *opaque, uint64_t addr, unsigned size, uint64_t val);
};

#define IOBUS_MAX_RANGES 64

struct iobus {
	struct iobus_range {
		uint64_t base, len;
		const struct io_handler *ops;
		void *opaque;
	} range[IOBUS_MAX_RANGES];
	unsigned nr;
};

/* 0, -EEXIST on overlap, -ENOSPC when full, -EINVAL for len 0. */
int iobus_register(struct iobus *bus, uint64_t base, uint64_t len,
		   const struct io_handler *ops, void *opaque);
/* 0 or -ENOENT. */
int iobus_unregister(struct iobus *bus, uint64_t base);
/* Return 1 if a handler took the access, 0 if none claimed it. */
int iobus_read(const struct iobus *bus, uint64_t addr, unsigned size,
	       uint64_t *val);
int iobus_write(const struct iobus *bus, uint64_t addr, unsigned size,
		uint64_t val);

#endif

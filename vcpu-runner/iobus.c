#include <errno.h>
#include <string.h>

#include "iobus.h"

int iobus_register(struct iobus *bus, uint64_t base, uint64_t len,
		   const struct io_handler *ops, void *opaque)
{
	unsigned pos = 0;

	if (len == 0 || base + len < base)
		return -EINVAL;
	if (bus->nr == IOBUS_MAX_RANGES)
		return -ENOSPC;
	for (unsigned i = 0; i < bus->nr; i++) {
		const struct iobus_range *r = &bus->range[i];

		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
		if (r->base < base)
			pos = i + 1;
	}
	memmove(&bus->range[pos + 1], &bus->range[pos],
		(bus->nr - pos) * sizeof(bus->range[0]));
	bus->range[pos] = (struct iobus_range){ base, len, ops, opaque };
	bus->nr++;
	return 0;
}

int iobus_unregister(struct iobus *bus, uint64_t base)
{
	for (unsigned i = 0; i < bus->nr; i++) {
		if (bus->range[i].base != base)
			continue;
		memmove(&bus->range[i], &bus->range[i + 1],
			(bus->nr - i - 1) * sizeof(bus->range[0]));
		bus->nr--;
		return 0;
	}
	return -ENOENT;
}

static const struct iobus_range *iobus_lookup(const struct iobus *bus,
					      uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct iobus_range *r = &bus->range[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

int iobus_read(const struct iobus *bus, uint64_t addr, unsigned size,
	       uint64_t *val)
{
	const struct iobus_range *r = iobus_lookup(bus, addr);
	uint64_t mask = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;

	if (r == NULL || r->ops->read == NULL) {
		*val = mask;
		return 0;
	}
	*val = r->ops->read(r->opaque, addr, size) & mask;
	return 1;
}

int iobus_write(const struct iobus *bus, uint64_t addr, unsigned size,
		uint64_t val)
{
	const struct iobus_range *r = iobus_lookup(bus, addr);

	if (r == NULL || r->ops->write == NULL)
		return 0;
	r->ops->write(r->opaque, addr, size, val);
	return 1;
}

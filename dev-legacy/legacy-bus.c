/* The standard PC set of legacy devices behind one port dispatcher, for
 * whoever receives the forwarded port I/O (mica-legacy, test harnesses). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "legacy.h"

static bool ranges_overlap(const struct legacy_dev *a, const struct legacy_dev *b)
{
	for (unsigned i = 0; i < a->nr_ports; i++)
		for (unsigned j = 0; j < b->nr_ports; j++)
			if (a->ports[i].base < b->ports[j].base + b->ports[j].len &&
			    b->ports[j].base < a->ports[i].base + a->ports[i].len)
				return true;
	return false;
}

int legacy_bus_add(struct legacy_bus *bus, struct legacy_dev *dev)
{
	if (dev == NULL)
		return -EINVAL;
	if (bus->nr == LEGACY_BUS_MAX)
		return -ENOSPC;
	for (unsigned i = 0; i < bus->nr; i++)
		if (ranges_overlap(bus->dev[i], dev))
			return -EEXIST;
	bus->dev[bus->nr++] = dev;
	return 0;
}

struct legacy_dev *legacy_bus_find(const struct legacy_bus *bus, uint16_t port)
{
	for (unsigned i = 0; i < bus->nr; i++) {
		struct legacy_dev *d = bus->dev[i];

		for (unsigned r = 0; r < d->nr_ports; r++)
			if (port >= d->ports[r].base &&
			    port - d->ports[r].base < d->ports[r].len)
				return d;
	}
	return NULL;
}

uint32_t legacy_bus_read(const struct legacy_bus *bus, uint16_t port,
			 unsigned size)
{
	struct legacy_dev *d = legacy_bus_find(bus, port);

	if (d == NULL)
		return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return d->ops->read(d, port, size);
}

bool legacy_bus_write(const struct legacy_bus *bus, uint16_t port,
		      unsigned size, uint32_t val)
{
	struct legacy_dev *d = legacy_bus_find(bus, port);

	if (d == NULL)
		return false;
	d->ops->write(d, port, size, val);
	return true;
}

int legacy_bus_create_pc(struct legacy_bus *bus, const struct legacy_host *host)
{
	struct legacy_dev *devs[] = {
		uart8250_create(host, LEGACY_COM1_PORT, LEGACY_COM1_IRQ),
		i8042_create(host),
		rtc_create(host),
		reset_cf9_create(host),
		acpi_sleep_create(host),
	};
	int err = 0;

	memset(bus, 0, sizeof(*bus));
	for (unsigned i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		if (err == 0)
			err = devs[i] == NULL ? -ENOMEM : legacy_bus_add(bus, devs[i]);
		if (err < 0)
			legacy_dev_destroy(devs[i]);
	}
	if (err < 0)
		legacy_bus_destroy(bus);
	else
		bus->com1 = devs[0];
	return err;
}

void legacy_bus_destroy(struct legacy_bus *bus)
{
	for (unsigned i = 0; i < bus->nr; i++)
		legacy_dev_destroy(bus->dev[i]);
	memset(bus, 0, sizeof(*bus));
}

/* A record: the device's first port (2 bytes, little-endian), the state's
 * length (1 byte), the state. */
#define RECORD_HEAD 3

size_t legacy_bus_save(const struct legacy_bus *bus, uint8_t *buf, size_t len)
{
	size_t at = 0;

	for (unsigned i = 0; i < bus->nr; i++) {
		const struct legacy_dev *d = bus->dev[i];
		uint8_t state[LEGACY_STATE_MAX];
		size_t n;

		if (d->ops->save == NULL)
			continue;
		n = d->ops->save(d, state);
		if (len - at < RECORD_HEAD + n)
			return 0;
		buf[at] = (uint8_t)d->ports[0].base;
		buf[at + 1] = (uint8_t)(d->ports[0].base >> 8);
		buf[at + 2] = (uint8_t)n;
		memcpy(buf + at + RECORD_HEAD, state, n);
		at += RECORD_HEAD + n;
	}
	return at;
}

int legacy_bus_load(struct legacy_bus *bus, const uint8_t *buf, size_t len,
		    char *why, size_t whylen)
{
	size_t at = 0;

	while (at < len) {
		uint16_t port;
		struct legacy_dev *d;
		size_t n;

		if (len - at < RECORD_HEAD) {
			snprintf(why, whylen, "record at byte %zu is cut short", at);
			return -EINVAL;
		}
		port = (uint16_t)(buf[at] | buf[at + 1] << 8);
		n = buf[at + 2];
		d = legacy_bus_find(bus, port);
		if (n > len - at - RECORD_HEAD) {
			snprintf(why, whylen, "record at byte %zu: %zu bytes of state "
				 "run past the end", at, n);
			return -EINVAL;
		}
		if (d == NULL || d->ports[0].base != port || d->ops->load == NULL) {
			snprintf(why, whylen, "record at byte %zu: no device with "
				 "state at port %#x", at, port);
			return -EINVAL;
		}
		if (d->ops->load(d, buf + at + RECORD_HEAD, n) < 0) {
			snprintf(why, whylen, "%s at port %#x: state out of range",
				 d->ops->name, port);
			return -EINVAL;
		}
		at += RECORD_HEAD + n;
	}
	return 0;
}

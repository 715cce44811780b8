/* A recording legacy_host for the device unit tests. */
#ifndef MICA_FAKE_HOST_H
#define MICA_FAKE_HOST_H

#include <stdlib.h>
#include <string.h>

#include "legacy.h"

struct fake_host {
	int irq_level[16];
	unsigned irq_changes;
	uint8_t out[256];
	size_t out_len;
	unsigned resets, poweroffs;
	time_t now;
};

static struct fake_host fake;

static void fake_set_irq(void *opaque, unsigned irq, int level)
{
	fake.irq_level[irq & 15] = level;
	fake.irq_changes++;
}

static void fake_output(void *opaque, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len && fake.out_len < sizeof(fake.out); i++)
		fake.out[fake.out_len++] = buf[i];
}

static void fake_reset(void *opaque)
{
	fake.resets++;
}

static void fake_poweroff(void *opaque)
{
	fake.poweroffs++;
}

static time_t fake_now(void *opaque)
{
	return fake.now;
}

static const struct legacy_host fake_host = {
	.set_irq = fake_set_irq,
	.output = fake_output,
	.reset = fake_reset,
	.poweroff = fake_poweroff,
	.now = fake_now,
};

static void fake_reset_state(void)
{
	memset(&fake, 0, sizeof(fake));
}

static struct legacy_dev *must(struct legacy_dev *d)
{
	if (d == NULL)
		abort();
	return d;
}

static __attribute__((unused)) uint8_t io_in(struct legacy_dev *d, uint16_t port)
{
	return (uint8_t)d->ops->read(d, port, 1);
}

static __attribute__((unused)) void io_out(struct legacy_dev *d, uint16_t port, uint8_t v)
{
	d->ops->write(d, port, 1, v);
}

#endif

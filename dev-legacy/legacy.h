/* Legacy PC device models: 8250 UART, i8042 controller, CMOS RTC and the
 * 0xCF9 reset control register.  A pure library: no IPC, no threads, no
 * timers.  The embedding process (mica-legacy, or a test harness) routes
 * port I/O to each device's ops and supplies the host callbacks.
 *
 * Devices are not thread-safe: one caller at a time per device.  Guest
 * misbehaviour never fails a call; it is logged once at most.
 */
#ifndef MICA_LEGACY_H
#define MICA_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* What a device may ask of its host.  Any callback may be NULL. */
struct legacy_host {
	/* Drive ISA interrupt line irq to level (0/1).  Called on changes
	 * only; edge-triggered consumers see the 0->1 transition. */
	void (*set_irq)(void *opaque, unsigned irq, int level);
	/* Console bytes the guest transmitted. */
	void (*output)(void *opaque, const uint8_t *buf, size_t len);
	/* The guest asked for a system reset. */
	void (*reset)(void *opaque);
	/* The guest entered S5 (soft off) through the ACPI sleep register. */
	void (*poweroff)(void *opaque);
	/* Wall-clock time for the RTC; NULL means time(NULL). */
	time_t (*now)(void *opaque);
	void *opaque;
};

struct legacy_dev;

struct legacy_dev_ops {
	const char *name;
	/* size is 1, 2 or 4; port is absolute.  Reads of bytes a device does
	 * not implement return all ones. */
	uint32_t (*read)(struct legacy_dev *dev, uint16_t port, unsigned size);
	void (*write)(struct legacy_dev *dev, uint16_t port, unsigned size,
		      uint32_t val);
	void (*destroy)(struct legacy_dev *dev);
	/* Guest-visible state, so that a restarted host process carries on
	 * (NULL: nothing worth keeping).  save writes at most
	 * LEGACY_STATE_MAX bytes and returns how many; load takes what save
	 * wrote, checks every field and returns 0, or -EINVAL leaving the
	 * device as it was.  load may raise the device's IRQ again. */
	size_t (*save)(const struct legacy_dev *dev, void *buf);
	int (*load)(struct legacy_dev *dev, const void *buf, size_t len);
};

#define LEGACY_STATE_MAX 192

#define LEGACY_MAX_RANGES 2

/* Common head of every device: the port ranges it claims and its IRQ. */
struct legacy_dev {
	const struct legacy_dev_ops *ops;
	const struct legacy_host *host;
	struct { uint16_t base, len; } ports[LEGACY_MAX_RANGES];
	unsigned nr_ports;
	unsigned irq;
};

/* Constructors return NULL only when out of memory.  host must outlive
 * the device. */
struct legacy_dev *uart8250_create(const struct legacy_host *host,
				   uint16_t base, unsigned irq);
/* Queue received bytes (console input); returns how many fit.  Bytes that
 * do not fit set the overrun flag, so feed no more than uart8250_rx_room
 * says and try again after the guest has read (any port access). */
size_t uart8250_receive(struct legacy_dev *dev, const uint8_t *buf, size_t len);
size_t uart8250_rx_room(const struct legacy_dev *dev);

struct legacy_dev *i8042_create(const struct legacy_host *host);
struct legacy_dev *rtc_create(const struct legacy_host *host);
/* Let the RTC catch up with the host monotonic clock now_ns: sets the
 * periodic, alarm and update-ended flags that are due and raises IRQ 8 for
 * the enabled ones.  Returns when to call again (monotonic ns), or
 * UINT64_MAX when no interrupt is enabled. */
uint64_t rtc_poll(struct legacy_dev *dev, uint64_t now_ns);
/* PIIX-style reset control register at 0xCF9 (FADT RESET_REG). */
struct legacy_dev *reset_cf9_create(const struct legacy_host *host);
/* Hardware-reduced ACPI sleep control (0x600) and status (0x601)
 * registers: SLP_EN with SLP_TYP 5 powers off. */
struct legacy_dev *acpi_sleep_create(const struct legacy_host *host);

static inline void legacy_dev_destroy(struct legacy_dev *dev)
{
	if (dev != NULL)
		dev->ops->destroy(dev);
}

/* A set of devices with a port dispatcher. */
#define LEGACY_BUS_MAX 8

struct legacy_bus {
	struct legacy_dev *dev[LEGACY_BUS_MAX];
	unsigned nr;
	struct legacy_dev *com1;	/* set by legacy_bus_create_pc */
};

/* 0, -EEXIST if dev's ports overlap a device already there, -ENOSPC, or
 * -EINVAL for NULL.  On success the bus owns dev; on failure the caller
 * still does. */
int legacy_bus_add(struct legacy_bus *bus, struct legacy_dev *dev);
struct legacy_dev *legacy_bus_find(const struct legacy_bus *bus, uint16_t port);
/* Unclaimed reads are all ones; legacy_bus_write says whether a device
 * took the write. */
uint32_t legacy_bus_read(const struct legacy_bus *bus, uint16_t port,
			 unsigned size);
bool legacy_bus_write(const struct legacy_bus *bus, uint16_t port,
		      unsigned size, uint32_t val);
/* COM1 (0x3F8, IRQ 4), i8042 (0x60/0x64, IRQ 1), RTC (0x70-0x71, IRQ 8),
 * reset register 0xCF9, ACPI sleep registers 0x600-0x601.  0 or -ENOMEM; bus is empty on failure. */
int legacy_bus_create_pc(struct legacy_bus *bus, const struct legacy_host *host);
void legacy_bus_destroy(struct legacy_bus *bus);
/* All devices' state as records (name, length, bytes) in buf; returns the
 * length, or 0 if len is too small.  legacy_bus_load restores the devices
 * named in buf; 0, or -EINVAL with why set (devices already restored
 * keep their new state, the rest their old one). */
size_t legacy_bus_save(const struct legacy_bus *bus, uint8_t *buf, size_t len);
int legacy_bus_load(struct legacy_bus *bus, const uint8_t *buf, size_t len,
		    char *why, size_t whylen);

/* Standard PC resources. */
#define LEGACY_COM1_PORT	0x3f8
#define LEGACY_COM1_IRQ		4
#define LEGACY_I8042_DATA	0x60
#define LEGACY_I8042_CMD	0x64
#define LEGACY_I8042_IRQ	1
#define LEGACY_RTC_PORT		0x70
#define LEGACY_RTC_IRQ		8
#define LEGACY_RESET_PORT	0xcf9
#define LEGACY_SLEEP_PORT	0x600

#endif

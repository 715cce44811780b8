/* libFuzzer: guest port I/O and MMIO against everything a guest can reach
 * through exits: the 8250, i8042, RTC, 0xCF9, the PCI host bridge (0xCF8/
 * 0xCFC and ECAM) and a device with BARs and MSI-X.  The input is a list
 * of 12-byte accesses: kind, size, address (4), value (6). */
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "iobus.h"
#include "layout.h"
#include "pci.h"
#include "pci-msix.h"
#include "dev-legacy/legacy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int stub_route(struct accel_vm *vm, unsigned gsi, uint64_t a, uint32_t d)
{
	return 0;
}

static int stub_irqfd_add(struct accel_vm *vm, unsigned gsi, int fd, int rfd)
{
	return 0;
}

static int stub_irqfd_del(struct accel_vm *vm, unsigned gsi, int fd)
{
	return 0;
}

static const struct accel_ops stub_ops = {
	.name = "stub", .msi_route = stub_route,
	.irqfd_add = stub_irqfd_add, .irqfd_del = stub_irqfd_del,
};

static struct pci_msix msix;

static uint64_t bar_read(void *opaque, uint64_t addr, unsigned size)
{
	struct pci_device *d = opaque;
	uint64_t v = 0;

	pci_msix_bar_read(&msix, addr - d->bar[0].addr, size, &v);
	return v;
}

static void bar_write(void *opaque, uint64_t addr, unsigned size, uint64_t v)
{
	struct pci_device *d = opaque;

	pci_msix_bar_write(&msix, addr - d->bar[0].addr, size, v);
}

static void cfg_written(struct pci_device *d, unsigned off, unsigned size)
{
	pci_msix_config_written(&msix, off, size);
}

static const struct io_handler bar_ops = { .read = bar_read, .write = bar_write };

static uint64_t legacy_read(void *opaque, uint64_t addr, unsigned size)
{
	struct legacy_dev *d = opaque;

	return d->ops->read(d, (uint16_t)addr, size);
}

static void legacy_write(void *opaque, uint64_t addr, unsigned size, uint64_t v)
{
	struct legacy_dev *d = opaque;

	d->ops->write(d, (uint16_t)addr, size, (uint32_t)v);
}

static const struct io_handler legacy_ops = {
	.read = legacy_read, .write = legacy_write,
};

static void sink_irq(void *o, unsigned irq, int level) {}
static void sink_out(void *o, const uint8_t *b, size_t n) {}
static void sink_reset(void *o) {}

static const struct legacy_host host = {
	.set_irq = sink_irq, .output = sink_out, .reset = sink_reset,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	struct legacy_dev *devs[4];
	struct iobus pio, mmio;
	struct pci_host pci;
	struct pci_device dev;

	log_init("fuzz-devices");
	memset(&pio, 0, sizeof(pio));
	memset(&mmio, 0, sizeof(mmio));
	devs[0] = uart8250_create(&host, LEGACY_COM1_PORT, LEGACY_COM1_IRQ);
	devs[1] = i8042_create(&host);
	devs[2] = rtc_create(&host);
	devs[3] = reset_cf9_create(&host);
	for (unsigned i = 0; i < 4; i++)
		for (unsigned r = 0; devs[i] && r < devs[i]->nr_ports; r++)
			iobus_register(&pio, devs[i]->ports[r].base,
				       devs[i]->ports[r].len, &legacy_ops, devs[i]);
	pci_host_init(&pci, &pio, &mmio);
	pci_device_init(&dev, "fuzz", 0x1af4, 0x1000, 0x020000, 0);
	dev.config_written = cfg_written;
	pci_device_add_bar(&dev, 0, 0x1000, 0, &bar_ops, &dev);
	pci_device_add_bar(&dev, 1, 0x40, PCI_BAR_IO, &bar_ops, &dev);
	pci_msix_init(&msix, &dev, 8, 0, 0, 0x800, &stub_ops, NULL, 24);
	pci_host_add_device(&pci, &dev, 1);

	for (; size >= 12; data += 12, size -= 12) {
		unsigned kind = data[0] & 3, sz = sizes[data[1] & 3];
		uint32_t addr;
		uint64_t val = 0;

		memcpy(&addr, data + 2, 4);
		memcpy(&val, data + 6, 6);
		if (kind < 2) {
			addr &= 0xffff;		/* ports */
			if (sz == 8)
				sz = 4;
		} else {
			/* Aim at ECAM or the PCI window most of the time. */
			addr = (data[0] & 4) ? (uint32_t)LAYOUT_PCI_ECAM + (addr & 0xfffff)
					     : (uint32_t)LAYOUT_PCI_MMIO + (addr & 0xffff);
		}
		if (kind == 0)
			iobus_write(&pio, addr, sz, val);
		else if (kind == 1)
			iobus_read(&pio, addr, sz, &val);
		else if (kind == 2)
			iobus_write(&mmio, addr, sz, val);
		else
			iobus_read(&mmio, addr, sz, &val);
	}
	if (devs[0])
		uart8250_receive(devs[0], (const uint8_t *)"xyz", 3);
	pci_host_fini(&pci);
	pci_msix_fini(&msix);
	for (unsigned i = 0; i < 4; i++)
		legacy_dev_destroy(devs[i]);
	return 0;
}

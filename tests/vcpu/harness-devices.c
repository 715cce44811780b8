/* The legacy device models and the test exit port on the runner's I/O
 * bus.  The mica-vcpu daemon will forward these ports to mica-legacy
 * instead; the callbacks below are what that process provides. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "harness.h"
#include "dev-legacy/legacy.h"
#include "pci.h"

static struct machine *harness_machine;
static struct legacy_dev *devs[4];
static struct pci_host pci;

/* pci-testdev: a PCI function with one BAR of each kind.  BAR0 (MMIO,
 * 4 KiB) reads "MICA" at 0 and a scratch register at 4; BAR1 (I/O, 256
 * bytes) reads the port offset; BAR2 (64-bit prefetchable MMIO, 1 MiB)
 * reads zero. */
#define TESTDEV_VENDOR 0x1b36
#define TESTDEV_DEVICE 0x0005
#define TESTDEV_CLASS  0x00ff00

static struct pci_testdev {
	struct pci_device pci;
	uint32_t scratch;
} testdev;

static uint64_t testdev_bar0_read(void *opaque, uint64_t addr, unsigned size)
{
	struct pci_testdev *t = opaque;
	uint64_t off = addr - t->pci.bar[0].addr;

	if (off == 0)
		return 0x4143494d;		/* "MICA" */
	if (off == 4)
		return t->scratch;
	return 0;
}

static void testdev_bar0_write(void *opaque, uint64_t addr, unsigned size,
			       uint64_t val)
{
	struct pci_testdev *t = opaque;

	if (addr - t->pci.bar[0].addr == 4)
		t->scratch = (uint32_t)val;
}

static uint64_t testdev_bar1_read(void *opaque, uint64_t addr, unsigned size)
{
	struct pci_testdev *t = opaque;

	return addr - t->pci.bar[1].addr;
}

static uint64_t testdev_bar2_read(void *opaque, uint64_t addr, unsigned size)
{
	return 0;
}

static const struct io_handler testdev_bar0 = {
	.read = testdev_bar0_read, .write = testdev_bar0_write,
};
static const struct io_handler testdev_bar1 = { .read = testdev_bar1_read };
static const struct io_handler testdev_bar2 = { .read = testdev_bar2_read };

static int testdev_init(struct pci_host *host)
{
	struct pci_device *d = &testdev.pci;
	int err;

	pci_device_init(d, "pci-testdev", TESTDEV_VENDOR, TESTDEV_DEVICE,
			TESTDEV_CLASS, 1);
	err = pci_device_add_bar(d, 0, 4096, 0, &testdev_bar0, &testdev);
	if (err == 0)
		err = pci_device_add_bar(d, 1, 256, PCI_BAR_IO, &testdev_bar1,
					 &testdev);
	if (err == 0)
		err = pci_device_add_bar(d, 2, 1 << 20,
					 PCI_BAR_MEM64 | PCI_BAR_PREFETCH,
					 &testdev_bar2, &testdev);
	if (err == 0)
		err = pci_host_add_device(host, d, 3);
	return err;
}

static void host_set_irq(void *opaque, unsigned irq, int level)
{
	struct machine *m = opaque;

	m->ops->irq_line(m->vm, irq, level);
}

static void host_output(void *opaque, const uint8_t *buf, size_t len)
{
	fwrite(buf, 1, len, stdout);
	if (len > 0 && buf[len - 1] == '\n')
		fflush(stdout);
}

static void host_reset(void *opaque)
{
	machine_request_stop(opaque, MACHINE_RESET, 0);
}

static struct legacy_host host = {
	.set_irq = host_set_irq,
	.output = host_output,
	.reset = host_reset,
};

static uint64_t legacy_io_read(void *opaque, uint64_t addr, unsigned size)
{
	struct legacy_dev *dev = opaque;

	return dev->ops->read(dev, (uint16_t)addr, size);
}

static void legacy_io_write(void *opaque, uint64_t addr, unsigned size,
			    uint64_t val)
{
	struct legacy_dev *dev = opaque;

	dev->ops->write(dev, (uint16_t)addr, size, (uint32_t)val);
}

static const struct io_handler legacy_io = {
	.read = legacy_io_read,
	.write = legacy_io_write,
};

static void exit_port_write(void *opaque, uint64_t addr, unsigned size,
			    uint64_t val)
{
	fflush(stdout);
	machine_request_stop(opaque, MACHINE_EXIT, (int)(val & 0xff));
}

static const struct io_handler exit_port = { .write = exit_port_write };

int harness_devices_init(struct machine *m, unsigned nr_vcpus)
{
	int err;

	harness_machine = m;
	host.opaque = m;
	devs[0] = uart8250_create(&host, LEGACY_COM1_PORT, LEGACY_COM1_IRQ);
	devs[1] = i8042_create(&host);
	devs[2] = rtc_create(&host);
	devs[3] = reset_cf9_create(&host);
	for (unsigned i = 0; i < 4; i++) {
		if (devs[i] == NULL)
			return -ENOMEM;
		for (unsigned r = 0; r < devs[i]->nr_ports; r++) {
			err = iobus_register(&m->pio, devs[i]->ports[r].base,
					     devs[i]->ports[r].len, &legacy_io,
					     devs[i]);
			if (err < 0)
				return err;
		}
	}
	err = pci_host_init(&pci, &m->pio, &m->mmio);
	if (err == 0)
		err = testdev_init(&pci);
	if (err < 0)
		return err;
	return iobus_register(&m->pio, HARNESS_EXIT_PORT, 1, &exit_port, m);
}

void harness_devices_fini(void)
{
	pci_host_fini(&pci);
	for (unsigned i = 0; i < 4; i++) {
		legacy_dev_destroy(devs[i]);
		devs[i] = NULL;
	}
}

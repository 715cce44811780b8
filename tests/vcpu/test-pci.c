/* PCI host bridge: mechanism #1 and ECAM config access, BAR sizing,
 * allocation and remapping on the I/O buses, read-only bits. */
#include <errno.h>
#include <string.h>

#include "cutest.h"
#include "layout.h"
#include "pci.h"

static struct iobus pio, mmio;
static struct pci_host host;
static struct pci_device dev;
static unsigned hits;

static uint64_t bar_read(void *opaque, uint64_t addr, unsigned size)
{
	hits++;
	return 0xabcd;
}

static const struct io_handler bar_ops = { .read = bar_read };

static void setup(void)
{
	memset(&pio, 0, sizeof(pio));
	memset(&mmio, 0, sizeof(mmio));
	CU_ASSERT_EQUAL_FATAL(pci_host_init(&host, &pio, &mmio), 0);
	pci_device_init(&dev, "dev", 0x1af4, 0x1042, 0x010000, 1);
	CU_ASSERT_EQUAL(pci_device_add_bar(&dev, 0, 0x4000, 0, &bar_ops, NULL), 0);
	CU_ASSERT_EQUAL(pci_device_add_bar(&dev, 1, 0x20, PCI_BAR_IO, &bar_ops,
					   NULL), 0);
	CU_ASSERT_EQUAL(pci_device_add_bar(&dev, 2, 0x100000, PCI_BAR_MEM64,
					   &bar_ops, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pci_host_add_device(&host, &dev, 2), 0);
}

static uint32_t cf8_read(unsigned slot, unsigned off, unsigned size)
{
	uint64_t v;

	iobus_write(&pio, 0xcf8, 4, 0x80000000u | slot << 11 | (off & 0xfc));
	iobus_read(&pio, 0xcfc + (off & 3), size, &v);
	return (uint32_t)v;
}

static void cf8_write(unsigned slot, unsigned off, unsigned size, uint32_t v)
{
	iobus_write(&pio, 0xcf8, 4, 0x80000000u | slot << 11 | (off & 0xfc));
	iobus_write(&pio, 0xcfc + (off & 3), size, v);
}

static void test_config_mechanism1(void)
{
	uint64_t v;

	setup();
	CU_ASSERT_EQUAL(cf8_read(0, 0, 4), 0x00081b36);
	CU_ASSERT_EQUAL(cf8_read(2, 0, 4), 0x10421af4);
	CU_ASSERT_EQUAL(cf8_read(2, 2, 2), 0x1042);
	CU_ASSERT_EQUAL(cf8_read(2, 0x0b, 1), 0x01);	/* class */
	CU_ASSERT_EQUAL(cf8_read(5, 0, 4), 0xffffffff);	/* empty slot */
	/* Enable bit clear: no config cycle. */
	iobus_write(&pio, 0xcf8, 4, 2 << 11);
	iobus_read(&pio, 0xcfc, 4, &v);
	CU_ASSERT_EQUAL(v, 0xffffffff);
	/* The address latch reads back; 0xCF9 stays free for reset. */
	iobus_write(&pio, 0xcf8, 4, 0x80001010);
	iobus_read(&pio, 0xcf8, 4, &v);
	CU_ASSERT_EQUAL(v, 0x80001010);
	CU_ASSERT_EQUAL(iobus_read(&pio, 0xcf9, 1, &v), 0);
	pci_host_fini(&host);
}

static void test_ecam(void)
{
	uint64_t v;

	setup();
	iobus_read(&mmio, LAYOUT_PCI_ECAM + (2 << 15), 4, &v);
	CU_ASSERT_EQUAL(v, 0x10421af4);
	iobus_read(&mmio, LAYOUT_PCI_ECAM + (1 << 20), 4, &v);	/* bus 1 */
	CU_ASSERT_EQUAL(v, 0xffffffff);
	iobus_write(&mmio, LAYOUT_PCI_ECAM + (2 << 15) + PCI_INTERRUPT_LINE, 1, 9);
	CU_ASSERT_EQUAL(cf8_read(2, PCI_INTERRUPT_LINE, 1), 9);
	pci_host_fini(&host);
}

static void test_bar_allocation_and_sizing(void)
{
	setup();
	CU_ASSERT_EQUAL(cf8_read(2, 0x10, 4), LAYOUT_PCI_MMIO);
	CU_ASSERT_EQUAL(cf8_read(2, 0x14, 4), LAYOUT_PCI_IO | PCI_BAR_IO);
	CU_ASSERT_EQUAL(cf8_read(2, 0x18, 4), 0xc0100000 | PCI_BAR_MEM64);
	CU_ASSERT_EQUAL(cf8_read(2, 0x1c, 4), 0);
	CU_ASSERT_EQUAL(cf8_read(2, PCI_COMMAND, 2),
			PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	cf8_write(2, PCI_COMMAND, 2, 0);
	cf8_write(2, 0x10, 4, 0xffffffff);
	CU_ASSERT_EQUAL(cf8_read(2, 0x10, 4), 0xffffc000);
	cf8_write(2, 0x14, 4, 0xffffffff);
	CU_ASSERT_EQUAL(cf8_read(2, 0x14, 4), 0xffffffe1);
	cf8_write(2, 0x1c, 4, 0xffffffff);
	CU_ASSERT_EQUAL(cf8_read(2, 0x1c, 4), 0xffffffff);
	/* Read-only identity. */
	cf8_write(2, 0, 4, 0);
	CU_ASSERT_EQUAL(cf8_read(2, 0, 4), 0x10421af4);
	pci_host_fini(&host);
}

static void test_bar_remap(void)
{
	uint64_t v;

	setup();
	hits = 0;
	CU_ASSERT_EQUAL(iobus_read(&mmio, LAYOUT_PCI_MMIO + 8, 4, &v), 1);
	CU_ASSERT_EQUAL(iobus_read(&pio, LAYOUT_PCI_IO + 4, 1, &v), 1);
	/* Memory decode off: gone from the MMIO bus only. */
	cf8_write(2, PCI_COMMAND, 2, PCI_COMMAND_IO);
	CU_ASSERT_EQUAL(iobus_read(&mmio, LAYOUT_PCI_MMIO + 8, 4, &v), 0);
	CU_ASSERT_EQUAL(iobus_read(&pio, LAYOUT_PCI_IO + 4, 1, &v), 1);
	/* Moved while off, appears at the new place when on again. */
	cf8_write(2, 0x10, 4, 0xd0000000);
	cf8_write(2, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CU_ASSERT_EQUAL(iobus_read(&mmio, LAYOUT_PCI_MMIO + 8, 4, &v), 0);
	CU_ASSERT_EQUAL(iobus_read(&mmio, 0xd0000008, 4, &v), 1);
	CU_ASSERT_EQUAL(v, 0xabcd);
	/* Moved while on. */
	cf8_write(2, 0x14, 4, 0x2000);
	CU_ASSERT_EQUAL(iobus_read(&pio, 0x2004, 1, &v), 1);
	CU_ASSERT_EQUAL(iobus_read(&pio, LAYOUT_PCI_IO + 4, 1, &v), 0);
	CU_ASSERT_EQUAL(hits, 5);
	pci_host_fini(&host);
	CU_ASSERT_EQUAL(pio.nr, 0);
	CU_ASSERT_EQUAL(mmio.nr, 0);
}

static void test_mmio64_window(void)
{
	struct pci_device d2;

	setup();
	pci_host_set_mmio64(&host, 64ULL << 30, 64ULL << 30);
	pci_device_init(&d2, "d2", 1, 2, 0, 0);
	CU_ASSERT_EQUAL(pci_device_add_bar(&d2, 0, 1 << 20,
					   PCI_BAR_MEM64 | PCI_BAR_PREFETCH,
					   &bar_ops, NULL), 0);
	CU_ASSERT_EQUAL(pci_device_add_bar(&d2, 2, 1 << 20, PCI_BAR_MEM64,
					   &bar_ops, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pci_host_add_device(&host, &d2, 4), 0);
	/* Prefetchable 64-bit goes high, the other stays below 4 GiB. */
	CU_ASSERT_EQUAL(cf8_read(4, 0x10, 4), PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	CU_ASSERT_EQUAL(cf8_read(4, 0x14, 4), 0x10);
	CU_ASSERT_EQUAL(d2.bar[0].addr, 64ULL << 30);
	CU_ASSERT(d2.bar[0].mapped);
	CU_ASSERT(d2.bar[2].addr < (1ULL << 32));
	pci_host_fini(&host);
}

static void test_capabilities(void)
{
	int a, b;

	setup();
	a = pci_device_add_cap(&dev, 0x11, 12);
	b = pci_device_add_cap(&dev, 0x09, 8);
	CU_ASSERT_EQUAL(a, 0x40);
	CU_ASSERT_EQUAL(b, 0x4c);
	CU_ASSERT(cf8_read(2, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	CU_ASSERT_EQUAL(cf8_read(2, PCI_CAPABILITY_LIST, 1), 0x40);
	CU_ASSERT_EQUAL(cf8_read(2, 0x40, 2), 0x4c11);
	CU_ASSERT_EQUAL(cf8_read(2, 0x4c, 2), 0x0009);
	pci_host_fini(&host);
}

static void test_bad_bars_and_slots(void)
{
	struct pci_device d2;

	setup();
	pci_device_init(&d2, "d2", 1, 2, 0, 0);
	CU_ASSERT_EQUAL(pci_device_add_bar(&d2, 0, 3000, 0, &bar_ops, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pci_device_add_bar(&d2, 5, 4096, PCI_BAR_MEM64, &bar_ops,
					   NULL), -EINVAL);
	CU_ASSERT_EQUAL(pci_device_add_bar(&d2, 6, 4096, 0, &bar_ops, NULL), -EINVAL);
	CU_ASSERT_EQUAL(pci_host_add_device(&host, &d2, 2), -EBUSY);
	CU_ASSERT_EQUAL(pci_host_add_device(&host, &d2, 0), -EINVAL);
	CU_ASSERT_EQUAL(pci_device_add_bar(&d2, 0, 1ULL << 31, 0, &bar_ops, NULL), 0);
	CU_ASSERT_EQUAL(pci_host_add_device(&host, &d2, 4), -ENOSPC);
	pci_host_fini(&host);
}

static void test_intx_routing(void)
{
	struct pci_device d2;

	setup();
	pci_device_init(&d2, "d2", 1, 2, 0, 0);
	CU_ASSERT_EQUAL(pci_device_set_intx_pin(&d2, 0), -EINVAL);
	CU_ASSERT_EQUAL(pci_device_set_intx_pin(&d2, 5), -EINVAL);
	CU_ASSERT_EQUAL(pci_device_set_intx_pin(&d2, 2), 0);	/* INTB */
	CU_ASSERT_EQUAL(pci_device_intx_gsi(&d2), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(pci_host_add_device(&host, &d2, 7), 0);
	CU_ASSERT_EQUAL(pci_device_intx_gsi(&d2), 16 + (7 + 1) % 8);
	CU_ASSERT_EQUAL(cf8_read(7, PCI_INTERRUPT_PIN, 1), 2);
	CU_ASSERT_EQUAL(cf8_read(7, PCI_INTERRUPT_LINE, 1), 16);
	CU_ASSERT_EQUAL(pci_device_intx_gsi(&dev), -ENOENT);	/* no pin */
	pci_host_fini(&host);
}

CUTEST_MAIN("vcpu-pci",
	CUTEST(test_intx_routing),
	CUTEST(test_config_mechanism1),
	CUTEST(test_ecam),
	CUTEST(test_bar_allocation_and_sizing),
	CUTEST(test_bar_remap),
	CUTEST(test_mmio64_window),
	CUTEST(test_capabilities),
	CUTEST(test_bad_bars_and_slots));

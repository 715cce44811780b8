#include <errno.h>
#include <string.h>

#include "log.h"
#include "layout.h"
#include "pci.h"

#define PCI_CONFIG_ADDRESS	0xcf8
#define PCI_CONFIG_DATA		0xcfc
#define PCI_CONFIG_ENABLE	0x80000000u

/* The host bridge identifies as Red Hat's generic PCIe host bridge: Linux
 * has no quirks for it and needs nothing from it. */
#define HOST_VENDOR		0x1b36
#define HOST_DEVICE		0x0008
#define PCI_CLASS_HOST_BRIDGE	0x060000

static void cfg_set(uint8_t *p, unsigned off, unsigned size, uint32_t v)
{
	memcpy(p + off, &v, size);
}

static uint32_t cfg_get(const uint8_t *p, unsigned off, unsigned size)
{
	uint32_t v = 0;

	memcpy(&v, p + off, size);
	return v;
}

void pci_device_init(struct pci_device *dev, const char *name,
		     uint16_t vendor, uint16_t device, uint32_t class_code,
		     uint8_t revision)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	cfg_set(dev->cfg, PCI_VENDOR_ID, 2, vendor);
	cfg_set(dev->cfg, PCI_DEVICE_ID, 2, device);
	cfg_set(dev->cfg, PCI_REVISION_ID, 1, revision);
	cfg_set(dev->cfg, PCI_CLASS_PROG, 3, class_code);
	cfg_set(dev->cfg, PCI_SUBSYSTEM_VENDOR_ID, 2, vendor);
	cfg_set(dev->cfg, PCI_SUBSYSTEM_ID, 2, device);
	cfg_set(dev->wmask, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
		PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	dev->next_cap = 0x40;
}

int pci_device_add_bar(struct pci_device *dev, unsigned idx, uint64_t size,
		       unsigned flags, const struct io_handler *ops,
		       void *opaque)
{
	bool is64 = !(flags & PCI_BAR_IO) && (flags & PCI_BAR_MEM64);
	uint64_t min = (flags & PCI_BAR_IO) ? 4 : 16;

	if (idx >= PCI_NUM_BARS || (is64 && idx + 1 >= PCI_NUM_BARS) ||
	    size < min || (size & (size - 1)) || dev->bar[idx].size ||
	    ((flags & PCI_BAR_IO) && size > 256))
		return -EINVAL;
	dev->bar[idx] = (struct pci_bar){ .size = size, .flags = flags,
					  .ops = ops, .opaque = opaque };
	cfg_set(dev->cfg, PCI_BAR0 + 4 * idx, 4, flags & 0xf);
	cfg_set(dev->wmask, PCI_BAR0 + 4 * idx, 4, (uint32_t)~(size - 1) &
		((flags & PCI_BAR_IO) ? 0xfffffffcu : 0xfffffff0u));
	if (is64)
		cfg_set(dev->wmask, PCI_BAR0 + 4 * (idx + 1), 4,
			(uint32_t)(~(size - 1) >> 32));
	return 0;
}

int pci_device_add_cap(struct pci_device *dev, uint8_t id, unsigned len)
{
	unsigned off = dev->next_cap;
	uint8_t *link = &dev->cfg[PCI_CAPABILITY_LIST];

	if (off < 0x40 || off + len > 0x100)
		return -ENOSPC;
	while (*link)
		link = &dev->cfg[*link + 1];
	*link = (uint8_t)off;
	dev->cfg[off] = id;
	dev->cfg[off + 1] = 0;
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->next_cap = (uint8_t)((off + len + 3) & ~3u);
	return (int)off;
}

static uint64_t bar_guest_addr(const struct pci_device *dev, unsigned idx)
{
	const struct pci_bar *b = &dev->bar[idx];
	uint64_t lo = cfg_get(dev->cfg, PCI_BAR0 + 4 * idx, 4);

	if (b->flags & PCI_BAR_IO)
		return lo & ~0x3ULL;
	lo &= ~0xfULL;
	if (b->flags & PCI_BAR_MEM64)
		lo |= (uint64_t)cfg_get(dev->cfg, PCI_BAR0 + 4 * (idx + 1), 4) << 32;
	return lo;
}

/* Put each BAR where the guest programmed it, if its decoding is on. */
static void pci_update_mappings(struct pci_device *dev)
{
	uint16_t cmd = (uint16_t)cfg_get(dev->cfg, PCI_COMMAND, 2);
	struct pci_host *h = dev->host;

	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &dev->bar[i];
		bool io = b->flags & PCI_BAR_IO;
		struct iobus *bus = io ? h->pio : h->mmio;
		bool on = cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY);
		uint64_t addr = bar_guest_addr(dev, i);

		if (b->size == 0 || (b->mapped && on && addr == b->addr))
			continue;
		if (b->mapped) {
			iobus_unregister(bus, b->addr);
			b->mapped = false;
			if (dev->bar_mapped != NULL)
				dev->bar_mapped(dev, i, b->addr, false);
		}
		/* Address 0 or a half-sized BAR is "not placed". */
		if (!on || addr == 0 || addr + b->size < addr)
			continue;
		if (iobus_register(bus, addr, b->size, b->ops, b->opaque) < 0) {
			log_debug("pci", "%s BAR%u at %#llx overlaps; not mapped",
				  dev->name, i, (unsigned long long)addr);
			continue;
		}
		b->addr = addr;
		b->mapped = true;
		if (dev->bar_mapped != NULL)
			dev->bar_mapped(dev, i, addr, true);
	}
}

static struct pci_device *pci_lookup(struct pci_host *h, unsigned bdf)
{
	unsigned bus = bdf >> 8, slot = (bdf >> 3) & 0x1f, fn = bdf & 7;

	if (bus != 0 || fn != 0)
		return NULL;
	return h->slot[slot];
}

uint32_t pci_config_read(struct pci_host *h, unsigned bdf, unsigned off,
			 unsigned size)
{
	struct pci_device *dev = pci_lookup(h, bdf);

	if (dev == NULL || off + size > PCI_CFG_SIZE)
		return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	return cfg_get(dev->cfg, off, size);
}

void pci_config_write(struct pci_host *h, unsigned bdf, unsigned off,
		      unsigned size, uint32_t val)
{
	struct pci_device *dev = pci_lookup(h, bdf);

	if (dev == NULL || off + size > PCI_CFG_SIZE)
		return;
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = dev->wmask[off + i], b = (uint8_t)(val >> (8 * i));

		dev->cfg[off + i] = (uint8_t)((dev->cfg[off + i] & ~m) | (b & m));
	}
	if (off < PCI_BAR0 + 4 * PCI_NUM_BARS && off + size > PCI_COMMAND)
		pci_update_mappings(dev);
	if (dev->config_written != NULL)
		dev->config_written(dev, off, size);
}

/* Mechanism #1: 0xCF8 latches bus/dev/fn/register, 0xCFC-0xCFF move data. */
static uint64_t cf8_read(void *opaque, uint64_t port, unsigned size)
{
	struct pci_host *h = opaque;

	return size == 4 ? h->config_address : ~0ULL;
}

static void cf8_write(void *opaque, uint64_t port, unsigned size, uint64_t val)
{
	struct pci_host *h = opaque;

	if (port == PCI_CONFIG_ADDRESS && size == 4)
		h->config_address = (uint32_t)val & 0x80fffffcu;
}

static int cfc_target(const struct pci_host *h, uint64_t port, unsigned size,
		      unsigned *bdf, unsigned *off)
{
	unsigned byte = (unsigned)(port - PCI_CONFIG_DATA);

	if (!(h->config_address & PCI_CONFIG_ENABLE) || byte + size > 4)
		return -1;
	*bdf = (h->config_address >> 8) & 0xffff;
	*off = (h->config_address & 0xfc) + byte;
	return 0;
}

static uint64_t cfc_read(void *opaque, uint64_t port, unsigned size)
{
	struct pci_host *h = opaque;
	unsigned bdf, off;

	if (cfc_target(h, port, size, &bdf, &off) < 0)
		return ~0ULL;
	return pci_config_read(h, bdf, off, size);
}

static void cfc_write(void *opaque, uint64_t port, unsigned size, uint64_t val)
{
	struct pci_host *h = opaque;
	unsigned bdf, off;

	if (cfc_target(h, port, size, &bdf, &off) == 0)
		pci_config_write(h, bdf, off, size, (uint32_t)val);
}

static uint64_t ecam_read(void *opaque, uint64_t addr, unsigned size)
{
	uint64_t off = addr - LAYOUT_PCI_ECAM;

	if (size > 4 || (off & (size - 1)))
		return ~0ULL;
	return pci_config_read(opaque, (unsigned)(off >> 12), off & 0xfff, size);
}

static void ecam_write(void *opaque, uint64_t addr, unsigned size, uint64_t val)
{
	uint64_t off = addr - LAYOUT_PCI_ECAM;

	if (size > 4 || (off & (size - 1)))
		return;
	pci_config_write(opaque, (unsigned)(off >> 12), off & 0xfff, size,
			 (uint32_t)val);
}

static const struct io_handler cf8_ops = { .read = cf8_read, .write = cf8_write };
static const struct io_handler cfc_ops = { .read = cfc_read, .write = cfc_write };
static const struct io_handler ecam_ops = { .read = ecam_read, .write = ecam_write };

int pci_host_init(struct pci_host *h, struct iobus *pio, struct iobus *mmio)
{
	int err;

	memset(h, 0, sizeof(*h));
	h->pio = pio;
	h->mmio = mmio;
	h->mmio_next = LAYOUT_PCI_MMIO;
	h->mmio_end = LAYOUT_PCI_MMIO_END;
	h->io_next = LAYOUT_PCI_IO;
	h->io_end = LAYOUT_PCI_IO_END;
	pci_device_init(&h->bridge, "host-bridge", HOST_VENDOR, HOST_DEVICE,
			PCI_CLASS_HOST_BRIDGE, 0);
	h->bridge.host = h;
	h->slot[0] = &h->bridge;
	/* 0xCF9 is the reset control register: claim around it. */
	err = iobus_register(pio, PCI_CONFIG_ADDRESS, 1, &cf8_ops, h);
	if (err == 0)
		err = iobus_register(pio, PCI_CONFIG_ADDRESS + 2, 2, &cf8_ops, h);
	if (err == 0)
		err = iobus_register(pio, PCI_CONFIG_DATA, 4, &cfc_ops, h);
	if (err == 0)
		err = iobus_register(mmio, LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM_SIZE,
				     &ecam_ops, h);
	return err;
}

void pci_host_fini(struct pci_host *h)
{
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		struct pci_device *dev = h->slot[s];

		if (dev == NULL)
			continue;
		for (unsigned i = 0; i < PCI_NUM_BARS; i++)
			if (dev->bar[i].mapped)
				iobus_unregister((dev->bar[i].flags & PCI_BAR_IO)
						 ? h->pio : h->mmio,
						 dev->bar[i].addr);
		h->slot[s] = NULL;
	}
	iobus_unregister(h->pio, PCI_CONFIG_ADDRESS);
	iobus_unregister(h->pio, PCI_CONFIG_ADDRESS + 2);
	iobus_unregister(h->pio, PCI_CONFIG_DATA);
	iobus_unregister(h->mmio, LAYOUT_PCI_ECAM);
}

void pci_host_set_mmio64(struct pci_host *h, uint64_t base, uint64_t size)
{
	h->mmio64_next = base;
	h->mmio64_end = base + size;
}

/* Firmware's job: give every BAR a naturally aligned address. */
static int pci_assign_bar(struct pci_host *h, struct pci_device *dev,
			  unsigned idx)
{
	struct pci_bar *b = &dev->bar[idx];
	uint64_t addr;

	if (b->flags & PCI_BAR_IO) {
		addr = (h->io_next + b->size - 1) & ~(b->size - 1);
		if (addr + b->size > h->io_end)
			return -ENOSPC;
		h->io_next = (uint32_t)(addr + b->size);
		cfg_set(dev->cfg, PCI_BAR0 + 4 * idx, 4,
			(uint32_t)addr | PCI_BAR_IO);
		return 0;
	}
	if ((b->flags & (PCI_BAR_MEM64 | PCI_BAR_PREFETCH)) ==
	    (PCI_BAR_MEM64 | PCI_BAR_PREFETCH) && h->mmio64_end != 0) {
		addr = (h->mmio64_next + b->size - 1) & ~(b->size - 1);
		if (addr + b->size > h->mmio64_end)
			return -ENOSPC;
		h->mmio64_next = addr + b->size;
	} else {
		addr = (h->mmio_next + b->size - 1) & ~(b->size - 1);
		if (addr + b->size > h->mmio_end)
			return -ENOSPC;
		h->mmio_next = addr + b->size;
	}
	cfg_set(dev->cfg, PCI_BAR0 + 4 * idx, 4,
		(uint32_t)addr | (b->flags & 0xf));
	if (b->flags & PCI_BAR_MEM64)
		cfg_set(dev->cfg, PCI_BAR0 + 4 * (idx + 1), 4,
			(uint32_t)(addr >> 32));
	return 0;
}

int pci_device_set_intx_pin(struct pci_device *dev, unsigned pin)
{
	if (pin < 1 || pin > 4)
		return -EINVAL;
	dev->cfg[PCI_INTERRUPT_PIN] = (uint8_t)pin;
	return 0;
}

int pci_device_intx_gsi(const struct pci_device *dev)
{
	unsigned pin = dev->cfg[PCI_INTERRUPT_PIN];

	if (pin == 0 || dev->host == NULL)
		return -ENOENT;
	return LAYOUT_PCI_INTX_GSI(dev->slot, pin - 1);
}

int pci_host_add_device(struct pci_host *h, struct pci_device *dev,
			unsigned slot)
{
	uint16_t cmd = 0;
	int err;

	if (slot == 0 || slot >= PCI_MAX_SLOTS)
		return -EINVAL;
	if (h->slot[slot] != NULL)
		return -EBUSY;
	/* Largest BARs first would pack better; devices here are few. */
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		if (dev->bar[i].size == 0)
			continue;
		err = pci_assign_bar(h, dev, i);
		if (err < 0) {
			log_warnx("%s: no room for BAR%u (%#llx bytes)",
				  dev->name, i,
				  (unsigned long long)dev->bar[i].size);
			return err;
		}
		cmd |= (dev->bar[i].flags & PCI_BAR_IO) ? PCI_COMMAND_IO
							: PCI_COMMAND_MEMORY;
	}
	dev->host = h;
	dev->slot = slot;
	h->slot[slot] = dev;
	cfg_set(dev->cfg, PCI_COMMAND, 2, cmd);
	if (dev->cfg[PCI_INTERRUPT_PIN])
		dev->cfg[PCI_INTERRUPT_LINE] = (uint8_t)pci_device_intx_gsi(dev);
	pci_update_mappings(dev);
	return 0;
}

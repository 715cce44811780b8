/* PCI host bridge: bus 0 only, configuration through 0xCF8/0xCFC
 * (mechanism #1) and ECAM (MMCONFIG at LAYOUT_PCI_ECAM), type-0 headers
 * with BARs the host allocates up front like firmware would, remapped on
 * the I/O buses when the guest moves them or toggles decoding.
 *
 * Functions return 0 or a negative errno.  Guest accesses never fail:
 * absent devices read as all ones, writes to read-only bits are ignored.
 * Not supported yet: bridges/other buses, multi-function devices, MSI
 * (MSI-X: pci-msix.h). */
#ifndef MICA_PCI_H
#define MICA_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "iobus.h"

#define PCI_CFG_SIZE		4096	/* PCIe extended config space */
#define PCI_MAX_SLOTS		32
#define PCI_NUM_BARS		6

#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_IO		0x1
#define  PCI_COMMAND_MEMORY	0x2
#define  PCI_COMMAND_MASTER	0x4
#define  PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS		0x06
#define  PCI_STATUS_CAP_LIST	0x10
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_BAR_IO		0x1
#define PCI_BAR_MEM64		0x4
#define PCI_BAR_PREFETCH	0x8

struct pci_device;

struct pci_bar {
	uint64_t size;		/* power of two; 0: BAR unused */
	uint64_t addr;		/* current guest address */
	unsigned flags;		/* PCI_BAR_IO or memory (+MEM64, PREFETCH) */
	const struct io_handler *ops;	/* gets absolute addresses */
	void *opaque;
	bool mapped;
};

struct pci_device {
	const char *name;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may change */
	struct pci_bar bar[PCI_NUM_BARS];
	uint8_t next_cap;		/* where the next capability goes */
	/* Called after the guest changed config bytes [off, off+size). */
	void (*config_written)(struct pci_device *dev, unsigned off,
			       unsigned size);
	/* Called after BAR idx appeared at addr (mapped) or went away, so
	 * doorbells registered with the accelerator can follow it. */
	void (*bar_mapped)(struct pci_device *dev, unsigned idx, uint64_t addr,
			   bool mapped);
	void *opaque;
	struct pci_host *host;
	unsigned slot;
};

struct pci_host {
	struct iobus *pio, *mmio;
	struct pci_device *slot[PCI_MAX_SLOTS];
	struct pci_device bridge;	/* 00:00.0 */
	uint32_t config_address;	/* 0xCF8 latch */
	uint64_t mmio_next, mmio_end;
	uint64_t mmio64_next, mmio64_end;	/* 0: no 64-bit window */
	uint32_t io_next, io_end;
};

/* Set up the host bridge and claim 0xCF8, 0xCFA-0xCFF (0xCF9 is the
 * reset register) and the ECAM window. */
int pci_host_init(struct pci_host *host, struct iobus *pio, struct iobus *mmio);
void pci_host_fini(struct pci_host *host);
/* Open the 64-bit window [base, base+size): 64-bit prefetchable BARs are
 * placed there from then on (the DSDT describes the same window, see
 * guest_mem_pci_mmio64).  Without it every BAR goes below 4 GiB. */
void pci_host_set_mmio64(struct pci_host *host, uint64_t base, uint64_t size);

/* Fill the identity part of a type-0 header. */
void pci_device_init(struct pci_device *dev, const char *name,
		     uint16_t vendor, uint16_t device, uint32_t class_code,
		     uint8_t revision);
/* Declare BAR idx (a 64-bit BAR takes idx+1 too).  -EINVAL for a bad
 * index, size not a power of two, or size below 16 (4 for I/O). */
int pci_device_add_bar(struct pci_device *dev, unsigned idx, uint64_t size,
		       unsigned flags, const struct io_handler *ops,
		       void *opaque);
/* Append a capability of len bytes with id; returns its offset or
 * -ENOSPC.  The caller fills the body and its wmask. */
int pci_device_add_cap(struct pci_device *dev, uint8_t id, unsigned len);

/* Give dev a legacy interrupt pin (1 = INTA .. 4 = INTD); -EINVAL
 * otherwise.  Its GSI is known once the device is plugged in. */
int pci_device_set_intx_pin(struct pci_device *dev, unsigned pin);
/* The IOAPIC GSI the device's INTx pin is wired to (as the DSDT _PRT
 * says), or -ENOENT without a pin or before pci_host_add_device.
 * Raise it with accel irq_line (level) or a resampling irqfd. */
int pci_device_intx_gsi(const struct pci_device *dev);

/* Plug dev into slot (1..31), allocate and program its BARs, enable
 * decoding, fill the interrupt line register.  -EBUSY if taken, -ENOSPC
 * if a window is exhausted. */
int pci_host_add_device(struct pci_host *host, struct pci_device *dev,
			unsigned slot);

/* Raw config access as the guest sees it (for tests and the translator);
 * bdf = bus << 8 | slot << 3 | fn. */
uint32_t pci_config_read(struct pci_host *host, unsigned bdf, unsigned off,
			 unsigned size);
void pci_config_write(struct pci_host *host, unsigned bdf, unsigned off,
		      unsigned size, uint32_t val);

#endif

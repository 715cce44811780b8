/* MSI-X for PCI devices of the runner, routed to the accelerator:
 * vector v is GSI gsi_base + v, programmed with the guest's address/data
 * (msi_route) and raised by writing the vector's eventfd (irqfd).  A
 * backend in another process only needs those eventfds.
 *
 * Masking: a masked vector's irqfd is detached, so signals accumulate in
 * the eventfd and show in the PBA; unmasking re-attaches it and the
 * accelerator delivers the pending one (KVM checks the eventfd on
 * assign).  Functions return 0 or a negative errno. */
#ifndef MICA_PCI_MSIX_H
#define MICA_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "accel.h"
#include "pci.h"

#define PCI_CAP_ID_MSIX		0x11
#define PCI_MSIX_MAX_VECTORS	64
#define PCI_MSIX_ENTRY_SIZE	16
#define PCI_MSIX_FLAGS_ENABLE	0x8000
#define PCI_MSIX_FLAGS_MASKALL	0x4000
#define PCI_MSIX_ENTRY_MASKED	0x1

struct pci_msix {
	struct pci_device *dev;
	const struct accel_ops *ops;
	struct accel_vm *vm;
	unsigned cap;			/* config offset of the capability */
	unsigned nr_vectors, bar, gsi_base;
	uint32_t table_offset, pba_offset;	/* inside the BAR */
	struct pci_msix_entry {
		uint32_t addr_lo, addr_hi, data, ctrl;
	} table[PCI_MSIX_MAX_VECTORS];
	int fd[PCI_MSIX_MAX_VECTORS];		/* eventfds, owned */
	bool routed[PCI_MSIX_MAX_VECTORS];
};

/* Add the capability to dev and create one eventfd per vector.  The table
 * and PBA live in BAR bar at the given offsets; the device's BAR handler
 * forwards accesses there to pci_msix_table_read/write. */
int pci_msix_init(struct pci_msix *x, struct pci_device *dev,
		  unsigned nr_vectors, unsigned bar, uint32_t table_offset,
		  uint32_t pba_offset, const struct accel_ops *ops,
		  struct accel_vm *vm, unsigned gsi_base);
/* Also safe after a failed pci_msix_init or on a zeroed struct. */
void pci_msix_fini(struct pci_msix *x);

/* off is relative to the BAR.  Returns true if it was a table/PBA access. */
bool pci_msix_bar_read(struct pci_msix *x, uint64_t off, unsigned size,
		       uint64_t *val);
bool pci_msix_bar_write(struct pci_msix *x, uint64_t off, unsigned size,
			uint64_t val);
/* Call from the device's config_written hook. */
void pci_msix_config_written(struct pci_msix *x, unsigned off, unsigned size);

/* Whether the driver turned MSI-X on (else the function uses INTx). */
bool pci_msix_enabled(const struct pci_msix *x);
/* The eventfd that raises vector v (hand it to the backend), or -1. */
int pci_msix_vector_fd(const struct pci_msix *x, unsigned v);

#endif

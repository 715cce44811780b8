/* Guest RAM as the runner sees it: up to a few host mappings of the
 * launcher's memfd at guest physical addresses.  Accelerator-neutral. */
#ifndef MICA_GUEST_MEM_H
#define MICA_GUEST_MEM_H

#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 4

struct guest_mem {
	struct guest_mem_region {
		uint64_t gpa, size;
		uint8_t *hva;
	} region[GUEST_MEM_MAX_REGIONS];
	unsigned nr;
	uint64_t ram_size;		/* total of all regions */
};

/* Host pointer for [gpa, gpa+len) if it lies inside one region, else NULL. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Split ram_size into the low region (below the PCI hole) and the part
 * above 4 GiB.  Returns the number of regions (1 or 2). */
unsigned guest_mem_layout(uint64_t ram_size, struct guest_mem *mem);

/* Base of the 64-bit PCI MMIO window for this memory layout (size
 * LAYOUT_PCI_MMIO64_SIZE). */
uint64_t guest_mem_pci_mmio64(const struct guest_mem *mem);

#endif

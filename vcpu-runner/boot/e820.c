#include "layout.h"
#include "boot/e820.h"

unsigned e820_build(const struct guest_mem *mem, struct e820_entry *out)
{
	uint64_t low_end = mem->region[0].size;
	unsigned n = 0;

	out[n++] = (struct e820_entry){ 0, LAYOUT_EBDA, E820_RAM };
	out[n++] = (struct e820_entry){ LAYOUT_EBDA,
					LAYOUT_HIGH_MEM - LAYOUT_EBDA,
					E820_RESERVED };
	if (low_end > LAYOUT_HIGH_MEM)
		out[n++] = (struct e820_entry){ LAYOUT_HIGH_MEM,
						low_end - LAYOUT_HIGH_MEM,
						E820_RAM };
	/* MCFG space must be reserved for Linux to trust MMCONFIG. */
	out[n++] = (struct e820_entry){ LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM_SIZE,
					E820_RESERVED };
	out[n++] = (struct e820_entry){ LAYOUT_IOAPIC, 0x1000, E820_RESERVED };
	out[n++] = (struct e820_entry){ LAYOUT_LAPIC, 0x1000, E820_RESERVED };
	out[n++] = (struct e820_entry){ 0xfffbc000ULL, 0x4000, E820_RESERVED };
	for (unsigned i = 1; i < mem->nr; i++)
		out[n++] = (struct e820_entry){ mem->region[i].gpa,
						mem->region[i].size, E820_RAM };
	return n;
}

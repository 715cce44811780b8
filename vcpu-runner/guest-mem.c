#include <stddef.h>

#include "guest-mem.h"
#include "layout.h"

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < mem->nr; i++) {
		const struct guest_mem_region *r = &mem->region[i];

		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

uint64_t guest_mem_pci_mmio64(const struct guest_mem *mem)
{
	uint64_t top = LAYOUT_RAM_ABOVE_4G;

	for (unsigned i = 0; i < mem->nr; i++)
		if (mem->region[i].gpa + mem->region[i].size > top)
			top = mem->region[i].gpa + mem->region[i].size;
	return (top + LAYOUT_PCI_MMIO64_ALIGN - 1) & ~(LAYOUT_PCI_MMIO64_ALIGN - 1);
}

unsigned guest_mem_layout(uint64_t ram_size, struct guest_mem *mem)
{
	uint64_t low = ram_size < LAYOUT_LOW_RAM_END ? ram_size : LAYOUT_LOW_RAM_END;

	mem->nr = 0;
	mem->ram_size = ram_size;
	mem->region[mem->nr++] = (struct guest_mem_region){ 0, low, NULL };
	if (ram_size > low)
		mem->region[mem->nr++] = (struct guest_mem_region){
			LAYOUT_RAM_ABOVE_4G, ram_size - low, NULL };
	return mem->nr;
}

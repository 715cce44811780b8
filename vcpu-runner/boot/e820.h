/* The guest memory map, in e820 terms; both boot_params and PVH's
 * hvm_start_info memmap use these types. */
#ifndef MICA_E820_H
#define MICA_E820_H

#include <stdint.h>

#include "guest-mem.h"

#define E820_RAM	1
#define E820_RESERVED	2
#define E820_ACPI	3

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

#define E820_MAX 16

/* Fill out[] with the map of mem (sorted, non-overlapping); returns the
 * number of entries. */
unsigned e820_build(const struct guest_mem *mem, struct e820_entry *out);

#endif

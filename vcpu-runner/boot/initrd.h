/* Helpers shared by the PVH and bzImage loaders. */
#ifndef MICA_BOOT_INITRD_H
#define MICA_BOOT_INITRD_H

#include <stdint.h>

#include "guest-mem.h"
#include "boot/boot.h"

/* Copy cmdline (NUL-terminated) to LAYOUT_CMDLINE.  -E2BIG if it does not
 * fit in max bytes including the NUL. */
int boot_write_cmdline(const struct guest_mem *mem, const char *cmdline,
		       uint64_t max);

/* Put the initrd page-aligned as high as possible in low RAM, below
 * limit (inclusive last byte) and above kernel_top.  -ENOMEM if it does
 * not fit. */
int boot_place_initrd(const struct guest_mem *mem,
		      const struct boot_config *cfg, uint64_t kernel_top,
		      uint64_t limit, uint64_t *addr);

#endif

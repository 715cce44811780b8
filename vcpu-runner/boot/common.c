#include <errno.h>
#include <string.h>

#include "log.h"
#include "layout.h"
#include "boot/initrd.h"

int boot_write_cmdline(const struct guest_mem *mem, const char *cmdline,
		       uint64_t max)
{
	size_t len = cmdline != NULL ? strlen(cmdline) : 0;
	char *dst;

	if (len + 1 > max || len + 1 > LAYOUT_CMDLINE_MAX) {
		log_warnx("command line is %zu bytes; the kernel takes at most "
			  "%llu", len, (unsigned long long)max - 1);
		return -E2BIG;
	}
	dst = guest_mem_ptr(mem, LAYOUT_CMDLINE, len + 1);
	if (dst == NULL)
		return -ENOMEM;
	memcpy(dst, cmdline != NULL ? cmdline : "", len);
	dst[len] = '\0';
	return 0;
}

int boot_place_initrd(const struct guest_mem *mem,
		      const struct boot_config *cfg, uint64_t kernel_top,
		      uint64_t limit, uint64_t *addr)
{
	uint64_t top = mem->region[0].size, start;
	void *dst;

	if (limit < top - 1)
		top = limit + 1;
	if (cfg->initrd_size > top)
		goto too_big;
	start = (top - cfg->initrd_size) & ~0xfffULL;
	if (start < kernel_top || start < LAYOUT_HIGH_MEM)
		goto too_big;
	dst = guest_mem_ptr(mem, start, cfg->initrd_size);
	if (dst == NULL)
		goto too_big;
	memcpy(dst, cfg->initrd, cfg->initrd_size);
	*addr = start;
	return 0;
too_big:
	log_warnx("initrd of %zu bytes does not fit in guest RAM below %#llx",
		  cfg->initrd_size, (unsigned long long)top);
	return -ENOMEM;
}

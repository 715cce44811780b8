#include <errno.h>
#include "log.h"
#include "boot/boot.h"
int boot_load_bzimage(const struct guest_mem *mem, const void *image,
		      size_t len, const struct boot_config *cfg,
		      struct boot_entry *e)
{
	return -ENOEXEC;
}

/* libFuzzer: kernel images (bzImage setup header, PVH ELF program headers
 * and notes) through boot_load_kernel into a small guest RAM. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "log.h"
#include "boot/boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	struct boot_config cfg = { .cmdline = "console=ttyS0", .nr_vcpus = 2,
				   .initrd = data, .initrd_size = size / 2 };
	struct boot_entry e;

	if (mem.nr == 0) {
		log_init("fuzz-boot");
		guest_mem_layout(64ULL << 20, &mem);
		mem.region[0].hva = mmap(NULL, mem.region[0].size,
					 PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
					 -1, 0);
		if (mem.region[0].hva == MAP_FAILED)
			abort();
	}
	boot_load_kernel(&mem, data, size, &cfg, &e);
	return 0;
}

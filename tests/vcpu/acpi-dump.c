/* acpi-dump DIR [vcpus]: build the ACPI tables as the loader does and
 * write each one to DIR/<signature>.dat, for iasl to disassemble. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "boot/acpi.h"

static struct guest_mem mem;

static int dump(const char *dir, uint64_t gpa)
{
	const uint8_t *t = guest_mem_ptr(&mem, gpa, 8);
	char path[4096];
	uint32_t len;
	FILE *f;

	if (t == NULL)
		return -1;
	memcpy(&len, t + 4, 4);
	if (guest_mem_ptr(&mem, gpa, len) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/%.4s.dat", dir, (const char *)t);
	f = fopen(path, "w");
	if (f == NULL || fwrite(t, 1, len, f) != len) {
		perror(path);
		return -1;
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned vcpus = argc > 2 ? (unsigned)atoi(argv[2]) : 4;
	const uint8_t *rsdp, *xsdt;
	uint64_t rsdp_gpa, xsdt_gpa, addr;
	uint32_t len;
	int err = 0;

	log_init("acpi-dump");
	if (argc < 2)
		fatalx("usage: acpi-dump DIR [vcpus]");
	guest_mem_layout(64ULL << 20, &mem);
	mem.region[0].hva = mmap(NULL, mem.region[0].size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem.region[0].hva == MAP_FAILED || acpi_build(&mem, vcpus, &rsdp_gpa) < 0)
		fatalx("cannot build the tables");
	rsdp = guest_mem_ptr(&mem, rsdp_gpa, 36);
	memcpy(&xsdt_gpa, rsdp + 24, 8);
	xsdt = guest_mem_ptr(&mem, xsdt_gpa, 36);
	memcpy(&len, xsdt + 4, 4);
	err |= dump(argv[1], xsdt_gpa);
	for (uint32_t off = 36; off + 8 <= len; off += 8) {
		memcpy(&addr, xsdt + off, 8);
		err |= dump(argv[1], addr);
		if (memcmp(guest_mem_ptr(&mem, addr, 4), "FACP", 4) == 0) {
			const uint8_t *f = guest_mem_ptr(&mem, addr, 148);

			memcpy(&addr, f + 140, 8);	/* X_DSDT */
			err |= dump(argv[1], addr);
		}
	}
	return err ? 1 : 0;
}

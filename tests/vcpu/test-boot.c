/* Loader tests: bzImage setup header and boot_params against the real
 * Debian kernel (linux-image-cloud-amd64), PVH against a test guest, the
 * e820 map and the ACPI tables.  No accelerator needed: guest RAM is an
 * anonymous mapping here. */
#define _GNU_SOURCE
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cutest.h"
#include "layout.h"
#include "boot/boot.h"
#include "boot/bootparam.h"
#include "boot/acpi.h"
#include "boot/aml.h"

#define RAM_SIZE (256ULL << 20)

static struct guest_mem mem;

static void mem_setup(uint64_t size)
{
	if (mem.region[0].hva != NULL)
		munmap(mem.region[0].hva, mem.region[0].size);
	guest_mem_layout(size, &mem);
	mem.region[0].hva = mmap(NULL, mem.region[0].size,
				 PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
	if (mem.region[0].hva == MAP_FAILED)
		abort();
}

/* The newest /boot/vmlinuz-*, or NULL. */
static int debian_kernel(void **img, size_t *len)
{
	glob_t g;
	int err = -ENOENT;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g) == 0 && g.gl_pathc > 0)
		err = boot_read_file(g.gl_pathv[g.gl_pathc - 1], img, len);
	globfree(&g);
	return err;
}

#define NEED_KERNEL(img, len) \
	do { \
		if (debian_kernel(&(img), &(len)) < 0) \
			CUTEST_SKIP("no /boot/vmlinuz-* (install " \
				    "linux-image-cloud-amd64)"); \
	} while (0)

static void test_bzimage_header_debian(void)
{
	struct setup_header hdr;
	size_t len, setup_len;
	void *img;

	NEED_KERNEL(img, len);
	CU_ASSERT_EQUAL_FATAL(bzimage_parse_header(img, len, &hdr, &setup_len), 0);
	CU_ASSERT(hdr.version >= 0x020f);
	CU_ASSERT(hdr.xloadflags & XLF_KERNEL_64);
	CU_ASSERT(hdr.loadflags & LOADFLAG_LOADED_HIGH);
	CU_ASSERT_EQUAL(hdr.relocatable_kernel, 1);
	CU_ASSERT_EQUAL(hdr.pref_address, 0x1000000);
	CU_ASSERT(hdr.init_size > len - setup_len);
	CU_ASSERT(hdr.cmdline_size >= 255);
	CU_ASSERT_EQUAL(setup_len, (hdr.setup_sects + 1) * 512u);
	free(img);
}

static void test_bzimage_rejects_bad_headers(void)
{
	struct setup_header hdr;
	size_t len, setup_len;
	uint8_t *img;
	void *p;

	NEED_KERNEL(p, len);
	img = p;
	CU_ASSERT_EQUAL(bzimage_parse_header(img, 0x100, &hdr, &setup_len),
			-ENOEXEC);
	CU_ASSERT_EQUAL(bzimage_parse_header(img, 0x1000, &hdr, &setup_len),
			-EINVAL);		/* truncated kernel */
	CU_ASSERT_EQUAL(bzimage_parse_header(img, len - 4096, &hdr, &setup_len),
			-EINVAL);
	img[0x236] &= (uint8_t)~XLF_KERNEL_64;
	CU_ASSERT_EQUAL(bzimage_parse_header(img, len, &hdr, &setup_len),
			-ENOTSUP);
	img[0x236] |= XLF_KERNEL_64;
	img[0x206] = 0x0b;			/* version 2.11 */
	CU_ASSERT_EQUAL(bzimage_parse_header(img, len, &hdr, &setup_len),
			-ENOTSUP);
	img[0x202] = 'X';			/* not HdrS */
	CU_ASSERT_EQUAL(bzimage_parse_header(img, len, &hdr, &setup_len),
			-ENOEXEC);
	free(img);
}

static void check_acpi(unsigned nr_vcpus, uint64_t rsdp_gpa)
{
	const uint8_t *rsdp = guest_mem_ptr(&mem, rsdp_gpa, 36);
	const uint8_t *xsdt, *t;
	uint64_t xsdt_gpa, addr;
	uint32_t xlen, tlen;
	int found = 0;

	CU_ASSERT_FATAL(rsdp != NULL);
	CU_ASSERT(rsdp_gpa >= 0xe0000 && rsdp_gpa < 0x100000 && !(rsdp_gpa & 15));
	CU_ASSERT_NSTRING_EQUAL(rsdp, "RSD PTR ", 8);
	CU_ASSERT_EQUAL(acpi_checksum(rsdp, 20), 0);
	CU_ASSERT_EQUAL(acpi_checksum(rsdp, 36), 0);
	memcpy(&xsdt_gpa, rsdp + 24, 8);
	xsdt = guest_mem_ptr(&mem, xsdt_gpa, 36);
	CU_ASSERT_FATAL(xsdt != NULL);
	memcpy(&xlen, xsdt + 4, 4);
	CU_ASSERT_NSTRING_EQUAL(xsdt, "XSDT", 4);
	CU_ASSERT_EQUAL(acpi_checksum(xsdt, xlen), 0);
	for (uint32_t off = 36; off + 8 <= xlen; off += 8) {
		memcpy(&addr, xsdt + off, 8);
		t = guest_mem_ptr(&mem, addr, 36);
		CU_ASSERT_FATAL(t != NULL);
		memcpy(&tlen, t + 4, 4);
		CU_ASSERT_EQUAL(acpi_checksum(t, tlen), 0);
		if (memcmp(t, "FACP", 4) == 0) {
			uint64_t dsdt;
			uint32_t dlen, flags;
			const uint8_t *d;

			found |= 1;
			CU_ASSERT_EQUAL(tlen, 276);
			memcpy(&flags, t + 112, 4);
			CU_ASSERT(flags & (1u << 10));	/* RESET_REG_SUP */
			CU_ASSERT_EQUAL(t[116], 1);	/* reset reg in I/O */
			memcpy(&addr, t + 120, 8);
			CU_ASSERT_EQUAL(addr, 0xcf9);
			CU_ASSERT_EQUAL(t[128], 6);
			memcpy(&dsdt, t + 140, 8);
			d = guest_mem_ptr(&mem, dsdt, 36);
			CU_ASSERT_FATAL(d != NULL);
			memcpy(&dlen, d + 4, 4);
			CU_ASSERT_NSTRING_EQUAL(d, "DSDT", 4);
			CU_ASSERT_EQUAL(acpi_checksum(d, dlen), 0);
			/* PNP0A08 as an EISA id DWord */
			CU_ASSERT(memmem(d, dlen, "\x0c\x41\xd0\x0a\x08", 5) != NULL);
			CU_ASSERT(memmem(d, dlen, "PCI0", 4) != NULL);
		} else if (memcmp(t, "APIC", 4) == 0) {
			unsigned lapics = 0, ioapics = 0;

			found |= 2;
			for (uint32_t e = 44; e + 2 <= tlen; e += t[e + 1]) {
				if (t[e + 1] == 0)
					break;
				lapics += t[e] == 0 && (t[e + 4] & 1);
				ioapics += t[e] == 1;
			}
			CU_ASSERT_EQUAL(lapics, nr_vcpus);
			CU_ASSERT_EQUAL(ioapics, 1);
		} else if (memcmp(t, "MCFG", 4) == 0) {
			found |= 4;
			memcpy(&addr, t + 44, 8);
			CU_ASSERT_EQUAL(addr, LAYOUT_PCI_ECAM);
			CU_ASSERT_EQUAL(t[55], 255);	/* end bus */
		}
	}
	CU_ASSERT_EQUAL(found, 7);
}

static void test_bzimage_boot_params_debian(void)
{
	static const char cmdline[] = "console=ttyS0 root=/dev/vda rw";
	static const uint8_t initrd[8192] = { 0x1f, 0x8b };
	struct boot_config cfg = { .cmdline = cmdline, .initrd = initrd,
				   .initrd_size = sizeof(initrd), .nr_vcpus = 4 };
	const struct boot_params *bp;
	struct setup_header hdr;
	struct boot_entry e;
	size_t len, setup_len;
	void *img;

	NEED_KERNEL(img, len);
	mem_setup(RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(bzimage_parse_header(img, len, &hdr, &setup_len), 0);
	CU_ASSERT_EQUAL_FATAL(boot_load_kernel(&mem, img, len, &cfg, &e), 0);
	CU_ASSERT_EQUAL(e.mode, BOOT_LONG64);
	CU_ASSERT_EQUAL(e.rip, hdr.pref_address + 0x200);
	CU_ASSERT_EQUAL(e.rsi, LAYOUT_ZERO_PAGE);
	CU_ASSERT(memcmp(guest_mem_ptr(&mem, hdr.pref_address, len - setup_len),
			 (uint8_t *)img + setup_len, len - setup_len) == 0);
	bp = guest_mem_ptr(&mem, LAYOUT_ZERO_PAGE, sizeof(*bp));
	CU_ASSERT_EQUAL(bp->hdr.header, SETUP_HDRS_MAGIC);
	CU_ASSERT_EQUAL(bp->hdr.boot_flag, 0xaa55);
	CU_ASSERT_EQUAL(bp->hdr.version, hdr.version);
	CU_ASSERT_EQUAL(bp->hdr.type_of_loader, 0xff);
	CU_ASSERT_STRING_EQUAL(guest_mem_ptr(&mem, bp->hdr.cmd_line_ptr, 1),
			       cmdline);
	CU_ASSERT_EQUAL(bp->hdr.ramdisk_size, sizeof(initrd));
	CU_ASSERT(bp->hdr.ramdisk_image >= hdr.pref_address + hdr.init_size);
	CU_ASSERT((uint64_t)bp->hdr.ramdisk_image + sizeof(initrd) <= RAM_SIZE);
	CU_ASSERT(memcmp(guest_mem_ptr(&mem, bp->hdr.ramdisk_image, 2),
			 initrd, 2) == 0);
	CU_ASSERT_EQUAL(bp->e820_entries, 7);
	CU_ASSERT_EQUAL(bp->e820_table[0].type, E820_RAM);
	CU_ASSERT_EQUAL(bp->e820_table[0].addr, 0);
	CU_ASSERT_EQUAL(bp->e820_table[2].addr, LAYOUT_HIGH_MEM);
	CU_ASSERT_EQUAL(bp->e820_table[2].size, RAM_SIZE - LAYOUT_HIGH_MEM);
	for (unsigned i = 1; i < bp->e820_entries; i++)
		CU_ASSERT(bp->e820_table[i].addr >=
			  bp->e820_table[i - 1].addr + bp->e820_table[i - 1].size);
	CU_ASSERT(bp->acpi_rsdp_addr != 0);
	check_acpi(4, bp->acpi_rsdp_addr);
	free(img);
}

static void test_bzimage_limits(void)
{
	struct boot_config cfg = { .nr_vcpus = 1 };
	struct boot_entry e;
	char *longcmd;
	size_t len;
	void *img;

	NEED_KERNEL(img, len);
	mem_setup(RAM_SIZE);
	longcmd = malloc(0x20000);
	memset(longcmd, 'a', 0x20000 - 1);
	longcmd[0x20000 - 1] = 0;
	cfg.cmdline = longcmd;
	CU_ASSERT_EQUAL(boot_load_bzimage(&mem, img, len, &cfg, &e), -E2BIG);
	cfg.cmdline = "";
	cfg.initrd = longcmd;
	cfg.initrd_size = RAM_SIZE;
	CU_ASSERT_EQUAL(boot_load_bzimage(&mem, img, len, &cfg, &e), -ENOMEM);
	mem_setup(32ULL << 20);		/* too small for init_size */
	cfg.initrd = NULL;
	CU_ASSERT_EQUAL(boot_load_bzimage(&mem, img, len, &cfg, &e), -ENOMEM);
	free(longcmd);
	free(img);
}

struct hvm_start_info_view {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

static void test_pvh_guest(void)
{
	static const uint8_t initrd[4096] = { 'r', 'd' };
	struct boot_config cfg = { .cmdline = "pvh test", .nr_vcpus = 2,
				   .initrd = initrd, .initrd_size = sizeof(initrd) };
	const struct hvm_start_info_view *si;
	const uint64_t *mod;
	struct boot_entry e;
	size_t len;
	void *img;

	if (boot_read_file("build/guests/hello.elf", &img, &len) < 0)
		CUTEST_SKIP("build/guests/hello.elf not built");
	mem_setup(64ULL << 20);
	CU_ASSERT_EQUAL_FATAL(boot_load_kernel(&mem, img, len, &cfg, &e), 0);
	CU_ASSERT_EQUAL(e.mode, BOOT_PROT32);
	CU_ASSERT(e.rip >= 0x100000 && e.rip < 0x200000);
	CU_ASSERT_EQUAL(e.rbx, LAYOUT_START_INFO);
	si = guest_mem_ptr(&mem, e.rbx, sizeof(*si));
	CU_ASSERT_EQUAL(si->magic, 0x336ec578);
	CU_ASSERT_EQUAL(si->version, 1);
	CU_ASSERT_STRING_EQUAL(guest_mem_ptr(&mem, si->cmdline_paddr, 1),
			       "pvh test");
	CU_ASSERT_EQUAL(si->memmap_entries, 7);
	CU_ASSERT_EQUAL(si->nr_modules, 1);
	mod = guest_mem_ptr(&mem, si->modlist_paddr, 32);
	CU_ASSERT_EQUAL(mod[1], sizeof(initrd));
	CU_ASSERT(memcmp(guest_mem_ptr(&mem, mod[0], 2), "rd", 2) == 0);
	check_acpi(2, si->rsdp_paddr);
	free(img);
}

/* The vmlinux inside the Debian bzImage (LZ4 payload, CONFIG_PVH=y),
 * unpacked with the lz4 tool into a temporary file. */
static int debian_vmlinux(void **img, size_t *len)
{
	char payload[] = "/tmp/mica-payload-XXXXXX", vmlinux[] = "/tmp/mica-vmlinux-XXXXXX";
	char cmd[256];
	struct setup_header hdr;
	size_t klen, setup_len;
	void *kernel;
	int fd, err = -ENOENT;
	FILE *f;

	if (system("command -v lz4 >/dev/null") != 0 ||
	    debian_kernel(&kernel, &klen) < 0)
		return -ENOENT;
	if (bzimage_parse_header(kernel, klen, &hdr, &setup_len) < 0 ||
	    memcmp((uint8_t *)kernel + setup_len + hdr.payload_offset,
		   "\x02\x21\x4c\x18", 4) != 0)	/* LZ4 legacy frame */
		goto out;
	fd = mkstemp(payload);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL)
		goto out;
	fwrite((uint8_t *)kernel + setup_len + hdr.payload_offset, 1,
	       hdr.payload_length, f);
	fclose(f);
	fd = mkstemp(vmlinux);
	if (fd >= 0) {
		close(fd);
		snprintf(cmd, sizeof(cmd), "lz4 -dcq %s > %s 2>/dev/null", payload,
			 vmlinux);
		/* lz4 complains about the kernel's trailing size word but
		 * writes the whole image: judge by the ELF that comes out. */
		if (system(cmd) >= 0)
			err = boot_read_file(vmlinux, img, len);
		unlink(vmlinux);
	}
	unlink(payload);
out:
	free(kernel);
	return err;
}

struct hvm_memmap_view {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static void test_pvh_debian_vmlinux(void)
{
	struct boot_config cfg = { .cmdline = "console=ttyS0", .nr_vcpus = 2 };
	const struct hvm_start_info_view *si;
	const struct hvm_memmap_view *mm;
	struct boot_entry e;
	const uint8_t *img;
	size_t len;
	void *p;

	if (debian_vmlinux(&p, &len) < 0)
		CUTEST_SKIP("no LZ4 Debian kernel or no lz4 tool");
	img = p;
	mem_setup(RAM_SIZE);
	CU_ASSERT_EQUAL_FATAL(boot_load_kernel(&mem, img, len, &cfg, &e), 0);
	CU_ASSERT_EQUAL(e.mode, BOOT_PROT32);
	/* Entry from the XEN_ELFNOTE_PHYS32_ENTRY note: startup code just
	 * above the 16 MiB load address. */
	CU_ASSERT(e.rip > 0x1000000 && e.rip < 0x1001000);
	/* First PT_LOAD: file offset 0x200000 at 16 MiB. */
	CU_ASSERT(memcmp(guest_mem_ptr(&mem, 0x1000000, 4096), img + 0x200000,
			 4096) == 0);
	si = guest_mem_ptr(&mem, e.rbx, sizeof(*si));
	CU_ASSERT_EQUAL(si->magic, 0x336ec578);
	CU_ASSERT_STRING_EQUAL(guest_mem_ptr(&mem, si->cmdline_paddr, 1),
			       "console=ttyS0");
	mm = guest_mem_ptr(&mem, si->memmap_paddr, 7 * sizeof(*mm));
	CU_ASSERT_EQUAL(si->memmap_entries, 7);
	CU_ASSERT_EQUAL(mm[2].addr, 0x100000);
	CU_ASSERT_EQUAL(mm[2].type, 1);
	check_acpi(2, si->rsdp_paddr);
	free(p);
}

static void test_pvh_rejects_plain_elf(void)
{
	struct boot_config cfg = { .cmdline = "", .nr_vcpus = 1 };
	struct boot_entry e;
	size_t len;
	void *img;

	if (boot_read_file("/bin/true", &img, &len) < 0)
		CUTEST_SKIP("no /bin/true");
	mem_setup(64ULL << 20);
	CU_ASSERT_EQUAL(boot_load_pvh(&mem, img, len, &cfg, &e), -ENOEXEC);
	CU_ASSERT_EQUAL(boot_load_kernel(&mem, img, len, &cfg, &e), -ENOEXEC);
	free(img);
}

static void test_e820_above_4g(void)
{
	struct e820_entry e[E820_MAX];
	struct guest_mem m;
	unsigned n;

	guest_mem_layout(4ULL << 30, &m);
	CU_ASSERT_EQUAL(m.nr, 2);
	CU_ASSERT_EQUAL(m.region[0].size, LAYOUT_LOW_RAM_END);
	CU_ASSERT_EQUAL(m.region[1].gpa, 1ULL << 32);
	CU_ASSERT_EQUAL(m.region[1].size, (4ULL << 30) - LAYOUT_LOW_RAM_END);
	n = e820_build(&m, e);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_EQUAL(e[n - 1].addr, 1ULL << 32);
	CU_ASSERT_EQUAL(e[n - 1].type, E820_RAM);
}

static void test_aml_pkglength(void)
{
	uint8_t buf[512];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_scope(&a, "\\_SB_");
	aml_close(&a);
	/* 0x10, PkgLength 6 (itself + '\\' + "_SB_") */
	CU_ASSERT_EQUAL(a.len, 7);
	CU_ASSERT_EQUAL(buf[1], 6);
	aml_init(&a, buf, sizeof(buf));
	aml_buffer(&a);
	aml_integer(&a, 100);
	for (int i = 0; i < 100; i++)
		aml_byte(&a, 0);
	aml_close(&a);
	/* body 102 bytes + 2-byte PkgLength = 104 = 0x68 */
	CU_ASSERT_EQUAL(buf[1], 0x40 | 0x8);
	CU_ASSERT_EQUAL(buf[2], 0x6);
	CU_ASSERT_EQUAL(a.len, 105);
	aml_init(&a, buf, 4);
	aml_string(&a, "too long");
	CU_ASSERT(a.overflow);
}

CUTEST_MAIN("vcpu-boot",
	CUTEST(test_bzimage_header_debian),
	CUTEST(test_bzimage_rejects_bad_headers),
	CUTEST(test_bzimage_boot_params_debian),
	CUTEST(test_bzimage_limits),
	CUTEST(test_pvh_guest),
	CUTEST(test_pvh_debian_vmlinux),
	CUTEST(test_pvh_rejects_plain_elf),
	CUTEST(test_e820_above_4g),
	CUTEST(test_aml_pkglength));

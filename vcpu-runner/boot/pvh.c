/* vmlinux (or any ELF) through the PVH entry: the XEN_ELFNOTE_PHYS32_ENTRY
 * note gives a 32-bit entry point; ebx points at hvm_start_info
 * (xen/include/public/arch-x86/hvm/start_info.h, version 1 with memmap). */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "layout.h"
#include "boot/boot.h"
#include "boot/e820.h"
#include "boot/acpi.h"
#include "boot/initrd.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define PVH_MAX_PHDRS 64

static int elf_range_ok(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

/* Read the program headers of a 32- or 64-bit ELF into 64-bit form.
 * Returns the count, or -ENOEXEC. */
static int pvh_read_phdrs(const uint8_t *img, size_t len, Elf64_Phdr *out)
{
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;

	if (img[EI_CLASS] == ELFCLASS64) {
		if (len < sizeof(e64))
			return -ENOEXEC;
		memcpy(&e64, img, sizeof(e64));
		if (e64.e_phentsize != sizeof(Elf64_Phdr) ||
		    e64.e_phnum > PVH_MAX_PHDRS ||
		    !elf_range_ok(len, e64.e_phoff,
				  (uint64_t)e64.e_phnum * sizeof(Elf64_Phdr)))
			return -ENOEXEC;
		memcpy(out, img + e64.e_phoff, e64.e_phnum * sizeof(Elf64_Phdr));
		return e64.e_phnum;
	}
	if (img[EI_CLASS] != ELFCLASS32 || len < sizeof(e32))
		return -ENOEXEC;
	memcpy(&e32, img, sizeof(e32));
	if (e32.e_phentsize != sizeof(Elf32_Phdr) || e32.e_phnum > PVH_MAX_PHDRS ||
	    !elf_range_ok(len, e32.e_phoff,
			  (uint64_t)e32.e_phnum * sizeof(Elf32_Phdr)))
		return -ENOEXEC;
	for (unsigned i = 0; i < e32.e_phnum; i++) {
		Elf32_Phdr ph;

		memcpy(&ph, img + e32.e_phoff + i * sizeof(ph), sizeof(ph));
		out[i] = (Elf64_Phdr){
			.p_type = ph.p_type, .p_offset = ph.p_offset,
			.p_paddr = ph.p_paddr, .p_filesz = ph.p_filesz,
			.p_memsz = ph.p_memsz,
		};
	}
	return e32.e_phnum;
}

/* Find the PVH entry in the PT_NOTE segments.  0 if found. */
static int pvh_find_entry(const uint8_t *img, size_t len,
			  const Elf64_Phdr *phdrs, int phnum, uint32_t *entry)
{
	for (int i = 0; i < phnum; i++) {
		const Elf64_Phdr *ph = &phdrs[i];
		uint64_t off, end;

		if (ph->p_type != PT_NOTE ||
		    !elf_range_ok(len, ph->p_offset, ph->p_filesz))
			continue;
		off = ph->p_offset;
		end = off + ph->p_filesz;
		while (off + sizeof(Elf64_Nhdr) <= end) {
			Elf64_Nhdr nh;
			uint64_t name, desc;

			memcpy(&nh, img + off, sizeof(nh));
			name = off + sizeof(nh);
			desc = name + ((nh.n_namesz + 3ULL) & ~3ULL);
			off = desc + ((nh.n_descsz + 3ULL) & ~3ULL);
			if (off > end)
				break;
			if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
			    nh.n_namesz == 4 && memcmp(img + name, "Xen", 4) == 0 &&
			    nh.n_descsz >= 4) {
				memcpy(entry, img + desc, 4);
				return 0;
			}
		}
	}
	return -ENOEXEC;
}

static int pvh_load_segments(const struct guest_mem *mem, const uint8_t *img,
			     size_t len, const Elf64_Phdr *phdrs, int phnum,
			     uint64_t *top)
{
	*top = 0;
	for (int i = 0; i < phnum; i++) {
		const Elf64_Phdr *ph = &phdrs[i];
		uint8_t *dst;

		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		if (!elf_range_ok(len, ph->p_offset, ph->p_filesz) ||
		    ph->p_filesz > ph->p_memsz) {
			log_warnx("ELF segment %d lies outside the file", i);
			return -ENOEXEC;
		}
		dst = guest_mem_ptr(mem, ph->p_paddr, ph->p_memsz);
		if (dst == NULL || ph->p_paddr < LAYOUT_HIGH_MEM) {
			log_warnx("ELF segment %d at %#llx+%#llx is outside RAM "
				  "above 1 MiB", i,
				  (unsigned long long)ph->p_paddr,
				  (unsigned long long)ph->p_memsz);
			return -EFBIG;
		}
		memcpy(dst, img + ph->p_offset, ph->p_filesz);
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
		if (ph->p_paddr + ph->p_memsz > *top)
			*top = ph->p_paddr + ph->p_memsz;
	}
	return 0;
}

static int pvh_start_info(const struct guest_mem *mem,
			  const struct boot_config *cfg, uint64_t kernel_top)
{
	struct hvm_start_info *si;
	struct hvm_memmap_entry *mm;
	struct hvm_modlist_entry *mod;
	struct e820_entry e820[E820_MAX];
	uint64_t rsdp = 0, initrd_addr = 0;
	unsigned n = e820_build(mem, e820);
	int err;

	si = guest_mem_ptr(mem, LAYOUT_START_INFO, 0x1000);
	if (si == NULL)
		return -ENOMEM;
	memset(si, 0, 0x1000);
	mod = (void *)(si + 1);
	mm = (void *)(mod + 1);
	*si = (struct hvm_start_info){
		.magic = HVM_START_MAGIC, .version = 1,
		.memmap_paddr = LAYOUT_START_INFO + sizeof(*si) + sizeof(*mod),
		.memmap_entries = n,
	};
	for (unsigned i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_entry){ e820[i].addr, e820[i].size,
						   e820[i].type, 0 };
	err = boot_write_cmdline(mem, cfg->cmdline, LAYOUT_CMDLINE_MAX);
	if (err < 0)
		return err;
	si->cmdline_paddr = LAYOUT_CMDLINE;
	if (cfg->initrd != NULL) {
		err = boot_place_initrd(mem, cfg, kernel_top, 0xffffffffULL,
					&initrd_addr);
		if (err < 0)
			return err;
		*mod = (struct hvm_modlist_entry){ initrd_addr, cfg->initrd_size,
						   0, 0 };
		si->nr_modules = 1;
		si->modlist_paddr = LAYOUT_START_INFO + sizeof(*si);
	}
	err = acpi_build(mem, cfg->nr_vcpus, &rsdp);
	if (err < 0)
		return err;
	si->rsdp_paddr = rsdp;
	return 0;
}

int boot_load_pvh(const struct guest_mem *mem, const void *image, size_t len,
		  const struct boot_config *cfg, struct boot_entry *e)
{
	Elf64_Phdr phdrs[PVH_MAX_PHDRS];
	const uint8_t *img = image;
	uint32_t entry;
	uint64_t top;
	int phnum, err;

	if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0)
		return -ENOEXEC;
	phnum = pvh_read_phdrs(img, len, phdrs);
	if (phnum < 0) {
		log_warnx("ELF program headers are malformed or truncated");
		return phnum;
	}
	if (pvh_find_entry(img, len, phdrs, phnum, &entry) < 0) {
		log_warnx("ELF kernel has no XEN_ELFNOTE_PHYS32_ENTRY note "
			  "(PVH); vmlinux without PVH is not supported");
		return -ENOEXEC;
	}
	err = pvh_load_segments(mem, img, len, phdrs, phnum, &top);
	if (err < 0)
		return err;
	err = pvh_start_info(mem, cfg, top);
	if (err < 0)
		return err;
	*e = (struct boot_entry){ .mode = BOOT_PROT32, .rip = entry,
				  .rbx = LAYOUT_START_INFO };
	return 0;
}

/* bzImage through the 64-bit boot protocol (Documentation/arch/x86/
 * boot.rst, "64-bit Boot Protocol"): the protected-mode kernel is copied
 * to its load address and entered at +0x200 in long mode with an identity
 * map, %rsi -> boot_params.  No real-mode setup code runs. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "layout.h"
#include "boot/boot.h"
#include "boot/bootparam.h"
#include "boot/acpi.h"
#include "boot/initrd.h"

int bzimage_parse_header(const void *image, size_t len,
			 struct setup_header *hdr, size_t *setup_len)
{
	const uint8_t *img = image;
	size_t hdr_end, sects;

	if (len < 0x202 + 4 + sizeof(uint16_t))
		return -ENOEXEC;
	memset(hdr, 0, sizeof(*hdr));
	/* The header ends at 0x202 + the byte at 0x201 (the jump offset). */
	hdr_end = 0x202 + img[0x201];
	if (hdr_end > len)
		hdr_end = len;
	if (hdr_end - SETUP_HDR_OFFSET > sizeof(*hdr))
		hdr_end = SETUP_HDR_OFFSET + sizeof(*hdr);
	memcpy(hdr, img + SETUP_HDR_OFFSET, hdr_end - SETUP_HDR_OFFSET);
	if (hdr->boot_flag != SETUP_BOOT_FLAG || hdr->header != SETUP_HDRS_MAGIC)
		return -ENOEXEC;	/* not a bzImage at all */
	if (hdr->version < SETUP_MIN_VERSION) {
		log_warnx("bzImage boot protocol %u.%02u is too old: need 2.12 "
			  "or later for the 64-bit entry", hdr->version >> 8,
			  hdr->version & 0xff);
		return -ENOTSUP;
	}
	if (!(hdr->xloadflags & XLF_KERNEL_64)) {
		log_warnx("bzImage has no 64-bit entry point (XLF_KERNEL_64 "
			  "clear): 32-bit kernels are not supported");
		return -ENOTSUP;
	}
	if (!(hdr->loadflags & LOADFLAG_LOADED_HIGH)) {
		log_warnx("zImage (loaded low) is not supported");
		return -ENOTSUP;
	}
	sects = hdr->setup_sects ? hdr->setup_sects : 4;
	*setup_len = (sects + 1) * 512;
	if (*setup_len >= len) {
		log_warnx("bzImage truncated: setup is %zu bytes, file %zu",
			  *setup_len, len);
		return -EINVAL;
	}
	/* syssize is rounded up to 16-byte paragraphs. */
	if ((uint64_t)hdr->syssize * 16 > len - *setup_len + 15) {
		log_warnx("bzImage truncated: syssize says %llu bytes of kernel, "
			  "file has %zu", (unsigned long long)hdr->syssize * 16,
			  len - *setup_len);
		return -EINVAL;
	}
	return 0;
}

/* Where the protected-mode kernel goes: its preferred address when
 * relocatable or not, aligned to kernel_alignment. */
static int bzimage_load_addr(const struct guest_mem *mem,
			     const struct setup_header *hdr, size_t kernel_len,
			     uint64_t *addr, uint64_t *top)
{
	uint64_t load = hdr->pref_address ? hdr->pref_address
					  : LAYOUT_KERNEL_DEFAULT;
	uint64_t need = hdr->init_size > kernel_len ? hdr->init_size : kernel_len;
	uint64_t align = hdr->kernel_alignment;

	if (hdr->relocatable_kernel && align && (align & (align - 1)) == 0)
		load = (load + align - 1) & ~(align - 1);
	if (load < LAYOUT_HIGH_MEM || load + need > mem->region[0].size) {
		log_warnx("kernel needs %#llx bytes at %#llx: give the guest more "
			  "RAM (low RAM ends at %#llx)", (unsigned long long)need,
			  (unsigned long long)load,
			  (unsigned long long)mem->region[0].size);
		return -ENOMEM;
	}
	*addr = load;
	*top = load + need;
	return 0;
}

static int bzimage_fill_params(const struct guest_mem *mem,
			       struct boot_params *bp,
			       const struct setup_header *hdr,
			       const struct boot_config *cfg,
			       uint64_t kernel_top)
{
	struct e820_entry e820[E820_MAX];
	uint64_t cmd_max = hdr->cmdline_size ? (uint64_t)hdr->cmdline_size + 1
					     : 256;
	uint64_t rsdp, initrd_addr, initrd_limit;
	unsigned n;
	int err;

	memset(bp, 0, sizeof(*bp));
	bp->hdr = *hdr;
	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	bp->hdr.loadflags |= LOADFLAG_CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.vid_mode = 0xffff;		/* "normal" */
	err = boot_write_cmdline(mem, cfg->cmdline, cmd_max);
	if (err < 0)
		return err;
	bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	if (cfg->initrd != NULL) {
		initrd_limit = (hdr->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G)
			       ? ~0ULL : hdr->initrd_addr_max;
		err = boot_place_initrd(mem, cfg, kernel_top, initrd_limit,
					&initrd_addr);
		if (err < 0)
			return err;
		bp->hdr.ramdisk_image = (uint32_t)initrd_addr;
		bp->hdr.ramdisk_size = (uint32_t)cfg->initrd_size;
		bp->ext_ramdisk_image = (uint32_t)(initrd_addr >> 32);
		bp->ext_ramdisk_size = (uint32_t)((uint64_t)cfg->initrd_size >> 32);
	}
	n = e820_build(mem, e820);
	memcpy(bp->e820_table, e820, n * sizeof(e820[0]));
	bp->e820_entries = (uint8_t)n;
	err = acpi_build(mem, cfg->nr_vcpus, &rsdp);
	if (err < 0)
		return err;
	/* Older kernels find the RSDP by scanning 0xE0000-0xFFFFF, where
	 * acpi_build puts it anyway. */
	if (hdr->version >= SETUP_RSDP_VERSION)
		bp->acpi_rsdp_addr = rsdp;
	return 0;
}

int boot_load_bzimage(const struct guest_mem *mem, const void *image,
		      size_t len, const struct boot_config *cfg,
		      struct boot_entry *e)
{
	struct setup_header hdr;
	struct boot_params *bp;
	size_t setup_len;
	uint64_t load, top;
	void *dst;
	int err;

	err = bzimage_parse_header(image, len, &hdr, &setup_len);
	if (err < 0)
		return err;
	err = bzimage_load_addr(mem, &hdr, len - setup_len, &load, &top);
	if (err < 0)
		return err;
	dst = guest_mem_ptr(mem, load, len - setup_len);
	bp = guest_mem_ptr(mem, LAYOUT_ZERO_PAGE, sizeof(*bp));
	if (dst == NULL || bp == NULL)
		return -ENOMEM;
	memcpy(dst, (const uint8_t *)image + setup_len, len - setup_len);
	err = bzimage_fill_params(mem, bp, &hdr, cfg, top);
	if (err < 0)
		return err;
	*e = (struct boot_entry){
		.mode = BOOT_LONG64,
		.rip = load + 0x200,
		.rsi = LAYOUT_ZERO_PAGE,
		/* boot.rst asks for a stack nowhere in particular; below the
		 * zero page is free. */
		.rsp = LAYOUT_ZERO_PAGE - 0x10,
	};
	return 0;
}

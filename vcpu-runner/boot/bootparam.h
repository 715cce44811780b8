/* The x86 Linux boot protocol structures we fill, laid out as in
 * Documentation/arch/x86/boot.rst and zero-page.rst (offsets asserted). */
#ifndef MICA_BOOTPARAM_H
#define MICA_BOOTPARAM_H

#include <stddef.h>
#include <stdint.h>

#include "boot/e820.h"

#define SETUP_HDR_OFFSET	0x1f1
#define SETUP_BOOT_FLAG		0xaa55
#define SETUP_HDRS_MAGIC	0x53726448	/* "HdrS" */
#define SETUP_MIN_VERSION	0x020c		/* xloadflags: 2.12 */
#define SETUP_RSDP_VERSION	0x020e		/* acpi_rsdp_addr: 2.14 */
#define LOADFLAG_LOADED_HIGH	0x01
#define LOADFLAG_CAN_USE_HEAP	0x80
#define XLF_KERNEL_64		0x0001
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x0002
#define LOADER_TYPE_UNDEFINED	0xff
#define E820_MAX_ZEROPAGE	128

struct setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));

struct boot_params {
	uint8_t screen_info[0x40];
	uint8_t apm_bios_info[0x14];
	uint8_t _pad2[4];
	uint64_t tboot_addr;
	uint8_t ist_info[0x10];
	uint64_t acpi_rsdp_addr;
	uint8_t _pad3[8];
	uint8_t hd0_info[16], hd1_info[16];
	uint8_t sys_desc_table[0x10];
	uint8_t olpc_ofw_header[0x10];
	uint32_t ext_ramdisk_image;
	uint32_t ext_ramdisk_size;
	uint32_t ext_cmd_line_ptr;
	uint8_t _pad4[112];
	uint32_t cc_blob_address;
	uint8_t edid_info[0x80];
	uint8_t efi_info[0x20];
	uint32_t alt_mem_k;
	uint32_t scratch;
	uint8_t e820_entries;
	uint8_t eddbuf_entries;
	uint8_t edd_mbr_sig_buf_entries;
	uint8_t kbd_status;
	uint8_t secure_boot;
	uint8_t _pad5[2];
	uint8_t sentinel;
	uint8_t _pad6[1];
	struct setup_header hdr;
	uint8_t _pad7[0x290 - 0x1f1 - sizeof(struct setup_header)];
	uint8_t edd_mbr_sig_buffer[0x2d0 - 0x290];
	struct e820_entry e820_table[E820_MAX_ZEROPAGE];
	uint8_t _pad8[0x1000 - 0xcd0];
} __attribute__((packed));

_Static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x070, "rsdp");
_Static_assert(offsetof(struct boot_params, ext_ramdisk_image) == 0x0c0, "ext");
_Static_assert(offsetof(struct boot_params, cc_blob_address) == 0x13c, "cc");
_Static_assert(offsetof(struct boot_params, e820_entries) == 0x1e8, "e820n");
_Static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "hdr");
_Static_assert(offsetof(struct boot_params, hdr.header) == 0x202, "HdrS");
_Static_assert(offsetof(struct boot_params, hdr.cmd_line_ptr) == 0x228, "cmd");
_Static_assert(offsetof(struct boot_params, hdr.xloadflags) == 0x236, "xlf");
_Static_assert(offsetof(struct boot_params, hdr.pref_address) == 0x258, "pref");
_Static_assert(offsetof(struct boot_params, hdr.kernel_info_offset) == 0x268, "ki");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820");
_Static_assert(sizeof(struct boot_params) == 0x1000, "zero page");

/* Validate the setup header of a bzImage and copy it out; *setup_len is
 * the size of the real-mode part.  -ENOEXEC if not a bzImage, -EINVAL if
 * truncated, -ENOTSUP if it lacks what the 64-bit entry needs; the reason
 * is logged. */
int bzimage_parse_header(const void *image, size_t len,
			 struct setup_header *hdr, size_t *setup_len);

#endif

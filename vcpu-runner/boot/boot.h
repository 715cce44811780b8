/* Accelerator-neutral guest loading: where and how the first instruction
 * runs, and the loaders that produce that (flat binary, PVH ELF, bzImage).
 * Every function returns 0 or a negative errno and logs the reason for
 * image errors once (with the file name when it has one). */
#ifndef MICA_BOOT_H
#define MICA_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "accel.h"
#include "guest-mem.h"

enum boot_cpu_mode {
	BOOT_REAL16,		/* CS:IP = 0:rip, flat real mode */
	BOOT_PROT32,		/* flat 32-bit protected mode, paging off */
	BOOT_LONG64,		/* 64-bit, identity map of the first 4 GiB */
};

struct boot_entry {
	enum boot_cpu_mode mode;
	uint64_t rip, rsp, rsi, rbx;
};

/* What the loaders need to know about the machine. */
struct boot_config {
	const char *cmdline;		/* NULL or "" for none */
	const void *initrd;		/* NULL for none */
	size_t initrd_size;
	unsigned nr_vcpus;
};

/* Write GDT and (for BOOT_LONG64) page tables into guest RAM, then put the
 * BSP into the entry state.  Sets only registers the mode defines. */
int boot_vcpu_setup(const struct accel_ops *ops, struct accel_vcpu *vcpu,
		    const struct guest_mem *mem, const struct boot_entry *e);

/* A flat binary copied to gpa and entered in real mode at gpa (< 1 MiB). */
int boot_load_flat(const struct guest_mem *mem, const void *image, size_t len,
		   uint64_t gpa, struct boot_entry *e);

/* An ELF kernel with a XEN_ELFNOTE_PHYS32_ENTRY note (PVH): loads PT_LOAD
 * segments, builds hvm_start_info with the memory map, command line,
 * initrd module and RSDP, and enters in 32-bit mode with ebx -> start_info.
 * -ENOEXEC for a non-ELF or an ELF without the note. */
int boot_load_pvh(const struct guest_mem *mem, const void *image, size_t len,
		  const struct boot_config *cfg, struct boot_entry *e);

/* A bzImage through the 64-bit boot protocol (boot.rst): checks the setup
 * header, fills boot_params (zero page) with e820, cmdline, initrd and the
 * RSDP, and enters at the 64-bit entry.  -ENOEXEC for a non-bzImage,
 * -ENOTSUP for a protocol older than 2.12 or a kernel without
 * XLF_KERNEL_64. */
int boot_load_bzimage(const struct guest_mem *mem, const void *image,
		      size_t len, const struct boot_config *cfg,
		      struct boot_entry *e);

/* Try PVH, then bzImage. */
int boot_load_kernel(const struct guest_mem *mem, const void *image,
		     size_t len, const struct boot_config *cfg,
		     struct boot_entry *e);

/* Read a whole file into malloc'd memory. */
int boot_read_file(const char *path, void **data, size_t *len);

#endif

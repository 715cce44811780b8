/* Guest physical address map of the Mica x86 machine.
 *
 *   0x00000000 - 0x0009fbff  RAM (boot data below 0x20000, see below)
 *   0x0009fc00 - 0x000fffff  reserved (EBDA, VGA hole, BIOS: ACPI RSDP)
 *   0x00100000 - LOW_RAM_END RAM
 *   0xb0000000 - 0xbfffffff  PCI ECAM (buses 0-255)
 *   0xc0000000 - 0xfebfffff  PCI 32-bit MMIO window
 *   0xfec00000               IOAPIC, 0xfee00000 LAPIC
 *   0xfffbc000 - 0xfffbffff  KVM identity map + TSS (reserved)
 *   4 GiB -                  RAM above LOW_RAM_END
 */
#ifndef MICA_LAYOUT_H
#define MICA_LAYOUT_H

#define LAYOUT_GDT		0x00000500ULL
#define LAYOUT_START_INFO	0x00006000ULL	/* PVH hvm_start_info + memmap */
#define LAYOUT_ZERO_PAGE	0x00007000ULL	/* Linux boot_params */
#define LAYOUT_PML4		0x00009000ULL	/* PML4, PDPT, 4 PDs: 0x9000-0xefff */
#define LAYOUT_CMDLINE		0x00020000ULL
#define LAYOUT_CMDLINE_MAX	0x00010000ULL
#define LAYOUT_AP_TRAMPOLINE	0x00008000ULL	/* free for guests (SIPI page) */
#define LAYOUT_EBDA		0x0009fc00ULL
#define LAYOUT_ACPI		0x000e0000ULL	/* RSDP + tables, 128 KiB */
#define LAYOUT_ACPI_SIZE	0x00020000ULL
#define LAYOUT_HIGH_MEM		0x00100000ULL
#define LAYOUT_KERNEL_DEFAULT	0x01000000ULL
#define LAYOUT_LOW_RAM_END	0xb0000000ULL
#define LAYOUT_PCI_ECAM		0xb0000000ULL
#define LAYOUT_PCI_ECAM_SIZE	0x10000000ULL
#define LAYOUT_PCI_MMIO		0xc0000000ULL
#define LAYOUT_PCI_MMIO_END	0xfec00000ULL
#define LAYOUT_IOAPIC		0xfec00000ULL
#define LAYOUT_LAPIC		0xfee00000ULL
#define LAYOUT_RAM_ABOVE_4G	0x100000000ULL
/* 64-bit PCI MMIO window for prefetchable 64-bit BARs: 64 GiB from the
 * first 64 GiB boundary above RAM (guest_mem_pci_mmio64).  Needs 37+
 * physical address bits for the smallest guests. */
#define LAYOUT_PCI_MMIO64_ALIGN	(64ULL << 30)
#define LAYOUT_PCI_MMIO64_SIZE	(64ULL << 30)

#define LAYOUT_RESET_PORT	0xcf9		/* FADT reset register */
#define LAYOUT_SLEEP_CONTROL	0x600		/* FADT sleep control/status */
#define LAYOUT_SLEEP_STATUS	0x601
/* Legacy PCI INTx: slot s pin p (0 = INTA) goes to IOAPIC GSI 16-23 with
 * the usual swizzle; the DSDT _PRT says the same. */
#define LAYOUT_PCI_INTX_GSI(slot, pin)	(16 + ((slot) + (pin)) % 8)
#define LAYOUT_PCI_IO		0x1000		/* PCI port I/O window start */
#define LAYOUT_PCI_IO_END	0x10000

#endif

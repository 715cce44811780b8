/* Entry CPU state for the three boot modes. */
#include <errno.h>
#include <string.h>

#include "layout.h"
#include "boot/boot.h"

#define CR0_PE		(1ULL << 0)
#define CR0_ET		(1ULL << 4)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define PTE_P		1ULL
#define PTE_RW		2ULL
#define PTE_PS		(1ULL << 7)

/* GDT selectors: the Linux boot protocol wants __BOOT_CS 0x10 and
 * __BOOT_DS 0x18; 0x20 is a 32-bit code segment for PVH-style guests that
 * keep running in 64-bit, 0x28 a TSS so TR is valid. */
static const uint64_t boot_gdt[] = {
	0,
	0,
	0x00af9b000000ffffULL,		/* 0x10: 64-bit code */
	0x00cf93000000ffffULL,		/* 0x18: data */
	0x00cf9b000000ffffULL,		/* 0x20: 32-bit code */
	0x00008b0000000067ULL,		/* 0x28: TSS (busy) */
};

static struct accel_segment flat_segment(uint16_t sel, uint8_t type, int l)
{
	return (struct accel_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .s = 1, .db = !l, .l = (uint8_t)l, .g = 1,
	};
}

static int boot_page_tables(const struct guest_mem *mem)
{
	uint64_t *pml4 = guest_mem_ptr(mem, LAYOUT_PML4, 6 * 4096);
	uint64_t *pdpt, *pd;

	if (pml4 == NULL)
		return -ENOMEM;
	memset(pml4, 0, 6 * 4096);
	pdpt = pml4 + 512;
	pd = pdpt + 512;
	pml4[0] = (LAYOUT_PML4 + 0x1000) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PML4 + 0x2000 + i * 0x1000) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

int boot_vcpu_setup(const struct accel_ops *ops, struct accel_vcpu *vcpu,
		    const struct guest_mem *mem, const struct boot_entry *e)
{
	struct accel_sregs s;
	struct accel_regs r = { .rip = e->rip, .rsp = e->rsp, .rsi = e->rsi,
				.rbx = e->rbx, .rflags = 0x2 };
	void *gdt = guest_mem_ptr(mem, LAYOUT_GDT, sizeof(boot_gdt));
	int err;

	if (gdt == NULL)
		return -ENOMEM;
	err = ops->get_sregs(vcpu, &s);
	if (err < 0)
		return err;
	if (e->mode == BOOT_REAL16) {
		s.cs.selector = 0;
		s.cs.base = 0;
		goto set;
	}
	memcpy(gdt, boot_gdt, sizeof(boot_gdt));
	s.gdt = (struct accel_dtable){ LAYOUT_GDT, sizeof(boot_gdt) - 1 };
	s.idt = (struct accel_dtable){ 0, 0 };
	s.cs = e->mode == BOOT_LONG64 ? flat_segment(0x10, 0xb, 1)
				      : flat_segment(0x20, 0xb, 0);
	s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(0x18, 0x3, 0);
	s.tr = (struct accel_segment){ .selector = 0x28, .limit = 0x67,
				       .type = 0xb, .present = 1 };
	s.cr0 = CR0_PE | CR0_ET;
	s.cr4 = 0;
	s.efer = 0;
	if (e->mode == BOOT_LONG64) {
		err = boot_page_tables(mem);
		if (err < 0)
			return err;
		s.cr3 = LAYOUT_PML4;
		s.cr4 = CR4_PAE;
		s.cr0 |= CR0_PG;
		s.efer = EFER_LME | EFER_LMA;
	}
set:
	err = ops->set_sregs(vcpu, &s);
	if (err < 0)
		return err;
	return ops->set_regs(vcpu, &r);
}

int boot_load_flat(const struct guest_mem *mem, const void *image, size_t len,
		   uint64_t gpa, struct boot_entry *e)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (dst == NULL || gpa + len > LAYOUT_EBDA)
		return -EFBIG;
	memcpy(dst, image, len);
	*e = (struct boot_entry){ .mode = BOOT_REAL16, .rip = gpa, .rsp = gpa };
	return 0;
}

/* ACPI tables, built once at load time in the LAYOUT_ACPI area (also the
 * legacy RSDP search range 0xE0000-0xFFFFF).  Hardware-reduced ACPI, as
 * Firecracker and Cloud Hypervisor do: no PM1/GPE blocks to emulate; reset
 * goes through the FADT reset register (0xCF9, value 6).  Specification:
 * ACPI 6.4, chapters 5.2 (tables) and 6.4 (resource descriptors). */
#include <errno.h>
#include <string.h>

#include "layout.h"
#include "boot/acpi.h"
#include "boot/aml.h"

#define ACPI_OEM_ID		"MICA  "
#define ACPI_OEM_TABLE_ID	"MICAVM  "
#define ACPI_CREATOR_ID		"MICA"

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_gas {
	uint8_t space_id, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt;
	struct acpi_gas x_pm2_cnt, x_pm_tmr, x_gpe0, x_gpe1;
	struct acpi_gas sleep_control, sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT 6.x size");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "reset reg");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "x_dsdt");

#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PWR_BUTTON	(1u << 4)	/* 1: no fixed power button */
#define FADT_F_SLP_BUTTON	(1u << 5)
#define FADT_F_RESET_REG_SUP	(1u << 10)
#define FADT_F_HW_REDUCED	(1u << 20)
#define FADT_BOOT_8042		(1u << 1)
#define FADT_BOOT_NO_VGA	(1u << 2)
#define ACPI_GAS_IO		1
#define ACPI_GAS_ACCESS_BYTE	1

struct acpi_facs {
	char signature[4];
	uint32_t length, hw_signature, waking_vector, global_lock, flags;
	uint64_t x_waking_vector;
	uint8_t version, reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_facs) == 64, "FACS size");

struct madt_lapic {
	uint8_t type, length, processor_id, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length, processor_id;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

struct mcfg_allocation {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved;
} __attribute__((packed));

/* Bump allocator over the ACPI area. */
struct acpi_area {
	uint8_t *base;
	uint64_t gpa, used, size;
};

static void *acpi_alloc(struct acpi_area *ar, uint64_t len, uint64_t align,
			uint64_t *gpa)
{
	uint64_t off = (ar->used + align - 1) & ~(align - 1);

	if (off + len > ar->size)
		return NULL;
	ar->used = off + len;
	*gpa = ar->gpa + off;
	memset(ar->base + off, 0, len);
	return ar->base + off;
}

uint8_t acpi_checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

static void acpi_header_init(struct acpi_header *h, const char *sig,
			     uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

static void acpi_finish(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = (uint8_t)-acpi_checksum(h, h->length);
}

/* Resource templates, ACPI 6.4 section 6.4. */
static void rt_io(struct aml *a, uint16_t base, uint8_t len)
{
	uint8_t d[] = { 0x47, 0x01, (uint8_t)base, (uint8_t)(base >> 8),
			(uint8_t)base, (uint8_t)(base >> 8), 1, len };

	aml_bytes(a, d, sizeof(d));
}

static void rt_irq(struct aml *a, unsigned irq)
{
	uint16_t mask = (uint16_t)(1u << irq);
	uint8_t d[] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };

	aml_bytes(a, d, sizeof(d));
}

/* Word address space descriptor: type 1 I/O, 2 bus number. */
static void rt_word(struct aml *a, uint8_t type, uint8_t tflags,
		    uint16_t min, uint16_t max)
{
	uint16_t len = (uint16_t)(max - min + 1);
	uint8_t d[] = { 0x88, 0x0d, 0x00, type, 0x0c, tflags, 0, 0,
			(uint8_t)min, (uint8_t)(min >> 8),
			(uint8_t)max, (uint8_t)(max >> 8), 0, 0,
			(uint8_t)len, (uint8_t)(len >> 8) };

	aml_bytes(a, d, sizeof(d));
}

static void rt_dword_memory(struct aml *a, uint32_t min, uint32_t max)
{
	uint32_t v[5] = { 0, min, max, 0, max - min + 1 };
	/* type 0 memory; producer, fixed min/max; read-write, non-cacheable */
	uint8_t d[] = { 0x87, 0x17, 0x00, 0, 0x0c, 0x01 };

	aml_bytes(a, d, sizeof(d));
	aml_bytes(a, v, sizeof(v));
}

/* QWord memory descriptor: prefetchable, read-write. */
static void rt_qword_memory(struct aml *a, uint64_t min, uint64_t len)
{
	uint64_t v[5] = { 0, min, min + len - 1, 0, len };
	uint8_t d[] = { 0x8a, 0x2b, 0x00, 0, 0x0c, 0x07 };

	aml_bytes(a, d, sizeof(d));
	aml_bytes(a, v, sizeof(v));
}

static void rt_end(struct aml *a)
{
	aml_byte(a, 0x79);
	aml_byte(a, 0x00);
}

/* Name(_CRS, ResourceTemplate() { body }) where body is emitted into a
 * scratch buffer first so its size is known. */
static void aml_crs(struct aml *a, void (*body)(struct aml *, const void *),
		    const void *arg)
{
	uint8_t tmp[256];
	struct aml t;

	aml_init(&t, tmp, sizeof(tmp));
	body(&t, arg);
	rt_end(&t);
	if (t.overflow) {
		a->overflow = 1;
		return;
	}
	aml_name(a, "_CRS");
	aml_buffer(a);
	aml_integer(a, t.len);
	aml_bytes(a, tmp, t.len);
	aml_close(a);
}

static void crs_pci0(struct aml *a, const void *arg)
{
	const struct guest_mem *mem = arg;

	rt_word(a, 2, 0, 0, 0xff);				/* buses */
	rt_io(a, 0xcf8, 8);					/* config */
	rt_word(a, 1, 0x03, 0x0000, 0x0cf7);			/* I/O */
	rt_word(a, 1, 0x03, 0x0d00, 0xffff);
	rt_dword_memory(a, (uint32_t)LAYOUT_PCI_MMIO,
			(uint32_t)(LAYOUT_PCI_MMIO_END - 1));
	rt_qword_memory(a, guest_mem_pci_mmio64(mem), LAYOUT_PCI_MMIO64_SIZE);
}

/* Motherboard resources: the ECAM window, so Linux trusts MCFG without
 * falling back to the e820 check. */
static void crs_mres(struct aml *a, const void *arg)
{
	uint32_t v[2] = { (uint32_t)LAYOUT_PCI_ECAM, (uint32_t)LAYOUT_PCI_ECAM_SIZE };
	uint8_t d[] = { 0x86, 0x09, 0x00, 0x01 };	/* Memory32Fixed, RW */

	aml_bytes(a, d, sizeof(d));
	aml_bytes(a, v, sizeof(v));
}

/* _PRT: INTx of every slot straight to IOAPIC GSIs (no link devices). */
static void aml_prt(struct aml *a)
{
	aml_name(a, "_PRT");
	aml_package(a, 128);
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_package(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, LAYOUT_PCI_INTX_GSI(slot, pin));
			aml_close(a);
		}
	}
	aml_close(a);
}

static void crs_com1(struct aml *a, const void *arg)
{
	rt_io(a, 0x3f8, 8);
	rt_irq(a, 4);
}

static void crs_rtc(struct aml *a, const void *arg)
{
	rt_io(a, 0x70, 2);
	rt_irq(a, 8);
}

static int acpi_build_dsdt(struct acpi_area *ar, const struct guest_mem *mem,
			   uint64_t *gpa)
{
	uint8_t body[4096];
	struct aml a;
	struct acpi_header *h;

	aml_init(&a, body, sizeof(body));
	/* \_S5_: SLP_TYP 5 for the sleep control register (soft off). */
	aml_name(&a, "\\_S5_");
	aml_package(&a, 4);
	aml_integer(&a, 5);
	aml_integer(&a, 5);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_close(&a);

	aml_scope(&a, "\\_SB_");

	aml_device(&a, "PCI0");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0A08");		/* PCI Express root bridge */
	aml_name(&a, "_CID");
	aml_eisaid(&a, "PNP0A03");		/* PCI root bridge */
	aml_name(&a, "_ADR");
	aml_integer(&a, 0);
	aml_name(&a, "_SEG");
	aml_integer(&a, 0);
	aml_name(&a, "_BBN");
	aml_integer(&a, 0);
	aml_name(&a, "_UID");
	aml_integer(&a, 0);
	aml_crs(&a, crs_pci0, mem);
	aml_prt(&a);
	aml_close(&a);

	aml_device(&a, "MRES");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0C02");
	aml_name(&a, "_UID");
	aml_integer(&a, 2);
	aml_crs(&a, crs_mres, NULL);
	aml_close(&a);

	aml_device(&a, "COM1");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0501");
	aml_name(&a, "_UID");
	aml_integer(&a, 1);
	aml_crs(&a, crs_com1, NULL);
	aml_close(&a);

	aml_device(&a, "RTC_");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0B00");
	aml_crs(&a, crs_rtc, NULL);
	aml_close(&a);

	aml_close(&a);
	if (a.overflow || a.depth != 0)
		return -E2BIG;
	h = acpi_alloc(ar, sizeof(*h) + a.len, 16, gpa);
	if (h == NULL)
		return -E2BIG;
	acpi_header_init(h, "DSDT", (uint32_t)(sizeof(*h) + a.len), 2);
	memcpy(h + 1, body, a.len);
	acpi_finish(h);
	return 0;
}

static int acpi_build_fadt(struct acpi_area *ar, uint64_t dsdt, uint64_t facs,
			   uint64_t *gpa)
{
	struct acpi_fadt *f = acpi_alloc(ar, sizeof(*f), 16, gpa);

	if (f == NULL)
		return -E2BIG;
	acpi_header_init(&f->h, "FACP", sizeof(*f), 6);
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	f->firmware_ctrl = (uint32_t)facs;
	f->x_firmware_ctrl = facs;
	f->century = 0x32;			/* CMOS century register */
	f->iapc_boot_arch = FADT_BOOT_8042 | FADT_BOOT_NO_VGA;
	f->flags = FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
		   FADT_F_RESET_REG_SUP | FADT_F_HW_REDUCED;
	f->reset_reg = (struct acpi_gas){ .space_id = ACPI_GAS_IO,
					  .bit_width = 8,
					  .access_size = ACPI_GAS_ACCESS_BYTE,
					  .address = LAYOUT_RESET_PORT };
	f->reset_value = 0x06;			/* RST_CPU | SYS_RST */
	/* Hardware-reduced sleep registers: S5 (\_S5_) is how the guest
	 * powers off. */
	f->sleep_control = (struct acpi_gas){ .space_id = ACPI_GAS_IO,
					      .bit_width = 8,
					      .access_size = ACPI_GAS_ACCESS_BYTE,
					      .address = LAYOUT_SLEEP_CONTROL };
	f->sleep_status = (struct acpi_gas){ .space_id = ACPI_GAS_IO,
					     .bit_width = 8,
					     .access_size = ACPI_GAS_ACCESS_BYTE,
					     .address = LAYOUT_SLEEP_STATUS };
	f->minor_version = 4;
	memcpy(&f->hypervisor_id, "Mica\0\0\0\0", 8);
	acpi_finish(&f->h);
	return 0;
}

static int acpi_build_madt(struct acpi_area *ar, unsigned nr_vcpus,
			   uint64_t *gpa)
{
	size_t len = sizeof(struct acpi_header) + 8 +
		     nr_vcpus * sizeof(struct madt_lapic) +
		     sizeof(struct madt_ioapic) + sizeof(struct madt_lapic_nmi);
	struct acpi_header *h = acpi_alloc(ar, len, 16, gpa);
	uint8_t *p;

	if (h == NULL)
		return -E2BIG;
	acpi_header_init(h, "APIC", (uint32_t)len, 5);
	p = (uint8_t *)(h + 1);
	memcpy(p, &(uint32_t){ (uint32_t)LAYOUT_LAPIC }, 4);
	memcpy(p + 4, &(uint32_t){ 1 }, 4);	/* PCAT_COMPAT: 8259s exist */
	p += 8;
	for (unsigned i = 0; i < nr_vcpus; i++, p += sizeof(struct madt_lapic))
		memcpy(p, &(struct madt_lapic){ 0, sizeof(struct madt_lapic),
						(uint8_t)i, (uint8_t)i, 1 },
		       sizeof(struct madt_lapic));
	/* ISA IRQs map 1:1 to IOAPIC pins as in KVM's default routing, so
	 * no interrupt source overrides. */
	/* IOAPIC id 0: what KVM's in-kernel IOAPIC reports. */
	memcpy(p, &(struct madt_ioapic){ 1, sizeof(struct madt_ioapic), 0, 0,
					 (uint32_t)LAYOUT_IOAPIC, 0 },
	       sizeof(struct madt_ioapic));
	p += sizeof(struct madt_ioapic);
	memcpy(p, &(struct madt_lapic_nmi){ 4, sizeof(struct madt_lapic_nmi),
					    0xff, 0, 1 },
	       sizeof(struct madt_lapic_nmi));
	acpi_finish(h);
	return 0;
}

static int acpi_build_mcfg(struct acpi_area *ar, uint64_t *gpa)
{
	size_t len = sizeof(struct acpi_header) + 8 +
		     sizeof(struct mcfg_allocation);
	struct acpi_header *h = acpi_alloc(ar, len, 16, gpa);
	struct mcfg_allocation alloc = {
		.base = LAYOUT_PCI_ECAM, .segment = 0, .start_bus = 0,
		.end_bus = (uint8_t)((LAYOUT_PCI_ECAM_SIZE >> 20) - 1),
	};

	if (h == NULL)
		return -E2BIG;
	acpi_header_init(h, "MCFG", (uint32_t)len, 1);
	memcpy((uint8_t *)(h + 1) + 8, &alloc, sizeof(alloc));
	acpi_finish(h);
	return 0;
}

int acpi_build(const struct guest_mem *mem, unsigned nr_vcpus, uint64_t *rsdp)
{
	struct acpi_area ar = { .gpa = LAYOUT_ACPI, .size = LAYOUT_ACPI_SIZE };
	uint64_t rsdp_gpa, xsdt_gpa, tables[4], facs_gpa, dsdt_gpa;
	struct acpi_header *xsdt;
	struct acpi_facs *facs;
	struct acpi_rsdp *r;
	int err;

	ar.base = guest_mem_ptr(mem, LAYOUT_ACPI, LAYOUT_ACPI_SIZE);
	if (ar.base == NULL)
		return -ENOMEM;
	if (nr_vcpus == 0 || nr_vcpus > 255)
		return -EINVAL;
	r = acpi_alloc(&ar, sizeof(*r), 16, &rsdp_gpa);
	xsdt = acpi_alloc(&ar, sizeof(*xsdt) + sizeof(tables), 16, &xsdt_gpa);
	facs = acpi_alloc(&ar, sizeof(*facs), 64, &facs_gpa);
	if (r == NULL || xsdt == NULL || facs == NULL)
		return -E2BIG;
	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;

	err = acpi_build_dsdt(&ar, mem, &dsdt_gpa);
	if (err == 0)
		err = acpi_build_fadt(&ar, dsdt_gpa, facs_gpa, &tables[0]);
	if (err == 0)
		err = acpi_build_madt(&ar, nr_vcpus, &tables[1]);
	if (err == 0)
		err = acpi_build_mcfg(&ar, &tables[2]);
	if (err < 0)
		return err;

	acpi_header_init(xsdt, "XSDT", sizeof(*xsdt) + 3 * sizeof(uint64_t), 1);
	memcpy(xsdt + 1, tables, 3 * sizeof(uint64_t));
	acpi_finish(xsdt);

	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, ACPI_OEM_ID, 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt_gpa;
	r->checksum = (uint8_t)-acpi_checksum(r, 20);
	r->extended_checksum = (uint8_t)-acpi_checksum(r, sizeof(*r));
	*rsdp = rsdp_gpa;
	return 0;
}

/* SMP bring-up the way Linux does it: count the CPUs in the ACPI MADT
 * (found through hvm_start_info's RSDP), wake the APs with INIT + SIPI
 * through the local APIC, and wait for every AP to check in. */
#include "guest.h"

#define LAPIC		0xfee00000u
#define LAPIC_ID	0x020
#define LAPIC_SVR	0x0f0
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define ICR_BUSY	(1u << 12)
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_INIT	0x00004500u	/* INIT, level assert */
#define ICR_SIPI	0x00004600u
#define TRAMP_BASE	0x8000

extern const char trampoline_start[], trampoline_end[];

static uint8_t ap_stacks[8][4096] __attribute__((aligned(16)));
uint32_t ap_stack_next = (uint32_t)ap_stacks;
static volatile uint32_t ap_count, ap_mask, ap_cpuid_bad;

void ap_main(void);

/* Each AP also checks that CPUID agrees with its local APIC id. */
void ap_main(void)
{
	uint32_t id = mmio_read32(LAPIC + LAPIC_ID) >> 24;
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (b >> 24 != id)
		__atomic_fetch_or(&ap_cpuid_bad, 1u << id, __ATOMIC_SEQ_CST);
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xb), "c"(0));
	if (d != id)
		__atomic_fetch_or(&ap_cpuid_bad, 1u << id, __ATOMIC_SEQ_CST);

	__atomic_fetch_or(&ap_mask, 1u << id, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&ap_count, 1, __ATOMIC_SEQ_CST);
}

static int memeq(const void *a, const char *b, unsigned n)
{
	const char *p = a;

	for (unsigned i = 0; i < n; i++)
		if (p[i] != b[i])
			return 0;
	return 1;
}

/* Enabled local APICs in the MADT, or -1 if the tables are unusable. */
static int madt_cpus(const void *start_info)
{
	uint32_t rsdp = *(const uint32_t *)((const char *)start_info + 32);
	const char *xsdt, *t;
	uint32_t len;
	int cpus = 0;

	if (rsdp == 0 || !memeq((const void *)rsdp, "RSD PTR ", 8))
		return -1;
	xsdt = (const char *)*(const uint32_t *)(rsdp + 24);
	len = *(const uint32_t *)(xsdt + 4);
	for (uint32_t off = 36; off + 8 <= len; off += 8) {
		t = (const char *)*(const uint32_t *)(xsdt + off);
		if (!memeq(t, "APIC", 4))
			continue;
		len = *(const uint32_t *)(t + 4);
		for (uint32_t e = 44; e + 2 <= len && t[e + 1]; e += (uint8_t)t[e + 1])
			if (t[e] == 0 && (t[e + 4] & 1))
				cpus++;
		return cpus;
	}
	return -1;
}

static void icr_send(uint32_t lo)
{
	mmio_write32(LAPIC + LAPIC_ICR_HI, 0);
	mmio_write32(LAPIC + LAPIC_ICR_LO, lo);
	while (mmio_read32(LAPIC + LAPIC_ICR_LO) & ICR_BUSY)
		;
}

int guest_main(const void *start_info)
{
	const char *src = trampoline_start;
	char *dst = (char *)TRAMP_BASE;
	int cpus = madt_cpus(start_info);
	uint32_t want;

	uart_init();
	if (cpus < 1 || cpus > 9) {
		puts("smp: MADT unusable\n");
		return 1;
	}
	puts("smp: MADT lists "); put_dec((uint32_t)cpus); puts(" CPUs\n");
	while (src < trampoline_end)
		*dst++ = *src++;
	mmio_write32(LAPIC + LAPIC_SVR, 0x1ff);		/* APIC on */
	icr_send(ICR_ALL_BUT_SELF | ICR_INIT);
	icr_send(ICR_ALL_BUT_SELF | ICR_SIPI | (TRAMP_BASE >> 12));
	for (uint32_t spin = 0; ap_count < (uint32_t)cpus - 1; spin++) {
		/* A second SIPI, as the MP spec asks, if the first was lost. */
		if (spin == 1000000)
			icr_send(ICR_ALL_BUT_SELF | ICR_SIPI | (TRAMP_BASE >> 12));
		__asm__ volatile("pause");
	}
	want = ((1u << cpus) - 1) & ~1u;
	puts("smp: "); put_dec(ap_count); puts(" APs checked in, mask ");
	put_hex(ap_mask, 2); putc('\n');
	if (ap_mask != want) {
		puts("smp: wrong APIC ids\n");
		return 1;
	}
	if (ap_cpuid_bad) {
		puts("smp: CPUID APIC ids disagree, mask ");
		put_hex(ap_cpuid_bad, 2);
		putc('\n');
		return 1;
	}
	puts("smp: ok\n");
	return 0;
}

/* ACPI soft-off the way Linux does it on hardware-reduced ACPI: find the
 * FADT through hvm_start_info's RSDP, check the DSDT carries \_S5_, and
 * write SLP_TYP 5 | SLP_EN to SLEEP_CONTROL_REG.  The harness reports
 * "poweroff"; getting past the write is a failure. */
#include "guest.h"

static int memeq(const void *a, const char *b, unsigned n)
{
	const char *p = a;

	for (unsigned i = 0; i < n; i++)
		if (p[i] != b[i])
			return 0;
	return 1;
}

static const char *find_table(uint32_t rsdp, const char *sig)
{
	const char *xsdt = (const char *)*(const uint32_t *)(rsdp + 24);
	uint32_t len = *(const uint32_t *)(xsdt + 4);

	for (uint32_t off = 36; off + 8 <= len; off += 8) {
		const char *t = (const char *)*(const uint32_t *)(xsdt + off);

		if (memeq(t, sig, 4))
			return t;
	}
	return 0;
}

int guest_main(const void *start_info)
{
	uint32_t rsdp = *(const uint32_t *)((const char *)start_info + 32);
	const char *fadt, *dsdt;
	uint32_t dlen, port;
	int s5 = 0;

	uart_init();
	fadt = rsdp ? find_table(rsdp, "FACP") : 0;
	if (fadt == 0) {
		puts("poweroff: no FADT\n");
		return 1;
	}
	dsdt = (const char *)*(const uint32_t *)(fadt + 140);	/* X_DSDT */
	dlen = *(const uint32_t *)(dsdt + 4);
	for (uint32_t i = 36; i + 4 <= dlen; i++)
		s5 |= memeq(dsdt + i, "_S5_", 4);
	port = *(const uint32_t *)(fadt + 244 + 4);	/* SLEEP_CONTROL_REG */
	if (!s5 || fadt[244] != 1 || port == 0) {
		puts("poweroff: no \\_S5_ or sleep control register\n");
		return 1;
	}
	puts("poweroff: S5 via port ");
	put_hex(port, 4);
	putc('\n');
	outb((uint16_t)port, 5 << 2 | 1 << 5);
	puts("poweroff: still running\n");
	return 1;
}

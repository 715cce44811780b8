/* Print the CPUID leaves the runner filters, for the integration test to
 * check: hypervisor bit set, MONITOR and PMU hidden, APIC id 0. */
#include "guest.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static void show(const char *name, uint32_t v)
{
	puts(name);
	put_hex(v, 8);
	putc('\n');
}

int guest_main(const void *boot_params)
{
	uint32_t r[4];

	uart_init();
	cpuid(1, 0, r);
	show("cpuid.1.ebx ", r[1]);
	show("cpuid.1.ecx ", r[2]);
	show("cpuid.1.edx ", r[3]);
	cpuid(0xb, 1, r);
	show("cpuid.b.1.ebx ", r[1]);
	show("cpuid.b.1.edx ", r[3]);
	cpuid(7, 0, r);
	show("cpuid.7.ebx ", r[1]);
	cpuid(0xa, 0, r);
	show("cpuid.a.eax ", r[0]);
	cpuid(0xd, 0, r);
	show("cpuid.d.eax ", r[0]);
	cpuid(0x40000000, 0, r);
	show("cpuid.40000000.ebx ", r[1]);
	return 0;
}

/* RAM above 4 GiB: reads the e820 map from boot_params, checks that low
 * RAM ends at the PCI hole (0xb0000000) and that the rest sits at 4 GiB,
 * maps it, writes a pattern every 64 MiB and at both ends, reads it all
 * back and checks that low RAM at the same offsets did not change (no
 * aliasing).  Prints "highmem: ok" or what went wrong. */
#include "guest.h"

#define E820_COUNT	0x1e8
#define E820_TABLE	0x2d0
#define GIB		(1ULL << 30)
#define STEP		(64ULL << 20)
#define LOW_RAM_END	0xb0000000ULL

struct e820 {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

static int fail(const char *why)
{
	puts("highmem: FAIL: ");
	puts(why);
	putc('\n');
	return 1;
}

static void put_hex64(uint64_t v)
{
	put_hex((uint32_t)(v >> 32), 8);
	put_hex((uint32_t)v, 8);
}

static uint64_t pattern(uint64_t a)
{
	return a * 0x9e3779b97f4a7c15ULL ^ 0x4d494341;
}

int guest_main(const void *boot_params)
{
	const uint8_t *bp = boot_params;
	const struct e820 *e = (const struct e820 *)(bp + E820_TABLE);
	unsigned n = bp[E820_COUNT];
	uint64_t low_end = 0, high = 0, high_size = 0, a, bad = 0, checked = 0;
	volatile uint64_t *low_probe = (volatile uint64_t *)(uintptr_t)(64ULL << 20);
	uint64_t low_before = 0x1122334455667788ULL;

	uart_init();
	for (unsigned i = 0; i < n; i++) {
		puts("highmem: e820 ");
		put_hex64(e[i].addr);
		putc(' ');
		put_hex64(e[i].size);
		puts(e[i].type == 1 ? " ram\n" : " reserved\n");
		if (e[i].type == 1 && e[i].addr == 0x100000)
			low_end = e[i].addr + e[i].size;
		if (e[i].type == 1 && e[i].addr >= 4 * GIB) {
			high = e[i].addr;
			high_size = e[i].size;
		}
	}
	if (low_end != LOW_RAM_END)
		return fail("low RAM does not end at the PCI hole");
	if (high != 4 * GIB || high_size == 0)
		return fail("no RAM at 4 GiB in the e820 map");
	if (map_above_4g(high + high_size) < 0)
		return fail("RAM above 8 GiB: beyond what this guest maps");
	*low_probe = low_before;
	for (a = high; a < high + high_size; a += STEP)
		*(volatile uint64_t *)(uintptr_t)a = pattern(a);
	a = high + high_size - 8;
	*(volatile uint64_t *)(uintptr_t)a = pattern(a);
	for (a = high; a < high + high_size; a += STEP, checked++)
		bad += *(volatile uint64_t *)(uintptr_t)a != pattern(a);
	a = high + high_size - 8;
	bad += *(volatile uint64_t *)(uintptr_t)a != pattern(a);
	checked++;
	puts("highmem: ");
	put_dec((uint32_t)checked);
	puts(" words written and read back from ");
	put_hex64(high);
	puts(" to ");
	put_hex64(high + high_size);
	puts(", ");
	put_dec((uint32_t)bad);
	puts(" wrong\n");
	if (bad)
		return fail("read back differs");
	if (*low_probe != low_before)
		return fail("writing above 4 GiB changed low RAM (aliasing)");
	puts("highmem: ok\n");
	return 0;
}

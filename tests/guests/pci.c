/* PCI enumeration through 0xCF8/0xCFC like a firmware-less kernel does:
 * list bus 0, size every BAR (decode off while sizing), cross-check with
 * ECAM, and talk to the pci-testdev BARs. */
#include "guest.h"

#define ECAM 0xb0000000u

static uint32_t cfg_read(unsigned slot, unsigned off)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	return inl(0xcfc);
}

static void cfg_write(unsigned slot, unsigned off, uint32_t v)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	outl(0xcfc, v);
}

static uint32_t size_bar(unsigned slot, unsigned off, uint32_t mask)
{
	uint32_t orig = cfg_read(slot, off), v;

	cfg_write(slot, off, 0xffffffffu);
	v = cfg_read(slot, off);
	cfg_write(slot, off, orig);
	return v & mask;
}

static int list_bars(unsigned slot)
{
	uint32_t cmd = cfg_read(slot, 0x04) & 0xffff;
	int bad = 0;

	cfg_write(slot, 0x04, cmd & ~3u);		/* decode off */
	for (unsigned i = 0; i < 6; i++) {
		unsigned off = 0x10 + 4 * i;
		uint32_t bar = cfg_read(slot, off), size, hi = 0;

		if (bar & 1) {
			size = ~size_bar(slot, off, 0xfffffffcu) + 1;
			if (size == 0)
				continue;
			puts("  BAR"); put_dec(i); puts(" io   ");
			put_hex(bar & ~3u, 8);
		} else {
			size = ~size_bar(slot, off, 0xfffffff0u) + 1;
			if (size == 0 && !(bar & 4))
				continue;
			puts("  BAR"); put_dec(i);
			if (bar & 4) {
				hi = cfg_read(slot, off + 4);
				puts(" mem64 "); put_hex(hi, 8);
				i++;
			} else {
				puts(" mem32 ");
			}
			put_hex(bar & ~0xfu, 8);
			if (bar & 8)
				puts(" pref");
		}
		puts(" size "); put_hex(size, 8); putc('\n');
		if (bar == 0)
			bad = 1;
	}
	cfg_write(slot, 0x04, cmd);
	return bad;
}

int guest_main(const void *start_info)
{
	uint32_t bar0 = 0, bar1 = 0;
	int found = 0, bad = 0;

	uart_init();
	for (unsigned slot = 0; slot < 32; slot++) {
		uint32_t id = cfg_read(slot, 0), class;

		if ((id & 0xffff) == 0xffff)
			continue;
		found++;
		class = cfg_read(slot, 0x08) >> 8;
		puts("00:"); put_hex(slot, 2); puts(".0 ");
		put_hex(id & 0xffff, 4); putc(':'); put_hex(id >> 16, 4);
		puts(" class "); put_hex(class, 6); putc('\n');
		if (mmio_read32(ECAM + (slot << 15)) != id) {
			puts("  ECAM disagrees\n");
			bad = 1;
		}
		bad |= list_bars(slot);
		if (id == 0x00051b36) {
			bar0 = cfg_read(slot, 0x10) & ~0xfu;
			bar1 = cfg_read(slot, 0x14) & ~3u;
		}
	}
	puts("devices: "); put_dec((uint32_t)found); putc('\n');
	if (bar0 == 0 || bar1 == 0) {
		puts("pci-testdev missing\n");
		return 1;
	}
	if (mmio_read32(bar0) != 0x4143494d) {
		puts("BAR0 magic wrong\n");
		bad = 1;
	}
	mmio_write32(bar0 + 4, 0x12345678);
	if (mmio_read32(bar0 + 4) != 0x12345678) {
		puts("BAR0 scratch wrong\n");
		bad = 1;
	}
	if (inb((uint16_t)(bar1 + 0x42)) != 0x42) {
		puts("BAR1 port read wrong\n");
		bad = 1;
	}
	puts(bad ? "pci: FAIL\n" : "pci: ok\n");
	return bad;
}

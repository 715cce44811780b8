/* Exit cost: N round trips of each kind, bracketed by writes to the
 * harness mark port (0xf5) so the host can time each phase.
 *   phase 1: port writes to an unclaimed port (exit to the runner)
 *   phase 2: MMIO reads of unclaimed PCI space (exit to the runner)
 *   phase 3: doorbell writes (ioeventfd: no exit to the runner)
 *   phase 4: port reads of the 8250 LSR (exit + device model) */
#include "guest.h"

#define N 20000
#define MARK 0xf5
#define UNCLAIMED_MMIO 0xc8000000u
#define TESTDEV_SLOT 3

static uint32_t testdev_bar0(void)
{
	outl(0xcf8, 0x80000000u | TESTDEV_SLOT << 11 | 0x10);
	return inl(0xcfc) & ~0xfu;
}

int guest_main(const void *boot_params)
{
	uint32_t doorbell = testdev_bar0() + 0x10;

	uart_init();
	outb(MARK, 0);
	for (int i = 0; i < N; i++)
		outb(0x80, 0);
	outb(MARK, 1);
	for (int i = 0; i < N; i++)
		(void)mmio_read32(UNCLAIMED_MMIO);
	outb(MARK, 2);
	for (int i = 0; i < N; i++)
		mmio_write32(doorbell, 1);
	outb(MARK, 3);
	for (int i = 0; i < N; i++)
		(void)inb(COM1 + 5);
	outb(MARK, 4);
	return 0;
}

/* Reset and boot again: the first boot marks CMOS byte 0x40 and resets
 * through the i8042; the second finds the mark (the RTC lives outside the
 * VM and survives) and exits with status 0.  Run with guest-run -R 1. */
#include "guest.h"

#define CMOS_MARK 0x40

int guest_main(const void *start_info)
{
	uint8_t boots;

	uart_init();
	outb(0x70, CMOS_MARK);
	boots = inb(0x71);
	outb(0x70, CMOS_MARK);
	outb(0x71, (uint8_t)(boots + 1));
	puts("reboot: boot ");
	put_dec(boots + 1u);
	putc('\n');
	if (boots == 0) {
		outb(0x64, 0xfe);
		puts("reboot: reset did not happen\n");
		return 1;
	}
	return 0;
}

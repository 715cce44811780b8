/* Reset through the i8042: command 0xFE on port 0x64.  The harness turns
 * the reset into exit status 0; reaching the end is a failure. */
#include "guest.h"

int guest_main(const void *start_info)
{
	uart_init();
	outb(0x64, 0xaa);		/* controller self-test */
	while (!(inb(0x64) & 0x01))
		;
	if (inb(0x60) != 0x55) {
		puts("i8042 self-test failed\n");
		return 3;
	}
	puts("resetting via i8042\n");
	outb(0x64, 0xfe);
	puts("still alive after reset\n");
	return 1;
}

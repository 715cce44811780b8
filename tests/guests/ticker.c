/* Prints "tick N" lines at a steady pace for a few seconds, then
 * "ticker: done", so a test can disturb mica-legacy while the guest is
 * printing.  Pacing is port 0x80 writes (answered inside the runner). */
#include "guest.h"

#define LINES 300
#define PACE 600	/* port 0x80 writes between lines */

int guest_main(const void *start_info)
{
	uart_init();
	for (uint32_t i = 0; i < LINES; i++) {
		puts("tick ");
		put_dec(i);
		putc('\n');
		for (int k = 0; k < PACE; k++)
			outb(0x80, 0);
	}
	puts("ticker: done\n");
	return 0;
}

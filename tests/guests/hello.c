/* Serial hello through the 8250 model, then checks the UART registers
 * Linux's 8250 probe relies on (scratch, loopback, FIFO id). */
#include "guest.h"

int guest_main(const void *start_info)
{
	int bad = 0;

	uart_init();
	puts("hello from mica guest\n");
	outb(COM1 + 7, 0xa5);
	if (inb(COM1 + 7) != 0xa5) {
		puts("scratch register broken\n");
		bad = 1;
	}
	if ((inb(COM1 + 2) & 0xc0) != 0xc0) {
		puts("FIFO not reported in IIR\n");
		bad = 1;
	}
	outb(COM1 + 4, 0x1a);		/* loopback, OUT2, RTS */
	if ((inb(COM1 + 6) & 0xf0) != 0x90) {
		puts("loopback modem lines wrong\n");
		bad = 1;
	}
	outb(COM1, 'x');
	if (!(inb(COM1 + 5) & 0x01) || inb(COM1) != 'x') {
		puts("loopback data lost\n");
		bad = 1;
	}
	outb(COM1 + 4, 0x0b);
	puts(bad ? "uart: FAIL\n" : "uart: ok\n");
	return bad;
}

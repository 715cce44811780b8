/* Polled 8250 output and the exit port, as a real driver would do it. */
#include "guest.h"

void uart_init(void)
{
	outb(COM1 + 1, 0x00);		/* IER: no interrupts */
	outb(COM1 + 3, 0x80);		/* LCR: DLAB */
	outb(COM1 + 0, 0x01);		/* DLL: 115200 baud */
	outb(COM1 + 1, 0x00);		/* DLM */
	outb(COM1 + 3, 0x03);		/* LCR: 8N1 */
	outb(COM1 + 2, 0xc7);		/* FCR: FIFO on, clear, 14 bytes */
	outb(COM1 + 4, 0x0b);		/* MCR: DTR RTS OUT2 */
}

void putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))	/* LSR.THRE */
		;
	outb(COM1, (uint8_t)c);
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

void put_hex(uint32_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		putc("0123456789abcdef"[(v >> (i * 4)) & 0xf]);
}

void put_dec(uint32_t v)
{
	char buf[11];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc(buf[--n]);
}

void guest_exit(int status)
{
	outb(0xf4, (uint8_t)status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

int cmdline_has(const void *boot_params, const char *word)
{
	const char *cmdline = (const char *)(uintptr_t)
		*(const uint32_t *)((const uint8_t *)boot_params + 0x228);

	for (; cmdline != 0 && *cmdline; cmdline++) {
		unsigned i = 0;

		while (word[i] && cmdline[i] == word[i])
			i++;
		if (word[i] == 0)
			return 1;
	}
	return 0;
}

/* Device state across a mica-legacy restart: sets COM1's divisor, line
 * control, interrupt enable, modem control and scratch registers, CMOS
 * RAM bytes 0x40-0x5f and the i8042 command byte, then prints "tick N"
 * lines (paced like ticker.c) while a test kills mica-legacy, checking
 * the scratch register and a CMOS byte at every line, and everything at
 * the end: "legacy-state: ok", or what changed. */
#include "guest.h"

#define LINES 300
#define PACE 600
#define CMOS_FIRST 0x40
#define CMOS_COUNT 0x20

static unsigned bad;

static uint8_t cmos_read(uint8_t index)
{
	outb(0x70, index);
	return inb(0x71);
}

static uint8_t cmos_pattern(unsigned i)
{
	return (uint8_t)(0x5a ^ (i * 37));
}

static uint8_t kbc_command_byte(void)
{
	outb(0x64, 0x20);			/* read command byte */
	while (!(inb(0x64) & 0x01))
		;
	return inb(0x60);
}

static void expect(const char *what, uint32_t got, uint32_t want)
{
	if (got == want || ++bad > 8)		/* the first few are enough */
		return;
	puts("legacy-state: ");
	puts(what);
	puts(" is ");
	put_hex(got, 2);
	puts(", want ");
	put_hex(want, 2);
	putc('\n');
}

static void check_all(void)
{
	uint8_t dll, dlm;

	expect("LCR", inb(COM1 + 3), 0x1b);
	outb(COM1 + 3, 0x9b);			/* DLAB on */
	dll = inb(COM1 + 0);
	dlm = inb(COM1 + 1);
	outb(COM1 + 3, 0x1b);
	expect("DLL", dll, 0x30);
	expect("DLM", dlm, 0x02);
	expect("IER", inb(COM1 + 1), 0x04);
	expect("MCR", inb(COM1 + 4), 0x0b);
	expect("SCR", inb(COM1 + 7), 0xa5);
	expect("FIFO (IIR bits 7:6)", inb(COM1 + 2) & 0xc0, 0xc0);
	for (unsigned i = 0; i < CMOS_COUNT; i++)
		expect("a CMOS byte", cmos_read(CMOS_FIRST + i), cmos_pattern(i));
	expect("i8042 command byte", kbc_command_byte(), 0x45);
}

int guest_main(const void *start_info)
{
	uart_init();
	outb(COM1 + 3, 0x80);
	outb(COM1 + 0, 0x30);			/* divisor 0x0230 */
	outb(COM1 + 1, 0x02);
	outb(COM1 + 3, 0x1b);			/* 8 bits, even parity */
	outb(COM1 + 1, 0x04);			/* IER: line status only */
	outb(COM1 + 7, 0xa5);			/* scratch */
	for (unsigned i = 0; i < CMOS_COUNT; i++) {
		outb(0x70, CMOS_FIRST + i);
		outb(0x71, cmos_pattern(i));
	}
	outb(0x64, 0x60);			/* write command byte */
	outb(0x60, 0x45);
	check_all();
	puts("legacy-state: set\n");
	for (uint32_t i = 0; i < LINES; i++) {
		puts("tick ");
		put_dec(i);
		putc('\n');
		expect("SCR", inb(COM1 + 7), 0xa5);
		expect("CMOS byte 0x4f", cmos_read(0x4f), cmos_pattern(0xf));
		for (int k = 0; k < PACE; k++)
			outb(0x80, 0);
	}
	check_all();
	puts(bad ? "legacy-state: FAILED\n" : "legacy-state: ok\n");
	puts("ticker: done\n");
	return bad != 0;
}

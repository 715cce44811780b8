/* Console input with receive interrupts: the harness types a line into
 * COM1 (guest-run -r, or `mica run`'s stdin); the guest takes RDA/timeout
 * interrupts, serves them as Linux's 8250 driver does (IIR until "none",
 * receive FIFO drained while LSR.DR) and echoes the line back.
 *
 * With "lines" on the command line it says "echo: ready" once receive
 * interrupts are on, echoes every line until one reads "quit", and then
 * counts the bytes, their FNV-1a sum, the interrupts and any overruns. */
#include "guest.h"

#define LAPIC		0xfee00000u
#define IOAPIC		0xfec00000u
#define VEC_UART	0x24

static char ring[8192];
static volatile uint32_t head, tail, irqs, overruns, bad_iir, throttled;

void on_uart(void);
extern char isr_uart[];

__asm__(".text\n" GUEST_ISR(isr_uart, on_uart));

/* Take what the FIFO holds while the ring has room; when it is full,
 * throttle as a tty does: receive interrupts off until the main loop has
 * caught up, and the bytes wait in the UART (and behind it). */
static void drain_rx(void)
{
	uint8_t lsr;

	while (tail - head < sizeof(ring) && ((lsr = inb(COM1 + 5)) & 0x01)) {
		if (lsr & 0x02)				/* LSR.OE */
			overruns++;
		ring[tail++ % sizeof(ring)] = (char)inb(COM1);
	}
	if (tail - head == sizeof(ring)) {
		throttled = 1;
		outb(COM1 + 1, 0x00);
	}
}

void on_uart(void)
{
	uint8_t iir;

	irqs++;
	while (!throttled && !((iir = inb(COM1 + 2)) & 0x01)) {	/* IIR: pending */
		switch (iir & 0x0f) {
		case 0x06:				/* line status */
			if (inb(COM1 + 5) & 0x02)
				overruns++;
			break;
		case 0x04:				/* data available */
		case 0x0c:				/* character timeout */
			drain_rx();
			break;
		default:
			bad_iir++;			/* THRE/MSR: not enabled */
			outb(COM1 + 1, throttled ? 0x00 : 0x01);
			break;
		}
	}
	mmio_write32(LAPIC + 0xb0, 0);		/* EOI */
}

/* Wait for the next byte the handler queued. */
static char next_byte(void)
{
	char c;

	while (head == tail)
		__asm__ volatile("sti; hlt; cli");
	c = ring[head++ % sizeof(ring)];
	if (throttled && tail - head < sizeof(ring) / 2) {
		throttled = 0;
		outb(COM1 + 1, 0x01);			/* IER.ERBFI again */
	}
	return c;
}

static void setup_irq(void)
{
	uart_init();				/* FIFO on, trigger at 14 */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	idt_set(VEC_UART, isr_uart);
	idt_load();
	mmio_write32(LAPIC + 0xf0, 0x1ff);
	mmio_write32(IOAPIC, 0x10 + 2 * 4 + 1);
	mmio_write32(IOAPIC + 0x10, 0);
	mmio_write32(IOAPIC, 0x10 + 2 * 4);
	mmio_write32(IOAPIC + 0x10, VEC_UART);
	outb(COM1 + 1, 0x01);			/* IER.ERBFI */
	inb(COM1 + 5);				/* LSR, as a driver's start-up */
}

static int is_quit(const char *line, unsigned len)
{
	return len == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' &&
	       line[3] == 't';
}

int guest_main(const void *boot_params)
{
	int many = cmdline_has(boot_params, "lines");
	uint32_t bytes = 0, sum = 2166136261u, lines = 0;
	char line[256];
	unsigned len = 0;

	setup_irq();
	if (many)
		puts("echo: ready\n");
	for (;;) {
		char c = next_byte();

		bytes++;
		sum = (sum ^ (uint8_t)c) * 16777619u;
		if (c != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = c;
			continue;
		}
		line[len] = 0;
		lines++;
		if (many && is_quit(line, len))
			break;
		puts("echo: ");
		puts(line);
		putc('\n');
		len = 0;
		if (!many)
			break;
	}
	outb(COM1 + 1, 0x00);
	if (many) {
		puts("echo: ");
		put_dec(lines);
		puts(" lines, ");
		put_dec(bytes);
		puts(" bytes, sum ");
		put_hex(sum, 8);
		putc('\n');
	}
	puts("echo: ");
	put_dec(irqs);
	puts(" receive interrupts, ");
	put_dec(overruns);
	puts(" overruns, ");
	put_dec(bad_iir);
	puts(" unexpected IIR\n");
	return overruns || bad_iir;
}

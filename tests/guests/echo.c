/* Console input with receive interrupts: the harness types a line into
 * COM1 (guest-run -r); the guest takes RDA/timeout interrupts, drains the
 * FIFO in the handler and echoes the line back. */
#include "guest.h"

#define LAPIC		0xfee00000u
#define IOAPIC		0xfec00000u
#define VEC_UART	0x24

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(8)));
static char line[128];
static volatile uint32_t len, done, irqs;

void on_uart(void);
extern char isr_uart[];

__asm__(".text\nisr_uart:\n"
	"push %rax; push %rcx; push %rdx; push %rsi; push %rdi\n"
	"push %r8; push %r9; push %r10; push %r11\n"
	"cld; call on_uart\n"
	"pop %r11; pop %r10; pop %r9; pop %r8\n"
	"pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rax\n"
	"iretq\n");

void on_uart(void)
{
	irqs++;
	while (inb(COM1 + 5) & 0x01) {		/* LSR.DR */
		char c = (char)inb(COM1);

		if (c == '\n')
			done = 1;
		else if (len < sizeof(line) - 1)
			line[len++] = c;
	}
	mmio_write32(LAPIC + 0xb0, 0);		/* EOI */
}

int guest_main(const void *boot_params)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr =
		{ sizeof(idt) - 1, (uintptr_t)idt };
	uint64_t a = (uintptr_t)isr_uart;
	uint16_t cs;

	uart_init();				/* FIFO on, trigger at 14 */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt[VEC_UART] = (struct idt_gate){ (uint16_t)a, cs, 0, 0x8e,
					   (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
	__asm__ volatile("lidt %0" : : "m"(idtr));
	mmio_write32(LAPIC + 0xf0, 0x1ff);
	mmio_write32(IOAPIC, 0x10 + 2 * 4 + 1);
	mmio_write32(IOAPIC + 0x10, 0);
	mmio_write32(IOAPIC, 0x10 + 2 * 4);
	mmio_write32(IOAPIC + 0x10, VEC_UART);
	outb(COM1 + 1, 0x01);			/* IER.ERBFI */
	inb(COM1 + 5);				/* LSR, as a driver's start-up */
	while (!done)
		__asm__ volatile("sti; hlt; cli");
	outb(COM1 + 1, 0x00);
	line[len] = 0;
	puts("echo: ");
	puts(line);
	puts("\necho: ");
	put_dec(irqs);
	puts(" receive interrupts\n");
	return 0;
}

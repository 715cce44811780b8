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

#ifdef __x86_64__
/* The boot page tables map the first 4 GiB; map [4 GiB, end) 1:1 too
 * (2 MiB pages, up to 8 GiB).  Returns 0, or -1 if end is beyond that. */
static uint64_t high_pd[4][512] __attribute__((aligned(4096)));

int map_above_4g(uint64_t end)
{
	uint64_t cr3, *pml4, *pdpt;

	if (end > (8ULL << 30))
		return -1;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(uintptr_t)(cr3 & ~0xfffULL);
	pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0x000ffffffffff000ULL);
	for (unsigned g = 0; g < 4; g++) {
		for (unsigned i = 0; i < 512; i++)
			high_pd[g][i] = ((4ULL + g) << 30 | (uint64_t)i << 21) | 0x83;
		pdpt[4 + g] = (uintptr_t)high_pd[g] | 0x3;
	}
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
	return 0;
}

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));
static struct idt_gate idt[256] __attribute__((aligned(8)));

void idt_set(unsigned vec, const void *handler)
{
	uint64_t a = (uintptr_t)handler;
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt[vec] = (struct idt_gate){ (uint16_t)a, cs, 0, 0x8e,
				      (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
}

void idt_load(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr =
		{ sizeof(idt) - 1, (uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}
#endif

/* Interrupt delivery, both ways a device raises one:
 *  1. an ISA line: the 8250 model raises IRQ 4 on THRE, through the
 *     in-kernel IOAPIC to vector 0x24;
 *  2. PCI INTx: the pci-testdev asserts INTA (level, active low, the GSI
 *     from its interrupt line register) until the handler deasserts it;
 *  3. MSI-X: a doorbell write on the pci-testdev (an accelerator doorbell,
 *     no exit) wakes the harness "backend", which signals the vector's
 *     eventfd (irqfd) to deliver vector 0x41.  Masking holds the message
 *     pending in the PBA until the vector is unmasked. */
#include "guest.h"

#define LAPIC		0xfee00000u
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define IOAPIC		0xfec00000u
#define VEC_UART	0x24
#define VEC_MSIX	0x41
#define VEC_INTX	0x50
#define TESTDEV_SLOT	3

/* 64-bit guest: 32-bit code runs in the instruction emulator under PVM,
 * which cannot do a protected-mode IRET. */
static volatile uint32_t uart_irqs, msix_irqs, intx_irqs, unexpected;
static uint32_t testdev_bar0;

void on_uart(void);
void on_msix(void);
void on_unexpected(void);
void on_intx(void);
extern char isr_uart[], isr_msix[], isr_intx[], isr_default[];

__asm__(".text\n"
	GUEST_ISR(isr_uart, on_uart)
	GUEST_ISR(isr_msix, on_msix)
	GUEST_ISR(isr_intx, on_intx)
	GUEST_ISR(isr_default, on_unexpected));

void on_uart(void)
{
	inb(COM1 + 2);			/* IIR read acknowledges THRE */
	uart_irqs++;
	mmio_write32(LAPIC + LAPIC_EOI, 0);
}

void on_msix(void)
{
	msix_irqs++;
	mmio_write32(LAPIC + LAPIC_EOI, 0);
}

/* Level-triggered: quiesce the device before EOI or it fires again. */
void on_intx(void)
{
	mmio_write32(testdev_bar0 + 0x14, 0);
	intx_irqs++;
	mmio_write32(LAPIC + LAPIC_EOI, 0);
}

void on_unexpected(void)
{
	unexpected++;
}

static void idt_setup(void)
{
	for (unsigned v = 0; v < 256; v++)
		idt_set(v, isr_default);
	idt_set(VEC_UART, isr_uart);
	idt_set(VEC_MSIX, isr_msix);
	idt_set(VEC_INTX, isr_intx);
	idt_load();
}

#define IOAPIC_LEVEL	(1u << 15)
#define IOAPIC_LOW	(1u << 13)

static void ioapic_route(unsigned pin, uint32_t flags)
{
	mmio_write32(IOAPIC, 0x10 + 2 * pin + 1);
	mmio_write32(IOAPIC + 0x10, 0);			/* APIC id 0 */
	mmio_write32(IOAPIC, 0x10 + 2 * pin);
	mmio_write32(IOAPIC + 0x10, flags);		/* fixed, physical */
}

/* Sleep until *counter reaches want; interrupts stay off outside hlt. */
static void wait_for(volatile uint32_t *counter, uint32_t want)
{
	while (*counter < want)
		__asm__ volatile("sti; hlt; cli");
}

static uint32_t cfg_read(unsigned slot, unsigned off)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	return inl(0xcfc);
}

static void cfg_write(unsigned slot, unsigned off, uint32_t v)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	outl(0xcfc, v);
}

static int test_intx(void)
{
	uint32_t line = cfg_read(TESTDEV_SLOT, 0x3c);

	testdev_bar0 = cfg_read(TESTDEV_SLOT, 0x10) & ~0xfu;
	if (((line >> 8) & 0xff) != 1 || (line & 0xff) < 16) {
		puts("intx: pci-testdev has no INTA routed to the IOAPIC\n");
		return 1;
	}
	ioapic_route(line & 0xff, VEC_INTX | IOAPIC_LEVEL | IOAPIC_LOW);
	mmio_write32(testdev_bar0 + 0x14, 1);		/* assert INTA */
	wait_for(&intx_irqs, 1);
	mmio_write32(testdev_bar0 + 0x14, 1);		/* and once more */
	wait_for(&intx_irqs, 2);
	puts("intx: INTA on GSI "); put_dec(line & 0xff);
	puts(" -> vector 0x50, level, twice\n");
	return 0;
}

static int test_msix(void)
{
	uint32_t bar0 = cfg_read(TESTDEV_SLOT, 0x10) & ~0xfu;
	uint32_t bar2 = cfg_read(TESTDEV_SLOT, 0x18) & ~0xfu;
	unsigned cap = cfg_read(TESTDEV_SLOT, 0x34) & 0xff;
	uint32_t table, pba, spins = 0;

	while (cap && (cfg_read(TESTDEV_SLOT, cap) & 0xff) != 0x11)
		cap = (cfg_read(TESTDEV_SLOT, cap) >> 8) & 0xff;
	if (cap == 0 || bar0 == 0 || bar2 == 0) {
		puts("msix: no MSI-X capability on pci-testdev\n");
		return 1;
	}
	table = bar2 + (cfg_read(TESTDEV_SLOT, cap + 4) & ~7u);
	pba = bar2 + (cfg_read(TESTDEV_SLOT, cap + 8) & ~7u);
	puts("msix: "); put_dec(((cfg_read(TESTDEV_SLOT, cap) >> 16) & 0x7ff) + 1);
	puts(" vectors, table at "); put_hex(table, 8); putc('\n');
	mmio_write32(table + 0, 0xfee00000);	/* to APIC id 0 */
	mmio_write32(table + 4, 0);
	mmio_write32(table + 8, VEC_MSIX);
	mmio_write32(table + 12, 0);		/* unmasked */
	cfg_write(TESTDEV_SLOT, cap, cfg_read(TESTDEV_SLOT, cap) | 0x80000000u);

	mmio_write32(bar0 + 0x10, 1);		/* doorbell */
	wait_for(&msix_irqs, 1);
	puts("msix: doorbell -> irqfd -> vector 0x41 delivered\n");

	mmio_write32(table + 12, 1);		/* mask vector 0 */
	mmio_write32(bar0 + 0x10, 1);
	while (!(mmio_read32(pba) & 1) && ++spins < 100000000)
		;
	if (!(mmio_read32(pba) & 1) || msix_irqs != 1) {
		puts("msix: masked vector not pending\n");
		return 1;
	}
	puts("msix: masked vector pending in PBA\n");
	mmio_write32(table + 12, 0);		/* unmask: delivered now */
	wait_for(&msix_irqs, 2);
	if (mmio_read32(pba) & 1) {
		puts("msix: PBA bit stuck\n");
		return 1;
	}
	puts("msix: pending vector delivered on unmask\n");
	return 0;
}

int guest_main(const void *start_info)
{
	int bad;

	uart_init();
	outb(0x21, 0xff);			/* 8259s masked: IOAPIC only */
	outb(0xa1, 0xff);
	idt_setup();
	mmio_write32(LAPIC + LAPIC_SVR, 0x1ff);
	ioapic_route(4, VEC_UART);

	outb(COM1 + 1, 0x02);			/* IER.ETBEI: THRE at once */
	wait_for(&uart_irqs, 1);
	outb(COM1 + 1, 0x00);
	puts("irq: UART THRE on IRQ 4 -> vector 0x24\n");

	bad = test_intx();
	bad |= test_msix();
	if (unexpected) {
		puts("irq: unexpected interrupts\n");
		bad = 1;
	}
	puts(bad ? "irq: FAIL\n" : "irq: ok\n");
	return bad;
}

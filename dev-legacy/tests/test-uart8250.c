/* 8250 model: registers, DLAB, FIFO, loopback and the interrupt rules
 * Linux's 8250 driver depends on. */
#include "cutest.h"
#include "uart8250.c"
#include "fake-host.h"

#define B LEGACY_COM1_PORT
#define IRQ LEGACY_COM1_IRQ

static struct legacy_dev *new_uart(void)
{
	fake_reset_state();
	return must(uart8250_create(&fake_host, B, IRQ));
}

static void test_tx_reaches_sink(void)
{
	struct legacy_dev *d = new_uart();

	CU_ASSERT_EQUAL(io_in(d, B + REG_LSR) & 0x60, 0x60);
	io_out(d, B, 'h');
	io_out(d, B, 'i');
	CU_ASSERT_EQUAL(fake.out_len, 2);
	CU_ASSERT_NSTRING_EQUAL(fake.out, "hi", 2);
	legacy_dev_destroy(d);
}

static void test_dlab_and_scratch(void)
{
	struct legacy_dev *d = new_uart();

	io_out(d, B + REG_IER, 0x05);
	io_out(d, B + REG_LCR, 0x83);
	io_out(d, B + REG_RBR_THR, 0x01);
	io_out(d, B + REG_IER, 0x02);
	CU_ASSERT_EQUAL(io_in(d, B + REG_RBR_THR), 0x01);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IER), 0x02);
	CU_ASSERT_EQUAL(fake.out_len, 0);	/* DLL write is not data */
	io_out(d, B + REG_LCR, 0x03);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IER), 0x05);
	CU_ASSERT_EQUAL(io_in(d, B + REG_LCR), 0x03);
	io_out(d, B + REG_SCR, 0x5a);
	CU_ASSERT_EQUAL(io_in(d, B + REG_SCR), 0x5a);
	legacy_dev_destroy(d);
}

static void test_thre_interrupt(void)
{
	struct legacy_dev *d = new_uart();

	io_out(d, B + REG_MCR, MCR_OUT2);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IIR_FCR), IIR_NONE);
	/* Enabling ETBEI with an empty THR interrupts at once. */
	io_out(d, B + REG_IER, IER_ETBEI);
	CU_ASSERT_EQUAL(fake.irq_level[IRQ], 1);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IIR_FCR), IIR_THRE);
	/* Reading IIR acknowledged it. */
	CU_ASSERT_EQUAL(fake.irq_level[IRQ], 0);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IIR_FCR), IIR_NONE);
	io_out(d, B, 'x');
	CU_ASSERT_EQUAL(fake.irq_level[IRQ], 1);
	/* Writing IER without ETBEI drops the line. */
	io_out(d, B + REG_IER, 0);
	CU_ASSERT_EQUAL(fake.irq_level[IRQ], 0);
	legacy_dev_destroy(d);
}

static void test_out2_gates_irq(void)
{
	struct legacy_dev *d = new_uart();

	io_out(d, B + REG_IER, IER_ETBEI);
	CU_ASSERT_EQUAL(fake.irq_level[IRQ], 0);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IIR_FCR), IIR_THRE);
	legacy_dev_destroy(d);
}

static void test_rx_fifo_and_interrupts(void)
{
	struct legacy_dev *d = new_uart();
	uint8_t data[20];

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)('a' + i);
	io_out(d, B + REG_MCR, MCR_OUT2);
	io_out(d, B + REG_IER, IER_ERBFI | IER_ELSI);
	/* Without FIFO: one byte holds, the next overruns. */
	CU_ASSERT_EQUAL(uart8250_receive(d, data, 2), 1);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IIR_FCR), IIR_RLS);
	CU_ASSERT_EQUAL(io_in(d, B + REG_LSR) & (LSR_DR | LSR_OE), LSR_DR | LSR_OE);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IIR_FCR), IIR_RDA);
	CU_ASSERT_EQUAL(io_in(d, B), 'a');
	CU_ASSERT_EQUAL(fake.irq_level[IRQ], 0);
	/* FIFO, trigger at 4: below it a timeout interrupt, at it RDA. */
	io_out(d, B + REG_IIR_FCR, 0x41);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IIR_FCR) & 0xc0, IIR_FIFO);
	CU_ASSERT_EQUAL(uart8250_receive(d, data, 2), 2);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IIR_FCR) & 0x0f, IIR_TIMEOUT);
	CU_ASSERT_EQUAL(uart8250_receive(d, data + 2, 18), 14);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IIR_FCR) & 0x0f, IIR_RLS);
	io_in(d, B + REG_LSR);
	CU_ASSERT_EQUAL(io_in(d, B + REG_IIR_FCR) & 0x0f, IIR_RDA);
	for (unsigned i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(io_in(d, B), 'a' + i);
	CU_ASSERT_EQUAL(io_in(d, B + REG_LSR) & LSR_DR, 0);
	CU_ASSERT_EQUAL(fake.irq_level[IRQ], 0);
	/* FCR clear-RX empties the FIFO. */
	uart8250_receive(d, data, 3);
	io_out(d, B + REG_IIR_FCR, 0x43);
	CU_ASSERT_EQUAL(io_in(d, B + REG_LSR) & LSR_DR, 0);
	legacy_dev_destroy(d);
}

static void test_rx_room(void)
{
	struct legacy_dev *d = new_uart();

	CU_ASSERT_EQUAL(uart8250_rx_room(d), 1);
	io_out(d, B + REG_IIR_FCR, 0x01);
	CU_ASSERT_EQUAL(uart8250_rx_room(d), 16);
	uart8250_receive(d, (const uint8_t *)"abc", 3);
	CU_ASSERT_EQUAL(uart8250_rx_room(d), 13);
	io_in(d, B);
	CU_ASSERT_EQUAL(uart8250_rx_room(d), 14);
	legacy_dev_destroy(d);
}

static void test_loopback(void)
{
	struct legacy_dev *d = new_uart();

	/* Linux's autoconfig: MCR = LOOP | OUT2 | RTS gives CTS | DCD. */
	io_out(d, B + REG_MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS);
	CU_ASSERT_EQUAL(io_in(d, B + REG_MSR) & 0xf0, 0x90);
	io_out(d, B, 'z');
	CU_ASSERT_EQUAL(fake.out_len, 0);
	CU_ASSERT_EQUAL(io_in(d, B + REG_LSR) & LSR_DR, LSR_DR);
	CU_ASSERT_EQUAL(io_in(d, B), 'z');
	io_out(d, B + REG_MCR, MCR_LOOP);
	CU_ASSERT_EQUAL(io_in(d, B + REG_MSR) & 0xf0, 0);
	io_out(d, B + REG_MCR, MCR_OUT2);
	/* Back to normal: lines up again, deltas recorded then cleared. */
	CU_ASSERT_EQUAL(io_in(d, B + REG_MSR), 0xb0 | 0x0b);
	CU_ASSERT_EQUAL(io_in(d, B + REG_MSR), 0xb0);
	legacy_dev_destroy(d);
}

static void test_wide_access(void)
{
	struct legacy_dev *d = new_uart();

	io_out(d, B + REG_SCR, 0x12);
	CU_ASSERT_EQUAL(d->ops->read(d, B + REG_SCR, 2), 0xff12);
	legacy_dev_destroy(d);
}

CUTEST_MAIN("legacy-uart8250",
	CUTEST(test_tx_reaches_sink),
	CUTEST(test_dlab_and_scratch),
	CUTEST(test_thre_interrupt),
	CUTEST(test_out2_gates_irq),
	CUTEST(test_rx_fifo_and_interrupts),
	CUTEST(test_rx_room),
	CUTEST(test_loopback),
	CUTEST(test_wide_access));

/* 16550A UART, enough for Linux's 8250 driver with interrupts.
 * Transmission is instantaneous: THR is always empty again by the time the
 * guest looks, so THRE/TEMT stay set and a THRE interrupt follows every
 * write while IER.ETBEI is set. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "legacy.h"

#define UART_FIFO_SIZE	16

enum {
	REG_RBR_THR = 0, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR,
	REG_MSR, REG_SCR,
};

#define IER_ERBFI	0x01	/* received data available */
#define IER_ETBEI	0x02	/* transmitter holding register empty */
#define IER_ELSI	0x04	/* receiver line status */
#define IER_EDSSI	0x08	/* modem status */
#define IIR_NONE	0x01
#define IIR_MSI		0x00
#define IIR_THRE	0x02
#define IIR_RDA		0x04
#define IIR_RLS		0x06
#define IIR_TIMEOUT	0x0c
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define LSR_ERRORS	0x1e
#define MSR_DELTAS	0x0f
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

struct uart8250 {
	struct legacy_dev dev;
	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	bool thre_pending;
	int irq_level;
	uint8_t rx[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;
};

static unsigned uart_rx_capacity(const struct uart8250 *u)
{
	return (u->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static unsigned uart_rx_trigger(const struct uart8250 *u)
{
	static const unsigned levels[] = { 1, 4, 8, 14 };

	return (u->fcr & FCR_ENABLE) ? levels[u->fcr >> 6] : 1;
}

/* Highest-priority pending interrupt, as IIR bits 0-3. */
static uint8_t uart_pending(const struct uart8250 *u)
{
	if ((u->ier & IER_ELSI) && (u->lsr & LSR_ERRORS))
		return IIR_RLS;
	if ((u->ier & IER_ERBFI) && u->rx_count > 0)
		return u->rx_count >= uart_rx_trigger(u) ? IIR_RDA : IIR_TIMEOUT;
	if ((u->ier & IER_ETBEI) && u->thre_pending)
		return IIR_THRE;
	if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NONE;
}

/* On a PC the UART's interrupt output is gated by OUT2. */
static void uart_update_irq(struct uart8250 *u)
{
	int level = uart_pending(u) != IIR_NONE && (u->mcr & MCR_OUT2);

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->dev.host->set_irq != NULL)
		u->dev.host->set_irq(u->dev.host->opaque, u->dev.irq, level);
}

/* Modem lines: always connected, or wired to MCR in loopback mode. */
static void uart_update_msr(struct uart8250 *u)
{
	uint8_t lines = MSR_DCD | MSR_DSR | MSR_CTS, old = u->msr;

	if (u->mcr & MCR_LOOP) {
		lines = 0;
		if (u->mcr & MCR_RTS) lines |= MSR_CTS;
		if (u->mcr & MCR_DTR) lines |= MSR_DSR;
		if (u->mcr & MCR_OUT1) lines |= MSR_RI;
		if (u->mcr & MCR_OUT2) lines |= MSR_DCD;
	}
	u->msr = (old & MSR_DELTAS) | lines;
	if ((old ^ lines) & MSR_CTS) u->msr |= 0x01;
	if ((old ^ lines) & MSR_DSR) u->msr |= 0x02;
	if ((old & MSR_RI) && !(lines & MSR_RI)) u->msr |= 0x04;
	if ((old ^ lines) & MSR_DCD) u->msr |= 0x08;
}

static size_t uart_push_rx(struct uart8250 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	for (; n < len; n++) {
		if (u->rx_count == uart_rx_capacity(u)) {
			u->lsr |= LSR_OE;
			break;
		}
		u->rx[(u->rx_head + u->rx_count++) % UART_FIFO_SIZE] = buf[n];
	}
	if (u->rx_count > 0)
		u->lsr |= LSR_DR;
	return n;
}

static uint8_t uart_pop_rx(struct uart8250 *u)
{
	uint8_t c = 0;

	if (u->rx_count > 0) {
		c = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
		u->rx_count--;
	}
	if (u->rx_count == 0)
		u->lsr &= ~LSR_DR;
	return c;
}

static void uart_transmit(struct uart8250 *u, uint8_t c)
{
	if (u->mcr & MCR_LOOP)
		uart_push_rx(u, &c, 1);
	else if (u->dev.host->output != NULL)
		u->dev.host->output(u->dev.host->opaque, &c, 1);
	u->thre_pending = true;
}

static uint32_t uart_read(struct legacy_dev *dev, uint16_t port, unsigned size)
{
	struct uart8250 *u = (struct uart8250 *)dev;
	uint8_t val = 0xff, id;

	switch (port - dev->ports[0].base) {
	case REG_RBR_THR:
		val = (u->lcr & LCR_DLAB) ? u->dll : uart_pop_rx(u);
		break;
	case REG_IER:
		val = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case REG_IIR_FCR:
		id = uart_pending(u);
		/* Reading IIR acknowledges a THRE interrupt. */
		if (id == IIR_THRE)
			u->thre_pending = false;
		val = id | ((u->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
		break;
	case REG_LCR:
		val = u->lcr;
		break;
	case REG_MCR:
		val = u->mcr;
		break;
	case REG_LSR:
		val = u->lsr;
		u->lsr &= ~LSR_ERRORS;
		break;
	case REG_MSR:
		val = u->msr;
		u->msr &= ~MSR_DELTAS;
		break;
	case REG_SCR:
		val = u->scr;
		break;
	}
	uart_update_irq(u);
	return size == 1 ? val : (val | (0xffffffffu << 8)) & (size == 2 ? 0xffff : 0xffffffff);
}

static void uart_write(struct legacy_dev *dev, uint16_t port, unsigned size,
		       uint32_t val32)
{
	struct uart8250 *u = (struct uart8250 *)dev;
	uint8_t val = (uint8_t)val32;

	switch (port - dev->ports[0].base) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = val;
		else
			uart_transmit(u, val);
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = val;
			break;
		}
		/* Enabling ETBEI with THR empty raises THRE at once: Linux's
		 * driver relies on this to start transmission. */
		if (!(u->ier & IER_ETBEI) && (val & IER_ETBEI))
			u->thre_pending = true;
		u->ier = val & 0x0f;
		break;
	case REG_IIR_FCR:
		if ((val ^ u->fcr) & FCR_ENABLE || (val & FCR_CLEAR_RX)) {
			u->rx_head = u->rx_count = 0;
			u->lsr &= ~LSR_DR;
		}
		u->fcr = val & 0xc9;
		break;
	case REG_LCR:
		u->lcr = val;
		break;
	case REG_MCR:
		u->mcr = val & 0x1f;
		uart_update_msr(u);
		break;
	case REG_LSR:
	case REG_MSR:
		break;			/* read-only (factory test only) */
	case REG_SCR:
		u->scr = val;
		break;
	}
	uart_update_irq(u);
}

size_t uart8250_receive(struct legacy_dev *dev, const uint8_t *buf, size_t len)
{
	struct uart8250 *u = (struct uart8250 *)dev;
	size_t n = uart_push_rx(u, buf, len);

	uart_update_irq(u);
	return n;
}

size_t uart8250_rx_room(const struct legacy_dev *dev)
{
	const struct uart8250 *u = (const struct uart8250 *)dev;

	return uart_rx_capacity(u) - u->rx_count;
}

static void uart_destroy(struct legacy_dev *dev)
{
	free(dev);
}

struct uart_state {
	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	uint8_t thre_pending, rx_head, rx_count;
	uint8_t rx[UART_FIFO_SIZE];
};

static size_t uart_save(const struct legacy_dev *dev, void *buf)
{
	const struct uart8250 *u = (const struct uart8250 *)dev;
	struct uart_state s = {
		u->ier, u->fcr, u->lcr, u->mcr, u->lsr, u->msr, u->scr, u->dll,
		u->dlm, u->thre_pending, (uint8_t)u->rx_head, (uint8_t)u->rx_count,
		{ 0 },
	};

	memcpy(s.rx, u->rx, sizeof(s.rx));
	memcpy(buf, &s, sizeof(s));
	return sizeof(s);
}

static int uart_load(struct legacy_dev *dev, const void *buf, size_t len)
{
	struct uart8250 *u = (struct uart8250 *)dev;
	struct uart_state s;
	unsigned capacity;

	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	capacity = (s.fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
	if ((s.ier & ~0x0f) || (s.fcr & ~0xc9) || (s.mcr & ~0x1f) ||
	    s.thre_pending > 1 || s.rx_head >= UART_FIFO_SIZE || s.rx_count > capacity ||
	    !!(s.lsr & LSR_DR) != (s.rx_count > 0))
		return -EINVAL;
	u->ier = s.ier;
	u->fcr = s.fcr;
	u->lcr = s.lcr;
	u->mcr = s.mcr;
	u->lsr = s.lsr | LSR_THRE | LSR_TEMT;
	u->msr = s.msr;
	u->scr = s.scr;
	u->dll = s.dll;
	u->dlm = s.dlm;
	u->thre_pending = s.thre_pending;
	u->rx_head = s.rx_head;
	u->rx_count = s.rx_count;
	memcpy(u->rx, s.rx, sizeof(u->rx));
	/* The old process may have died between raising the line and the
	 * guest seeing it: a pending interrupt is raised once more (8250
	 * drivers read IIR and take a spurious one in their stride). */
	u->irq_level = 0;
	uart_update_irq(u);
	return 0;
}

static const struct legacy_dev_ops uart8250_ops = {
	.name = "uart8250",
	.read = uart_read,
	.write = uart_write,
	.destroy = uart_destroy,
	.save = uart_save,
	.load = uart_load,
};

struct legacy_dev *uart8250_create(const struct legacy_host *host,
				   uint16_t base, unsigned irq)
{
	struct uart8250 *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	u->dev = (struct legacy_dev){
		.ops = &uart8250_ops, .host = host, .irq = irq,
		.ports = { { base, 8 } }, .nr_ports = 1,
	};
	u->lsr = LSR_THRE | LSR_TEMT;
	u->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	u->dll = 12;			/* 9600 baud, as after firmware */
	return &u->dev;
}

/* i8042 keyboard controller: just enough for Linux's probe and for the
 * reset line (command 0xFE, or any pulse command with bit 0 clear, or
 * writing the output port with bit 0 clear).  No keyboard or mouse is
 * attached: device commands are acknowledged and otherwise ignored. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "legacy.h"

#define STAT_OBF	0x01	/* output buffer full */
#define STAT_SYS	0x04	/* self-test passed */
#define STAT_CMD	0x08	/* last write was a command */
#define STAT_UNLOCKED	0x10
#define STAT_AUX_OBF	0x20
#define CB_KBD_INT	0x01
#define CB_AUX_INT	0x02
#define CB_SYS		0x04
#define CB_KBD_DIS	0x10
#define CB_AUX_DIS	0x20
#define CB_XLATE	0x40
#define OUT_RESET	0x01	/* output port bit 0: 0 resets the CPU */
#define OUT_A20		0x02
#define I8042_QUEUE	8

struct i8042 {
	struct legacy_dev dev;
	uint8_t status, cmdbyte, outport;
	uint8_t pending_cmd;		/* command awaiting its data byte */
	uint8_t queue[I8042_QUEUE];
	bool queue_aux[I8042_QUEUE];
	unsigned q_head, q_count;
	int irq_level;
};

static void i8042_update(struct i8042 *k)
{
	int level = 0;

	k->status &= ~(STAT_OBF | STAT_AUX_OBF);
	if (k->q_count > 0) {
		bool aux = k->queue_aux[k->q_head];

		k->status |= STAT_OBF | (aux ? STAT_AUX_OBF : 0);
		/* Only the keyboard line (IRQ 1) is wired; AUX data is
		 * polled. */
		level = !aux && (k->cmdbyte & CB_KBD_INT);
	}
	if (level != k->irq_level) {
		k->irq_level = level;
		if (k->dev.host->set_irq != NULL)
			k->dev.host->set_irq(k->dev.host->opaque, k->dev.irq, level);
	}
}

static void i8042_push(struct i8042 *k, uint8_t byte, bool aux)
{
	if (k->q_count == I8042_QUEUE)
		return;
	k->queue[(k->q_head + k->q_count) % I8042_QUEUE] = byte;
	k->queue_aux[(k->q_head + k->q_count) % I8042_QUEUE] = aux;
	k->q_count++;
}

static void i8042_reset_system(struct i8042 *k)
{
	if (k->dev.host->reset != NULL)
		k->dev.host->reset(k->dev.host->opaque);
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case 0x20:
		i8042_push(k, k->cmdbyte, false);
		break;
	case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
		k->pending_cmd = cmd;
		break;
	case 0xa7: k->cmdbyte |= CB_AUX_DIS; break;
	case 0xa8: k->cmdbyte &= ~CB_AUX_DIS; break;
	case 0xad: k->cmdbyte |= CB_KBD_DIS; break;
	case 0xae: k->cmdbyte &= ~CB_KBD_DIS; break;
	case 0xa9:			/* aux interface test: no mouse */
	case 0xab:			/* keyboard interface test: OK */
		i8042_push(k, 0x00, false);
		break;
	case 0xaa:			/* controller self-test */
		k->status |= STAT_SYS;
		i8042_push(k, 0x55, false);
		break;
	case 0xd0:
		i8042_push(k, k->outport, false);
		break;
	default:
		/* 0xF0-0xFF pulse output-port bits low for 6 us; bit 0 is
		 * the CPU reset line. */
		if (cmd >= 0xf0 && !(cmd & 0x01))
			i8042_reset_system(k);
		break;
	}
}

/* A byte for the keyboard itself: there is none, so answer like a
 * keyboard that is present but idle. */
static void i8042_kbd_byte(struct i8042 *k, uint8_t b)
{
	i8042_push(k, 0xfa, false);		/* ACK */
	if (b == 0xff)
		i8042_push(k, 0xaa, false);	/* BAT passed */
	else if (b == 0xf2) {
		i8042_push(k, 0xab, false);	/* MF2 keyboard id */
		i8042_push(k, 0x83, false);
	}
}

static void i8042_data(struct i8042 *k, uint8_t b)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case 0x60:
		k->cmdbyte = b;
		break;
	case 0xd1:
		k->outport = b;
		if (!(b & OUT_RESET))
			i8042_reset_system(k);
		break;
	case 0xd2:
		i8042_push(k, b, false);
		break;
	case 0xd3:
		i8042_push(k, b, true);
		break;
	case 0xd4:
		break;			/* no mouse: byte is lost */
	default:
		i8042_kbd_byte(k, b);
		break;
	}
}

static uint32_t i8042_read(struct legacy_dev *dev, uint16_t port, unsigned size)
{
	struct i8042 *k = (struct i8042 *)dev;
	uint8_t val;

	if (port == LEGACY_I8042_CMD)
		return k->status;
	val = k->q_count ? k->queue[k->q_head] : 0;
	if (k->q_count > 0) {
		k->q_head = (k->q_head + 1) % I8042_QUEUE;
		k->q_count--;
	}
	i8042_update(k);
	return val;
}

static void i8042_write(struct legacy_dev *dev, uint16_t port, unsigned size,
			uint32_t val)
{
	struct i8042 *k = (struct i8042 *)dev;

	if (port == LEGACY_I8042_CMD) {
		k->status |= STAT_CMD;
		i8042_command(k, (uint8_t)val);
	} else {
		k->status &= ~STAT_CMD;
		i8042_data(k, (uint8_t)val);
	}
	i8042_update(k);
}

static void i8042_destroy(struct legacy_dev *dev)
{
	free(dev);
}

struct i8042_state {
	uint8_t status, cmdbyte, outport, pending_cmd, q_head, q_count;
	uint8_t queue[I8042_QUEUE], queue_aux[I8042_QUEUE];
};

static size_t i8042_save(const struct legacy_dev *dev, void *buf)
{
	const struct i8042 *k = (const struct i8042 *)dev;
	struct i8042_state s = {
		k->status, k->cmdbyte, k->outport, k->pending_cmd,
		(uint8_t)k->q_head, (uint8_t)k->q_count, { 0 }, { 0 },
	};

	for (unsigned i = 0; i < I8042_QUEUE; i++) {
		s.queue[i] = k->queue[i];
		s.queue_aux[i] = k->queue_aux[i];
	}
	memcpy(buf, &s, sizeof(s));
	return sizeof(s);
}

static int i8042_load(struct legacy_dev *dev, const void *buf, size_t len)
{
	struct i8042 *k = (struct i8042 *)dev;
	struct i8042_state s;

	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	if (s.q_head >= I8042_QUEUE || s.q_count > I8042_QUEUE)
		return -EINVAL;
	for (unsigned i = 0; i < I8042_QUEUE; i++)
		if (s.queue_aux[i] > 1)
			return -EINVAL;
	k->status = s.status;
	k->cmdbyte = s.cmdbyte;
	k->outport = s.outport;
	k->pending_cmd = s.pending_cmd;
	k->q_head = s.q_head;
	k->q_count = s.q_count;
	for (unsigned i = 0; i < I8042_QUEUE; i++) {
		k->queue[i] = s.queue[i];
		k->queue_aux[i] = s.queue_aux[i];
	}
	k->irq_level = 0;		/* raised again if still pending */
	i8042_update(k);
	return 0;
}

static const struct legacy_dev_ops i8042_ops = {
	.name = "i8042",
	.read = i8042_read,
	.write = i8042_write,
	.destroy = i8042_destroy,
	.save = i8042_save,
	.load = i8042_load,
};

struct legacy_dev *i8042_create(const struct legacy_host *host)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->dev = (struct legacy_dev){
		.ops = &i8042_ops, .host = host, .irq = LEGACY_I8042_IRQ,
		.ports = { { LEGACY_I8042_DATA, 1 }, { LEGACY_I8042_CMD, 1 } },
		.nr_ports = 2,
	};
	k->status = STAT_SYS | STAT_UNLOCKED;
	k->cmdbyte = CB_KBD_INT | CB_SYS | CB_XLATE;
	k->outport = OUT_RESET | OUT_A20;
	return &k->dev;
}

/* Reset control register (PIIX3 RCR): writing with bit 2 (RST_CPU) set
 * resets.  It is the FADT RESET_REG, which Linux tries first. */
struct reset_cf9 {
	struct legacy_dev dev;
	uint8_t val;
};

static uint32_t cf9_read(struct legacy_dev *dev, uint16_t port, unsigned size)
{
	return ((struct reset_cf9 *)dev)->val;
}

static void cf9_write(struct legacy_dev *dev, uint16_t port, unsigned size,
		      uint32_t val)
{
	struct reset_cf9 *r = (struct reset_cf9 *)dev;

	r->val = val & 0x02;		/* SYS_RST is the only sticky bit */
	if ((val & 0x04) && dev->host->reset != NULL)
		dev->host->reset(dev->host->opaque);
}

static const struct legacy_dev_ops reset_cf9_ops = {
	.name = "reset-cf9",
	.read = cf9_read,
	.write = cf9_write,
	.destroy = i8042_destroy,
};

struct legacy_dev *reset_cf9_create(const struct legacy_host *host)
{
	struct reset_cf9 *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->dev = (struct legacy_dev){
		.ops = &reset_cf9_ops, .host = host,
		.ports = { { LEGACY_RESET_PORT, 1 } }, .nr_ports = 1,
	};
	return &r->dev;
}

/* A minimal virtio-pci (modern) driver core for the 64-bit test guests:
 * find a function on bus 0, walk its virtio capabilities, route MSI-X
 * vectors to one interrupt vector, negotiate features and set up split
 * queues.  Header-only (each guest is one C file): include it once. */
#ifndef MICA_GUEST_VIRTIO_H
#define MICA_GUEST_VIRTIO_H

#include "guest.h"

#define VIRTIO_VENDOR	0x1af4
#define LAPIC		0xfee00000u
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0

/* Common configuration offsets (virtio 1.x 4.1.4.3). */
#define CC_DFSELECT	0x00
#define CC_DF		0x04
#define CC_GFSELECT	0x08
#define CC_GF		0x0c
#define CC_MSIX		0x10
#define CC_NUMQ		0x12
#define CC_STATUS	0x14
#define CC_Q_SELECT	0x16
#define CC_Q_SIZE	0x18
#define CC_Q_MSIX	0x1a
#define CC_Q_ENABLE	0x1c
#define CC_Q_NOFF	0x1e
#define CC_Q_DESC	0x20
#define CC_Q_AVAIL	0x28
#define CC_Q_USED	0x30

#define S_ACK		1
#define S_DRIVER	2
#define S_DRIVER_OK	4
#define S_FEATURES_OK	8
#define S_NEEDS_RESET	0x40

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* One split queue of at most 64 entries, laid out by the guest. */
#define VQ_MAX 64
struct vqueue {
	struct vdesc desc[VQ_MAX] __attribute__((aligned(4096)));
	struct {
		uint16_t flags, idx, ring[VQ_MAX], used_event;
	} avail __attribute__((aligned(4096)));
	volatile struct {
		uint16_t flags, idx;
		struct { uint32_t id, len; } ring[VQ_MAX];
		uint16_t avail_event;
	} used __attribute__((aligned(4096)));
	uint16_t size, last_used;
	uintptr_t notify;
};

struct vdev {
	const char *name;		/* "virtio-net" for messages */
	unsigned slot;
	uintptr_t common, notify, device, isr;
	uint32_t notify_mult;
};

static volatile uint32_t vdev_irqs, vdev_unexpected;
static struct vdev *vdev_intx_dev;	/* INTx mode: the handler reads its ISR */
static volatile uint32_t vdev_isr_empty;	/* INTx interrupts with ISR bit 0 clear */

void vdev_on_irq(void);
void vdev_on_unexpected(void);
extern char vdev_isr_queue[], vdev_isr_default[];

__asm__(".text\n" GUEST_ISR(vdev_isr_queue, vdev_on_irq)
	GUEST_ISR(vdev_isr_default, vdev_on_unexpected));

void vdev_on_irq(void)
{
	vdev_irqs++;
	if (vdev_intx_dev != 0 && !(*(volatile uint8_t *)vdev_intx_dev->isr & 1))
		vdev_isr_empty++;			/* reading ISR clears it */
	mmio_write32(LAPIC + LAPIC_EOI, 0);
}

void vdev_on_unexpected(void)
{
	vdev_unexpected++;
}

static inline uint8_t rd8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t rd16(uintptr_t a) { return *(volatile uint16_t *)a; }
static inline void wr8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void wr16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }

static inline void wr64(uintptr_t a, uint64_t v)
{
	mmio_write32(a, (uint32_t)v);
	mmio_write32(a + 4, (uint32_t)(v >> 32));
}

/* Every vector to the default handler but vec, which counts interrupts
 * and sends the EOI; the LAPIC on. */
static void vdev_interrupts_init(unsigned vec)
{
	for (unsigned v = 0; v < 256; v++)
		idt_set(v, v == vec ? vdev_isr_queue : vdev_isr_default);
	idt_load();
	outb(0x21, 0xff);			/* 8259s masked */
	outb(0xa1, 0xff);
	mmio_write32(LAPIC + LAPIC_SVR, 0x1ff);
}

static uint32_t vdev_cfg_read(const struct vdev *d, unsigned off)
{
	outl(0xcf8, 0x80000000u | d->slot << 11 | (off & 0xfc));
	return inl(0xcfc);
}

static void vdev_cfg_write(const struct vdev *d, unsigned off, uint32_t v)
{
	outl(0xcf8, 0x80000000u | d->slot << 11 | (off & 0xfc));
	outl(0xcfc, v);
}

static int vdev_fail(const struct vdev *d, const char *why)
{
	puts(d->name);
	puts(": FAIL: ");
	puts(why);
	putc('\n');
	return 1;
}

/* Find vendor:device on bus 0 and its common/notify/device structures. */
static int vdev_find(struct vdev *d, uint16_t device_id)
{
	uint32_t bar, cap;

	for (d->slot = 0; d->slot < 32; d->slot++)
		if (vdev_cfg_read(d, 0) == ((uint32_t)device_id << 16 | VIRTIO_VENDOR))
			break;
	if (d->slot == 32) {
		puts(d->name); puts(": FAIL: no 1af4:"); put_hex(device_id, 4);
		puts(" function on bus 0\n");
		return 1;
	}
	puts(d->name); puts(": 00:"); put_hex(d->slot, 2); puts(".0 1af4:");
	put_hex(device_id, 4); putc('\n');
	vdev_cfg_write(d, 0x04, vdev_cfg_read(d, 0x04) | 0x6);	/* memory, bus master */
	for (cap = vdev_cfg_read(d, 0x34) & 0xfc; cap != 0;
	     cap = (vdev_cfg_read(d, cap) >> 8) & 0xfc) {
		uint32_t hdr = vdev_cfg_read(d, cap), off = vdev_cfg_read(d, cap + 8);
		unsigned type = (hdr >> 24) & 0xff, barno = vdev_cfg_read(d, cap + 4) & 0xff;

		if ((hdr & 0xff) != 0x09)
			continue;
		bar = vdev_cfg_read(d, 0x10 + 4 * barno) & ~0xfu;
		if (type == 1)
			d->common = bar + off;
		else if (type == 2) {
			d->notify = bar + off;
			d->notify_mult = vdev_cfg_read(d, cap + 16);
		} else if (type == 3)
			d->isr = bar + off;
		else if (type == 4)
			d->device = bar + off;
	}
	if (!d->common || !d->notify || !d->device || !d->isr)
		return vdev_fail(d, "virtio capabilities missing");
	return 0;
}

/* MSI-X table entries 1..n (as far as the table goes) -> vec on APIC 0;
 * entry 0 (config) stays masked. */
static int vdev_msix(struct vdev *d, unsigned n, unsigned vec)
{
	unsigned cap = vdev_cfg_read(d, 0x34) & 0xfc;
	uintptr_t table;

	while (cap && (vdev_cfg_read(d, cap) & 0xff) != 0x11)
		cap = (vdev_cfg_read(d, cap) >> 8) & 0xfc;
	if (cap == 0)
		return vdev_fail(d, "no MSI-X capability");
	table = (vdev_cfg_read(d, 0x10 + 4 * (vdev_cfg_read(d, cap + 4) & 7)) & ~0xfu) +
		(vdev_cfg_read(d, cap + 4) & ~7u);
	if (n > ((vdev_cfg_read(d, cap) >> 16) & 0x7ff))	/* table size - 1 */
		n = (vdev_cfg_read(d, cap) >> 16) & 0x7ff;
	for (unsigned e = 1; e <= n; e++) {
		mmio_write32(table + 16 * e + 0, 0xfee00000);
		mmio_write32(table + 16 * e + 4, 0);
		mmio_write32(table + 16 * e + 8, vec);
		mmio_write32(table + 16 * e + 12, 0);
	}
	vdev_cfg_write(d, cap, vdev_cfg_read(d, cap) | 0x80000000u);
	return 0;
}

/* INTA -> vec instead of MSI-X: the GSI from the interrupt line register
 * (what the firmware would have told the driver), routed in the IOAPIC
 * level-triggered and active low as the DSDT's _PRT says; the handler
 * reads (and so clears) the ISR status.  Queues then take vector 0xffff. */
#define IOAPIC		0xfec00000u
#define IOAPIC_LEVEL	(1u << 15)
#define IOAPIC_LOW	(1u << 13)

static __attribute__((unused)) int vdev_intx(struct vdev *d, unsigned vec)
{
	uint32_t r = vdev_cfg_read(d, 0x3c);
	unsigned line = r & 0xff, pin = (r >> 8) & 0xff;

	if (pin != 1 || line < 16 || line > 23)
		return vdev_fail(d, "no INTA routed to an IOAPIC GSI");
	puts(d->name); puts(": INTA on GSI "); put_dec(line); putc('\n');
	mmio_write32(IOAPIC, 0x10 + 2 * line + 1);
	mmio_write32(IOAPIC + 0x10, 0);			/* APIC id 0 */
	mmio_write32(IOAPIC, 0x10 + 2 * line);
	mmio_write32(IOAPIC + 0x10, vec | IOAPIC_LEVEL | IOAPIC_LOW);
	vdev_intx_dev = d;
	return 0;
}

/* Reset, ACK, DRIVER, read the 64 feature bits, accept *want_lo of the
 * low half (updated to what was offered) and VERSION_1, FEATURES_OK. */
static int vdev_negotiate(struct vdev *d, uint32_t *want_lo)
{
	uint32_t lo, hi;

	wr8(d->common + CC_STATUS, 0);
	if (rd8(d->common + CC_STATUS) != 0)
		return vdev_fail(d, "reset did not read back 0");
	wr8(d->common + CC_STATUS, S_ACK);
	wr8(d->common + CC_STATUS, S_ACK | S_DRIVER);
	mmio_write32(d->common + CC_DFSELECT, 0);
	lo = mmio_read32(d->common + CC_DF);
	mmio_write32(d->common + CC_DFSELECT, 1);
	hi = mmio_read32(d->common + CC_DF);
	puts(d->name); puts(": device features "); put_hex(hi, 8); put_hex(lo, 8);
	putc('\n');
	if (!(hi & 1))
		return vdev_fail(d, "no VIRTIO_F_VERSION_1");
	*want_lo &= lo;
	mmio_write32(d->common + CC_GFSELECT, 0);
	mmio_write32(d->common + CC_GF, *want_lo);
	mmio_write32(d->common + CC_GFSELECT, 1);
	mmio_write32(d->common + CC_GF, 1);		/* VERSION_1 */
	wr8(d->common + CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd8(d->common + CC_STATUS) & S_FEATURES_OK))
		return vdev_fail(d, "FEATURES_OK not accepted");
	return 0;
}

/* Queue index with size entries on MSI-X table entry vector. */
static int vdev_queue(struct vdev *d, unsigned index, struct vqueue *q,
		      uint16_t size, uint16_t vector)
{
	wr16(d->common + CC_Q_SELECT, (uint16_t)index);
	if (rd16(d->common + CC_Q_SIZE) < size || size > VQ_MAX)
		return vdev_fail(d, "queue too small");
	wr16(d->common + CC_Q_SIZE, size);
	wr16(d->common + CC_MSIX, 0xffff);
	wr16(d->common + CC_Q_MSIX, vector);
	if (rd16(d->common + CC_Q_MSIX) != vector)
		return vdev_fail(d, "queue MSI-X vector not taken");
	wr64(d->common + CC_Q_DESC, (uintptr_t)q->desc);
	wr64(d->common + CC_Q_AVAIL, (uintptr_t)&q->avail);
	wr64(d->common + CC_Q_USED, (uintptr_t)&q->used);
	q->notify = d->notify + (uintptr_t)rd16(d->common + CC_Q_NOFF) * d->notify_mult;
	q->size = size;
	wr16(d->common + CC_Q_ENABLE, 1);
	return 0;
}

static int vdev_driver_ok(struct vdev *d)
{
	wr8(d->common + CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	if (rd8(d->common + CC_STATUS) & S_NEEDS_RESET)
		return vdev_fail(d, "device needs reset after DRIVER_OK");
	return 0;
}

/* Make descriptor head available and ring the doorbell. */
static void vq_push(struct vqueue *q, uint16_t head)
{
	q->avail.ring[q->avail.idx % q->size] = head;
	__asm__ volatile("mfence" ::: "memory");
	q->avail.idx++;
	__asm__ volatile("mfence" ::: "memory");
	wr16(q->notify, 0);
}

#endif

/* A minimal virtio-pci (modern) block driver: find the 1af4:1042 function
 * on bus 0, walk its virtio capabilities, do the virtio 1.x start-up
 * sequence, set up one split queue with an MSI-X vector, write 16
 * sectors with a pattern, flush, read them back and compare.
 *
 * Each sector s (from BLK_SECTOR) starts with "MICA-VIRTIO-BLK sector NN\n"
 * and is filled with (s * 7 + i) & 0xff after it, so the host can check
 * the image.  Completions are waited for with hlt: only the MSI-X
 * interrupt (the back-end's call eventfd as an irqfd) wakes the guest.
 *
 * With "loop" on the command line it then writes and reads back the same
 * sectors ROUNDS more times, printing "round N" every 50, so a test can
 * kill and restart the back-end under it.  With "walk" instead, round r
 * writes the 16 sectors at BLK_SECTOR + r * WALK_STRIDE, each stamped
 * with r in its last 4 bytes, and reads them back, flushing every 10
 * rounds: every round allocates (a new 64 KiB qcow2 cluster), and every
 * round must be on the disk afterwards (tests/runner/check-walk.py), even
 * when the back-end lost unflushed metadata in between. */
#include "guest.h"

#define VIRTIO_VENDOR	0x1af4
#define VIRTIO_BLK_ID	0x1042
#define LAPIC		0xfee00000u
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define VEC_QUEUE	0x42

#define BLK_SECTOR	8		/* first sector written */
#define BLK_COUNT	16
#define QSIZE		16
#define ROUNDS		300
#define WALK_STRIDE	128		/* sectors: one 64 KiB cluster */

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_F_FLUSH	9

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

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct desc ring_desc[QSIZE] __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx, ring[QSIZE], used_event;
} ring_avail __attribute__((aligned(4096)));
static volatile struct {
	uint16_t flags, idx;
	struct { uint32_t id, len; } ring[QSIZE];
	uint16_t avail_event;
} ring_used __attribute__((aligned(4096)));

static uint8_t wbuf[BLK_COUNT * 512] __attribute__((aligned(4096)));
static uint8_t rbuf[BLK_COUNT * 512] __attribute__((aligned(4096)));
static struct blk_req req;
static volatile uint8_t req_status;

static unsigned slot;
static uintptr_t common, notify, device;
static uint32_t notify_mult;
static volatile uint32_t queue_irqs, unexpected;

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));
static struct idt_gate idt[256] __attribute__((aligned(8)));

void on_queue(void);
void on_unexpected(void);
extern char isr_queue[], isr_default[];

#define ISR(name, fn) \
	#name ":\n" \
	"push %rax; push %rcx; push %rdx; push %rsi; push %rdi\n" \
	"push %r8; push %r9; push %r10; push %r11\n" \
	"cld; call " #fn "\n" \
	"pop %r11; pop %r10; pop %r9; pop %r8\n" \
	"pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rax\n" \
	"iretq\n"

__asm__(".text\n" ISR(isr_queue, on_queue) ISR(isr_default, on_unexpected));

void on_queue(void)
{
	queue_irqs++;
	mmio_write32(LAPIC + LAPIC_EOI, 0);
}

void on_unexpected(void)
{
	unexpected++;
}

static void idt_setup(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr =
		{ sizeof(idt) - 1, (uintptr_t)idt };
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (unsigned v = 0; v < 256; v++) {
		uint64_t a = (uintptr_t)(v == VEC_QUEUE ? isr_queue : isr_default);

		idt[v] = (struct idt_gate){ (uint16_t)a, cs, 0, 0x8e,
					    (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0 };
	}
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

static uint32_t cfg_read(unsigned off)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	return inl(0xcfc);
}

static void cfg_write(unsigned off, uint32_t v)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	outl(0xcfc, v);
}

static uint8_t rd8(uintptr_t a) { return *(volatile uint8_t *)a; }
static uint16_t rd16(uintptr_t a) { return *(volatile uint16_t *)a; }
static void wr8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static void wr16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }

static void wr64(uintptr_t a, uint64_t v)
{
	mmio_write32(a, (uint32_t)v);
	mmio_write32(a + 4, (uint32_t)(v >> 32));
}

static int fail(const char *why)
{
	puts("virtio-blk: FAIL: ");
	puts(why);
	putc('\n');
	return 1;
}

/* Find the function and its common/notify/device structures (BAR0). */
static int find_device(void)
{
	uint32_t bar, cap;

	for (slot = 0; slot < 32; slot++)
		if (cfg_read(0) == (VIRTIO_BLK_ID << 16 | VIRTIO_VENDOR))
			break;
	if (slot == 32)
		return fail("no 1af4:1042 function on bus 0");
	puts("virtio-blk: 00:"); put_hex(slot, 2); puts(".0 1af4:1042\n");
	cfg_write(0x04, cfg_read(0x04) | 0x6);		/* memory, bus master */
	for (cap = cfg_read(0x34) & 0xfc; cap != 0; cap = (cfg_read(cap) >> 8) & 0xfc) {
		uint32_t hdr = cfg_read(cap), off = cfg_read(cap + 8);
		unsigned type = (hdr >> 24) & 0xff, barno = cfg_read(cap + 4) & 0xff;

		if ((hdr & 0xff) != 0x09)
			continue;
		bar = cfg_read(0x10 + 4 * barno) & ~0xfu;
		if (type == 1)
			common = bar + off;
		else if (type == 2) {
			notify = bar + off;
			notify_mult = cfg_read(cap + 16);
		} else if (type == 4)
			device = bar + off;
	}
	if (!common || !notify || !device)
		return fail("virtio capabilities missing");
	return 0;
}

/* MSI-X vector 1 -> VEC_QUEUE on APIC 0; vector 0 (config) stays masked. */
static int msix_setup(void)
{
	unsigned cap = cfg_read(0x34) & 0xfc;
	uintptr_t table;

	while (cap && (cfg_read(cap) & 0xff) != 0x11)
		cap = (cfg_read(cap) >> 8) & 0xfc;
	if (cap == 0)
		return fail("no MSI-X capability");
	table = (cfg_read(0x10 + 4 * (cfg_read(cap + 4) & 7)) & ~0xfu) +
		(cfg_read(cap + 4) & ~7u);
	mmio_write32(table + 16 + 0, 0xfee00000);
	mmio_write32(table + 16 + 4, 0);
	mmio_write32(table + 16 + 8, VEC_QUEUE);
	mmio_write32(table + 16 + 12, 0);
	cfg_write(cap, cfg_read(cap) | 0x80000000u);
	return 0;
}

static int negotiate(uint32_t *features_lo)
{
	uint32_t hi;

	wr8(common + CC_STATUS, 0);
	if (rd8(common + CC_STATUS) != 0)
		return fail("reset did not read back 0");
	wr8(common + CC_STATUS, S_ACK);
	wr8(common + CC_STATUS, S_ACK | S_DRIVER);
	mmio_write32(common + CC_DFSELECT, 0);
	*features_lo = mmio_read32(common + CC_DF);
	mmio_write32(common + CC_DFSELECT, 1);
	hi = mmio_read32(common + CC_DF);
	puts("virtio-blk: device features "); put_hex(hi, 8); put_hex(*features_lo, 8);
	putc('\n');
	if (!(hi & 1))
		return fail("no VIRTIO_F_VERSION_1");
	*features_lo &= 1u << VIRTIO_BLK_F_FLUSH;
	mmio_write32(common + CC_GFSELECT, 0);
	mmio_write32(common + CC_GF, *features_lo);
	mmio_write32(common + CC_GFSELECT, 1);
	mmio_write32(common + CC_GF, 1);		/* VERSION_1 */
	wr8(common + CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd8(common + CC_STATUS) & S_FEATURES_OK))
		return fail("FEATURES_OK not accepted");
	return 0;
}

static int queue_setup(void)
{
	uint16_t max;

	wr16(common + CC_Q_SELECT, 0);
	max = rd16(common + CC_Q_SIZE);
	if (max < QSIZE)
		return fail("queue 0 too small");
	wr16(common + CC_Q_SIZE, QSIZE);
	wr16(common + CC_MSIX, 0xffff);
	wr16(common + CC_Q_MSIX, 1);
	if (rd16(common + CC_Q_MSIX) != 1)
		return fail("queue MSI-X vector not taken");
	wr64(common + CC_Q_DESC, (uintptr_t)ring_desc);
	wr64(common + CC_Q_AVAIL, (uintptr_t)&ring_avail);
	wr64(common + CC_Q_USED, (uintptr_t)&ring_used);
	notify += (uintptr_t)rd16(common + CC_Q_NOFF) * notify_mult;
	wr16(common + CC_Q_ENABLE, 1);
	wr8(common + CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	if (rd8(common + CC_STATUS) & 0x40)
		return fail("device needs reset after DRIVER_OK");
	return 0;
}

/* One request: header, optional data, status; wait for its completion
 * by interrupt.  Returns the status byte (0 = OK). */
static int blk_request(uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
	uint16_t used_before = ring_used.idx, n = 0;

	req = (struct blk_req){ type, 0, sector };
	req_status = 0xff;
	ring_desc[n] = (struct desc){ (uintptr_t)&req, sizeof(req), 1, 1 };
	n++;
	if (len != 0) {
		ring_desc[n] = (struct desc){ (uintptr_t)buf, len,
			(uint16_t)(1 | (type == VIRTIO_BLK_T_IN ? 2 : 0)), 2 };
		n++;
	}
	ring_desc[n - 1].next = n;
	ring_desc[n] = (struct desc){ (uintptr_t)&req_status, 1, 2, 0 };
	ring_avail.ring[ring_avail.idx % QSIZE] = 0;
	__asm__ volatile("mfence" ::: "memory");
	ring_avail.idx++;
	__asm__ volatile("mfence" ::: "memory");
	wr16(notify, 0);				/* doorbell */
	while (ring_used.idx == used_before)
		__asm__ volatile("sti; hlt; cli");
	return req_status;
}

static void fill_pattern(void)
{
	for (unsigned s = 0; s < BLK_COUNT; s++) {
		uint8_t *p = wbuf + 512 * s;
		const char *tag = "MICA-VIRTIO-BLK sector ";
		unsigned i = 0, sec = BLK_SECTOR + s;

		for (; tag[i]; i++)
			p[i] = (uint8_t)tag[i];
		p[i++] = (uint8_t)('0' + sec / 10);
		p[i++] = (uint8_t)('0' + sec % 10);
		p[i++] = '\n';
		for (; i < 512; i++)
			p[i] = (uint8_t)(sec * 7 + i);
	}
}

static int has_word(const void *boot_params, const char *word)
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

/* Write, read back and compare the sectors again and again. */
static int loop_rounds(void)
{
	for (unsigned r = 1; r <= ROUNDS; r++) {
		for (unsigned i = 0; i < sizeof(rbuf); i++)
			rbuf[i] = 0;
		if (blk_request(VIRTIO_BLK_T_OUT, BLK_SECTOR, wbuf, sizeof(wbuf)) != 0)
			return fail("write failed in the loop");
		if (blk_request(VIRTIO_BLK_T_IN, BLK_SECTOR, rbuf, sizeof(rbuf)) != 0)
			return fail("read failed in the loop");
		for (unsigned i = 0; i < sizeof(rbuf); i++)
			if (rbuf[i] != wbuf[i])
				return fail("read back differs in the loop");
		if (r % 50 == 0) {
			puts("round "); put_dec(r); putc('\n');
		}
	}
	puts("virtio-blk: "); put_dec(ROUNDS); puts(" rounds verified\n");
	return 0;
}

/* Each round somewhere new, stamped, read back; a flush every 10. */
static int walk_rounds(void)
{
	for (unsigned r = 1; r <= ROUNDS; r++) {
		uint64_t sector = BLK_SECTOR + (uint64_t)r * WALK_STRIDE;

		for (unsigned s = 0; s < BLK_COUNT; s++)
			for (unsigned b = 0; b < 4; b++)
				wbuf[512 * s + 508 + b] = (uint8_t)(r >> (8 * b));
		for (unsigned i = 0; i < sizeof(rbuf); i++)
			rbuf[i] = 0;
		if (blk_request(VIRTIO_BLK_T_OUT, sector, wbuf, sizeof(wbuf)) != 0)
			return fail("write failed in the walk");
		if (r % 10 == 0 && blk_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0) != 0)
			return fail("flush failed in the walk");
		if (blk_request(VIRTIO_BLK_T_IN, sector, rbuf, sizeof(rbuf)) != 0)
			return fail("read failed in the walk");
		for (unsigned i = 0; i < sizeof(rbuf); i++)
			if (rbuf[i] != wbuf[i])
				return fail("read back differs in the walk");
		if (r % 50 == 0) {
			puts("round "); put_dec(r); putc('\n');
		}
	}
	puts("virtio-blk: "); put_dec(ROUNDS); puts(" walk rounds verified\n");
	return 0;
}

int guest_main(const void *start_info)
{
	uint32_t features, cap_lo, cap_hi;
	int st;

	uart_init();
	outb(0x21, 0xff);			/* 8259s masked */
	outb(0xa1, 0xff);
	idt_setup();
	mmio_write32(LAPIC + LAPIC_SVR, 0x1ff);
	if (find_device() || msix_setup() || negotiate(&features))
		return 1;
	cap_lo = mmio_read32(device);
	cap_hi = mmio_read32(device + 4);
	puts("virtio-blk: capacity "); put_dec(cap_lo); puts(" sectors\n");
	if (cap_hi == 0 && cap_lo < BLK_SECTOR + BLK_COUNT)
		return fail("disk too small");
	if (queue_setup())
		return 1;
	fill_pattern();
	st = blk_request(VIRTIO_BLK_T_OUT, BLK_SECTOR, wbuf, sizeof(wbuf));
	if (st != 0)
		return fail("write failed");
	puts("virtio-blk: wrote 16 sectors\n");
	if (features & (1u << VIRTIO_BLK_F_FLUSH)) {
		if (blk_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0) != 0)
			return fail("flush failed");
		puts("virtio-blk: flushed\n");
	}
	st = blk_request(VIRTIO_BLK_T_IN, BLK_SECTOR, rbuf, sizeof(rbuf));
	if (st != 0)
		return fail("read failed");
	for (unsigned i = 0; i < sizeof(rbuf); i++)
		if (rbuf[i] != wbuf[i])
			return fail("read back differs");
	puts("virtio-blk: read back 16 sectors, pattern verified\n");
	puts("virtio-blk: "); put_dec(queue_irqs); puts(" MSI-X interrupts\n");
	if (queue_irqs == 0 || unexpected)
		return fail("interrupts");
	if (has_word(start_info, "loop") && loop_rounds())
		return 1;
	if (has_word(start_info, "walk")) {
		if (cap_hi == 0 && cap_lo < BLK_SECTOR + (ROUNDS + 1) * WALK_STRIDE)
			return fail("disk too small for the walk");
		if (walk_rounds())
			return 1;
	}
	wr8(common + CC_STATUS, 0);		/* reset: the back-end stops */
	puts("virtio-blk: ok\n");
	return 0;
}

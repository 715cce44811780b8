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
 * when the back-end lost unflushed metadata in between.
 *
 * With "intx" it leaves MSI-X off and takes the queue's interrupts on
 * INTA instead (vdev_intx).
 *
 * With "high" the data buffers lie at 5 GiB (RAM above the PCI hole, the
 * second region of the back-end's memory table). */
#include "virtio.h"

#define VIRTIO_BLK_ID	0x1042
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

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct vqueue vq;
#define BUF_SIZE	(BLK_COUNT * 512)
#define HIGH_BUFS	(5ULL << 30)	/* "high": data buffers at 5 GiB */
static uint8_t low_wbuf[BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t low_rbuf[BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t *wbuf = low_wbuf, *rbuf = low_rbuf;
static struct blk_req req;
static volatile uint8_t req_status;
static struct vdev blk = { .name = "virtio-blk" };

static int fail(const char *why)
{
	return vdev_fail(&blk, why);
}

/* One request: header, optional data, status; wait for its completion
 * by interrupt.  Returns the status byte (0 = OK). */
static int blk_request(uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
	uint16_t used_before = vq.used.idx, n = 0;

	req = (struct blk_req){ type, 0, sector };
	req_status = 0xff;
	vq.desc[n] = (struct vdesc){ (uintptr_t)&req, sizeof(req), VRING_DESC_F_NEXT, 1 };
	n++;
	if (len != 0) {
		vq.desc[n] = (struct vdesc){ (uintptr_t)buf, len, (uint16_t)(VRING_DESC_F_NEXT |
			(type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0)), 2 };
		n++;
	}
	vq.desc[n - 1].next = n;
	vq.desc[n] = (struct vdesc){ (uintptr_t)&req_status, 1, VRING_DESC_F_WRITE, 0 };
	vq_push(&vq, 0);				/* doorbell */
	while (vq.used.idx == used_before)
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

/* Write, read back and compare the sectors again and again. */
static int loop_rounds(void)
{
	for (unsigned r = 1; r <= ROUNDS; r++) {
		for (unsigned i = 0; i < BUF_SIZE; i++)
			rbuf[i] = 0;
		if (blk_request(VIRTIO_BLK_T_OUT, BLK_SECTOR, wbuf, BUF_SIZE) != 0)
			return fail("write failed in the loop");
		if (blk_request(VIRTIO_BLK_T_IN, BLK_SECTOR, rbuf, BUF_SIZE) != 0)
			return fail("read failed in the loop");
		for (unsigned i = 0; i < BUF_SIZE; i++)
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
		for (unsigned i = 0; i < BUF_SIZE; i++)
			rbuf[i] = 0;
		if (blk_request(VIRTIO_BLK_T_OUT, sector, wbuf, BUF_SIZE) != 0)
			return fail("write failed in the walk");
		if (r % 10 == 0 && blk_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0) != 0)
			return fail("flush failed in the walk");
		if (blk_request(VIRTIO_BLK_T_IN, sector, rbuf, BUF_SIZE) != 0)
			return fail("read failed in the walk");
		for (unsigned i = 0; i < BUF_SIZE; i++)
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
	uint32_t features = 1u << VIRTIO_BLK_F_FLUSH, cap_lo, cap_hi;
	int intx, st;

	uart_init();
	vdev_interrupts_init(VEC_QUEUE);
	intx = cmdline_has(start_info, "intx");
	if (cmdline_has(start_info, "high")) {
		if (map_above_4g(HIGH_BUFS + 2 * BUF_SIZE) < 0)
			return fail("cannot map the buffers at 5 GiB");
		wbuf = (uint8_t *)(uintptr_t)HIGH_BUFS;
		rbuf = wbuf + BUF_SIZE;
		puts("virtio-blk: data buffers at 5 GiB\n");
	}
	if (vdev_find(&blk, VIRTIO_BLK_ID) ||
	    (intx ? vdev_intx(&blk, VEC_QUEUE) : vdev_msix(&blk, 1, VEC_QUEUE)) ||
	    vdev_negotiate(&blk, &features))
		return 1;
	cap_lo = mmio_read32(blk.device);
	cap_hi = mmio_read32(blk.device + 4);
	puts("virtio-blk: capacity "); put_dec(cap_lo); puts(" sectors\n");
	if (cap_hi == 0 && cap_lo < BLK_SECTOR + BLK_COUNT)
		return fail("disk too small");
	if (vdev_queue(&blk, 0, &vq, QSIZE, intx ? 0xffff : 1) || vdev_driver_ok(&blk))
		return 1;
	fill_pattern();
	st = blk_request(VIRTIO_BLK_T_OUT, BLK_SECTOR, wbuf, BUF_SIZE);
	if (st != 0)
		return fail("write failed");
	puts("virtio-blk: wrote 16 sectors\n");
	if (features & (1u << VIRTIO_BLK_F_FLUSH)) {
		if (blk_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0) != 0)
			return fail("flush failed");
		puts("virtio-blk: flushed\n");
	}
	st = blk_request(VIRTIO_BLK_T_IN, BLK_SECTOR, rbuf, BUF_SIZE);
	if (st != 0)
		return fail("read failed");
	for (unsigned i = 0; i < BUF_SIZE; i++)
		if (rbuf[i] != wbuf[i])
			return fail("read back differs");
	puts("virtio-blk: read back 16 sectors, pattern verified\n");
	puts("virtio-blk: "); put_dec(vdev_irqs);
	puts(intx ? " INTx interrupts, " : " MSI-X interrupts\n");
	if (intx) {
		put_dec(vdev_isr_empty);
		puts(" with ISR clear\n");
		if (rd8(blk.isr) != 0)
			return fail("ISR not cleared by reading it");
	}
	if (vdev_irqs == 0 || vdev_unexpected)
		return fail("interrupts");
	if (cmdline_has(start_info, "loop") && loop_rounds())
		return 1;
	if (cmdline_has(start_info, "walk")) {
		if (cap_hi == 0 && cap_lo < BLK_SECTOR + (ROUNDS + 1) * WALK_STRIDE)
			return fail("disk too small for the walk");
		if (walk_rounds())
			return 1;
	}
	wr8(blk.common + CC_STATUS, 0);		/* reset: the back-end stops */
	puts("virtio-blk: ok\n");
	return 0;
}

/* libFuzzer harness over mica-net's descriptor and frame handling: the
 * input is guest memory (rings, descriptors, headers, control commands)
 * plus frames a fake backend hands over, and a byte of choices (split or
 * packed, a backend that is full) and two of negotiated features.  The transmit,
 * receive and control handlers run over it as a kick would run them. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dev-virtio-net/virtio_net.h"
#include "ipc/log.h"

#define MEM_SIZE  (64 * 1024)
#define QSIZE     16
#define IMAGE_MAX 3072      /* the three queues' ring areas */

static uint8_t mem[MEM_SIZE] __attribute__((aligned(64)));
static const uint8_t *frames;
static size_t frames_len;
static bool be_full;

static uint64_t fake_offloads(struct netbe *be)
{
	return (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
	       (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
	       (1ULL << VIRTIO_NET_F_HOST_UFO) | (1ULL << VIRTIO_NET_F_HOST_ECN) |
	       (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
	       (1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_UFO) |
	       (1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
}

/* The features data[1..2] switch on, one input bit each: every offload
 * the transmit checks and the control queue look at, indirect tables,
 * and VERSION_1 (without it and MRG_RXBUF: the legacy 10-byte header). */
static const uint8_t fuzz_feature_bits[16] = {
	VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
	VIRTIO_NET_F_MTU, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
	VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_TSO4,
	VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_HOST_UFO,
	VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_NET_F_STATUS,
	VIRTIO_F_VERSION_1,
};

static int fake_send(struct netbe *be, unsigned pair, const struct tap_tx *f, unsigned n)
{
	/* Touch every byte, as a TAP write would. */
	volatile uint8_t sink = 0;

	if (be_full)
		return 0;
	for (unsigned i = 0; i < n; i++)
		for (int k = 0; k < f[i].iovcnt; k++)
			for (size_t b = 0; b < f[i].iov[k].iov_len; b++)
				sink ^= ((const uint8_t *)f[i].iov[k].iov_base)[b];
	(void)sink;
	return n > 0 && (f[0].hdr->gso_size & 1) ? -EINVAL : (int)n;
}

static int fake_recv(struct netbe *be, unsigned pair, struct tap_rx *bufs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n && frames_len >= 2; i++) {
		size_t len = frames[0] | (size_t)frames[1] << 8, room = bufs[i].iov[0].iov_len;

		frames += 2;
		frames_len -= 2;
		if (len > frames_len)
			len = frames_len;
		if (len > room)
			len = room;
		memcpy(bufs[i].iov[0].iov_base, frames, len);
		bufs[i].len = len;
		bufs[i].truncated = 0;
		frames += len;
		frames_len -= len;
	}
	return (int)i;
}

static int fake_fd(struct netbe *be, unsigned pair)
{
	return -1;
}

static int fake_set_offload(struct netbe *be, uint64_t features)
{
	return 0;
}

static const struct netbe_ops fake_ops = {
	.name = "fuzz",
	.offload_features = fake_offloads,
	.send = fake_send,
	.recv = fake_recv,
	.rx_fd = fake_fd,
	.tx_fd = fake_fd,
	.set_offload = fake_set_offload,
};

static struct netbe fake_be = { .ops = &fake_ops, .npairs = 1 };
static struct vnet_dev dev;

static void setup_queue(unsigned qi, bool packed)
{
	struct vu_queue *q = &dev.vu.q[qi];
	uint8_t *base = mem + qi * 1024;

	memset(&q->vq, 0, sizeof(q->vq));
	if (packed)
		vq_init_packed(&q->vq, &dev.vu.mem, QSIZE, base, base + 256, base + 320,
			       dev.vu.features);
	else
		vq_init_split(&q->vq, &dev.vu.mem, QSIZE, base, base + 256, base + 512,
			      dev.vu.features);
	vq_set_base(&q->vq, packed ? 0x8000 : 0);
	q->num = QSIZE;
	q->started = q->enabled = true;
	q->kick_fd = q->call_fd = q->err_fd = -1;
	q->err_signalled = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool inited;
	static int sv[2];
	uint8_t choice;
	size_t image;

	if (size < 3)
		return 0;
	if (!inited) {
		uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 1 };

		log_quiet(true);
		if (vnet_init(&dev, &fake_be, mac, 1500) < 0 ||
		    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			abort();
		vnet_serve(&dev, NULL, sv[0]);
		gmem_add_host(&dev.vu.mem, mem, 0, MEM_SIZE, 0);
		inited = true;
	}
	choice = data[0];
	be_full = choice & 0x08;
	dev.vu.features = (1ULL << VIRTIO_NET_F_CTRL_VQ) | (1ULL << VIRTIO_NET_F_CTRL_RX);
	for (unsigned b = 0; b < 16; b++) {
		if ((data[1] | data[2] << 8) & (1u << b))
			dev.vu.features |= 1ULL << fuzz_feature_bits[b];
	}
	dev.vu.features &= dev.vu_ops.features;
	if (choice & 0x10)
		dev.vu.features |= 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	if (choice & 0x20)
		dev.vu.features |= dev.vu_ops.features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	if (choice & 0x01)
		dev.vu.features |= 1ULL << VIRTIO_F_RING_PACKED;
	else
		dev.vu.features &= ~(1ULL << VIRTIO_F_RING_PACKED);
	data += 3;
	size -= 3;
	image = size < IMAGE_MAX ? size : IMAGE_MAX;
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data, image);
	/* The rest of the image repeats over memory: data for the buffers. */
	for (size_t off = IMAGE_MAX; image > 0 && off + image <= MEM_SIZE; off += image)
		memcpy(mem + off, data, image);
	frames = data + image;
	frames_len = size - image;
	for (unsigned qi = 0; qi < 3; qi++)
		setup_queue(qi, choice & 0x01);
	dev.pair[0].rx.count = dev.pair[0].rx.head = 0;
	dev.pair[0].tx_count = dev.pair[0].tx_sent = 0;
	dev.pair[0].tx_blocked = false;
	dev.offloads_valid = false;

	vnet_queue_kick(&dev.vu, 1);          /* transmit */
	vnet_queue_kick(&dev.vu, 2);          /* control */
	vnet_queue_kick(&dev.vu, 0);          /* receive */
	be_full = false;
	vnet_rx_ready(&dev, 0);
	vnet_queue_kick(&dev.vu, 1);
	return 0;
}

/* libFuzzer harness for the vhost-user back-end's message handling: the
 * input is a stream of front-end messages written into a socket pair and
 * dispatched one by one by a vu_dev with a two-queue device behind it.
 * Rings can be set up against a small in-process memory region (added
 * directly, since SET_MEM_TABLE needs fds the fuzzer cannot send). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static uint8_t guest[65536] __attribute__((aligned(4096)));

static int config(struct vu_dev *dev, uint32_t off, uint8_t *buf, uint32_t len)
{
	memset(buf, 0x42, len);
	return 0;
}

static void kick(struct vu_dev *dev, unsigned q)
{
	static struct vq_elem elem;

	while (vq_pop(&dev->q[q].vq, &elem) == 1)
		vq_push(&dev->q[q].vq, &elem, 0);
}

static const struct vu_dev_ops ops = {
	.name = "fuzz",
	.features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_PACKED) |
		    (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC),
	.protocol_features = (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			     (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |
			     (1ULL << VHOST_USER_PROTOCOL_F_MQ),
	.num_queues = 2,
	.get_config = config,
	.queue_kick = kick,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (getenv("MICA_FUZZ_VERBOSE") == NULL)
		log_quiet(true);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vu_dev dev;
	int sp[2];
	char drain[4096];

	if (size > 60000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return 0;
	if (write(sp[0], data, size) != (ssize_t)size) {
		close(sp[0]);
		close(sp[1]);
		return 0;
	}
	shutdown(sp[0], SHUT_WR);
	vu_dev_attach(&dev, NULL, sp[1], &ops, NULL);
	/* Guest and front-end addresses both start at 0, so fuzzed ring
	 * addresses below 64 KiB land in memory. */
	gmem_add_host(&dev.mem, guest, 0, sizeof(guest), 0);
	for (int i = 0; i < 256; i++) {
		if (vu_dev_dispatch(&dev) < 0)
			break;
		/* Replies go to sp[0]; keep the buffer from filling up. */
		while (recv(sp[0], drain, sizeof(drain), MSG_DONTWAIT) > 0)
			;
	}
	dev.ops = &ops;
	vu_dev_detach(&dev);   /* closes sp[1]; the memory region is ours, not unmapped */
	close(sp[0]);
	return 0;
}

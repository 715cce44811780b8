/* libFuzzer harness over descriptor chains.  Input: byte 0 picks split or
 * packed and the feature bits; the rest becomes the ring area and the
 * start of a 64 KiB guest memory.  Every element popped must lie inside
 * guest memory; pushes go back into the same memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "virtq.h"

#define GPA   0x10000ULL
#define SIZE  65536
#define QSIZE 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mem[SIZE] __attribute__((aligned(64)));
	static struct vq_elem elem;
	struct gmem gm = { .n = 0 };
	struct virtq vq;
	uint64_t features = 0;
	bool packed;

	if (size < 1)
		return 0;
	packed = data[0] & 1;
	if (data[0] & 2)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[0] & 4)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data + 1, size - 1 < SIZE ? size - 1 : SIZE);
	gmem_add_host(&gm, mem, GPA, SIZE, 0);
	if (packed)
		vq_init_packed(&vq, &gm, QSIZE, mem, mem + 256, mem + 320, features);
	else
		vq_init_split(&vq, &gm, QSIZE, mem, mem + 128, mem + 192, features);
	for (int i = 0; i < 3 * QSIZE; i++) {
		if (vq_pop(&vq, &elem) != 1)
			break;
		for (unsigned k = 0; k < elem.nout + elem.nin; k++) {
			uint8_t *p = elem.iov[k].iov_base;

			if (p < mem || p + elem.iov[k].iov_len > mem + SIZE)
				abort();
			if (k >= elem.nout && elem.iov[k].iov_len > 0)
				p[elem.iov[k].iov_len - 1] ^= 1;   /* write where allowed */
		}
		vq_push(&vq, &elem, (uint32_t)elem.in_len);
		vq_should_notify(&vq);
	}
	return 0;
}

/* Keep the fuzzer's output readable: the queue logs every break. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (getenv("MICA_FUZZ_VERBOSE") == NULL)
		log_quiet(true);
	return 0;
}

/* Device side of a virtqueue, split or packed, over guest memory.
 *
 * Every index, length and address the guest controls is checked: a
 * descriptor chain that points outside guest memory, loops, is longer than
 * the ring, mixes device-readable after device-writable buffers, nests
 * indirect tables or moves the avail index by more than the ring size
 * marks the queue broken.  A broken queue logs its reason once, pops
 * nothing more, and the device should then set NEEDS_RESET; nothing is
 * ever read or written outside guest memory.
 *
 * Functions return 0/1 or a negative errno as documented.
 */
#ifndef MICA_VIRTQ_H
#define MICA_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "gmem.h"

#define VQ_MAX_SIZE   32768
#define VQ_MAX_IOV    1024     /* iovecs in one element */

/* Feature bits the queue layer understands. */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_RING_PACKED        34

/* Ring layouts (virtio 1.2, 2.7 and 2.8), little-endian on x86. */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4
#define VRING_PACKED_DESC_F_AVAIL (1 << 7)
#define VRING_PACKED_DESC_F_USED  (1 << 15)

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];          /* then uint16_t used_event */
};
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];   /* then uint16_t avail_event */
};
#define VRING_USED_F_NO_NOTIFY 1

struct vring_packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

struct vring_packed_event {
	uint16_t off_wrap;
	uint16_t flags;
};
#define VRING_PACKED_EVENT_FLAG_ENABLE  0
#define VRING_PACKED_EVENT_FLAG_DISABLE 1
#define VRING_PACKED_EVENT_FLAG_DESC    2

/* Bytes each ring area needs for a queue of num entries. */
size_t vring_split_desc_size(unsigned num);
size_t vring_split_avail_size(unsigned num);
size_t vring_split_used_size(unsigned num);
size_t vring_packed_desc_size(unsigned num);

/* One popped request: iov[0..nout) are device-readable, then nin
 * device-writable buffers. */
struct vq_elem {
	uint16_t id;              /* split: head index; packed: buffer id */
	uint16_t ndesc;           /* ring slots the chain used (packed) */
	unsigned nout, nin;
	uint64_t out_len, in_len;
	struct iovec iov[VQ_MAX_IOV];
};

/* Inflight I/O tracking for split rings (vhost-user.rst, "Inflight I/O
 * tracking"): a region of a buffer the front-end keeps across back-end
 * restarts, recording which heads were popped and not yet used. */
struct vq_inflight_desc {
	uint8_t inflight;
	uint8_t padding[5];
	uint16_t next;
	uint64_t counter;           /* order in which heads were popped */
};

struct vq_inflight_split {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t last_batch_head;
	uint16_t used_idx;
	struct vq_inflight_desc desc[];
};

/* Bytes of one queue's region (64-byte aligned). */
size_t vq_inflight_region_size(uint16_t queue_size);

struct virtq {
	const struct gmem *mem;
	uint16_t size;
	bool packed;
	bool event_idx;
	bool indirect;
	bool broken;
	char why[160];
	/* split */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;      /* next avail slot to read (both layouts) */
	uint16_t used_idx;        /* split: next used idx; packed: next used slot */
	uint16_t signalled_used;
	bool signalled_valid;
	/* packed */
	struct vring_packed_desc *pdesc;
	struct vring_packed_event *driver_event;   /* driver area */
	struct vring_packed_event *device_event;   /* device area */
	bool avail_wrap;
	bool used_wrap;
	/* inflight tracking (split rings only) */
	struct vq_inflight_split *inflight;
	uint64_t inflight_counter;
	uint16_t *resubmit;         /* heads to redo first, in pop order */
	unsigned nresubmit, next_resubmit;
};

/* Set up a queue on rings already translated to host pointers (check
 * their sizes with the helpers above first).  features: the negotiated
 * feature bits.  Returns 0 or -EINVAL (size not a power of two for split,
 * zero, or above VQ_MAX_SIZE).  The queue is overwritten whole: call
 * vq_inflight_detach first on a queue that may have tracking attached. */
int vq_init_split(struct virtq *vq, const struct gmem *mem, uint16_t size,
		  void *desc, void *avail, void *used, uint64_t features);
int vq_init_packed(struct virtq *vq, const struct gmem *mem, uint16_t size,
		   void *desc, void *driver_event, void *device_event, uint64_t features);

/* Where the device resumes (vhost-user SET_VRING_BASE / GET_VRING_BASE).
 * For packed rings bit 15 carries the wrap counter. */
void vq_set_base(struct virtq *vq, uint16_t base);
uint16_t vq_get_base(const struct virtq *vq);

/* Track inflight heads in region r (sized for this queue).  When the
 * region records work an earlier back-end popped and never completed,
 * those heads are popped again first, oldest first, and the avail index
 * resumes after them.  Call after vq_set_base.  0, or -EINVAL for a
 * region that does not fit this queue (tracking then stays off).
 * Allocates the resubmit list: pair with vq_inflight_detach. */
int vq_inflight_attach(struct virtq *vq, struct vq_inflight_split *r);
void vq_inflight_detach(struct virtq *vq);

/* Pop the next request: 1 with *elem filled, 0 when the ring is empty,
 * -EIO when the queue is (or just became) broken. */
int vq_pop(struct virtq *vq, struct vq_elem *elem);

/* Return a request to the driver with len bytes written into its
 * device-writable buffers. */
void vq_push(struct virtq *vq, const struct vq_elem *elem, uint32_t len);

/* After a batch of pushes: should the driver be interrupted? */
bool vq_should_notify(struct virtq *vq);

/* Ask the driver for (or not) notifications of new buffers. */
void vq_enable_notify(struct virtq *vq, bool enable);

#endif

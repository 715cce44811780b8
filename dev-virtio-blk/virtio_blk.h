/* The virtio-blk device behind mica-blk's vhost-user socket.
 *
 * Requests popped from the virtqueues go to a block backend (one small
 * ops table): today a raw image fd (backend_raw.c); the qcow2 and remote
 * formats plug in the same way through blockd.  Functions return 0 or a
 * negative errno. */
#ifndef MICA_VIRTIO_BLK_H
#define MICA_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhost_user.h"

/* virtio-blk feature bits (virtio 1.2, 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_TOPOLOGY     10
#define VIRTIO_BLK_F_CONFIG_WCE   11
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VBLK_SECTOR          512ULL

struct virtio_blk_outhdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

struct virtio_blk_discard_write_zeroes {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;               /* bit 0: unmap (write zeroes) */
};

struct virtio_blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	struct {
		uint16_t cylinders;
		uint8_t heads;
		uint8_t sectors;
	} geometry;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t wce;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));

/* Where the data goes.  Offsets and lengths are in bytes and already
 * checked against the capacity. */
struct vblk_backend_ops {
	const char *name;
	int (*readv)(void *opaque, const struct iovec *iov, int n, uint64_t offset);
	int (*writev)(void *opaque, const struct iovec *iov, int n, uint64_t offset);
	int (*flush)(void *opaque);
	int (*discard)(void *opaque, uint64_t offset, uint64_t len);
	int (*write_zeroes)(void *opaque, uint64_t offset, uint64_t len, bool may_unmap);
	/* Mapped formats (backend_mapped.c): where in the io_uring fd the
	 * whole request lives, or -1 to take the synchronous path. */
	int64_t (*fast)(void *opaque, uint64_t offset, uint64_t len, bool write);
	/* Complete the io_uring requests before a flush, discard or
	 * write-zeroes (they go to another process that syncs metadata). */
	bool drain_first;
};

/* Any op may answer -ENOTCONN: the backend's provider is away; the
 * request waits (vblk_resume retries it) instead of failing. */

/* preadv/pwritev the whole of iov at off in fd (backend_raw.c); reads
 * past the end of the file give zeroes. */
int vblk_fd_rw(int fd, const struct iovec *iov, int n, uint64_t off, bool write);

/* The raw backend on an image fd (backend_raw.c): opaque is the fd. */
extern const struct vblk_backend_ops vblk_raw_ops;
/* Any format of libmica-block (backend_image.c): opaque is the
 * struct blk_image. */
extern const struct vblk_backend_ops vblk_image_ops;

struct vblk_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes, errors;
};

struct vblk_req;
struct vblk_aio;

struct vblk_dev {
	struct vu_dev vu;
	struct vblk_req *reqs, *free_reqs;
	struct vblk_aio *aio;         /* io_uring data path, or NULL: synchronous */
	unsigned starved;             /* queues waiting for a free request */
	unsigned completed;           /* queues with pushes not yet notified */
	bool in_completion;
	bool paused;                  /* the backend's provider is away */
	struct vblk_req *parked, **parked_tail;   /* requests waiting for it */
	struct vu_dev_ops vu_ops;
	const struct vblk_backend_ops *backend;
	void *backend_opaque;
	uint64_t capacity;            /* bytes */
	bool read_only;
	bool writeback;               /* false: flush after every write */
	unsigned num_queues;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct vblk_stats stats;
};

/* Prepare the device; attach it to a front-end with vblk_serve. */
int vblk_init(struct vblk_dev *b, const struct vblk_backend_ops *backend, void *opaque,
		 uint64_t capacity, bool read_only, unsigned num_queues, const char *serial);

/* Send reads and writes of a raw image fd through io_uring on loop.
 * 0, or a negative errno when io_uring is not available (requests then
 * stay synchronous). */
int vblk_enable_uring(struct vblk_dev *b, struct evloop *loop, int fd);

/* The backend's provider is back: retry the parked requests, then the
 * queues. */
void vblk_resume(struct vblk_dev *b);
/* Complete every io_uring request in flight. */
void vblk_drain(struct vblk_dev *b);

/* Serve one connected front-end socket on loop. */
int vblk_serve(struct vblk_dev *b, struct evloop *loop, int sock);

/* Handle one request (exposed for tests); returns bytes written into the
 * guest's buffers, status byte included, or -EIO when the request is too
 * malformed to carry a status. */
int vblk_handle_request(struct vblk_dev *b, struct vq_elem *elem);

#endif

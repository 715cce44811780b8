/* Asynchronous raw-image I/O for mica-blk through io_uring: guest buffers
 * go straight to the kernel (readv/writev SQEs on the guest's iovecs), many
 * requests in flight per wakeup, one io_uring_enter per batch.  Completions
 * arrive on an eventfd in the event loop and call the device back. */
#ifndef MICA_VBLK_AIO_H
#define MICA_VBLK_AIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "evloop.h"

struct vblk_aio;

/* res: bytes transferred or a negative errno. */
typedef void (*vblk_aio_done_fn)(void *arg, void *req, int res);

/* 0 and *out, or a negative errno (io_uring not available here). */
int vblk_aio_create(struct vblk_aio **out, int fd, unsigned depth, struct evloop *loop,
		    vblk_aio_done_fn done, void *arg);
void vblk_aio_destroy(struct vblk_aio *a);

/* Queue a request; sent with the next vblk_aio_submit.  -EBUSY when the
 * submission queue is full (submit, then try again later). */
int vblk_aio_rw(struct vblk_aio *a, void *req, bool is_read, const struct iovec *iov,
		int n, uint64_t offset);
/* A flush ordered after every request queued before it. */
int vblk_aio_flush(struct vblk_aio *a, void *req);
void vblk_aio_submit(struct vblk_aio *a);

unsigned vblk_aio_inflight(const struct vblk_aio *a);
/* Deliver the completions already there (page-cache hits complete during
 * submission), without waiting. */
void vblk_aio_poll(struct vblk_aio *a);
/* Wait for at least one completion and deliver it (draining a queue). */
int vblk_aio_wait(struct vblk_aio *a);

#endif

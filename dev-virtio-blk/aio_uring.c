/* io_uring data path for raw images: see aio.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <liburing.h>

#include "aio.h"
#include "log.h"

struct vblk_aio {
	struct io_uring ring;
	int fd;
	int efd;
	unsigned queued, inflight;
	struct evloop *loop;
	vblk_aio_done_fn done;
	void *arg;
};

static void reap(struct vblk_aio *a)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&a->ring, &cqe) == 0) {
		void *req = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&a->ring, cqe);
		a->inflight--;
		a->done(a->arg, req, res);
	}
}

static void on_eventfd(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vblk_aio *a = arg;
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("io_uring eventfd");
	reap(a);
}

int vblk_aio_create(struct vblk_aio **out, int fd, unsigned depth, struct evloop *loop,
		    vblk_aio_done_fn done, void *arg)
{
	struct vblk_aio *a = calloc(1, sizeof(*a));
	int err;

	if (a == NULL)
		return -ENOMEM;
	err = io_uring_queue_init(depth, &a->ring, 0);
	if (err < 0) {
		free(a);
		return err;
	}
	a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->efd < 0 || io_uring_register_eventfd(&a->ring, a->efd) < 0 ||
	    evloop_add(loop, a->efd, EPOLLIN, on_eventfd, a) < 0) {
		err = a->efd < 0 ? -errno : -EIO;
		if (a->efd >= 0)
			close(a->efd);
		io_uring_queue_exit(&a->ring);
		free(a);
		return err;
	}
	a->fd = fd;
	a->loop = loop;
	a->done = done;
	a->arg = arg;
	*out = a;
	return 0;
}

void vblk_aio_destroy(struct vblk_aio *a)
{
	if (a == NULL)
		return;
	while (a->inflight > 0 && vblk_aio_wait(a) == 0)
		;
	evloop_del(a->loop, a->efd);
	close(a->efd);
	io_uring_queue_exit(&a->ring);
	free(a);
}

int vblk_aio_rw(struct vblk_aio *a, void *req, bool is_read, const struct iovec *iov,
		int n, uint64_t offset)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&a->ring);

	if (sqe == NULL)
		return -EBUSY;
	if (is_read)
		io_uring_prep_readv(sqe, a->fd, iov, n, offset);
	else
		io_uring_prep_writev(sqe, a->fd, iov, n, offset);
	io_uring_sqe_set_data(sqe, req);
	a->queued++;
	return 0;
}

int vblk_aio_flush(struct vblk_aio *a, void *req)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&a->ring);

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_fsync(sqe, a->fd, IORING_FSYNC_DATASYNC);
	/* Starts only once everything submitted before it has completed. */
	io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN);
	io_uring_sqe_set_data(sqe, req);
	a->queued++;
	return 0;
}

void vblk_aio_submit(struct vblk_aio *a)
{
	int n;

	if (a->queued == 0)
		return;
	n = io_uring_submit(&a->ring);
	if (n < 0) {
		log_warnx("io_uring_submit: %s", strerror(-n));
		return;
	}
	a->inflight += n;
	a->queued -= n;
}

void vblk_aio_poll(struct vblk_aio *a)
{
	reap(a);
}

unsigned vblk_aio_inflight(const struct vblk_aio *a)
{
	return a->inflight + a->queued;
}

int vblk_aio_wait(struct vblk_aio *a)
{
	struct io_uring_cqe *cqe;
	int err;

	vblk_aio_submit(a);
	if (a->inflight == 0)
		return -ENOENT;
	err = io_uring_wait_cqe(&a->ring, &cqe);
	if (err < 0)
		return err;
	reap(a);
	return 0;
}

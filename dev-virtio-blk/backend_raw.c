/* The raw block backend: guest offsets are file offsets. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio_blk.h"

static int raw_fd(void *opaque)
{
	return (int)(intptr_t)opaque;
}

/* preadv/pwritev until done; reads past the end of a sparse file that is
 * shorter than the disk return zeroes. */
int vblk_fd_rw(int fd, const struct iovec *iov, int n, uint64_t off, bool write)
{
	struct iovec cur[VQ_MAX_IOV];

	memcpy(cur, iov, n * sizeof(*iov));
	while (n > 0) {
		ssize_t done = write ? pwritev(fd, cur, n, off) : preadv(fd, cur, n, off);

		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0)
			return -errno;
		if (done == 0) {
			if (write)
				return -EIO;
			for (int i = 0; i < n; i++)
				memset(cur[i].iov_base, 0, cur[i].iov_len);
			return 0;
		}
		off += done;
		while (n > 0 && (size_t)done >= cur[0].iov_len) {
			done -= cur[0].iov_len;
			memmove(cur, cur + 1, --n * sizeof(*cur));
		}
		if (n > 0) {
			cur[0].iov_base = (char *)cur[0].iov_base + done;
			cur[0].iov_len -= done;
		}
	}
	return 0;
}

static int raw_readv(void *opaque, const struct iovec *iov, int n, uint64_t off)
{
	return vblk_fd_rw(raw_fd(opaque), iov, n, off, false);
}

static int raw_writev(void *opaque, const struct iovec *iov, int n, uint64_t off)
{
	return vblk_fd_rw(raw_fd(opaque), iov, n, off, true);
}

static int raw_flush(void *opaque)
{
	return fdatasync(raw_fd(opaque)) < 0 ? -errno : 0;
}

static int raw_discard(void *opaque, uint64_t off, uint64_t len)
{
	if (fallocate(raw_fd(opaque), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) < 0)
		return errno == EOPNOTSUPP ? 0 : -errno;   /* discard is a hint */
	return 0;
}

static int raw_write_zeroes(void *opaque, uint64_t off, uint64_t len, bool may_unmap)
{
	int mode = may_unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
			     : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	static const char zeroes[65536];

	if (fallocate(raw_fd(opaque), mode, off, len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	/* No fallocate on this file system: write the zeroes. */
	while (len > 0) {
		size_t chunk = len < sizeof(zeroes) ? len : sizeof(zeroes);
		ssize_t n = pwrite(raw_fd(opaque), zeroes, chunk, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += n;
		len -= n;
	}
	return 0;
}

const struct vblk_backend_ops vblk_raw_ops = {
	.name = "raw",
	.readv = raw_readv,
	.writev = raw_writev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
};

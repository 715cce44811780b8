/* Image formats (qcow2, raw through the library, ...) as a virtio-blk
 * backend, through libmica-block.  Used by mica-blk standalone, which is
 * one process like qemu-storage-daemon; under `mica run` the format layer
 * lives in mica-blockd instead. */
#include <errno.h>

#include "blockd/block.h"
#include "virtio_blk.h"

static int image_readv(void *opaque, const struct iovec *iov, int n, uint64_t off)
{
	return blk_preadv(opaque, iov, n, off);
}

static int image_writev(void *opaque, const struct iovec *iov, int n, uint64_t off)
{
	return blk_pwritev(opaque, iov, n, off);
}

static int image_flush(void *opaque)
{
	return blk_flush(opaque);
}

static int image_discard(void *opaque, uint64_t off, uint64_t len)
{
	int err;

	if (!blk_can_discard(opaque))
		return 0;                  /* discard is a hint */
	err = blk_discard(opaque, off, len);
	return err == -ENOTSUP ? 0 : err;
}

static int image_write_zeroes(void *opaque, uint64_t off, uint64_t len, bool may_unmap)
{
	return blk_write_zeroes(opaque, off, len);
}

const struct vblk_backend_ops vblk_image_ops = {
	.name = "image",
	.readv = image_readv,
	.writev = image_writev,
	.flush = image_flush,
	.discard = image_discard,
	.write_zeroes = image_write_zeroes,
};

/* raw: the image file is the disk. */
#define _GNU_SOURCE     /* fallocate, SEEK_DATA */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "format.h"

static int raw_open(struct blk_image *img)
{
	struct stat st;

	if (fstat(img->fd, &st) < 0) {
		log_warn("%s: fstat", img->filename);
		return -errno;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(img->fd, 0, SEEK_END);

		if (end < 0)
			return -errno;
		img->size = (uint64_t)end;
	} else {
		img->size = (uint64_t)st.st_size;
	}
	return 0;
}

static void raw_close(struct blk_image *img)
{
}

static int raw_preadv(struct blk_image *img, const struct iovec *iov,
		      int iovcnt, uint64_t offset)
{
	return blk_file_preadv(img->fd, iov, iovcnt, offset);
}

/* A raw image whose format was probed must never start to look like
 * another format: a guest could write a qcow2 header naming a host file
 * as its backing file (QEMU restricts block 0 the same way). */
static int raw_check_probed_head(struct blk_image *img,
				 const struct iovec *iov, int iovcnt,
				 uint64_t offset)
{
	uint8_t head[512];
	size_t n;

	if (!img->probed || offset >= sizeof(head))
		return 0;
	if (blk_file_pread(img->fd, head, sizeof(head), 0) < 0)
		return -EIO;
	n = sizeof(head) - offset;
	if (n > blk_iov_size(iov, iovcnt))
		n = blk_iov_size(iov, iovcnt);
	blk_iov_to_buf(iov, iovcnt, 0, head + offset, n);
	if (!blk_probe_other_than_raw(head, sizeof(head)))
		return 0;
	log_warnx("%s: refusing to write a header of another image format "
		  "into a probed raw image (give the format explicitly)",
		  img->filename);
	return -EPERM;
}

static int raw_pwritev(struct blk_image *img, const struct iovec *iov,
		       int iovcnt, uint64_t offset)
{
	int ret = raw_check_probed_head(img, iov, iovcnt, offset);

	return ret < 0 ? ret : blk_file_pwritev(img->fd, iov, iovcnt, offset);
}

static int raw_flush(struct blk_image *img)
{
	return fdatasync(img->fd) < 0 ? -errno : 0;
}

static int raw_write_zeroes(struct blk_image *img, uint64_t offset,
			    uint64_t len)
{
	/* ZERO_RANGE first (blk_file_write_zeroes), else a hole, else writes */
	if (fallocate(img->fd, FALLOC_FL_ZERO_RANGE, (off_t)offset, (off_t)len) == 0 ||
	    fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)offset, (off_t)len) == 0)
		return 0;
	return blk_file_write_zeroes(img->fd, offset, len);
}

static int raw_discard(struct blk_image *img, uint64_t offset, uint64_t len)
{
	if (fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)offset, (off_t)len) < 0)
		return -errno;
	return 0;
}

static int raw_truncate(struct blk_image *img, uint64_t size)
{
	if (ftruncate(img->fd, (off_t)size) < 0) {
		log_warn("%s: resize", img->filename);
		return -errno;
	}
	img->size = size;
	return 0;
}

/* Holes (SEEK_HOLE) are reported as zero extents, like qemu-img map. */
static int raw_map(struct blk_image *img, uint64_t offset, uint64_t len,
		   struct blk_extent *ext)
{
	off_t data, hole;

	ext->offset = offset;
	ext->fd = img->fd;
	ext->host_offset = offset;
	ext->allocated = true;
	ext->kind = BLK_EXTENT_DATA;
	ext->length = len;
	data = lseek(img->fd, (off_t)offset, SEEK_DATA);
	if (data < 0 && errno == ENXIO) {
		ext->kind = BLK_EXTENT_ZERO;      /* hole up to EOF */
		return 0;
	}
	if (data < 0)
		return 0;                         /* no SEEK_DATA: all data */
	if ((uint64_t)data > offset) {
		ext->kind = BLK_EXTENT_ZERO;
		if ((uint64_t)data - offset < len)
			ext->length = (uint64_t)data - offset;
		return 0;
	}
	hole = lseek(img->fd, (off_t)offset, SEEK_HOLE);
	if (hole > (off_t)offset && (uint64_t)hole - offset < len)
		ext->length = (uint64_t)hole - offset;
	return 0;
}

static int raw_create(const char *path, const struct blk_create_opts *opts)
{
	int fd, ret = 0;

	if (opts->backing_file != NULL) {
		log_warnx("%s: raw images cannot have a backing file", path);
		return -EINVAL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_warn("could not create '%s'", path);
		return -errno;
	}
	if (ftruncate(fd, (off_t)opts->size) < 0) {
		ret = -errno;
		log_warn("%s: set size", path);
	}
	close(fd);
	return ret;
}

const struct blk_format_ops blk_format_raw = {
	.name = "raw",
	.probe = NULL,          /* the fallback when nothing else matches */
	.create = raw_create,
	.open = raw_open,
	.close = raw_close,
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.write_zeroes = raw_write_zeroes,
	.discard = raw_discard,
	.truncate = raw_truncate,
	.map = raw_map,
};

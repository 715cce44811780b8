/* The format ops table: what one disk-image format plugs into.
 *
 * A format is one file (raw.c, qcow2*.c) that defines one
 * `const struct blk_format_ops` with designated initializers and one line
 * in the table in block.c.  Capability queries (can_*) are separate from
 * operations; an operation left NULL answers -ENOTSUP.  All operations
 * return 0 or a negative errno, as documented in block.h; ranges passed
 * to them are already checked against the virtual size.
 */
#ifndef MICA_BLOCK_FORMAT_H
#define MICA_BLOCK_FORMAT_H

#include "block.h"

struct blk_format_ops {
	const char *name;

	/* How sure the format is that HEAD (the first bytes of the file,
	 * LEN of them) is its own: 0 = not mine, 100 = certain. */
	int (*probe)(const uint8_t *head, size_t len);
	int (*create)(const char *path, const struct blk_create_opts *opts);

	int (*open)(struct blk_image *img);
	void (*close)(struct blk_image *img);

	/* capabilities */
	bool (*can_write)(const struct blk_image *img);
	bool (*can_discard)(const struct blk_image *img);
	bool (*can_snapshot)(const struct blk_image *img);

	/* operations */
	int (*preadv)(struct blk_image *img, const struct iovec *iov,
		      int iovcnt, uint64_t offset);
	int (*pwritev)(struct blk_image *img, const struct iovec *iov,
		       int iovcnt, uint64_t offset);
	int (*flush)(struct blk_image *img);
	int (*write_zeroes)(struct blk_image *img, uint64_t offset,
			    uint64_t len);
	int (*discard)(struct blk_image *img, uint64_t offset, uint64_t len);
	int (*truncate)(struct blk_image *img, uint64_t size);
	int (*write_compressed)(struct blk_image *img, const void *buf,
				size_t len, uint64_t offset);
	/* Two-phase writes; see blk_write_prepare(). */
	int (*write_prepare)(struct blk_image *img, uint64_t offset,
			     uint64_t len, struct blk_write_grant *grant);
	int (*write_commit)(struct blk_image *img,
			    const struct blk_write_grant *grant);
	int (*write_abort)(struct blk_image *img,
			   const struct blk_write_grant *grant);
	/* Map in this image only (no backing); see blk_map_local(). */
	int (*map)(struct blk_image *img, uint64_t offset, uint64_t len,
		   struct blk_extent *ext);

	int (*get_info)(struct blk_image *img, struct blk_info *info);
	int (*check)(struct blk_image *img, unsigned fix,
		     struct blk_check_result *res);
	int (*snapshot_list)(struct blk_image *img,
			     struct blk_snapshot_info *snaps, int max);
	int (*snapshot_create)(struct blk_image *img, const char *name);
	int (*snapshot_apply)(struct blk_image *img, const char *name_or_id);
	int (*snapshot_delete)(struct blk_image *img, const char *name_or_id);
};

/* What every format sees of an open image. */
struct blk_image {
	const struct blk_format_ops *ops;
	char *filename;
	int fd;
	unsigned flags;            /* BLK_OPEN_* */
	unsigned depth;            /* 0 = top of the chain */
	bool read_only;
	bool probed;               /* format guessed, not given */
	uint64_t size;             /* virtual size */
	struct blk_image *backing; /* opened by the format's open() */
	void *priv;                /* format state */
};

/* Formats. */
extern const struct blk_format_ops blk_format_raw;
extern const struct blk_format_ops blk_format_qcow2;

const struct blk_format_ops *blk_format_find(const char *name);
/* Does HEAD (LEN bytes) probe as a format other than raw? */
bool blk_probe_other_than_raw(const uint8_t *head, size_t len);

/* Open a backing file named NAME relative to IMG's directory. */
int blk_open_backing(struct blk_image *img, const char *name,
		     const char *format);

/* pread/pwrite the whole range or fail with -EIO (short) or -errno. */
int blk_file_pread(int fd, void *buf, size_t len, uint64_t offset);
int blk_file_pwrite(int fd, const void *buf, size_t len, uint64_t offset);
int blk_file_preadv(int fd, const struct iovec *iov, int iovcnt,
		    uint64_t offset);
int blk_file_pwritev(int fd, const struct iovec *iov, int iovcnt,
		     uint64_t offset);
/* Make [offset, offset+len) of the file zeroes (allocated, the file grows
 * if needed): FALLOC_FL_ZERO_RANGE, or writes where that is missing. */
int blk_file_write_zeroes(int fd, uint64_t offset, uint64_t len);


/* iovec helpers */
size_t blk_iov_size(const struct iovec *iov, int iovcnt);
/* Describe bytes [skip, skip+len) of IOV in OUT (at most OUTMAX entries);
 * returns the entry count, or -EINVAL when OUTMAX is too small. */
int blk_iov_slice(const struct iovec *iov, int iovcnt, size_t skip,
		  size_t len, struct iovec *out, int outmax);
void blk_iov_memset(const struct iovec *iov, int iovcnt, size_t skip,
		    int c, size_t len);
void blk_iov_from_buf(const struct iovec *iov, int iovcnt, size_t skip,
		      const void *buf, size_t len);
void blk_iov_to_buf(const struct iovec *iov, int iovcnt, size_t skip,
		    void *buf, size_t len);

#endif

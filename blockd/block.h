/* libmica-block: disk images behind one format ops table.
 *
 * An image is opened from a path with a named format (or probed), read and
 * written with iovecs at byte offsets, and resolved to host extents with
 * blk_map() so that a data-path process can issue I/O on the image fds
 * itself (io_uring, zero copy); see docs/block.md.
 *
 * Every function returning int returns 0 (or a count where documented) on
 * success and a negative errno on failure.  Errors are also logged once
 * with log_warnx() naming the image and what was wrong, so callers need
 * not add context.  Common codes:
 *   -EINVAL       bad argument (unaligned, past end, unknown option)
 *   -EIO          short read/write, or the image metadata is invalid
 *   -EUCLEAN      the image is corrupt (metadata points where it must not)
 *   -ENOTSUP      the image uses a feature Mica does not support (yet)
 *   -EROFS        write to an image opened read-only or marked corrupt
 *   -EAGAIN       image locked by another writer
 */
#ifndef MICA_BLOCK_H
#define MICA_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct blk_image;

/* blk_open() flags */
#define BLK_OPEN_RDWR        0x1u  /* open for writing */
#define BLK_OPEN_NO_BACKING  0x2u  /* do not open the backing chain */
#define BLK_OPEN_NO_LOCK     0x4u  /* skip the OFD image lock (like -U) */
#define BLK_OPEN_REPAIR      0x8u  /* allow RDWR on dirty/corrupt images,
				      for blk_check() repair only */

/* Open PATH.  FORMAT is a format name ("raw", "qcow2") or NULL to probe.
 * Backing files named by the image are opened read-only, relative to the
 * image's directory.  -ENOENT, -EACCES from open(2); -EAGAIN when another
 * process holds a conflicting lock; -ENOTSUP for unsupported features. */
int blk_open(const char *path, const char *format, unsigned flags,
	     struct blk_image **out);

/* The same on an fd opened by someone else (mica-blockd gets its images
 * as fds): fd is duplicated, the caller keeps its own.  name is for
 * messages and for finding backing files relative to it, which a process
 * without a file system (mica-blockd) cannot open: -ENOENT then.  -EBADF
 * when BLK_OPEN_RDWR is asked of a read-only fd. */
int blk_open_fd(int fd, const char *name, const char *format, unsigned flags,
		struct blk_image **out);

/* A process that cannot open paths (mica-blockd) resolves backing files
 * through this: PATH is the backing file's name joined to the naming
 * image's directory with "." and ".." folded (textually: no symlink is
 * followed), NAMED_BY the image naming it.  Returns an fd the library
 * takes over (opened read-only), or a negative errno after logging why.
 * NULL restores opening by path. */
typedef int (*blk_backing_resolver)(void *arg, const char *path, const char *named_by);
void blk_set_backing_resolver(blk_backing_resolver fn, void *arg);

/* Whether LEN bytes at P are all zero. */
bool blk_buf_is_zero(const void *p, size_t len);

/* Flush and close.  Returns the flush result; the image is freed anyway.
 * Closing NULL is a no-op returning 0. */
int blk_close(struct blk_image *img);

/* Virtual (guest-visible) size in bytes. */
uint64_t blk_size(const struct blk_image *img);
const char *blk_format_name(const struct blk_image *img);
const char *blk_filename(const struct blk_image *img);
struct blk_image *blk_backing(const struct blk_image *img);
/* The file under IMG (owned by the image: for handing to a data path). */
int blk_fd(const struct blk_image *img);

/* Capability queries: what the image can do, separate from doing it. */
bool blk_can_write(const struct blk_image *img);
bool blk_can_discard(const struct blk_image *img);
bool blk_can_snapshot(const struct blk_image *img);

/* Read/write IOVCNT buffers at byte OFFSET.  The whole range must lie
 * within blk_size(); -EINVAL otherwise.  Reads of unallocated ranges give
 * the backing file's data or zeroes.  Returns 0 when everything was
 * transferred. */
int blk_preadv(struct blk_image *img, const struct iovec *iov, int iovcnt,
	       uint64_t offset);
int blk_pwritev(struct blk_image *img, const struct iovec *iov, int iovcnt,
		uint64_t offset);
int blk_pread(struct blk_image *img, void *buf, size_t len, uint64_t offset);
int blk_pwrite(struct blk_image *img, const void *buf, size_t len,
	       uint64_t offset);

/* Make every completed write durable; metadata is written in an order
 * that never lets it point at data that is not yet on disk. */
int blk_flush(struct blk_image *img);

/* Write zeroes over [offset, offset+len).  If the format can record zero
 * ranges cheaply (qcow2 v3 zero clusters) it does so for whole clusters. */
int blk_write_zeroes(struct blk_image *img, uint64_t offset, uint64_t len);

/* Discard [offset, offset+len); reads afterwards return zeroes or backing
 * data (qcow2: whole clusters only, partial ones are left alone). */
int blk_discard(struct blk_image *img, uint64_t offset, uint64_t len);

/* Change the virtual size (growing only for qcow2 for now). */
int blk_truncate(struct blk_image *img, uint64_t size);

/* ---- Mapping: guest ranges to host extents ---- */

enum blk_extent_kind {
	BLK_EXTENT_DATA,        /* bytes live in fd at host_offset */
	BLK_EXTENT_ZERO,        /* reads as zeroes, nothing to read */
	BLK_EXTENT_UNALLOCATED, /* nothing here and no backing: zeroes */
	BLK_EXTENT_COMPRESSED,  /* compressed cluster: use blk_preadv */
};

struct blk_extent {
	uint64_t offset;        /* guest offset of the extent */
	uint64_t length;        /* bytes; always > 0 on success */
	enum blk_extent_kind kind;
	int fd;                 /* DATA/COMPRESSED: file holding the bytes */
	uint64_t host_offset;   /* DATA/COMPRESSED: offset in fd */
	unsigned depth;         /* 0 = this image, 1 = its backing, ... */
	struct blk_image *owner; /* image in the chain that answered */
	bool allocated;         /* allocated in OWNER (zero clusters too) */
	bool owned;             /* DATA at depth 0 that only this image uses
				   (qcow2: refcount 1, the COPIED flag): a data
				   path may write it in place */
};

/* Resolve the first extent of [offset, offset+len) through the backing
 * chain: the answer covers [offset, offset+ext->length) with one kind, one
 * fd, contiguous host offsets.  Call again from offset+length for the
 * rest.  Never allocates. */
int blk_map(struct blk_image *img, uint64_t offset, uint64_t len,
	    struct blk_extent *ext);

/* Like blk_map but for IMG alone, not looking into the backing file:
 * ranges not allocated in IMG come back as BLK_EXTENT_UNALLOCATED with
 * allocated = false. */
int blk_map_local(struct blk_image *img, uint64_t offset, uint64_t len,
		  struct blk_extent *ext);

/* ---- Two-phase writes for a separate data path (docs/block.md) ---- */

/* A host range a data path may write guest bytes [offset, offset+length)
 * to, directly on fd.  IN_PLACE grants need no commit; the others must be
 * committed (or aborted) before the data becomes visible. */
struct blk_write_grant {
	uint64_t offset, length;   /* guest range granted (a prefix of the ask) */
	int fd;
	uint64_t host_offset;      /* where guest byte OFFSET goes */
	bool in_place;
	/* private to the format */
	uint64_t cluster_start;    /* guest offset of the first cluster */
	uint64_t new_host;         /* first allocated host cluster */
	uint64_t clusters;
};

/* Prepare the first part of [offset, offset+len) for a direct write: for
 * qcow2, allocate new clusters and copy into them whatever the write does
 * not cover, without touching the L2 table (readers still see the old
 * data).  -EBUSY while another prepared grant shares a cluster (retry
 * after it is committed); -ENOTSUP for formats that cannot (use
 * blk_pwritev). */
int blk_write_prepare(struct blk_image *img, uint64_t offset, uint64_t len,
		      struct blk_write_grant *grant);
/* The data is written (not necessarily synced): link it in.  Durable at
 * the next blk_flush(), which orders it after the data. */
int blk_write_commit(struct blk_image *img, const struct blk_write_grant *g);
/* Give a prepared grant back; its clusters are freed. */
int blk_write_abort(struct blk_image *img, const struct blk_write_grant *g);

/* ---- Creation ---- */

struct blk_create_opts {
	uint64_t size;             /* virtual size; 0 = backing file's size */
	const char *backing_file;  /* NULL: none */
	const char *backing_fmt;   /* NULL: probe */
	unsigned cluster_size;     /* qcow2: 0 = 65536 */
	unsigned compat;           /* qcow2: 2 = "0.10", 3 = "1.1" (default) */
	unsigned refcount_bits;    /* qcow2: 0 = 16 */
	bool lazy_refcounts;
	bool compression_zstd;     /* qcow2 v3: compression_type=zstd */
};

int blk_create(const char *path, const char *format,
	       const struct blk_create_opts *opts);

/* ---- Compressed writes (convert -c) ---- */

/* Write one whole cluster compressed at OFFSET (cluster aligned, LEN =
 * cluster size or the tail of the image).  -ENOTSUP if the format cannot.
 * Falls back to a normal write when the data does not compress. */
int blk_write_compressed(struct blk_image *img, const void *buf, size_t len,
			 uint64_t offset);
unsigned blk_cluster_size(const struct blk_image *img);

/* ---- Information ---- */

struct blk_snapshot_info {
	char id[128];
	char name[256];
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t icount;       /* UINT64_MAX when absent */
	uint64_t disk_size;
};

struct blk_info {
	uint64_t virtual_size;
	unsigned cluster_size;     /* 0 when the format has none */
	char backing_file[1024];   /* as written in the image; "" if none */
	char backing_fmt[32];
	bool dirty;
	/* qcow2 */
	bool is_qcow2;
	unsigned version;
	unsigned refcount_bits;
	bool lazy_refcounts;
	bool corrupt;
	bool extended_l2;
	bool zstd;
	unsigned nb_snapshots;
};

int blk_get_info(struct blk_image *img, struct blk_info *info);

/* Fill at most MAX snapshots into SNAPS; returns how many there are (may
 * exceed MAX) or a negative errno. */
int blk_snapshot_list(struct blk_image *img, struct blk_snapshot_info *snaps,
		      int max);
int blk_snapshot_create(struct blk_image *img, const char *name);
int blk_snapshot_apply(struct blk_image *img, const char *name_or_id);
int blk_snapshot_delete(struct blk_image *img, const char *name_or_id);

/* ---- Consistency check ---- */

#define BLK_CHECK_FIX_LEAKS   0x1u
#define BLK_CHECK_FIX_ERRORS  0x2u

struct blk_check_result {
	uint64_t corruptions;        /* refcount < references, bad pointers */
	uint64_t leaks;              /* refcount > references */
	uint64_t check_errors;       /* I/O errors during the check */
	uint64_t corruptions_fixed;
	uint64_t leaks_fixed;
	uint64_t total_clusters;     /* of the virtual disk */
	uint64_t allocated_clusters;
	uint64_t fragmented_clusters;
	uint64_t compressed_clusters;
	uint64_t image_end_offset;
	bool quiet;                  /* in: do not print per-cluster lines */
};

/* Check (and with FIX flags, repair) the image.  Returns 0 when the check
 * ran (whatever it found), -ENOTSUP for formats without a check, or
 * another negative errno when it could not complete.  Findings are
 * printed to stderr in qemu-img's words unless res->quiet. */
int blk_check(struct blk_image *img, unsigned fix,
	      struct blk_check_result *res);

#endif

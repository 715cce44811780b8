/* qcow2 internals shared by qcow2*.c (not a public header).
 *
 * On-disk layout as in QEMU's docs/interop/qcow2.txt: big-endian header,
 * two-level L1/L2 map of guest clusters, refcount table + refcount blocks
 * counting references to every host cluster, snapshot table.
 */
#ifndef MICA_BLOCK_QCOW2_H
#define MICA_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stdint.h>

#include "format.h"

#define QCOW2_MAGIC           0x514649fbu      /* "QFI\xfb" */
#define QCOW2_V2_HEADER_LEN   72
#define QCOW2_V3_HEADER_LEN   104
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES    (32u << 20)     /* like QEMU */
#define QCOW2_MAX_RT_BYTES    (8u << 20)
#define QCOW2_MAX_SNAPSHOTS   65536
#define QCOW2_MAX_BACKING_NAME 1023

/* header field offsets (for in-place updates) */
#define QCOW2_HDR_SIZE         24
#define QCOW2_HDR_L1_SIZE      36
#define QCOW2_HDR_L1_OFFSET    40
#define QCOW2_HDR_RT_OFFSET    48
#define QCOW2_HDR_RT_CLUSTERS  56
#define QCOW2_HDR_NB_SNAPSHOTS 60
#define QCOW2_HDR_SNAP_OFFSET  64
#define QCOW2_HDR_INCOMPAT     72

/* feature bits */
#define QCOW2_INCOMPAT_DIRTY        (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2        (1ull << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
#define QCOW2_AUTOCLEAR_BITMAPS     (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_RAW    (1ull << 1)

/* header extensions */
#define QCOW2_EXT_END           0x00000000u
#define QCOW2_EXT_BACKING_FMT   0xe2792acau
#define QCOW2_EXT_FEATURE_NAMES 0x6803f857u
#define QCOW2_EXT_BITMAPS       0x23852875u
#define QCOW2_EXT_CRYPTO        0x0537be77u
#define QCOW2_EXT_DATA_FILE     0x44415441u

/* table entries */
#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       (1ull << 0)
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull  /* bits 9-55 */
#define QCOW2_L1E_RESERVED     0x7f000000000001ffull
#define QCOW2_L2E_RESERVED     0x3f000000000001feull
#define QCOW2_RTE_RESERVED     0x00000000000001ffull

#define QCOW2_COMPRESSION_ZLIB 0
#define QCOW2_COMPRESSION_ZSTD 1

/* What one guest cluster is, from its L2 entry. */
enum qcow2_cluster_type {
	QCOW2_CLUSTER_UNALLOCATED,
	QCOW2_CLUSTER_ZERO_PLAIN,   /* zero flag, no host cluster */
	QCOW2_CLUSTER_ZERO_ALLOC,   /* zero flag, host cluster reserved */
	QCOW2_CLUSTER_NORMAL,
	QCOW2_CLUSTER_COMPRESSED,
};

struct qcow2_cache_entry {
	uint64_t offset;        /* host offset of the table; 0 = free slot */
	uint8_t *data;
	uint64_t lru;
	bool dirty;
};

/* Write-back cache of cluster-sized metadata tables (L2 or refblocks). */
struct qcow2_cache {
	struct qcow2_cache_entry *entries;
	unsigned n;
	unsigned cluster_size;
	uint64_t clock;
};

struct qcow2_snapshot {
	uint64_t l1_table_offset;
	uint32_t l1_size;
	char *id;
	char *name;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint32_t vm_state_size;
	uint64_t vm_state_size_large;
	uint64_t disk_size;
	uint64_t icount;
	uint32_t extra_data_size;
};

struct qcow2_pending_free {
	uint64_t offset;
	uint64_t clusters;
};

struct qcow2 {
	struct blk_image *img;
	const char *name;            /* img->filename, for messages */

	/* header */
	uint32_t version;
	uint32_t cluster_bits;
	uint32_t cluster_size;
	uint32_t l2_bits;            /* log2(entries per L2 table) */
	uint32_t header_length;
	uint64_t incompatible, compatible, autoclear;
	uint32_t refcount_order;
	uint8_t compression_type;
	char *backing_file;
	char backing_fmt[32];
	bool has_bitmaps;

	/* L1 (host byte order) */
	uint64_t l1_table_offset;
	uint32_t l1_size;
	uint64_t *l1;
	bool l1_dirty;

	/* refcounts: in memory the table may grow past its on-disk size */
	uint64_t rt_offset;
	uint32_t rt_clusters;        /* on disk */
	uint64_t *rt;
	uint64_t rt_entries;         /* valid entries in memory */
	uint64_t rt_capacity;        /* allocated entries in memory */
	bool rt_dirty;
	uint32_t rb_bits;            /* log2(refcounts per refblock) */
	uint64_t free_hint;          /* cluster index to start searching at */
	uint64_t alloc_lo, alloc_hi; /* run being allocated: no refblock there */

	/* snapshots */
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t snapshots_size;     /* bytes of the table on disk */
	struct qcow2_snapshot *snapshots;

	struct qcow2_cache l2_cache;
	struct qcow2_cache rb_cache;

	/* frees wait until the metadata that dropped them is on disk */
	struct qcow2_pending_free *frees;
	size_t nfrees, frees_cap;

	uint64_t file_size;          /* bytes, grows with allocation */
	uint64_t compressed_cursor;  /* next free byte in the compressed area */

	/* prepared, uncommitted two-phase writes (guest cluster ranges) */
	struct qcow2_inflight {
		uint64_t first, count;
	} *inflight;
	size_t ninflight, inflight_cap;

	/* one decompressed cluster, for compressed reads */
	uint8_t *cbuf;               /* cluster_size */
	uint64_t cbuf_entry;         /* L2 entry it holds; 0 = none */
};

/* big-endian helpers */
static inline uint64_t be64_get(const void *p)
{
	const uint8_t *b = p;

	return ((uint64_t)b[0] << 56) | ((uint64_t)b[1] << 48) |
	       ((uint64_t)b[2] << 40) | ((uint64_t)b[3] << 32) |
	       ((uint64_t)b[4] << 24) | ((uint64_t)b[5] << 16) |
	       ((uint64_t)b[6] << 8) | b[7];
}

static inline uint32_t be32_get(const void *p)
{
	const uint8_t *b = p;

	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
	       ((uint32_t)b[2] << 8) | b[3];
}

static inline uint16_t be16_get(const void *p)
{
	const uint8_t *b = p;

	return (uint16_t)((b[0] << 8) | b[1]);
}

static inline void be64_put(void *p, uint64_t v)
{
	uint8_t *b = p;

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

static inline void be32_put(void *p, uint32_t v)
{
	uint8_t *b = p;

	for (int i = 3; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

static inline void be16_put(void *p, uint16_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline struct qcow2 *qcow2_of(const struct blk_image *img)
{
	return img->priv;
}

static inline uint64_t qcow2_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* qcow2-cache.c: all return 0 or -errno */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, unsigned cluster_size);
void qcow2_cache_destroy(struct qcow2_cache *c);
/* Table at OFFSET, read from disk on a miss (or zero-filled when FRESH:
 * a newly allocated table, marked dirty).  *DATA stays valid until the
 * next cache call.  Evicting a dirty L2 table flushes the metadata first
 * (see qcow2_flush_metadata), so the cache needs the qcow2 state. */
int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset,
		    bool fresh, uint8_t **data);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, const uint8_t *data);
/* Write every dirty table back (no sync). */
int qcow2_cache_write_dirty(struct qcow2 *q, struct qcow2_cache *c);
void qcow2_cache_forget(struct qcow2_cache *c, uint64_t offset);

/* qcow2-refcount.c */
int qcow2_refcount_init(struct qcow2 *q, const uint8_t *rt_raw);
int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc);
int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t rc);
int qcow2_refcount_add(struct qcow2 *q, uint64_t cluster, int delta);
/* Allocate N contiguous free clusters with refcount 1; returns the host
 * offset in *OFFSET. */
int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *offset);
/* Drop one reference to each cluster of [offset, offset+len) once the
 * metadata that stopped referencing them is on disk. */
int qcow2_free_later(struct qcow2 *q, uint64_t offset, uint64_t len);
int qcow2_apply_frees(struct qcow2 *q);
/* Write refblocks and the refcount table (relocating it if it grew). */
int qcow2_refcount_write(struct qcow2 *q, bool *wrote);
uint64_t qcow2_refcount_max(const struct qcow2 *q);

/* One run of guest clusters of the same kind, contiguous on the host. */
struct qcow2_run {
	enum qcow2_cluster_type type;
	uint64_t host;       /* host offset of the first byte (data/zero) */
	uint64_t len;        /* bytes */
	uint64_t entry;      /* L2 entry of the first cluster */
};

static inline uint64_t qcow2_l2_entry(const uint8_t *table, uint64_t index)
{
	return be64_get(table + 8 * index);
}

/* qcow2-cluster.c */
/* The run starting at guest offset OFF (at most MAXLEN bytes), entries
 * validated; -EUCLEAN with a message naming the entry if corrupt. */
int qcow2_get_run(struct qcow2 *q, uint64_t off, uint64_t maxlen,
		  struct qcow2_run *r);
/* The L2 table covering OFF (validated), or *TABLE = NULL if none. */
int qcow2_l2_lookup(struct qcow2 *q, uint64_t off, uint8_t **table);
/* Name of the fixed metadata [off, off+len) overlaps, or NULL. */
const char *qcow2_metadata_overlap(struct qcow2 *q, uint64_t off,
				   uint64_t len);
enum qcow2_cluster_type qcow2_entry_type(const struct qcow2 *q, uint64_t e);
void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry,
			    uint64_t *host, uint64_t *len);
int qcow2_check_table_offset(struct qcow2 *q, uint64_t off, const char *what,
			     uint64_t where);
int qcow2_preadv(struct blk_image *img, const struct iovec *iov, int iovcnt,
		 uint64_t offset);
int qcow2_map(struct blk_image *img, uint64_t offset, uint64_t len,
	      struct blk_extent *ext);

/* qcow2-write.c */
int qcow2_pwritev(struct blk_image *img, const struct iovec *iov, int iovcnt,
		  uint64_t offset);
int qcow2_write_zeroes(struct blk_image *img, uint64_t offset, uint64_t len);
int qcow2_discard(struct blk_image *img, uint64_t offset, uint64_t len);
int qcow2_write_compressed(struct blk_image *img, const void *buf, size_t len,
			   uint64_t offset);
int qcow2_flush(struct blk_image *img);
/* Allocation helpers shared with qcow2-grant.c */
int qcow2_l2_table_for_write(struct qcow2 *q, uint64_t off, uint8_t **table);
int qcow2_count_replaceable(struct qcow2 *q, uint64_t off, uint64_t max,
			    uint64_t *count);
int qcow2_set_entries(struct qcow2 *q, uint64_t off, uint64_t count,
		      uint64_t first, uint64_t step);
int qcow2_check_data_write(struct qcow2 *q, uint64_t host, uint64_t len,
			   uint64_t guest);

/* qcow2-grant.c: two-phase writes */
bool qcow2_inflight_busy(const struct qcow2 *q, uint64_t off, uint64_t len);
int qcow2_write_prepare(struct blk_image *img, uint64_t offset, uint64_t len,
			struct blk_write_grant *grant);
int qcow2_write_commit(struct blk_image *img,
		       const struct blk_write_grant *grant);
int qcow2_write_abort(struct blk_image *img,
		      const struct blk_write_grant *grant);
/* The ordered metadata write-back described at the top of qcow2-write.c
 * (no final sync of data written since). */
int qcow2_flush_metadata(struct qcow2 *q);

/* qcow2-compress.c */
int qcow2_decompress(const struct qcow2 *q, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outlen);
/* Returns the compressed length, or -ENOSPC when it would not be smaller
 * than OUTMAX. */
long qcow2_compress(const struct qcow2 *q, const uint8_t *in, size_t inlen,
		    uint8_t *out, size_t outmax);

/* qcow2-snapshot.c */
int qcow2_snapshots_read(struct qcow2 *q);
void qcow2_snapshots_free(struct qcow2 *q);
int qcow2_snapshot_list(struct blk_image *img, struct blk_snapshot_info *s,
			int max);
int qcow2_snapshot_create(struct blk_image *img, const char *name);
int qcow2_snapshot_apply(struct blk_image *img, const char *name_or_id);
int qcow2_snapshot_delete(struct blk_image *img, const char *name_or_id);

/* qcow2-check.c */
int qcow2_check(struct blk_image *img, unsigned fix,
		struct blk_check_result *res);

/* qcow2-create.c */
int qcow2_create(const char *path, const struct blk_create_opts *opts);

/* qcow2.c */
int qcow2_write_header_field(struct qcow2 *q, unsigned offset, uint64_t v,
			     unsigned width);

#endif

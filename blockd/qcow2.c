/* qcow2: opening, header validation, the ops table.
 *
 * Everything read from the file is checked before it is used: a malformed
 * image gives an error naming the field and its offset, never a crash and
 * never a write. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "qcow2.h"

#define L2_CACHE_TABLES_DEFAULT 32      /* MICA_QCOW2_L2_CACHE overrides */
#define RB_CACHE_TABLES 8

static int qcow2_repair_dirty(struct blk_image *img);

static int qcow2_probe(const uint8_t *head, size_t len)
{
	if (len >= 8 && be32_get(head) == QCOW2_MAGIC)
		return 100;
	return 0;
}

int qcow2_write_header_field(struct qcow2 *q, unsigned offset, uint64_t v,
			     unsigned width)
{
	uint8_t buf[8];

	if (width == 8)
		be64_put(buf, v);
	else
		be32_put(buf, (uint32_t)v);
	return blk_file_pwrite(q->img->fd, buf, width, offset);
}

static int qcow2_bad(struct qcow2 *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Log "invalid qcow2 image: <what and where>" and fail with -EIO. */
static int qcow2_bad(struct qcow2 *q, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: invalid qcow2 image: %s", q->name, msg);
	return -EIO;
}

static const char *incompat_name(unsigned bit)
{
	switch (bit) {
	case 0: return "dirty bit";
	case 1: return "corrupt bit";
	case 2: return "external data file";
	case 3: return "compression type";
	case 4: return "extended L2 entries";
	default: return NULL;
	}
}

/* Refuse what we cannot honour; name it as the image's feature table does
 * when the image has one. */
static int qcow2_check_features(struct qcow2 *q, const uint8_t *names,
				size_t names_len)
{
	uint64_t unsupported = q->incompatible &
		~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT |
		  QCOW2_INCOMPAT_COMPRESSION);

	for (unsigned bit = 0; bit < 64; bit++) {
		const char *name = NULL;
		char buf[48];

		if (!(unsupported & (1ull << bit)))
			continue;
		for (size_t i = 0; i + 48 <= names_len; i += 48) {
			if (names[i] == 0 && names[i + 1] == bit) {
				memcpy(buf, names + i + 2, 46);
				buf[46] = '\0';
				name = buf;
			}
		}
		if (name == NULL)
			name = incompat_name(bit);
		log_warnx("%s: unsupported qcow2 incompatible feature bit %u "
			  "(%s)%s", q->name, bit, name ? name : "unknown",
			  bit == 2 || bit == 4 ? ": not supported yet" : "");
		return -ENOTSUP;
	}
	if ((q->incompatible & QCOW2_INCOMPAT_COMPRESSION) &&
	    q->compression_type == QCOW2_COMPRESSION_ZLIB)
		return qcow2_bad(q, "compression type bit set with zlib");
	if (!(q->incompatible & QCOW2_INCOMPAT_COMPRESSION) &&
	    q->compression_type != QCOW2_COMPRESSION_ZLIB)
		return qcow2_bad(q, "compression type %" PRIu64
				 " without its feature bit",
				 (uint64_t)q->compression_type);
	if (q->compression_type > QCOW2_COMPRESSION_ZSTD) {
		log_warnx("%s: unknown compression type %u", q->name,
			  q->compression_type);
		return -ENOTSUP;
	}
	return 0;
}

/* Header extensions live between the header and the end of cluster 0 (or
 * the backing file name). */
static int qcow2_read_extensions(struct qcow2 *q, const uint8_t *hdr,
				 size_t end)
{
	size_t pos = q->header_length;
	const uint8_t *names = NULL;
	size_t names_len = 0;

	while (pos + 8 <= end) {
		uint32_t type = be32_get(hdr + pos);
		uint32_t len = be32_get(hdr + pos + 4);

		pos += 8;
		if (type == QCOW2_EXT_END)
			break;
		if (len > end - pos)
			return qcow2_bad(q, "header extension at %#" PRIx64
					 " runs past the header cluster",
					 (uint64_t)(pos - 8));
		switch (type) {
		case QCOW2_EXT_BACKING_FMT:
			if (len >= sizeof(q->backing_fmt))
				return qcow2_bad(q, "backing format name of "
						 "%" PRIu32 " bytes", len);
			memcpy(q->backing_fmt, hdr + pos, len);
			q->backing_fmt[len] = '\0';
			break;
		case QCOW2_EXT_FEATURE_NAMES:
			names = hdr + pos;
			names_len = len;
			break;
		case QCOW2_EXT_BITMAPS:
			q->has_bitmaps = true;
			break;
		case QCOW2_EXT_CRYPTO:
			log_warnx("%s: encrypted qcow2 (LUKS) is not supported "
				  "yet", q->name);
			return -ENOTSUP;
		default:
			break;  /* unknown extensions are ignored, as specified */
		}
		pos += qcow2_align_up(len, 8);
	}
	return qcow2_check_features(q, names, names_len);
}

static int qcow2_parse_header(struct qcow2 *q, const uint8_t *hdr,
			      uint64_t *size, uint64_t *backing_off,
			      uint32_t *backing_len)
{
	uint32_t crypt;

	if (be32_get(hdr) != QCOW2_MAGIC)
		return qcow2_bad(q, "bad magic");
	q->version = be32_get(hdr + 4);
	if (q->version != 2 && q->version != 3) {
		log_warnx("%s: qcow2 version %u not supported", q->name,
			  q->version);
		return -ENOTSUP;
	}
	*backing_off = be64_get(hdr + 8);
	*backing_len = be32_get(hdr + 16);
	q->cluster_bits = be32_get(hdr + 20);
	*size = be64_get(hdr + QCOW2_HDR_SIZE);
	crypt = be32_get(hdr + 32);
	q->l1_size = be32_get(hdr + QCOW2_HDR_L1_SIZE);
	q->l1_table_offset = be64_get(hdr + QCOW2_HDR_L1_OFFSET);
	q->rt_offset = be64_get(hdr + QCOW2_HDR_RT_OFFSET);
	q->rt_clusters = be32_get(hdr + QCOW2_HDR_RT_CLUSTERS);
	q->nb_snapshots = be32_get(hdr + QCOW2_HDR_NB_SNAPSHOTS);
	q->snapshots_offset = be64_get(hdr + QCOW2_HDR_SNAP_OFFSET);
	if (q->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    q->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return qcow2_bad(q, "cluster_bits %" PRIu64
				 " (header offset 20) out of range 9..21",
				 (uint64_t)q->cluster_bits);
	q->cluster_size = 1u << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	if (crypt != 0) {
		log_warnx("%s: encrypted qcow2 (%s) is not supported yet",
			  q->name, crypt == 1 ? "AES" : crypt == 2 ? "LUKS"
						      : "unknown method");
		return -ENOTSUP;
	}
	if (q->version == 2) {
		q->header_length = QCOW2_V2_HEADER_LEN;
		q->refcount_order = 4;
		return 0;
	}
	q->incompatible = be64_get(hdr + 72);
	q->compatible = be64_get(hdr + 80);
	q->autoclear = be64_get(hdr + 88);
	q->refcount_order = be32_get(hdr + 96);
	q->header_length = be32_get(hdr + 100);
	if (q->header_length < QCOW2_V3_HEADER_LEN ||
	    q->header_length > q->cluster_size || q->header_length % 8 != 0)
		return qcow2_bad(q, "header_length %" PRIu64
				 " (header offset 100)",
				 (uint64_t)q->header_length);
	if (q->header_length > 104)
		q->compression_type = hdr[104];
	if (q->refcount_order > 6)
		return qcow2_bad(q, "refcount_order %" PRIu64
				 " (header offset 96) above 6",
				 (uint64_t)q->refcount_order);
	return 0;
}

/* A table of LEN bytes at OFF must be cluster aligned and inside the file. */
static int qcow2_check_table(struct qcow2 *q, const char *what, uint64_t off,
			     uint64_t len)
{
	if (off & (q->cluster_size - 1)) {
		log_warnx("%s: invalid qcow2 image: %s offset %#" PRIx64
			  " is not cluster aligned", q->name, what, off);
		return -EIO;
	}
	if (off == 0 && len > 0) {
		log_warnx("%s: invalid qcow2 image: %s at offset 0 overlaps "
			  "the header", q->name, what);
		return -EIO;
	}
	if (off > q->file_size || len > q->file_size - off) {
		log_warnx("%s: invalid qcow2 image: %s at %#" PRIx64
			  " (%" PRIu64 " bytes) extends past the end of the "
			  "file (%" PRIu64 " bytes)", q->name, what, off, len,
			  q->file_size);
		return -EIO;
	}
	return 0;
}

static int qcow2_load_l1(struct qcow2 *q)
{
	uint64_t l2_span = (uint64_t)q->cluster_size << q->l2_bits;
	uint64_t need = (q->img->size + l2_span - 1) / l2_span;
	uint8_t *raw;
	int ret;

	if (q->l1_size < need)
		return qcow2_bad(q, "L1 table too small for the virtual size "
				 "(l1_size %" PRIu32 ")", q->l1_size);
	if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return qcow2_bad(q, "L1 table of %" PRIu64 " entries is too "
				 "large", (uint64_t)q->l1_size);
	ret = qcow2_check_table(q, "L1 table", q->l1_table_offset,
				(uint64_t)q->l1_size * 8);
	if (ret < 0)
		return ret;
	q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
	raw = malloc(q->l1_size ? (size_t)q->l1_size * 8 : 1);
	if (q->l1 == NULL || raw == NULL) {
		free(raw);
		return -ENOMEM;
	}
	ret = blk_file_pread(q->img->fd, raw, (size_t)q->l1_size * 8,
			     q->l1_table_offset);
	for (uint32_t i = 0; ret == 0 && i < q->l1_size; i++)
		q->l1[i] = be64_get(raw + 8 * i);
	free(raw);
	return ret;
}

static int qcow2_load_refcounts(struct qcow2 *q)
{
	uint64_t len = (uint64_t)q->rt_clusters * q->cluster_size;
	uint8_t *raw;
	int ret;

	if (len > QCOW2_MAX_RT_BYTES)
		return qcow2_bad(q, "refcount table of %" PRIu64
				 " clusters is too large",
				 (uint64_t)q->rt_clusters);
	ret = qcow2_check_table(q, "refcount table", q->rt_offset, len);
	if (ret < 0)
		return ret;
	raw = malloc(len ? len : 1);
	if (raw == NULL)
		return -ENOMEM;
	ret = blk_file_pread(q->img->fd, raw, len, q->rt_offset);
	if (ret == 0)
		ret = qcow2_refcount_init(q, raw);
	free(raw);
	return ret;
}

static int qcow2_read_backing_name(struct qcow2 *q, const uint8_t *hdr,
				   uint64_t off, uint32_t len)
{
	if (off == 0)
		return 0;
	if (len == 0 || len > QCOW2_MAX_BACKING_NAME ||
	    off >= q->cluster_size || len > q->cluster_size - off)
		return qcow2_bad(q, "backing file name at %#" PRIx64
				 " outside the header cluster", off);
	q->backing_file = strndup((const char *)hdr + off, len);
	if (q->backing_file == NULL)
		return -ENOMEM;
	if (strlen(q->backing_file) != len)
		return qcow2_bad(q, "backing file name contains NUL");
	return 0;
}

static unsigned l2_cache_tables(void)
{
	const char *s = getenv("MICA_QCOW2_L2_CACHE");
	long n = s ? strtol(s, NULL, 10) : 0;

	return n >= 1 && n <= 65536 ? (unsigned)n : L2_CACHE_TABLES_DEFAULT;
}

static void qcow2_close(struct blk_image *img)
{
	struct qcow2 *q = qcow2_of(img);

	if (q == NULL)
		return;
	qcow2_cache_destroy(&q->l2_cache);
	qcow2_cache_destroy(&q->rb_cache);
	qcow2_snapshots_free(q);
	free(q->l1);
	free(q->rt);
	free(q->frees);
	free(q->inflight);
	free(q->cbuf);
	free(q->backing_file);
	free(q);
	img->priv = NULL;
}

static int qcow2_open_checks_rw(struct qcow2 *q)
{
	if (q->img->flags & BLK_OPEN_REPAIR)
		return 0;
	if (q->incompatible & QCOW2_INCOMPAT_CORRUPT) {
		log_warnx("%s: image is marked corrupt; only read-only access "
			  "is allowed (repair with 'mica-img check -r all')",
			  q->name);
		return -EROFS;
	}
	if (q->has_bitmaps || (q->autoclear & QCOW2_AUTOCLEAR_BITMAPS)) {
		log_warnx("%s: writing images with persistent dirty bitmaps "
			  "is not supported yet", q->name);
		return -ENOTSUP;
	}
	return 0;
}

static int qcow2_open(struct blk_image *img)
{
	struct qcow2 *q;
	uint8_t *hdr = NULL;
	uint64_t size = 0, backing_off = 0;
	uint32_t backing_len = 0;
	struct stat st;
	size_t ext_end;
	int ret;

	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	img->priv = q;
	q->img = img;
	q->name = img->filename;
	if (fstat(img->fd, &st) < 0)
		return -errno;
	q->file_size = (uint64_t)st.st_size;
	hdr = calloc(1, 1u << QCOW2_MAX_CLUSTER_BITS);
	if (hdr == NULL)
		return -ENOMEM;
	ret = blk_file_pread(img->fd, hdr, 1u << QCOW2_MAX_CLUSTER_BITS, 0);
	if (ret < 0)
		goto out;
	if (q->file_size < QCOW2_V2_HEADER_LEN) {
		ret = qcow2_bad(q, "file of %" PRIu64 " bytes is shorter than "
				"a header", q->file_size);
		goto out;
	}
	ret = qcow2_parse_header(q, hdr, &size, &backing_off, &backing_len);
	if (ret < 0)
		goto out;
	ext_end = backing_off != 0 && backing_off < q->cluster_size ?
		  backing_off : q->cluster_size;
	ret = qcow2_read_extensions(q, hdr, ext_end);
	if (ret == 0)
		ret = qcow2_read_backing_name(q, hdr, backing_off, backing_len);
	if (ret < 0)
		goto out;
	if (size > (1ull << 55)) {
		ret = qcow2_bad(q, "virtual size %" PRIu64 " too large", size);
		goto out;
	}
	img->size = size;
	q->rb_bits = q->cluster_bits + 3 - q->refcount_order;
	ret = qcow2_load_l1(q);
	if (ret == 0)
		ret = qcow2_load_refcounts(q);
	if (ret == 0)
		ret = qcow2_snapshots_read(q);
	if (ret == 0)
		ret = qcow2_cache_init(&q->l2_cache, l2_cache_tables(),
				       q->cluster_size);
	if (ret == 0)
		ret = qcow2_cache_init(&q->rb_cache, RB_CACHE_TABLES,
				       q->cluster_size);
	if (ret < 0)
		goto out;
	q->cbuf = malloc(q->cluster_size);
	if (q->cbuf == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	if (!img->read_only) {
		ret = qcow2_open_checks_rw(q);
		if (ret == 0 && (q->incompatible & QCOW2_INCOMPAT_DIRTY) &&
		    !(img->flags & BLK_OPEN_REPAIR))
			ret = qcow2_repair_dirty(img);
		if (ret < 0)
			goto out;
	}
	if (q->backing_file != NULL)
		ret = blk_open_backing(img, q->backing_file,
				       q->backing_fmt[0] ? q->backing_fmt : NULL);
out:
	free(hdr);
	if (ret < 0)
		qcow2_close(img);
	return ret;
}

/* Grow the virtual size; the L1 table moves to a bigger place when the
 * new size needs more entries.  Shrinking is not supported yet. */
static int qcow2_truncate(struct blk_image *img, uint64_t size)
{
	struct qcow2 *q = qcow2_of(img);
	uint64_t span = (uint64_t)q->cluster_size << q->l2_bits;
	uint64_t need = (size + span - 1) / span, new_off, old_off;
	uint32_t old_size = q->l1_size;
	uint8_t *raw, hdr[12];
	uint64_t *l1;
	int ret;

	if (size < img->size) {
		log_warnx("%s: shrinking qcow2 images is not supported yet",
			  q->name);
		return -ENOTSUP;
	}
	if (size > (1ull << 55) || need * 8 > QCOW2_MAX_L1_BYTES) {
		log_warnx("%s: size %" PRIu64 " too large", q->name, size);
		return -EFBIG;
	}
	ret = qcow2_flush(img);
	if (ret < 0 || need <= q->l1_size)
		goto set_size;
	l1 = calloc(need, 8);
	raw = calloc(need, 8);
	if (l1 == NULL || raw == NULL) {
		free(l1);
		free(raw);
		return -ENOMEM;
	}
	memcpy(l1, q->l1, (size_t)q->l1_size * 8);
	for (uint64_t i = 0; i < need; i++)
		be64_put(raw + 8 * i, l1[i]);
	ret = qcow2_alloc_clusters(q, qcow2_align_up(need * 8, q->cluster_size)
				   >> q->cluster_bits, &new_off);
	if (ret == 0)
		ret = blk_file_pwrite(img->fd, raw, need * 8, new_off);
	free(raw);
	/* refcounts and the new table on disk before the header moves */
	if (ret == 0)
		ret = qcow2_flush(img);
	if (ret == 0) {
		be32_put(hdr, (uint32_t)need);
		be64_put(hdr + 4, new_off);
		ret = blk_file_pwrite(img->fd, hdr, sizeof(hdr),
				      QCOW2_HDR_L1_SIZE);
	}
	if (ret == 0 && fdatasync(img->fd) < 0)
		ret = -errno;
	if (ret < 0) {
		free(l1);
		return ret;
	}
	old_off = q->l1_table_offset;
	free(q->l1);
	q->l1 = l1;
	q->l1_size = (uint32_t)need;
	q->l1_table_offset = new_off;
	ret = qcow2_free_later(q, old_off, (uint64_t)old_size * 8);
set_size:
	if (ret == 0)
		ret = qcow2_write_header_field(q, QCOW2_HDR_SIZE, size, 8);
	if (ret == 0)
		img->size = size;
	return ret < 0 ? ret : qcow2_flush(img);
}

/* QEMU's rule for a dirty image (lazy refcounts, not closed cleanly):
 * repair the refcounts before the first write, then clear the bit. */
static int qcow2_repair_dirty(struct blk_image *img)
{
	struct qcow2 *q = qcow2_of(img);
	struct blk_check_result res = { .quiet = true };
	int ret;

	log_info("%s: image was not closed cleanly; repairing refcounts",
		 q->name);
	ret = qcow2_check(img, BLK_CHECK_FIX_LEAKS | BLK_CHECK_FIX_ERRORS,
			  &res);
	if (ret == 0 && res.corruptions == 0 && res.check_errors == 0)
		return 0;
	log_warnx("%s: could not repair the dirty image (%" PRIu64
		  " corruptions left)", q->name, res.corruptions);
	return ret < 0 ? ret : -EUCLEAN;
}

static bool qcow2_can_write(const struct blk_image *img)
{
	return true;   /* refusals happen at open (corrupt, dirty, bitmaps) */
}

static bool qcow2_can_snapshot(const struct blk_image *img)
{
	return true;
}

static int qcow2_get_info(struct blk_image *img, struct blk_info *info)
{
	struct qcow2 *q = qcow2_of(img);

	info->cluster_size = q->cluster_size;
	if (q->backing_file)
		snprintf(info->backing_file, sizeof(info->backing_file), "%s",
			 q->backing_file);
	snprintf(info->backing_fmt, sizeof(info->backing_fmt), "%s",
		 q->backing_fmt);
	info->dirty = q->incompatible & QCOW2_INCOMPAT_DIRTY;
	info->is_qcow2 = true;
	info->version = q->version;
	info->refcount_bits = 1u << q->refcount_order;
	info->lazy_refcounts = q->compatible & QCOW2_COMPAT_LAZY_REFCOUNTS;
	info->corrupt = q->incompatible & QCOW2_INCOMPAT_CORRUPT;
	info->extended_l2 = q->incompatible & QCOW2_INCOMPAT_EXTL2;
	info->zstd = q->compression_type == QCOW2_COMPRESSION_ZSTD;
	info->nb_snapshots = q->nb_snapshots;
	return 0;
}

const struct blk_format_ops blk_format_qcow2 = {
	.name = "qcow2",
	.probe = qcow2_probe,
	.create = qcow2_create,
	.open = qcow2_open,
	.close = qcow2_close,
	.can_write = qcow2_can_write,
	.can_snapshot = qcow2_can_snapshot,
	.preadv = qcow2_preadv,
	.pwritev = qcow2_pwritev,
	.flush = qcow2_flush,
	.write_zeroes = qcow2_write_zeroes,
	.discard = qcow2_discard,
	.truncate = qcow2_truncate,
	.write_compressed = qcow2_write_compressed,
	.write_prepare = qcow2_write_prepare,
	.write_commit = qcow2_write_commit,
	.write_abort = qcow2_write_abort,
	.map = qcow2_map,
	.get_info = qcow2_get_info,
	.check = qcow2_check,
	.snapshot_list = qcow2_snapshot_list,
	.snapshot_create = qcow2_snapshot_create,
	.snapshot_apply = qcow2_snapshot_apply,
	.snapshot_delete = qcow2_snapshot_delete,
};

/* qcow2 image creation.
 *
 * Layout: header cluster (header, extensions, backing file name), the
 * refcount table, the refcount blocks counting every initial cluster, an
 * empty L1 table.  Sized in a small fixed-point loop, since the refcount
 * structures count themselves. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qcow2.h"

#define HEADER_LEN_V3 112   /* 104 + compression type byte + padding */

struct layout {
	unsigned cluster_bits;
	uint64_t cs;
	uint64_t l1_size, l1_clusters;
	uint64_t rt_clusters, rb_clusters;
	uint64_t total;
};

static int ilog2_exact(uint64_t v)
{
	int n = 0;

	if (v == 0 || (v & (v - 1)))
		return -1;
	while ((1ull << n) < v)
		n++;
	return n;
}

static int plan_layout(const char *path, const struct blk_create_opts *o,
		       uint64_t size, unsigned refcount_bits, struct layout *l)
{
	uint64_t cs = o->cluster_size ? o->cluster_size : 65536;
	int bits = ilog2_exact(cs);
	uint64_t rb_entries, span;

	if (bits < QCOW2_MIN_CLUSTER_BITS || bits > QCOW2_MAX_CLUSTER_BITS) {
		log_warnx("%s: cluster size must be a power of two between "
			  "512 and 2M", path);
		return -EINVAL;
	}
	l->cluster_bits = (unsigned)bits;
	l->cs = cs;
	span = cs * (cs / 8);
	l->l1_size = (size + span - 1) / span;
	if (l->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		log_warnx("%s: image size too large for cluster size %" PRIu64,
			  path, cs);
		return -EINVAL;
	}
	l->l1_clusters = qcow2_align_up(l->l1_size * 8, cs) / cs;
	if (l->l1_clusters == 0)
		l->l1_clusters = 1;
	rb_entries = cs * 8 / refcount_bits;
	l->rt_clusters = l->rb_clusters = 1;
	for (;;) {
		uint64_t total = 1 + l->rt_clusters + l->rb_clusters +
				 l->l1_clusters;
		uint64_t rb = (total + rb_entries - 1) / rb_entries;
		uint64_t rt = qcow2_align_up(rb * 8, cs) / cs;

		if (rb == l->rb_clusters && rt == l->rt_clusters) {
			l->total = total;
			return 0;
		}
		l->rb_clusters = rb;
		l->rt_clusters = rt;
	}
}

static void set_refcount(uint8_t *rb, uint64_t i, unsigned bits)
{
	switch (bits) {
	case 8: rb[i] = 1; break;
	case 16: be16_put(rb + 2 * i, 1); break;
	case 32: be32_put(rb + 4 * i, 1); break;
	case 64: be64_put(rb + 8 * i, 1); break;
	default: rb[i * bits / 8] |= (uint8_t)(1u << ((i * bits) % 8)); break;
	}
}

static size_t put_extension(uint8_t *p, uint32_t type, const void *data,
			    uint32_t len)
{
	be32_put(p, type);
	be32_put(p + 4, len);
	memcpy(p + 8, data, len);
	return 8 + qcow2_align_up(len, 8);
}

static int write_header(uint8_t *buf, const struct blk_create_opts *o,
			const struct layout *l, uint64_t size,
			unsigned refcount_bits, const char *backing_fmt)
{
	unsigned version = o->compat ? o->compat : 3;
	size_t pos = version >= 3 ? HEADER_LEN_V3 : QCOW2_V2_HEADER_LEN;
	uint64_t rt_off = l->cs;
	uint64_t l1_off = (1 + l->rt_clusters + l->rb_clusters) * l->cs;

	be32_put(buf, QCOW2_MAGIC);
	be32_put(buf + 4, version);
	be32_put(buf + 20, l->cluster_bits);
	be64_put(buf + QCOW2_HDR_SIZE, size);
	be32_put(buf + QCOW2_HDR_L1_SIZE, (uint32_t)l->l1_size);
	be64_put(buf + QCOW2_HDR_L1_OFFSET, l1_off);
	be64_put(buf + QCOW2_HDR_RT_OFFSET, rt_off);
	be32_put(buf + QCOW2_HDR_RT_CLUSTERS, (uint32_t)l->rt_clusters);
	if (version >= 3) {
		be64_put(buf + 72, o->compression_zstd ?
			 QCOW2_INCOMPAT_COMPRESSION : 0);
		be64_put(buf + 80, o->lazy_refcounts ?
			 QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
		be32_put(buf + 96, (uint32_t)ilog2_exact(refcount_bits));
		be32_put(buf + 100, HEADER_LEN_V3);
		buf[104] = o->compression_zstd ? QCOW2_COMPRESSION_ZSTD
					       : QCOW2_COMPRESSION_ZLIB;
	}
	if (backing_fmt != NULL)
		pos += put_extension(buf + pos, QCOW2_EXT_BACKING_FMT,
				     backing_fmt, (uint32_t)strlen(backing_fmt));
	pos += 8;    /* end-of-extensions marker: zeroes */
	if (o->backing_file != NULL) {
		size_t n = strlen(o->backing_file);

		if (n > QCOW2_MAX_BACKING_NAME || pos + n > l->cs)
			return -ENAMETOOLONG;
		be64_put(buf + 8, pos);
		be32_put(buf + 16, (uint32_t)n);
		memcpy(buf + pos, o->backing_file, n);
	}
	return 0;
}

/* Size and format of the backing file, as an opener would find it. */
static int backing_probe(const char *path, const struct blk_create_opts *o,
			 uint64_t *size, char *fmt, size_t fmtlen)
{
	struct blk_image *b;
	char full[4096];
	const char *slash = strrchr(path, '/');
	int ret;

	if (o->backing_file[0] == '/' || slash == NULL)
		snprintf(full, sizeof(full), "%s", o->backing_file);
	else
		snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - path),
			 path, o->backing_file);
	ret = blk_open(full, o->backing_fmt, BLK_OPEN_NO_LOCK, &b);
	if (ret < 0) {
		log_warnx("%s: could not open backing file '%s'", path, full);
		return ret;
	}
	*size = blk_size(b);
	snprintf(fmt, fmtlen, "%s", blk_format_name(b));
	blk_close(b);
	return 0;
}

int qcow2_create(const char *path, const struct blk_create_opts *o)
{
	unsigned refcount_bits = o->refcount_bits ? o->refcount_bits : 16;
	unsigned version = o->compat ? o->compat : 3;
	uint64_t size = o->size, backing_size = 0;
	char backing_fmt[32] = "";
	struct layout l;
	uint8_t *buf;
	size_t len;
	int fd, ret;

	if (version != 2 && version != 3) {
		log_warnx("%s: compat must be 0.10 or 1.1", path);
		return -EINVAL;
	}
	if (ilog2_exact(refcount_bits) < 0 || refcount_bits > 64 ||
	    (version == 2 && refcount_bits != 16)) {
		log_warnx("%s: refcount_bits must be a power of two up to 64 "
			  "(16 for compat=0.10)", path);
		return -EINVAL;
	}
	if (version == 2 && (o->lazy_refcounts || o->compression_zstd)) {
		log_warnx("%s: lazy_refcounts and compression_type need "
			  "compat=1.1", path);
		return -EINVAL;
	}
	if (o->backing_file != NULL) {
		ret = backing_probe(path, o, &backing_size, backing_fmt,
				    sizeof(backing_fmt));
		if (ret < 0)
			return ret;
		if (size == 0)
			size = backing_size;
	}
	ret = plan_layout(path, o, size, refcount_bits, &l);
	if (ret < 0)
		return ret;
	len = (size_t)(l.total * l.cs);
	buf = calloc(1, len);
	if (buf == NULL)
		return -ENOMEM;
	ret = write_header(buf, o, &l, size, refcount_bits,
			   o->backing_file ? backing_fmt : NULL);
	if (ret < 0) {
		log_warnx("%s: backing file name too long", path);
		goto out;
	}
	for (uint64_t i = 0; i < l.rb_clusters; i++)
		be64_put(buf + l.cs + 8 * i, (1 + l.rt_clusters + i) * l.cs);
	for (uint64_t c = 0; c < l.total; c++)
		set_refcount(buf + (1 + l.rt_clusters) * l.cs, c, refcount_bits);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		log_warn("could not create '%s'", path);
		goto out;
	}
	ret = blk_file_pwrite(fd, buf, len, 0);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret < 0)
		log_warnx("%s: writing the new image failed", path);
out:
	free(buf);
	return ret;
}

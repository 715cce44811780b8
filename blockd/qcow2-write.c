/* qcow2 guest clusters, writing side: allocation and copy-on-write,
 * zero clusters, discard, compressed writes, and the ordered flush.
 *
 * Write ordering (qcow2_flush_metadata): guest data and refcount blocks,
 * then the refcount table, fdatasync; then L2 tables, fdatasync; then the
 * L1 table, fdatasync; only then are clusters that metadata stopped
 * using given back.  A crash at any point leaves at worst leaked
 * clusters, never metadata pointing at unwritten data or freed clusters. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qcow2.h"

#define MAX_ALLOC_RUN 256   /* clusters allocated and written in one go */

/* The L2 table for guest offset OFF, made writable: allocated if absent,
 * copied if shared with a snapshot. */
int qcow2_l2_table_for_write(struct qcow2 *q, uint64_t off, uint8_t **table)
{
	uint64_t l1_index = off >> (q->cluster_bits + q->l2_bits);
	uint64_t l1e, old, new_offset;
	uint8_t *copy = NULL;
	int ret;

	if (l1_index >= q->l1_size)
		return -EINVAL;
	l1e = q->l1[l1_index];
	old = l1e & QCOW2_OFFSET_MASK;
	if (old != 0 && (l1e & QCOW2_OFLAG_COPIED))
		return qcow2_l2_lookup(q, off, table);
	if (old != 0) {
		uint8_t *shared;

		ret = qcow2_l2_lookup(q, off, &shared);
		if (ret < 0)
			return ret;
		copy = malloc(q->cluster_size);
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, shared, q->cluster_size);
	}
	ret = qcow2_alloc_clusters(q, 1, &new_offset);
	if (ret == 0)
		ret = qcow2_cache_get(q, &q->l2_cache, new_offset, true, table);
	if (ret == 0 && copy != NULL) {
		memcpy(*table, copy, q->cluster_size);
		ret = qcow2_free_later(q, old, q->cluster_size);
	}
	free(copy);
	if (ret < 0)
		return ret;
	q->l1[l1_index] = new_offset | QCOW2_OFLAG_COPIED;
	q->l1_dirty = true;
	return 0;
}

/* Drop the host clusters an overwritten L2 entry used. */
static int release_entry(struct qcow2 *q, uint64_t e)
{
	uint64_t host, len;

	switch (qcow2_entry_type(q, e)) {
	case QCOW2_CLUSTER_NORMAL:
	case QCOW2_CLUSTER_ZERO_ALLOC:
		return qcow2_free_later(q, e & QCOW2_OFFSET_MASK,
					q->cluster_size);
	case QCOW2_CLUSTER_COMPRESSED:
		qcow2_compressed_range(q, e, &host, &len);
		q->cbuf_entry = 0;
		return qcow2_free_later(q, host, len);
	default:
		return 0;
	}
}

/* Point COUNT entries from guest offset OFF at NEW (or set them to the
 * value NEW when COUNT entries share it, e.g. zero flags), releasing what
 * they pointed at before. */
int qcow2_set_entries(struct qcow2 *q, uint64_t off, uint64_t count,
		       uint64_t first, uint64_t step)
{
	uint64_t index = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	uint8_t *table;
	int ret = qcow2_l2_table_for_write(q, off, &table);

	if (ret < 0)
		return ret;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t old = qcow2_l2_entry(table, index + i);

		be64_put(table + 8 * (index + i), first + i * step);
		ret = release_entry(q, old);
		if (ret < 0)
			return ret;
	}
	qcow2_cache_mark_dirty(&q->l2_cache, table);
	return 0;
}

int qcow2_check_data_write(struct qcow2 *q, uint64_t host, uint64_t len,
			    uint64_t guest)
{
	const char *what = qcow2_metadata_overlap(q, host, len);

	if (what == NULL)
		return 0;
	log_warnx("%s: corrupt qcow2: write to guest offset %#" PRIx64
		  " would overwrite %s at host offset %#" PRIx64
		  "; refusing", q->name, guest, what, host);
	return -EUCLEAN;
}

static int write_iov_at(struct qcow2 *q, const struct iovec *iov, int iovcnt,
			size_t skip, uint64_t len, uint64_t host,
			uint64_t guest)
{
	struct iovec *slice = calloc((size_t)iovcnt + 1, sizeof(*slice));
	int n, ret;

	if (slice == NULL)
		return -ENOMEM;
	ret = qcow2_check_data_write(q, host, len, guest);
	n = blk_iov_slice(iov, iovcnt, skip, len, slice, iovcnt + 1);
	if (ret == 0)
		ret = n < 0 ? n : blk_file_pwritev(q->img->fd, slice, n, host);
	free(slice);
	return ret;
}

/* How many whole clusters from OFF (cluster aligned, at most MAX) need a
 * new host cluster, i.e. are not writable in place. */
int qcow2_count_replaceable(struct qcow2 *q, uint64_t off, uint64_t max,
			     uint64_t *count)
{
	uint64_t index = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	uint64_t entries = 1ull << q->l2_bits;
	uint8_t *table;
	int ret = qcow2_l2_lookup(q, off, &table);

	*count = 0;
	if (ret < 0)
		return ret;
	if (max > MAX_ALLOC_RUN)
		max = MAX_ALLOC_RUN;
	if (max > (1ull << q->rb_bits) / 2)
		max = (1ull << q->rb_bits) / 2;
	while (*count < max && index + *count < entries) {
		uint64_t e = table ? qcow2_l2_entry(table, index + *count) : 0;

		if (qcow2_entry_type(q, e) == QCOW2_CLUSTER_NORMAL &&
		    (e & QCOW2_OFLAG_COPIED))
			break;
		++*count;
	}
	return 0;
}

/* Write into the one cluster at OFF (not wholly covered): read what the
 * guest sees there, overlay, write it to a new cluster. */
static int write_partial_cluster(struct qcow2 *q, const struct iovec *iov,
				 int iovcnt, size_t skip, uint64_t off,
				 uint64_t len)
{
	uint64_t cs = q->cluster_size;
	uint64_t start = off & ~(cs - 1);
	uint64_t visible = q->img->size - start < cs ? q->img->size - start : cs;
	uint64_t host = 0;
	uint8_t *table, *buf = calloc(1, cs);
	int ret;

	if (buf == NULL)
		return -ENOMEM;
	ret = qcow2_l2_table_for_write(q, off, &table);
	if (ret == 0)
		ret = blk_pread(q->img, buf, visible, start);
	if (ret == 0) {
		blk_iov_to_buf(iov, iovcnt, skip, buf + (off - start), len);
		ret = qcow2_alloc_clusters(q, 1, &host);
	}
	if (ret == 0)
		ret = qcow2_check_data_write(q, host, cs, off);
	if (ret == 0)
		ret = blk_file_pwrite(q->img->fd, buf, cs, host);
	if (ret == 0)
		ret = qcow2_set_entries(q, start, 1, host | QCOW2_OFLAG_COPIED, 0);
	free(buf);
	return ret;
}

int qcow2_pwritev(struct blk_image *img, const struct iovec *iov, int iovcnt,
		  uint64_t offset)
{
	struct qcow2 *q = qcow2_of(img);
	uint64_t cs = q->cluster_size;
	size_t total = blk_iov_size(iov, iovcnt), done = 0;
	int ret = 0;

	if (qcow2_inflight_busy(q, offset, total))
		return -EBUSY;       /* a prepared two-phase write owns it */
	while (done < total) {
		uint64_t off = offset + done, rest = total - done;
		uint64_t in = off & (cs - 1);
		struct qcow2_run r;
		uint64_t n;

		ret = qcow2_get_run(q, off, rest, &r);
		if (ret < 0)
			return ret;
		if (r.type == QCOW2_CLUSTER_NORMAL &&
		    (r.entry & QCOW2_OFLAG_COPIED)) {
			/* owned and contiguous: overwrite in place */
			ret = write_iov_at(q, iov, iovcnt, done, r.len, r.host,
					   off);
			n = r.len;
		} else if (in == 0 && (rest >= cs || off + rest == img->size)) {
			uint64_t count = 0, host = 0, whole = rest / cs;
			uint8_t *table;

			/* a partial last cluster only at the end of the disk */
			if (rest % cs && off + rest == img->size)
				whole++;
			/* the L2 table first, so data stays contiguous */
			ret = qcow2_l2_table_for_write(q, off, &table);
			if (ret == 0)
				ret = qcow2_count_replaceable(q, off, whole, &count);
			if (ret == 0)
				ret = qcow2_alloc_clusters(q, count, &host);
			n = count * cs < rest ? count * cs : rest;
			if (ret == 0)
				ret = write_iov_at(q, iov, iovcnt, done, n,
						   host, off);
			if (ret == 0)
				ret = qcow2_set_entries(q, off, count,
						  host | QCOW2_OFLAG_COPIED, cs);
		} else {
			n = cs - in < rest ? cs - in : rest;
			ret = write_partial_cluster(q, iov, iovcnt, done, off,
						    n);
		}
		if (ret < 0)
			return ret;
		done += n;
	}
	return 0;
}

static int zero_partial(struct qcow2 *q, uint64_t off, uint64_t len)
{
	size_t chunk = len < (1u << 20) ? len : (1u << 20);
	uint8_t *zeroes = calloc(1, chunk);
	int ret = 0;

	if (zeroes == NULL)
		return -ENOMEM;
	while (len > 0 && ret == 0) {
		struct iovec iov = {
			.iov_base = zeroes,
			.iov_len = len < chunk ? len : chunk,
		};

		ret = qcow2_pwritev(q->img, &iov, 1, off);
		off += iov.iov_len;
		len -= iov.iov_len;
	}
	free(zeroes);
	return ret;
}

/* Whole clusters from OFF become VALUE (zero flag or unallocated). */
static int set_whole_clusters(struct qcow2 *q, uint64_t off, uint64_t count,
			      uint64_t value)
{
	uint64_t per_table = 1ull << q->l2_bits;

	while (count > 0) {
		uint64_t index = (off >> q->cluster_bits) & (per_table - 1);
		uint64_t n = per_table - index < count ? per_table - index
						       : count;
		int ret = qcow2_set_entries(q, off, n, value, 0);

		if (ret < 0)
			return ret;
		off += n << q->cluster_bits;
		count -= n;
	}
	return 0;
}

int qcow2_write_zeroes(struct blk_image *img, uint64_t offset, uint64_t len)
{
	struct qcow2 *q = qcow2_of(img);
	uint64_t cs = q->cluster_size;
	uint64_t end = offset + len;
	uint64_t first = qcow2_align_up(offset, cs);
	uint64_t last = end == img->size ? qcow2_align_up(end, cs)
					 : end & ~(cs - 1);
	int ret;

	if (q->version < 3 && img->backing != NULL)
		first = last = offset;  /* no zero flag: write real zeroes */
	if (first >= last || first > end)
		return zero_partial(q, offset, len);
	if (first > offset) {
		ret = zero_partial(q, offset, first - offset);
		if (ret < 0)
			return ret;
	}
	ret = set_whole_clusters(q, first, (last - first) >> q->cluster_bits,
				 q->version >= 3 ? QCOW2_OFLAG_ZERO : 0);
	if (ret == 0 && last < end)
		ret = zero_partial(q, last, end - last);
	return ret;
}

int qcow2_discard(struct blk_image *img, uint64_t offset, uint64_t len)
{
	struct qcow2 *q = qcow2_of(img);
	uint64_t cs = q->cluster_size;
	uint64_t end = offset + len;
	uint64_t first = qcow2_align_up(offset, cs);
	uint64_t last = end == img->size ? qcow2_align_up(end, cs)
					 : end & ~(cs - 1);
	uint64_t value = 0;

	if (first >= last)
		return 0;
	if (img->backing != NULL) {
		if (q->version < 3)
			return 0;       /* cannot hide the backing data */
		value = QCOW2_OFLAG_ZERO;
	}
	return set_whole_clusters(q, first, (last - first) >> q->cluster_bits,
				  value);
}

/* Host bytes for LEN bytes of compressed data, packed after the previous
 * compressed cluster when it fits in the same host cluster. */
static int alloc_compressed_bytes(struct qcow2 *q, uint64_t len,
				  uint64_t *host)
{
	uint64_t cs = q->cluster_size;
	uint64_t used = q->compressed_cursor & (cs - 1), rc = 0;
	int ret;

	/* share the cursor's cluster only while its refcount can grow */
	if (q->compressed_cursor != 0 && used != 0 && cs - used >= len) {
		ret = qcow2_refcount_get(q, q->compressed_cursor >>
					 q->cluster_bits, &rc);
		if (ret < 0)
			return ret;
	}
	if (rc != 0 && rc < qcow2_refcount_max(q)) {
		ret = qcow2_refcount_add(q, q->compressed_cursor >>
					 q->cluster_bits, 1);
		if (ret < 0)
			return ret;
		*host = q->compressed_cursor;
	} else {
		ret = qcow2_alloc_clusters(q, 1, host);
		if (ret < 0)
			return ret;
	}
	q->compressed_cursor = *host + len;
	return 0;
}

int qcow2_write_compressed(struct blk_image *img, const void *buf, size_t len,
			   uint64_t offset)
{
	struct qcow2 *q = qcow2_of(img);
	uint64_t cs = q->cluster_size;
	unsigned x = 62 - (q->cluster_bits - 8);
	uint8_t *in = NULL, *out = NULL;
	uint64_t host, nsect;
	struct qcow2_run r;
	long clen;
	int ret;

	if ((offset & (cs - 1)) || len > cs ||
	    (len < cs && offset + len != img->size))
		return -EINVAL;
	ret = qcow2_get_run(q, offset, len, &r);
	if (ret < 0)
		return ret;
	if (r.type != QCOW2_CLUSTER_UNALLOCATED &&
	    r.type != QCOW2_CLUSTER_ZERO_PLAIN) {
		log_warnx("%s: compressed write over an allocated cluster "
			  "(guest offset %#" PRIx64 ") is not supported yet",
			  q->name, offset);
		return -ENOTSUP;
	}
	in = calloc(1, cs);
	out = malloc(cs);
	ret = -ENOMEM;
	if (in == NULL || out == NULL)
		goto out;
	memcpy(in, buf, len);
	clen = qcow2_compress(q, in, cs, out, cs - 1);
	if (clen == -ENOSPC) {
		ret = blk_pwrite(img, buf, len, offset);
		goto out;
	}
	ret = (int)clen;
	if (clen < 0)
		goto out;
	ret = alloc_compressed_bytes(q, (uint64_t)clen, &host);
	if (ret == 0)
		ret = qcow2_check_data_write(q, host, (uint64_t)clen, offset);
	if (ret == 0)
		ret = blk_file_pwrite(img->fd, out, (size_t)clen, host);
	if (ret < 0)
		goto out;
	nsect = ((host + (uint64_t)clen - 1) >> 9) - (host >> 9);
	ret = qcow2_set_entries(q, offset, 1, QCOW2_OFLAG_COMPRESSED |
			  (nsect << x) | host, 0);
out:
	free(in);
	free(out);
	return ret;
}

static bool l2_cache_dirty(const struct qcow2 *q)
{
	for (unsigned i = 0; i < q->l2_cache.n; i++)
		if (q->l2_cache.entries[i].offset && q->l2_cache.entries[i].dirty)
			return true;
	return false;
}

static int write_l1(struct qcow2 *q)
{
	uint8_t *raw = malloc((size_t)q->l1_size * 8 + 1);
	int ret;

	if (raw == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->l1_size; i++)
		be64_put(raw + 8 * i, q->l1[i]);
	ret = blk_file_pwrite(q->img->fd, raw, (size_t)q->l1_size * 8,
			      q->l1_table_offset);
	free(raw);
	if (ret == 0)
		q->l1_dirty = false;
	return ret;
}

static int sync_file(struct qcow2 *q)
{
	if (fdatasync(q->img->fd) < 0) {
		log_warn("%s: fdatasync", q->name);
		return -errno;
	}
	return 0;
}

int qcow2_flush_metadata(struct qcow2 *q)
{
	bool wrote = false;
	int ret;

	if (q->img->read_only)
		return 0;
	ret = qcow2_refcount_write(q, &wrote);
	if (ret < 0)
		return ret;
	if (l2_cache_dirty(q) || q->l1_dirty) {
		/* data and refcounts before the tables that point at them */
		ret = sync_file(q);
		if (ret == 0)
			ret = qcow2_cache_write_dirty(q, &q->l2_cache);
		if (ret == 0 && q->l1_dirty) {
			ret = sync_file(q);
			if (ret == 0)
				ret = write_l1(q);
		}
		if (ret == 0)
			ret = sync_file(q);
	} else if (wrote) {
		ret = sync_file(q);
	}
	if (ret == 0 && q->nfrees > 0) {
		/* nothing on disk uses them any more */
		ret = qcow2_apply_frees(q);
		q->compressed_cursor = 0;
		if (ret == 0)
			ret = qcow2_cache_write_dirty(q, &q->rb_cache);
	}
	return ret;
}

int qcow2_flush(struct blk_image *img)
{
	struct qcow2 *q = qcow2_of(img);
	int ret = qcow2_flush_metadata(q);

	return ret < 0 ? ret : sync_file(q);
}

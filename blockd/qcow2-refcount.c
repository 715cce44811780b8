/* qcow2 refcounts: lookup, update, cluster allocation, deferred frees and
 * the ordered write-back of refcount blocks and the refcount table.
 *
 * The refcount table is held whole in memory and may grow there past its
 * on-disk size; qcow2_refcount_write() then moves it to a bigger place. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qcow2.h"



static uint64_t rb_entry_get(const uint8_t *b, uint64_t i, unsigned order)
{
	switch (order) {
	case 3: return b[i];
	case 4: return be16_get(b + 2 * i);
	case 5: return be32_get(b + 4 * i);
	case 6: return be64_get(b + 8 * i);
	default: {
		unsigned bits = 1u << order;
		unsigned shift = (unsigned)((i * bits) % 8);

		return (b[i * bits / 8] >> shift) & ((1u << bits) - 1);
	}
	}
}

static void rb_entry_set(uint8_t *b, uint64_t i, unsigned order, uint64_t v)
{
	switch (order) {
	case 3: b[i] = (uint8_t)v; break;
	case 4: be16_put(b + 2 * i, (uint16_t)v); break;
	case 5: be32_put(b + 4 * i, (uint32_t)v); break;
	case 6: be64_put(b + 8 * i, v); break;
	default: {
		unsigned bits = 1u << order;
		unsigned shift = (unsigned)((i * bits) % 8);
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);

		b[i * bits / 8] = (uint8_t)((b[i * bits / 8] & ~mask) |
					    ((v << shift) & mask));
	}
	}
}

uint64_t qcow2_refcount_max(const struct qcow2 *q)
{
	return q->refcount_order == 6 ? UINT64_MAX
				      : (1ull << (1u << q->refcount_order)) - 1;
}

int qcow2_refcount_init(struct qcow2 *q, const uint8_t *rt_raw)
{
	uint64_t n = (uint64_t)q->rt_clusters * q->cluster_size / 8;

	q->rt_capacity = n > 16 ? n : 16;
	q->rt = calloc(q->rt_capacity, 8);
	if (q->rt == NULL)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		q->rt[i] = be64_get(rt_raw + 8 * i);
	q->rt_entries = n;
	return 0;
}

/* Fetch the refblock for CLUSTER; *BLOCK = NULL when there is none. */
static int rb_lookup(struct qcow2 *q, uint64_t cluster, uint8_t **block)
{
	uint64_t idx = cluster >> q->rb_bits;
	uint64_t off;

	*block = NULL;
	if (idx >= q->rt_entries)
		return 0;
	off = q->rt[idx] & ~QCOW2_RTE_RESERVED;
	if (off == 0)
		return 0;
	if ((q->rt[idx] & QCOW2_RTE_RESERVED) ||
	    (off & (q->cluster_size - 1)) || off >= q->file_size) {
		log_warnx("%s: corrupt qcow2: refcount table entry %" PRIu64
			  " (%#" PRIx64 ") is %s", q->name, idx, q->rt[idx],
			  off >= q->file_size ? "past the end of the file"
					      : "not cluster aligned");
		return -EUCLEAN;
	}
	return qcow2_cache_get(q, &q->rb_cache, off, false, block);
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc)
{
	uint8_t *block;
	int ret = rb_lookup(q, cluster, &block);

	if (ret < 0)
		return ret;
	*rc = block == NULL ? 0 : rb_entry_get(block, cluster &
				((1ull << q->rb_bits) - 1), q->refcount_order);
	return 0;
}

static int rt_grow(struct qcow2 *q, uint64_t idx)
{
	if (idx >= q->rt_capacity) {
		uint64_t cap = q->rt_capacity;
		uint64_t *rt;

		while (cap <= idx)
			cap *= 2;
		if (cap * 8 > QCOW2_MAX_RT_BYTES) {
			log_warnx("%s: refcount table would exceed %u bytes",
				  q->name, QCOW2_MAX_RT_BYTES);
			return -EFBIG;
		}
		rt = realloc(q->rt, cap * 8);
		if (rt == NULL)
			return -ENOMEM;
		memset(rt + q->rt_capacity, 0, (cap - q->rt_capacity) * 8);
		q->rt = rt;
		q->rt_capacity = cap;
	}
	if (idx >= q->rt_entries)
		q->rt_entries = idx + 1;
	return 0;
}

/* A new refblock for table index IDX, placed inside the range it covers
 * (so it counts itself) and outside the run being allocated. */
static int rb_create(struct qcow2 *q, uint64_t idx, uint8_t **block)
{
	uint64_t first = idx << q->rb_bits;
	uint64_t pos = first;
	int ret;

	while (pos >= q->alloc_lo && pos < q->alloc_hi)
		pos++;
	if (pos >= first + (1ull << q->rb_bits))
		return -ENOSPC;
	ret = rt_grow(q, idx);
	if (ret < 0)
		return ret;
	ret = qcow2_cache_get(q, &q->rb_cache, pos << q->cluster_bits, true,
			      block);
	if (ret < 0)
		return ret;
	rb_entry_set(*block, pos - first, q->refcount_order, 1);
	q->rt[idx] = pos << q->cluster_bits;
	q->rt_dirty = true;
	if ((pos + 1) << q->cluster_bits > q->file_size)
		q->file_size = (pos + 1) << q->cluster_bits;
	return 0;
}

int qcow2_refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t rc)
{
	uint8_t *block;
	int ret;

	ret = rb_lookup(q, cluster, &block);
	if (ret == 0 && block == NULL)
		ret = rb_create(q, cluster >> q->rb_bits, &block);
	if (ret < 0)
		return ret;
	rb_entry_set(block, cluster & ((1ull << q->rb_bits) - 1),
		     q->refcount_order, rc);
	qcow2_cache_mark_dirty(&q->rb_cache, block);
	return 0;
}

int qcow2_refcount_add(struct qcow2 *q, uint64_t cluster, int delta)
{
	uint64_t rc;
	int ret = qcow2_refcount_get(q, cluster, &rc);

	if (ret < 0)
		return ret;
	if ((delta < 0 && rc == 0) ||
	    (delta > 0 && rc == qcow2_refcount_max(q))) {
		log_warnx("%s: refcount of cluster %" PRIu64 " would %s",
			  q->name, cluster, delta < 0 ? "drop below zero"
						      : "overflow");
		return -EUCLEAN;
	}
	return qcow2_refcount_set(q, cluster, delta < 0 ? rc - 1 : rc + 1);
}

int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *offset)
{
	uint64_t start = q->free_hint, i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		uint64_t rc;

		ret = qcow2_refcount_get(q, start + i, &rc);
		if (ret < 0)
			return ret;
		if (rc != 0) {
			start += i + 1;
			i = (uint64_t)-1;
		}
	}
	q->alloc_lo = start;
	q->alloc_hi = start + n;
	for (i = 0; i < n && ret == 0; i++)
		ret = qcow2_refcount_set(q, start + i, 1);
	q->alloc_lo = q->alloc_hi = 0;
	if (ret < 0)
		return ret;
	/* The next search starts after the run, not again over the clusters
	 * this one passed (used, or free but too few in a row), exactly like
	 * QEMU's free_cluster_index; a free lowers the hint again. */
	q->free_hint = start + n;
	if ((start + n) << q->cluster_bits > q->file_size)
		q->file_size = (start + n) << q->cluster_bits;
	*offset = start << q->cluster_bits;
	return 0;
}

int qcow2_free_later(struct qcow2 *q, uint64_t offset, uint64_t len)
{
	uint64_t first = offset >> q->cluster_bits;
	uint64_t last = (offset + len - 1) >> q->cluster_bits;

	if (len == 0)
		return 0;
	if (q->nfrees == q->frees_cap) {
		size_t cap = q->frees_cap ? q->frees_cap * 2 : 64;
		struct qcow2_pending_free *f;

		f = realloc(q->frees, cap * sizeof(*f));
		if (f == NULL)
			return -ENOMEM;
		q->frees = f;
		q->frees_cap = cap;
	}
	q->frees[q->nfrees].offset = first;
	q->frees[q->nfrees].clusters = last - first + 1;
	q->nfrees++;
	return 0;
}

int qcow2_apply_frees(struct qcow2 *q)
{
	for (size_t i = 0; i < q->nfrees; i++) {
		struct qcow2_pending_free *f = &q->frees[i];

		for (uint64_t c = f->offset; c < f->offset + f->clusters; c++) {
			uint64_t rc;
			int ret = qcow2_refcount_add(q, c, -1);

			if (ret == 0)
				ret = qcow2_refcount_get(q, c, &rc);
			if (ret < 0) {
				q->nfrees = 0;
				return ret;
			}
			if (rc == 0) {
				qcow2_cache_forget(&q->l2_cache,
						   c << q->cluster_bits);
				if (c < q->free_hint)
					q->free_hint = c;
			}
		}
	}
	q->nfrees = 0;
	return 0;
}

/* Find a new home for a refcount table that outgrew its clusters. */
static int rt_relocate(struct qcow2 *q, uint64_t *new_off,
		       uint64_t *new_clusters)
{
	for (;;) {
		uint64_t bytes = (q->rt_entries + 16) * 8;
		uint64_t n = qcow2_align_up(bytes, q->cluster_size) >>
			     q->cluster_bits;
		uint64_t off;
		int ret = qcow2_alloc_clusters(q, n, &off);

		if (ret < 0)
			return ret;
		if (q->rt_entries * 8 <= n << q->cluster_bits) {
			*new_off = off;
			*new_clusters = n;
			return 0;
		}
		/* allocating grew the table again; give back, retry */
		for (uint64_t c = 0; c < n; c++) {
			ret = qcow2_refcount_set(q, (off >> q->cluster_bits) + c,
						 0);
			if (ret < 0)
				return ret;
		}
	}
}

int qcow2_refcount_write(struct qcow2 *q, bool *wrote)
{
	uint64_t disk_entries = (uint64_t)q->rt_clusters * q->cluster_size / 8;
	uint64_t new_off = 0, new_clusters = 0, old_off = q->rt_offset;
	uint64_t old_clusters = q->rt_clusters;
	uint8_t *buf;
	size_t len;
	int ret;

	if (q->rt_entries > disk_entries) {
		ret = rt_relocate(q, &new_off, &new_clusters);
		if (ret < 0)
			return ret;
		q->rt_dirty = true;
	}
	for (unsigned i = 0; i < q->rb_cache.n; i++)
		if (q->rb_cache.entries[i].dirty)
			*wrote = true;
	ret = qcow2_cache_write_dirty(q, &q->rb_cache);
	if (ret < 0 || !q->rt_dirty)
		return ret;
	*wrote = true;
	len = (size_t)(new_off ? new_clusters : q->rt_clusters) <<
	      q->cluster_bits;
	buf = calloc(1, len);
	if (buf == NULL)
		return -ENOMEM;
	for (uint64_t i = 0; i < q->rt_entries && i * 8 < len; i++)
		be64_put(buf + 8 * i, q->rt[i]);
	ret = blk_file_pwrite(q->img->fd, buf, len,
			      new_off ? new_off : q->rt_offset);
	free(buf);
	if (ret < 0)
		return ret;
	q->rt_dirty = false;
	if (new_off == 0)
		return 0;
	/* the new table is durable before the header points at it */
	if (fdatasync(q->img->fd) < 0)
		return -errno;
	ret = qcow2_write_header_field(q, QCOW2_HDR_RT_OFFSET, new_off, 8);
	if (ret == 0)
		ret = qcow2_write_header_field(q, QCOW2_HDR_RT_CLUSTERS,
					       new_clusters, 4);
	if (ret < 0)
		return ret;
	q->rt_offset = new_off;
	q->rt_clusters = (uint32_t)new_clusters;
	return qcow2_free_later(q, old_off, old_clusters << q->cluster_bits);
}

/* qcow2 guest clusters, reading side: L1/L2 lookup and validation of
 * every entry before use, reads (through the backing file, zero and
 * compressed clusters) and map.  Writing is in qcow2-write.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qcow2.h"

enum qcow2_cluster_type qcow2_entry_type(const struct qcow2 *q, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return QCOW2_CLUSTER_COMPRESSED;
	if ((e & QCOW2_OFLAG_ZERO) && q->version >= 3)
		return (e & QCOW2_OFFSET_MASK) ? QCOW2_CLUSTER_ZERO_ALLOC
					       : QCOW2_CLUSTER_ZERO_PLAIN;
	if (e & QCOW2_OFFSET_MASK)
		return QCOW2_CLUSTER_NORMAL;
	return QCOW2_CLUSTER_UNALLOCATED;
}

void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry,
			    uint64_t *host, uint64_t *len)
{
	unsigned x = 62 - (q->cluster_bits - 8);
	uint64_t nsect = (entry >> x) & ((1ull << (q->cluster_bits - 8)) - 1);

	*host = entry & ((1ull << x) - 1);
	*len = (nsect + 1) * 512 - (*host & 511);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
			   uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Which fixed metadata structure [off, off+len) overlaps, or NULL. */
const char *qcow2_metadata_overlap(struct qcow2 *q, uint64_t off,
					  uint64_t len)
{
	if (ranges_overlap(off, len, 0, q->cluster_size))
		return "the header";
	if (ranges_overlap(off, len, q->l1_table_offset,
			   (uint64_t)q->l1_size * 8))
		return "the active L1 table";
	if (ranges_overlap(off, len, q->rt_offset,
			   (uint64_t)q->rt_clusters << q->cluster_bits))
		return "the refcount table";
	if (ranges_overlap(off, len, q->snapshots_offset, q->snapshots_size))
		return "the snapshot table";
	for (uint64_t i = 0; i < q->rt_entries; i++)
		if (ranges_overlap(off, len, q->rt[i] & ~QCOW2_RTE_RESERVED,
				   q->rt[i] ? q->cluster_size : 0))
			return "a refcount block";
	return NULL;
}

int qcow2_check_table_offset(struct qcow2 *q, uint64_t off, const char *what,
			     uint64_t where)
{
	const char *why = NULL;

	if (off & (q->cluster_size - 1))
		why = "is not cluster aligned";
	else if (off >= q->file_size)
		why = "points past the end of the file";
	else
		why = qcow2_metadata_overlap(q, off, q->cluster_size) ?
		      "overlaps other metadata" : NULL;
	if (why == NULL)
		return 0;
	log_warnx("%s: corrupt qcow2: %s for guest offset %#" PRIx64
		  " at host offset %#" PRIx64 " %s", q->name, what, where,
		  off, why);
	return -EUCLEAN;
}

/* The L2 table covering guest offset OFF, or *TABLE = NULL if none. */
int qcow2_l2_lookup(struct qcow2 *q, uint64_t off, uint8_t **table)
{
	uint64_t l1_index = off >> (q->cluster_bits + q->l2_bits);
	uint64_t l1e, l2_offset;
	int ret;

	*table = NULL;
	if (l1_index >= q->l1_size)
		return 0;
	l1e = q->l1[l1_index];
	l2_offset = l1e & QCOW2_OFFSET_MASK;
	if (l2_offset == 0)
		return 0;
	/* reserved bits make the offset unaligned or huge: both refused */
	ret = qcow2_check_table_offset(q, l1e & ~QCOW2_OFLAG_COPIED,
				       "L2 table",
				       off & ~(((uint64_t)q->cluster_size <<
						q->l2_bits) - 1));
	if (ret < 0)
		return ret;
	return qcow2_cache_get(q, &q->l2_cache, l2_offset, false, table);
}

/* Validate an L2 entry before trusting it. */
static int l2_entry_check(struct qcow2 *q, uint64_t e, uint64_t guest)
{
	enum qcow2_cluster_type t = qcow2_entry_type(q, e);
	uint64_t host = e & QCOW2_OFFSET_MASK;
	const char *why = NULL;

	if (t == QCOW2_CLUSTER_COMPRESSED) {
		uint64_t len;

		qcow2_compressed_range(q, e, &host, &len);
		if (host >= q->file_size)
			why = "compressed data past the end of the file";
		else if (e & QCOW2_OFLAG_COPIED)
			why = "compressed cluster with the copied flag";
	} else if (e & QCOW2_L2E_RESERVED & ~QCOW2_OFFSET_MASK) {
		why = "reserved bits set";
	} else if (t == QCOW2_CLUSTER_UNALLOCATED && (e & ~QCOW2_OFLAG_COPIED)) {
		why = "zero flag in a version 2 image";
	} else if (host != 0 && (host & (q->cluster_size - 1))) {
		why = "data cluster not cluster aligned";
	} else if (host != 0 && host >= q->file_size) {
		why = "data cluster past the end of the file";
	}
	if (why == NULL)
		return 0;
	log_warnx("%s: corrupt qcow2: L2 entry %#" PRIx64 " for guest offset "
		  "%#" PRIx64 ": %s", q->name, e, guest, why);
	return -EUCLEAN;
}

int qcow2_get_run(struct qcow2 *q, uint64_t off, uint64_t maxlen,
			 struct qcow2_run *r)
{
	uint64_t cs = q->cluster_size;
	uint64_t in = off & (cs - 1);
	uint64_t index = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	uint64_t entries = 1ull << q->l2_bits;
	uint8_t *table;
	int ret = qcow2_l2_lookup(q, off, &table);

	if (ret < 0)
		return ret;
	memset(r, 0, sizeof(*r));
	r->len = cs - in;
	if (table == NULL) {
		/* the whole L2 span is unallocated */
		uint64_t span = (uint64_t)cs << q->l2_bits;

		r->type = QCOW2_CLUSTER_UNALLOCATED;
		r->len = span - (off & (span - 1));
		goto out;
	}
	r->entry = qcow2_l2_entry(table, index);
	ret = l2_entry_check(q, r->entry, off);
	if (ret < 0)
		return ret;
	r->type = qcow2_entry_type(q, r->entry);
	if (r->type == QCOW2_CLUSTER_NORMAL ||
	    r->type == QCOW2_CLUSTER_ZERO_ALLOC)
		r->host = (r->entry & QCOW2_OFFSET_MASK) + in;
	if (r->type == QCOW2_CLUSTER_COMPRESSED)
		goto out;
	for (uint64_t i = index + 1; i < entries && r->len < maxlen; i++) {
		uint64_t e = qcow2_l2_entry(table, i);

		/* same kind, and same ownership: a writer may only treat the
		 * whole run as its own if every cluster in it is */
		if (qcow2_entry_type(q, e) != r->type ||
		    ((e ^ r->entry) & QCOW2_OFLAG_COPIED))
			break;
		if (r->host != 0 &&
		    (e & QCOW2_OFFSET_MASK) != r->host - in + (i - index) * cs)
			break;
		ret = l2_entry_check(q, e, off + (i - index) * cs);
		if (ret < 0)
			return ret;
		r->len += cs;
	}
out:
	if (r->len > maxlen)
		r->len = maxlen;
	return 0;
}

static int read_compressed(struct qcow2 *q, uint64_t entry)
{
	uint64_t host, len;
	uint8_t *in;
	int ret;

	if (q->cbuf_entry == entry)
		return 0;
	qcow2_compressed_range(q, entry, &host, &len);
	if (len > q->file_size - host)
		len = q->file_size - host;
	in = malloc(len);
	if (in == NULL)
		return -ENOMEM;
	ret = blk_file_pread(q->img->fd, in, len, host);
	if (ret == 0)
		ret = qcow2_decompress(q, in, len, q->cbuf, q->cluster_size);
	free(in);
	if (ret < 0) {
		q->cbuf_entry = 0;
		log_warnx("%s: corrupt qcow2: compressed cluster at host "
			  "offset %#" PRIx64 " does not decompress", q->name,
			  host);
		return -EIO;
	}
	q->cbuf_entry = entry;
	return 0;
}

static int read_from_backing(struct qcow2 *q, const struct iovec *iov,
			     int iovcnt, size_t skip, uint64_t off,
			     uint64_t len)
{
	struct blk_image *backing = q->img->backing;
	uint64_t from_backing = 0;

	if (backing != NULL && off < backing->size) {
		struct iovec *slice = calloc((size_t)iovcnt, sizeof(*slice));
		int n, ret;

		if (slice == NULL)
			return -ENOMEM;
		from_backing = backing->size - off < len ? backing->size - off
							 : len;
		n = blk_iov_slice(iov, iovcnt, skip, from_backing, slice,
				  iovcnt);
		ret = n < 0 ? n : blk_preadv(backing, slice, n, off);
		free(slice);
		if (ret < 0)
			return ret;
	}
	blk_iov_memset(iov, iovcnt, skip + from_backing, 0,
		       len - from_backing);
	return 0;
}

int qcow2_preadv(struct blk_image *img, const struct iovec *iov, int iovcnt,
		 uint64_t offset)
{
	struct qcow2 *q = qcow2_of(img);
	size_t total = blk_iov_size(iov, iovcnt), done = 0;
	struct iovec *slice = calloc((size_t)iovcnt + 1, sizeof(*slice));
	int ret = 0;

	if (slice == NULL)
		return -ENOMEM;
	while (done < total && ret == 0) {
		struct qcow2_run r;
		int n;

		ret = qcow2_get_run(q, offset + done, total - done, &r);
		if (ret < 0)
			break;
		switch (r.type) {
		case QCOW2_CLUSTER_NORMAL:
			n = blk_iov_slice(iov, iovcnt, done, r.len, slice,
					  iovcnt + 1);
			ret = n < 0 ? n : blk_file_preadv(img->fd, slice, n,
							   r.host);
			break;
		case QCOW2_CLUSTER_ZERO_PLAIN:
		case QCOW2_CLUSTER_ZERO_ALLOC:
			blk_iov_memset(iov, iovcnt, done, 0, r.len);
			break;
		case QCOW2_CLUSTER_UNALLOCATED:
			ret = read_from_backing(q, iov, iovcnt, done,
						offset + done, r.len);
			break;
		case QCOW2_CLUSTER_COMPRESSED:
			ret = read_compressed(q, r.entry);
			if (ret == 0)
				blk_iov_from_buf(iov, iovcnt, done, q->cbuf +
						 ((offset + done) &
						  (q->cluster_size - 1)),
						 r.len);
			break;
		}
		done += r.len;
	}
	free(slice);
	return ret;
}

int qcow2_map(struct blk_image *img, uint64_t offset, uint64_t len,
	      struct blk_extent *ext)
{
	struct qcow2 *q = qcow2_of(img);
	struct qcow2_run r;
	uint64_t clen;
	int ret = qcow2_get_run(q, offset, len, &r);

	if (ret < 0)
		return ret;
	ext->offset = offset;
	ext->length = r.len;
	ext->allocated = true;
	switch (r.type) {
	case QCOW2_CLUSTER_NORMAL:
		ext->kind = BLK_EXTENT_DATA;
		ext->fd = img->fd;
		ext->host_offset = r.host;
		ext->owned = !img->read_only && (r.entry & QCOW2_OFLAG_COPIED);
		break;
	case QCOW2_CLUSTER_COMPRESSED:
		ext->kind = BLK_EXTENT_COMPRESSED;
		ext->fd = img->fd;
		qcow2_compressed_range(q, r.entry, &ext->host_offset, &clen);
		break;
	case QCOW2_CLUSTER_ZERO_ALLOC:
		ext->host_offset = r.host;
		ext->fd = img->fd;
		ext->kind = BLK_EXTENT_ZERO;
		break;
	case QCOW2_CLUSTER_ZERO_PLAIN:
		ext->kind = BLK_EXTENT_ZERO;
		break;
	case QCOW2_CLUSTER_UNALLOCATED:
		ext->kind = BLK_EXTENT_UNALLOCATED;
		ext->allocated = false;
		break;
	}
	return 0;
}

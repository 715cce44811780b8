/* qcow2 two-phase writes, for a data path that writes guest buffers to
 * the image fd itself (docs/block.md, "The data path and blk_map").
 *
 *   prepare: allocate new clusters (refcounts only), fill in what the
 *            write will not cover from the old content; L2 untouched, so
 *            readers still see the old data and a crash leaks at worst;
 *   (the data path writes its bytes at the granted host offset)
 *   commit:  point the L2 entries at the new clusters (durable at the
 *            next flush, which syncs data before L2 tables);
 *   abort:   give the clusters back.
 *
 * Clusters with a prepared grant are busy: another prepare, or a
 * blk_pwritev, touching them gets -EBUSY until commit or abort. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qcow2.h"

static bool inflight_overlaps(const struct qcow2 *q, uint64_t first,
			      uint64_t count)
{
	for (size_t i = 0; i < q->ninflight; i++)
		if (first < q->inflight[i].first + q->inflight[i].count &&
		    q->inflight[i].first < first + count)
			return true;
	return false;
}

bool qcow2_inflight_busy(const struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t first = off >> q->cluster_bits;
	uint64_t last = (off + len - 1) >> q->cluster_bits;

	return len > 0 && q->ninflight > 0 &&
	       inflight_overlaps(q, first, last - first + 1);
}

static int inflight_add(struct qcow2 *q, uint64_t first, uint64_t count)
{
	if (q->ninflight == q->inflight_cap) {
		size_t cap = q->inflight_cap ? q->inflight_cap * 2 : 16;
		struct qcow2_inflight *n = realloc(q->inflight,
						   cap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		q->inflight = n;
		q->inflight_cap = cap;
	}
	q->inflight[q->ninflight].first = first;
	q->inflight[q->ninflight].count = count;
	q->ninflight++;
	return 0;
}

static int inflight_remove(struct qcow2 *q, const struct blk_write_grant *g)
{
	uint64_t first = g->cluster_start >> q->cluster_bits;

	for (size_t i = 0; i < q->ninflight; i++) {
		if (q->inflight[i].first != first ||
		    q->inflight[i].count != g->clusters)
			continue;
		q->inflight[i] = q->inflight[--q->ninflight];
		return 0;
	}
	log_warnx("%s: no prepared write at guest offset %#" PRIx64,
		  q->name, g->cluster_start);
	return -EINVAL;
}

/* Copy the guest-visible content of the cluster at guest offset START
 * into host cluster HOST. */
static int copy_old_cluster(struct qcow2 *q, uint64_t start, uint64_t host)
{
	uint64_t cs = q->cluster_size;
	uint64_t visible = q->img->size - start < cs ? q->img->size - start
						     : cs;
	uint8_t *buf = calloc(1, cs);
	int ret;

	if (buf == NULL)
		return -ENOMEM;
	ret = blk_pread(q->img, buf, visible, start);
	if (ret == 0)
		ret = blk_file_pwrite(q->img->fd, buf, cs, host);
	free(buf);
	return ret;
}

int qcow2_write_prepare(struct blk_image *img, uint64_t offset, uint64_t len,
			struct blk_write_grant *g)
{
	struct qcow2 *q = qcow2_of(img);
	uint64_t cs = q->cluster_size;
	uint64_t in = offset & (cs - 1), start = offset - in;
	uint64_t count = 0, host = 0, end;
	struct qcow2_run r;
	int ret;

	ret = qcow2_get_run(q, offset, len, &r);
	if (ret < 0)
		return ret;
	if (r.type == QCOW2_CLUSTER_NORMAL && (r.entry & QCOW2_OFLAG_COPIED)) {
		g->offset = offset;
		g->length = r.len;
		g->fd = img->fd;
		g->host_offset = r.host;
		g->in_place = true;
		return 0;
	}
	ret = qcow2_count_replaceable(q, start, (in + len + cs - 1) / cs,
				      &count);
	if (ret < 0)
		return ret;
	if (inflight_overlaps(q, start >> q->cluster_bits, count))
		return -EBUSY;
	ret = qcow2_alloc_clusters(q, count, &host);
	if (ret == 0)
		ret = qcow2_check_data_write(q, host, count * cs, offset);
	end = start + count * cs < offset + len ? start + count * cs
						: offset + len;
	/* what the write leaves uncovered keeps its old content */
	if (ret == 0 && in != 0)
		ret = copy_old_cluster(q, start, host);
	if (ret == 0 && (end & (cs - 1)) && end < img->size &&
	    (in == 0 || ((end - 1) & ~(cs - 1)) != start))
		ret = copy_old_cluster(q, (end - 1) & ~(cs - 1),
				       host + ((end - 1) & ~(cs - 1)) - start);
	if (ret == 0)
		ret = inflight_add(q, start >> q->cluster_bits, count);
	if (ret < 0) {
		if (count > 0 && host != 0)
			qcow2_free_later(q, host, count * cs);
		return ret;
	}
	g->offset = offset;
	g->length = end - offset;
	g->fd = img->fd;
	g->host_offset = host + in;
	g->in_place = false;
	g->cluster_start = start;
	g->new_host = host;
	g->clusters = count;
	return 0;
}

int qcow2_write_commit(struct blk_image *img, const struct blk_write_grant *g)
{
	struct qcow2 *q = qcow2_of(img);
	int ret = inflight_remove(q, g);

	if (ret < 0)
		return ret;
	return qcow2_set_entries(q, g->cluster_start, g->clusters,
				 g->new_host | QCOW2_OFLAG_COPIED,
				 q->cluster_size);
}

int qcow2_write_abort(struct blk_image *img, const struct blk_write_grant *g)
{
	struct qcow2 *q = qcow2_of(img);
	int ret = inflight_remove(q, g);

	if (ret < 0)
		return ret;
	return qcow2_free_later(q, g->new_host,
				g->clusters << q->cluster_bits);
}

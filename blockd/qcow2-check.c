/* qcow2 consistency check and repair, in qemu-img check's terms.
 *
 * Every reference to a host cluster reachable from the header (header,
 * L1 tables of the image and its snapshots, L2 tables, data and
 * compressed clusters, refcount table and blocks, snapshot table) is
 * counted, then compared with the stored refcounts:
 *   refcount < references  -> corruption ("ERROR cluster ...")
 *   refcount > references  -> leak ("Leaked cluster ...")
 * plus the COPIED flags of the active tables (set iff refcount == 1).
 * Repair sets refcounts to the counted references (-r leaks: only where
 * they are too high) and fixes COPIED flags (-r all).  Unlike qemu-img,
 * repair never rebuilds the refcount structures from scratch: it fixes
 * the counts in place, so the file does not grow. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qcow2.h"

struct check {
	struct qcow2 *q;
	struct blk_check_result *res;
	uint32_t *refs;           /* per host cluster */
	uint64_t nclusters;
	uint64_t prev_host;       /* for fragmentation */
	uint8_t *l2;              /* scratch L2 table */
};

/* per-cluster findings go to stderr, as qemu-img prints them */
#define say(ck, ...) \
	do { \
		if (!(ck)->res->quiet) \
			fprintf(stderr, __VA_ARGS__); \
	} while (0)

static void add_ref(struct check *ck, uint64_t off, uint64_t len,
		    const char *what)
{
	uint64_t cs = ck->q->cluster_size;

	if (len == 0)
		return;
	for (uint64_t c = off / cs; c <= (off + len - 1) / cs; c++) {
		if (c >= ck->nclusters) {
			say(ck, "ERROR %s at offset %#" PRIx64 " is past the "
			    "end of the image file\n", what, off);
			ck->res->corruptions++;
			return;
		}
		if (ck->refs[c] < UINT32_MAX)
			ck->refs[c]++;
	}
}

static void check_l2_entry(struct check *ck, uint64_t e, bool active,
			   uint64_t guest)
{
	struct qcow2 *q = ck->q;
	enum qcow2_cluster_type t = qcow2_entry_type(q, e);
	uint64_t host = e & QCOW2_OFFSET_MASK, len;

	switch (t) {
	case QCOW2_CLUSTER_COMPRESSED:
		if (e & QCOW2_OFLAG_COPIED) {
			say(ck, "ERROR: coffset=%#" PRIx64 ": copied flag must "
			    "never be set for compressed clusters\n", host);
			ck->res->corruptions++;
		}
		qcow2_compressed_range(q, e, &host, &len);
		add_ref(ck, host, len, "compressed cluster");
		if (active) {
			ck->res->allocated_clusters++;
			ck->res->compressed_clusters++;
			ck->res->fragmented_clusters++; /* as qemu counts */
		}
		return;
	case QCOW2_CLUSTER_NORMAL:
	case QCOW2_CLUSTER_ZERO_ALLOC:
		if (host & (q->cluster_size - 1)) {
			say(ck, "ERROR offset=%" PRIx64 ": Cluster is not "
			    "properly aligned; L2 entry corrupted.\n", host);
			ck->res->corruptions++;
			return;
		}
		add_ref(ck, host, q->cluster_size, "data cluster");
		if (active) {
			ck->res->allocated_clusters++;
			if (ck->prev_host && host != ck->prev_host + q->cluster_size)
				ck->res->fragmented_clusters++;
			ck->prev_host = host;
		}
		return;
	case QCOW2_CLUSTER_UNALLOCATED:
		if (e != 0 && (e & ~QCOW2_OFLAG_COPIED) != 0) {
			say(ck, "ERROR: invalid L2 entry %#" PRIx64 " for guest "
			    "offset %#" PRIx64 "\n", e, guest);
			ck->res->corruptions++;
		}
		return;
	case QCOW2_CLUSTER_ZERO_PLAIN:
		return;
	}
}

static int walk_l1(struct check *ck, const uint64_t *l1, uint32_t n,
		   bool active)
{
	struct qcow2 *q = ck->q;
	uint64_t entries = 1ull << q->l2_bits;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t l2_offset = l1[i] & QCOW2_OFFSET_MASK;
		int ret;

		if ((l1[i] & ~QCOW2_OFLAG_COPIED) == 0)
			continue;
		if ((l1[i] & QCOW2_L1E_RESERVED) ||
		    (l2_offset & (q->cluster_size - 1))) {
			say(ck, "ERROR l2_offset=%" PRIx64 ": Table is not "
			    "cluster aligned; L1 entry corrupted\n", l2_offset);
			ck->res->corruptions++;
			continue;
		}
		if (l2_offset + q->cluster_size > q->file_size) {
			say(ck, "ERROR l2_offset=%" PRIx64 ": L2 table is past "
			    "the end of the image file\n", l2_offset);
			ck->res->corruptions++;
			continue;
		}
		add_ref(ck, l2_offset, q->cluster_size, "L2 table");
		ck->prev_host = 0;      /* qemu counts fragments per L2 table */
		ret = blk_file_pread(q->img->fd, ck->l2, q->cluster_size,
				     l2_offset);
		if (ret < 0) {
			say(ck, "ERROR: I/O error in check_refcounts_l2\n");
			ck->res->check_errors++;
			continue;
		}
		for (uint64_t j = 0; j < entries; j++)
			check_l2_entry(ck, be64_get(ck->l2 + 8 * j), active,
				       ((uint64_t)i << (q->cluster_bits +
						       q->l2_bits)) |
				       (j << q->cluster_bits));
	}
	return 0;
}

static int walk_snapshots(struct check *ck)
{
	struct qcow2 *q = ck->q;

	add_ref(ck, q->snapshots_offset, q->snapshots_size, "snapshot table");
	for (uint32_t i = 0; i < q->nb_snapshots; i++) {
		struct qcow2_snapshot *s = &q->snapshots[i];
		uint64_t *l1 = calloc(s->l1_size + 1, 8);
		uint8_t *raw = malloc((size_t)s->l1_size * 8 + 1);
		int ret = -ENOMEM;

		if (l1 != NULL && raw != NULL)
			ret = blk_file_pread(q->img->fd, raw,
					     (size_t)s->l1_size * 8,
					     s->l1_table_offset);
		if (ret == 0) {
			for (uint32_t j = 0; j < s->l1_size; j++)
				l1[j] = be64_get(raw + 8 * j);
			add_ref(ck, s->l1_table_offset, (uint64_t)s->l1_size * 8,
				"snapshot L1 table");
			walk_l1(ck, l1, s->l1_size, false);
		} else {
			ck->res->check_errors++;
		}
		free(l1);
		free(raw);
	}
	return 0;
}

static void walk_refcount_structures(struct check *ck)
{
	struct qcow2 *q = ck->q;

	add_ref(ck, q->rt_offset, (uint64_t)q->rt_clusters * q->cluster_size,
		"refcount table");
	for (uint64_t i = 0; i < q->rt_entries; i++) {
		uint64_t off = q->rt[i] & ~QCOW2_RTE_RESERVED;

		if (q->rt[i] == 0)
			continue;
		if (q->rt[i] & QCOW2_RTE_RESERVED) {
			say(ck, "ERROR refcount table entry %" PRIu64 " has "
			    "reserved bits set\n", i);
			ck->res->corruptions++;
			continue;
		}
		if (off & (q->cluster_size - 1)) {
			say(ck, "ERROR refcount block %" PRIu64 " is not "
			    "cluster aligned; refcount table entry corrupted\n",
			    i);
			ck->res->corruptions++;
			continue;
		}
		if (off >= q->file_size) {
			say(ck, "ERROR refcount block %" PRIu64 " is outside "
			    "image\n", i);
			ck->res->corruptions++;
			continue;
		}
		add_ref(ck, off, q->cluster_size, "refcount block");
	}
}

static bool refblock_exists(const struct qcow2 *q, uint64_t cluster)
{
	uint64_t idx = cluster >> q->rb_bits;

	return idx < q->rt_entries && q->rt[idx] != 0;
}

/* First report every mismatch, then repair the ones FIX covers (the
 * order qemu-img prints them in). */
static void compare_refcounts(struct check *ck, unsigned fix)
{
	struct qcow2 *q = ck->q;

	for (int pass = 0; pass < (fix ? 2 : 1); pass++) {
		for (uint64_t c = 0; c < ck->nclusters; c++) {
			uint64_t rc, ref = ck->refs[c];
			bool fixit;

			if (qcow2_refcount_get(q, c, &rc) < 0) {
				/* a bad refblock: skip the clusters it covers */
				if (pass == 0)
					ck->res->check_errors++;
				c |= (1ull << q->rb_bits) - 1;
				continue;
			}
			if (pass == 0 && (ref || rc))
				ck->res->image_end_offset =
					(c + 1) * q->cluster_size;
			if (rc == ref)
				continue;
			fixit = rc > ref ? (fix & BLK_CHECK_FIX_LEAKS)
					 : (fix & BLK_CHECK_FIX_ERRORS);
			/* a missing refblock would have to be placed among
			 * clusters in use: not repaired in place (yet) */
			if (!refblock_exists(q, c))
				fixit = false;
			if (pass == 0) {
				say(ck, "%s cluster %" PRIu64 " refcount=%"
				    PRIu64 " reference=%" PRIu64 "\n",
				    rc > ref ? "Leaked" : "ERROR", c, rc, ref);
				if (!fixit && rc > ref)
					ck->res->leaks++;
				else if (!fixit)
					ck->res->corruptions++;
				continue;
			}
			if (!fixit)
				continue;
			say(ck, "Repairing cluster %" PRIu64 " refcount=%" PRIu64
			    " reference=%" PRIu64 "\n", c, rc, ref);
			if (qcow2_refcount_set(q, c, ref) < 0)
				ck->res->check_errors++;
			else if (rc > ref)
				ck->res->leaks_fixed++;
			else
				ck->res->corruptions_fixed++;
		}
	}
}

/* COPIED must be set exactly on active tables/clusters with refcount 1. */
static void check_copied_flags(struct check *ck, unsigned fix)
{
	struct qcow2 *q = ck->q;
	uint64_t entries = 1ull << q->l2_bits;
	bool fixit = fix & BLK_CHECK_FIX_ERRORS;

	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t l2_offset = q->l1[i] & QCOW2_OFFSET_MASK, rc;
		bool dirty = false;

		if (l2_offset == 0 || (l2_offset & (q->cluster_size - 1)) ||
		    l2_offset + q->cluster_size > q->file_size ||
		    qcow2_refcount_get(q, l2_offset >> q->cluster_bits, &rc) < 0)
			continue;
		if ((rc == 1) != !!(q->l1[i] & QCOW2_OFLAG_COPIED)) {
			say(ck, "%s OFLAG_COPIED L2 cluster: l1_index=%u "
			    "l1_entry=%" PRIx64 " refcount=%" PRIu64 "\n",
			    fixit ? "Repairing" : "ERROR", i, q->l1[i], rc);
			if (fixit) {
				q->l1[i] = l2_offset |
					   (rc == 1 ? QCOW2_OFLAG_COPIED : 0);
				q->l1_dirty = true;
				ck->res->corruptions_fixed++;
			} else {
				ck->res->corruptions++;
			}
		}
		if (blk_file_pread(q->img->fd, ck->l2, q->cluster_size,
				   l2_offset) < 0)
			continue;
		for (uint64_t j = 0; j < entries; j++) {
			uint64_t e = be64_get(ck->l2 + 8 * j);
			enum qcow2_cluster_type t = qcow2_entry_type(q, e);
			uint64_t host = e & QCOW2_OFFSET_MASK;

			if ((t != QCOW2_CLUSTER_NORMAL &&
			     t != QCOW2_CLUSTER_ZERO_ALLOC) ||
			    (host & (q->cluster_size - 1)) ||
			    qcow2_refcount_get(q, host >> q->cluster_bits,
					       &rc) < 0)
				continue;
			if ((rc == 1) == !!(e & QCOW2_OFLAG_COPIED))
				continue;
			say(ck, "%s OFLAG_COPIED data cluster: l2_entry=%"
			    PRIx64 " refcount=%" PRIu64 "\n",
			    fixit ? "Repairing" : "ERROR", e, rc);
			if (!fixit) {
				ck->res->corruptions++;
				continue;
			}
			e = rc == 1 ? e | QCOW2_OFLAG_COPIED
				    : e & ~QCOW2_OFLAG_COPIED;
			be64_put(ck->l2 + 8 * j, e);
			dirty = true;
			ck->res->corruptions_fixed++;
		}
		if (dirty) {
			qcow2_cache_forget(&q->l2_cache, l2_offset);
			if (blk_file_pwrite(q->img->fd, ck->l2,
					    q->cluster_size, l2_offset) < 0)
				ck->res->check_errors++;
		}
	}
}

int qcow2_check(struct blk_image *img, unsigned fix,
		struct blk_check_result *res)
{
	struct qcow2 *q = qcow2_of(img);
	struct check ck = { .q = q, .res = res };
	int ret;

	if (q->has_bitmaps) {
		log_warnx("%s: checking images with persistent bitmaps is not "
			  "supported yet", q->name);
		return -ENOTSUP;
	}
	ret = qcow2_flush_metadata(q);
	if (ret < 0)
		return ret;
	ck.nclusters = qcow2_align_up(q->file_size, q->cluster_size) >>
		       q->cluster_bits;
	ck.refs = calloc(ck.nclusters + 1, sizeof(*ck.refs));
	ck.l2 = malloc(q->cluster_size);
	if (ck.refs == NULL || ck.l2 == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	res->total_clusters = (img->size + q->cluster_size - 1) >>
			      q->cluster_bits;
	add_ref(&ck, 0, q->cluster_size, "header");
	add_ref(&ck, q->l1_table_offset, (uint64_t)q->l1_size * 8, "L1 table");
	walk_l1(&ck, q->l1, q->l1_size, true);
	walk_snapshots(&ck);
	walk_refcount_structures(&ck);
	compare_refcounts(&ck, fix);
	check_copied_flags(&ck, fix);
	if (fix) {
		ret = qcow2_flush_metadata(q);
		if (ret == 0 && res->corruptions == 0 && res->leaks == 0 &&
		    (q->incompatible & (QCOW2_INCOMPAT_DIRTY |
					QCOW2_INCOMPAT_CORRUPT))) {
			q->incompatible &= ~(QCOW2_INCOMPAT_DIRTY |
					     QCOW2_INCOMPAT_CORRUPT);
			ret = qcow2_write_header_field(q, QCOW2_HDR_INCOMPAT,
						       q->incompatible, 8);
		}
	}
out:
	free(ck.refs);
	free(ck.l2);
	return ret;
}

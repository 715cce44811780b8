/* qcow2 internal snapshots: the snapshot table, and snapshot create,
 * apply and delete.
 *
 * A snapshot is a copy of the active L1 table; taking one adds a
 * reference to every L2 table and data cluster the active L1 reaches
 * (the COPIED flags of the active tables are cleared, so later writes
 * copy on write).  The header switches to a new snapshot table with one
 * 12-byte write (nb_snapshots + snapshots_offset) after everything it
 * points at is on disk; references are dropped only after that. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "qcow2.h"

#define SNAP_FIXED_LEN 40

void qcow2_snapshots_free(struct qcow2 *q)
{
	for (uint32_t i = 0; q->snapshots != NULL && i < q->nb_snapshots; i++) {
		free(q->snapshots[i].id);
		free(q->snapshots[i].name);
	}
	free(q->snapshots);
	q->snapshots = NULL;
}

static int snap_bad(struct qcow2 *q, uint32_t i, uint64_t pos,
		    const char *why)
{
	log_warnx("%s: invalid qcow2 image: snapshot %u (table offset %#"
		  PRIx64 "): %s", q->name, i, pos, why);
	return -EIO;
}

/* Parse entry I at BUF+POS (LEN bytes available); *USED gets its size. */
static int snap_parse(struct qcow2 *q, uint32_t i, const uint8_t *buf,
		      uint64_t pos, uint64_t len, uint64_t *used)
{
	struct qcow2_snapshot *s = &q->snapshots[i];
	const uint8_t *p = buf + pos;
	uint16_t id_len, name_len;
	uint64_t need;

	if (len - pos < SNAP_FIXED_LEN)
		return snap_bad(q, i, pos, "truncated entry");
	s->l1_table_offset = be64_get(p);
	s->l1_size = be32_get(p + 8);
	id_len = be16_get(p + 12);
	name_len = be16_get(p + 14);
	s->date_sec = be32_get(p + 16);
	s->date_nsec = be32_get(p + 20);
	s->vm_clock_nsec = be64_get(p + 24);
	s->vm_state_size = be32_get(p + 32);
	s->extra_data_size = be32_get(p + 36);
	s->icount = UINT64_MAX;
	s->vm_state_size_large = s->vm_state_size;
	s->disk_size = q->img->size;
	if (s->extra_data_size > 1024)
		return snap_bad(q, i, pos, "extra data too large");
	need = SNAP_FIXED_LEN + (uint64_t)s->extra_data_size + id_len + name_len;
	if (len - pos < need)
		return snap_bad(q, i, pos, "entry runs past the table");
	if (s->extra_data_size >= 8)
		s->vm_state_size_large = be64_get(p + 40);
	if (s->extra_data_size >= 16)
		s->disk_size = be64_get(p + 48);
	if (s->extra_data_size >= 24)
		s->icount = be64_get(p + 56);
	if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return snap_bad(q, i, pos, "L1 table too large");
	if ((s->l1_table_offset & (q->cluster_size - 1)) ||
	    s->l1_table_offset > q->file_size ||
	    (uint64_t)s->l1_size * 8 > q->file_size - s->l1_table_offset)
		return snap_bad(q, i, pos, "L1 table offset invalid or past "
				"the end of the file");
	p += SNAP_FIXED_LEN + s->extra_data_size;
	s->id = strndup((const char *)p, id_len);
	s->name = strndup((const char *)p + id_len, name_len);
	if (s->id == NULL || s->name == NULL)
		return -ENOMEM;
	*used = qcow2_align_up(need, 8);
	return 0;
}

int qcow2_snapshots_read(struct qcow2 *q)
{
	uint64_t pos = 0, len, used = 0;
	uint8_t *buf;
	int ret = 0;

	if (q->nb_snapshots == 0)
		return 0;
	if (q->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
		log_warnx("%s: invalid qcow2 image: %u snapshots (header "
			  "offset 60)", q->name, q->nb_snapshots);
		return -EIO;
	}
	if ((q->snapshots_offset & (q->cluster_size - 1)) ||
	    q->snapshots_offset == 0 || q->snapshots_offset >= q->file_size) {
		log_warnx("%s: invalid qcow2 image: snapshot table offset %#"
			  PRIx64 " (header offset 64)", q->name,
			  q->snapshots_offset);
		return -EIO;
	}
	len = q->file_size - q->snapshots_offset;
	if (len > (uint64_t)q->nb_snapshots * (SNAP_FIXED_LEN + 1024 + 131072))
		len = (uint64_t)q->nb_snapshots * (SNAP_FIXED_LEN + 1024 + 131072);
	buf = malloc(len);
	q->snapshots = calloc(q->nb_snapshots, sizeof(*q->snapshots));
	if (buf == NULL || q->snapshots == NULL) {
		free(buf);
		return -ENOMEM;
	}
	ret = blk_file_pread(q->img->fd, buf, len, q->snapshots_offset);
	for (uint32_t i = 0; ret == 0 && i < q->nb_snapshots; i++) {
		ret = snap_parse(q, i, buf, pos, len, &used);
		pos += used;
	}
	q->snapshots_size = pos;
	free(buf);
	return ret;
}

int qcow2_snapshot_list(struct blk_image *img, struct blk_snapshot_info *out,
			int max)
{
	struct qcow2 *q = qcow2_of(img);

	for (uint32_t i = 0; i < q->nb_snapshots && (int)i < max; i++) {
		const struct qcow2_snapshot *s = &q->snapshots[i];
		struct blk_snapshot_info *o = &out[i];

		memset(o, 0, sizeof(*o));
		snprintf(o->id, sizeof(o->id), "%s", s->id);
		snprintf(o->name, sizeof(o->name), "%s", s->name);
		o->vm_state_size = s->vm_state_size_large;
		o->date_sec = s->date_sec;
		o->date_nsec = s->date_nsec;
		o->vm_clock_nsec = s->vm_clock_nsec;
		o->icount = s->icount;
		o->disk_size = s->disk_size;
	}
	return (int)q->nb_snapshots;
}

/* ---- changing snapshots ---- */

#define SNAP_EXTRA_LEN 24     /* vm_state_size_large, disk_size, icount */

static uint64_t snap_entry_len(const struct qcow2_snapshot *s)
{
	return qcow2_align_up(SNAP_FIXED_LEN + SNAP_EXTRA_LEN + strlen(s->id) +
			      strlen(s->name), 8);
}

/* Write the table of N snapshots to new clusters; *OFFSET, *LEN. */
static int snap_table_write(struct qcow2 *q, const struct qcow2_snapshot *snaps,
			    uint32_t n, uint64_t *offset, uint64_t *len)
{
	uint64_t total = 0, pos = 0;
	uint8_t *buf;
	int ret;

	for (uint32_t i = 0; i < n; i++)
		total += snap_entry_len(&snaps[i]);
	*len = total;
	*offset = 0;
	if (total == 0)
		return 0;
	buf = calloc(1, total);
	if (buf == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const struct qcow2_snapshot *s = &snaps[i];
		uint8_t *p = buf + pos;
		size_t il = strlen(s->id), nl = strlen(s->name);

		be64_put(p, s->l1_table_offset);
		be32_put(p + 8, s->l1_size);
		be16_put(p + 12, (uint16_t)il);
		be16_put(p + 14, (uint16_t)nl);
		be32_put(p + 16, s->date_sec);
		be32_put(p + 20, s->date_nsec);
		be64_put(p + 24, s->vm_clock_nsec);
		be32_put(p + 32, s->vm_state_size);
		be32_put(p + 36, SNAP_EXTRA_LEN);
		be64_put(p + 40, s->vm_state_size_large);
		be64_put(p + 48, s->disk_size);
		be64_put(p + 56, s->icount);
		memcpy(p + 64, s->id, il);
		memcpy(p + 64 + il, s->name, nl);
		pos += snap_entry_len(s);
	}
	ret = qcow2_alloc_clusters(q, qcow2_align_up(total, q->cluster_size) >>
				   q->cluster_bits, offset);
	if (ret == 0)
		ret = blk_file_pwrite(q->img->fd, buf, total, *offset);
	free(buf);
	return ret;
}

/* Switch the header to a new table, after everything is on disk, then
 * drop the old table. */
static int snap_table_commit(struct qcow2 *q, struct qcow2_snapshot *snaps,
			     uint32_t n)
{
	uint64_t off, len, old_off = q->snapshots_offset;
	uint64_t old_len = q->snapshots_size;
	uint8_t hdr[12];
	int ret = snap_table_write(q, snaps, n, &off, &len);

	if (ret == 0)
		ret = qcow2_flush(q->img);
	if (ret < 0)
		return ret;
	be32_put(hdr, n);
	be64_put(hdr + 4, off);
	ret = blk_file_pwrite(q->img->fd, hdr, sizeof(hdr),
			      QCOW2_HDR_NB_SNAPSHOTS);
	if (ret == 0 && fdatasync(q->img->fd) < 0)
		ret = -errno;
	if (ret < 0)
		return ret;
	q->nb_snapshots = n;
	q->snapshots = snaps;
	q->snapshots_offset = off;
	q->snapshots_size = len;
	return qcow2_free_later(q, old_off, old_len);
}

/* Add DELTA (+1 or -1, the latter deferred until metadata is on disk) to
 * every cluster the L1 table reaches: L2 tables, data, compressed data.
 * DELTA 0 only verifies that +1 is possible everywhere, so that a
 * refcount about to overflow (or a reference to a free cluster) is found
 * before anything changes. */
static int refcount_can_add(struct qcow2 *q, uint64_t cluster)
{
	uint64_t rc;
	int ret = qcow2_refcount_get(q, cluster, &rc);

	if (ret < 0)
		return ret;
	if (rc == 0 || rc == qcow2_refcount_max(q)) {
		log_warnx("%s: corrupt qcow2: cluster %" PRIu64 " has refcount "
			  "%" PRIu64 "; refusing to add a reference (run "
			  "check -r all)", q->name, cluster, rc);
		return -EUCLEAN;
	}
	return 0;
}

static int tree_refcounts(struct qcow2 *q, const uint64_t *l1, uint32_t n,
			  int delta)
{
	uint64_t entries = 1ull << q->l2_bits;
	uint64_t *l2 = malloc(entries * 8);
	int ret = 0;

	if (l2 == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n && ret == 0; i++) {
		uint64_t l2_offset = l1[i] & QCOW2_OFFSET_MASK;
		uint8_t *table;

		if (l2_offset == 0)
			continue;
		ret = qcow2_check_table_offset(q, l2_offset, "L2 table",
					       (uint64_t)i << (q->cluster_bits +
							       q->l2_bits));
		if (ret == 0)
			ret = qcow2_cache_get(q, &q->l2_cache, l2_offset, false,
					      &table);
		if (ret < 0)
			break;
		for (uint64_t j = 0; j < entries; j++)
			l2[j] = be64_get(table + 8 * j);
		for (uint64_t j = 0; j <= entries && ret == 0; j++) {
			uint64_t host, len, e = j < entries ? l2[j] : 0;

			if (j == entries) {
				host = l2_offset;
				len = q->cluster_size;
			} else if (qcow2_entry_type(q, e) ==
				   QCOW2_CLUSTER_COMPRESSED) {
				qcow2_compressed_range(q, e, &host, &len);
			} else if (e & QCOW2_OFFSET_MASK) {
				host = e & QCOW2_OFFSET_MASK;
				len = q->cluster_size;
			} else {
				continue;
			}
			if (delta < 0) {
				ret = qcow2_free_later(q, host, len);
				continue;
			}
			for (uint64_t c = host >> q->cluster_bits;
			     ret == 0 && c <= (host + len - 1) >> q->cluster_bits;
			     c++)
				ret = delta ? qcow2_refcount_add(q, c, 1)
					    : refcount_can_add(q, c);
		}
	}
	free(l2);
	return ret;
}

/* Make the COPIED flags of the active tables say "refcount is 1". */
static int fix_copied_flags(struct qcow2 *q)
{
	uint64_t entries = 1ull << q->l2_bits;

	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t l2_offset = q->l1[i] & QCOW2_OFFSET_MASK, rc;
		uint64_t want;
		uint8_t *table;
		int ret;

		if (l2_offset == 0)
			continue;
		ret = qcow2_refcount_get(q, l2_offset >> q->cluster_bits, &rc);
		if (ret < 0)
			return ret;
		want = l2_offset | (rc == 1 ? QCOW2_OFLAG_COPIED : 0);
		if (q->l1[i] != want) {
			q->l1[i] = want;
			q->l1_dirty = true;
		}
		/* entries of shared tables too: their data is shared as well,
		 * so this only ever clears flags there */
		for (uint64_t j = 0; j < entries; j++) {
			uint64_t e, host;

			ret = qcow2_cache_get(q, &q->l2_cache, l2_offset, false,
					      &table);
			if (ret < 0)
				return ret;
			e = be64_get(table + 8 * j);
			host = e & QCOW2_OFFSET_MASK;
			if (qcow2_entry_type(q, e) == QCOW2_CLUSTER_COMPRESSED ||
			    host == 0)
				continue;
			ret = qcow2_refcount_get(q, host >> q->cluster_bits, &rc);
			if (ret < 0)
				return ret;
			want = rc == 1 ? e | QCOW2_OFLAG_COPIED
				       : e & ~QCOW2_OFLAG_COPIED;
			if (want == e)
				continue;
			/* the refcount lookup may have moved the table */
			ret = qcow2_cache_get(q, &q->l2_cache, l2_offset, false,
					      &table);
			if (ret < 0)
				return ret;
			be64_put(table + 8 * j, want);
			qcow2_cache_mark_dirty(&q->l2_cache, table);
		}
	}
	return 0;
}

static int snap_find(struct qcow2 *q, const char *name_or_id)
{
	for (uint32_t i = 0; i < q->nb_snapshots; i++)
		if (strcmp(q->snapshots[i].id, name_or_id) == 0)
			return (int)i;
	for (uint32_t i = 0; i < q->nb_snapshots; i++)
		if (strcmp(q->snapshots[i].name, name_or_id) == 0)
			return (int)i;
	log_warnx("%s: no snapshot with ID or name '%s'", q->name,
		  name_or_id);
	return -ENOENT;
}

static int l1_write_copy(struct qcow2 *q, const uint64_t *l1, uint32_t n,
			 uint64_t *offset)
{
	uint8_t *raw = calloc(1, (size_t)n * 8 + 8);
	int ret;

	if (raw == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		be64_put(raw + 8 * i, l1[i] & ~QCOW2_OFLAG_COPIED);
	ret = qcow2_alloc_clusters(q, qcow2_align_up((uint64_t)n * 8 + !n,
						     q->cluster_size) >>
				   q->cluster_bits, offset);
	if (ret == 0)
		ret = blk_file_pwrite(q->img->fd, raw, (size_t)n * 8, *offset);
	free(raw);
	return ret;
}

int qcow2_snapshot_create(struct blk_image *img, const char *name)
{
	struct qcow2 *q = qcow2_of(img);
	struct qcow2_snapshot *snaps, *s;
	unsigned long max_id = 0;
	struct timespec now;
	char id[24];
	int ret;

	if (strlen(name) > 65535 || name[0] == '\0') {
		log_warnx("%s: invalid snapshot name", q->name);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < q->nb_snapshots; i++) {
		unsigned long v = strtoul(q->snapshots[i].id, NULL, 10);

		if (strcmp(q->snapshots[i].name, name) == 0) {
			log_warnx("%s: a snapshot named '%s' already exists",
				  q->name, name);
			return -EEXIST;
		}
		if (v > max_id)
			max_id = v;
	}
	if (q->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
		return -EFBIG;
	if (qcow2_refcount_max(q) < 2) {
		log_warnx("%s: refcount_bits=1 cannot count snapshot "
			  "references", q->name);
		return -ENOTSUP;
	}
	snaps = calloc(q->nb_snapshots + 1, sizeof(*snaps));
	if (snaps == NULL)
		return -ENOMEM;
	if (q->nb_snapshots > 0)
		memcpy(snaps, q->snapshots, q->nb_snapshots * sizeof(*snaps));
	s = &snaps[q->nb_snapshots];
	snprintf(id, sizeof(id), "%lu", max_id + 1);
	clock_gettime(CLOCK_REALTIME, &now);
	s->id = strdup(id);
	s->name = strdup(name);
	s->date_sec = (uint32_t)now.tv_sec;
	s->date_nsec = (uint32_t)now.tv_nsec;
	s->disk_size = img->size;
	s->l1_size = q->l1_size;
	ret = s->id && s->name ? qcow2_flush(img) : -ENOMEM;
	/* one more reference to everything; active tables lose COPIED */
	if (ret == 0)
		ret = tree_refcounts(q, q->l1, q->l1_size, 0);
	if (ret == 0)
		ret = tree_refcounts(q, q->l1, q->l1_size, 1);
	if (ret == 0)
		ret = fix_copied_flags(q);
	if (ret == 0)
		ret = l1_write_copy(q, q->l1, q->l1_size, &s->l1_table_offset);
	if (ret == 0) {
		struct qcow2_snapshot *old = q->snapshots;

		ret = snap_table_commit(q, snaps, q->nb_snapshots + 1);
		if (ret == 0) {
			free(old);
			return qcow2_flush(img);
		}
	}
	free(s->id);
	free(s->name);
	free(snaps);
	return ret;
}

int qcow2_snapshot_apply(struct blk_image *img, const char *name_or_id)
{
	struct qcow2 *q = qcow2_of(img);
	int i = snap_find(q, name_or_id);
	struct qcow2_snapshot *s;
	uint64_t *l1 = NULL, *old = NULL;
	uint8_t *raw = NULL;
	int ret;

	if (i < 0)
		return i;
	s = &q->snapshots[i];
	if (s->l1_size > q->l1_size || s->disk_size != img->size) {
		log_warnx("%s: applying a snapshot of a different disk size is "
			  "not supported yet", q->name);
		return -ENOTSUP;
	}
	l1 = calloc(q->l1_size + 1, 8);
	old = malloc(((size_t)q->l1_size + 1) * 8);
	raw = malloc((size_t)s->l1_size * 8 + 1);
	ret = l1 && old && raw ? qcow2_flush(img) : -ENOMEM;
	if (ret == 0)
		ret = blk_file_pread(img->fd, raw, (size_t)s->l1_size * 8,
				     s->l1_table_offset);
	if (ret < 0)
		goto out;
	for (uint32_t j = 0; j < s->l1_size; j++)
		l1[j] = be64_get(raw + 8 * j) & ~QCOW2_OFLAG_COPIED;
	/* the snapshot's tree gains the active reference ... */
	ret = tree_refcounts(q, l1, s->l1_size, 0);
	if (ret == 0)
		ret = tree_refcounts(q, l1, s->l1_size, 1);
	if (ret < 0)
		goto out;
	memcpy(old, q->l1, (size_t)q->l1_size * 8);
	memcpy(q->l1, l1, (size_t)q->l1_size * 8);
	q->l1_dirty = true;
	/* ... and the old active tree loses it once the new L1 is durable */
	ret = tree_refcounts(q, old, q->l1_size, -1);
	if (ret == 0)
		ret = qcow2_flush(img);
	if (ret == 0)
		ret = fix_copied_flags(q);
	if (ret == 0)
		ret = qcow2_flush(img);
	q->cbuf_entry = 0;
out:
	free(l1);
	free(old);
	free(raw);
	return ret;
}

int qcow2_snapshot_delete(struct blk_image *img, const char *name_or_id)
{
	struct qcow2 *q = qcow2_of(img);
	int i = snap_find(q, name_or_id);
	struct qcow2_snapshot gone, *snaps, *old_snaps = q->snapshots;
	uint64_t *l1;
	uint8_t *raw;
	int ret;

	if (i < 0)
		return i;
	gone = q->snapshots[i];
	l1 = calloc(gone.l1_size + 1, 8);
	raw = malloc((size_t)gone.l1_size * 8 + 1);
	snaps = calloc(q->nb_snapshots + 1, sizeof(*snaps));
	ret = l1 && raw && snaps ? qcow2_flush(img) : -ENOMEM;
	if (ret == 0)
		ret = blk_file_pread(img->fd, raw, (size_t)gone.l1_size * 8,
				     gone.l1_table_offset);
	if (ret < 0)
		goto out;
	for (uint32_t j = 0; j < gone.l1_size; j++)
		l1[j] = be64_get(raw + 8 * j);
	memcpy(snaps, q->snapshots, (size_t)i * sizeof(*snaps));
	memcpy(snaps + i, q->snapshots + i + 1,
	       (q->nb_snapshots - (uint32_t)i - 1) * sizeof(*snaps));
	ret = snap_table_commit(q, snaps, q->nb_snapshots - 1);
	if (ret < 0)
		goto out;
	snaps = NULL;                  /* now q->snapshots */
	free(old_snaps);
	free(gone.id);
	free(gone.name);
	/* the header no longer names it: drop its references */
	ret = tree_refcounts(q, l1, gone.l1_size, -1);
	if (ret == 0)
		ret = qcow2_free_later(q, gone.l1_table_offset,
				       (uint64_t)gone.l1_size * 8);
	if (ret == 0)
		ret = qcow2_flush(img);
	if (ret == 0)
		ret = fix_copied_flags(q);
	if (ret == 0)
		ret = qcow2_flush(img);
out:
	free(l1);
	free(raw);
	free(snaps);
	return ret;
}

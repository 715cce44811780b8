/* qcow2 internal snapshots: reading and listing the snapshot table.
 * Creating, applying and deleting snapshots is not supported yet (the
 * ops table leaves those entries NULL, which answers "not supported"). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

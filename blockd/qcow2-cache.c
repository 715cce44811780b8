/* Write-back cache of cluster-sized qcow2 metadata tables.
 *
 * Two instances per image: L2 tables and refcount blocks.  Tables are kept
 * in host memory in on-disk (big-endian) form.  A dirty L2 table may only
 * reach the disk after the refcounts and data it depends on, so evicting
 * one runs the whole ordered metadata flush (qcow2_flush_metadata). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qcow2.h"

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, unsigned cluster_size)
{
	c->entries = calloc(n, sizeof(*c->entries));
	if (c->entries == NULL)
		return -ENOMEM;
	c->n = n;
	c->cluster_size = cluster_size;
	for (unsigned i = 0; i < n; i++) {
		c->entries[i].data = malloc(cluster_size);
		if (c->entries[i].data == NULL)
			return -ENOMEM;
	}
	return 0;
}

void qcow2_cache_destroy(struct qcow2_cache *c)
{
	for (unsigned i = 0; c->entries != NULL && i < c->n; i++)
		free(c->entries[i].data);
	free(c->entries);
	c->entries = NULL;
}

static int cache_write_entry(struct qcow2 *q, struct qcow2_cache_entry *e)
{
	int ret = blk_file_pwrite(q->img->fd, e->data, q->cluster_size,
				  e->offset);

	if (ret < 0) {
		errno = -ret;
		log_warn("%s: writing metadata at %#" PRIx64, q->name,
			 e->offset);
		return ret;
	}
	e->dirty = false;
	return 0;
}

int qcow2_cache_write_dirty(struct qcow2 *q, struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		struct qcow2_cache_entry *e = &c->entries[i];

		if (e->offset != 0 && e->dirty) {
			int ret = cache_write_entry(q, e);

			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static int cache_evict(struct qcow2 *q, struct qcow2_cache *c,
		       struct qcow2_cache_entry *e)
{
	int ret;

	if (!e->dirty)
		return 0;
	if (c == &q->l2_cache) {
		/* refcounts and data first, then this table */
		ret = qcow2_flush_metadata(q);
		if (ret < 0)
			return ret;
		return e->dirty ? cache_write_entry(q, e) : 0;
	}
	/* a refblock may always go out early: more references than
	 * metadata uses is a leak at worst, and frees are deferred */
	return cache_write_entry(q, e);
}

int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t offset,
		    bool fresh, uint8_t **data)
{
	struct qcow2_cache_entry *victim = NULL;
	int ret;

	for (unsigned i = 0; i < c->n; i++) {
		struct qcow2_cache_entry *e = &c->entries[i];

		if (e->offset == offset) {
			e->lru = ++c->clock;
			if (fresh) {
				memset(e->data, 0, c->cluster_size);
				e->dirty = true;
			}
			*data = e->data;
			return 0;
		}
		if (victim == NULL || e->offset == 0 ||
		    (victim->offset != 0 && e->lru < victim->lru))
			victim = e;
	}
	if (victim == NULL)
		return -EINVAL;
	if (victim->offset != 0) {
		ret = cache_evict(q, c, victim);
		if (ret < 0)
			return ret;
	}
	victim->offset = 0;
	if (fresh) {
		memset(victim->data, 0, c->cluster_size);
		victim->dirty = true;
	} else {
		ret = blk_file_pread(q->img->fd, victim->data, c->cluster_size,
				     offset);
		if (ret < 0)
			return ret;
		victim->dirty = false;
	}
	victim->offset = offset;
	victim->lru = ++c->clock;
	*data = victim->data;
	return 0;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, const uint8_t *data)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->entries[i].data == data)
			c->entries[i].dirty = true;
}

void qcow2_cache_forget(struct qcow2_cache *c, uint64_t offset)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->entries[i].offset == offset) {
			c->entries[i].offset = 0;
			c->entries[i].dirty = false;
		}
}

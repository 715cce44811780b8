/* The driver side of a virtqueue, for tests and load generators: builds
 * split or packed rings in a buffer the caller owns, adds buffers, and
 * collects used ones.  It trusts itself; it is not for guest input. */
#ifndef MICA_VQDRIVER_H
#define MICA_VQDRIVER_H

#include <stdbool.h>
#include <stdint.h>

struct vqdrv_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

struct vqdrv {
	bool packed;
	bool event_idx;
	uint16_t size;
	/* rings (host pointers) and their guest addresses */
	void *desc, *avail, *used;          /* packed: desc, driver evt, device evt */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* split state: free descriptors are a list linked through .next */
	uint16_t avail_idx, last_used, free_head, num_free;
	/* packed state */
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	uint16_t chain_len[32768];          /* packed: slots used per buffer id */
};

/* Lay the rings out at host/gpa (which must have room for
 * vqdrv_ring_bytes(size, packed) bytes, zeroed). */
size_t vqdrv_ring_bytes(uint16_t size, bool packed);
void vqdrv_init(struct vqdrv *d, bool packed, uint16_t size, void *host, uint64_t gpa);

/* Offer one request of n buffers under buffer id `id` (packed) / using
 * free descriptors (split; requests may complete in any order).  Returns
 * the id (split: the head) or -1 when the ring is full.  indirect_gpa/indirect_host: place the chain in an
 * indirect table there instead (NULL: direct). */
int vqdrv_add(struct vqdrv *d, const struct vqdrv_buf *bufs, unsigned n, uint16_t id,
	      void *indirect_host, uint64_t indirect_gpa);

/* Collect one used element: 1 with id/len, 0 when none. */
int vqdrv_get_used(struct vqdrv *d, uint16_t *id, uint32_t *len);

#endif

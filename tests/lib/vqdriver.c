#include <string.h>

#include "ipc/virtq.h"
#include "vqdriver.h"

#define ALIGN(x, a) (((x) + (a) - 1) & ~((size_t)(a) - 1))

size_t vqdrv_ring_bytes(uint16_t size, bool packed)
{
	if (packed)
		return ALIGN(vring_packed_desc_size(size), 64) + 2 * 64;
	return ALIGN(vring_split_desc_size(size), 64) +
	       ALIGN(vring_split_avail_size(size), 64) + vring_split_used_size(size);
}

void vqdrv_init(struct vqdrv *d, bool packed, uint16_t size, void *host, uint64_t gpa)
{
	size_t off_avail, off_used;

	memset(d, 0, sizeof(*d));
	d->packed = packed;
	d->size = size;
	if (packed) {
		off_avail = ALIGN(vring_packed_desc_size(size), 64);
		off_used = off_avail + 64;
	} else {
		off_avail = ALIGN(vring_split_desc_size(size), 64);
		off_used = off_avail + ALIGN(vring_split_avail_size(size), 64);
	}
	d->desc = host;
	d->avail = (char *)host + off_avail;
	d->used = (char *)host + off_used;
	if (!packed) {
		struct vring_desc *desc = d->desc;

		for (unsigned i = 0; i < size; i++)
			desc[i].next = (i + 1) % size;
		d->num_free = size;
	}
	d->desc_gpa = gpa;
	d->avail_gpa = gpa + off_avail;
	d->used_gpa = gpa + off_used;
	d->avail_wrap = d->used_wrap = true;
}

static int add_split(struct vqdrv *d, const struct vqdrv_buf *bufs, unsigned n,
		     void *ind_host, uint64_t ind_gpa)
{
	struct vring_desc *desc = d->desc;
	struct vring_avail *avail = d->avail;
	uint16_t head = d->free_head, i = head, last = head;
	unsigned need = ind_host ? 1 : n;

	if (need > d->num_free)
		return -1;
	if (ind_host != NULL) {
		struct vring_desc *t = ind_host;

		for (unsigned k = 0; k < n; k++) {
			t[k].addr = bufs[k].gpa;
			t[k].len = bufs[k].len;
			t[k].flags = (bufs[k].writable ? VRING_DESC_F_WRITE : 0) |
				     (k + 1 < n ? VRING_DESC_F_NEXT : 0);
			t[k].next = k + 1;
		}
		desc[head].addr = ind_gpa;
		desc[head].len = n * sizeof(*t);
		desc[head].flags = VRING_DESC_F_INDIRECT;
	} else {
		/* The chain follows the free list, linked through .next. */
		for (unsigned k = 0; k < n; k++) {
			desc[i].addr = bufs[k].gpa;
			desc[i].len = bufs[k].len;
			desc[i].flags = (bufs[k].writable ? VRING_DESC_F_WRITE : 0) |
					(k + 1 < n ? VRING_DESC_F_NEXT : 0);
			last = i;
			i = desc[i].next;
		}
	}
	d->free_head = ind_host ? desc[head].next : desc[last].next;
	d->num_free -= need;
	avail->ring[d->avail_idx % d->size] = head;
	d->avail_idx++;
	__atomic_store_n(&avail->idx, d->avail_idx, __ATOMIC_RELEASE);
	return head;
}

/* Put the chain starting at head back on the free list. */
static void free_split_chain(struct vqdrv *d, uint16_t head)
{
	struct vring_desc *desc = d->desc;
	uint16_t i = head;
	unsigned count = 1;

	while (desc[i].flags & VRING_DESC_F_NEXT) {
		i = desc[i].next;
		count++;
	}
	desc[i].next = d->free_head;
	d->free_head = head;
	d->num_free += count;
}

static int add_packed(struct vqdrv *d, const struct vqdrv_buf *bufs, unsigned n,
		      uint16_t id, void *ind_host, uint64_t ind_gpa)
{
	struct vring_packed_desc *desc = d->desc;
	uint16_t first = d->next_avail, first_flags = 0, slots = ind_host ? 1 : n;
	uint16_t in_flight = 0;

	for (unsigned i = 0; i < d->size; i++)
		in_flight += d->chain_len[i];
	if (in_flight + slots > d->size)
		return -1;
	for (unsigned i = 0; i < slots; i++) {
		uint16_t slot = d->next_avail;
		uint16_t flags = d->avail_wrap ? VRING_PACKED_DESC_F_AVAIL
					       : VRING_PACKED_DESC_F_USED;

		if (ind_host != NULL) {
			struct vring_packed_desc *t = ind_host;

			for (unsigned k = 0; k < n; k++) {
				t[k].addr = bufs[k].gpa;
				t[k].len = bufs[k].len;
				t[k].flags = bufs[k].writable ? VRING_DESC_F_WRITE : 0;
			}
			desc[slot].addr = ind_gpa;
			desc[slot].len = n * sizeof(*t);
			flags |= VRING_DESC_F_INDIRECT;
		} else {
			desc[slot].addr = bufs[i].gpa;
			desc[slot].len = bufs[i].len;
			flags |= (bufs[i].writable ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < slots ? VRING_DESC_F_NEXT : 0);
		}
		desc[slot].id = id;
		if (i == 0)
			first_flags = flags;
		else
			desc[slot].flags = flags;
		if (++d->next_avail == d->size) {
			d->next_avail = 0;
			d->avail_wrap = !d->avail_wrap;
		}
	}
	d->chain_len[id] = slots;
	__atomic_store_n(&desc[first].flags, first_flags, __ATOMIC_RELEASE);
	return id;
}

int vqdrv_add(struct vqdrv *d, const struct vqdrv_buf *bufs, unsigned n, uint16_t id,
	      void *indirect_host, uint64_t indirect_gpa)
{
	if (d->packed)
		return add_packed(d, bufs, n, id, indirect_host, indirect_gpa);
	return add_split(d, bufs, n, indirect_host, indirect_gpa);
}

int vqdrv_get_used(struct vqdrv *d, uint16_t *id, uint32_t *len)
{
	if (d->packed) {
		struct vring_packed_desc *desc = d->desc;
		uint16_t flags = __atomic_load_n(&desc[d->next_used].flags, __ATOMIC_ACQUIRE);

		if (!!(flags & VRING_PACKED_DESC_F_USED) != d->used_wrap ||
		    !!(flags & VRING_PACKED_DESC_F_AVAIL) != d->used_wrap)
			return 0;
		*id = desc[d->next_used].id;
		*len = desc[d->next_used].len;
		d->next_used += d->chain_len[*id];
		d->chain_len[*id] = 0;
		if (d->next_used >= d->size) {
			d->next_used -= d->size;
			d->used_wrap = !d->used_wrap;
		}
		return 1;
	}
	struct vring_used *used = d->used;

	if (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) == d->last_used)
		return 0;
	*id = used->ring[d->last_used % d->size].id;
	*len = used->ring[d->last_used % d->size].len;
	d->last_used++;
	if (*id < d->size)
		free_split_chain(d, *id);
	/* used_event: interrupt us again as soon as anything more is used. */
	__atomic_store_n(&((struct vring_avail *)d->avail)->ring[d->size], d->last_used,
			 __ATOMIC_RELEASE);
	return 1;
}

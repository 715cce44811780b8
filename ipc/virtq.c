/* Device side of split and packed virtqueues: see virtq.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "virtq.h"

#define load_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define read_once(p)        __atomic_load_n((p), __ATOMIC_RELAXED)

size_t vring_split_desc_size(unsigned num)
{
	return sizeof(struct vring_desc) * num;
}

size_t vring_split_avail_size(unsigned num)
{
	return sizeof(struct vring_avail) + sizeof(uint16_t) * (num + 1);
}

size_t vring_split_used_size(unsigned num)
{
	return sizeof(struct vring_used) + sizeof(struct vring_used_elem) * num +
	       sizeof(uint16_t);
}

size_t vring_packed_desc_size(unsigned num)
{
	return sizeof(struct vring_packed_desc) * num;
}

static int vq_break(struct virtq *vq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Mark the queue broken and log why, once. */
static int vq_break(struct virtq *vq, const char *fmt, ...)
{
	va_list ap;

	if (!vq->broken) {
		va_start(ap, fmt);
		vsnprintf(vq->why, sizeof(vq->why), fmt, ap);
		va_end(ap);
		vq->broken = true;
		log_warnx("virtqueue broken, device needs reset: %s", vq->why);
	}
	return -EIO;
}

static void vq_common_init(struct virtq *vq, const struct gmem *mem,
			   uint16_t size, uint64_t features)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->size = size;
	vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
}

int vq_init_split(struct virtq *vq, const struct gmem *mem, uint16_t size,
		  void *desc, void *avail, void *used, uint64_t features)
{
	if (size == 0 || (size & (size - 1)) != 0 || desc == NULL || avail == NULL ||
	    used == NULL)
		return -EINVAL;
	vq_common_init(vq, mem, size, features);
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	return 0;
}

int vq_init_packed(struct virtq *vq, const struct gmem *mem, uint16_t size,
		   void *desc, void *driver_event, void *device_event, uint64_t features)
{
	if (size == 0 || size > VQ_MAX_SIZE || desc == NULL || driver_event == NULL ||
	    device_event == NULL)
		return -EINVAL;
	vq_common_init(vq, mem, size, features);
	vq->packed = true;
	vq->pdesc = desc;
	vq->driver_event = driver_event;
	vq->device_event = device_event;
	vq->avail_wrap = vq->used_wrap = true;
	return 0;
}

void vq_set_base(struct virtq *vq, uint16_t base)
{
	if (vq->packed) {
		vq->last_avail = vq->used_idx = base & 0x7fff;
		vq->avail_wrap = vq->used_wrap = base >> 15;
	} else {
		vq->last_avail = vq->used_idx = base;
	}
	vq->signalled_valid = false;
}

uint16_t vq_get_base(const struct virtq *vq)
{
	if (vq->packed)
		return vq->last_avail | (uint16_t)(vq->avail_wrap << 15);
	return vq->last_avail;
}

/* Append the guest buffer [addr, addr+len) to elem, split where it
 * crosses from one memory region into the next. */
static int add_buffer(struct virtq *vq, struct vq_elem *elem, uint64_t addr,
		      uint32_t len, bool writable)
{
	if (!writable && elem->nin > 0)
		return vq_break(vq, "device-readable buffer after a writable one");
	while (len > 0) {
		uint64_t room;
		const struct gmem_region *r = gmem_find(vq->mem, addr, &room);
		uint32_t part = len < room ? len : (uint32_t)room;
		struct iovec *iov;

		if (r == NULL)
			return vq_break(vq, "buffer at 0x%llx (%u bytes) is outside guest "
					"memory", (unsigned long long)addr, len);
		if (elem->nout + elem->nin == VQ_MAX_IOV)
			return vq_break(vq, "more than %d buffers in one request", VQ_MAX_IOV);
		iov = &elem->iov[elem->nout + elem->nin];
		iov->iov_base = r->host + (addr - r->gpa);
		iov->iov_len = part;
		if (writable) {
			elem->nin++;
			elem->in_len += part;
		} else {
			elem->nout++;
			elem->out_len += part;
		}
		addr += part;
		len -= part;
	}
	return 0;
}

/* Walk an indirect table of n descriptors (both layouts share the 16-byte
 * shape of addr/len/flags; split uses next, packed is sequential). */
static int walk_indirect(struct virtq *vq, struct vq_elem *elem, uint64_t addr,
			 uint32_t len)
{
	unsigned n = len / 16, count = 0;
	void *table;

	if (!vq->indirect)
		return vq_break(vq, "indirect descriptor without the feature");
	if (len == 0 || len % 16 != 0)
		return vq_break(vq, "indirect table of %u bytes", len);
	table = gmem_gpa(vq->mem, addr, len);
	if (table == NULL)
		return vq_break(vq, "indirect table at 0x%llx outside guest memory",
				(unsigned long long)addr);
	if (vq->packed) {
		struct vring_packed_desc *pd = table;

		for (unsigned i = 0; i < n; i++) {
			struct vring_packed_desc d = {
				read_once(&pd[i].addr), read_once(&pd[i].len), 0,
				read_once(&pd[i].flags),
			};

			if (d.flags & VRING_DESC_F_INDIRECT)
				return vq_break(vq, "nested indirect table");
			if (add_buffer(vq, elem, d.addr, d.len, d.flags & VRING_DESC_F_WRITE) < 0)
				return -EIO;
		}
		return 0;
	}
	for (unsigned i = 0;;) {
		struct vring_desc *sd = (struct vring_desc *)table + i;
		struct vring_desc d = {
			read_once(&sd->addr), read_once(&sd->len), read_once(&sd->flags),
			read_once(&sd->next),
		};

		if (d.flags & VRING_DESC_F_INDIRECT)
			return vq_break(vq, "nested indirect table");
		if (add_buffer(vq, elem, d.addr, d.len, d.flags & VRING_DESC_F_WRITE) < 0)
			return -EIO;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (++count >= n)
			return vq_break(vq, "indirect chain loops or runs past its table");
		if (d.next >= n)
			return vq_break(vq, "indirect next %u beyond table of %u", d.next, n);
		i = d.next;
	}
}

static void elem_reset(struct vq_elem *elem)
{
	elem->nout = elem->nin = 0;
	elem->out_len = elem->in_len = 0;
	elem->ndesc = 0;
}

static int pop_split(struct virtq *vq, struct vq_elem *elem)
{
	uint16_t avail_idx = load_acquire(&vq->avail->idx);
	uint16_t pending = avail_idx - vq->last_avail;
	uint16_t head, i;
	unsigned count = 0;
	bool resubmitted = vq->next_resubmit < vq->nresubmit;

	if (resubmitted) {
		head = vq->resubmit[vq->next_resubmit];
		goto walk;
	}
	if (pending > vq->size)
		return vq_break(vq, "avail index moved by %u in a ring of %u", pending,
				vq->size);
	if (pending == 0)
		return 0;
	head = read_once(&vq->avail->ring[vq->last_avail % vq->size]);
walk:
	if (head >= vq->size)
		return vq_break(vq, "head %u beyond ring of %u", head, vq->size);
	elem_reset(elem);
	elem->id = head;
	for (i = head;;) {
		struct vring_desc d = {
			read_once(&vq->desc[i].addr), read_once(&vq->desc[i].len),
			read_once(&vq->desc[i].flags), read_once(&vq->desc[i].next),
		};

		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (d.flags & VRING_DESC_F_NEXT)
				return vq_break(vq, "indirect descriptor with NEXT set");
			if (count > 0)
				return vq_break(vq, "indirect descriptor inside a chain");
			if (walk_indirect(vq, elem, d.addr, d.len) < 0)
				return -EIO;
			break;
		}
		if (add_buffer(vq, elem, d.addr, d.len, d.flags & VRING_DESC_F_WRITE) < 0)
			return -EIO;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (++count >= vq->size)
			return vq_break(vq, "descriptor chain from head %u loops", head);
		if (d.next >= vq->size)
			return vq_break(vq, "next %u beyond ring of %u", d.next, vq->size);
		i = d.next;
	}
	if (resubmitted)
		vq->next_resubmit++;
	else
		vq->last_avail++;
	if (vq->inflight != NULL) {
		vq->inflight->desc[head].counter = ++vq->inflight_counter;
		store_release(&vq->inflight->desc[head].inflight, 1);
	}
	if (vq->event_idx) {
		/* avail_event sits after the used ring: wake us for the next one. */
		uint16_t *avail_event = (uint16_t *)&vq->used->ring[vq->size];

		store_release(avail_event, vq->last_avail);
	}
	return 1;
}

static int pop_packed(struct virtq *vq, struct vq_elem *elem)
{
	uint16_t i = vq->last_avail, flags;

	/* Only the first descriptor's flags say whether a chain is there: the
	 * driver writes them last. */
	flags = load_acquire(&vq->pdesc[i].flags);
	if (!!(flags & VRING_PACKED_DESC_F_AVAIL) != vq->avail_wrap ||
	    !!(flags & VRING_PACKED_DESC_F_USED) == vq->avail_wrap)
		return 0;
	elem_reset(elem);
	for (;;) {
		struct vring_packed_desc d = {
			read_once(&vq->pdesc[i].addr), read_once(&vq->pdesc[i].len),
			read_once(&vq->pdesc[i].id), read_once(&vq->pdesc[i].flags),
		};

		if (++elem->ndesc > vq->size)
			return vq_break(vq, "packed chain longer than the ring");
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if ((d.flags & VRING_DESC_F_NEXT) || elem->ndesc > 1)
				return vq_break(vq, "indirect descriptor inside a chain");
			if (walk_indirect(vq, elem, d.addr, d.len) < 0)
				return -EIO;
		} else if (add_buffer(vq, elem, d.addr, d.len,
				      d.flags & VRING_DESC_F_WRITE) < 0) {
			return -EIO;
		}
		elem->id = d.id;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (++i == vq->size)
			i = 0;
	}
	vq->last_avail += elem->ndesc;
	if (vq->last_avail >= vq->size) {
		vq->last_avail -= vq->size;
		vq->avail_wrap = !vq->avail_wrap;
	}
	return 1;
}

int vq_pop(struct virtq *vq, struct vq_elem *elem)
{
	if (vq->broken)
		return -EIO;
	return vq->packed ? pop_packed(vq, elem) : pop_split(vq, elem);
}

void vq_push(struct virtq *vq, const struct vq_elem *elem, uint32_t len)
{
	if (vq->broken)
		return;
	if (len > elem->in_len)
		len = elem->in_len;       /* never claim more than the guest gave */
	if (vq->packed) {
		struct vring_packed_desc *d = &vq->pdesc[vq->used_idx];
		uint16_t flags = vq->used_wrap ?
			VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED : 0;

		d->id = elem->id;
		d->len = len;
		if (len > 0)
			flags |= VRING_DESC_F_WRITE;
		store_release(&d->flags, flags);
		vq->used_idx += elem->ndesc;
		if (vq->used_idx >= vq->size) {
			vq->used_idx -= vq->size;
			vq->used_wrap = !vq->used_wrap;
		}
		return;
	}
	if (vq->inflight != NULL)
		vq->inflight->last_batch_head = elem->id;
	vq->used->ring[vq->used_idx % vq->size].id = elem->id;
	vq->used->ring[vq->used_idx % vq->size].len = len;
	vq->used_idx++;
	store_release(&vq->used->idx, vq->used_idx);
	if (vq->inflight != NULL && elem->id < vq->size) {
		/* Used first, then no longer inflight: a crash in between is
		 * repaired from last_batch_head at the next start. */
		store_release(&vq->inflight->desc[elem->id].inflight, 0);
		store_release(&vq->inflight->used_idx, vq->used_idx);
	}
}

/* Has the event index been crossed between old and new (virtio 2.7.10)? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vq_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx;
	bool valid = vq->signalled_valid;

	if (vq->broken)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (vq->packed) {
		uint16_t flags = read_once(&vq->driver_event->flags);
		uint16_t off_wrap, off;

		if (flags != VRING_PACKED_EVENT_FLAG_DESC)
			return flags == VRING_PACKED_EVENT_FLAG_ENABLE;
		if (!vq->event_idx || !valid)
			return true;
		off_wrap = read_once(&vq->driver_event->off_wrap);
		off = off_wrap & 0x7fff;
		/* Express the event offset in the used counter's wrap. */
		if ((off_wrap >> 15) != vq->used_wrap)
			off -= vq->size;
		if (now < old)
			old -= vq->size;
		return need_event(off, now, old);
	}
	if (!vq->event_idx)
		return !(read_once(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	return need_event(read_once(&vq->avail->ring[vq->size]), now, old);
}

void vq_enable_notify(struct virtq *vq, bool enable)
{
	if (vq->packed) {
		store_release(&vq->device_event->flags,
			      enable ? VRING_PACKED_EVENT_FLAG_ENABLE
				     : VRING_PACKED_EVENT_FLAG_DISABLE);
		return;
	}
	if (vq->event_idx) {
		if (enable)
			store_release((uint16_t *)&vq->used->ring[vq->size], vq->last_avail);
		return;
	}
	store_release(&vq->used->flags, enable ? 0 : VRING_USED_F_NO_NOTIFY);
}

size_t vq_inflight_region_size(uint16_t queue_size)
{
	size_t n = sizeof(struct vq_inflight_split) +
		   (size_t)queue_size * sizeof(struct vq_inflight_desc);

	return (n + 63) & ~(size_t)63;
}

static int cmp_counter(const void *a, const void *b, void *arg)
{
	const struct vq_inflight_split *r = arg;
	uint64_t x = r->desc[*(const uint16_t *)a].counter;
	uint64_t y = r->desc[*(const uint16_t *)b].counter;

	return x < y ? -1 : x > y;
}

int vq_inflight_attach(struct virtq *vq, struct vq_inflight_split *r)
{
	uint16_t ring_used;
	unsigned n = 0;

	vq_inflight_detach(vq);
	if (vq->packed) {
		log_warnx("inflight tracking of packed rings not supported yet");
		return -ENOTSUP;
	}
	if (r->version == 0) {
		/* A fresh region from GET_INFLIGHT_FD. */
		r->version = 1;
		r->desc_num = vq->size;
		r->used_idx = vq->used_idx;
	}
	if (r->desc_num != vq->size) {
		log_warnx("inflight region is for %u descriptors, the ring has %u",
			  r->desc_num, vq->size);
		return -EINVAL;
	}
	ring_used = load_acquire(&vq->used->idx);
	/* The last batch reached the used ring but was not cleared here. */
	if (r->used_idx != ring_used && r->last_batch_head < vq->size)
		r->desc[r->last_batch_head].inflight = 0;
	r->used_idx = ring_used;
	vq->resubmit = calloc(vq->size, sizeof(*vq->resubmit));
	if (vq->resubmit == NULL)
		return -ENOMEM;
	for (uint16_t i = 0; i < vq->size; i++) {
		if (r->desc[i].inflight == 1) {
			vq->resubmit[n++] = i;
			if (r->desc[i].counter > vq->inflight_counter)
				vq->inflight_counter = r->desc[i].counter;
		} else if (r->desc[i].inflight != 0) {
			r->desc[i].inflight = 0;   /* garbage from the front-end */
		}
	}
	qsort_r(vq->resubmit, n, sizeof(*vq->resubmit), cmp_counter, r);
	vq->nresubmit = n;
	vq->next_resubmit = 0;
	vq->inflight = r;
	if (n > 0) {
		/* The front-end resumes us at the used index; the heads in
		 * flight sit between it and where the avail ring goes on. */
		vq->used_idx = ring_used;
		vq->last_avail = ring_used + n;
		log_info("resubmitting %u request(s) an earlier back-end left in flight", n);
	}
	return 0;
}

void vq_inflight_detach(struct virtq *vq)
{
	free(vq->resubmit);
	vq->resubmit = NULL;
	vq->nresubmit = vq->next_resubmit = 0;
	vq->inflight = NULL;
}

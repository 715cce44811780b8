/* virtio-blk request handling over vhost-user: see blk.h. */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "aio.h"
#include "virtio_blk.h"
#include "iov.h"
#include "log.h"

#define VBLK_SEG_MAX        (VQ_MAX_IOV - 2)
#define VBLK_ASYNC          (-EINPROGRESS)
#define VBLK_POOL           128          /* requests in flight per device */

/* One request from pop to push: a pool of them lets many be in flight. */
struct vblk_req {
	struct vq_elem elem;
	struct vblk_req *next_free;
	unsigned queue;
	uint64_t len;                 /* data bytes the I/O must move */
	bool is_read;
	struct iovec data[VQ_MAX_IOV];
	int ndata;
};
#define VBLK_MAX_DISCARD    (1u << 22)    /* sectors per discard: 2 GiB */

static struct vblk_dev *vblk_of(struct vu_dev *vu)
{
	return vu->priv;
}

static void fill_config(const struct vblk_dev *b, struct virtio_blk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->capacity = b->capacity / VBLK_SECTOR;
	c->seg_max = VBLK_SEG_MAX;
	c->blk_size = VBLK_SECTOR;
	c->wce = b->writeback;
	c->num_queues = b->num_queues;
	c->max_discard_sectors = VBLK_MAX_DISCARD;
	c->max_discard_seg = 1;
	c->discard_sector_alignment = 4096 / VBLK_SECTOR;
	c->max_write_zeroes_sectors = VBLK_MAX_DISCARD;
	c->max_write_zeroes_seg = 1;
	c->write_zeroes_may_unmap = 1;
}

static int blk_get_config(struct vu_dev *vu, uint32_t offset, uint8_t *buf, uint32_t len)
{
	struct virtio_blk_config c;

	fill_config(vblk_of(vu), &c);
	if (offset >= sizeof(c))
		return 0;                  /* past our config: zeroes */
	if (len > sizeof(c) - offset)
		len = sizeof(c) - offset;
	memcpy(buf, (uint8_t *)&c + offset, len);
	return 0;
}

static int blk_set_config(struct vu_dev *vu, uint32_t offset, const uint8_t *buf,
			  uint32_t len)
{
	struct vblk_dev *b = vblk_of(vu);

	/* Only the writeback byte is writable (VIRTIO_BLK_F_CONFIG_WCE). */
	if (offset != offsetof(struct virtio_blk_config, wce) || len != 1 || buf[0] > 1) {
		log_warnx("config write of %u bytes at %u refused", len, offset);
		return -EINVAL;
	}
	b->writeback = buf[0];
	return 0;
}

/* The byte range a request touches, checked against the capacity. */
static bool in_range(const struct vblk_dev *b, uint64_t sector, uint64_t len)
{
	uint64_t off = sector * VBLK_SECTOR;

	return sector <= b->capacity / VBLK_SECTOR && off + len >= off && off + len <= b->capacity;
}

#define VBLK_STATUS_ASYNC 0xff   /* not a status: the request went to io_uring */
#define VBLK_STATUS_PARK  0xfe   /* not a status: waits for the backend's provider */

static uint8_t status_of(int err)
{
	return err == -ENOTCONN ? VBLK_STATUS_PARK : err == 0 ? VIRTIO_BLK_S_OK
							      : VIRTIO_BLK_S_IOERR;
}

static uint8_t do_rw(struct vblk_dev *b, struct vq_elem *e, const struct virtio_blk_outhdr *h,
		     size_t *written)
{
	struct iovec data[VQ_MAX_IOV];
	bool is_read = h->type == VIRTIO_BLK_T_IN;
	uint64_t len = is_read ? e->in_len - 1 : e->out_len - sizeof(*h);
	int64_t host;
	int n, err;

	if (len % VBLK_SECTOR != 0 || !in_range(b, h->sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (!is_read && b->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (is_read)
		n = iov_slice(e->iov + e->nout, e->nin, 0, len, data, VQ_MAX_IOV);
	else
		n = iov_slice(e->iov, e->nout, sizeof(*h), len, data, VQ_MAX_IOV);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	host = h->sector * VBLK_SECTOR;
	if (b->aio != NULL && (is_read || b->writeback) && b->backend->fast != NULL)
		host = b->backend->fast(b->backend_opaque, h->sector * VBLK_SECTOR, len, !is_read);
	if (b->aio != NULL && (is_read || b->writeback) && host >= 0) {
		struct vblk_req *r = (struct vblk_req *)((char *)e - offsetof(struct vblk_req, elem));

		memcpy(r->data, data, n * sizeof(*data));
		r->ndata = n;
		r->len = len;
		r->is_read = is_read;
		if (vblk_aio_rw(b->aio, r, is_read, r->data, n, host) < 0) {
			vblk_aio_submit(b->aio);      /* make room, then once more */
			if (vblk_aio_rw(b->aio, r, is_read, r->data, n, host) < 0)
				return VIRTIO_BLK_S_IOERR;
		}
		is_read ? b->stats.reads++ : b->stats.writes++;
		return VBLK_STATUS_ASYNC;
	}
	if (is_read) {
		err = b->backend->readv(b->backend_opaque, data, n, h->sector * VBLK_SECTOR);
		b->stats.reads++;
		if (err == 0)
			*written = len;
	} else {
		err = b->backend->writev(b->backend_opaque, data, n, h->sector * VBLK_SECTOR);
		if (err == 0 && !b->writeback)
			err = b->backend->flush(b->backend_opaque);
		b->stats.writes++;
	}
	return status_of(err);
}

static uint8_t do_discard(struct vblk_dev *b, struct vq_elem *e, uint32_t type)
{
	struct virtio_blk_discard_write_zeroes seg;
	uint64_t off, len;
	int err;

	/* One segment (max_discard_seg / max_write_zeroes_seg are 1). */
	if (e->out_len != sizeof(struct virtio_blk_outhdr) + sizeof(seg) || b->read_only)
		return VIRTIO_BLK_S_IOERR;
	iov_to_buf(e->iov, e->nout, sizeof(struct virtio_blk_outhdr), &seg, sizeof(seg));
	if (seg.num_sectors > VBLK_MAX_DISCARD || (seg.flags & ~1u) != 0 ||
	    (type == VIRTIO_BLK_T_DISCARD && seg.flags != 0))
		return VIRTIO_BLK_S_UNSUPP;
	off = seg.sector * VBLK_SECTOR;
	len = (uint64_t)seg.num_sectors * VBLK_SECTOR;
	if (!in_range(b, seg.sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (b->backend->drain_first)
		vblk_drain(b);
	if (type == VIRTIO_BLK_T_DISCARD) {
		err = b->backend->discard(b->backend_opaque, off, len);
		b->stats.discards++;
	} else {
		err = b->backend->write_zeroes(b->backend_opaque, off, len, seg.flags & 1);
		b->stats.write_zeroes++;
	}
	return status_of(err);
}

int vblk_handle_request(struct vblk_dev *b, struct vq_elem *e)
{
	struct virtio_blk_outhdr h;
	size_t written = 0;
	uint8_t status;

	/* Without a header to read and a status byte to write, there is no
	 * way to answer: the driver is broken. */
	if (e->in_len < 1 || iov_to_buf(e->iov, e->nout, 0, &h, sizeof(h)) != sizeof(h))
		return -EIO;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = do_rw(b, e, &h, &written);
		if (status == VBLK_STATUS_ASYNC)
			return VBLK_ASYNC;
		break;
	case VIRTIO_BLK_T_FLUSH:
		b->stats.flushes++;
		if (b->aio != NULL && b->backend->drain_first) {
			vblk_drain(b);
		} else if (b->aio != NULL) {
			struct vblk_req *r = (struct vblk_req *)((char *)e -
							     offsetof(struct vblk_req, elem));

			r->len = 0;
			r->is_read = false;
			if (vblk_aio_flush(b->aio, r) == 0)
				return VBLK_ASYNC;
			/* Queue full: flush synchronously after what is queued. */
			while (vblk_aio_inflight(b->aio) > 0 && vblk_aio_wait(b->aio) == 0)
				;
		}
		status = status_of(b->backend->flush(b->backend_opaque));
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (e->in_len - 1 < VIRTIO_BLK_ID_BYTES) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		iov_from_buf(e->iov + e->nout, e->nin, 0, b->serial, VIRTIO_BLK_ID_BYTES);
		written = VIRTIO_BLK_ID_BYTES;
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = do_discard(b, e, h.type);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
	}
	if (status == VBLK_STATUS_PARK) {
		/* Retried whole by vblk_resume once the provider is back. */
		struct vblk_req *r = (struct vblk_req *)((char *)e -
						     offsetof(struct vblk_req, elem));

		r->next_free = NULL;
		*b->parked_tail = r;
		b->parked_tail = &r->next_free;
		b->paused = true;
		return VBLK_ASYNC;
	}
	if (status != VIRTIO_BLK_S_OK)
		b->stats.errors++;
	iov_from_buf(e->iov + e->nout, e->nin, e->in_len - 1, &status, 1);
	return written + 1;
}

static struct vblk_req *req_get(struct vblk_dev *b)
{
	struct vblk_req *r = b->free_reqs;

	if (r != NULL)
		b->free_reqs = r->next_free;
	return r;
}

static void req_put(struct vblk_dev *b, struct vblk_req *r)
{
	r->next_free = b->free_reqs;
	b->free_reqs = r;
}

static void queue_broken(struct vblk_dev *b, unsigned qi, uint16_t id)
{
	struct virtq *vq = &b->vu.q[qi].vq;

	vq->broken = true;
	snprintf(vq->why, sizeof(vq->why), "request without header or status");
	log_warnx("queue %u: request %u has no header or status byte; device needs reset",
		  qi, id);
	vu_queue_report_error(&b->vu, qi);
}

static void blk_queue_kick(struct vu_dev *vu, unsigned qi)
{
	struct vblk_dev *b = vblk_of(vu);
	struct virtq *vq = &vu->q[qi].vq;
	bool pushed = false;

	log_debug("blk", "queue %u kicked", qi);
	b->starved &= ~(1u << qi);
	while (!b->paused) {
		struct vblk_req *r = req_get(b);
		int written;

		if (r == NULL) {
			b->starved |= 1u << qi;   /* resumed when requests complete */
			break;
		}
		if (vq_pop(vq, &r->elem) != 1) {
			req_put(b, r);
			break;
		}
		r->queue = qi;
		written = vblk_handle_request(b, &r->elem);
		if (written == VBLK_ASYNC)
			continue;
		if (written < 0) {
			req_put(b, r);
			queue_broken(b, qi, r->elem.id);
			break;
		}
		vq_push(vq, &r->elem, written);
		req_put(b, r);
		pushed = true;
	}
	if (b->aio != NULL) {
		vblk_aio_submit(b->aio);
		/* Collect what finished inline; one interrupt covers both. */
		if (!b->in_completion) {
			b->in_completion = true;
			vblk_aio_poll(b->aio);
			b->in_completion = false;
			pushed |= (b->completed >> qi) & 1;
			for (unsigned q = 0; q < b->num_queues; q++)
				if (q != qi && (b->completed & (1u << q)))
					vu_queue_notify(vu, q);
			b->completed = 0;
		}
	}
	if (pushed)
		vu_queue_notify(vu, qi);
	if (vq->broken)
		vu_queue_report_error(vu, qi);
}

/* An io_uring request finished: status byte, push, interrupt. */
static void blk_aio_done(void *arg, void *req, int res)
{
	struct vblk_dev *b = arg;
	struct vblk_req *r = req;
	struct vu_queue *q = &b->vu.q[r->queue];
	uint8_t status = VIRTIO_BLK_S_OK;
	size_t written = 0;

	if (res < 0 || (uint64_t)res != r->len) {
		/* A short transfer on a regular file: finish it synchronously. */
		int err = res < 0 ? res : 0;

		if (err == 0) {
			struct iovec rest[VQ_MAX_IOV];
			int n = iov_slice(r->data, r->ndata, res, r->len - res, rest, VQ_MAX_IOV);
			uint64_t off;

			iov_to_buf(r->elem.iov, r->elem.nout, 8, &off, sizeof(off));
			off = off * VBLK_SECTOR + res;
			err = n < 0 ? -EIO
			      : r->is_read ? b->backend->readv(b->backend_opaque, rest, n, off)
					   : b->backend->writev(b->backend_opaque, rest, n, off);
		}
		if (err < 0) {
			status = VIRTIO_BLK_S_IOERR;
			b->stats.errors++;
		}
	}
	if (r->is_read && status == VIRTIO_BLK_S_OK)
		written = r->len;
	if (q->started) {
		iov_from_buf(r->elem.iov + r->elem.nout, r->elem.nin, r->elem.in_len - 1,
			     &status, 1);
		vq_push(&q->vq, &r->elem, written + 1);
		b->completed |= 1u << r->queue;
	}
	req_put(b, r);
	if (b->in_completion)
		return;
	/* Outside a drain: interrupt the drivers and refill starved queues. */
	b->in_completion = true;
	for (unsigned qi = 0; qi < b->num_queues; qi++) {
		if (b->completed & (1u << qi))
			vu_queue_notify(&b->vu, qi);
		if ((b->starved & (1u << qi)) && b->vu.q[qi].started)
			blk_queue_kick(&b->vu, qi);
	}
	b->completed = 0;
	b->in_completion = false;
}

/* Before queue qi stops, every request still in flight must complete:
 * with a single io_uring, wait for all of them. */
void vblk_drain(struct vblk_dev *b)
{
	bool nested = b->in_completion;

	if (b->aio == NULL)
		return;
	b->in_completion = true;
	vblk_aio_submit(b->aio);
	while (vblk_aio_inflight(b->aio) > 0 && vblk_aio_wait(b->aio) == 0)
		;
	b->in_completion = nested;
	if (nested)
		return;                   /* the caller notifies */
	for (unsigned q = 0; q < b->num_queues; q++)
		if ((b->completed & (1u << q)) && b->vu.q[q].started)
			vu_queue_notify(&b->vu, q);
	b->completed = 0;
}

static void blk_queue_drain(struct vu_dev *vu, unsigned qi)
{
	vblk_drain(vblk_of(vu));
}

/* Parked requests go back to the pool (a new front-end resubmits them
 * from its inflight buffer). */
static void drop_parked(struct vblk_dev *b)
{
	while (b->parked != NULL) {
		struct vblk_req *r = b->parked;

		b->parked = r->next_free;
		req_put(b, r);
	}
	b->parked_tail = &b->parked;
}

void vblk_resume(struct vblk_dev *b)
{
	bool pushed[VU_MAX_QUEUES] = { false };

	b->paused = false;
	while (b->parked != NULL && !b->paused) {
		struct vblk_req *r = b->parked;
		int written;

		b->parked = r->next_free;
		if (b->parked == NULL)
			b->parked_tail = &b->parked;
		written = vblk_handle_request(b, &r->elem);
		if (written == VBLK_ASYNC)
			continue;             /* io_uring, or parked again */
		if (b->vu.q[r->queue].started && written >= 0) {
			vq_push(&b->vu.q[r->queue].vq, &r->elem, written);
			pushed[r->queue] = true;
		}
		req_put(b, r);
	}
	if (b->aio != NULL)
		vblk_aio_submit(b->aio);
	for (unsigned q = 0; q < b->num_queues; q++) {
		if (pushed[q])
			vu_queue_notify(&b->vu, q);
		if (!b->paused && b->vu.q[q].started)
			blk_queue_kick(&b->vu, q);
	}
}

int vblk_enable_uring(struct vblk_dev *b, struct evloop *loop, int fd)
{
	return vblk_aio_create(&b->aio, fd, VBLK_POOL, loop, blk_aio_done, b);
}

int vblk_init(struct vblk_dev *b, const struct vblk_backend_ops *backend, void *opaque,
		 uint64_t capacity, bool read_only, unsigned num_queues, const char *serial)
{
	uint64_t features;

	if (num_queues == 0 || num_queues > VU_MAX_QUEUES)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->reqs = calloc(VBLK_POOL, sizeof(*b->reqs));
	if (b->reqs == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < VBLK_POOL; i++)
		req_put(b, &b->reqs[i]);
	b->parked_tail = &b->parked;
	b->backend = backend;
	b->backend_opaque = opaque;
	b->capacity = capacity & ~(VBLK_SECTOR - 1);
	b->read_only = read_only;
	b->writeback = true;
	b->num_queues = num_queues;
	/* The serial is 20 bytes, NUL-padded, not NUL-terminated when full. */
	memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial)));
	features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
		   (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_RING_PACKED) |
		   (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		   (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_CONFIG_WCE) |
		   (1ULL << VIRTIO_BLK_F_MQ) | (1ULL << VIRTIO_BLK_F_TOPOLOGY);
	if (read_only)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	b->vu_ops = (struct vu_dev_ops){
		.name = "vhost-user-blk",
		.features = features,
		.protocol_features = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
				     (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
				     (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |
				     (1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD),
		.num_queues = num_queues,
		.get_config = blk_get_config,
		.set_config = blk_set_config,
		.queue_kick = blk_queue_kick,
		.queue_drain = blk_queue_drain,
	};
	return 0;
}

int vblk_serve(struct vblk_dev *b, struct evloop *loop, int sock)
{
	drop_parked(b);
	return vu_dev_attach(&b->vu, loop, sock, &b->vu_ops, b);
}

/* virtio-blk request handling over vhost-user: see blk.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio_blk.h"
#include "iov.h"
#include "log.h"

#define VBLK_SEG_MAX        (VQ_MAX_IOV - 2)
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

static uint8_t do_rw(struct vblk_dev *b, struct vq_elem *e, const struct virtio_blk_outhdr *h,
		     size_t *written)
{
	struct iovec data[VQ_MAX_IOV];
	bool is_read = h->type == VIRTIO_BLK_T_IN;
	uint64_t len = is_read ? e->in_len - 1 : e->out_len - sizeof(*h);
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
	return err == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
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
	if (type == VIRTIO_BLK_T_DISCARD) {
		err = b->backend->discard(b->backend_opaque, off, len);
		b->stats.discards++;
	} else {
		err = b->backend->write_zeroes(b->backend_opaque, off, len, seg.flags & 1);
		b->stats.write_zeroes++;
	}
	return err == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
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
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = b->backend->flush(b->backend_opaque) == 0 ? VIRTIO_BLK_S_OK
								     : VIRTIO_BLK_S_IOERR;
		b->stats.flushes++;
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
	if (status != VIRTIO_BLK_S_OK)
		b->stats.errors++;
	iov_from_buf(e->iov + e->nout, e->nin, e->in_len - 1, &status, 1);
	return written + 1;
}

static void blk_queue_kick(struct vu_dev *vu, unsigned qi)
{
	static struct vq_elem elem;
	struct vblk_dev *b = vblk_of(vu);
	struct virtq *vq = &vu->q[qi].vq;
	bool pushed = false;
	int rc;

	log_debug("blk", "queue %u kicked", qi);
	while ((rc = vq_pop(vq, &elem)) == 1) {
		int written = vblk_handle_request(b, &elem);

		if (written < 0) {
			vq->broken = true;
			snprintf(vq->why, sizeof(vq->why), "request without header or status");
			log_warnx("queue %u: request %u has no header or status byte; "
				  "device needs reset", qi, elem.id);
			break;
		}
		vq_push(vq, &elem, written);
		pushed = true;
	}
	if (pushed)
		vu_queue_notify(vu, qi);
	if (vq->broken)
		vu_queue_report_error(vu, qi);
}

int vblk_init(struct vblk_dev *b, const struct vblk_backend_ops *backend, void *opaque,
		 uint64_t capacity, bool read_only, unsigned num_queues, const char *serial)
{
	uint64_t features;

	if (num_queues == 0 || num_queues > VU_MAX_QUEUES)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
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
				     (1ULL << VHOST_USER_PROTOCOL_F_CONFIG),
		.num_queues = num_queues,
		.get_config = blk_get_config,
		.set_config = blk_set_config,
		.queue_kick = blk_queue_kick,
	};
	return 0;
}

int vblk_serve(struct vblk_dev *b, struct evloop *loop, int sock)
{
	return vu_dev_attach(&b->vu, loop, sock, &b->vu_ops, b);
}

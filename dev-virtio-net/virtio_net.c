/* virtio-net over vhost-user: see virtio_net.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio_net.h"
#include "iov.h"
#include "log.h"

#define VNET_TX_IOV    64        /* payload segments of one frame (tap.c's limit) */
#define VNET_MIN_FRAME 14        /* an Ethernet header */

#define BIT(b) (1ULL << (b))

/* Receive offloads a guest can accept, as features and as the subset
 * CTRL_GUEST_OFFLOADS may switch. */
#define VNET_GUEST_OFFLOADS (BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) | \
			     BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_ECN) | \
			     BIT(VIRTIO_NET_F_GUEST_UFO))

/* Config space up to and including duplex (virtio 1.2, 5.1.4). */
struct vnet_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
	uint32_t speed;
	uint8_t duplex;
} __attribute__((packed));

/* Per-pair transmit batch: popped requests, their headers and payloads. */
struct vnet_txbuf {
	struct vq_elem elems[VNET_TX_BATCH];
	struct virtio_net_hdr_v1 hdrs[VNET_TX_BATCH];
	struct iovec iov[VNET_TX_BATCH][VNET_TX_IOV];
	struct tap_tx frames[VNET_TX_BATCH];
};

struct vnet_watch {
	struct vnet_dev *n;
	unsigned pair;
};

static struct vnet_txbuf *txbuf[VNET_MAX_PAIRS];
static struct vnet_watch watch[VNET_MAX_PAIRS];
static bool watch_registered[VNET_MAX_PAIRS];

static struct vnet_dev *vnet_of(struct vu_dev *vu)
{
	return vu->priv;
}

static unsigned ctrl_queue(const struct vnet_dev *n)
{
	return 2 * n->max_pairs;
}

/* The header the guest and we exchange: 12 bytes with VERSION_1 or
 * mergeable buffers, else the legacy 10. */
static size_t hdr_len(const struct vnet_dev *n)
{
	return vu_has_feature(&n->vu, VIRTIO_F_VERSION_1) ||
	       vu_has_feature(&n->vu, VIRTIO_NET_F_MRG_RXBUF) ? 12 : 10;
}

/* Give back the last popped request (the library has no rewind yet):
 * the ring is read again from there on the next pop. */
static void vq_unpop(struct virtq *vq, const struct vq_elem *e)
{
	if (!vq->packed) {
		vq->last_avail--;
		return;
	}
	if (vq->last_avail < e->ndesc) {
		vq->last_avail += vq->size;
		vq->avail_wrap = !vq->avail_wrap;
	}
	vq->last_avail -= e->ndesc;
}

static void vq_fail(struct virtq *vq, unsigned qi, const char *why)
{
	if (!vq->broken)
		log_warnx("queue %u: %s; device needs reset", qi, why);
	vq->broken = true;
	snprintf(vq->why, sizeof(vq->why), "%s", why);
}

/* ---- watching the backend ---------------------------------------------- */

static bool queue_live(const struct vnet_dev *n, unsigned qi)
{
	return n->vu.sock >= 0 && n->vu.q[qi].started && n->vu.q[qi].enabled &&
	       !n->vu.q[qi].vq.broken;
}

/* Does the guest want frames on pair p now?  The control queue limits
 * the pairs only when it is ours: a front-end that keeps the control
 * queue (QEMU) enables and disables rings itself. */
static bool rx_usable(const struct vnet_dev *n, unsigned p)
{
	if (!queue_live(n, 2 * p))
		return false;
	if (vu_has_feature(&n->vu, VIRTIO_NET_F_MQ) && n->vu.q[ctrl_queue(n)].started)
		return p < n->active_pairs;
	return p == 0 || vu_has_feature(&n->vu, VIRTIO_NET_F_MQ);
}

static void watch_update(struct vnet_dev *n, unsigned p)
{
	struct vnet_pair *pr = &n->pair[p];
	int rfd, tfd;

	if (n->loop == NULL || !watch_registered[p])
		return;
	rfd = n->be->ops->rx_fd(n->be, p);
	tfd = n->be->ops->tx_fd(n->be, p);
	if (rfd >= 0 && rfd == tfd) {
		evloop_mod(n->loop, rfd, (pr->rx_watching ? EPOLLIN : 0) |
					 (pr->tx_blocked ? EPOLLOUT : 0));
		return;
	}
	if (rfd >= 0)
		evloop_mod(n->loop, rfd, pr->rx_watching ? EPOLLIN : 0);
	if (tfd >= 0)
		evloop_mod(n->loop, tfd, pr->tx_blocked ? EPOLLOUT : 0);
}

static void tx_resume(struct vnet_dev *n, unsigned p);

static void on_backend_fd(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vnet_watch *w = arg;
	struct vnet_dev *n = w->n;

	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & (EPOLLIN | EPOLLOUT))) {
		log_warnx("backend fd of pair %u failed; no longer watched", w->pair);
		evloop_del(loop, fd);
		watch_registered[w->pair] = false;
		return;
	}
	if (events & EPOLLOUT)
		tx_resume(n, w->pair);
	if (events & EPOLLIN)
		vnet_rx_ready(n, w->pair);
}

static int watch_register(struct vnet_dev *n, unsigned p)
{
	int rfd = n->be->ops->rx_fd(n->be, p), tfd = n->be->ops->tx_fd(n->be, p);
	int err = 0;

	if (watch_registered[p])
		return 0;
	watch[p] = (struct vnet_watch){ n, p };
	if (rfd >= 0)
		err = evloop_add(n->loop, rfd, 0, on_backend_fd, &watch[p]);
	if (err == 0 && tfd >= 0 && tfd != rfd)
		err = evloop_add(n->loop, tfd, 0, on_backend_fd, &watch[p]);
	if (err == 0)
		watch_registered[p] = true;
	return err;
}

/* ---- offloads ------------------------------------------------------------ */

static void apply_offloads(struct vnet_dev *n, uint64_t guest_offloads)
{
	int err;

	if (n->offloads_valid && n->offloads_applied == guest_offloads)
		return;
	err = n->be->ops->set_offload(n->be, guest_offloads);
	if (err < 0)
		log_warnx("%s: receive offloads 0x%llx: %s", n->be->ops->name,
			  (unsigned long long)guest_offloads, strerror(-err));
	n->offloads_applied = guest_offloads;
	n->offloads_valid = true;
}

/* ---- transmit: guest -> backend ------------------------------------------ */

static bool tx_header_ok(const struct vnet_dev *n, const struct virtio_net_hdr_v1 *h,
			 size_t len)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return false;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!vu_has_feature(&n->vu, VIRTIO_NET_F_CSUM) ||
		    (size_t)h->csum_start + h->csum_offset + 2 > len)
			return false;
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    (gso == VIRTIO_NET_HDR_GSO_NONE || !vu_has_feature(&n->vu, VIRTIO_NET_F_HOST_ECN)))
		return false;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!vu_has_feature(&n->vu, VIRTIO_NET_F_HOST_TSO4))
			return false;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!vu_has_feature(&n->vu, VIRTIO_NET_F_HOST_TSO6))
			return false;
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		if (!vu_has_feature(&n->vu, VIRTIO_NET_F_HOST_UFO))
			return false;
		break;
	default:
		return false;
	}
	/* Segmentation needs a segment size and a checksum to fill in. */
	return h->gso_size > 0 && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
}

/* Check request i of the batch and describe its frame; false: drop it. */
static bool tx_prepare(struct vnet_dev *n, unsigned p, unsigned i)
{
	struct vnet_txbuf *t = txbuf[p];
	struct vq_elem *e = &t->elems[i];
	struct virtio_net_hdr_v1 *h = &t->hdrs[i];
	size_t hl = hdr_len(n), len;
	int cnt;

	if (e->out_len < hl + VNET_MIN_FRAME || e->out_len - hl > TAP_MAX_FRAME - TAP_VNET_HDR_LEN)
		return false;
	len = e->out_len - hl;
	memset(h, 0, sizeof(*h));
	iov_to_buf(e->iov, e->nout, 0, h, hl);
	h->num_buffers = 0;
	if (!tx_header_ok(n, h, len))
		return false;
	cnt = iov_slice(e->iov, e->nout, hl, len, t->iov[i], VNET_TX_IOV);
	if (cnt < 0)
		return false;        /* more segments than a TAP write takes */
	t->frames[i] = (struct tap_tx){ h, t->iov[i], cnt };
	return true;
}

/* Send what the batch holds; false while the backend is full. */
static bool tx_flush(struct vnet_dev *n, unsigned p)
{
	struct vnet_pair *pr = &n->pair[p];
	struct vnet_txbuf *t = txbuf[p];
	unsigned qi = 2 * p + 1;
	struct virtq *vq = &n->vu.q[qi].vq;
	bool pushed = false;

	while (pr->tx_sent < pr->tx_count) {
		int rc = n->be->ops->send(n->be, p, &t->frames[pr->tx_sent],
					  pr->tx_count - pr->tx_sent);

		if (rc == 0) {
			if (!pr->tx_blocked) {
				pr->tx_blocked = true;
				watch_update(n, p);
			}
			break;
		}
		if (rc < 0) {
			n->stats.tx_dropped++;
			log_debug("net", "pair %u: a frame refused: %s", p, strerror(-rc));
			rc = 1;
		} else {
			n->stats.tx_frames += rc;
		}
		for (int i = 0; i < rc; i++, pr->tx_sent++) {
			n->stats.tx_bytes += t->elems[pr->tx_sent].out_len;
			/* A ring reset under us: nothing left to give back. */
			if (n->vu.q[qi].started)
				vq_push(vq, &t->elems[pr->tx_sent], 0);
		}
		pushed = true;
	}
	if (pushed && n->vu.q[qi].started)
		vu_queue_notify(&n->vu, qi);
	if (pr->tx_sent < pr->tx_count)
		return false;
	pr->tx_count = pr->tx_sent = 0;
	if (pr->tx_blocked) {
		pr->tx_blocked = false;
		watch_update(n, p);
	}
	return true;
}

static void vnet_tx(struct vnet_dev *n, unsigned p)
{
	struct vnet_pair *pr = &n->pair[p];
	struct vnet_txbuf *t = txbuf[p];
	unsigned qi = 2 * p + 1;
	struct vu_queue *q = &n->vu.q[qi];
	int rc = 1;

	if (pr->tx_count > pr->tx_sent && !tx_flush(n, p))
		return;
	for (unsigned round = 0; round < 8 && rc == 1; round++) {
		bool dropped = false;

		pr->tx_count = pr->tx_sent = 0;
		while (pr->tx_count < VNET_TX_BATCH &&
		       (rc = vq_pop(&q->vq, &t->elems[pr->tx_count])) == 1) {
			if (tx_prepare(n, p, pr->tx_count)) {
				pr->tx_count++;
				continue;
			}
			n->stats.tx_malformed++;
			vq_push(&q->vq, &t->elems[pr->tx_count], 0);
			dropped = true;
		}
		if (dropped)
			vu_queue_notify(&n->vu, qi);
		if (pr->tx_count > 0 && !tx_flush(n, p))
			return;
	}
	if (q->vq.broken) {
		vu_queue_report_error(&n->vu, qi);
		return;
	}
	/* Still more after eight batches: let the other queues run first,
	 * then come back through our own kick. */
	if (rc == 1 && q->kick_fd >= 0) {
		uint64_t one = 1;

		if (write(q->kick_fd, &one, sizeof(one)) < 0)
			log_debug("net", "re-kick of queue %u: %s", qi, strerror(errno));
	}
}

static void tx_resume(struct vnet_dev *n, unsigned p)
{
	if (!n->vu.q[2 * p + 1].started) {
		n->pair[p].tx_count = n->pair[p].tx_sent = 0;
		n->pair[p].tx_blocked = false;
		watch_update(n, p);
		return;
	}
	if (tx_flush(n, p))
		vnet_tx(n, p);
}

/* ---- receive: backend -> guest ------------------------------------------- */

/* Copy bytes [off, off+len) of header+payload into a guest buffer. */
static void rx_copy(struct vq_elem *e, const uint8_t *hdr, size_t hl, const uint8_t *payload,
		    size_t off, size_t len)
{
	size_t done = 0;

	if (off < hl) {
		size_t k = hl - off < len ? hl - off : len;

		iov_from_buf(e->iov + e->nout, e->nin, 0, hdr + off, k);
		done = k;
	}
	if (done < len)
		iov_from_buf(e->iov + e->nout, e->nin, done, payload + (off + done - hl),
			     len - done);
}

/* Put one frame (backend header + frame) into guest buffers: 1 done (or
 * dropped: it can never fit), 0 no buffers (nothing taken), -EIO when the
 * queue broke. */
static int rx_deliver(struct vnet_dev *n, unsigned p, const uint8_t *buf, size_t len)
{
	unsigned qi = 2 * p;
	struct virtq *vq = &n->vu.q[qi].vq;
	bool mergeable = vu_has_feature(&n->vu, VIRTIO_NET_F_MRG_RXBUF);
	size_t hl = hdr_len(n), total, off = 0;
	uint32_t lens[VNET_MAX_MERGE];
	struct virtio_net_hdr_v1 h;
	unsigned k = 0;
	int rc;

	if (len < TAP_VNET_HDR_LEN + VNET_MIN_FRAME) {
		n->stats.rx_dropped++;
		return 1;
	}
	memcpy(&h, buf, sizeof(h));
	total = hl + len - TAP_VNET_HDR_LEN;
	while (off < total) {
		struct vq_elem *e = &n->merge[k];

		if (k == VNET_MAX_MERGE || (!mergeable && k == 1))
			goto too_big;
		rc = vq_pop(vq, e);
		if (rc < 0)
			return -EIO;
		if (rc == 0) {
			while (k > 0)
				vq_unpop(vq, &n->merge[--k]);
			return 0;
		}
		if (e->nout != 0 || e->in_len == 0 || (k == 0 && e->in_len < hl)) {
			vq_fail(vq, qi, "receive buffer without room for a header, or "
				"device-readable");
			return -EIO;
		}
		lens[k] = e->in_len < total - off ? e->in_len : total - off;
		if (!mergeable && lens[k] < total) {
			k++;
			goto too_big;
		}
		rx_copy(e, (const uint8_t *)&h, hl, buf + TAP_VNET_HDR_LEN, off, lens[k]);
		off += lens[k++];
	}
	if (hl == 12) {
		uint16_t nb = k;

		iov_from_buf(n->merge[0].iov + n->merge[0].nout, n->merge[0].nin,
			     offsetof(struct virtio_net_hdr_v1, num_buffers), &nb, sizeof(nb));
	}
	for (unsigned i = 0; i < k; i++)
		vq_push(vq, &n->merge[i], lens[i]);
	n->stats.rx_frames++;
	n->stats.rx_bytes += len - TAP_VNET_HDR_LEN;
	return 1;

too_big:
	/* The guest's buffers can never hold it: drop it, keep the buffers. */
	while (k > 0)
		vq_unpop(vq, &n->merge[--k]);
	n->stats.rx_dropped++;
	log_debug("net", "pair %u: a %zu-byte frame does not fit the receive buffers", p,
		  len - TAP_VNET_HDR_LEN);
	return 1;
}

static int rx_alloc(struct vnet_pair *pr)
{
	for (unsigned i = 0; i < VNET_RX_BATCH; i++) {
		if (pr->rx.slot[i] == NULL && (pr->rx.slot[i] = malloc(VNET_FRAME_ROOM)) == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* Fill the pending slots from the backend: how many frames came. */
static int rx_fill(struct vnet_dev *n, unsigned p)
{
	struct vnet_pair *pr = &n->pair[p];
	struct iovec iov[VNET_RX_BATCH];
	struct tap_rx rx[VNET_RX_BATCH];
	int got;

	if (rx_alloc(pr) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < VNET_RX_BATCH; i++) {
		iov[i] = (struct iovec){ pr->rx.slot[i], VNET_FRAME_ROOM };
		rx[i] = (struct tap_rx){ .iov = &iov[i], .iovcnt = 1 };
	}
	got = n->be->ops->recv(n->be, p, rx, VNET_RX_BATCH);
	if (got <= 0)
		return got;
	pr->rx.head = pr->rx.count = 0;
	for (int i = 0; i < got; i++) {
		if (rx[i].truncated) {
			n->stats.rx_truncated++;
			continue;
		}
		/* Compact: slot pointers move with the frames they hold. */
		if ((unsigned)i != pr->rx.count) {
			uint8_t *tmp = pr->rx.slot[pr->rx.count];

			pr->rx.slot[pr->rx.count] = pr->rx.slot[i];
			pr->rx.slot[i] = tmp;
		}
		pr->rx.len[pr->rx.count++] = rx[i].len;
	}
	return got;
}

void vnet_rx_ready(struct vnet_dev *n, unsigned p)
{
	struct vnet_pair *pr = &n->pair[p];
	unsigned qi = 2 * p;
	bool pushed = false, stalled = false, broken = false;

	if (!rx_usable(n, p)) {
		if (pr->rx_watching) {
			pr->rx_watching = false;
			watch_update(n, p);
		}
		return;
	}
	for (unsigned round = 0; round < 4; round++) {
		while (pr->rx.count > 0) {
			int rc = rx_deliver(n, p, pr->rx.slot[pr->rx.head],
					    pr->rx.len[pr->rx.head]);

			if (rc <= 0) {
				stalled = rc == 0;
				broken = rc < 0;
				break;
			}
			pr->rx.head++;
			pr->rx.count--;
			pushed = true;
		}
		if (stalled || broken)
			break;
		if (rx_fill(n, p) <= 0)
			break;
	}
	if (pushed)
		vu_queue_notify(&n->vu, qi);
	if (broken)
		vu_queue_report_error(&n->vu, qi);
	/* No guest buffers: leave the frames in the backend's queue until
	 * the guest posts buffers and kicks. */
	pr->rx_stalled = stalled;
	if (pr->rx_watching != (!stalled && !broken)) {
		pr->rx_watching = !stalled && !broken;
		watch_update(n, p);
	}
}

/* ---- control queue -------------------------------------------------------- */

static uint8_t ctrl_mac_table(struct vq_elem *e)
{
	uint64_t off = 2;

	for (int table = 0; table < 2; table++) {
		uint32_t entries;

		if (iov_to_buf(e->iov, e->nout, off, &entries, 4) != 4)
			return VIRTIO_NET_ERR;
		off += 4 + (uint64_t)entries * 6;
		if (off > e->out_len)
			return VIRTIO_NET_ERR;
	}
	return off == e->out_len ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
}

static void set_active_pairs(struct vnet_dev *n, unsigned pairs)
{
	n->active_pairs = pairs;
	for (unsigned p = 0; p < n->max_pairs; p++)
		vnet_rx_ready(n, p);     /* starts or stops watching */
}

static uint8_t ctrl_command(struct vnet_dev *n, struct vq_elem *e, uint8_t cls, uint8_t cmd)
{
	uint64_t dlen = e->out_len - 2;
	uint8_t data[8];

	memset(data, 0, sizeof(data));
	iov_to_buf(e->iov, e->nout, 2, data, dlen < sizeof(data) ? dlen : sizeof(data));
	switch (cls) {
	case VIRTIO_NET_CTRL_RX:
		if (!vu_has_feature(&n->vu, VIRTIO_NET_F_CTRL_RX) || dlen != 1 || data[0] > 1)
			return VIRTIO_NET_ERR;
		/* A TAP passes what reaches it; the modes are recorded. */
		if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
			n->promisc = data[0];
		else if (cmd == VIRTIO_NET_CTRL_RX_ALLMULTI)
			n->allmulti = data[0];
		else
			return VIRTIO_NET_ERR;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC:
		if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET && vu_has_feature(&n->vu, VIRTIO_NET_F_CTRL_RX))
			return ctrl_mac_table(e);
		if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET &&
		    vu_has_feature(&n->vu, VIRTIO_NET_F_CTRL_MAC_ADDR) && dlen == 6) {
			memcpy(n->mac, data, 6);
			return VIRTIO_NET_OK;
		}
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MQ: {
		uint16_t pairs;

		memcpy(&pairs, data, 2);
		if (cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || !vu_has_feature(&n->vu, VIRTIO_NET_F_MQ) ||
		    dlen != 2 || pairs < 1 || pairs > n->max_pairs)
			return VIRTIO_NET_ERR;
		set_active_pairs(n, pairs);
		return VIRTIO_NET_OK;
	}
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS: {
		uint64_t want;

		memcpy(&want, data, 8);
		if (cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || dlen != 8 ||
		    !vu_has_feature(&n->vu, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
		    (want & ~(n->vu.features & VNET_GUEST_OFFLOADS)))
			return VIRTIO_NET_ERR;
		apply_offloads(n, want);
		return VIRTIO_NET_OK;
	}
	default:
		return VIRTIO_NET_ERR;
	}
}

static void vnet_ctrl(struct vnet_dev *n)
{
	static struct vq_elem e;
	unsigned qi = ctrl_queue(n);
	struct virtq *vq = &n->vu.q[qi].vq;
	bool pushed = false;

	while (vq_pop(vq, &e) == 1) {
		uint8_t h[2], ack;

		if (e.out_len < 2 || e.in_len < 1) {
			vq_fail(vq, qi, "control request without a command or an ack byte");
			break;
		}
		iov_to_buf(e.iov, e.nout, 0, h, 2);
		ack = ctrl_command(n, &e, h[0], h[1]);
		if (ack == VIRTIO_NET_OK)
			n->stats.ctrl_ok++;
		else
			n->stats.ctrl_err++;
		iov_from_buf(e.iov + e.nout, e.nin, e.in_len - 1, &ack, 1);
		vq_push(vq, &e, 1);
		pushed = true;
	}
	if (pushed)
		vu_queue_notify(&n->vu, qi);
	if (vq->broken)
		vu_queue_report_error(&n->vu, qi);
}

/* ---- vhost-user callbacks -------------------------------------------------- */

void vnet_queue_kick(struct vu_dev *vu, unsigned qi)
{
	struct vnet_dev *n = vnet_of(vu);
	unsigned p = qi / 2;

	/* The library has no "features set" callback: the first kick after
	 * negotiation tells the backend what the guest accepts. */
	if (!n->offloads_valid || n->features_seen != vu->features) {
		n->offloads_valid = false;
		apply_offloads(n, vu->features & VNET_GUEST_OFFLOADS);
		n->features_seen = vu->features;
	}
	if (qi == ctrl_queue(n)) {
		vnet_ctrl(n);
		return;
	}
	if (p >= n->max_pairs)
		return;
	if (qi % 2 == 1) {
		vnet_tx(n, p);
		return;
	}
	n->pair[p].rx_stalled = false;
	vnet_rx_ready(n, p);
}

static int vnet_get_config(struct vu_dev *vu, uint32_t offset, uint8_t *buf, uint32_t len)
{
	struct vnet_dev *n = vnet_of(vu);
	struct vnet_config c = {
		.status = VIRTIO_NET_S_LINK_UP,
		.max_virtqueue_pairs = n->max_pairs,
		.mtu = n->mtu,
		.speed = 10000,             /* Mb/s; a number for ethtool */
		.duplex = 1,
	};

	memcpy(c.mac, n->mac, 6);
	if (offset >= sizeof(c))
		return 0;
	if (len > sizeof(c) - offset)
		len = sizeof(c) - offset;
	memcpy(buf, (uint8_t *)&c + offset, len);
	return 0;
}

static int vnet_set_config(struct vu_dev *vu, uint32_t offset, const uint8_t *buf,
			   uint32_t len)
{
	/* Config space is read-only for VERSION_1 drivers (the MAC changes
	 * through the control queue). */
	log_warnx("config write of %u bytes at %u refused", len, offset);
	return -EINVAL;
}

static void vnet_disconnected(struct vu_dev *vu)
{
	struct vnet_dev *n = vnet_of(vu);

	for (unsigned p = 0; p < n->max_pairs; p++) {
		struct vnet_pair *pr = &n->pair[p];

		n->stats.rx_dropped += pr->rx.count;
		pr->rx.count = pr->rx.head = 0;
		pr->tx_count = pr->tx_sent = 0;
		pr->tx_blocked = pr->rx_watching = pr->rx_stalled = false;
		watch_update(n, p);
	}
	n->active_pairs = 1;
	n->offloads_valid = false;
	if (n->disconnected != NULL)
		n->disconnected(n);
}

/* ---- set-up ------------------------------------------------------------------ */

int vnet_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = v[i];
	if ((mac[0] & 1) || (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0)
		return -EINVAL;
	return 0;
}

int vnet_init(struct vnet_dev *n, struct netbe *be, const uint8_t mac[6], uint16_t mtu)
{
	uint64_t features;

	if (be->npairs == 0 || be->npairs > VNET_MAX_PAIRS || (mtu != 0 && mtu < 68))
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	n->vu.sock = -1;
	n->be = be;
	memcpy(n->mac, mac, 6);
	n->mtu = mtu;
	n->max_pairs = be->npairs;
	n->active_pairs = 1;
	n->merge = calloc(VNET_MAX_MERGE, sizeof(*n->merge));
	if (n->merge == NULL)
		return -ENOMEM;
	for (unsigned p = 0; p < n->max_pairs; p++) {
		if (txbuf[p] == NULL && (txbuf[p] = calloc(1, sizeof(*txbuf[p]))) == NULL)
			return -ENOMEM;
	}
	features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		   BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_F_RING_PACKED) |
		   BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
		   BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CTRL_VQ) |
		   BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
		   BIT(VIRTIO_NET_F_SPEED_DUPLEX) | be->ops->offload_features(be);
	if (mtu != 0)
		features |= BIT(VIRTIO_NET_F_MTU);
	if (n->max_pairs > 1)
		features |= BIT(VIRTIO_NET_F_MQ);
	n->vu_ops = (struct vu_dev_ops){
		.name = "vhost-user-net",
		.features = features,
		.protocol_features = BIT(VHOST_USER_PROTOCOL_F_MQ) |
				     BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
				     BIT(VHOST_USER_PROTOCOL_F_CONFIG),
		.num_queues = 2 * n->max_pairs + 1,
		.get_config = vnet_get_config,
		.set_config = vnet_set_config,
		.queue_kick = vnet_queue_kick,
		.disconnected = vnet_disconnected,
	};
	return 0;
}

void vnet_free(struct vnet_dev *n)
{
	for (unsigned p = 0; p < VNET_MAX_PAIRS; p++) {
		for (unsigned i = 0; i < VNET_RX_BATCH; i++) {
			free(n->pair[p].rx.slot[i]);
			n->pair[p].rx.slot[i] = NULL;
		}
		free(txbuf[p]);
		txbuf[p] = NULL;
		watch_registered[p] = false;
	}
	free(n->merge);
	n->merge = NULL;
	if (n->be != NULL && n->be->ops->close != NULL)
		n->be->ops->close(n->be);
	n->be = NULL;
}

int vnet_serve(struct vnet_dev *n, struct evloop *loop, int sock)
{
	int err;

	n->loop = loop;
	n->offloads_valid = false;
	n->active_pairs = 1;
	err = vu_dev_attach(&n->vu, loop, sock, &n->vu_ops, n);
	for (unsigned p = 0; p < n->max_pairs && err == 0 && loop != NULL; p++)
		err = watch_register(n, p);
	return err;
}

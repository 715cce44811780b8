/* The virtio-net device behind mica-net's vhost-user socket (virtio 1.2,
 * section 5.1).
 *
 * Queues: receiveq/transmitq pairs 0..max_pairs-1 at 2p and 2p+1, then the
 * control queue at 2*max_pairs.  Frames move between the rings and one
 * backend (netbe.h) in batches: every wakeup takes what is there, up to a
 * batch, and the event loop calls again while more waits.  Receive
 * stops reading the backend while the guest has no buffers posted, so the
 * backend (the TAP's own queue) holds the frames, and resumes on the next
 * kick.  A malformed request from the guest is dropped and counted, or,
 * when it cannot be answered at all, puts its queue into NEEDS_RESET
 * (vu_queue_report_error); never more.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef MICA_VIRTIO_NET_H
#define MICA_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost_user.h"
#include "netbe.h"

#define VNET_MAX_PAIRS   ((VU_MAX_QUEUES - 1) / 2)
#define VNET_RX_BATCH    32      /* frames read from the backend per round */
#define VNET_TX_BATCH    64      /* requests popped per round */
#define VNET_MAX_MERGE   64      /* receive buffers one frame may span */
#define VNET_FRAME_ROOM  (TAP_MAX_FRAME + 1)

struct vnet_stats {
	uint64_t tx_frames, tx_bytes, tx_dropped, tx_malformed;
	uint64_t rx_frames, rx_bytes, rx_dropped, rx_truncated;
	uint64_t ctrl_ok, ctrl_err;
};

/* Frames read from the backend and not yet in guest buffers. */
struct vnet_rx_pending {
	uint8_t *slot[VNET_RX_BATCH];   /* VNET_FRAME_ROOM bytes each */
	size_t len[VNET_RX_BATCH];
	unsigned head, count;
};

struct vnet_pair {
	struct vnet_rx_pending rx;
	bool rx_watching;             /* rx fd is polled for input */
	bool rx_stalled;              /* guest has no buffers: wait for a kick */
	bool tx_blocked;              /* backend full: wait for tx fd */
	struct vq_elem *tx_elems;     /* VNET_TX_BATCH popped, tx_sent done */
	unsigned tx_count, tx_sent;
};

struct vnet_dev {
	struct vu_dev vu;
	struct vu_dev_ops vu_ops;
	struct evloop *loop;
	struct netbe *be;
	uint8_t mac[6];
	uint16_t mtu;                 /* 0: not advertised */
	unsigned max_pairs;
	unsigned active_pairs;        /* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET */
	bool promisc, allmulti;
	uint64_t offloads_applied;    /* guest offloads told to the backend */
	bool offloads_valid;
	uint64_t features_seen;       /* vu.features when they were applied */
	struct vnet_pair pair[VNET_MAX_PAIRS];
	struct vq_elem *merge;        /* VNET_MAX_MERGE, for one frame */
	struct vnet_stats stats;
	void (*disconnected)(struct vnet_dev *n);
};

/* Prepare the device over backend be (which it then owns): mac, mtu (0:
 * none), be->npairs queue pairs. */
int vnet_init(struct vnet_dev *n, struct netbe *be, const uint8_t mac[6], uint16_t mtu);
void vnet_free(struct vnet_dev *n);

/* Serve one connected front-end socket on loop (loop NULL: the caller
 * drives vu_dev_dispatch and the handlers, as the fuzzer does). */
int vnet_serve(struct vnet_dev *n, struct evloop *loop, int sock);

/* The queue handlers (exposed for the fuzzer): what a kick runs, and
 * what a readable backend fd runs. */
void vnet_queue_kick(struct vu_dev *vu, unsigned q);
void vnet_rx_ready(struct vnet_dev *n, unsigned pair);

/* Parse "52:54:00:12:34:56"; -EINVAL unless six hex bytes, unicast. */
int vnet_parse_mac(const char *s, uint8_t mac[6]);

#endif

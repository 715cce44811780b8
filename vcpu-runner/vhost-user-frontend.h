/* The front-end (VMM) side of vhost-user (QEMU docs/interop/vhost-user.rst)
 * for the runner's virtio-pci devices: one connected SOCK_STREAM socket to
 * a back-end (mica-blk, qemu-storage-daemon, ...).
 *
 * vhost_user_frontend_init asks for features, protocol features and the
 * queue count and takes ownership; the device config is read with
 * vhost_user_frontend_get_config.  When the guest driver sets DRIVER_OK,
 * vhost_user_frontend_start sends the accepted features, the inflight
 * buffer (kept by us across back-end restarts), the memory table (the
 * guest RAM memfd, userspace addresses = our own mappings) and each
 * enabled ring; a device reset stops them again (GET_VRING_BASE).
 *
 * Messages are exchanged synchronously with a per-reply time limit; a
 * back-end that does not answer in time is treated as gone.
 * Functions return 0 or a negative errno.
 *
 * After the back-end went away, vhost_user_frontend_reconnect takes the
 * socket of its successor and negotiates again; the device then starts
 * its rings again with the inflight buffer kept from the first start and
 * each ring's base at its used index, so the new back-end redoes what was
 * in flight and goes on.
 *
 * Not supported yet: memory slots, dirty logging, the back-end request
 * channel, packed rings.
 */
#ifndef MICA_VHOST_USER_FRONTEND_H
#define MICA_VHOST_USER_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "guest-mem.h"

#define VHOST_USER_FRONTEND_MAX_QUEUES 8

/* What the guest driver programmed for one queue (guest physical). */
struct vhost_user_ring {
	uint16_t size;
	uint16_t base;			/* next avail index: 0 fresh, used->idx on resume */
	uint64_t desc, avail, used;
	int kick_fd, call_fd;		/* not owned */
};

struct vhost_user_frontend {
	const char *name;		/* for log lines: "disk 0" */
	int sock;			/* owned */
	int timeout_ms;
	uint64_t features;		/* what the back-end offers */
	uint64_t protocol_features;	/* what we agreed on */
	unsigned num_queues;		/* the back-end's, at most MAX_QUEUES */
	int inflight_fd;		/* owned; kept for a restarted back-end */
	uint64_t inflight_size;
	uint16_t inflight_queue_size;
	bool started[VHOST_USER_FRONTEND_MAX_QUEUES];
};

/* Take sock and negotiate what does not depend on the guest driver. */
int vhost_user_frontend_init(struct vhost_user_frontend *f, const char *name,
			     int sock, int timeout_ms);
void vhost_user_frontend_fini(struct vhost_user_frontend *f);
/* Replace a dead connection by sock (taken): negotiate again, keeping the
 * inflight buffer.  -EPROTO if the new back-end offers fewer features or
 * queues than the driver already uses. */
int vhost_user_frontend_reconnect(struct vhost_user_frontend *f, int sock,
				  uint64_t features_in_use);

int vhost_user_frontend_get_config(struct vhost_user_frontend *f,
				   uint32_t offset, void *buf, uint32_t len);
int vhost_user_frontend_set_config(struct vhost_user_frontend *f,
				   uint32_t offset, const void *buf,
				   uint32_t len);

/* Start the rings whose size is non-zero (rings[q].size == 0: queue q not
 * enabled by the driver) with the driver's accepted features.  Ring
 * addresses are translated through mem and must lie in guest RAM
 * (-EFAULT).  memfd backs mem's regions back to back from offset 0. */
int vhost_user_frontend_start(struct vhost_user_frontend *f,
			      uint64_t driver_features,
			      const struct guest_mem *mem, int memfd,
			      const struct vhost_user_ring *rings,
			      unsigned nr_rings, uint16_t max_queue_size);
/* Stop every started ring (GET_VRING_BASE); the last avail index of each
 * is returned in bases (may be NULL). */
int vhost_user_frontend_stop(struct vhost_user_frontend *f, uint16_t *bases);

#endif

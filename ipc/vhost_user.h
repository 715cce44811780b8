/* The backend (device) side of the vhost-user protocol
 * (QEMU docs/interop/vhost-user.rst), shared by mica-blk and mica-net.
 *
 * vu_dev owns one connection: it reads each front-end message, checks its
 * size, fd count and every index against what was negotiated, applies it
 * (memory table, ring addresses, kick/call fds, features, config) and
 * replies where the protocol says so.  A malformed message, a memory
 * table that does not map, or ring addresses outside guest memory end the
 * connection with a logged reason; the device then waits for the next
 * front-end.  Queue kicks land in ops->queue_kick.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef MICA_VHOST_USER_H
#define MICA_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "gmem.h"
#include "virtq.h"

#define VU_MAX_QUEUES     16
#define VU_MAX_CONFIG     256

/* Front-end requests (vhost-user.rst "Front-end message types"). */
enum vu_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_MAX_REQUEST = 41,
};

/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_MQ             0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD      1
#define VHOST_USER_PROTOCOL_F_RARP           2
#define VHOST_USER_PROTOCOL_F_REPLY_ACK      3
#define VHOST_USER_PROTOCOL_F_NET_MTU        4
#define VHOST_USER_PROTOCOL_F_CONFIG         9
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE   13
#define VHOST_USER_PROTOCOL_F_STATUS         16

#define VHOST_USER_F_PROTOCOL_FEATURES 30

#define VHOST_USER_VERSION        0x1
#define VHOST_USER_FLAG_REPLY     (1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY (1u << 3)

struct vu_header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
} __attribute__((packed));

struct vu_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
} __attribute__((packed));

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region regions[GMEM_MAX_REGIONS];
} __attribute__((packed));

struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VU_MAX_CONFIG];
} __attribute__((packed));

struct vu_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint8_t padding[4];
} __attribute__((packed));

struct vu_dev;

struct vu_dev_ops {
	const char *name;                 /* for log lines: "vhost-user-blk" */
	uint64_t features;                /* device features offered */
	uint64_t protocol_features;       /* protocol features offered */
	unsigned num_queues;
	/* Fill len bytes of config space from offset; 0 or -errno. */
	int (*get_config)(struct vu_dev *dev, uint32_t offset, uint8_t *buf, uint32_t len);
	int (*set_config)(struct vu_dev *dev, uint32_t offset, const uint8_t *buf,
			  uint32_t len);
	/* The driver kicked queue q (or it just started with work waiting). */
	void (*queue_kick)(struct vu_dev *dev, unsigned q);
	/* Queue q is about to stop (GET_VRING_BASE, a new memory table, reset,
	 * disconnect): finish or cancel every request still using its rings
	 * and guest memory before returning.  May be NULL for devices that
	 * complete requests synchronously. */
	void (*queue_drain)(struct vu_dev *dev, unsigned q);
	/* The front-end went away or the connection was dropped. */
	void (*disconnected)(struct vu_dev *dev);
};

struct vu_queue {
	struct virtq vq;
	uint16_t num;
	struct vu_vring_addr addr;
	bool addr_set;
	uint16_t base;
	int kick_fd, call_fd, err_fd;
	bool enabled;
	bool started;
	bool err_signalled;
};

struct vu_dev {
	const struct vu_dev_ops *ops;
	struct evloop *loop;
	int sock;
	struct gmem mem;
	uint64_t features;
	uint64_t protocol_features;
	bool owner_set;
	struct vu_queue q[VU_MAX_QUEUES];
	/* inflight tracking buffer (INFLIGHT_SHMFD), kept by the front-end */
	uint8_t *inflight;
	size_t inflight_size;
	uint16_t inflight_queue_size;
	uint16_t inflight_queues;
	void *priv;
};

/* Start serving a connected socket on loop. */
int vu_dev_attach(struct vu_dev *dev, struct evloop *loop, int sock,
		  const struct vu_dev_ops *ops, void *priv);

/* Drop the connection and everything negotiated on it. */
void vu_dev_detach(struct vu_dev *dev);

/* Handle one message from the socket (used by the event loop and tests):
 * 0, -ECONNRESET when the peer closed, -EPROTO/-EINVAL on a bad one. */
int vu_dev_dispatch(struct vu_dev *dev);

/* Interrupt the driver of queue q if the ring says it wants one. */
void vu_queue_notify(struct vu_dev *dev, unsigned q);

/* Tell the front-end queue q is broken (its error eventfd), once. */
void vu_queue_report_error(struct vu_dev *dev, unsigned q);

bool vu_has_feature(const struct vu_dev *dev, unsigned bit);

const char *vu_request_name(uint32_t request);

#endif

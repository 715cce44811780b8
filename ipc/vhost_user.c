/* Backend side of vhost-user: see vhost_user.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "vhost_user.h"

#define VU_MAX_PAYLOAD 4096
#define VU_MAX_FDS     GMEM_MAX_REGIONS
#define VRING_IDX_MASK 0xff
#define VRING_NOFD     (1u << 8)

struct vu_msg {
	struct vu_header hdr;
	union {
		uint64_t u64;
		struct vu_vring_state state;
		struct vu_vring_addr addr;
		struct vu_mem_table mem;
		struct vu_config config;
		struct vu_inflight inflight;
		uint8_t raw[VU_MAX_PAYLOAD];
	} payload;
	int fds[VU_MAX_FDS];
	size_t nfds;
};

static const char *const request_names[VHOST_USER_MAX_REQUEST] = {
	[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
	[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
	[VHOST_USER_SET_OWNER] = "SET_OWNER",
	[VHOST_USER_RESET_OWNER] = "RESET_OWNER",
	[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
	[VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
	[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
	[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
	[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
	[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
	[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
	[VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
	[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VHOST_USER_SEND_RARP] = "SEND_RARP",
	[VHOST_USER_NET_SET_MTU] = "NET_SET_MTU",
	[VHOST_USER_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VHOST_USER_IOTLB_MSG] = "IOTLB_MSG",
	[VHOST_USER_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VHOST_USER_GET_CONFIG] = "GET_CONFIG",
	[VHOST_USER_SET_CONFIG] = "SET_CONFIG",
	[VHOST_USER_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VHOST_USER_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VHOST_USER_RESET_DEVICE] = "RESET_DEVICE",
	[VHOST_USER_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VHOST_USER_ADD_MEM_REG] = "ADD_MEM_REG",
	[VHOST_USER_REM_MEM_REG] = "REM_MEM_REG",
	[VHOST_USER_SET_STATUS] = "SET_STATUS",
	[VHOST_USER_GET_STATUS] = "GET_STATUS",
};

const char *vu_request_name(uint32_t request)
{
	if (request < VHOST_USER_MAX_REQUEST && request_names[request] != NULL)
		return request_names[request];
	return "unknown request";
}

bool vu_has_feature(const struct vu_dev *dev, unsigned bit)
{
	return dev->features & (1ULL << bit);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void msg_close_fds(struct vu_msg *m)
{
	for (size_t i = 0; i < m->nfds; i++)
		close_fd(&m->fds[i]);
	m->nfds = 0;
}

/* Read exactly len bytes of payload (the header came with any fds). */
static int read_full(int sock, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(sock, (char *)buf + got, len - got, 0);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += n;
	}
	return 0;
}

static int msg_recv(int sock, struct vu_msg *m)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	struct iovec iov = { .iov_base = &m->hdr, .iov_len = sizeof(m->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	ssize_t n;
	int err;

	m->nfds = 0;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k && m->nfds < VU_MAX_FDS; i++)
				memcpy(&m->fds[m->nfds++], CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(int));
		}
	}
	if ((size_t)n < sizeof(m->hdr) || (mh.msg_flags & MSG_CTRUNC)) {
		msg_close_fds(m);
		log_warnx("short vhost-user header or too many fds");
		return -EPROTO;
	}
	if ((m->hdr.flags & 0x3) != VHOST_USER_VERSION) {
		msg_close_fds(m);
		log_warnx("vhost-user version %u, expected %u", m->hdr.flags & 0x3,
			  VHOST_USER_VERSION);
		return -EPROTO;
	}
	if (m->hdr.size > VU_MAX_PAYLOAD) {
		msg_close_fds(m);
		log_warnx("%s: payload of %u bytes, limit %d", vu_request_name(m->hdr.request),
			  m->hdr.size, VU_MAX_PAYLOAD);
		return -EPROTO;
	}
	err = read_full(sock, &m->payload, m->hdr.size);
	if (err < 0)
		msg_close_fds(m);
	return err;
}


static int msg_reply_fds(struct vu_dev *dev, struct vu_msg *m, const void *payload,
			 uint32_t size, const int *fds, size_t nfds)
{
	struct vu_header hdr = {
		.request = m->hdr.request,
		.flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY,
		.size = size,
	};
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	ipc_msghdr_set_fds(&mh, cbuf, fds, nfds);
	if (sendmsg(dev->sock, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static int msg_reply(struct vu_dev *dev, struct vu_msg *m, const void *payload,
		     uint32_t size)
{
	return msg_reply_fds(dev, m, payload, size, NULL, 0);
}

static int reply_u64(struct vu_dev *dev, struct vu_msg *m, uint64_t v)
{
	return msg_reply(dev, m, &v, sizeof(v));
}

/* ---- queues -------------------------------------------------------- */

static void on_kick(struct evloop *loop, int fd, uint32_t events, void *arg);

static struct vu_queue *queue_of(struct vu_dev *dev, uint32_t index)
{
	if (index >= dev->ops->num_queues || index >= VU_MAX_QUEUES) {
		log_warnx("queue %u out of range (%u queues)", index, dev->ops->num_queues);
		return NULL;
	}
	return &dev->q[index];
}

/* Translate the ring addresses into guest memory and set up the virtq. */
static int queue_map(struct vu_dev *dev, struct vu_queue *q)
{
	const struct vu_vring_addr *a = &q->addr;
	bool packed = vu_has_feature(dev, VIRTIO_F_RING_PACKED);
	void *desc, *avail, *used;
	uint16_t base = q->base;

	if (!q->addr_set || q->num == 0)
		return -EINVAL;
	if (packed) {
		desc = gmem_uva(&dev->mem, a->desc_user_addr, vring_packed_desc_size(q->num));
		avail = gmem_uva(&dev->mem, a->avail_user_addr, 4);
		used = gmem_uva(&dev->mem, a->used_user_addr, 4);
	} else {
		desc = gmem_uva(&dev->mem, a->desc_user_addr, vring_split_desc_size(q->num));
		avail = gmem_uva(&dev->mem, a->avail_user_addr,
				      vring_split_avail_size(q->num));
		used = gmem_uva(&dev->mem, a->used_user_addr, vring_split_used_size(q->num));
	}
	if (desc == NULL || avail == NULL || used == NULL) {
		log_warnx("ring addresses of queue %td lie outside guest memory", q - dev->q);
		return -EINVAL;
	}
	vq_inflight_detach(&q->vq);
	if ((packed ? vq_init_packed(&q->vq, &dev->mem, q->num, desc, avail, used,
				     dev->features)
		    : vq_init_split(&q->vq, &dev->mem, q->num, desc, avail, used,
				    dev->features)) < 0) {
		log_warnx("queue %td: ring size %u is not valid", q - dev->q, q->num);
		return -EINVAL;
	}
	vq_set_base(&q->vq, base);
	if (dev->inflight != NULL && !packed && dev->inflight_queue_size == q->num &&
	    (unsigned)(q - dev->q) < dev->inflight_queues)
		vq_inflight_attach(&q->vq, (struct vq_inflight_split *)(dev->inflight +
				   (q - dev->q) * vq_inflight_region_size(q->num)));
	return 0;
}

static void queue_stop(struct vu_dev *dev, struct vu_queue *q)
{
	if (q->started && dev->ops->queue_drain != NULL)
		dev->ops->queue_drain(dev, q - dev->q);
	if (q->started && q->kick_fd >= 0 && dev->loop != NULL)
		evloop_del(dev->loop, q->kick_fd);
	if (q->started)
		q->base = vq_get_base(&q->vq);
	q->started = false;
}

static int queue_start(struct vu_dev *dev, struct vu_queue *q)
{
	int err;

	if (q->started || q->kick_fd < 0 || !q->enabled)
		return 0;
	err = queue_map(dev, q);
	if (err < 0)
		return err;
	if (dev->loop != NULL) {
		err = evloop_add(dev->loop, q->kick_fd, EPOLLIN, on_kick, dev);
		if (err < 0)
			return err;
	}
	q->started = true;
	q->err_signalled = false;
	/* Work may already be waiting (a restarted backend, a late kick fd). */
	dev->ops->queue_kick(dev, q - dev->q);
	return 0;
}

static void queue_reset(struct vu_dev *dev, struct vu_queue *q)
{
	queue_stop(dev, q);
	close_fd(&q->kick_fd);
	close_fd(&q->call_fd);
	close_fd(&q->err_fd);
	vq_inflight_detach(&q->vq);
	memset(&q->vq, 0, sizeof(q->vq));
	q->num = 0;
	q->base = 0;
	q->addr_set = false;
	q->enabled = false;
}

static void on_kick(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vu_dev *dev = arg;
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	for (unsigned i = 0; i < dev->ops->num_queues; i++) {
		if (dev->q[i].started && dev->q[i].kick_fd == fd) {
			dev->ops->queue_kick(dev, i);
			return;
		}
	}
}

void vu_queue_notify(struct vu_dev *dev, unsigned qi)
{
	struct vu_queue *q = &dev->q[qi];
	uint64_t one = 1;

	if (q->call_fd < 0 || !vq_should_notify(&q->vq))
		return;
	if (write(q->call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("queue %u: call eventfd", qi);
}

void vu_queue_report_error(struct vu_dev *dev, unsigned qi)
{
	struct vu_queue *q = &dev->q[qi];
	uint64_t one = 1;

	if (q->err_signalled)
		return;
	q->err_signalled = true;
	if (q->err_fd >= 0 && write(q->err_fd, &one, sizeof(one)) < 0)
		log_warn("queue %u: error eventfd", qi);
}

/* ---- message handlers ------------------------------------------------- */

static int want_size(struct vu_msg *m, size_t size)
{
	if (m->hdr.size != size) {
		log_warnx("%s: payload of %u bytes, expected %zu",
			  vu_request_name(m->hdr.request), m->hdr.size, size);
		return -EPROTO;
	}
	return 0;
}

static int want_fds(struct vu_msg *m, size_t nfds)
{
	if (m->nfds != nfds) {
		log_warnx("%s: %zu fds, expected %zu", vu_request_name(m->hdr.request),
			  m->nfds, nfds);
		return -EPROTO;
	}
	return 0;
}

static int set_mem_table(struct vu_dev *dev, struct vu_msg *m)
{
	const struct vu_mem_table *t = &m->payload.mem;
	int err;

	if (m->hdr.size < 8 || t->nregions == 0 || t->nregions > GMEM_MAX_REGIONS ||
	    m->hdr.size != 8 + t->nregions * sizeof(struct vu_mem_region)) {
		log_warnx("SET_MEM_TABLE: bad region count or size");
		return -EPROTO;
	}
	if (want_fds(m, t->nregions) < 0)
		return -EPROTO;
	for (unsigned i = 0; i < dev->ops->num_queues; i++)
		queue_stop(dev, &dev->q[i]);
	gmem_clear(&dev->mem);
	for (unsigned i = 0; i < t->nregions; i++) {
		const struct vu_mem_region *r = &t->regions[i];

		err = gmem_map(&dev->mem, m->fds[i], r->guest_phys_addr, r->memory_size,
				    r->userspace_addr, r->mmap_offset);
		if (err < 0) {
			errno = -err;
			log_warn("SET_MEM_TABLE: region %u (gpa 0x%llx, %llu bytes)", i,
				 (unsigned long long)r->guest_phys_addr,
				 (unsigned long long)r->memory_size);
			gmem_clear(&dev->mem);
			return err;
		}
	}
	msg_close_fds(m);            /* the mappings keep the memory */
	for (unsigned i = 0; i < dev->ops->num_queues; i++) {
		err = queue_start(dev, &dev->q[i]);
		if (err < 0)
			return err;
	}
	return 0;
}

/* SET_VRING_KICK/CALL/ERR: u64 index | VRING_NOFD, with one fd unless
 * VRING_NOFD is set. */
static int set_vring_fd(struct vu_dev *dev, struct vu_msg *m, struct vu_queue **qp,
			int *fd)
{
	uint64_t v = m->payload.u64;

	if (want_size(m, 8) < 0 || (v & ~(uint64_t)(VRING_IDX_MASK | VRING_NOFD)) != 0)
		return -EPROTO;
	*qp = queue_of(dev, v & VRING_IDX_MASK);
	if (*qp == NULL || want_fds(m, (v & VRING_NOFD) ? 0 : 1) < 0)
		return -EPROTO;
	*fd = (v & VRING_NOFD) ? -1 : m->fds[0];
	m->nfds = 0;                  /* taken */
	return 0;
}

static int handle_vring(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_queue *q;
	int fd, err;

	switch (m->hdr.request) {
	case VHOST_USER_SET_VRING_NUM:
		if (want_size(m, sizeof(struct vu_vring_state)) < 0 ||
		    (q = queue_of(dev, m->payload.state.index)) == NULL)
			return -EPROTO;
		if (m->payload.state.num == 0 || m->payload.state.num > VQ_MAX_SIZE) {
			log_warnx("SET_VRING_NUM: %u entries", m->payload.state.num);
			return -EPROTO;
		}
		q->num = m->payload.state.num;
		return 0;
	case VHOST_USER_SET_VRING_ADDR:
		if (want_size(m, sizeof(struct vu_vring_addr)) < 0 ||
		    (q = queue_of(dev, m->payload.addr.index)) == NULL)
			return -EPROTO;
		q->addr = m->payload.addr;
		q->addr_set = true;
		if (q->started) {
			/* Rings moved under a running queue: remap at once. */
			q->base = vq_get_base(&q->vq);
			return queue_map(dev, q);
		}
		return 0;
	case VHOST_USER_SET_VRING_BASE:
		if (want_size(m, sizeof(struct vu_vring_state)) < 0 ||
		    (q = queue_of(dev, m->payload.state.index)) == NULL)
			return -EPROTO;
		q->base = m->payload.state.num;
		return 0;
	case VHOST_USER_GET_VRING_BASE: {
		struct vu_vring_state st;

		if (want_size(m, sizeof(st)) < 0 ||
		    (q = queue_of(dev, m->payload.state.index)) == NULL)
			return -EPROTO;
		queue_stop(dev, q);
		st.index = m->payload.state.index;
		st.num = q->base;
		close_fd(&q->kick_fd);
		close_fd(&q->call_fd);
		return msg_reply(dev, m, &st, sizeof(st));
	}
	case VHOST_USER_SET_VRING_KICK:
		if (set_vring_fd(dev, m, &q, &fd) < 0)
			return -EPROTO;
		queue_stop(dev, q);
		close_fd(&q->kick_fd);
		q->kick_fd = fd;
		/* Without protocol features a ring is enabled once it has a kick. */
		if (!vu_has_feature(dev, VHOST_USER_F_PROTOCOL_FEATURES))
			q->enabled = true;
		err = queue_start(dev, q);
		return err;
	case VHOST_USER_SET_VRING_CALL:
		if (set_vring_fd(dev, m, &q, &fd) < 0)
			return -EPROTO;
		close_fd(&q->call_fd);
		q->call_fd = fd;
		return 0;
	case VHOST_USER_SET_VRING_ERR:
		if (set_vring_fd(dev, m, &q, &fd) < 0)
			return -EPROTO;
		close_fd(&q->err_fd);
		q->err_fd = fd;
		return 0;
	case VHOST_USER_SET_VRING_ENABLE:
		if (want_size(m, sizeof(struct vu_vring_state)) < 0 ||
		    (q = queue_of(dev, m->payload.state.index)) == NULL ||
		    m->payload.state.num > 1)
			return -EPROTO;
		q->enabled = m->payload.state.num;
		if (q->enabled)
			return queue_start(dev, q);
		queue_stop(dev, q);
		return 0;
	}
	return -EPROTO;
}

static void inflight_unmap(struct vu_dev *dev)
{
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		if (dev->q[i].vq.inflight != NULL)
			vq_inflight_detach(&dev->q[i].vq);
	if (dev->inflight != NULL)
		munmap(dev->inflight, dev->inflight_size);
	dev->inflight = NULL;
	dev->inflight_size = 0;
}

static int inflight_check(struct vu_dev *dev, const struct vu_inflight *in)
{
	if (in->num_queues == 0 || in->num_queues > dev->ops->num_queues ||
	    in->queue_size == 0 || in->queue_size > VQ_MAX_SIZE) {
		log_warnx("inflight buffer for %u queues of %u: out of range",
			  in->num_queues, in->queue_size);
		return -EPROTO;
	}
	return 0;
}

/* GET_INFLIGHT_FD: make the buffer the front-end will keep for us. */
static int get_inflight_fd(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_inflight reply = m->payload.inflight;
	size_t size;
	int fd, err;

	if (want_size(m, sizeof(reply)) < 0 || inflight_check(dev, &reply) < 0)
		return -EPROTO;
	size = reply.num_queues * vq_inflight_region_size(reply.queue_size);
	fd = memfd_create("mica-inflight", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, size) < 0) {
		err = -errno;
		log_warn("inflight buffer of %zu bytes", size);
		if (fd >= 0)
			close(fd);
		return err;
	}
	inflight_unmap(dev);
	dev->inflight = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (dev->inflight == MAP_FAILED) {
		dev->inflight = NULL;
		close(fd);
		return -ENOMEM;
	}
	dev->inflight_size = size;
	dev->inflight_queues = reply.num_queues;
	dev->inflight_queue_size = reply.queue_size;
	reply.mmap_size = size;
	reply.mmap_offset = 0;
	err = msg_reply_fds(dev, m, &reply, sizeof(reply), &fd, 1);
	close(fd);
	return err;
}

/* SET_INFLIGHT_FD: the buffer of an earlier back-end (or of ours). */
static int set_inflight_fd(struct vu_dev *dev, struct vu_msg *m)
{
	const struct vu_inflight *in = &m->payload.inflight;
	void *p;

	if (want_size(m, sizeof(*in)) < 0 || want_fds(m, 1) < 0 ||
	    inflight_check(dev, in) < 0)
		return -EPROTO;
	if (in->mmap_size < in->num_queues * vq_inflight_region_size(in->queue_size) ||
	    in->mmap_size > SIZE_MAX || in->mmap_offset % 4096 != 0) {
		log_warnx("SET_INFLIGHT_FD: %llu bytes at %llu too small or misaligned",
			  (unsigned long long)in->mmap_size,
			  (unsigned long long)in->mmap_offset);
		return -EPROTO;
	}
	p = mmap(NULL, in->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[0],
		 in->mmap_offset);
	if (p == MAP_FAILED) {
		log_warn("SET_INFLIGHT_FD: mmap");
		return -EINVAL;
	}
	inflight_unmap(dev);
	dev->inflight = p;
	dev->inflight_size = in->mmap_size;
	dev->inflight_queues = in->num_queues;
	dev->inflight_queue_size = in->queue_size;
	return 0;
}

static int handle_config(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_config *c = &m->payload.config;
	int err;

	if (m->hdr.size < 12 || m->hdr.size > sizeof(*c) || c->size > VU_MAX_CONFIG ||
	    m->hdr.size != 12 + c->size || c->offset > VU_MAX_CONFIG ||
	    c->offset + c->size > VU_MAX_CONFIG) {
		log_warnx("%s: bad offset %u / size %u", vu_request_name(m->hdr.request),
			  c->offset, c->size);
		return -EPROTO;
	}
	if (m->hdr.request == VHOST_USER_GET_CONFIG) {
		memset(c->region, 0, c->size);
		err = dev->ops->get_config != NULL
			? dev->ops->get_config(dev, c->offset, c->region, c->size) : -ENOTSUP;
		if (err < 0)
			c->size = 0;     /* an empty reply tells the front-end it failed */
		return msg_reply(dev, m, c, 12 + c->size);
	}
	return dev->ops->set_config != NULL
		? dev->ops->set_config(dev, c->offset, c->region, c->size) : -ENOTSUP;
}

static int handle(struct vu_dev *dev, struct vu_msg *m)
{
	uint64_t v;

	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		return reply_u64(dev, m, dev->ops->features |
				 (1ULL << VHOST_USER_F_PROTOCOL_FEATURES));
	case VHOST_USER_SET_FEATURES:
		if (want_size(m, 8) < 0)
			return -EPROTO;
		v = m->payload.u64;
		if (v & ~(dev->ops->features | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))) {
			log_warnx("SET_FEATURES: 0x%llx asks for features not offered",
				  (unsigned long long)v);
			return -EPROTO;
		}
		dev->features = v;
		return 0;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		return reply_u64(dev, m, dev->ops->protocol_features);
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		if (want_size(m, 8) < 0 || (m->payload.u64 & ~dev->ops->protocol_features)) {
			log_warnx("SET_PROTOCOL_FEATURES: not offered");
			return -EPROTO;
		}
		dev->protocol_features = m->payload.u64;
		return 0;
	case VHOST_USER_SET_OWNER:
		dev->owner_set = true;
		return 0;
	case VHOST_USER_RESET_OWNER:
	case VHOST_USER_RESET_DEVICE:
		for (unsigned i = 0; i < dev->ops->num_queues; i++)
			queue_reset(dev, &dev->q[i]);
		dev->features = 0;
		return 0;
	case VHOST_USER_GET_QUEUE_NUM:
		return reply_u64(dev, m, dev->ops->num_queues);
	case VHOST_USER_SET_MEM_TABLE:
		return set_mem_table(dev, m);
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		return reply_u64(dev, m, GMEM_MAX_REGIONS);
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_ADDR:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
	case VHOST_USER_SET_VRING_ENABLE:
		return handle_vring(dev, m);
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		return handle_config(dev, m);
	case VHOST_USER_GET_INFLIGHT_FD:
		return get_inflight_fd(dev, m);
	case VHOST_USER_SET_INFLIGHT_FD:
		return set_inflight_fd(dev, m);
	default:
		log_warnx("%s (%u): not supported yet", vu_request_name(m->hdr.request),
			  m->hdr.request);
		return -ENOTSUP;
	}
}

/* Requests whose reply is their answer; REPLY_ACK does not add another. */
static bool has_own_reply(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_INFLIGHT_FD:
		return true;
	default:
		return false;
	}
}

int vu_dev_dispatch(struct vu_dev *dev)
{
	static struct vu_msg m;   /* 4 KiB payload; one message at a time */
	int err;

	err = msg_recv(dev->sock, &m);
	if (err < 0)
		return err;
	log_debug("vhost-user", "%s: %s (%u bytes, %zu fds)", dev->ops->name,
		  vu_request_name(m.hdr.request), m.hdr.size, m.nfds);
	err = handle(dev, &m);
	if ((m.hdr.flags & VHOST_USER_FLAG_NEED_REPLY) &&
	    (dev->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK)) &&
	    !has_own_reply(m.hdr.request)) {
		int rc = reply_u64(dev, &m, err < 0 ? 1 : 0);

		if (err == -ENOTSUP)
			err = 0;             /* refused and said so: carry on */
		if (rc < 0)
			err = rc;
	}
	msg_close_fds(&m);
	return err == -ENOTSUP ? 0 : err;
}

static void on_socket(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vu_dev *dev = arg;
	int err = vu_dev_dispatch(dev);

	if (err == 0)
		return;
	if (err == -ECONNRESET)
		log_info("%s: front-end disconnected", dev->ops->name);
	else
		log_warnx("%s: dropping the front-end after a bad message: %s",
			  dev->ops->name, strerror(-err));
	vu_dev_detach(dev);
}

int vu_dev_attach(struct vu_dev *dev, struct evloop *loop, int sock,
		  const struct vu_dev_ops *ops, void *priv)
{
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->loop = loop;
	dev->sock = sock;
	dev->priv = priv;
	for (unsigned i = 0; i < VU_MAX_QUEUES; i++)
		dev->q[i].kick_fd = dev->q[i].call_fd = dev->q[i].err_fd = -1;
	if (loop == NULL)
		return 0;             /* the caller drives vu_dev_dispatch */
	return evloop_add(loop, sock, EPOLLIN, on_socket, dev);
}

void vu_dev_detach(struct vu_dev *dev)
{
	if (dev->sock < 0)
		return;
	for (unsigned i = 0; i < VU_MAX_QUEUES && dev->ops != NULL; i++)
		queue_reset(dev, &dev->q[i]);
	if (dev->loop != NULL)
		evloop_del(dev->loop, dev->sock);
	close(dev->sock);
	dev->sock = -1;
	inflight_unmap(dev);
	gmem_clear(&dev->mem);
	if (dev->ops->disconnected != NULL)
		dev->ops->disconnected(dev);
}

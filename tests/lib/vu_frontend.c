#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/vhost_user.h"
#include "vu_frontend.h"

static int send_msg(struct vu_frontend *f, uint32_t request, uint32_t flags,
		    const void *payload, uint32_t size, const int *fds, size_t nfds)
{
	struct vu_header hdr = { request, VHOST_USER_VERSION | flags, size };
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };

	ipc_msghdr_set_fds(&mh, cbuf, fds, nfds);
	if (sendmsg(f->sock, &mh, MSG_NOSIGNAL) != (ssize_t)(sizeof(hdr) + size))
		return -EIO;
	return 0;
}

static int recv_reply(struct vu_frontend *f, uint32_t request, void *payload, uint32_t size)
{
	struct vu_header hdr;

	if (recv(f->sock, &hdr, sizeof(hdr), MSG_WAITALL) != sizeof(hdr))
		return -EIO;
	if (hdr.request != request || !(hdr.flags & VHOST_USER_FLAG_REPLY) || hdr.size > size)
		return -EPROTO;
	if (hdr.size > 0 && recv(f->sock, payload, hdr.size, MSG_WAITALL) != (ssize_t)hdr.size)
		return -EIO;
	return hdr.size;
}

/* Send, and wait for the REPLY_ACK when it was negotiated. */
static int request(struct vu_frontend *f, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, size_t nfds)
{
	bool ack = f->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	uint64_t status;
	int err;

	err = send_msg(f, req, ack ? VHOST_USER_FLAG_NEED_REPLY : 0, payload, size, fds, nfds);
	if (err < 0 || !ack)
		return err;
	err = recv_reply(f, req, &status, sizeof(status));
	if (err < 0)
		return err;
	return status == 0 ? 0 : -EREMOTEIO;
}

static int get_u64(struct vu_frontend *f, uint32_t req, uint64_t *v)
{
	int err = send_msg(f, req, 0, NULL, 0, NULL, 0);

	if (err == 0)
		err = recv_reply(f, req, v, sizeof(*v));
	return err < 0 ? err : 0;
}

static int connect_socket(struct vu_frontend *f, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	for (int waited = 0;; waited += 10) {
		f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(f->sock, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return 0;
		close(f->sock);
		f->sock = -1;
		if (waited >= timeout_ms)
			return -errno;
		usleep(10000);
	}
}

int vuf_connect(struct vu_frontend *f, const char *path, int timeout_ms)
{
	memset(f, 0, sizeof(*f));
	f->memfd = f->inflight_fd = -1;
	for (unsigned i = 0; i < VUF_MAX_QUEUES; i++)
		f->kick[i] = f->call[i] = f->err[i] = -1;
	return connect_socket(f, path, timeout_ms);
}

static int map_table(struct vu_frontend *f);

static int setup_memory(struct vu_frontend *f, uint64_t mem_size)
{
	f->memfd = memfd_create("vuf-guest-ram", MFD_CLOEXEC);
	if (f->memfd < 0 || ftruncate(f->memfd, mem_size) < 0)
		return -errno;
	f->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	if (f->mem == MAP_FAILED)
		return -errno;
	f->mem_size = mem_size;
	return map_table(f);
}

/* Hand ring q to the back-end, starting at base: number, base,
 * addresses (our own virtual addresses, as QEMU sends them), call, err
 * and kick eventfds, enable. */
static int send_ring(struct vu_frontend *f, unsigned q, uint16_t base)
{
	struct vqdrv *d = &f->q[q];
	struct vu_vring_state st = { q, d->size };
	struct vu_vring_addr addr = { .index = q };
	uint64_t idx = q;
	int err;

	addr.desc_user_addr = (uint64_t)(uintptr_t)d->desc;
	addr.avail_user_addr = (uint64_t)(uintptr_t)d->avail;
	addr.used_user_addr = (uint64_t)(uintptr_t)d->used;
	err = request(f, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), NULL, 0);
	st.num = base;
	if (err == 0)
		err = request(f, VHOST_USER_SET_VRING_BASE, &st, sizeof(st), NULL, 0);
	if (err == 0)
		err = request(f, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0);
	if (err == 0)
		err = request(f, VHOST_USER_SET_VRING_CALL, &idx, 8, &f->call[q], 1);
	if (err == 0)
		err = request(f, VHOST_USER_SET_VRING_ERR, &idx, 8, &f->err[q], 1);
	if (err == 0)
		err = request(f, VHOST_USER_SET_VRING_KICK, &idx, 8, &f->kick[q], 1);
	st.num = 1;
	if (err == 0)
		err = request(f, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0);
	return err;
}

static int setup_queue(struct vu_frontend *f, unsigned q, uint16_t qsize, bool packed)
{
	uint8_t *area = f->mem + (uint64_t)q * VUF_RING_AREA;

	if (vqdrv_ring_bytes(qsize, packed) > VUF_RING_AREA)
		return -E2BIG;
	vqdrv_init(&f->q[q], packed, qsize, area, (uint64_t)q * VUF_RING_AREA);
	f->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->err[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* Packed rings start with both wrap counters at 1 (bit 15). */
	return send_ring(f, q, packed ? 0x8000 : 0);
}

static int negotiate(struct vu_frontend *f, bool packed, uint64_t features)
{
	uint64_t offered, pf, want_pf;
	int err;

	err = get_u64(f, VHOST_USER_GET_FEATURES, &offered);
	if (err < 0)
		return err;
	f->features = offered & (features | (1ULL << VIRTIO_F_VERSION_1) |
				 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
				 (1ULL << VIRTIO_RING_F_EVENT_IDX) |
				 (1ULL << VHOST_USER_F_PROTOCOL_FEATURES));
	f->features &= ~(1ULL << VIRTIO_F_RING_PACKED);
	if (packed)
		f->features |= offered & (1ULL << VIRTIO_F_RING_PACKED);
	if (packed && !(f->features & (1ULL << VIRTIO_F_RING_PACKED)))
		return -ENOTSUP;
	if (f->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)) {
		err = get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES, &pf);
		if (err < 0)
			return err;
		want_pf = pf & ((1ULL << VHOST_USER_PROTOCOL_F_MQ) |
				(1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
				(1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |
				(f->want_inflight ? 1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD : 0));
		if (f->want_inflight && !(want_pf & (1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)))
			return -ENOTSUP;
		err = send_msg(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &want_pf, 8, NULL, 0);
		if (err < 0)
			return err;
		f->protocol_features = want_pf;
	}
	err = request(f, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
	if (err == 0)
		err = request(f, VHOST_USER_SET_FEATURES, &f->features, 8, NULL, 0);
	return err;
}

/* GET_INFLIGHT_FD once (we keep the buffer), SET_INFLIGHT_FD every start. */
static int inflight_setup(struct vu_frontend *f)
{
	struct vu_inflight in = { .num_queues = f->nqueues, .queue_size = f->qsize };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct vu_header hdr;
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { &in, sizeof(in) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	int err;

	if (!f->want_inflight)
		return 0;
	if (f->inflight_fd < 0) {
		err = send_msg(f, VHOST_USER_GET_INFLIGHT_FD, 0, &in, sizeof(in), NULL, 0);
		if (err < 0)
			return err;
		if (recvmsg(f->sock, &mh, MSG_WAITALL) != sizeof(hdr) + sizeof(in) ||
		    CMSG_FIRSTHDR(&mh) == NULL)
			return -EPROTO;
		memcpy(&f->inflight_fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
		f->inflight_size = in.mmap_size;
		f->inflight = mmap(NULL, in.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				   f->inflight_fd, in.mmap_offset);
		if (f->inflight == MAP_FAILED)
			return -errno;
	}
	in.mmap_size = f->inflight_size;
	in.mmap_offset = 0;
	in.num_queues = f->nqueues;
	in.queue_size = f->qsize;
	return request(f, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &f->inflight_fd, 1);
}

static int map_table(struct vu_frontend *f)
{
	struct vu_mem_table t = { .nregions = 1 };

	t.regions[0].guest_phys_addr = 0;
	t.regions[0].memory_size = f->mem_size;
	t.regions[0].userspace_addr = (uint64_t)(uintptr_t)f->mem;
	return request(f, VHOST_USER_SET_MEM_TABLE, &t, 8 + sizeof(t.regions[0]), &f->memfd, 1);
}

int vuf_start(struct vu_frontend *f, uint64_t mem_size, unsigned nqueues, uint16_t qsize,
	      bool packed, uint64_t features)
{
	int err;

	if (nqueues == 0 || nqueues > VUF_MAX_QUEUES)
		return -EINVAL;
	f->nqueues = nqueues;
	f->qsize = qsize;
	err = negotiate(f, packed, features);
	if (err == 0)
		err = inflight_setup(f);
	if (err == 0)
		err = setup_memory(f, mem_size);
	for (unsigned q = 0; q < nqueues && err == 0; q++)
		err = setup_queue(f, q, qsize, packed);
	return err;
}

int vuf_resume(struct vu_frontend *f, const char *path, int timeout_ms)
{
	int err;

	if (f->sock >= 0)
		close(f->sock);
	f->protocol_features = 0;
	err = connect_socket(f, path, timeout_ms);
	if (err == 0)
		err = negotiate(f, false, f->features);
	if (err == 0)
		err = inflight_setup(f);
	if (err == 0)
		err = map_table(f);
	/* Each ring resumes at its used index. */
	for (unsigned q = 0; q < f->nqueues && err == 0; q++)
		err = send_ring(f, q, __atomic_load_n(&((struct vring_used *)f->q[q].used)->idx,
						      __ATOMIC_ACQUIRE));
	return err;
}

int vuf_get_config(struct vu_frontend *f, uint32_t offset, void *buf, uint32_t len)
{
	struct vu_config c = { .offset = offset, .size = len };
	int err;

	if (len > VU_MAX_CONFIG)
		return -EINVAL;
	err = send_msg(f, VHOST_USER_GET_CONFIG, 0, &c, 12 + len, NULL, 0);
	if (err == 0)
		err = recv_reply(f, VHOST_USER_GET_CONFIG, &c, sizeof(c));
	if (err < 0)
		return err;
	if ((uint32_t)err != 12 + len)
		return -EIO;
	memcpy(buf, c.region, len);
	return 0;
}

int vuf_kick(struct vu_frontend *f, unsigned q)
{
	uint64_t one = 1;

	return write(f->kick[q], &one, 8) == 8 ? 0 : -errno;
}

int vuf_wait_used(struct vu_frontend *f, unsigned q, uint16_t *id, uint32_t *len,
		  int timeout_ms)
{
	struct pollfd pfd = { .fd = f->call[q], .events = POLLIN };
	uint64_t count;

	for (;;) {
		if (vqdrv_get_used(&f->q[q], id, len) == 1)
			return 0;
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		if (read(f->call[q], &count, 8) < 0 && errno != EAGAIN)
			return -errno;
	}
}

bool vuf_error_signalled(struct vu_frontend *f, unsigned q)
{
	struct pollfd pfd = { .fd = f->err[q], .events = POLLIN };

	return poll(&pfd, 1, 1000) == 1;
}

uint64_t vuf_data_gpa(const struct vu_frontend *f)
{
	return (uint64_t)VUF_MAX_QUEUES * VUF_RING_AREA;
}

void *vuf_gpa(const struct vu_frontend *f, uint64_t gpa)
{
	return f->mem + gpa;
}

void vuf_close(struct vu_frontend *f)
{
	if (f->sock >= 0)
		close(f->sock);
	for (unsigned i = 0; i < VUF_MAX_QUEUES; i++) {
		if (f->kick[i] >= 0)
			close(f->kick[i]);
		if (f->call[i] >= 0)
			close(f->call[i]);
		if (f->err[i] >= 0)
			close(f->err[i]);
	}
	if (f->mem != NULL && f->mem != MAP_FAILED)
		munmap(f->mem, f->mem_size);
	if (f->memfd >= 0)
		close(f->memfd);
	if (f->inflight != NULL && f->inflight != MAP_FAILED)
		munmap(f->inflight, f->inflight_size);
	if (f->inflight_fd >= 0)
		close(f->inflight_fd);
	memset(f, 0, sizeof(*f));
	f->sock = f->memfd = f->inflight_fd = -1;
	/* A second vuf_close must not close fd 0 (kick/call/err). */
	for (unsigned i = 0; i < VUF_MAX_QUEUES; i++)
		f->kick[i] = f->call[i] = f->err[i] = -1;
}

/* vhost-user front-end of the runner (see vhost-user-frontend.h).  The
 * message structs and numbers are the protocol's, shared with the back-end
 * side in ipc/vhost_user.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"
#include "vhost-user-frontend.h"

/* What we can use of the protocol. */
#define FRONTEND_PROTOCOL_FEATURES \
	((1ULL << VHOST_USER_PROTOCOL_F_MQ) | \
	 (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) | \
	 (1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))

/* Names of the requests we send (vu_request_name lives in libmica-ipc,
 * which the guest-run harness does not link). */
static const char *request_name(uint32_t req)
{
	static const char *const names[] = {
		[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
		[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
		[VHOST_USER_SET_OWNER] = "SET_OWNER",
		[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
		[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
		[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
		[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
		[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
		[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
		[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
		[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
		[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
		[VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
		[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
		[VHOST_USER_GET_CONFIG] = "GET_CONFIG",
		[VHOST_USER_SET_CONFIG] = "SET_CONFIG",
		[VHOST_USER_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
		[VHOST_USER_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	};

	if (req < sizeof(names) / sizeof(names[0]) && names[req] != NULL)
		return names[req];
	return "request";
}

static bool has_pf(const struct vhost_user_frontend *f, unsigned bit)
{
	return f->protocol_features & (1ULL << bit);
}

/* A message with nfds (up to GMEM_MAX_REGIONS) fds. */
static int send_msg_fds(struct vhost_user_frontend *f, uint32_t request,
			uint32_t flags, const void *payload, uint32_t size,
			const int *fds, unsigned nfds)
{
	struct vu_header hdr = { request, VHOST_USER_VERSION | flags, size };
	union {
		char buf[CMSG_SPACE(GMEM_MAX_REGIONS * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	if (nfds > GMEM_MAX_REGIONS)
		return -E2BIG;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(f->sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(sizeof(hdr) + size)) {
		log_warnx("%s: vhost-user %s: cannot send to the back-end",
			  f->name, request_name(request));
		return -EPIPE;
	}
	return 0;
}

static int send_msg(struct vhost_user_frontend *f, uint32_t request,
		    uint32_t flags, const void *payload, uint32_t size, int fd)
{
	return send_msg_fds(f, request, flags, payload, size, &fd, fd >= 0 ? 1 : 0);
}

/* Read exactly len bytes within the time limit; *fd gets an fd that came
 * with them (or stays -1). */
static int recv_exact(struct vhost_user_frontend *f, void *buf, size_t len,
		      int *fd)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = f->sock, .events = POLLIN };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		struct cmsghdr *c;
		ssize_t n;
		int r = poll(&p, 1, f->timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -ETIMEDOUT;
		n = recvmsg(f->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -ECONNRESET;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			int in;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i * sizeof(int) < c->cmsg_len - CMSG_LEN(0); i++) {
				memcpy(&in, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (fd != NULL && *fd < 0)
					*fd = in;
				else
					close(in);
			}
		}
		got += (size_t)n;
	}
	return 0;
}

/* A reply to request: checked header, payload of at most size bytes.
 * Returns the payload size. */
static int recv_reply(struct vhost_user_frontend *f, uint32_t request,
		      void *payload, uint32_t size, int *fd)
{
	struct vu_header hdr;
	int err;

	err = recv_exact(f, &hdr, sizeof(hdr), fd);
	if (err == 0 && (hdr.request != request ||
			 !(hdr.flags & VHOST_USER_FLAG_REPLY) || hdr.size > size))
		err = -EPROTO;
	if (err == 0 && hdr.size > 0)
		err = recv_exact(f, payload, hdr.size, NULL);
	if (err < 0) {
		log_warnx("%s: vhost-user %s: %s", f->name, request_name(request),
			  err == -EPROTO ? "malformed reply from the back-end" :
			  err == -ETIMEDOUT ? "the back-end does not answer" :
			  "the back-end went away");
		return err;
	}
	return (int)hdr.size;
}

/* Send; wait for the back-end's acknowledgement when REPLY_ACK is on. */
static int request_fds(struct vhost_user_frontend *f, uint32_t req,
		       const void *payload, uint32_t size, const int *fds,
		       unsigned nfds)
{
	bool ack = has_pf(f, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	uint64_t status = 0;
	int err;

	err = send_msg_fds(f, req, ack ? VHOST_USER_FLAG_NEED_REPLY : 0, payload,
			   size, fds, nfds);
	if (err < 0 || !ack)
		return err;
	err = recv_reply(f, req, &status, sizeof(status), NULL);
	if (err < 0)
		return err;
	if (err != sizeof(status) || status != 0) {
		log_warnx("%s: vhost-user %s: the back-end refused it", f->name,
			  request_name(req));
		return -EREMOTEIO;
	}
	return 0;
}

static int request(struct vhost_user_frontend *f, uint32_t req,
		   const void *payload, uint32_t size, int fd)
{
	return request_fds(f, req, payload, size, &fd, fd >= 0 ? 1 : 0);
}

static int get_u64(struct vhost_user_frontend *f, uint32_t req, uint64_t *v)
{
	int err = send_msg(f, req, 0, NULL, 0, -1);

	if (err == 0)
		err = recv_reply(f, req, v, sizeof(*v), NULL);
	if (err >= 0 && err != sizeof(*v))
		err = -EPROTO;
	return err < 0 ? err : 0;
}

static int negotiate(struct vhost_user_frontend *f)
{
	uint64_t pf, nq = 1;
	int err;

	f->protocol_features = 0;
	err = get_u64(f, VHOST_USER_GET_FEATURES, &f->features);
	if (err == 0 && (f->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))) {
		err = get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES, &pf);
		pf &= FRONTEND_PROTOCOL_FEATURES;
		if (err == 0)
			err = send_msg(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0,
				       &pf, sizeof(pf), -1);
		if (err == 0)
			f->protocol_features = pf;
		if (err == 0 && has_pf(f, VHOST_USER_PROTOCOL_F_MQ))
			err = get_u64(f, VHOST_USER_GET_QUEUE_NUM, &nq);
	}
	if (err == 0)
		err = request(f, VHOST_USER_SET_OWNER, NULL, 0, -1);
	if (err < 0)
		return err;
	if (nq == 0) {
		log_warnx("%s: the back-end has no queues", f->name);
		return -EPROTO;
	}
	f->num_queues = nq > VHOST_USER_FRONTEND_MAX_QUEUES ?
			VHOST_USER_FRONTEND_MAX_QUEUES : (unsigned)nq;
	log_debug("vhost-user", "%s: features %#llx, protocol features %#llx, "
		  "%u queues", f->name, (unsigned long long)f->features,
		  (unsigned long long)f->protocol_features, f->num_queues);
	return 0;
}

int vhost_user_frontend_init(struct vhost_user_frontend *f, const char *name,
			     int sock, int timeout_ms)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->sock = sock;
	f->timeout_ms = timeout_ms;
	f->inflight_fd = -1;
	return negotiate(f);
}

int vhost_user_frontend_reconnect(struct vhost_user_frontend *f, int sock,
				  uint64_t features_in_use)
{
	unsigned old_queues = f->num_queues;
	int err;

	if (f->sock >= 0)
		close(f->sock);
	f->sock = sock;
	memset(f->started, 0, sizeof(f->started));	/* died with the old one */
	err = negotiate(f);
	if (err == 0 && ((features_in_use & ~f->features) ||
			 f->num_queues < old_queues)) {
		log_warnx("%s: the new back-end offers less than the driver uses",
			  f->name);
		err = -EPROTO;
	}
	f->num_queues = old_queues;
	return err;
}

void vhost_user_frontend_fini(struct vhost_user_frontend *f)
{
	if (f->sock >= 0)
		close(f->sock);
	if (f->inflight_fd >= 0)
		close(f->inflight_fd);
	f->sock = f->inflight_fd = -1;
}

int vhost_user_frontend_get_config(struct vhost_user_frontend *f,
				   uint32_t offset, void *buf, uint32_t len)
{
	struct vu_config c = { .offset = offset, .size = len };
	int err;

	if (!has_pf(f, VHOST_USER_PROTOCOL_F_CONFIG))
		return -ENOTSUP;
	if (len > VU_MAX_CONFIG || offset > VU_MAX_CONFIG - len)
		return -EINVAL;
	err = send_msg(f, VHOST_USER_GET_CONFIG, 0, &c, 12 + len, -1);
	if (err == 0)
		err = recv_reply(f, VHOST_USER_GET_CONFIG, &c, sizeof(c), NULL);
	if (err < 0)
		return err;
	if ((uint32_t)err != 12 + len || c.size != len)
		return -EIO;		/* e.g. beyond the device's config */
	memcpy(buf, c.region, len);
	return 0;
}

int vhost_user_frontend_set_config(struct vhost_user_frontend *f,
				   uint32_t offset, const void *buf,
				   uint32_t len)
{
	struct vu_config c = { .offset = offset, .size = len };

	if (!has_pf(f, VHOST_USER_PROTOCOL_F_CONFIG))
		return -ENOTSUP;
	if (len > VU_MAX_CONFIG || offset > VU_MAX_CONFIG - len)
		return -EINVAL;
	memcpy(c.region, buf, len);
	return request(f, VHOST_USER_SET_CONFIG, &c, 12 + len, -1);
}

/* GET_INFLIGHT_FD once (we keep the buffer for a restarted back-end),
 * SET_INFLIGHT_FD at every start. */
static int inflight_setup(struct vhost_user_frontend *f, uint16_t queue_size)
{
	struct vu_inflight in = { .num_queues = (uint16_t)f->num_queues,
				  .queue_size = queue_size };
	int err;

	if (!has_pf(f, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))
		return 0;
	if (f->inflight_fd < 0) {
		err = send_msg(f, VHOST_USER_GET_INFLIGHT_FD, 0, &in, sizeof(in), -1);
		if (err == 0)
			err = recv_reply(f, VHOST_USER_GET_INFLIGHT_FD, &in,
					 sizeof(in), &f->inflight_fd);
		if (err >= 0 && (err != sizeof(in) || f->inflight_fd < 0 ||
				 in.mmap_size == 0))
			err = -EPROTO;
		if (err < 0) {
			log_warnx("%s: no inflight buffer from the back-end", f->name);
			return err;
		}
		f->inflight_size = in.mmap_size;
		f->inflight_queue_size = queue_size;
		/* The buffer's layout is the back-end's; we only keep it
		 * (mmap_offset is ours to choose when we hand it back). */
	}
	in = (struct vu_inflight){ .mmap_size = f->inflight_size,
				   .num_queues = (uint16_t)f->num_queues,
				   .queue_size = f->inflight_queue_size };
	return request(f, VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in),
		       f->inflight_fd);
}

static int send_mem_table(struct vhost_user_frontend *f,
			  const struct guest_mem *mem, int memfd)
{
	struct vu_mem_table t = { .nregions = mem->nr };
	int fds[GMEM_MAX_REGIONS];
	uint64_t offset = 0;

	if (mem->nr > GMEM_MAX_REGIONS)
		return -E2BIG;
	for (unsigned i = 0; i < mem->nr; i++) {
		t.regions[i] = (struct vu_mem_region){
			.guest_phys_addr = mem->region[i].gpa,
			.memory_size = mem->region[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)mem->region[i].hva,
			.mmap_offset = offset,
		};
		offset += mem->region[i].size;
		fds[i] = memfd;		/* one fd per region: the same memfd */
	}
	return request_fds(f, VHOST_USER_SET_MEM_TABLE, &t,
			   8 + mem->nr * sizeof(t.regions[0]), fds, mem->nr);
}

static int ring_uva(const struct guest_mem *mem, uint64_t gpa, uint64_t len,
		    uint64_t *uva)
{
	void *p = guest_mem_ptr(mem, gpa, len);

	if (p == NULL)
		return -EFAULT;
	*uva = (uint64_t)(uintptr_t)p;
	return 0;
}

static int start_ring(struct vhost_user_frontend *f, unsigned q,
		      const struct vhost_user_ring *r,
		      const struct guest_mem *mem)
{
	struct vu_vring_state st = { q, r->size };
	struct vu_vring_addr addr = { .index = q };
	uint64_t idx = q, desc = 0, avail = 0, used = 0;
	int err;

	err = ring_uva(mem, r->desc, 16ULL * r->size, &desc);
	if (err == 0)
		err = ring_uva(mem, r->avail, 6 + 2ULL * r->size, &avail);
	if (err == 0)
		err = ring_uva(mem, r->used, 6 + 8ULL * r->size, &used);
	addr.desc_user_addr = desc;
	addr.avail_user_addr = avail;
	addr.used_user_addr = used;
	if (err < 0) {
		log_warnx("%s: queue %u: ring outside guest RAM", f->name, q);
		return err;
	}
	err = request(f, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), -1);
	st.num = r->base;	/* 0 for a fresh ring, used->idx on resume */
	if (err == 0)
		err = request(f, VHOST_USER_SET_VRING_BASE, &st, sizeof(st), -1);
	if (err == 0)
		err = request(f, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), -1);
	if (err == 0)
		err = request(f, VHOST_USER_SET_VRING_CALL, &idx, sizeof(idx), r->call_fd);
	if (err == 0)
		err = request(f, VHOST_USER_SET_VRING_KICK, &idx, sizeof(idx), r->kick_fd);
	st.num = 1;
	if (err == 0 && (f->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)))
		err = request(f, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), -1);
	if (err == 0)
		f->started[q] = true;
	return err;
}

int vhost_user_frontend_start(struct vhost_user_frontend *f,
			      uint64_t driver_features,
			      const struct guest_mem *mem, int memfd,
			      const struct vhost_user_ring *rings,
			      unsigned nr_rings, uint16_t max_queue_size)
{
	uint64_t features = driver_features;
	int err;

	if (nr_rings > f->num_queues)
		return -EINVAL;
	features |= f->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
	err = request(f, VHOST_USER_SET_FEATURES, &features, sizeof(features), -1);
	if (err == 0)
		err = inflight_setup(f, max_queue_size);
	if (err == 0)
		err = send_mem_table(f, mem, memfd);
	for (unsigned q = 0; q < nr_rings && err == 0; q++)
		if (rings[q].size != 0)
			err = start_ring(f, q, &rings[q], mem);
	return err;
}

int vhost_user_frontend_stop(struct vhost_user_frontend *f, uint16_t *bases)
{
	int ret = 0;

	for (unsigned q = 0; q < f->num_queues; q++) {
		struct vu_vring_state st = { q, 0 };
		int err;

		if (!f->started[q])
			continue;
		f->started[q] = false;
		err = send_msg(f, VHOST_USER_GET_VRING_BASE, 0, &st, sizeof(st), -1);
		if (err == 0)
			err = recv_reply(f, VHOST_USER_GET_VRING_BASE, &st,
					 sizeof(st), NULL);
		if (err >= 0 && (err != sizeof(st) || st.index != q))
			err = -EPROTO;
		if (err < 0)
			ret = err;
		else if (bases != NULL)
			bases[q] = (uint16_t)st.num;
	}
	return ret;
}

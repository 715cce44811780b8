/* Forwarded legacy port I/O, runner side (see legacy-forward.h and
 * dev-legacy/forward.h for the protocol). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "legacy-forward.h"

const char *legacy_forward_mode_name(enum legacy_fwd_mode mode)
{
	return mode == LEGACY_FWD_RING ? "ring" : "msg";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int legacy_forward_init(struct legacy_forward *f, enum legacy_fwd_mode mode)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->channel_fd = f->ring_fd = f->req_efd = f->reply_efd = -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->reconnected, NULL);
	if (mode != LEGACY_FWD_RING)
		return 0;
	f->ring_fd = memfd_create("legacy-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (f->ring_fd < 0 || ftruncate(f->ring_fd, LEGACY_FWD_RING_SIZE) < 0 ||
	    fcntl(f->ring_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	f->ring = mmap(NULL, LEGACY_FWD_RING_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, f->ring_fd, 0);
	if (f->ring == MAP_FAILED) {
		f->ring = NULL;
		return -errno;
	}
	f->req_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->reply_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->req_efd < 0 || f->reply_efd < 0)
		return -errno;
	return 0;
}

static int forward_send_hello(struct legacy_forward *f, int fd)
{
	struct legacy_fwd_msg hello = {
		.magic = LEGACY_FWD_MAGIC, .type = LEGACY_FWD_HELLO,
		.value = f->mode,
	};
	struct iovec iov = { &hello, sizeof(hello) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[3] = { f->ring_fd, f->req_efd, f->reply_efd };
	char cbuf[CMSG_SPACE(sizeof(fds))];

	if (f->mode == LEGACY_FWD_RING) {
		/* A fresh mica-legacy starts from an empty slot. */
		memset(f->ring, 0, sizeof(*f->ring));
		f->ring->magic = LEGACY_FWD_MAGIC;
		/* Kick it until it says it is spinning. */
		f->ring->legacy_sleeping = 1;
		f->seq = 0;
		ipc_msghdr_set_fds(&mh, cbuf, fds, 3);
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int legacy_forward_connect(struct legacy_forward *f, int channel_fd)
{
	int err;

	pthread_mutex_lock(&f->lock);
	if (f->channel_fd >= 0)
		close(f->channel_fd);
	f->channel_fd = channel_fd;
	err = forward_send_hello(f, channel_fd);
	if (err < 0) {
		log_warnx("cannot greet mica-legacy: %s", strerror(-err));
		close(channel_fd);
		f->channel_fd = -1;
	}
	pthread_cond_broadcast(&f->reconnected);
	pthread_mutex_unlock(&f->lock);
	return err;
}

/* Called with f->lock held.  True when there is a channel to use, after
 * waiting for a restarted mica-legacy if the old one went away recently. */
static bool forward_wait_connected(struct legacy_forward *f)
{
	struct timespec deadline = f->lost_at;

	if (f->channel_fd >= 0)
		return true;
	if (!f->ever_lost)
		return false;
	deadline.tv_sec += LEGACY_FORWARD_RECONNECT_MS / 1000;
	while (f->channel_fd < 0) {
		if (pthread_cond_timedwait(&f->reconnected, &f->lock,
					   &deadline) == ETIMEDOUT)
			break;
	}
	return f->channel_fd >= 0;
}

static void forward_lost(struct legacy_forward *f, int err)
{
	log_warnx("mica-legacy went away (%s); waiting for its restart",
		  strerror(-err));
	/* The channel end is closed by the next connect; until then no one
	 * uses it. */
	close(f->channel_fd);
	f->channel_fd = -1;
	f->ever_lost = true;
	/* pthread_cond_timedwait measures CLOCK_REALTIME by default. */
	clock_gettime(CLOCK_REALTIME, &f->lost_at);
}

static int msg_exchange(struct legacy_forward *f, struct legacy_fwd_msg *req,
			struct legacy_fwd_msg *rep)
{
	struct pollfd p = { .fd = f->channel_fd, .events = POLLIN };
	ssize_t n;

	if (send(f->channel_fd, req, sizeof(*req), MSG_NOSIGNAL) < 0)
		return -errno;
	for (;;) {
		int rc = poll(&p, 1, LEGACY_FORWARD_REPLY_MS);

		if (rc == 0)
			return -ETIMEDOUT;
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		n = recv(f->channel_fd, rep, sizeof(*rep), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		if ((size_t)n != sizeof(*rep) || rep->magic != LEGACY_FWD_MAGIC ||
		    rep->type != LEGACY_FWD_REPLY)
			return -EPROTO;
		if (rep->seq == req->seq)
			return 0;
		/* A late answer to a request that timed out: skip it. */
	}
}

static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

/* Sleep on the reply eventfd, watching the channel for mica-legacy's end. */
static int ring_sleep(struct legacy_forward *f, uint32_t seq)
{
	struct legacy_fwd_ring *r = f->ring;
	struct pollfd p[2] = {
		{ .fd = f->reply_efd, .events = POLLIN },
		{ .fd = f->channel_fd, .events = 0 },	/* HUP/ERR only */
	};
	uint64_t n;
	int rc;

	__atomic_store_n(&r->runner_sleeping, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->done_seq, __ATOMIC_SEQ_CST) == seq)
		rc = 1;
	else
		rc = poll(p, 2, LEGACY_FORWARD_REPLY_MS);
	__atomic_store_n(&r->runner_sleeping, 0, __ATOMIC_SEQ_CST);
	if (read(f->reply_efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return -errno;
	if (__atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE) == seq)
		return 0;
	if (rc == 0)
		return -ETIMEDOUT;
	if (rc > 0 && (p[1].revents & (POLLHUP | POLLERR)))
		return -EPIPE;
	return rc < 0 && errno != EINTR ? -errno : -EAGAIN;
}

static int ring_exchange(struct legacy_forward *f, struct legacy_fwd_msg *req,
			 struct legacy_fwd_msg *rep)
{
	struct legacy_fwd_ring *r = f->ring;
	uint32_t seq = req->seq;
	uint64_t one = 1, deadline;
	unsigned spins = 0;

	r->port = req->port;
	r->size = req->size;
	r->write = req->write;
	r->value = req->value;
	__atomic_store_n(&r->req_seq, seq, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->legacy_sleeping, __ATOMIC_SEQ_CST) &&
	    write(f->req_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	deadline = now_ns() + LEGACY_FWD_RUNNER_SPIN_NS;
	while (__atomic_load_n(&r->done_seq, __ATOMIC_ACQUIRE) != seq) {
		if ((++spins & 63) == 0 && now_ns() > deadline) {
			int err = ring_sleep(f, seq);

			if (err == 0)
				break;
			if (err != -EAGAIN)
				return err;
		}
		cpu_relax();
	}
	rep->value = r->reply_value;
	rep->flags = r->reply_flags;
	return 0;
}

/* One access, forwarded; returns what to give the guest for a read. */
static uint32_t forward_access(struct legacy_forward *f, uint16_t port,
			       unsigned size, bool write, uint32_t value)
{
	struct legacy_fwd_msg req = {
		.magic = LEGACY_FWD_MAGIC, .type = LEGACY_FWD_IO,
		.port = port, .size = (uint8_t)size, .write = write,
		.value = value,
	}, rep = { .value = 0xffffffffu };
	int err = -ENOTCONN;

	pthread_mutex_lock(&f->lock);
	/* Once more on a restarted mica-legacy: a write may then be seen
	 * twice, which the legacy registers tolerate better than losing it. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!forward_wait_connected(f))
			break;
		req.seq = ++f->seq;
		if (f->mode == LEGACY_FWD_RING)
			err = ring_exchange(f, &req, &rep);
		else
			err = msg_exchange(f, &req, &rep);
		if (err == 0)
			break;
		rep.value = 0xffffffffu;
		rep.flags = 0;
		forward_lost(f, err);
	}
	if (err == 0)
		f->forwarded++;
	else
		f->lost++;
	pthread_mutex_unlock(&f->lock);
	if (rep.flags & LEGACY_FWD_POWEROFF)
		machine_request_stop(f->m, MACHINE_POWEROFF, 0);
	else if (rep.flags & LEGACY_FWD_RESET)
		machine_request_stop(f->m, MACHINE_RESET, 0);
	return rep.value;
}

static uint64_t forward_read(void *opaque, uint64_t addr, unsigned size)
{
	return forward_access(opaque, (uint16_t)addr, size, false, 0);
}

static void forward_write(void *opaque, uint64_t addr, unsigned size,
			  uint64_t val)
{
	forward_access(opaque, (uint16_t)addr, size, true, (uint32_t)val);
}

static const struct io_handler forward_io = {
	.read = forward_read,
	.write = forward_write,
};

int legacy_forward_attach(struct legacy_forward *f, struct machine *m)
{
	/* The ports of legacy_bus_create_pc. */
	static const struct { uint16_t base, len; } ports[] = {
		{ 0x3f8, 8 },		/* COM1 */
		{ 0x60, 1 }, { 0x64, 1 },	/* i8042 */
		{ 0x70, 2 },		/* CMOS RTC */
		{ 0xcf9, 1 },		/* reset control */
		{ 0x600, 2 },		/* ACPI sleep control/status */
	};
	int err;

	f->m = m;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		err = iobus_register(&m->pio, ports[i].base, ports[i].len,
				     &forward_io, f);
		if (err < 0)
			return err;
	}
	return 0;
}

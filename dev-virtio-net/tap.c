/* TAP data path helpers (see tap.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/if_tun.h>

#include "tap.h"

/* readv/writev take at most this many iovecs; one more for the header. */
#define TAP_MAX_IOV 64

int tap_set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int tap_set_vnet_hdr_size(int fd, int size)
{
	if (size != 10 && size != 12)
		return -EINVAL;
	return ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 ? -errno : 0;
}

unsigned tap_offload_flags(uint64_t features)
{
	unsigned flags = 0;

#define HAS(bit) (features & (1ULL << (bit)))
	/* Without checksum offload the kernel must not hand us any GSO. */
	if (!HAS(VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	flags |= TUN_F_CSUM;
	if (HAS(VIRTIO_NET_F_GUEST_TSO4))
		flags |= TUN_F_TSO4;
	if (HAS(VIRTIO_NET_F_GUEST_TSO6))
		flags |= TUN_F_TSO6;
	if (HAS(VIRTIO_NET_F_GUEST_ECN) && (flags & (TUN_F_TSO4 | TUN_F_TSO6)))
		flags |= TUN_F_TSO_ECN;
	if (HAS(VIRTIO_NET_F_GUEST_UFO))
		flags |= TUN_F_UFO;
#undef HAS
	return flags;
}

int tap_set_offload_from_features(int fd, uint64_t features)
{
	unsigned long flags = tap_offload_flags(features);

	return ioctl(fd, TUNSETOFFLOAD, flags) < 0 ? -errno : 0;
}

static size_t iov_size(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

int tap_read_batch(int fd, struct tap_rx *bufs, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct tap_rx *b = &bufs[i];
		size_t room = iov_size(b->iov, b->iovcnt);
		ssize_t got;

		if (b->iovcnt < 1 || b->iovcnt > TAP_MAX_IOV || room < TAP_VNET_HDR_LEN)
			return i ? (int)i : -EINVAL;
		do
			got = readv(fd, b->iov, b->iovcnt);
		while (got < 0 && errno == EINTR);
		if (got < 0) {
			if (i > 0 || errno == EAGAIN)
				return (int)i;
			return -errno;
		}
		if (got == 0)	/* TAP gone (or the fake's peer closed) */
			return i ? (int)i : -EPIPE;
		/* Neither a TAP nor a datagram socket says that a frame was
		 * cut: both just fill the buffer.  A full buffer may be one. */
		b->len = (size_t)got > room ? room : (size_t)got;
		b->truncated = b->len == room;
	}
	return (int)i;
}

int tap_write_frame(int fd, const struct virtio_net_hdr_v1 *hdr,
		    const struct iovec *iov, int iovcnt)
{
	struct iovec v[TAP_MAX_IOV + 1];
	size_t want;
	ssize_t put;

	if (iovcnt < 0 || iovcnt > TAP_MAX_IOV)
		return -EINVAL;
	v[0].iov_base = (void *)hdr;
	v[0].iov_len = TAP_VNET_HDR_LEN;
	if (iovcnt)
		memcpy(&v[1], iov, (size_t)iovcnt * sizeof(*iov));
	want = iov_size(v, iovcnt + 1);
	do
		put = writev(fd, v, iovcnt + 1);
	while (put < 0 && errno == EINTR);
	if (put < 0)
		return -errno;
	return (size_t)put == want ? 0 : -EMSGSIZE;
}

int tap_write_batch(int fd, const struct tap_tx *frames, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		int err = tap_write_frame(fd, frames[i].hdr, frames[i].iov,
					  frames[i].iovcnt);

		if (err == -EAGAIN || (err < 0 && i > 0))
			return (int)i;
		if (err < 0)
			return err;
	}
	return (int)i;
}

int tap_fake_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	return 0;
}

/* TAP data path for mica-net: frames with their virtio-net header.
 *
 * The fds come from mica-netd, already IFF_TAP|IFF_NO_PI|IFF_VNET_HDR with
 * a 12-byte header (struct virtio_net_hdr_v1: the virtio 1.0 / mergeable
 * rx-buffer layout; num_buffers is ours to fill on the guest side and is
 * ignored by the TAP).  Every read returns exactly one frame, every write
 * sends exactly one.  The helpers need no privilege; they work on any fd
 * with those semantics, which is how tests feed and observe frames
 * without a TAP: tap_fake_pair() gives a SOCK_SEQPACKET pair that behaves
 * like a TAP queue and its far side.
 *
 * All functions return 0 or a count, or a negative errno.
 */
#ifndef MICA_NET_TAP_H
#define MICA_NET_TAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>

#define TAP_VNET_HDR_LEN 12
/* Largest frame a TAP hands over with GSO offloads on: header, 64 KiB
 * of payload, an Ethernet and a VLAN header.  Receive buffers of
 * TAP_MAX_FRAME + 1 bytes make tap_rx.truncated exact. */
#define TAP_MAX_FRAME (TAP_VNET_HDR_LEN + 65535 + 14 + 4)

_Static_assert(sizeof(struct virtio_net_hdr_v1) == TAP_VNET_HDR_LEN,
	       "virtio-net header with num_buffers is 12 bytes");

/* One receive buffer: iovecs that take header and frame together. */
struct tap_rx {
	const struct iovec *iov;
	int iovcnt;
	size_t len;		/* out: bytes of header + frame */
	int truncated;		/* out: the frame filled the buffer, so it may
				 * have been cut (the TAP does not say): size
				 * buffers one byte over the largest frame */
};

/* One frame to send: header plus payload iovecs (header not included). */
struct tap_tx {
	const struct virtio_net_hdr_v1 *hdr;
	const struct iovec *iov;
	int iovcnt;
};

/* Make fd non-blocking (the data path never blocks). */
int tap_set_nonblock(int fd);

/* TUNSETVNETHDRSZ: 10 or 12. */
int tap_set_vnet_hdr_size(int fd, int size);

/* TUNSETOFFLOAD from the negotiated virtio-net features: tell the TAP
 * which offloads the guest accepts in received frames (GUEST_CSUM,
 * GUEST_TSO4/6, GUEST_ECN, GUEST_UFO). */
int tap_set_offload_from_features(int fd, uint64_t virtio_features);

/* The TUN_F_* bits tap_set_offload_from_features() would set. */
unsigned tap_offload_flags(uint64_t virtio_features);

/* Read up to n frames, one per buffer, stopping when none is ready.
 * Returns how many were read (0: none ready), or a negative errno if the
 * first read failed (an error after that ends the batch; the next call
 * sees it).  A frame that does not fit its buffer is cut silently by the
 * kernel; tap_rx.truncated flags every frame that filled its buffer. */
int tap_read_batch(int fd, struct tap_rx *bufs, unsigned n);

/* Send one frame.  -EAGAIN: the TAP's queue is full and nothing was
 * sent; -EMSGSIZE: a short write (the kernel took part of the frame). */
int tap_write_frame(int fd, const struct virtio_net_hdr_v1 *hdr,
		    const struct iovec *iov, int iovcnt);

/* Send up to n frames, stopping at the first that cannot go.  Returns how
 * many were sent (0 if the queue was full), or the first frame's error. */
int tap_write_batch(int fd, const struct tap_tx *frames, unsigned n);

/* Tests: sv[0] stands for a TAP queue fd, sv[1] for the network side
 * (write a header+frame datagram to feed, read one to observe).  Both
 * non-blocking and close-on-exec. */
int tap_fake_pair(int sv[2]);

#endif

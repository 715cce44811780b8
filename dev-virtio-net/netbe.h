/* Network backends behind mica-net: where guest frames go and where the
 * guest's received frames come from.
 *
 * A backend moves whole frames, each preceded by the 12-byte virtio-net
 * header (struct virtio_net_hdr_v1), for one or more queue pairs.  The
 * device (virtio_net.c) owns the event loop registrations: it asks for the
 * fd that becomes readable when frames wait for a pair, and the fd that
 * becomes writable when a full send queue drains.  Adding a backend means
 * one new file with one ops table and one line in main.c.
 *
 * Functions return 0 or a count, or a negative errno.
 */
#ifndef MICA_NET_NETBE_H
#define MICA_NET_NETBE_H

#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "tap.h"

struct netbe;

struct netbe_ops {
	const char *name;
	/* Virtio-net offload feature bits the backend carries through
	 * (CSUM, GUEST_CSUM, HOST_/GUEST_TSO..., CTRL_GUEST_OFFLOADS). */
	uint64_t (*offload_features)(struct netbe *be);
	/* Send up to n frames from the guest on pair: how many went, 0 when
	 * the send queue is full (wait for tx_fd to be writable), or the
	 * first frame's error (that frame cannot go: the caller drops it). */
	int (*send)(struct netbe *be, unsigned pair, const struct tap_tx *frames, unsigned n);
	/* Read up to n frames for the guest on pair (see tap_read_batch). */
	int (*recv)(struct netbe *be, unsigned pair, struct tap_rx *bufs, unsigned n);
	/* Fds to watch: readable when frames wait / writable when sending
	 * can resume; -1 when the backend has none for that pair. */
	int (*rx_fd)(struct netbe *be, unsigned pair);
	int (*tx_fd)(struct netbe *be, unsigned pair);
	/* The guest accepts these receive offloads now (negotiated features
	 * or CTRL_GUEST_OFFLOADS_SET). */
	int (*set_offload)(struct netbe *be, uint64_t virtio_features);
	void (*close)(struct netbe *be);
};

struct netbe {
	const struct netbe_ops *ops;
	unsigned npairs;
	void *priv;
};

/* tap: one TAP (or macvtap) queue fd per pair, IFF_VNET_HDR with a
 * 12-byte header, non-blocking (backend_tap.c).  Takes the fds. */
int netbe_tap_new(struct netbe **out, const int *fds, unsigned npairs);

/* Open npairs queues of the macvtap link called name (its /dev/tapN,
 * which devtmpfs makes) and set the link up; before the sandbox. */
int netbe_macvtap_open(const char *name, unsigned npairs, int *fds);

/* user: user-mode NAT over libslirp (backend_user.c), one pair. */
struct netbe_user_opts {
	bool restrict_;               /* restrict=on: no way out but forwards */
	const char *hostfwd[16];      /* "tcp::2222-:22" style */
	unsigned nhostfwd;
	bool ipv6;
};
int netbe_user_new(struct netbe **out, struct evloop *loop,
		   const struct netbe_user_opts *opts);

/* Parse "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport";
 * -EINVAL on anything else (exposed for tests). */
int netbe_parse_hostfwd(const char *spec, bool *udp, uint32_t *host_addr,
			uint16_t *host_port, uint32_t *guest_addr, uint16_t *guest_port);

#endif

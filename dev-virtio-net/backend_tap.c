/* The tap backend: one TAP (or macvtap) queue fd per queue pair, opened
 * by mica-netd or by mica-net itself before it sandboxed itself.  Frames
 * move with their virtio-net header, so offloads pass through both ways. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netbe.h"
#include "netd/plumb.h"

struct tap_be {
	struct netbe be;
	int fds[16];
};

static struct tap_be *tap_of(struct netbe *be)
{
	return be->priv;
}

static uint64_t tap_offload_features(struct netbe *be)
{
	return (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
	       (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
	       (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_HOST_UFO) |
	       (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
	       (1ULL << VIRTIO_NET_F_GUEST_ECN) | (1ULL << VIRTIO_NET_F_GUEST_UFO) |
	       (1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
}

static int tap_send(struct netbe *be, unsigned pair, const struct tap_tx *frames, unsigned n)
{
	return tap_write_batch(tap_of(be)->fds[pair], frames, n);
}

static int tap_recv(struct netbe *be, unsigned pair, struct tap_rx *bufs, unsigned n)
{
	int got = tap_read_batch(tap_of(be)->fds[pair], bufs, n);

	return got == -EAGAIN ? 0 : got;
}

static int tap_fd(struct netbe *be, unsigned pair)
{
	return tap_of(be)->fds[pair];
}

static int tap_set_offload(struct netbe *be, uint64_t features)
{
	int err = 0;

	for (unsigned p = 0; p < be->npairs; p++) {
		int e = tap_set_offload_from_features(tap_of(be)->fds[p], features);

		if (e < 0 && err == 0)
			err = e;
	}
	return err;
}

static void tap_close(struct netbe *be)
{
	for (unsigned p = 0; p < be->npairs; p++)
		close(tap_of(be)->fds[p]);
	free(tap_of(be));
}

static const struct netbe_ops tap_ops = {
	.name = "tap",
	.offload_features = tap_offload_features,
	.send = tap_send,
	.recv = tap_recv,
	.rx_fd = tap_fd,
	.tx_fd = tap_fd,
	.set_offload = tap_set_offload,
	.close = tap_close,
};

int netbe_tap_new(struct netbe **out, const int *fds, unsigned npairs)
{
	struct tap_be *t;

	if (npairs == 0 || npairs > sizeof(t->fds) / sizeof(t->fds[0]))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	for (unsigned p = 0; p < npairs; p++) {
		int err = tap_set_nonblock(fds[p]);

		if (err == 0)
			err = tap_set_vnet_hdr_size(fds[p], TAP_VNET_HDR_LEN);
		if (err < 0 && err != -ENOTTY && err != -EINVAL) {
			free(t);
			return err;
		}
		t->fds[p] = fds[p];
	}
	t->be = (struct netbe){ .ops = &tap_ops, .npairs = npairs, .priv = t };
	*out = &t->be;
	return 0;
}

int netbe_macvtap_open(const char *name, unsigned npairs, int *fds)
{
	struct plumb *p;
	int err, ifindex;
	char kind[16] = "";

	err = plumb_open(&p, "mica-net", -1);
	if (err < 0) {
		log_warnx("--macvtap %s: netlink: %s", name, strerror(-err));
		return err;
	}
	ifindex = plumb_link_index(p, name);
	if (ifindex < 0) {
		err = ifindex;
		log_warnx("--macvtap %s: no such link (%s)", name, strerror(-err));
		goto out;
	}
	if (plumb_link_kind(p, ifindex, kind, sizeof(kind)) < 0 || strcmp(kind, "macvtap") != 0) {
		err = -ENOTTY;
		log_warnx("--macvtap %s: a %s link, not a macvtap", name, kind[0] ? kind : "plain");
		goto out;
	}
	err = plumb_macvtap_open(p, ifindex, npairs, -1, fds);
	if (err < 0) {
		log_warnx("--macvtap %s: /dev/tap%d: %s", name, ifindex, strerror(-err));
		goto out;
	}
	err = plumb_link_set_up(p, ifindex, true);
	if (err < 0) {
		log_warnx("--macvtap %s: link up: %s", name, strerror(-err));
		for (unsigned i = 0; i < npairs; i++)
			close(fds[i]);
	}
out:
	plumb_close(p);
	return err;
}

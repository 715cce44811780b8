/* TAP devices through /dev/net/tun. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <linux/if_tun.h>

#include "log.h"
#include "plumb-int.h"

int plumb_tap_set_vnet_hdr_size(int fd, int size)
{
	if (size != 10 && size != 12)
		return -EINVAL;
	return ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 ? -errno : 0;
}

int plumb_tap_set_offload(int fd, unsigned tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -errno : 0;
}

/* One queue: a fresh /dev/net/tun file attached to ifname with flags. */
static int tun_attach(struct plumb *p, const char *ifname, short flags)
{
	struct ifreq ifr;
	int fd, err;

	fd = plumb_open_beneath(p->dev_dirfd, "net/tun", O_RDWR | O_NONBLOCK);
	if (fd < 0)
		return fd;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	ifr.ifr_flags = flags;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	err = plumb_tap_set_vnet_hdr_size(fd, PLUMB_VNET_HDR_SIZE);
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

/* Undo a TAP we created: a non-persistent tun goes away with its last fd. */
static void tap_unmake(int fd)
{
	if (ioctl(fd, TUNSETPERSIST, 0) < 0)
		log_warn("TUNSETPERSIST 0");
}

int plumb_tap_open(struct plumb *p, const char *ifname, unsigned nqueues,
		   bool may_attach, int *fds, struct plumb_tap_result *res)
{
	short flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	bool created = false;
	unsigned n = 0;
	int err, fd, ifindex;

	memset(res, 0, sizeof(*res));
	if (!plumb_valid_ifname(ifname) || nqueues < 1 || nqueues > PLUMB_MAX_QUEUES)
		return -EINVAL;
	if (nqueues > 1)
		flags |= IFF_MULTI_QUEUE;

	fd = tun_attach(p, ifname, flags | IFF_TUN_EXCL);
	if (fd >= 0) {
		created = true;
	} else if (fd == -EBUSY) {
		if (!may_attach)
			return -EEXIST;
		fd = tun_attach(p, ifname, flags);
	}
	if (fd < 0)
		return fd;
	fds[n++] = fd;

	if (created && ioctl(fd, TUNSETPERSIST, 1) < 0) {
		err = -errno;
		goto fail;
	}
	for (; n < nqueues; n++) {
		fd = tun_attach(p, ifname, flags);
		if (fd < 0) {
			err = fd;
			goto fail;
		}
		fds[n] = fd;
	}
	ifindex = plumb_link_index(p, ifname);
	if (ifindex < 0) {
		err = ifindex;
		goto fail;
	}
	if (created) {
		err = plumb_claim(p, ifindex, ifname, "tun");
		if (err < 0)
			goto fail;
	}
	res->ifindex = ifindex;
	res->created = created;
	res->nqueues = n;
	return 0;
fail:
	if (created)
		tap_unmake(fds[0]);
	while (n > 0)
		close(fds[--n]);
	return err;
}

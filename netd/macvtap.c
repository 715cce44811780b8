/* Opening macvtap queues through the link's character device. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/if_tun.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "log.h"
#include "plumb-int.h"

struct macvtap_id {
	int ifindex;
	char name[IFNAMSIZ];
	uint8_t mac[6];
};

static int macvtap_identify(struct plumb *p, int ifindex, struct macvtap_id *id)
{
	struct rtnl_link *link;
	struct nl_addr *addr;
	const char *type;
	int err = 0;

	err = plumb_link_get(p, ifindex, NULL, &link);
	if (err < 0)
		return err;
	type = rtnl_link_get_type(link);
	addr = rtnl_link_get_addr(link);
	if (!type || strcmp(type, "macvtap") != 0) {
		err = -ENOTTY;
	} else if (!addr || nl_addr_get_len(addr) != 6) {
		err = -EINVAL;
	} else {
		id->ifindex = ifindex;
		snprintf(id->name, sizeof(id->name), "%s", rtnl_link_get_name(link));
		memcpy(id->mac, nl_addr_get_binary_addr(addr), 6);
	}
	rtnl_link_put(link);
	return err;
}

/* Does the open queue fd belong to link id?  A /dev/tapN node may be a
 * leftover or another namespace's (devtmpfs has one /dev for all), so
 * both the name and the hardware address must match. */
static bool macvtap_fd_matches(int fd, const struct macvtap_id *id)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0 ||
	    strncmp(ifr.ifr_name, id->name, IFNAMSIZ) != 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return false;
	return memcmp(ifr.ifr_hwaddr.sa_data, id->mac, 6) == 0;
}

static int macvtap_queue_setup(int fd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	return plumb_tap_set_vnet_hdr_size(fd, PLUMB_VNET_HDR_SIZE);
}

/* Make node "tapN" in dirfd for the device number sysfs shows. */
static int macvtap_mknod(struct plumb *p, int dirfd, const struct macvtap_id *id,
			 const char *node)
{
	char path[128], buf[32];
	unsigned maj, min;
	ssize_t n;
	int fd;

	if (p->sysnet_dirfd < 0)
		return -ENOENT;
	/* NAME is a symlink into /sys/devices: plain openat; the name came
	 * from the kernel and holds no '/'. */
	snprintf(path, sizeof(path), "%s/macvtap/tap%d/dev", id->name, id->ifindex);
	fd = openat(p->sysnet_dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	if (sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -EIO;
	if (unlinkat(dirfd, node, 0) < 0 && errno != ENOENT)
		return -errno;
	if (mknodat(dirfd, node, S_IFCHR | 0600, makedev(maj, min)) < 0)
		return -errno;
	return 0;
}

/* Open one queue from node in dirfd and check it is id's. */
static int macvtap_open_node(int dirfd, const char *node, const struct macvtap_id *id)
{
	int fd, err;

	fd = plumb_open_beneath(dirfd, node, O_RDWR | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (!macvtap_fd_matches(fd, id)) {
		close(fd);
		return -ESTALE;
	}
	err = macvtap_queue_setup(fd);
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

int plumb_macvtap_open(struct plumb *p, int ifindex, unsigned nqueues,
		       int node_dirfd, int *fds)
{
	struct macvtap_id id;
	char node[32];
	int dirfd, err, fd;
	unsigned n = 0;

	if (ifindex <= 0 || nqueues < 1 || nqueues > PLUMB_MAX_QUEUES)
		return -EINVAL;
	err = macvtap_identify(p, ifindex, &id);
	if (err < 0)
		return err;
	snprintf(node, sizeof(node), "tap%d", ifindex);

	dirfd = p->dev_dirfd;
	fd = macvtap_open_node(dirfd, node, &id);
	if ((fd == -ENOENT || fd == -ESTALE) && node_dirfd >= 0) {
		log_debug("netd", "%s: /dev/%s %s; making our own node", id.name,
			  node, fd == -ENOENT ? "missing" : "is another link's");
		dirfd = node_dirfd;
		err = macvtap_mknod(p, dirfd, &id, node);
		fd = err < 0 ? err : macvtap_open_node(dirfd, node, &id);
	}
	if (fd < 0) {
		errno = -fd;
		log_warn("%s: cannot open its character device tap%d", id.name, ifindex);
		return fd;
	}
	fds[n++] = fd;
	for (; n < nqueues; n++) {
		fd = macvtap_open_node(dirfd, node, &id);
		if (fd < 0) {
			err = fd;
			goto fail;
		}
		fds[n] = fd;
	}
	return 0;
fail:
	while (n > 0)
		close(fds[--n]);
	return err;
}

int plumb_macvtap_check_fds(struct plumb *p, int ifindex, const int *fds, unsigned n)
{
	struct macvtap_id id;
	int err;

	if (ifindex <= 0 || n < 1 || n > PLUMB_MAX_QUEUES)
		return -EINVAL;
	err = macvtap_identify(p, ifindex, &id);
	for (unsigned i = 0; i < n && err == 0; i++) {
		if (!macvtap_fd_matches(fds[i], &id))
			err = -ESTALE;
		else
			err = macvtap_queue_setup(fds[i]);
	}
	return err;
}

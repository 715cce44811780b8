/* Seccomp allow-list and capabilities of mica-netd beyond the daemon base. */
#include <linux/capability.h>

#include "jail.h"

static const struct jail_syscall_group netd_groups[] = {
	JAIL_ALLOW("netlink sockets to create and configure interfaces",
		   "socket", "bind", "getsockname", "setsockopt", "sendto",
		   "recvfrom"),
	JAIL_ALLOW("TAP and macvtap set-up ioctls", "ioctl"),
};

/* CAP_NET_ADMIN: creating TAP/macvtap devices and changing bridges is
 * the whole job of this process. */
static const int netd_caps[] = { CAP_NET_ADMIN };

const struct jail_policy netd_policy = {
	.program = "mica-netd",
	.groups = netd_groups,
	.ngroups = sizeof(netd_groups) / sizeof(netd_groups[0]),
	.keep_caps = netd_caps,
	.nkeep_caps = sizeof(netd_caps) / sizeof(netd_caps[0]),
	.daemon_base = true,
};

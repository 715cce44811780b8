/* Seccomp allow-list and capabilities of mica-netd beyond the daemon base.
 * The netlink socket, /dev and /sys/class/net are opened before lockdown
 * (plumb_open); afterwards netd only talks netlink on that socket (sendmsg
 * and recvmsg are in the base) and opens nodes beneath its /dev fd. */
#include <linux/capability.h>

#include "jail.h"

static const struct jail_syscall_group netd_groups[] = {
	JAIL_ALLOW("net/tun and tapN beneath the /dev fd (RESOLVE_BENEATH)", "openat2"),
	JAIL_ALLOW("TAP set-up: TUNSETIFF, TUNSETPERSIST, TUNSETVNETHDRSZ, "
		   "TUNSETOFFLOAD, TUNGETIFF, SIOCGIFHWADDR", "ioctl"),
	JAIL_ALLOW("reading link attributes from the /sys/class/net fd", "pread64",
		   "getdents64"),
};

/* CAP_NET_ADMIN: creating TAP devices and changing bridges is the whole
 * job of this process. */
static const int netd_caps[] = { CAP_NET_ADMIN };

const struct jail_policy netd_policy = {
	.program = "mica-netd",
	.groups = netd_groups,
	.ngroups = sizeof(netd_groups) / sizeof(netd_groups[0]),
	.keep_caps = netd_caps,
	.nkeep_caps = sizeof(netd_caps) / sizeof(netd_caps[0]),
	.daemon_base = true,
};

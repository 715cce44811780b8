/* Seccomp allow-lists of mica-net beyond the daemon base.  The backend
 * parses guest-controlled descriptors and frames, so it gets nothing that
 * reaches outside the fds it holds -- except the user-mode NAT, whose job
 * is to open sockets for the guest, in a list of its own. */
#include <errno.h>

#include "jail.h"

#define NET_COMMON_GROUPS \
	JAIL_ALLOW("vhost-user messages: stream reads, fds from the front-end", \
		   "recvfrom"), \
	JAIL_ALLOW("frames to and from the TAP, one readv/writev each", "readv", "writev"), \
	JAIL_ALLOW("TUNSETOFFLOAD when the guest's offloads change", "ioctl"), \
	JAIL_ALLOW("standalone: the next front-end on the listening socket", "accept4")

static const struct jail_syscall_group net_groups[] = {
	NET_COMMON_GROUPS,
	JAIL_ALLOW("waiting (bounded) for mica-netd's answer", "poll", "ppoll"),
};

const struct jail_policy net_policy = {
	.program = "mica-net",
	.groups = net_groups,
	.ngroups = sizeof(net_groups) / sizeof(net_groups[0]),
	.daemon_base = true,
};

static const struct jail_syscall_group net_user_groups[] = {
	NET_COMMON_GROUPS,
	JAIL_ALLOW("user-mode NAT: the guest's connections as our sockets",
		   "socket", "connect", "bind", "listen", "accept", "shutdown",
		   "getsockname", "getpeername", "setsockopt", "getsockopt",
		   "sendto", "recvmsg", "sendmsg"),
	JAIL_ALLOW("user-mode NAT: a poll of slirp's sockets without waiting", "poll", "ppoll"),
	JAIL_ALLOW("the queue of frames for the guest", "eventfd2"),
	JAIL_ALLOW("under mica run: glib seeds slirp's g_rand from the time, getpid and "
		   "getppid when /dev/urandom is out of reach (empty root)", "getppid"),
};

const struct jail_policy net_user_policy = {
	.program = "mica-net",
	.groups = net_user_groups,
	.ngroups = sizeof(net_user_groups) / sizeof(net_user_groups[0]),
	.daemon_base = true,
};

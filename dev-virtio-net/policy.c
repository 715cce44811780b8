/* Seccomp allow-list of mica-net beyond the daemon base.  The backend
 * parses guest-controlled descriptors, so it gets nothing that reaches
 * outside the fds it was handed. */
#include "jail.h"

static const struct jail_syscall_group net_groups[] = {
	JAIL_ALLOW("batched reads and writes on the provider channel", "readv", "writev"),
	JAIL_ALLOW("waiting (bounded) for mica-netd's answer", "poll", "ppoll"),
};

const struct jail_policy net_policy = {
	.program = "mica-net",
	.groups = net_groups,
	.ngroups = sizeof(net_groups) / sizeof(net_groups[0]),
	.daemon_base = true,
};

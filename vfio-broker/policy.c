/* Seccomp allow-list of mica-vfio beyond the daemon base. */
#include "jail.h"

static const struct jail_syscall_group vfio_groups[] = {
	JAIL_ALLOW("VFIO container, group and device ioctls", "ioctl"),
};

const struct jail_policy vfio_policy = {
	.program = "mica-vfio",
	.groups = vfio_groups,
	.ngroups = sizeof(vfio_groups) / sizeof(vfio_groups[0]),
	.daemon_base = true,
};

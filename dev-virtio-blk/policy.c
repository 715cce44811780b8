/* Seccomp allow-list of mica-blk beyond the daemon base.  The backend
 * parses guest-controlled descriptors, so it gets nothing that reaches
 * outside the fds it was handed. */
#include "jail.h"

static const struct jail_syscall_group blk_groups[] = {
	JAIL_ALLOW("batched reads and writes on the provider channel", "readv", "writev"),
};

const struct jail_policy blk_policy = {
	.program = "mica-blk",
	.groups = blk_groups,
	.ngroups = sizeof(blk_groups) / sizeof(blk_groups[0]),
	.daemon_base = true,
};

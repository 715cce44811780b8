/* Seccomp allow-list of mica-blockd beyond the daemon base. */
#include "jail.h"

static const struct jail_syscall_group blockd_groups[] = {
	JAIL_ALLOW("image I/O at offsets, flush", "pread64", "pwrite64", "preadv",
		   "pwritev", "fsync", "fdatasync"),
	JAIL_ALLOW("discard as holes, growing images", "fallocate", "ftruncate"),
};

const struct jail_policy blockd_policy = {
	.program = "mica-blockd",
	.groups = blockd_groups,
	.ngroups = sizeof(blockd_groups) / sizeof(blockd_groups[0]),
	.daemon_base = true,
};

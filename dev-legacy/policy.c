/* Seccomp allow-list of mica-legacy beyond the daemon base.  The device
 * models only read and write the console and the runner channel, which
 * the base already allows. */
#include "jail.h"

static const struct jail_syscall_group legacy_groups[] = {
	JAIL_ALLOW("console output in one call per line", "writev"),
};

const struct jail_policy legacy_policy = {
	.program = "mica-legacy",
	.groups = legacy_groups,
	.ngroups = sizeof(legacy_groups) / sizeof(legacy_groups[0]),
	.daemon_base = true,
};

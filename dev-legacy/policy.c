/* Seccomp allow-list of mica-legacy beyond the daemon base.  The device
 * models only read and write the console, the runner channel, the ring
 * doorbells and the IRQ eventfds, which the base already allows (read,
 * write, recvmsg, mmap of the ring); one group says what remains. */
#include "jail.h"

static const struct jail_syscall_group legacy_groups[] = {
	JAIL_ALLOW("console output in one call per line", "writev"),
	JAIL_ALLOW("replies to forwarded I/O on the runner channel", "sendto"),
};

const struct jail_policy legacy_policy = {
	.program = "mica-legacy",
	.groups = legacy_groups,
	.ngroups = sizeof(legacy_groups) / sizeof(legacy_groups[0]),
	.daemon_base = true,
};

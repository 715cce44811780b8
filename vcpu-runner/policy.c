/* Seccomp allow-list of mica-vcpu, beyond the daemon base
 * (jail/base_policy.c).  Grows with the KVM and translator work; each
 * group says why it is here. */
#include "jail.h"

static const struct jail_syscall_group vcpu_groups[] = {
	JAIL_ALLOW("unmapping guest RAM at shutdown", "munmap"),
};

const struct jail_policy vcpu_policy = {
	.program = "mica-vcpu",
	.groups = vcpu_groups,
	.ngroups = sizeof(vcpu_groups) / sizeof(vcpu_groups[0]),
	.daemon_base = true,
};

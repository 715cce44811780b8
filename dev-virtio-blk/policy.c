/* Seccomp allow-list of mica-blk beyond the daemon base.  The backend
 * parses guest-controlled descriptors, so it gets nothing that reaches
 * outside the fds it holds. */
#include "jail.h"

static const struct jail_syscall_group blk_groups[] = {
	JAIL_ALLOW("vhost-user messages: stream reads, fds from the front-end",
		   "recvfrom", "readv", "writev"),
	JAIL_ALLOW("image I/O at offsets, flush",
		   "preadv", "pwritev", "pread64", "pwrite64", "fdatasync", "fsync"),
	JAIL_ALLOW("discard and write-zeroes as holes", "fallocate"),
	JAIL_ALLOW("the inflight-tracking buffer the front-end keeps for us",
		   "memfd_create", "ftruncate"),
	JAIL_ALLOW("io_uring data path; under mica run the ring and its completion "
		   "eventfd are made after lockdown, when mica-blockd's image fd arrives",
		   "io_uring_setup", "io_uring_enter", "io_uring_register", "eventfd2"),
	JAIL_ALLOW("standalone: the next front-end on the listening socket", "accept4"),
	JAIL_ALLOW("waiting (bounded) for mica-blockd's answer; io_uring task work "
		   "interrupts that wait and the kernel resumes it", "poll", "ppoll",
		   "restart_syscall"),
};

const struct jail_policy blk_policy = {
	.program = "mica-blk",
	.groups = blk_groups,
	.ngroups = sizeof(blk_groups) / sizeof(blk_groups[0]),
	.daemon_base = true,
};

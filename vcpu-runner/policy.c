/* Seccomp allow-lists of mica-vcpu.
 *
 * The process list (beyond the daemon base, jail/base_policy.c) covers
 * set-up and the event loop; each vCPU thread then stacks a smaller
 * filter of its own, loaded on that thread only, so the threads that
 * handle guest exits can do little more than run the vCPU and forward
 * I/O.  Each group says why it is here. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vcpu-policy.h"

static const struct jail_syscall_group vcpu_groups[] = {
	JAIL_ALLOW("KVM: VM, vCPU, memory, irqfd, ioeventfd ioctls", "ioctl"),
	JAIL_ALLOW("vCPU and device threads",
		   "clone", "clone3", "set_robust_list", "rseq"),
	JAIL_ALLOW("kicking vCPUs out of KVM_RUN with SIGUSR1",
		   "rt_sigaction", "tgkill"),
	JAIL_ALLOW("forwarded legacy I/O: waiting for mica-legacy, datagrams",
		   "poll", "ppoll", "sendto", "recvfrom"),
	JAIL_ALLOW("eventfds of MSI-X vectors and the pci-testdev doorbell",
		   "eventfd2"),
	JAIL_ALLOW("each vCPU thread narrows its own filter", "seccomp"),
};

const struct jail_policy vcpu_policy = {
	.program = "mica-vcpu",
	.groups = vcpu_groups,
	.ngroups = sizeof(vcpu_groups) / sizeof(vcpu_groups[0]),
	.daemon_base = true,
};

/* The vCPU threads' own list, as raw numbers: the filter is a few
 * comparisons built here, no library call on the thread. */
static const int vcpu_thread_syscalls[] = {
	__NR_ioctl,		/* KVM_RUN; registers when a vCPU fails */
	__NR_gettid,		/* the KVM vCPU learns its thread for kicks */
	__NR_futex,		/* the I/O lock, the forwarding lock */
	__NR_read, __NR_write,	/* ring eventfds; log lines */
	__NR_poll,		/* waiting for mica-legacy's answer */
	__NR_sendto, __NR_recvfrom,	/* the datagram transport */
	__NR_close,		/* dropping a dead mica-legacy channel */
	__NR_rt_sigreturn,	/* the kick signal's handler */
	__NR_tgkill, __NR_getpid, __NR_rt_sigprocmask,	/* kicking the others */
	__NR_clock_gettime,	/* spin deadline when the vDSO cannot */
	__NR_madvise, __NR_exit,	/* thread exit frees its stack */
	__NR_exit_group,	/* abort paths */
	__NR_restart_syscall,
};

#define NR_THREAD_SYSCALLS \
	(sizeof(vcpu_thread_syscalls) / sizeof(vcpu_thread_syscalls[0]))

unsigned vcpu_thread_syscall_count(void)
{
	return NR_THREAD_SYSCALLS;
}

int vcpu_thread_lockdown(struct machine *m, unsigned index)
{
	enum { HEAD = 4, N = NR_THREAD_SYSCALLS };
	struct sock_filter f[HEAD + N + 2];
	struct sock_fprog prog = { .len = HEAD + N + 2, .filter = f };
	unsigned i = 0;

	(void)m;
	(void)index;
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      AUDIT_ARCH_X86_64, 0, N + 2);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	/* x32 numbers alias the 64-bit ones with bit 30 set: refuse them. */
	f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
					      0x40000000u, N, 0);
	for (unsigned k = 0; k < N; k++)
		f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
				(unsigned)vcpu_thread_syscalls[k], N - k, 0);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_KILL_PROCESS);
	f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

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
#include <pthread.h>
#include <stdio.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
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
	JAIL_ALLOW("eventfds of MSI-X vectors, virtio doorbells, the pci-testdev",
		   "eventfd2"),
	JAIL_ALLOW("each vCPU thread names itself and narrows its own filter",
		   "prctl", "seccomp"),
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
	__NR_sendmsg, __NR_recvmsg,	/* vhost-user messages (with fds) on
					 * virtio-pci register accesses */
	__NR_close,		/* dropping a dead mica-legacy channel */
	__NR_rt_sigreturn,	/* the kick signal's handler */
	__NR_tgkill, __NR_getpid, __NR_rt_sigprocmask,	/* kicking the others */
	__NR_clock_gettime,	/* spin deadline when the vDSO cannot */
	__NR_brk, __NR_munmap,	/* malloc (MSI routes, thread arena) */
	__NR_madvise, __NR_exit,	/* thread exit frees its stack */
	__NR_exit_group,	/* abort paths */
	__NR_restart_syscall,
};

/* malloc's arena, but never executable memory. */
static const int vcpu_thread_noexec_syscalls[] = { __NR_mmap, __NR_mprotect };

#define NR_PLAIN (sizeof(vcpu_thread_syscalls) / sizeof(vcpu_thread_syscalls[0]))
#define NR_NOEXEC (sizeof(vcpu_thread_noexec_syscalls) / sizeof(int))

unsigned vcpu_thread_syscall_count(void)
{
	return NR_PLAIN + NR_NOEXEC;
}

bool vcpu_thread_seccomp_log;

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))

int vcpu_thread_lockdown(struct machine *m, unsigned index)
{
	/* 0 arch check, 4 + NR_PLAIN allow jumps, then the no-exec block
	 * at L, kill at K, allow at A.  BPF jumps only go forward. */
	enum {
		X = 4 + NR_PLAIN,		/* first no-exec syscall */
		L = X + NR_NOEXEC + 1,		/* check prot */
		K = L + 2,
		A = K + 1,
	};
	struct sock_filter f[A + 1];
	struct sock_fprog prog = { .len = A + 1, .filter = f };
	const uint32_t deny = vcpu_thread_seccomp_log ? SECCOMP_RET_LOG
						      : SECCOMP_RET_KILL_PROCESS;
	unsigned i = 0;
	char name[16];

	(void)m;
	/* "vcpu0" in ps and /proc/PID/task/TID/comm (PR_SET_NAME). */
	snprintf(name, sizeof(name), "vcpu%u", index);
	pthread_setname_np(pthread_self(), name);
	f[i++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[i++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, K - 2);
	f[i++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	/* x32 numbers alias the 64-bit ones with bit 30 set: refuse them. */
	f[i++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, K - 4, 0);
	for (unsigned k = 0; k < NR_PLAIN; k++, i++)
		f[i] = JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			    (unsigned)vcpu_thread_syscalls[k], A - i - 1, 0);
	for (unsigned k = 0; k < NR_NOEXEC; k++, i++)
		f[i] = JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			    (unsigned)vcpu_thread_noexec_syscalls[k], L - i - 1, 0);
	f[i++] = STMT(BPF_RET | BPF_K, deny);
	/* L: prot is the third argument of mmap and mprotect. */
	f[i++] = STMT(BPF_LD | BPF_W | BPF_ABS,
		      offsetof(struct seccomp_data, args[2]));
	f[i++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1);
	f[i++] = STMT(BPF_RET | BPF_K, deny);				/* K */
	f[i++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);		/* A */
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

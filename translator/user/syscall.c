/* Guest system calls: same architecture, so most pass straight through;
 * the ones touching the emulator's own state (brk, FS base, signals,
 * threads, exec, /proc/self/exe, exit) are handled here. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "translator/user/user.h"

struct user_process user_proc;

static int live_threads = 1;

struct thread_start {
	struct tr_cpu *cpu;
	uint64_t flags, ctid;
	pid_t tid;
	sem_t ready;
};

static void *guest_thread_main(void *arg)
{
	struct thread_start *st = arg;
	struct tr_cpu *cpu = st->cpu;
	pid_t tid = gettid();

	/* The kernel clears and wakes the guest's child tid when this host
	 * thread exits (pthread_join-style waits in the guest). */
	if (st->flags & CLONE_CHILD_CLEARTID)
		syscall(SYS_set_tid_address, st->ctid);
	if (st->flags & CLONE_CHILD_SETTID)
		*(pid_t *)(uintptr_t)st->ctid = tid;
	st->tid = tid;
	sem_post(&st->ready);
	user_run(cpu);
}

/* clone(CLONE_VM | CLONE_THREAD ...): a host thread with its own CPU
 * state, sharing the code cache. */
static int64_t do_clone_thread(struct tr_cpu *parent, uint64_t flags,
			       uint64_t newsp, uint64_t ptid, uint64_t ctid,
			       uint64_t tls)
{
	struct thread_start st = { .flags = flags, .ctid = ctid };
	struct tr_cpu *cpu;
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	cpu = aligned_alloc(64, (sizeof(*cpu) + 63) & ~(size_t)63);
	if (!cpu)
		return -ENOMEM;
	tr_cpu_init(cpu);
	memcpy(&cpu->env, &parent->env, sizeof(cpu->env));
	cpu->env.runtime = cpu;
	cpu->env.regs[0] = 0;
	if (newsp)
		cpu->env.regs[4] = newsp;
	if (flags & CLONE_SETTLS)
		cpu->env.fs_base = tls;
	st.cpu = cpu;
	sem_init(&st.ready, 0, 0);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 1u << 20);
	__atomic_add_fetch(&live_threads, 1, __ATOMIC_SEQ_CST);
	rc = pthread_create(&th, &attr, guest_thread_main, &st);
	pthread_attr_destroy(&attr);
	if (rc) {
		__atomic_sub_fetch(&live_threads, 1, __ATOMIC_SEQ_CST);
		tr_cpu_exit(cpu);
		free(cpu);
		return -rc;
	}
	while (sem_wait(&st.ready) < 0 && errno == EINTR)
		;
	sem_destroy(&st.ready);
	if (flags & CLONE_PARENT_SETTID)
		*(pid_t *)(uintptr_t)ptid = st.tid;
	return st.tid;
}

#define PAGE_UP(x) (((x) + 4095ull) & ~4095ull)

static bool stats_enabled(void)
{
	const char *s = getenv("MICA_TRANSLATOR_STATS");

	return s && *s && strcmp(s, "0") != 0;
}

static int stats_fd = -1;

void user_stats_init(void)
{
	if (stats_enabled())
		stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 512);
}

void user_print_stats(void)
{
	if (!stats_enabled())
		return;
	/* The guest's fd 2 is ours: put the copy back if it closed it. */
	if (stats_fd >= 0 && fcntl(2, F_GETFD) < 0)
		dup2(stats_fd, 2);
	tr_print_stats();
}

static noreturn void guest_exit(int status)
{
	user_print_stats();
	_exit(status);
}

static uint64_t do_brk(uint64_t want)
{
	uint64_t cur_end = PAGE_UP(user_proc.brk_cur);
	void *p;

	if (want < user_proc.brk_start)
		return user_proc.brk_cur;
	if (want > cur_end) {
		p = mmap((void *)cur_end, PAGE_UP(want) - cur_end,
			 PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			 -1, 0);
		if (p == MAP_FAILED)
			return user_proc.brk_cur;
	} else if (PAGE_UP(want) < cur_end) {
		munmap((void *)PAGE_UP(want), cur_end - PAGE_UP(want));
	}
	user_proc.brk_cur = want;
	return want;
}

static int64_t do_arch_prctl(struct x86_cpu *env, uint64_t code, uint64_t addr)
{
	switch (code) {
	case ARCH_SET_FS: env->fs_base = addr; return 0;
	case ARCH_SET_GS: env->gs_base = addr; return 0;
	case ARCH_GET_FS:
		*(uint64_t *)(uintptr_t)addr = env->fs_base;
		return 0;
	case ARCH_GET_GS:
		*(uint64_t *)(uintptr_t)addr = env->gs_base;
		return 0;
	default:
		return -EINVAL;
	}
}

static bool is_proc_self_exe(const char *path)
{
	return strcmp(path, "/proc/self/exe") == 0 ||
	       (strncmp(path, "/proc/", 6) == 0 &&
		atoi(path + 6) == getpid() &&
		strcmp(strchr(path + 6, '/') ? strchr(path + 6, '/') : "",
		       "/exe") == 0);
}

static int64_t do_readlink(const char *path, char *buf, uint64_t len)
{
	size_t n;

	if (!is_proc_self_exe(path))
		return -ENOSYS;	/* caller passes through */
	n = strlen(user_proc.exe_path);
	if (n > len)
		n = len;
	memcpy(buf, user_proc.exe_path, n);
	return (int64_t)n;
}

/* execve re-enters the translator: run our own binary on the new
 * program, so the child keeps being translated. */
static int64_t do_execve(const char *path, char *const *argv,
			 char *const *envp)
{
	char **nargv;
	size_t argc = 0;

	while (argv && argv[argc])
		argc++;
	nargv = calloc(argc + 5, sizeof(char *));
	if (!nargv)
		return -ENOMEM;
	if (access(path, X_OK) < 0) {
		free(nargv);
		return -errno;
	}
	nargv[0] = (char *)"mica-x86_64";
	nargv[1] = (char *)"-0";
	nargv[2] = argc ? argv[0] : (char *)path;
	nargv[3] = (char *)path;
	for (size_t i = 1; i < argc; i++)
		nargv[i + 3] = argv[i];
	execve(user_proc.host_self, nargv, envp);
	free(nargv);
	return -errno;
}

static int64_t passthrough(const struct x86_cpu *env)
{
	long r = syscall((long)env->regs[0], env->regs[7], env->regs[6],
			 env->regs[2], env->regs[10], env->regs[8],
			 env->regs[9]);

	return r < 0 ? -errno : r;
}

void user_do_syscall(struct tr_cpu *cpu)
{
	struct x86_cpu *env = &cpu->env;
	uint64_t nr = env->regs[0], a0 = env->regs[7], a1 = env->regs[6];
	uint64_t a2 = env->regs[2];
	int64_t r;

	switch (nr) {
	case SYS_exit:
		if (__atomic_sub_fetch(&live_threads, 1, __ATOMIC_SEQ_CST) > 0) {
			/* Only this thread: a raw exit keeps the kernel's
			 * clear-child-tid wake-up for the guest. */
			tr_cpu_exit(cpu);
			syscall(SYS_exit, a0);
		}
		guest_exit((int)a0);
	case SYS_exit_group:
		guest_exit((int)a0);
	case SYS_brk:
		r = (int64_t)do_brk(a0);
		break;
	case SYS_arch_prctl:
		r = do_arch_prctl(env, a0, a1);
		break;
	case SYS_rt_sigaction:
		r = user_rt_sigaction(a0, (const uint64_t *)(uintptr_t)a1,
				      (uint64_t *)(uintptr_t)a2);
		break;
	case SYS_rt_sigreturn:
		user_rt_sigreturn(cpu);
		return;		/* every register comes from the frame */
	case SYS_sigaltstack:
		r = user_sigaltstack((const stack_t *)(uintptr_t)a0,
				     (stack_t *)(uintptr_t)a1);
		break;
	case SYS_rt_sigprocmask: {
		/* Never let the guest block the signals we run on. */
		uint64_t set;

		if (a1) {
			set = *(uint64_t *)(uintptr_t)a1 &
			      ~((1ull << (SIGSEGV - 1)) | (1ull << (SIGBUS - 1)));
			r = syscall(SYS_rt_sigprocmask, a0, &set, a2, 8);
		} else {
			r = syscall(SYS_rt_sigprocmask, a0, NULL, a2, 8);
		}
		r = r < 0 ? -errno : r;
		break;
	}
	case SYS_rseq:
		r = -ENOSYS;	/* the host's libc owns rseq for this thread */
		break;
	case SYS_clone:
	case SYS_clone3:
		if (nr == SYS_clone3) {
			r = -ENOSYS;	/* glibc falls back to clone */
			break;
		}
		if ((a0 & CLONE_VM) && !(a0 & CLONE_THREAD)) {
			/* posix_spawn's CLONE_VM|CLONE_VFORK child: a fork
			 * that continues on the stack it was given. */
			tr_fork_prepare();
			r = fork();
			if (r == 0) {
				tr_after_fork_child();
				if (a1)
					env->regs[4] = a1;
			} else {
				tr_fork_parent();
			}
			r = r < 0 ? -errno : r;
			break;
		}
		if (a0 & CLONE_VM) {
			r = do_clone_thread(cpu, a0, a1, a2, env->regs[10],
					    env->regs[8]);
			break;
		}
		tr_fork_prepare();
		r = passthrough(env);
		if (r == 0)
			tr_after_fork_child();
		else
			tr_fork_parent();
		break;
	case SYS_fork:
	case SYS_vfork:
		tr_fork_prepare();
		r = fork();	/* a vfork child must not share our state */
		if (r == 0)
			tr_after_fork_child();
		else
			tr_fork_parent();
		r = r < 0 ? -errno : r;
		break;
	case SYS_execve:
		r = do_execve((const char *)(uintptr_t)a0,
			      (char *const *)(uintptr_t)a1,
			      (char *const *)(uintptr_t)a2);
		break;
	case SYS_readlink:
		r = do_readlink((const char *)(uintptr_t)a0,
				(char *)(uintptr_t)a1, a2);
		if (r == -ENOSYS)
			r = passthrough(env);
		break;
	case SYS_readlinkat:
		r = do_readlink((const char *)(uintptr_t)a1,
				(char *)(uintptr_t)a2, env->regs[10]);
		if (r == -ENOSYS)
			r = passthrough(env);
		break;
	case SYS_munmap:
	case SYS_mprotect:
		r = passthrough(env);
		if (r == 0)
			tr_invalidate_range(a0, a1);
		break;
	case SYS_read:
	case SYS_pread64:
		/* The kernel cannot write into a page we protected. */
		tr_guest_write_range(a1, a2);
		r = passthrough(env);
		break;
	case SYS_mmap:
		r = passthrough(env);
		if (r >= 0 && (env->regs[10] & MAP_FIXED))
			tr_invalidate_range((uint64_t)r, a1);
		break;
	default:
		r = passthrough(env);
		break;
	}
	env->regs[0] = (uint64_t)r;
}

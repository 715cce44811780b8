/* Syscalls every Mica daemon needs after lockdown: the shared event loop
 * (ipc/evloop.c), control messages (ipc/frame.c), glibc's malloc and
 * stdio, and a clean exit.  A program's own policy.c adds what its job
 * needs on top. */
#include <errno.h>

#include "jail.h"

const struct jail_syscall_group jail_daemon_base_groups[] = {
	JAIL_ALLOW("event loop: wait, (un)register fds, timers, signals",
		   "epoll_wait", "epoll_pwait", "epoll_ctl", "timerfd_settime",
		   "timerfd_create", "rt_sigprocmask", "rt_sigreturn"),
	JAIL_ALLOW("control messages and received fds",
		   "recvmsg", "sendmsg", "read", "write", "close", "fcntl"),
	JAIL_ALLOW("malloc: heap and arenas",
		   "brk", "mmap", "munmap", "mremap", "madvise", "mprotect"),
	JAIL_ALLOW("threads waiting on locks; time for logs and back-off",
		   "futex", "clock_gettime", "clock_nanosleep", "nanosleep",
		   "gettimeofday"),
	JAIL_ALLOW("stdio on stderr, identity for log lines",
		   "fstat", "newfstatat", "lseek", "getpid", "gettid", "writev"),
	JAIL_ALLOW("exit", "exit", "exit_group"),
	JAIL_REFUSE(EACCES, "harmless probes glibc makes; fail them softly",
		    "openat", "open"),
};

const size_t jail_daemon_base_ngroups =
	sizeof(jail_daemon_base_groups) / sizeof(jail_daemon_base_groups[0]);

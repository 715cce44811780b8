/* Jailing Mica's processes.
 *
 * Two halves:
 *
 *  - jail_spawn(), in the launcher: clone the child into new pid, mount,
 *    ipc, uts, cgroup and (unless it is netd) net namespaces, and a user
 *    namespace whose root is an unprivileged uid outside (for every
 *    process but netd, whose CAP_NET_ADMIN must count in the host's
 *    namespaces, and for all when the launcher is not root); give it exactly one control
 *    socket (fd 3) and stdio; no core dumps, an fd limit, die-with-parent,
 *    its own session; then exec the program.
 *
 *  - jail_lockdown(), in the child's main() once it has opened what it
 *    needs: pivot_root into an empty read-only tmpfs, drop to an
 *    unprivileged uid/gid (root launcher) or stay the mapped uid (user
 *    namespace), keep only the capabilities its policy names,
 *    PR_SET_NO_NEW_PRIVS, then load its seccomp allow-list.  Each program's
 *    policy lives in policy.c next to its main.c.
 *
 * jail_spawn execs an fd the launcher opened, so the program's folder
 * need not be reachable by the child's uid.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef MICA_JAIL_H
#define MICA_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A set of syscalls allowed (errno_value 0) or refused with an errno, with
 * the reason they are there. */
struct jail_syscall_group {
	const char *why;
	const char *const *names;     /* NULL-terminated */
	int errno_value;              /* 0: allow; else fail with this errno */
};

#define JAIL_ALLOW(reason, ...) \
	{ .why = (reason), .names = (const char *const[]){ __VA_ARGS__, NULL } }
#define JAIL_REFUSE(err, reason, ...) \
	{ .why = (reason), .names = (const char *const[]){ __VA_ARGS__, NULL }, \
	  .errno_value = (err) }

struct jail_policy {
	const char *program;
	const struct jail_syscall_group *groups;
	size_t ngroups;
	const int *keep_caps;         /* CAP_* numbers kept effective */
	size_t nkeep_caps;
	bool daemon_base;             /* also allow jail_daemon_base_groups */
};

/* Syscalls every Mica daemon needs for the shared event loop, IPC, malloc
 * and clean exit (jail/base_policy.c). */
extern const struct jail_syscall_group jail_daemon_base_groups[];
extern const size_t jail_daemon_base_ngroups;

#define JAIL_CTL_FD 3                 /* the control socket in every child */

struct jail_spawn_opts {
	const char *path;             /* program, for messages */
	int exec_fd;                  /* the program, opened by the launcher */
	char *const *argv;
	char *const *envp;
	int ctl_fd;                   /* becomes fd 3 in the child */
	int stdout_fd;                /* -1: inherit */
	int stderr_fd;                /* -1: inherit */
	bool share_net;               /* keep the host network namespace */
	bool use_userns;              /* new user namespace ... */
	uid_t map_uid;                /* ... whose root is this uid outside */
	gid_t map_gid;
	unsigned nofile;              /* RLIMIT_NOFILE for the child */
};

int jail_spawn(const struct jail_spawn_opts *opts, pid_t *pid);

enum jail_seccomp_mode {
	JAIL_SECCOMP_KILL,            /* default: kill on anything not listed */
	JAIL_SECCOMP_LOG,             /* debug: log instead of kill */
};

struct jail_lockdown_opts {
	bool in_userns;               /* spawned with use_userns */
	uid_t uid;                    /* target ids when not in a userns */
	gid_t gid;
	const char *hostname;
	enum jail_seccomp_mode seccomp;
};

int jail_lockdown(const struct jail_policy *policy,
		  const struct jail_lockdown_opts *opts);

/* For a program started by hand (mica-blk --socket-path ...): confine
 * the running process as far as its privilege allows.  As root: private
 * mount, ipc, uts and network namespaces, the empty root, all
 * capabilities dropped.  Always: no_new_privs and the seccomp list.  Call
 * it after every file and socket is open. */
int jail_sandbox_self(const struct jail_policy *policy, enum jail_seccomp_mode mode);

/* Parts of jail_lockdown, exposed for tests. */
int jail_enter_empty_root(void);
int jail_drop_privileges(const struct jail_policy *policy,
			 const struct jail_lockdown_opts *opts);
int jail_load_seccomp(const struct jail_policy *policy, enum jail_seccomp_mode mode);

/* Check that every name in the policy is a syscall this libseccomp knows;
 * returns 0 or -EINVAL naming the first unknown one in *bad. */
int jail_policy_check(const struct jail_policy *policy, const char **bad);

/* Count the syscalls a policy allows (for docs and tests). */
size_t jail_policy_count(const struct jail_policy *policy);

#endif

/* Launcher half of the jail: see jail.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "jail.h"
#include "log.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(text))
		err = -EIO;
	close(fd);
	return err;
}

/* Map uid/gid 0 in the child's user namespace to uid/gid outside. */
static int map_ids(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], text[64];
	int err;

	/* Without privilege the kernel wants setgroups denied first; as root
	 * we leave it allowed so the child can drop our supplementary groups. */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
		err = write_file(path, "deny");
		if (err < 0 && err != -ENOENT)
			return err;
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	snprintf(text, sizeof(text), "0 %u 1\n", (unsigned)uid);
	err = write_file(path, text);
	if (err < 0)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	snprintf(text, sizeof(text), "0 %u 1\n", (unsigned)gid);
	return write_file(path, text);
}

/* Runs in the cloned child; never returns. */
static void child_exec(const struct jail_spawn_opts *o, int go_fd, int err_fd)
{
	struct rlimit no_core = { 0, 0 };
	struct rlimit nofile = { o->nofile, o->nofile };
	sigset_t none;
	char go;
	int err, devnull, ctl, out, errout, moved, exec_fd;

	/* Die with the launcher; the go byte tells us it did not die first. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(go_fd, &go, 1) != 1)
		_exit(126);
	if (o->use_userns) {
		/* Become the namespace's root, which is map_uid outside: until
		 * now we were still the launcher's ids, unmapped in here. */
		if ((setgroups(0, NULL) < 0 && errno != EPERM) ||
		    setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			goto fail;
	}

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	/* Own session: a ^C at the launcher's terminal is the launcher's to
	 * handle, and it shuts children down in order. */
	setsid();

	/* Lift every fd we keep above the low numbers first, so that placing
	 * one cannot overwrite another. */
	ctl = fcntl(o->ctl_fd, F_DUPFD_CLOEXEC, 64);
	out = o->stdout_fd >= 0 ? fcntl(o->stdout_fd, F_DUPFD_CLOEXEC, 64) : -1;
	errout = o->stderr_fd >= 0 ? fcntl(o->stderr_fd, F_DUPFD_CLOEXEC, 64) : -1;
	exec_fd = fcntl(o->exec_fd, F_DUPFD_CLOEXEC, 64);
	moved = fcntl(err_fd, F_DUPFD_CLOEXEC, 64);
	if (moved >= 0)
		err_fd = moved;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (ctl < 0 || moved < 0 || devnull < 0 || exec_fd < 0 ||
	    (o->stdout_fd >= 0 && out < 0) || (o->stderr_fd >= 0 && errout < 0))
		goto fail;
	if (dup2(devnull, 0) < 0 ||
	    (out >= 0 && dup2(out, 1) < 0) ||
	    (errout >= 0 && dup2(errout, 2) < 0) ||
	    dup2(ctl, JAIL_CTL_FD) < 0)
		goto fail;
	/* Keep the error pipe and the program (both close-on-exec) just above
	 * fd 3, close the rest. */
	if (dup3(err_fd, JAIL_CTL_FD + 1, O_CLOEXEC) < 0 ||
	    dup3(exec_fd, JAIL_CTL_FD + 2, O_CLOEXEC) < 0)
		goto fail;
	err_fd = JAIL_CTL_FD + 1;
	exec_fd = JAIL_CTL_FD + 2;
	if (syscall(SYS_close_range, JAIL_CTL_FD + 3, ~0U, 0) < 0)
		goto fail;

	if (setrlimit(RLIMIT_CORE, &no_core) < 0 ||
	    (o->nofile != 0 && setrlimit(RLIMIT_NOFILE, &nofile) < 0))
		goto fail;
	prctl(PR_SET_DUMPABLE, 0);

	/* Exec the file the launcher opened: the child's ids may not be
	 * allowed to walk the path to it. */
	fexecve(exec_fd, o->argv, o->envp);
fail:
	err = errno;
	if (write(err_fd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int jail_spawn(const struct jail_spawn_opts *o, pid_t *pidp)
{
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
			      CLONE_NEWUTS | CLONE_NEWCGROUP | SIGCHLD;
	int go[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int err = 0, child_err;
	ssize_t n;
	pid_t pid;

	if (!o->share_net)
		flags |= CLONE_NEWNET;
	if (o->use_userns)
		flags |= CLONE_NEWUSER;
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		err = -errno;
		goto out;
	}

	pid = syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		err = -errno;
		log_warn("clone %s", o->path);
		goto out;
	}
	if (pid == 0) {
		close(go[1]);
		close(errp[0]);
		child_exec(o, go[0], errp[1]);
	}

	close(go[0]);
	go[0] = -1;
	close(errp[1]);
	errp[1] = -1;
	if (o->use_userns) {
		err = map_ids(pid, o->map_uid, o->map_gid);
		if (err < 0) {
			errno = -err;
			log_warn("cannot map ids into user namespace of %s", o->path);
		}
	}
	if (err == 0 && write(go[1], "g", 1) != 1)
		err = -errno;
	close(go[1]);
	go[1] = -1;

	/* EOF: exec succeeded.  An int: the child's errno before exec. */
	do {
		n = read(errp[0], &child_err, sizeof(child_err));
	} while (n < 0 && errno == EINTR);
	if (err == 0 && n == sizeof(child_err))
		err = -child_err;
	if (err < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	*pidp = pid;
out:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return err;
}

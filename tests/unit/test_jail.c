/* Unit tests for jail/: every program's policy, seccomp kill and log
 * modes, namespaces and die-with-parent of jail_spawn, the empty root. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/cutest.h"
#include "jail.h"

extern const struct jail_policy vcpu_policy, legacy_policy, blk_policy,
	blockd_policy, net_policy, netd_policy, vfio_policy;

static const struct jail_policy *const policies[] = {
	&vcpu_policy, &legacy_policy, &blk_policy, &blockd_policy, &net_policy,
	&netd_policy, &vfio_policy,
};

static void test_policies_resolve(void)
{
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		const char *bad = NULL;

		CU_ASSERT_EQUAL(jail_policy_check(policies[i], &bad), 0);
		if (bad != NULL)
			printf("  %s: unknown syscall %s\n", policies[i]->program, bad);
		printf("  %-12s allows %zu syscalls\n", policies[i]->program,
		       jail_policy_count(policies[i]));
		/* Only netd keeps a capability. */
		CU_ASSERT_EQUAL(policies[i]->nkeep_caps,
				policies[i] == &netd_policy ? 1 : 0);
	}
}

/* Run fn in a child under the vfio policy; return its wait status. */
static int in_seccomp_child(enum jail_seccomp_mode mode, long nr)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (jail_load_seccomp(&vfio_policy, mode) != 0)
			_exit(90);
		if (getpid() <= 0)            /* allowed: must work */
			_exit(91);
		syscall(nr, 0xffffffffUL);    /* not allowed */
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return status;
}

static void test_seccomp_kills(void)
{
	int status = in_seccomp_child(JAIL_SECCOMP_KILL, SYS_personality);

	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
}

static void test_seccomp_log_mode(void)
{
	int status = in_seccomp_child(JAIL_SECCOMP_LOG, SYS_personality);

	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_seccomp_soft_refusal(void)
{
	int status;
	pid_t pid;

#ifdef __SANITIZE_ADDRESS__
	CUTEST_SKIP("the ASan runtime's open() interceptor makes calls outside the list");
#endif
	pid = fork();
	if (pid == 0) {
		if (jail_load_seccomp(&vfio_policy, JAIL_SECCOMP_KILL) != 0)
			_exit(90);
		/* open is refused with EACCES, not killed. */
		_exit(open("/etc/passwd", O_RDONLY) < 0 && errno == EACCES ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static char *spawn_capture(bool userns, bool share_net)
{
	static char out[1024];
	char *argv[] = { (char *)"sh", (char *)"-c",
		(char *)"echo pid=$$ uid=$(id -u); for n in pid mnt net uts ipc user; do "
			"echo $n=$(readlink /proc/self/ns/$n); done >&3", NULL };
	char *envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	struct jail_spawn_opts o = {
		.path = "/bin/sh", .argv = argv, .envp = envp,
		.stdout_fd = -1, .stderr_fd = -1,
		.use_userns = userns, .share_net = share_net,
		.map_uid = 65534, .map_gid = 65534, .nofile = 64,
	};
	int p[2], status;
	ssize_t n, total = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	o.exec_fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);
	o.ctl_fd = p[1];
	if (jail_spawn(&o, &pid) != 0)
		return NULL;
	close(p[1]);
	close(o.exec_fd);
	while ((n = read(p[0], out + total, sizeof(out) - 1 - total)) > 0)
		total += n;
	out[total] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return out;
}

static void expect_ns(const char *out, const char *ns, bool same)
{
	char mine[128], want[160], link[64];
	ssize_t n;

	if (out == NULL) {
		CU_FAIL("no output from the spawned child");
		return;
	}
	snprintf(link, sizeof(link), "/proc/self/ns/%s", ns);
	n = readlink(link, mine, sizeof(mine) - 1);
	CU_ASSERT_FATAL(n > 0);
	mine[n] = '\0';
	snprintf(want, sizeof(want), "%s=%s\n", ns, mine);
	if ((strstr(out, want) != NULL) != same)
		printf("  namespace %s: expected %s\n%s", ns, same ? "same" : "new", out);
	CU_ASSERT((strstr(out, want) != NULL) == same);
}

static void test_spawn_namespaces(void)
{
	char *out;

	if (geteuid() != 0)
		CUTEST_SKIP("needs root to spawn without a user namespace");
	out = spawn_capture(false, false);
	CU_ASSERT_FATAL(out != NULL);
	/* The shell writes "pid=1" to stdout, not fd 3: check the rest. */
	expect_ns(out, "pid", false);
	expect_ns(out, "mnt", false);
	expect_ns(out, "net", false);
	expect_ns(out, "uts", false);
	expect_ns(out, "ipc", false);
	expect_ns(out, "user", true);

	out = spawn_capture(true, true);      /* netd-like: host net */
	CU_ASSERT_FATAL(out != NULL);
	expect_ns(out, "user", false);
	expect_ns(out, "net", true);
}

static void test_die_with_parent(void)
{
	int p[2], status;
	pid_t middle, victim = 0;

	CU_ASSERT_FATAL(pipe(p) == 0);
	middle = fork();
	if (middle == 0) {
		char *argv[] = { (char *)"sleep", (char *)"30", NULL };
		char *envp[] = { NULL };
		struct jail_spawn_opts o = {
			.path = "/bin/sleep", .argv = argv, .envp = envp,
			.stdout_fd = -1, .stderr_fd = -1, .use_userns = geteuid() != 0,
			.map_uid = geteuid() ? geteuid() : 65534,
			.map_gid = geteuid() ? getegid() : 65534,
			.ctl_fd = p[1],
		};
		pid_t pid;

		o.exec_fd = open("/bin/sleep", O_RDONLY | O_CLOEXEC);
		if (jail_spawn(&o, &pid) != 0)
			_exit(1);
		if (write(p[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		_exit(0);                    /* the launcher dies */
	}
	close(p[1]);
	CU_ASSERT(read(p[0], &victim, sizeof(victim)) == sizeof(victim));
	close(p[0]);
	waitpid(middle, &status, 0);
	CU_ASSERT_FATAL(victim > 0);
	/* The orphan is reparented to init and reaped there; it must vanish. */
	for (int i = 0; i < 200 && kill(victim, 0) == 0; i++) {
		char path[64], state[512] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", victim);
		f = fopen(path, "r");
		if (f != NULL) {
			if (fgets(state, sizeof(state), f) == NULL)
				state[0] = '\0';
			fclose(f);
		}
		if (strstr(state, ") Z") != NULL)
			break;                /* dead, waiting for its reaper */
		usleep(10000);
	}
	{
		char path[64], state[512] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", victim);
		f = fopen(path, "r");
		if (f != NULL) {
			if (fgets(state, sizeof(state), f) == NULL)
				state[0] = '\0';
			fclose(f);
		}
		CU_ASSERT(f == NULL || strstr(state, ") Z") != NULL ||
			  strstr(state, "sleep") == NULL);
	}
}

static void test_empty_root(void)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		CUTEST_SKIP("needs root for a private mount namespace");
	pid = fork();
	if (pid == 0) {
		DIR *d;
		struct dirent *de;
		int entries = 0;

		if (unshare(CLONE_NEWNS) < 0 || jail_enter_empty_root() < 0)
			_exit(10);
		d = opendir("/");
		while (d != NULL && (de = readdir(d)) != NULL)
			entries += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
		if (d == NULL || entries != 0)
			_exit(11);
		if (open("/etc/passwd", O_RDONLY) >= 0 || errno != ENOENT)
			_exit(12);
		if (mkdir("/x", 0700) == 0 || errno != EROFS)
			_exit(13);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

CUTEST_MAIN("jail",
	CUTEST(test_policies_resolve),
	CUTEST(test_seccomp_kills),
	CUTEST(test_seccomp_log_mode),
	CUTEST(test_seccomp_soft_refusal),
	CUTEST(test_spawn_namespaces),
	CUTEST(test_die_with_parent),
	CUTEST(test_empty_root))

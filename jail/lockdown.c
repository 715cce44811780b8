/* Child half of the jail: see jail.h.  The order matters and follows
 * OpenSSH's sandbox: file system first (needs CAP_SYS_ADMIN), then ids and
 * capabilities, then no_new_privs, then seccomp last, since the filter
 * would refuse the calls above. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cap-ng.h>
#include <linux/securebits.h>

#include "jail.h"
#include "log.h"

/* Mount a tiny tmpfs, make it the root, forget the old one. */
int jail_enter_empty_root(void)
{
	static const char *const candidates[] = { "/tmp", "/mnt", "/run" };
	const char *dir = NULL;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		log_warn("make mounts private");
		return -errno;
	}
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if (mount("mica-empty", candidates[i], "tmpfs",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=4k,nr_inodes=4,mode=0555") == 0) {
			dir = candidates[i];
			break;
		}
	}
	if (dir == NULL) {
		log_warn("mount empty tmpfs root");
		return -errno;
	}
	if (chdir(dir) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
		log_warn("pivot_root into %s", dir);
		return -errno;
	}
	/* The old root now sits on top of the new one; detach it. */
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		log_warn("detach old root");
		return -errno;
	}
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
		  MS_NODEV | MS_NOEXEC, NULL) < 0) {
		log_warn("remount empty root read-only");
		return -errno;
	}
	return 0;
}

int jail_drop_privileges(const struct jail_policy *policy,
			 const struct jail_lockdown_opts *opts)
{
	int rc;

	capng_clear(CAPNG_SELECT_BOTH);
	for (size_t i = 0; i < policy->nkeep_caps; i++)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
			     policy->keep_caps[i]);

	if (opts->in_userns) {
		/* We stay the one mapped id (our launcher's uid on the host).
		 * Root in this namespace must not regain capabilities. */
		if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
			  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED) < 0) {
			log_warn("set securebits");
			return -errno;
		}
		rc = capng_apply(CAPNG_SELECT_BOTH);
	} else {
		if (opts->uid == 0 || opts->gid == 0) {
			log_warnx("refusing to stay uid/gid 0");
			return -EPERM;
		}
		rc = capng_change_id(opts->uid, opts->gid,
				     CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	}
	if (rc != 0) {
		log_warnx("cannot drop to uid %u gid %u with %zu capabilities (libcap-ng %d)",
			  (unsigned)opts->uid, (unsigned)opts->gid,
			  policy->nkeep_caps, rc);
		return -EPERM;
	}
	/* Changing credentials clears the parent-death signal: set it again. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -errno;
	return 0;
}

int jail_lockdown(const struct jail_policy *policy,
		  const struct jail_lockdown_opts *opts)
{
	int err;

	err = jail_enter_empty_root();
	if (err < 0)
		return err;
	if (opts->hostname != NULL &&
	    sethostname(opts->hostname, strlen(opts->hostname)) < 0) {
		log_warn("sethostname");
		return -errno;
	}
	err = jail_drop_privileges(policy, opts);
	if (err < 0)
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_warn("PR_SET_NO_NEW_PRIVS");
		return -errno;
	}
	return jail_load_seccomp(policy, opts->seccomp);
}

int jail_sandbox_self(const struct jail_policy *policy, enum jail_seccomp_mode mode)
{
	int err;

	if (geteuid() == 0) {
		if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0) {
			log_warn("unshare");
			return -errno;
		}
		err = jail_enter_empty_root();
		if (err < 0)
			return err;
		capng_clear(CAPNG_SELECT_BOTH);
		if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
			log_warnx("cannot drop capabilities");
			return -EPERM;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return jail_load_seccomp(policy, mode);
}

/* Seccomp allow-lists from jail_policy tables, through libseccomp. */
#include <errno.h>
#include <string.h>
#include <seccomp.h>

#include "jail.h"
#include "log.h"

static int add_groups(scmp_filter_ctx ctx, const struct jail_syscall_group *g,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t action = g[i].errno_value ? SCMP_ACT_ERRNO(g[i].errno_value)
						   : SCMP_ACT_ALLOW;

		for (const char *const *name = g[i].names; *name != NULL; name++) {
			int nr = seccomp_syscall_resolve_name(*name);
			int rc;

			if (nr == __NR_SCMP_ERROR) {
				log_warnx("unknown syscall '%s' in policy", *name);
				return -EINVAL;
			}
			rc = seccomp_rule_add(ctx, action, nr, 0);
			if (rc < 0 && rc != -EEXIST) {
				log_warnx("seccomp rule for %s: %s", *name, strerror(-rc));
				return rc;
			}
		}
	}
	return 0;
}

int jail_load_seccomp(const struct jail_policy *policy, enum jail_seccomp_mode mode)
{
	uint32_t deflt = mode == JAIL_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx;
	int rc;

	ctx = seccomp_init(deflt);
	if (ctx == NULL)
		return -ENOMEM;
	/* Any other architecture (i386, x32 via int 0x80 tricks) is killed. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0 && policy->daemon_base)
		rc = add_groups(ctx, jail_daemon_base_groups, jail_daemon_base_ngroups);
	if (rc == 0)
		rc = add_groups(ctx, policy->groups, policy->ngroups);
	if (rc == 0) {
		rc = seccomp_load(ctx);
		if (rc < 0)
			log_warnx("seccomp_load: %s", strerror(-rc));
	}
	seccomp_release(ctx);
	return rc;
}

static int check_groups(const struct jail_syscall_group *g, size_t n,
			const char **bad, size_t *count)
{
	for (size_t i = 0; i < n; i++) {
		for (const char *const *name = g[i].names; *name != NULL; name++) {
			if (seccomp_syscall_resolve_name(*name) == __NR_SCMP_ERROR) {
				if (bad != NULL)
					*bad = *name;
				return -EINVAL;
			}
			if (count != NULL && g[i].errno_value == 0)
				(*count)++;
		}
	}
	return 0;
}

int jail_policy_check(const struct jail_policy *policy, const char **bad)
{
	int err = 0;

	if (policy->daemon_base)
		err = check_groups(jail_daemon_base_groups, jail_daemon_base_ngroups,
				   bad, NULL);
	if (err == 0)
		err = check_groups(policy->groups, policy->ngroups, bad, NULL);
	return err;
}

size_t jail_policy_count(const struct jail_policy *policy)
{
	size_t count = 0;

	if (policy->daemon_base)
		check_groups(jail_daemon_base_groups, jail_daemon_base_ngroups,
			     NULL, &count);
	check_groups(policy->groups, policy->ngroups, NULL, &count);
	return count;
}

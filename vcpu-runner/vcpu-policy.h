/* Seccomp of mica-vcpu (policy.c): the process allow-list, and the
 * smaller one each vCPU thread adds for itself. */
#ifndef MICA_VCPU_POLICY_H
#define MICA_VCPU_POLICY_H

#include <stdbool.h>

#include "jail.h"
#include "machine.h"

extern const struct jail_policy vcpu_policy;

/* machine.vcpu_thread_init: load the vCPU-thread filter on the calling
 * thread only (no TSYNC).  0 or a negative errno. */
int vcpu_thread_lockdown(struct machine *m, unsigned index);

/* Log instead of killing on the vCPU threads' filter (--seccomp log). */
extern bool vcpu_thread_seccomp_log;

/* How many syscalls a vCPU thread may make. */
unsigned vcpu_thread_syscall_count(void);

#endif

/* The frame every Mica subsystem program runs in when `mica` spawns it.
 *
 * daemon_main() parses the jail arguments `mica` passes, opens the event
 * loop, locks the process down (jail_lockdown with the program's policy),
 * says Hello on the control socket (fd 3), applies the Setup that comes
 * back through ops->setup, answers Ready, and then serves StatusRequest,
 * Shutdown and DebugRequest itself and anything else through
 * ops->request.  A request the program cannot serve yet is answered with
 * ENOTSUP and "not supported yet".
 */
#ifndef MICA_DAEMON_H
#define MICA_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "ipc.h"
#include "jail.h"

struct daemon;

struct daemon_ops {
	const char *program;                  /* "mica-blk" */
	Mica__Role role;
	const struct jail_policy *policy;
	/* Open what the program needs before lockdown (no path after it). */
	int (*prelock)(struct daemon *d);
	/* Apply Setup; take the fds you keep with ipc_msg_take_fd().  Return
	 * 0 or a negative errno (the daemon then exits and `mica` logs it). */
	int (*setup)(struct daemon *d, struct ipc_msg *msg);
	/* A new channel end after a peer restarted (Attach). */
	int (*attach)(struct daemon *d, const Mica__FdInfo *info, int fd);
	/* Anything else; return -ENOTSUP for "not supported yet". */
	int (*request)(struct daemon *d, struct ipc_msg *msg);
	void (*shutdown)(struct daemon *d);
};

struct daemon {
	const struct daemon_ops *ops;
	struct evloop *loop;
	int ctl;
	uint32_t index;                       /* disk/nic number, if any */
	bool test_hooks;
	bool set_up;
	char vm_name[64];
	char detail[IPC_MAX_STRING];          /* one line for `mica status` */
	void *priv;
};

int daemon_main(int argc, char **argv, const struct daemon_ops *ops);

void daemon_set_detail(struct daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Find the fd of a given kind/index in a Setup; -1 if absent. */
int daemon_setup_find(const Mica__Setup *s, Mica__FdKind kind, uint32_t index);

/* Take the fd of a given kind/index out of a Setup message; -1 if absent. */
int daemon_take_fd(struct ipc_msg *msg, Mica__FdKind kind, uint32_t index);

#endif

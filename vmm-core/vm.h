/* A running VM as `mica run` sees it: the resources it opened, the
 * process table, the channels between processes, the control socket. */
#ifndef MICA_VM_H
#define MICA_VM_H

#include <limits.h>
#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "evloop.h"
#include "ipc.h"

#define VM_MAX_PROCS    (4 + 2 * CONFIG_MAX_DISKS + CONFIG_MAX_NETS)
#define VM_MAX_CHANNELS (1 + 2 * CONFIG_MAX_DISKS + 2 * CONFIG_MAX_NETS)
#define VM_DIR_MAX      2048
#define VM_ISA_IRQS     16
#define VM_LEGACY_STATE_SIZE 4096

/* ISA lines mica-legacy drives: keyboard controller, COM1, RTC. */
#define VM_LEGACY_IRQS  { 1, 4, 8 }

/* Start order; shutdown goes the other way. */
enum vm_stage {
	STAGE_PROVIDER,          /* blockd, netd, vfio */
	STAGE_BACKEND,           /* blk, net */
	STAGE_LEGACY,            /* legacy devices */
	STAGE_RUNNER,            /* vcpu: last up, first down */
	STAGE_COUNT,
};

struct vm;

struct vm_proc {
	struct vm *vm;
	Mica__Role role;
	uint32_t index;
	char name[16];                /* vcpu, legacy, blk0, blockd, net0, netd, vfio */
	const char *program;
	enum vm_stage stage;
	bool share_net;               /* netd stays in the host network namespace */
	pid_t pid;                    /* 0 when not running */
	int ctl;                      /* our end of its control socket */
	bool setup_sent;
	Mica__ProcState state;
	unsigned restarts;
	unsigned backoff_ms;
	int restart_timer;
	struct timespec started;
	char detail[IPC_MAX_STRING];
	char last_exit[64];
};

/* A socketpair between two processes.  end[s] is the end for side[s]
 * while we still hold it (not yet handed over), else -1. */
struct vm_channel {
	Mica__FdKind kind;
	uint32_t index;
	int sock_type;                /* SOCK_STREAM for vhost-user */
	struct vm_proc *side[2];
	int end[2];
};

struct vm {
	struct vm_config *cfg;
	struct evloop *loop;
	char rundir[VM_DIR_MAX];
	char sock_path[PATH_MAX];
	char libexec[VM_DIR_MAX];     /* folder holding the mica-* programs */
	char accel[8];                /* resolved: kvm or tcg */
	int listen_fd;
	int ram_fd, kvm_fd, kernel_fd, initrd_fd, console_fd;
	int console_in_fd;            /* read end of the console input pipe */
	int legacy_state_fd;          /* memfd: mica-legacy's device state */
	int disk_fds[CONFIG_MAX_DISKS];
	int backing_fds[CONFIG_MAX_DISKS][CONFIG_MAX_BACKING];
	int irq_fds[VM_ISA_IRQS];     /* eventfds of the legacy ISA lines */
	bool unprivileged;            /* launched by a non-root user */
	struct vm_proc procs[VM_MAX_PROCS];
	size_t nprocs;
	struct vm_channel chans[VM_MAX_CHANNELS];
	size_t nchans;
	bool stopping;
	bool announced;
	int exit_status;
	uint64_t next_seq;
};

/* Start the VM described by cfg and run it until it stops.  Returns the
 * exit status for `mica run` (0 clean stop, 1 failure). */
int vm_run(struct vm_config *cfg);

/* setup.c: build and send a child's Setup (its fds, channel ends and
 * configuration); a channel end whose peer is already set up goes to the
 * peer at once by Attach. */
int vm_send_setup(struct vm_proc *p);
/* mica-netd asks for the queue fds of its macvtap (netdev.c); answered
 * on its control socket. */
void vm_macvtap_open(struct vm_proc *p, const ipc_envelope *env);

/* Pieces used by control.c. */
void vm_stop(struct vm *vm, int status, const char *why);
struct vm_proc *vm_find_proc(struct vm *vm, const char *name);
int vm_send(struct vm_proc *p, ipc_envelope *env, const int *fds, size_t nfds);

/* Where control sockets live: /run/mica for root, else
 * $XDG_RUNTIME_DIR/mica (or /tmp/mica-UID); $MICA_RUNDIR overrides. */
int vm_rundir(char *buf, size_t len, bool create);

/* console.c: stdin -> COM1 through mica-legacy (stdio console only). */
int console_open(struct vm *vm);
int console_start(struct vm *vm);
void console_close(struct vm *vm);
void console_restore(void);

/* control.c */
int control_listen(struct vm *vm);
void control_close(struct vm *vm);
int client_ps(void);
int client_status(const char *name, bool json);
int client_stop(const char *name);
int client_debug(const char *name, const char *proc, const char *action);

#endif

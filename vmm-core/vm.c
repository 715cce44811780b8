/* Starting, supervising and stopping a VM's process set. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail.h"
#include "log.h"
#include "vm.h"

#define BACKOFF_FIRST_MS   100
#define BACKOFF_MAX_MS     5000
#define STABLE_AFTER_S     10     /* a run this long resets the back-off */
#define STOP_GRACE_MS      2000

static void proc_spawn(struct vm_proc *p);

static void monotonic_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

/* ---- process table ---------------------------------------------------- */

static struct vm_proc *add_proc(struct vm *vm, Mica__Role role, uint32_t index,
				const char *program, enum vm_stage stage)
{
	struct vm_proc *p = &vm->procs[vm->nprocs++];

	memset(p, 0, sizeof(*p));
	p->vm = vm;
	p->role = role;
	p->index = index;
	p->program = program;
	p->stage = stage;
	p->ctl = -1;
	p->restart_timer = -1;
	p->state = MICA__PROC_STATE__PROC_STARTING;
	p->backoff_ms = BACKOFF_FIRST_MS;
	if (role == MICA__ROLE__ROLE_BLK || role == MICA__ROLE__ROLE_NET)
		snprintf(p->name, sizeof(p->name), "%s%u", ipc_role_name(role), index);
	else
		snprintf(p->name, sizeof(p->name), "%s", ipc_role_name(role));
	snprintf(p->detail, sizeof(p->detail), "starting");
	return p;
}

static void add_channel(struct vm *vm, Mica__FdKind kind, uint32_t index,
			int sock_type, struct vm_proc *a, struct vm_proc *b)
{
	struct vm_channel *c = &vm->chans[vm->nchans++];

	c->kind = kind;
	c->index = index;
	c->sock_type = sock_type;
	c->side[0] = a;
	c->side[1] = b;
	c->end[0] = c->end[1] = -1;
}

static bool net_needs_netd(const struct net_config *n)
{
	return strcmp(n->mode, "user") != 0;
}

static void build_process_table(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct vm_proc *vcpu, *legacy, *blockd = NULL, *netd = NULL;

	if (cfg->ndisks > 0)
		blockd = add_proc(vm, MICA__ROLE__ROLE_BLOCKD, 0, "mica-blockd",
				  STAGE_PROVIDER);
	for (size_t i = 0; i < cfg->nnets; i++) {
		if (net_needs_netd(&cfg->nets[i]) && netd == NULL) {
			netd = add_proc(vm, MICA__ROLE__ROLE_NETD, 0, "mica-netd",
					STAGE_PROVIDER);
			netd->share_net = true;
		}
	}
	if (cfg->nvfio > 0)
		add_proc(vm, MICA__ROLE__ROLE_VFIO, 0, "mica-vfio", STAGE_PROVIDER);
	legacy = add_proc(vm, MICA__ROLE__ROLE_LEGACY, 0, "mica-legacy", STAGE_LEGACY);
	vcpu = add_proc(vm, MICA__ROLE__ROLE_VCPU, 0, "mica-vcpu", STAGE_RUNNER);
	add_channel(vm, MICA__FD_KIND__FD_LEGACY_CHANNEL, 0, SOCK_SEQPACKET, vcpu, legacy);

	for (size_t i = 0; i < cfg->ndisks; i++) {
		struct vm_proc *blk = add_proc(vm, MICA__ROLE__ROLE_BLK, i, "mica-blk",
					       STAGE_BACKEND);

		add_channel(vm, MICA__FD_KIND__FD_VHOST_USER_BLK, i, SOCK_STREAM, vcpu, blk);
		add_channel(vm, MICA__FD_KIND__FD_BLOCK_CHANNEL, i, SOCK_SEQPACKET, blk,
			    blockd);
	}
	for (size_t i = 0; i < cfg->nnets; i++) {
		struct vm_proc *net = add_proc(vm, MICA__ROLE__ROLE_NET, i, "mica-net",
					       STAGE_BACKEND);

		add_channel(vm, MICA__FD_KIND__FD_VHOST_USER_NET, i, SOCK_STREAM, vcpu, net);
		/* The user-mode NAT's sockets are the guest's way out: that
		 * mica-net stays in our network namespace (still jailed). */
		net->share_net = !net_needs_netd(&cfg->nets[i]);
		if (net_needs_netd(&cfg->nets[i]))
			add_channel(vm, MICA__FD_KIND__FD_NET_CHANNEL, i, SOCK_SEQPACKET, net,
				    netd);
	}
}

struct vm_proc *vm_find_proc(struct vm *vm, const char *name)
{
	for (size_t i = 0; i < vm->nprocs; i++)
		if (strcmp(vm->procs[i].name, name) == 0)
			return &vm->procs[i];
	return NULL;
}

int vm_send(struct vm_proc *p, ipc_envelope *env, const int *fds, size_t nfds)
{
	if (p->ctl < 0)
		return -ENOTCONN;
	env->seq = ++p->vm->next_seq;
	return ipc_send(p->ctl, env, fds, nfds);
}

/* ---- resources ---------------------------------------------------------- */

static int create_guest_ram(struct vm *vm)
{
	int fd = memfd_create("mica-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, vm->cfg->memory) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	vm->ram_fd = fd;
	return 0;
}

/* One eventfd per ISA line of the legacy devices: mica-legacy signals it,
 * the runner registers it as an irqfd, so interrupts never pass through
 * us.  They outlive restarts of either side. */
static int create_irq_lines(struct vm *vm)
{
	static const unsigned lines[] = VM_LEGACY_IRQS;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		vm->irq_fds[lines[i]] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vm->irq_fds[lines[i]] < 0)
			return -errno;
	}
	return 0;
}

/* A page mica-legacy keeps its device state in (UART registers, CMOS,
 * i8042): we hold it across its restarts, it is never read here. */
static int create_legacy_state(struct vm *vm)
{
	vm->legacy_state_fd = memfd_create("mica-legacy-state",
					   MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->legacy_state_fd < 0 || ftruncate(vm->legacy_state_fd, VM_LEGACY_STATE_SIZE) < 0 ||
	    fcntl(vm->legacy_state_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		log_warn("legacy state memfd");
		return -errno;
	}
	return 0;
}

/* The backing files the manifest allows disk i, read-only, and the
 * canonical paths mica-blockd matches the image's backing names against
 * (it opens nothing itself: a name not on the list is refused there). */
static int open_backing(struct vm *vm, size_t i)
{
	struct disk_config *d = &vm->cfg->disks[i];
	char *real = realpath(d->path, NULL);

	if (real == NULL) {
		log_warn("disk %zu: %s", i, d->path);
		return -errno;
	}
	free(d->real_path);
	d->real_path = real;
	for (size_t j = 0; j < d->nbacking; j++) {
		real = realpath(d->backing[j], NULL);
		vm->backing_fds[i][j] = real == NULL ? -1 : open(real, O_RDONLY | O_CLOEXEC);
		if (vm->backing_fds[i][j] < 0) {
			log_warn("disk %zu: backing file %s", i, d->backing[j]);
			free(real);
			return -errno;
		}
		free(d->backing[j]);
		d->backing[j] = real;
	}
	return 0;
}

static int open_resources(struct vm *vm)
{
	struct vm_config *cfg = vm->cfg;
	int err;

	vm->kernel_fd = open(cfg->kernel, O_RDONLY | O_CLOEXEC);
	if (vm->kernel_fd < 0) {
		log_warn("kernel %s", cfg->kernel);
		return -errno;
	}
	if (cfg->initrd != NULL) {
		vm->initrd_fd = open(cfg->initrd, O_RDONLY | O_CLOEXEC);
		if (vm->initrd_fd < 0) {
			log_warn("initrd %s", cfg->initrd);
			return -errno;
		}
	}
	for (size_t i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *d = &cfg->disks[i];

		vm->disk_fds[i] = open(d->path, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (vm->disk_fds[i] < 0) {
			log_warn("disk %zu: %s", i, d->path);
			return -errno;
		}
		err = open_backing(vm, i);
		if (err < 0)
			return err;
	}
	if (cfg->console == CONSOLE_STDIO)
		vm->console_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	else if (cfg->console == CONSOLE_FILE)
		vm->console_fd = open(cfg->console_path,
				      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	else
		vm->console_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (vm->console_fd < 0) {
		log_warn("console");
		return -errno;
	}
	err = console_open(vm);
	if (err < 0) {
		errno = -err;
		log_warn("console input");
		return err;
	}
	err = create_legacy_state(vm);
	if (err < 0)
		return err;

	/* KVM when asked, or when it opens under "auto"; the runner measures
	 * whether it is fast enough once it can run vCPUs. */
	snprintf(vm->accel, sizeof(vm->accel), "tcg");
	if (strcmp(cfg->accel, "tcg") != 0) {
		vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (vm->kvm_fd >= 0)
			snprintf(vm->accel, sizeof(vm->accel), "kvm");
		else if (strcmp(cfg->accel, "kvm") == 0) {
			log_warn("--accel kvm: cannot open /dev/kvm");
			return -errno;
		}
	}
	err = create_irq_lines(vm);
	if (err < 0)
		return err;
	return create_guest_ram(vm);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_resources(struct vm *vm)
{
	close_fd(&vm->ram_fd);
	close_fd(&vm->kvm_fd);
	close_fd(&vm->kernel_fd);
	close_fd(&vm->initrd_fd);
	close_fd(&vm->console_fd);
	close_fd(&vm->legacy_state_fd);
	for (size_t i = 0; i < CONFIG_MAX_DISKS; i++) {
		close_fd(&vm->disk_fds[i]);
		for (size_t j = 0; j < CONFIG_MAX_BACKING; j++)
			close_fd(&vm->backing_fds[i][j]);
	}
	for (size_t i = 0; i < VM_ISA_IRQS; i++)
		close_fd(&vm->irq_fds[i]);
	for (size_t i = 0; i < vm->nchans; i++) {
		close_fd(&vm->chans[i].end[0]);
		close_fd(&vm->chans[i].end[1]);
	}
}

/* ---- messages from children -------------------------------------------- */

static void proc_kill(struct vm_proc *p, const char *why)
{
	log_warnx("%s (pid %d): %s; killing it", p->name, p->pid, why);
	if (p->pid > 0)
		kill(p->pid, SIGKILL);
}

static void all_ready_check(struct vm *vm)
{
	if (vm->announced)
		return;
	for (size_t i = 0; i < vm->nprocs; i++)
		if (vm->procs[i].state != MICA__PROC_STATE__PROC_RUNNING)
			return;
	vm->announced = true;
	log_info("VM '%s' up: %zu processes, control socket %s", vm->cfg->name,
		 vm->nprocs, vm->sock_path);
	for (size_t i = 0; i < vm->nprocs; i++)
		if (vm->procs[i].role == MICA__ROLE__ROLE_VCPU)
			log_info("%s", vm->procs[i].detail);
}

static void proc_message(struct vm_proc *p, struct ipc_msg *msg)
{
	ipc_envelope *env = msg->env;
	int err;

	switch (env->body_case) {
	case MICA__ENVELOPE__BODY_HELLO:
		if (p->setup_sent || env->hello->role != p->role ||
		    env->hello->index != p->index) {
			proc_kill(p, "unexpected Hello");
			return;
		}
		err = vm_send_setup(p);
		if (err < 0) {
			errno = -err;
			log_warn("%s: sending setup", p->name);
			proc_kill(p, "setup failed");
		}
		return;
	case MICA__ENVELOPE__BODY_READY:
		if (!p->setup_sent) {
			proc_kill(p, "Ready before Setup");
			return;
		}
		p->state = MICA__PROC_STATE__PROC_RUNNING;
		snprintf(p->detail, sizeof(p->detail), "%s", env->ready->detail);
		log_debug("core", "%s ready: %s", p->name, p->detail);
		if (p->restarts > 0)
			log_info("%s (pid %d) running again after restart %u", p->name,
				 p->pid, p->restarts);
		all_ready_check(p->vm);
		return;
	case MICA__ENVELOPE__BODY_STATUS_REPLY:
		if (env->status_reply->n_processes == 1)
			snprintf(p->detail, sizeof(p->detail), "%s",
				 env->status_reply->processes[0]->detail);
		return;
	case MICA__ENVELOPE__BODY_RESULT:
		if (env->result->errno_value != 0)
			log_warnx("%s: %s", p->name, env->result->message);
		return;
	case MICA__ENVELOPE__BODY_MACVTAP_OPEN:
		if (p->role != MICA__ROLE__ROLE_NETD || !p->setup_sent) {
			proc_kill(p, "asked for macvtap queues (only a set-up mica-netd may)");
			return;
		}
		vm_macvtap_open(p, env);
		return;
	default:
		proc_kill(p, "sent a message children may not send");
	}
}

static void on_proc_ctl(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vm_proc *p = arg;
	struct ipc_msg msg;
	char why[IPC_REASON_MAX] = "";
	int err;

	err = ipc_recv(fd, &msg, why, sizeof(why));
	if (err == -EAGAIN)
		return;
	if (err < 0) {
		/* Closed or garbage: either way the child is gone to us.  Its exit
		 * is reaped through SIGCHLD; a child sending garbage is killed. */
		evloop_del(loop, fd);
		close_fd(&p->ctl);
		if (err == -EBADMSG)
			proc_kill(p, why);
		else if (err != -ECONNRESET)
			proc_kill(p, strerror(-err));
		return;
	}
	proc_message(p, &msg);
	ipc_msg_free(&msg);
}

/* ---- spawning and supervision -------------------------------------------- */

/* Every process gets its own user namespace, whose root is the jail uid
 * outside; netd only when we are not root, since its CAP_NET_ADMIN must
 * count in the host's network namespace. */
static bool proc_uses_userns(const struct vm_proc *p)
{
	return p->vm->unprivileged || p->role != MICA__ROLE__ROLE_NETD;
}

static void build_argv(struct vm_proc *p, char *path, size_t pathlen,
		       char **argv, char store[][32])
{
	struct vm *vm = p->vm;
	int n = 0;

	snprintf(path, pathlen, "%s/%s", vm->libexec, p->program);
	argv[n++] = (char *)p->program;
	if (p->role == MICA__ROLE__ROLE_NET && p->share_net)
		argv[n++] = (char *)"--net-user";	/* first: mica-net's own flag */
	argv[n++] = (char *)"--index";
	snprintf(store[0], 32, "%u", p->index);
	argv[n++] = store[0];
	if (proc_uses_userns(p)) {
		argv[n++] = (char *)"--jail-userns";
	} else {
		argv[n++] = (char *)"--jail-uid";
		snprintf(store[1], 32, "%u", (unsigned)vm->cfg->jail_uid);
		argv[n++] = store[1];
		argv[n++] = (char *)"--jail-gid";
		snprintf(store[2], 32, "%u", (unsigned)vm->cfg->jail_gid);
		argv[n++] = store[2];
	}
	if (vm->cfg->seccomp_log) {
		argv[n++] = (char *)"--seccomp";
		argv[n++] = (char *)"log";
	}
	if (vm->cfg->test_hooks)
		argv[n++] = (char *)"--test-hooks";
	argv[n] = NULL;
}

static void proc_spawn(struct vm_proc *p)
{
	struct vm *vm = p->vm;
	char path[PATH_MAX], store[3][32], debug_env[256];
	char *argv[16], *envp[2] = { NULL, NULL };
	struct jail_spawn_opts o = {
		.path = path, .argv = argv, .envp = envp,
		.stdout_fd = -1, .stderr_fd = -1,
		.share_net = p->share_net, .use_userns = proc_uses_userns(p),
		.map_uid = vm->unprivileged ? getuid() : vm->cfg->jail_uid,
		.map_gid = vm->unprivileged ? getgid() : vm->cfg->jail_gid,
		.nofile = 256,
	};
	int pair[2], err;

	if (getenv("MICA_DEBUG") != NULL) {
		snprintf(debug_env, sizeof(debug_env), "MICA_DEBUG=%s", getenv("MICA_DEBUG"));
		envp[0] = debug_env;
	}
	build_argv(p, path, sizeof(path), argv, store);
	o.exec_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o.exec_fd < 0) {
		err = -errno;
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		err = -errno;
		close(o.exec_fd);
		goto fail;
	}
	o.ctl_fd = pair[1];
	err = jail_spawn(&o, &p->pid);
	close(pair[1]);
	close(o.exec_fd);
	if (err < 0) {
		close(pair[0]);
		goto fail;
	}
	p->ctl = pair[0];
	fcntl(p->ctl, F_SETFL, O_NONBLOCK);
	p->setup_sent = false;
	p->state = MICA__PROC_STATE__PROC_STARTING;
	snprintf(p->detail, sizeof(p->detail), "starting");
	monotonic_now(&p->started);
	err = evloop_add(vm->loop, p->ctl, EPOLLIN, on_proc_ctl, p);
	if (err < 0) {
		proc_kill(p, "cannot watch its control socket");
		return;
	}
	log_debug("core", "started %s as pid %d", p->name, p->pid);
	return;
fail:
	errno = -err;
	log_warn("cannot start %s (%s)", p->name, path);
	p->pid = 0;
	p->state = MICA__PROC_STATE__PROC_FAILED;
	snprintf(p->last_exit, sizeof(p->last_exit), "could not start: %s",
		 strerror(-err));
	if (p->role == MICA__ROLE__ROLE_VCPU || !vm->announced)
		vm_stop(vm, 1, "a process could not be started");
}

static void on_restart_timer(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vm_proc *p = arg;

	evloop_timer_free(loop, p->restart_timer);
	p->restart_timer = -1;
	if (!p->vm->stopping)
		proc_spawn(p);
}

static void describe_exit(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(buf, len, "killed by SIGSYS (seccomp: syscall not allowed)");
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by SIG%s", sigabbrev_np(WTERMSIG(status)));
	else
		snprintf(buf, len, "stopped (status 0x%x)", status);
}

static void schedule_restart(struct vm_proc *p)
{
	struct timespec now;

	monotonic_now(&now);
	if (now.tv_sec - p->started.tv_sec >= STABLE_AFTER_S)
		p->backoff_ms = BACKOFF_FIRST_MS;
	p->restarts++;
	p->state = MICA__PROC_STATE__PROC_RESTARTING;
	log_info("%s %s; restarting it in %u ms (restart %u)", p->name, p->last_exit,
		 p->backoff_ms, p->restarts);
	p->restart_timer = evloop_timer_new(p->vm->loop, on_restart_timer, p);
	if (p->restart_timer < 0 ||
	    evloop_timer_set(p->restart_timer, p->backoff_ms, 0) < 0) {
		log_warnx("%s: cannot arm the restart timer; restarting now", p->name);
		proc_spawn(p);
	}
	p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							    : p->backoff_ms * 2;
}

static void proc_exited(struct vm_proc *p, int status)
{
	struct vm *vm = p->vm;

	describe_exit(status, p->last_exit, sizeof(p->last_exit));
	if (p->ctl >= 0) {
		evloop_del(vm->loop, p->ctl);
		close_fd(&p->ctl);
	}
	p->pid = 0;
	p->setup_sent = false;
	if (vm->stopping) {
		p->state = MICA__PROC_STATE__PROC_EXITED;
		return;
	}
	if (p->role == MICA__ROLE__ROLE_VCPU) {
		/* The runner exits 0 when the guest powered off or reset (the VM
		 * ends, as with Firecracker); anything else is a failure. */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			p->state = MICA__PROC_STATE__PROC_EXITED;
			vm_stop(vm, 0, "the guest stopped");
			return;
		}
		p->state = MICA__PROC_STATE__PROC_FAILED;
		log_warnx("the vCPU runner %s; stopping the VM", p->last_exit);
		vm_stop(vm, 1, "vCPU runner died");
		return;
	}
	schedule_restart(p);
}

static void reap_children(struct vm *vm)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < vm->nprocs; i++) {
			if (vm->procs[i].pid == pid) {
				proc_exited(&vm->procs[i], status);
				break;
			}
		}
	}
}

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vm *vm = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap_children(vm);
		else
			vm_stop(vm, 0, sigabbrev_np(si.ssi_signo));
	}
}

/* ---- ordered shutdown ---------------------------------------------------- */

static bool stage_alive(struct vm *vm, enum vm_stage stage)
{
	for (size_t i = 0; i < vm->nprocs; i++)
		if (vm->procs[i].stage == stage && vm->procs[i].pid > 0)
			return true;
	return false;
}

static void reap_stage(struct vm *vm, enum vm_stage stage, int wait_ms)
{
	for (int waited = 0; stage_alive(vm, stage) && waited < wait_ms; waited += 10) {
		reap_children(vm);
		if (stage_alive(vm, stage))
			usleep(10000);
	}
}

static void stop_stage(struct vm *vm, enum vm_stage stage)
{
	for (size_t i = 0; i < vm->nprocs; i++) {
		struct vm_proc *p = &vm->procs[i];
		Mica__Envelope env = MICA__ENVELOPE__INIT;
		Mica__Shutdown sd = MICA__SHUTDOWN__INIT;

		if (p->stage != stage)
			continue;
		evloop_timer_free(vm->loop, p->restart_timer);
		p->restart_timer = -1;
		if (p->pid <= 0)
			continue;
		sd.reason = (char *)"VM stopping";
		env.body_case = MICA__ENVELOPE__BODY_SHUTDOWN;
		env.shutdown = &sd;
		if (vm_send(p, &env, NULL, 0) < 0)
			kill(p->pid, SIGTERM);
	}
	reap_stage(vm, stage, STOP_GRACE_MS);
	for (size_t i = 0; i < vm->nprocs; i++) {
		struct vm_proc *p = &vm->procs[i];

		if (p->stage == stage && p->pid > 0) {
			log_warnx("%s (pid %d) did not stop in %d ms; killing it", p->name,
				  p->pid, STOP_GRACE_MS);
			kill(p->pid, SIGKILL);
		}
	}
	reap_stage(vm, stage, 5000);
}

void vm_stop(struct vm *vm, int status, const char *why)
{
	if (vm->stopping)
		return;
	vm->stopping = true;
	vm->exit_status = status;
	log_info("stopping VM '%s' (%s)", vm->cfg->name, why);
	for (int stage = STAGE_COUNT - 1; stage >= 0; stage--)
		stop_stage(vm, stage);
	evloop_stop(vm->loop, status);
}

/* ---- entry ---------------------------------------------------------------- */

static int find_libexec(struct vm *vm)
{
	char self[PATH_MAX];
	const char *env = getenv("MICA_LIBEXEC");
	ssize_t n;

	if (env != NULL) {
		snprintf(vm->libexec, sizeof(vm->libexec), "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = '\0';
	snprintf(vm->libexec, sizeof(vm->libexec), "%s", dirname(self));
	return 0;
}

int vm_run(struct vm_config *cfg)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	sigset_t sigs;
	int err, status = 1;

	if (vm == NULL)
		return 1;
	vm->cfg = cfg;
	vm->listen_fd = vm->ram_fd = vm->kvm_fd = vm->kernel_fd = -1;
	vm->initrd_fd = vm->console_fd = vm->console_in_fd = vm->legacy_state_fd = -1;
	for (size_t i = 0; i < CONFIG_MAX_DISKS; i++) {
		vm->disk_fds[i] = -1;
		for (size_t j = 0; j < CONFIG_MAX_BACKING; j++)
			vm->backing_fds[i][j] = -1;
	}
	for (size_t i = 0; i < VM_ISA_IRQS; i++)
		vm->irq_fds[i] = -1;
	vm->unprivileged = geteuid() != 0;

	if (find_libexec(vm) < 0 || open_resources(vm) < 0)
		goto out;
	vm->loop = evloop_new();
	if (vm->loop == NULL)
		goto out;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGCHLD);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	if (evloop_add_signals(vm->loop, &sigs, on_signal, vm) < 0) {
		log_warn("signalfd");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	err = control_listen(vm);
	if (err < 0)
		goto out;

	build_process_table(vm);
	console_start(vm);
	for (int stage = 0; stage < STAGE_COUNT && !vm->stopping; stage++)
		for (size_t i = 0; i < vm->nprocs && !vm->stopping; i++)
			if (vm->procs[i].stage == (enum vm_stage)stage)
				proc_spawn(&vm->procs[i]);
	status = evloop_run(vm->loop);
	if (!vm->stopping)
		vm_stop(vm, status, "event loop ended");
	status = vm->exit_status;
	log_info("VM '%s' stopped", cfg->name);
out:
	console_close(vm);
	control_close(vm);
	close_resources(vm);
	evloop_free(vm->loop);
	free(vm);
	return status;
}

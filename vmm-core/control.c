/* The per-VM control socket: the server side in `mica run`, and the
 * client commands `mica ps`, `mica status`, `mica stop`, `mica debug`.
 *
 * One SOCK_SEQPACKET socket per VM, <rundir>/<name>.sock, in a folder only
 * its owner can enter; a client must also have our uid (or be root).  A
 * client sending anything malformed is disconnected with a logged reason.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>

#include "log.h"
#include "vm.h"

#define CLIENT_TIMEOUT_S 10

int vm_rundir(char *buf, size_t len, bool create)
{
	const char *env = getenv("MICA_RUNDIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (env != NULL && env[0] != '\0')
		snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		snprintf(buf, len, "/run/mica");
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, len, "%s/mica", xdg);
	else
		snprintf(buf, len, "/tmp/mica-%u", (unsigned)geteuid());
	if (create && mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int sock_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

static int connect_path(const char *path)
{
	struct sockaddr_un sa;
	struct timeval tv = { CLIENT_TIMEOUT_S, 0 };
	int fd, err;

	err = sock_addr(path, &sa);
	if (err < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* ---- server ----------------------------------------------------------- */

static int send_status(struct vm *vm, int fd, uint64_t seq)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__StatusReply reply = MICA__STATUS_REPLY__INIT;
	Mica__ProcessStatus ps[VM_MAX_PROCS], *psp[VM_MAX_PROCS];

	for (size_t i = 0; i < vm->nprocs; i++) {
		struct vm_proc *p = &vm->procs[i];
		Mica__ProcessStatus init = MICA__PROCESS_STATUS__INIT;

		ps[i] = init;
		ps[i].role = p->role;
		ps[i].name = p->name;
		ps[i].pid = p->pid;
		ps[i].state = p->state;
		ps[i].restarts = p->restarts;
		ps[i].detail = p->detail;
		ps[i].last_exit = p->last_exit;
		psp[i] = &ps[i];
	}
	reply.vm_name = vm->cfg->name;
	reply.state = (char *)(vm->stopping ? "stopping" : "running");
	reply.core_pid = getpid();
	reply.n_processes = vm->nprocs;
	reply.processes = psp;
	reply.memory_bytes = vm->cfg->memory;
	reply.cpus = vm->cfg->cpus;
	env.seq = seq;
	env.body_case = MICA__ENVELOPE__BODY_STATUS_REPLY;
	env.status_reply = &reply;
	return ipc_send(fd, &env, NULL, 0);
}

static int forward_debug(struct vm *vm, int fd, const ipc_envelope *req)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__DebugRequest dbg = MICA__DEBUG_REQUEST__INIT;
	struct vm_proc *p = vm_find_proc(vm, req->debug->target);
	int err;

	if (p == NULL || p->pid <= 0)
		return ipc_send_result(fd, req->seq, ESRCH, "no running process \"%s\"",
				       req->debug->target);
	dbg.action = req->debug->action;
	env.body_case = MICA__ENVELOPE__BODY_DEBUG;
	env.debug = &dbg;
	err = vm_send(p, &env, NULL, 0);
	return ipc_send_result(fd, req->seq, -err, "%s", err ? strerror(-err)
				: "sent to process");
}

static void client_drop(struct evloop *loop, int fd)
{
	evloop_del(loop, fd);
	close(fd);
}

static void on_client(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct vm *vm = arg;
	struct ipc_msg msg;
	char why[IPC_REASON_MAX] = "";
	int err;

	err = ipc_recv(fd, &msg, why, sizeof(why));
	if (err == -EAGAIN)
		return;
	if (err < 0) {
		if (err == -EBADMSG)
			log_warnx("control client sent a malformed message (%s); "
				  "disconnecting it", why);
		client_drop(loop, fd);
		return;
	}
	switch (msg.env->body_case) {
	case MICA__ENVELOPE__BODY_STATUS_REQUEST:
		err = send_status(vm, fd, msg.env->seq);
		break;
	case MICA__ENVELOPE__BODY_STOP_REQUEST:
		err = ipc_send_result(fd, msg.env->seq, 0, "stopping");
		ipc_msg_free(&msg);
		client_drop(loop, fd);
		vm_stop(vm, 0, "mica stop");
		return;
	case MICA__ENVELOPE__BODY_DEBUG:
		err = forward_debug(vm, fd, msg.env);
		break;
	default:
		err = ipc_send_result(fd, msg.env->seq, ENOTSUP,
				      "%s not supported on the control socket",
				      ipc_body_name(msg.env));
	}
	ipc_msg_free(&msg);
	if (err < 0)
		client_drop(loop, fd);
}

static void on_accept(struct evloop *loop, int lfd, uint32_t events, void *arg)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_warnx("refusing control client pid %d uid %u", cred.pid, cred.uid);
		close(fd);
		return;
	}
	if (evloop_add(loop, fd, EPOLLIN, on_client, arg) < 0)
		close(fd);
}

int control_listen(struct vm *vm)
{
	struct sockaddr_un sa;
	int fd, err;

	err = vm_rundir(vm->rundir, sizeof(vm->rundir), true);
	if (err < 0) {
		errno = -err;
		log_warn("runtime folder %s", vm->rundir);
		return err;
	}
	snprintf(vm->sock_path, sizeof(vm->sock_path), "%s/%s.sock", vm->rundir,
		 vm->cfg->name);
	fd = connect_path(vm->sock_path);
	if (fd >= 0) {
		close(fd);
		log_warnx("a VM named '%s' is already running (%s)", vm->cfg->name,
			  vm->sock_path);
		vm->sock_path[0] = '\0';
		return -EEXIST;
	}
	unlink(vm->sock_path);     /* stale: nobody answers on it */
	err = sock_addr(vm->sock_path, &sa);
	if (err < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(vm->sock_path, 0600) < 0 || listen(fd, 8) < 0) {
		err = -errno;
		log_warn("control socket %s", vm->sock_path);
		close(fd);
		vm->sock_path[0] = '\0';
		return err;
	}
	vm->listen_fd = fd;
	return evloop_add(vm->loop, fd, EPOLLIN, on_accept, vm);
}

void control_close(struct vm *vm)
{
	if (vm->listen_fd >= 0) {
		close(vm->listen_fd);
		vm->listen_fd = -1;
	}
	if (vm->sock_path[0] != '\0')
		unlink(vm->sock_path);
}

/* ---- clients ---------------------------------------------------------- */

static int client_request(const char *name, ipc_envelope *req, struct ipc_msg *reply)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], why[IPC_REASON_MAX] = "";
	int fd, err;

	if (config_check_name(name) < 0) {
		fprintf(stderr, "mica: \"%s\" is not a valid VM name\n", name);
		return -EINVAL;
	}
	vm_rundir(dir, sizeof(dir), false);
	snprintf(path, sizeof(path), "%s/%s.sock", dir, name);
	fd = connect_path(path);
	if (fd < 0) {
		fprintf(stderr, "mica: no VM named '%s' is running (%s: %s)\n", name, path,
			strerror(-fd));
		return fd;
	}
	req->seq = 1;
	err = ipc_send(fd, req, NULL, 0);
	if (err == 0)
		err = ipc_recv(fd, reply, why, sizeof(why));
	close(fd);
	if (err < 0)
		fprintf(stderr, "mica: VM '%s': %s\n", name,
			err == -EBADMSG ? why : err == -EAGAIN ? "no answer in time"
			: strerror(-err));
	return err;
}

static json_object *status_json(const Mica__StatusReply *r)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(o, "name", json_object_new_string(r->vm_name));
	json_object_object_add(o, "state", json_object_new_string(r->state));
	json_object_object_add(o, "core_pid", json_object_new_int(r->core_pid));
	json_object_object_add(o, "cpus", json_object_new_int(r->cpus));
	json_object_object_add(o, "memory_bytes", json_object_new_int64(r->memory_bytes));
	for (size_t i = 0; i < r->n_processes; i++) {
		const Mica__ProcessStatus *p = r->processes[i];
		json_object *po = json_object_new_object();

		json_object_object_add(po, "name", json_object_new_string(p->name));
		json_object_object_add(po, "role", json_object_new_string(ipc_role_name(p->role)));
		json_object_object_add(po, "pid", json_object_new_int(p->pid));
		json_object_object_add(po, "state",
				       json_object_new_string(ipc_proc_state_name(p->state)));
		json_object_object_add(po, "restarts", json_object_new_int(p->restarts));
		json_object_object_add(po, "detail", json_object_new_string(p->detail));
		json_object_object_add(po, "last_exit", json_object_new_string(p->last_exit));
		json_object_array_add(arr, po);
	}
	json_object_object_add(o, "processes", arr);
	return o;
}

static void status_print(const Mica__StatusReply *r)
{
	printf("VM %s: %s, core pid %d, %u vCPU, %llu MiB\n", r->vm_name, r->state,
	       r->core_pid, r->cpus, (unsigned long long)(r->memory_bytes >> 20));
	printf("%-8s %-7s %-8s %-10s %-8s %s\n", "NAME", "ROLE", "PID", "STATE",
	       "RESTARTS", "DETAIL");
	for (size_t i = 0; i < r->n_processes; i++) {
		const Mica__ProcessStatus *p = r->processes[i];

		printf("%-8s %-7s %-8d %-10s %-8u %s%s%s\n", p->name, ipc_role_name(p->role),
		       p->pid, ipc_proc_state_name(p->state), p->restarts, p->detail,
		       p->last_exit[0] ? "; last exit: " : "", p->last_exit);
	}
}

int client_status(const char *name, bool json)
{
	Mica__Envelope req = MICA__ENVELOPE__INIT;
	Mica__StatusRequest sr = MICA__STATUS_REQUEST__INIT;
	struct ipc_msg reply;

	req.body_case = MICA__ENVELOPE__BODY_STATUS_REQUEST;
	req.status_request = &sr;
	if (client_request(name, &req, &reply) < 0)
		return 1;
	if (reply.env->body_case != MICA__ENVELOPE__BODY_STATUS_REPLY) {
		fprintf(stderr, "mica: VM '%s' answered %s to a status request\n", name,
			ipc_body_name(reply.env));
		ipc_msg_free(&reply);
		return 1;
	}
	if (json) {
		json_object *o = status_json(reply.env->status_reply);

		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else {
		status_print(reply.env->status_reply);
	}
	ipc_msg_free(&reply);
	return 0;
}

static int result_of(const char *name, struct ipc_msg *reply)
{
	int rc = 0;

	if (reply->env->body_case != MICA__ENVELOPE__BODY_RESULT) {
		fprintf(stderr, "mica: VM '%s' sent %s, expected a result\n", name,
			ipc_body_name(reply->env));
		rc = 1;
	} else if (reply->env->result->errno_value != 0) {
		fprintf(stderr, "mica: VM '%s': %s\n", name, reply->env->result->message);
		rc = 1;
	}
	ipc_msg_free(reply);
	return rc;
}

int client_stop(const char *name)
{
	Mica__Envelope req = MICA__ENVELOPE__INIT;
	Mica__StopRequest stop = MICA__STOP_REQUEST__INIT;
	char dir[PATH_MAX], path[PATH_MAX + 64];
	struct ipc_msg reply;
	int rc;

	req.body_case = MICA__ENVELOPE__BODY_STOP_REQUEST;
	req.stop_request = &stop;
	if (client_request(name, &req, &reply) < 0)
		return 1;
	rc = result_of(name, &reply);
	if (rc != 0)
		return rc;
	/* Wait (bounded) for the socket to go away: stop returns once the VM
	 * is down, like `virsh destroy`. */
	vm_rundir(dir, sizeof(dir), false);
	snprintf(path, sizeof(path), "%s/%s.sock", dir, name);
	for (int i = 0; i < 200 && access(path, F_OK) == 0; i++)
		usleep(50000);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "mica: VM '%s' has not stopped after 10 s\n", name);
		return 1;
	}
	return 0;
}

int client_debug(const char *name, const char *proc, const char *action)
{
	Mica__Envelope req = MICA__ENVELOPE__INIT;
	Mica__DebugRequest dbg = MICA__DEBUG_REQUEST__INIT;
	struct ipc_msg reply;

	if (strcmp(action, "forbidden-syscall") != 0) {
		fprintf(stderr, "mica: debug: unknown action \"%s\" (known: "
			"forbidden-syscall)\n", action);
		return 2;
	}
	dbg.action = MICA__DEBUG_ACTION__DEBUG_FORBIDDEN_SYSCALL;
	dbg.target = (char *)proc;
	req.body_case = MICA__ENVELOPE__BODY_DEBUG;
	req.debug = &dbg;
	if (client_request(name, &req, &reply) < 0)
		return 1;
	return result_of(name, &reply);
}

int client_ps(void)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int found = 0;

	vm_rundir(dir, sizeof(dir), false);
	d = opendir(dir);
	printf("%-20s %-9s %-8s %s\n", "NAME", "STATE", "PID", "PROCESSES");
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		Mica__Envelope req = MICA__ENVELOPE__INIT;
		Mica__StatusRequest sr = MICA__STATUS_REQUEST__INIT;
		char path[PATH_MAX + 300], why[IPC_REASON_MAX];
		struct ipc_msg reply;
		size_t len = strlen(de->d_name);
		int fd;

		if (len < 6 || strcmp(de->d_name + len - 5, ".sock") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = connect_path(path);
		if (fd == -ECONNREFUSED) {
			/* Nobody listens: a VM that died without cleaning up. */
			unlink(path);
			continue;
		}
		if (fd < 0)
			continue;
		req.body_case = MICA__ENVELOPE__BODY_STATUS_REQUEST;
		req.status_request = &sr;
		if (ipc_send(fd, &req, NULL, 0) == 0 &&
		    ipc_recv(fd, &reply, why, sizeof(why)) == 0) {
			if (reply.env->body_case == MICA__ENVELOPE__BODY_STATUS_REPLY) {
				const Mica__StatusReply *r = reply.env->status_reply;

				printf("%-20s %-9s %-8d %zu\n", r->vm_name, r->state,
				       r->core_pid, r->n_processes);
				found++;
			}
			ipc_msg_free(&reply);
		}
		close(fd);
	}
	closedir(d);
	return 0;
}

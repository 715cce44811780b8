/* Common main loop of the subsystem programs: see daemon.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#ifndef MICA_VERSION
#define MICA_VERSION "0.1"
#endif

void daemon_set_detail(struct daemon *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
	va_end(ap);
}

int daemon_setup_find(const Mica__Setup *s, Mica__FdKind kind, uint32_t index)
{
	for (size_t i = 0; i < s->n_fds; i++)
		if (s->fds[i]->kind == kind && s->fds[i]->index == index)
			return (int)i;
	return -1;
}

int daemon_take_fd(struct ipc_msg *msg, Mica__FdKind kind, uint32_t index)
{
	int i = daemon_setup_find(msg->env->setup, kind, index);

	return i < 0 ? -1 : ipc_msg_take_fd(msg, i);
}

static int send_hello(struct daemon *d)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__Hello hello = MICA__HELLO__INIT;

	hello.protocol_version = IPC_PROTOCOL_VERSION;
	hello.role = d->ops->role;
	hello.index = d->index;
	hello.version = (char *)MICA_VERSION;
	env.body_case = MICA__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	return ipc_send(d->ctl, &env, NULL, 0);
}

static int send_ready(struct daemon *d, uint64_t seq)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__Ready ready = MICA__READY__INIT;

	ready.detail = d->detail;
	env.seq = seq;
	env.body_case = MICA__ENVELOPE__BODY_READY;
	env.ready = &ready;
	return ipc_send(d->ctl, &env, NULL, 0);
}

static int send_status(struct daemon *d, uint64_t seq)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__StatusReply reply = MICA__STATUS_REPLY__INIT;
	Mica__ProcessStatus self = MICA__PROCESS_STATUS__INIT;
	Mica__ProcessStatus *list[1] = { &self };
	char name[32];

	snprintf(name, sizeof(name), "%s", ipc_role_name(d->ops->role));
	self.role = d->ops->role;
	self.name = name;
	self.pid = getpid();
	self.state = MICA__PROC_STATE__PROC_RUNNING;
	self.detail = d->detail;
	reply.vm_name = d->vm_name;
	reply.state = (char *)"running";
	reply.n_processes = 1;
	reply.processes = list;
	env.seq = seq;
	env.body_case = MICA__ENVELOPE__BODY_STATUS_REPLY;
	env.status_reply = &reply;
	return ipc_send(d->ctl, &env, NULL, 0);
}

static int handle_setup(struct daemon *d, struct ipc_msg *msg)
{
	int err;

	if (d->set_up) {
		log_warnx("second Setup from mica; ignoring it");
		return ipc_send_result(d->ctl, msg->env->seq, EALREADY, "already set up");
	}
	snprintf(d->vm_name, sizeof(d->vm_name), "%s", msg->env->setup->vm_name);
	err = d->ops->setup != NULL ? d->ops->setup(d, msg) : 0;
	if (err < 0) {
		log_warnx("setup failed: %s", strerror(-err));
		return err;
	}
	d->set_up = true;
	return send_ready(d, msg->env->seq);
}

static void debug_action(struct daemon *d, const Mica__DebugRequest *req,
			 uint64_t seq)
{
	if (!d->test_hooks) {
		log_warnx("debug request refused: not started with --test-hooks");
		ipc_send_result(d->ctl, seq, EPERM, "test hooks are off");
		return;
	}
	if (req->action == MICA__DEBUG_ACTION__DEBUG_FORBIDDEN_SYSCALL) {
		log_info("test hook: calling personality(2), which no policy allows");
		syscall(SYS_personality, 0xffffffffUL);
		/* Only reached when seccomp runs in log mode. */
		ipc_send_result(d->ctl, seq, 0, "forbidden syscall returned");
		return;
	}
	ipc_send_result(d->ctl, seq, EINVAL, "unknown debug action %d", req->action);
}

static int handle_message(struct daemon *d, struct ipc_msg *msg)
{
	ipc_envelope *env = msg->env;
	int err;

	switch (env->body_case) {
	case MICA__ENVELOPE__BODY_SETUP:
		return handle_setup(d, msg);
	case MICA__ENVELOPE__BODY_STATUS_REQUEST:
		return send_status(d, env->seq);
	case MICA__ENVELOPE__BODY_SHUTDOWN:
		log_debug("daemon", "shutdown: %s", env->shutdown->reason);
		evloop_stop(d->loop, 0);
		return 0;
	case MICA__ENVELOPE__BODY_DEBUG:
		debug_action(d, env->debug, env->seq);
		return 0;
	case MICA__ENVELOPE__BODY_ATTACH:
		if (d->ops->attach == NULL)
			return ipc_send_result(d->ctl, env->seq, ENOTSUP,
					       "%s: attach not supported yet",
					       d->ops->program);
		err = d->ops->attach(d, env->attach->fd, ipc_msg_take_fd(msg, 0));
		return ipc_send_result(d->ctl, env->seq, -err, "%s",
				       err ? strerror(-err) : "attached");
	default:
		err = d->ops->request != NULL ? d->ops->request(d, msg) : -ENOTSUP;
		if (err == -ENOTSUP)
			return ipc_send_result(d->ctl, env->seq, ENOTSUP,
					       "%s: %s not supported yet",
					       d->ops->program, ipc_body_name(env));
		return err;
	}
}

static void on_ctl(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	struct ipc_msg msg;
	char why[IPC_REASON_MAX] = "";
	int err;

	err = ipc_recv(fd, &msg, why, sizeof(why));
	if (err == -EAGAIN)
		return;
	if (err == -ECONNRESET) {
		log_debug("daemon", "mica closed the control socket; exiting");
		evloop_stop(loop, 0);
		return;
	}
	if (err < 0) {
		/* mica is the only peer; garbage from it means something is badly
		 * wrong.  Exit and let it restart us. */
		log_warnx("bad control message (%s); exiting",
			  err == -EBADMSG ? why : strerror(-err));
		evloop_stop(loop, 1);
		return;
	}
	err = handle_message(d, &msg);
	ipc_msg_free(&msg);
	if (err < 0 && err != -EPIPE) {
		log_warnx("handling control message: %s", strerror(-err));
		evloop_stop(loop, 1);
	} else if (err == -EPIPE) {
		evloop_stop(loop, 0);
	}
}

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si))
		log_debug("daemon", "signal %u: exiting", si.ssi_signo);
	evloop_stop(loop, 0);
}

static void usage(const char *program)
{
	fprintf(stderr,
		"usage: %s [--ctl-fd N] [--index N] [--jail-uid U --jail-gid G | --jail-userns]\n"
		"          [--seccomp kill|log] [--test-hooks]\n"
		"%s is started by `mica run`; it is not meant to be run by hand yet.\n",
		program, program);
}

static int parse_args(int argc, char **argv, struct daemon *d,
		      struct jail_lockdown_opts *jo)
{
	static const struct option longopts[] = {
		{ "ctl-fd", required_argument, NULL, 'c' },
		{ "index", required_argument, NULL, 'i' },
		{ "jail-uid", required_argument, NULL, 'u' },
		{ "jail-gid", required_argument, NULL, 'g' },
		{ "jail-userns", no_argument, NULL, 'U' },
		{ "seccomp", required_argument, NULL, 's' },
		{ "test-hooks", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_ids = false;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		unsigned long v = 0;

		if (c == 'c' || c == 'i' || c == 'u' || c == 'g') {
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || v > 0x7fffffff) {
				log_warnx("invalid number '%s'", optarg);
				return -EINVAL;
			}
		}
		switch (c) {
		case 'c': d->ctl = v; break;
		case 'i': d->index = v; break;
		case 'u': jo->uid = v; have_ids = true; break;
		case 'g': jo->gid = v; break;
		case 'U': jo->in_userns = true; break;
		case 's':
			if (strcmp(optarg, "kill") == 0)
				jo->seccomp = JAIL_SECCOMP_KILL;
			else if (strcmp(optarg, "log") == 0)
				jo->seccomp = JAIL_SECCOMP_LOG;
			else {
				log_warnx("--seccomp: expected kill or log, got '%s'", optarg);
				return -EINVAL;
			}
			break;
		case 't': d->test_hooks = true; break;
		default:
			usage(argv[0]);
			return -EINVAL;
		}
	}
	if (optind != argc || (!have_ids && !jo->in_userns)) {
		usage(argv[0]);
		return -EINVAL;
	}
	return 0;
}

int daemon_main(int argc, char **argv, const struct daemon_ops *ops)
{
	struct daemon d = { .ops = ops, .ctl = JAIL_CTL_FD };
	struct jail_lockdown_opts jo = { .seccomp = JAIL_SECCOMP_KILL };
	char hostname[64];
	sigset_t sigs;
	int err, status;

	log_init(ops->program);
	if (parse_args(argc, argv, &d, &jo) < 0)
		return 2;
	snprintf(hostname, sizeof(hostname), "%s", ops->program);
	jo.hostname = hostname;
	daemon_set_detail(&d, "starting");

	/* Everything that needs a syscall outside the allow-list happens
	 * before jail_lockdown: the loop, its signalfd. */
	d.loop = evloop_new();
	if (d.loop == NULL)
		fatal("evloop_new");
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	if (evloop_add_signals(d.loop, &sigs, on_signal, &d) < 0)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);

	if (ops->prelock != NULL && (err = ops->prelock(&d)) < 0) {
		log_warnx("cannot prepare: %s", strerror(-err));
		return 1;
	}
	err = jail_lockdown(ops->policy, &jo);
	if (err < 0) {
		log_warnx("cannot lock down: %s", strerror(-err));
		return 1;
	}
	err = evloop_add(d.loop, d.ctl, EPOLLIN, on_ctl, &d);
	if (err == 0)
		err = send_hello(&d);
	if (err < 0) {
		log_warnx("control socket: %s", strerror(-err));
		return 1;
	}
	status = evloop_run(d.loop);
	if (ops->shutdown != NULL)
		ops->shutdown(&d);
	evloop_free(d.loop);
	return status < 0 ? 1 : status;
}

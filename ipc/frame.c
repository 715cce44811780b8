/* Framing and validation of control messages: see ipc.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"


int ipc_bad(char *reason, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (reason != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(reason, len, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

void ipc_msghdr_set_fds(struct msghdr *mh, void *cbuf, const int *fds, size_t nfds)
{
	struct cmsghdr *cm;

	if (nfds == 0)
		return;
	memset(cbuf, 0, CMSG_SPACE(sizeof(int) * nfds));
	mh->msg_control = cbuf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(mh);
	if (cm == NULL)
		return;                   /* cannot happen: controllen >= one header */
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
}

int ipc_send(int sock, ipc_envelope *env, const int *fds, size_t nfds)
{
	uint8_t buf[IPC_MAX_MSG];
	char cbuf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	struct iovec iov;
	struct msghdr mh = { 0 };
	size_t len;
	ssize_t n;

	if (nfds > IPC_MAX_FDS)
		return -EINVAL;
	env->nfds = nfds;
	len = mica__envelope__get_packed_size(env);
	if (len > sizeof(buf))
		return -EMSGSIZE;
	mica__envelope__pack(env, buf);

	iov.iov_base = buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	ipc_msghdr_set_fds(&mh, cbuf, fds, nfds);
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return 0;
}

/* Collect the SCM_RIGHTS fds of a received header into fds[]; anything
 * unexpected in the control data makes the whole datagram bad. */
static int collect_fds(struct msghdr *mh, int *fds, size_t *nfds,
		       char *reason, size_t reason_len)
{
	int err = 0;

	*nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
	     cm = CMSG_NXTHDR(mh, cm)) {
		size_t n, room;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			err = ipc_bad(reason, reason_len,
				  "unexpected control message level %d type %d",
				  cm->cmsg_level, cm->cmsg_type);
			continue;
		}
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		room = IPC_MAX_FDS - *nfds;
		memcpy(fds + *nfds, CMSG_DATA(cm), sizeof(int) * (n < room ? n : room));
		*nfds += n < room ? n : room;
		if (n > room)
			err = ipc_bad(reason, reason_len, "more than %d fds", IPC_MAX_FDS);
	}
	return err;
}

int ipc_recv(int sock, struct ipc_msg *msg, char *reason, size_t reason_len)
{
	uint8_t buf[IPC_MAX_MSG];
	char cbuf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	ssize_t n;
	int err;

	memset(msg, 0, sizeof(*msg));
	for (size_t i = 0; i < IPC_MAX_FDS; i++)
		msg->fds[i] = -1;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -errno;
	if (n == 0)
		return -ECONNRESET;

	err = collect_fds(&mh, msg->fds, &msg->nfds, reason, reason_len);
	if (err == 0 && (mh.msg_flags & MSG_TRUNC))
		err = ipc_bad(reason, reason_len, "datagram longer than %d bytes",
			  IPC_MAX_MSG);
	if (err == 0 && (mh.msg_flags & MSG_CTRUNC))
		err = ipc_bad(reason, reason_len, "control data truncated (too many fds)");
	if (err == 0)
		err = ipc_decode(buf, n, msg->nfds, &msg->env, reason, reason_len);
	if (err < 0)
		ipc_msg_free(msg);
	return err;
}

int ipc_decode(const uint8_t *buf, size_t len, size_t nfds,
	       ipc_envelope **envp, char *reason, size_t reason_len)
{
	ipc_envelope *env;
	int err;

	*envp = NULL;
	if (len > IPC_MAX_MSG)
		return ipc_bad(reason, reason_len, "message of %zu bytes too long", len);
	env = mica__envelope__unpack(NULL, len, buf);
	if (env == NULL)
		return ipc_bad(reason, reason_len,
			   "cannot decode %zu-byte message as mica.Envelope", len);
	err = ipc_validate(env, nfds, reason, reason_len);
	if (err < 0) {
		mica__envelope__free_unpacked(env, NULL);
		return err;
	}
	*envp = env;
	return 0;
}

void ipc_msg_free(struct ipc_msg *msg)
{
	if (msg->env != NULL)
		mica__envelope__free_unpacked(msg->env, NULL);
	msg->env = NULL;
	for (size_t i = 0; i < msg->nfds; i++) {
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
		msg->fds[i] = -1;
	}
	msg->nfds = 0;
}

int ipc_msg_take_fd(struct ipc_msg *msg, size_t i)
{
	int fd;

	if (i >= msg->nfds)
		return -1;
	fd = msg->fds[i];
	msg->fds[i] = -1;
	return fd;
}

int ipc_call(int chan, ipc_envelope *req, int timeout_ms,
	     Mica__Envelope__BodyCase want, struct ipc_msg *reply,
	     char *why, size_t why_len)
{
	return ipc_call_fds(chan, req, NULL, 0, timeout_ms, want, reply, why, why_len);
}

int ipc_call_fds(int chan, ipc_envelope *req, const int *fds, size_t nfds, int timeout_ms,
		 Mica__Envelope__BodyCase want, struct ipc_msg *reply,
		 char *why, size_t why_len)
{
	struct pollfd pfd = { .fd = chan, .events = POLLIN };
	int err;

	err = ipc_send(chan, req, fds, nfds);
	if (err < 0)
		return err;
	if (poll(&pfd, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	err = ipc_recv(chan, reply, why, why_len);
	if (err < 0)
		return err;
	if (reply->env->body_case == want)
		return 0;
	if (reply->env->body_case == MICA__ENVELOPE__BODY_RESULT) {
		snprintf(why, why_len, "%s", reply->env->result->message);
		err = reply->env->result->errno_value ? -reply->env->result->errno_value
						      : -EPROTO;
	} else {
		snprintf(why, why_len, "unexpected answer %s", ipc_body_name(reply->env));
		err = -EBADMSG;
	}
	ipc_msg_free(reply);
	return err;
}

int ipc_send_result(int sock, uint64_t seq, int errno_value, const char *fmt, ...)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__Result res = MICA__RESULT__INIT;
	char text[IPC_MAX_STRING];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	res.errno_value = errno_value;
	res.message = text;
	env.seq = seq;
	env.body_case = MICA__ENVELOPE__BODY_RESULT;
	env.result = &res;
	return ipc_send(sock, &env, NULL, 0);
}

static const char *const role_names[] = {
	[MICA__ROLE__ROLE_UNSPECIFIED] = "unspecified",
	[MICA__ROLE__ROLE_CORE] = "core",
	[MICA__ROLE__ROLE_VCPU] = "vcpu",
	[MICA__ROLE__ROLE_LEGACY] = "legacy",
	[MICA__ROLE__ROLE_BLK] = "blk",
	[MICA__ROLE__ROLE_BLOCKD] = "blockd",
	[MICA__ROLE__ROLE_NET] = "net",
	[MICA__ROLE__ROLE_NETD] = "netd",
	[MICA__ROLE__ROLE_VFIO] = "vfio",
	[MICA__ROLE__ROLE_CLIENT] = "client",
};

const char *ipc_role_name(Mica__Role role)
{
	if ((unsigned)role >= sizeof(role_names) / sizeof(role_names[0]))
		return "invalid";
	return role_names[role];
}

const char *ipc_proc_state_name(Mica__ProcState state)
{
	switch (state) {
	case MICA__PROC_STATE__PROC_STARTING: return "starting";
	case MICA__PROC_STATE__PROC_RUNNING: return "running";
	case MICA__PROC_STATE__PROC_RESTARTING: return "restarting";
	case MICA__PROC_STATE__PROC_EXITED: return "exited";
	case MICA__PROC_STATE__PROC_FAILED: return "failed";
	default: return "unknown";
	}
}

const char *ipc_body_name(const ipc_envelope *env)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field(&mica__envelope__descriptor,
						    env->body_case);
	return f != NULL ? f->name : "none";
}

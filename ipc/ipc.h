/* Mica control-channel framing.
 *
 * One mica.Envelope (ipc/mica.proto) per SOCK_SEQPACKET datagram, with up
 * to IPC_MAX_FDS descriptors attached via SCM_RIGHTS.  ipc_recv() checks the
 * datagram (not truncated, fd count equal to Envelope.nfds, every field in
 * range) before returning it; a caller that gets an error disconnects the
 * peer and logs the reason it was given.
 *
 * All functions return 0 (or a positive count) on success and a negative
 * errno on failure.
 */
#ifndef MICA_IPC_H
#define MICA_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/mica.pb-c.h"

#define IPC_PROTOCOL_VERSION 1
#define IPC_MAX_MSG          65536
#define IPC_MAX_FDS          16
#define IPC_MAX_STRING       256    /* longest string field we accept */
#define IPC_MAX_REPEATED     64     /* longest repeated field we accept */
#define IPC_REASON_MAX       160

/* blockd's mapping service: the largest bounce buffer (one 2 MiB qcow2
 * cluster) and the highest BlockExtent kind (data, zeroes, compressed). */
#define BLOCK_BOUNCE_MAX      (2 << 20)
#define BLOCK_EXTENT_KIND_MAX 2

typedef Mica__Envelope ipc_envelope;

/* A received message and the descriptors that came with it.  The fds are
 * owned by the message until the caller takes one (sets it to -1). */
struct ipc_msg {
	ipc_envelope *env;
	int fds[IPC_MAX_FDS];
	size_t nfds;
};

/* Send one envelope with nfds descriptors; sets env->nfds.  Returns 0, or
 * -EMSGSIZE if it would not fit in one datagram, or the send error. */
int ipc_send(int sock, ipc_envelope *env, const int *fds, size_t nfds);

/* Receive and validate one envelope.  Returns 0 with *msg filled;
 * -ECONNRESET when the peer closed; -EAGAIN when nothing is waiting on a
 * non-blocking socket; -EBADMSG with reason[] set when the datagram is
 * malformed (all fds it carried are already closed). */
int ipc_recv(int sock, struct ipc_msg *msg, char *reason, size_t reason_len);

/* Decode and validate a datagram already in memory (used by ipc_recv and by
 * the fuzzer).  nfds is how many descriptors arrived with it. */
int ipc_decode(const uint8_t *buf, size_t len, size_t nfds,
	       ipc_envelope **envp, char *reason, size_t reason_len);

/* Check every field of a decoded envelope; 0 or -EBADMSG with reason. */
int ipc_validate(const ipc_envelope *env, size_t nfds, char *reason,
		 size_t reason_len);

/* Write a reason and return -EBADMSG (for validators). */
int ipc_bad(char *reason, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Release a message: frees the envelope and closes fds still owned. */
void ipc_msg_free(struct ipc_msg *msg);

/* Take fd i out of msg (the caller now owns it); -1 if out of range. */
int ipc_msg_take_fd(struct ipc_msg *msg, size_t i);

/* Attach nfds descriptors to mh as one SCM_RIGHTS message in cbuf, which
 * must hold CMSG_SPACE(sizeof(int) * nfds) bytes.  Nothing for nfds 0. */
struct msghdr;
void ipc_msghdr_set_fds(struct msghdr *mh, void *cbuf, const int *fds, size_t nfds);

/* A request and its answer on a channel to a provider process: send req,
 * wait up to timeout_ms, receive.  Returns 0 with *reply (a message whose
 * body is `want`; the caller frees it), the provider's refusal as its
 * negative errno with why set to its message, -ETIMEDOUT, -EBADMSG for
 * any other answer (why says which), or the socket error. */
int ipc_call(int chan, ipc_envelope *req, int timeout_ms,
	     Mica__Envelope__BodyCase want, struct ipc_msg *reply,
	     char *why, size_t why_len);
/* The same with descriptors attached to the request. */
int ipc_call_fds(int chan, ipc_envelope *req, const int *fds, size_t nfds, int timeout_ms,
		 Mica__Envelope__BodyCase want, struct ipc_msg *reply,
		 char *why, size_t why_len);

/* Convenience senders. */
int ipc_send_result(int sock, uint64_t seq, int errno_value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

const char *ipc_role_name(Mica__Role role);
const char *ipc_body_name(const ipc_envelope *env);
const char *ipc_proc_state_name(Mica__ProcState state);

#endif

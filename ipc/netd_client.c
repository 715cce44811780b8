#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"
#include "netd_client.h"

int netd_open_tap(int chan, uint32_t index, unsigned queues, int timeout_ms,
		  int *fds, unsigned *nfds, char *ifname, size_t ifname_len,
		  char *why, size_t why_len)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__NetOpen req = MICA__NET_OPEN__INIT;
	struct ipc_msg msg;
	int err;

	req.index = index;
	req.queues = queues;
	env.body_case = MICA__ENVELOPE__BODY_NET_OPEN;
	env.net_open = &req;
	env.seq = index + 1;
	err = ipc_call(chan, &env, timeout_ms, MICA__ENVELOPE__BODY_NET_OPENED, &msg,
		       why, why_len);
	if (err < 0)
		return err;
	if (msg.env->net_opened->index != index || msg.nfds > queues) {
		snprintf(why, why_len, "an answer for NIC %u with %zu fds",
			 msg.env->net_opened->index, msg.nfds);
		err = -EBADMSG;
	} else {
		for (size_t i = 0; i < msg.nfds; i++)
			fds[i] = ipc_msg_take_fd(&msg, i);
		*nfds = msg.nfds;
		snprintf(ifname, ifname_len, "%s", msg.env->net_opened->ifname);
	}
	ipc_msg_free(&msg);
	return err;
}

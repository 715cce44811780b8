/* State shared by the two vhost-user backends (mica-blk, mica-net): the
 * vhost-user socket end towards the runner and the channel towards their
 * provider (mica-blockd, mica-netd).  Both ends can be replaced when the
 * peer process restarts (Attach). */
#ifndef MICA_BACKEND_H
#define MICA_BACKEND_H

#include "daemon.h"

struct backend_ends {
	Mica__FdKind vhost_user_kind; /* FD_VHOST_USER_BLK or FD_VHOST_USER_NET */
	Mica__FdKind provider_kind;   /* FD_BLOCK_CHANNEL or FD_NET_CHANNEL */
	bool provider_optional;       /* user-mode networking has no netd */
	int vhost_user_fd;
	int provider_fd;
};

/* Take both ends from Setup; -EINVAL (logged) when one that is needed is
 * missing. */
int backend_take_ends(struct backend_ends *b, struct daemon *d, struct ipc_msg *msg);

/* Replace one end after a peer restart; closes the old one. */
int backend_attach(struct backend_ends *b, const Mica__FdInfo *info, int fd);

#endif

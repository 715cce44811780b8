#include <errno.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"

int backend_take_ends(struct backend_ends *b, struct daemon *d, struct ipc_msg *msg)
{
	b->vhost_user_fd = daemon_take_fd(msg, b->vhost_user_kind, d->index);
	b->provider_fd = daemon_take_fd(msg, b->provider_kind, d->index);
	if (b->vhost_user_fd < 0 || (b->provider_fd < 0 && !b->provider_optional)) {
		log_warnx("setup lacks the vhost-user socket or the provider channel "
			  "for device %u", d->index);
		return -EINVAL;
	}
	return 0;
}

int backend_attach(struct backend_ends *b, const Mica__FdInfo *info, int fd)
{
	int *slot;

	if (info->kind == b->vhost_user_kind)
		slot = &b->vhost_user_fd;
	else if (info->kind == b->provider_kind)
		slot = &b->provider_fd;
	else {
		close(fd);
		return -EINVAL;
	}
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
	return 0;
}

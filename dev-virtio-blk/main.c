/* mica-blk: the vhost-user-blk backend.
 *
 * It receives the vhost-user socket end the runner will drive and the
 * channel to mica-blockd.  The vhost-user protocol and the virtqueues
 * arrive with the virtio-blk work; until then the status line says so.
 */
#include <errno.h>

#include "backend.h"
#include "log.h"

extern const struct jail_policy blk_policy;

static struct backend_ends ends = {
	.vhost_user_kind = MICA__FD_KIND__FD_VHOST_USER_BLK,
	.provider_kind = MICA__FD_KIND__FD_BLOCK_CHANNEL,
	.vhost_user_fd = -1,
	.provider_fd = -1,
};

static int blk_setup(struct daemon *d, struct ipc_msg *msg)
{
	int err = backend_take_ends(&ends, d, msg);

	if (err == 0)
		daemon_set_detail(d, "virtio-blk device %u: channels attached; "
				  "vhost-user-blk backend not supported yet", d->index);
	return err;
}

static int blk_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	return backend_attach(&ends, info, fd);
}

static const struct daemon_ops blk_ops = {
	.program = "mica-blk",
	.role = MICA__ROLE__ROLE_BLK,
	.policy = &blk_policy,
	.setup = blk_setup,
	.attach = blk_attach,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &blk_ops);
}

/* mica-net: the vhost-user-net backend.
 *
 * It receives the vhost-user socket end the runner will drive and the
 * channel to mica-netd.  The vhost-user protocol and the virtqueues
 * arrive with the virtio-net work; until then the status line says so.
 */
#include <errno.h>

#include "backend.h"
#include "netd_client.h"
#include <string.h>
#include "log.h"

extern const struct jail_policy net_policy;

static struct backend_ends ends = {
	.vhost_user_kind = MICA__FD_KIND__FD_VHOST_USER_NET,
	.provider_kind = MICA__FD_KIND__FD_NET_CHANNEL,
	.vhost_user_fd = -1,
	.provider_fd = -1,
	.provider_optional = true,     /* user-mode NAT needs no netd */
};

static int tap_fds[16];
static unsigned ntap_fds;

/* TAP NICs: ask mica-netd for the host side of our NIC. */
static int net_open_tap(struct daemon *d, char *ifname, size_t len)
{
	char why[160] = "";
	int err = netd_open_tap(ends.provider_fd, d->index, 1, 5000, tap_fds, &ntap_fds,
				ifname, len, why, sizeof(why));

	if (err < 0)
		log_warnx("NIC %u: mica-netd did not open the TAP: %s", d->index,
			  why[0] ? why : strerror(-err));
	return err;
}

static int net_setup(struct daemon *d, struct ipc_msg *msg)
{
	char ifname[32] = "";
	int err = backend_take_ends(&ends, d, msg);

	if (err == 0 && ends.provider_fd >= 0)
		err = net_open_tap(d, ifname, sizeof(ifname));
	if (err == 0 && ntap_fds > 0)
		daemon_set_detail(d, "virtio-net device %u: TAP %s (%u queue) from mica-netd; "
				  "vhost-user-net backend not supported yet", d->index, ifname,
				  ntap_fds);
	else if (err == 0)
		daemon_set_detail(d, "virtio-net device %u: channels attached; "
				  "vhost-user-net backend not supported yet", d->index);
	return err;
}

static int net_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	return backend_attach(&ends, info, fd);
}

static const struct daemon_ops net_ops = {
	.program = "mica-net",
	.role = MICA__ROLE__ROLE_NET,
	.policy = &net_policy,
	.setup = net_setup,
	.attach = net_attach,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &net_ops);
}

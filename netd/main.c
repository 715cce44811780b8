/* mica-netd: host network plumbing (TAP, bridge, macvtap over netlink).
 *
 * The only Mica process that keeps a capability (CAP_NET_ADMIN) and the
 * only one left in the host network namespace; it never sees guest
 * frames.  It accepts only interface names and bridges the manifest
 * listed (sent in Setup).  Creating interfaces arrives with the network
 * work; until then the status line says so.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

extern const struct jail_policy netd_policy;

#define NETD_MAX_NETS 16

/* Channel to each nic's mica-net, by nic index; -1 for user-mode nics,
 * which need no host plumbing. */
static int channels[NETD_MAX_NETS];
static size_t nchannels;

static int netd_setup(struct daemon *d, struct ipc_msg *msg)
{
	const Mica__Setup *s = msg->env->setup;

	if (s->n_nets > NETD_MAX_NETS) {
		log_warnx("%zu nics, at most %d", s->n_nets, NETD_MAX_NETS);
		return -E2BIG;
	}
	for (size_t i = 0; i < NETD_MAX_NETS; i++)
		channels[i] = -1;
	for (size_t i = 0; i < s->n_nets; i++) {
		const Mica__NetConfig *nc = s->nets[i];

		if (strcmp(nc->mode, "user") == 0)
			continue;
		if (nc->index >= NETD_MAX_NETS) {
			log_warnx("nic index %u out of range", nc->index);
			return -EINVAL;
		}
		channels[nc->index] = daemon_take_fd(msg, MICA__FD_KIND__FD_NET_CHANNEL,
						     nc->index);
		if (channels[nc->index] < 0) {
			log_warnx("nic %u (%s): no channel", nc->index, nc->mode);
			return -EINVAL;
		}
		nchannels++;
	}
	daemon_set_detail(d, "%zu nic(s) allowed by the manifest; TAP, bridge and "
			  "macvtap set-up not supported yet", nchannels);
	return 0;
}

static int netd_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	if (info->kind != MICA__FD_KIND__FD_NET_CHANNEL || info->index >= NETD_MAX_NETS ||
	    channels[info->index] < 0) {
		close(fd);
		return -EINVAL;
	}
	close(channels[info->index]);
	channels[info->index] = fd;
	return 0;
}

static const struct daemon_ops netd_ops = {
	.program = "mica-netd",
	.role = MICA__ROLE__ROLE_NETD,
	.policy = &netd_policy,
	.setup = netd_setup,
	.attach = netd_attach,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &netd_ops);
}

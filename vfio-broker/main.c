/* mica-vfio: VFIO passthrough broker.
 *
 * It will open VFIO containers, groups and devices, check that the IOMMU
 * group is viable, and hand the fds to the runner.  Until that work lands
 * it answers every request with "not supported yet" and says so in its
 * status line.
 */
#include "daemon.h"

extern const struct jail_policy vfio_policy;

static int vfio_setup(struct daemon *d, struct ipc_msg *msg)
{
	daemon_set_detail(d, "device passthrough not supported yet");
	return 0;
}

static const struct daemon_ops vfio_ops = {
	.program = "mica-vfio",
	.role = MICA__ROLE__ROLE_VFIO,
	.policy = &vfio_policy,
	.setup = vfio_setup,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &vfio_ops);
}

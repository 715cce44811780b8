/* The one host resource mica opens for mica-netd: macvtap queues.
 *
 * A macvtap's character device /dev/tapIFINDEX is made by the kernel
 * (devtmpfs or udev) root:root 0600.  netd keeps CAP_NET_ADMIN only, not
 * CAP_DAC_OVERRIDE, so it cannot open it; as libvirt does for QEMU, the
 * privileged launcher opens the node and hands the fds over.  netd asks
 * only after it made the macvtap for a macvtap NIC of the manifest, and
 * checks that the fds are its link's (name and MAC) before passing them
 * to mica-net.  We check what we can without netlink: the NIC is a
 * macvtap NIC, the node is a character device that answers TUNGETIFF as
 * a TAP-like queue. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include "log.h"
#include "vm.h"

/* Open one queue of /dev/tapIFINDEX; fd or a negative errno. */
static int open_macvtap_queue(uint32_t ifindex, char *why, size_t len)
{
	char path[32];
	struct ifreq ifr;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/dev/tap%u", ifindex);
	fd = open(path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "open %s: %s", path, strerror(errno));
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || ioctl(fd, TUNGETIFF, &ifr) < 0 ||
	    !(ifr.ifr_flags & IFF_TAP)) {
		snprintf(why, len, "%s is not a macvtap queue device", path);
		close(fd);
		return -ENODEV;
	}
	return fd;
}

void vm_macvtap_open(struct vm_proc *p, const ipc_envelope *env)
{
	const Mica__MacvtapOpen *req = env->macvtap_open;
	const struct vm_config *cfg = p->vm->cfg;
	Mica__Envelope reply = MICA__ENVELOPE__INIT;
	Mica__MacvtapOpened opened = MICA__MACVTAP_OPENED__INIT;
	int fds[16], err = 0;
	char why[160] = "";
	unsigned n = 0;

	if (req->index >= cfg->nnets || strcmp(cfg->nets[req->index].mode, "macvtap") != 0) {
		log_warnx("%s: refused macvtap queues for NIC %u: not a macvtap NIC of "
			  "the manifest", p->name, req->index);
		ipc_send_result(p->ctl, env->seq, EPERM, "NIC %u is not a macvtap NIC",
				req->index);
		return;
	}
	for (; n < req->queues && n < 16; n++) {
		fds[n] = open_macvtap_queue(req->ifindex, why, sizeof(why));
		if (fds[n] < 0) {
			err = fds[n];
			break;
		}
	}
	if (err == 0) {
		opened.index = req->index;
		opened.ifindex = req->ifindex;
		opened.queues = n;
		reply.seq = env->seq;
		reply.body_case = MICA__ENVELOPE__BODY_MACVTAP_OPENED;
		reply.macvtap_opened = &opened;
		err = ipc_send(p->ctl, &reply, fds, n);
		if (err < 0)
			snprintf(why, sizeof(why), "cannot send the fds: %s", strerror(-err));
	}
	if (err < 0) {
		log_warnx("%s: macvtap queues for NIC %u: %s", p->name, req->index, why);
		ipc_send_result(p->ctl, env->seq, -err, "%s", why);
	}
	while (n > 0)
		close(fds[--n]);
}

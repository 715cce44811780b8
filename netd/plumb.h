/* Host network plumbing for mica-netd: TAP, bridge and macvtap.
 *
 * Links are created and changed over rtnetlink (libnl-route-3); TAP queues
 * are opened with the tun ioctls, macvtap queues by opening the link's
 * character device.  Every function returns 0 (or a count/index where it
 * says so) or a negative errno; none of them exits.
 *
 * Ownership.  A context carries a tag ("mica:VMNAME" say).  Everything the
 * context creates gets that tag as its interface alias (IFLA_IFALIAS) and
 * is recorded in the context, so
 *   - plumb_remove_owned() removes exactly what this context created, and
 *     never a link it only opened or attached (a TAP or bridge the host
 *     administrator made beforehand stays);
 *   - plumb_sweep_tag() removes what an earlier, crashed instance with the
 *     same tag left behind: the kernel itself remembers the owner.
 * TAPs this library creates are persistent (TUNSETPERSIST) so that they
 * outlive a crash of mica-net (the VM's NIC keeps its host side and
 * mica-net gets fresh queues), and are removed by the owner explicitly.
 *
 * Paths.  After lockdown netd has an empty root; the context therefore
 * opens "net/tun" and "tapN" beneath a directory fd of /dev taken at
 * plumb_open() time, with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
 * so no request can walk out of /dev.
 */
#ifndef MICA_NETD_PLUMB_H
#define MICA_NETD_PLUMB_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#define PLUMB_MAX_QUEUES 16
#define PLUMB_TAG_MAX 64

/* virtio-net header with VIRTIO_NET_F_MRG_RXBUF or VIRTIO_F_VERSION_1. */
#define PLUMB_VNET_HDR_SIZE 12

struct plumb;

/* Open a context: a connected rtnetlink socket, a directory fd of /dev
 * and (when it can) one of /sys/class/net.  Call it before lockdown: the
 * context needs no path and no new socket afterwards.
 * dev_dirfd: an open directory fd of /dev (the context dup()s it), or -1
 * to open "/dev" now.  tag: owner tag, 1..PLUMB_TAG_MAX-1 printable
 * characters.  -EINVAL bad tag, -ENOMEM, or the errno of socket/open. */
int plumb_open(struct plumb **pp, const char *tag, int dev_dirfd);

/* Free the context.  Removes nothing: call plumb_remove_owned() first if
 * the links should go. */
void plumb_close(struct plumb *p);

const char *plumb_tag(const struct plumb *p);

/* Change the tag (netd may learn the VM's name only after lockdown, when
 * it can no longer open a context).  -EINVAL bad tag, -EBUSY if the
 * context already owns links. */
int plumb_set_tag(struct plumb *p, const char *tag);

/* --- links (by name or ifindex, in the caller's network namespace) --- */

/* ifindex (> 0) of the link called name; -ENODEV if there is none. */
int plumb_link_index(struct plumb *p, const char *name);

/* Link kind ("tun", "bridge", "macvtap", "veth", ... or "" for none) of
 * ifindex, into kind[IFNAMSIZ].  -ENODEV if there is no such link. */
int plumb_link_kind(struct plumb *p, int ifindex, char *kind, size_t size);

/* Administrative state up (true) or down. */
int plumb_link_set_up(struct plumb *p, int ifindex, bool up);

/* MTU, 68..65535 (-EINVAL otherwise; the kernel may refuse within). */
int plumb_link_set_mtu(struct plumb *p, int ifindex, unsigned mtu);

/* Hardware address; must be unicast (-EINVAL for multicast or zero). */
int plumb_link_set_mac(struct plumb *p, int ifindex, const uint8_t mac[6]);

/* Delete a link.  Refuses (-EPERM) a link this context does not own, or
 * one whose alias no longer carries our tag (it is then forgotten),
 * unless force is set (used by tests and by plumb_sweep_tag). */
int plumb_link_delete(struct plumb *p, int ifindex, bool force);

/* True if ifindex is recorded as created by this context. */
bool plumb_owns(const struct plumb *p, int ifindex);

/* Remove every link this context created, newest first (macvtaps and
 * TAPs before the bridges they hang on).  A link whose alias no longer
 * carries our tag (renamed, replaced, re-used ifindex) is left alone and
 * forgotten.  Returns the number removed, or the first negative errno
 * (after trying every link). */
int plumb_remove_owned(struct plumb *p);

/* Remove every link in the namespace whose alias is exactly this
 * context's tag: leftovers of a VM whose processes all died (a fresh
 * `mica run` of the same name).  Returns the number removed or a negative
 * errno.  At most 256 links per call. */
int plumb_sweep_tag(struct plumb *p);

/* Record every link whose alias is this context's tag as owned, without
 * touching it: a netd restarted under a running VM takes over what its
 * predecessor made (mica-net still uses those TAPs), to remove it when the
 * VM stops.  Returns the number adopted or a negative errno. */
int plumb_adopt_tag(struct plumb *p);

/* --- bridges --- */

/* Create a bridge called name, owned by this context; -EEXIST if a link
 * with that name exists.  *ifindex gets its index (may be NULL). */
int plumb_bridge_create(struct plumb *p, const char *name, int *ifindex);

/* Make ifindex a port of the bridge called bridge.  -ENODEV if there is
 * no such link, -ENOTTY if it is not a bridge. */
int plumb_bridge_attach(struct plumb *p, int ifindex, const char *bridge);

/* --- TAP --- */

struct plumb_tap_result {
	int ifindex;
	bool created;      /* true: made by us (persistent, tagged, owned) */
	unsigned nqueues;  /* fds filled */
};

/* Open TAP ifname with nqueues queues (1..PLUMB_MAX_QUEUES; more than one
 * uses IFF_MULTI_QUEUE), IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, the vnet header
 * size PLUMB_VNET_HDR_SIZE, fds non-blocking and close-on-exec.  The TAP
 * is created if it does not exist (IFF_TUN_EXCL tells us reliably which
 * case it was); an existing one is attached only when may_attach is set
 * (-EEXIST otherwise).  An existing TUN (not TAP) device, or one with a
 * different multi-queue setting, gives -EINVAL.  On failure no fd stays
 * open and a TAP created by the call is removed. */
int plumb_tap_open(struct plumb *p, const char *ifname, unsigned nqueues,
		   bool may_attach, int *fds, struct plumb_tap_result *res);

/* TUNSETVNETHDRSZ: 10 or 12 (virtio-net header without or with
 * num_buffers). */
int plumb_tap_set_vnet_hdr_size(int fd, int size);

/* TUNSETOFFLOAD with TUN_F_* bits (linux/if_tun.h). */
int plumb_tap_set_offload(int fd, unsigned tun_flags);

/* --- macvtap --- */

/* Create a macvtap in bridge mode on the link called parent, named name
 * (or a kernel-chosen "macvtapN" when name is NULL), with mac unless NULL,
 * owned by this context.  *ifindex gets its index. */
int plumb_macvtap_create(struct plumb *p, const char *parent, const char *name,
			 const uint8_t *mac, int *ifindex);

/* Open nqueues queues (1..PLUMB_MAX_QUEUES) of macvtap ifindex, with
 * IFF_VNET_HDR, header size PLUMB_VNET_HDR_SIZE, non-blocking.  Opens
 * /dev/tapIFINDEX (udev or devtmpfs made it) and checks with TUNGETIFF and
 * SIOCGIFHWADDR that the node belongs to this link (devtmpfs has one /dev
 * for every network namespace).  When there is no such node, or it is
 * somebody else's, makes one with mknodat() in node_dirfd (a private
 * writable directory; needs CAP_MKNOD; -1: no fallback) from the device
 * number sysfs shows in /sys/class/net/NAME/macvtap/tapN/dev, read through
 * the /sys/class/net fd plumb_open() took.  -ENOTTY: not a macvtap;
 * -ENOENT: no node and no fallback; -ESTALE: a wrong node, no fallback. */
int plumb_macvtap_open(struct plumb *p, int ifindex, unsigned nqueues,
		       int node_dirfd, int *fds);

/* Check that fds[0..n) (opened elsewhere: mica opens /dev/tapIFINDEX
 * for netd, which may not) are queues of macvtap ifindex, by name and
 * MAC, and set each up as plumb_macvtap_open does (IFF_VNET_HDR, header
 * size PLUMB_VNET_HDR_SIZE).  -ENOTTY: not a macvtap; -ESTALE: an fd is
 * another link's (devtmpfs has one /dev for all network namespaces, and
 * ifindexes repeat across them).  The fds stay the caller's. */
int plumb_macvtap_check_fds(struct plumb *p, int ifindex, const int *fds, unsigned n);

/* --- utilities --- */

/* True if name is a usable interface name (1..IFNAMSIZ-1 bytes, not "."
 * or "..", no '/', ':' or white space). */
bool plumb_valid_ifname(const char *name);

#endif

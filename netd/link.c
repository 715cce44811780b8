/* Link attributes, bridges and macvtap creation over rtnetlink. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_link.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/macvtap.h>

#include "log.h"
#include "plumb-int.h"

int plumb_link_index(struct plumb *p, const char *name)
{
	struct rtnl_link *link;
	int err, ifindex;

	if (!plumb_valid_ifname(name))
		return -EINVAL;
	err = plumb_link_get(p, 0, name, &link);
	if (err < 0)
		return err;
	ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return ifindex;
}

int plumb_link_kind(struct plumb *p, int ifindex, char *kind, size_t size)
{
	struct rtnl_link *link;
	const char *type;
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	err = plumb_link_get(p, ifindex, NULL, &link);
	if (err < 0)
		return err;
	type = rtnl_link_get_type(link);
	snprintf(kind, size, "%s", type ? type : "");
	rtnl_link_put(link);
	return 0;
}

/* Apply the attributes set in change to link ifindex. */
static int link_change(struct plumb *p, int ifindex, struct rtnl_link *change)
{
	struct rtnl_link *orig;
	int err;

	err = plumb_link_get(p, ifindex, NULL, &orig);
	if (err < 0)
		return err;
	err = plumb_nlerr(rtnl_link_change(p->sk, orig, change, 0));
	rtnl_link_put(orig);
	return err;
}

int plumb_link_set_up(struct plumb *p, int ifindex, bool up)
{
	struct rtnl_link *change;
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	change = rtnl_link_alloc();
	if (!change)
		return -ENOMEM;
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
	err = link_change(p, ifindex, change);
	rtnl_link_put(change);
	return err;
}

int plumb_link_set_mtu(struct plumb *p, int ifindex, unsigned mtu)
{
	struct rtnl_link *change;
	int err;

	if (ifindex <= 0 || mtu < 68 || mtu > 65535)
		return -EINVAL;
	change = rtnl_link_alloc();
	if (!change)
		return -ENOMEM;
	rtnl_link_set_mtu(change, mtu);
	err = link_change(p, ifindex, change);
	rtnl_link_put(change);
	return err;
}

static bool valid_unicast_mac(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

/* Put mac into link as its hardware address. */
static int link_put_mac(struct rtnl_link *link, const uint8_t mac[6])
{
	struct nl_addr *addr = nl_addr_build(AF_LLC, mac, 6);

	if (!addr)
		return -ENOMEM;
	rtnl_link_set_addr(link, addr);
	nl_addr_put(addr);
	return 0;
}

int plumb_link_set_mac(struct plumb *p, int ifindex, const uint8_t mac[6])
{
	struct rtnl_link *change;
	int err;

	if (ifindex <= 0 || !valid_unicast_mac(mac))
		return -EINVAL;
	change = rtnl_link_alloc();
	if (!change)
		return -ENOMEM;
	err = link_put_mac(change, mac);
	if (err == 0)
		err = link_change(p, ifindex, change);
	rtnl_link_put(change);
	return err;
}

/* Send a prepared RTM_NEWLINK (create, fail if it exists), then claim
 * the new link.  Removes it again if it cannot be claimed. */
static int link_create_claim(struct plumb *p, struct rtnl_link *link,
			     const char *name, const char *kind, int *ifindex)
{
	int err, index;

	err = plumb_nlerr(rtnl_link_add(p->sk, link, NLM_F_CREATE | NLM_F_EXCL));
	if (err < 0)
		return err;
	index = plumb_link_index(p, name);
	if (index < 0)
		return index;
	err = plumb_claim(p, index, name, kind);
	if (err < 0) {
		plumb_link_delete(p, index, true);
		return err;
	}
	if (ifindex)
		*ifindex = index;
	return 0;
}

int plumb_bridge_create(struct plumb *p, const char *name, int *ifindex)
{
	struct rtnl_link *link;
	int err;

	if (!plumb_valid_ifname(name))
		return -EINVAL;
	link = rtnl_link_bridge_alloc();
	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, name);
	err = link_create_claim(p, link, name, "bridge", ifindex);
	rtnl_link_put(link);
	return err;
}

int plumb_bridge_attach(struct plumb *p, int ifindex, const char *bridge)
{
	struct rtnl_link *master;
	const char *type;
	int err, master_index;

	if (ifindex <= 0 || !plumb_valid_ifname(bridge))
		return -EINVAL;
	err = plumb_link_get(p, 0, bridge, &master);
	if (err < 0)
		return err;
	type = rtnl_link_get_type(master);
	if (!type || strcmp(type, "bridge") != 0) {
		log_warnx("%s is a %s link, not a bridge", bridge,
			  type ? type : "plain");
		rtnl_link_put(master);
		return -ENOTTY;
	}
	master_index = rtnl_link_get_ifindex(master);
	rtnl_link_put(master);
	return plumb_nlerr(rtnl_link_enslave_ifindex(p->sk, master_index, ifindex));
}

int plumb_macvtap_create(struct plumb *p, const char *parent, const char *name,
			 const uint8_t *mac, int *ifindex)
{
	char auto_name[IFNAMSIZ];
	struct rtnl_link *link;
	int err, parent_index;

	if ((name && !plumb_valid_ifname(name)) || (mac && !valid_unicast_mac(mac)))
		return -EINVAL;
	parent_index = plumb_link_index(p, parent);
	if (parent_index < 0)
		return parent_index;
	link = rtnl_link_macvtap_alloc();
	if (!link)
		return -ENOMEM;
	rtnl_link_set_link(link, parent_index);
	err = plumb_nlerr(rtnl_link_macvtap_set_mode(link, MACVLAN_MODE_BRIDGE));
	if (err == 0 && mac)
		err = link_put_mac(link, mac);
	if (err < 0)
		goto out;
	if (name) {
		rtnl_link_set_name(link, name);
		err = link_create_claim(p, link, name, "macvtap", ifindex);
		goto out;
	}
	/* Choose the name ourselves so we know which link is ours. */
	err = -EEXIST;
	for (unsigned i = 0; i < 1000 && err == -EEXIST; i++) {
		snprintf(auto_name, sizeof(auto_name), "micavt%u", i);
		rtnl_link_set_name(link, auto_name);
		err = link_create_claim(p, link, auto_name, "macvtap", ifindex);
	}
out:
	rtnl_link_put(link);
	return err;
}

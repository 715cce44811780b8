/* What the manifest lets mica-netd do: one rule per TAP or macvtap NIC.
 *
 * netd builds the list from Setup before it reads any request, and checks
 * every request against it.  A refusal is logged with its reason and
 * returned as -EPERM; the reason is also written to the caller's buffer
 * so it can go back in the Result.
 */
#ifndef MICA_NETD_ALLOW_H
#define MICA_NETD_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>

#define NET_ALLOW_MAX 16

enum net_allow_mode {
	NET_ALLOW_TAP = 1,	/* a TAP, optionally attached to a bridge */
	NET_ALLOW_MACVTAP,	/* a macvtap on a parent link */
};

struct net_allow_rule {
	unsigned index;			/* NIC number in the manifest */
	enum net_allow_mode mode;
	char ifname[IFNAMSIZ];		/* TAP name; macvtap: name or "" (any) */
	char bridge[IFNAMSIZ];		/* TAP: bridge to join, "" for none */
	char parent[IFNAMSIZ];		/* macvtap: parent link */
};

struct net_allow {
	struct net_allow_rule rules[NET_ALLOW_MAX];
	size_t n;
};

/* One request from netd's peer, to be checked. */
struct net_request {
	unsigned index;
	enum net_allow_mode mode;
	const char *ifname;		/* NULL or "" means none */
	const char *bridge;
	const char *parent;
};

void net_allow_init(struct net_allow *a);

/* Add the rule for NIC index from the manifest's strings (mode "tap",
 * "bridge" (a TAP that must have a bridge) or "macvtap"; "user" needs no
 * rule and is ignored).  A TAP needs an ifname: when the manifest gave
 * none, netd generates one first.  Returns 0, -EINVAL (bad mode, name or
 * missing field), -EEXIST (index or interface name already used by
 * another rule, or a name used as both TAP and bridge/parent), -E2BIG. */
int net_allow_add(struct net_allow *a, unsigned index, const char *mode,
		  const char *ifname, const char *bridge, const char *parent);

/* The rule for NIC index, or NULL. */
const struct net_allow_rule *net_allow_find(const struct net_allow *a,
					    unsigned index);

/* 0 if the request matches its NIC's rule exactly; otherwise -EPERM, the
 * reason logged and copied into why (may be NULL). */
int net_allow_check(const struct net_allow *a, const struct net_request *req,
		    char *why, size_t why_size);

#endif

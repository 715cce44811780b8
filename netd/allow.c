/* The manifest's NIC rules and the check every netd request goes through. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "allow.h"
#include "log.h"
#include "plumb.h"

void net_allow_init(struct net_allow *a)
{
	memset(a, 0, sizeof(*a));
}

static bool empty(const char *s)
{
	return !s || !*s;
}

/* Is name used by any rule, in any role? */
static bool name_in_use(const struct net_allow *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct net_allow_rule *r = &a->rules[i];

		if (!strcmp(r->ifname, name) || !strcmp(r->bridge, name) ||
		    !strcmp(r->parent, name))
			return true;
	}
	return false;
}

static int check_name(const char *what, const char *name, unsigned index)
{
	if (plumb_valid_ifname(name))
		return 0;
	log_warnx("nic %u: %s \"%.32s\" is not a valid interface name", index,
		  what, name ? name : "");
	return -EINVAL;
}

int net_allow_add(struct net_allow *a, unsigned index, const char *mode,
		  const char *ifname, const char *bridge, const char *parent)
{
	struct net_allow_rule r;

	memset(&r, 0, sizeof(r));
	r.index = index;
	if (!mode)
		return -EINVAL;
	if (!strcmp(mode, "user"))
		return 0;
	if (!strcmp(mode, "tap") || !strcmp(mode, "bridge")) {
		r.mode = NET_ALLOW_TAP;
		if (check_name("ifname", ifname, index) < 0)
			return -EINVAL;
		if (!strcmp(mode, "bridge") && empty(bridge)) {
			log_warnx("nic %u: mode bridge without a bridge", index);
			return -EINVAL;
		}
		if (!empty(bridge) && check_name("bridge", bridge, index) < 0)
			return -EINVAL;
		if (!empty(parent)) {
			log_warnx("nic %u: a tap has no parent", index);
			return -EINVAL;
		}
		if (!empty(bridge) && !strcmp(bridge, ifname)) {
			log_warnx("nic %u: %s cannot be its own bridge", index, ifname);
			return -EINVAL;
		}
	} else if (!strcmp(mode, "macvtap")) {
		r.mode = NET_ALLOW_MACVTAP;
		if (check_name("parent", parent, index) < 0)
			return -EINVAL;
		if (!empty(ifname) && check_name("ifname", ifname, index) < 0)
			return -EINVAL;
		if (!empty(bridge)) {
			log_warnx("nic %u: a macvtap has no bridge", index);
			return -EINVAL;
		}
	} else {
		log_warnx("nic %u: mode \"%.16s\" needs no host plumbing or is unknown",
			  index, mode);
		return -EINVAL;
	}
	if (a->n == NET_ALLOW_MAX)
		return -E2BIG;
	if (net_allow_find(a, index)) {
		log_warnx("nic %u listed twice", index);
		return -EEXIST;
	}
	/* The interface a NIC owns must not double as another NIC's
	 * interface, bridge or parent: netd would hand one NIC's device to
	 * another, or remove a link a second NIC hangs on. */
	if (!empty(ifname) && name_in_use(a, ifname)) {
		log_warnx("nic %u: %s is already used by another nic", index, ifname);
		return -EEXIST;
	}
	for (size_t i = 0; i < a->n; i++) {
		const char *own = a->rules[i].ifname;

		if (*own && ((!empty(bridge) && !strcmp(own, bridge)) ||
			     (!empty(parent) && !strcmp(own, parent)))) {
			log_warnx("nic %u: %s is nic %u's own interface", index, own,
				  a->rules[i].index);
			return -EEXIST;
		}
	}
	snprintf(r.ifname, sizeof(r.ifname), "%s", empty(ifname) ? "" : ifname);
	snprintf(r.bridge, sizeof(r.bridge), "%s", empty(bridge) ? "" : bridge);
	snprintf(r.parent, sizeof(r.parent), "%s", empty(parent) ? "" : parent);
	a->rules[a->n++] = r;
	return 0;
}

const struct net_allow_rule *net_allow_find(const struct net_allow *a,
					    unsigned index)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->rules[i].index == index)
			return &a->rules[i];
	return NULL;
}

static int refuse(char *why, size_t why_size, unsigned index, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int refuse(char *why, size_t why_size, unsigned index, const char *fmt, ...)
{
	char reason[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_msg("net_allow_check", 0, "refused request for nic %u: %s", index, reason);
	if (why && why_size)
		snprintf(why, why_size, "%s", reason);
	return -EPERM;
}

/* The requested name must equal the allowed one ("" allows none, unless
 * any_ok, when the rule left it to netd). */
static bool same_name(const char *allowed, const char *requested, bool any_ok)
{
	if (empty(requested))
		return !*allowed || any_ok;
	if (!*allowed)
		return any_ok && plumb_valid_ifname(requested);
	return strcmp(allowed, requested) == 0;
}

int net_allow_check(const struct net_allow *a, const struct net_request *req,
		    char *why, size_t why_size)
{
	const struct net_allow_rule *r = net_allow_find(a, req->index);

	if (!r)
		return refuse(why, why_size, req->index,
			      "the manifest lists no tap or macvtap nic %u", req->index);
	if (req->mode != r->mode)
		return refuse(why, why_size, req->index, "nic %u is a %s, not a %s",
			      req->index, r->mode == NET_ALLOW_TAP ? "tap" : "macvtap",
			      req->mode == NET_ALLOW_TAP ? "tap" : "macvtap");
	if (r->mode == NET_ALLOW_TAP) {
		if (!same_name(r->ifname, req->ifname, false))
			return refuse(why, why_size, req->index,
				      "interface \"%.16s\" is not the manifest's %s",
				      empty(req->ifname) ? "" : req->ifname, r->ifname);
		if (!same_name(r->bridge, req->bridge, false))
			return refuse(why, why_size, req->index,
				      "bridge \"%.16s\" is not allowed (manifest: %s)",
				      empty(req->bridge) ? "" : req->bridge,
				      *r->bridge ? r->bridge : "no bridge");
		if (!empty(req->parent))
			return refuse(why, why_size, req->index, "a tap has no parent");
		return 0;
	}
	if (!same_name(r->parent, req->parent, false))
		return refuse(why, why_size, req->index,
			      "parent \"%.16s\" is not the manifest's %s",
			      empty(req->parent) ? "" : req->parent, r->parent);
	if (!same_name(r->ifname, req->ifname, true))
		return refuse(why, why_size, req->index,
			      "macvtap name \"%.16s\" is not the manifest's %s",
			      req->ifname, r->ifname);
	if (!empty(req->bridge))
		return refuse(why, why_size, req->index, "a macvtap has no bridge");
	return 0;
}

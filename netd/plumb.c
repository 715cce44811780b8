/* Plumbing context: the rtnetlink socket, the /dev directory fd, and the
 * record of what this context created (see plumb.h on ownership). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "log.h"
#include "plumb-int.h"

int plumb_nlerr(int nlerr)
{
	static const struct { int nle, err; } map[] = {
		{ NLE_INTR, EINTR },		{ NLE_BAD_SOCK, EBADF },
		{ NLE_AGAIN, EAGAIN },		{ NLE_NOMEM, ENOMEM },
		{ NLE_EXIST, EEXIST },		{ NLE_INVAL, EINVAL },
		{ NLE_RANGE, ERANGE },		{ NLE_MSGSIZE, EMSGSIZE },
		{ NLE_OPNOTSUPP, EOPNOTSUPP },	{ NLE_AF_NOSUPPORT, EAFNOSUPPORT },
		{ NLE_OBJ_NOTFOUND, ENODEV },	{ NLE_NOATTR, EINVAL },
		{ NLE_MISSING_ATTR, EINVAL },	{ NLE_AF_MISMATCH, EAFNOSUPPORT },
		{ NLE_SEQ_MISMATCH, EPROTO },	{ NLE_MSG_OVERFLOW, EMSGSIZE },
		{ NLE_MSG_TRUNC, EMSGSIZE },	{ NLE_NOADDR, EADDRNOTAVAIL },
		{ NLE_SRCRT_NOSUPPORT, EOPNOTSUPP }, { NLE_MSG_TOOSHORT, EPROTO },
		{ NLE_MSGTYPE_NOSUPPORT, EOPNOTSUPP }, { NLE_OBJ_MISMATCH, EINVAL },
		{ NLE_NOCACHE, ENOENT },	{ NLE_BUSY, EBUSY },
		{ NLE_PROTO_MISMATCH, EPROTONOSUPPORT }, { NLE_NOACCESS, EACCES },
		{ NLE_PERM, EPERM },		{ NLE_PKTLOC_FILE, ENOENT },
		{ NLE_PARSE_ERR, EPROTO },	{ NLE_NODEV, ENODEV },
		{ NLE_IMMUTABLE, EPERM },	{ NLE_DUMP_INTR, EINTR },
		{ NLE_ATTRSIZE, EINVAL },
	};
	int nle = nlerr < 0 ? -nlerr : nlerr;

	if (nle == 0)
		return 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].nle == nle)
			return -map[i].err;
	return -EIO;
}

int plumb_open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		if (path[0] == '/' || strstr(path, ".."))
			return -EXDEV;
		fd = openat(dirfd, path, flags | O_CLOEXEC | O_NOFOLLOW);
	}
	return fd < 0 ? -errno : fd;
}

static bool valid_tag(const char *tag)
{
	size_t n = tag ? strlen(tag) : 0;

	if (n == 0 || n >= PLUMB_TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tag[i] <= ' ' || tag[i] > '~')
			return false;
	return true;
}

int plumb_open(struct plumb **pp, const char *tag, int dev_dirfd)
{
	struct plumb *p;
	int err;

	*pp = NULL;
	if (!valid_tag(tag))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	strcpy(p->tag, tag);
	p->sysnet_dirfd = -1;
	if (dev_dirfd >= 0)
		p->dev_dirfd = fcntl(dev_dirfd, F_DUPFD_CLOEXEC, 3);
	else
		p->dev_dirfd = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dev_dirfd < 0) {
		err = -errno;
		log_warn("/dev");
		goto fail;
	}
	/* Only for the macvtap mknod fallback; its absence is not an error. */
	p->sysnet_dirfd = open("/sys/class/net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	p->sk = nl_socket_alloc();
	if (!p->sk) {
		err = -ENOMEM;
		goto fail;
	}
	err = nl_connect(p->sk, NETLINK_ROUTE);
	if (err < 0) {
		err = plumb_nlerr(err);
		log_warnx("rtnetlink: %s", strerror(-err));
		goto fail;
	}
	*pp = p;
	return 0;
fail:
	plumb_close(p);
	return err;
}

void plumb_close(struct plumb *p)
{
	if (!p)
		return;
	if (p->sk)
		nl_socket_free(p->sk);
	if (p->dev_dirfd >= 0)
		close(p->dev_dirfd);
	if (p->sysnet_dirfd >= 0)
		close(p->sysnet_dirfd);
	free(p->owned);
	free(p);
}

const char *plumb_tag(const struct plumb *p)
{
	return p->tag;
}

bool plumb_valid_ifname(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

int plumb_link_get(struct plumb *p, int ifindex, const char *name,
		   struct rtnl_link **link)
{
	int err;

	*link = NULL;
	if (ifindex <= 0 && !plumb_valid_ifname(name))
		return ifindex < 0 ? -EINVAL : -ENODEV;
	err = rtnl_link_get_kernel(p->sk, ifindex > 0 ? ifindex : 0,
				   ifindex > 0 ? NULL : name, link);
	if (err < 0) {
		err = plumb_nlerr(err);
		/* The kernel answers ENODEV; libnl passes it on as
		 * NLE_OBJ_NOTFOUND or NLE_NODEV depending on the path. */
		return err == -ENOENT ? -ENODEV : err;
	}
	return 0;
}

bool plumb_owns(const struct plumb *p, int ifindex)
{
	for (size_t i = 0; i < p->nowned; i++)
		if (p->owned[i].ifindex == ifindex)
			return true;
	return false;
}

void plumb_forget(struct plumb *p, int ifindex)
{
	for (size_t i = 0; i < p->nowned; i++) {
		if (p->owned[i].ifindex != ifindex)
			continue;
		memmove(&p->owned[i], &p->owned[i + 1],
			(p->nowned - i - 1) * sizeof(p->owned[0]));
		p->nowned--;
		return;
	}
}

static int set_alias(struct plumb *p, int ifindex, const char *alias)
{
	struct rtnl_link *orig, *change;
	int err;

	err = plumb_link_get(p, ifindex, NULL, &orig);
	if (err < 0)
		return err;
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(orig);
		return -ENOMEM;
	}
	rtnl_link_set_ifalias(change, alias);
	err = plumb_nlerr(rtnl_link_change(p->sk, orig, change, 0));
	rtnl_link_put(change);
	rtnl_link_put(orig);
	return err;
}

int plumb_claim(struct plumb *p, int ifindex, const char *name, const char *kind)
{
	struct plumb_owned *o;
	int err;

	if (p->nowned == p->owned_cap) {
		size_t cap = p->owned_cap ? 2 * p->owned_cap : 8;

		o = realloc(p->owned, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		p->owned = o;
		p->owned_cap = cap;
	}
	err = set_alias(p, ifindex, p->tag);
	if (err < 0) {
		log_warnx("%s: cannot set alias: %s", name, strerror(-err));
		return err;
	}
	o = &p->owned[p->nowned++];
	memset(o, 0, sizeof(*o));
	o->ifindex = ifindex;
	snprintf(o->name, sizeof(o->name), "%s", name);
	snprintf(o->kind, sizeof(o->kind), "%s", kind);
	return 0;
}

static int delete_ifindex(struct plumb *p, int ifindex)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int err;

	if (!link)
		return -ENOMEM;
	rtnl_link_set_ifindex(link, ifindex);
	err = plumb_nlerr(rtnl_link_delete(p->sk, link));
	rtnl_link_put(link);
	return err;
}

int plumb_link_delete(struct plumb *p, int ifindex, bool force)
{
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	if (!force && !plumb_owns(p, ifindex))
		return -EPERM;
	err = delete_ifindex(p, ifindex);
	if (err == 0 || err == -ENODEV)
		plumb_forget(p, ifindex);
	return err;
}

/* Is ifindex still the link we made: does it carry our alias? */
static int still_ours(struct plumb *p, const struct plumb_owned *o)
{
	struct rtnl_link *link;
	const char *alias;
	int err, ours;

	err = plumb_link_get(p, o->ifindex, NULL, &link);
	if (err < 0)
		return err;
	alias = rtnl_link_get_ifalias(link);
	ours = alias && strcmp(alias, p->tag) == 0;
	rtnl_link_put(link);
	return ours;
}

int plumb_remove_owned(struct plumb *p)
{
	int removed = 0, first_err = 0;

	while (p->nowned > 0) {
		struct plumb_owned o = p->owned[p->nowned - 1];
		int err = still_ours(p, &o);

		p->nowned--;
		if (err == -ENODEV)
			continue;	/* already gone */
		if (err == 0) {
			log_warnx("%s (%s, ifindex %d) no longer carries alias %s; "
				  "left alone", o.name, o.kind, o.ifindex, p->tag);
			continue;
		}
		if (err > 0)
			err = delete_ifindex(p, o.ifindex);
		if (err == 0) {
			removed++;
		} else if (err != -ENODEV) {
			errno = -err;
			log_warn("%s (%s, ifindex %d)", o.name, o.kind, o.ifindex);
			if (!first_err)
				first_err = err;
		}
	}
	return first_err ? first_err : removed;
}

struct sweep {
	struct plumb *p;
	int ifindex[256];
	size_t n;
};

static void sweep_collect(struct nl_object *obj, void *arg)
{
	struct sweep *s = arg;
	struct rtnl_link *link = (struct rtnl_link *)obj;
	const char *alias = rtnl_link_get_ifalias(link);

	if (alias && strcmp(alias, s->p->tag) == 0 &&
	    s->n < sizeof(s->ifindex) / sizeof(s->ifindex[0]))
		s->ifindex[s->n++] = rtnl_link_get_ifindex(link);
}

int plumb_sweep_tag(struct plumb *p)
{
	struct nl_cache *cache;
	struct sweep *s;
	int err, removed = 0;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->p = p;
	err = rtnl_link_alloc_cache(p->sk, AF_UNSPEC, &cache);
	if (err < 0) {
		free(s);
		return plumb_nlerr(err);
	}
	nl_cache_foreach(cache, sweep_collect, s);
	nl_cache_free(cache);
	for (size_t i = 0; i < s->n; i++) {
		err = plumb_link_delete(p, s->ifindex[i], true);
		if (err == 0)
			removed++;
		else if (err != -ENODEV)
			log_warnx("ifindex %d: %s", s->ifindex[i], strerror(-err));
	}
	free(s);
	return removed;
}

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

static const struct plumb_owned *owned_find(const struct plumb *p, int ifindex)
{
	for (size_t i = 0; i < p->nowned; i++)
		if (p->owned[i].ifindex == ifindex)
			return &p->owned[i];
	return NULL;
}

bool plumb_owns(const struct plumb *p, int ifindex)
{
	return owned_find(p, ifindex) != NULL;
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

/* Add ifindex to the record of links we own. */
static int owned_record(struct plumb *p, int ifindex, const char *name,
			const char *kind)
{
	struct plumb_owned *o;

	if (plumb_owns(p, ifindex))
		return 0;
	if (p->nowned == p->owned_cap) {
		size_t cap = p->owned_cap ? 2 * p->owned_cap : 8;

		o = realloc(p->owned, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		p->owned = o;
		p->owned_cap = cap;
	}
	o = &p->owned[p->nowned++];
	memset(o, 0, sizeof(*o));
	o->ifindex = ifindex;
	snprintf(o->name, sizeof(o->name), "%s", name ? name : "");
	snprintf(o->kind, sizeof(o->kind), "%s", kind ? kind : "");
	return 0;
}

int plumb_claim(struct plumb *p, int ifindex, const char *name, const char *kind)
{
	int err;

	err = set_alias(p, ifindex, p->tag);
	if (err < 0) {
		log_warnx("%s: cannot set alias: %s", name, strerror(-err));
		return err;
	}
	return owned_record(p, ifindex, name, kind);
}

int plumb_set_tag(struct plumb *p, const char *tag)
{
	if (!valid_tag(tag))
		return -EINVAL;
	if (p->nowned > 0)
		return -EBUSY;
	strcpy(p->tag, tag);
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

int plumb_link_delete(struct plumb *p, int ifindex, bool force)
{
	int err;

	if (ifindex <= 0)
		return -EINVAL;
	if (!force) {
		const struct plumb_owned *o = owned_find(p, ifindex);

		if (!o)
			return -EPERM;
		err = still_ours(p, o);
		if (err <= 0) {
			/* gone (-ENODEV), or no longer ours (0): forget it */
			plumb_forget(p, ifindex);
			return err == 0 ? -EPERM : err;
		}
	}
	err = delete_ifindex(p, ifindex);
	if (err == 0 || err == -ENODEV)
		plumb_forget(p, ifindex);
	return err;
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

/* The links whose alias is our tag. */
struct tagged {
	struct plumb *p;
	size_t n;
	struct plumb_owned link[256];
};

static void tagged_collect(struct nl_object *obj, void *arg)
{
	struct tagged *t = arg;
	struct rtnl_link *link = (struct rtnl_link *)obj;
	const char *alias = rtnl_link_get_ifalias(link);
	const char *kind = rtnl_link_get_type(link);
	struct plumb_owned *o;

	if (!alias || strcmp(alias, t->p->tag) != 0 ||
	    t->n == sizeof(t->link) / sizeof(t->link[0]))
		return;
	o = &t->link[t->n++];
	o->ifindex = rtnl_link_get_ifindex(link);
	snprintf(o->name, sizeof(o->name), "%s", rtnl_link_get_name(link));
	snprintf(o->kind, sizeof(o->kind), "%s", kind ? kind : "");
}

static int tagged_find(struct plumb *p, struct tagged **tp)
{
	struct nl_cache *cache;
	struct tagged *t;
	int err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->p = p;
	err = rtnl_link_alloc_cache(p->sk, AF_UNSPEC, &cache);
	if (err < 0) {
		free(t);
		return plumb_nlerr(err);
	}
	nl_cache_foreach(cache, tagged_collect, t);
	nl_cache_free(cache);
	*tp = t;
	return 0;
}

int plumb_sweep_tag(struct plumb *p)
{
	struct tagged *t;
	int err, removed = 0;

	err = tagged_find(p, &t);
	if (err < 0)
		return err;
	for (size_t i = 0; i < t->n; i++) {
		err = plumb_link_delete(p, t->link[i].ifindex, true);
		if (err == 0)
			removed++;
		else if (err != -ENODEV)
			log_warnx("%s (%s): %s", t->link[i].name, t->link[i].kind,
				  strerror(-err));
	}
	free(t);
	return removed;
}

int plumb_adopt_tag(struct plumb *p)
{
	struct tagged *t;
	int err, adopted;

	err = tagged_find(p, &t);
	if (err < 0)
		return err;
	for (size_t i = 0; i < t->n && err == 0; i++)
		err = owned_record(p, t->link[i].ifindex, t->link[i].name,
				   t->link[i].kind);
	adopted = (int)t->n;
	free(t);
	return err < 0 ? err : adopted;
}

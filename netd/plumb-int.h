/* Internals shared by the plumbing library's files (not for netd/main.c). */
#ifndef MICA_NETD_PLUMB_INT_H
#define MICA_NETD_PLUMB_INT_H

#include <stddef.h>
#include <net/if.h>

#include "plumb.h"

struct nl_sock;
struct rtnl_link;

/* A link this context created. */
struct plumb_owned {
	int ifindex;
	char name[IFNAMSIZ];
	char kind[16];
};

struct plumb {
	struct nl_sock *sk;
	int dev_dirfd;
	int sysnet_dirfd;	/* /sys/class/net, or -1 */
	char tag[PLUMB_TAG_MAX];
	struct plumb_owned *owned;
	size_t nowned, owned_cap;
};

/* libnl's NLE_* codes (negative) to a negative errno. */
int plumb_nlerr(int nlerr);

/* The kernel's view of a link, by ifindex (> 0) or else by name; the
 * caller rtnl_link_put()s it.  -ENODEV if there is none. */
int plumb_link_get(struct plumb *p, int ifindex, const char *name,
		   struct rtnl_link **link);

/* Tag a link we just created with our alias and record it as ours.  On
 * failure the caller removes the link. */
int plumb_claim(struct plumb *p, int ifindex, const char *name, const char *kind);

/* Open path beneath directory dirfd: no "..", no symlinks, no absolute
 * path (openat2 RESOLVE_BENEATH; plain openat with O_NOFOLLOW on kernels
 * before 5.6).  Adds O_CLOEXEC.  fd or negative errno. */
int plumb_open_beneath(int dirfd, const char *path, int flags);

/* Forget ifindex (it was removed). */
void plumb_forget(struct plumb *p, int ifindex);

#endif

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

/* Forget ifindex (it was removed). */
void plumb_forget(struct plumb *p, int ifindex);

#endif

/* mica-net's side of its channel to mica-netd: ask for the host end of
 * one NIC (TAP queue fds).  netd answers only for the NIC this channel
 * belongs to and only what the manifest allowed. */
#ifndef MICA_NETD_CLIENT_H
#define MICA_NETD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* Request queues TAP fds for NIC index over chan, waiting up to
 * timeout_ms.  On success fds[0..*nfds) hold them and ifname the
 * interface name.  -EPERM with why filled when netd refused, -ETIMEDOUT,
 * -EBADMSG for a malformed answer, or the socket error. */
int netd_open_tap(int chan, uint32_t index, unsigned queues, int timeout_ms,
		  int *fds, unsigned *nfds, char *ifname, size_t ifname_len,
		  char *why, size_t why_len);

#endif

/* The runner's virtio-net NICs: a virtio-pci function (1af4:1041) whose
 * device is a vhost-user-net back-end (mica-net under `mica run`, or any
 * other vhost-user-net server).
 *
 * The device config (MAC, link status, MTU, max_virtqueue_pairs) comes
 * from the back-end through GET_CONFIG when it offers
 * VHOST_USER_PROTOCOL_F_CONFIG, as mica-net does; for a back-end that
 * does not, the runner serves it from the manifest's MAC and MTU, link
 * up, and offers VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS (and
 * VIRTIO_NET_F_MTU) itself.  Multiqueue is
 * the back-end's: as many pairs as its queue count allows (the transport
 * takes at most VHOST_USER_FRONTEND_MAX_QUEUES queues).
 *
 * Functions return 0 or a negative errno.
 */
#ifndef MICA_VIRTIO_NET_RUNNER_H
#define MICA_VIRTIO_NET_RUNNER_H

#include <stdint.h>

#include "virtio-pci.h"

/* Negotiate with the back-end on sock (taken, closed on failure too) and
 * plug NIC index into slot; mac and mtu (0: none) are the manifest's, used
 * when the back-end has no config of its own. */
int virtio_net_create(struct pci_host *host, struct machine *m, int memfd,
		      unsigned slot, unsigned index, const uint8_t mac[6],
		      uint16_t mtu, int sock, int timeout_ms, struct virtio_pci **out);

#endif

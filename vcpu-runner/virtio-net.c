/* virtio-net NICs over vhost-user (virtio-net.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_net.h>

#include "log.h"
#include "virtio-net.h"

/* The virtio-net device config up to the MTU (virtio 1.2, 5.1.4). */
struct vnet_local_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

int virtio_net_create(struct pci_host *host, struct machine *m, int memfd,
		      unsigned slot, unsigned index, const uint8_t mac[6],
		      uint16_t mtu, int sock, int timeout_ms, struct virtio_pci **out)
{
	struct vnet_local_config cfg = { .status = VIRTIO_NET_S_LINK_UP, .mtu = mtu };
	uint64_t ours = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS);
	struct virtio_pci *vp;
	char name[16];
	unsigned nq;
	int err;

	snprintf(name, sizeof(name), "nic %u", index);
	err = virtio_pci_vhost_user_create(host, m, memfd, slot, VIRTIO_ID_NET, name,
					   sock, timeout_ms, &vp);
	if (err < 0)
		return err;
	nq = virtio_pci_num_queues(vp);
	/* The function is on the bus by now (there is no unplug); a driver
	 * finds no transmit queue and gives up on its own. */
	if (nq < 2)
		log_warnx("%s: the back-end has %u queue; a NIC needs a receive and a "
			  "transmit queue", name, nq);
	memcpy(cfg.mac, mac, 6);
	cfg.max_virtqueue_pairs = (uint16_t)(nq / 2);
	if (mtu != 0)
		ours |= 1ULL << VIRTIO_NET_F_MTU;
	if (virtio_pci_local_config(vp, &cfg, sizeof(cfg), ours))
		log_info("%s: the back-end has no device config; serving MAC "
			 "%02x:%02x:%02x:%02x:%02x:%02x, link up, MTU %u, from the manifest",
			 name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], mtu);
	*out = vp;
	return 0;
}

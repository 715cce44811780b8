/* virtio-pci (modern, virtio 1.x) functions whose device is a vhost-user
 * back-end in another process (mica-blk, qemu-storage-daemon, ...).
 *
 * The runner models only the transport: the PCI function 1af4:1040+type,
 * BAR0 with the common, notify, ISR and device-config structures and the
 * MSI-X table.  The data path never passes through the runner: queue
 * notifications are accelerator doorbells (ioeventfd) handed to the
 * back-end as its kick eventfds, and the back-end's call eventfds are the
 * MSI-X vectors' irqfds.  The driver's DRIVER_OK starts the rings on the
 * back-end, a device reset stops them; the device config is read from the
 * back-end (GET_CONFIG).
 *
 * Functions return 0 or a negative errno.
 * While the driver leaves MSI-X off, the queues interrupt on INTA (ISR
 * status, a level line through a resampled irqfd): the caller's event
 * loop watches virtio_pci_intx_fds and calls virtio_pci_intx_event.
 * Not supported yet: the config-change interrupt (ISR bit 1), the PCI
 * configuration access capability, packed rings, enabling a queue after
 * DRIVER_OK.
 */
#ifndef MICA_VIRTIO_PCI_H
#define MICA_VIRTIO_PCI_H

#include "machine.h"
#include "pci.h"

#define VIRTIO_ID_NET	1
#define VIRTIO_ID_BLOCK	2

struct virtio_pci;

/* Negotiate with the back-end on sock (taken, closed on failure too) and
 * plug a function of device_type into slot.  memfd is the guest RAM memfd
 * behind m->mem (sent to the back-end as its memory table).  A back-end
 * that does not answer within timeout_ms gives -ETIMEDOUT. */
int virtio_pci_vhost_user_create(struct pci_host *host, struct machine *m,
				 int memfd, unsigned slot,
				 unsigned device_type, const char *name,
				 int sock, int timeout_ms,
				 struct virtio_pci **out);
/* The back-end went away and sock is a connection to its successor
 * (taken): negotiate again and, if the driver runs, resume each ring at
 * its used index with the kept inflight buffer.  On failure the device
 * stays as it was, ready for another try.  Takes m->io_lock. */
int virtio_pci_reconnect(struct virtio_pci *vp, int sock);
/* For a back-end that cannot answer GET_CONFIG (no
 * VHOST_USER_PROTOCOL_F_CONFIG): serve the device config from cfg (len
 * bytes, copied) and offer features on top of the back-end's (bits the
 * front-end implements, such as VIRTIO_NET_F_MAC; they are not passed on
 * to the back-end).  Call before the guest runs.  False, and nothing
 * changed, when the back-end serves its own config. */
bool virtio_pci_local_config(struct virtio_pci *vp, const void *cfg, size_t len,
			     uint64_t features);
unsigned virtio_pci_num_queues(const struct virtio_pci *vp);
uint64_t virtio_pci_device_features(const struct virtio_pci *vp);
/* INTx: the fds to watch for reading (up to max; returns how many, 0
 * without INTx), and what to do when one is readable. */
unsigned virtio_pci_intx_fds(const struct virtio_pci *vp, int *fds, unsigned max);
void virtio_pci_intx_event(struct virtio_pci *vp, int fd);
/* The connection's socket, to watch for the back-end going away. */
int virtio_pci_socket(const struct virtio_pci *vp);
/* Stop the back-end's rings, drop the connection, free.  The caller
 * unplugs the function from the host bridge (pci_host_fini). */
void virtio_pci_destroy(struct virtio_pci *vp);

#endif

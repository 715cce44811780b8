/* Devices of the guest-run harness, wired in-process. */
#ifndef MICA_HARNESS_H
#define MICA_HARNESS_H

#include "machine.h"

/* Port 0xf4: writing V ends the VM with status V (like isa-debug-exit). */
#define HARNESS_EXIT_PORT 0xf4
/* Port 0xf5: timing marks (see harness-devices.c). */
#define HARNESS_MARK_PORT 0xf5

/* Attach the devices to machine m (the legacy set is created once and
 * kept); detach drops what belongs to one machine (PCI); fini all. */
int harness_devices_init(struct machine *m, unsigned nr_vcpus);
void harness_devices_detach(void);
void harness_devices_fini(void);
/* Give the machines a virtio-blk function (00:04.0) whose back-end is
 * the vhost-user socket at socket_path; memfd is the guest RAM. */
void harness_vhost_user_blk(const char *socket_path, int memfd);
/* Bytes to type into COM1, fed as the guest drains the receive FIFO. */
void harness_console_input(const char *text);

#endif

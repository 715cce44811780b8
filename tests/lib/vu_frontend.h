/* A vhost-user front-end for tests and load generators: it plays the
 * VMM's part (memory table on a memfd, rings, kick and call eventfds) and
 * the guest driver's part (tests/lib/vqdriver), so a backend such as
 * mica-blk or qemu-storage-daemon can be driven without a guest. */
#ifndef MICA_VU_FRONTEND_H
#define MICA_VU_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/lib/vqdriver.h"

#define VUF_MAX_QUEUES 8
#define VUF_RING_AREA  (256 * 1024)   /* per queue, at the start of memory */

struct vu_frontend {
	int sock;
	int memfd;
	uint8_t *mem;                 /* guest RAM: gpa 0 .. mem_size */
	uint64_t mem_size;
	uint64_t features;
	uint64_t protocol_features;
	unsigned nqueues;
	struct vqdrv q[VUF_MAX_QUEUES];
	int kick[VUF_MAX_QUEUES], call[VUF_MAX_QUEUES], err[VUF_MAX_QUEUES];
	bool want_inflight;           /* negotiate INFLIGHT_SHMFD (set before start) */
	int inflight_fd;              /* the buffer we keep for the back-end */
	uint64_t inflight_size;
	uint8_t *inflight;            /* our mapping of it */
	uint16_t qsize;
};

/* Connect to a backend's socket (retrying for up to timeout_ms). */
int vuf_connect(struct vu_frontend *f, const char *path, int timeout_ms);

/* Negotiate and start nqueues rings of qsize entries; features is what
 * we want of the device-specific bits.  Returns 0 or -errno. */
int vuf_start(struct vu_frontend *f, uint64_t mem_size, unsigned nqueues, uint16_t qsize,
	      bool packed, uint64_t features);

/* Reconnect to a (restarted) back-end at path with the same guest memory
 * and rings, as a VMM does when its back-end died: features again, the
 * kept inflight buffer, the memory table, and each ring resumed at its
 * used index. */
int vuf_resume(struct vu_frontend *f, const char *path, int timeout_ms);

/* Read len bytes of device config from offset. */
int vuf_get_config(struct vu_frontend *f, uint32_t offset, void *buf, uint32_t len);

/* Kick queue q, then wait (up to timeout_ms) for one used element. */
int vuf_kick(struct vu_frontend *f, unsigned q);
int vuf_wait_used(struct vu_frontend *f, unsigned q, uint16_t *id, uint32_t *len,
		  int timeout_ms);

/* Has the backend signalled queue q's error eventfd? */
bool vuf_error_signalled(struct vu_frontend *f, unsigned q);

/* Guest address and host pointer of the data area (after the rings). */
uint64_t vuf_data_gpa(const struct vu_frontend *f);
void *vuf_gpa(const struct vu_frontend *f, uint64_t gpa);

void vuf_close(struct vu_frontend *f);

#endif

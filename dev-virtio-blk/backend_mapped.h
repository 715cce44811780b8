/* mica-blk's side of blockd's mapping service (backend_mapped.c). */
#ifndef MICA_VBLK_BACKEND_MAPPED_H
#define MICA_VBLK_BACKEND_MAPPED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

#define MAPPED_DATA       0        /* BlockExtent kinds */
#define MAPPED_ZERO       1
#define MAPPED_COMPRESSED 2
#define MAPPED_CACHE      1024     /* extents remembered */

/* What BlockOpened said, with its fds (file 0 the image, then backing). */
struct vblk_opened {
	char format[16];
	uint64_t size;
	bool read_only;
	unsigned cluster_size;
	uint64_t generation;
	int fds[IPC_MAX_FDS];
	unsigned nfds;
};

struct mapped_extent {
	uint64_t offset, length;      /* guest range */
	unsigned kind, file;
	uint64_t host;
	bool writable;                /* owned by the image: write in place */
};

/* An allocation (or write-zeroes) not yet covered by a flush. */
struct mapped_log_entry {
	uint64_t offset, length, host;
	bool zeroes;
};

struct mapped_log {
	struct mapped_log_entry *e;
	size_t n, cap;
	uint64_t bytes;
};

struct vblk_mapped {
	int chan;                     /* to mica-blockd; -1 while it is away */
	uint32_t index;
	uint64_t seq;
	uint64_t size;
	uint64_t generation;
	int fds[IPC_MAX_FDS];
	unsigned nfiles;
	bool dirty;                   /* written since the last fdatasync */
	bool lost;                    /* a replay failed: flushes fail */
	bool standalone;              /* mica-blk --mapping: blockd never comes back */
	bool refused;                 /* the latest blockd would not reopen the disk */
	struct mapped_extent cache[MAPPED_CACHE];   /* sorted by offset */
	size_t ncache;
	unsigned victim;
	int bounce_fd;
	uint8_t *bounce;
	size_t bounce_len;
	struct mapped_log log;
	uint8_t *saved;               /* the log's data during a replay */
	struct {
		uint64_t maps, cache_hits, prepares, fast;
	} stats;
};

extern const struct vblk_backend_ops vblk_mapped_ops;

/* The bounce buffer blockd inflates compressed clusters into. */
int vblk_mapped_bounce(struct vblk_mapped *m);
/* BlockOpen on chan (with the bounce memfd when bounce_fd >= 0). */
int vblk_block_open(int chan, uint32_t index, int bounce_fd, struct vblk_opened *out,
		    char *why, size_t len);
void vblk_opened_close(struct vblk_opened *o);
/* Serve a disk of blockd's: takes o's fds. */
int vblk_mapped_init(struct vblk_mapped *m, int chan, uint32_t index, struct vblk_opened *o);
/* A new blockd on chan: open again, check it is the same image, replay
 * the unflushed allocations.  0, or a negative errno (chan closed). */
int vblk_mapped_reconnect(struct vblk_mapped *m, int chan);
/* vblk_mapped_reconnect, then the requests b parked while blockd was
 * away go on: served, or completed with VIRTIO_BLK_S_IOERR when the new
 * blockd refuses the disk (as are new ones until a later blockd takes
 * it).  Returns what vblk_mapped_reconnect did. */
struct vblk_dev;
int vblk_mapped_takeover(struct vblk_mapped *m, struct vblk_dev *b, int chan);

/* Host offset in file 0 of the whole of [off, off+len) if the cache
 * knows it (for writes: owned clusters), else -1: for io_uring. */
int64_t vblk_mapped_fast(struct vblk_mapped *m, uint64_t off, uint64_t len, bool write);

#endif

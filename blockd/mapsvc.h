/* mica-blockd's mapping service for mica-blk (docs/block.md). */
#ifndef MICA_BLOCKD_MAPSVC_H
#define MICA_BLOCKD_MAPSVC_H

#include <stddef.h>
#include <stdint.h>

#include "blockd/block.h"
#include "ipc.h"

/* BlockExtent kinds on the wire. */
#define MAPSVC_EXTENT_DATA       0
#define MAPSVC_EXTENT_ZERO       1
#define MAPSVC_EXTENT_COMPRESSED 2

#define MAPSVC_MAX_GRANTS 16

struct mapsvc_disk {
	struct blk_image *img;
	const char *name;
	bool read_only;
	uint64_t generation;          /* bumped when mappings change under mica-blk */
	uint64_t next_grant;
	struct {
		uint64_t id;          /* 0: free slot */
		struct blk_write_grant g;
	} grants[MAPSVC_MAX_GRANTS];
	void *bounce;                 /* mica-blk's bounce memfd, mapped */
	size_t bounce_len;
};

/* Answer BlockOpen (mapping) with the chain's fds; bounce_fd is the
 * bounce memfd that came with it or -1 (the caller keeps it). */
int mapsvc_open(struct mapsvc_disk *d, int chan, const ipc_envelope *env, int bounce_fd);
/* Answer one mapping-service request. */
int mapsvc_serve(struct mapsvc_disk *d, int chan, const ipc_envelope *env);
/* mica-blk's channel closed or was replaced: abort its grants. */
void mapsvc_channel_lost(struct mapsvc_disk *d);
void mapsvc_close(struct mapsvc_disk *d);

#endif

/* mica-blockd's mapping service (docs/block.md, "The mapping service"):
 * mica-blk asks where guest bytes live and for write grants, does the
 * data I/O itself on the fds it was given, and leaves to blockd what
 * needs the metadata: allocation with two-phase writes, the ordered
 * flush, discard, write-zeroes and reads of compressed clusters. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockd/mapsvc.h"
#include "log.h"

#define MAP_MAX_EXTENTS 64        /* per BlockMapReply */

static void grants_abort_all(struct mapsvc_disk *d)
{
	for (size_t i = 0; i < MAPSVC_MAX_GRANTS; i++) {
		if (d->grants[i].id == 0)
			continue;
		if (blk_write_abort(d->img, &d->grants[i].g) < 0)
			log_warnx("%s: giving back grant %" PRIu64 " failed (the clusters leak)",
				  d->name, d->grants[i].id);
		d->grants[i].id = 0;
	}
}

static void bounce_drop(struct mapsvc_disk *d)
{
	if (d->bounce != NULL)
		munmap(d->bounce, d->bounce_len);
	d->bounce = NULL;
	d->bounce_len = 0;
}

void mapsvc_channel_lost(struct mapsvc_disk *d)
{
	/* Grants of a mica-blk that went away will never be committed: give
	 * them back, or their clusters stay busy for the next one. */
	grants_abort_all(d);
	bounce_drop(d);
}

void mapsvc_close(struct mapsvc_disk *d)
{
	mapsvc_channel_lost(d);
}

/* Map mica-blk's bounce memfd.  It must be sealed against shrinking, or
 * a truncate on its side would fault our reads into it. */
static int bounce_map(struct mapsvc_disk *d, int fd, uint64_t len, char *why, size_t wlen)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);
	void *p;

	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) < 0 ||
	    (uint64_t)st.st_size < len) {
		snprintf(why, wlen, "bounce buffer: not a memfd of %" PRIu64 " bytes sealed "
			 "against shrinking", len);
		return -EINVAL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(why, wlen, "bounce buffer: mmap: %s", strerror(errno));
		return -errno;
	}
	bounce_drop(d);
	d->bounce = p;
	d->bounce_len = len;
	return 0;
}

/* BlockOpen with mapping: the image and its chain as fds, file i being
 * depth i. */
int mapsvc_open(struct mapsvc_disk *d, int chan, const ipc_envelope *env, int bounce_fd)
{
	Mica__Envelope reply = MICA__ENVELOPE__INIT;
	Mica__BlockOpened opened = MICA__BLOCK_OPENED__INIT;
	char why[IPC_REASON_MAX] = "";
	int fds[IPC_MAX_FDS];
	unsigned files = 0;
	int err;

	for (struct blk_image *i = d->img; i != NULL; i = blk_backing(i)) {
		if (files == IPC_MAX_FDS)
			return ipc_send_result(chan, env->seq, E2BIG, "%s: backing chain longer "
					       "than %d files", d->name, IPC_MAX_FDS);
		fds[files++] = blk_fd(i);
	}
	if (bounce_fd >= 0) {
		err = bounce_map(d, bounce_fd, env->block_open->bounce_bytes, why, sizeof(why));
		if (err < 0)
			return ipc_send_result(chan, env->seq, -err, "%s", why);
	}
	/* A new mica-blk: whatever the last one prepared is void. */
	grants_abort_all(d);
	opened.index = env->block_open->index;
	opened.format = (char *)blk_format_name(d->img);
	opened.size_bytes = blk_size(d->img) & ~511ULL;
	opened.read_only = d->read_only;
	opened.files = files;
	opened.cluster_size = blk_cluster_size(d->img);
	opened.generation = d->generation;
	reply.seq = env->seq;
	reply.body_case = MICA__ENVELOPE__BODY_BLOCK_OPENED;
	reply.block_opened = &opened;
	return ipc_send(chan, &reply, fds, files);
}

/* Which file of the chain holds an extent: its depth. */
static int extent_file(const struct blk_extent *e)
{
	return e->depth < IPC_MAX_FDS ? (int)e->depth : -1;
}

static int serve_map(struct mapsvc_disk *d, int chan, const ipc_envelope *env)
{
	const Mica__BlockMap *req = env->block_map;
	Mica__Envelope reply = MICA__ENVELOPE__INIT;
	Mica__BlockMapReply r = MICA__BLOCK_MAP_REPLY__INIT;
	Mica__BlockExtent ext[MAP_MAX_EXTENTS], *extp[MAP_MAX_EXTENTS];
	uint64_t off = req->offset, end = req->offset + req->length;
	size_t n = 0;

	if (end > blk_size(d->img))
		return ipc_send_result(chan, env->seq, EINVAL, "map past the end of the disk");
	while (off < end && n < MAP_MAX_EXTENTS) {
		Mica__BlockExtent init = MICA__BLOCK_EXTENT__INIT;
		struct blk_extent e;
		int err = blk_map(d->img, off, end - off, &e);

		if (err < 0)
			return ipc_send_result(chan, env->seq, -err, "map at %" PRIu64 ": %s",
					       off, strerror(-err));
		ext[n] = init;
		ext[n].offset = off;
		ext[n].length = e.length;
		switch (e.kind) {
		case BLK_EXTENT_DATA:
			ext[n].kind = MAPSVC_EXTENT_DATA;
			break;
		case BLK_EXTENT_COMPRESSED:
			ext[n].kind = MAPSVC_EXTENT_COMPRESSED;
			break;
		default:
			ext[n].kind = MAPSVC_EXTENT_ZERO;
			break;
		}
		if (ext[n].kind != MAPSVC_EXTENT_ZERO) {
			if (extent_file(&e) < 0)
				return ipc_send_result(chan, env->seq, E2BIG, "backing chain too "
						       "long");
			ext[n].file = extent_file(&e);
			ext[n].host_offset = e.host_offset;
			ext[n].writable = e.owned && !d->read_only && ext[n].file == 0;
		}
		/* Sector granularity on the wire: an image whose size is not a
		 * sector multiple ends in a partial one, which blockd reads. */
		if (ext[n].length % 512 != 0) {
			if (ext[n].length < 512)
				break;
			ext[n].length &= ~511ULL;
		}
		extp[n] = &ext[n];
		off += ext[n].length;
		n++;
	}
	if (n == 0)
		return ipc_send_result(chan, env->seq, EINVAL, "map at %" PRIu64 ": not sector "
				       "aligned", req->offset);
	r.n_extents = n;
	r.extents = extp;
	r.generation = d->generation;
	reply.seq = env->seq;
	reply.body_case = MICA__ENVELOPE__BODY_BLOCK_MAP_REPLY;
	reply.block_map_reply = &r;
	return ipc_send(chan, &reply, NULL, 0);
}

static int serve_prepare(struct mapsvc_disk *d, int chan, const ipc_envelope *env)
{
	const Mica__BlockWritePrepare *req = env->block_write_prepare;
	Mica__Envelope reply = MICA__ENVELOPE__INIT;
	Mica__BlockWriteGrant gr = MICA__BLOCK_WRITE_GRANT__INIT;
	struct blk_write_grant g;
	size_t slot;
	int err;

	if (d->read_only)
		return ipc_send_result(chan, env->seq, EROFS, "%s is read-only", d->name);
	if (req->offset + req->length > blk_size(d->img))
		return ipc_send_result(chan, env->seq, EINVAL, "write past the end of the disk");
	for (slot = 0; slot < MAPSVC_MAX_GRANTS && d->grants[slot].id != 0; slot++)
		;
	if (slot == MAPSVC_MAX_GRANTS)
		return ipc_send_result(chan, env->seq, EBUSY, "%d grants outstanding",
				       MAPSVC_MAX_GRANTS);
	err = blk_write_prepare(d->img, req->offset, req->length, &g);
	if (err < 0)
		return ipc_send_result(chan, env->seq, -err, "prepare at %" PRIu64 ": %s",
				       req->offset, strerror(-err));
	if (g.fd != blk_fd(d->img) || g.length % 512 != 0) {
		/* The data path writes file 0 in whole sectors only. */
		if (!g.in_place)
			blk_write_abort(d->img, &g);
		return ipc_send_result(chan, env->seq, EIO, "grant at %" PRIu64 " not in the "
				       "image file or not sector aligned", req->offset);
	}
	gr.offset = g.offset;
	gr.length = g.length;
	gr.host_offset = g.host_offset;
	gr.in_place = g.in_place;
	if (!g.in_place) {
		gr.grant = ++d->next_grant;
		gr.cluster_offset = g.cluster_start;
		gr.cluster_host = g.new_host;
		gr.cluster_bytes = g.clusters * blk_cluster_size(d->img);
		d->grants[slot].id = gr.grant;
		d->grants[slot].g = g;
	}
	reply.seq = env->seq;
	reply.body_case = MICA__ENVELOPE__BODY_BLOCK_WRITE_GRANT;
	reply.block_write_grant = &gr;
	return ipc_send(chan, &reply, NULL, 0);
}

static int serve_done(struct mapsvc_disk *d, int chan, const ipc_envelope *env)
{
	const Mica__BlockWriteDone *req = env->block_write_done;
	int err;

	for (size_t i = 0; i < MAPSVC_MAX_GRANTS; i++) {
		if (req->grant == 0 || d->grants[i].id != req->grant)
			continue;
		err = req->abort ? blk_write_abort(d->img, &d->grants[i].g)
				 : blk_write_commit(d->img, &d->grants[i].g);
		d->grants[i].id = 0;
		return ipc_send_result(chan, env->seq, -err, "%s", err < 0 ? strerror(-err) : "");
	}
	return ipc_send_result(chan, env->seq, ENOENT, "no grant %" PRIu64, req->grant);
}

static int serve_op(struct mapsvc_disk *d, int chan, const ipc_envelope *env)
{
	const Mica__BlockOp *req = env->block_op;
	struct iovec iov;
	int err;

	if (req->op != MICA__BLOCK_OP_KIND__BLOCK_OP_FLUSH &&
	    req->offset + req->length > blk_size(d->img))
		return ipc_send_result(chan, env->seq, EINVAL, "past the end of the disk");
	switch (req->op) {
	case MICA__BLOCK_OP_KIND__BLOCK_OP_FLUSH:
		err = blk_flush(d->img);
		break;
	case MICA__BLOCK_OP_KIND__BLOCK_OP_DISCARD:
		err = d->read_only ? -EROFS : !blk_can_discard(d->img) ? 0
					    : blk_discard(d->img, req->offset, req->length);
		if (err == -ENOTSUP)
			err = 0;          /* discard is a hint */
		d->generation++;
		break;
	case MICA__BLOCK_OP_KIND__BLOCK_OP_ZEROES:
		err = d->read_only ? -EROFS
				   : blk_write_zeroes(d->img, req->offset, req->length);
		d->generation++;
		break;
	case MICA__BLOCK_OP_KIND__BLOCK_OP_READ:
		if (d->bounce == NULL || req->length > d->bounce_len)
			return ipc_send_result(chan, env->seq, EINVAL, "read of %" PRIu64
					       " bytes: bounce buffer is %zu", req->length,
					       d->bounce_len);
		iov.iov_base = d->bounce;
		iov.iov_len = req->length;
		err = blk_preadv(d->img, &iov, 1, req->offset);
		break;
	default:
		return ipc_send_result(chan, env->seq, ENOTSUP, "block op %d not supported",
				       req->op);
	}
	return ipc_send_result(chan, env->seq, -err, "%s", err < 0 ? strerror(-err) : "");
}

int mapsvc_serve(struct mapsvc_disk *d, int chan, const ipc_envelope *env)
{
	switch (env->body_case) {
	case MICA__ENVELOPE__BODY_BLOCK_MAP:
		return serve_map(d, chan, env);
	case MICA__ENVELOPE__BODY_BLOCK_WRITE_PREPARE:
		return serve_prepare(d, chan, env);
	case MICA__ENVELOPE__BODY_BLOCK_WRITE_DONE:
		return serve_done(d, chan, env);
	case MICA__ENVELOPE__BODY_BLOCK_OP:
		return serve_op(d, chan, env);
	default:
		return ipc_send_result(chan, env->seq, ENOTSUP, "%s not supported yet",
				       ipc_body_name(env));
	}
}

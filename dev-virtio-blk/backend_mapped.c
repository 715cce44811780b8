/* Formats with metadata (qcow2) under `mica run`: mica-blk moves the
 * guest's bytes itself, on the image fds mica-blockd gave it, and asks
 * blockd only where they live (docs/block.md, "The mapping service"):
 *
 *  - reads: BlockMap answers extents (data in file F at host offset H,
 *    zeroes, compressed), kept in a small cache; data is read from the
 *    fds (the cached single-extent case goes through io_uring, see
 *    vblk_mapped_fast), zeroes are filled in, compressed clusters are
 *    inflated by blockd into the shared bounce buffer;
 *  - writes: to clusters this image owns, in place; anything else is a
 *    two-phase write: BlockWritePrepare (blockd allocates and copies what
 *    the write does not cover), pwritev here, BlockWriteDone (blockd
 *    links it into L2).  Metadata never points at unwritten data;
 *  - flush: fdatasync here, then blockd's ordered metadata flush;
 *  - discard and write-zeroes: blockd.
 *
 * If blockd dies, its metadata cache dies with it: allocations committed
 * since the last flush may not be on disk.  So they are logged here (guest
 * range and where the data went) until a flush succeeds, and replayed
 * through the restarted blockd before any other request: a flush is never
 * acknowledged over lost writes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend_mapped.h"
#include "iov.h"
#include "log.h"
#include "virtio_blk.h"

#define CALL_TIMEOUT_MS  30000
#define MAP_AHEAD        (256u << 20)  /* map this much beyond a miss */
#define LOG_MAX_BYTES    (16u << 20)   /* unflushed allocations before we flush */
#define LOG_MAX_ENTRIES  4096

static bool is_disconnect(int err)
{
	return err == -ECONNRESET || err == -EPIPE || err == -ENOTCONN ||
	       err == -ETIMEDOUT || err == -ECONNREFUSED;
}

/* What a request gets while there is no blockd: -ENOTCONN (it waits for
 * the next one), or -EIO when none will serve this disk. */
static int blockd_away(const struct vblk_mapped *m)
{
	return m->standalone || m->refused ? -EIO : -ENOTCONN;
}

/* One request to blockd and its answer.  A dead channel is closed and
 * answered -ENOTCONN: the request waits for the next blockd. */
static int call(struct vblk_mapped *m, Mica__Envelope *env,
		Mica__Envelope__BodyCase want, struct ipc_msg *reply)
{
	char why[IPC_REASON_MAX] = "";
	struct ipc_msg local;
	int err;

	if (m->chan < 0)
		return blockd_away(m);
	env->seq = ++m->seq;
	err = ipc_call(m->chan, env, CALL_TIMEOUT_MS, want, reply ? reply : &local,
		       why, sizeof(why));
	if (err == 0 && reply == NULL)
		ipc_msg_free(&local);
	if (err == -EBADMSG && why[0] == '\0')
		err = -ECONNRESET;
	if (err < 0 && (is_disconnect(err) || err == -EBADMSG)) {
		log_warnx("disk %u: mica-blockd channel lost (%s)%s", m->index,
			  why[0] ? why : strerror(-err),
			  m->standalone ? "" : "; waiting for a new one");
		close(m->chan);
		m->chan = -1;
		m->lost |= m->standalone;  /* no new one will come: fail requests */
	}
	if (m->chan < 0)
		return blockd_away(m);
	if (err < 0)
		log_warnx("disk %u: mica-blockd: %s", m->index, why[0] ? why : strerror(-err));
	return err;
}

/* A request answered by Result: its errno. */
static int call_result(struct vblk_mapped *m, Mica__Envelope *env)
{
	struct ipc_msg reply;
	int err = call(m, env, MICA__ENVELOPE__BODY_RESULT, &reply);

	if (err < 0)
		return err;
	err = -reply.env->result->errno_value;
	if (err < 0)
		log_warnx("disk %u: mica-blockd: %s", m->index, reply.env->result->message);
	ipc_msg_free(&reply);
	return err;
}

static int block_op(struct vblk_mapped *m, Mica__BlockOpKind op, uint64_t off, uint64_t len)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockOp req = MICA__BLOCK_OP__INIT;

	req.index = m->index;
	req.op = op;
	req.offset = off;
	req.length = len;
	env.body_case = MICA__ENVELOPE__BODY_BLOCK_OP;
	env.block_op = &req;
	return call_result(m, &env);
}

/* ---- the map cache ------------------------------------------------------- */

/* The cache: extents sorted by guest offset, never overlapping. */

static void cache_clear(struct vblk_mapped *m)
{
	m->ncache = 0;
}

/* Index of the first extent ending after OFF (ncache if none). */
static size_t cache_search(const struct vblk_mapped *m, uint64_t off)
{
	size_t lo = 0, hi = m->ncache;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->cache[mid].offset + m->cache[mid].length <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void cache_insert_at(struct vblk_mapped *m, size_t i, const struct mapped_extent *x)
{
	memmove(&m->cache[i + 1], &m->cache[i], (m->ncache - i) * sizeof(*x));
	m->cache[i] = *x;
	m->ncache++;
}

static void cache_remove_at(struct vblk_mapped *m, size_t i)
{
	memmove(&m->cache[i], &m->cache[i + 1], (m->ncache - i - 1) * sizeof(m->cache[0]));
	m->ncache--;
}

/* Forget [off, off+len): overlapping extents are cut back to the rest. */
static void cache_drop(struct vblk_mapped *m, uint64_t off, uint64_t len)
{
	size_t i = cache_search(m, off);

	while (i < m->ncache && m->cache[i].offset < off + len) {
		struct mapped_extent e = m->cache[i], right = e;
		uint64_t end = e.offset + e.length;

		cache_remove_at(m, i);
		if (end > off + len) {
			right.offset = off + len;
			right.length = end - (off + len);
			if (right.kind == MAPPED_DATA)
				right.host += off + len - e.offset;
			cache_insert_at(m, i, &right);
		}
		if (e.offset < off) {
			e.length = off - e.offset;
			cache_insert_at(m, i, &e);
			i++;
		}
		if (end > off + len)
			break;
	}
}

static void cache_add(struct vblk_mapped *m, const struct mapped_extent *x)
{
	/* Room for the cut below (one more) and x: forget pseudo-random ones. */
	while (m->ncache + 2 > MAPPED_CACHE) {
		m->victim = m->victim * 1103515245u + 12345u;
		cache_remove_at(m, (m->victim >> 8) % m->ncache);
	}
	cache_drop(m, x->offset, x->length);
	cache_insert_at(m, cache_search(m, x->offset), x);
}

static const struct mapped_extent *cache_find(struct vblk_mapped *m, uint64_t off)
{
	size_t i = cache_search(m, off);

	return i < m->ncache && m->cache[i].offset <= off ? &m->cache[i] : NULL;
}

/* The extent holding guest byte OFF, asking blockd on a miss. */
static int lookup(struct vblk_mapped *m, uint64_t off, uint64_t len,
		  const struct mapped_extent **out)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockMap req = MICA__BLOCK_MAP__INIT;
	const Mica__BlockMapReply *r;
	struct ipc_msg reply;
	int err;

	*out = cache_find(m, off);
	if (*out != NULL) {
		m->stats.cache_hits++;
		return 0;
	}
	req.index = m->index;
	req.offset = off;
	req.length = len + MAP_AHEAD < m->size - off ? len + MAP_AHEAD : m->size - off;
	req.length &= ~511ULL;
	env.body_case = MICA__ENVELOPE__BODY_BLOCK_MAP;
	env.block_map = &req;
	err = call(m, &env, MICA__ENVELOPE__BODY_BLOCK_MAP_REPLY, &reply);
	if (err < 0)
		return err;
	m->stats.maps++;
	r = reply.env->block_map_reply;
	if (r->generation != m->generation) {
		cache_clear(m);
		m->generation = r->generation;
	}
	/* Last to first: the one asked for goes in last, so that making room
	 * for the others never evicts it. */
	for (size_t i = r->n_extents; i-- > 0;) {
		const Mica__BlockExtent *e = r->extents[i];
		struct mapped_extent x = {
			.offset = e->offset, .length = e->length, .kind = e->kind,
			.file = e->file, .host = e->host_offset,
			.writable = e->writable && e->kind == MAPPED_DATA && e->file == 0,
		};

		if (e->offset + e->length > m->size ||
		    (e->kind != MAPPED_ZERO && e->file >= m->nfiles)) {
			log_warnx("disk %u: mica-blockd mapped %" PRIu64 "+%" PRIu64 " to file %u "
				  "of %u", m->index, e->offset, e->length, e->file, m->nfiles);
			ipc_msg_free(&reply);
			return -EIO;
		}
		cache_add(m, &x);
	}
	ipc_msg_free(&reply);
	*out = cache_find(m, off);
	return *out != NULL ? 0 : -EIO;   /* blockd answered from elsewhere */
}

int64_t vblk_mapped_fast(struct vblk_mapped *m, uint64_t off, uint64_t len, bool write)
{
	const struct mapped_extent *e = cache_find(m, off);

	if (e == NULL || e->kind != MAPPED_DATA || e->file != 0 ||
	    off + len > e->offset + e->length || (write && !e->writable))
		return -1;
	m->stats.fast++;
	if (write)
		m->dirty = true;
	return e->host + (off - e->offset);
}

/* ---- reads ---------------------------------------------------------------- */

static int read_compressed(struct vblk_mapped *m, const struct iovec *iov, int n,
			   uint64_t off, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t chunk = len - done < m->bounce_len ? len - done : m->bounce_len;
		int err = block_op(m, MICA__BLOCK_OP_KIND__BLOCK_OP_READ, off + done, chunk);

		if (err < 0)
			return err;
		iov_from_buf(iov, n, done, m->bounce, chunk);
		done += chunk;
	}
	return 0;
}

static int mapped_readv(void *opaque, const struct iovec *iov, int n, uint64_t off)
{
	struct vblk_mapped *m = opaque;
	uint64_t len = iov_size(iov, n), done = 0;

	while (done < len) {
		const struct mapped_extent *e;
		struct iovec part[VQ_MAX_IOV];
		uint64_t at = off + done, chunk;
		int np, err = lookup(m, at, len - done, &e);

		if (err < 0)
			return err;
		chunk = e->offset + e->length - at;
		if (chunk > len - done)
			chunk = len - done;
		np = iov_slice(iov, n, done, chunk, part, VQ_MAX_IOV);
		if (np < 0)
			return -EIO;
		log_debug("blk", "read %" PRIu64 "+%" PRIu64 ": extent %" PRIu64 "+%" PRIu64
			  " kind %u file %u host %#" PRIx64 "%s", at, chunk, e->offset, e->length,
			  e->kind, e->file, e->host, e->writable ? " writable" : "");
		if (e->kind == MAPPED_DATA)
			err = vblk_fd_rw(m->fds[e->file], part, np, e->host + (at - e->offset),
					 false);
		else if (e->kind == MAPPED_COMPRESSED)
			err = read_compressed(m, part, np, at, chunk);
		else
			for (int i = 0; i < np; i++)
				memset(part[i].iov_base, 0, part[i].iov_len);
		if (err < 0)
			return err;
		done += chunk;
	}
	return 0;
}

/* ---- writes and the replay log -------------------------------------------- */

static int log_add(struct vblk_mapped *m, uint64_t off, uint64_t len, uint64_t host,
		   bool zeroes)
{
	struct mapped_log *l = &m->log;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct mapped_log_entry *e = realloc(l->e, cap * sizeof(*e));

		if (e == NULL)
			return -ENOMEM;
		l->e = e;
		l->cap = cap;
	}
	l->e[l->n++] = (struct mapped_log_entry){ off, len, host, zeroes };
	if (!zeroes)
		l->bytes += len;
	return 0;
}

static int mapped_flush(void *opaque);

/* Room in the replay log: past its budget, flush (which empties it)
 * before allocating more. */
static int log_room(struct vblk_mapped *m)
{
	if (m->log.bytes < LOG_MAX_BYTES && m->log.n < LOG_MAX_ENTRIES)
		return 0;
	return mapped_flush(m);
}

static int write_done(struct vblk_mapped *m, uint64_t grant, bool abort)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockWriteDone req = MICA__BLOCK_WRITE_DONE__INIT;

	req.index = m->index;
	req.grant = grant;
	req.abort = abort;
	env.body_case = MICA__ENVELOPE__BODY_BLOCK_WRITE_DONE;
	env.block_write_done = &req;
	return call_result(m, &env);
}

/* Write guest bytes [off, off+chunk) (in part) the two-phase way; *took
 * is how much the grant covered. */
static int write_granted(struct vblk_mapped *m, const struct iovec *iov, int n,
			 uint64_t skip, uint64_t off, uint64_t len, uint64_t *took)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockWritePrepare req = MICA__BLOCK_WRITE_PREPARE__INIT;
	const Mica__BlockWriteGrant *g;
	struct iovec part[VQ_MAX_IOV];
	struct mapped_extent x = { .kind = MAPPED_DATA, .writable = true };
	struct ipc_msg reply;
	int np, err;

	if ((err = log_room(m)) < 0)
		return err;
	req.index = m->index;
	req.offset = off;
	req.length = len;
	env.body_case = MICA__ENVELOPE__BODY_BLOCK_WRITE_PREPARE;
	env.block_write_prepare = &req;
	err = call(m, &env, MICA__ENVELOPE__BODY_BLOCK_WRITE_GRANT, &reply);
	if (err < 0)
		return err;
	m->stats.prepares++;
	g = reply.env->block_write_grant;
	if (g->offset != off || g->length > len ||
	    (!g->in_place && g->cluster_host + g->cluster_bytes < g->cluster_host)) {
		log_warnx("disk %u: grant for %" PRIu64 "+%" PRIu64 " does not match the ask "
			  "%" PRIu64 "+%" PRIu64, m->index, g->offset, g->length, off, len);
		ipc_msg_free(&reply);
		return -EIO;
	}
	*took = g->length;
	np = iov_slice(iov, n, skip, g->length, part, VQ_MAX_IOV);
	err = np < 0 ? -EIO : vblk_fd_rw(m->fds[0], part, np, g->host_offset, true);
	m->dirty = true;
	if (g->in_place) {
		x.offset = g->offset;
		x.length = g->length;
		x.host = g->host_offset;
	} else {
		if (err == 0)
			err = write_done(m, g->grant, false);
		else if (write_done(m, g->grant, true) < 0)
			log_warnx("disk %u: giving grant %" PRIu64 " back failed", m->index,
				  g->grant);
		/* The last cluster may reach past the disk: not that part. */
		x.offset = g->cluster_offset;
		x.length = g->cluster_offset + g->cluster_bytes > m->size
			   ? m->size - g->cluster_offset : g->cluster_bytes;
		x.host = g->cluster_host;
		if (err == 0)
			err = log_add(m, x.offset, x.length, x.host, false);
	}
	ipc_msg_free(&reply);
	if (err == 0)
		cache_add(m, &x);
	else
		cache_drop(m, off, len);
	return err;
}

static int mapped_writev(void *opaque, const struct iovec *iov, int n, uint64_t off)
{
	struct vblk_mapped *m = opaque;
	uint64_t len = iov_size(iov, n), done = 0;

	while (done < len) {
		const struct mapped_extent *e = cache_find(m, off + done);
		uint64_t at = off + done, took;
		int err;

		if (e != NULL && e->kind == MAPPED_DATA && e->writable && e->file == 0) {
			struct iovec part[VQ_MAX_IOV];
			int np;

			took = e->offset + e->length - at;
			if (took > len - done)
				took = len - done;
			np = iov_slice(iov, n, done, took, part, VQ_MAX_IOV);
			err = np < 0 ? -EIO : vblk_fd_rw(m->fds[0], part, np,
							e->host + (at - e->offset), true);
			m->dirty = true;
		} else {
			err = write_granted(m, iov, n, done, at, len - done, &took);
		}
		if (err < 0)
			return err;
		done += took;
	}
	return 0;
}

static int mapped_flush(void *opaque)
{
	struct vblk_mapped *m = opaque;
	int err;

	if (m->chan < 0 && !m->standalone)
		return blockd_away(m);
	if (m->lost) {
		/* Writes the lost blockd had not flushed could not be replayed:
		 * never acknowledge a flush over them. */
		return -EIO;
	}
	if (m->dirty && fdatasync(m->fds[0]) < 0)
		return -errno;
	m->dirty = false;
	err = block_op(m, MICA__BLOCK_OP_KIND__BLOCK_OP_FLUSH, 0, 0);
	if (err == 0) {
		m->log.n = 0;
		m->log.bytes = 0;
	}
	return err;
}

static int mapped_discard(void *opaque, uint64_t off, uint64_t len)
{
	struct vblk_mapped *m = opaque;
	int err = block_op(m, MICA__BLOCK_OP_KIND__BLOCK_OP_DISCARD, off, len);

	cache_clear(m);
	return err;
}

static int mapped_write_zeroes(void *opaque, uint64_t off, uint64_t len, bool may_unmap)
{
	struct vblk_mapped *m = opaque;
	int err = log_room(m);

	if (err == 0)
		err = block_op(m, MICA__BLOCK_OP_KIND__BLOCK_OP_ZEROES, off, len);
	cache_clear(m);
	if (err == 0)
		err = log_add(m, off, len, 0, true);
	return err;
}

static int64_t mapped_fast(void *opaque, uint64_t off, uint64_t len, bool write)
{
	return vblk_mapped_fast(opaque, off, len, write);
}

const struct vblk_backend_ops vblk_mapped_ops = {
	.name = "mapped",
	.readv = mapped_readv,
	.writev = mapped_writev,
	.flush = mapped_flush,
	.discard = mapped_discard,
	.write_zeroes = mapped_write_zeroes,
	.fast = mapped_fast,
	.drain_first = true,
};

/* ---- opening, and a new blockd ---------------------------------------------- */

int vblk_mapped_bounce(struct vblk_mapped *m)
{
	m->bounce_len = BLOCK_BOUNCE_MAX;
	m->bounce_fd = memfd_create("mica-blk-bounce", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m->bounce_fd < 0 || ftruncate(m->bounce_fd, m->bounce_len) < 0 ||
	    fcntl(m->bounce_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	m->bounce = mmap(NULL, m->bounce_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 m->bounce_fd, 0);
	return m->bounce == MAP_FAILED ? (m->bounce = NULL, -errno) : 0;
}

int vblk_block_open(int chan, uint32_t index, int bounce_fd, struct vblk_opened *out,
		    char *why, size_t len)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockOpen req = MICA__BLOCK_OPEN__INIT;
	const Mica__BlockOpened *o;
	struct ipc_msg msg;
	int err;

	req.index = index;
	req.mapping = true;
	req.bounce_bytes = bounce_fd >= 0 ? BLOCK_BOUNCE_MAX : 0;
	env.body_case = MICA__ENVELOPE__BODY_BLOCK_OPEN;
	env.block_open = &req;
	env.seq = index + 1;
	err = ipc_call_fds(chan, &env, &bounce_fd, bounce_fd >= 0, CALL_TIMEOUT_MS,
			   MICA__ENVELOPE__BODY_BLOCK_OPENED, &msg, why, len);
	if (err < 0)
		return err;
	o = msg.env->block_opened;
	if (o->index != index) {
		snprintf(why, len, "an answer for disk %u", o->index);
		err = -EBADMSG;
	} else {
		memset(out, 0, sizeof(*out));
		snprintf(out->format, sizeof(out->format), "%s", o->format);
		out->size = o->size_bytes;
		out->read_only = o->read_only;
		out->cluster_size = o->cluster_size;
		out->generation = o->generation;
		out->nfds = msg.nfds;
		for (size_t i = 0; i < msg.nfds; i++)
			out->fds[i] = ipc_msg_take_fd(&msg, i);
	}
	ipc_msg_free(&msg);
	return err;
}

void vblk_opened_close(struct vblk_opened *o)
{
	for (unsigned i = 0; i < o->nfds; i++)
		if (o->fds[i] >= 0)
			close(o->fds[i]);
	o->nfds = 0;
}

int vblk_mapped_init(struct vblk_mapped *m, int chan, uint32_t index,
		     struct vblk_opened *o)
{
	m->chan = chan;
	m->index = index;
	m->size = o->size;
	m->generation = o->generation;
	m->nfiles = o->nfds;
	memcpy(m->fds, o->fds, o->nfds * sizeof(int));
	o->nfds = 0;                       /* ours now */
	cache_clear(m);
	return 0;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Replay the allocations (and write-zeroes) of the lost blockd.  Their
 * data is read from where it went, all of it before anything is written
 * (a new allocation may reuse a cluster the lost blockd never recorded). */
static int replay(struct vblk_mapped *m)
{
	struct mapped_log old = m->log;
	uint64_t at = 0;
	int err = 0;

	if (old.n == 0)
		return 0;
	if (m->saved == NULL) {
		m->saved = malloc(old.bytes ? old.bytes : 1);
		if (m->saved == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < old.n && err == 0; i++) {
			struct iovec v = { m->saved + at, old.e[i].length };

			if (old.e[i].zeroes)
				continue;
			err = vblk_fd_rw(m->fds[0], &v, 1, old.e[i].host, false);
			at += old.e[i].length;
		}
		if (err < 0) {
			free(m->saved);
			m->saved = NULL;
			return err;
		}
	}
	/* Replayed writes log themselves anew. */
	m->log = (struct mapped_log){ 0 };
	at = 0;
	for (size_t i = 0; i < old.n && err == 0; i++) {
		struct iovec v = { m->saved + at, old.e[i].length };

		if (old.e[i].zeroes) {
			err = block_op(m, MICA__BLOCK_OP_KIND__BLOCK_OP_ZEROES, old.e[i].offset,
				       old.e[i].length);
			if (err == 0)
				err = log_add(m, old.e[i].offset, old.e[i].length, 0, true);
			continue;
		}
		at += old.e[i].length;
		err = mapped_writev(m, &v, 1, old.e[i].offset);
	}
	if (err < 0) {
		/* Again with the next blockd, from the saved copy. */
		free(m->log.e);
		m->log = old;
		return err;
	}
	log_info("disk %u: replayed %zu unflushed allocations (%" PRIu64 " bytes) through the "
		 "new mica-blockd", m->index, old.n, old.bytes);
	free(old.e);
	free(m->saved);
	m->saved = NULL;
	return 0;
}

/* The new blockd will not serve this disk: requests fail from now on
 * (parked ones too, once resumed) instead of waiting for a blockd that
 * may never come; said once. */
static int refused(struct vblk_mapped *m, int err, const char *why)
{
	log_warnx("disk %u: the new mica-blockd %s; its requests fail with I/O errors "
		  "until a mica-blockd serves it again", m->index, why);
	close(m->chan);
	m->chan = -1;
	m->refused = true;
	cache_clear(m);
	return err;
}

int vblk_mapped_reconnect(struct vblk_mapped *m, int chan)
{
	char why[IPC_REASON_MAX] = "", what[IPC_REASON_MAX + 32];
	struct vblk_opened o;
	int err;

	if (m->chan >= 0)
		close(m->chan);
	m->chan = chan;
	err = vblk_block_open(chan, m->index, m->bounce_fd, &o, why, sizeof(why));
	if (err < 0 && is_disconnect(err)) {
		/* It died too: mica restarts it, requests wait on. */
		log_warnx("disk %u: the new mica-blockd went away (%s); waiting for the next",
			  m->index, strerror(-err));
		close(m->chan);
		m->chan = -1;
		return err;
	}
	if (err < 0) {
		snprintf(what, sizeof(what), "gave no image (%s)",
			 why[0] ? why : strerror(-err));
		return refused(m, err, what);
	}
	/* Same image (mica keeps the files open across blockd restarts): keep
	 * our fds, which io_uring uses. */
	if (o.nfds != m->nfiles || o.size != m->size) {
		err = -EIO;
	} else {
		for (unsigned i = 0; i < o.nfds; i++)
			if (!same_file(o.fds[i], m->fds[i]))
				err = -EIO;
	}
	vblk_opened_close(&o);
	if (err < 0)
		return refused(m, err, "serves another image");
	m->refused = false;
	cache_clear(m);
	m->generation = o.generation;
	err = replay(m);
	if (err < 0 && m->chan >= 0) {
		log_warnx("disk %u: unflushed writes could not be replayed (%s): flushes fail "
			  "from now on", m->index, strerror(-err));
		m->lost = true;
		err = 0;
	}
	return err;
}

int vblk_mapped_takeover(struct vblk_mapped *m, struct vblk_dev *b, int chan)
{
	int err = vblk_mapped_reconnect(m, chan);

	if (err == 0)
		log_info("disk %u: mica-blockd is back; resuming", m->index);
	/* Parked requests go on: served, failed (refused), or parked again
	 * (the new blockd died too). */
	vblk_resume(b);
	return err;
}

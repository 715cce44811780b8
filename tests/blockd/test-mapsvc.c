/* mica-blockd's mapping service (blockd/mapsvc.c) driven over a real
 * SEQPACKET socketpair the way mica-blk drives it: the chain's fds, maps,
 * the two-phase write, flush, discard, compressed reads into the bounce
 * buffer; and what a hostile mica-blk may send (out-of-range requests,
 * unknown grants, writes to a read-only disk, an unsealed bounce buffer)
 * answered with errors, the image left consistent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/cutest.h"
#include "blockd/mapsvc.c"

#define DISK_SIZE (4u << 20)

static char dir[] = "/tmp/mica-test-mapsvc-XXXXXX";
static char image[128];
static int sv[2];                  /* [0] our mica-blk end, [1] blockd's */
static struct mapsvc_disk disk;

/* Send ENV from "mica-blk" (with FD when >= 0), let blockd answer it, and
 * receive the answer. */
static int roundtrip(Mica__Envelope *env, int fd, struct ipc_msg *reply)
{
	char why[IPC_REASON_MAX];
	struct ipc_msg req;
	int err;

	env->seq = 7;
	CU_ASSERT_FATAL(ipc_send(sv[0], env, &fd, fd >= 0) == 0);
	CU_ASSERT_FATAL(ipc_recv(sv[1], &req, why, sizeof(why)) == 0);
	if (req.env->body_case == MICA__ENVELOPE__BODY_BLOCK_OPEN)
		err = mapsvc_open(&disk, sv[1], req.env, req.nfds ? req.fds[0] : -1);
	else
		err = mapsvc_serve(&disk, sv[1], req.env);
	ipc_msg_free(&req);
	CU_ASSERT_FATAL(err == 0);
	return ipc_recv(sv[0], reply, why, sizeof(why));
}

/* The errno of a Result answer (0 for success). */
static int result_of(Mica__Envelope *env)
{
	struct ipc_msg reply;
	int err;

	CU_ASSERT_FATAL(roundtrip(env, -1, &reply) == 0);
	CU_ASSERT_FATAL(reply.env->body_case == MICA__ENVELOPE__BODY_RESULT);
	err = reply.env->result->errno_value;
	ipc_msg_free(&reply);
	return err;
}

static int op(Mica__BlockOpKind kind, uint64_t off, uint64_t len)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockOp req = MICA__BLOCK_OP__INIT;

	req.op = kind;
	req.offset = off;
	req.length = len;
	env.body_case = MICA__ENVELOPE__BODY_BLOCK_OP;
	env.block_op = &req;
	return result_of(&env);
}

static int done(uint64_t grant, bool abort)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockWriteDone req = MICA__BLOCK_WRITE_DONE__INIT;

	req.grant = grant;
	req.abort = abort;
	env.body_case = MICA__ENVELOPE__BODY_BLOCK_WRITE_DONE;
	env.block_write_done = &req;
	return result_of(&env);
}

/* Prepare; 0 with *g filled (the caller frees *msg), or the errno. */
static int prepare(uint64_t off, uint64_t len, struct ipc_msg *msg,
		   const Mica__BlockWriteGrant **g)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockWritePrepare req = MICA__BLOCK_WRITE_PREPARE__INIT;
	int err;

	req.offset = off;
	req.length = len;
	env.body_case = MICA__ENVELOPE__BODY_BLOCK_WRITE_PREPARE;
	env.block_write_prepare = &req;
	CU_ASSERT_FATAL(roundtrip(&env, -1, msg) == 0);
	if (msg->env->body_case == MICA__ENVELOPE__BODY_BLOCK_WRITE_GRANT) {
		*g = msg->env->block_write_grant;
		return 0;
	}
	CU_ASSERT_FATAL(msg->env->body_case == MICA__ENVELOPE__BODY_RESULT);
	err = msg->env->result->errno_value;
	ipc_msg_free(msg);
	return err;
}

/* The first extent blockd maps at OFF. */
static Mica__BlockExtent map_first(uint64_t off, uint64_t len, int *err)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockMap req = MICA__BLOCK_MAP__INIT;
	Mica__BlockExtent e = MICA__BLOCK_EXTENT__INIT;
	struct ipc_msg reply;

	req.offset = off;
	req.length = len;
	env.body_case = MICA__ENVELOPE__BODY_BLOCK_MAP;
	env.block_map = &req;
	CU_ASSERT_FATAL(roundtrip(&env, -1, &reply) == 0);
	*err = 0;
	if (reply.env->body_case == MICA__ENVELOPE__BODY_BLOCK_MAP_REPLY)
		e = *reply.env->block_map_reply->extents[0];
	else
		*err = reply.env->result->errno_value;
	ipc_msg_free(&reply);
	return e;
}

static void open_disk(bool read_only)
{
	CU_ASSERT_FATAL(blk_open(image, "qcow2", read_only ? 0 : BLK_OPEN_RDWR, &disk.img) == 0);
	disk.name = image;
	disk.read_only = read_only;
}

static void close_disk(void)
{
	mapsvc_close(&disk);
	blk_close(disk.img);
	memset(&disk, 0, sizeof(disk));
}

static int bounce_memfd(bool sealed, uint8_t **map)
{
	int fd = memfd_create("bounce", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	if (sealed)
		CU_ASSERT_FATAL(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
	*map = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CU_ASSERT_FATAL(*map != MAP_FAILED);
	return fd;
}

static int block_open(int bounce_fd, struct ipc_msg *reply)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockOpen req = MICA__BLOCK_OPEN__INIT;

	req.mapping = true;
	req.bounce_bytes = bounce_fd >= 0 ? 1 << 20 : 0;
	env.body_case = MICA__ENVELOPE__BODY_BLOCK_OPEN;
	env.block_open = &req;
	return roundtrip(&env, bounce_fd, reply);
}

/* Allocate through a grant, write like mica-blk, commit; read back the
 * way mica-blk would (map, then pread on the fd it was given). */
static void test_two_phase_write_and_map(void)
{
	const Mica__BlockWriteGrant *g;
	struct ipc_msg opened, grant;
	uint8_t data[8192], back[8192];
	Mica__BlockExtent e;
	int fd, err;

	open_disk(false);
	CU_ASSERT_FATAL(block_open(-1, &opened) == 0);
	CU_ASSERT_FATAL(opened.env->body_case == MICA__ENVELOPE__BODY_BLOCK_OPENED);
	CU_ASSERT_EQUAL(opened.env->block_opened->files, 1);
	CU_ASSERT_EQUAL(opened.env->block_opened->size_bytes, DISK_SIZE);
	fd = ipc_msg_take_fd(&opened, 0);
	ipc_msg_free(&opened);
	e = map_first(65536, 8192, &err);
	CU_ASSERT(err == 0 && e.kind == MAPSVC_EXTENT_ZERO);
	/* half a cluster: blockd copies the other half in */
	CU_ASSERT_FATAL(prepare(65536 + 4096, 8192, &grant, &g) == 0);
	CU_ASSERT(!g->in_place && g->grant != 0 && g->length == 8192);
	memset(data, 0xab, sizeof(data));
	CU_ASSERT(pwrite(fd, data, sizeof(data), g->host_offset) == sizeof(data));
	/* not linked yet: readers still see zeroes */
	e = map_first(65536 + 4096, 8192, &err);
	CU_ASSERT(err == 0 && e.kind == MAPSVC_EXTENT_ZERO);
	CU_ASSERT_EQUAL(done(g->grant, false), 0);
	CU_ASSERT_EQUAL(done(g->grant, false), ENOENT);       /* only once */
	ipc_msg_free(&grant);
	e = map_first(65536 + 4096, 8192, &err);
	CU_ASSERT(err == 0 && e.kind == MAPSVC_EXTENT_DATA && e.file == 0 && e.writable);
	CU_ASSERT(pread(fd, back, sizeof(back), e.host_offset) == sizeof(back));
	CU_ASSERT(memcmp(back, data, sizeof(back)) == 0);
	/* the same range again is owned now: in place, no grant */
	CU_ASSERT_FATAL(prepare(65536 + 4096, 4096, &grant, &g) == 0);
	CU_ASSERT(g->in_place && g->grant == 0 && g->host_offset == e.host_offset);
	ipc_msg_free(&grant);
	CU_ASSERT_EQUAL(op(MICA__BLOCK_OP_KIND__BLOCK_OP_FLUSH, 0, 0), 0);
	/* write-zeroes and discard bump the generation mica-blk checks */
	CU_ASSERT_EQUAL(op(MICA__BLOCK_OP_KIND__BLOCK_OP_ZEROES, 65536, 65536), 0);
	CU_ASSERT_EQUAL(disk.generation, 1);
	e = map_first(65536, 65536, &err);
	CU_ASSERT(err == 0 && e.kind == MAPSVC_EXTENT_ZERO);
	close(fd);
	close_disk();
}

/* A prepared grant that mica-blk never finishes (it died) is given back
 * when its channel goes; the image has no leak or corruption. */
static void test_grant_of_dead_blk_is_aborted(void)
{
	const Mica__BlockWriteGrant *g;
	struct blk_check_result res = { .quiet = true };
	struct ipc_msg grant;

	open_disk(false);
	CU_ASSERT_FATAL(prepare(3 << 20, 65536, &grant, &g) == 0);
	CU_ASSERT(!g->in_place);
	ipc_msg_free(&grant);
	mapsvc_channel_lost(&disk);
	CU_ASSERT_EQUAL(op(MICA__BLOCK_OP_KIND__BLOCK_OP_FLUSH, 0, 0), 0);
	CU_ASSERT_EQUAL(blk_check(disk.img, 0, &res), 0);
	CU_ASSERT_EQUAL(res.corruptions, 0);
	CU_ASSERT_EQUAL(res.leaks, 0);
	close_disk();
}

/* What a hostile or broken mica-blk may ask. */
static void test_hostile_requests(void)
{
	const Mica__BlockWriteGrant *g;
	struct ipc_msg reply, grant;
	uint8_t *bounce;
	int err, fd;

	open_disk(false);
	map_first(DISK_SIZE - 512, 1024, &err);
	CU_ASSERT_EQUAL(err, EINVAL);                         /* past the end */
	CU_ASSERT_EQUAL(prepare(DISK_SIZE, 512, &grant, &g), EINVAL);
	CU_ASSERT_EQUAL(op(MICA__BLOCK_OP_KIND__BLOCK_OP_DISCARD, DISK_SIZE - 512, 1024),
			EINVAL);
	CU_ASSERT_EQUAL(done(12345, false), ENOENT);          /* unknown grant */
	CU_ASSERT_EQUAL(done(0, true), ENOENT);
	/* reads into a bounce buffer it never gave */
	CU_ASSERT_EQUAL(op(MICA__BLOCK_OP_KIND__BLOCK_OP_READ, 0, 4096), EINVAL);
	/* an unsealed bounce buffer could be shrunk under blockd: refused */
	fd = bounce_memfd(false, &bounce);
	CU_ASSERT_FATAL(block_open(fd, &reply) == 0);
	CU_ASSERT(reply.env->body_case == MICA__ENVELOPE__BODY_RESULT &&
		  reply.env->result->errno_value == EINVAL);
	ipc_msg_free(&reply);
	close(fd);
	munmap(bounce, 1 << 20);
	/* a sealed one works, but not past its size */
	fd = bounce_memfd(true, &bounce);
	CU_ASSERT_FATAL(block_open(fd, &reply) == 0);
	CU_ASSERT(reply.env->body_case == MICA__ENVELOPE__BODY_BLOCK_OPENED);
	ipc_msg_free(&reply);
	memset(bounce, 0xee, 4096);
	CU_ASSERT_EQUAL(op(MICA__BLOCK_OP_KIND__BLOCK_OP_READ, 0, 4096), 0);
	CU_ASSERT(bounce[0] == 0 && bounce[4095] == 0);
	CU_ASSERT_EQUAL(op(MICA__BLOCK_OP_KIND__BLOCK_OP_READ, 0, 2 << 20), EINVAL);
	close(fd);
	munmap(bounce, 1 << 20);
	close_disk();
	/* read-only: no grants, no zeroes, no discard */
	open_disk(true);
	CU_ASSERT_EQUAL(prepare(0, 4096, &grant, &g), EROFS);
	CU_ASSERT_EQUAL(op(MICA__BLOCK_OP_KIND__BLOCK_OP_ZEROES, 0, 4096), EROFS);
	CU_ASSERT_EQUAL(op(MICA__BLOCK_OP_KIND__BLOCK_OP_DISCARD, 0, 4096), EROFS);
	close_disk();
}

int main(void)
{
	static const struct cutest_case cases[] = {
		CUTEST(test_two_phase_write_and_map),
		CUTEST(test_grant_of_dead_blk_is_aborted),
		CUTEST(test_hostile_requests),
	};
	struct blk_create_opts o = { .size = DISK_SIZE };
	char cmd[160];
	int rc;

	if (mkdtemp(dir) == NULL || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 2;
	snprintf(image, sizeof(image), "%s/disk.qcow2", dir);
	if (blk_create(image, "qcow2", &o) < 0)
		return 2;
	rc = cutest_run("mapsvc", cases, sizeof(cases) / sizeof(cases[0]));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 2;
	return rc;
}

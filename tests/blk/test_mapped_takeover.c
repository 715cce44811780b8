/* mica-blk's requests across a mica-blockd restart (backend_mapped.c,
 * vblk_mapped_takeover): requests parked while blockd is away complete
 * with VIRTIO_BLK_S_IOERR when the new blockd refuses the disk, as do new
 * ones, and a later blockd that opens the disk again serves them.  The
 * blockds are forked children answering on a SEQPACKET socketpair; the
 * requests are built in memory.  Includes virtio_blk.c for its request
 * pool. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/cutest.h"
#include "dev-virtio-blk/virtio_blk.c"
#include "dev-virtio-blk/backend_mapped.h"

#define DISK_BYTES (1u << 20)

static char image[] = "/tmp/mica-test-takeover-XXXXXX";
static int image_fd = -1;
static struct vblk_mapped mapped;
static struct vblk_dev blk;

/* One guest request: header out, data, status in. */
struct request {
	struct vblk_req *r;
	struct virtio_blk_outhdr hdr;
	uint8_t data[4096];
	uint8_t status;
};

static void request_init(struct request *q, uint32_t type)
{
	struct vq_elem *e;

	memset(q, 0, sizeof(*q));
	q->r = req_get(&blk);
	CU_ASSERT_FATAL(q->r != NULL);
	q->r->queue = 0;
	q->hdr.type = type;
	q->status = 0xaa;                   /* neither OK nor IOERR */
	e = &q->r->elem;
	memset(e, 0, sizeof(*e));
	e->iov[0] = (struct iovec){ &q->hdr, sizeof(q->hdr) };
	e->nout = 1;
	e->out_len = sizeof(q->hdr);
	if (type == VIRTIO_BLK_T_IN) {
		e->iov[1] = (struct iovec){ q->data, sizeof(q->data) };
		e->iov[2] = (struct iovec){ &q->status, 1 };
		e->nin = 2;
		e->in_len = sizeof(q->data) + 1;
	} else {
		e->iov[1] = (struct iovec){ &q->status, 1 };
		e->nin = 1;
		e->in_len = 1;
	}
}

/* Handle the request: VBLK_ASYNC when it parked (the pool keeps it),
 * else the bytes written (the request goes back to the pool). */
static int request_handle(struct request *q)
{
	int written = vblk_handle_request(&blk, &q->r->elem);

	if (written != VBLK_ASYNC)
		req_put(&blk, q->r);
	return written;
}

/* A blockd in a child: refuses BlockOpen with `refuse_errno`, or answers
 * with the image and then every BlockOp with success.  Returns our end. */
static int blockd_child(int refuse_errno, pid_t *pid)
{
	int sv[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	*pid = fork();
	CU_ASSERT_FATAL(*pid >= 0);
	if (*pid == 0) {
		struct ipc_msg msg;
		char why[IPC_REASON_MAX];

		close(sv[0]);
		while (ipc_recv(sv[1], &msg, why, sizeof(why)) == 0) {
			Mica__Envelope env = MICA__ENVELOPE__INIT;
			Mica__BlockOpened o = MICA__BLOCK_OPENED__INIT;
			uint64_t seq = msg.env->seq;

			if (msg.env->body_case == MICA__ENVELOPE__BODY_BLOCK_OPEN && refuse_errno) {
				ipc_send_result(sv[1], seq, refuse_errno, "disk 0: no image here");
			} else if (msg.env->body_case == MICA__ENVELOPE__BODY_BLOCK_OPEN) {
				o.index = 0;
				o.format = (char *)"qcow2";
				o.size_bytes = DISK_BYTES;
				o.files = 1;
				o.cluster_size = 65536;
				o.generation = 2;
				env.seq = seq;
				env.nfds = 1;
				env.body_case = MICA__ENVELOPE__BODY_BLOCK_OPENED;
				env.block_opened = &o;
				ipc_send(sv[1], &env, &image_fd, 1);
			} else {
				ipc_send_result(sv[1], seq, 0, "done");
			}
			ipc_msg_free(&msg);
		}
		_exit(0);
	}
	close(sv[1]);
	return sv[0];
}

static int setup(void)
{
	struct vblk_opened o = { .size = DISK_BYTES, .generation = 1, .nfds = 1 };

	image_fd = mkstemp(image);
	if (image_fd < 0 || ftruncate(image_fd, DISK_BYTES) < 0)
		return 1;
	o.fds[0] = dup(image_fd);
	mapped.bounce_fd = -1;
	/* The blockd that opened the disk is gone (chan -1). */
	if (vblk_mapped_init(&mapped, -1, 0, &o) < 0)
		return 1;
	return vblk_init(&blk, &vblk_mapped_ops, &mapped, DISK_BYTES, false, 1, "takeover") != 0;
}

static void test_refused_then_served(void)
{
	struct request read_q, flush_q, late_q;
	pid_t pid;
	int chan;

	log_quiet(true);
	/* blockd away: a read and a flush park. */
	request_init(&read_q, VIRTIO_BLK_T_IN);
	request_init(&flush_q, VIRTIO_BLK_T_FLUSH);
	CU_ASSERT_EQUAL(request_handle(&read_q), VBLK_ASYNC);
	CU_ASSERT_EQUAL(request_handle(&flush_q), VBLK_ASYNC);
	CU_ASSERT(blk.paused && blk.parked != NULL);
	CU_ASSERT_EQUAL(read_q.status, 0xaa);

	/* The restarted blockd refuses the disk: both complete with IOERR. */
	chan = blockd_child(ENOENT, &pid);
	CU_ASSERT_EQUAL(vblk_mapped_takeover(&mapped, &blk, chan), -ENOENT);
	CU_ASSERT_EQUAL(read_q.status, VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(flush_q.status, VIRTIO_BLK_S_IOERR);
	CU_ASSERT(blk.parked == NULL && !blk.paused);
	CU_ASSERT(mapped.refused);
	waitpid(pid, NULL, 0);

	/* So does a new request, at once. */
	request_init(&late_q, VIRTIO_BLK_T_IN);
	CU_ASSERT_EQUAL(request_handle(&late_q), 1);      /* the status byte only */
	CU_ASSERT_EQUAL(late_q.status, VIRTIO_BLK_S_IOERR);

	/* A later blockd that opens the disk serves it again. */
	chan = blockd_child(0, &pid);
	CU_ASSERT_EQUAL(vblk_mapped_takeover(&mapped, &blk, chan), 0);
	CU_ASSERT(!mapped.refused);
	request_init(&flush_q, VIRTIO_BLK_T_FLUSH);
	CU_ASSERT_EQUAL(request_handle(&flush_q), 1);
	CU_ASSERT_EQUAL(flush_q.status, VIRTIO_BLK_S_OK);
	close(mapped.chan);
	mapped.chan = -1;
	waitpid(pid, NULL, 0);
	log_quiet(false);
}

/* Parked requests whose new blockd dies before answering stay parked: a
 * further blockd will come. */
static void test_new_blockd_dies(void)
{
	struct request q;
	pid_t pid;
	int sv[2];

	log_quiet(true);
	request_init(&q, VIRTIO_BLK_T_FLUSH);
	CU_ASSERT_EQUAL(request_handle(&q), VBLK_ASYNC);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	close(sv[1]);                       /* dead before it answers */
	CU_ASSERT(vblk_mapped_takeover(&mapped, &blk, sv[0]) < 0);
	CU_ASSERT_EQUAL(q.status, 0xaa);
	CU_ASSERT(blk.paused && blk.parked == q.r);
	/* ... which serves it. */
	sv[0] = blockd_child(0, &pid);
	CU_ASSERT_EQUAL(vblk_mapped_takeover(&mapped, &blk, sv[0]), 0);
	CU_ASSERT_EQUAL(q.status, VIRTIO_BLK_S_OK);
	CU_ASSERT(blk.parked == NULL && !blk.paused);
	close(mapped.chan);
	mapped.chan = -1;
	waitpid(pid, NULL, 0);
	log_quiet(false);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		CUTEST(test_refused_then_served),
		CUTEST(test_new_blockd_dies),
	};
	int rc;

	if (setup() != 0) {
		perror("setup");
		return 1;
	}
	rc = cutest_run("mapped-takeover", cases, sizeof(cases) / sizeof(cases[0]));
	unlink(image);
	return rc;
}

/* vhost-user-blk backends driven by tests/lib/vu_frontend: mica-blk
 * always, and qemu-storage-daemon (the peer) with the same data tests
 * when it is installed.  Each test starts its own backend process on a
 * fresh image. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/cutest.h"
#include "tests/lib/testutil.h"
#include "tests/lib/vu_frontend.h"
#include "dev-virtio-blk/virtio_blk.h"
#include "ipc/virtq.h"

#define IMAGE_SIZE (64ULL << 20)
#define MEM_SIZE   (32ULL << 20)

static char dir[] = "/tmp/mica-test-blk-XXXXXX";
static char image[256], sock[256];
static pid_t backend = -1;
static struct vu_frontend fe;
static uint16_t next_id;


static void make_image(void)
{
	int fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, IMAGE_SIZE) == 0);
	close(fd);
}

static void stop_backend(void)
{
	vuf_close(&fe);
	if (backend > 0) {
		kill(backend, SIGTERM);
		waitpid(backend, NULL, 0);
	}
	backend = -1;
}

static void spawn_backend(char *const argv[])
{
	unlink(sock);
	backend = test_spawn(argv);
}

/* Start argv[0] with the rest, wait for its socket, start the rings. */
static int start(char *const argv[], unsigned queues, bool packed)
{
	int err;

	stop_backend();
	spawn_backend(argv);
	err = vuf_connect(&fe, sock, 5000);
	if (err == 0)
		err = vuf_start(&fe, MEM_SIZE, queues, 64, packed, ~0ULL);
	next_id = 0;
	return err;
}

static const char *aio_mode = "io_uring";

static int start_mica(unsigned queues, bool packed, bool read_only)
{
	char q[8];
	char *argv[] = { (char *)test_program("mica-blk"), (char *)"--socket-path", sock,
			 (char *)"--blk-file", image, (char *)"--num-queues", q,
			 (char *)"--serial", (char *)"mica-test-serial",
			 (char *)"--aio", (char *)aio_mode,
			 read_only ? (char *)"--read-only" : NULL, NULL };

	snprintf(q, sizeof(q), "%u", queues);
	make_image();
	return start(argv, queues, packed);
}

/* One request: header, optional data, status.  Returns the status byte
 * or -errno; *used gets the length the device reported. */
static int blk_io(unsigned q, uint32_t type, uint64_t sector, void *buf, uint32_t len,
		  uint32_t *used)
{
	uint64_t base = vuf_data_gpa(&fe) + (uint64_t)q * (8 << 20);
	struct virtio_blk_outhdr *h = vuf_gpa(&fe, base);
	uint8_t *data = vuf_gpa(&fe, base + 4096);
	uint8_t *status = vuf_gpa(&fe, base + 4096 + len);
	struct vqdrv_buf b[3];
	unsigned n = 0;
	uint16_t id;
	uint32_t ulen;
	bool write = type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
		     type == VIRTIO_BLK_T_WRITE_ZEROES;
	int err;

	h->type = type;
	h->ioprio = 0;
	h->sector = sector;
	*status = 0xff;
	b[n++] = (struct vqdrv_buf){ base, sizeof(*h), false };
	if (len > 0) {
		if (write)
			memcpy(data, buf, len);
		b[n++] = (struct vqdrv_buf){ base + 4096, len, !write };
	}
	b[n++] = (struct vqdrv_buf){ base + 4096 + len, 1, true };
	if (vqdrv_add(&fe.q[q], b, n, next_id++ % 64, NULL, 0) < 0)
		return -ENOSPC;
	err = vuf_kick(&fe, q);
	if (err == 0)
		err = vuf_wait_used(&fe, q, &id, &ulen, 5000);
	if (err < 0)
		return err;
	if (!write && len > 0 && buf != NULL)
		memcpy(buf, data, len);
	if (used != NULL)
		*used = ulen;
	return *status;
}

static void pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 9));
}

/* Write, read back, and check the file itself: for any backend. */
static void data_roundtrip(unsigned q)
{
	static uint8_t out[65536], in[65536], file[65536];
	uint32_t used;
	int fd;

	pattern(out, sizeof(out), q + 1);
	CU_ASSERT_EQUAL(blk_io(q, VIRTIO_BLK_T_OUT, 100, out, sizeof(out), NULL), 0);
	CU_ASSERT_EQUAL(blk_io(q, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), 0);
	memset(in, 0, sizeof(in));
	CU_ASSERT_EQUAL(blk_io(q, VIRTIO_BLK_T_IN, 100, in, sizeof(in), &used), 0);
	CU_ASSERT_EQUAL(used, sizeof(in) + 1);
	CU_ASSERT(memcmp(in, out, sizeof(in)) == 0);
	fd = open(image, O_RDONLY | O_CLOEXEC);
	CU_ASSERT(pread(fd, file, sizeof(file), 100 * 512) == sizeof(file));
	CU_ASSERT(memcmp(file, out, sizeof(file)) == 0);
	close(fd);
}

static void test_config(void)
{
	struct virtio_blk_config c;

	CU_ASSERT_FATAL(start_mica(2, false, false) == 0);
	CU_ASSERT_EQUAL(vuf_get_config(&fe, 0, &c, sizeof(c)), 0);
	CU_ASSERT_EQUAL(c.capacity, IMAGE_SIZE / 512);
	CU_ASSERT_EQUAL(c.num_queues, 2);
	CU_ASSERT_EQUAL(c.blk_size, 512);
	CU_ASSERT(c.seg_max > 0);
	CU_ASSERT(fe.features & (1ULL << VIRTIO_BLK_F_FLUSH));
	CU_ASSERT_FALSE(fe.features & (1ULL << VIRTIO_BLK_F_RO));
	stop_backend();
}

static void test_rw_split(void)
{
	CU_ASSERT_FATAL(start_mica(1, false, false) == 0);
	data_roundtrip(0);
	stop_backend();
}

/* The synchronous data path (--aio sync) too. */
static void test_rw_sync(void)
{
	aio_mode = "sync";
	CU_ASSERT_FATAL(start_mica(2, false, false) == 0);
	data_roundtrip(0);
	data_roundtrip(1);
	stop_backend();
	aio_mode = "io_uring";
}

/* Many requests in flight at once through io_uring, completing in any
 * order; each read must return what was written there. */
static void test_many_in_flight(void)
{
	enum { N = 20, BS = 4096 };    /* 3 descriptors each in a ring of 64 */
	uint64_t base = vuf_data_gpa(&fe);
	uint16_t id;
	uint32_t len;

	CU_ASSERT_FATAL(start_mica(1, false, false) == 0);
	base = vuf_data_gpa(&fe);
	for (int pass = 0; pass < 2; pass++) {
		bool write = pass == 0;

		for (unsigned i = 0; i < N; i++) {
			uint64_t slot = base + i * (BS + 1024);
			struct virtio_blk_outhdr *h = vuf_gpa(&fe, slot);
			uint8_t *data = vuf_gpa(&fe, slot + 512);
			struct vqdrv_buf b[3] = {
				{ slot, sizeof(*h), false }, { slot + 512, BS, !write },
				{ slot + 512 + BS, 1, true },
			};

			h->type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
			h->sector = (uint64_t)(N - i) * 64;    /* scattered, descending */
			memset(data, write ? (int)(i + 1) : 0, BS);
			CU_ASSERT_FATAL(vqdrv_add(&fe.q[0], b, 3, i, NULL, 0) >= 0);
		}
		vuf_kick(&fe, 0);
		for (unsigned done = 0; done < N; done++)
			CU_ASSERT_FATAL(vuf_wait_used(&fe, 0, &id, &len, 5000) == 0);
	}
	for (unsigned i = 0; i < N; i++) {
		uint8_t *data = vuf_gpa(&fe, base + i * (BS + 1024) + 512);
		uint8_t *status = vuf_gpa(&fe, base + i * (BS + 1024) + 512 + BS);

		CU_ASSERT_EQUAL(*status, 0);
		CU_ASSERT(data[0] == i + 1 && data[BS - 1] == i + 1);
	}
	stop_backend();
}

static void test_rw_packed(void)
{
	CU_ASSERT_FATAL(start_mica(1, true, false) == 0);
	CU_ASSERT((fe.features & (1ULL << VIRTIO_F_RING_PACKED)) != 0);
	for (int i = 0; i < 200; i++) {        /* wraps the 64-entry ring */
		int st = blk_io(0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL);

		if (st != 0)
			printf("  flush %d: %d\n", i, st);
		CU_ASSERT_EQUAL_FATAL(st, 0);
	}
	data_roundtrip(0);
	stop_backend();
}

static void test_multiqueue(void)
{
	CU_ASSERT_FATAL(start_mica(2, false, false) == 0);
	data_roundtrip(0);
	data_roundtrip(1);
	stop_backend();
}

static void test_requests(void)
{
	char id[VIRTIO_BLK_ID_BYTES + 1] = "";
	uint8_t buf[4096], zero[4096] = { 0 };

	CU_ASSERT_FATAL(start_mica(1, false, false) == 0);
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, NULL), 0);
	CU_ASSERT_STRING_EQUAL(id, "mica-test-serial");
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_IN, IMAGE_SIZE / 512, buf, 512, NULL),
			VIRTIO_BLK_S_IOERR);                   /* past the end */
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_IN, IMAGE_SIZE / 512 - 1, buf, 1024, NULL),
			VIRTIO_BLK_S_IOERR);                   /* straddles the end */
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_IN, 0, buf, 100, NULL),
			VIRTIO_BLK_S_IOERR);                   /* not whole sectors */
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_IN, ~0ULL / 256, buf, 512, NULL),
			VIRTIO_BLK_S_IOERR);                   /* offset overflows */
	CU_ASSERT_EQUAL(blk_io(0, 99, 0, NULL, 0, NULL), VIRTIO_BLK_S_UNSUPP);

	/* Write, then zero and discard it. */
	memset(buf, 0x5a, sizeof(buf));
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_OUT, 8, buf, sizeof(buf), NULL), 0);
	{
		struct virtio_blk_discard_write_zeroes seg = { 8, 8, 0 };

		CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_WRITE_ZEROES, 0, &seg, sizeof(seg),
				       NULL), 0);
		CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_IN, 8, buf, sizeof(buf), NULL), 0);
		CU_ASSERT(memcmp(buf, zero, sizeof(buf)) == 0);
		seg.flags = 1;
		CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg), NULL),
				VIRTIO_BLK_S_UNSUPP);           /* unmap flag on discard */
		seg.flags = 0;
		seg.sector = IMAGE_SIZE / 512;
		CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg), NULL),
				VIRTIO_BLK_S_IOERR);
	}
	stop_backend();
}

static void test_read_only(void)
{
	uint8_t buf[512] = { 1 };

	CU_ASSERT_FATAL(start_mica(1, false, true) == 0);
	CU_ASSERT(fe.features & (1ULL << VIRTIO_BLK_F_RO));
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf), NULL),
			VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf), NULL), 0);
	stop_backend();
}

/* A chain pointing outside guest memory breaks the queue (error eventfd);
 * the backend survives and serves the next front-end. */
static void test_malformed_then_reconnect(void)
{
	struct vqdrv_buf bad[2] = {
		{ MEM_SIZE + 4096, 16, false }, { vuf_data_gpa(&fe), 1, true },
	};
	uint8_t out[4096], in[4096];
	int status;

	CU_ASSERT_FATAL(start_mica(1, false, false) == 0);
	pattern(out, sizeof(out), 9);
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_OUT, 0, out, sizeof(out), NULL), 0);
	bad[1].gpa = vuf_data_gpa(&fe);
	vqdrv_add(&fe.q[0], bad, 2, 63, NULL, 0);
	vuf_kick(&fe, 0);
	CU_ASSERT(vuf_error_signalled(&fe, 0));
	CU_ASSERT_EQUAL(kill(backend, 0), 0);           /* still alive */

	vuf_close(&fe);                                  /* the guest reboots */
	CU_ASSERT_FATAL(vuf_connect(&fe, sock, 2000) == 0);
	CU_ASSERT_FATAL(vuf_start(&fe, MEM_SIZE, 1, 64, false, ~0ULL) == 0);
	next_id = 0;
	status = blk_io(0, VIRTIO_BLK_T_IN, 0, in, sizeof(in), NULL);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT(memcmp(in, out, sizeof(in)) == 0);
	stop_backend();
}

/* Inflight tracking: requests a killed back-end had taken from the ring
 * and not completed are done by the next one, once. */
static void test_inflight_resubmit(void)
{
	char *argv[] = { (char *)test_program("mica-blk"), (char *)"--socket-path", sock,
			 (char *)"--blk-file", image, (char *)"--aio", (char *)"sync", NULL };
	uint64_t base;
	struct virtio_blk_outhdr *h;
	struct vq_inflight_split *r;
	struct vqdrv_buf b[3];
	uint8_t in[4096], want[4096];
	uint16_t id, used_before;
	uint32_t len;
	int head;

	stop_backend();
	make_image();
	spawn_backend(argv);
	CU_ASSERT_FATAL(vuf_connect(&fe, sock, 5000) == 0);
	fe.want_inflight = true;
	CU_ASSERT_FATAL(vuf_start(&fe, MEM_SIZE, 1, 64, false, ~0ULL) == 0);
	data_roundtrip(0);

	/* The back-end dies with a write in its hands: the write sits in the
	 * avail ring and the inflight buffer says it was taken. */
	kill(backend, SIGKILL);
	waitpid(backend, NULL, 0);
	base = vuf_data_gpa(&fe) + (1 << 20);
	h = vuf_gpa(&fe, base);
	h->type = VIRTIO_BLK_T_OUT;
	h->sector = 500;
	memset(want, 0x77, sizeof(want));
	memcpy(vuf_gpa(&fe, base + 512), want, sizeof(want));
	b[0] = (struct vqdrv_buf){ base, sizeof(*h), false };
	b[1] = (struct vqdrv_buf){ base + 512, sizeof(want), false };
	b[2] = (struct vqdrv_buf){ base + 512 + sizeof(want), 1, true };
	head = vqdrv_add(&fe.q[0], b, 3, 0, NULL, 0);
	CU_ASSERT_FATAL(head >= 0);
	r = (struct vq_inflight_split *)fe.inflight;
	CU_ASSERT_EQUAL(r->version, 1);
	CU_ASSERT_EQUAL(r->desc_num, 64);
	r->desc[head].counter = 1000;
	r->desc[head].inflight = 1;
	used_before = ((struct vring_used *)fe.q[0].used)->idx;

	spawn_backend(argv);
	CU_ASSERT_FATAL(vuf_resume(&fe, sock, 5000) == 0);
	/* Redone without a kick: the new back-end found it in the buffer. */
	CU_ASSERT_FATAL(vuf_wait_used(&fe, 0, &id, &len, 5000) == 0);
	CU_ASSERT_EQUAL(id, head);
	CU_ASSERT_EQUAL(*(uint8_t *)vuf_gpa(&fe, base + 512 + sizeof(want)), 0);
	CU_ASSERT_EQUAL(r->desc[head].inflight, 0);
	/* Not done twice, and the ring goes on. */
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_IN, 500, in, sizeof(in), NULL), 0);
	CU_ASSERT(memcmp(in, want, sizeof(in)) == 0);
	CU_ASSERT_EQUAL((uint16_t)(((struct vring_used *)fe.q[0].used)->idx - used_before), 2);
	stop_backend();
}

/* A header shorter than 16 bytes cannot be answered: queue broken. */
static void test_no_header(void)
{
	struct vqdrv_buf b[2] = { { 0, 8, false }, { 0, 1, true } };

	CU_ASSERT_FATAL(start_mica(1, false, false) == 0);
	b[0].gpa = b[1].gpa = vuf_data_gpa(&fe);
	vqdrv_add(&fe.q[0], b, 2, 0, NULL, 0);
	vuf_kick(&fe, 0);
	CU_ASSERT(vuf_error_signalled(&fe, 0));
	CU_ASSERT_EQUAL(kill(backend, 0), 0);
	stop_backend();
}


/* After stop_backend: mica-blk --mapping's mica-blockd child lets go of
 * the image lock when it sees its channel close, a moment later. */
static void wait_unlocked(const char *path)
{
	for (int i = 0; i < 100; i++) {
		if (test_run("qemu-img info %s >/dev/null 2>&1", path) == 0)
			return;
		usleep(50000);
	}
}

/* qcow2 over a raw backing file, made by qemu-img; reads fall through to
 * the backing file, writes land in the overlay (one of them half a
 * cluster: the rest is copied up); qemu-img check and qemu-io then agree
 * with what the guest saw.  MAPPING: through mica-blk --mapping, the
 * split of mica run (a mica-blockd child owns the metadata). */
static void qcow2_with_backing(bool mapping)
{
	char qcow2[300], base[300], fmtarg[] = "qcow2";
	char *argv[] = { (char *)test_program("mica-blk"), (char *)"--socket-path", sock,
			 (char *)"--blk-file", qcow2, (char *)"--format", fmtarg,
			 mapping ? (char *)"--mapping" : NULL, NULL };
	uint8_t buf[65536], want[65536];

	if (access("/usr/bin/qemu-img", X_OK) != 0 || access("/usr/bin/qemu-io", X_OK) != 0)
		CUTEST_SKIP("qemu-img/qemu-io not installed (package qemu-utils)");
	snprintf(base, sizeof(base), "%s/base%d.raw", dir, mapping);
	snprintf(qcow2, sizeof(qcow2), "%s/top%d.qcow2", dir, mapping);
	CU_ASSERT_FATAL(test_run("qemu-img create -q -f raw %s 64M && "
			    "qemu-io -f raw -c 'write -P 0x11 0 1M' %s >/dev/null && "
			    "qemu-img create -q -f qcow2 -F raw -b %s %s",
			    base, base, base, qcow2) == 0);
	CU_ASSERT_FATAL(start(argv, 1, false) == 0);
	memset(want, 0x11, sizeof(want));
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf), NULL), 0);
	CU_ASSERT(memcmp(buf, want, sizeof(buf)) == 0);           /* from backing */
	memset(buf, 0x22, sizeof(buf));
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_OUT, 2048, buf, sizeof(buf), NULL), 0);
	memset(buf, 0x33, 4096);
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_OUT, 8, buf, 4096, NULL), 0);
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), 0);
	stop_backend();
	wait_unlocked(qcow2);
	CU_ASSERT(test_run("qemu-img check -q %s", qcow2) == 0);
	CU_ASSERT(test_run("qemu-io -f qcow2 -c 'read -P 0x22 1M 64k' -c 'read -P 0x11 0 4k' "
		      "-c 'read -P 0x33 4k 4k' -c 'read -P 0x11 8k 1016k' "
		      "-c 'read -P 0 2M 1M' %s >/dev/null", qcow2) == 0);
	/* The backing file is untouched where the overlay was written. */
	CU_ASSERT(test_run("qemu-io -f raw -c 'read -P 0 1M 64k' %s >/dev/null", base) == 0);
}

static void test_qcow2_with_backing(void)
{
	qcow2_with_backing(false);
}

static void test_mapped_qcow2_with_backing(void)
{
	qcow2_with_backing(true);
}

#define MODEL_SIZE   (8u << 20)
#define MODEL_STEPS  400

/* Random writes, reads, write-zeroes, discards and flushes through the
 * mapping service on a qcow2 overlay over a compressed qcow2 base, checked
 * against a flat model after every read, then the image as qemu-img sees
 * it.  Discarded ranges read as zeroes or the old data: not compared.
 * MICA_MODEL_SEED and MICA_MODEL_STEPS widen it. */
static void test_mapped_model(void)
{
	static uint8_t model[MODEL_SIZE], known[MODEL_SIZE / 512], buf[256 << 10];
	char top[300], base[300], raw[300], out[300], fmtarg[] = "qcow2";
	char *argv[] = { (char *)test_program("mica-blk"), (char *)"--socket-path", sock,
			 (char *)"--blk-file", top, (char *)"--format", fmtarg,
			 (char *)"--mapping", NULL };
	unsigned seed = getenv("MICA_MODEL_SEED") ? atoi(getenv("MICA_MODEL_SEED")) : 12345;
	unsigned steps = getenv("MICA_MODEL_STEPS") ? atoi(getenv("MICA_MODEL_STEPS"))
						    : MODEL_STEPS;
	unsigned bad = 0;
	int fd, rc;

	if (access("/usr/bin/qemu-img", X_OK) != 0)
		CUTEST_SKIP("qemu-img not installed (package qemu-utils)");
	snprintf(raw, sizeof(raw), "%s/model-base.raw", dir);
	snprintf(base, sizeof(base), "%s/model-base.qcow2", dir);
	snprintf(top, sizeof(top), "%s/model-top.qcow2", dir);
	snprintf(out, sizeof(out), "%s/model-out.raw", dir);
	/* A base with data, zeroes and compressed clusters. */
	for (size_t i = 0; i < MODEL_SIZE; i++)
		model[i] = (i >> 16) % 3 == 0 ? 0 : (uint8_t)(i * 13 + (i >> 12));
	memset(known, 1, sizeof(known));
	fd = open(raw, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0 && pwrite(fd, model, MODEL_SIZE, 0) == MODEL_SIZE);
	close(fd);
	CU_ASSERT_FATAL(test_run("qemu-img convert -c -O qcow2 %s %s && "
			    "qemu-img create -q -f qcow2 -F qcow2 -b %s %s", raw, base,
			    base, top) == 0);
	CU_ASSERT_FATAL(start(argv, 1, false) == 0);
	for (unsigned step = 0; step < steps && bad == 0; step++) {
		unsigned op = rand_r(&seed) % 10;
		uint32_t sectors = 1 + rand_r(&seed) % (sizeof(buf) / 512);
		uint64_t sector = rand_r(&seed) % (MODEL_SIZE / 512 - sectors + 1);
		uint64_t off = sector * 512, len = sectors * 512ULL;
		struct virtio_blk_discard_write_zeroes seg = { sector, sectors, 0 };

		if (op < 4) {                                     /* write */
			for (uint64_t i = 0; i < len; i++)
				buf[i] = (uint8_t)rand_r(&seed);
			rc = blk_io(0, VIRTIO_BLK_T_OUT, sector, buf, len, NULL);
			memcpy(model + off, buf, len);
			memset(known + sector, 1, sectors);
		} else if (op < 8) {                              /* read */
			rc = blk_io(0, VIRTIO_BLK_T_IN, sector, buf, len, NULL);
			for (uint32_t i = 0; i < sectors && rc == 0; i++)
				if (known[sector + i] &&
				    memcmp(buf + i * 512, model + off + i * 512, 512) != 0) {
					fprintf(stderr, "step %u: sector %llu differs "
						"(%02x%02x%02x%02x, want %02x%02x%02x%02x)\n", step,
						(unsigned long long)(sector + i), buf[i * 512],
						buf[i * 512 + 1], buf[i * 512 + 2], buf[i * 512 + 3],
						model[off + i * 512], model[off + i * 512 + 1],
						model[off + i * 512 + 2], model[off + i * 512 + 3]);
					bad++;
					break;
				}
		} else if (op == 8) {                             /* zeroes or discard */
			bool zeroes = rand_r(&seed) % 2;

			seg.flags = zeroes ? rand_r(&seed) % 2 : 0;     /* unmap allowed */

			rc = blk_io(0, zeroes ? VIRTIO_BLK_T_WRITE_ZEROES : VIRTIO_BLK_T_DISCARD,
				    0, &seg, sizeof(seg), NULL);
			if (zeroes) {
				memset(model + off, 0, len);
				memset(known + sector, 1, sectors);
			} else {
				memset(known + sector, 0, sectors);
			}
		} else {
			rc = blk_io(0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL);
		}
		if (rc != 0) {
			fprintf(stderr, "step %u: op %u at sector %llu+%u: status %d\n", step, op,
				(unsigned long long)sector, sectors, rc);
			bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(blk_io(0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), 0);
	stop_backend();
	wait_unlocked(top);
	CU_ASSERT(test_run("qemu-img check -q %s", top) == 0);
	CU_ASSERT_FATAL(test_run("qemu-img convert -O raw %s %s", top, out) == 0);
	fd = open(out, O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	for (uint64_t s = 0; s < MODEL_SIZE / 512; s++) {
		uint8_t sec[512];

		CU_ASSERT_FATAL(pread(fd, sec, 512, s * 512) == 512);
		if (known[s] && memcmp(sec, model + s * 512, 512) != 0) {
			fprintf(stderr, "qemu-img reads sector %llu differently\n",
				(unsigned long long)s);
			CU_FAIL("image differs from the model");
			break;
		}
	}
	close(fd);
}

/* The peer: the same data test against qemu-storage-daemon. */
static void test_qemu_storage_daemon_peer(void)
{
	const char *qsd = "/usr/bin/qemu-storage-daemon";
	char blockdev[512], exp[512];
	char *argv[] = { (char *)qsd, (char *)"--blockdev", blockdev, (char *)"--export",
			 exp, NULL };

	if (access(qsd, X_OK) != 0)
		CUTEST_SKIP("qemu-storage-daemon not installed (package qemu-system-common)");
	make_image();
	snprintf(blockdev, sizeof(blockdev),
		 "driver=file,node-name=disk,filename=%s,cache.direct=off", image);
	snprintf(exp, sizeof(exp),
		 "type=vhost-user-blk,id=e0,node-name=disk,writable=on,"
		 "addr.type=unix,addr.path=%s", sock);
	CU_ASSERT_FATAL(start(argv, 1, false) == 0);
	data_roundtrip(0);
	stop_backend();
}

int main(void)
{
	static const struct cutest_case cases[] = {
		CUTEST(test_config),
		CUTEST(test_rw_split),
		CUTEST(test_rw_sync),
		CUTEST(test_many_in_flight),
		CUTEST(test_rw_packed),
		CUTEST(test_multiqueue),
		CUTEST(test_requests),
		CUTEST(test_read_only),
		CUTEST(test_malformed_then_reconnect),
		CUTEST(test_no_header),
		CUTEST(test_inflight_resubmit),
		CUTEST(test_qcow2_with_backing),
		CUTEST(test_mapped_qcow2_with_backing),
		CUTEST(test_mapped_model),
		CUTEST(test_qemu_storage_daemon_peer),
	};
	char cmd[300];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(image, sizeof(image), "%s/disk.raw", dir);
	snprintf(sock, sizeof(sock), "%s/blk.sock", dir);
	rc = cutest_run("vhost-user-blk", cases, sizeof(cases) / sizeof(cases[0]));
	stop_backend();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 2;
	return rc;
}

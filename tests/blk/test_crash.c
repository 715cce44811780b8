/* Crash consistency of mica-blk over qcow2: 50 times, write to random
 * blocks of a growing qcow2 image with a flush every few writes, and
 * kill -9 the backend at a random moment.  Afterwards qemu-img check must
 * find no corruption (leaks are allowed), and every block must hold the
 * value of its last write acknowledged before a completed flush, or of a
 * write issued after it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/cutest.h"
#include "tests/lib/testutil.h"
#include "tests/lib/vu_frontend.h"
#include "dev-virtio-blk/virtio_blk.h"

#define ROUNDS   50
#define BLOCKS   512            /* 512 blocks of 64 KiB: 32 MiB, one cluster each */
#define BLOCK    65536
#define MAX_LATE 64

static char dir[] = "/tmp/mica-test-crash-XXXXXX";
static char image[256], sock[256];
static struct vu_frontend fe;
static uint16_t next_id;

/* Per block: the value durably there, and values written since. */
static uint32_t durable[BLOCKS];
static uint32_t late[BLOCKS][MAX_LATE];
static unsigned nlate[BLOCKS];


static pid_t start_backend(void)
{
	char *argv[] = { (char *)test_program("mica-blk"), (char *)"--socket-path", sock,
			 (char *)"--blk-file", image, (char *)"--format", (char *)"qcow2", NULL };

	unlink(sock);
	return test_spawn(argv);
}

static int io(uint32_t type, uint64_t sector, uint32_t value)
{
	uint64_t base = vuf_data_gpa(&fe);
	struct virtio_blk_outhdr *h = vuf_gpa(&fe, base);
	uint32_t *data = vuf_gpa(&fe, base + 4096);
	uint8_t *status = vuf_gpa(&fe, base + 4096 + BLOCK);
	struct vqdrv_buf b[3] = {
		{ base, sizeof(*h), false }, { base + 4096, BLOCK, type == VIRTIO_BLK_T_IN },
		{ base + 4096 + BLOCK, 1, true },
	};
	unsigned n = 0;
	uint16_t id;
	uint32_t len;

	h->type = type;
	h->sector = sector;
	*status = 0xff;
	if (type == VIRTIO_BLK_T_OUT)
		for (unsigned i = 0; i < BLOCK / 4; i++)
			data[i] = value;
	b[n++] = b[0];
	if (type != VIRTIO_BLK_T_FLUSH)
		n++;
	else
		b[1] = b[2];
	n = type == VIRTIO_BLK_T_FLUSH ? 2 : 3;
	if (vqdrv_add(&fe.q[0], b, n, next_id++ % 64, NULL, 0) < 0 || vuf_kick(&fe, 0) < 0 ||
	    vuf_wait_used(&fe, 0, &id, &len, 2000) < 0)
		return -EIO;
	if (*status != 0)
		return -EIO;
	return type == VIRTIO_BLK_T_IN ? (int)data[0] : 0;
}


static bool value_ok(unsigned blk, uint32_t v)
{
	if (v == durable[blk])
		return true;
	for (unsigned i = 0; i < nlate[blk]; i++)
		if (late[blk][i] == v)
			return true;
	return false;
}

static void test_kill_during_writes(void)
{
	unsigned bad_blocks = 0, corrupt = 0, rounds_done = 0;
	pid_t reader;

	if (access("/usr/bin/qemu-img", X_OK) != 0)
		CUTEST_SKIP("qemu-img not installed (package qemu-utils)");
	CU_ASSERT_FATAL(test_run("qemu-img create -q -f qcow2 %s %d", image, BLOCKS * BLOCK) == 0);
	srandom(99);
	for (int round = 1; round <= ROUNDS; round++) {
		pid_t pid = start_backend();
		int writes = 5 + random() % 60, rc;
		int status;

		if (vuf_connect(&fe, sock, 5000) < 0 ||
		    vuf_start(&fe, 4 << 20, 1, 64, false, ~0ULL) < 0) {
			CU_FAIL("backend did not start");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			break;
		}
		next_id = 0;
		for (int w = 0; w < writes; w++) {
			unsigned blk = random() % BLOCKS;
			uint32_t value = (uint32_t)round << 16 | w;

			if (nlate[blk] < MAX_LATE)
				late[blk][nlate[blk]++] = value;
			if (io(VIRTIO_BLK_T_OUT, (uint64_t)blk * (BLOCK / 512), value) < 0) {
				printf("  round %d: write %d failed\n", round, w);
				break;
			}
			if (w % 7 == 6 && io(VIRTIO_BLK_T_FLUSH, 0, 0) == 0) {
				/* This round's writes so far are durable now.  Writes of
				 * killed rounds stay merely possible: a flush by another
				 * process does not make them durable. */
				for (unsigned b = 0; b < BLOCKS; b++) {
					if (nlate[b] > 0 && late[b][nlate[b] - 1] >> 16 == (uint32_t)round) {
						durable[b] = late[b][nlate[b] - 1];
						nlate[b] = 0;
					}
				}
			}
		}
		/* Pull the plug, possibly in the middle of a write. */
		if (random() % 2) {
			unsigned blk = random() % BLOCKS;
			uint64_t base = vuf_data_gpa(&fe);
			struct vqdrv_buf b[3] = {
				{ base, 16, false }, { base + 4096, BLOCK, false },
				{ base + 4096 + BLOCK, 1, true },
			};
			struct virtio_blk_outhdr *h = vuf_gpa(&fe, base);

			h->type = VIRTIO_BLK_T_OUT;
			h->sector = (uint64_t)blk * (BLOCK / 512);
			for (unsigned i = 0; i < BLOCK / 4; i++)
				((uint32_t *)vuf_gpa(&fe, base + 4096))[i] = (uint32_t)round << 16 | 0xffff;
			if (nlate[blk] < MAX_LATE)
				late[blk][nlate[blk]++] = (uint32_t)round << 16 | 0xffff;
			vqdrv_add(&fe.q[0], b, 3, 63, NULL, 0);
			vuf_kick(&fe, 0);
			usleep(random() % 300);
		}
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		vuf_close(&fe);
		/* qemu-img check: 0 clean, 3 leaks only; 2 would be corruption. */
		rc = test_run("qemu-img check -q %s >/dev/null 2>&1", image);
		if (WIFEXITED(rc) && WEXITSTATUS(rc) != 0 && WEXITSTATUS(rc) != 3) {
			printf("  round %d: qemu-img check exit %d\n", round, WEXITSTATUS(rc));
			corrupt++;
			break;
		}
		rounds_done++;
	}
	/* Read every block back through a fresh backend. */
	reader = start_backend();
	CU_ASSERT_FATAL(vuf_connect(&fe, sock, 5000) == 0);
	CU_ASSERT_FATAL(vuf_start(&fe, 4 << 20, 1, 64, false, ~0ULL) == 0);
	next_id = 0;
	for (unsigned blk = 0; blk < BLOCKS; blk++) {
		int v = io(VIRTIO_BLK_T_IN, (uint64_t)blk * (BLOCK / 512), 0);

		if (v < 0 || !value_ok(blk, (uint32_t)v)) {
			if (bad_blocks++ < 5)
				printf("  block %u holds 0x%x, durable 0x%x\n", blk, v, durable[blk]);
		}
	}
	vuf_close(&fe);
	kill(reader, SIGTERM);
	waitpid(reader, NULL, 0);
	printf("  %u rounds killed, %u corrupt, %u blocks wrong\n", rounds_done, corrupt,
	       bad_blocks);
	CU_ASSERT_EQUAL(rounds_done, ROUNDS);
	CU_ASSERT_EQUAL(corrupt, 0);
	CU_ASSERT_EQUAL(bad_blocks, 0);
	CU_ASSERT(test_run("qemu-img check -q %s >/dev/null 2>&1; test $? = 0 -o $? = 3", image) == 0);
}

int main(void)
{
	static const struct cutest_case cases[] = { CUTEST(test_kill_during_writes) };
	char cmd[300];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(image, sizeof(image), "%s/crash.qcow2", dir);
	snprintf(sock, sizeof(sock), "%s/blk.sock", dir);
	rc = cutest_run("crash-consistency", cases, 1);
	test_run("pkill -KILL -f 'mica-blk --socket-path %s' 2>/dev/null", sock);
	if (rc != 0 && getenv("MICA_TEST_KEEP") != NULL) {
		printf("kept %s\n", dir);
		return rc;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 2;
	return rc;
}

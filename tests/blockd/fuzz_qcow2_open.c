/* libFuzzer harness: open an arbitrary byte string as a qcow2 image and
 * exercise everything a reader does — header and extension parsing, L1,
 * refcount table, snapshot table, reads through L2 (including compressed
 * clusters), map, and a full check.  The image is a memfd opened
 * read-only, so the harness also proves nothing is ever written.
 *
 *   make fuzz && build/fuzz/fuzz_qcow2_open -close_fd_mask=2 \
 *           -max_total_time=60 tests/blockd/fuzz-seeds
 * (-close_fd_mask=2 silences the library's one-line refusals.) */
#define _GNU_SOURCE     /* memfd_create */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "blockd/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct blk_image *img)
{
	static uint8_t buf[256 << 10];
	uint64_t end = blk_size(img), off = 0;
	struct blk_check_result res = { .quiet = true };

	/* reads scattered over the disk, bounded work per input */
	for (int i = 0; i < 16 && end > 0; i++) {
		uint64_t at = (end / 16) * (uint64_t)i;
		uint64_t len = end - at < sizeof(buf) ? end - at : sizeof(buf);

		blk_pread(img, buf, len, at);
	}
	for (int i = 0; i < 64 && off < end; i++) {
		struct blk_extent e;

		if (blk_map(img, off, end - off, &e) < 0)
			break;
		off += e.length;
	}
	blk_check(img, 0, &res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct blk_image *img;
	char path[64];
	int fd;

	if (!init) {
		log_init("fuzz");
		init = true;
	}
	fd = memfd_create("qcow2", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (blk_open(path, "qcow2", BLK_OPEN_NO_BACKING |
			     BLK_OPEN_NO_LOCK, &img) == 0) {
			exercise(img);
			blk_close(img);
		}
	}
	close(fd);
	return 0;
}

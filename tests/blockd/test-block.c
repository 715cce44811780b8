/* Unit tests for the format-independent layer (blockd/block.c, io.c) and
 * the raw format.  Includes io.c to test the iovec helpers directly. */
#define _GNU_SOURCE                 /* io.c, included below, uses fallocate */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/cutest.h"
#include "blockd/io.c"

static char path[64];

static void make_path(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/test-block.XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
}

static void test_iov_slice_and_copy(void)
{
	char a[4] = "abcd", b[3] = "efg", c[5] = "hijkl", out[12] = { 0 };
	struct iovec iov[3] = {
		{ a, 4 }, { b, 3 }, { c, 5 },
	};
	struct iovec s[3];
	int n;

	CU_ASSERT_EQUAL(blk_iov_size(iov, 3), 12);
	n = blk_iov_slice(iov, 3, 3, 6, s, 3);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(s[0].iov_len, 1);
	CU_ASSERT_EQUAL(*(char *)s[0].iov_base, 'd');
	CU_ASSERT_EQUAL(s[2].iov_len, 2);
	CU_ASSERT_EQUAL(blk_iov_slice(iov, 3, 0, 12, s, 2), -EINVAL);
	blk_iov_to_buf(iov, 3, 2, out, 8);
	CU_ASSERT(memcmp(out, "cdefghij", 8) == 0);
	blk_iov_memset(iov, 3, 5, 'z', 3);
	CU_ASSERT(memcmp(b, "ezz", 3) == 0 && c[0] == 'z' && c[1] == 'i');
	blk_iov_from_buf(iov, 3, 0, "0123456789AB", 12);
	CU_ASSERT(memcmp(a, "0123", 4) == 0 && memcmp(c, "789AB", 5) == 0);
}

static void test_raw_roundtrip_and_map(void)
{
	struct blk_create_opts o = { .size = 1 << 20 };
	struct blk_image *img;
	struct blk_extent e;
	char buf[4096], back[4096];

	make_path();
	CU_ASSERT_EQUAL_FATAL(blk_create(path, "raw", &o), 0);
	CU_ASSERT_EQUAL_FATAL(blk_open(path, NULL, BLK_OPEN_RDWR, &img), 0);
	CU_ASSERT_STRING_EQUAL(blk_format_name(img), "raw");
	CU_ASSERT_EQUAL(blk_size(img), 1 << 20);
	memset(buf, 0x3c, sizeof(buf));
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, sizeof(buf), 65536), 0);
	CU_ASSERT_EQUAL(blk_flush(img), 0);
	CU_ASSERT_EQUAL(blk_pread(img, back, sizeof(back), 65536), 0);
	CU_ASSERT(memcmp(buf, back, sizeof(buf)) == 0);
	/* holes map as zero, data as data at the same offset */
	CU_ASSERT_EQUAL(blk_map(img, 0, 1 << 20, &e), 0);
	CU_ASSERT_EQUAL(e.kind, BLK_EXTENT_ZERO);
	CU_ASSERT_EQUAL(blk_map(img, 65536, 4096, &e), 0);
	CU_ASSERT_EQUAL(e.kind, BLK_EXTENT_DATA);
	CU_ASSERT_EQUAL(e.host_offset, 65536);
	CU_ASSERT_EQUAL(blk_write_zeroes(img, 65536, 4096), 0);
	CU_ASSERT_EQUAL(blk_pread(img, back, sizeof(back), 65536), 0);
	memset(buf, 0, sizeof(buf));
	CU_ASSERT(memcmp(buf, back, sizeof(buf)) == 0);
	CU_ASSERT_EQUAL(blk_truncate(img, 2 << 20), 0);
	CU_ASSERT_EQUAL(blk_size(img), 2 << 20);
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, 1, 2 << 20), -EINVAL);
	CU_ASSERT_EQUAL(blk_snapshot_create(img, "x"), -ENOTSUP);
	CU_ASSERT_EQUAL(blk_close(img), 0);
	unlink(path);
}

/* A probed raw image cannot be turned into a qcow2 by what is written to
 * it; with the format given explicitly it can. */
static void test_probed_raw_keeps_its_format(void)
{
	struct blk_create_opts o = { .size = 1 << 20 };
	static const uint8_t magic[8] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	struct blk_image *img;

	make_path();
	CU_ASSERT_EQUAL_FATAL(blk_create(path, "raw", &o), 0);
	CU_ASSERT_EQUAL_FATAL(blk_open(path, NULL, BLK_OPEN_RDWR, &img), 0);
	CU_ASSERT_EQUAL(blk_pwrite(img, magic, 4, 0), -EPERM);
	CU_ASSERT_EQUAL(blk_pwrite(img, magic + 4, 4, 4), 0);
	CU_ASSERT_EQUAL(blk_pwrite(img, magic, 8, 4096), 0);
	blk_close(img);
	CU_ASSERT_EQUAL_FATAL(blk_open(path, "raw", BLK_OPEN_RDWR, &img), 0);
	CU_ASSERT_EQUAL(blk_pwrite(img, magic, 8, 0), 0);
	blk_close(img);
	unlink(path);
}

static void test_unknown_format_and_missing_file(void)
{
	struct blk_image *img;
	struct blk_create_opts o = { .size = 4096 };

	CU_ASSERT_EQUAL(blk_open("/nonexistent/x", NULL, 0, &img), -ENOENT);
	CU_ASSERT_EQUAL(blk_open("/dev/null", "vmdk", 0, &img), -EINVAL);
	CU_ASSERT_EQUAL(blk_create("/tmp/x", "nope", &o), -EINVAL);
}

/* The backing resolver (mica-blockd's way): the name is joined to the
 * image's directory and folded, the resolver decides; a refusal fails the
 * open and nothing is opened by path. */
static char resolved[256];
static int resolver_fd = -1;

static int test_resolver(void *arg, const char *p, const char *named_by)
{
	snprintf(resolved, sizeof(resolved), "%s", p);
	return resolver_fd >= 0 ? dup(resolver_fd) : -EACCES;
}

static void test_backing_resolver(void)
{
	char dir[] = "/tmp/mica-test-resolve-XXXXXX", base[160], top[160], sub[128];
	struct blk_create_opts o = { .size = 1 << 20 };
	struct blk_image *img;
	char buf[512];

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	CU_ASSERT_FATAL(mkdir(sub, 0700) == 0);
	snprintf(base, sizeof(base), "%s/base.raw", dir);
	snprintf(top, sizeof(top), "%s/top.qcow2", sub);
	CU_ASSERT_EQUAL_FATAL(blk_create(base, "raw", &o), 0);
	o.backing_file = "./../sub/../base.raw";
	o.backing_fmt = "raw";
	CU_ASSERT_EQUAL_FATAL(blk_create(top, "qcow2", &o), 0);
	/* refused: the open fails, the resolver saw the folded path */
	blk_set_backing_resolver(test_resolver, NULL);
	CU_ASSERT_EQUAL(blk_open(top, "qcow2", 0, &img), -EACCES);
	CU_ASSERT_STRING_EQUAL(resolved, base);
	/* allowed: the fd it gives is the backing file */
	resolver_fd = open(base, O_RDONLY | O_CLOEXEC);
	CU_ASSERT_EQUAL_FATAL(blk_open(top, "qcow2", 0, &img), 0);
	CU_ASSERT_STRING_EQUAL(blk_filename(blk_backing(img)), base);
	CU_ASSERT_EQUAL(blk_pread(img, buf, sizeof(buf), 0), 0);
	blk_close(img);
	blk_set_backing_resolver(NULL, NULL);
	close(resolver_fd);
	resolver_fd = -1;
	unlink(top);
	unlink(base);
	rmdir(sub);
	rmdir(dir);
}

CUTEST_MAIN("test-block",
	    CUTEST(test_iov_slice_and_copy),
	    CUTEST(test_raw_roundtrip_and_map),
	    CUTEST(test_probed_raw_keeps_its_format),
	    CUTEST(test_unknown_format_and_missing_file),
	    CUTEST(test_backing_resolver))

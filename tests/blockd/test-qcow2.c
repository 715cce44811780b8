/* Unit tests for the qcow2 format (blockd/qcow2*.c).
 *
 * Includes qcow2-refcount.c to reach its static refcount-entry packing;
 * everything else goes through the public API on real files in /tmp.  The
 * main test is model based: random writes, zero writes and discards are
 * applied to an image and to a plain buffer, with a tiny L2 cache so that
 * eviction (and its ordered flush) runs all the time, and the two must
 * read back the same, before and after reopening. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/cutest.h"
#include "blockd/qcow2-refcount.c"

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char buf[4][128];
	static int n;

	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-qcow2.XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			abort();
	}
	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", tmpdir, name);
	return buf[n];
}

static struct blk_image *create_open(const char *name, uint64_t size,
				     unsigned cluster_size,
				     unsigned refcount_bits, unsigned compat)
{
	struct blk_create_opts o = {
		.size = size, .cluster_size = cluster_size,
		.refcount_bits = refcount_bits, .compat = compat,
	};
	struct blk_image *img = NULL;

	CU_ASSERT_EQUAL_FATAL(blk_create(tmp_path(name), "qcow2", &o), 0);
	CU_ASSERT_EQUAL_FATAL(blk_open(tmp_path(name), "qcow2", BLK_OPEN_RDWR,
				       &img), 0);
	return img;
}

static void assert_check_clean(struct blk_image *img)
{
	struct blk_check_result r = { .quiet = true };

	CU_ASSERT_EQUAL(blk_check(img, 0, &r), 0);
	CU_ASSERT_EQUAL(r.corruptions, 0);
	CU_ASSERT_EQUAL(r.leaks, 0);
	CU_ASSERT_EQUAL(r.check_errors, 0);
}

static void test_refcount_entry_packing(void)
{
	uint8_t block[64];

	for (unsigned order = 0; order <= 6; order++) {
		uint64_t max = order == 6 ? UINT64_MAX
					  : (1ull << (1u << order)) - 1;
		unsigned n = (unsigned)(sizeof(block) * 8 >> order);

		memset(block, 0, sizeof(block));
		for (unsigned i = 0; i < n; i++)
			rb_entry_set(block, i, order, (i * 7 + 1) & max);
		for (unsigned i = 0; i < n; i++)
			CU_ASSERT_EQUAL(rb_entry_get(block, i, order),
					(i * 7 + 1) & max);
	}
	/* sub-byte entries start at the least significant bits */
	memset(block, 0, sizeof(block));
	rb_entry_set(block, 0, 0, 1);
	CU_ASSERT_EQUAL(block[0], 0x01);
	rb_entry_set(block, 1, 2, 0xf);
	CU_ASSERT_EQUAL(block[0], 0xf1);
	/* 16-bit entries are big-endian */
	memset(block, 0, sizeof(block));
	rb_entry_set(block, 1, 4, 0x1234);
	CU_ASSERT_EQUAL(block[2], 0x12);
	CU_ASSERT_EQUAL(block[3], 0x34);
}

static void test_refcount_overflow_refused(void)
{
	struct blk_image *img = create_open("ovf.qcow2", 1 << 20, 65536, 1, 3);
	struct qcow2 *q = qcow2_of(img);

	/* the header cluster has refcount 1 = the maximum for 1-bit */
	CU_ASSERT_EQUAL(qcow2_refcount_add(q, 0, 1), -EUCLEAN);
	CU_ASSERT_EQUAL(qcow2_refcount_add(q, 1000, -1), -EUCLEAN);
	assert_check_clean(img);
	blk_close(img);
}

static uint64_t rnd_state = 42;

static uint64_t rnd(uint64_t n)
{
	rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
	return (rnd_state >> 33) % n;
}

static void compare_model(struct blk_image *img, const uint8_t *model,
			  uint64_t size)
{
	uint8_t *buf = malloc(size);

	CU_ASSERT_EQUAL_FATAL(blk_pread(img, buf, size, 0), 0);
	CU_ASSERT(memcmp(buf, model, size) == 0);
	free(buf);
}

/* Random writes through a two-table L2 cache, against a flat model. */
static void model_run(unsigned cluster_size, unsigned refcount_bits,
		      unsigned compat)
{
	const uint64_t size = 3 << 20;
	uint8_t *model = calloc(1, size), *buf = malloc(256 << 10);
	struct blk_image *img;

	setenv("MICA_QCOW2_L2_CACHE", "2", 1);
	img = create_open("model.qcow2", size, cluster_size, refcount_bits,
			  compat);
	for (int i = 0; i < 300; i++) {
		uint64_t len = 1 + rnd(i % 10 == 0 ? 256 << 10 : 9000);
		uint64_t off = rnd(size - len);
		unsigned op = (unsigned)rnd(10);

		if (op == 0) {
			CU_ASSERT_EQUAL(blk_write_zeroes(img, off, len), 0);
			memset(model + off, 0, len);
		} else if (op == 1) {
			/* discard: whole clusters read back as zeroes */
			uint64_t a = (off + cluster_size - 1) /
				     cluster_size * cluster_size;
			uint64_t b = (off + len) / cluster_size * cluster_size;

			CU_ASSERT_EQUAL(blk_discard(img, off, len), 0);
			if (a < b)
				memset(model + a, 0, b - a);
		} else {
			memset(buf, (int)(i + 1), len);
			buf[0] = (uint8_t)rnd(256);
			buf[len - 1] = (uint8_t)rnd(256);
			CU_ASSERT_EQUAL(blk_pwrite(img, buf, len, off), 0);
			memcpy(model + off, buf, len);
		}
		if (i % 50 == 0)
			CU_ASSERT_EQUAL(blk_flush(img), 0);
	}
	compare_model(img, model, size);
	assert_check_clean(img);
	CU_ASSERT_EQUAL(blk_close(img), 0);
	CU_ASSERT_EQUAL(blk_open(tmp_path("model.qcow2"), NULL, 0, &img), 0);
	compare_model(img, model, size);
	assert_check_clean(img);
	blk_close(img);
	unsetenv("MICA_QCOW2_L2_CACHE");
	free(model);
	free(buf);
}

static void test_model_default(void) { model_run(65536, 16, 3); }
static void test_model_small_clusters(void) { model_run(512, 16, 3); }
static void test_model_refcount1(void) { model_run(4096, 1, 3); }
static void test_model_refcount64(void) { model_run(1024, 64, 3); }
static void test_model_v2(void) { model_run(65536, 16, 2); }

/* Snapshots through the API: what was there comes back on apply, the
 * writes after it are kept apart, and the image checks clean throughout. */
static void test_snapshot_roundtrip(void)
{
	const uint64_t size = 4 << 20;
	uint8_t *before = malloc(size), *buf = malloc(size);
	struct blk_image *img = create_open("snap.qcow2", size, 4096, 16, 3);
	struct blk_snapshot_info info[4];

	for (uint64_t i = 0; i < size; i++)
		before[i] = (uint8_t)(i * 31 / 4096);
	CU_ASSERT_EQUAL(blk_pwrite(img, before, size / 2, 0), 0);
	CU_ASSERT_EQUAL(blk_pread(img, before, size, 0), 0);
	CU_ASSERT_EQUAL(blk_snapshot_create(img, "one"), 0);
	assert_check_clean(img);
	memset(buf, 0x77, size);
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, 12345, 4000), 0);
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, size / 4, size / 2), 0);
	CU_ASSERT_EQUAL(blk_discard(img, 1 << 20, 1 << 20), 0);
	CU_ASSERT_EQUAL(blk_snapshot_create(img, "two"), 0);
	CU_ASSERT_EQUAL(blk_snapshot_create(img, "two"), -EEXIST);
	CU_ASSERT_EQUAL(blk_snapshot_list(img, info, 4), 2);
	CU_ASSERT_STRING_EQUAL(info[1].name, "two");
	CU_ASSERT_STRING_EQUAL(info[1].id, "2");
	CU_ASSERT_EQUAL(blk_snapshot_apply(img, "one"), 0);
	CU_ASSERT_EQUAL(blk_pread(img, buf, size, 0), 0);
	CU_ASSERT(memcmp(buf, before, size) == 0);
	assert_check_clean(img);
	CU_ASSERT_EQUAL(blk_snapshot_delete(img, "1"), 0);
	CU_ASSERT_EQUAL(blk_snapshot_delete(img, "two"), 0);
	CU_ASSERT_EQUAL(blk_snapshot_apply(img, "two"), -ENOENT);
	CU_ASSERT_EQUAL(blk_snapshot_list(img, info, 4), 0);
	assert_check_clean(img);
	CU_ASSERT_EQUAL(blk_pread(img, buf, size, 0), 0);
	CU_ASSERT(memcmp(buf, before, size) == 0);
	/* grow: the L1 table of a 4 KiB-cluster image has to move */
	CU_ASSERT_EQUAL(blk_truncate(img, 8ull << 30), 0);
	CU_ASSERT_EQUAL(blk_size(img), 8ull << 30);
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, 4096, (8ull << 30) - 4096), 0);
	CU_ASSERT_EQUAL(blk_truncate(img, 1 << 20), -ENOTSUP);
	assert_check_clean(img);
	blk_close(img);
	CU_ASSERT_EQUAL(blk_open(tmp_path("snap.qcow2"), NULL, 0, &img), 0);
	CU_ASSERT_EQUAL(blk_size(img), 8ull << 30);
	CU_ASSERT_EQUAL(blk_pread(img, buf, size, 0), 0);
	CU_ASSERT(memcmp(buf, before, size) == 0);
	blk_close(img);
	free(before);
	free(buf);
}

/* An owned cluster followed by a host-contiguous shared one: a write over
 * both must copy the shared one, not write through it. */
static void test_write_never_through_shared_cluster(void)
{
	struct blk_image *img = create_open("own.qcow2", 1 << 20, 65536, 16, 3);
	struct qcow2 *q = qcow2_of(img);
	uint8_t *buf = malloc(131072), *table;
	uint64_t e1, host1;

	memset(buf, 0x11, 131072);
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, 131072, 0), 0);
	CU_ASSERT_EQUAL(blk_flush(img), 0);
	CU_ASSERT_EQUAL_FATAL(qcow2_l2_lookup(q, 0, &table), 0);
	e1 = qcow2_l2_entry(table, 1);
	host1 = e1 & QCOW2_OFFSET_MASK;
	CU_ASSERT_EQUAL(host1, (qcow2_l2_entry(table, 0) & QCOW2_OFFSET_MASK)
			+ 65536);
	/* make guest cluster 1 shared, as a snapshot would */
	be64_put(table + 8, e1 & ~QCOW2_OFLAG_COPIED);
	qcow2_cache_mark_dirty(&q->l2_cache, table);
	CU_ASSERT_EQUAL(qcow2_refcount_add(q, host1 >> 16, 1), 0);

	memset(buf, 0x22, 131072);
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, 131072, 0), 0);
	CU_ASSERT_EQUAL(blk_file_pread(img->fd, buf, 65536, host1), 0);
	CU_ASSERT_EQUAL(buf[0], 0x11);
	CU_ASSERT_EQUAL(buf[65535], 0x11);
	CU_ASSERT_EQUAL(blk_pread(img, buf, 131072, 0), 0);
	CU_ASSERT(buf[0] == 0x22 && buf[131071] == 0x22);
	blk_close(img);
	free(buf);
}

static void test_backing_cow(void)
{
	struct blk_create_opts o = { .size = 1 << 20 };
	struct blk_image *img;
	uint8_t buf[8192], expect[8192];

	CU_ASSERT_EQUAL_FATAL(blk_create(tmp_path("base.raw"), "raw", &o), 0);
	CU_ASSERT_EQUAL_FATAL(blk_open(tmp_path("base.raw"), "raw",
				       BLK_OPEN_RDWR, &img), 0);
	memset(buf, 0xaa, sizeof(buf));
	for (int i = 0; i < 128; i++)
		CU_ASSERT_EQUAL(blk_pwrite(img, buf, sizeof(buf),
					   (uint64_t)i * sizeof(buf)), 0);
	blk_close(img);

	o.size = 2 << 20;     /* larger than its backing file */
	o.backing_file = "base.raw";
	o.backing_fmt = "raw";
	CU_ASSERT_EQUAL_FATAL(blk_create(tmp_path("top.qcow2"), "qcow2", &o), 0);
	CU_ASSERT_EQUAL_FATAL(blk_open(tmp_path("top.qcow2"), NULL,
				       BLK_OPEN_RDWR, &img), 0);
	CU_ASSERT_PTR_NOT_NULL(blk_backing(img));
	memset(buf, 0x55, 100);
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, 100, 70000), 0);
	CU_ASSERT_EQUAL(blk_pread(img, buf, sizeof(buf), 65536), 0);
	memset(expect, 0xaa, sizeof(expect));
	memset(expect + 70000 - 65536, 0x55, 100);
	CU_ASSERT(memcmp(buf, expect, sizeof(buf)) == 0);
	/* past the backing file's end: zeroes */
	CU_ASSERT_EQUAL(blk_pread(img, buf, sizeof(buf), (1 << 20) + 4096), 0);
	memset(expect, 0, sizeof(expect));
	CU_ASSERT(memcmp(buf, expect, sizeof(buf)) == 0);
	/* a zero write hides the backing data */
	CU_ASSERT_EQUAL(blk_write_zeroes(img, 0, 65536), 0);
	CU_ASSERT_EQUAL(blk_pread(img, buf, sizeof(buf), 0), 0);
	CU_ASSERT(memcmp(buf, expect, sizeof(buf)) == 0);
	assert_check_clean(img);
	blk_close(img);
}

/* prepare / data path writes on the fd / commit, over a backing file */
static void test_two_phase_write(void)
{
	struct blk_create_opts o = { .size = 1 << 20 };
	struct blk_write_grant g, g2;
	struct blk_image *img;
	uint8_t buf[65536], data[100];

	CU_ASSERT_EQUAL_FATAL(blk_create(tmp_path("tp.raw"), "raw", &o), 0);
	CU_ASSERT_EQUAL_FATAL(blk_open(tmp_path("tp.raw"), "raw",
				       BLK_OPEN_RDWR, &img), 0);
	memset(buf, 0xaa, sizeof(buf));
	for (int i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(blk_pwrite(img, buf, sizeof(buf),
					   (uint64_t)i << 16), 0);
	CU_ASSERT_EQUAL(blk_write_prepare(img, 5, 10, &g), 0);
	CU_ASSERT(g.in_place && g.host_offset == 5 && g.length == 10);
	blk_close(img);
	o.size = 2 << 20;
	o.backing_file = "tp.raw";
	o.backing_fmt = "raw";
	CU_ASSERT_EQUAL_FATAL(blk_create(tmp_path("tp.qcow2"), "qcow2", &o), 0);
	CU_ASSERT_EQUAL_FATAL(blk_open(tmp_path("tp.qcow2"), NULL,
				       BLK_OPEN_RDWR, &img), 0);

	CU_ASSERT_EQUAL_FATAL(blk_write_prepare(img, 70000, 100, &g), 0);
	CU_ASSERT_FALSE(g.in_place);
	CU_ASSERT(g.offset == 70000 && g.length == 100 && g.fd >= 0);
	/* not linked yet: readers see the old data; the cluster is busy */
	CU_ASSERT_EQUAL(blk_pread(img, buf, sizeof(buf), 65536), 0);
	CU_ASSERT(buf[0] == 0xaa && buf[70000 - 65536] == 0xaa);
	CU_ASSERT_EQUAL(blk_write_prepare(img, 65546, 10, &g2), -EBUSY);
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, 10, 65546), -EBUSY);
	/* the data path's own write, straight to the image file */
	memset(data, 0x55, sizeof(data));
	CU_ASSERT_EQUAL(pwrite(g.fd, data, sizeof(data), (off_t)g.host_offset),
			(ssize_t)sizeof(data));
	CU_ASSERT_EQUAL(blk_write_commit(img, &g), 0);
	CU_ASSERT_EQUAL(blk_write_commit(img, &g), -EINVAL);
	CU_ASSERT_EQUAL(blk_pread(img, buf, sizeof(buf), 65536), 0);
	CU_ASSERT(buf[0] == 0xaa && buf[70000 - 65536 - 1] == 0xaa);
	CU_ASSERT(buf[70000 - 65536] == 0x55 && buf[70099 - 65536] == 0x55);
	CU_ASSERT(buf[70100 - 65536] == 0xaa && buf[65535] == 0xaa);
	/* now owned: in place */
	CU_ASSERT_EQUAL(blk_write_prepare(img, 70000, 100, &g), 0);
	CU_ASSERT(g.in_place);
	/* several clusters at once, then given back */
	CU_ASSERT_EQUAL(blk_write_prepare(img, 196608, 3 * 65536, &g2), 0);
	CU_ASSERT(!g2.in_place && g2.length == 3 * 65536);
	CU_ASSERT_EQUAL(blk_write_abort(img, &g2), 0);
	CU_ASSERT_EQUAL(blk_pread(img, buf, sizeof(buf), 196608), 0);
	CU_ASSERT(buf[0] == 0xaa);
	CU_ASSERT_EQUAL(blk_flush(img), 0);
	assert_check_clean(img);
	blk_close(img);
}

static void test_map_kinds(void)
{
	struct blk_image *img = create_open("map.qcow2", 1 << 20, 65536, 16, 3);
	struct blk_extent e;
	uint8_t buf[65536];

	memset(buf, 1, sizeof(buf));
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, sizeof(buf), 0), 0);
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, sizeof(buf), 65536), 0);
	CU_ASSERT_EQUAL(blk_write_zeroes(img, 131072, 65536), 0);
	CU_ASSERT_EQUAL(blk_write_compressed(img, buf, sizeof(buf), 262144), 0);

	CU_ASSERT_EQUAL(blk_map(img, 0, 1 << 20, &e), 0);
	CU_ASSERT_EQUAL(e.kind, BLK_EXTENT_DATA);
	CU_ASSERT_EQUAL(e.length, 131072);   /* contiguous on the host */
	CU_ASSERT_EQUAL(e.fd >= 0, 1);
	CU_ASSERT_EQUAL(blk_map(img, 131072, 1 << 19, &e), 0);
	CU_ASSERT_EQUAL(e.kind, BLK_EXTENT_ZERO);
	CU_ASSERT(e.allocated);
	CU_ASSERT_EQUAL(blk_map(img, 196608, 65536, &e), 0);
	CU_ASSERT_EQUAL(e.kind, BLK_EXTENT_UNALLOCATED);
	CU_ASSERT_EQUAL(blk_map(img, 262144, 65536, &e), 0);
	CU_ASSERT_EQUAL(e.kind, BLK_EXTENT_COMPRESSED);
	CU_ASSERT_EQUAL(blk_pread(img, buf, sizeof(buf), 262144), 0);
	CU_ASSERT_EQUAL(buf[0], 1);
	CU_ASSERT_EQUAL(buf[65535], 1);
	/* overwriting a compressed cluster reallocates it */
	memset(buf, 2, 512);
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, 512, 262144 + 512), 0);
	CU_ASSERT_EQUAL(blk_pread(img, buf, sizeof(buf), 262144), 0);
	CU_ASSERT(buf[0] == 1 && buf[512] == 2 && buf[1024] == 1);
	CU_ASSERT_EQUAL(blk_map(img, 0, 8, &e), 0);
	CU_ASSERT_EQUAL(e.length, 8);
	CU_ASSERT_EQUAL(blk_map(img, 1 << 20, 1, &e), -EINVAL);
	assert_check_clean(img);
	blk_close(img);
}

static void test_rejects_out_of_range_and_read_only(void)
{
	struct blk_image *img = create_open("ro.qcow2", 1 << 20, 65536, 16, 3);
	uint8_t buf[16] = { 0 };

	CU_ASSERT_EQUAL(blk_pwrite(img, buf, sizeof(buf), (1 << 20) - 8),
			-EINVAL);
	CU_ASSERT_EQUAL(blk_pread(img, buf, sizeof(buf), 1ull << 40), -EINVAL);
	blk_close(img);
	CU_ASSERT_EQUAL(blk_open(tmp_path("ro.qcow2"), "qcow2", 0, &img), 0);
	CU_ASSERT_FALSE(blk_can_write(img));
	CU_ASSERT_EQUAL(blk_pwrite(img, buf, sizeof(buf), 0), -EROFS);
	blk_close(img);
}

static void test_second_writer_locked_out(void)
{
	struct blk_image *a = create_open("lock.qcow2", 1 << 20, 65536, 16, 3);
	struct blk_image *b = NULL;

	CU_ASSERT_EQUAL(blk_open(tmp_path("lock.qcow2"), "qcow2", BLK_OPEN_RDWR,
				 &b), -EAGAIN);
	CU_ASSERT_EQUAL(blk_open(tmp_path("lock.qcow2"), "qcow2", 0, &b),
			-EAGAIN);
	CU_ASSERT_EQUAL(blk_open(tmp_path("lock.qcow2"), "qcow2",
				 BLK_OPEN_NO_LOCK, &b), 0);
	blk_close(b);
	blk_close(a);
	CU_ASSERT_EQUAL(blk_open(tmp_path("lock.qcow2"), "qcow2", 0, &a), 0);
	CU_ASSERT_EQUAL(blk_open(tmp_path("lock.qcow2"), "qcow2", 0, &b), 0);
	blk_close(a);
	blk_close(b);
}

static void test_unsupported_incompatible_bit(void)
{
	struct blk_image *img = create_open("feat.qcow2", 1 << 20, 65536, 16, 3);
	uint8_t bits[8] = { 0, 0, 0, 0, 0, 0, 0x40, 0 };
	int fd;

	blk_close(img);
	fd = open(tmp_path("feat.qcow2"), O_WRONLY);
	CU_ASSERT_EQUAL(pwrite(fd, bits, 8, QCOW2_HDR_INCOMPAT), 8);
	close(fd);
	CU_ASSERT_EQUAL(blk_open(tmp_path("feat.qcow2"), NULL, 0, &img),
			-ENOTSUP);
}

static void cleanup_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (tmpdir[0] && system(cmd) != 0)
		perror("cleanup");
}

static void test_zz_cleanup(void)
{
	cleanup_tmp();
}

CUTEST_MAIN("test-qcow2",
	    CUTEST(test_refcount_entry_packing),
	    CUTEST(test_refcount_overflow_refused),
	    CUTEST(test_model_default),
	    CUTEST(test_model_small_clusters),
	    CUTEST(test_model_refcount1),
	    CUTEST(test_model_refcount64),
	    CUTEST(test_model_v2),
	    CUTEST(test_snapshot_roundtrip),
	    CUTEST(test_write_never_through_shared_cluster),
	    CUTEST(test_backing_cow),
	    CUTEST(test_two_phase_write),
	    CUTEST(test_map_kinds),
	    CUTEST(test_rejects_out_of_range_and_read_only),
	    CUTEST(test_second_writer_locked_out),
	    CUTEST(test_unsupported_incompatible_bit),
	    CUTEST(test_zz_cleanup))

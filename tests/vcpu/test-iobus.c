/* I/O bus: sorted ranges, overlap refusal, lookup edges, unclaimed. */
#include <errno.h>
#include <string.h>

#include "cutest.h"
#include "iobus.h"

static uint64_t tag_read(void *opaque, uint64_t addr, unsigned size)
{
	return (uintptr_t)opaque;
}

static uint64_t last_write;

static void tag_write(void *opaque, uint64_t addr, unsigned size, uint64_t v)
{
	last_write = v;
}

static const struct io_handler tag = { .read = tag_read, .write = tag_write };

static void test_register_and_lookup(void)
{
	struct iobus bus;
	uint64_t v;

	memset(&bus, 0, sizeof(bus));
	CU_ASSERT_EQUAL(iobus_register(&bus, 0x3f8, 8, &tag, (void *)1), 0);
	CU_ASSERT_EQUAL(iobus_register(&bus, 0x60, 1, &tag, (void *)2), 0);
	CU_ASSERT_EQUAL(iobus_register(&bus, 0x70, 2, &tag, (void *)3), 0);
	CU_ASSERT_EQUAL(bus.range[0].base, 0x60);
	CU_ASSERT_EQUAL(bus.range[2].base, 0x3f8);
	CU_ASSERT_EQUAL(iobus_read(&bus, 0x3ff, 1, &v), 1);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(iobus_read(&bus, 0x400, 1, &v), 0);
	CU_ASSERT_EQUAL(v, 0xff);
	CU_ASSERT_EQUAL(iobus_read(&bus, 0x71, 2, &v), 1);
	CU_ASSERT_EQUAL(v, 3);
	CU_ASSERT_EQUAL(iobus_read(&bus, 0x72, 4, &v), 0);
	CU_ASSERT_EQUAL(v, 0xffffffff);
	CU_ASSERT_EQUAL(iobus_write(&bus, 0x60, 1, 0xfe), 1);
	CU_ASSERT_EQUAL(last_write, 0xfe);
	CU_ASSERT_EQUAL(iobus_write(&bus, 0x61, 1, 0), 0);
}

static void test_overlap_and_unregister(void)
{
	struct iobus bus;
	uint64_t v;

	memset(&bus, 0, sizeof(bus));
	CU_ASSERT_EQUAL(iobus_register(&bus, 0x1000, 0x100, &tag, NULL), 0);
	CU_ASSERT_EQUAL(iobus_register(&bus, 0x10ff, 1, &tag, NULL), -EEXIST);
	CU_ASSERT_EQUAL(iobus_register(&bus, 0xf00, 0x101, &tag, NULL), -EEXIST);
	CU_ASSERT_EQUAL(iobus_register(&bus, 0xf00, 0x100, &tag, NULL), 0);
	CU_ASSERT_EQUAL(iobus_register(&bus, 0x2000, 0, &tag, NULL), -EINVAL);
	CU_ASSERT_EQUAL(iobus_register(&bus, ~0ULL, 2, &tag, NULL), -EINVAL);
	CU_ASSERT_EQUAL(iobus_unregister(&bus, 0x1000), 0);
	CU_ASSERT_EQUAL(iobus_unregister(&bus, 0x1000), -ENOENT);
	CU_ASSERT_EQUAL(iobus_read(&bus, 0x1000, 4, &v), 0);
	CU_ASSERT_EQUAL(bus.nr, 1);
}

static void test_full(void)
{
	struct iobus bus;

	memset(&bus, 0, sizeof(bus));
	for (unsigned i = 0; i < IOBUS_MAX_RANGES; i++)
		CU_ASSERT_EQUAL(iobus_register(&bus, i * 16, 16, &tag, NULL), 0);
	CU_ASSERT_EQUAL(iobus_register(&bus, 0x10000, 1, &tag, NULL), -ENOSPC);
}

CUTEST_MAIN("vcpu-iobus",
	CUTEST(test_register_and_lookup),
	CUTEST(test_overlap_and_unregister),
	CUTEST(test_full));

/* Port dispatch over the standard PC set. */
#include <errno.h>

#include "cutest.h"
#include "legacy-bus.c"
#include "fake-host.h"

static const char *name_at(const struct legacy_bus *bus, uint16_t port)
{
	struct legacy_dev *d = legacy_bus_find(bus, port);

	return d != NULL ? d->ops->name : "";
}

static void test_pc_set(void)
{
	struct legacy_bus bus;

	fake_reset_state();
	CU_ASSERT_EQUAL_FATAL(legacy_bus_create_pc(&bus, &fake_host), 0);
	CU_ASSERT_EQUAL(bus.nr, 5);
	CU_ASSERT_STRING_EQUAL(name_at(&bus, 0x601), "acpi-sleep");
	CU_ASSERT_PTR_EQUAL(legacy_bus_find(&bus, 0x3fd), bus.com1);
	CU_ASSERT_STRING_EQUAL(name_at(&bus, 0x64), "i8042");
	CU_ASSERT_STRING_EQUAL(name_at(&bus, 0x71), "rtc");
	CU_ASSERT_PTR_NULL(legacy_bus_find(&bus, 0x61));
	CU_ASSERT_EQUAL(legacy_bus_read(&bus, 0x61, 1), 0xff);
	CU_ASSERT_EQUAL(legacy_bus_read(&bus, 0x500, 2), 0xffff);
	CU_ASSERT(legacy_bus_write(&bus, 0x3f8, 1, 'A'));
	CU_ASSERT_EQUAL(fake.out_len, 1);
	CU_ASSERT(legacy_bus_write(&bus, 0x64, 1, 0xfe));
	CU_ASSERT_EQUAL(fake.resets, 1);
	CU_ASSERT(!legacy_bus_write(&bus, 0x80, 1, 0));
	{
		struct legacy_dev *clash = must(uart8250_create(&fake_host, 0x3fc, 3));

		CU_ASSERT_EQUAL(legacy_bus_add(&bus, clash), -EEXIST);
		legacy_dev_destroy(clash);
	}
	legacy_bus_destroy(&bus);
	CU_ASSERT_EQUAL(bus.nr, 0);
}

static void test_add_limits(void)
{
	struct legacy_bus bus = { .nr = 0 };

	fake_reset_state();
	CU_ASSERT_EQUAL(legacy_bus_add(&bus, NULL), -EINVAL);
	for (unsigned i = 0; i < LEGACY_BUS_MAX; i++)
		CU_ASSERT_EQUAL(legacy_bus_add(&bus, must(uart8250_create(
			&fake_host, (uint16_t)(0x100 + 8 * i), 4))), 0);
	{
		struct legacy_dev *extra = must(rtc_create(&fake_host));

		CU_ASSERT_EQUAL(legacy_bus_add(&bus, extra), -ENOSPC);
		legacy_dev_destroy(extra);
	}
	legacy_bus_destroy(&bus);
}

static void test_acpi_sleep_s5(void)
{
	struct legacy_bus bus;

	fake_reset_state();
	CU_ASSERT_EQUAL_FATAL(legacy_bus_create_pc(&bus, &fake_host), 0);
	legacy_bus_write(&bus, 0x600, 1, 5 << 2);		/* no SLP_EN */
	legacy_bus_write(&bus, 0x600, 1, 3 << 2 | 0x20);	/* S3: ignored */
	CU_ASSERT_EQUAL(fake.poweroffs, 0);
	legacy_bus_write(&bus, 0x600, 1, 5 << 2 | 0x20);
	CU_ASSERT_EQUAL(fake.poweroffs, 1);
	CU_ASSERT_EQUAL(legacy_bus_read(&bus, 0x601, 1), 0);
	legacy_bus_destroy(&bus);
}

CUTEST_MAIN("legacy-bus",
	CUTEST(test_acpi_sleep_s5),
	CUTEST(test_pc_set),
	CUTEST(test_add_limits));

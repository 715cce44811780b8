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

/* State of one bus carried to a fresh one (a restarted mica-legacy):
 * UART registers and FIFO, CMOS RAM, the i8042 command byte; a pending
 * UART interrupt is raised again; damaged records are refused. */
static void test_save_load(void)
{
	struct legacy_bus a, b;
	uint8_t buf[1024], bad[1024];
	char why[128] = "";
	size_t n;

	fake_reset_state();
	CU_ASSERT_EQUAL_FATAL(legacy_bus_create_pc(&a, &fake_host), 0);
	CU_ASSERT_EQUAL_FATAL(legacy_bus_create_pc(&b, &fake_host), 0);
	legacy_bus_write(&a, 0x3fb, 1, 0x80);		/* DLAB */
	legacy_bus_write(&a, 0x3f8, 1, 0x30);
	legacy_bus_write(&a, 0x3f9, 1, 0x02);
	legacy_bus_write(&a, 0x3fb, 1, 0x1b);
	legacy_bus_write(&a, 0x3fa, 1, 0xc1);		/* FIFO, trigger 14 */
	legacy_bus_write(&a, 0x3fc, 1, 0x08);		/* OUT2 */
	legacy_bus_write(&a, 0x3ff, 1, 0xa5);
	legacy_bus_write(&a, 0x3f9, 1, 0x01);		/* ERBFI */
	uart8250_receive(a.com1, (const uint8_t *)"hi", 2);
	legacy_bus_write(&a, 0x70, 1, 0x45);
	legacy_bus_write(&a, 0x71, 1, 0x77);
	legacy_bus_write(&a, 0x64, 1, 0x60);
	legacy_bus_write(&a, 0x60, 1, 0x45);
	n = legacy_bus_save(&a, buf, sizeof(buf));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(legacy_bus_save(&a, buf, 10), 0);	/* too small */

	memcpy(bad, buf, n);
	bad[2] = 255;					/* length past the end */
	CU_ASSERT_EQUAL(legacy_bus_load(&b, bad, 40, why, sizeof(why)), -EINVAL);
	CU_ASSERT(strstr(why, "run past the end") != NULL);
	memcpy(bad, buf, n);
	bad[0] = 0x80;					/* no device there */
	CU_ASSERT_EQUAL(legacy_bus_load(&b, bad, n, why, sizeof(why)), -EINVAL);
	CU_ASSERT(strstr(why, "no device") != NULL);
	memcpy(bad, buf, n);
	bad[3 + 11] = 200;				/* UART rx_count */
	CU_ASSERT_EQUAL(legacy_bus_load(&b, bad, n, why, sizeof(why)), -EINVAL);
	CU_ASSERT(strstr(why, "uart8250 at port 0x3f8") != NULL);

	fake.irq_level[4] = 0;
	CU_ASSERT_EQUAL(legacy_bus_load(&b, buf, n, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(fake.irq_level[4], 1);		/* data waits: raised */
	CU_ASSERT_EQUAL(legacy_bus_read(&b, 0x3ff, 1), 0xa5);
	CU_ASSERT_EQUAL(legacy_bus_read(&b, 0x3fb, 1), 0x1b);
	CU_ASSERT_EQUAL(legacy_bus_read(&b, 0x3f9, 1), 0x01);
	legacy_bus_write(&b, 0x3fb, 1, 0x9b);
	CU_ASSERT_EQUAL(legacy_bus_read(&b, 0x3f8, 1), 0x30);
	CU_ASSERT_EQUAL(legacy_bus_read(&b, 0x3f9, 1), 0x02);
	legacy_bus_write(&b, 0x3fb, 1, 0x1b);
	CU_ASSERT_EQUAL(legacy_bus_read(&b, 0x3f8, 1), 'h');
	CU_ASSERT_EQUAL(legacy_bus_read(&b, 0x3f8, 1), 'i');
	legacy_bus_write(&b, 0x70, 1, 0x45);
	CU_ASSERT_EQUAL(legacy_bus_read(&b, 0x71, 1), 0x77);
	legacy_bus_write(&b, 0x64, 1, 0x20);
	CU_ASSERT_EQUAL(legacy_bus_read(&b, 0x60, 1), 0x45);
	legacy_bus_destroy(&a);
	legacy_bus_destroy(&b);
}

CUTEST_MAIN("legacy-bus",
	CUTEST(test_save_load),
	CUTEST(test_acpi_sleep_s5),
	CUTEST(test_pc_set),
	CUTEST(test_add_limits));

/* i8042 model: self-test, command byte, reset paths. */
#include "cutest.h"
#include "i8042.c"
#include "fake-host.h"

static struct legacy_dev *new_kbc(void)
{
	fake_reset_state();
	return must(i8042_create(&fake_host));
}

static void test_self_test(void)
{
	struct legacy_dev *d = new_kbc();

	CU_ASSERT_EQUAL(io_in(d, 0x64) & STAT_OBF, 0);
	io_out(d, 0x64, 0xaa);
	CU_ASSERT_EQUAL(io_in(d, 0x64) & (STAT_OBF | STAT_SYS | STAT_CMD),
			STAT_OBF | STAT_SYS | STAT_CMD);
	CU_ASSERT_EQUAL(io_in(d, 0x60), 0x55);
	CU_ASSERT_EQUAL(io_in(d, 0x64) & STAT_OBF, 0);
	legacy_dev_destroy(d);
}

static void test_command_byte_and_irq(void)
{
	struct legacy_dev *d = new_kbc();

	io_out(d, 0x64, 0x60);
	io_out(d, 0x60, 0x00);		/* no interrupts */
	io_out(d, 0x64, 0x20);
	CU_ASSERT_EQUAL(fake.irq_level[1], 0);
	CU_ASSERT_EQUAL(io_in(d, 0x60), 0x00);
	io_out(d, 0x64, 0x60);
	io_out(d, 0x60, CB_KBD_INT);
	io_out(d, 0x60, 0xff);		/* keyboard reset */
	CU_ASSERT_EQUAL(fake.irq_level[1], 1);
	CU_ASSERT_EQUAL(io_in(d, 0x60), 0xfa);
	CU_ASSERT_EQUAL(io_in(d, 0x60), 0xaa);
	CU_ASSERT_EQUAL(fake.irq_level[1], 0);
	legacy_dev_destroy(d);
}

static void test_reset_fe(void)
{
	struct legacy_dev *d = new_kbc();

	io_out(d, 0x64, 0xfe);
	CU_ASSERT_EQUAL(fake.resets, 1);
	io_out(d, 0x64, 0xff);		/* pulses nothing */
	CU_ASSERT_EQUAL(fake.resets, 1);
	legacy_dev_destroy(d);
}

static void test_reset_output_port(void)
{
	struct legacy_dev *d = new_kbc();

	io_out(d, 0x64, 0xd0);
	CU_ASSERT_EQUAL(io_in(d, 0x60), OUT_RESET | OUT_A20);
	io_out(d, 0x64, 0xd1);
	io_out(d, 0x60, OUT_RESET | OUT_A20);
	CU_ASSERT_EQUAL(fake.resets, 0);
	io_out(d, 0x64, 0xd1);
	io_out(d, 0x60, OUT_A20);
	CU_ASSERT_EQUAL(fake.resets, 1);
	legacy_dev_destroy(d);
}

static void test_reset_cf9(void)
{
	struct legacy_dev *d;

	fake_reset_state();
	d = must(reset_cf9_create(&fake_host));
	io_out(d, 0xcf9, 0x02);
	CU_ASSERT_EQUAL(fake.resets, 0);
	CU_ASSERT_EQUAL(io_in(d, 0xcf9), 0x02);
	io_out(d, 0xcf9, 0x06);
	CU_ASSERT_EQUAL(fake.resets, 1);
	legacy_dev_destroy(d);
}

static void test_queue_overflow_is_harmless(void)
{
	struct legacy_dev *d = new_kbc();

	for (int i = 0; i < 40; i++)
		io_out(d, 0x64, 0x20);
	for (int i = 0; i < I8042_QUEUE; i++)
		io_in(d, 0x60);
	CU_ASSERT_EQUAL(io_in(d, 0x64) & STAT_OBF, 0);
	legacy_dev_destroy(d);
}

CUTEST_MAIN("legacy-i8042",
	CUTEST(test_self_test),
	CUTEST(test_command_byte_and_irq),
	CUTEST(test_reset_fe),
	CUTEST(test_reset_output_port),
	CUTEST(test_reset_cf9),
	CUTEST(test_queue_overflow_is_harmless));

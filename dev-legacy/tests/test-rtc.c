/* CMOS RTC model: BCD/binary, 12/24 h, setting the time, status regs. */
#include "cutest.h"
#include "rtc.c"
#include "fake-host.h"

/* 2026-11-24 23:59:58 UTC, a Tuesday. */
#define T0 1795564798

static struct legacy_dev *new_rtc(void)
{
	fake_reset_state();
	fake.now = T0;
	return must(rtc_create(&fake_host));
}

static uint8_t cmos(struct legacy_dev *d, uint8_t idx)
{
	io_out(d, 0x70, idx);
	return io_in(d, 0x71);
}

static void cmos_set(struct legacy_dev *d, uint8_t idx, uint8_t v)
{
	io_out(d, 0x70, idx);
	io_out(d, 0x71, v);
}

static void test_bcd_time(void)
{
	struct legacy_dev *d = new_rtc();

	CU_ASSERT_EQUAL(cmos(d, RTC_SECONDS), 0x58);
	CU_ASSERT_EQUAL(cmos(d, RTC_MINUTES), 0x59);
	CU_ASSERT_EQUAL(cmos(d, RTC_HOURS), 0x23);
	CU_ASSERT_EQUAL(cmos(d, RTC_DAY), 0x24);
	CU_ASSERT_EQUAL(cmos(d, RTC_MONTH), 0x11);
	CU_ASSERT_EQUAL(cmos(d, RTC_YEAR), 0x26);
	CU_ASSERT_EQUAL(cmos(d, RTC_CENTURY), 0x20);
	CU_ASSERT_EQUAL(cmos(d, RTC_WEEKDAY), 3);
	fake.now += 3;			/* time moves with the host */
	CU_ASSERT_EQUAL(cmos(d, RTC_SECONDS), 0x01);
	CU_ASSERT_EQUAL(cmos(d, RTC_DAY), 0x25);
	legacy_dev_destroy(d);
}

static void test_binary_12h(void)
{
	struct legacy_dev *d = new_rtc();

	cmos_set(d, RTC_REG_B, REG_B_DM);	/* binary, 12 hour */
	CU_ASSERT_EQUAL(cmos(d, RTC_SECONDS), 58);
	CU_ASSERT_EQUAL(cmos(d, RTC_HOURS), 0x80 | 11);
	CU_ASSERT_EQUAL(cmos(d, RTC_YEAR), 26);
	cmos_set(d, RTC_REG_B, 0);		/* BCD, 12 hour */
	CU_ASSERT_EQUAL(cmos(d, RTC_HOURS), 0x80 | 0x11);
	legacy_dev_destroy(d);
}

static void test_set_time(void)
{
	struct legacy_dev *d = new_rtc();

	cmos_set(d, RTC_REG_B, REG_B_SET | REG_B_24H);
	cmos_set(d, RTC_HOURS, 0x08);
	cmos_set(d, RTC_MINUTES, 0x30);
	cmos_set(d, RTC_SECONDS, 0x00);
	cmos_set(d, RTC_YEAR, 0x99);
	cmos_set(d, RTC_CENTURY, 0x19);
	fake.now += 100;			/* frozen while SET */
	CU_ASSERT_EQUAL(cmos(d, RTC_SECONDS), 0x00);
	cmos_set(d, RTC_REG_B, REG_B_24H);
	fake.now += 5;
	CU_ASSERT_EQUAL(cmos(d, RTC_SECONDS), 0x05);
	CU_ASSERT_EQUAL(cmos(d, RTC_MINUTES), 0x30);
	CU_ASSERT_EQUAL(cmos(d, RTC_HOURS), 0x08);
	CU_ASSERT_EQUAL(cmos(d, RTC_YEAR), 0x99);
	CU_ASSERT_EQUAL(cmos(d, RTC_CENTURY), 0x19);
	legacy_dev_destroy(d);
}

static void test_status_and_ram(void)
{
	struct legacy_dev *d = new_rtc();

	CU_ASSERT_EQUAL(cmos(d, RTC_REG_A) & REG_A_UIP, 0);
	CU_ASSERT_EQUAL(cmos(d, RTC_REG_D), REG_D_VRT);
	CU_ASSERT_EQUAL(cmos(d, RTC_REG_C), 0);
	cmos_set(d, RTC_REG_D, 0);
	CU_ASSERT_EQUAL(cmos(d, RTC_REG_D), REG_D_VRT);
	cmos_set(d, 0x40, 0x77);
	CU_ASSERT_EQUAL(cmos(d, 0x40), 0x77);
	/* NMI-mask bit of the index is ignored. */
	CU_ASSERT_EQUAL(cmos(d, 0x80 | 0x40), 0x77);
	legacy_dev_destroy(d);
}

#define MS 1000000ULL

static void test_periodic_interrupt(void)
{
	struct legacy_dev *d = new_rtc();
	uint64_t next;

	/* PIE off: nothing to schedule, no line (PF still ticks). */
	CU_ASSERT_EQUAL(rtc_poll(d, 1000 * MS), UINT64_MAX);
	cmos(d, RTC_REG_C);
	cmos_set(d, RTC_REG_B, REG_B_24H | REG_B_PIE);	/* 1024 Hz default */
	next = rtc_poll(d, 1000 * MS + 100);
	CU_ASSERT(next > 1000 * MS && next <= 1000 * MS + MS);
	CU_ASSERT_EQUAL(fake.irq_level[8], 0);
	rtc_poll(d, next);
	CU_ASSERT_EQUAL(fake.irq_level[8], 1);
	CU_ASSERT_EQUAL(cmos(d, RTC_REG_C) & (REG_C_IRQF | REG_C_PF),
			REG_C_IRQF | REG_C_PF);
	CU_ASSERT_EQUAL(fake.irq_level[8], 0);		/* read C acks */
	CU_ASSERT_EQUAL(cmos(d, RTC_REG_C), 0);
	/* Rate 15 is 2 Hz: a long gap sets PF once. */
	cmos_set(d, RTC_REG_A, 0x2f);
	next = rtc_poll(d, 2000 * MS);
	CU_ASSERT(next > 2000 * MS && next <= 2500 * MS);
	rtc_poll(d, 9000 * MS);
	CU_ASSERT_EQUAL(cmos(d, RTC_REG_C) & REG_C_PF, REG_C_PF);
	/* PF without PIE: flag but no interrupt. */
	cmos_set(d, RTC_REG_B, REG_B_24H);
	rtc_poll(d, 20000 * MS);
	CU_ASSERT_EQUAL(fake.irq_level[8], 0);
	CU_ASSERT_EQUAL(cmos(d, RTC_REG_C), REG_C_PF);
	legacy_dev_destroy(d);
}

static void test_update_and_alarm_interrupts(void)
{
	struct legacy_dev *d = new_rtc();

	cmos_set(d, RTC_SECONDS_ALARM, 0x00);		/* 00:00:00 */
	cmos_set(d, RTC_MINUTES_ALARM, 0x00);
	cmos_set(d, RTC_HOURS_ALARM, 0xc0);		/* any hour */
	cmos_set(d, RTC_REG_B, REG_B_24H | REG_B_UIE | REG_B_AIE);
	CU_ASSERT_EQUAL(rtc_poll(d, 5 * MS), 1000 * MS);
	CU_ASSERT_EQUAL(fake.irq_level[8], 0);		/* same second */
	fake.now++;					/* 23:59:59 */
	rtc_poll(d, 1000 * MS);
	CU_ASSERT_EQUAL(cmos(d, RTC_REG_C) & ~REG_C_PF, REG_C_IRQF | REG_C_UF);
	fake.now++;					/* 00:00:00 */
	rtc_poll(d, 2000 * MS);
	CU_ASSERT_EQUAL(fake.irq_level[8], 1);
	CU_ASSERT_EQUAL(cmos(d, RTC_REG_C) & ~REG_C_PF,
			REG_C_IRQF | REG_C_UF | REG_C_AF);
	CU_ASSERT_EQUAL(fake.irq_level[8], 0);
	legacy_dev_destroy(d);
}

CUTEST_MAIN("legacy-rtc",
	CUTEST(test_periodic_interrupt),
	CUTEST(test_update_and_alarm_interrupts),
	CUTEST(test_bcd_time),
	CUTEST(test_binary_12h),
	CUTEST(test_set_time),
	CUTEST(test_status_and_ram));

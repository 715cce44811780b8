/* MC146818 CMOS RTC: time and date registers in BCD or binary, 12/24 hour,
 * status registers A-D, century at 0x32 (the FADT's century index), and
 * the rest as battery-backed RAM.  Time follows the host clock plus the
 * offset the guest set.  Periodic, alarm and update-ended interrupts are
 * raised from rtc_poll, which the host calls at the time it returns (the
 * library has no timers of its own). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "legacy.h"

#define RTC_SECONDS	0x00
#define RTC_MINUTES	0x02
#define RTC_HOURS	0x04
#define RTC_WEEKDAY	0x06
#define RTC_DAY		0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_REG_C	0x0c
#define RTC_REG_D	0x0d
#define RTC_CENTURY	0x32
#define RTC_RAM_SIZE	128
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS_ALARM	0x05

#define REG_A_UIP	0x80
#define REG_B_SET	0x80
#define REG_B_PIE	0x40
#define REG_B_AIE	0x20
#define REG_B_UIE	0x10
#define REG_C_IRQF	0x80
#define REG_C_PF	0x40
#define REG_C_AF	0x20
#define REG_C_UF	0x10
#define NS_PER_SEC	1000000000ULL
#define REG_B_DM	0x04	/* binary instead of BCD */
#define REG_B_24H	0x02
#define REG_D_VRT	0x80

struct rtc {
	struct legacy_dev dev;
	uint8_t index;
	uint8_t ram[RTC_RAM_SIZE];
	time_t offset;			/* guest time - host time */
	time_t frozen;			/* guest time while SET is on */
	time_t last_second;		/* guest second of the last poll */
	uint64_t next_periodic_ns;	/* 0: not scheduled */
	int irq_level;
};

static time_t rtc_host_now(const struct rtc *r)
{
	const struct legacy_host *h = r->dev.host;

	return h->now != NULL ? h->now(h->opaque) : time(NULL);
}

static uint8_t to_bcd(unsigned v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned from_bcd(uint8_t v)
{
	return (v >> 4) * 10u + (v & 0x0f);
}

static uint8_t rtc_encode(const struct rtc *r, unsigned v)
{
	return (r->ram[RTC_REG_B] & REG_B_DM) ? (uint8_t)v : to_bcd(v);
}

static unsigned rtc_decode(const struct rtc *r, uint8_t v)
{
	return (r->ram[RTC_REG_B] & REG_B_DM) ? v : from_bcd(v);
}

static time_t rtc_guest_now(const struct rtc *r)
{
	if (r->ram[RTC_REG_B] & REG_B_SET)
		return r->frozen;
	return rtc_host_now(r) + r->offset;
}

static uint8_t rtc_encode_hours(const struct rtc *r, unsigned hour)
{
	bool pm = hour >= 12;

	if (r->ram[RTC_REG_B] & REG_B_24H)
		return rtc_encode(r, hour);
	hour %= 12;
	return rtc_encode(r, hour == 0 ? 12 : hour) | (pm ? 0x80 : 0);
}

static unsigned rtc_decode_hours(const struct rtc *r, uint8_t v)
{
	unsigned hour;

	if (r->ram[RTC_REG_B] & REG_B_24H)
		return rtc_decode(r, v);
	hour = rtc_decode(r, v & 0x7f) % 12;
	return (v & 0x80) ? hour + 12 : hour;
}

/* Fill the time registers from the guest clock. */
static void rtc_latch(struct rtc *r)
{
	time_t t = rtc_guest_now(r);
	struct tm tm;

	gmtime_r(&t, &tm);
	r->ram[RTC_SECONDS] = rtc_encode(r, (unsigned)tm.tm_sec);
	r->ram[RTC_MINUTES] = rtc_encode(r, (unsigned)tm.tm_min);
	r->ram[RTC_HOURS] = rtc_encode_hours(r, (unsigned)tm.tm_hour);
	r->ram[RTC_WEEKDAY] = rtc_encode(r, (unsigned)tm.tm_wday + 1);
	r->ram[RTC_DAY] = rtc_encode(r, (unsigned)tm.tm_mday);
	r->ram[RTC_MONTH] = rtc_encode(r, (unsigned)tm.tm_mon + 1);
	r->ram[RTC_YEAR] = rtc_encode(r, (unsigned)(tm.tm_year + 1900) % 100);
	r->ram[RTC_CENTURY] = rtc_encode(r, (unsigned)(tm.tm_year + 1900) / 100);
}

/* The guest wrote a time register: the registers now hold the wanted
 * guest time; derive the new offset from them. */
static void rtc_commit(struct rtc *r)
{
	struct tm tm = {
		.tm_sec = (int)rtc_decode(r, r->ram[RTC_SECONDS]),
		.tm_min = (int)rtc_decode(r, r->ram[RTC_MINUTES]),
		.tm_hour = (int)rtc_decode_hours(r, r->ram[RTC_HOURS]),
		.tm_mday = (int)rtc_decode(r, r->ram[RTC_DAY]),
		.tm_mon = (int)rtc_decode(r, r->ram[RTC_MONTH]) - 1,
		.tm_year = (int)(rtc_decode(r, r->ram[RTC_CENTURY]) * 100 +
				 rtc_decode(r, r->ram[RTC_YEAR])) - 1900,
	};
	time_t t = timegm(&tm);

	if (t == (time_t)-1)
		return;			/* nonsense date: keep the old time */
	if (r->ram[RTC_REG_B] & REG_B_SET)
		r->frozen = t;
	else
		r->offset = t - rtc_host_now(r);
}

static void rtc_update_irq(struct rtc *r)
{
	uint8_t c = r->ram[RTC_REG_C] & (REG_C_PF | REG_C_AF | REG_C_UF);
	uint8_t b = r->ram[RTC_REG_B];
	int level;

	if (((c & REG_C_PF) && (b & REG_B_PIE)) ||
	    ((c & REG_C_AF) && (b & REG_B_AIE)) ||
	    ((c & REG_C_UF) && (b & REG_B_UIE)))
		r->ram[RTC_REG_C] |= REG_C_IRQF;
	level = !!(r->ram[RTC_REG_C] & REG_C_IRQF);
	if (level != r->irq_level) {
		r->irq_level = level;
		if (r->dev.host->set_irq != NULL)
			r->dev.host->set_irq(r->dev.host->opaque, r->dev.irq, level);
	}
}

/* Periodic rate from register A: 0 off, 1-2 as 8-9, n -> 65536 >> n Hz
 * (rate 6 is 1024 Hz); only with the normal 32.768 kHz divider. */
static uint64_t rtc_period_ns(const struct rtc *r)
{
	unsigned rate = r->ram[RTC_REG_A] & 0x0f;

	if (rate == 0 || (r->ram[RTC_REG_A] & 0x70) != 0x20)
		return 0;
	if (rate < 3)
		rate += 7;
	return NS_PER_SEC * (1ULL << rate) / 65536;
}

/* An alarm byte with its top two bits set matches anything. */
static bool rtc_alarm_byte_matches(uint8_t alarm, uint8_t now)
{
	return (alarm & 0xc0) == 0xc0 || alarm == now;
}

static bool rtc_alarm_matches(struct rtc *r)
{
	rtc_latch(r);
	return rtc_alarm_byte_matches(r->ram[RTC_SECONDS_ALARM], r->ram[RTC_SECONDS]) &&
	       rtc_alarm_byte_matches(r->ram[RTC_MINUTES_ALARM], r->ram[RTC_MINUTES]) &&
	       rtc_alarm_byte_matches(r->ram[RTC_HOURS_ALARM], r->ram[RTC_HOURS]);
}

uint64_t rtc_poll(struct legacy_dev *dev, uint64_t now_ns)
{
	struct rtc *r = (struct rtc *)dev;
	uint64_t period = rtc_period_ns(r), next = UINT64_MAX;
	time_t second = rtc_guest_now(r);

	if (!(r->ram[RTC_REG_B] & REG_B_SET) && second != r->last_second) {
		r->ram[RTC_REG_C] |= REG_C_UF;
		if (rtc_alarm_matches(r))
			r->ram[RTC_REG_C] |= REG_C_AF;
	}
	r->last_second = second;
	if (period == 0) {
		r->next_periodic_ns = 0;
	} else {
		if (r->next_periodic_ns == 0 || r->next_periodic_ns > now_ns + period)
			r->next_periodic_ns = now_ns + period;
		if (r->next_periodic_ns <= now_ns) {
			r->ram[RTC_REG_C] |= REG_C_PF;
			/* Missed periods collapse into one flag, as on hardware. */
			r->next_periodic_ns += ((now_ns - r->next_periodic_ns) /
						period + 1) * period;
		}
		if (r->ram[RTC_REG_B] & REG_B_PIE)
			next = r->next_periodic_ns;
	}
	rtc_update_irq(r);
	if (r->ram[RTC_REG_B] & (REG_B_UIE | REG_B_AIE)) {
		uint64_t second_ns = now_ns - now_ns % NS_PER_SEC + NS_PER_SEC;

		if (second_ns < next)
			next = second_ns;
	}
	return next;
}

static bool rtc_is_time_reg(uint8_t index)
{
	return index <= RTC_YEAR || index == RTC_CENTURY;
}

static uint32_t rtc_read(struct legacy_dev *dev, uint16_t port, unsigned size)
{
	struct rtc *r = (struct rtc *)dev;
	uint8_t val;

	if (port == LEGACY_RTC_PORT)
		return 0xff;		/* index register is write-only */
	if (rtc_is_time_reg(r->index))
		rtc_latch(r);
	val = r->ram[r->index];
	if (r->index == RTC_REG_C) {
		r->ram[RTC_REG_C] = 0;	/* read clears the flags */
		rtc_update_irq(r);
	}
	return val;
}

static void rtc_write(struct legacy_dev *dev, uint16_t port, unsigned size,
		      uint32_t val32)
{
	struct rtc *r = (struct rtc *)dev;
	uint8_t val = (uint8_t)val32;

	if (port == LEGACY_RTC_PORT) {
		r->index = val & 0x7f;	/* bit 7 is the NMI mask */
		return;
	}
	switch (r->index) {
	case RTC_REG_A:
		r->ram[RTC_REG_A] = val & ~REG_A_UIP;
		break;
	case RTC_REG_B:
		if (!(r->ram[RTC_REG_B] & REG_B_SET) && (val & REG_B_SET))
			r->frozen = rtc_guest_now(r);
		else if ((r->ram[RTC_REG_B] & REG_B_SET) && !(val & REG_B_SET))
			r->offset = r->frozen - rtc_host_now(r);
		/* Changing the format reinterprets nothing: re-latch. */
		r->ram[RTC_REG_B] = val;
		rtc_update_irq(r);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;			/* read-only */
	default:
		if (rtc_is_time_reg(r->index)) {
			rtc_latch(r);
			r->ram[r->index] = val;
			rtc_commit(r);
		} else {
			r->ram[r->index] = val;
		}
		break;
	}
}

static void rtc_destroy(struct legacy_dev *dev)
{
	free(dev);
}

struct rtc_state {
	int64_t offset, frozen, last_second;
	uint64_t next_periodic_ns;
	uint8_t index;
	uint8_t ram[RTC_RAM_SIZE];
};

static size_t rtc_save(const struct legacy_dev *dev, void *buf)
{
	const struct rtc *r = (const struct rtc *)dev;
	struct rtc_state s = {
		r->offset, r->frozen, r->last_second, r->next_periodic_ns,
		r->index, { 0 },
	};

	memcpy(s.ram, r->ram, sizeof(s.ram));
	memcpy(buf, &s, sizeof(s));
	return sizeof(s);
}

static int rtc_load(struct legacy_dev *dev, const void *buf, size_t len)
{
	struct rtc *r = (struct rtc *)dev;
	struct rtc_state s;

	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	if (s.index >= RTC_RAM_SIZE)
		return -EINVAL;
	r->offset = (time_t)s.offset;
	r->frozen = (time_t)s.frozen;
	r->last_second = (time_t)s.last_second;
	r->next_periodic_ns = s.next_periodic_ns;
	r->index = s.index;
	memcpy(r->ram, s.ram, sizeof(r->ram));
	r->irq_level = 0;		/* raised again if still pending */
	rtc_update_irq(r);
	return 0;
}

static const struct legacy_dev_ops rtc_ops = {
	.name = "rtc",
	.read = rtc_read,
	.write = rtc_write,
	.destroy = rtc_destroy,
	.save = rtc_save,
	.load = rtc_load,
};

struct legacy_dev *rtc_create(const struct legacy_host *host)
{
	struct rtc *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->dev = (struct legacy_dev){
		.ops = &rtc_ops, .host = host, .irq = LEGACY_RTC_IRQ,
		.ports = { { LEGACY_RTC_PORT, 2 } }, .nr_ports = 1,
	};
	r->ram[RTC_REG_A] = 0x26;	/* 32.768 kHz base, 1024 Hz rate */
	r->ram[RTC_REG_B] = REG_B_24H;
	r->ram[RTC_REG_D] = REG_D_VRT;
	r->last_second = rtc_guest_now(r);
	return &r->dev;
}

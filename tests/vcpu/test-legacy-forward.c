/* Forwarded legacy I/O, runner side (vcpu-runner/legacy-forward.c),
 * against a fake mica-legacy on a real socketpair: answers match their
 * requests with several threads at once, reset/poweroff flags stop the
 * machine, a peer that dies mid-request is replaced and the request
 * retried, and no peer at all answers all ones. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cutest.h"
#include "../../vcpu-runner/legacy-forward.c"

/* What the fake device answers for a read: depends on port and size
 * only, so a reply given to the wrong request shows. */
static uint32_t expected(uint16_t port, unsigned size)
{
	uint32_t v = (uint32_t)port * 7u + size * 0x101u;

	return size == 1 ? v & 0xff : v & 0xffff;
}

struct fake_legacy {
	int fd;
	int die_after;		/* close without answering request N (0: never) */
	pthread_t thread;
	unsigned served;
};

static void *fake_legacy_main(void *arg)
{
	struct fake_legacy *fl = arg;
	struct legacy_fwd_msg m, rep;

	while (recv(fl->fd, &m, sizeof(m), 0) == (ssize_t)sizeof(m)) {
		if (m.type == LEGACY_FWD_HELLO)
			continue;
		if (fl->die_after && fl->served + 1 == (unsigned)fl->die_after)
			break;
		rep = (struct legacy_fwd_msg){
			.magic = LEGACY_FWD_MAGIC, .type = LEGACY_FWD_REPLY,
			.seq = m.seq,
			.value = m.write ? 0 : expected(m.port, m.size),
		};
		if (m.write && m.port == 0x64 && m.value == 0xfe)
			rep.flags = LEGACY_FWD_RESET;
		if (m.write && m.port == 0x600)
			rep.flags = LEGACY_FWD_POWEROFF;
		fl->served++;
		if (send(fl->fd, &rep, sizeof(rep), MSG_NOSIGNAL) < 0)
			break;
	}
	close(fl->fd);
	return NULL;
}

/* Start a fake mica-legacy and return the runner's channel end. */
static int fake_legacy_start(struct fake_legacy *fl, int die_after)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fl->fd = sv[1];
	fl->die_after = die_after;
	fl->served = 0;
	pthread_create(&fl->thread, NULL, fake_legacy_main, fl);
	return sv[0];
}

static struct machine machine;
static struct legacy_forward fwd;

static void setup_forward(void)
{
	memset(&machine, 0, sizeof(machine));
	CU_ASSERT_EQUAL(legacy_forward_init(&fwd, LEGACY_FWD_MSG), 0);
	CU_ASSERT_EQUAL(legacy_forward_attach(&fwd, &machine), 0);
}

static void teardown_forward(void)
{
	if (fwd.channel_fd >= 0)
		close(fwd.channel_fd);
	fwd.channel_fd = -1;
}

static const uint16_t ports[] = { 0x3f8, 0x3fd, 0x3ff, 0x60, 0x64, 0x70, 0x71, 0x601 };
#define NPORTS (sizeof(ports) / sizeof(ports[0]))

struct worker {
	pthread_t thread;
	unsigned id, reads, wrong;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (unsigned i = 0; i < w->reads; i++) {
		uint16_t port = ports[(i + w->id) % NPORTS];
		unsigned size = (i & 1) ? 1 : 2;
		uint64_t v = 0;

		iobus_read(&machine.pio, port, size, &v);
		if (v != expected(port, size))
			w->wrong++;
		/* A write between reads, as a driver polling LSR does. */
		if (iobus_write(&machine.pio, 0x3f8, 1, 'x') != 1)
			w->wrong++;
	}
	return NULL;
}

static void test_concurrent_threads(void)
{
	struct fake_legacy fl;
	struct worker w[4];

	setup_forward();
	CU_ASSERT_EQUAL(legacy_forward_connect(&fwd, fake_legacy_start(&fl, 0)), 0);
	for (unsigned i = 0; i < 4; i++) {
		w[i] = (struct worker){ .id = i, .reads = 2000 };
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(w[i].thread, NULL);
		CU_ASSERT_EQUAL(w[i].wrong, 0);
	}
	CU_ASSERT_EQUAL(fwd.forwarded, 16000);
	CU_ASSERT_EQUAL(fwd.lost, 0);
	teardown_forward();
	pthread_join(fl.thread, NULL);
}

static void test_reset_and_poweroff_stop_the_machine(void)
{
	struct fake_legacy fl;

	setup_forward();
	CU_ASSERT_EQUAL(legacy_forward_connect(&fwd, fake_legacy_start(&fl, 0)), 0);
	iobus_write(&machine.pio, 0x64, 1, 0xaa);
	CU_ASSERT_EQUAL(machine.stopping, 0);
	iobus_write(&machine.pio, 0x64, 1, 0xfe);
	CU_ASSERT_EQUAL(machine.stopping, 1);
	CU_ASSERT_EQUAL(machine.stop_reason, MACHINE_RESET);
	machine.stopping = 0;
	machine.stop_reason = MACHINE_RUNNING;
	iobus_write(&machine.pio, 0x600, 1, 0x34);
	CU_ASSERT_EQUAL(machine.stop_reason, MACHINE_POWEROFF);
	teardown_forward();
	pthread_join(fl.thread, NULL);
}

static void *reconnect_later(void *arg)
{
	struct fake_legacy *fl = arg;

	usleep(100000);		/* mica's restart back-off */
	legacy_forward_connect(&fwd, fake_legacy_start(fl, 0));
	return NULL;
}

static void test_restart_retries_the_access_in_flight(void)
{
	struct fake_legacy first, second;
	struct worker w = { .id = 0, .reads = 50 };
	pthread_t helper;

	setup_forward();
	/* The first mica-legacy dies on the 11th request, unanswered. */
	CU_ASSERT_EQUAL(legacy_forward_connect(&fwd, fake_legacy_start(&first, 11)), 0);
	pthread_create(&helper, NULL, reconnect_later, &second);
	worker_main(&w);
	CU_ASSERT_EQUAL(w.wrong, 0);
	CU_ASSERT_EQUAL(fwd.forwarded, 100);
	CU_ASSERT_EQUAL(fwd.lost, 0);
	CU_ASSERT_EQUAL(first.served, 10);
	CU_ASSERT_EQUAL(second.served, 90);
	pthread_join(helper, NULL);
	pthread_join(first.thread, NULL);
	teardown_forward();
	pthread_join(second.thread, NULL);
}

static void test_no_legacy_reads_all_ones(void)
{
	uint64_t v = 0;

	setup_forward();
	iobus_read(&machine.pio, 0x3fd, 1, &v);
	CU_ASSERT_EQUAL(v, 0xff);
	CU_ASSERT_EQUAL(fwd.lost, 1);
}

CUTEST_MAIN("vcpu-legacy-forward",
	CUTEST(test_concurrent_threads),
	CUTEST(test_reset_and_poweroff_stop_the_machine),
	CUTEST(test_restart_retries_the_access_in_flight),
	CUTEST(test_no_legacy_reads_all_ones));

/* mica-legacy's side of forwarded I/O (dev-legacy/main.c, included to
 * reach its statics): accesses reach the real device models and come
 * back with their value and reset/poweroff flags, in both transports; a
 * runner that sends garbage loses its channel, a bad access size is
 * answered with all ones. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cutest.h"

#define main legacy_main
int legacy_main(int argc, char **argv);
#include "../main.c"
#undef main

static struct daemon test_daemon;
static int runner_end = -1;

/* A fresh mica-legacy state with devices and a channel to "the runner". */
static void legacy_up(void)
{
	int sv[2];

	if (test_daemon.loop == NULL)
		test_daemon.loop = evloop_new();
	legacy_bus_destroy(&legacy.bus);
	channel_close(&legacy);
	memset(&legacy, 0, sizeof(legacy));
	legacy.channel_fd = legacy.req_efd = legacy.reply_efd = -1;
	legacy.rtc_timer = -1;
	for (unsigned i = 0; i < ISA_IRQS; i++)
		legacy.irq_fds[i] = -1;
	legacy.d = &test_daemon;
	legacy.console_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	legacy.host = (struct legacy_host){
		.set_irq = host_set_irq, .output = host_output,
		.reset = host_reset, .poweroff = host_poweroff, .opaque = &legacy,
	};
	CU_ASSERT_EQUAL(legacy_bus_create_pc(&legacy.bus, &legacy.host), 0);
	CU_ASSERT_EQUAL(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	if (runner_end >= 0)
		close(runner_end);
	runner_end = sv[0];
	CU_ASSERT_EQUAL(channel_start(&legacy, sv[1]), 0);
}

/* The runner sends raw bytes; mica-legacy handles what arrived. */
static void runner_send(const void *buf, size_t len)
{
	CU_ASSERT_EQUAL(send(runner_end, buf, len, 0), (ssize_t)len);
	on_channel(test_daemon.loop, legacy.channel_fd, EPOLLIN, &legacy);
}

static struct legacy_fwd_msg io(uint32_t seq, uint16_t port, uint8_t size,
				bool write, uint32_t value)
{
	return (struct legacy_fwd_msg){
		.magic = LEGACY_FWD_MAGIC, .type = LEGACY_FWD_IO, .seq = seq,
		.port = port, .size = size, .write = write, .value = value,
	};
}

static struct legacy_fwd_msg runner_reply(void)
{
	struct legacy_fwd_msg rep = { 0 };

	CU_ASSERT_EQUAL(recv(runner_end, &rep, sizeof(rep), MSG_DONTWAIT),
			(ssize_t)sizeof(rep));
	CU_ASSERT_EQUAL(rep.magic, LEGACY_FWD_MAGIC);
	CU_ASSERT_EQUAL(rep.type, LEGACY_FWD_REPLY);
	return rep;
}

static void hello_msg(void)
{
	struct legacy_fwd_msg hello = {
		.magic = LEGACY_FWD_MAGIC, .type = LEGACY_FWD_HELLO,
		.value = LEGACY_FWD_MSG,
	};

	runner_send(&hello, sizeof(hello));
}

static void test_msg_roundtrip_through_the_uart(void)
{
	struct legacy_fwd_msg m, rep;

	legacy_up();
	hello_msg();
	m = io(1, LEGACY_COM1_PORT + 7, 1, true, 0xa5);	/* scratch */
	runner_send(&m, sizeof(m));
	rep = runner_reply();
	CU_ASSERT_EQUAL(rep.seq, 1);
	CU_ASSERT_EQUAL(rep.flags, 0);
	m = io(2, LEGACY_COM1_PORT + 7, 1, false, 0);
	runner_send(&m, sizeof(m));
	rep = runner_reply();
	CU_ASSERT_EQUAL(rep.seq, 2);
	CU_ASSERT_EQUAL(rep.value & 0xff, 0xa5);
	CU_ASSERT(legacy.channel_fd >= 0);
}

static void test_reset_and_poweroff_flags(void)
{
	struct legacy_fwd_msg m, rep;

	legacy_up();
	hello_msg();
	m = io(1, LEGACY_I8042_CMD, 1, true, 0xfe);
	runner_send(&m, sizeof(m));
	rep = runner_reply();
	CU_ASSERT_EQUAL(rep.flags, LEGACY_FWD_RESET);
	/* SLP_TYP 5 with SLP_EN: S5. */
	m = io(2, LEGACY_SLEEP_PORT, 1, true, (5 << 2) | (1 << 5));
	runner_send(&m, sizeof(m));
	rep = runner_reply();
	CU_ASSERT_EQUAL(rep.flags, LEGACY_FWD_POWEROFF);
}

static void test_bad_size_answers_all_ones(void)
{
	struct legacy_fwd_msg m, rep;

	legacy_up();
	hello_msg();
	m = io(1, LEGACY_COM1_PORT, 3, false, 0);
	runner_send(&m, sizeof(m));
	rep = runner_reply();
	CU_ASSERT_EQUAL(rep.value, 0xffffffffu);
	CU_ASSERT(legacy.channel_fd >= 0);
}

static void test_garbage_drops_the_channel(void)
{
	struct legacy_fwd_msg m;
	char small[5] = "junk";

	legacy_up();
	hello_msg();
	runner_send(small, sizeof(small));
	CU_ASSERT_EQUAL(legacy.channel_fd, -1);

	legacy_up();
	hello_msg();
	m = io(1, LEGACY_COM1_PORT, 1, false, 0);
	m.magic = 0x12345678;
	runner_send(&m, sizeof(m));
	CU_ASSERT_EQUAL(legacy.channel_fd, -1);

	/* I/O before any HELLO, and a ring HELLO without its fds. */
	legacy_up();
	m = io(1, LEGACY_COM1_PORT, 1, false, 0);
	runner_send(&m, sizeof(m));
	CU_ASSERT_EQUAL(legacy.channel_fd, -1);
	legacy_up();
	m = (struct legacy_fwd_msg){ .magic = LEGACY_FWD_MAGIC,
		.type = LEGACY_FWD_HELLO, .value = LEGACY_FWD_RING };
	runner_send(&m, sizeof(m));
	CU_ASSERT_EQUAL(legacy.channel_fd, -1);
}

static void test_ring_roundtrip(void)
{
	struct legacy_fwd_msg hello = {
		.magic = LEGACY_FWD_MAGIC, .type = LEGACY_FWD_HELLO,
		.value = LEGACY_FWD_RING,
	};
	struct iovec iov = { &hello, sizeof(hello) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct legacy_fwd_ring *r;
	int fds[3];
	uint64_t n;

	legacy_up();
	fds[0] = memfd_create("ring", MFD_CLOEXEC);
	fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fds[2] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CU_ASSERT_EQUAL(ftruncate(fds[0], LEGACY_FWD_RING_SIZE), 0);
	r = mmap(NULL, LEGACY_FWD_RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fds[0], 0);
	CU_ASSERT_NOT_EQUAL_FATAL(r, MAP_FAILED);
	r->magic = LEGACY_FWD_MAGIC;
	/* One request already waiting when the HELLO arrives. */
	r->port = LEGACY_COM1_PORT + 7;
	r->size = 1;
	r->write = 1;
	r->value = 0x5a;
	r->runner_sleeping = 1;
	r->req_seq = 1;
	ipc_msghdr_set_fds(&mh, cbuf, fds, 3);
	CU_ASSERT(sendmsg(runner_end, &mh, 0) > 0);
	on_channel(test_daemon.loop, legacy.channel_fd, EPOLLIN, &legacy);
	CU_ASSERT_EQUAL(r->done_seq, 1);
	CU_ASSERT_EQUAL(read(fds[2], &n, sizeof(n)), (ssize_t)sizeof(n));
	CU_ASSERT_EQUAL(r->legacy_sleeping, 1);
	/* The next one by doorbell. */
	r->write = 0;
	r->req_seq = 2;
	n = 1;
	CU_ASSERT_EQUAL(write(fds[1], &n, sizeof(n)), (ssize_t)sizeof(n));
	on_ring_doorbell(test_daemon.loop, legacy.req_efd, EPOLLIN, &legacy);
	CU_ASSERT_EQUAL(r->done_seq, 2);
	CU_ASSERT_EQUAL(r->reply_value & 0xff, 0x5a);
	CU_ASSERT_EQUAL(r->reply_flags, 0);
	munmap(r, LEGACY_FWD_RING_SIZE);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	channel_close(&legacy);
}

CUTEST_MAIN("legacy-channel",
	CUTEST(test_msg_roundtrip_through_the_uart),
	CUTEST(test_reset_and_poweroff_flags),
	CUTEST(test_bad_size_answers_all_ones),
	CUTEST(test_garbage_drops_the_channel),
	CUTEST(test_ring_roundtrip));

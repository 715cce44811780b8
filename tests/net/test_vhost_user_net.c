/* mica-net driven by tests/lib/vu_frontend, without a guest.
 *
 * The whole suite runs in a network namespace of its own (unshare at
 * start): the TAPs it makes, the packet sockets that watch them and the
 * loopback servers slirp talks to exist only there and vanish with the
 * process, also when a test fails.  Each test starts its own mica-net. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#include "tests/lib/cutest.h"
#include "tests/lib/testutil.h"
#include "tests/lib/vu_frontend.h"
#include "tests/net/frames.h"

#define MEM_SIZE   (32ULL << 20)
#define QSIZE      256
#define AREA       (3ULL << 20)         /* data per queue */
#define TAP        "mnt0"
#define HDR        12
#define BIT(b)     (1ULL << (b))

#define NET_FEATURES (BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MTU) | \
		      BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_CTRL_VQ) | \
		      BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | \
		      BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_CSUM) | \
		      BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) | \
		      BIT(VIRTIO_NET_F_GUEST_TSO4))

static char dir[] = "/tmp/mica-test-net-XXXXXX";
static char sock[256];
static bool have_netns;
static pid_t backend = -1;
static struct vu_frontend fe;
static uint16_t next_id[VUF_MAX_QUEUES];
static uint64_t bufgpa[VUF_MAX_QUEUES][QSIZE];
static uint64_t next_gpa[VUF_MAX_QUEUES];

static int run_status(const char *const *args);


static void stop_backend(void)
{
	vuf_close(&fe);
	if (backend > 0) {
		kill(backend, SIGTERM);
		waitpid(backend, NULL, 0);
	}
	backend = -1;
}

static bool backend_alive(void)
{
	return backend > 0 && waitpid(backend, NULL, WNOHANG) == 0;
}

/* Start mica-net with args (NULL-terminated), then rings: 2*pairs, plus
 * the control queue when ctrl. */
static int start_net(const char *const *args, unsigned pairs, bool ctrl, bool packed,
		     uint64_t features)
{
	char *argv[32];
	unsigned n = 0;
	int err;

	stop_backend();
	unlink(sock);
	argv[n++] = (char *)test_program("mica-net");
	argv[n++] = (char *)"--socket-path";
	argv[n++] = sock;
	while (*args != NULL && n < 31)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	backend = test_spawn(argv);
	err = vuf_connect(&fe, sock, 5000);
	if (err == 0)
		err = vuf_start(&fe, MEM_SIZE, 2 * pairs + ctrl, QSIZE, packed, features);
	memset(next_id, 0, sizeof(next_id));
	for (unsigned q = 0; q < VUF_MAX_QUEUES; q++)
		next_gpa[q] = 0;
	return err;
}

static uint64_t area(unsigned q)
{
	return vuf_data_gpa(&fe) + q * AREA;
}

/* Offer one buffer chain; returns the id the used ring will name. */
static int offer(unsigned q, const struct vqdrv_buf *b, unsigned n, uint64_t gpa)
{
	int id = vqdrv_add(&fe.q[q], b, n, next_id[q]++ % QSIZE, NULL, 0);

	if (id >= 0)
		bufgpa[q][id] = gpa;
	return id;
}

/* Next free chunk of queue q's data area (a ring of AREA bytes). */
static uint64_t chunk(unsigned q, size_t len)
{
	uint64_t off;

	if (next_gpa[q] + len > AREA)
		next_gpa[q] = 0;
	off = next_gpa[q];
	next_gpa[q] += (len + 63) & ~63ULL;
	return area(q) + off;
}

static void post_rx(unsigned q, unsigned count, uint32_t size)
{
	for (unsigned i = 0; i < count; i++) {
		uint64_t gpa = chunk(q, size);
		struct vqdrv_buf b = { gpa, size, true };

		CU_ASSERT(offer(q, &b, 1, gpa) >= 0);
	}
	vuf_kick(&fe, q);
}

/* Queue one frame for transmission on q (header and frame in separate
 * descriptors, as Linux does with a linear skb). */
static void tx_frame(unsigned q, const struct virtio_net_hdr_v1 *hdr, const void *frame,
		     size_t len)
{
	uint64_t gpa = chunk(q, HDR + len);
	struct vqdrv_buf b[2] = { { gpa, HDR, false }, { gpa + HDR, (uint32_t)len, false } };
	struct virtio_net_hdr_v1 zero = { 0 };

	memcpy(vuf_gpa(&fe, gpa), hdr ? hdr : &zero, HDR);
	memcpy(vuf_gpa(&fe, gpa + HDR), frame, len);
	CU_ASSERT(offer(q, b, 2, gpa) >= 0);
}

static int wait_tx_done(unsigned q, unsigned count)
{
	uint16_t id;
	uint32_t len;

	for (unsigned i = 0; i < count; i++)
		if (vuf_wait_used(&fe, q, &id, &len, 3000) < 0)
			return -ETIMEDOUT;
	return 0;
}

/* Collect one received buffer: its bytes (pointer into guest memory). */
static uint8_t *rx_used(unsigned q, uint32_t *len, int timeout_ms)
{
	uint16_t id;

	if (vuf_wait_used(&fe, q, &id, len, timeout_ms) < 0)
		return NULL;
	return vuf_gpa(&fe, bufgpa[q][id]);
}

/* ---- the network side of the TAP --------------------------------------- */

static int packet_socket(const char *ifname, bool vnet_hdr)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	int one = 1;

	if (s < 0)
		return -errno;
	sll.sll_ifindex = if_nametoindex(ifname);
	if (vnet_hdr && setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		close(s);
		return -errno;
	}
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(s);
		return -errno;
	}
	return s;
}

/* Next frame of ethertype arriving from the TAP (not our own sends). */
static ssize_t packet_recv(int s, uint16_t type, size_t skip, uint8_t *buf, size_t len,
			   int timeout_ms)
{
	struct pollfd pfd = { .fd = s, .events = POLLIN };

	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		n = recvfrom(s, buf, len, 0, (struct sockaddr *)&from, &fl);
		if (n < 0 && errno == EAGAIN) {
			if (poll(&pfd, 1, timeout_ms) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0)
			return -errno;
		if (from.sll_pkttype == PACKET_OUTGOING || (size_t)n < skip + 14)
			continue;
		if ((buf[skip + 12] << 8 | buf[skip + 13]) == type)
			return n;
	}
}

static int packet_send(int s, const void *frame, size_t len)
{
	return send(s, frame, len, 0) == (ssize_t)len ? 0 : -errno;
}

static const char *const tap_args[] = { "--tap", TAP, NULL };

/* ---- tests ---------------------------------------------------------------- */

#define NEED_NETNS() \
	do { \
		if (!have_netns) \
			CUTEST_SKIP("no network namespace (needs root)"); \
	} while (0)

static void test_config(void)
{
	const char *const args[] = { "--tap", TAP, "--queues", "2", "--mac", "52:54:00:ab:cd:ef",
				     "--mtu", "1400", NULL };
	uint8_t c[12];

	NEED_NETNS();
	CU_ASSERT_FATAL(start_net(args, 2, true, false, NET_FEATURES) == 0);
	CU_ASSERT_EQUAL(vuf_get_config(&fe, 0, c, sizeof(c)), 0);
	CU_ASSERT(memcmp(c, "\x52\x54\x00\xab\xcd\xef", 6) == 0);
	CU_ASSERT_EQUAL(c[6] | c[7] << 8, VIRTIO_NET_S_LINK_UP);
	CU_ASSERT_EQUAL(c[8] | c[9] << 8, 2);                /* max_virtqueue_pairs */
	CU_ASSERT_EQUAL(c[10] | c[11] << 8, 1400);           /* mtu */
	CU_ASSERT(fe.features & BIT(VIRTIO_NET_F_MQ));
	CU_ASSERT(fe.features & BIT(VIRTIO_NET_F_CSUM));
	CU_ASSERT(fe.features & BIT(VIRTIO_NET_F_GUEST_TSO4));
	CU_ASSERT_EQUAL(if_nametoindex(TAP) > 0, 1);
	stop_backend();
	CU_ASSERT_EQUAL(if_nametoindex(TAP), 0);          /* ours: gone with us */
}

/* A batch of frames from the guest comes out of the TAP, in order. */
static void tx_batch(bool packed)
{
	uint8_t f[2048], got[2048];
	int s;

	CU_ASSERT_FATAL(start_net(tap_args, 1, false, packed, NET_FEATURES) == 0);
	s = packet_socket(TAP, false);
	CU_ASSERT_FATAL(s >= 0);
	for (unsigned i = 0; i < 48; i++) {
		size_t len = 60 + (i * 97) % 1400;

		frame_test(f, len, frames_guest_mac, i);
		tx_frame(1, NULL, f, len);
	}
	vuf_kick(&fe, 1);
	CU_ASSERT_EQUAL(wait_tx_done(1, 48), 0);
	for (unsigned i = 0; i < 48; i++) {
		size_t len = 60 + (i * 97) % 1400;
		ssize_t n = packet_recv(s, ETH_TEST_TYPE, 0, got, sizeof(got), 2000);

		CU_ASSERT_EQUAL_FATAL(n, (ssize_t)len);
		frame_test(f, len, frames_guest_mac, i);
		CU_ASSERT(memcmp(got, f, len) == 0);
	}
	close(s);
	stop_backend();
}

static void test_tx_split(void)
{
	NEED_NETNS();
	tx_batch(false);
}

static void test_tx_packed(void)
{
	NEED_NETNS();
	tx_batch(true);
}

/* A partial checksum from the guest reaches the TAP as one (the header
 * carried through), and a malformed header is dropped, not sent. */
static void test_tx_offload_header(void)
{
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = 34, .csum_offset = 6 };
	struct virtio_net_hdr_v1 bad = { .gso_type = 77 };
	uint8_t f[256], got[512];
	struct virtio_net_hdr seen;
	ssize_t n;
	size_t len;
	int s;

	NEED_NETNS();
	CU_ASSERT_FATAL(start_net(tap_args, 1, false, false, NET_FEATURES) == 0);
	s = packet_socket(TAP, true);
	CU_ASSERT_FATAL(s >= 0);
	len = frame_udp(f, frames_bcast, frames_guest_mac, 0x0a000002, 0x0a000001, 1000, 2000,
			"checksum me", 11);
	tx_frame(1, &bad, f, len);
	tx_frame(1, &h, f, len);
	vuf_kick(&fe, 1);
	CU_ASSERT_EQUAL(wait_tx_done(1, 2), 0);
	n = packet_recv(s, 0x0800, sizeof(seen), got, sizeof(got), 2000);
	CU_ASSERT_EQUAL_FATAL(n, (ssize_t)(sizeof(seen) + len));
	memcpy(&seen, got, sizeof(seen));
	CU_ASSERT(seen.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CU_ASSERT_EQUAL(seen.csum_start, 34);
	CU_ASSERT_EQUAL(seen.csum_offset, 6);
	CU_ASSERT(memcmp(got + sizeof(seen), f, len) == 0);
	/* Only one frame: the bad header never reached the TAP. */
	CU_ASSERT_EQUAL(packet_recv(s, 0x0800, sizeof(seen), got, sizeof(got), 200), -ETIMEDOUT);
	close(s);
	stop_backend();
}

/* Frames written into the TAP land in receive buffers with a header. */
static void rx_basic(bool packed)
{
	uint8_t f[2048];
	int s;

	CU_ASSERT_FATAL(start_net(tap_args, 1, false, packed, NET_FEATURES) == 0);
	s = packet_socket(TAP, false);
	CU_ASSERT_FATAL(s >= 0);
	post_rx(0, 64, 2048);
	for (unsigned i = 0; i < 40; i++) {
		size_t len = 60 + (i * 131) % 1400;

		frame_test(f, len, frames_guest_mac, 100 + i);
		CU_ASSERT_EQUAL(packet_send(s, f, len), 0);
	}
	for (unsigned i = 0; i < 40; i++) {
		size_t len = 60 + (i * 131) % 1400;
		struct virtio_net_hdr_v1 h;
		uint32_t used;
		uint8_t *buf = rx_used(0, &used, 2000);

		CU_ASSERT_FATAL(buf != NULL);
		CU_ASSERT_EQUAL(used, HDR + len);
		memcpy(&h, buf, HDR);
		CU_ASSERT_EQUAL(h.num_buffers, 1);
		frame_test(f, len, frames_guest_mac, 100 + i);
		CU_ASSERT(memcmp(buf + HDR, f, len) == 0);
	}
	close(s);
	stop_backend();
}

static void test_rx_split(void)
{
	NEED_NETNS();
	rx_basic(false);
}

static void test_rx_packed(void)
{
	NEED_NETNS();
	rx_basic(true);
}

/* A 9000-byte frame over 4 KiB mergeable buffers: three buffers, the
 * first saying so in num_buffers. */
static void test_rx_mergeable_jumbo(void)
{
	const char *const args[] = { "--tap", TAP, "--mtu", "9000", NULL };
	static uint8_t f[9000], whole[9100];
	struct virtio_net_hdr_v1 h;
	size_t got = 0;
	uint32_t used;
	uint8_t *buf;
	int s;

	NEED_NETNS();
	CU_ASSERT_FATAL(start_net(args, 1, false, false,
				  NET_FEATURES | BIT(VIRTIO_NET_F_MRG_RXBUF)) == 0);
	CU_ASSERT(fe.features & BIT(VIRTIO_NET_F_MRG_RXBUF));
	s = packet_socket(TAP, false);
	CU_ASSERT_FATAL(s >= 0);
	post_rx(0, 16, 4096);
	frame_test(f, sizeof(f), frames_guest_mac, 7);
	CU_ASSERT_EQUAL(packet_send(s, f, sizeof(f)), 0);
	buf = rx_used(0, &used, 2000);
	CU_ASSERT_FATAL(buf != NULL);
	memcpy(&h, buf, HDR);
	CU_ASSERT_EQUAL(h.num_buffers, 3);
	CU_ASSERT_EQUAL(used, 4096);
	memcpy(whole, buf, used);
	got = used;
	for (unsigned i = 1; i < 3 && buf != NULL; i++) {
		buf = rx_used(0, &used, 2000);
		CU_ASSERT_FATAL(buf != NULL);
		CU_ASSERT_FATAL(got + used <= sizeof(whole));
		memcpy(whole + got, buf, used);
		got += used;
	}
	CU_ASSERT_EQUAL(got, HDR + sizeof(f));
	CU_ASSERT(memcmp(whole + HDR, f, sizeof(f)) == 0);
	close(s);
	stop_backend();
}

/* With no receive buffers the frames wait (in the TAP and our batch);
 * posting buffers and kicking brings every one of them, in order. */
static void test_rx_waits_for_buffers(void)
{
	uint8_t f[200];
	int s;

	NEED_NETNS();
	CU_ASSERT_FATAL(start_net(tap_args, 1, false, false, NET_FEATURES) == 0);
	s = packet_socket(TAP, false);
	CU_ASSERT_FATAL(s >= 0);
	for (unsigned i = 0; i < 50; i++) {
		frame_test(f, sizeof(f), frames_guest_mac, 500 + i);
		CU_ASSERT_EQUAL(packet_send(s, f, sizeof(f)), 0);
	}
	usleep(200 * 1000);
	CU_ASSERT(backend_alive());
	post_rx(0, 64, 2048);
	for (unsigned i = 0; i < 50; i++) {
		uint32_t used;
		uint8_t *buf = rx_used(0, &used, 2000);

		CU_ASSERT_FATAL(buf != NULL);
		CU_ASSERT_EQUAL(used, HDR + sizeof(f));
		CU_ASSERT_EQUAL(frame_test_seq(buf + HDR), 500 + i);
	}
	close(s);
	stop_backend();
}

/* One control command: returns the ack byte. */
static int ctrl(unsigned q, uint8_t cls, uint8_t cmd, const void *data, size_t len)
{
	uint64_t gpa = chunk(q, 64 + len);
	uint8_t *p = vuf_gpa(&fe, gpa);
	struct vqdrv_buf b[3] = {
		{ gpa, 2, false }, { gpa + 2, (uint32_t)len, false }, { gpa + 32 + len, 1, true },
	};
	uint16_t id;
	uint32_t used;

	p[0] = cls;
	p[1] = cmd;
	if (len > 0)
		memcpy(p + 2, data, len);
	p[32 + len] = 0xee;
	if (len == 0)
		b[1] = b[2];
	if (offer(q, b, len ? 3 : 2, gpa) < 0 || vuf_kick(&fe, q) < 0 ||
	    vuf_wait_used(&fe, q, &id, &used, 2000) < 0)
		return -1;
	return p[32 + len];
}

/* Two pairs after VQ_PAIRS_SET: both send, both receive; the control
 * queue answers what it knows and refuses the rest. */
static void test_mq_and_ctrl(void)
{
	const char *const args[] = { "--tap", TAP, "--queues", "2", NULL };
	uint8_t f[512], got[2048], mac[6] = { 0x52, 0x54, 0x00, 0, 0, 0x42 }, c[6], on = 1;
	uint16_t pairs = 2, three = 3;
	unsigned per_queue[2] = { 0, 0 };
	int s;

	NEED_NETNS();
	CU_ASSERT_FATAL(start_net(args, 2, true, false, NET_FEATURES) == 0);
	CU_ASSERT_EQUAL(ctrl(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &three, 2),
			VIRTIO_NET_ERR);
	CU_ASSERT_EQUAL(ctrl(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
			VIRTIO_NET_OK);
	CU_ASSERT_EQUAL(ctrl(4, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			VIRTIO_NET_OK);
	CU_ASSERT_EQUAL(ctrl(4, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6),
			VIRTIO_NET_OK);
	CU_ASSERT_EQUAL(vuf_get_config(&fe, 0, c, 6), 0);
	CU_ASSERT(memcmp(c, mac, 6) == 0);
	{
		uint8_t table[4 + 6 + 4] = { 1, 0, 0, 0, 0x52, 0x54, 0, 1, 2, 3, 0, 0, 0, 0 };

		CU_ASSERT_EQUAL(ctrl(4, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
				     table, sizeof(table)), VIRTIO_NET_OK);
		table[0] = 9;          /* entries beyond the data */
		CU_ASSERT_EQUAL(ctrl(4, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
				     table, sizeof(table)), VIRTIO_NET_ERR);
	}
	CU_ASSERT_EQUAL(ctrl(4, 99, 0, NULL, 0), VIRTIO_NET_ERR);

	s = packet_socket(TAP, false);
	CU_ASSERT_FATAL(s >= 0);
	frame_test(f, 100, frames_guest_mac, 1);
	tx_frame(1, NULL, f, 100);
	vuf_kick(&fe, 1);
	frame_test(f, 100, frames_guest_mac, 3);
	tx_frame(3, NULL, f, 100);
	vuf_kick(&fe, 3);
	CU_ASSERT_EQUAL(wait_tx_done(1, 1), 0);
	CU_ASSERT_EQUAL(wait_tx_done(3, 1), 0);
	for (unsigned i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(packet_recv(s, ETH_TEST_TYPE, 0, got, sizeof(got), 2000), 100);
	}
	/* Many UDP flows: the TAP spreads them over its queues by hash. */
	post_rx(0, 64, 2048);
	post_rx(2, 64, 2048);
	for (unsigned i = 0; i < 32; i++) {
		size_t len = frame_udp(f, frames_guest_mac, frames_bcast, 0x0a000001 + i,
				       0x0a00000f, 1000 + i * 7, 2000 + i, "flow", 4);

		CU_ASSERT_EQUAL(packet_send(s, f, len), 0);
	}
	for (unsigned i = 0; i < 32; i++) {
		uint32_t used;
		uint16_t id;
		bool got_one = false;

		for (int tries = 0; tries < 200 && !got_one; tries++) {
			for (unsigned p = 0; p < 2 && !got_one; p++) {
				if (vqdrv_get_used(&fe.q[2 * p], &id, &used) == 1) {
					per_queue[p]++;
					got_one = true;
				}
			}
			if (!got_one)
				usleep(10000);
		}
		CU_ASSERT_FATAL(got_one);
	}
	printf("  rx flows per queue pair: %u, %u\n", per_queue[0], per_queue[1]);
	CU_ASSERT(per_queue[0] > 0 && per_queue[1] > 0);
	close(s);
	stop_backend();
}

/* Has queue q signalled its error eventfd (without waiting)? */
static bool error_now(unsigned q)
{
	struct pollfd pfd = { .fd = fe.err[q], .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

/* Random descriptors on every queue, random bytes where they point, and
 * frames arriving meanwhile: queues may break, the backend may not. */
static void test_malformed_chains(void)
{
	const char *const args[] = { "--tap", TAP, "--queues", "1", NULL };
	uint8_t f[300];
	unsigned breaks = 0;
	int s;

	NEED_NETNS();
	srandom(12345);
	CU_ASSERT_FATAL(start_net(args, 1, true, false, NET_FEATURES |
				  BIT(VIRTIO_NET_F_MRG_RXBUF)) == 0);
	s = packet_socket(TAP, false);
	CU_ASSERT_FATAL(s >= 0);
	for (unsigned iter = 0; iter < 400; iter++) {
		unsigned q = random() % 3, n = 1 + random() % 4;
		struct vqdrv_buf b[4];
		uint64_t gpa = chunk(q, 8192);

		for (unsigned i = 0; i < n; i++) {
			long r = random();

			b[i].gpa = (r & 7) == 0 ? MEM_SIZE - 16 + (random() % 64)
			         : (r & 7) == 1 ? random() % MEM_SIZE : gpa + i * 2048;
			b[i].len = (r & 0x30) == 0 ? 0 : (r & 0x30) == 0x10 ? random() % 16 :
				   (uint32_t)(random() % 4096);
			b[i].writable = (random() & 3) != 0;
		}
		for (unsigned k = 0; k < 8192; k += 4)
			*(uint32_t *)vuf_gpa(&fe, gpa + k) = (uint32_t)random();
		if (offer(q, b, n, gpa) < 0 || iter % 50 == 49 || error_now(q)) {
			/* Ring full or broken: the guest resets the device. */
			breaks++;
			vuf_close(&fe);
			CU_ASSERT_FATAL(vuf_connect(&fe, sock, 2000) == 0);
			CU_ASSERT_FATAL(vuf_start(&fe, MEM_SIZE, 3, QSIZE, false, NET_FEATURES |
						  BIT(VIRTIO_NET_F_MRG_RXBUF)) == 0);
			memset(next_id, 0, sizeof(next_id));
			continue;
		}
		vuf_kick(&fe, q);
		if (iter % 4 == 0) {
			frame_test(f, 60 + random() % 200, frames_guest_mac, iter);
			packet_send(s, f, 60 + random() % 200);
		}
		CU_ASSERT_FATAL(backend_alive());
	}
	printf("  %u resets\n", breaks);
	/* And it still works. */
	vuf_close(&fe);
	CU_ASSERT_FATAL(vuf_connect(&fe, sock, 2000) == 0);
	CU_ASSERT_FATAL(vuf_start(&fe, MEM_SIZE, 2, QSIZE, false, NET_FEATURES) == 0);
	memset(next_id, 0, sizeof(next_id));
	frame_test(f, 100, frames_guest_mac, 4242);
	tx_frame(1, NULL, f, 100);
	vuf_kick(&fe, 1);
	CU_ASSERT_EQUAL(wait_tx_done(1, 1), 0);
	CU_ASSERT(backend_alive());
	close(s);
	stop_backend();
}

/* Transmit requests a guest can get wrong, one of each, then a good one:
 * every request completes (the guest gets its buffers back), only the good
 * frame reaches the TAP, the queue keeps working.  (The fuzzer's backend
 * accepts anything: this checks what the TAP would have been given.) */
static void test_malformed_tx_requests(void)
{
	static uint8_t big[70000];
	struct bad { struct virtio_net_hdr_v1 h; size_t len; const char *what; } bad[] = {
		{ { 0 }, 0, "header only" },
		{ { 0 }, 10, "shorter than an Ethernet header" },
		{ { .flags = 0x80 }, 100, "unknown header flag" },
		{ { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 90, .csum_offset = 16 }, 100,
		  "checksum field past the frame" },
		{ { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		    .csum_start = 34, .csum_offset = 16 }, 100, "TSO with gso_size 0" },
		{ { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1400 }, 100,
		  "TSO without NEEDS_CSUM" },
		{ { .gso_type = VIRTIO_NET_HDR_GSO_ECN }, 100, "ECN without segmentation" },
		{ { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_UDP,
		    .gso_size = 1400, .csum_start = 34, .csum_offset = 6 }, 100,
		  "UFO, not negotiated" },
		{ { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6,
		    .gso_size = 1400, .csum_start = 54, .csum_offset = 16 }, 100,
		  "TSO6, not negotiated" },
		{ { 0 }, sizeof(big), "longer than any TAP frame" },
	};
	const unsigned nbad = sizeof(bad) / sizeof(bad[0]);
	uint8_t f[300], got[300];
	int s;

	NEED_NETNS();
	CU_ASSERT_FATAL(start_net(tap_args, 1, false, false, NET_FEATURES) == 0);
	s = packet_socket(TAP, false);
	CU_ASSERT_FATAL(s >= 0);
	for (unsigned i = 0; i < nbad; i++) {
		const uint8_t *frame = bad[i].len > sizeof(f) ? big : f;

		frame_test(f, sizeof(f), frames_guest_mac, 900 + i);
		memcpy(big, f, sizeof(f));
		if (bad[i].len == 0) {
			uint64_t gpa = chunk(1, HDR);
			struct vqdrv_buf b = { gpa, HDR, false };

			memset(vuf_gpa(&fe, gpa), 0, HDR);
			CU_ASSERT(offer(1, &b, 1, gpa) >= 0);
		} else {
			tx_frame(1, &bad[i].h, frame, bad[i].len);
		}
	}
	{       /* a request with device-writable buffers only */
		uint64_t gpa = chunk(1, 512);
		struct vqdrv_buf b = { gpa, 512, true };

		CU_ASSERT(offer(1, &b, 1, gpa) >= 0);
	}
	frame_test(f, sizeof(f), frames_guest_mac, 999);
	tx_frame(1, NULL, f, sizeof(f));
	vuf_kick(&fe, 1);
	CU_ASSERT_EQUAL(wait_tx_done(1, nbad + 2), 0);
	CU_ASSERT_EQUAL_FATAL(packet_recv(s, ETH_TEST_TYPE, 0, got, sizeof(got), 2000),
			      (ssize_t)sizeof(got));
	CU_ASSERT_EQUAL(frame_test_seq(got), 999);
	CU_ASSERT_EQUAL(packet_recv(s, ETH_TEST_TYPE, 0, got, sizeof(got), 200), -ETIMEDOUT);
	CU_ASSERT(!error_now(1));
	CU_ASSERT(backend_alive());
	close(s);
	stop_backend();
}

/* Receive buffers a guest can get wrong: one too short for the header,
 * one the device may only read.  The queue reports NEEDS_RESET (its error
 * eventfd) when a frame meets the buffer; after a reset the device works. */
static void test_malformed_rx_buffers(void)
{
	const struct vqdrv_buf wrong[2][1] = { { { 0, 8, true } }, { { 0, 2048, false } } };
	uint8_t f[200];
	uint32_t used;
	int s;

	NEED_NETNS();
	for (unsigned k = 0; k < 2; k++) {
		struct vqdrv_buf b = wrong[k][0];

		CU_ASSERT_FATAL(start_net(tap_args, 1, false, false, NET_FEATURES) == 0);
		s = packet_socket(TAP, false);
		CU_ASSERT_FATAL(s >= 0);
		b.gpa = chunk(0, 2048);
		CU_ASSERT(offer(0, &b, 1, b.gpa) >= 0);
		vuf_kick(&fe, 0);
		frame_test(f, sizeof(f), frames_guest_mac, 40 + k);
		CU_ASSERT_EQUAL(packet_send(s, f, sizeof(f)), 0);
		for (int i = 0; i < 100 && !error_now(0); i++)
			usleep(20 * 1000);
		CU_ASSERT(error_now(0));
		CU_ASSERT_FATAL(backend_alive());
		/* The guest resets the device and posts proper buffers. */
		vuf_close(&fe);
		CU_ASSERT_FATAL(vuf_connect(&fe, sock, 2000) == 0);
		CU_ASSERT_FATAL(vuf_start(&fe, MEM_SIZE, 2, QSIZE, false, NET_FEATURES) == 0);
		memset(next_id, 0, sizeof(next_id));
		post_rx(0, 8, 2048);
		CU_ASSERT_EQUAL(packet_send(s, f, sizeof(f)), 0);
		CU_ASSERT_FATAL(rx_used(0, &used, 2000) != NULL);
		CU_ASSERT_EQUAL(used, HDR + sizeof(f));
		close(s);
		stop_backend();
	}
}

/* --macvtap NAME: mica-net opens the link's /dev/tapN; frames go out
 * through the parent (a veth, seen at its peer) and broadcasts on the
 * parent's segment come in.  A link that is not a macvtap is refused. */
static void test_macvtap(void)
{
	const char *const args[] = { "--macvtap", "mvtap0", NULL };
	char cmd[256];
	uint8_t f[600];
	uint32_t used;
	uint8_t *buf;
	int s;

	NEED_NETNS();
	snprintf(cmd, sizeof(cmd), "ip link add mvpar type veth peer name mvpeer && "
		 "ip link set mvpar up && ip link set mvpeer up && "
		 "ip link add link mvpar name mvtap0 index %d type macvtap mode bridge",
		 30000 + (int)(getpid() % 10000));
	CU_ASSERT_FATAL(system(cmd) == 0);
	CU_ASSERT_EQUAL(run_status((const char *const[]){ "--socket-path", sock, "--macvtap",
							  "mvpar", NULL }), 1);
	CU_ASSERT_EQUAL(run_status((const char *const[]){ "--socket-path", sock, "--macvtap",
							  "nosuchlink", NULL }), 1);
	CU_ASSERT_FATAL(start_net(args, 1, false, false, NET_FEATURES) == 0);
	s = packet_socket("mvpeer", false);
	CU_ASSERT_FATAL(s >= 0);
	frame_test(f, sizeof(f), frames_guest_mac, 77);
	tx_frame(1, NULL, f, sizeof(f));
	vuf_kick(&fe, 1);
	CU_ASSERT_EQUAL(wait_tx_done(1, 1), 0);
	CU_ASSERT_EQUAL(packet_recv(s, ETH_TEST_TYPE, 0, f, sizeof(f), 2000), (ssize_t)sizeof(f));
	CU_ASSERT_EQUAL(frame_test_seq(f), 77);

	post_rx(0, 8, 2048);
	frame_test(f, 200, (const uint8_t[6]){ 0x02, 0, 0, 0, 0, 9 }, 78);
	CU_ASSERT_EQUAL(packet_send(s, f, 200), 0);
	/* The parent's own traffic (IPv6 is off, but be safe) is skipped. */
	for (int i = 0; i < 8; i++) {
		buf = rx_used(0, &used, 2000);
		CU_ASSERT_FATAL(buf != NULL);
		if (used == HDR + 200 && (buf[HDR + 12] << 8 | buf[HDR + 13]) == ETH_TEST_TYPE)
			break;
	}
	CU_ASSERT_EQUAL(used, HDR + 200);
	CU_ASSERT_EQUAL(frame_test_seq(buf + HDR), 78);
	close(s);
	stop_backend();
	CU_ASSERT(system("ip link del mvpar") == 0);
}

/* ---- user-mode NAT ------------------------------------------------------ */

static const uint8_t slirp_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

/* Next received frame on queue 0 matching ethertype (others skipped). */
static uint8_t *user_rx(uint16_t type, uint32_t *len)
{
	for (int i = 0; i < 20; i++) {
		uint8_t *buf = rx_used(0, len, 3000);

		if (buf == NULL)
			return NULL;
		if (*len >= HDR + 14 && (buf[HDR + 12] << 8 | buf[HDR + 13]) == type)
			return buf + HDR;
	}
	return NULL;
}

static void guest_send(const uint8_t *f, size_t len)
{
	tx_frame(1, NULL, f, len);
	vuf_kick(&fe, 1);
	CU_ASSERT_EQUAL(wait_tx_done(1, 1), 0);
}

static void test_user_dhcp(void)
{
	const char *const args[] = { "--user", NULL };
	uint8_t f[600], *r;
	uint32_t len;

	NEED_NETNS();
	CU_ASSERT_FATAL(start_net(args, 1, false, false, NET_FEATURES) == 0);
	CU_ASSERT_FALSE(fe.features & BIT(VIRTIO_NET_F_CSUM));   /* no offloads here */
	post_rx(0, 32, 2048);
	guest_send(f, frame_dhcp_discover(f, frames_guest_mac, 0x1234abcd));
	r = user_rx(0x0800, &len);
	CU_ASSERT_FATAL(r != NULL);
	/* UDP 67 -> 68, BOOTREPLY to our xid, yiaddr 10.0.2.15, OFFER. */
	CU_ASSERT_EQUAL(r[14 + 9], 17);
	CU_ASSERT_EQUAL(r[34] << 8 | r[35], 67);
	CU_ASSERT_EQUAL(r[36] << 8 | r[37], 68);
	CU_ASSERT_EQUAL(r[42], 2);
	CU_ASSERT(memcmp(r + 42 + 4, "\x12\x34\xab\xcd", 4) == 0);
	CU_ASSERT(memcmp(r + 42 + 16, "\x0a\x00\x02\x0f", 4) == 0);
	CU_ASSERT(memcmp(r + 42 + 236, "\x63\x82\x53\x63\x35\x01\x02", 7) == 0);
	stop_backend();
}

/* The pseudo-header sum of a UDP/TCP segment of len bytes at l4 (the
 * IPv4 header before it, 20 bytes): 0 when its checksum holds. */
static uint16_t l4_checksum(const uint8_t *ip, size_t len)
{
	uint8_t pseudo[12 + 1500];

	if (len > 1500)
		return 0xffff;
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = ip[9];
	pseudo[10] = (uint8_t)(len >> 8);
	pseudo[11] = (uint8_t)len;
	memcpy(pseudo + 12, ip + 20, len);
	return ip_checksum(pseudo, 12 + len);
}

/* The IPv4 header checksum and the UDP/TCP checksum (UDP: when there is
 * one) of a received frame hold. */
static bool l4_checksums_ok(const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + 14;
	unsigned total = (unsigned)(ip[2] << 8 | ip[3]);

	if (len < 14 + 28 || ip[0] != 0x45 || total < 28 || 14 + total > len ||
	    ip_checksum(ip, 20) != 0)
		return false;
	if (ip[9] == 17 && ip[26] == 0 && ip[27] == 0)
		return true;
	return l4_checksum(ip, total - 20) == 0;
}

/* The guest (10.0.2.15) ARPs for dst, then sends UDP from sport to dst
 * at the port a socket here has on 127.0.0.1 (port: 0 for any); slirp
 * forwards it there, we answer, the answer comes back as a frame from
 * dst.  False when nothing arrived here within 3 s. */
static bool user_udp_exchange(uint32_t dst, uint16_t port, uint16_t sport)
{
	const char *const args[] = { "--user", "--no-ipv6", NULL };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t sl = sizeof(sa);
	struct pollfd pfd;
	uint8_t f[600], *r, got[64], mac[6];
	uint32_t len;
	bool came;
	int u;

	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(u >= 0 && bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(getsockname(u, (struct sockaddr *)&sa, &sl) == 0);
	CU_ASSERT_FATAL(start_net(args, 1, false, false, NET_FEATURES) == 0);
	post_rx(0, 32, 2048);
	guest_send(f, frame_arp_request(f, frames_guest_mac, 0x0a00020f, dst));
	r = user_rx(0x0806, &len);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(r[14 + 7], 2);                        /* ARP reply */
	memcpy(mac, r + 14 + 8, 6);                           /* slirp's, per address */
	CU_ASSERT(memcmp(mac, slirp_mac, 4) == 0);
	guest_send(f, frame_udp(f, mac, frames_guest_mac, 0x0a00020f, dst, sport,
				ntohs(sa.sin_port), "ping", 4));
	pfd = (struct pollfd){ .fd = u, .events = POLLIN };
	came = poll(&pfd, 1, 3000) == 1;
	if (came) {
		sl = sizeof(sa);
		CU_ASSERT_EQUAL(recvfrom(u, got, sizeof(got), 0, (struct sockaddr *)&sa, &sl), 4);
		CU_ASSERT(memcmp(got, "ping", 4) == 0);
		CU_ASSERT_EQUAL(sendto(u, "pong!", 5, 0, (struct sockaddr *)&sa, sl), 5);
		r = user_rx(0x0800, &len);
		CU_ASSERT_FATAL(r != NULL);
		CU_ASSERT_EQUAL(r[14 + 9], 17);
		CU_ASSERT_EQUAL((uint32_t)r[26] << 24 | r[27] << 16 | r[28] << 8 | r[29], dst);
		CU_ASSERT_EQUAL(r[36] << 8 | r[37], sport);
		CU_ASSERT(memcmp(r + 42, "pong!", 5) == 0);
		CU_ASSERT(l4_checksums_ok(r, len));
	}
	CU_ASSERT(backend_alive());
	close(u);
	stop_backend();
	return came;
}

/* UDP to the gateway: slirp forwards it to this namespace's loopback. */
static void test_user_udp_nat(void)
{
	NEED_NETNS();
	CU_ASSERT(user_udp_exchange(0x0a000202, 0, 5555));
}

/* DNS at 10.0.2.3: slirp forwards it to the host's resolver, which it
 * reads from /etc/resolv.conf; sandboxed (an empty root) it cannot, and
 * libslirp 4.7 then refuses the query (no loopback fallback), so mica-net
 * hands it to slirp for 10.0.2.2:53 (this namespace's 127.0.0.1:53, where
 * the test answers) and the answer comes back from 10.0.2.3. */
static void test_user_dns_sandboxed(void)
{
	NEED_NETNS();
	CU_ASSERT(user_udp_exchange(0x0a000203, 53, 5556));
}

/* DNS over TCP at 10.0.2.3, sandboxed: the guest's SYN becomes slirp's
 * connection to this namespace's 127.0.0.1:53, and the SYN-ACK comes back
 * from 10.0.2.3:53 with its checksums right. */
static void test_user_dns_tcp_sandboxed(void)
{
	const char *const args[] = { "--user", "--no-ipv6", NULL };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(0x7f000001) };
	struct pollfd pfd;
	uint8_t f[600], *r, *ip, *tcp, mac[6];
	uint32_t len;
	int l, c;

	NEED_NETNS();
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			listen(l, 1) == 0);
	CU_ASSERT_FATAL(start_net(args, 1, false, false, NET_FEATURES) == 0);
	post_rx(0, 32, 2048);
	guest_send(f, frame_arp_request(f, frames_guest_mac, 0x0a00020f, 0x0a000203));
	r = user_rx(0x0806, &len);
	CU_ASSERT_FATAL(r != NULL);
	memcpy(mac, r + 14 + 8, 6);
	/* A SYN from 10.0.2.15:5557, seq 1000, window 65535, no options. */
	memset(f, 0, 14 + 40);
	frame_eth(f, mac, frames_guest_mac, 0x0800);
	ip = f + 14;
	tcp = ip + 20;
	memcpy(ip, "\x45\x00\x00\x28\x00\x01\x40\x00\x40\x06\x00\x00"
		   "\x0a\x00\x02\x0f\x0a\x00\x02\x03", 20);
	ip[10] = (uint8_t)(ip_checksum(ip, 20) >> 8);
	ip[11] = (uint8_t)ip_checksum(ip, 20);
	memcpy(tcp, "\x15\xb5\x00\x35\x00\x00\x03\xe8\x00\x00\x00\x00\x50\x02\xff\xff", 16);
	tcp[16] = (uint8_t)(l4_checksum(ip, 20) >> 8);
	tcp[17] = (uint8_t)l4_checksum(ip, 20);
	guest_send(f, 14 + 40);
	pfd = (struct pollfd){ .fd = l, .events = POLLIN };
	CU_ASSERT_FATAL(poll(&pfd, 1, 3000) == 1);
	c = accept(l, NULL, NULL);
	CU_ASSERT(c >= 0);
	r = user_rx(0x0800, &len);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(r[14 + 9], 6);
	CU_ASSERT(memcmp(r + 14 + 12, "\x0a\x00\x02\x03", 4) == 0);   /* from 10.0.2.3 */
	CU_ASSERT_EQUAL(r[34] << 8 | r[35], 53);
	CU_ASSERT_EQUAL(r[36] << 8 | r[37], 5557);
	CU_ASSERT_EQUAL(r[34 + 13] & 0x12, 0x12);                       /* SYN|ACK */
	CU_ASSERT(l4_checksums_ok(r, len));
	if (c >= 0)
		close(c);
	close(l);
	stop_backend();
}

/* hostfwd under restrict=on: a connection to the forwarded port on this
 * namespace's loopback arrives at the guest as a SYN to port 22. */
static void test_user_hostfwd(void)
{
	const char *const args[] = { "--user", "--restrict", "--hostfwd", "tcp:127.0.0.1:2222-:22",
				     NULL };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(2222),
				  .sin_addr.s_addr = htonl(0x7f000001) };
	uint8_t f[600], *r;
	uint32_t len;
	int c;

	NEED_NETNS();
	CU_ASSERT_FATAL(start_net(args, 1, false, false, NET_FEATURES) == 0);
	post_rx(0, 32, 2048);
	/* Introduce ourselves so slirp knows where 10.0.2.15 is. */
	guest_send(f, frame_arp_request(f, frames_guest_mac, 0x0a00020f, 0x0a000202));
	CU_ASSERT_FATAL(user_rx(0x0806, &len) != NULL);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CU_ASSERT(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS);
	r = user_rx(0x0800, &len);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(r[14 + 9], 6);                         /* TCP */
	CU_ASSERT(memcmp(r + 14 + 16, "\x0a\x00\x02\x0f", 4) == 0);
	CU_ASSERT_EQUAL(r[36] << 8 | r[37], 22);
	CU_ASSERT(r[34 + 13] & 0x02);                         /* SYN */
	close(c);
	stop_backend();
}

static int run_status(const char *const *args)
{
	char *argv[16];
	unsigned n = 0;
	int status;
	pid_t pid;

	argv[n++] = (char *)test_program("mica-net");
	while (*args != NULL)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_arguments(void)
{
	CU_ASSERT_EQUAL(run_status((const char *const[]){ "--print-capabilities", NULL }), 0);
	CU_ASSERT_EQUAL(run_status((const char *const[]){ "--socket-path", sock, NULL }), 2);
	CU_ASSERT_EQUAL(run_status((const char *const[]){ "--socket-path", sock, "--user",
							  "--queues", "2", NULL }), 2);
	CU_ASSERT_EQUAL(run_status((const char *const[]){ "--socket-path", sock, "--tap", "x",
							  "--mac", "ff:00:00:00:00:01", NULL }), 2);
	CU_ASSERT_EQUAL(run_status((const char *const[]){ "--socket-path", sock, "--user",
							  "--hostfwd", "tcp::22", NULL }), 1);
	CU_ASSERT_EQUAL(run_status((const char *const[]){ "--socket-path", sock, "--tap", "x",
							  "--hostfwd", "tcp::1-:2", NULL }), 2);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		CUTEST(test_arguments),
		CUTEST(test_config),
		CUTEST(test_tx_split),
		CUTEST(test_tx_packed),
		CUTEST(test_tx_offload_header),
		CUTEST(test_rx_split),
		CUTEST(test_rx_packed),
		CUTEST(test_rx_mergeable_jumbo),
		CUTEST(test_rx_waits_for_buffers),
		CUTEST(test_mq_and_ctrl),
		CUTEST(test_malformed_chains),
		CUTEST(test_malformed_tx_requests),
		CUTEST(test_malformed_rx_buffers),
		CUTEST(test_macvtap),
		CUTEST(test_user_dhcp),
		CUTEST(test_user_udp_nat),
		CUTEST(test_user_dns_sandboxed),
		CUTEST(test_user_dns_tcp_sandboxed),
		CUTEST(test_user_hostfwd),
	};
	char cmd[300];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(sock, sizeof(sock), "%s/net.sock", dir);
	/* Everything below happens in our own network namespace. */
	have_netns = unshare(CLONE_NEWNET) == 0 && access("/dev/net/tun", R_OK | W_OK) == 0 &&
		     system("ip link set lo up && "
			    "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && "
			    "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6") == 0;
	rc = cutest_run("vhost-user-net", cases, sizeof(cases) / sizeof(cases[0]));
	stop_backend();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 2;
	return rc;
}

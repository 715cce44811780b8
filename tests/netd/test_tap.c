/* TAP data-path helpers on the stand-in pair (no privilege, no TAP);
 * test_netplumb drives the same helpers on real TAP and macvtap fds. */
#include <errno.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "dev-virtio-net/tap.h"
#include "tests/lib/cutest.h"

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7);
}

static void test_write_then_observe(void)
{
	struct virtio_net_hdr_v1 hdr = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_NONE, .csum_start = 34, .csum_offset = 16 };
	uint8_t a[20], b[1000], got[2048];
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	int sv[2];
	ssize_t n;

	CU_ASSERT_EQUAL_FATAL(tap_fake_pair(sv), 0);
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	CU_ASSERT_EQUAL(tap_write_frame(sv[0], &hdr, iov, 2), 0);
	n = read(sv[1], got, sizeof(got));
	CU_ASSERT_EQUAL(n, TAP_VNET_HDR_LEN + sizeof(a) + sizeof(b));
	CU_ASSERT_EQUAL(memcmp(got, &hdr, TAP_VNET_HDR_LEN), 0);
	CU_ASSERT_EQUAL(memcmp(got + TAP_VNET_HDR_LEN, a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(memcmp(got + TAP_VNET_HDR_LEN + sizeof(a), b, sizeof(b)), 0);
	/* A header alone is a (zero-length) frame too. */
	CU_ASSERT_EQUAL(tap_write_frame(sv[0], &hdr, NULL, 0), 0);
	CU_ASSERT_EQUAL(read(sv[1], got, sizeof(got)), TAP_VNET_HDR_LEN);
	CU_ASSERT_EQUAL(tap_write_frame(sv[0], &hdr, iov, 65), -EINVAL);
	close(sv[0]);
	close(sv[1]);
}

static void test_read_batch(void)
{
	uint8_t frames[5][100], bufs[8][TAP_VNET_HDR_LEN + 60];
	struct iovec iov[8][2];
	struct tap_rx rx[8];
	int sv[2];

	CU_ASSERT_EQUAL_FATAL(tap_fake_pair(sv), 0);
	/* Nothing ready: 0 frames, not an error. */
	for (int i = 0; i < 8; i++) {
		/* header and frame split over two iovecs, as in guest buffers */
		iov[i][0] = (struct iovec){ bufs[i], 5 };
		iov[i][1] = (struct iovec){ bufs[i] + 5, sizeof(bufs[i]) - 5 };
		rx[i] = (struct tap_rx){ .iov = iov[i], .iovcnt = 2 };
	}
	CU_ASSERT_EQUAL(tap_read_batch(sv[0], rx, 8), 0);
	for (int i = 0; i < 5; i++) {
		size_t len = i == 4 ? 100 : (size_t)(TAP_VNET_HDR_LEN + 10 * i);

		fill(frames[i], sizeof(frames[i]), (uint8_t)i);
		CU_ASSERT_EQUAL(write(sv[1], frames[i], len), (ssize_t)len);
	}
	/* A batch of 3 takes the first three, the next call the rest. */
	CU_ASSERT_EQUAL(tap_read_batch(sv[0], rx, 3), 3);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(rx[i].len, TAP_VNET_HDR_LEN + 10 * (size_t)i);
		CU_ASSERT_EQUAL(memcmp(bufs[i], frames[i], rx[i].len), 0);
	}
	CU_ASSERT_EQUAL(tap_read_batch(sv[0], rx + 3, 5), 2);
	CU_ASSERT_EQUAL(rx[3].len, TAP_VNET_HDR_LEN + 30);
	CU_ASSERT_FALSE(rx[3].truncated);
	CU_ASSERT_EQUAL(memcmp(bufs[3], frames[3], rx[3].len), 0);
	/* The 100-byte frame did not fit 72 bytes: cut to the buffer. */
	CU_ASSERT_EQUAL(rx[4].len, sizeof(bufs[4]));
	CU_ASSERT_TRUE(rx[4].truncated);
	CU_ASSERT_EQUAL(memcmp(bufs[4], frames[4], rx[4].len), 0);
	/* Buffers too small for a header are refused. */
	rx[0].iov = (struct iovec[]){ { bufs[0], 4 } };
	rx[0].iovcnt = 1;
	CU_ASSERT_EQUAL(tap_read_batch(sv[0], rx, 1), -EINVAL);
	/* The far side gone: -EPIPE. */
	close(sv[1]);
	CU_ASSERT_EQUAL(tap_read_batch(sv[0], rx + 1, 1), -EPIPE);
	close(sv[0]);
}

static void test_write_batch_stops_when_full(void)
{
	static uint8_t big[60000];
	struct virtio_net_hdr_v1 hdr = { 0 };
	struct iovec iov = { big, sizeof(big) };
	struct tap_tx tx[64];
	int sv[2], sent, total = 0;

	signal(SIGPIPE, SIG_IGN);	/* a socket, unlike a TAP, raises it */
	CU_ASSERT_EQUAL_FATAL(tap_fake_pair(sv), 0);
	for (int i = 0; i < 64; i++)
		tx[i] = (struct tap_tx){ &hdr, &iov, 1 };
	/* The socket buffer fills: fewer than 64 go, then 0, no error. */
	do {
		sent = tap_write_batch(sv[0], tx, 64);
		CU_ASSERT(sent >= 0);
		total += sent > 0 ? sent : 0;
	} while (sent == 64);
	CU_ASSERT(total > 0);
	CU_ASSERT_EQUAL(tap_write_batch(sv[0], tx, 64), 0);
	CU_ASSERT_EQUAL(tap_write_frame(sv[0], &hdr, &iov, 1), -EAGAIN);
	/* The far side gone: an error, not "try again". */
	close(sv[1]);
	sent = tap_write_frame(sv[0], &hdr, &iov, 1);
	CU_ASSERT(sent < 0 && sent != -EAGAIN);
	close(sv[0]);
}

static void test_offload_flags(void)
{
	uint64_t f = 1ULL << VIRTIO_NET_F_GUEST_CSUM;

	CU_ASSERT_EQUAL(tap_offload_flags(0), 0);
	/* Segmentation without checksum offload is not offered. */
	CU_ASSERT_EQUAL(tap_offload_flags(1ULL << VIRTIO_NET_F_GUEST_TSO4), 0);
	CU_ASSERT_EQUAL(tap_offload_flags(f), TUN_F_CSUM);
	f |= 1ULL << VIRTIO_NET_F_GUEST_ECN;
	CU_ASSERT_EQUAL(tap_offload_flags(f), TUN_F_CSUM);
	f |= 1ULL << VIRTIO_NET_F_GUEST_TSO4 | 1ULL << VIRTIO_NET_F_GUEST_TSO6 |
	     1ULL << VIRTIO_NET_F_GUEST_UFO;
	CU_ASSERT_EQUAL(tap_offload_flags(f), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
			TUN_F_TSO_ECN | TUN_F_UFO);
}

CUTEST_MAIN("net-tap",
	    CUTEST(test_write_then_observe),
	    CUTEST(test_read_batch),
	    CUTEST(test_write_batch_stops_when_full),
	    CUTEST(test_offload_flags));

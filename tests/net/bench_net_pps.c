/* A first packets-per-second measurement of mica-net over a TAP, next
 * to a bare veth pair measured in the same run.  Runs in a network
 * namespace of its own; prints numbers, asserts nothing.
 *     bench_net_pps [SECONDS]        (tests/bench/net-pps.sh runs it) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "tests/lib/vu_frontend.h"
#include "tests/net/frames.h"

#define MEM   (32ULL << 20)
#define QSIZE 256
#define BATCH 64

static double secs = 1.0;
/* Buffers the device holds, across runs (the rings outlive each run). */
static unsigned tx_inflight, rx_posted;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int psock(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_TEST_TYPE) };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_TEST_TYPE));
	int big = 4 << 20;

	sll.sll_ifindex = if_nametoindex(ifname);
	if (s < 0 || bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	return s;
}

static unsigned drain(int s)
{
	static char buf[BATCH][2048];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	unsigned total = 0;
	int n;

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	while ((n = recvmmsg(s, m, BATCH, MSG_DONTWAIT, NULL)) > 0)
		total += n;
	return total;
}

static int blast(int s, const uint8_t *f, size_t len)
{
	struct mmsghdr m[BATCH];
	struct iovec iov = { (void *)f, len };

	for (int i = 0; i < BATCH; i++)
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	return sendmmsg(s, m, BATCH, MSG_DONTWAIT);
}

static double veth(size_t len)
{
	uint8_t f[2048];
	unsigned got = 0;
	double t0, t;
	int a = psock("bva"), b = psock("bvb");

	if (a < 0 || b < 0)
		return -1;
	frame_test(f, len, frames_guest_mac, 1);
	t0 = now();
	while ((t = now()) - t0 < secs) {
		blast(a, f, len);
		got += drain(b);
	}
	close(a);
	close(b);
	return got / (t - t0);
}

static pid_t start(const char *sock)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (getenv("MICA_TEST_VERBOSE") == NULL)
			dup2(null, 2);
		execl(getenv("MICA_NET") ? getenv("MICA_NET") : "build/bin/mica-net", "mica-net",
		      "--socket-path", sock, "--tap", "bt0", NULL);
		_exit(127);
	}
	return pid;
}

static double guest_to_tap(struct vu_frontend *fe, int s, size_t len)
{
	uint64_t base = vuf_data_gpa(fe) + (4ULL << 20);
	unsigned got = 0;
	double t0, t;
	uint16_t id;
	uint32_t ulen;

	memset(vuf_gpa(fe, base), 0, 12);
	frame_test(vuf_gpa(fe, base + 12), len, frames_guest_mac, 2);
	t0 = now();
	while ((t = now()) - t0 < secs) {
		struct vqdrv_buf b = { base, (uint32_t)(12 + len), false };

		while (tx_inflight < QSIZE && vqdrv_add(&fe->q[1], &b, 1, 0, NULL, 0) >= 0)
			tx_inflight++;
		vuf_kick(fe, 1);
		while (vqdrv_get_used(&fe->q[1], &id, &ulen) == 1)
			tx_inflight--;
		got += drain(s);
	}
	return got / (t - t0);
}

static double tap_to_guest(struct vu_frontend *fe, int s, size_t len)
{
	uint64_t base = vuf_data_gpa(fe) + (8ULL << 20);
	unsigned got = 0;
	uint8_t f[2048];
	double t0, t;
	uint16_t id;
	uint32_t ulen;

	frame_test(f, len, frames_guest_mac, 3);
	t0 = now();
	while ((t = now()) - t0 < secs) {
		while (rx_posted < QSIZE) {
			struct vqdrv_buf b = { base + (rx_posted % QSIZE) * 2048, 2048, true };

			if (vqdrv_add(&fe->q[0], &b, 1, 0, NULL, 0) < 0)
				break;
			rx_posted++;
		}
		vuf_kick(fe, 0);
		blast(s, f, len);
		while (vqdrv_get_used(&fe->q[0], &id, &ulen) == 1) {
			rx_posted--;
			got++;
		}
	}
	return got / (t - t0);
}

int main(int argc, char **argv)
{
	char sock[] = "/tmp/mica-bench-net.sock";
	static struct vu_frontend fe;
	size_t sizes[2] = { 64, 1500 };
	pid_t pid;
	int s;

	if (argc > 1)
		secs = atof(argv[1]);
	if (unshare(CLONE_NEWNET) < 0 ||
	    system("ip link set lo up && ip link add bva type veth peer name bvb && "
		   "ip link set bva up && ip link set bvb up && "
		   "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6") != 0) {
		fprintf(stderr, "bench: needs root (network namespace, veth)\n");
		return 77;
	}
	pid = start(sock);
	if (vuf_connect(&fe, sock, 5000) < 0 || vuf_start(&fe, MEM, 2, QSIZE, false, 0) < 0 ||
	    (s = psock("bt0")) < 0) {
		fprintf(stderr, "bench: mica-net did not start\n");
		kill(pid, SIGTERM);
		return 1;
	}
	printf("%-6s %14s %14s %14s\n", "bytes", "veth pps", "guest->tap", "tap->guest");
	for (int i = 0; i < 2; i++) {
		double v = veth(sizes[i]), tx = guest_to_tap(&fe, s, sizes[i]);

		drain(s);
		printf("%-6zu %14.0f %14.0f %14.0f\n", sizes[i], v, tx, tap_to_guest(&fe, s, sizes[i]));
	}
	vuf_close(&fe);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(sock);
	return 0;
}

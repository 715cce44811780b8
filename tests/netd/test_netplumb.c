/* The network plumbing library against the real kernel.
 *
 * Every test runs in a forked child inside a network namespace (and mount
 * namespace, for a sysfs that shows that network namespace) of its own, so
 * it touches nothing on the host and all it made vanishes with the child.
 * Frames stay inside the namespace: they are sent and received with
 * AF_PACKET sockets on the namespace's own bridge or veth.  The child's
 * exit status carries the result (0 passed, 77 skipped, else failed). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "dev-virtio-net/tap.h"
#include "jail.h"
#include "netd/plumb.h"
#include "tests/lib/cutest.h"

#define TAG "mica-test:plumb"
#define SKIP_STATUS 77
/* Local experimental EtherType: nothing else in the namespace uses it. */
#define TEST_ETHERTYPE 0x88b5

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond); \
			return 1; \
		} \
	} while (0)

#define CHECK_ERR(call, want) \
	do { \
		long got_ = (call); \
		if (got_ != (want)) { \
			fprintf(stderr, "%s:%d: %s = %ld (%s), want %ld\n", __FILE__, \
				__LINE__, #call, got_, got_ < 0 ? strerror((int)-got_) : "", \
				(long)(want)); \
			return 1; \
		} \
	} while (0)

#define CHECK_OK(call) CHECK_ERR(call, 0)

static int skip(const char *why)
{
	fprintf(stderr, "skip: %s\n", why);
	return SKIP_STATUS;
}

/* Run a shell command (iproute2) inside the test's namespace. */
static int sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int enter_namespaces(void)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		return errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return errno;
	/* sysfs mounted from inside the netns shows its links. */
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0)
		return errno;
	return 0;
}

static int run_in_netns(int (*body)(void))
{
	int status, err;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		err = enter_namespaces();
		if (err) {
			fprintf(stderr, "namespaces: %s\n", strerror(err));
			_exit(err == EPERM ? SKIP_STATUS : 1);
		}
		if (access("/dev/net/tun", R_OK | W_OK) < 0)
			_exit(skip("no /dev/net/tun"));
		err = body();
#ifdef __SANITIZE_ADDRESS__
		/* LeakSanitizer's exit check does not run on _exit. */
		if (err == 0 && __lsan_do_recoverable_leak_check())
			err = 1;
#endif
		_exit(err);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFSIGNALED(status))
		fprintf(stderr, "test child killed by signal %d%s\n", WTERMSIG(status),
			WTERMSIG(status) == SIGSYS ? " (seccomp: a syscall not allowed)" : "");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define IN_NETNS(body) \
	do { \
		int rc_ = run_in_netns(body); \
		if (rc_ == SKIP_STATUS) \
			CUTEST_SKIP("the kernel lacks a feature (reason in the log)"); \
		CU_ASSERT_EQUAL(rc_, 0); \
	} while (0)

static bool link_exists(const char *name)
{
	return if_nametoindex(name) > 0;
}

/* --- frames --- */

struct test_frame {
	uint8_t dst[6], src[6];
	uint16_t type;
	char text[46];
} __attribute__((packed));

static void make_frame(struct test_frame *f, const uint8_t dst[6],
		       const uint8_t src[6], const char *text)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->dst, dst, 6);
	memcpy(f->src, src, 6);
	f->type = htons(TEST_ETHERTYPE);
	snprintf(f->text, sizeof(f->text), "%s", text);
}

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t host_mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

/* AF_PACKET socket bound to ifname for TEST_ETHERTYPE. */
static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
		.sll_protocol = htons(TEST_ETHERTYPE) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(TEST_ETHERTYPE));

	if (fd < 0)
		return -errno;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Read frames from queue fds until one of ours with text arrives (other
 * traffic, IPv6 router solicitations say, is skipped).  Checks the
 * virtio-net header is the plain one.  0 or -ETIMEDOUT. */
static int tap_expect(const int *fds, unsigned nfds, const char *text)
{
	uint8_t buf[4][2048];
	struct iovec iov[4];
	struct tap_rx rx[4];
	struct pollfd pfd[PLUMB_MAX_QUEUES];

	for (unsigned i = 0; i < nfds; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	for (int rounds = 0; rounds < 40; rounds++) {
		if (poll(pfd, nfds, 100) < 0)
			return -errno;
		for (unsigned q = 0; q < nfds; q++) {
			int n;

			for (int i = 0; i < 4; i++) {
				iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
				rx[i] = (struct tap_rx){ .iov = &iov[i], .iovcnt = 1 };
			}
			n = tap_read_batch(fds[q], rx, 4);
			if (n < 0)
				return n;
			for (int i = 0; i < n; i++) {
				const struct virtio_net_hdr_v1 *h = (void *)buf[i];
				const struct test_frame *f =
					(void *)(buf[i] + TAP_VNET_HDR_LEN);

				if (rx[i].len < TAP_VNET_HDR_LEN + 14 ||
				    f->type != htons(TEST_ETHERTYPE))
					continue;
				if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
					fprintf(stderr, "gso_type %u\n", h->gso_type);
					return -EPROTO;
				}
				if (rx[i].len >= TAP_VNET_HDR_LEN + sizeof(*f) &&
				    !strcmp(f->text, text))
					return 0;
			}
		}
	}
	return -ETIMEDOUT;
}

/* Read into a buffer of header + 20 bytes until one of our frames comes:
 * it must come cut to the buffer and flagged as (possibly) cut. */
static int tap_expect_cut(int fd)
{
	uint8_t buf[TAP_VNET_HDR_LEN + 20];
	struct iovec iov = { buf, sizeof(buf) };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct tap_rx rx;
	uint16_t type;

	for (int rounds = 0; rounds < 40; rounds++) {
		if (poll(&pfd, 1, 100) < 0)
			return -errno;
		rx = (struct tap_rx){ .iov = &iov, .iovcnt = 1 };
		while (tap_read_batch(fd, &rx, 1) == 1) {
			memcpy(&type, buf + TAP_VNET_HDR_LEN + 12, sizeof(type));
			if (type == htons(TEST_ETHERTYPE)) {
				return rx.truncated && rx.len == sizeof(buf) ? 0 : -EPROTO;
			}
			rx = (struct tap_rx){ .iov = &iov, .iovcnt = 1 };
		}
	}
	return -ETIMEDOUT;
}

/* Wait for a TEST_ETHERTYPE frame with text on packet socket fd. */
static int packet_expect(int fd, const char *text)
{
	struct test_frame f;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (int rounds = 0; rounds < 40; rounds++) {
		if (poll(&pfd, 1, 100) < 0)
			return -errno;
		while (recv(fd, &f, sizeof(f), MSG_DONTWAIT) >= (ssize_t)sizeof(f))
			if (!strncmp(f.text, text, sizeof(f.text)))
				return 0;
	}
	return -ETIMEDOUT;
}

/* Send a frame with text from packet socket fd, retrying for a while:
 * a new bridge port or macvtap may take a moment to forward. */
static int packet_send_until(int fd, const struct test_frame *f, const int *qfds,
			     unsigned nq)
{
	for (int tries = 0; tries < 10; tries++) {
		if (send(fd, f, sizeof(*f), 0) != (ssize_t)sizeof(*f))
			return -errno;
		if (tap_expect(qfds, nq, f->text) == 0)
			return 0;
	}
	return -ETIMEDOUT;
}

/* --- tests --- */

static int body_tap_lifecycle(void)
{
	struct plumb_tap_result res;
	struct plumb *p;
	char kind[IFNAMSIZ];
	int fds[1], fd2[1];

	CHECK_OK(plumb_open(&p, TAG, -1));
	CHECK_OK(plumb_tap_open(p, "mt0", 1, false, fds, &res));
	CHECK(res.created && res.nqueues == 1 && res.ifindex > 0);
	CHECK(plumb_owns(p, res.ifindex));
	CHECK_OK(plumb_link_kind(p, res.ifindex, kind, sizeof(kind)));
	CHECK(!strcmp(kind, "tun"));
	CHECK(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	/* The kernel keeps the owner's tag, as iproute2 shows. */
	CHECK_OK(sh("ip -d link show mt0 | grep -q 'alias %s'", TAG));
	CHECK_OK(sh("ip -d link show mt0 | grep -q 'vnet_hdr on persist on'"));
	int sz = 0;
	CHECK_OK(ioctl(fds[0], TUNGETVNETHDRSZ, &sz));
	CHECK(sz == PLUMB_VNET_HDR_SIZE);
	CHECK_OK(plumb_tap_set_offload(fds[0], TUN_F_CSUM | TUN_F_TSO4));
	CHECK_OK(plumb_link_set_mtu(p, res.ifindex, 9000));
	CHECK_OK(sh("ip link show mt0 | grep -q 'mtu 9000'"));

	/* Persistent: survives its fds (a crash of mica-net). */
	close(fds[0]);
	CHECK(link_exists("mt0"));
	/* Attaching again is an explicit choice. */
	CHECK_ERR(plumb_tap_open(p, "mt0", 1, false, fd2, &res), -EEXIST);
	CHECK_OK(plumb_tap_open(p, "mt0", 1, true, fd2, &res));
	CHECK(!res.created && plumb_owns(p, res.ifindex));
	/* A single-queue TAP with its queue taken is busy. */
	CHECK_ERR(plumb_tap_open(p, "mt0", 1, true, fds, &res), -EBUSY);
	CHECK_ERR(plumb_tap_open(p, "mt0", 2, true, fds, &res), -EINVAL);
	close(fd2[0]);

	CHECK_ERR(plumb_remove_owned(p), 1);
	CHECK(!link_exists("mt0"));
	CHECK_ERR(plumb_remove_owned(p), 0);
	plumb_close(p);
	return 0;
}

static int body_tap_refusals(void)
{
	struct plumb_tap_result res;
	struct plumb *p;
	int fds[PLUMB_MAX_QUEUES + 1];

	CHECK_ERR(plumb_open(&p, "", -1), -EINVAL);
	CHECK_ERR(plumb_open(&p, "has space", -1), -EINVAL);
	CHECK_OK(plumb_open(&p, TAG, -1));
	CHECK_ERR(plumb_tap_open(p, "bad/name", 1, true, fds, &res), -EINVAL);
	CHECK_ERR(plumb_tap_open(p, "mt0", 0, true, fds, &res), -EINVAL);
	CHECK_ERR(plumb_tap_open(p, "mt0", PLUMB_MAX_QUEUES + 1, true, fds, &res),
		  -EINVAL);
	/* Not a TAP: the loopback, a TUN, a bridge. */
	CHECK_ERR(plumb_tap_open(p, "lo", 1, true, fds, &res), -EINVAL);
	CHECK_OK(sh("ip tuntap add tun9 mode tun"));
	CHECK_ERR(plumb_tap_open(p, "tun9", 1, true, fds, &res), -EINVAL);
	CHECK(link_exists("tun9"));
	CHECK_ERR(plumb_link_index(p, "nosuch0"), -ENODEV);
	CHECK_ERR(plumb_link_set_up(p, 999, true), -ENODEV);
	CHECK_ERR(plumb_link_set_mtu(p, 1, 20), -EINVAL);
	CHECK_ERR(plumb_link_set_mac(p, 1, broadcast), -EINVAL);
	CHECK_ERR(plumb_link_delete(p, (int)if_nametoindex("tun9"), false), -EPERM);
	CHECK(link_exists("tun9"));
	CHECK_ERR(plumb_remove_owned(p), 0);
	plumb_close(p);
	return 0;
}

static int body_tap_multiqueue(void)
{
	struct plumb_tap_result res;
	struct plumb *p;
	struct ifreq ifr;
	int fds[4];

	CHECK_OK(plumb_open(&p, TAG, -1));
	CHECK_OK(plumb_tap_open(p, "mq0", 4, false, fds, &res));
	CHECK(res.created && res.nqueues == 4);
	for (int i = 0; i < 4; i++) {
		memset(&ifr, 0, sizeof(ifr));
		CHECK_OK(ioctl(fds[i], TUNGETIFF, &ifr));
		CHECK(!strcmp(ifr.ifr_name, "mq0"));
		CHECK(ifr.ifr_flags & IFF_MULTI_QUEUE);
		CHECK(ifr.ifr_flags & IFF_VNET_HDR);
		CHECK(ifr.ifr_flags & IFF_NO_PI);
		for (int j = 0; j < i; j++)
			CHECK(fds[i] != fds[j]);
	}
	/* A multi-queue TAP is not opened single-queue. */
	int one[1], mq = res.ifindex;
	CHECK_ERR(plumb_tap_open(p, "mq0", 1, true, one, &res), -EINVAL);

	/* Frames flow through every queue. */
	struct virtio_net_hdr_v1 hdr = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	struct test_frame f;
	struct iovec iov = { &f, sizeof(f) };
	char text[32];
	int br, pkt;

	CHECK_OK(plumb_bridge_create(p, "mbr0", &br));
	CHECK_OK(plumb_bridge_attach(p, mq, "mbr0"));
	CHECK_OK(plumb_link_set_up(p, br, true));
	CHECK_OK(plumb_link_set_up(p, mq, true));
	pkt = packet_socket("mbr0");
	CHECK(pkt >= 0);
	make_frame(&f, broadcast, host_mac, "to some queue");
	CHECK_OK(packet_send_until(pkt, &f, fds, 4));
	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "from queue %d", i);
		make_frame(&f, broadcast, guest_mac, text);
		CHECK_OK(tap_write_frame(fds[i], &hdr, &iov, 1));
		CHECK_OK(packet_expect(pkt, text));
	}
	close(pkt);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	CHECK_ERR(plumb_remove_owned(p), 2);
	CHECK(!link_exists("mq0"));
	plumb_close(p);
	return 0;
}

/* TAP on a bridge: frames from the namespace's side reach the TAP fd with
 * a virtio-net header, and frames written with one reach the bridge. */
static int body_tap_bridge_frames(void)
{
	struct plumb_tap_result res;
	struct test_frame f;
	struct plumb *p;
	int fds[1], br, pkt;

	CHECK_OK(plumb_open(&p, TAG, -1));
	CHECK_OK(plumb_bridge_create(p, "mbr0", &br));
	CHECK_ERR(plumb_bridge_create(p, "mbr0", NULL), -EEXIST);
	CHECK_OK(plumb_tap_open(p, "mt0", 1, false, fds, &res));
	CHECK_OK(plumb_link_set_mac(p, res.ifindex, guest_mac));
	CHECK_OK(plumb_link_set_mtu(p, res.ifindex, 1400));
	CHECK_ERR(plumb_bridge_attach(p, res.ifindex, "nosuch0"), -ENODEV);
	CHECK_ERR(plumb_bridge_attach(p, res.ifindex, "lo"), -ENOTTY);
	CHECK_OK(plumb_bridge_attach(p, res.ifindex, "mbr0"));
	CHECK_OK(plumb_link_set_mac(p, br, host_mac));
	CHECK_OK(plumb_link_set_up(p, br, true));
	CHECK_OK(plumb_link_set_up(p, res.ifindex, true));
	CHECK_OK(sh("ip -d link show mt0 | grep -q 'mtu 1400.*master mbr0.*state'"));
	CHECK_OK(sh("ip link show mt0 | grep -q 'link/ether 52:54:00:12:34:56'"));

	pkt = packet_socket("mbr0");
	CHECK(pkt >= 0);
	/* host -> guest: broadcast from the bridge, flooded to the port */
	make_frame(&f, broadcast, host_mac, "to the guest");
	CHECK_OK(packet_send_until(pkt, &f, fds, 1));

	/* guest -> host: written with a header, seen on the bridge */
	struct virtio_net_hdr_v1 hdr = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	make_frame(&f, host_mac, guest_mac, "from the guest");
	struct iovec iov = { &f, sizeof(f) };
	CHECK_OK(tap_write_frame(fds[0], &hdr, &iov, 1));
	CHECK_OK(packet_expect(pkt, "from the guest"));

	/* A frame larger than its buffer is cut and flagged. */
	make_frame(&f, broadcast, host_mac, "cut");
	CHECK(send(pkt, &f, sizeof(f), 0) == (ssize_t)sizeof(f));
	CHECK_OK(tap_expect_cut(fds[0]));

	close(pkt);
	close(fds[0]);
	CHECK_ERR(plumb_remove_owned(p), 2);
	CHECK(!link_exists("mt0") && !link_exists("mbr0"));
	plumb_close(p);
	return 0;
}

static int make_veth(const char *a, const char *b)
{
	if (sh("ip link add %s type veth peer name %s", a, b) != 0)
		return -1;
	return sh("ip link set %s up && ip link set %s up", a, b) ? -1 : 0;
}

/* macvtap on a veth: frames from the veth's peer reach the macvtap queue
 * and the reverse.  node_dirfd: fallback directory for the device node. */
static int macvtap_frames(struct plumb *p, int node_dirfd)
{
	struct test_frame f;
	int fds[2], mvt, pkt, err;

	err = plumb_macvtap_create(p, "va", "mvt0", guest_mac, &mvt);
	if (err == -EOPNOTSUPP)
		return skip("the kernel has no macvtap");
	CHECK_OK(err);
	CHECK_OK(plumb_link_set_up(p, mvt, true));
	CHECK_OK(plumb_macvtap_open(p, mvt, 2, node_dirfd, fds));

	pkt = packet_socket("vb");
	CHECK(pkt >= 0);
	make_frame(&f, guest_mac, host_mac, "to the macvtap");
	CHECK_OK(packet_send_until(pkt, &f, fds, 2));

	struct virtio_net_hdr_v1 hdr = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	make_frame(&f, host_mac, guest_mac, "from the macvtap");
	struct iovec iov = { &f, sizeof(f) };
	CHECK_OK(tap_write_frame(fds[1], &hdr, &iov, 1));
	CHECK_OK(packet_expect(pkt, "from the macvtap"));
	close(pkt);
	close(fds[0]);
	close(fds[1]);
	return 0;
}

static int body_macvtap_frames(void)
{
	struct plumb *p;
	char kind[IFNAMSIZ];
	int rc, fds[1];

	CHECK_OK(make_veth("va", "vb"));
	CHECK_OK(plumb_open(&p, TAG, -1));
	rc = macvtap_frames(p, -1);
	if (rc)
		return rc;
	CHECK_OK(plumb_link_kind(p, plumb_link_index(p, "mvt0"), kind, sizeof(kind)));
	CHECK(!strcmp(kind, "macvtap"));
	/* Not a macvtap: refused. */
	CHECK_ERR(plumb_macvtap_open(p, plumb_link_index(p, "va"), 1, -1, fds), -ENOTTY);
	CHECK_ERR(plumb_macvtap_create(p, "nosuch0", NULL, NULL, NULL), -ENODEV);
	/* A name chosen by the library, owned like any other. */
	int auto_index;
	CHECK_OK(plumb_macvtap_create(p, "va", NULL, NULL, &auto_index));
	CHECK(link_exists("micavt0") && plumb_owns(p, auto_index));
	CHECK_ERR(plumb_remove_owned(p), 2);
	CHECK(!link_exists("mvt0") && !link_exists("micavt0"));
	CHECK(link_exists("va") && link_exists("vb"));
	plumb_close(p);
	return 0;
}

/* Without /dev/tapN (no udev, no devtmpfs) or with a wrong node there, the
 * library makes its own node from sysfs's device number. */
static int body_macvtap_mknod(void)
{
	char devdir[] = "/tmp/mica-test-dev.XXXXXX";
	char nodedir[] = "/tmp/mica-test-node.XXXXXX";
	struct plumb *p;
	char node[32];
	int devfd, nodefd, rc, mvt;

	CHECK(mkdtemp(devdir) && mkdtemp(nodedir));
	/* private tmpfs mounts, gone with this mount namespace */
	CHECK_OK(mount("tmpfs", devdir, "tmpfs", 0, "size=64k"));
	CHECK_OK(mount("tmpfs", nodedir, "tmpfs", 0, "size=64k"));
	rmdir(devdir);	/* busy: stays until the namespace goes */
	devfd = open(devdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	nodefd = open(nodedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(devfd >= 0 && nodefd >= 0);
	CHECK_OK(mkdirat(devfd, "net", 0755));
	CHECK_OK(mknodat(devfd, "net/tun", S_IFCHR | 0600, makedev(10, 200)));
	CHECK_OK(make_veth("va", "vb"));
	CHECK_OK(plumb_open(&p, TAG, devfd));

	/* First: no node in "/dev" at all, no fallback -> a clear error. */
	rc = plumb_macvtap_create(p, "va", "mvt9", NULL, &mvt);
	if (rc == -EOPNOTSUPP)
		return skip("the kernel has no macvtap");
	CHECK_OK(rc);
	int fds[1];
	CHECK_ERR(plumb_macvtap_open(p, mvt, 1, -1, fds), -ENOENT);
	/* A node there that is somebody else's device (/dev/null). */
	snprintf(node, sizeof(node), "tap%d", mvt);
	CHECK_OK(mknodat(devfd, node, S_IFCHR | 0600, makedev(1, 3)));
	CHECK_ERR(plumb_macvtap_open(p, mvt, 1, -1, fds), -ESTALE);
	CHECK_OK(plumb_link_delete(p, mvt, false));
	CHECK(!plumb_owns(p, mvt));

	rc = macvtap_frames(p, nodefd);
	if (rc)
		return rc;
	snprintf(node, sizeof(node), "tap%d", plumb_link_index(p, "mvt0"));
	CHECK(faccessat(nodefd, node, F_OK, 0) == 0);
	CHECK_ERR(plumb_remove_owned(p), 1);
	plumb_close(p);
	return 0;
}

/* Removal removes exactly what was created: not the bridge, TAP and veth
 * that were there before, nor a link that lost our tag. */
static int body_remove_exactly_owned(void)
{
	struct plumb_tap_result res;
	struct plumb *p;
	int fds[1], fds2[1], mvt, err;

	CHECK_OK(sh("ip link add hostbr type bridge"));
	CHECK_OK(sh("ip tuntap add hosttap mode tap vnet_hdr"));
	CHECK_OK(make_veth("va", "vb"));
	CHECK_OK(plumb_open(&p, TAG, -1));

	/* ours: a TAP on the host's bridge, a bridge, a macvtap */
	CHECK_OK(plumb_tap_open(p, "mt0", 1, false, fds, &res));
	CHECK_OK(plumb_bridge_attach(p, res.ifindex, "hostbr"));
	CHECK_OK(plumb_bridge_create(p, "mbr0", NULL));
	err = plumb_macvtap_create(p, "va", "mvt0", NULL, &mvt);
	CHECK(err == 0 || err == -EOPNOTSUPP);
	/* not ours: the host's TAP, opened and put on our bridge */
	CHECK_OK(plumb_tap_open(p, "hosttap", 1, true, fds2, &res));
	CHECK(!res.created && !plumb_owns(p, res.ifindex));
	CHECK_OK(plumb_bridge_attach(p, res.ifindex, "mbr0"));
	/* ours, but re-tagged by someone since: left alone */
	CHECK_OK(plumb_bridge_create(p, "mbr1", NULL));
	CHECK_OK(sh("ip link set mbr1 alias someone-else"));

	/* Deleting one on its own checks the tag just the same. */
	CHECK_ERR(plumb_link_delete(p, (int)if_nametoindex("mbr1"), false), -EPERM);
	CHECK(!plumb_owns(p, (int)if_nametoindex("mbr1")));
	CHECK_ERR(plumb_remove_owned(p), err == 0 ? 3 : 2);
	CHECK(!link_exists("mt0") && !link_exists("mbr0") && !link_exists("mvt0"));
	CHECK(link_exists("hostbr") && link_exists("hosttap") && link_exists("mbr1"));
	CHECK(link_exists("va") && link_exists("vb"));
	/* The TAP we created is gone even though mica-net still had its fd. */
	close(fds[0]);
	close(fds2[0]);
	CHECK(link_exists("hosttap"));
	plumb_close(p);
	return 0;
}

/* After a crash of netd (its record lost), a new instance with the same tag
 * sweeps what the old one left; other owners' links stay. */
static int body_sweep_after_crash(void)
{
	struct plumb_tap_result res;
	struct plumb *old, *other, *p;
	int fds[1];

	CHECK_OK(plumb_open(&old, TAG, -1));
	CHECK_OK(plumb_open(&other, "mica-test:other", -1));
	CHECK_OK(plumb_tap_open(old, "mt0", 1, false, fds, &res));
	close(fds[0]);
	CHECK_OK(plumb_bridge_create(old, "mbr0", NULL));
	CHECK_OK(plumb_tap_open(other, "ot0", 1, false, fds, &res));
	close(fds[0]);
	plumb_close(old);	/* "crash": nothing removed */
	CHECK(link_exists("mt0") && link_exists("mbr0"));

	CHECK_OK(plumb_open(&p, TAG, -1));
	CHECK_ERR(plumb_sweep_tag(p), 2);
	CHECK(!link_exists("mt0") && !link_exists("mbr0") && link_exists("ot0"));
	CHECK_ERR(plumb_sweep_tag(p), 0);
	CHECK_ERR(plumb_remove_owned(other), 1);
	plumb_close(other);
	plumb_close(p);
	return 0;
}

/* A netd restarted under a running VM adopts what its predecessor made
 * (the TAP stays usable), and removes it when the VM stops. */
static int body_adopt_after_restart(void)
{
	struct plumb_tap_result res;
	struct plumb *old, *other, *p;
	int fds[1], fds2[1], br;

	CHECK_OK(plumb_open(&old, "mica-test:unnamed", -1));
	CHECK_OK(plumb_set_tag(old, TAG));
	CHECK_OK(plumb_open(&other, "mica-test:other", -1));
	CHECK_OK(plumb_tap_open(old, "mt0", 1, false, fds, &res));
	CHECK_ERR(plumb_set_tag(old, "mica-test:late"), -EBUSY);
	CHECK_ERR(plumb_set_tag(other, "bad tag"), -EINVAL);
	CHECK_OK(plumb_bridge_create(old, "mbr0", &br));
	CHECK_OK(plumb_bridge_create(other, "obr0", NULL));
	plumb_close(old);	/* netd crashed; mica-net keeps fds[0] */

	CHECK_OK(plumb_open(&p, TAG, -1));
	CHECK_ERR(plumb_adopt_tag(p), 2);
	CHECK(plumb_owns(p, res.ifindex) && plumb_owns(p, br));
	CHECK_ERR(plumb_adopt_tag(p), 2);	/* idempotent */
	CHECK(link_exists("mt0") && link_exists("mbr0"));
	/* the new netd hands out a fresh queue to a restarted mica-net */
	close(fds[0]);
	CHECK_OK(plumb_tap_open(p, "mt0", 1, true, fds2, &res));
	CHECK(!res.created);
	close(fds2[0]);
	CHECK_ERR(plumb_remove_owned(p), 2);
	CHECK(!link_exists("mt0") && !link_exists("mbr0") && link_exists("obr0"));
	CHECK_ERR(plumb_remove_owned(other), 1);
	plumb_close(other);
	plumb_close(p);
	return 0;
}

/* What the plumbing needs once netd is locked down, besides the daemon
 * base (jail/base_policy.c): the list netd/policy.c must allow.  The
 * context (rtnetlink socket, /dev and /sys/class/net fds) is opened
 * before lockdown. */
static const struct jail_syscall_group plumb_groups[] = {
	JAIL_ALLOW("rtnetlink requests and their answers (libnl; in the base too)",
		   "sendmsg", "recvmsg"),
	JAIL_ALLOW("TAP and macvtap queues beneath the /dev fd", "openat2"),
	JAIL_ALLOW("TUNSETIFF, TUNSETPERSIST, TUNSETVNETHDRSZ, TUNSETOFFLOAD, "
		   "TUNGETIFF, SIOCGIFHWADDR", "ioctl"),
};

static const int net_admin_only[] = { CAP_NET_ADMIN };
static const int net_admin_dac[] = { CAP_NET_ADMIN, CAP_DAC_OVERRIDE };

/* Everything netd does for a VM, after the lockdown netd gets: empty
 * root, uid 65534 with only the capabilities in caps, no_new_privs and
 * the seccomp list above (a SIGSYS kill fails the test).  macvtap_open:
 * what opening the macvtap's root-owned /dev/tapN should give. */
static int locked_down_plumbing(const int *caps, size_t ncaps, int macvtap_open)
{
	const struct jail_policy policy = {
		.program = "test_netplumb",
		.groups = plumb_groups,
		.ngroups = sizeof(plumb_groups) / sizeof(plumb_groups[0]),
		.keep_caps = caps,
		.nkeep_caps = ncaps,
		.daemon_base = true,
	};
	const struct jail_lockdown_opts opts = { .uid = 65534, .gid = 65534,
		.seccomp = JAIL_SECCOMP_KILL };
	struct plumb_tap_result res;
	struct plumb *p;
	int fds[2], mfds[2], br, mvt, err;

	CHECK_OK(make_veth("va", "vb"));
	CHECK_OK(sh("ip link add hostbr type bridge"));
	CHECK_OK(plumb_open(&p, TAG, -1));
	CHECK_OK(jail_lockdown(&policy, &opts));

	CHECK_OK(plumb_sweep_tag(p));
	CHECK_OK(plumb_tap_open(p, "mt0", 2, false, fds, &res));
	CHECK_OK(plumb_tap_set_offload(fds[0], TUN_F_CSUM));
	CHECK_OK(plumb_link_set_mac(p, res.ifindex, guest_mac));
	CHECK_OK(plumb_link_set_mtu(p, res.ifindex, 1500));
	CHECK_OK(plumb_bridge_attach(p, res.ifindex, "hostbr"));
	CHECK_OK(plumb_link_set_up(p, res.ifindex, true));
	CHECK_OK(plumb_bridge_create(p, "mbr0", &br));
	err = plumb_macvtap_create(p, "va", NULL, NULL, &mvt);
	CHECK(err == 0 || err == -EOPNOTSUPP);
	if (err == 0) {
		CHECK_OK(plumb_link_set_up(p, mvt, true));
		CHECK_ERR(plumb_macvtap_open(p, mvt, 2, -1, mfds), macvtap_open);
		if (macvtap_open == 0) {
			close(mfds[0]);
			close(mfds[1]);
		}
	}
	close(fds[0]);
	close(fds[1]);
	CHECK_ERR(plumb_remove_owned(p), err == 0 ? 3 : 2);
	CHECK_ERR(plumb_link_index(p, "mt0"), -ENODEV);
	CHECK(plumb_link_index(p, "hostbr") > 0);
	plumb_close(p);
	return 0;
}

/* As netd is jailed today (CAP_NET_ADMIN only): TAP and bridge work; the
 * macvtap's node (root:root 0600 from devtmpfs/udev) cannot be opened. */
static int body_locked_down(void)
{
	return locked_down_plumbing(net_admin_only, 1, -EACCES);
}

/* With CAP_DAC_OVERRIDE as well, the macvtap opens too. */
static int body_locked_down_dac(void)
{
	return locked_down_plumbing(net_admin_dac, 2, 0);
}

static void test_tap_lifecycle(void) { IN_NETNS(body_tap_lifecycle); }
static void test_tap_refusals(void) { IN_NETNS(body_tap_refusals); }
static void test_tap_multiqueue(void) { IN_NETNS(body_tap_multiqueue); }
static void test_tap_bridge_frames(void) { IN_NETNS(body_tap_bridge_frames); }
static void test_macvtap_frames(void) { IN_NETNS(body_macvtap_frames); }
static void test_macvtap_mknod(void) { IN_NETNS(body_macvtap_mknod); }
static void test_remove_exactly_owned(void) { IN_NETNS(body_remove_exactly_owned); }
static void test_sweep_after_crash(void) { IN_NETNS(body_sweep_after_crash); }
static void test_adopt_after_restart(void) { IN_NETNS(body_adopt_after_restart); }
/* The sanitizer runtimes make syscalls of their own outside the list. */
#ifdef __SANITIZE_ADDRESS__
#define SKIP_UNDER_ASAN() CUTEST_SKIP("the ASan runtime makes syscalls outside the list")
#else
#define SKIP_UNDER_ASAN() do { } while (0)
#endif

static void test_locked_down(void)
{
	SKIP_UNDER_ASAN();
	IN_NETNS(body_locked_down);
}

static void test_locked_down_dac(void)
{
	SKIP_UNDER_ASAN();
	IN_NETNS(body_locked_down_dac);
}

CUTEST_MAIN("netd-plumb",
	    CUTEST(test_tap_lifecycle),
	    CUTEST(test_tap_refusals),
	    CUTEST(test_tap_multiqueue),
	    CUTEST(test_tap_bridge_frames),
	    CUTEST(test_macvtap_frames),
	    CUTEST(test_macvtap_mknod),
	    CUTEST(test_remove_exactly_owned),
	    CUTEST(test_sweep_after_crash),
	    CUTEST(test_adopt_after_restart),
	    CUTEST(test_locked_down),
	    CUTEST(test_locked_down_dac));

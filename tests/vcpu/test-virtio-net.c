/* The runner's virtio-net function against scripted vhost-user-net
 * back-ends on a socketpair (replies queued before each call): one that
 * cannot answer GET_CONFIG gets its config (MAC, link up, queue pairs)
 * and VIRTIO_NET_F_MAC/STATUS from the runner, and those bits are not
 * passed on to it; one with VHOST_USER_PROTOCOL_F_CONFIG is asked. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_net.h>

#include "cutest.h"
#include "virtio-net.h"
#include "vu-script.h"

static int peer;

static int no_route(struct accel_vm *vm, unsigned gsi, uint64_t addr, uint32_t data)
{
	return 0;
}

static int no_irqfd_add(struct accel_vm *vm, unsigned gsi, int fd, int rfd)
{
	return 0;
}

static int no_irqfd_del(struct accel_vm *vm, unsigned gsi, int fd)
{
	return 0;
}

static int no_doorbell(struct accel_vm *vm, uint64_t addr, unsigned len,
		       uint64_t data, unsigned flags, int fd)
{
	return 0;
}

static const struct accel_ops fake_ops = {
	.name = "fake",
	.msi_route = no_route,
	.irqfd_add = no_irqfd_add,
	.irqfd_del = no_irqfd_del,
	.doorbell_add = no_doorbell,
	.doorbell_del = no_doorbell,
};

static struct machine m;
static struct pci_host host;
static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0x05 };

#define SLOT 24
#define F_PROTOCOL (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)
#define F_VERSION_1 (1ULL << 32)

/* A NIC on a back-end offering features and protocol features pf with
 * queues queues; returns BAR0's address. */
static uint64_t make_nic(struct virtio_pci **vp, uint64_t features, uint64_t pf,
			 uint64_t queues)
{
	int sv[2];

	memset(&m, 0, sizeof(m));
	m.ops = &fake_ops;
	pthread_mutex_init(&m.io_lock, NULL);
	CU_ASSERT_EQUAL_FATAL(pci_host_init(&host, &m.pio, &m.mmio), 0);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	peer = sv[1];
	vu_script_reply_u64(peer, VHOST_USER_GET_FEATURES, features);
	vu_script_reply_u64(peer, VHOST_USER_GET_PROTOCOL_FEATURES, pf);
	vu_script_reply_u64(peer, VHOST_USER_GET_QUEUE_NUM, queues);
	if (pf & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK))
		vu_script_reply_u64(peer, VHOST_USER_SET_OWNER, 0);
	CU_ASSERT_EQUAL_FATAL(virtio_net_create(&host, &m, -1, SLOT, 5, mac, 1400, sv[0],
						1000, vp), 0);
	return pci_config_read(&host, SLOT << 3, 0x10, 4) & ~0xfULL;
}

static void done(struct virtio_pci *vp)
{
	pci_host_fini(&host);		/* unplug first (virtio-pci.h) */
	virtio_pci_destroy(vp);
	close(peer);
}

static uint64_t bar_read(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	CU_ASSERT_EQUAL(iobus_read(&m.mmio, addr, size, &v), 1);
	return v;
}

static void test_local_config(void)
{
	uint64_t pf = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
		      (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	struct virtio_pci *vp;
	uint64_t bar = make_nic(&vp, F_PROTOCOL | F_VERSION_1, pf, 5), feats;

	CU_ASSERT_EQUAL(pci_config_read(&host, SLOT << 3, 0, 4), 0x10411af4u);
	feats = virtio_pci_device_features(vp);
	CU_ASSERT((feats & (1ULL << VIRTIO_NET_F_MAC)) != 0);
	CU_ASSERT((feats & (1ULL << VIRTIO_NET_F_STATUS)) != 0);
	CU_ASSERT((feats & F_VERSION_1) != 0);
	CU_ASSERT((feats & F_PROTOCOL) == 0);		/* a vhost-user bit */
	for (unsigned i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(bar_read(bar + 0x2000 + i, 1), mac[i]);
	CU_ASSERT_EQUAL(bar_read(bar + 0x2006, 2), VIRTIO_NET_S_LINK_UP);
	CU_ASSERT_EQUAL(bar_read(bar + 0x2008, 2), 2);	/* 5 queues: 2 pairs */
	CU_ASSERT_EQUAL(bar_read(bar + 0x200a, 2), 1400);	/* the manifest's MTU */
	CU_ASSERT((feats & (1ULL << VIRTIO_NET_F_MTU)) != 0);
	CU_ASSERT_EQUAL(bar_read(bar + 0x0012, 2), 5);	/* num_queues */
	done(vp);
}

static void test_backend_config(void)
{
	uint64_t pf = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
		      (1ULL << VHOST_USER_PROTOCOL_F_CONFIG);
	uint8_t theirs[12 + 6] = { 0 };
	struct vu_header h;
	struct virtio_pci *vp;
	uint64_t bar = make_nic(&vp, F_PROTOCOL | F_VERSION_1 | (1ULL << VIRTIO_NET_F_MAC),
				pf, 3);

	CU_ASSERT((virtio_pci_device_features(vp) & (1ULL << VIRTIO_NET_F_STATUS)) == 0);
	/* The MAC comes from the back-end: one GET_CONFIG per read. */
	memcpy(theirs, (uint32_t[]){ 0, 1, 0 }, 12);
	theirs[12] = 0x02;
	vu_script_reply(peer, VHOST_USER_GET_CONFIG, theirs, 12 + 1);
	CU_ASSERT_EQUAL(bar_read(bar + 0x2000, 1), 0x02);
	/* After the negotiation's requests, the GET_CONFIG of 1 byte at 0. */
	do {
		CU_ASSERT_EQUAL_FATAL(read(peer, &h, sizeof(h)), (ssize_t)sizeof(h));
		CU_ASSERT_FATAL(h.size <= sizeof(theirs));
		CU_ASSERT_EQUAL_FATAL(read(peer, theirs, h.size), (ssize_t)h.size);
	} while (h.request != VHOST_USER_GET_CONFIG);
	CU_ASSERT_EQUAL(h.size, 12 + 1);
	done(vp);
}

CUTEST_MAIN("vcpu-virtio-net",
	CUTEST(test_local_config),
	CUTEST(test_backend_config));

/* The runner's vhost-user front-end against a scripted back-end on a
 * socketpair: the replies are queued before each call (a stream socket
 * keeps them in order), what the front-end sent is read back afterwards.
 * A back-end that answers the wrong request, too much, too little or not
 * at all is refused, never obeyed. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cutest.h"
#include "vhost_user.h"
#include "vhost-user-frontend.h"
#include "vu-script.h"

static int peer;

static void reply(uint32_t req, const void *payload, uint32_t size)
{
	vu_script_reply(peer, req, payload, size);
}

static void reply_u64(uint32_t req, uint64_t v)
{
	vu_script_reply_u64(peer, req, v);
}

/* Read the next message the front-end sent; its payload into buf. */
static uint32_t next_request(void *buf, uint32_t *size, uint32_t *flags)
{
	struct vu_header h;

	if (read(peer, &h, sizeof(h)) != sizeof(h))
		return 0;
	if (h.size && read(peer, buf, h.size) != (ssize_t)h.size)
		return 0;
	if (size)
		*size = h.size;
	if (flags)
		*flags = h.flags;
	return h.request;
}

static int fe_sock;

/* A fresh connection: fe_sock for the front-end, peer for the script. */
static void fresh(void)
{
	int sv[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fe_sock = sv[0];
	peer = sv[1];
}

#define FEATURES ((1ULL << 32) | (1ULL << 30) | (1ULL << 9))
#define ALL_PF ((1ULL << VHOST_USER_PROTOCOL_F_MQ) | (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
		(1ULL << VHOST_USER_PROTOCOL_F_CONFIG) | (1ULL << VHOST_USER_PROTOCOL_F_STATUS))

static void queue_negotiation(uint64_t queues)
{
	reply_u64(VHOST_USER_GET_FEATURES, FEATURES);
	reply_u64(VHOST_USER_GET_PROTOCOL_FEATURES, ALL_PF);
	reply_u64(VHOST_USER_GET_QUEUE_NUM, queues);
	reply_u64(VHOST_USER_SET_OWNER, 0);		/* REPLY_ACK */
}

static void test_negotiation(void)
{
	struct vhost_user_frontend f;
	uint8_t buf[512];
	uint32_t size, flags;
	uint64_t pf;

	fresh();
	queue_negotiation(2);
	CU_ASSERT_EQUAL(vhost_user_frontend_init(&f, "t", fe_sock, 1000), 0);
	CU_ASSERT_EQUAL(f.features, FEATURES);
	CU_ASSERT_EQUAL(f.num_queues, 2);
	/* STATUS is not ours to take. */
	CU_ASSERT_EQUAL(f.protocol_features, ALL_PF & ~(1ULL << VHOST_USER_PROTOCOL_F_STATUS));
	CU_ASSERT_EQUAL(next_request(buf, NULL, NULL), VHOST_USER_GET_FEATURES);
	CU_ASSERT_EQUAL(next_request(buf, NULL, NULL), VHOST_USER_GET_PROTOCOL_FEATURES);
	CU_ASSERT_EQUAL(next_request(buf, &size, NULL), VHOST_USER_SET_PROTOCOL_FEATURES);
	memcpy(&pf, buf, 8);
	CU_ASSERT_EQUAL(pf, f.protocol_features);
	CU_ASSERT_EQUAL(next_request(buf, NULL, NULL), VHOST_USER_GET_QUEUE_NUM);
	CU_ASSERT_EQUAL(next_request(buf, NULL, &flags), VHOST_USER_SET_OWNER);
	CU_ASSERT(flags & VHOST_USER_FLAG_NEED_REPLY);
	vhost_user_frontend_fini(&f);
	close(peer);
}

static void test_queue_count_clamped(void)
{
	struct vhost_user_frontend f;

	fresh();
	queue_negotiation(1000);
	CU_ASSERT_EQUAL(vhost_user_frontend_init(&f, "t", fe_sock, 1000), 0);
	CU_ASSERT_EQUAL(f.num_queues, VHOST_USER_FRONTEND_MAX_QUEUES);
	vhost_user_frontend_fini(&f);
	close(peer);
	fresh();
	queue_negotiation(0);
	CU_ASSERT_EQUAL(vhost_user_frontend_init(&f, "t", fe_sock, 1000), -EPROTO);
	vhost_user_frontend_fini(&f);
	close(peer);
}

static void test_hostile_replies(void)
{
	struct vhost_user_frontend f;
	uint8_t big[64] = { 0 };

	/* the answer to another request */
	fresh();
	reply_u64(VHOST_USER_GET_PROTOCOL_FEATURES, FEATURES);
	CU_ASSERT_EQUAL(vhost_user_frontend_init(&f, "t", fe_sock, 1000), -EPROTO);
	vhost_user_frontend_fini(&f);
	close(peer);
	/* more than the request's reply can hold */
	fresh();
	reply(VHOST_USER_GET_FEATURES, big, sizeof(big));
	CU_ASSERT_EQUAL(vhost_user_frontend_init(&f, "t", fe_sock, 1000), -EPROTO);
	vhost_user_frontend_fini(&f);
	close(peer);
	/* too little */
	fresh();
	reply(VHOST_USER_GET_FEATURES, big, 4);
	CU_ASSERT_EQUAL(vhost_user_frontend_init(&f, "t", fe_sock, 1000), -EPROTO);
	vhost_user_frontend_fini(&f);
	close(peer);
	/* silence */
	fresh();
	CU_ASSERT_EQUAL(vhost_user_frontend_init(&f, "t", fe_sock, 100), -ETIMEDOUT);
	vhost_user_frontend_fini(&f);
	close(peer);
	/* gone */
	{
		fresh();
		close(peer);
		CU_ASSERT(vhost_user_frontend_init(&f, "t", fe_sock, 1000) < 0);
		vhost_user_frontend_fini(&f);
	}
	/* a refused SET_OWNER */
	fresh();
	reply_u64(VHOST_USER_GET_FEATURES, FEATURES);
	reply_u64(VHOST_USER_GET_PROTOCOL_FEATURES, ALL_PF);
	reply_u64(VHOST_USER_GET_QUEUE_NUM, 1);
	reply_u64(VHOST_USER_SET_OWNER, 1);
	CU_ASSERT_EQUAL(vhost_user_frontend_init(&f, "t", fe_sock, 1000), -EREMOTEIO);
	vhost_user_frontend_fini(&f);
	close(peer);
}

static void test_config(void)
{
	struct vhost_user_frontend f;
	struct vu_config c = { .offset = 0, .size = 8 };
	uint64_t cap = 0, v = 0;

	fresh();
	queue_negotiation(1);
	CU_ASSERT_EQUAL(vhost_user_frontend_init(&f, "t", fe_sock, 1000), 0);
	cap = 2048;
	memcpy(c.region, &cap, 8);
	reply(VHOST_USER_GET_CONFIG, &c, 12 + 8);
	CU_ASSERT_EQUAL(vhost_user_frontend_get_config(&f, 0, &v, 8), 0);
	CU_ASSERT_EQUAL(v, 2048);
	/* a shorter answer than asked for */
	c.size = 4;
	reply(VHOST_USER_GET_CONFIG, &c, 12 + 4);
	CU_ASSERT_EQUAL(vhost_user_frontend_get_config(&f, 0, &v, 8), -EIO);
	CU_ASSERT_EQUAL(vhost_user_frontend_get_config(&f, VU_MAX_CONFIG - 2, &v, 4), -EINVAL);
	vhost_user_frontend_fini(&f);
	close(peer);
}

/* Start: SET_FEATURES, the memory table with our mapping's address, the
 * ring's addresses translated to ours; a ring outside RAM is refused. */
static void test_start(void)
{
	struct vhost_user_frontend f;
	struct guest_mem mem = { .nr = 1, .ram_size = 1 << 20 };
	struct vhost_user_ring ring = { .size = 16, .desc = 0x1000, .avail = 0x2000,
					.used = 0x3000, .kick_fd = 0, .call_fd = 0 };
	union { uint8_t b[512]; struct vu_mem_table t; struct vu_vring_addr a; } buf;
	int memfd = memfd_create("ram", MFD_CLOEXEC);
	uint32_t req;

	CU_ASSERT_EQUAL_FATAL(ftruncate(memfd, 1 << 20), 0);
	mem.region[0].gpa = 0;
	mem.region[0].size = 1 << 20;
	mem.region[0].hva = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	fresh();
	queue_negotiation(1);
	CU_ASSERT_EQUAL(vhost_user_frontend_init(&f, "t", fe_sock, 1000), 0);
	while (next_request(buf.b, NULL, NULL) != VHOST_USER_SET_OWNER)
		;
	for (int i = 0; i < 8; i++)	/* every request is acknowledged */
		reply_u64(i == 0 ? VHOST_USER_SET_FEATURES : i == 1 ? VHOST_USER_SET_MEM_TABLE :
			  i == 2 ? VHOST_USER_SET_VRING_NUM : i == 3 ? VHOST_USER_SET_VRING_BASE :
			  i == 4 ? VHOST_USER_SET_VRING_ADDR : i == 5 ? VHOST_USER_SET_VRING_CALL :
			  i == 6 ? VHOST_USER_SET_VRING_KICK : VHOST_USER_SET_VRING_ENABLE, 0);
	CU_ASSERT_EQUAL(vhost_user_frontend_start(&f, 1ULL << 32, &mem, memfd, &ring, 1, 256), 0);
	CU_ASSERT_EQUAL(next_request(buf.b, NULL, NULL), VHOST_USER_SET_FEATURES);
	CU_ASSERT_EQUAL(next_request(buf.b, NULL, NULL), VHOST_USER_SET_MEM_TABLE);
	CU_ASSERT_EQUAL(buf.t.nregions, 1);
	CU_ASSERT_EQUAL(buf.t.regions[0].userspace_addr, (uint64_t)(uintptr_t)mem.region[0].hva);
	CU_ASSERT_EQUAL(next_request(buf.b, NULL, NULL), VHOST_USER_SET_VRING_NUM);
	CU_ASSERT_EQUAL(next_request(buf.b, NULL, NULL), VHOST_USER_SET_VRING_BASE);
	CU_ASSERT_EQUAL(next_request(buf.b, NULL, NULL), VHOST_USER_SET_VRING_ADDR);
	CU_ASSERT_EQUAL(buf.a.used_user_addr, (uint64_t)(uintptr_t)mem.region[0].hva + 0x3000);
	req = next_request(buf.b, NULL, NULL);
	CU_ASSERT_EQUAL(req, VHOST_USER_SET_VRING_CALL);
	CU_ASSERT(f.started[0]);
	/* a ring that leaves guest RAM */
	ring.used = (1 << 20) - 8;
	f.started[0] = false;
	reply_u64(VHOST_USER_SET_FEATURES, 0);
	reply_u64(VHOST_USER_SET_MEM_TABLE, 0);
	CU_ASSERT_EQUAL(vhost_user_frontend_start(&f, 1ULL << 32, &mem, memfd, &ring, 1, 256), -EFAULT);
	CU_ASSERT(!f.started[0]);
	vhost_user_frontend_fini(&f);
	close(peer);
	munmap(mem.region[0].hva, 1 << 20);
	close(memfd);
}

CUTEST_MAIN("vcpu-vhost-user-frontend",
	CUTEST(test_negotiation),
	CUTEST(test_queue_count_clamped),
	CUTEST(test_hostile_replies),
	CUTEST(test_config),
	CUTEST(test_start));

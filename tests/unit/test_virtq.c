/* Unit tests for ipc/virtq.c and ipc/gmem.c: well-formed requests on
 * split and packed rings, and every kind of malformed chain. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/lib/cutest.h"
#include "tests/lib/vqdriver.h"
#include "log.h"
#include "virtq.h"

#define MEM_GPA  0x100000ULL
#define MEM_SIZE (1 << 20)
#define MEM_UVA  0x7f0000000000ULL
#define QSIZE    16
#define FEATURES ((1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX))

static uint8_t *mem;
static struct gmem gm;
static struct vqdrv drv;
static struct virtq vq;
static struct vq_elem elem;

/* Rings at the start of guest memory, data from MEM_GPA + 64K. */
static void setup(bool packed, uint64_t features)
{
	if (mem == NULL)
		mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(mem, 0, MEM_SIZE);
	memset(&gm, 0, sizeof(gm));
	CU_ASSERT_FATAL(gmem_add_host(&gm, mem, MEM_GPA, MEM_SIZE, MEM_UVA) == 0);
	vqdrv_init(&drv, packed, QSIZE, mem, MEM_GPA);
	if (packed) {
		CU_ASSERT_FATAL(vq_init_packed(&vq, &gm, QSIZE, drv.desc, drv.avail,
					       drv.used, features) == 0);
	} else {
		CU_ASSERT_FATAL(vq_init_split(&vq, &gm, QSIZE, drv.desc, drv.avail,
					      drv.used, features) == 0);
	}
}

static uint64_t data(unsigned off)
{
	return MEM_GPA + 65536 + off;
}

static void roundtrip(bool packed, bool indirect)
{
	struct vqdrv_buf bufs[3] = {
		{ data(0), 16, false }, { data(4096), 512, true }, { data(8192), 1, true },
	};
	uint16_t id;
	uint32_t len;

	setup(packed, FEATURES);
	memcpy(mem + 65536, "request-header!", 16);
	CU_ASSERT(vqdrv_add(&drv, bufs, 3, 5, indirect ? mem + 32768 : NULL,
			    MEM_GPA + 32768) >= 0);
	CU_ASSERT_EQUAL_FATAL(vq_pop(&vq, &elem), 1);
	CU_ASSERT_EQUAL(elem.nout, 1);
	CU_ASSERT_EQUAL(elem.nin, 2);
	CU_ASSERT_EQUAL(elem.out_len, 16);
	CU_ASSERT_EQUAL(elem.in_len, 513);
	CU_ASSERT(elem.iov[0].iov_base == mem + 65536);
	CU_ASSERT(memcmp(elem.iov[0].iov_base, "request-header!", 16) == 0);
	CU_ASSERT(elem.iov[1].iov_base == mem + 65536 + 4096);
	memset(elem.iov[1].iov_base, 0xab, 512);
	CU_ASSERT_EQUAL(vq_pop(&vq, &elem), 0);           /* nothing more */
	vq_push(&vq, &elem, 513);
	CU_ASSERT(vq_should_notify(&vq));
	CU_ASSERT_EQUAL_FATAL(vqdrv_get_used(&drv, &id, &len), 1);
	CU_ASSERT_EQUAL(len, 513);
	if (packed) {
		CU_ASSERT_EQUAL(id, 5);
	}
	CU_ASSERT_EQUAL(mem[65536 + 4096 + 100], 0xab);
	CU_ASSERT_FALSE(vq.broken);
}

static void test_split_roundtrip(void) { roundtrip(false, false); }
static void test_packed_roundtrip(void) { roundtrip(true, false); }
static void test_split_indirect(void) { roundtrip(false, true); }
static void test_packed_indirect(void) { roundtrip(true, true); }

/* Many requests wrap both rings several times. */
static void wrap_around(bool packed)
{
	unsigned popped = 0, used = 0;

	setup(packed, FEATURES);
	for (unsigned round = 0; round < 10 * QSIZE; round++) {
		struct vqdrv_buf b[2] = { { data(0), 8, false }, { data(64), 8, true } };
		uint16_t id;
		uint32_t len;

		CU_ASSERT_FATAL(vqdrv_add(&drv, b, 2, round % QSIZE, NULL, 0) >= 0);
		CU_ASSERT_EQUAL_FATAL(vq_pop(&vq, &elem), 1);
		popped++;
		vq_push(&vq, &elem, 8);
		while (vqdrv_get_used(&drv, &id, &len) == 1)
			used++;
	}
	CU_ASSERT_EQUAL(popped, 10 * QSIZE);
	CU_ASSERT_EQUAL(used, 10 * QSIZE);
	CU_ASSERT_FALSE(vq.broken);
}

static void test_split_wraps(void) { wrap_around(false); }
static void test_packed_wraps(void) { wrap_around(true); }

static void test_buffer_across_regions(void)
{
	uint8_t *second = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vqdrv_buf b = { MEM_GPA + MEM_SIZE - 100, 300, true };

	setup(false, FEATURES);
	CU_ASSERT_FATAL(gmem_add_host(&gm, second, MEM_GPA + MEM_SIZE, 65536,
					   MEM_UVA + MEM_SIZE) == 0);
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(vq_pop(&vq, &elem), 1);
	CU_ASSERT_EQUAL(elem.nin, 2);
	CU_ASSERT_EQUAL(elem.iov[0].iov_len, 100);
	CU_ASSERT(elem.iov[1].iov_base == second);
	CU_ASSERT_EQUAL(elem.iov[1].iov_len, 200);
	munmap(second, 65536);
}

static void test_guest_mem_rules(void)
{
	struct gmem m = { .n = 0 };
	uint8_t buf[64];

	CU_ASSERT(gmem_add_host(&m, buf, 0x1000, 64, 0) == 0);
	CU_ASSERT(gmem_add_host(&m, buf, 0x1020, 64, 0) == -EINVAL);   /* overlap */
	CU_ASSERT(gmem_add_host(&m, buf, ~0ULL - 10, 64, 0) == -EINVAL); /* wraps */
	CU_ASSERT(gmem_add_host(&m, buf, 0x9000, 0, 0) == -EINVAL);
	CU_ASSERT(gmem_gpa(&m, 0x1000, 64) == buf);
	CU_ASSERT(gmem_gpa(&m, 0x1001, 64) == NULL);
	CU_ASSERT(gmem_gpa(&m, 0xfff, 2) == NULL);
	CU_ASSERT(gmem_gpa(&m, ~0ULL, 2) == NULL);
	CU_ASSERT(gmem_uva(&m, 10, 54) == buf + 10);
	CU_ASSERT(gmem_uva(&m, 10, 55) == NULL);
}

/* Expect the next pop to break the queue with a reason containing what. */
static void expect_broken(const char *what)
{
	CU_ASSERT_EQUAL(vq_pop(&vq, &elem), -EIO);
	CU_ASSERT(vq.broken);
	if (strstr(vq.why, what) == NULL)
		printf("  reason \"%s\", wanted \"%s\"\n", vq.why, what);
	CU_ASSERT(strstr(vq.why, what) != NULL);
	CU_ASSERT_EQUAL(vq_pop(&vq, &elem), -EIO);   /* stays broken */
}

static void test_split_malformed(void)
{
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vqdrv_buf b = { data(0), 8, false };
	struct vqdrv_buf w = { data(64), 8, true };

	setup(false, FEATURES);
	desc = drv.desc;
	avail = drv.avail;
	avail->ring[0] = QSIZE + 3;
	avail->idx = 1;
	expect_broken("head 19 beyond ring");

	setup(false, FEATURES);
	avail = drv.avail;
	avail->idx = QSIZE + 1;
	expect_broken("avail index moved by 17");

	setup(false, FEATURES);
	b.gpa = MEM_GPA + MEM_SIZE - 4;        /* runs off the end */
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	expect_broken("outside guest memory");

	setup(false, FEATURES);
	b.gpa = 0x10;                          /* below guest memory */
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	expect_broken("outside guest memory");

	setup(false, FEATURES);
	b.gpa = data(0);
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	desc = drv.desc;
	desc[0].flags = VRING_DESC_F_NEXT;
	desc[0].next = 0;                      /* loops onto itself */
	expect_broken("loops");

	setup(false, FEATURES);
	desc = drv.desc;
	vqdrv_add(&drv, (struct vqdrv_buf[]){ w, b }, 2, 0, NULL, 0);
	expect_broken("readable buffer after a writable");

	setup(false, FEATURES);
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	desc = drv.desc;
	desc[0].flags = VRING_DESC_F_NEXT;
	desc[0].next = 200;
	expect_broken("next 200 beyond ring");

	setup(false, 0);                       /* no indirect feature */
	vqdrv_add(&drv, &b, 1, 0, mem + 32768, MEM_GPA + 32768);
	expect_broken("indirect descriptor without the feature");

	setup(false, FEATURES);
	vqdrv_add(&drv, &b, 1, 0, mem + 32768, MEM_GPA + 32768);
	desc = drv.desc;
	desc[0].len = 24;
	expect_broken("indirect table of 24 bytes");

	setup(false, FEATURES);
	vqdrv_add(&drv, &b, 1, 0, mem + 32768, MEM_GPA + 32768);
	((struct vring_desc *)(mem + 32768))->flags = VRING_DESC_F_INDIRECT;
	expect_broken("nested indirect");

	setup(false, FEATURES);
	vqdrv_add(&drv, (struct vqdrv_buf[]){ b, b }, 2, 0, mem + 32768, MEM_GPA + 32768);
	((struct vring_desc *)(mem + 32768))[1].flags = VRING_DESC_F_NEXT;
	((struct vring_desc *)(mem + 32768))[1].next = 0;
	expect_broken("indirect chain loops");

	setup(false, FEATURES);
	vqdrv_add(&drv, &b, 1, 0, mem + 32768, MEM_GPA + MEM_SIZE - 8);
	expect_broken("indirect table at");
}

static void test_packed_malformed(void)
{
	struct vring_packed_desc *desc;
	struct vqdrv_buf b = { data(0), 8, false };

	setup(true, FEATURES);
	desc = drv.desc;
	/* Every slot available and chained: a chain as long as the ring. */
	for (unsigned i = 0; i < QSIZE; i++) {
		desc[i].addr = data(0);
		desc[i].len = 8;
		desc[i].flags = VRING_PACKED_DESC_F_AVAIL | VRING_DESC_F_NEXT;
	}
	expect_broken("longer than the ring");

	setup(true, FEATURES);
	b.gpa = MEM_GPA + MEM_SIZE;
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	expect_broken("outside guest memory");

	setup(true, FEATURES);
	b.gpa = data(0);
	vqdrv_add(&drv, (struct vqdrv_buf[]){ b, b }, 2, 0, NULL, 0);
	desc = drv.desc;
	desc[0].flags |= VRING_DESC_F_INDIRECT;
	expect_broken("indirect descriptor inside a chain");
}

static void test_base_and_notify(void)
{
	struct vqdrv_buf b = { data(0), 8, true };
	uint16_t *used_event;

	setup(false, FEATURES);
	vq_set_base(&vq, 0);
	CU_ASSERT_EQUAL(vq_get_base(&vq), 0);
	used_event = &((struct vring_avail *)drv.avail)->ring[QSIZE];
	*used_event = 1;                      /* interrupt me after the 2nd used */
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	CU_ASSERT_EQUAL(vq_pop(&vq, &elem), 1);
	vq_push(&vq, &elem, 8);
	CU_ASSERT(vq_should_notify(&vq));     /* first signal is always sent */
	CU_ASSERT_EQUAL(vq_pop(&vq, &elem), 1);
	vq_push(&vq, &elem, 8);
	CU_ASSERT(vq_should_notify(&vq));     /* crossed used_event 1 */
	*used_event = 10;
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	CU_ASSERT_EQUAL(vq_pop(&vq, &elem), 1);
	vq_push(&vq, &elem, 8);
	CU_ASSERT_FALSE(vq_should_notify(&vq));
	CU_ASSERT_EQUAL(vq_get_base(&vq), 3);

	setup(true, FEATURES);
	vq_set_base(&vq, 5 | 0x8000);
	CU_ASSERT_EQUAL(vq_get_base(&vq), (5 | 0x8000));
	vq_set_base(&vq, 7);
	CU_ASSERT_EQUAL(vq_get_base(&vq), 7);
}

static void test_inflight_tracking(void)
{
	static uint8_t region[8192] __attribute__((aligned(64)));
	struct vq_inflight_split *r = (struct vq_inflight_split *)region;
	struct vqdrv_buf b = { data(0), 8, true };
	uint16_t id;
	uint32_t len;

	CU_ASSERT(vq_inflight_region_size(QSIZE) <= sizeof(region));
	setup(false, FEATURES);
	memset(region, 0, sizeof(region));
	CU_ASSERT_EQUAL(vq_inflight_attach(&vq, r), 0);      /* fresh: initialised */
	CU_ASSERT_EQUAL(r->version, 1);
	CU_ASSERT_EQUAL(r->desc_num, QSIZE);
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	vqdrv_add(&drv, &b, 1, 0, NULL, 0);
	CU_ASSERT_EQUAL(vq_pop(&vq, &elem), 1);
	CU_ASSERT_EQUAL(r->desc[elem.id].inflight, 1);
	vq_push(&vq, &elem, 8);
	CU_ASSERT_EQUAL(r->desc[elem.id].inflight, 0);
	CU_ASSERT_EQUAL(r->used_idx, 1);
	CU_ASSERT_EQUAL(vq_pop(&vq, &elem), 1);              /* popped, never pushed */
	CU_ASSERT_EQUAL(vqdrv_get_used(&drv, &id, &len), 1);

	/* A new back-end on the same rings, resumed at the used index. */
	vq_inflight_detach(&vq);
	vq_init_split(&vq, &gm, QSIZE, drv.desc, drv.avail, drv.used, FEATURES);
	vq_set_base(&vq, 1);
	region[sizeof(*r) + 16 * 5] = 7;                      /* garbage state: cleared */
	CU_ASSERT_EQUAL(vq_inflight_attach(&vq, r), 0);
	CU_ASSERT_EQUAL(vq.nresubmit, 1);
	CU_ASSERT_EQUAL(r->desc[5].inflight, 0);
	CU_ASSERT_EQUAL(vq_pop(&vq, &elem), 1);              /* the resubmitted one */
	CU_ASSERT_EQUAL(vq_pop(&vq, &elem), 0);              /* and not again */
	vq_inflight_detach(&vq);

	r->desc_num = 8;                                      /* wrong ring size */
	CU_ASSERT_EQUAL(vq_inflight_attach(&vq, r), -EINVAL);
}

/* Random ring contents: pops never crash and never hand out a buffer
 * outside guest memory. */
static void test_random_rings(void)
{
	unsigned broken = 0, elems = 0;

	log_quiet(true);             /* thousands of broken rings on purpose */
	srandom(4242);
	for (int round = 0; round < 4000; round++) {
		bool packed = round & 1;

		setup(packed, FEATURES);
		for (size_t i = 0; i < vqdrv_ring_bytes(QSIZE, packed) + 256; i++)
			mem[i] = random();
		/* Aim some addresses into guest memory so chains get walked. */
		for (unsigned i = 0; i < QSIZE; i++) {
			uint64_t *addr = (uint64_t *)((uint8_t *)drv.desc + 16 * i);

			if (random() % 2)
				*addr = MEM_GPA + random() % (MEM_SIZE + 4096);
			if (random() % 2)
				*(uint32_t *)(addr + 1) %= 8192;
		}
		for (int k = 0; k < 40; k++) {
			int rc = vq_pop(&vq, &elem);

			if (rc < 0) {
				broken++;
				break;
			}
			if (rc == 0)
				break;
			elems++;
			for (unsigned i = 0; i < elem.nout + elem.nin; i++) {
				uint8_t *p = elem.iov[i].iov_base;

				CU_ASSERT(p >= mem && p + elem.iov[i].iov_len <= mem + MEM_SIZE);
			}
			vq_push(&vq, &elem, random() % 10000);
		}
	}
	log_quiet(false);
	printf("  %u elements popped, %u rings broken\n", elems, broken);
}

CUTEST_MAIN("virtq",
	CUTEST(test_split_roundtrip),
	CUTEST(test_packed_roundtrip),
	CUTEST(test_split_indirect),
	CUTEST(test_packed_indirect),
	CUTEST(test_split_wraps),
	CUTEST(test_packed_wraps),
	CUTEST(test_buffer_across_regions),
	CUTEST(test_guest_mem_rules),
	CUTEST(test_split_malformed),
	CUTEST(test_packed_malformed),
	CUTEST(test_base_and_notify),
	CUTEST(test_inflight_tracking),
	CUTEST(test_random_rings))

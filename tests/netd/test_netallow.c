/* The manifest allow-list netd checks every request against. */
#include <errno.h>
#include <string.h>

#include "netd/allow.h"
#include "log.h"
#include "tests/lib/cutest.h"

/* The example from issue 5: a TAP on a bridge and a macvtap. */
static void manifest(struct net_allow *a)
{
	net_allow_init(a);
	CU_ASSERT_EQUAL(net_allow_add(a, 0, "tap", "tap0", "br0", NULL), 0);
	CU_ASSERT_EQUAL(net_allow_add(a, 1, "macvtap", NULL, NULL, "eth0"), 0);
	CU_ASSERT_EQUAL(net_allow_add(a, 2, "user", NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(a->n, 2);
}

static void test_allows_listed(void)
{
	struct net_allow a;
	char why[128] = "";

	manifest(&a);
	CU_ASSERT_EQUAL(net_allow_check(&a, &(struct net_request){
		.index = 0, .mode = NET_ALLOW_TAP, .ifname = "tap0", .bridge = "br0" },
		why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(net_allow_check(&a, &(struct net_request){
		.index = 1, .mode = NET_ALLOW_MACVTAP, .parent = "eth0" },
		why, sizeof(why)), 0);
	/* The manifest named no macvtap: netd's own choice is fine. */
	CU_ASSERT_EQUAL(net_allow_check(&a, &(struct net_request){
		.index = 1, .mode = NET_ALLOW_MACVTAP, .parent = "eth0",
		.ifname = "micavt0" }, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(why, "");
}

/* Each refusal: -EPERM and a reason naming what was wrong. */
static void expect_refusal(const struct net_allow *a, struct net_request req,
			   const char *reason_part)
{
	char why[160] = "";

	CU_ASSERT_EQUAL(net_allow_check(a, &req, why, sizeof(why)), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, reason_part));
	if (!strstr(why, reason_part))
		printf("  reason \"%s\" lacks \"%s\"\n", why, reason_part);
}

static void test_refuses_unlisted(void)
{
	struct net_allow a;

	manifest(&a);
	expect_refusal(&a, (struct net_request){ .index = 0, .mode = NET_ALLOW_TAP,
		.ifname = "tap1", .bridge = "br0" }, "tap1");
	expect_refusal(&a, (struct net_request){ .index = 0, .mode = NET_ALLOW_TAP,
		.ifname = "tap0", .bridge = "br1" }, "bridge \"br1\"");
	expect_refusal(&a, (struct net_request){ .index = 0, .mode = NET_ALLOW_TAP,
		.ifname = "tap0" }, "bridge");
	expect_refusal(&a, (struct net_request){ .index = 0, .mode = NET_ALLOW_TAP,
		.ifname = "eth0", .bridge = "br0" }, "eth0");
	expect_refusal(&a, (struct net_request){ .index = 0, .mode = NET_ALLOW_MACVTAP,
		.parent = "eth0" }, "not a macvtap");
	expect_refusal(&a, (struct net_request){ .index = 1, .mode = NET_ALLOW_MACVTAP,
		.parent = "eth1" }, "parent \"eth1\"");
	expect_refusal(&a, (struct net_request){ .index = 1, .mode = NET_ALLOW_MACVTAP,
		.parent = "eth0", .bridge = "br0" }, "no bridge");
	expect_refusal(&a, (struct net_request){ .index = 2, .mode = NET_ALLOW_TAP,
		.ifname = "tap0", .bridge = "br0" }, "no tap or macvtap nic 2");
	expect_refusal(&a, (struct net_request){ .index = 7, .mode = NET_ALLOW_TAP,
		.ifname = "tap0" }, "nic 7");
}

static void test_rejects_bad_manifest(void)
{
	struct net_allow a;

	net_allow_init(&a);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "tap", NULL, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "tap", "a/b", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "tap", "averyveryverylongname", NULL, NULL),
			-EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "tap", "t 0", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "tap", "..", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "tap", "tap0", "tap0", NULL), -EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "tap", "tap0", NULL, "eth0"), -EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "bridge", "tap0", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "macvtap", NULL, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "macvtap", NULL, "br0", "eth0"), -EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "vde", "x", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, NULL, "x", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(a.n, 0);

	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "tap", "tap0", "br0", NULL), 0);
	CU_ASSERT_EQUAL(net_allow_add(&a, 0, "tap", "tap9", NULL, NULL), -EEXIST);
	CU_ASSERT_EQUAL(net_allow_add(&a, 1, "tap", "tap0", NULL, NULL), -EEXIST);
	/* One NIC's TAP must not be another's bridge or parent, nor the
	 * reverse. */
	CU_ASSERT_EQUAL(net_allow_add(&a, 1, "tap", "br0", NULL, NULL), -EEXIST);
	CU_ASSERT_EQUAL(net_allow_add(&a, 1, "tap", "tap1", "tap0", NULL), -EEXIST);
	CU_ASSERT_EQUAL(net_allow_add(&a, 1, "macvtap", NULL, NULL, "tap0"), -EEXIST);
	/* Two TAPs on one bridge are fine. */
	CU_ASSERT_EQUAL(net_allow_add(&a, 1, "bridge", "tap1", "br0", NULL), 0);
	CU_ASSERT_EQUAL(a.n, 2);
}

static void test_full(void)
{
	struct net_allow a;
	char name[IFNAMSIZ];

	net_allow_init(&a);
	for (unsigned i = 0; i < NET_ALLOW_MAX; i++) {
		snprintf(name, sizeof(name), "tap%u", i);
		CU_ASSERT_EQUAL(net_allow_add(&a, i, "tap", name, NULL, NULL), 0);
	}
	CU_ASSERT_EQUAL(net_allow_add(&a, 99, "tap", "tap99", NULL, NULL), -E2BIG);
	CU_ASSERT_PTR_NOT_NULL(net_allow_find(&a, NET_ALLOW_MAX - 1));
	CU_ASSERT_PTR_NULL(net_allow_find(&a, 99));
}

CUTEST_MAIN("netd-allow",
	    CUTEST(test_allows_listed),
	    CUTEST(test_refuses_unlisted),
	    CUTEST(test_rejects_bad_manifest),
	    CUTEST(test_full));

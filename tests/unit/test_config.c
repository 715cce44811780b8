/* Unit tests for vmm-core/config.c and manifest.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/cutest.h"
#include "vmm-core/config.h"

static char dir[] = "/tmp/mica-test-config-XXXXXX";

static const char *write_manifest(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as a manifest; return the error line ("" when it loaded). */
static const char *load(const char *text, struct vm_config *cfg)
{
	static char err[CONFIG_ERR_MAX];

	err[0] = '\0';
	config_init(cfg);
	if (manifest_load(write_manifest("m.json", text), cfg, err, sizeof(err)) == 0)
		err[0] = '\0';
	return err;
}

static void expect_error(const char *text, const char *fragment)
{
	struct vm_config cfg;
	const char *err = load(text, &cfg);

	if (strstr(err, fragment) == NULL)
		printf("  manifest %s\n  gave \"%s\", wanted \"%s\"\n", text, err, fragment);
	CU_ASSERT(strstr(err, fragment) != NULL);
	CU_ASSERT(strchr(err, '\n') == NULL);       /* one line */
	config_free(&cfg);
}

static void test_parse_size(void)
{
	uint64_t v;

	CU_ASSERT(parse_size("512M", &v) == 0 && v == 512ULL << 20);
	CU_ASSERT(parse_size("2G", &v) == 0 && v == 2ULL << 30);
	CU_ASSERT(parse_size("2GiB", &v) == 0 && v == 2ULL << 30);
	CU_ASSERT(parse_size("1048576K", &v) == 0 && v == 1ULL << 30);
	CU_ASSERT(parse_size("256", &v) == 0 && v == 256ULL << 20);
	CU_ASSERT(parse_size("12Q", &v) == -EINVAL);
	CU_ASSERT(parse_size("", &v) == -EINVAL);
	CU_ASSERT(parse_size("-1G", &v) == -EINVAL);
	CU_ASSERT(parse_size("0", &v) == -EINVAL);
	CU_ASSERT(parse_size("1023K", &v) == -EINVAL);       /* below 1M */
	CU_ASSERT(parse_size("1025K", &v) == -EINVAL);       /* not 4K aligned */
	CU_ASSERT(parse_size("2T", &v) == -EINVAL);          /* above 1T */
	CU_ASSERT(parse_size("99999999999999999999999G", &v) == -EINVAL);
	CU_ASSERT(parse_size("4M junk", &v) == -EINVAL);
}

static void test_valid_manifest(void)
{
	struct vm_config cfg;
	const char *err = load(
		"{ \"name\": \"web-1\",\n"
		"  \"machine\": { \"cpus\": 2, \"memory\": \"1G\", \"accel\": \"tcg\" },\n"
		"  \"boot\": { \"kernel\": \"vmlinuz\", \"initrd\": \"/abs/initrd\",\n"
		"            \"cmdline\": \"console=ttyS0\" },\n"
		"  \"disks\": [ { \"path\": \"root.qcow2\", \"format\": \"qcow2\" },\n"
		"             { \"path\": \"data.img\", \"readonly\": true } ],\n"
		"  \"nets\": [ { \"mode\": \"user\", \"hostfwd\": [\"tcp::2222-:22\"] },\n"
		"            { \"mode\": \"tap\", \"ifname\": \"tap0\", \"bridge\": \"br0\",\n"
		"              \"mac\": \"52:54:00:12:34:56\" } ],\n"
		"  \"vfio\": [ \"0000:01:00.0\" ],\n"
		"  \"console\": { \"mode\": \"file\", \"path\": \"console.log\" },\n"
		"  \"jail\": { \"uid\": 1234, \"gid\": 1234, \"seccomp\": \"log\" },\n"
		"  \"test_hooks\": false }\n", &cfg);
	char want[300];

	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_STRING_EQUAL(cfg.name, "web-1");
	CU_ASSERT_EQUAL(cfg.cpus, 2);
	CU_ASSERT_EQUAL(cfg.memory, 1ULL << 30);
	CU_ASSERT_STRING_EQUAL(cfg.accel, "tcg");
	snprintf(want, sizeof(want), "%s/vmlinuz", dir);
	CU_ASSERT_STRING_EQUAL(cfg.kernel, want);        /* relative to manifest */
	CU_ASSERT_STRING_EQUAL(cfg.initrd, "/abs/initrd");
	CU_ASSERT_STRING_EQUAL(cfg.cmdline, "console=ttyS0");
	CU_ASSERT_EQUAL(cfg.ndisks, 2);
	CU_ASSERT_STRING_EQUAL(cfg.disks[0].format, "qcow2");
	CU_ASSERT(cfg.disks[1].read_only);
	CU_ASSERT_EQUAL(cfg.nnets, 2);
	CU_ASSERT_EQUAL(cfg.nets[0].nhostfwd, 1);
	CU_ASSERT_STRING_EQUAL(cfg.nets[1].bridge, "br0");
	CU_ASSERT(cfg.nets[1].has_mac && cfg.nets[1].mac[5] == 0x56);
	CU_ASSERT_EQUAL(cfg.nvfio, 1);
	CU_ASSERT_EQUAL(cfg.console, CONSOLE_FILE);
	CU_ASSERT_EQUAL(cfg.jail_uid, 1234);
	CU_ASSERT(cfg.seccomp_log);
	config_free(&cfg);
}

static void test_errors_name_the_path(void)
{
	expect_error("{ \"machin\": {} }", "$: unknown key \"machin\"");
	expect_error("{ \"machine\": { \"cpus\": \"2\" } }",
		     "$.machine.cpus: expected int, got string");
	expect_error("{ \"machine\": { \"cpus\": 0 } }", "$.machine.cpus: 0 out of range");
	expect_error("{ \"machine\": { \"memory\": \"12Q\" } }",
		     "$.machine.memory: invalid size \"12Q\"");
	expect_error("{ \"machine\": { \"memory\": true } }",
		     "$.machine.memory: expected string, got boolean");
	expect_error("{ \"machine\": { \"accel\": \"hvf\" } }",
		     "$.machine.accel: \"hvf\" is not one of");
	expect_error("{ \"disks\": [ { \"path\": \"a\" }, { \"format\": \"raw\" } ] }",
		     "$.disks[1].path: required");
	expect_error("{ \"disks\": [ { \"path\": \"a\", \"format\": \"qed\" } ] }",
		     "$.disks[0].format: unknown format \"qed\"");
	expect_error("{ \"disks\": [ { \"path\": \"a\", \"cache\": \"none\" } ] }",
		     "$.disks[0]: unknown key \"cache\"");
	expect_error("{ \"disks\": {} }", "$.disks: expected array, got object");
	expect_error("{ \"nets\": [ { \"mode\": \"slirp\" } ] }",
		     "$.nets[0].mode: \"slirp\" is not one of");
	expect_error("{ \"nets\": [ { \"mode\": \"user\", \"hostfwd\": [\"tcp::99999-:22\"] } ] }",
		     "$.nets[0].hostfwd[0]: \"tcp::99999-:22\": bad host port");
	expect_error("{ \"nets\": [ { \"mode\": \"tap\", \"mac\": \"01:00:5e:00:00:01\" } ] }",
		     "$.nets[0].mac: \"01:00:5e:00:00:01\" is not a unicast");
	expect_error("{ \"nets\": [ { \"mode\": \"tap\", \"ifname\": \"../etc\" } ] }",
		     "$.nets[0].ifname: \"../etc\" is not a valid interface name");
	expect_error("{ \"vfio\": [ \"01:00.0\" ] }", "$.vfio[0]: \"01:00.0\" is not a PCI");
	expect_error("{ \"name\": \"a/b\" }", "$.name: \"a/b\"");
	expect_error("{ \"console\": { \"mode\": \"file\" } }", "$.console.path: required");
	expect_error("{ \"jail\": { \"uid\": 0 } }", "$.jail.uid: 0 out of range");
	expect_error("{ \"test_hooks\": 1 }", "$.test_hooks: expected boolean, got int");
	expect_error("[]", "$: expected object, got array");
}

static void test_syntax_errors(void)
{
	expect_error("{\n  \"name\": \"x\",\n  \"machine\": { \"cpus\": 1,, }\n}",
		     "line 3: JSON syntax error");
	expect_error("{ \"name\": \"x\" } trailing", "line 1: JSON syntax error");
	expect_error("{ \"a\": 1, }", "JSON syntax error");   /* strict: no trailing comma */
	expect_error("{ \"name\": ", "unexpected end of file");
}

static void test_comments(void)
{
	struct vm_config cfg;
	const char *err = load("// a VM\n{ /* block\n comment */ \"name\": \"ab\",\n"
			       "  \"boot\": { \"cmdline\": \"x /* y */ http://z\" } // end\n}\n", &cfg);

	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_STRING_EQUAL(cfg.name, "ab");
	CU_ASSERT_FATAL(cfg.cmdline != NULL);
	CU_ASSERT_STRING_EQUAL(cfg.cmdline, "x /* y */ http://z");
	config_free(&cfg);
	expect_error("{\n/* one\n two */\n \"x\": 1 }", "$: unknown key \"x\"");
	expect_error("{\n// c\n\n \"a\": ]}", "line 4: JSON syntax error");
}

/* The commented example of every key stays a valid manifest. */
static void test_example_manifests(void)
{
	static const char *const files[] = { "examples/full.json", "examples/demo.json" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct vm_config cfg;
		char err[CONFIG_ERR_MAX] = "";

		config_init(&cfg);
		if (manifest_load(files[i], &cfg, err, sizeof(err)) != 0)
			printf("  %s\n", err);
		CU_ASSERT_STRING_EQUAL(err, "");
		if (i == 0) {
			CU_ASSERT_EQUAL(cfg.ndisks, 2);
			CU_ASSERT_EQUAL(cfg.nnets, 4);
			CU_ASSERT_EQUAL(cfg.nvfio, 1);
			CU_ASSERT_EQUAL(cfg.memory, 1ULL << 30);
		}
		config_free(&cfg);
	}
}

static void test_missing_file(void)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_MAX];

	config_init(&cfg);
	CU_ASSERT(manifest_load("/nonexistent/m.json", &cfg, err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strstr(err, "cannot read manifest: No such file") != NULL);
	config_free(&cfg);
}

static void test_config_check(void)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_MAX];

	config_init(&cfg);
	CU_ASSERT(config_check(&cfg, err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strstr(err, "$.boot.kernel: required") != NULL);
	cfg.kernel = strdup("/nonexistent-kernel");
	CU_ASSERT(config_check(&cfg, err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strstr(err, "$.boot.kernel: cannot read \"/nonexistent-kernel\"") != NULL);
	free(cfg.kernel);
	cfg.kernel = strdup("/proc/self/exe");
	CU_ASSERT(config_check(&cfg, err, sizeof(err)) == 0);
	CU_ASSERT(config_add_net_flag(&cfg, "tap,hostfwd=tcp::1-:2", err, sizeof(err)) == 0);
	CU_ASSERT(config_check(&cfg, err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strstr(err, "$.nets[0].hostfwd: only for mode \"user\"") != NULL);
	config_free(&cfg);
}

static void test_flags(void)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_MAX];

	config_init(&cfg);
	CU_ASSERT(config_add_disk_flag(&cfg, "a.qcow2,format=qcow2,readonly=on", err,
				       sizeof(err)) == 0);
	CU_ASSERT_STRING_EQUAL(cfg.disks[0].path, "a.qcow2");
	CU_ASSERT(cfg.disks[0].read_only);
	CU_ASSERT(config_add_disk_flag(&cfg, "b.img,cache=none", err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "--disk: unknown option \"cache\"") != NULL);
	CU_ASSERT_EQUAL(cfg.ndisks, 1);
	CU_ASSERT(config_add_net_flag(&cfg, "user,hostfwd=tcp::2222-:22", err,
				      sizeof(err)) == 0);
	CU_ASSERT_EQUAL(cfg.nets[0].nhostfwd, 1);
	CU_ASSERT(config_add_net_flag(&cfg, "macvtap,parent=eth0", err, sizeof(err)) == 0);
	CU_ASSERT_STRING_EQUAL(cfg.nets[1].parent, "eth0");
	CU_ASSERT(config_add_net_flag(&cfg, "wifi", err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "--net: mode \"wifi\"") != NULL);
	CU_ASSERT(config_add_net_flag(&cfg, "user,hostfwd=tcp::1-:2,mtu=1", err,
				      sizeof(err)) < 0);
	CU_ASSERT_EQUAL(cfg.nnets, 2);               /* the refused ones are not added */
	config_free(&cfg);
}

static void test_hostfwd_forms(void)
{
	char why[128];

	CU_ASSERT(config_check_hostfwd("tcp::2222-:22", why, sizeof(why)) == 0);
	CU_ASSERT(config_check_hostfwd("udp:127.0.0.1:5353-10.0.2.15:53", why,
				       sizeof(why)) == 0);
	CU_ASSERT(config_check_hostfwd("::8080-:80", why, sizeof(why)) == 0);
	CU_ASSERT(config_check_hostfwd("sctp::1-:2", why, sizeof(why)) < 0);
	CU_ASSERT(config_check_hostfwd("tcp::2222", why, sizeof(why)) < 0);
	CU_ASSERT(config_check_hostfwd("tcp::0-:22", why, sizeof(why)) < 0);
	CU_ASSERT(config_check_hostfwd("tcp::22-:", why, sizeof(why)) < 0);
}

static int setup_dir(void)
{
	return mkdtemp(dir) == NULL;
}

/* NIC queue pairs: tap/macvtap only, 1..CONFIG_MAX_NET_QUEUES. */
static void test_net_queues(void)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_MAX];

	expect_error("{ \"nets\": [ { \"mode\": \"tap\", \"queues\": 9 } ] }",
		     "$.nets[0].queues: 9 out of range 1..3");
	expect_error("{ \"nets\": [ { \"mode\": \"tap\", \"queues\": 0 } ] }",
		     "$.nets[0].queues: 0 out of range 1..3");
	expect_error("{ \"nets\": [ { \"mode\": \"user\" }, { \"mode\": \"tap\", "
		     "\"queues\": \"2\" } ] }", "$.nets[1].queues: expected int, got string");
	expect_error("{ \"nets\": [ { \"mode\": \"tap\", \"queues\": 1.5 } ] }",
		     "$.nets[0].queues: expected int, got double");
	config_init(&cfg);
	cfg.kernel = strdup("/proc/self/exe");
	CU_ASSERT(config_add_net_flag(&cfg, "tap,bridge=br0,queues=2", err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(cfg.nets[0].queues, 2);
	CU_ASSERT(config_check(&cfg, err, sizeof(err)) == 0);
	CU_ASSERT(config_add_net_flag(&cfg, "tap,queues=0", err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "--net: queues=0 is not 1..3") != NULL);
	CU_ASSERT(config_add_net_flag(&cfg, "tap,queues=4", err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "--net: queues=4 is not 1..3") != NULL);
	CU_ASSERT(config_add_net_flag(&cfg, "tap,queues=2x", err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "--net: queues=2x is not 1..3") != NULL);
	CU_ASSERT(config_add_net_flag(&cfg, "user,queues=2", err, sizeof(err)) == 0);
	CU_ASSERT(config_check(&cfg, err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strstr(err, "$.nets[1].queues: one queue pair for mode \"user\"") != NULL);
	config_free(&cfg);
}

/* NIC MTU: 68..65535, at most 1500 for the user-mode NAT. */
static void test_net_mtu(void)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_MAX];

	expect_error("{ \"nets\": [ { \"mode\": \"tap\", \"mtu\": 20 } ] }",
		     "$.nets[0].mtu: 20 out of range 68..65535");
	expect_error("{ \"nets\": [ { \"mode\": \"tap\", \"mtu\": 65536 } ] }",
		     "$.nets[0].mtu: 65536 out of range 68..65535");
	expect_error("{ \"nets\": [ { \"mode\": \"tap\", \"mtu\": -1 } ] }",
		     "$.nets[0].mtu: -1 out of range 68..65535");
	expect_error("{ \"nets\": [ { \"mode\": \"tap\", \"mtu\": \"9000\" } ] }",
		     "$.nets[0].mtu: expected int, got string");
	config_init(&cfg);
	cfg.kernel = strdup("/proc/self/exe");
	CU_ASSERT(config_add_net_flag(&cfg, "tap,mtu=9000", err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(cfg.nets[0].mtu, 9000);
	CU_ASSERT(config_check(&cfg, err, sizeof(err)) == 0);
	CU_ASSERT(config_add_net_flag(&cfg, "tap,mtu=big", err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "--net: mtu=big is not 68..65535") != NULL);
	CU_ASSERT(config_add_net_flag(&cfg, "tap,mtu=65536", err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "--net: mtu=65536 is not 68..65535") != NULL);
	CU_ASSERT(config_add_net_flag(&cfg, "tap,mtu=", err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "--net: mtu= is not 68..65535") != NULL);
	CU_ASSERT(config_add_net_flag(&cfg, "user,mtu=9000", err, sizeof(err)) == 0);
	CU_ASSERT(config_check(&cfg, err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strstr(err, "$.nets[1].mtu: at most 1500 for mode \"user\"") != NULL);
	config_free(&cfg);
}

/* Backing files: an array of 1..CONFIG_MAX_BACKING path strings, each
 * readable; --disk takes them as repeated backing=PATH. */
static void test_disk_backing(void)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_MAX];
	const char *e;
	char want[300];

	e = load("{ \"disks\": [ { \"path\": \"a.qcow2\", \"format\": \"qcow2\",\n"
		 "  \"backing\": [ \"base.qcow2\", \"/abs/root.img\" ] } ] }", &cfg);
	CU_ASSERT_STRING_EQUAL(e, "");
	CU_ASSERT_EQUAL(cfg.disks[0].nbacking, 2);
	snprintf(want, sizeof(want), "%s/base.qcow2", dir);
	CU_ASSERT_STRING_EQUAL(cfg.disks[0].backing[0], want);  /* relative to manifest */
	CU_ASSERT_STRING_EQUAL(cfg.disks[0].backing[1], "/abs/root.img");
	cfg.kernel = strdup("/proc/self/exe");
	free(cfg.disks[0].path);
	cfg.disks[0].path = strdup("/proc/self/cwd");
	CU_ASSERT(config_check(&cfg, err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strstr(err, "$.disks[0].backing[0]: cannot read") != NULL);
	config_free(&cfg);

	expect_error("{ \"disks\": [ { \"path\": \"a\", \"backing\": \"b.qcow2\" } ] }",
		     "$.disks[0].backing: expected array, got string");
	expect_error("{ \"disks\": [ { \"path\": \"a\", \"backing\": [ \"b\", 7 ] } ] }",
		     "$.disks[0].backing[1]: expected string, got int");
	expect_error("{ \"disks\": [ { \"path\": \"a\" }, { \"path\": \"c\", \"backing\": "
		     "[ \"\" ] } ] }", "$.disks[1].backing[0]: must not be empty");
	expect_error("{ \"disks\": [ { \"path\": \"a\", \"backing\": [ \"1\", \"2\", \"3\", "
		     "\"4\", \"5\", \"6\", \"7\", \"8\", \"9\" ] } ] }",
		     "$.disks[0].backing: at most 8 backing files");
	CU_ASSERT_EQUAL(CONFIG_MAX_BACKING, 8);

	config_init(&cfg);
	CU_ASSERT(config_add_disk_flag(&cfg, "a.qcow2,backing=b.qcow2,backing=c.qcow2", err,
				       sizeof(err)) == 0);
	CU_ASSERT_EQUAL(cfg.disks[0].nbacking, 2);
	CU_ASSERT_STRING_EQUAL(cfg.disks[0].backing[1], "c.qcow2");
	CU_ASSERT(config_add_disk_flag(&cfg, "a.qcow2,backing=", err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "--disk: backing= needs a path") != NULL);
	CU_ASSERT(config_add_disk_flag(&cfg, "a,backing=1,backing=2,backing=3,backing=4,"
				       "backing=5,backing=6,backing=7,backing=8,backing=9",
				       err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, "--disk: backing=9: at most 8 backing files") != NULL);
	CU_ASSERT_EQUAL(cfg.ndisks, 1);              /* the refused ones are not added */
	config_free(&cfg);
}

int main(void)
{
	static const struct cutest_case cases[] = {
		CUTEST(test_parse_size),
		CUTEST(test_valid_manifest),
		CUTEST(test_errors_name_the_path),
		CUTEST(test_syntax_errors),
		CUTEST(test_comments),
		CUTEST(test_example_manifests),
		CUTEST(test_missing_file),
		CUTEST(test_config_check),
		CUTEST(test_flags),
		CUTEST(test_hostfwd_forms),
		CUTEST(test_net_queues),
		CUTEST(test_net_mtu),
		CUTEST(test_disk_backing),
	};
	char cmd[300];
	int rc;

	if (setup_dir() != 0)
		return 2;
	rc = cutest_run("config", cases, sizeof(cases) / sizeof(cases[0]));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 2;
	return rc;
}

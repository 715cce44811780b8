/* Unit tests for ipc/: framing, fd passing, validation of malformed
 * messages, and the event loop. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/cutest.h"
#include "evloop.h"
#include "ipc.h"

static int sp[2];

static void pair_open(void)
{
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
}

static void pair_close(void)
{
	close(sp[0]);
	close(sp[1]);
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d != NULL && readdir(d) != NULL)
		n++;
	if (d != NULL)
		closedir(d);
	return n;
}

/* Send raw bytes with optional fds, bypassing ipc_send's own checks. */
static void send_raw(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 32)];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	ipc_msghdr_set_fds(&mh, cbuf, fds, nfds);
	CU_ASSERT(sendmsg(sock, &mh, 0) == (ssize_t)len);
}

static size_t pack_hello(uint8_t *buf, uint32_t version, int role, uint32_t nfds)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__Hello hello = MICA__HELLO__INIT;

	hello.protocol_version = version;
	hello.role = role;
	env.nfds = nfds;
	env.body_case = MICA__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	return mica__envelope__pack(&env, buf);
}

static int recv_expect_bad(const char *want_in_reason)
{
	struct ipc_msg msg;
	char why[IPC_REASON_MAX] = "";
	int err = ipc_recv(sp[1], &msg, why, sizeof(why));

	if (err == 0)
		ipc_msg_free(&msg);
	if (err == -EBADMSG && strstr(why, want_in_reason) == NULL)
		printf("  reason was: %s\n", why);
	CU_ASSERT(err != -EBADMSG || strstr(why, want_in_reason) != NULL);
	return err;
}

static void test_hello_roundtrip(void)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__Hello hello = MICA__HELLO__INIT;
	struct ipc_msg msg;
	char why[IPC_REASON_MAX];

	pair_open();
	hello.protocol_version = IPC_PROTOCOL_VERSION;
	hello.role = MICA__ROLE__ROLE_BLK;
	hello.index = 3;
	hello.version = (char *)"test";
	env.seq = 77;
	env.body_case = MICA__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	CU_ASSERT_EQUAL(ipc_send(sp[0], &env, NULL, 0), 0);
	CU_ASSERT_EQUAL_FATAL(ipc_recv(sp[1], &msg, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(msg.env->body_case, MICA__ENVELOPE__BODY_HELLO);
	CU_ASSERT_EQUAL(msg.env->seq, 77);
	CU_ASSERT_EQUAL(msg.env->hello->role, MICA__ROLE__ROLE_BLK);
	CU_ASSERT_EQUAL(msg.env->hello->index, 3);
	CU_ASSERT_STRING_EQUAL(msg.env->hello->version, "test");
	ipc_msg_free(&msg);
	pair_close();
}

static void test_setup_passes_fds(void)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__Setup setup = MICA__SETUP__INIT;
	Mica__FdInfo info[2] = { MICA__FD_INFO__INIT, MICA__FD_INFO__INIT };
	Mica__FdInfo *infop[2] = { &info[0], &info[1] };
	struct ipc_msg msg;
	char why[IPC_REASON_MAX], got[8] = "";
	int fds[2], pipefd[2], mfd;

	pair_open();
	CU_ASSERT_FATAL(pipe2(pipefd, O_CLOEXEC) == 0);
	mfd = memfd_create("t", MFD_CLOEXEC);
	fds[0] = pipefd[1];
	fds[1] = mfd;
	info[0].kind = MICA__FD_KIND__FD_CONSOLE;
	info[1].kind = MICA__FD_KIND__FD_GUEST_RAM;
	setup.vm_name = (char *)"vm";
	setup.n_fds = 2;
	setup.fds = infop;
	env.body_case = MICA__ENVELOPE__BODY_SETUP;
	env.setup = &setup;
	CU_ASSERT_EQUAL(ipc_send(sp[0], &env, fds, 2), 0);
	CU_ASSERT_EQUAL_FATAL(ipc_recv(sp[1], &msg, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(msg.nfds, 2);
	/* The received console fd is the pipe: write through it. */
	CU_ASSERT(write(msg.fds[0], "hi", 2) == 2);
	CU_ASSERT(read(pipefd[0], got, sizeof(got)) == 2);
	CU_ASSERT_STRING_EQUAL(got, "hi");
	CU_ASSERT(fcntl(msg.fds[1], F_GETFD) & FD_CLOEXEC);
	ipc_msg_free(&msg);
	close(pipefd[0]);
	close(pipefd[1]);
	close(mfd);
	pair_close();
}

static void test_rejects_fd_count_mismatch(void)
{
	uint8_t buf[256];
	size_t len;
	int before, fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	pair_open();
	before = count_open_fds();
	/* Says no fds, carries one: the fd must be closed, not leaked. */
	len = pack_hello(buf, IPC_PROTOCOL_VERSION, MICA__ROLE__ROLE_BLK, 0);
	send_raw(sp[0], buf, len, &fd, 1);
	CU_ASSERT_EQUAL(recv_expect_bad("fds but 1 arrived"), -EBADMSG);
	CU_ASSERT_EQUAL(count_open_fds(), before);
	/* Says two, carries none. */
	len = pack_hello(buf, IPC_PROTOCOL_VERSION, MICA__ROLE__ROLE_BLK, 2);
	send_raw(sp[0], buf, len, NULL, 0);
	CU_ASSERT_EQUAL(recv_expect_bad("says 2 fds"), -EBADMSG);
	/* Hello with an fd it does not expect, consistently declared. */
	len = pack_hello(buf, IPC_PROTOCOL_VERSION, MICA__ROLE__ROLE_BLK, 1);
	send_raw(sp[0], buf, len, &fd, 1);
	CU_ASSERT_EQUAL(recv_expect_bad("unexpected fds"), -EBADMSG);
	CU_ASSERT_EQUAL(count_open_fds(), before);
	close(fd);
	pair_close();
}

static void test_rejects_too_many_fds(void)
{
	uint8_t buf[256];
	int fds[IPC_MAX_FDS + 4], before;
	size_t len;

	pair_open();
	for (size_t i = 0; i < IPC_MAX_FDS + 4; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	before = count_open_fds();
	len = pack_hello(buf, IPC_PROTOCOL_VERSION, MICA__ROLE__ROLE_BLK, IPC_MAX_FDS + 4);
	send_raw(sp[0], buf, len, fds, IPC_MAX_FDS + 4);
	CU_ASSERT_EQUAL(recv_expect_bad(""), -EBADMSG);
	CU_ASSERT_EQUAL(count_open_fds(), before);
	for (size_t i = 0; i < IPC_MAX_FDS + 4; i++)
		close(fds[i]);
	pair_close();
}

static void test_rejects_garbage(void)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99 };
	uint8_t big[IPC_MAX_MSG + 100];

	pair_open();
	send_raw(sp[0], junk, sizeof(junk), NULL, 0);
	CU_ASSERT_EQUAL(recv_expect_bad("cannot decode"), -EBADMSG);
	/* An empty envelope has no body. */
	send_raw(sp[0], "", 0, NULL, 0);
	/* A zero-length datagram reads as 0 bytes, like EOF on a stream:
	 * SEQPACKET peers never send one; treat it as a closed peer. */
	CU_ASSERT_EQUAL(recv_expect_bad(""), -ECONNRESET);
	memset(big, 0x08, sizeof(big));
	send_raw(sp[0], big, sizeof(big), NULL, 0);
	CU_ASSERT_EQUAL(recv_expect_bad("longer than"), -EBADMSG);
	pair_close();
}

static void test_rejects_bad_fields(void)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__Hello hello = MICA__HELLO__INIT;
	Mica__StatusRequest sr = MICA__STATUS_REQUEST__INIT;
	uint8_t buf[2048];
	char longname[IPC_MAX_STRING + 20];
	size_t len;

	pair_open();
	len = pack_hello(buf, IPC_PROTOCOL_VERSION + 1, MICA__ROLE__ROLE_BLK, 0);
	send_raw(sp[0], buf, len, NULL, 0);
	CU_ASSERT_EQUAL(recv_expect_bad("protocol version"), -EBADMSG);

	len = pack_hello(buf, IPC_PROTOCOL_VERSION, 99, 0);
	send_raw(sp[0], buf, len, NULL, 0);
	CU_ASSERT_EQUAL(recv_expect_bad("unknown enum value 99"), -EBADMSG);

	len = pack_hello(buf, IPC_PROTOCOL_VERSION, MICA__ROLE__ROLE_UNSPECIFIED, 0);
	send_raw(sp[0], buf, len, NULL, 0);
	CU_ASSERT_EQUAL(recv_expect_bad("no role"), -EBADMSG);

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	hello.protocol_version = IPC_PROTOCOL_VERSION;
	hello.role = MICA__ROLE__ROLE_NET;
	hello.version = longname;
	env.body_case = MICA__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	len = mica__envelope__pack(&env, buf);
	send_raw(sp[0], buf, len, NULL, 0);
	CU_ASSERT_EQUAL(recv_expect_bad("longer than"), -EBADMSG);

	hello.version = (char *)"evil\x1b[2J";
	len = mica__envelope__pack(&env, buf);
	send_raw(sp[0], buf, len, NULL, 0);
	CU_ASSERT_EQUAL(recv_expect_bad("control character"), -EBADMSG);

	env.body_case = MICA__ENVELOPE__BODY__NOT_SET;
	env.seq = 5;           /* non-empty datagram, but no body */
	len = mica__envelope__pack(&env, buf);
	send_raw(sp[0], buf, len, NULL, 0);
	CU_ASSERT_EQUAL(recv_expect_bad("no message body"), -EBADMSG);

	/* Still usable after all of that. */
	env.body_case = MICA__ENVELOPE__BODY_STATUS_REQUEST;
	env.status_request = &sr;
	CU_ASSERT_EQUAL(ipc_send(sp[0], &env, NULL, 0), 0);
	CU_ASSERT_EQUAL(recv_expect_bad(""), 0);
	pair_close();
}

static void test_rejects_bad_setup(void)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__Setup setup = MICA__SETUP__INIT;
	Mica__MachineConfig mc = MICA__MACHINE_CONFIG__INIT;
	Mica__NetConfig nc = MICA__NET_CONFIG__INIT, *ncp = &nc;
	Mica__FdInfo info = MICA__FD_INFO__INIT, *infop = &info;
	uint8_t mac[5] = { 0 };
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	pair_open();
	env.body_case = MICA__ENVELOPE__BODY_SETUP;
	env.setup = &setup;
	setup.vm_name = (char *)"";
	CU_ASSERT_EQUAL(ipc_send(sp[0], &env, NULL, 0), 0);
	CU_ASSERT_EQUAL(recv_expect_bad("empty vm_name"), -EBADMSG);

	setup.vm_name = (char *)"vm";
	setup.n_fds = 1;
	setup.fds = &infop;    /* kind unspecified */
	CU_ASSERT_EQUAL(ipc_send(sp[0], &env, &fd, 1), 0);
	CU_ASSERT_EQUAL(recv_expect_bad("has no kind"), -EBADMSG);

	setup.n_fds = 0;
	setup.machine = &mc;   /* zero cpus */
	CU_ASSERT_EQUAL(ipc_send(sp[0], &env, NULL, 0), 0);
	CU_ASSERT_EQUAL(recv_expect_bad("cpus 0"), -EBADMSG);

	mc.cpus = 1;
	mc.memory_bytes = 1 << 20;
	nc.mac.data = mac;
	nc.mac.len = 5;
	setup.n_nets = 1;
	setup.nets = &ncp;
	CU_ASSERT_EQUAL(ipc_send(sp[0], &env, NULL, 0), 0);
	CU_ASSERT_EQUAL(recv_expect_bad("mac is 5 bytes"), -EBADMSG);
	close(fd);
	pair_close();
}

/* ---- validation of the block mapping service and macvtap messages ---- */

/* MICA_IPC_SEEDS=DIR: every message test_new_messages sees accepted is
 * also written to DIR as a seed for fuzz_ipc_decode (first byte: fd
 * count, then the datagram); tests/fuzz/seeds/fuzz_ipc_decode holds them. */
static void write_seed(const Mica__Envelope *env, size_t nfds, const char *name)
{
	const char *dir = getenv("MICA_IPC_SEEDS");
	uint8_t buf[4096];
	char path[512];
	size_t len;
	FILE *f;

	if (dir == NULL || name == NULL)
		return;
	len = mica__envelope__get_packed_size(env);
	CU_ASSERT_FATAL(len < sizeof(buf));
	buf[0] = (uint8_t)nfds;
	mica__envelope__pack(env, buf + 1);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fwrite(buf, 1, len + 1, f) == len + 1);
	fclose(f);
}

/* Validate env as if it arrived with nfds fds: accepted when want is NULL
 * (and then stored as seed `seed`), else refused with want in the reason. */
static void expect_valid(Mica__Envelope *env, size_t nfds, const char *want,
			 const char *seed)
{
	char why[IPC_REASON_MAX] = "";
	int err;

	env->nfds = (uint32_t)nfds;
	err = ipc_validate(env, nfds, why, sizeof(why));
	if (want == NULL) {
		if (err != 0)
			printf("  refused: %s\n", why);
		CU_ASSERT_EQUAL(err, 0);
		write_seed(env, nfds, seed);
		return;
	}
	if (err == 0 || strstr(why, want) == NULL)
		printf("  wanted \"%s\", got %d \"%s\"\n", want, err, why);
	CU_ASSERT_EQUAL(err, -EBADMSG);
	CU_ASSERT(strstr(why, want) != NULL);
}

static void test_block_map_messages(void)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockMap map = MICA__BLOCK_MAP__INIT;
	Mica__BlockMapReply reply = MICA__BLOCK_MAP_REPLY__INIT;
	Mica__BlockExtent e0 = MICA__BLOCK_EXTENT__INIT, e1 = MICA__BLOCK_EXTENT__INIT;
	Mica__BlockExtent *extents[2] = { &e0, &e1 };

	env.body_case = MICA__ENVELOPE__BODY_BLOCK_MAP;
	env.block_map = &map;
	map.offset = 4096;
	map.length = 65536;
	expect_valid(&env, 0, NULL, "block_map");
	map.length = 0;
	expect_valid(&env, 0, "block_map: range 4096+0", NULL);
	map.length = 100;
	expect_valid(&env, 0, "block_map: range 4096+100", NULL);
	map.offset = UINT64_MAX - 511;
	map.length = 1024;
	expect_valid(&env, 0, "no wrap-around", NULL);
	map.offset = 0;
	map.length = 512;
	expect_valid(&env, 1, "block_map carries 1 unexpected fds", NULL);

	env.body_case = MICA__ENVELOPE__BODY_BLOCK_MAP_REPLY;
	env.block_map_reply = &reply;
	expect_valid(&env, 0, "block_map_reply: no extents", NULL);
	reply.n_extents = 2;
	reply.extents = extents;
	reply.generation = 3;
	e0.offset = 0;
	e0.length = 65536;
	e0.host_offset = 1 << 20;
	e0.writable = true;
	e1.offset = 65536;
	e1.length = 4096;
	e1.kind = 1;                                  /* zeroes */
	expect_valid(&env, 0, NULL, "block_map_reply");
	e1.length = 0;
	expect_valid(&env, 0, "block_map_reply: range 65536+0", NULL);
	e1.length = 4096;
	e1.kind = BLOCK_EXTENT_KIND_MAX + 1;
	expect_valid(&env, 0, "extent 1 (kind 3, file 0) is not valid", NULL);
	e1.kind = 0;
	e1.file = IPC_MAX_FDS;
	expect_valid(&env, 0, "extent 1 (kind 0, file 16) is not valid", NULL);
	e1.file = 1;
	e1.host_offset = UINT64_MAX - 1024;
	expect_valid(&env, 0, "extent 1 (kind 0, file 1) is not valid", NULL);
	e1.host_offset = 0;
	e1.offset = 65536 + 512;                      /* a hole between the two */
	expect_valid(&env, 0, "not contiguous", NULL);
	e1.offset = 65536;
	expect_valid(&env, 0, NULL, "block_map_reply_backing");
}

static void test_block_write_messages(void)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockWritePrepare prep = MICA__BLOCK_WRITE_PREPARE__INIT;
	Mica__BlockWriteGrant grant = MICA__BLOCK_WRITE_GRANT__INIT;
	Mica__BlockWriteDone done = MICA__BLOCK_WRITE_DONE__INIT;

	env.body_case = MICA__ENVELOPE__BODY_BLOCK_WRITE_PREPARE;
	env.block_write_prepare = &prep;
	prep.offset = 8192;
	prep.length = 4096;
	expect_valid(&env, 0, NULL, "block_write_prepare");
	prep.offset = 8193;
	expect_valid(&env, 0, "block_write_prepare: range 8193+4096", NULL);

	env.body_case = MICA__ENVELOPE__BODY_BLOCK_WRITE_GRANT;
	env.block_write_grant = &grant;
	grant.offset = 8192;
	grant.length = 4096;
	grant.host_offset = 1 << 20;
	grant.in_place = true;                        /* in place: grant id 0 */
	expect_valid(&env, 0, NULL, "block_write_grant_in_place");
	grant.grant = 7;
	expect_valid(&env, 0, "grant 7 (in place) is not consistent", NULL);
	grant.in_place = false;                       /* allocating: whole clusters */
	grant.cluster_offset = 0;
	grant.cluster_host = 1 << 20;
	grant.cluster_bytes = 65536;
	expect_valid(&env, 0, NULL, "block_write_grant");
	grant.cluster_offset = 65536;                 /* starts after the write */
	expect_valid(&env, 0, "grant 7 (allocating) is not consistent", NULL);
	grant.cluster_offset = 0;
	grant.cluster_bytes = 8192;                   /* ends before it */
	expect_valid(&env, 0, "grant 7 (allocating) is not consistent", NULL);
	grant.cluster_bytes = 65536;
	grant.grant = 0;                              /* allocating needs an id */
	expect_valid(&env, 0, "grant 0 (allocating) is not consistent", NULL);
	grant.grant = 7;
	grant.length = 0;
	expect_valid(&env, 0, "block_write_grant: range 8192+0", NULL);

	env.body_case = MICA__ENVELOPE__BODY_BLOCK_WRITE_DONE;
	env.block_write_done = &done;
	done.grant = 7;
	expect_valid(&env, 0, NULL, "block_write_done");
	done.abort = true;
	expect_valid(&env, 0, NULL, "block_write_done_abort");
	expect_valid(&env, 1, "block_write_done carries 1 unexpected fds", NULL);
}

static void test_block_op_messages(void)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__BlockOp op = MICA__BLOCK_OP__INIT;
	Mica__BlockOpen open_msg = MICA__BLOCK_OPEN__INIT;

	env.body_case = MICA__ENVELOPE__BODY_BLOCK_OP;
	env.block_op = &op;
	op.op = MICA__BLOCK_OP_KIND__BLOCK_OP_FLUSH;  /* a flush needs no range */
	expect_valid(&env, 0, NULL, "block_op_flush");
	op.op = MICA__BLOCK_OP_KIND__BLOCK_OP_DISCARD;
	expect_valid(&env, 0, "block_op: range 0+0", NULL);
	op.offset = 1 << 20;
	op.length = 1 << 20;
	expect_valid(&env, 0, NULL, "block_op_discard");
	op.op = MICA__BLOCK_OP_KIND__BLOCK_OP_ZEROES;
	op.offset = 100;
	expect_valid(&env, 0, "block_op: range 100+1048576", NULL);
	op.offset = 0;
	expect_valid(&env, 0, NULL, "block_op_zeroes");
	op.op = MICA__BLOCK_OP_KIND__BLOCK_OP_READ;
	op.length = BLOCK_BOUNCE_MAX;
	expect_valid(&env, 0, NULL, "block_op_read");
	op.length = BLOCK_BOUNCE_MAX + 512;
	expect_valid(&env, 0, "block_op: read of 2097664 bytes, at most 2097152", NULL);

	env.body_case = MICA__ENVELOPE__BODY_BLOCK_OPEN;
	env.block_open = &open_msg;
	open_msg.mapping = true;
	expect_valid(&env, 0, NULL, "block_open_mapping");
	expect_valid(&env, 1, "block_open: 1 fds, bounce buffer of 0 bytes", NULL);
	open_msg.bounce_bytes = 1 << 20;
	expect_valid(&env, 1, NULL, "block_open_bounce");
	expect_valid(&env, 0, "block_open: 0 fds, bounce buffer of 1048576", NULL);
	open_msg.bounce_bytes = BLOCK_BOUNCE_MAX + 1;
	expect_valid(&env, 1, "block_open: 1 fds, bounce buffer of 2097153", NULL);
}

static void test_macvtap_messages(void)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__MacvtapOpen mo = MICA__MACVTAP_OPEN__INIT;
	Mica__MacvtapOpened opened = MICA__MACVTAP_OPENED__INIT;

	env.body_case = MICA__ENVELOPE__BODY_MACVTAP_OPEN;
	env.macvtap_open = &mo;
	mo.index = 1;
	mo.ifindex = 12;
	mo.queues = 2;
	expect_valid(&env, 0, NULL, "macvtap_open");
	mo.ifindex = 0;
	expect_valid(&env, 0, "macvtap_open: ifindex 0, 2 queues (1..16)", NULL);
	mo.ifindex = (uint32_t)INT32_MAX + 1;
	expect_valid(&env, 0, "macvtap_open: ifindex 2147483648", NULL);
	mo.ifindex = 12;
	mo.queues = 0;
	expect_valid(&env, 0, "macvtap_open: ifindex 12, 0 queues", NULL);
	mo.queues = 17;
	expect_valid(&env, 0, "macvtap_open: ifindex 12, 17 queues", NULL);
	mo.queues = 16;
	expect_valid(&env, 1, "macvtap_open carries 1 unexpected fds", NULL);

	env.body_case = MICA__ENVELOPE__BODY_MACVTAP_OPENED;
	env.macvtap_opened = &opened;
	opened.index = 1;
	opened.ifindex = 12;
	opened.queues = 2;
	expect_valid(&env, 2, NULL, "macvtap_opened");
	expect_valid(&env, 1, "macvtap_opened: 2 queues but 1 fds", NULL);
	opened.queues = 0;
	expect_valid(&env, 0, "macvtap_opened: 0 queues but 0 fds", NULL);
}

static void test_peer_close(void)
{
	struct ipc_msg msg;
	char why[IPC_REASON_MAX];

	pair_open();
	close(sp[0]);
	CU_ASSERT_EQUAL(ipc_recv(sp[1], &msg, why, sizeof(why)), -ECONNRESET);
	close(sp[1]);
}

/* Deterministic mutation fuzzing of the decoder over valid messages; the
 * libFuzzer harness (tests/fuzz/fuzz_ipc_decode.c) does the same with
 * coverage feedback. */
static void test_mutations_never_crash(void)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__StatusReply reply = MICA__STATUS_REPLY__INIT;
	Mica__ProcessStatus ps = MICA__PROCESS_STATUS__INIT, *psp[2] = { &ps, &ps };
	uint8_t seed[512], buf[512];
	size_t len;
	unsigned accepted = 0;

	ps.name = (char *)"blk0";
	ps.detail = (char *)"detail text";
	ps.role = MICA__ROLE__ROLE_BLK;
	ps.state = MICA__PROC_STATE__PROC_RUNNING;
	reply.vm_name = (char *)"vm";
	reply.n_processes = 2;
	reply.processes = psp;
	env.body_case = MICA__ENVELOPE__BODY_STATUS_REPLY;
	env.status_reply = &reply;
	len = mica__envelope__pack(&env, seed);
	srandom(12345);
	for (int round = 0; round < 50000; round++) {
		ipc_envelope *out = NULL;
		size_t n = len;

		memcpy(buf, seed, len);
		for (int k = 0; k < 1 + random() % 4; k++) {
			switch (random() % 3) {
			case 0: buf[random() % n] = random(); break;
			case 1: buf[random() % n] ^= 1 << (random() % 8); break;
			case 2: n = 1 + random() % n; break;
			}
		}
		if (ipc_decode(buf, n, 0, &out, NULL, 0) == 0) {
			accepted++;
			/* Whatever is accepted must be fully valid. */
			CU_ASSERT(ipc_validate(out, 0, NULL, 0) == 0);
			mica__envelope__free_unpacked(out, NULL);
		}
	}
	printf("  %u of 50000 mutants were valid messages\n", accepted);
}

static int timer_hits, deleted_fd_calls;
static int victim_fd = -1;

static void on_timer(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) > 0 && ++timer_hits == 3)
		evloop_stop(loop, 42);
}

static void on_victim(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	deleted_fd_calls++;
}

static void on_killer(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	char c;

	if (read(fd, &c, 1) == 1)
		evloop_del(loop, victim_fd);   /* deleting another fd mid-batch */
}

static void test_evloop(void)
{
	struct evloop *loop = evloop_new();
	int a[2], b[2], tfd;

	CU_ASSERT_FATAL(loop != NULL);
	CU_ASSERT_FATAL(pipe2(a, O_CLOEXEC) == 0 && pipe2(b, O_CLOEXEC) == 0);
	victim_fd = b[0];
	CU_ASSERT_EQUAL(evloop_add(loop, a[0], EPOLLIN, on_killer, NULL), 0);
	CU_ASSERT_EQUAL(evloop_add(loop, b[0], EPOLLIN, on_victim, NULL), 0);
	CU_ASSERT_EQUAL(evloop_add(loop, b[0], EPOLLIN, on_victim, NULL), -EEXIST);
	CU_ASSERT(write(a[1], "x", 1) == 1);
	CU_ASSERT(write(b[1], "x", 1) == 1);
	tfd = evloop_timer_new(loop, on_timer, NULL);
	CU_ASSERT_FATAL(tfd >= 0);
	CU_ASSERT_EQUAL(evloop_timer_set(tfd, 5, 5), 0);
	CU_ASSERT_EQUAL(evloop_run(loop), 42);
	CU_ASSERT_EQUAL(timer_hits, 3);
	/* The victim may have run before the killer in the first batch, but
	 * never after its deletion. */
	CU_ASSERT(deleted_fd_calls <= 1);
	evloop_timer_free(loop, tfd);
	evloop_free(loop);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);

	/* A stop before run returns at once. */
	loop = evloop_new();
	evloop_stop(loop, 7);
	CU_ASSERT_EQUAL(evloop_run(loop), 7);
	evloop_free(loop);
}

CUTEST_MAIN("ipc",
	CUTEST(test_hello_roundtrip),
	CUTEST(test_setup_passes_fds),
	CUTEST(test_rejects_fd_count_mismatch),
	CUTEST(test_rejects_too_many_fds),
	CUTEST(test_rejects_garbage),
	CUTEST(test_rejects_bad_fields),
	CUTEST(test_rejects_bad_setup),
	CUTEST(test_block_map_messages),
	CUTEST(test_block_write_messages),
	CUTEST(test_block_op_messages),
	CUTEST(test_macvtap_messages),
	CUTEST(test_peer_close),
	CUTEST(test_mutations_never_crash),
	CUTEST(test_evloop))

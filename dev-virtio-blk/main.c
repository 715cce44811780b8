/* mica-blk: the vhost-user-blk backend.
 *
 * Two ways to run:
 *
 *  - started by `mica run` (no --socket-path/--fd): the daemon frame
 *    jails it and hands it the vhost-user socket end towards the runner
 *    and the channel to mica-blockd, which gives it the image fd of a raw
 *    disk; it then serves vhost-user-blk to the runner on that end.
 *    qcow2 under `mica run` needs blockd's mapping service (not wired
 *    yet); such a disk is reported and left unserved.
 *
 *  - by hand, as a standard vhost-user backend program (vhost-user.rst,
 *    "Backend program conventions"), e.g. for QEMU:
 *        mica-blk --socket-path /run/blk.sock --blk-file disk.img
 *    It opens the image and the socket, confines itself (seccomp, and as
 *    root namespaces, an empty root and no capabilities), then serves one
 *    front-end at a time, accepting the next when one goes away.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "backend_mapped.h"
#include "blockd/block.h"
#include "virtio_blk.h"
#include "log.h"
#include "vu_listener.h"

extern const struct jail_policy blk_policy;

static bool use_uring = true;     /* --aio */

/* ---- managed by mica ------------------------------------------------- */

static struct backend_ends ends = {
	.vhost_user_kind = MICA__FD_KIND__FD_VHOST_USER_BLK,
	.provider_kind = MICA__FD_KIND__FD_BLOCK_CHANNEL,
	.vhost_user_fd = -1,
	.provider_fd = -1,
};

static struct vblk_dev managed;
static struct vblk_mapped mapped = { .chan = -1, .bounce_fd = -1 };
static bool serving, serving_mapped;

/* Serve the disk blockd opened: a raw image's fd directly, any other
 * format through blockd's mapping service on chan. */
static int serve_opened(struct vblk_dev *b, struct evloop *loop, int chan, uint32_t index,
			struct vblk_opened *o, unsigned queues, const char *serial)
{
	bool raw = strcmp(o->format, "raw") == 0;
	int fd = o->fds[0], err;

	if (raw) {
		o->nfds = 0;              /* the raw backend owns fd 0 */
		err = vblk_init(b, &vblk_raw_ops, (void *)(intptr_t)fd, o->size, o->read_only,
				queues, serial);
	} else {
		vblk_mapped_init(&mapped, chan, index, o);
		serving_mapped = true;
		err = vblk_init(b, &vblk_mapped_ops, &mapped, mapped.size, o->read_only,
				queues, serial);
	}
	if (err == 0 && use_uring && (err = vblk_enable_uring(b, loop, fd)) < 0) {
		log_warnx("io_uring not available (%s); I/O stays synchronous", strerror(-err));
		err = 0;
	}
	return err;
}

static int blk_setup(struct daemon *d, struct ipc_msg *msg)
{
	struct vblk_opened img;
	char why[IPC_REASON_MAX] = "", serial[24];
	int err = backend_take_ends(&ends, d, msg);

	if (err < 0)
		return err;
	if (vblk_mapped_bounce(&mapped) < 0)
		log_warn("disk %u: no bounce buffer; compressed clusters will not read",
			 d->index);
	err = vblk_block_open(ends.provider_fd, d->index, mapped.bounce_fd, &img, why,
			      sizeof(why));
	if (err < 0) {
		/* The VM runs on without this disk; say why. */
		log_warnx("disk %u: mica-blockd gave no image: %s", d->index,
			  why[0] ? why : strerror(-err));
		daemon_set_detail(d, "virtio-blk device %u: not served: %s", d->index,
				  why[0] ? why : strerror(-err));
		return 0;
	}
	snprintf(serial, sizeof(serial), "mica-disk%u", d->index);
	err = serve_opened(&managed, d->loop, ends.provider_fd, d->index, &img, 1, serial);
	if (err == 0)
		err = vblk_serve(&managed, d->loop, ends.vhost_user_fd);
	vblk_opened_close(&img);
	if (err < 0)
		return err;
	serving = true;
	ends.vhost_user_fd = -1;          /* the vhost-user device owns it now */
	if (serving_mapped)
		ends.provider_fd = -1;    /* and the mapping service the channel */
	daemon_set_detail(d, "virtio-blk device %u: %s, %llu MiB%s, serving vhost-user "
			  "to the runner%s", d->index, img.format,
			  (unsigned long long)(img.size >> 20),
			  img.read_only ? ", read-only" : "",
			  serving_mapped ? " (data on the image fd, mappings from mica-blockd)"
					 : "");
	return 0;
}

static int blk_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	/* A new runner end: serve it instead of the old one. */
	if (info->kind == MICA__FD_KIND__FD_VHOST_USER_BLK && serving) {
		vu_dev_detach(&managed.vu);
		return vblk_serve(&managed, d->loop, fd);
	}
	/* A new mica-blockd: reopen, replay what it may have lost, resume. */
	if (info->kind == MICA__FD_KIND__FD_BLOCK_CHANNEL && serving_mapped) {
		vblk_drain(&managed);
		return vblk_mapped_takeover(&mapped, &managed, fd);
	}
	return backend_attach(&ends, info, fd);
}

static const struct daemon_ops blk_ops = {
	.program = "mica-blk",
	.role = MICA__ROLE__ROLE_BLK,
	.policy = &blk_policy,
	.setup = blk_setup,
	.attach = blk_attach,
};

/* ---- standalone ------------------------------------------------------- */

struct standalone {
	struct evloop *loop;
	struct vblk_dev blk;
	struct vu_listener listener;
	int listen_fd;
};

static struct standalone standalone = { .listen_fd = -1 };

static void on_disconnect(struct vu_dev *vu)
{
	vu_listener_disconnected(&standalone.listener);
}

static int serve_frontend(void *arg, struct evloop *loop, int conn)
{
	return vblk_serve(arg, loop, conn);
}

/* --mapping: start mica-blockd (next to this program) on one end of a
 * channel and serve what it opens, exactly as under mica run. */
static int start_blockd(struct evloop *loop, const char *file, const char *format,
			bool read_only, unsigned queues, const char *serial)
{
	char self[PATH_MAX], prog[PATH_MAX + 16], chan_arg[16], why[IPC_REASON_MAX] = "";
	struct vblk_opened img;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int pair[2], err;
	pid_t pid;

	if (n < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		log_warn("--mapping");
		return -1;
	}
	self[n] = '\0';
	snprintf(prog, sizeof(prog), "%s/mica-blockd", dirname(self));
	pid = fork();
	if (pid == 0) {
		const char *argv[] = { prog, "--channel-fd", chan_arg, "--blk-file", file,
				       "--format", format, read_only ? "--read-only" : NULL,
				       NULL };
		int chan = dup(pair[1]);  /* without CLOEXEC */

		snprintf(chan_arg, sizeof(chan_arg), "%d", chan);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	close(pair[1]);
	if (pid < 0)
		return -1;
	if (vblk_mapped_bounce(&mapped) < 0)
		log_warn("no bounce buffer; compressed clusters will not read");
	err = vblk_block_open(pair[0], 0, mapped.bounce_fd, &img, why, sizeof(why));
	if (err < 0) {
		log_warnx("--mapping: %s gave no image: %s", prog, why[0] ? why : strerror(-err));
		return -1;
	}
	mapped.standalone = true;
	err = serve_opened(&standalone.blk, loop, pair[0], 0, &img, queues, serial);
	vblk_opened_close(&img);
	return err;
}

static void usage(FILE *out)
{
	fprintf(out,
"usage: mica-blk --socket-path PATH | --fd N  --blk-file IMAGE [options]\n"
"       mica-blk --print-capabilities\n"
"  --format FMT          image format: raw (default) or qcow2; never guessed\n"
"  --read-only           refuse writes, advertise VIRTIO_BLK_F_RO\n"
"  --num-queues N        virtqueues (default 1, at most %d)\n"
"  --serial TEXT         serial number the guest sees (20 bytes)\n"
"  --aio io_uring|sync   io_uring (default) or synchronous I/O on the image fd\n"
"  --mapping             split like under mica run: a mica-blockd child owns the\n"
"                        image metadata, this process does the data I/O\n"
"  --no-sandbox          do not confine the process (debugging)\n", VU_MAX_QUEUES);
}

static int standalone_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket-path", required_argument, NULL, 's' },
		{ "fd", required_argument, NULL, 'f' },
		{ "blk-file", required_argument, NULL, 'b' },
		{ "format", required_argument, NULL, 'F' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "num-queues", required_argument, NULL, 'q' },
		{ "serial", required_argument, NULL, 'S' },
		{ "print-capabilities", no_argument, NULL, 'c' },
		{ "no-sandbox", no_argument, NULL, 'n' },
		{ "aio", required_argument, NULL, 'a' },
		{ "mapping", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct standalone *sp = &standalone;
	const char *socket_path = NULL, *file = NULL, *serial = "mica-blk";
	const char *format = "raw";
	struct blk_image *img = NULL;
	uint64_t size;
	bool read_only = false, sandbox = true, split = false;
	unsigned queues = 1;
	struct stat st;
	int c, fd = -1, err;
	char *end;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': socket_path = optarg; break;
		case 'f':
			sp->listen_fd = strtol(optarg, &end, 10);
			if (*end != '\0' || sp->listen_fd < 0) {
				log_warnx("--fd: '%s' is not an fd number", optarg);
				return 2;
			}
			break;
		case 'b': file = optarg; break;
		case 'F': format = optarg; break;
		case 'r': read_only = true; break;
		case 'q':
			queues = strtoul(optarg, &end, 10);
			if (*end != '\0' || queues < 1 || queues > VU_MAX_QUEUES) {
				log_warnx("--num-queues: '%s' is not 1..%d", optarg, VU_MAX_QUEUES);
				return 2;
			}
			break;
		case 'S': serial = optarg; break;
		case 'c':
			printf("{\n  \"type\": \"block\",\n  \"features\": [\n"
			       "    \"read-only-config\",\n    \"blk-file\"\n  ]\n}\n");
			return 0;
		case 'n': sandbox = false; break;
		case 'a':
			if (strcmp(optarg, "io_uring") && strcmp(optarg, "sync")) {
				log_warnx("--aio: expected io_uring or sync, got '%s'", optarg);
				return 2;
			}
			use_uring = strcmp(optarg, "io_uring") == 0;
			break;
		case 'm': split = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || file == NULL || (socket_path == NULL) == (sp->listen_fd < 0)) {
		usage(stderr);
		return 2;
	}
	if (split) {
		/* The process split of mica run, without mica. */
		if (socket_path != NULL && (sp->listen_fd = vu_listen_path(socket_path)) < 0)
			return 1;
		sp->loop = evloop_new();
		if (sp->loop == NULL ||
		    start_blockd(sp->loop, file, format, read_only, queues, serial) < 0)
			return 1;
		size = sp->blk.capacity;
	} else if (strcmp(format, "raw") == 0) {
		/* Raw goes straight to the fd: no format layer in the way. */
		fd = open(file, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			log_warn("--blk-file %s", file);
			return 1;
		}
		if (!S_ISREG(st.st_mode)) {
			log_warnx("--blk-file %s: only regular files are supported yet", file);
			return 1;
		}
		size = st.st_size;
	} else {
		/* Backing files are opened now, before the sandbox closes. */
		err = blk_open(file, format, read_only ? 0 : BLK_OPEN_RDWR, &img);
		if (err < 0) {
			log_warnx("--blk-file %s (--format %s): %s", file, format,
				  err == -EAGAIN ? "in use by another process (image locked)"
						 : strerror(-err));
			return 1;
		}
		size = blk_size(img);
	}
	if (!split && socket_path != NULL && (sp->listen_fd = vu_listen_path(socket_path)) < 0)
		return 1;
	if (split)
		err = 0;
	else if (img != NULL)
		err = vblk_init(&sp->blk, &vblk_image_ops, img, size, read_only, queues, serial);
	else
		err = vblk_init(&sp->blk, &vblk_raw_ops, (void *)(intptr_t)fd, size, read_only,
				queues, serial);
	sp->blk.vu_ops.disconnected = on_disconnect;
	if (!split)
		sp->loop = evloop_new();
	if (err < 0 || sp->loop == NULL)
		return 1;
	if (img == NULL && !split && use_uring &&
	    (err = vblk_enable_uring(&sp->blk, sp->loop, fd)) < 0)
		log_warnx("io_uring not available (%s); raw I/O stays synchronous",
			  strerror(-err));
	if (vu_listener_start(&sp->listener, sp->loop, sp->listen_fd, serve_frontend,
			      &sp->blk) < 0)
		return 1;
	if (sandbox && jail_sandbox_self(&blk_policy, JAIL_SECCOMP_KILL) < 0) {
		log_warnx("cannot confine the process (use --no-sandbox to run anyway)");
		return 1;
	}
	log_info("serving %s (%s, %llu bytes%s, %u queue%s) on %s", file, format,
		 (unsigned long long)size,
		 read_only ? ", read-only" : "", queues, queues > 1 ? "s" : "",
		 socket_path != NULL ? socket_path : "the given fd");
	/* The socket file stays behind (the sandbox has no file system to
	 * unlink it in); the next start replaces it. */
	err = evloop_run(sp->loop);
	if (img != NULL && blk_close(img) < 0)
		log_warnx("flushing %s at exit failed", file);
	return err < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	log_init("mica-blk");
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--socket-path", 13) == 0 || strcmp(argv[i], "--fd") == 0 ||
		    strcmp(argv[i], "--print-capabilities") == 0 ||
		    strncmp(argv[i], "--blk-file", 10) == 0 || strcmp(argv[i], "--help") == 0)
			return standalone_main(argc, argv);
	}
	return daemon_main(argc, argv, &blk_ops);
}

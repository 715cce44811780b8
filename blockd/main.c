/* mica-blockd: owns the disk images of a VM.
 *
 * `mica` opens each image (read-only when the manifest says so) and hands
 * the fds here with their format; blockd never opens a host path itself.
 * It opens each through the format layer (libmica-block: raw, qcow2) and
 * reports what it found.  It also holds one channel per disk towards that
 * disk's mica-blk: a raw image's fd goes to mica-blk for the data path;
 * for formats with metadata blockd serves mappings, write grants, the
 * ordered flush, discard and compressed reads over the channel
 * (mapsvc.c, docs/block.md).  Backing files come as fds too: mica opens
 * the ones the manifest lists for a disk, and the image's backing names
 * must resolve to one of them (resolve_backing).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockd/block.h"
#include "blockd/mapsvc.h"
#include "daemon.h"
#include "log.h"

extern const struct jail_policy blockd_policy;

#define BLOCKD_MAX_DISKS 16

struct blockd_disk {
	struct blk_image *img;
	int image_fd;
	int channel_fd;
	char format[16];
	bool read_only;
	long long size;
	struct mapsvc_disk svc;
	/* Backing files the manifest allows: canonical path and fd (mica's). */
	char *backing_path[8];
	int backing_fd[8];
	size_t nbacking;
};

static struct blockd_disk disks[BLOCKD_MAX_DISKS];
static size_t ndisks;
static bool standalone;           /* one disk, one channel, exit when it closes */

/* BlockOpen from disk i's mica-blk: a raw image's fd goes to it for the
 * data path (zero-copy with io_uring there).  Formats with metadata need
 * the mapping service of docs/block.md, which is not wired yet. */
static int serve_block_open(struct blockd_disk *disk, size_t i, struct ipc_msg *msg)
{
	const ipc_envelope *env = msg->env;
	Mica__Envelope reply = MICA__ENVELOPE__INIT;
	Mica__BlockOpened opened = MICA__BLOCK_OPENED__INIT;
	uint64_t size;

	if (env->block_open->index != i)
		return ipc_send_result(disk->channel_fd, env->seq, EPERM, "not your disk");
	if (disk->img == NULL)
		return ipc_send_result(disk->channel_fd, env->seq, EIO,
				       "disk%zu could not be opened", i);
	if (strcmp(blk_format_name(disk->img), "raw") != 0) {
		if (!env->block_open->mapping)
			return ipc_send_result(disk->channel_fd, env->seq, ENOTSUP,
					       "%s disks need a mica-blk with the mapping "
					       "service", blk_format_name(disk->img));
		return mapsvc_open(&disk->svc, disk->channel_fd, env,
				   msg->nfds == 1 ? msg->fds[0] : -1);
	}
	size = blk_size(disk->img) & ~511ULL;
	if (size == 0)
		return ipc_send_result(disk->channel_fd, env->seq, EINVAL,
				       "disk%zu is smaller than one sector", i);
	opened.index = i;
	opened.format = (char *)"raw";
	opened.size_bytes = size;
	opened.read_only = disk->read_only;
	reply.seq = env->seq;
	reply.body_case = MICA__ENVELOPE__BODY_BLOCK_OPENED;
	reply.block_opened = &opened;
	return ipc_send(disk->channel_fd, &reply, &disk->image_fd, 1);
}

/* The disk a mapping-service request names (UINT32_MAX: none). */
static uint32_t request_index(const ipc_envelope *env)
{
	switch (env->body_case) {
	case MICA__ENVELOPE__BODY_BLOCK_MAP: return env->block_map->index;
	case MICA__ENVELOPE__BODY_BLOCK_WRITE_PREPARE: return env->block_write_prepare->index;
	case MICA__ENVELOPE__BODY_BLOCK_WRITE_DONE: return env->block_write_done->index;
	case MICA__ENVELOPE__BODY_BLOCK_OP: return env->block_op->index;
	default: return UINT32_MAX;
	}
}

static void on_channel(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	char why[IPC_REASON_MAX] = "";
	struct ipc_msg msg;
	size_t i;
	int err;

	for (i = 0; i < ndisks && disks[i].channel_fd != fd; i++)
		;
	err = ipc_recv(fd, &msg, why, sizeof(why));
	if (err == -EAGAIN)
		return;
	if (err < 0 || i == ndisks) {
		/* mica-blk went away (it gets a new channel by Attach) or sent
		 * garbage: drop this channel. */
		if (err == -EBADMSG)
			log_warnx("disk%zu: malformed request from mica-blk (%s)", i, why);
		if (err == 0)
			ipc_msg_free(&msg);
		evloop_del(loop, fd);
		close(fd);
		if (i < ndisks) {
			disks[i].channel_fd = -1;
			mapsvc_channel_lost(&disks[i].svc);
		}
		if (standalone)
			evloop_stop(loop, 0);
		return;
	}
	if (msg.env->body_case == MICA__ENVELOPE__BODY_BLOCK_OPEN)
		err = serve_block_open(&disks[i], i, &msg);
	else if (request_index(msg.env) != i)
		err = ipc_send_result(fd, msg.env->seq, EPERM, "not your disk");
	else if (disks[i].img == NULL || strcmp(blk_format_name(disks[i].img), "raw") == 0)
		err = ipc_send_result(fd, msg.env->seq, ENOTSUP, "%s: no mapping service for "
				      "this disk", ipc_body_name(msg.env));
	else
		err = mapsvc_serve(&disks[i].svc, fd, msg.env);
	ipc_msg_free(&msg);
	if (err < 0)
		log_warnx("disk%zu: answering mica-blk: %s", i, strerror(-err));
}

/* libmica-block asks for a backing file by its resolved path: hand over
 * the fd mica opened for it if the manifest allows it, else refuse. */
static int resolve_backing(void *arg, const char *path, const char *named_by)
{
	struct blockd_disk *disk = arg;
	int fd;

	for (size_t j = 0; j < disk->nbacking; j++) {
		if (strcmp(disk->backing_path[j], path) != 0)
			continue;
		if (disk->backing_fd[j] < 0) {
			log_warnx("%s: backing file %s: mica did not hand its fd over (too many "
				  "fds in one message)", named_by, path);
			return -EMFILE;
		}
		fd = fcntl(disk->backing_fd[j], F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? -errno : fd;
	}
	log_warnx("%s names backing file %s, which the manifest does not allow for this "
		  "disk (list it in the disk's \"backing\", or --disk ...,backing=PATH)",
		  named_by, path);
	return -EACCES;
}

static int blockd_setup(struct daemon *d, struct ipc_msg *msg)
{
	const Mica__Setup *s = msg->env->setup;
	char detail[IPC_MAX_STRING] = "";
	size_t used = 0;
	int err;

	if (s->n_disks > BLOCKD_MAX_DISKS) {
		log_warnx("%zu disks, at most %d", s->n_disks, BLOCKD_MAX_DISKS);
		return -E2BIG;
	}
	for (size_t i = 0; i < s->n_disks; i++) {
		const Mica__DiskConfig *dc = s->disks[i];
		struct blockd_disk *disk = &disks[i];
		struct stat st;

		disk->image_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_DISK_IMAGE, dc->index);
		disk->channel_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_BLOCK_CHANNEL,
						  dc->index);
		if (disk->image_fd < 0 || disk->channel_fd < 0 ||
		    fstat(disk->image_fd, &st) < 0) {
			log_warnx("disk %u (%s): image fd or channel missing", dc->index,
				  dc->name);
			return -EINVAL;
		}
		snprintf(disk->format, sizeof(disk->format), "%s", dc->format);
		disk->read_only = dc->read_only;
		disk->size = st.st_size;
		for (size_t j = 0; j < dc->n_backing && j < 8; j++) {
			disk->backing_path[j] = strdup(dc->backing[j]);
			disk->backing_fd[j] = daemon_take_fd(msg, MICA__FD_KIND__FD_DISK_BACKING,
							     dc->index * 8 + j);
			disk->nbacking++;
		}
		/* Backing names resolve against the image's real directory. */
		blk_set_backing_resolver(resolve_backing, disk);
		err = blk_open_fd(disk->image_fd, dc->path[0] ? dc->path : dc->name, dc->format,
				  dc->read_only ? 0 : BLK_OPEN_RDWR, &disk->img);
		blk_set_backing_resolver(NULL, NULL);
		if (used < sizeof(detail) && err == 0)
			used += snprintf(detail + used, sizeof(detail) - used,
					 "%sdisk%u %s %s, %llu MiB virtual%s", i ? ", " : "",
					 dc->index, dc->name, blk_format_name(disk->img),
					 (unsigned long long)(blk_size(disk->img) >> 20),
					 dc->read_only ? ", ro" : "");
		else if (used < sizeof(detail))
			used += snprintf(detail + used, sizeof(detail) - used,
					 "%sdisk%u %s: cannot open as %s: %s", i ? ", " : "",
					 dc->index, dc->name, dc->format,
					 err == -EACCES ? "backing file not allowed (see log)"
							: strerror(-err));
		disk->svc.img = disk->img;
		disk->svc.name = disk->img != NULL ? blk_filename(disk->img) : "disk";
		disk->svc.read_only = dc->read_only;
		ndisks++;
		if (evloop_add(d->loop, disk->channel_fd, EPOLLIN, on_channel, d) < 0)
			return -EIO;
	}
	daemon_set_detail(d, "%s", detail);
	return 0;
}

static int blockd_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	for (size_t i = 0; i < ndisks; i++) {
		if (info->kind == MICA__FD_KIND__FD_BLOCK_CHANNEL && i == info->index) {
			if (disks[i].channel_fd >= 0) {
				evloop_del(d->loop, disks[i].channel_fd);
				close(disks[i].channel_fd);
			}
			mapsvc_channel_lost(&disks[i].svc);
			disks[i].channel_fd = fd;
			return evloop_add(d->loop, fd, EPOLLIN, on_channel, d);
		}
	}
	close(fd);
	return -EINVAL;
}

static void blockd_shutdown(struct daemon *d)
{
	/* Flush what the format layer holds (metadata caches, dirty bit). */
	for (size_t i = 0; i < ndisks; i++) {
		mapsvc_close(&disks[i].svc);
		if (disks[i].img != NULL && blk_close(disks[i].img) < 0)
			log_warnx("disk%zu: flush at close failed", i);
	}
}

static const struct daemon_ops blockd_ops = {
	.program = "mica-blockd",
	.role = MICA__ROLE__ROLE_BLOCKD,
	.policy = &blockd_policy,
	.setup = blockd_setup,
	.attach = blockd_attach,
	.shutdown = blockd_shutdown,
};

/* mica-blockd --channel-fd N --blk-file IMAGE --format FMT [--read-only]:
 * the mapping service for one disk on an inherited channel, without mica
 * (mica-blk --mapping starts it so for benchmarks and tests).  It opens
 * the image and its backing chain itself, then confines itself. */
static int standalone_main(int argc, char **argv)
{
	const char *file = NULL, *format = NULL;
	struct blockd_disk *disk = &disks[0];
	struct evloop *loop;
	bool read_only = false;
	int chan = -1, err;
	char *end;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--read-only") == 0)
			read_only = true;
		else if (i + 1 < argc && strcmp(argv[i], "--channel-fd") == 0)
			chan = strtol(argv[++i], &end, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--blk-file") == 0)
			file = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--format") == 0)
			format = argv[++i];
		else
			file = NULL, i = argc;
	}
	if (file == NULL || format == NULL || chan < 0) {
		fprintf(stderr, "usage: mica-blockd --channel-fd N --blk-file IMAGE --format FMT "
			"[--read-only]\n");
		return 2;
	}
	err = blk_open(file, format, read_only ? 0 : BLK_OPEN_RDWR, &disk->img);
	if (err < 0) {
		log_warnx("%s (%s): %s", file, format, strerror(-err));
		return 1;
	}
	disk->channel_fd = chan;
	disk->read_only = read_only;
	disk->svc.img = disk->img;
	disk->svc.name = blk_filename(disk->img);
	disk->svc.read_only = read_only;
	ndisks = 1;
	standalone = true;
	loop = evloop_new();
	if (loop == NULL || evloop_add(loop, chan, EPOLLIN, on_channel, NULL) < 0)
		return 1;
	if (jail_sandbox_self(&blockd_policy, JAIL_SECCOMP_KILL) < 0) {
		log_warnx("cannot confine the process");
		return 1;
	}
	err = evloop_run(loop);
	blockd_shutdown(NULL);
	return err < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--channel-fd") == 0) {
		log_init("mica-blockd");
		return standalone_main(argc, argv);
	}
	return daemon_main(argc, argv, &blockd_ops);
}

/* libmica-block front end: format registry, probing, locking, range checks
 * and the generic parts of the API in block.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "format.h"
#include "lock.h"

/* The format table.  Adding a format: one new file, one line here.  Order
 * matters for probing only in that the highest score wins. */
static const struct blk_format_ops *const blk_formats[] = {
	&blk_format_qcow2,
	&blk_format_raw,
};

#define NFORMATS (sizeof(blk_formats) / sizeof(blk_formats[0]))
#define MAX_BACKING_DEPTH 16

const struct blk_format_ops *blk_format_find(const char *name)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (strcmp(blk_formats[i]->name, name) == 0)
			return blk_formats[i];
	return NULL;
}

bool blk_probe_other_than_raw(const uint8_t *head, size_t len)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (blk_formats[i]->probe && blk_formats[i]->probe(head, len) > 0)
			return true;
	return false;
}

static const struct blk_format_ops *blk_probe(int fd)
{
	uint8_t head[512];
	const struct blk_format_ops *best = &blk_format_raw;
	int best_score = 0;
	ssize_t n;

	n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		n = 0;
	for (size_t i = 0; i < NFORMATS; i++) {
		int score;

		if (blk_formats[i]->probe == NULL)
			continue;
		score = blk_formats[i]->probe(head, (size_t)n);
		if (score > best_score) {
			best_score = score;
			best = blk_formats[i];
		}
	}
	return best;
}

/* Open the image on fd (which becomes the image's); name is for messages
 * and for finding backing files next to it. */
static int blk_open_common(int fd, const char *name, const char *format,
			   unsigned flags, unsigned depth, struct blk_image **out)
{
	struct blk_image *img;
	const struct blk_format_ops *ops = NULL;
	int ret;

	*out = NULL;
	if (format != NULL) {
		ops = blk_format_find(format);
		if (ops == NULL) {
			log_warnx("%s: unknown format '%s'", name, format);
			close(fd);
			return -EINVAL;
		}
	}
	img = calloc(1, sizeof(*img));
	if (img == NULL) {
		close(fd);
		return -ENOMEM;
	}
	img->fd = fd;
	img->flags = flags;
	img->depth = depth;
	img->read_only = !(flags & BLK_OPEN_RDWR);
	img->filename = strdup(name);
	if (img->filename == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	if (!(flags & BLK_OPEN_NO_LOCK)) {
		ret = blk_lock_image(img->fd, !img->read_only);
		if (ret < 0) {
			log_warnx("%s: failed to get \"%s\" lock: is another "
				  "process using the image?", name,
				  img->read_only ? "consistent read" : "write");
			goto fail;
		}
	}
	img->probed = ops == NULL;
	img->ops = ops != NULL ? ops : blk_probe(img->fd);
	ret = img->ops->open(img);
	if (ret < 0) {
		img->ops = NULL;
		goto fail;
	}
	*out = img;
	return 0;
fail:
	blk_close(img);
	return ret;
}

static int blk_open_depth(const char *path, const char *format,
			  unsigned flags, unsigned depth,
			  struct blk_image **out)
{
	int fd;

	*out = NULL;
	if (depth > MAX_BACKING_DEPTH) {
		log_warnx("%s: backing chain deeper than %d", path,
			  MAX_BACKING_DEPTH);
		return -ELOOP;
	}
	fd = open(path, ((flags & BLK_OPEN_RDWR) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		int ret = -errno;

		log_warn("could not open '%s'", path);
		return ret;
	}
	return blk_open_common(fd, path, format, flags, depth, out);
}

int blk_open_fd(int fd, const char *name, const char *format, unsigned flags,
		struct blk_image **out)
{
	int mode = fcntl(fd, F_GETFL), own;

	*out = NULL;
	if (mode < 0)
		return -errno;
	if ((flags & BLK_OPEN_RDWR) && (mode & O_ACCMODE) != O_RDWR) {
		log_warnx("%s: opened read-only, cannot be used for writing", name);
		return -EBADF;
	}
	own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (own < 0)
		return -errno;
	return blk_open_common(own, name, format, flags, 0, out);
}

int blk_open(const char *path, const char *format, unsigned flags,
	     struct blk_image **out)
{
	return blk_open_depth(path, format, flags, 0, out);
}

static blk_backing_resolver backing_resolver;
static void *backing_resolver_arg;

void blk_set_backing_resolver(blk_backing_resolver fn, void *arg)
{
	backing_resolver = fn;
	backing_resolver_arg = arg;
}

/* Fold "//", "/./" and "/../" in an absolute path, in place. */
static void fold_path(char *path)
{
	char *out = path, *in = path;

	while (*in != '\0') {
		if (in[0] == '/' && (in[1] == '/' || in[1] == '\0') && out != path) {
			in++;
		} else if (in[0] == '/' && in[1] == '.' && (in[2] == '/' || in[2] == '\0')) {
			in += 2;
		} else if (in[0] == '/' && in[1] == '.' && in[2] == '.' &&
			   (in[3] == '/' || in[3] == '\0')) {
			in += 3;
			while (out > path && *--out != '/')
				;
		} else {
			*out++ = *in++;
		}
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

/* The backing file through the resolver: it hands over an fd. */
static int open_backing_resolved(struct blk_image *img, char *path, const char *format,
				 unsigned flags, unsigned depth)
{
	int fd;

	if (path[0] != '/') {
		log_warnx("%s: backing file '%s' is not an absolute path here", img->filename,
			  path);
		return -EACCES;
	}
	if (depth > MAX_BACKING_DEPTH) {
		log_warnx("%s: backing chain deeper than %d", path, MAX_BACKING_DEPTH);
		return -ELOOP;
	}
	fold_path(path);
	fd = backing_resolver(backing_resolver_arg, path, img->filename);
	if (fd < 0)
		return fd;
	return blk_open_common(fd, path, format, flags, depth, &img->backing);
}

int blk_open_backing(struct blk_image *img, const char *name,
		     const char *format)
{
	char path[PATH_MAX];
	const char *slash;
	unsigned depth = img->depth + 1;
	unsigned flags;
	int ret;

	if (img->flags & BLK_OPEN_NO_BACKING)
		return 0;
	slash = strrchr(img->filename, '/');
	if (name[0] == '/' || slash == NULL)
		ret = snprintf(path, sizeof(path), "%s", name);
	else
		ret = snprintf(path, sizeof(path), "%.*s/%s",
			       (int)(slash - img->filename), img->filename,
			       name);
	if (ret < 0 || (size_t)ret >= sizeof(path)) {
		log_warnx("%s: backing file name too long", img->filename);
		return -ENAMETOOLONG;
	}
	/* backing files are opened read-only */
	flags = img->flags & BLK_OPEN_NO_LOCK;
	if (backing_resolver != NULL)
		return open_backing_resolved(img, path, format, flags, depth);
	ret = blk_open_depth(path, format, flags, depth, &img->backing);
	if (ret < 0)
		log_warnx("%s: could not open backing file '%s'",
			  img->filename, path);
	return ret;
}

int blk_close(struct blk_image *img)
{
	int ret = 0;

	if (img == NULL)
		return 0;
	if (img->ops != NULL) {
		if (!img->read_only && img->ops->flush != NULL)
			ret = img->ops->flush(img);
		img->ops->close(img);
	}
	blk_close(img->backing);
	if (img->fd >= 0)
		close(img->fd);
	free(img->filename);
	free(img);
	return ret;
}

uint64_t blk_size(const struct blk_image *img)
{
	return img->size;
}

const char *blk_format_name(const struct blk_image *img)
{
	return img->ops->name;
}

const char *blk_filename(const struct blk_image *img)
{
	return img->filename;
}

struct blk_image *blk_backing(const struct blk_image *img)
{
	return img->backing;
}

int blk_fd(const struct blk_image *img)
{
	return img->fd;
}

bool blk_can_write(const struct blk_image *img)
{
	return !img->read_only && img->ops->pwritev != NULL &&
	       (img->ops->can_write == NULL || img->ops->can_write(img));
}

bool blk_can_discard(const struct blk_image *img)
{
	return blk_can_write(img) && img->ops->discard != NULL &&
	       (img->ops->can_discard == NULL || img->ops->can_discard(img));
}

bool blk_can_snapshot(const struct blk_image *img)
{
	return img->ops->snapshot_list != NULL &&
	       (img->ops->can_snapshot == NULL || img->ops->can_snapshot(img));
}

static int blk_check_range(const struct blk_image *img, uint64_t offset,
			   uint64_t len)
{
	if (offset > img->size || len > img->size - offset) {
		log_warnx("%s: range %#llx+%#llx past end of image (%#llx)",
			  img->filename, (unsigned long long)offset,
			  (unsigned long long)len,
			  (unsigned long long)img->size);
		return -EINVAL;
	}
	return 0;
}

static int blk_check_writable(const struct blk_image *img)
{
	if (img->read_only) {
		log_warnx("%s: image is open read-only", img->filename);
		return -EROFS;
	}
	if (!blk_can_write(img)) {
		log_warnx("%s: format %s cannot write this image",
			  img->filename, img->ops->name);
		return -EROFS;
	}
	return 0;
}

int blk_preadv(struct blk_image *img, const struct iovec *iov, int iovcnt,
	       uint64_t offset)
{
	int ret = blk_check_range(img, offset, blk_iov_size(iov, iovcnt));

	return ret < 0 ? ret : img->ops->preadv(img, iov, iovcnt, offset);
}

int blk_pwritev(struct blk_image *img, const struct iovec *iov, int iovcnt,
		uint64_t offset)
{
	int ret = blk_check_range(img, offset, blk_iov_size(iov, iovcnt));

	if (ret == 0)
		ret = blk_check_writable(img);
	return ret < 0 ? ret : img->ops->pwritev(img, iov, iovcnt, offset);
}

int blk_pread(struct blk_image *img, void *buf, size_t len, uint64_t offset)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return blk_preadv(img, &iov, 1, offset);
}

int blk_pwrite(struct blk_image *img, const void *buf, size_t len,
	       uint64_t offset)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return blk_pwritev(img, &iov, 1, offset);
}

int blk_flush(struct blk_image *img)
{
	if (img->read_only || img->ops->flush == NULL)
		return 0;
	return img->ops->flush(img);
}

int blk_write_zeroes(struct blk_image *img, uint64_t offset, uint64_t len)
{
	static const uint8_t zeroes[65536];
	int ret = blk_check_range(img, offset, len);

	if (ret == 0)
		ret = blk_check_writable(img);
	if (ret < 0)
		return ret;
	if (img->ops->write_zeroes != NULL)
		return img->ops->write_zeroes(img, offset, len);
	while (len > 0) {
		size_t n = len < sizeof(zeroes) ? len : sizeof(zeroes);

		ret = blk_pwrite(img, zeroes, n, offset);
		if (ret < 0)
			return ret;
		offset += n;
		len -= n;
	}
	return 0;
}

int blk_discard(struct blk_image *img, uint64_t offset, uint64_t len)
{
	int ret = blk_check_range(img, offset, len);

	if (ret == 0)
		ret = blk_check_writable(img);
	if (ret < 0)
		return ret;
	if (!blk_can_discard(img))
		return -ENOTSUP;
	return img->ops->discard(img, offset, len);
}

int blk_truncate(struct blk_image *img, uint64_t size)
{
	int ret = blk_check_writable(img);

	if (ret < 0)
		return ret;
	if (img->ops->truncate == NULL) {
		log_warnx("%s: resize not supported for %s yet", img->filename,
			  img->ops->name);
		return -ENOTSUP;
	}
	return img->ops->truncate(img, size);
}

int blk_write_compressed(struct blk_image *img, const void *buf, size_t len,
			 uint64_t offset)
{
	int ret = blk_check_range(img, offset, len);

	if (ret == 0)
		ret = blk_check_writable(img);
	if (ret < 0)
		return ret;
	if (img->ops->write_compressed == NULL) {
		log_warnx("%s: format %s does not support compression",
			  img->filename, img->ops->name);
		return -ENOTSUP;
	}
	return img->ops->write_compressed(img, buf, len, offset);
}

int blk_write_prepare(struct blk_image *img, uint64_t offset, uint64_t len,
		      struct blk_write_grant *grant)
{
	int ret = blk_check_range(img, offset, len);

	if (ret == 0)
		ret = blk_check_writable(img);
	if (ret < 0)
		return ret;
	if (len == 0)
		return -EINVAL;
	memset(grant, 0, sizeof(*grant));
	if (img->ops->write_prepare == NULL) {
		/* every byte is at its own offset: write in place */
		if (img->ops != &blk_format_raw)
			return -ENOTSUP;
		grant->offset = offset;
		grant->length = len;
		grant->fd = img->fd;
		grant->host_offset = offset;
		grant->in_place = true;
		return 0;
	}
	return img->ops->write_prepare(img, offset, len, grant);
}

int blk_write_commit(struct blk_image *img, const struct blk_write_grant *g)
{
	if (g->in_place)
		return 0;
	return img->ops->write_commit(img, g);
}

int blk_write_abort(struct blk_image *img, const struct blk_write_grant *g)
{
	if (g->in_place)
		return 0;
	return img->ops->write_abort(img, g);
}

unsigned blk_cluster_size(const struct blk_image *img)
{
	struct blk_info info;

	if (blk_get_info((struct blk_image *)img, &info) < 0 ||
	    info.cluster_size == 0)
		return 65536;
	return info.cluster_size;
}

int blk_map_local(struct blk_image *img, uint64_t offset, uint64_t len,
		  struct blk_extent *ext)
{
	int ret = blk_check_range(img, offset, len);

	if (ret < 0)
		return ret;
	if (len == 0)
		return -EINVAL;
	memset(ext, 0, sizeof(*ext));
	ext->fd = -1;
	ext->owner = img;
	ret = img->ops->map(img, offset, len, ext);
	if (ret == 0 && (ext->length == 0 || ext->length > len))
		ret = -EIO;
	return ret;
}

int blk_map(struct blk_image *img, uint64_t offset, uint64_t len,
	    struct blk_extent *ext)
{
	unsigned depth = 0;
	int ret;

	for (;;) {
		ret = blk_map_local(img, offset, len, ext);
		if (ret < 0)
			return ret;
		ext->depth = depth;
		if (depth > 0)
			ext->owned = false;
		if (ext->kind != BLK_EXTENT_UNALLOCATED ||
		    img->backing == NULL)
			return 0;
		/* the part past the end of the backing file reads as zeroes */
		if (offset >= img->backing->size) {
			ext->kind = BLK_EXTENT_ZERO;
			return 0;
		}
		len = ext->length;
		if (len > img->backing->size - offset)
			len = img->backing->size - offset;
		img = img->backing;
		depth++;
	}
}

int blk_create(const char *path, const char *format,
	       const struct blk_create_opts *opts)
{
	const struct blk_format_ops *ops = blk_format_find(format);

	if (ops == NULL) {
		log_warnx("unknown format '%s'", format);
		return -EINVAL;
	}
	if (ops->create == NULL) {
		log_warnx("format %s: create not supported yet", format);
		return -ENOTSUP;
	}
	return ops->create(path, opts);
}

int blk_get_info(struct blk_image *img, struct blk_info *info)
{
	memset(info, 0, sizeof(*info));
	info->virtual_size = img->size;
	if (img->ops->get_info == NULL)
		return 0;
	return img->ops->get_info(img, info);
}

int blk_snapshot_list(struct blk_image *img, struct blk_snapshot_info *snaps,
		      int max)
{
	if (img->ops->snapshot_list == NULL)
		return 0;
	return img->ops->snapshot_list(img, snaps, max);
}

static int blk_snapshot_op(struct blk_image *img, const char *what,
			   int (*op)(struct blk_image *, const char *),
			   const char *name)
{
	int ret = blk_check_writable(img);

	if (ret < 0)
		return ret;
	if (op == NULL) {
		log_warnx("%s: snapshot %s not supported for %s yet",
			  img->filename, what, img->ops->name);
		return -ENOTSUP;
	}
	return op(img, name);
}

int blk_snapshot_create(struct blk_image *img, const char *name)
{
	return blk_snapshot_op(img, "create", img->ops->snapshot_create, name);
}

int blk_snapshot_apply(struct blk_image *img, const char *name_or_id)
{
	return blk_snapshot_op(img, "apply", img->ops->snapshot_apply,
			       name_or_id);
}

int blk_snapshot_delete(struct blk_image *img, const char *name_or_id)
{
	return blk_snapshot_op(img, "delete", img->ops->snapshot_delete,
			       name_or_id);
}

int blk_check(struct blk_image *img, unsigned fix,
	      struct blk_check_result *res)
{
	bool quiet = res->quiet;

	memset(res, 0, sizeof(*res));
	res->quiet = quiet;
	if (img->ops->check == NULL)
		return -ENOTSUP;
	if (fix && img->read_only) {
		log_warnx("%s: repair needs the image opened read-write",
			  img->filename);
		return -EROFS;
	}
	return img->ops->check(img, fix, res);
}

/* Double-mapped code buffer.  See codebuf.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "translator/codebuf.h"

int codebuf_init(struct codebuf *cb, size_t size)
{
	void *rw, *rx;
	int fd, err;

	fd = memfd_create("mica-code", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail;
	rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw == MAP_FAILED)
		goto fail;
	rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	if (rx == MAP_FAILED) {
		err = -errno;
		munmap(rw, size);
		close(fd);
		return err;
	}
	close(fd);	/* the mappings keep the memory */
	cb->rw = rw;
	cb->rx = rx;
	cb->size = size;
	cb->used = 0;
	cb->reserved = 0;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

void codebuf_reset(struct codebuf *cb)
{
	cb->used = cb->reserved;
}

int codebuf_snapshot(const struct codebuf *cb)
{
	int fd = memfd_create("mica-code", MFD_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)cb->size) < 0 ||
	    pwrite(fd, cb->rw, cb->used, 0) != (ssize_t)cb->used) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int codebuf_adopt(struct codebuf *cb, int fd)
{
	void *rw, *rx;
	int err = 0;

	rw = mmap(cb->rw, cb->size, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_FIXED, fd, 0);
	rx = mmap(cb->rx, cb->size, PROT_READ | PROT_EXEC,
		  MAP_SHARED | MAP_FIXED, fd, 0);
	if (rw == MAP_FAILED || rx == MAP_FAILED)
		err = -errno;
	close(fd);
	return err;
}

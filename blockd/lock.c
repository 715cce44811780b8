/* QEMU-compatible OFD image locks; see lock.h. */
#define _GNU_SOURCE     /* F_OFD_* locks */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "lock.h"

#define LOCK_PERM_BASE    100
#define LOCK_SHARED_BASE  200
#define PERM_CONSISTENT_READ 0
#define PERM_WRITE           1

static int lock_byte(int fd, int cmd, short type, off_t byte)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_whence = SEEK_SET;
	fl.l_start = byte;
	fl.l_len = 1;
	fl.l_type = type;
	if (fcntl(fd, cmd, &fl) < 0)
		return -errno;
	if (cmd == F_OFD_GETLK && fl.l_type != F_UNLCK)
		return -EAGAIN;
	return 0;
}

int blk_lock_image(int fd, bool writer)
{
	int ret;

	/* what we hold */
	ret = lock_byte(fd, F_OFD_SETLK, F_RDLCK,
			LOCK_PERM_BASE + PERM_CONSISTENT_READ);
	if (ret == 0 && writer)
		ret = lock_byte(fd, F_OFD_SETLK, F_RDLCK,
				LOCK_PERM_BASE + PERM_WRITE);
	/* what we do not share: nobody else may write */
	if (ret == 0)
		ret = lock_byte(fd, F_OFD_SETLK, F_RDLCK,
				LOCK_SHARED_BASE + PERM_WRITE);
	if (ret == -EAGAIN || ret == -EACCES)
		return -EAGAIN;
	if (ret < 0)
		return ret;
	/* does anybody else hold what we refuse to share, or refuse what we
	 * hold?  A write-lock probe conflicts with any other holder. */
	ret = lock_byte(fd, F_OFD_GETLK, F_WRLCK, LOCK_PERM_BASE + PERM_WRITE);
	if (ret == 0)
		ret = lock_byte(fd, F_OFD_GETLK, F_WRLCK,
				LOCK_SHARED_BASE + PERM_CONSISTENT_READ);
	if (ret == 0 && writer)
		ret = lock_byte(fd, F_OFD_GETLK, F_WRLCK,
				LOCK_SHARED_BASE + PERM_WRITE);
	return ret;
}

/* Kernel format dispatch and file reading. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "boot/boot.h"

int boot_read_file(const char *path, void **data, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t done = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		log_warn("%s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		err = -EINVAL;
		log_warnx("%s: not a non-empty regular file", path);
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (buf == NULL) {
		err = -ENOMEM;
		goto out;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			log_warn("%s: read", path);
			goto out;
		}
		done += (size_t)n;
	}
	*data = buf;
	*len = done;
	buf = NULL;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return err;
}

int boot_load_kernel(const struct guest_mem *mem, const void *image,
		     size_t len, const struct boot_config *cfg,
		     struct boot_entry *e)
{
	int err = boot_load_pvh(mem, image, len, cfg, e);

	if (err != -ENOEXEC)
		return err;
	err = boot_load_bzimage(mem, image, len, cfg, e);
	if (err == -ENOEXEC)
		log_warnx("kernel image is neither a PVH ELF nor a bzImage");
	return err;
}

/* blk-io: a tiny qemu-io work-alike over libmica-block, so the interop
 * tests can do the same writes through Mica and through QEMU.
 *
 *   blk-io [-f fmt] [-r] -c 'write -P 0xab 0 64k' -c 'read -P 0xab 0 4k' file
 *
 * commands: write [-P pat | -z | -c] off len, read [-P pat] off len,
 * dwrite [-P pat] off len (two-phase, through the image fd, as a data
 * path process would), discard off len, flush, sleep ms.  Exit 0 when every command succeeded and every
 * read matched its pattern. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "blockd/block.h"

static long long parse_num(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	case 't': case 'T': v <<= 40; break;
	default: break;
	}
	return v;
}

static int run(struct blk_image *img, char *cmd)
{
	char *argv[8], *save = NULL;
	int argc = 0, pattern = -1, ret = 0;
	bool zero = false, compress = false;
	unsigned long long off, len;
	unsigned char *buf;

	for (char *t = strtok_r(cmd, " ", &save); t && argc < 8;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	if (argc == 0)
		return 0;
	if (strcmp(argv[0], "flush") == 0)
		return blk_flush(img);
	if (strcmp(argv[0], "sleep") == 0 && argc == 2) {
		usleep((useconds_t)parse_num(argv[1]) * 1000);
		return 0;
	}
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-P") == 0 && i + 1 < argc)
			pattern = (int)parse_num(argv[++i]);
		else if (strcmp(argv[i], "-z") == 0)
			zero = true;
		else if (strcmp(argv[i], "-c") == 0)
			compress = true;
		else
			return -EINVAL;
	}
	if (argc - i != 2)
		return -EINVAL;
	off = (unsigned long long)parse_num(argv[i]);
	len = (unsigned long long)parse_num(argv[i + 1]);
	if (strcmp(argv[0], "discard") == 0)
		return blk_discard(img, off, len);
	if (strcmp(argv[0], "write") == 0 && zero)
		return blk_write_zeroes(img, off, len);
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		return -ENOMEM;
	memset(buf, pattern < 0 ? 0xcd : pattern, len);
	if (strcmp(argv[0], "dwrite") == 0) {
		/* as a data path would: prepare, write the fd, commit */
		for (unsigned long long done = 0; ret == 0 && done < len;) {
			struct blk_write_grant g;

			ret = blk_write_prepare(img, off + done, len - done, &g);
			if (ret == 0 && pwrite(g.fd, buf + done, g.length,
					       (off_t)g.host_offset) !=
					(ssize_t)g.length)
				ret = -EIO;
			if (ret == 0)
				ret = blk_write_commit(img, &g);
			done += g.length;
		}
	} else if (strcmp(argv[0], "write") == 0 && compress) {
		ret = blk_write_compressed(img, buf, len, off);
	} else if (strcmp(argv[0], "write") == 0) {
		ret = blk_pwrite(img, buf, len, off);
	} else if (strcmp(argv[0], "read") == 0) {
		ret = blk_pread(img, buf, len, off);
		for (unsigned long long j = 0; ret == 0 && pattern >= 0 && j < len; j++)
			if (buf[j] != pattern) {
				fprintf(stderr, "Pattern verification failed at "
					"offset %llu\n", off + j);
				ret = -EILSEQ;
			}
	} else {
		ret = -EINVAL;
	}
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	const char *fmt = NULL;
	char *cmds[4096];
	int ncmds = 0, c, ret = 0;
	unsigned flags = BLK_OPEN_RDWR;
	struct blk_image *img;

	log_init("blk-io");
	while ((c = getopt(argc, argv, "f:rc:")) != -1) {
		if (c == 'f')
			fmt = optarg;
		else if (c == 'r')
			flags = 0;
		else if (c == 'c' && ncmds < 4096)
			cmds[ncmds++] = optarg;
		else
			return 2;
	}
	if (optind != argc - 1)
		return 2;
	if (blk_open(argv[optind], fmt, flags, &img) < 0)
		return 1;
	for (int i = 0; i < ncmds && ret == 0; i++) {
		char *copy = strdup(cmds[i]);

		ret = copy ? run(img, copy) : -ENOMEM;
		if (ret < 0)
			fprintf(stderr, "blk-io: '%s': %s\n", cmds[i],
				strerror(-ret));
		free(copy);
	}
	if (blk_close(img) < 0 && ret == 0)
		ret = -EIO;
	return ret < 0 ? 1 : 0;
}

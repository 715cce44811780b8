/* Whole-range file I/O and iovec helpers shared by the formats. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "format.h"

int blk_file_pread(int fd, void *buf, size_t len, uint64_t offset)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return blk_file_preadv(fd, &iov, 1, offset);
}

int blk_file_pwrite(int fd, const void *buf, size_t len, uint64_t offset)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return blk_file_pwritev(fd, &iov, 1, offset);
}

int blk_file_write_zeroes(int fd, uint64_t offset, uint64_t len)
{
	static const char zeroes[65536];

	if (fallocate(fd, FALLOC_FL_ZERO_RANGE, (off_t)offset, (off_t)len) == 0)
		return 0;
	while (len > 0) {
		size_t n = len < sizeof(zeroes) ? len : sizeof(zeroes);
		int ret = blk_file_pwrite(fd, zeroes, n, offset);

		if (ret < 0)
			return ret;
		offset += n;
		len -= n;
	}
	return 0;
}

bool blk_buf_is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	return len == 0 || (b[0] == 0 && memcmp(b, b + 1, len - 1) == 0);
}

/* Advance IOV past N bytes, editing the first remaining entry in place. */
static void iov_advance(struct iovec **iov, int *iovcnt, size_t n)
{
	while (n > 0 && *iovcnt > 0) {
		if (n < (*iov)->iov_len) {
			(*iov)->iov_base = (char *)(*iov)->iov_base + n;
			(*iov)->iov_len -= n;
			return;
		}
		n -= (*iov)->iov_len;
		(*iov)++;
		(*iovcnt)--;
	}
	while (*iovcnt > 0 && (*iov)->iov_len == 0) {
		(*iov)++;
		(*iovcnt)--;
	}
}

#define IOV_CHUNK 64

static int file_rw(int fd, const struct iovec *iov_in, int iovcnt,
		   uint64_t offset, bool write)
{
	struct iovec local[IOV_CHUNK];

	while (iovcnt > 0) {
		int n = iovcnt < IOV_CHUNK ? iovcnt : IOV_CHUNK;
		struct iovec *iov = local;
		int left = n;
		size_t want = 0;

		memcpy(local, iov_in, (size_t)n * sizeof(*iov_in));
		for (int i = 0; i < n; i++)
			want += local[i].iov_len;
		while (want > 0) {
			ssize_t done = write ? pwritev(fd, iov, left, (off_t)offset)
					     : preadv(fd, iov, left, (off_t)offset);
			if (done < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (done == 0) {
				if (write)
					return -EIO;
				/* past EOF reads as zeroes (sparse tail) */
				for (int i = 0; i < left; i++)
					memset(iov[i].iov_base, 0, iov[i].iov_len);
				break;
			}
			offset += (uint64_t)done;
			want -= (size_t)done;
			iov_advance(&iov, &left, (size_t)done);
		}
		offset += want;
		iov_in += n;
		iovcnt -= n;
	}
	return 0;
}

int blk_file_preadv(int fd, const struct iovec *iov, int iovcnt,
		    uint64_t offset)
{
	return file_rw(fd, iov, iovcnt, offset, false);
}

int blk_file_pwritev(int fd, const struct iovec *iov, int iovcnt,
		     uint64_t offset)
{
	return file_rw(fd, iov, iovcnt, offset, true);
}

size_t blk_iov_size(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

int blk_iov_slice(const struct iovec *iov, int iovcnt, size_t skip,
		  size_t len, struct iovec *out, int outmax)
{
	int n = 0;

	for (int i = 0; i < iovcnt && len > 0; i++) {
		size_t take;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		if (n == outmax)
			return -EINVAL;
		take = iov[i].iov_len - skip;
		if (take > len)
			take = len;
		out[n].iov_base = (char *)iov[i].iov_base + skip;
		out[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

static void iov_copy(const struct iovec *iov, int iovcnt, size_t skip,
		     void *buf, const void *src, int c, size_t len)
{
	for (int i = 0; i < iovcnt && len > 0; i++) {
		size_t take;
		char *p;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - skip;
		if (take > len)
			take = len;
		p = (char *)iov[i].iov_base + skip;
		if (buf != NULL) {
			memcpy(buf, p, take);
			buf = (char *)buf + take;
		} else if (src != NULL) {
			memcpy(p, src, take);
			src = (const char *)src + take;
		} else {
			memset(p, c, take);
		}
		len -= take;
		skip = 0;
	}
}

void blk_iov_memset(const struct iovec *iov, int iovcnt, size_t skip, int c,
		    size_t len)
{
	iov_copy(iov, iovcnt, skip, NULL, NULL, c, len);
}

void blk_iov_from_buf(const struct iovec *iov, int iovcnt, size_t skip,
		      const void *buf, size_t len)
{
	iov_copy(iov, iovcnt, skip, NULL, buf, 0, len);
}

void blk_iov_to_buf(const struct iovec *iov, int iovcnt, size_t skip,
		    void *buf, size_t len)
{
	iov_copy(iov, iovcnt, skip, buf, NULL, 0, len);
}

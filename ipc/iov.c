#include <string.h>

#include "iov.h"

size_t iov_size(const struct iovec *iov, unsigned n)
{
	size_t total = 0;

	for (unsigned i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

static size_t iov_copy(const struct iovec *iov, unsigned n, size_t skip, void *buf,
		       size_t len, int to_buf)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - skip;
		if (chunk > len - done)
			chunk = len - done;
		if (to_buf)
			memcpy((char *)buf + done, (char *)iov[i].iov_base + skip, chunk);
		else
			memcpy((char *)iov[i].iov_base + skip, (char *)buf + done, chunk);
		done += chunk;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, 1);
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
		    size_t len)
{
	return iov_copy(iov, n, skip, (void *)buf, len, 0);
}

int iov_slice(const struct iovec *iov, unsigned n, size_t skip, size_t len,
	      struct iovec *dst, unsigned max)
{
	unsigned out = 0;

	for (unsigned i = 0; i < n && len > 0; i++) {
		size_t chunk;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		if (out == max)
			return -1;
		chunk = iov[i].iov_len - skip;
		if (chunk > len)
			chunk = len;
		dst[out].iov_base = (char *)iov[i].iov_base + skip;
		dst[out].iov_len = chunk;
		out++;
		len -= chunk;
		skip = 0;
	}
	return len == 0 ? (int)out : -1;
}

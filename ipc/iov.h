/* Small helpers over iovec arrays (guest buffers). */
#ifndef MICA_IOV_H
#define MICA_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Copy up to len bytes starting skip bytes into iov[0..n) to/from buf;
 * returns the number of bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
		    size_t len);

/* Describe bytes [skip, skip+len) of iov[0..n) in dst (at most max
 * entries); returns the entry count, or -1 if it does not fit or the
 * source is shorter. */
int iov_slice(const struct iovec *iov, unsigned n, size_t skip, size_t len,
	      struct iovec *dst, unsigned max);

size_t iov_size(const struct iovec *iov, unsigned n);

#endif

/* qcow2 compressed clusters: raw deflate (zlib, window 4 KiB as QEMU
 * writes it) or zstd frames, one guest cluster each. */
#include <errno.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "qcow2.h"

static int zlib_decompress(const uint8_t *in, size_t inlen, uint8_t *out,
			   size_t outlen)
{
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -12) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)outlen;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	/* the input is padded to a sector: trailing bytes are fine once
	 * the whole cluster came out */
	if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR || ret == Z_OK) &&
	    z.avail_out == 0)
		return 0;
	return -EIO;
}

static int zstd_decompress(const uint8_t *in, size_t inlen, uint8_t *out,
			   size_t outlen)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	ZSTD_inBuffer ib = { .src = in, .size = inlen, .pos = 0 };
	ZSTD_outBuffer ob = { .dst = out, .size = outlen, .pos = 0 };
	int ret = -EIO;

	if (ds == NULL)
		return -ENOMEM;
	ZSTD_initDStream(ds);
	while (ob.pos < ob.size && ib.pos < ib.size) {
		size_t r = ZSTD_decompressStream(ds, &ob, &ib);

		if (ZSTD_isError(r))
			break;
		if (r == 0 && ob.pos < ob.size && ib.pos == ib.size)
			break;
	}
	if (ob.pos == ob.size)
		ret = 0;
	ZSTD_freeDStream(ds);
	return ret;
}

int qcow2_decompress(const struct qcow2 *q, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outlen)
{
	if (q->compression_type == QCOW2_COMPRESSION_ZSTD)
		return zstd_decompress(in, inlen, out, outlen);
	return zlib_decompress(in, inlen, out, outlen);
}

long qcow2_compress(const struct qcow2 *q, const uint8_t *in, size_t inlen,
		    uint8_t *out, size_t outmax)
{
	if (q->compression_type == QCOW2_COMPRESSION_ZSTD) {
		size_t r = ZSTD_compress(out, outmax, in, inlen, 3);

		if (ZSTD_isError(r))
			return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall
			       ? -ENOSPC : -EIO;
		return (long)r;
	} else {
		z_stream z;
		int ret;

		memset(&z, 0, sizeof(z));
		if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		z.next_in = (Bytef *)in;
		z.avail_in = (uInt)inlen;
		z.next_out = out;
		z.avail_out = (uInt)outmax;
		ret = deflate(&z, Z_FINISH);
		deflateEnd(&z);
		if (ret != Z_STREAM_END)
			return -ENOSPC;
		return (long)(outmax - z.avail_out);
	}
}

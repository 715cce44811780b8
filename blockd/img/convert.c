/* mica-img convert and compare: streaming through whole images, sparse
 * aware (ranges that map to zeroes are neither read nor written). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "img.h"

#define CHUNK (2u << 20)    /* a multiple of every cluster size */

static void progress(bool on, uint64_t done, uint64_t total)
{
	if (!on)
		return;
	printf("    (%.2f/100%%)\r", total ? 100.0 * (double)done /
					 (double)total : 100.0);
	fflush(stdout);
}

/* 1 if [off, off+len) of IMG holds data somewhere, 0 if it reads as
 * zeroes by its map alone, negative errno on failure. */
static int range_has_data(struct blk_image *img, uint64_t off, uint64_t len)
{
	while (len > 0) {
		struct blk_extent e;
		int ret = blk_map(img, off, len, &e);

		if (ret < 0)
			return ret;
		if (e.kind == BLK_EXTENT_DATA || e.kind == BLK_EXTENT_COMPRESSED)
			return 1;
		off += e.length;
		len -= e.length;
	}
	return 0;
}

/* Length (a multiple of BLOCK) of the zero or unallocated stretch at
 * OFF, 0 if there is none or it is shorter than a block. */
static uint64_t zero_run(struct blk_image *img, uint64_t off, uint64_t len,
			 uint64_t block)
{
	struct blk_extent e;

	if (blk_map(img, off, len, &e) < 0 ||
	    e.kind == BLK_EXTENT_DATA || e.kind == BLK_EXTENT_COMPRESSED)
		return 0;
	if (off + e.length == blk_size(img))
		return e.length;
	return e.length - e.length % block;
}

static int convert_run(struct blk_image *src, struct blk_image *dst,
		       bool compress, bool show)
{
	uint64_t size = blk_size(src);
	uint64_t block = compress ? blk_cluster_size(dst) : 4096;
	uint8_t *buf = malloc(CHUNK);
	int ret = 0;

	if (buf == NULL)
		return -ENOMEM;
	for (uint64_t off = 0, n; off < size && ret >= 0; off += n) {
		uint64_t skip = zero_run(src, off, size - off, block);

		n = size - off < CHUNK ? size - off : CHUNK;
		if (skip > 0) {          /* a sparse stretch: nothing to copy */
			n = skip;
			continue;
		}
		progress(show, off, size);
		ret = range_has_data(src, off, n);
		if (ret <= 0)
			continue;
		ret = blk_pread(src, buf, n, off);
		for (uint64_t i = 0; i < n && ret >= 0;) {
			uint64_t m = n - i < block ? n - i : block;

			if (blk_buf_is_zero(buf + i, m)) {
				i += m;
				continue;
			}
			if (compress) {
				ret = blk_write_compressed(dst, buf + i, m,
							   off + i);
				i += m;
				continue;
			}
			/* one write for a run of non-zero blocks */
			while (i + m < n) {
				uint64_t more = n - i - m < block ? n - i - m
								  : block;

				if (blk_buf_is_zero(buf + i + m, more))
					break;
				m += more;
			}
			ret = blk_pwrite(dst, buf + i, m, off + i);
			i += m;
		}
	}
	progress(show, size, size);
	if (show)
		printf("\n");
	free(buf);
	return ret < 0 ? ret : 0;
}

int img_convert(int argc, char **argv)
{
	const char *src_fmt = NULL, *dst_fmt = "raw";
	struct blk_create_opts opts = { 0 };
	struct blk_image *src = NULL, *dst = NULL;
	bool compress = false, show = false;
	unsigned src_flags = 0;
	int c, ret;

	while ((c = getopt(argc, argv, "f:O:o:cpqUnB:S:m:W")) != -1) {
		switch (c) {
		case 'f': src_fmt = optarg; break;
		case 'O': dst_fmt = optarg; break;
		case 'o':
			if (img_parse_create_opts(optarg, &opts) < 0)
				return IMG_EXIT_ERROR;
			break;
		case 'c': compress = true; break;
		case 'p': show = true; break;
		case 'q': show = false; break;
		case 'U': src_flags |= BLK_OPEN_NO_LOCK; break;
		case 'S': case 'm': case 'W': break;  /* tuning: ignored */
		case 'n': case 'B':
			fprintf(stderr, "mica-img: convert -%c is not supported "
				"yet\n", c);
			return IMG_EXIT_ERROR;
		default: return IMG_EXIT_ERROR;
		}
	}
	if (optind != argc - 2) {
		img_usage_error("Expecting one source and one target image");
		return IMG_EXIT_ERROR;
	}
	if (opts.backing_file != NULL) {
		fprintf(stderr, "mica-img: convert to an image with a backing "
			"file is not supported yet\n");
		return IMG_EXIT_ERROR;
	}
	if (compress && strcmp(dst_fmt, "qcow2") != 0) {
		fprintf(stderr, "mica-img: Compression not supported for this "
			"file format\n");
		return IMG_EXIT_ERROR;
	}
	src = img_open(argv[optind], src_fmt, src_flags);
	if (src == NULL)
		return IMG_EXIT_ERROR;
	opts.size = blk_size(src);
	ret = blk_create(argv[optind + 1], dst_fmt, &opts);
	if (ret == 0) {
		dst = img_open(argv[optind + 1], dst_fmt, BLK_OPEN_RDWR);
		ret = dst ? convert_run(src, dst, compress, show) : -EIO;
	}
	if (dst != NULL && blk_close(dst) < 0 && ret == 0)
		ret = -EIO;
	blk_close(src);
	if (ret < 0) {
		fprintf(stderr, "mica-img: error while converting %s: %s\n",
			dst_fmt, strerror(-ret));
		return IMG_EXIT_ERROR;
	}
	return IMG_EXIT_OK;
}

/* ---- compare: exit 0 identical, 1 different, 2 error ---- */

#define CMP_EQUAL 0
#define CMP_DIFFERENT 1
#define CMP_ERROR 2

static uint64_t first_difference(const uint8_t *a, const uint8_t *b,
				 uint64_t n)
{
	for (uint64_t i = 0; i < n; i += 512) {
		uint64_t m = n - i < 512 ? n - i : 512;

		if (memcmp(a + i, b + i, m) != 0)
			return i;
	}
	return n;
}

/* Compare the common part; then what only the larger image has must be
 * zero. */
static int compare_run(struct blk_image *a, struct blk_image *b, bool quiet,
		       bool strict)
{
	uint64_t sa = blk_size(a), sb = blk_size(b);
	uint64_t common = sa < sb ? sa : sb, big = sa < sb ? sb : sa;
	struct blk_image *larger = sa < sb ? b : a;
	uint8_t *ba = malloc(CHUNK), *bb = malloc(CHUNK);
	int ret = CMP_EQUAL;

	if (ba == NULL || bb == NULL)
		ret = CMP_ERROR;
	if (sa != sb && strict && ret == CMP_EQUAL) {
		if (!quiet)
			printf("Strict mode: Image size mismatch!\n");
		ret = CMP_DIFFERENT;
	}
	/* the common part first, then what only the larger one has */
	for (uint64_t off = 0, n; off < big && ret == CMP_EQUAL; off += n) {
		uint64_t d, za, zb;

		n = big - off < CHUNK ? big - off : CHUNK;
		if (off < common && off + n > common)
			n = common - off;
		if (off == common && sa != sb && !quiet)
			printf("Warning: Image size mismatch!\n");
		/* stretches that are zero in both need no reading */
		za = zero_run(off < sa ? a : b, off, (off < sa ? sa : sb) - off, 1);
		zb = off < common ? zero_run(b, off, sb - off, 1) : za;
		if (za > 0 && zb > 0) {
			n = za < zb ? za : zb;
			if (off < common && off + n > common)
				n = common - off;
			continue;
		}
		if (off >= common) {
			if (range_has_data(larger, off, n) == 0)
				continue;
			if (blk_pread(larger, ba, n, off) < 0) {
				ret = CMP_ERROR;
				break;
			}
			memset(bb, 0, n);
		} else {
			if (off + n > common)
				n = common - off;
			if (range_has_data(a, off, n) == 0 &&
			    range_has_data(b, off, n) == 0)
				continue;
			if (blk_pread(a, ba, n, off) < 0 ||
			    blk_pread(b, bb, n, off) < 0) {
				ret = CMP_ERROR;
				break;
			}
		}
		d = first_difference(ba, bb, n);
		if (d < n) {
			if (!quiet)
				printf("Content mismatch at offset %" PRIu64
				       "!\n", off + d);
			ret = CMP_DIFFERENT;
		}
	}
	if (ret == CMP_EQUAL && !quiet)
		printf("Images are identical.\n");
	free(ba);
	free(bb);
	return ret;
}

int img_compare(int argc, char **argv)
{
	const char *fmt1 = NULL, *fmt2 = NULL;
	struct blk_image *a, *b;
	bool quiet = false, strict = false;
	unsigned flags = 0;
	int c, ret;

	while ((c = getopt(argc, argv, "f:F:sqpU")) != -1) {
		switch (c) {
		case 'f': fmt1 = optarg; break;
		case 'F': fmt2 = optarg; break;
		case 's': strict = true; break;
		case 'q': quiet = true; break;
		case 'p': break;
		case 'U': flags |= BLK_OPEN_NO_LOCK; break;
		default: return CMP_ERROR;
		}
	}
	if (optind != argc - 2) {
		img_usage_error("Expecting two image file names");
		return CMP_ERROR;
	}
	if (fmt2 == NULL)
		fmt2 = fmt1;
	a = img_open(argv[optind], fmt1, flags);
	if (a == NULL)
		return CMP_ERROR;
	b = img_open(argv[optind + 1], fmt2, flags);
	if (b == NULL) {
		blk_close(a);
		return CMP_ERROR;
	}
	ret = compare_run(a, b, quiet, strict);
	blk_close(a);
	blk_close(b);
	return ret;
}

/* mica-img create, check and resize. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "img.h"

/* qemu-img's "Formatting ..." line, options in its order. */
static void create_announce(const char *path, const char *fmt,
			    const struct blk_create_opts *o, uint64_t size)
{
	printf("Formatting '%s', fmt=%s ", path, fmt);
	if (strcmp(fmt, "qcow2") == 0)
		printf("cluster_size=%u extended_l2=off compression_type=%s ",
		       o->cluster_size ? o->cluster_size : 65536,
		       o->compression_zstd ? "zstd" : "zlib");
	printf("size=%" PRIu64, size);
	if (o->backing_file)
		printf(" backing_file=%s", o->backing_file);
	if (o->backing_fmt)
		printf(" backing_fmt=%s", o->backing_fmt);
	if (strcmp(fmt, "qcow2") == 0) {
		if (o->compat)
			printf(" compat=%s", o->compat == 2 ? "0.10" : "1.1");
		printf(" lazy_refcounts=%s refcount_bits=%u",
		       o->lazy_refcounts ? "on" : "off",
		       o->refcount_bits ? o->refcount_bits : 16);
	}
	printf("\n");
	fflush(stdout);
}

/* The size a new image takes from its backing file when none is given. */
static int64_t backing_size(const char *path, const struct blk_create_opts *o)
{
	const char *slash = strrchr(path, '/');
	struct blk_image *b;
	char full[4096];
	int64_t size;

	if (o->backing_file[0] == '/' || slash == NULL)
		snprintf(full, sizeof(full), "%s", o->backing_file);
	else
		snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - path),
			 path, o->backing_file);
	if (blk_open(full, o->backing_fmt, BLK_OPEN_NO_LOCK |
		     BLK_OPEN_NO_BACKING, &b) < 0)
		return -1;
	size = (int64_t)blk_size(b);
	blk_close(b);
	return size;
}

int img_create(int argc, char **argv)
{
	bool quiet = false;
	struct blk_create_opts opts = { 0 };
	const char *fmt = "raw";
	int64_t size;
	int c, ret;

	while ((c = getopt(argc, argv, "f:o:b:F:quU")) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'o':
			if (img_parse_create_opts(optarg, &opts) < 0)
				return IMG_EXIT_ERROR;
			break;
		case 'b': opts.backing_file = optarg; break;
		case 'F': opts.backing_fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'U': break;
		case 'u':
			fprintf(stderr, "mica-img: create -u is not supported "
				"yet\n");
			return IMG_EXIT_ERROR;
		default: return IMG_EXIT_ERROR;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		img_usage_error("Expecting image file name and size");
		return IMG_EXIT_ERROR;
	}
	if (optind + 1 < argc) {
		size = img_parse_size(argv[optind + 1]);
		if (size < 0) {
			fprintf(stderr, "mica-img: Invalid image size specified."
				" Must be between 0 and 9223372036854775807.\n");
			return IMG_EXIT_ERROR;
		}
		opts.size = (uint64_t)size;
	} else if (opts.backing_file == NULL && opts.size == 0) {
		img_usage_error("Image creation needs a size parameter");
		return IMG_EXIT_ERROR;
	}
	size = (int64_t)opts.size;
	if (size == 0 && opts.backing_file != NULL)
		size = backing_size(argv[optind], &opts);
	if (!quiet && size >= 0)
		create_announce(argv[optind], fmt, &opts, (uint64_t)size);
	ret = blk_create(argv[optind], fmt, &opts);
	if (ret < 0) {
		fprintf(stderr, "mica-img: %s: %s\n", argv[optind],
			strerror(-ret));
		return IMG_EXIT_ERROR;
	}
	return IMG_EXIT_OK;
}

/* ---- check ---- */

enum { OPT_OUTPUT = 256 };

static void check_print_human(const struct blk_check_result *r)
{
	if (r->corruptions)
		printf("\n%" PRIu64 " errors were found on the image.\n"
		       "Data may be corrupted, or further writes to the image "
		       "may corrupt it.\n", r->corruptions);
	if (r->leaks)
		printf("\n%" PRIu64 " leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n",
		       r->leaks);
	if (r->check_errors)
		printf("\n%" PRIu64 " internal errors have occurred during the "
		       "check.\n", r->check_errors);
	if (!r->corruptions && !r->leaks && !r->check_errors)
		printf("No errors were found on the image.\n");
	if (r->total_clusters && r->allocated_clusters)
		printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% "
		       "fragmented, %0.2f%% compressed clusters\n",
		       r->allocated_clusters, r->total_clusters,
		       100.0 * (double)r->allocated_clusters /
		       (double)r->total_clusters,
		       100.0 * (double)r->fragmented_clusters /
		       (double)r->allocated_clusters,
		       100.0 * (double)r->compressed_clusters /
		       (double)r->allocated_clusters);
	if (r->image_end_offset)
		printf("Image end offset: %" PRIu64 "\n", r->image_end_offset);
}

/* Field order as qemu-img 7.2 prints it (its dictionary's order). */
static void check_print_json(const struct blk_check_result *r,
			     const char *file, const char *fmt)
{
	printf("{\n    \"image-end-offset\": %" PRIu64 ",\n",
	       r->image_end_offset);
	if (r->compressed_clusters)
		printf("    \"compressed-clusters\": %" PRIu64 ",\n",
		       r->compressed_clusters);
	printf("    \"total-clusters\": %" PRIu64 ",\n", r->total_clusters);
	if (r->corruptions)
		printf("    \"corruptions\": %" PRIu64 ",\n", r->corruptions);
	printf("    \"check-errors\": %" PRIu64 ",\n", r->check_errors);
	if (r->leaks)
		printf("    \"leaks\": %" PRIu64 ",\n", r->leaks);
	if (r->leaks_fixed)
		printf("    \"leaks-fixed\": %" PRIu64 ",\n", r->leaks_fixed);
	if (r->corruptions_fixed)
		printf("    \"corruptions-fixed\": %" PRIu64 ",\n",
		       r->corruptions_fixed);
	printf("    \"allocated-clusters\": %" PRIu64 ",\n",
	       r->allocated_clusters);
	printf("    \"filename\": ");
	img_json_string(stdout, file);
	printf(",\n    \"format\": \"%s\"", fmt);
	if (r->fragmented_clusters)
		printf(",\n    \"fragmented-clusters\": %" PRIu64,
		       r->fragmented_clusters);
	printf("\n}\n");
}

static int check_exit(const struct blk_check_result *r)
{
	if (r->check_errors)
		return 1;
	if (r->corruptions)
		return 2;
	if (r->leaks)
		return 3;
	return 0;
}

int img_check(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "repair", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct blk_check_result res = { 0 };
	const char *fmt = NULL;
	unsigned fix = 0, flags = BLK_OPEN_NO_BACKING;
	bool json = false, quiet = false;
	struct blk_image *img;
	int c, ret;

	while ((c = getopt_long(argc, argv, "f:r:qU", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'U': flags |= BLK_OPEN_NO_LOCK; break;
		case 'r':
			if (strcmp(optarg, "leaks") == 0)
				fix = BLK_CHECK_FIX_LEAKS;
			else if (strcmp(optarg, "all") == 0)
				fix = BLK_CHECK_FIX_LEAKS | BLK_CHECK_FIX_ERRORS;
			else {
				img_usage_error("Invalid option for -r (expecting "
						"'leaks' or 'all'): %s", optarg);
				return 1;
			}
			break;
		case OPT_OUTPUT:
			json = strcmp(optarg, "json") == 0;
			break;
		default: return 1;
		}
	}
	if (optind != argc - 1) {
		img_usage_error("Expecting one image file name");
		return 1;
	}
	if (fix)
		flags |= BLK_OPEN_RDWR | BLK_OPEN_REPAIR;
	img = img_open(argv[optind], fmt, flags);
	if (img == NULL)
		return 1;
	res.quiet = quiet;
	ret = blk_check(img, fix, &res);
	if (ret == -ENOTSUP) {
		fprintf(stderr, "mica-img: This image format does not support "
			"checks\n");
		blk_close(img);
		return 63;
	}
	if (ret == 0 && fix && (res.leaks_fixed || res.corruptions_fixed)) {
		if (!quiet && !json)
			printf("The following inconsistencies were found and "
			       "repaired:\n\n    %" PRIu64 " leaked clusters\n"
			       "    %" PRIu64 " corruptions\n\nDouble checking "
			       "the fixed image now...\n", res.leaks_fixed,
			       res.corruptions_fixed);
		uint64_t leaks_fixed = res.leaks_fixed;
		uint64_t corruptions_fixed = res.corruptions_fixed;

		res.quiet = quiet;
		ret = blk_check(img, 0, &res);
		res.leaks_fixed = leaks_fixed;
		res.corruptions_fixed = corruptions_fixed;
	}
	if (ret < 0) {
		fprintf(stderr, "mica-img: Check failed: %s\n", strerror(-ret));
		blk_close(img);
		return 1;
	}
	if (json)
		check_print_json(&res, argv[optind], blk_format_name(img));
	else if (!quiet)
		check_print_human(&res);
	blk_close(img);
	return check_exit(&res);
}

/* ---- resize ---- */

int img_resize(int argc, char **argv)
{
	const char *fmt = NULL, *arg;
	struct blk_image *img;
	int64_t delta;
	uint64_t size;
	int c, ret;

	while ((c = getopt(argc, argv, "f:qU")) != -1) {
		if (c == 'f')
			fmt = optarg;
		else if (c != 'q' && c != 'U')
			return IMG_EXIT_ERROR;
	}
	/* a negative size looks like an option: take it from argv */
	if (optind != argc - 2) {
		img_usage_error("Expecting image file name and size");
		return IMG_EXIT_ERROR;
	}
	arg = argv[optind + 1];
	delta = img_parse_size(arg + (arg[0] == '+' || arg[0] == '-'));
	if (delta < 0) {
		fprintf(stderr, "mica-img: Invalid size specified\n");
		return IMG_EXIT_ERROR;
	}
	img = img_open(argv[optind], fmt, BLK_OPEN_RDWR);
	if (img == NULL)
		return IMG_EXIT_ERROR;
	size = blk_size(img);
	if (arg[0] == '+')
		size += (uint64_t)delta;
	else if (arg[0] == '-')
		size = (uint64_t)delta > size ? 0 : size - (uint64_t)delta;
	else
		size = (uint64_t)delta;
	ret = blk_truncate(img, size);
	if (blk_close(img) < 0 && ret == 0)
		ret = -EIO;
	if (ret < 0) {
		fprintf(stderr, "mica-img: Error resizing image: %s\n",
			strerror(-ret));
		return IMG_EXIT_ERROR;
	}
	printf("Image resized.\n");
	return IMG_EXIT_OK;
}

/* mica-img info, map and snapshot: reading about an image. */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "img.h"

enum { OPT_OUTPUT = 256, OPT_BACKING_CHAIN };

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "backing-chain", no_argument, NULL, OPT_BACKING_CHAIN },
	{ "force-share", no_argument, NULL, 'U' },
	{ "format", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 },
};

static bool backing_chain;

/* Common option parsing for info and map. */
static int parse_read_opts(int argc, char **argv, const char **fmt,
			   bool *json, unsigned *flags)
{
	int c;

	*json = false;
	while ((c = getopt_long(argc, argv, "f:hU", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f': *fmt = optarg; break;
		case 'U': *flags |= BLK_OPEN_NO_LOCK; break;
		case OPT_OUTPUT:
			if (strcmp(optarg, "json") == 0)
				*json = true;
			else if (strcmp(optarg, "human") != 0) {
				img_usage_error("--output must be used with "
						"human or json as argument.");
				return -1;
			}
			break;
		case OPT_BACKING_CHAIN: backing_chain = true; break;
		default: return -1;
		}
	}
	if (optind != argc - 1) {
		img_usage_error("Expecting one image file name");
		return -1;
	}
	return 0;
}

static uint64_t actual_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static void full_backing_name(const char *image, const char *backing,
			      char *out, size_t len)
{
	const char *slash = strrchr(image, '/');

	if (backing[0] == '/' || slash == NULL)
		snprintf(out, len, "%s", backing);
	else
		snprintf(out, len, "%.*s/%s", (int)(slash - image), image,
			 backing);
}

static void print_date(char *buf, size_t len, uint32_t sec)
{
	time_t t = sec;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void snapshot_table_human(const struct blk_snapshot_info *s, int n)
{
	printf("Snapshot list:\n");
	printf("%-9s %-17s %7s%20s%13s%11s\n", "ID", "TAG", "VM SIZE",
	       "DATE", "VM CLOCK", "ICOUNT");
	for (int i = 0; i < n; i++) {
		char size[32], date[32], clock[32], icount[24] = "";
		uint64_t secs = s[i].vm_clock_nsec / 1000000000ull;

		img_size_str(size, sizeof(size), s[i].vm_state_size);
		print_date(date, sizeof(date), s[i].date_sec);
		snprintf(clock, sizeof(clock), "%02u:%02u:%02u.%03u",
			 (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
			 (unsigned)(secs % 60),
			 (unsigned)(s[i].vm_clock_nsec / 1000000 % 1000));
		if (s[i].icount != UINT64_MAX)
			snprintf(icount, sizeof(icount), "%" PRIu64,
				 s[i].icount);
		printf("%-9s %-17s %7s%20s%13s%11s\n", s[i].id, s[i].name,
		       size, date, clock, icount);
	}
}

static void snapshots_json(FILE *f, const struct blk_snapshot_info *s, int n)
{
	fprintf(f, "    \"snapshots\": [\n");
	for (int i = 0; i < n; i++) {
		fprintf(f, "        {\n");
		if (s[i].icount != UINT64_MAX)
			fprintf(f, "            \"icount\": %" PRIu64 ",\n",
			       s[i].icount);
		fprintf(f, "            \"vm-clock-nsec\": %" PRIu64 ",\n",
		       (uint64_t)(s[i].vm_clock_nsec % 1000000000u));
		fprintf(f, "            \"name\": ");
		img_json_string(f, s[i].name);
		fprintf(f, ",\n            \"date-sec\": %u,\n", s[i].date_sec);
		fprintf(f, "            \"date-nsec\": %u,\n", s[i].date_nsec);
		fprintf(f, "            \"vm-clock-sec\": %" PRIu64 ",\n",
		       (uint64_t)(s[i].vm_clock_nsec / 1000000000u));
		fprintf(f, "            \"id\": ");
		img_json_string(f, s[i].id);
		fprintf(f, ",\n            \"vm-state-size\": %" PRIu64 "\n",
		       s[i].vm_state_size);
		fprintf(f, "        }%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "    ],\n");
}

static void info_json(FILE *f, struct blk_image *img,
		      const struct blk_info *in,
		      const struct blk_snapshot_info *snaps, int nsnaps)
{
	const char *path = blk_filename(img);
	char full[PATH_MAX];

	fprintf(f, "{\n");
	if (in->backing_fmt[0] && in->backing_file[0]) {
		fprintf(f, "    \"backing-filename-format\": ");
		img_json_string(f, in->backing_fmt);
		fprintf(f, ",\n");
	}
	if (nsnaps > 0)
		snapshots_json(f, snaps, nsnaps);
	fprintf(f, "    \"virtual-size\": %" PRIu64 ",\n", in->virtual_size);
	fprintf(f, "    \"filename\": ");
	img_json_string(f, path);
	fprintf(f, ",\n");
	if (in->cluster_size)
		fprintf(f, "    \"cluster-size\": %u,\n", in->cluster_size);
	fprintf(f, "    \"format\": \"%s\",\n", blk_format_name(img));
	fprintf(f, "    \"actual-size\": %" PRIu64 ",\n", actual_size(path));
	if (in->is_qcow2) {
		fprintf(f, "    \"format-specific\": {\n");
		fprintf(f, "        \"type\": \"qcow2\",\n");
		fprintf(f, "        \"data\": {\n");
		fprintf(f, "            \"compat\": \"%s\",\n",
		       in->version >= 3 ? "1.1" : "0.10");
		if (in->version >= 3) {
			fprintf(f, "            \"compression-type\": \"%s\",\n",
			       in->zstd ? "zstd" : "zlib");
			fprintf(f, "            \"lazy-refcounts\": %s,\n",
			       in->lazy_refcounts ? "true" : "false");
		} else {
			fprintf(f, "            \"compression-type\": \"zlib\",\n");
		}
		fprintf(f, "            \"refcount-bits\": %u%s\n", in->refcount_bits,
		       in->version >= 3 ? "," : "");
		if (in->version >= 3) {
			fprintf(f, "            \"corrupt\": %s,\n",
			       in->corrupt ? "true" : "false");
			fprintf(f, "            \"extended-l2\": %s\n",
			       in->extended_l2 ? "true" : "false");
		}
		fprintf(f, "        }\n    },\n");
	}
	if (in->backing_file[0]) {
		full_backing_name(path, in->backing_file, full, sizeof(full));
		fprintf(f, "    \"full-backing-filename\": ");
		img_json_string(f, full);
		fprintf(f, ",\n    \"backing-filename\": ");
		img_json_string(f, in->backing_file);
		fprintf(f, ",\n");
	}
	fprintf(f, "    \"dirty-flag\": %s\n}\n", in->dirty ? "true" : "false");
}

static void info_human(struct blk_image *img, const struct blk_info *in,
		       const struct blk_snapshot_info *snaps, int nsnaps)
{
	char vs[32], ds[32];

	img_size_str(vs, sizeof(vs), in->virtual_size);
	img_size_str(ds, sizeof(ds), actual_size(blk_filename(img)));
	printf("image: %s\nfile format: %s\n", blk_filename(img),
	       blk_format_name(img));
	printf("virtual size: %s (%" PRIu64 " bytes)\n", vs, in->virtual_size);
	printf("disk size: %s\n", ds);
	if (in->cluster_size)
		printf("cluster_size: %u\n", in->cluster_size);
	if (in->backing_file[0]) {
		printf("backing file: %s\n", in->backing_file);
		if (in->backing_fmt[0])
			printf("backing file format: %s\n", in->backing_fmt);
	}
	if (nsnaps > 0)
		snapshot_table_human(snaps, nsnaps);
	if (in->is_qcow2) {
		printf("Format specific information:\n");
		printf("    compat: %s\n", in->version >= 3 ? "1.1" : "0.10");
		printf("    compression type: %s\n", in->zstd ? "zstd" : "zlib");
		if (in->version >= 3)
			printf("    lazy refcounts: %s\n",
			       in->lazy_refcounts ? "true" : "false");
		printf("    refcount bits: %u\n", in->refcount_bits);
		if (in->version >= 3) {
			printf("    corrupt: %s\n",
			       in->corrupt ? "true" : "false");
			printf("    extended l2: %s\n",
			       in->extended_l2 ? "true" : "false");
		}
	}
}

/* One image's info, as JSON into F or as text on stdout. */
static int info_one(struct blk_image *img, FILE *json)
{
	struct blk_snapshot_info *snaps = NULL;
	struct blk_info info;
	int n = 0;

	if (blk_get_info(img, &info) < 0)
		return -1;
	if (info.nb_snapshots > 0) {
		snaps = calloc(info.nb_snapshots, sizeof(*snaps));
		if (snaps != NULL)
			n = blk_snapshot_list(img, snaps, (int)info.nb_snapshots);
		if (n < 0)
			n = 0;
	}
	if (json)
		info_json(json, img, &info, snaps, n);
	else
		info_human(img, &info, snaps, n);
	free(snaps);
	return 0;
}

/* --backing-chain --output=json: an array, each object indented. */
static int info_chain_json(struct blk_image *img)
{
	printf("[\n");
	for (; img != NULL; img = blk_backing(img)) {
		char *text = NULL, *line, *save = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		if (f == NULL || info_one(img, f) < 0) {
			if (f)
				fclose(f);
			free(text);
			return -1;
		}
		fclose(f);
		for (line = strtok_r(text, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			bool last = save == NULL || *save == '\0';

			printf("    %s%s\n", line,
			       last && blk_backing(img) ? "," : "");
		}
		free(text);
	}
	printf("]\n");
	return 0;
}

int img_info(int argc, char **argv)
{
	const char *fmt = NULL;
	unsigned flags = BLK_OPEN_NO_BACKING;
	struct blk_image *img;
	bool json;
	int ret = 0;

	if (parse_read_opts(argc, argv, &fmt, &json, &flags) < 0)
		return IMG_EXIT_ERROR;
	if (backing_chain)
		flags &= ~BLK_OPEN_NO_BACKING;
	img = img_open(argv[optind], fmt, flags);
	if (img == NULL)
		return IMG_EXIT_ERROR;
	if (backing_chain && json) {
		ret = info_chain_json(img);
	} else {
		for (struct blk_image *i = img; i != NULL && ret == 0;
		     i = backing_chain ? blk_backing(i) : NULL) {
			if (i != img)
				printf("\n");
			ret = info_one(i, json ? stdout : NULL);
		}
	}
	blk_close(img);
	return ret < 0 ? IMG_EXIT_ERROR : IMG_EXIT_OK;
}

/* ---- map ---- */

struct map_entry {
	uint64_t start, length, offset;
	unsigned depth;
	bool present, zero, data, has_offset;
	const char *file;
};

static void map_from_extent(const struct blk_extent *e, struct map_entry *m)
{
	memset(m, 0, sizeof(*m));
	m->start = e->offset;
	m->length = e->length;
	m->depth = e->depth;
	m->present = e->allocated;
	m->file = blk_filename(e->owner);
	switch (e->kind) {
	case BLK_EXTENT_DATA:
		m->data = true;
		m->has_offset = true;
		m->offset = e->host_offset;
		break;
	case BLK_EXTENT_COMPRESSED:
		m->data = true;
		break;
	case BLK_EXTENT_ZERO:
		m->zero = true;
		m->has_offset = e->fd >= 0;
		m->offset = e->host_offset;
		break;
	case BLK_EXTENT_UNALLOCATED:
		m->zero = true;
		break;
	}
}

static bool map_mergeable(const struct map_entry *a, const struct map_entry *b)
{
	return a->depth == b->depth && a->present == b->present &&
	       a->zero == b->zero && a->data == b->data &&
	       a->has_offset == b->has_offset && a->file == b->file &&
	       (!a->has_offset || a->offset + a->length == b->offset);
}

static void map_print(const struct map_entry *m, bool json, bool first)
{
	if (json) {
		printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64
		       ", \"depth\": %u, \"present\": %s, \"zero\": %s, "
		       "\"data\": %s", first ? "[" : ",\n", m->start,
		       m->length, m->depth, m->present ? "true" : "false",
		       m->zero ? "true" : "false", m->data ? "true" : "false");
		if (m->has_offset)
			printf(", \"offset\": %" PRIu64, m->offset);
		printf("}");
	} else if (m->data && m->has_offset) {
		printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n",
		       m->start, m->length, m->offset, m->file);
	}
}

int img_map(int argc, char **argv)
{
	const char *fmt = NULL;
	unsigned flags = 0;
	struct map_entry cur = { 0 }, next;
	struct blk_image *img;
	uint64_t off = 0, size;
	bool json, first = true, have = false;
	int ret = 0;

	if (parse_read_opts(argc, argv, &fmt, &json, &flags) < 0)
		return IMG_EXIT_ERROR;
	img = img_open(argv[optind], fmt, flags);
	if (img == NULL)
		return IMG_EXIT_ERROR;
	size = blk_size(img);
	if (!json)
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
		       "File");
	while (off < size) {
		struct blk_extent e;

		ret = blk_map(img, off, size - off, &e);
		if (ret < 0)
			break;
		map_from_extent(&e, &next);
		if (have && map_mergeable(&cur, &next)) {
			cur.length += next.length;
		} else {
			if (have) {
				map_print(&cur, json, first);
				first = false;
			}
			cur = next;
			have = true;
		}
		off += e.length;
	}
	if (have && ret == 0)
		map_print(&cur, json, first);
	if (json && !first)
		printf("]\n");
	else if (json && have && ret == 0)
		printf("]\n");
	blk_close(img);
	return ret < 0 ? IMG_EXIT_ERROR : IMG_EXIT_OK;
}

/* ---- snapshot ---- */

int img_snapshot(int argc, char **argv)
{
	enum { NONE, LIST, CREATE, APPLY, DELETE } op = NONE;
	const char *name = NULL, *fmt = NULL;
	unsigned flags = 0;
	struct blk_image *img;
	int c, ret = 0;

	while ((c = getopt(argc, argv, "la:c:d:f:qU")) != -1) {
		switch (c) {
		case 'l': op = LIST; break;
		case 'a': op = APPLY; name = optarg; break;
		case 'c': op = CREATE; name = optarg; break;
		case 'd': op = DELETE; name = optarg; break;
		case 'f': fmt = optarg; break;
		case 'q': break;
		case 'U': flags |= BLK_OPEN_NO_LOCK; break;
		default: return IMG_EXIT_ERROR;
		}
	}
	if (optind != argc - 1 || op == NONE) {
		img_usage_error("Expecting one of -l/-c/-a/-d and one image");
		return IMG_EXIT_ERROR;
	}
	if (op != LIST)
		flags |= BLK_OPEN_RDWR;
	img = img_open(argv[optind], fmt, flags | BLK_OPEN_NO_BACKING);
	if (img == NULL)
		return IMG_EXIT_ERROR;
	if (op == LIST) {
		struct blk_info info;
		struct blk_snapshot_info *snaps;
		int n;

		blk_get_info(img, &info);
		snaps = calloc(info.nb_snapshots + 1, sizeof(*snaps));
		n = snaps ? blk_snapshot_list(img, snaps,
					      (int)info.nb_snapshots) : -1;
		if (n > 0)
			snapshot_table_human(snaps, n);
		free(snaps);
	} else if (op == CREATE) {
		ret = blk_snapshot_create(img, name);
	} else if (op == APPLY) {
		ret = blk_snapshot_apply(img, name);
	} else {
		ret = blk_snapshot_delete(img, name);
	}
	if (ret < 0)
		fprintf(stderr, "mica-img: Could not %s snapshot '%s': %s\n",
			op == CREATE ? "create" : op == APPLY ? "apply" :
			"delete", name, strerror(-ret));
	if (blk_close(img) < 0 && ret == 0)
		ret = -1;
	return ret < 0 ? IMG_EXIT_ERROR : IMG_EXIT_OK;
}

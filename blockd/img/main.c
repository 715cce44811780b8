/* mica-img: create, inspect, check, convert and compare disk images.
 * Flags and output follow qemu-img where the two overlap, so scripts
 * written for one work with the other. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "img.h"

struct img_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static const struct img_command commands[] = {
	{ "create", img_create,
	  "create [-f fmt] [-o options] [-b backing [-F backing_fmt]] file [size]" },
	{ "info", img_info,
	  "info [-f fmt] [--output=human|json] [-U] file" },
	{ "map", img_map, "map [-f fmt] [--output=human|json] [-U] file" },
	{ "check", img_check,
	  "check [-f fmt] [--output=human|json] [-r leaks|all] [-q] [-U] file" },
	{ "snapshot", img_snapshot,
	  "snapshot [-l | -c name | -a name | -d name] [-U] file" },
	{ "convert", img_convert,
	  "convert [-f fmt] [-O fmt] [-o options] [-c] [-p] [-U] src dst" },
	{ "resize", img_resize, "resize [-f fmt] file [+|-]size" },
	{ "compare", img_compare,
	  "compare [-f fmt] [-F fmt] [-s] [-q] [-U] file1 file2" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: mica-img COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
}

void img_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mica-img: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'mica-img --help' for more information\n");
}

int64_t img_parse_size(const char *s)
{
	char *end;
	double v;
	uint64_t mult = 1;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case '\0': case 'b': case 'B': mult = 1; break;
	case 'k': case 'K': mult = 1ull << 10; break;
	case 'm': case 'M': mult = 1ull << 20; break;
	case 'g': case 'G': mult = 1ull << 30; break;
	case 't': case 'T': mult = 1ull << 40; break;
	case 'p': case 'P': mult = 1ull << 50; break;
	default: return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v * (double)mult > 9.2e18)
		return -1;
	return (int64_t)(v * (double)mult);
}

void img_size_str(char *buf, size_t len, uint64_t v)
{
	static const char *const suffix[] = { "B", "KiB", "MiB", "GiB",
					      "TiB", "PiB", "EiB" };
	unsigned i = 0;
	double d = (double)v;

	while (d >= 1000 && i < 6) {   /* qemu switches unit at 1000 */
		d /= 1024;
		i++;
	}
	snprintf(buf, len, "%0.3g %s", d, suffix[i]);
}

void img_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static bool opt_bool(const char *v)
{
	return strcasecmp(v, "on") == 0 || strcasecmp(v, "true") == 0 ||
	       strcmp(v, "1") == 0;
}

static int set_create_opt(struct blk_create_opts *o, char *key, char *val)
{
	int64_t n;

	if (strcmp(key, "size") == 0) {
		if ((n = img_parse_size(val)) < 0)
			return -1;
		o->size = (uint64_t)n;
	} else if (strcmp(key, "backing_file") == 0) {
		o->backing_file = val;
	} else if (strcmp(key, "backing_fmt") == 0) {
		o->backing_fmt = val;
	} else if (strcmp(key, "cluster_size") == 0) {
		if ((n = img_parse_size(val)) <= 0)
			return -1;
		o->cluster_size = (unsigned)n;
	} else if (strcmp(key, "compat") == 0) {
		if (strcmp(val, "0.10") == 0 || strcmp(val, "v2") == 0)
			o->compat = 2;
		else if (strcmp(val, "1.1") == 0 || strcmp(val, "v3") == 0)
			o->compat = 3;
		else
			return -1;
	} else if (strcmp(key, "refcount_bits") == 0) {
		o->refcount_bits = (unsigned)strtoul(val, NULL, 10);
	} else if (strcmp(key, "lazy_refcounts") == 0) {
		o->lazy_refcounts = opt_bool(val);
	} else if (strcmp(key, "compression_type") == 0) {
		if (strcmp(val, "zstd") == 0)
			o->compression_zstd = true;
		else if (strcmp(val, "zlib") != 0)
			return -1;
	} else if (strcmp(key, "preallocation") == 0) {
		if (strcmp(val, "off") != 0) {
			fprintf(stderr, "mica-img: preallocation=%s is not "
				"supported yet\n", val);
			return -2;
		}
	} else if (strcmp(key, "encryption") == 0 ||
		   strcmp(key, "encrypt.format") == 0) {
		fprintf(stderr, "mica-img: encryption is not supported yet\n");
		return -2;
	} else if (strcmp(key, "extended_l2") == 0 ||
		   strcmp(key, "data_file") == 0) {
		if (opt_bool(val) || strcmp(key, "data_file") == 0) {
			fprintf(stderr, "mica-img: %s is not supported yet\n",
				key);
			return -2;
		}
	} else {
		fprintf(stderr, "mica-img: Invalid parameter '%s'\n", key);
		return -2;
	}
	return 0;
}

/* create options point into these copies for the life of the process */
static char *opt_copies[16];
static unsigned opt_ncopies;

int img_parse_create_opts(const char *s, struct blk_create_opts *o)
{
	char *copy = strdup(s), *save = NULL;

	if (copy == NULL || opt_ncopies == 16) {
		free(copy);
		return -1;
	}
	opt_copies[opt_ncopies++] = copy;
	for (char *kv = strtok_r(copy, ",", &save); kv != NULL;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		int ret;

		if (eq == NULL) {
			fprintf(stderr, "mica-img: option '%s' needs a value\n",
				kv);
			return -1;
		}
		*eq = '\0';
		ret = set_create_opt(o, kv, eq + 1);
		if (ret == -1)
			fprintf(stderr, "mica-img: invalid value for option "
				"'%s': '%s'\n", kv, eq + 1);
		if (ret < 0)
			return -1;
	}
	return 0;
}

struct blk_image *img_open(const char *path, const char *fmt, unsigned flags)
{
	struct blk_image *img;
	int ret = blk_open(path, fmt, flags, &img);

	if (ret < 0) {
		fprintf(stderr, "mica-img: Could not open '%s': %s\n", path,
			strerror(-ret));
		return NULL;
	}
	return img;
}

int main(int argc, char **argv)
{
	log_init("mica-img");
	if (argc < 2) {
		usage(stderr);
		return IMG_EXIT_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return IMG_EXIT_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	img_usage_error("Command not found: %s", argv[1]);
	return IMG_EXIT_ERROR;
}

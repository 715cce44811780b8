/* mica-img: the qemu-img compatible image tool (internal header). */
#ifndef MICA_IMG_H
#define MICA_IMG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "blockd/block.h"

/* exit codes shared with qemu-img */
#define IMG_EXIT_OK     0
#define IMG_EXIT_ERROR  1

int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_map(int argc, char **argv);
int img_check(int argc, char **argv);
int img_snapshot(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_compare(int argc, char **argv);

/* "10G", "512k", "1048576" -> bytes; -1 on error. */
int64_t img_parse_size(const char *s);
/* qemu's size_to_str: "324 KiB", "1.5 GiB" */
void img_size_str(char *buf, size_t len, uint64_t v);
void img_json_string(FILE *f, const char *s);
/* Parse -o "k=v,k=v" into OPTS (create options); 0 or -1 with a message. */
int img_parse_create_opts(const char *s, struct blk_create_opts *opts);
/* Open with a message already logged on failure. */
struct blk_image *img_open(const char *path, const char *fmt, unsigned flags);
void img_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

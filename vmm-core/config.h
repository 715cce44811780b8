/* The VM configuration `mica run` works from: a manifest file
 * (docs/manifest.md), then command-line flags on top. */
#ifndef MICA_CONFIG_H
#define MICA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONFIG_MAX_DISKS   8
#define CONFIG_MAX_NETS    8
/* Queue pairs of a NIC: the runner's transport takes 8 queues, so 3
 * pairs and the control queue. */
#define CONFIG_MAX_NET_QUEUES 3
#define CONFIG_MAX_VFIO    8
#define CONFIG_MAX_HOSTFWD 16
#define CONFIG_NAME_MAX    48
#define CONFIG_ERR_MAX     512

#define CONFIG_MAX_BACKING 8

struct disk_config {
	char *path;
	char format[16];          /* raw, qcow2, vmdk, vdi, vpc, vhdx */
	bool read_only;
	/* Backing files the image may use (its chain), opened read-only by
	 * mica and handed to mica-blockd; paths made canonical at start. */
	char *backing[CONFIG_MAX_BACKING];
	size_t nbacking;
	char *real_path;          /* the image's canonical path, at start */
};

struct net_config {
	char mode[16];            /* user, tap, macvtap */
	char *ifname;             /* tap: interface name (created if absent) */
	char *bridge;             /* tap: bridge to attach to */
	char *parent;             /* macvtap: parent interface */
	uint8_t mac[6];
	bool has_mac;
	char *hostfwd[CONFIG_MAX_HOSTFWD];
	size_t nhostfwd;
	unsigned queues;          /* queue pairs, tap/macvtap; 0: one */
	unsigned mtu;             /* 0: the host side's default, not advertised */
};

enum console_mode { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_NONE };

struct vm_config {
	char name[CONFIG_NAME_MAX + 1];
	unsigned cpus;
	uint64_t memory;          /* bytes */
	char accel[8];            /* kvm, tcg, auto */
	char *kernel;
	char *initrd;
	char *cmdline;
	struct disk_config disks[CONFIG_MAX_DISKS];
	size_t ndisks;
	struct net_config nets[CONFIG_MAX_NETS];
	size_t nnets;
	char *vfio[CONFIG_MAX_VFIO];
	size_t nvfio;
	enum console_mode console;
	char *console_path;
	uid_t jail_uid;
	gid_t jail_gid;
	bool seccomp_log;
	bool test_hooks;
};

void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);

/* Load a manifest into cfg.  Returns 0, or -EINVAL with err holding one
 * line "FILE: $.json.path: problem". */
int manifest_load(const char *path, struct vm_config *cfg, char *err, size_t errlen);

/* Parse a memory size ("512M", "2G", "1048576K", "256": MiB).  Returns 0
 * or -EINVAL. */
int parse_size(const char *text, uint64_t *bytes);

/* Parse one --disk / --net flag value into a new entry of cfg. */
int config_add_disk_flag(struct vm_config *cfg, const char *value, char *err, size_t errlen);
int config_add_net_flag(struct vm_config *cfg, const char *value, char *err, size_t errlen);

/* Checks that need the whole configuration (kernel given, files exist,
 * values consistent).  Returns 0 or -EINVAL with err set. */
int config_check(const struct vm_config *cfg, char *err, size_t errlen);

/* Shared validators, 0 or -EINVAL. */
int config_check_name(const char *name);
int config_check_hostfwd(const char *rule, char *why, size_t whylen);
int config_parse_mac(const char *text, uint8_t mac[6]);
bool config_known_format(const char *format);
bool config_known_net_mode(const char *mode);

#endif

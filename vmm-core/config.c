/* VM configuration: defaults, shared validators, flag parsing, checks. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->memory = 256ULL << 20;
	snprintf(cfg->accel, sizeof(cfg->accel), "auto");
	cfg->console = CONSOLE_STDIO;
	cfg->jail_uid = 65534;
	cfg->jail_gid = 65534;
}

static void disk_config_release(struct disk_config *d)
{
	free(d->path);
	free(d->real_path);
	for (size_t j = 0; j < d->nbacking; j++)
		free(d->backing[j]);
	memset(d, 0, sizeof(*d));
}

static void net_config_release(struct net_config *n)
{
	free(n->ifname);
	free(n->bridge);
	free(n->parent);
	for (size_t k = 0; k < n->nhostfwd; k++)
		free(n->hostfwd[k]);
	memset(n, 0, sizeof(*n));
}

void config_free(struct vm_config *cfg)
{
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->console_path);
	for (size_t i = 0; i < cfg->ndisks; i++)
		disk_config_release(&cfg->disks[i]);
	for (size_t i = 0; i < cfg->nnets; i++)
		net_config_release(&cfg->nets[i]);
	for (size_t i = 0; i < cfg->nvfio; i++)
		free(cfg->vfio[i]);
	memset(cfg, 0, sizeof(*cfg));
}

int parse_size(const char *text, uint64_t *bytes)
{
	unsigned long long v;
	unsigned shift = 20;          /* a bare number is MiB, as with qemu -m */
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0)
		return -EINVAL;
	if (*end != '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: return -EINVAL;
		}
		end++;
		if (toupper((unsigned char)*end) == 'I')   /* "MiB" style */
			end++;
		if (toupper((unsigned char)*end) == 'B')
			end++;
		if (*end != '\0')
			return -EINVAL;
	}
	if (v == 0 || v > (1ULL << 40) >> shift)
		return -EINVAL;
	v <<= shift;
	if (v < (1ULL << 20) || (v & 4095) != 0)
		return -EINVAL;
	*bytes = v;
	return 0;
}

int config_check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CONFIG_NAME_MAX || name[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
			return -EINVAL;
	return 0;
}

bool config_known_format(const char *format)
{
	static const char *const formats[] = { "raw", "qcow2", "vmdk", "vdi", "vpc",
					       "vhdx" };

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(format, formats[i]) == 0)
			return true;
	return false;
}

bool config_known_net_mode(const char *mode)
{
	return strcmp(mode, "user") == 0 || strcmp(mode, "tap") == 0 ||
	       strcmp(mode, "macvtap") == 0;
}

int config_parse_mac(const char *text, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (strlen(text) != 17 ||
	    sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	if (b[0] & 1)
		return -EINVAL;           /* multicast */
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
	return 0;
}

static int parse_port(const char *s, size_t len)
{
	int port = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	return port >= 1 && port <= 65535 ? port : -1;
}

/* "tcp:[hostaddr]:hostport-[guestaddr]:guestport", as with qemu's hostfwd. */
int config_check_hostfwd(const char *rule, char *why, size_t whylen)
{
	const char *p = rule, *colon, *dash;

	if (strncmp(p, "tcp:", 4) == 0 || strncmp(p, "udp:", 4) == 0)
		p += 4;
	else if (*p == ':')
		p += 1;               /* protocol defaults to tcp */
	else {
		snprintf(why, whylen, "expected tcp:... or udp:...");
		return -EINVAL;
	}
	dash = strchr(p, '-');
	if (dash == NULL) {
		snprintf(why, whylen, "expected HOST-GUEST, like tcp::2222-:22");
		return -EINVAL;
	}
	colon = memchr(p, ':', dash - p);
	if (colon == NULL || parse_port(colon + 1, dash - colon - 1) < 0) {
		snprintf(why, whylen, "bad host port");
		return -EINVAL;
	}
	colon = strchr(dash + 1, ':');
	if (colon == NULL || parse_port(colon + 1, strlen(colon + 1)) < 0) {
		snprintf(why, whylen, "bad guest port");
		return -EINVAL;
	}
	return 0;
}

static int flag_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int flag_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Split "a,k=v,k2=v2": the first item may be a bare value.  Calls
 * fn(key, value) for each; key is NULL for the bare first item. */
static int each_option(char *text, int (*fn)(void *, const char *, const char *,
					     char *, size_t),
		       void *arg, char *err, size_t errlen)
{
	char *save = NULL;
	bool first = true;

	for (char *item = strtok_r(text, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save), first = false) {
		char *eq = strchr(item, '=');
		int rc;

		if (eq != NULL) {
			*eq = '\0';
			rc = fn(arg, item, eq + 1, err, errlen);
		} else if (first) {
			rc = fn(arg, NULL, item, err, errlen);
		} else {
			rc = flag_fail(err, errlen, "\"%s\": expected key=value", item);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int disk_option(void *arg, const char *key, const char *value,
		       char *err, size_t errlen)
{
	struct disk_config *d = arg;

	if (key == NULL || strcmp(key, "path") == 0 || strcmp(key, "file") == 0) {
		free(d->path);
		d->path = strdup(value);
	} else if (strcmp(key, "format") == 0) {
		if (!config_known_format(value))
			return flag_fail(err, errlen, "--disk: unknown format \"%s\"", value);
		snprintf(d->format, sizeof(d->format), "%s", value);
	} else if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0) {
		if (strcmp(value, "on") && strcmp(value, "off") && strcmp(value, "true") &&
		    strcmp(value, "false"))
			return flag_fail(err, errlen, "--disk: readonly=%s: expected on or off",
					 value);
		d->read_only = !strcmp(value, "on") || !strcmp(value, "true");
	} else if (strcmp(key, "backing") == 0) {
		if (value[0] == '\0')
			return flag_fail(err, errlen, "--disk: backing= needs a path");
		if (d->nbacking == CONFIG_MAX_BACKING)
			return flag_fail(err, errlen, "--disk: backing=%s: at most %d backing "
					 "files", value, CONFIG_MAX_BACKING);
		d->backing[d->nbacking++] = strdup(value);
	} else {
		return flag_fail(err, errlen, "--disk: unknown option \"%s\" "
				 "(expected path, format, readonly, backing)", key);
	}
	return 0;
}

int config_add_disk_flag(struct vm_config *cfg, const char *value, char *err, size_t errlen)
{
	struct disk_config *d;
	char *copy;
	int rc;

	if (cfg->ndisks == CONFIG_MAX_DISKS)
		return flag_fail(err, errlen, "--disk: at most %d disks", CONFIG_MAX_DISKS);
	d = &cfg->disks[cfg->ndisks];
	memset(d, 0, sizeof(*d));
	copy = strdup(value);
	rc = each_option(copy, disk_option, d, err, errlen);
	free(copy);
	if (rc == 0 && d->path == NULL)
		rc = flag_fail(err, errlen, "--disk %s: no path", value);
	if (rc < 0) {
		disk_config_release(d);
		return rc;
	}
	cfg->ndisks++;
	return 0;
}

static int net_option(void *arg, const char *key, const char *value,
		      char *err, size_t errlen)
{
	struct net_config *n = arg;
	char why[128];

	if (key == NULL || strcmp(key, "mode") == 0) {
		if (!config_known_net_mode(value))
			return flag_fail(err, errlen, "--net: mode \"%s\" is not one of "
					 "user, tap, macvtap", value);
		snprintf(n->mode, sizeof(n->mode), "%s", value);
	} else if (strcmp(key, "hostfwd") == 0) {
		if (config_check_hostfwd(value, why, sizeof(why)) < 0)
			return flag_fail(err, errlen, "--net: hostfwd=%s: %s", value, why);
		if (n->nhostfwd == CONFIG_MAX_HOSTFWD)
			return flag_fail(err, errlen, "--net: too many hostfwd");
		n->hostfwd[n->nhostfwd++] = strdup(value);
	} else if (strcmp(key, "ifname") == 0 || strcmp(key, "bridge") == 0 ||
		   strcmp(key, "parent") == 0) {
		char **dst = key[0] == 'i' ? &n->ifname : key[0] == 'b' ? &n->bridge
									  : &n->parent;

		if (strlen(value) == 0 || strlen(value) > 15 || strpbrk(value, "/ :"))
			return flag_fail(err, errlen, "--net: %s=%s is not an interface name",
					 key, value);
		free(*dst);
		*dst = strdup(value);
	} else if (strcmp(key, "queues") == 0) {
		char *end;
		unsigned long q = strtoul(value, &end, 10);

		if (*value == '\0' || *end != '\0' || q < 1 || q > CONFIG_MAX_NET_QUEUES)
			return flag_fail(err, errlen, "--net: queues=%s is not 1..%d", value,
					 CONFIG_MAX_NET_QUEUES);
		n->queues = (unsigned)q;
	} else if (strcmp(key, "mtu") == 0) {
		char *end;
		unsigned long mtu = strtoul(value, &end, 10);

		if (*value == '\0' || *end != '\0' || mtu < 68 || mtu > 65535)
			return flag_fail(err, errlen, "--net: mtu=%s is not 68..65535", value);
		n->mtu = (unsigned)mtu;
	} else if (strcmp(key, "mac") == 0) {
		if (config_parse_mac(value, n->mac) < 0)
			return flag_fail(err, errlen, "--net: mac=%s is not a unicast MAC",
					 value);
		n->has_mac = true;
	} else {
		return flag_fail(err, errlen, "--net: unknown option \"%s\" (expected "
				 "hostfwd, ifname, bridge, parent, mac, queues, mtu)", key);
	}
	return 0;
}

int config_add_net_flag(struct vm_config *cfg, const char *value, char *err, size_t errlen)
{
	struct net_config *n;
	char *copy;
	int rc;

	if (cfg->nnets == CONFIG_MAX_NETS)
		return flag_fail(err, errlen, "--net: at most %d nics", CONFIG_MAX_NETS);
	n = &cfg->nets[cfg->nnets];
	memset(n, 0, sizeof(*n));
	copy = strdup(value);
	rc = each_option(copy, net_option, n, err, errlen);
	free(copy);
	if (rc == 0 && n->mode[0] == '\0')
		rc = flag_fail(err, errlen, "--net %s: no mode (user, tap, macvtap)", value);
	if (rc < 0) {
		net_config_release(n);      /* a refused flag adds no NIC */
		return rc;
	}
	cfg->nnets++;
	return 0;
}

int config_check(const struct vm_config *cfg, char *err, size_t errlen)
{
	if (cfg->kernel == NULL)
		return flag_fail(err, errlen, "$.boot.kernel: required (or --kernel)");
	if (access(cfg->kernel, R_OK) < 0)
		return flag_fail(err, errlen, "$.boot.kernel: cannot read \"%s\": %s",
				 cfg->kernel, strerror(errno));
	if (cfg->initrd != NULL && access(cfg->initrd, R_OK) < 0)
		return flag_fail(err, errlen, "$.boot.initrd: cannot read \"%s\": %s",
				 cfg->initrd, strerror(errno));
	for (size_t i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *d = &cfg->disks[i];

		if (access(d->path, d->read_only ? R_OK : R_OK | W_OK) < 0)
			return flag_fail(err, errlen, "$.disks[%zu].path: cannot %s \"%s\": %s",
					 i, d->read_only ? "read" : "read and write",
					 d->path, strerror(errno));
		for (size_t j = 0; j < d->nbacking; j++)
			if (access(d->backing[j], R_OK) < 0)
				return flag_fail(err, errlen, "$.disks[%zu].backing[%zu]: cannot "
						 "read \"%s\": %s", i, j, d->backing[j],
						 strerror(errno));
	}
	for (size_t i = 0; i < cfg->nnets; i++) {
		const struct net_config *n = &cfg->nets[i];

		if (n->nhostfwd > 0 && strcmp(n->mode, "user") != 0)
			return flag_fail(err, errlen, "$.nets[%zu].hostfwd: only for mode "
					 "\"user\"", i);
		if (n->queues > 1 && strcmp(n->mode, "user") == 0)
			return flag_fail(err, errlen, "$.nets[%zu].queues: one queue pair for "
					 "mode \"user\"", i);
		if (n->mtu > 1500 && strcmp(n->mode, "user") == 0)
			return flag_fail(err, errlen, "$.nets[%zu].mtu: at most 1500 for mode "
					 "\"user\"", i);
		if (strcmp(n->mode, "macvtap") == 0 && n->parent == NULL)
			return flag_fail(err, errlen, "$.nets[%zu].parent: required for "
					 "macvtap", i);
		if (strcmp(n->mode, "macvtap") != 0 && n->parent != NULL)
			return flag_fail(err, errlen, "$.nets[%zu].parent: only for macvtap", i);
		if (strcmp(n->mode, "tap") != 0 && (n->bridge != NULL || n->ifname != NULL))
			return flag_fail(err, errlen, "$.nets[%zu]: ifname and bridge are only "
					 "for mode \"tap\"", i);
	}
	if (cfg->console == CONSOLE_FILE && cfg->console_path == NULL)
		return flag_fail(err, errlen, "$.console.path: required for mode file");
	return 0;
}

/* Reading the VM manifest (docs/manifest.md) with json-c.
 *
 * Every problem is reported as one line naming the file, the JSON path
 * ($.machine.memory, $.disks[1].format, ...) and what is wrong.  Unknown
 * keys are errors, not warnings: a typo must not silently drop a setting.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "config.h"

struct mctx {
	const char *file;
	char *dir;                /* manifest's folder, for relative paths */
	char *err;
	size_t errlen;
};

static int fail(struct mctx *m, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct mctx *m, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(m->err, m->errlen, "%s: %s: ", m->file, path);
	if (n >= 0 && (size_t)n < m->errlen) {
		va_start(ap, fmt);
		vsnprintf(m->err + n, m->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const char *type_name(json_object *o)
{
	return json_type_to_name(json_object_get_type(o));
}

/* Reject keys not in the NULL-terminated list. */
static int check_keys(struct mctx *m, const char *path, json_object *obj,
		      const char *const *keys)
{
	json_object_object_foreach(obj, key, val) {
		bool known = false;
		char list[256] = "";
		size_t used = 0;

		(void)val;
		for (const char *const *k = keys; *k != NULL; k++)
			if (strcmp(key, *k) == 0)
				known = true;
		if (known)
			continue;
		for (const char *const *k = keys; *k != NULL && used < sizeof(list); k++)
			used += snprintf(list + used, sizeof(list) - used, "%s%s",
					 k == keys ? "" : ", ", *k);
		return fail(m, path, "unknown key \"%s\" (expected one of: %s)", key, list);
	}
	return 0;
}

static int want_type(struct mctx *m, const char *path, json_object *o,
		     json_type type)
{
	if (json_object_get_type(o) == type)
		return 0;
	return fail(m, path, "expected %s, got %s", json_type_to_name(type),
		    type_name(o));
}

static int get_string(struct mctx *m, const char *path, json_object *o,
		      const char **out)
{
	if (want_type(m, path, o, json_type_string) < 0)
		return -EINVAL;
	*out = json_object_get_string(o);
	if (strlen(*out) == 0)
		return fail(m, path, "must not be empty");
	return 0;
}

static int copy_string(struct mctx *m, const char *path, json_object *o,
		       char *dst, size_t dstlen)
{
	const char *s;

	if (get_string(m, path, o, &s) < 0)
		return -EINVAL;
	if (strlen(s) >= dstlen)
		return fail(m, path, "\"%s\" is too long", s);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* A host path; relative ones are taken from the manifest's folder. */
static int get_path(struct mctx *m, const char *path, json_object *o, char **out)
{
	const char *s;
	char buf[PATH_MAX];

	if (get_string(m, path, o, &s) < 0)
		return -EINVAL;
	if (s[0] == '/' || m->dir == NULL)
		snprintf(buf, sizeof(buf), "%s", s);
	else if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", m->dir, s) >= sizeof(buf))
		return fail(m, path, "path too long");
	free(*out);
	*out = strdup(buf);
	return *out != NULL ? 0 : -ENOMEM;
}

static int get_bool(struct mctx *m, const char *path, json_object *o, bool *out)
{
	if (want_type(m, path, o, json_type_boolean) < 0)
		return -EINVAL;
	*out = json_object_get_boolean(o);
	return 0;
}

static int get_uint(struct mctx *m, const char *path, json_object *o,
		    uint64_t min, uint64_t max, uint64_t *out)
{
	int64_t v;

	if (want_type(m, path, o, json_type_int) < 0)
		return -EINVAL;
	errno = 0;
	v = json_object_get_int64(o);
	if (errno != 0 || v < 0 || (uint64_t)v < min || (uint64_t)v > max)
		return fail(m, path, "%s out of range %llu..%llu",
			    json_object_to_json_string(o), (unsigned long long)min,
			    (unsigned long long)max);
	*out = v;
	return 0;
}

static int load_machine(struct mctx *m, json_object *obj, struct vm_config *cfg)
{
	static const char *const keys[] = { "cpus", "memory", "accel", NULL };
	json_object *v;
	uint64_t n;

	if (want_type(m, "$.machine", obj, json_type_object) < 0 ||
	    check_keys(m, "$.machine", obj, keys) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(obj, "cpus", &v)) {
		if (get_uint(m, "$.machine.cpus", v, 1, 255, &n) < 0)
			return -EINVAL;
		cfg->cpus = n;
	}
	if (json_object_object_get_ex(obj, "memory", &v)) {
		if (json_object_get_type(v) == json_type_int) {
			if (get_uint(m, "$.machine.memory", v, 1, 1 << 20, &n) < 0)
				return -EINVAL;
			cfg->memory = n << 20;
		} else {
			const char *s;

			if (get_string(m, "$.machine.memory", v, &s) < 0)
				return -EINVAL;
			if (parse_size(s, &cfg->memory) < 0)
				return fail(m, "$.machine.memory",
					    "invalid size \"%s\" (expected a number of MiB or "
					    "a number with a K, M, G or T suffix, at least 1M "
					    "and a multiple of 4K)", s);
		}
	}
	if (json_object_object_get_ex(obj, "accel", &v)) {
		if (copy_string(m, "$.machine.accel", v, cfg->accel, sizeof(cfg->accel)) < 0)
			return -EINVAL;
		if (strcmp(cfg->accel, "kvm") && strcmp(cfg->accel, "tcg") &&
		    strcmp(cfg->accel, "auto"))
			return fail(m, "$.machine.accel",
				    "\"%s\" is not one of kvm, tcg, auto", cfg->accel);
	}
	return 0;
}

static int load_boot(struct mctx *m, json_object *obj, struct vm_config *cfg)
{
	static const char *const keys[] = { "kernel", "initrd", "cmdline", NULL };
	json_object *v;

	if (want_type(m, "$.boot", obj, json_type_object) < 0 ||
	    check_keys(m, "$.boot", obj, keys) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(obj, "kernel", &v) &&
	    get_path(m, "$.boot.kernel", v, &cfg->kernel) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(obj, "initrd", &v) &&
	    get_path(m, "$.boot.initrd", v, &cfg->initrd) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(obj, "cmdline", &v)) {
		if (want_type(m, "$.boot.cmdline", v, json_type_string) < 0)
			return -EINVAL;
		free(cfg->cmdline);
		cfg->cmdline = strdup(json_object_get_string(v));
		if (strlen(cfg->cmdline) > 4095)
			return fail(m, "$.boot.cmdline", "longer than 4095 bytes");
	}
	return 0;
}

static int load_disk(struct mctx *m, const char *path, json_object *obj,
		     struct disk_config *disk)
{
	static const char *const keys[] = { "path", "format", "readonly", "backing", NULL };
	char sub[64];
	json_object *v;

	if (want_type(m, path, obj, json_type_object) < 0 ||
	    check_keys(m, path, obj, keys) < 0)
		return -EINVAL;
	snprintf(sub, sizeof(sub), "%s.path", path);
	if (!json_object_object_get_ex(obj, "path", &v))
		return fail(m, sub, "required");
	if (get_path(m, sub, v, &disk->path) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(obj, "format", &v)) {
		snprintf(sub, sizeof(sub), "%s.format", path);
		if (copy_string(m, sub, v, disk->format, sizeof(disk->format)) < 0)
			return -EINVAL;
		if (!config_known_format(disk->format))
			return fail(m, sub, "unknown format \"%s\" (expected raw, qcow2, "
				    "vmdk, vdi, vpc or vhdx)", disk->format);
	}
	if (json_object_object_get_ex(obj, "readonly", &v)) {
		snprintf(sub, sizeof(sub), "%s.readonly", path);
		if (get_bool(m, sub, v, &disk->read_only) < 0)
			return -EINVAL;
	}
	if (json_object_object_get_ex(obj, "backing", &v)) {
		snprintf(sub, sizeof(sub), "%s.backing", path);
		if (want_type(m, sub, v, json_type_array) < 0)
			return -EINVAL;
		if (json_object_array_length(v) > CONFIG_MAX_BACKING)
			return fail(m, sub, "at most %d backing files", CONFIG_MAX_BACKING);
		for (size_t j = 0; j < json_object_array_length(v); j++) {
			snprintf(sub, sizeof(sub), "%s.backing[%zu]", path, j);
			if (get_path(m, sub, json_object_array_get_idx(v, j),
				     &disk->backing[disk->nbacking++]) < 0)
				return -EINVAL;
		}
	}
	return 0;
}

static int load_net(struct mctx *m, const char *path, json_object *obj,
		    struct net_config *net)
{
	static const char *const keys[] = { "mode", "ifname", "bridge", "parent",
					    "mac", "hostfwd", "queues", "mtu", NULL };
	char sub[80];
	json_object *v;
	const char *s;

	if (want_type(m, path, obj, json_type_object) < 0 ||
	    check_keys(m, path, obj, keys) < 0)
		return -EINVAL;
	snprintf(sub, sizeof(sub), "%s.mode", path);
	if (!json_object_object_get_ex(obj, "mode", &v))
		return fail(m, sub, "required (user, tap or macvtap)");
	if (copy_string(m, sub, v, net->mode, sizeof(net->mode)) < 0)
		return -EINVAL;
	if (!config_known_net_mode(net->mode))
		return fail(m, sub, "\"%s\" is not one of user, tap, macvtap", net->mode);

	static const struct { const char *key; size_t off; } strs[] = {
		{ "ifname", offsetof(struct net_config, ifname) },
		{ "bridge", offsetof(struct net_config, bridge) },
		{ "parent", offsetof(struct net_config, parent) },
	};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		char **dst = (char **)((char *)net + strs[i].off);

		if (!json_object_object_get_ex(obj, strs[i].key, &v))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", path, strs[i].key);
		if (get_string(m, sub, v, &s) < 0)
			return -EINVAL;
		if (strlen(s) > 15 || strpbrk(s, "/ \t:") != NULL)
			return fail(m, sub, "\"%s\" is not a valid interface name", s);
		*dst = strdup(s);
	}
	if (json_object_object_get_ex(obj, "mac", &v)) {
		snprintf(sub, sizeof(sub), "%s.mac", path);
		if (get_string(m, sub, v, &s) < 0)
			return -EINVAL;
		if (config_parse_mac(s, net->mac) < 0)
			return fail(m, sub, "\"%s\" is not a unicast MAC address "
				    "like 52:54:00:12:34:56", s);
		net->has_mac = true;
	}
	if (json_object_object_get_ex(obj, "queues", &v)) {
		uint64_t n;

		snprintf(sub, sizeof(sub), "%s.queues", path);
		if (get_uint(m, sub, v, 1, CONFIG_MAX_NET_QUEUES, &n) < 0)
			return -EINVAL;
		net->queues = (unsigned)n;
	}
	if (json_object_object_get_ex(obj, "mtu", &v)) {
		uint64_t n;

		snprintf(sub, sizeof(sub), "%s.mtu", path);
		if (get_uint(m, sub, v, 68, 65535, &n) < 0)
			return -EINVAL;
		net->mtu = (unsigned)n;
	}
	if (json_object_object_get_ex(obj, "hostfwd", &v)) {
		snprintf(sub, sizeof(sub), "%s.hostfwd", path);
		if (want_type(m, sub, v, json_type_array) < 0)
			return -EINVAL;
		if (json_object_array_length(v) > CONFIG_MAX_HOSTFWD)
			return fail(m, sub, "more than %d forwards", CONFIG_MAX_HOSTFWD);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			char why[128];

			snprintf(sub, sizeof(sub), "%s.hostfwd[%zu]", path, i);
			if (get_string(m, sub, json_object_array_get_idx(v, i), &s) < 0)
				return -EINVAL;
			if (config_check_hostfwd(s, why, sizeof(why)) < 0)
				return fail(m, sub, "\"%s\": %s", s, why);
			net->hostfwd[net->nhostfwd++] = strdup(s);
		}
	}
	return 0;
}

static int load_array(struct mctx *m, const char *path, json_object *arr,
		      size_t max, size_t *count,
		      int (*one)(struct mctx *, const char *, json_object *, void *),
		      void *base, size_t stride)
{
	char sub[64];

	if (want_type(m, path, arr, json_type_array) < 0)
		return -EINVAL;
	if (json_object_array_length(arr) > max)
		return fail(m, path, "%zu entries, at most %zu",
			    json_object_array_length(arr), max);
	*count = 0;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		/* Counted before it is filled, so that config_free releases
		 * what a half-read entry already holds. */
		(*count)++;
		if (one(m, sub, json_object_array_get_idx(arr, i),
			(char *)base + i * stride) < 0)
			return -EINVAL;
	}
	return 0;
}

static int one_disk(struct mctx *m, const char *path, json_object *o, void *p)
{
	return load_disk(m, path, o, p);
}

static int one_net(struct mctx *m, const char *path, json_object *o, void *p)
{
	return load_net(m, path, o, p);
}

static int one_vfio(struct mctx *m, const char *path, json_object *o, void *p)
{
	unsigned dom, bus, dev, fn;
	const char *s;
	char tail;

	if (get_string(m, path, o, &s) < 0)
		return -EINVAL;
	if (sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) != 4 ||
	    strlen(s) != 12 || dev > 0x1f || fn > 7)
		return fail(m, path, "\"%s\" is not a PCI address like 0000:01:00.0", s);
	*(char **)p = strdup(s);
	return 0;
}

static int load_console(struct mctx *m, json_object *obj, struct vm_config *cfg)
{
	static const char *const keys[] = { "mode", "path", NULL };
	json_object *v;
	char mode[8];

	if (want_type(m, "$.console", obj, json_type_object) < 0 ||
	    check_keys(m, "$.console", obj, keys) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(obj, "mode", &v)) {
		if (copy_string(m, "$.console.mode", v, mode, sizeof(mode)) < 0)
			return -EINVAL;
		if (strcmp(mode, "stdio") == 0)
			cfg->console = CONSOLE_STDIO;
		else if (strcmp(mode, "file") == 0)
			cfg->console = CONSOLE_FILE;
		else if (strcmp(mode, "none") == 0)
			cfg->console = CONSOLE_NONE;
		else
			return fail(m, "$.console.mode",
				    "\"%s\" is not one of stdio, file, none", mode);
	}
	if (json_object_object_get_ex(obj, "path", &v) &&
	    get_path(m, "$.console.path", v, &cfg->console_path) < 0)
		return -EINVAL;
	if (cfg->console == CONSOLE_FILE && cfg->console_path == NULL)
		return fail(m, "$.console.path", "required when mode is \"file\"");
	return 0;
}

static int load_jail(struct mctx *m, json_object *obj, struct vm_config *cfg)
{
	static const char *const keys[] = { "uid", "gid", "seccomp", NULL };
	json_object *v;
	uint64_t n;
	char mode[8];

	if (want_type(m, "$.jail", obj, json_type_object) < 0 ||
	    check_keys(m, "$.jail", obj, keys) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(obj, "uid", &v)) {
		if (get_uint(m, "$.jail.uid", v, 1, 0x7fffffff, &n) < 0)
			return -EINVAL;
		cfg->jail_uid = n;
	}
	if (json_object_object_get_ex(obj, "gid", &v)) {
		if (get_uint(m, "$.jail.gid", v, 1, 0x7fffffff, &n) < 0)
			return -EINVAL;
		cfg->jail_gid = n;
	}
	if (json_object_object_get_ex(obj, "seccomp", &v)) {
		if (copy_string(m, "$.jail.seccomp", v, mode, sizeof(mode)) < 0)
			return -EINVAL;
		if (strcmp(mode, "kill") == 0)
			cfg->seccomp_log = false;
		else if (strcmp(mode, "log") == 0)
			cfg->seccomp_log = true;
		else
			return fail(m, "$.jail.seccomp", "\"%s\" is not one of kill, log",
				    mode);
	}
	return 0;
}

static int load_root(struct mctx *m, json_object *root, struct vm_config *cfg)
{
	static const char *const keys[] = { "name", "machine", "boot", "disks", "nets",
					    "vfio", "console", "jail", "test_hooks",
					    NULL };
	json_object *v;

	if (want_type(m, "$", root, json_type_object) < 0 ||
	    check_keys(m, "$", root, keys) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "name", &v)) {
		if (copy_string(m, "$.name", v, cfg->name, sizeof(cfg->name)) < 0)
			return -EINVAL;
		if (config_check_name(cfg->name) < 0)
			return fail(m, "$.name", "\"%s\": use 1-%d letters, digits, '-', "
				    "'_' or '.', not starting with '.'", cfg->name,
				    CONFIG_NAME_MAX);
	}
	if (json_object_object_get_ex(root, "machine", &v) && load_machine(m, v, cfg) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "boot", &v) && load_boot(m, v, cfg) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "disks", &v) &&
	    load_array(m, "$.disks", v, CONFIG_MAX_DISKS, &cfg->ndisks, one_disk,
		       cfg->disks, sizeof(cfg->disks[0])) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "nets", &v) &&
	    load_array(m, "$.nets", v, CONFIG_MAX_NETS, &cfg->nnets, one_net,
		       cfg->nets, sizeof(cfg->nets[0])) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "vfio", &v) &&
	    load_array(m, "$.vfio", v, CONFIG_MAX_VFIO, &cfg->nvfio, one_vfio,
		       cfg->vfio, sizeof(cfg->vfio[0])) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "console", &v) && load_console(m, v, cfg) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "jail", &v) && load_jail(m, v, cfg) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "test_hooks", &v) &&
	    get_bool(m, "$.test_hooks", v, &cfg->test_hooks) < 0)
		return -EINVAL;
	return 0;
}

/* Read the whole file; json-c's own file reader hides the errno. */
static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > (1 << 20)) {
				errno = EFBIG;
				goto fail;
			}
			nb = realloc(buf, cap);
			if (nb == NULL)
				goto fail;
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

/* Blank out line comments (//) and block comments outside strings,
 * keeping newlines so that syntax errors still name the right line.
 * json-c's strict mode, which we want for everything else, refuses
 * comments. */
static void blank_comments(char *text)
{
	bool in_string = false;

	for (char *p = text; *p != '\0'; p++) {
		if (in_string) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				in_string = false;
		} else if (*p == '"') {
			in_string = true;
		} else if (p[0] == '/' && p[1] == '/') {
			while (*p != '\0' && *p != '\n')
				*p++ = ' ';
			if (*p == '\0')
				break;
		} else if (p[0] == '/' && p[1] == '*') {
			char *end = strstr(p + 2, "*/");

			if (end == NULL)
				break;        /* left for the parser to report */
			for (; p < end + 2; p++)
				if (*p != '\n')
					*p = ' ';
			p--;
		}
	}
}

int manifest_load(const char *path, struct vm_config *cfg, char *err, size_t errlen)
{
	struct mctx m = { .file = path, .err = err, .errlen = errlen };
	struct json_tokener *tok = NULL;
	json_object *root = NULL;
	char *text, *dircopy;
	size_t len, line = 1;
	int rc;

	text = read_text(path, &len);
	if (text == NULL) {
		snprintf(err, errlen, "%s: cannot read manifest: %s", path, strerror(errno));
		return -EINVAL;
	}
	blank_comments(text);
	tok = json_tokener_new();
	if (tok == NULL) {
		free(text);
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, len);
	if (root == NULL || json_tokener_get_parse_end(tok) < len) {
		enum json_tokener_error je = json_tokener_get_error(tok);
		size_t at = json_tokener_get_parse_end(tok);

		for (size_t i = 0; i < at && i < len; i++)
			line += text[i] == '\n';
		snprintf(err, errlen, "%s: line %zu: JSON syntax error: %s", path, line,
			 je == json_tokener_success ? "trailing data after the manifest"
			 : je == json_tokener_continue ? "unexpected end of file"
			 : json_tokener_error_desc(je));
		json_object_put(root);
		json_tokener_free(tok);
		free(text);
		return -EINVAL;
	}
	json_tokener_free(tok);
	free(text);

	dircopy = strdup(path);
	m.dir = dircopy != NULL ? dirname(dircopy) : NULL;
	rc = load_root(&m, root, cfg);
	free(dircopy);
	json_object_put(root);
	return rc;
}

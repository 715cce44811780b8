/* mica: the launcher.  `mica run` reads a manifest and/or flags, then
 * starts and supervises the VM's jailed process set (vm.c); the other
 * commands talk to a running VM over its control socket (control.c). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

#define EXIT_USAGE 2

static void usage(FILE *out)
{
	fprintf(out,
"usage: mica run [MANIFEST.json] [options]   start a VM and supervise it\n"
"       mica ps                              list running VMs\n"
"       mica status VM [--json]              processes of a VM\n"
"       mica stop VM                         stop a VM in order\n"
"       mica debug VM PROCESS forbidden-syscall   (needs \"test_hooks\": true)\n"
"\n"
"run options (override the manifest; see docs/manifest.md):\n"
"  --name NAME          VM name (default: manifest file name)\n"
"  --kernel PATH        kernel image (bzImage or vmlinux)\n"
"  --initrd PATH        initial ramdisk\n"
"  --append TEXT        kernel command line\n"
"  --memory SIZE        guest RAM, e.g. 512M or 2G (default 256M)\n"
"  --cpus N             vCPUs (default 1)\n"
"  --accel kvm|tcg|auto accelerator (default auto)\n"
"  --disk PATH[,format=raw|qcow2|...][,readonly=on]   (repeatable)\n"
"  --net user[,hostfwd=tcp::2222-:22] | tap[,ifname=X][,bridge=Y] |\n"
"        macvtap,parent=IF; each [,mac=M][,mtu=N], tap/macvtap [,queues=1..3]\n"
"                             (repeatable)\n"
"  --console stdio|none|file:PATH   (stdio: stdin is the serial input;\n"
"                       on a terminal Ctrl-A x stops the VM, Ctrl-A h: help)\n"
"  --seccomp-log        log seccomp violations instead of killing (debug)\n");
}

static int flag_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int flag_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mica: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return -EINVAL;
}

static char *dup_path(char **dst, const char *value)
{
	free(*dst);
	*dst = strdup(value);
	return *dst;
}

/* Apply one run flag; returns 0 or -EINVAL after printing the problem. */
static int apply_flag(struct vm_config *cfg, int opt, const char *value)
{
	char err[CONFIG_ERR_MAX];
	char *end;
	unsigned long n;

	switch (opt) {
	case 'N':
		if (config_check_name(value) < 0)
			return flag_error("--name: \"%s\" is not a valid VM name", value);
		snprintf(cfg->name, sizeof(cfg->name), "%s", value);
		return 0;
	case 'k': dup_path(&cfg->kernel, value); return 0;
	case 'i': dup_path(&cfg->initrd, value); return 0;
	case 'a': dup_path(&cfg->cmdline, value); return 0;
	case 'm':
		if (parse_size(value, &cfg->memory) < 0)
			return flag_error("--memory: invalid size \"%s\" (expected e.g. 512M or 2G)",
					  value);
		return 0;
	case 'c':
		errno = 0;
		n = strtoul(value, &end, 10);
		if (errno || *end || end == value || n < 1 || n > 255)
			return flag_error("--cpus: \"%s\" is not a number from 1 to 255", value);
		cfg->cpus = n;
		return 0;
	case 'A':
		if (strcmp(value, "kvm") && strcmp(value, "tcg") && strcmp(value, "auto"))
			return flag_error("--accel: \"%s\" is not one of kvm, tcg, auto", value);
		snprintf(cfg->accel, sizeof(cfg->accel), "%s", value);
		return 0;
	case 'd':
		if (config_add_disk_flag(cfg, value, err, sizeof(err)) < 0)
			return flag_error("%s", err);
		return 0;
	case 'n':
		if (config_add_net_flag(cfg, value, err, sizeof(err)) < 0)
			return flag_error("%s", err);
		return 0;
	case 'C':
		if (strcmp(value, "stdio") == 0)
			cfg->console = CONSOLE_STDIO;
		else if (strcmp(value, "none") == 0)
			cfg->console = CONSOLE_NONE;
		else if (strncmp(value, "file:", 5) == 0 && value[5] != '\0') {
			cfg->console = CONSOLE_FILE;
			dup_path(&cfg->console_path, value + 5);
		} else
			return flag_error("--console: \"%s\" is not stdio, none or file:PATH",
					  value);
		return 0;
	case 'L': cfg->seccomp_log = true; return 0;
	case 'T': cfg->test_hooks = true; return 0;
	default: return -EINVAL;
	}
}

static void default_name(struct vm_config *cfg, const char *manifest)
{
	const char *base;
	size_t len;

	if (cfg->name[0] != '\0')
		return;
	if (manifest != NULL) {
		base = strrchr(manifest, '/');
		base = base != NULL ? base + 1 : manifest;
		len = strcspn(base, ".");
		if (len > CONFIG_NAME_MAX)
			len = CONFIG_NAME_MAX;
		snprintf(cfg->name, sizeof(cfg->name), "%.*s", (int)len, base);
		if (config_check_name(cfg->name) == 0)
			return;
	}
	snprintf(cfg->name, sizeof(cfg->name), "mica-%d", (int)getpid());
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "accel", required_argument, NULL, 'A' },
		{ "disk", required_argument, NULL, 'd' },
		{ "net", required_argument, NULL, 'n' },
		{ "console", required_argument, NULL, 'C' },
		{ "seccomp-log", no_argument, NULL, 'L' },
		{ "test-hooks", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm_config cfg;
	char err[CONFIG_ERR_MAX];
	const char *manifest = NULL;
	struct { int opt; const char *value; } flags[64];
	size_t nflags = 0;
	int opt, rc;

	/* Collect flags first: the manifest is loaded before they apply. */
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == '?' || nflags == 64) {
			usage(stderr);
			return EXIT_USAGE;
		}
		flags[nflags].opt = opt;
		flags[nflags].value = optarg;
		nflags++;
	}
	if (optind < argc)
		manifest = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "mica: run: unexpected argument \"%s\"\n", argv[optind]);
		return EXIT_USAGE;
	}

	config_init(&cfg);
	if (manifest != NULL && manifest_load(manifest, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mica: %s\n", err);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < nflags; i++) {
		if (apply_flag(&cfg, flags[i].opt, flags[i].value) < 0) {
			config_free(&cfg);
			return EXIT_USAGE;
		}
	}
	default_name(&cfg, manifest);
	if (config_check(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mica: %s%s%s\n", manifest ? manifest : "", manifest ? ": " : "",
			err);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	rc = vm_run(&cfg);
	config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	log_init("mica");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (cmd == NULL || strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		usage(cmd == NULL ? stderr : stdout);
		return cmd == NULL ? EXIT_USAGE : 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("mica 0.1\n");
		return 0;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "ps") == 0 && argc == 2)
		return client_ps();
	if (strcmp(cmd, "status") == 0 && (argc == 3 || argc == 4)) {
		bool json = argc == 4 && strcmp(argv[3], "--json") == 0;

		if (argc == 4 && !json) {
			fprintf(stderr, "mica: status: unknown option \"%s\"\n", argv[3]);
			return EXIT_USAGE;
		}
		return client_status(argv[2], json);
	}
	if (strcmp(cmd, "stop") == 0 && argc == 3)
		return client_stop(argv[2]);
	if (strcmp(cmd, "debug") == 0 && argc == 5)
		return client_debug(argv[2], argv[3], argv[4]);
	fprintf(stderr, "mica: unknown command or wrong arguments: %s\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}

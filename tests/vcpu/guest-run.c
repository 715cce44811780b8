/* guest-run: run a small test guest on the accelerator with the legacy
 * devices in-process and report how it ended.
 *
 *   guest-run [-a kvm] [-m MiB] [-c vcpus] [-t seconds] [-s]
 *             [-r console-input] [-R reboots] [-b vhost-user-blk-socket]
 *             (-f flat.bin | -k kernel [-i initrd] [-l cmdline])
 *
 * Guest serial output goes to stdout.  With -R N a guest reset starts a
 * fresh VM on the same RAM up to N times (legacy devices are kept).  Port 0xf4 is a test-only exit
 * device: writing V ends the VM with exit status V.  The closing line on
 * stderr is "guest-run: <stop reason> status N, E exits".  Exit status:
 * the guest's for "exit", 0 for reset or poweroff, 2 shutdown, 3 halt/error,
 * 4 timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "accel.h"
#include "machine.h"
#include "boot/boot.h"
#include "harness.h"

#define FLAT_LOAD_ADDR 0x7c00

static struct machine the_machine;
static unsigned timeout_s = 20;
static volatile int timed_out;
/* The watchdog may only poke a machine that exists. */
static pthread_mutex_t machine_lock = PTHREAD_MUTEX_INITIALIZER;
static int machine_live;

static void *watchdog(void *arg)
{
	struct machine *m = arg;

	sleep(timeout_s);
	pthread_mutex_lock(&machine_lock);
	timed_out = 1;
	if (machine_live)
		machine_request_stop(m, MACHINE_ERROR, 4);
	pthread_mutex_unlock(&machine_lock);
	return NULL;
}

static void set_live(int live)
{
	pthread_mutex_lock(&machine_lock);
	machine_live = live;
	pthread_mutex_unlock(&machine_lock);
}

static void usage(void)
{
	fprintf(stderr, "usage: guest-run [-a accel] [-m MiB] [-c vcpus] "
		"[-t seconds] [-s] [-r input] [-R reboots] [-b vhost-user-socket] "
		"(-f flat.bin | "
		"-k kernel [-i initrd] "
		"[-l cmdline])\n");
	exit(64);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Create the machine, attach the devices, load the guest.  Fatal on
 * failure: this is a test tool. */
static void boot(const struct accel_ops *ops, int memfd, unsigned mib,
		 unsigned vcpus, const char *flat, const char *kernel,
		 const void *image, size_t image_len,
		 const struct boot_config *cfg)
{
	struct boot_entry entry;
	int err;

	err = machine_create(&the_machine, ops, memfd, (uint64_t)mib << 20, vcpus);
	if (err < 0)
		fatalx("cannot create the machine: %s", strerror(-err));
	err = harness_devices_init(&the_machine, vcpus);
	if (err < 0)
		fatalx("devices: %s", strerror(-err));
	if (flat != NULL)
		err = boot_load_flat(&the_machine.mem, image, image_len,
				     FLAT_LOAD_ADDR, &entry);
	else
		err = boot_load_kernel(&the_machine.mem, image, image_len, cfg,
				       &entry);
	if (err == 0)
		err = boot_vcpu_setup(ops, the_machine.vcpu[0], &the_machine.mem,
				      &entry);
	if (err < 0)
		fatalx("cannot load %s: %s", flat ? flat : kernel, strerror(-err));
	set_live(1);
}

static void teardown(int keep_legacy)
{
	set_live(0);
	if (keep_legacy)
		harness_devices_detach();
	else
		harness_devices_fini();
	machine_destroy(&the_machine);
}

int main(int argc, char **argv)
{
	const char *accel = "kvm", *flat = NULL, *kernel = NULL, *initrd = NULL;
	const char *input = NULL, *vhost_user_blk = NULL;
	struct boot_config cfg = { .cmdline = "" };
	unsigned mib = 64, vcpus = 1, reboots = 0;
	int opt, err, memfd, stats = 0, rc;
	const struct accel_ops *ops;
	void *image = NULL, *rd = NULL;
	size_t image_len = 0;
	enum machine_stop why;
	pthread_t wd;
	double t0;

	log_init("guest-run");
	while ((opt = getopt(argc, argv, "a:m:c:t:f:k:i:l:r:R:sb:")) != -1) {
		switch (opt) {
		case 'a': accel = optarg; break;
		case 'm': mib = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'c': vcpus = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': timeout_s = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'f': flat = optarg; break;
		case 'k': kernel = optarg; break;
		case 'i': initrd = optarg; break;
		case 'l': cfg.cmdline = optarg; break;
		case 'r': input = optarg; break;
		case 'R': reboots = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': stats = 1; break;
		case 'b': vhost_user_blk = optarg; break;
		default: usage();
		}
	}
	if ((flat == NULL) == (kernel == NULL) || mib < 2 || vcpus == 0)
		usage();
	cfg.nr_vcpus = vcpus;
	ops = accel_find(accel);
	if (ops == NULL)
		return 3;
	err = boot_read_file(flat ? flat : kernel, &image, &image_len);
	if (err == 0 && initrd != NULL)
		err = boot_read_file(initrd, &rd, &cfg.initrd_size);
	if (err < 0)
		return 3;
	cfg.initrd = rd;

	/* Guest RAM as the launcher hands it over: one memfd, kept across
	 * reboots (a reset does not clear memory). */
	memfd = memfd_create("guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0 || ftruncate(memfd, (off_t)mib << 20) < 0)
		fatal("guest RAM");
	if (input != NULL)
		harness_console_input(input);
	if (vhost_user_blk != NULL)
		harness_vhost_user_blk(vhost_user_blk, memfd);

	pthread_create(&wd, NULL, watchdog, &the_machine);
	t0 = now();
	for (;;) {
		boot(ops, memfd, mib, vcpus, flat, kernel, image, image_len, &cfg);
		why = machine_run(&the_machine);
		if (why != MACHINE_RESET || reboots == 0 || timed_out)
			break;
		/* Reset: a fresh VM and vCPUs on the same RAM, devices
		 * outside the VM kept, the guest loaded again. */
		reboots--;
		fflush(stdout);
		fprintf(stderr, "guest-run: reset, rebooting\n");
		teardown(1);
	}
	/* The watchdog must not touch the machine once it is torn down. */
	set_live(0);
	pthread_cancel(wd);
	pthread_join(wd, NULL);
	fflush(stdout);
	if (stats)
		fprintf(stderr, "guest-run: %.3f s, %.2f us per exit\n",
			now() - t0, (now() - t0) * 1e6 /
			(double)(the_machine.nr_exits ? the_machine.nr_exits : 1));
	fprintf(stderr, "guest-run: %s status %d, %llu exits\n",
		timed_out ? "timeout" : machine_stop_name(why),
		the_machine.exit_status,
		(unsigned long long)the_machine.nr_exits);
	switch (why) {
	case MACHINE_EXIT: rc = the_machine.exit_status; break;
	case MACHINE_RESET: rc = 0; break;
	case MACHINE_POWEROFF: rc = 0; break;
	case MACHINE_SHUTDOWN: rc = 2; break;
	default: rc = timed_out ? 4 : 3; break;
	}
	teardown(0);
	close(memfd);
	free(image);
	free(rd);
	return rc;
}

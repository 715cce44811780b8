/* mica-vcpu: the vCPU runner.
 *
 * Today it receives and checks the machine it will run: the sealed guest
 * RAM memfd (mapped here), /dev/kvm when KVM was chosen, the kernel and
 * initrd, and the channel ends towards the device processes.  Running
 * vCPUs arrives with the KVM and translator work; until then the runner
 * says so in its status line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

extern const struct jail_policy vcpu_policy;

#define MAX_DEVICES 16

struct runner {
	void *ram;
	uint64_t ram_size;
	int ram_fd;
	int kvm_fd;
	int kernel_fd;
	int initrd_fd;
	int legacy_fd;
	int vhost_user_blk[MAX_DEVICES];   /* our ends, by disk index */
	int vhost_user_net[MAX_DEVICES];   /* by nic index */
	unsigned cpus;
};

static struct runner runner = {
	.ram_fd = -1, .kvm_fd = -1, .kernel_fd = -1, .initrd_fd = -1, .legacy_fd = -1,
};

/* Guest RAM must be exactly the promised size and sealed against resizing,
 * or a device process could make our mapping fault under us. */
static int map_guest_ram(struct runner *r, int fd, uint64_t size)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != size) {
		log_warnx("guest RAM memfd is %lld bytes, expected %llu",
			  (long long)st.st_size, (unsigned long long)size);
		return -EINVAL;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) !=
			 (F_SEAL_SHRINK | F_SEAL_GROW)) {
		log_warnx("guest RAM memfd is not sealed against resizing");
		return -EINVAL;
	}
	r->ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		      fd, 0);
	if (r->ram == MAP_FAILED) {
		r->ram = NULL;
		return -errno;
	}
	r->ram_fd = fd;
	r->ram_size = size;
	return 0;
}

static int runner_setup(struct daemon *d, struct ipc_msg *msg)
{
	const Mica__Setup *s = msg->env->setup;
	struct runner *r = &runner;
	struct stat st;
	int fd, err;

	if (s->machine == NULL) {
		log_warnx("setup has no machine configuration");
		return -EINVAL;
	}
	fd = daemon_take_fd(msg, MICA__FD_KIND__FD_GUEST_RAM, 0);
	if (fd < 0) {
		log_warnx("setup has no guest RAM");
		return -EINVAL;
	}
	err = map_guest_ram(r, fd, s->machine->memory_bytes);
	if (err < 0) {
		close(fd);
		return err;
	}
	r->cpus = s->machine->cpus;
	r->kvm_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_KVM, 0);
	r->kernel_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_KERNEL, 0);
	r->initrd_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_INITRD, 0);
	r->legacy_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_LEGACY_CHANNEL, 0);
	for (uint32_t i = 0; i < MAX_DEVICES; i++) {
		r->vhost_user_blk[i] = daemon_take_fd(msg, MICA__FD_KIND__FD_VHOST_USER_BLK, i);
		r->vhost_user_net[i] = daemon_take_fd(msg, MICA__FD_KIND__FD_VHOST_USER_NET, i);
	}
	if (r->kernel_fd < 0 || fstat(r->kernel_fd, &st) < 0) {
		log_warnx("setup has no usable kernel fd");
		return -EINVAL;
	}
	daemon_set_detail(d, "%llu MiB RAM mapped, %u vCPU, kernel %lld bytes, accel %s; "
			  "running vCPUs is not supported yet",
			  (unsigned long long)(r->ram_size >> 20), r->cpus,
			  (long long)st.st_size, s->machine->accel);
	return 0;
}

/* A device process restarted: its new vhost-user socket end replaces the
 * old one.  (Renegotiating with the new backend comes with the vhost-user
 * frontend.) */
static int runner_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	struct runner *r = &runner;
	int *slot = NULL;

	if (info->index < MAX_DEVICES && info->kind == MICA__FD_KIND__FD_VHOST_USER_BLK)
		slot = &r->vhost_user_blk[info->index];
	else if (info->index < MAX_DEVICES &&
		 info->kind == MICA__FD_KIND__FD_VHOST_USER_NET)
		slot = &r->vhost_user_net[info->index];
	else if (info->kind == MICA__FD_KIND__FD_LEGACY_CHANNEL)
		slot = &r->legacy_fd;
	if (slot == NULL) {
		close(fd);
		return -EINVAL;
	}
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
	return 0;
}

static void runner_shutdown(struct daemon *d)
{
	struct runner *r = &runner;

	if (r->ram != NULL)
		munmap(r->ram, r->ram_size);
	/* The fds go with the process. */
}

static const struct daemon_ops runner_ops = {
	.program = "mica-vcpu",
	.role = MICA__ROLE__ROLE_VCPU,
	.policy = &vcpu_policy,
	.setup = runner_setup,
	.attach = runner_attach,
	.shutdown = runner_shutdown,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &runner_ops);
}

/* mica-vcpu: the vCPU runner.
 *
 * Setup builds the machine on the launcher's guest RAM memfd with the
 * /dev/kvm fd it was given, loads the kernel (PVH ELF or bzImage), wires
 * the ISA interrupt-line eventfds as irqfds, claims the legacy ports for
 * forwarding to mica-legacy (legacy-forward.c), puts the PCI host bridge
 * on the buses, and starts the vCPUs on a machine thread.  When the
 * machine stops the runner logs why and exits: 0 when the guest powered
 * off, reset or wrote 0 to the debug exit port, non-zero otherwise (mica
 * then stops the VM with that verdict).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "accel.h"
#include "boot/boot.h"
#include "calibrate.h"
#include "layout.h"
#include "legacy-forward.h"
#include "machine.h"
#include "pci.h"
#include "pci-testdev.h"
#include "vhost-user-frontend.h"
#include "vcpu-policy.h"
#include "virtio-pci.h"
#include "virtio-net.h"

extern const struct jail_policy vcpu_policy;

#define MAX_DEVICES 16
#define ISA_IRQS 16

/* Debug exit device (like QEMU's isa-debug-exit): writing V ends the VM,
 * V = 0 as a clean stop.  The test guests end this way. */
#define DEBUG_EXIT_PORT 0xf4
/* With --test-hooks: guest timing marks, logged with the time since the
 * previous one (tests/guests/bench.c). */
#define DEBUG_MARK_PORT 0xf5

struct runner {
	struct daemon *d;
	int ram_fd;
	uint64_t ram_size;
	int kvm_fd;
	int kernel_fd;
	int initrd_fd;
	int irq_fds[ISA_IRQS];
	int vhost_user_blk[MAX_DEVICES];   /* our ends, by disk index */
	int vhost_user_net[MAX_DEVICES];   /* by nic index */
	struct virtio_pci *virtio_blk[MAX_DEVICES];
	unsigned nr_virtio_blk;
	struct virtio_pci *virtio_net[MAX_DEVICES];
	uint8_t net_mac[MAX_DEVICES][6];
	uint16_t net_mtu[MAX_DEVICES];
	unsigned nr_virtio_net;
	unsigned cpus;
	struct machine m;
	bool machine_made;
	struct pci_host pci;
	bool testdev;
	struct legacy_forward fwd;
	int done_fd;			/* machine thread -> event loop */
	pthread_t machine_thread;
	bool running;
	double mark_last;
};

static struct runner runner = {
	.ram_fd = -1, .kvm_fd = -1, .kernel_fd = -1, .initrd_fd = -1,
	.done_fd = -1,
};

/* Guest RAM must be exactly the promised size and sealed against resizing,
 * or a device process could make our mapping fault under us. */
static int check_guest_ram(int fd, uint64_t size)
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
	return 0;
}

/* Before lockdown: what needs syscalls the runner does not keep. */
static int runner_prelock(struct daemon *d)
{
	struct runner *r = &runner;

	r->d = d;
	accel_kvm_detect_host();
	for (unsigned i = 0; i < ISA_IRQS; i++)
		r->irq_fds[i] = -1;
	r->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->done_fd < 0)
		return -errno;
	return legacy_forward_init(&r->fwd, LEGACY_FWD_RING);
}

/* ---- small in-runner devices -------------------------------------------- */

static void debug_exit_write(void *opaque, uint64_t addr, unsigned size,
			     uint64_t val)
{
	machine_request_stop(opaque, MACHINE_EXIT, (int)(val & 0xff));
}

static const struct io_handler debug_exit = { .write = debug_exit_write };

static void debug_mark_write(void *opaque, uint64_t addr, unsigned size,
			     uint64_t val)
{
	struct runner *r = opaque;
	struct timespec ts;
	double now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
	if (val != 0)
		log_info("mark %u: %.0f us", (unsigned)val, now - r->mark_last);
	r->mark_last = now;
}

static const struct io_handler debug_mark = { .write = debug_mark_write };

/* ---- set-up ------------------------------------------------------------- */

static int choose_accel(struct runner *r, const char *accel,
			const struct accel_ops **ops)
{
	struct accel_calibration cal;
	int err;

	if (strcmp(accel, "kvm") != 0 || r->kvm_fd < 0) {
		log_warnx("accel %s: the translator cannot run whole systems yet, "
			  "and KVM was not given", accel);
		return -ENOTSUP;
	}
	err = accel_kvm_use_device_fd(r->kvm_fd);
	if (err < 0) {
		log_warnx("the KVM fd is not a usable /dev/kvm");
		return err;
	}
	*ops = &accel_kvm_ops;
	/* "auto" chose KVM because /dev/kvm opened; say whether it is fast.
	 * Running on anyway: nothing else can run a whole system yet. */
	err = accel_calibrate(*ops, r->ram_fd, &cal);
	if (err < 0) {
		log_warnx("KVM calibration guest failed: %s", strerror(-err));
		return err;
	}
	if (!cal.near_native)
		log_info("KVM is too slow here (%.1f ns per guest loop iteration, "
			 "native is ~1; emulated, e.g. PVM); the translator cannot "
			 "run whole systems yet, so running on KVM anyway",
			 cal.ns_per_iteration);
	else
		log_info("KVM runs near native speed (%.2f ns per guest loop iteration)",
			 cal.ns_per_iteration);
	return 0;
}

static int map_file(int fd, const char *what, void **data, size_t *len)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0) {
		log_warnx("%s is empty", what);
		return -ENOEXEC;
	}
	*data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*data == MAP_FAILED)
		return -errno;
	*len = (size_t)st.st_size;
	return 0;
}

static int load_guest(struct runner *r, const char *cmdline, const char **kind)
{
	struct boot_config cfg = { .cmdline = cmdline, .nr_vcpus = r->cpus };
	struct boot_entry entry;
	void *image = NULL, *rd = NULL;
	size_t len = 0, rd_len = 0;
	int err;

	err = map_file(r->kernel_fd, "kernel", &image, &len);
	if (err == 0 && r->initrd_fd >= 0)
		err = map_file(r->initrd_fd, "initrd", &rd, &rd_len);
	if (err < 0)
		goto out;
	cfg.initrd = rd;
	cfg.initrd_size = rd_len;
	err = boot_load_kernel(&r->m.mem, image, len, &cfg, &entry);
	if (err == -ENOEXEC)
		log_warnx("kernel: neither an ELF with a PVH entry note nor a "
			  "bzImage (64-bit boot protocol)");
	else if (err == -ENOTSUP)
		log_warnx("kernel: a bzImage without the 64-bit boot protocol "
			  "(needs protocol 2.12 and XLF_KERNEL_64)");
	else if (err < 0)
		log_warnx("kernel: cannot load: %s", strerror(-err));
	if (err == 0) {
		err = boot_vcpu_setup(r->m.ops, r->m.vcpu[0], &r->m.mem, &entry);
		*kind = entry.mode == BOOT_LONG64 ? "bzImage" : "PVH ELF";
	}
out:
	if (image != NULL)
		munmap(image, len);
	if (rd != NULL)
		munmap(rd, rd_len);
	return err;
}

static int attach_devices(struct runner *r)
{
	static const unsigned isa_lines[] = { 1, 4, 8 };	/* i8042, COM1, RTC */
	struct machine *m = &r->m;
	int err;

	err = legacy_forward_attach(&r->fwd, m);
	if (err == 0)
		err = pci_host_init(&r->pci, &m->pio, &m->mmio);
	if (err < 0)
		return err;
	pci_host_set_mmio64(&r->pci, guest_mem_pci_mmio64(&m->mem),
			    LAYOUT_PCI_MMIO64_SIZE);
	if (r->d->test_hooks) {
		err = pci_testdev_init(&r->pci, m);
		if (err == 0)
			err = iobus_register(&m->pio, DEBUG_MARK_PORT, 1,
					     &debug_mark, r);
		if (err < 0)
			return err;
		r->testdev = true;
	}
	err = iobus_register(&m->pio, DEBUG_EXIT_PORT, 1, &debug_exit, m);
	if (err < 0)
		return err;
	/* mica-legacy raises the ISA lines through these eventfds straight
	 * into KVM's interrupt controllers. */
	for (size_t i = 0; i < sizeof(isa_lines) / sizeof(isa_lines[0]); i++) {
		unsigned irq = isa_lines[i];

		if (r->irq_fds[irq] < 0)
			continue;
		err = m->ops->irqfd_add(m->vm, irq, r->irq_fds[irq], -1);
		if (err < 0) {
			log_warnx("irqfd for IRQ %u: %s", irq, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Disks: a virtio-pci block function per disk (slots 4 on), its back-end
 * the disk's mica-blk on the vhost-user channel mica gave us.  A back-end
 * that does not answer vhost-user leaves the disk out, said once; the
 * guest runs without it. */
#define VIRTIO_BLK_FIRST_SLOT 4
#define VHOST_USER_TIMEOUT_MS 2000

static void attach_disks(struct runner *r)
{
	for (unsigned i = 0; i < MAX_DEVICES; i++) {
		char name[16];
		int err;

		if (r->vhost_user_blk[i] < 0)
			continue;
		snprintf(name, sizeof(name), "disk %u", i);
		err = virtio_pci_vhost_user_create(&r->pci, &r->m, r->ram_fd,
						   VIRTIO_BLK_FIRST_SLOT + i,
						   VIRTIO_ID_BLOCK, name,
						   r->vhost_user_blk[i],
						   VHOST_USER_TIMEOUT_MS,
						   &r->virtio_blk[i]);
		r->vhost_user_blk[i] = -1;	/* taken (closed on failure) */
		if (err < 0) {
			log_warnx("disk %u: no virtio-blk device for it: its back-end "
				  "does not serve vhost-user (%s); mica-blk's log says "
				  "why (e.g. mica-blockd gave it no image)", i,
				  strerror(-err));
			continue;
		}
		r->nr_virtio_blk++;
	}
}

/* NICs: a virtio-pci network function per NIC (slots 24 on), its
 * back-end the NIC's mica-net.  Like disks, a NIC whose back-end does not
 * answer is left out, said once. */
#define VIRTIO_NET_FIRST_SLOT 24

static void attach_nets(struct runner *r)
{
	for (unsigned i = 0; i < MAX_DEVICES && VIRTIO_NET_FIRST_SLOT + i < 32; i++) {
		int err;

		if (r->vhost_user_net[i] < 0)
			continue;
		err = virtio_net_create(&r->pci, &r->m, r->ram_fd, VIRTIO_NET_FIRST_SLOT + i,
					i, r->net_mac[i], r->net_mtu[i], r->vhost_user_net[i],
					VHOST_USER_TIMEOUT_MS, &r->virtio_net[i]);
		r->vhost_user_net[i] = -1;	/* taken (closed on failure) */
		if (err < 0) {
			log_warnx("nic %u: no virtio-net device for it: its back-end "
				  "does not serve vhost-user (%s)", i, strerror(-err));
			continue;
		}
		r->nr_virtio_net++;
	}
}

/* The manifest's MAC (mica fills one in where it gave none) and MTU of
 * each NIC. */
static void take_net_macs(struct runner *r, const Mica__Setup *s)
{
	for (size_t i = 0; i < s->n_nets; i++) {
		const Mica__NetConfig *nc = s->nets[i];

		if (nc->index < MAX_DEVICES && nc->mac.len == 6)
			memcpy(r->net_mac[nc->index], nc->mac.data, 6);
		if (nc->index < MAX_DEVICES && nc->mtu <= 65535)
			r->net_mtu[nc->index] = (uint16_t)nc->mtu;
	}
}

static void on_virtio_intx(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	virtio_pci_intx_event(arg, fd);
}

/* INTx of the virtio functions whose driver leaves MSI-X off: their call
 * and resample eventfds are served by this event loop. */
static int watch_virtio_intx(struct daemon *d, struct virtio_pci *vp)
{
	int fds[1 + VHOST_USER_FRONTEND_MAX_QUEUES];
	unsigned n = virtio_pci_intx_fds(vp, fds, sizeof(fds) / sizeof(fds[0]));

	for (unsigned i = 0; i < n; i++) {
		int err = evloop_add(d->loop, fds[i], EPOLLIN, on_virtio_intx, vp);

		if (err < 0)
			return err;
	}
	return 0;
}

static void *machine_thread_main(void *arg)
{
	struct runner *r = arg;
	uint64_t one = 1;

	machine_run(&r->m);
	if (write(r->done_fd, &one, sizeof(one)) < 0)
		log_warn("cannot tell the event loop the machine stopped");
	return NULL;
}

/* The machine stopped: say why in one line and end the VM. */
static void on_machine_done(struct evloop *loop, int fd, uint32_t events, void *arg)
{
	struct runner *r = arg;
	struct machine *m = &r->m;
	int status;

	pthread_join(r->machine_thread, NULL);
	r->running = false;
	switch (m->stop_reason) {
	case MACHINE_POWEROFF:
	case MACHINE_RESET:
		status = 0;
		break;
	case MACHINE_EXIT:
		status = m->exit_status;
		break;
	default:
		status = 1;
		break;
	}
	log_info("guest stopped: %s%s (status %d) after %llu exits, %llu forwarded "
		 "to mica-legacy; ending the VM",
		 machine_stop_name(m->stop_reason),
		 m->stop_reason == MACHINE_EXIT ? " via the debug exit port" : "",
		 status, (unsigned long long)m->nr_exits,
		 (unsigned long long)r->fwd.forwarded);
	exit(status);
}

static void take_fds(struct runner *r, struct ipc_msg *msg)
{
	r->kvm_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_KVM, 0);
	r->kernel_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_KERNEL, 0);
	r->initrd_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_INITRD, 0);
	for (uint32_t i = 0; i < ISA_IRQS; i++)
		r->irq_fds[i] = daemon_take_fd(msg, MICA__FD_KIND__FD_IRQ_LINE, i);
	for (uint32_t i = 0; i < MAX_DEVICES; i++) {
		r->vhost_user_blk[i] = daemon_take_fd(msg, MICA__FD_KIND__FD_VHOST_USER_BLK, i);
		r->vhost_user_net[i] = daemon_take_fd(msg, MICA__FD_KIND__FD_VHOST_USER_NET, i);
	}
}

/* A guest we cannot run (no accelerator for it, a kernel we cannot
 * load): say why once, in the log and the status line, and stay up
 * without vCPUs until mica stops the VM, as the process set did before
 * the runner could run guests.  (Tests of supervision use such VMs.) */
static int runner_idle(struct daemon *d, struct runner *r, int legacy_fd,
		       const char *why)
{
	log_warnx("not starting vCPUs: %s; the VM stays up without a guest "
		  "until it is stopped", why);
	daemon_set_detail(d, "not running a guest: %s", why);
	return legacy_forward_connect(&r->fwd, legacy_fd);
}

static int parse_forward_mode(const char *s, enum legacy_fwd_mode *mode)
{
	/* Datagrams by default: faster than the ring here (forward.h). */
	if (s == NULL || *s == '\0' || strcmp(s, "msg") == 0)
		*mode = LEGACY_FWD_MSG;
	else if (strcmp(s, "ring") == 0)
		*mode = LEGACY_FWD_RING;
	else {
		log_warnx("legacy forwarding '%s': expected ring or msg", s);
		return -EINVAL;
	}
	return 0;
}

static int runner_setup(struct daemon *d, struct ipc_msg *msg)
{
	const Mica__Setup *s = msg->env->setup;
	const Mica__MachineConfig *mc = s->machine;
	struct runner *r = &runner;
	const struct accel_ops *ops = NULL;
	const char *kind = "?";
	int legacy_fd, err;

	if (mc == NULL || mc->cpus == 0 || mc->cpus > ACCEL_MAX_VCPUS) {
		log_warnx("setup has no machine configuration or a bad vCPU count");
		return -EINVAL;
	}
	err = parse_forward_mode(mc->legacy_forward, &r->fwd.mode);
	if (err < 0)
		return err;
	r->ram_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_GUEST_RAM, 0);
	if (r->ram_fd < 0) {
		log_warnx("setup has no guest RAM");
		return -EINVAL;
	}
	err = check_guest_ram(r->ram_fd, mc->memory_bytes);
	if (err < 0)
		return err;
	r->ram_size = mc->memory_bytes;
	r->cpus = mc->cpus;
	take_fds(r, msg);
	legacy_fd = daemon_take_fd(msg, MICA__FD_KIND__FD_LEGACY_CHANNEL, 0);
	if (r->kernel_fd < 0 || legacy_fd < 0) {
		log_warnx("setup lacks the kernel or the mica-legacy channel");
		return -EINVAL;
	}
	err = choose_accel(r, mc->accel, &ops);
	if (err == -ENOTSUP)
		return runner_idle(d, r, legacy_fd, "the translator cannot run "
				   "whole systems yet and KVM was not given");
	if (err < 0)
		goto fail;
	err = machine_create(&r->m, ops, r->ram_fd, r->ram_size, r->cpus);
	if (err < 0) {
		log_warnx("cannot create the machine: %s", strerror(-err));
		goto fail;
	}
	r->machine_made = true;
	r->m.vcpu_thread_init = vcpu_thread_lockdown;
	err = attach_devices(r);
	if (err < 0)
		goto fail;
	err = load_guest(r, mc->cmdline, &kind);
	if (err == -ENOEXEC)
		return runner_idle(d, r, legacy_fd, "the kernel is neither a PVH "
				   "ELF nor a bzImage");
	if (err == -ENOTSUP)
		return runner_idle(d, r, legacy_fd, "the bzImage lacks the 64-bit "
				   "boot protocol");
	if (err == 0) {
		attach_disks(r);
		take_net_macs(r, s);
		attach_nets(r);
		for (unsigned i = 0; i < MAX_DEVICES && err == 0; i++) {
			if (r->virtio_blk[i] != NULL)
				err = watch_virtio_intx(d, r->virtio_blk[i]);
			if (err == 0 && r->virtio_net[i] != NULL)
				err = watch_virtio_intx(d, r->virtio_net[i]);
		}
		if (err == 0)
			err = legacy_forward_connect(&r->fwd, legacy_fd);
	} else {
		close(legacy_fd);
	}
	if (err == 0)
		err = evloop_add(d->loop, r->done_fd, EPOLLIN, on_machine_done, r);
	if (err < 0)
		return err;
	if (pthread_create(&r->machine_thread, NULL, machine_thread_main, r) != 0) {
		log_warnx("cannot start the machine thread");
		return -EAGAIN;
	}
	r->running = true;
	daemon_set_detail(d, "running: %u vCPU on %s, %llu MiB, %s kernel; legacy "
			  "I/O forwarded to mica-legacy (%s); PCI host bridge%s, "
			  "%u virtio-blk, %u virtio-net; vCPU threads allow %u syscalls",
			  r->cpus, ops->name, (unsigned long long)(r->ram_size >> 20),
			  kind, legacy_forward_mode_name(r->fwd.mode),
			  r->testdev ? " + pci-testdev" : "", r->nr_virtio_blk, r->nr_virtio_net,
			  vcpu_thread_syscall_count());
	return 0;
fail:
	close(legacy_fd);
	return err;
}

/* A device process restarted: its new channel end replaces the old one;
 * a virtio-blk device renegotiates with its restarted mica-blk. */
static int runner_attach(struct daemon *d, const Mica__FdInfo *info, int fd)
{
	struct runner *r = &runner;
	int *slot = NULL;

	if (info->kind == MICA__FD_KIND__FD_LEGACY_CHANNEL) {
		log_info("mica-legacy restarted; forwarding to the new one");
		return legacy_forward_connect(&r->fwd, fd);
	}
	if (info->index < MAX_DEVICES && info->kind == MICA__FD_KIND__FD_VHOST_USER_BLK)
		slot = &r->vhost_user_blk[info->index];
	else if (info->index < MAX_DEVICES &&
		 info->kind == MICA__FD_KIND__FD_VHOST_USER_NET)
		slot = &r->vhost_user_net[info->index];
	if (slot == NULL) {
		close(fd);
		return -EINVAL;
	}
	if (info->kind == MICA__FD_KIND__FD_VHOST_USER_BLK &&
	    r->virtio_blk[info->index] != NULL) {
		/* The device resumes its rings on the new back-end (the
		 * socket is the device's either way). */
		log_info("disk %u: mica-blk restarted; reconnecting", info->index);
		return virtio_pci_reconnect(r->virtio_blk[info->index], fd);
	}
	if (info->kind == MICA__FD_KIND__FD_VHOST_USER_NET &&
	    r->virtio_net[info->index] != NULL) {
		log_info("nic %u: mica-net restarted; reconnecting", info->index);
		return virtio_pci_reconnect(r->virtio_net[info->index], fd);
	}
	if (*slot >= 0)
		close(*slot);
	*slot = fd;
	return 0;
}

static void runner_shutdown(struct daemon *d)
{
	struct runner *r = &runner;

	if (r->running) {
		machine_request_stop(&r->m, MACHINE_EXIT, 0);
		pthread_join(r->machine_thread, NULL);
		r->running = false;
		log_info("guest stopped: mica asked (shutdown) after %llu exits",
			 (unsigned long long)r->m.nr_exits);
	}
	/* The fds and the VM go with the process. */
}

static const struct daemon_ops runner_ops = {
	.program = "mica-vcpu",
	.role = MICA__ROLE__ROLE_VCPU,
	.policy = &vcpu_policy,
	.prelock = runner_prelock,
	.setup = runner_setup,
	.attach = runner_attach,
	.shutdown = runner_shutdown,
};

int main(int argc, char **argv)
{
	/* `--seccomp log` (debugging a policy) applies to the vCPU threads'
	 * own filter too; the daemon frame parses the rest. */
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--seccomp") == 0 && strcmp(argv[i + 1], "log") == 0)
			vcpu_thread_seccomp_log = true;
	return daemon_main(argc, argv, &runner_ops);
}

/* The Setup message of each child: which of the VM's fds and channel ends
 * it gets, and the configuration it needs (never a host path). */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

struct setup_fds {
	int fds[IPC_MAX_FDS];
	Mica__FdInfo info[IPC_MAX_FDS];
	Mica__FdInfo *infop[IPC_MAX_FDS];
	bool owned[IPC_MAX_FDS];     /* close after sending */
	size_t n;
};

static void setup_add(struct setup_fds *s, int fd, Mica__FdKind kind,
		      uint32_t index, bool read_only, bool owned)
{
	Mica__FdInfo init = MICA__FD_INFO__INIT;

	if (fd < 0 || s->n == IPC_MAX_FDS)
		return;
	s->info[s->n] = init;
	s->info[s->n].kind = kind;
	s->info[s->n].index = index;
	s->info[s->n].read_only = read_only;
	s->infop[s->n] = &s->info[s->n];
	s->fds[s->n] = fd;
	s->owned[s->n] = owned;
	s->n++;
}

static void send_attach(struct vm_proc *p, struct vm_channel *c, int fd)
{
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__Attach attach = MICA__ATTACH__INIT;
	Mica__FdInfo info = MICA__FD_INFO__INIT;
	int err;

	info.kind = c->kind;
	info.index = c->index;
	attach.fd = &info;
	env.body_case = MICA__ENVELOPE__BODY_ATTACH;
	env.attach = &attach;
	err = vm_send(p, &env, &fd, 1);
	if (err < 0)
		log_warnx("cannot hand %s a new channel end: %s", p->name, strerror(-err));
	else
		log_info("%s: handed a new %s channel end after its peer restarted",
			 p->name, protobuf_c_enum_descriptor_get_value(
				 &mica__fd_kind__descriptor, c->kind)->name);
}

/* The end of channel c for side s.  A fresh pair is made when this side
 * has none pending; the other side then gets its new end at once if it is
 * already set up (it was restarted before us, or we are the one being
 * restarted), else when its own Setup is sent. */
static int channel_end_for(struct vm *vm, struct vm_channel *c, int s)
{
	int pair[2], fd;

	if (c->end[s] < 0) {
		close_fd(&c->end[1 - s]);
		if (socketpair(AF_UNIX, c->sock_type | SOCK_CLOEXEC, 0, pair) < 0)
			return -errno;
		c->end[0] = pair[0];
		c->end[1] = pair[1];
		if (c->side[1 - s]->setup_sent) {
			send_attach(c->side[1 - s], c, c->end[1 - s]);
			close_fd(&c->end[1 - s]);
		}
	}
	fd = c->end[s];
	c->end[s] = -1;
	return fd;
}

/* A NIC without a MAC in the manifest gets a stable one: QEMU's
 * 52:54:00 prefix, a hash of the VM name, the NIC index.  The runner
 * (device config) and mica-net (its frames) see the same. */
static void generated_mac(const char *vm_name, unsigned index, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const char *p = vm_name; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 8);
	mac[4] = (uint8_t)h;
	mac[5] = (uint8_t)index;
}

static void fill_configs(struct vm *vm, Mica__Setup *setup, Mica__MachineConfig *mc,
			 Mica__DiskConfig *dc, Mica__DiskConfig **dcp,
			 Mica__NetConfig *nc, Mica__NetConfig **ncp)
{
	static uint8_t macs[CONFIG_MAX_NETS][6];
	const struct vm_config *cfg = vm->cfg;
	Mica__MachineConfig mc_init = MICA__MACHINE_CONFIG__INIT;

	*mc = mc_init;
	mc->cpus = cfg->cpus;
	mc->memory_bytes = cfg->memory;
	mc->accel = vm->accel;
	mc->cmdline = cfg->cmdline != NULL ? cfg->cmdline : (char *)"";
	/* Benchmark knob for the runner's legacy I/O forwarding (runner
	 * checks the value); not a manifest field. */
	if (getenv("MICA_LEGACY_FORWARD") != NULL)
		mc->legacy_forward = getenv("MICA_LEGACY_FORWARD");
	setup->machine = mc;
	for (size_t i = 0; i < cfg->ndisks; i++) {
		Mica__DiskConfig init = MICA__DISK_CONFIG__INIT;

		dc[i] = init;
		dc[i].index = i;
		dc[i].format = (char *)(cfg->disks[i].format[0] ? cfg->disks[i].format : "raw");
		dc[i].read_only = cfg->disks[i].read_only;
		dc[i].name = basename(cfg->disks[i].path);
		dc[i].path = cfg->disks[i].real_path ? cfg->disks[i].real_path : (char *)"";
		dc[i].n_backing = cfg->disks[i].nbacking;
		dc[i].backing = (char **)cfg->disks[i].backing;
		dcp[i] = &dc[i];
	}
	setup->n_disks = cfg->ndisks;
	setup->disks = dcp;
	for (size_t i = 0; i < cfg->nnets; i++) {
		const struct net_config *n = &cfg->nets[i];
		Mica__NetConfig init = MICA__NET_CONFIG__INIT;

		nc[i] = init;
		nc[i].index = i;
		nc[i].mode = (char *)n->mode;
		if (n->has_mac)
			memcpy(macs[i], n->mac, 6);
		else
			generated_mac(cfg->name, i, macs[i]);
		nc[i].mac.data = macs[i];
		nc[i].mac.len = 6;
		nc[i].ifname = n->ifname != NULL ? n->ifname : (char *)"";
		nc[i].bridge = n->bridge != NULL ? n->bridge : (char *)"";
		nc[i].parent = n->parent != NULL ? n->parent : (char *)"";
		nc[i].queues = n->queues > 0 ? n->queues : 1;
		nc[i].mtu = n->mtu;
		nc[i].n_hostfwd = n->nhostfwd;
		nc[i].hostfwd = (char **)n->hostfwd;
		ncp[i] = &nc[i];
	}
	setup->n_nets = cfg->nnets;
	setup->nets = ncp;
}

int vm_send_setup(struct vm_proc *p)
{
	struct vm *vm = p->vm;
	Mica__Envelope env = MICA__ENVELOPE__INIT;
	Mica__Setup setup = MICA__SETUP__INIT;
	Mica__MachineConfig mc;
	Mica__DiskConfig dc[CONFIG_MAX_DISKS], *dcp[CONFIG_MAX_DISKS];
	Mica__NetConfig nc[CONFIG_MAX_NETS], *ncp[CONFIG_MAX_NETS];
	struct setup_fds s = { .n = 0 };
	int err;

	switch (p->role) {
	case MICA__ROLE__ROLE_VCPU:
		setup_add(&s, vm->ram_fd, MICA__FD_KIND__FD_GUEST_RAM, 0, false, false);
		setup_add(&s, vm->kvm_fd, MICA__FD_KIND__FD_KVM, 0, false, false);
		setup_add(&s, vm->kernel_fd, MICA__FD_KIND__FD_KERNEL, 0, true, false);
		setup_add(&s, vm->initrd_fd, MICA__FD_KIND__FD_INITRD, 0, true, false);
		for (unsigned irq = 0; irq < VM_ISA_IRQS; irq++)
			setup_add(&s, vm->irq_fds[irq], MICA__FD_KIND__FD_IRQ_LINE, irq, false,
				  false);
		break;
	case MICA__ROLE__ROLE_LEGACY:
		setup_add(&s, vm->console_fd, MICA__FD_KIND__FD_CONSOLE, 0, false, false);
		setup_add(&s, vm->console_in_fd, MICA__FD_KIND__FD_CONSOLE_IN, 0, true, false);
		setup_add(&s, vm->legacy_state_fd, MICA__FD_KIND__FD_LEGACY_STATE, 0, false,
			  false);
		for (unsigned irq = 0; irq < VM_ISA_IRQS; irq++)
			setup_add(&s, vm->irq_fds[irq], MICA__FD_KIND__FD_IRQ_LINE, irq, false,
				  false);
		break;
	case MICA__ROLE__ROLE_BLOCKD:
		for (size_t i = 0; i < vm->cfg->ndisks; i++)
			setup_add(&s, vm->disk_fds[i], MICA__FD_KIND__FD_DISK_IMAGE, i,
				  vm->cfg->disks[i].read_only, false);
		break;
	default:
		break;
	}
	for (size_t i = 0; i < vm->nchans; i++) {
		struct vm_channel *c = &vm->chans[i];

		for (int side = 0; side < 2; side++) {
			int fd;

			if (c->side[side] != p)
				continue;
			fd = channel_end_for(vm, c, side);
			if (fd < 0) {
				err = fd;
				goto out;
			}
			setup_add(&s, fd, c->kind, c->index, false, true);
		}
	}
	/* Last, so that a full message drops these, which blockd reports. */
	for (size_t i = 0; p->role == MICA__ROLE__ROLE_BLOCKD && i < vm->cfg->ndisks; i++)
		for (size_t j = 0; j < vm->cfg->disks[i].nbacking; j++)
			setup_add(&s, vm->backing_fds[i][j], MICA__FD_KIND__FD_DISK_BACKING,
				  i * CONFIG_MAX_BACKING + j, true, false);

	setup.vm_name = vm->cfg->name;
	setup.restarted = p->restarts > 0;
	setup.n_fds = s.n;
	setup.fds = s.infop;
	fill_configs(vm, &setup, &mc, dc, dcp, nc, ncp);
	env.body_case = MICA__ENVELOPE__BODY_SETUP;
	env.setup = &setup;
	err = vm_send(p, &env, s.fds, s.n);
	if (err == 0)
		p->setup_sent = true;
out:
	for (size_t i = 0; i < s.n; i++)
		if (s.owned[i])
			close(s.fds[i]);
	return err;
}


/* KVM accelerator: in-kernel irqchip (PIC + IOAPIC + LAPIC) and PIT,
 * CPUID (kvm-cpuid.c), a small MSR reset
 * set, ioeventfd doorbells, irqfd lines and MSI routing. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "kvm-internal.h"

/* An open /dev/kvm handed over by the launcher (the jailed runner has no
 * /dev); -1 means open the path (tests, guest-run). */
static int kvm_device_fd = -1;

int accel_kvm_use_device_fd(int fd)
{
	if (fd < 0 || ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return -ENOTSUP;
	kvm_device_fd = fd;
	return 0;
}

static int kvm_open_device(void)
{
	if (kvm_device_fd >= 0)
		return fcntl(kvm_device_fd, F_DUPFD_CLOEXEC, 3);
	return open("/dev/kvm", O_RDWR | O_CLOEXEC);
}

static int kvm_probe(void)
{
	int fd = kvm_open_device();
	int version;

	if (fd < 0)
		return -errno;
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	return version == KVM_API_VERSION ? 0 : -ENOTSUP;
}

static int kvm_check_caps(int kvm_fd)
{
	static const struct { int cap; const char *name; } needed[] = {
		{ KVM_CAP_IRQCHIP, "IRQCHIP" },
		{ KVM_CAP_PIT2, "PIT2" },
		{ KVM_CAP_IOEVENTFD, "IOEVENTFD" },
		{ KVM_CAP_IRQFD, "IRQFD" },
		{ KVM_CAP_IRQ_ROUTING, "IRQ_ROUTING" },
		{ KVM_CAP_SIGNAL_MSI, "SIGNAL_MSI" },
		{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
	};

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
			log_warnx("KVM lacks KVM_CAP_%s", needed[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

/* KVM_CAP_MAX_VCPUS, falling back to the recommended KVM_CAP_NR_VCPUS
 * and then to 4, as api.rst says. */
static unsigned kvm_max_vcpus(int kvm_fd)
{
	int n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (n <= 0)
		n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	return n > 0 ? (unsigned)n : 4;
}

static void kvm_vm_destroy(struct accel_vm *vm)
{
	if (vm == NULL)
		return;
	for (unsigned i = 0; i < ACCEL_MAX_VCPUS; i++) {
		struct accel_vcpu *vcpu = vm->vcpus[i];

		if (vcpu == NULL)
			continue;
		if (vcpu->run != NULL)
			munmap(vcpu->run, (size_t)vm->run_size);
		close(vcpu->fd);
		free(vcpu);
	}
	for (unsigned i = 0; i < vm->nr_maps; i++)
		munmap(vm->maps[i].hva, vm->maps[i].size);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
	free(vm->routes);
	free(vm);
}

static int kvm_vm_create(const struct accel_vm_config *cfg,
			 struct accel_vm **vmp)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = KVM_IDENTITY_MAP_ADDR;
	struct accel_vm *vm;
	int err;

	if (cfg->nr_vcpus == 0 || cfg->nr_vcpus > ACCEL_MAX_VCPUS)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (vm == NULL)
		return -ENOMEM;
	vm->vm_fd = -1;
	vm->nr_vcpus = cfg->nr_vcpus;
	vm->kvm_fd = kvm_open_device();
	if (vm->kvm_fd < 0) {
		err = -errno;
		log_warn("/dev/kvm");
		goto fail;
	}
	err = kvm_check_caps(vm->kvm_fd);
	if (err < 0)
		goto fail;
	if (cfg->nr_vcpus > kvm_max_vcpus(vm->kvm_fd)) {
		log_warnx("KVM allows at most %u vCPUs", kvm_max_vcpus(vm->kvm_fd));
		err = -E2BIG;
		goto fail;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->run_size <= 0 || vm->vm_fd < 0) {
		err = -errno;
		log_warn("KVM_CREATE_VM");
		goto fail;
	}
	/* Intel needs three pages for the real-mode TSS and one for the
	 * EPT identity map, just below the BIOS area; we keep that hole free
	 * of RAM in the machine layout. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		err = -errno;
		log_warn("KVM machine set-up");
		goto fail;
	}
	err = kvm_cpuid_init(vm);
	if (err < 0)
		goto fail;
	*vmp = vm;
	return 0;
fail:
	kvm_vm_destroy(vm);
	return err;
}

static int kvm_map_memory(struct accel_vm *vm, uint64_t gpa, uint64_t size,
			  int memfd, uint64_t offset, void **hva)
{
	struct kvm_userspace_memory_region region;
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (size == 0 || (gpa | size | offset) & (uint64_t)(page - 1))
		return -EINVAL;
	if (vm->nr_maps == KVM_MAX_SLOTS)
		return -ENOSPC;
	for (unsigned i = 0; i < vm->nr_maps; i++) {
		const struct kvm_mem_map *m = &vm->maps[i];

		if (gpa < m->gpa + m->size && m->gpa < gpa + size)
			return -EEXIST;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
		 (off_t)offset);
	if (p == MAP_FAILED)
		return -errno;
	region = (struct kvm_userspace_memory_region){
		.slot = vm->nr_maps,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)p,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		int err = -errno;

		log_warn("KVM_SET_USER_MEMORY_REGION");
		munmap(p, size);
		return err;
	}
	vm->maps[vm->nr_maps++] = (struct kvm_mem_map){ p, gpa, size };
	*hva = p;
	return 0;
}

/* Architectural reset values for the MSRs KVM does not reset itself the
 * way a firmware-less boot expects. */
static int kvm_vcpu_set_msrs(struct accel_vcpu *vcpu)
{
	static const struct { uint32_t index; uint64_t data; } reset[] = {
		{ 0x174, 0 },			/* IA32_SYSENTER_CS */
		{ 0x175, 0 },			/* IA32_SYSENTER_ESP */
		{ 0x176, 0 },			/* IA32_SYSENTER_EIP */
		{ 0xc0000081, 0 },		/* STAR */
		{ 0xc0000082, 0 },		/* LSTAR */
		{ 0xc0000083, 0 },		/* CSTAR */
		{ 0xc0000084, 0 },		/* SYSCALL_MASK */
		{ 0xc0000102, 0 },		/* KERNEL_GS_BASE */
		{ 0x1a0, 1 },			/* IA32_MISC_ENABLE: fast strings */
		{ 0x2ff, 0xc06 },		/* MTRRdefType: enabled, WB */
	};
	enum { N = sizeof(reset) / sizeof(reset[0]) };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[N];
	} msrs = { .hdr.nmsrs = N };
	int set;

	for (unsigned i = 0; i < N; i++) {
		msrs.entries[i].index = reset[i].index;
		msrs.entries[i].data = reset[i].data;
	}
	set = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (set < 0)
		return -errno;
	if (set != N)
		log_warnx("vCPU %u: KVM took %d of %d reset MSRs (MSR %#x refused)",
			  vcpu->index, set, N, reset[set].index);
	return 0;
}

/* LINT0 in ExtINT mode so the 8259 reaches the BSP before the guest
 * programs the IOAPIC, LINT1 as NMI: what firmware leaves behind. */
static int kvm_vcpu_set_lint(struct accel_vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t *lvt0 = (uint32_t *)&lapic.regs[0x350];
	uint32_t *lvt1 = (uint32_t *)&lapic.regs[0x360];

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	*lvt0 = (*lvt0 & ~0x700u & ~0x10000u) | (7u << 8);
	*lvt1 = (*lvt1 & ~0x700u & ~0x10000u) | (4u << 8);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

static int kvm_set_runnable(struct accel_vcpu *vcpu, bool runnable)
{
	struct kvm_mp_state mp = {
		.mp_state = runnable ? KVM_MP_STATE_RUNNABLE
				     : KVM_MP_STATE_UNINITIALIZED,
	};

	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		return -errno;
	return 0;
}

static int kvm_vcpu_create(struct accel_vm *vm, unsigned index,
			   struct accel_vcpu **vcpup)
{
	struct accel_vcpu *vcpu;
	int err;

	if (index >= vm->nr_vcpus || vm->vcpus[index] != NULL)
		return -EINVAL;
	vcpu = calloc(1, sizeof(*vcpu));
	if (vcpu == NULL)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, index);
	if (vcpu->fd < 0) {
		err = -errno;
		free(vcpu);
		return err;
	}
	vm->vcpus[index] = vcpu;	/* freed by vm_destroy from here on */
	vcpu->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return -errno;
	}
	err = kvm_vcpu_set_cpuid(vcpu);
	if (err == 0)
		err = kvm_vcpu_set_msrs(vcpu);
	if (err == 0)
		err = kvm_vcpu_set_lint(vcpu);
	/* APs wait for INIT/SIPI from the BSP through the LAPIC. */
	if (err == 0)
		err = kvm_set_runnable(vcpu, index == 0);
	if (err < 0)
		return err;
	*vcpup = vcpu;
	return 0;
}

static void kvm_exit_decode(struct accel_vcpu *vcpu, struct accel_exit *exit)
{
	struct kvm_run *run = vcpu->run;

	memset(exit, 0, sizeof(*exit));
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit->reason = ACCEL_EXIT_IO;
		exit->io.port = run->io.port;
		exit->io.size = run->io.size;
		exit->io.write = run->io.direction == KVM_EXIT_IO_OUT;
		exit->io.count = run->io.count;
		exit->io.data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		exit->reason = ACCEL_EXIT_MMIO;
		exit->mmio.addr = run->mmio.phys_addr;
		exit->mmio.size = (uint8_t)run->mmio.len;
		exit->mmio.write = run->mmio.is_write;
		exit->mmio.data = run->mmio.data;
		break;
	case KVM_EXIT_HLT:
		exit->reason = ACCEL_EXIT_HALT;
		break;
	case KVM_EXIT_SHUTDOWN:
		exit->reason = ACCEL_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_INTR:
		exit->reason = ACCEL_EXIT_INTR;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		exit->reason = run->system_event.type == KVM_SYSTEM_EVENT_RESET
			       ? ACCEL_EXIT_RESET : ACCEL_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		exit->reason = ACCEL_EXIT_ERROR;
		exit->error.code = run->exit_reason;
		exit->error.detail =
			run->fail_entry.hardware_entry_failure_reason;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		exit->reason = ACCEL_EXIT_ERROR;
		exit->error.code = run->exit_reason;
		exit->error.detail = run->internal.suberror;
		/* For emulation failures the data words carry the
		 * instruction bytes: worth having in the log. */
		log_warnx("vCPU %u: KVM internal error %u, %u data words: "
			  "%#llx %#llx %#llx %#llx", vcpu->index,
			  run->internal.suberror, run->internal.ndata,
			  (unsigned long long)run->internal.data[0],
			  (unsigned long long)run->internal.data[1],
			  (unsigned long long)run->internal.data[2],
			  (unsigned long long)run->internal.data[3]);
		break;
	default:
		exit->reason = ACCEL_EXIT_ERROR;
		exit->error.code = run->exit_reason;
		break;
	}
}

static int kvm_vcpu_run(struct accel_vcpu *vcpu, struct accel_exit *exit)
{
	if (!vcpu->thread_known) {
		vcpu->thread = pthread_self();
		vcpu->thread_known = 1;
	}
	for (;;) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) == 0)
			break;
		if (errno == EINTR) {
			vcpu->run->immediate_exit = 0;
			memset(exit, 0, sizeof(*exit));
			exit->reason = ACCEL_EXIT_INTR;
			return 0;
		}
		if (errno != EAGAIN)
			return -errno;
	}
	kvm_exit_decode(vcpu, exit);
	return 0;
}

static void kvm_vcpu_kick(struct accel_vcpu *vcpu)
{
	vcpu->run->immediate_exit = 1;
	if (vcpu->thread_known)
		pthread_kill(vcpu->thread, KVM_KICK_SIGNAL);
}

static int kvm_get_regs(struct accel_vcpu *vcpu, struct accel_regs *r)
{
	struct kvm_regs k;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &k) < 0)
		return -errno;
	*r = (struct accel_regs){
		.rax = k.rax, .rbx = k.rbx, .rcx = k.rcx, .rdx = k.rdx,
		.rsi = k.rsi, .rdi = k.rdi, .rsp = k.rsp, .rbp = k.rbp,
		.r8 = k.r8, .r9 = k.r9, .r10 = k.r10, .r11 = k.r11,
		.r12 = k.r12, .r13 = k.r13, .r14 = k.r14, .r15 = k.r15,
		.rip = k.rip, .rflags = k.rflags,
	};
	return 0;
}

static int kvm_set_regs(struct accel_vcpu *vcpu, const struct accel_regs *r)
{
	struct kvm_regs k = {
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx,
		.rsi = r->rsi, .rdi = r->rdi, .rsp = r->rsp, .rbp = r->rbp,
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
		.rip = r->rip, .rflags = r->rflags,
	};

	if (ioctl(vcpu->fd, KVM_SET_REGS, &k) < 0)
		return -errno;
	return 0;
}

static void seg_from_kvm(struct accel_segment *a, const struct kvm_segment *k)
{
	*a = (struct accel_segment){
		.base = k->base, .limit = k->limit, .selector = k->selector,
		.type = k->type, .present = k->present, .dpl = k->dpl,
		.db = k->db, .s = k->s, .l = k->l, .g = k->g, .avl = k->avl,
		.unusable = k->unusable,
	};
}

static void seg_to_kvm(struct kvm_segment *k, const struct accel_segment *a)
{
	*k = (struct kvm_segment){
		.base = a->base, .limit = a->limit, .selector = a->selector,
		.type = a->type, .present = a->present, .dpl = a->dpl,
		.db = a->db, .s = a->s, .l = a->l, .g = a->g, .avl = a->avl,
		.unusable = a->unusable,
	};
}

static int kvm_get_sregs(struct accel_vcpu *vcpu, struct accel_sregs *s)
{
	struct kvm_sregs k;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &k) < 0)
		return -errno;
	seg_from_kvm(&s->cs, &k.cs);
	seg_from_kvm(&s->ds, &k.ds);
	seg_from_kvm(&s->es, &k.es);
	seg_from_kvm(&s->fs, &k.fs);
	seg_from_kvm(&s->gs, &k.gs);
	seg_from_kvm(&s->ss, &k.ss);
	seg_from_kvm(&s->tr, &k.tr);
	seg_from_kvm(&s->ldt, &k.ldt);
	s->gdt = (struct accel_dtable){ k.gdt.base, k.gdt.limit };
	s->idt = (struct accel_dtable){ k.idt.base, k.idt.limit };
	s->cr0 = k.cr0;
	s->cr2 = k.cr2;
	s->cr3 = k.cr3;
	s->cr4 = k.cr4;
	s->cr8 = k.cr8;
	s->efer = k.efer;
	s->apic_base = k.apic_base;
	return 0;
}

static int kvm_set_sregs(struct accel_vcpu *vcpu, const struct accel_sregs *s)
{
	struct kvm_sregs k;

	/* Read first so the pending-interrupt bitmap is preserved. */
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &k) < 0)
		return -errno;
	seg_to_kvm(&k.cs, &s->cs);
	seg_to_kvm(&k.ds, &s->ds);
	seg_to_kvm(&k.es, &s->es);
	seg_to_kvm(&k.fs, &s->fs);
	seg_to_kvm(&k.gs, &s->gs);
	seg_to_kvm(&k.ss, &s->ss);
	seg_to_kvm(&k.tr, &s->tr);
	seg_to_kvm(&k.ldt, &s->ldt);
	k.gdt = (struct kvm_dtable){ .base = s->gdt.base, .limit = s->gdt.limit };
	k.idt = (struct kvm_dtable){ .base = s->idt.base, .limit = s->idt.limit };
	k.cr0 = s->cr0;
	k.cr2 = s->cr2;
	k.cr3 = s->cr3;
	k.cr4 = s->cr4;
	k.cr8 = s->cr8;
	k.efer = s->efer;
	k.apic_base = s->apic_base;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &k) < 0)
		return -errno;
	return 0;
}

static int kvm_irq_line(struct accel_vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

static int kvm_msi_inject(struct accel_vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	int r = ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);

	if (r < 0)
		return -errno;
	return r == 0 ? -EBUSY : 0;	/* 0: blocked by the guest */
}

/* KVM_SET_GSI_ROUTING replaces the whole table, so keep the default
 * PIC/IOAPIC routes for GSIs 0-23 alongside the MSI routes. */
static int kvm_routes_init(struct accel_vm *vm)
{
	struct kvm_irq_routing *t;

	t = calloc(1, sizeof(*t) + KVM_MAX_ROUTES * sizeof(t->entries[0]));
	if (t == NULL)
		return -ENOMEM;
	for (unsigned gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue;		/* cascade */
		t->entries[t->nr++] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
							  : KVM_IRQCHIP_PIC_SLAVE,
				       .pin = gsi % 8 },
		};
	}
	for (unsigned gsi = 0; gsi < KVM_IOAPIC_PINS; gsi++) {
		t->entries[t->nr++] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi },
		};
	}
	vm->routes = t;
	return 0;
}

static int kvm_msi_route(struct accel_vm *vm, unsigned gsi, uint64_t addr,
			 uint32_t data)
{
	struct kvm_irq_routing_entry *e = NULL;
	int err;

	if (gsi < KVM_IOAPIC_PINS || gsi >= KVM_MAX_ROUTES)
		return -EINVAL;
	if (vm->routes == NULL && (err = kvm_routes_init(vm)) < 0)
		return err;
	for (unsigned i = 0; i < vm->routes->nr; i++)
		if (vm->routes->entries[i].gsi == gsi)
			e = &vm->routes->entries[i];
	if (e == NULL) {
		if (vm->routes->nr == KVM_MAX_ROUTES)
			return -ENOSPC;
		e = &vm->routes->entries[vm->routes->nr++];
	}
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi, .type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = (uint32_t)addr,
			   .address_hi = (uint32_t)(addr >> 32),
			   .data = data },
	};
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, vm->routes) < 0)
		return -errno;
	return 0;
}

static int kvm_irqfd_add(struct accel_vm *vm, unsigned gsi, int eventfd,
			 int resample_fd)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)eventfd, .gsi = gsi };

	if (resample_fd >= 0) {
		irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
		irqfd.resamplefd = (uint32_t)resample_fd;
	}
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	return 0;
}

static int kvm_irqfd_del(struct accel_vm *vm, unsigned gsi, int eventfd)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)eventfd, .gsi = gsi,
		.flags = KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	return 0;
}

static int kvm_ioeventfd(struct accel_vm *vm, uint64_t addr, unsigned len,
			 uint64_t data, unsigned flags, int eventfd,
			 bool deassign)
{
	struct kvm_ioeventfd io = {
		.datamatch = data, .addr = addr, .len = len, .fd = eventfd,
	};

	if (flags & ACCEL_DOORBELL_PIO)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (flags & ACCEL_DOORBELL_DATAMATCH)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (deassign)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}

static int kvm_doorbell_add(struct accel_vm *vm, uint64_t addr, unsigned len,
			    uint64_t data, unsigned flags, int eventfd)
{
	return kvm_ioeventfd(vm, addr, len, data, flags, eventfd, false);
}

static int kvm_doorbell_del(struct accel_vm *vm, uint64_t addr, unsigned len,
			    uint64_t data, unsigned flags, int eventfd)
{
	return kvm_ioeventfd(vm, addr, len, data, flags, eventfd, true);
}

const struct accel_ops accel_kvm_ops = {
	.name = "kvm",
	.caps = ACCEL_CAP_IRQCHIP | ACCEL_CAP_DOORBELL | ACCEL_CAP_IRQFD |
		ACCEL_CAP_MSI | ACCEL_CAP_SMP,
	.probe = kvm_probe,
	.vm_create = kvm_vm_create,
	.vm_destroy = kvm_vm_destroy,
	.map_memory = kvm_map_memory,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.get_sregs = kvm_get_sregs,
	.set_sregs = kvm_set_sregs,
	.set_runnable = kvm_set_runnable,
	.irq_line = kvm_irq_line,
	.msi_inject = kvm_msi_inject,
	.msi_route = kvm_msi_route,
	.irqfd_add = kvm_irqfd_add,
	.irqfd_del = kvm_irqfd_del,
	.doorbell_add = kvm_doorbell_add,
	.doorbell_del = kvm_doorbell_del,
};

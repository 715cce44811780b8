/* CPUID for KVM guests: KVM_GET_SUPPORTED_CPUID filtered to what the
 * machine can honour, plus a topology that matches the MADT. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "kvm-internal.h"

/* PVM (kvm_pvm: KVM without hardware virtualisation, as on the CI
 * machines) runs everything that is not plain 64-bit code, and every write
 * to a shadowed page table, through KVM's instruction emulator. */
static int kvm_pvm_host = -1;

void accel_kvm_detect_host(void)
{
	kvm_pvm_host = access("/sys/module/kvm_pvm", F_OK) == 0;
}

static bool kvm_is_pvm(void)
{
	if (kvm_pvm_host < 0)
		accel_kvm_detect_host();
	return kvm_pvm_host == 1;
}

/* Keep only what the machine model can honour: no PMU (we do not
 * virtualise perf counters consistently across hosts), and say we are a
 * guest.  Under PVM also no CMPXCHG16B: the emulator cannot execute it,
 * and Linux's SLUB uses it on pages that may be write-protected shadow
 * page tables (seen as an emulation failure right after "Memory:").
 * (PVM forces the host's XSAVE/AVX bits back into leaf 1 whatever we set,
 * so those cannot be hidden this way.)  Per-vCPU APIC ids are patched in
 * kvm_vcpu_set_cpuid. */
static void kvm_cpuid_filter(struct kvm_cpuid2 *cpuid)
{
	bool pvm = kvm_is_pvm();

	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			e->ecx |= 1u << 31;		/* hypervisor present */
			e->ecx &= ~(1u << 3);		/* no MONITOR/MWAIT */
			if (pvm)
				e->ecx &= ~(1u << 13);	/* CMPXCHG16B */
			break;
		case 0xa:				/* architectural PMU */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		default:
			break;
		}
	}
}

/* Some KVMs (PVM) report leaf 0xB without its core level although the
 * maximum basic leaf covers it; make sure both levels exist so
 * kvm_cpuid_topology can fill them. */
static void kvm_cpuid_add_topology_leaf(struct kvm_cpuid2 *cpuid)
{
	bool have[2] = { false, false };
	uint32_t max_leaf = 0;

	for (unsigned i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 0xb && e->index < 2)
			have[e->index] = true;
		if (e->function == 0)
			max_leaf = e->eax;
	}
	if (max_leaf < 0xb)
		return;
	for (uint32_t index = 0; index < 2; index++) {
		if (have[index] || cpuid->nent == KVM_MAX_CPUID)
			continue;
		cpuid->entries[cpuid->nent++] = (struct kvm_cpuid_entry2){
			.function = 0xb, .index = index,
			.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		};
	}
}

int kvm_cpuid_init(struct accel_vm *vm)
{
	size_t len = sizeof(*vm->cpuid) +
		     KVM_MAX_CPUID * sizeof(struct kvm_cpuid_entry2);

	vm->cpuid = calloc(1, len);
	if (vm->cpuid == NULL)
		return -ENOMEM;
	vm->cpuid->nent = KVM_MAX_CPUID;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		log_warn("KVM_GET_SUPPORTED_CPUID");
		return -errno;
	}
	kvm_cpuid_filter(vm->cpuid);
	kvm_cpuid_add_topology_leaf(vm->cpuid);
	return 0;
}

/* The topology we present: one package, nr_vcpus cores of one thread
 * each, APIC id = vCPU index.  Host values in these leaves would describe
 * the host and contradict the MADT. */
static void kvm_cpuid_topology(struct kvm_cpuid_entry2 *e, unsigned id,
			       unsigned nr)
{
	unsigned shift = 0, level;

	while ((1u << shift) < nr)
		shift++;
	switch (e->function) {
	case 1:
		e->ebx &= 0x0000ffff;
		e->ebx |= id << 24 | (nr & 0xff) << 16;
		e->edx |= 1u << 28;		/* HTT: the count above is valid */
		break;
	case 4:					/* deterministic cache params */
		if ((e->eax & 0x1f) == 0)
			break;			/* no more caches */
		level = (e->eax >> 5) & 7;
		e->eax &= 0x3fff;
		e->eax |= (nr - 1) << 26;	/* cores per package - 1 */
		if (level >= 3)
			e->eax |= (nr - 1) << 14;	/* L3 shared by all */
		break;
	case 0xb:				/* extended topology */
	case 0x1f:
		e->edx = id;
		if (e->index == 0) {		/* SMT level: one thread */
			e->eax = 0;
			e->ebx = 1;
			e->ecx = 1u << 8;
		} else if (e->index == 1) {	/* core level */
			e->eax = shift;
			e->ebx = nr;
			e->ecx = 2u << 8 | 1;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		break;
	default:
		break;
	}
}

int kvm_vcpu_set_cpuid(struct accel_vcpu *vcpu)
{
	const struct kvm_cpuid2 *tmpl = vcpu->vm->cpuid;
	size_t len = sizeof(*tmpl) + tmpl->nent * sizeof(tmpl->entries[0]);
	struct kvm_cpuid2 *cpuid = malloc(len);
	int err = 0;

	if (cpuid == NULL)
		return -ENOMEM;
	memcpy(cpuid, tmpl, len);
	for (unsigned i = 0; i < cpuid->nent; i++)
		kvm_cpuid_topology(&cpuid->entries[i], vcpu->index,
				   vcpu->vm->nr_vcpus);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0) {
		err = -errno;
		log_warn("KVM_SET_CPUID2");
	}
	free(cpuid);
	return err;
}

/* Internals shared by the KVM accelerator's files (kvm.c, kvm-cpuid.c). */
#ifndef MICA_KVM_INTERNAL_H
#define MICA_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "accel.h"

#define KVM_TSS_ADDR		0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR	0xfffbc000ULL
#define KVM_MAX_SLOTS		8
#define KVM_MAX_CPUID		256
#define KVM_MAX_ROUTES		1024
#define KVM_IOAPIC_PINS		24

/* Signal vcpu_kick sends to the vCPU thread; the runner installs a handler
 * that does nothing so the signal only interrupts KVM_RUN. */
#define KVM_KICK_SIGNAL		SIGUSR1

struct kvm_mem_map {
	void *hva;
	uint64_t gpa, size;
};

struct accel_vm {
	int kvm_fd, vm_fd;
	int run_size;
	unsigned nr_vcpus;
	struct kvm_cpuid2 *cpuid;		/* filtered, shared template */
	struct kvm_mem_map maps[KVM_MAX_SLOTS];
	unsigned nr_maps;
	struct kvm_irq_routing *routes;		/* NULL until first msi_route */
	struct accel_vcpu *vcpus[ACCEL_MAX_VCPUS];
};

struct accel_vcpu {
	struct accel_vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	volatile int thread_known;
};

/* CPUID (kvm-cpuid.c): the filtered template, then each vCPU's copy with
 * its topology.  0 or negative errno. */
int kvm_cpuid_init(struct accel_vm *vm);
int kvm_vcpu_set_cpuid(struct accel_vcpu *vcpu);

#endif

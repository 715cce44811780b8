/* Accelerator interface: the one table between the vCPU runner and
 * whatever executes guest code (KVM now, the JIT translator later).
 *
 * Every function returns 0 or a negative errno unless said otherwise.
 * Objects are opaque; an accelerator allocates them and frees them in
 * vm_destroy (which also destroys the vCPUs and unmaps guest memory).
 *
 * Threading: vcpu_run is called by one thread per vCPU; all other VM-wide
 * calls may be made from any thread but are not meant to race with each
 * other (the runner serialises set-up).  vcpu_kick is async-signal-safe.
 */
#ifndef MICA_ACCEL_H
#define MICA_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct accel_vm;
struct accel_vcpu;

/* x86 segment register in the "unpacked" form KVM and the translator use. */
struct accel_segment {
	uint64_t base;
	uint32_t limit;		/* byte granular, already scaled */
	uint16_t selector;
	uint8_t type;		/* 4-bit descriptor type */
	uint8_t present, dpl, db, s, l, g, avl;
	uint8_t unusable;
};

struct accel_dtable {
	uint64_t base;
	uint16_t limit;
};

struct accel_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

struct accel_sregs {
	struct accel_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct accel_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
};

enum accel_exit_reason {
	ACCEL_EXIT_IO = 1,	/* port I/O: see exit.io */
	ACCEL_EXIT_MMIO,	/* access to unbacked memory: see exit.mmio */
	ACCEL_EXIT_HALT,	/* HLT with no in-kernel irqchip to wait in */
	ACCEL_EXIT_SHUTDOWN,	/* triple fault or shutdown: the VM is dead */
	ACCEL_EXIT_RESET,	/* the platform asked for a reset */
	ACCEL_EXIT_INTR,	/* vcpu_kick or a signal interrupted the run */
	ACCEL_EXIT_ERROR,	/* accelerator could not run the vCPU: see exit.error */
};

/* What vcpu_run reports.  For reads (io.write / mmio.write false) the
 * handler fills data[] before the next vcpu_run, which completes the
 * instruction with it.  Repeated string I/O arrives as io.count items of
 * io.size bytes back to back in data[]. */
struct accel_exit {
	enum accel_exit_reason reason;
	union {
		struct {
			uint16_t port;
			uint8_t size;		/* 1, 2 or 4 */
			bool write;
			uint32_t count;
			uint8_t *data;
		} io;
		struct {
			uint64_t addr;
			uint8_t size;		/* 1..8 */
			bool write;
			uint8_t *data;
		} mmio;
		struct {
			uint32_t code;		/* accelerator-specific */
			uint64_t detail;
		} error;
	};
};

struct accel_vm_config {
	unsigned nr_vcpus;	/* 1..ACCEL_MAX_VCPUS */
};

#define ACCEL_MAX_VCPUS 64

/* Doorbell (ioeventfd-like): a guest write to [addr, addr+len) signals
 * eventfd without leaving the accelerator.  With ACCEL_DOORBELL_DATAMATCH
 * only writes of exactly `data` do. */
#define ACCEL_DOORBELL_PIO       (1u << 0)
#define ACCEL_DOORBELL_DATAMATCH (1u << 1)

/* What an accelerator can do, separate from the operations: an
 * operation whose capability is missing returns -ENOTSUP. */
#define ACCEL_CAP_IRQCHIP	(1u << 0)	/* PIC/IOAPIC/LAPIC + PIT inside */
#define ACCEL_CAP_DOORBELL	(1u << 1)	/* doorbell_add/del */
#define ACCEL_CAP_IRQFD		(1u << 2)	/* irqfd_add/del */
#define ACCEL_CAP_MSI		(1u << 3)	/* msi_inject, msi_route */
#define ACCEL_CAP_SMP		(1u << 4)	/* more than one vCPU */

struct accel_ops {
	const char *name;
	unsigned caps;		/* ACCEL_CAP_* */

	/* Is this accelerator usable on this host?  0 if yes. */
	int (*probe)(void);

	int (*vm_create)(const struct accel_vm_config *cfg, struct accel_vm **vmp);
	void (*vm_destroy)(struct accel_vm *vm);

	/* Map size bytes of memfd (from offset) at guest physical gpa.  The
	 * host mapping is returned in *hva (MAP_SHARED, valid until
	 * vm_destroy).  Regions must not overlap; gpa, offset and size are
	 * page aligned (-EINVAL otherwise). */
	int (*map_memory)(struct accel_vm *vm, uint64_t gpa, uint64_t size,
			  int memfd, uint64_t offset, void **hva);

	int (*vcpu_create)(struct accel_vm *vm, unsigned index,
			   struct accel_vcpu **vcpup);
	/* Run until an exit that needs the runner.  -EINTR never: a signal
	 * gives ACCEL_EXIT_INTR. */
	int (*vcpu_run)(struct accel_vcpu *vcpu, struct accel_exit *exit);
	/* Make a running (or the next) vcpu_run return ACCEL_EXIT_INTR.
	 * KVM interrupts the vCPU thread with SIGUSR1: the process must
	 * have a handler installed for it (machine_run installs a no-op). */
	void (*vcpu_kick)(struct accel_vcpu *vcpu);

	int (*get_regs)(struct accel_vcpu *vcpu, struct accel_regs *regs);
	int (*set_regs)(struct accel_vcpu *vcpu, const struct accel_regs *regs);
	int (*get_sregs)(struct accel_vcpu *vcpu, struct accel_sregs *sregs);
	int (*set_sregs)(struct accel_vcpu *vcpu, const struct accel_sregs *sregs);
	/* Application processors wait for INIT/SIPI from the BSP when
	 * runnable is false; the BSP (index 0) is runnable by default. */
	int (*set_runnable)(struct accel_vcpu *vcpu, bool runnable);

	/* Interrupts.  irq_line drives an interrupt-controller input (GSI)
	 * level; edge-triggered sources pulse 1 then 0.  msi_inject delivers
	 * one MSI message. */
	int (*irq_line)(struct accel_vm *vm, unsigned gsi, int level);
	int (*msi_inject)(struct accel_vm *vm, uint64_t addr, uint32_t data);
	/* Route GSI `gsi` to an MSI message (for MSI-X vectors driven by an
	 * interrupt line below).  Replaces any previous route of that GSI. */
	int (*msi_route)(struct accel_vm *vm, unsigned gsi, uint64_t addr,
			 uint32_t data);

	/* Interrupt line (irqfd-like): signalling eventfd raises gsi.  For
	 * level-triggered lines resample_fd (or -1) is signalled on EOI. */
	int (*irqfd_add)(struct accel_vm *vm, unsigned gsi, int eventfd,
			 int resample_fd);
	int (*irqfd_del)(struct accel_vm *vm, unsigned gsi, int eventfd);

	int (*doorbell_add)(struct accel_vm *vm, uint64_t addr, unsigned len,
			    uint64_t data, unsigned flags, int eventfd);
	int (*doorbell_del)(struct accel_vm *vm, uint64_t addr, unsigned len,
			    uint64_t data, unsigned flags, int eventfd);
};

/* Registered accelerators, in preference order. */
extern const struct accel_ops accel_kvm_ops;

/* Use fd, an open /dev/kvm, instead of opening the path (a jailed
 * runner receives it from the launcher).  0, or -ENOTSUP if fd is not a
 * KVM device of the expected API version.  The caller keeps fd open. */
int accel_kvm_use_device_fd(int fd);

/* Look at the host (/sys) for what KVM needs to know, e.g. PVM; call it
 * before a lockdown that hides /sys (later calls use the cached answer). */
void accel_kvm_detect_host(void);

/* Find an accelerator by name ("kvm"), or the first usable one when name
 * is NULL.  Returns NULL if none is usable (errno-free: logs why). */
const struct accel_ops *accel_find(const char *name);

#endif

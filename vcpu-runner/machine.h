/* The runner's machine: one accelerator VM, guest RAM from a memfd, one
 * thread per vCPU, and in-process port-I/O/MMIO buses that route exits to
 * device callbacks (later: forwarded to mica-legacy over IPC). */
#ifndef MICA_MACHINE_H
#define MICA_MACHINE_H

#include <pthread.h>
#include <stdint.h>

#include "accel.h"
#include "guest-mem.h"
#include "iobus.h"

enum machine_stop {
	MACHINE_RUNNING = 0,
	MACHINE_EXIT,		/* a device asked to end the VM with a status */
	MACHINE_RESET,		/* guest reset (i8042, ACPI reset register) */
	MACHINE_POWEROFF,	/* guest entered ACPI S5 */
	MACHINE_SHUTDOWN,	/* triple fault / shutdown */
	MACHINE_HALT,		/* BSP halted with nothing to wake it */
	MACHINE_ERROR,		/* accelerator failure */
};

struct machine {
	const struct accel_ops *ops;
	struct accel_vm *vm;
	struct accel_vcpu *vcpu[ACCEL_MAX_VCPUS];
	unsigned nr_vcpus;
	struct guest_mem mem;
	struct iobus pio, mmio;
	pthread_mutex_t io_lock;	/* device models are single-threaded */
	volatile int stopping;
	enum machine_stop stop_reason;
	int exit_status;
	uint64_t nr_exits;
	/* Called first thing on each vCPU thread (e.g. to narrow its
	 * seccomp filter); non-zero stops the machine with MACHINE_ERROR. */
	int (*vcpu_thread_init)(struct machine *m, unsigned index);
};

/* Create the VM, map ram_size bytes of memfd (layout.h), create the vCPUs.
 * 0 or negative errno; on failure everything is undone. */
int machine_create(struct machine *m, const struct accel_ops *ops, int memfd,
		   uint64_t ram_size, unsigned nr_vcpus);
void machine_destroy(struct machine *m);

/* Ask every vCPU to stop; the first request wins.  Callable from device
 * callbacks on a vCPU thread. */
void machine_request_stop(struct machine *m, enum machine_stop why, int status);

/* Run all vCPUs until machine_request_stop or a fatal exit.  Returns the
 * stop reason. */
enum machine_stop machine_run(struct machine *m);

const char *machine_stop_name(enum machine_stop why);

#endif

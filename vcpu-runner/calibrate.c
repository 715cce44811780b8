/* How fast does the accelerator run guest code?  A tiny 64-bit guest
 * counts down a register loop; the time per iteration against what a
 * host core needs (about one cycle) says whether the accelerator runs
 * near native or emulates (as KVM does on PVM hosts for much code). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "boot/boot.h"
#include "calibrate.h"
#include "layout.h"
#include "log.h"

#define CAL_RAM		(2ULL << 20)
#define CAL_CODE	LAYOUT_HIGH_MEM
#define CAL_EXIT_PORT	0xf4

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cal_exit_write(void *opaque, uint64_t addr, unsigned size,
			   uint64_t val)
{
	machine_request_stop(opaque, MACHINE_EXIT, 0);
}

static const struct io_handler cal_exit = { .write = cal_exit_write };

/* Run the loop for `iterations` and return the wall time in seconds, or
 * a negative errno. */
static int cal_run(const struct accel_ops *ops, int memfd, uint32_t iterations,
		   double *seconds)
{
	/* mov ecx, N; 1: dec ecx; jnz 1b; out 0xf4, al; hlt; jmp . */
	uint8_t code[] = {
		0xb9, 0, 0, 0, 0, 0xff, 0xc9, 0x75, 0xfc,
		0xe6, CAL_EXIT_PORT, 0xf4, 0xeb, 0xfe,
	};
	struct boot_entry entry = { .mode = BOOT_LONG64, .rip = CAL_CODE };
	struct machine m;
	uint8_t *p;
	double t0;
	int err;

	memcpy(&code[1], &iterations, 4);
	err = machine_create(&m, ops, memfd, CAL_RAM, 1);
	if (err < 0)
		return err;
	p = guest_mem_ptr(&m.mem, CAL_CODE, sizeof(code));
	err = p == NULL ? -EINVAL : 0;
	if (err == 0) {
		memcpy(p, code, sizeof(code));
		err = iobus_register(&m.pio, CAL_EXIT_PORT, 1, &cal_exit, &m);
	}
	if (err == 0)
		err = boot_vcpu_setup(ops, m.vcpu[0], &m.mem, &entry);
	if (err == 0) {
		t0 = mono_s();
		if (machine_run(&m) != MACHINE_EXIT)
			err = -EIO;
		*seconds = mono_s() - t0;
	}
	/* Leave guest RAM as zero as we found it. */
	for (unsigned i = 0; i < m.mem.nr; i++)
		memset(m.mem.region[i].hva, 0, m.mem.region[i].size);
	machine_destroy(&m);
	return err;
}

int accel_calibrate(const struct accel_ops *ops, int memfd,
		    struct accel_calibration *cal)
{
	const uint32_t n = CALIBRATE_ITERATIONS;
	double empty, loop;
	int err;

	err = cal_run(ops, memfd, 1, &empty);
	if (err == 0)
		err = cal_run(ops, memfd, n, &loop);
	if (err < 0)
		return err;
	cal->ns_per_iteration = loop > empty ? (loop - empty) * 1e9 / n : 0;
	cal->fixed_us = empty * 1e6;
	cal->near_native = cal->ns_per_iteration < CALIBRATE_NATIVE_NS_MAX;
	return 0;
}

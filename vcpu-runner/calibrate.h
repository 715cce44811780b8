/* Accelerator speed check for `--accel auto` (calibrate.c). */
#ifndef MICA_CALIBRATE_H
#define MICA_CALIBRATE_H

#include <stdbool.h>

#include "machine.h"

/* A host core runs the loop at about 0.3-1 ns per iteration; an
 * accelerator that needs 20 times that is emulating, not virtualising. */
#define CALIBRATE_ITERATIONS	20000u
#define CALIBRATE_NATIVE_NS_MAX	20.0

struct accel_calibration {
	double ns_per_iteration;	/* guest loop, start-up subtracted */
	double fixed_us;		/* creating and running an empty VM */
	bool near_native;
};

/* Run the calibration guest twice (empty, then the loop) on the first
 * 2 MiB of memfd, which is left zeroed.  0 or a negative errno. */
int accel_calibrate(const struct accel_ops *ops, int memfd,
		    struct accel_calibration *cal);

#endif

/* Differential oracle: run guest code natively (in a forked child) and
 * under the translator from the same registers, flags and memory, and
 * compare the final state. */
#ifndef MICA_TEST_ORACLE_H
#define MICA_TEST_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ORACLE_CODE_ADDR 0x10000000ull
#define ORACLE_DATA_ADDR 0x20000000ull
#define ORACLE_DATA_SIZE 0x10000ull
#define ORACLE_MEM_BASE (ORACLE_DATA_ADDR + 0x1000)	/* rbx */
#define ORACLE_STACK (ORACLE_DATA_ADDR + 0x8000)	/* rsp */

struct oracle_state {
	uint64_t r[16];
	uint64_t rip;
	uint64_t rflags;
	uint64_t xmm[16][2];	/* offset 144, loaded by oracle_enter */
	int signal;		/* 0, or the signal that stopped the code */
	uint32_t mxcsr;		/* offset 404, loaded by oracle_enter */
};

/* Set up fixed mappings; returns false if impossible. */
bool oracle_init(void);
/* Run CODE (LEN bytes, an int3 is appended) from IN both ways.  Flags in
 * UNDEF_FLAGS are not compared; MXCSR (rounding control in, exception
 * flags out) is.  Returns true if both agree; on
 * disagreement prints a report with LABEL to stdout. */
bool oracle_compare(const char *label, const uint8_t *code, size_t len,
		    const struct oracle_state *in, uint64_t undef_flags,
		    uint64_t data_seed);

/* After oracle_compare: the signals that ended the native and the
 * translated run.  With oracle_quiet set, mismatches are not printed. */
void oracle_last_signals(int *native, int *translated);
extern bool oracle_quiet;

/* Run CODE translated only (for instructions whose native result
 * differs by design, such as CPUID, or would disturb the harness);
 * returns the exit signal (0 at the trailing int3). */
int oracle_run_translated(const uint8_t *code, size_t len,
			  const struct oracle_state *in,
			  struct oracle_state *out);

#endif

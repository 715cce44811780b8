/* x87 helper called from generated code (see x87.c). */
#ifndef MICA_X86_X87_H
#define MICA_X86_X87_H

#include <stdint.h>

#include "translator/x86/cpu.h"

/* key = escape opcode (D8..DF) | ModRM << 8 | memory-form << 16.
 * EFLAGS is the guest's (for FCMOVcc).  Returns EFLAGS for FCOMI and
 * friends, the status word for FNSTSW AX, else 0. */
uint64_t x86_helper_x87(struct x86_cpu *env, uint64_t key, uint64_t eflags);

/* KIND: bit 0 load (fldenv/frstor) rather than store (fnstenv/fnsave),
 * bit 1 with the registers (fnsave/frstor). */
uint64_t x86_helper_fenv(struct x86_cpu *env, uint64_t kind, uint64_t addr);

/* FXSAVE/FXRSTOR on the guest's 512-byte area at ADDR. */
uint64_t x86_helper_fxsave(struct x86_cpu *env, uint64_t addr);
uint64_t x86_helper_fxrstor(struct x86_cpu *env, uint64_t addr);

#endif

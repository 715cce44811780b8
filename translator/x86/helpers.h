/* Out-of-line x86 semantics called from generated code (IR_CALL).
 *
 * Helpers that are not IR_HELPER_PURE receive the guest state as their
 * first argument; pure ones get only their IR arguments.
 */
#ifndef MICA_X86_HELPERS_H
#define MICA_X86_HELPERS_H

#include <stdint.h>

#include "translator/x86/cpu.h"

enum x86_bitscan { X86_BITSCAN_BSF, X86_BITSCAN_BSR, X86_BITSCAN_TZCNT,
		   X86_BITSCAN_LZCNT, X86_BITSCAN_POPCNT };

/* op (ModRM.reg of group 2) | size << 8; writes flags to env. */
uint64_t x86_helper_shift(struct x86_cpu *env, uint64_t op_size, uint64_t v,
			  uint64_t count);
/* size | right << 8: SHLD/SHRD. */
uint64_t x86_helper_shd(struct x86_cpu *env, uint64_t size_dir,
			uint64_t dst, uint64_t src, uint64_t count);
/* One-operand MUL/IMUL (size | signed << 8) on rAX/rDX. */
uint64_t x86_helper_mul(struct x86_cpu *env, uint64_t size_signed,
			uint64_t v);
/* DIV/IDIV: returns 1 on divide error (nothing written), else 0. */
uint64_t x86_helper_div(struct x86_cpu *env, uint64_t size_signed,
			uint64_t v);
/* 64-bit two/three-operand IMUL: low half; flags to env. */
uint64_t x86_helper_imul64(struct x86_cpu *env, uint64_t a, uint64_t b);
uint64_t x86_helper_get_rflags(struct x86_cpu *env);
uint64_t x86_helper_set_rflags(struct x86_cpu *env, uint64_t v);
uint64_t x86_helper_rdtsc(struct x86_cpu *env);
/* RDTSCP: rdtsc plus ECX = TSC_AUX (Linux: cpu | node << 12). */
uint64_t x86_helper_rdtscp(struct x86_cpu *env);
uint64_t x86_helper_cpuid(struct x86_cpu *env);
/* CPUID.1:EDX as advertised (also the user-mode AT_HWCAP). */
uint32_t x86_cpuid_features_edx(void);
/* kind (opcode - 0xa4) >> 1 | size << 8 | rep << 16 | addr32 << 24. */
uint64_t x86_helper_string(struct x86_cpu *env, uint64_t desc,
			   uint64_t seg_base);
/* Locked read-modify-write on guest memory at ADDR (x86/atomic.c). */
uint64_t x86_helper_atomic(struct x86_cpu *env, uint64_t desc, uint64_t addr,
			   uint64_t src);
uint64_t x86_helper_bitscan(uint64_t kind_size, uint64_t v);
uint64_t x86_helper_bswap(uint64_t size, uint64_t v);

/* Guest memory as the helpers see it (user mode: guest + base). */
extern uint64_t x86_guest_base;
static inline void *x86_g2h(uint64_t guest)
{
	return (void *)(uintptr_t)(guest + x86_guest_base);
}

/* Set while a helper touches guest memory: a host fault there is the
 * guest's (tr runtime checks it in its SIGSEGV handler). */
extern __thread volatile int x86_helper_in_guest_memory;

#endif

/* SSE/SSE2 semantics shared by the frontend (ops_sse.c) and the helper
 * (sse_helpers.c). */
#ifndef MICA_X86_SSE_H
#define MICA_X86_SSE_H

#include <stdint.h>

#include "translator/x86/cpu.h"

#define X86_XMM_TMP 16
#define X86_XMM_OFF(i) (X86_ENV_OFF(xmm) + 16u * (i))
/* MMX register i: the low 64 bits of x87 physical register i. */
#define X86_MM_OFF(i) (X86_ENV_OFF(fpr) + 16u * (i))
#define SSE_KEY_MMX (1ull << 24)

/* key = opcode | simd_prefix << 8 | rex_w << 10 | imm8 << 16 */
#define SSE_KEY(op, pfx, w, imm) \
	((uint64_t)(op) | (uint64_t)(pfx) << 8 | (uint64_t)(w) << 10 | \
	 (uint64_t)(imm) << 16)

/* xmm[d] = op(xmm[d], xmm[s]) for the 0F-map SSE op in KEY; for ops
 * producing a general register or flags the result is returned; for ops
 * taking a general register, S is its value. */
uint64_t x86_helper_sse(struct x86_cpu *env, uint64_t key, uint64_t d,
			uint64_t s);

#endif

/* SSE..SSE4.2 semantics shared by the frontend (ops_sse.c) and the
 * helpers (sse_helpers.c: SSE/SSE2/MMX, sse_ext.c: SSE3..SSE4.2). */
#ifndef MICA_X86_SSE_H
#define MICA_X86_SSE_H

#include <stdbool.h>
#include <stdint.h>

#include "translator/x86/cpu.h"

#define X86_XMM_TMP 16
#define X86_XMM_OFF(i) (X86_ENV_OFF(xmm) + 16u * (i))
/* MMX register i: the low 64 bits of x87 physical register i. */
#define X86_MM_OFF(i) (X86_ENV_OFF(fpr) + 16u * (i))
#define SSE_KEY_MMX (1ull << 24)
/* An op mixing MMX and xmm registers (cvtpi2ps, movq2dq...). */
#define SSE_KEY_MIXED (1ull << 27)
/* Opcode map (enum x86_map) of the instruction. */
#define SSE_KEY_MAP(m) ((uint64_t)(m) << 25)
#define SSE_KEY_GET_MAP(key) (((key) >> 25) & 3)

/* key = opcode | simd_prefix << 8 | rex_w << 10 | memory source << 11 |
 *       ModRM.reg digit << 12 | imm8 << 16 | MMX << 24 | map << 25 */
#define SSE_KEY(op, pfx, w, imm) \
	((uint64_t)(op) | (uint64_t)(pfx) << 8 | (uint64_t)(w) << 10 | \
	 (uint64_t)(imm) << 16)

/* Scalar SSE arithmetic as one host instruction with a fixed operand
 * order (the first operand's NaN wins, as on hardware; a C "a + b" may
 * be emitted with the operands swapped) and never moved across MXCSR
 * loads. */
#define X86_SSE_ASM_OP(name, insn, type)				\
	static inline type name(type a, type b)				\
	{								\
		__asm__ volatile(insn " %1, %0" : "+x"(a) : "x"(b));	\
		return a;						\
	}
X86_SSE_ASM_OP(x86_fadd_s, "addss", float)
X86_SSE_ASM_OP(x86_fsub_s, "subss", float)
X86_SSE_ASM_OP(x86_fmul_s, "mulss", float)
X86_SSE_ASM_OP(x86_fadd_d, "addsd", double)
X86_SSE_ASM_OP(x86_fsub_d, "subsd", double)
X86_SSE_ASM_OP(x86_fmul_d, "mulsd", double)

/* xmm[d] = op(xmm[d], xmm[s]) for the 0F-map SSE op in KEY; for ops
 * producing a general register or flags the result is returned; for ops
 * taking a general register, S is its value. */
uint64_t x86_helper_sse(struct x86_cpu *env, uint64_t key, uint64_t d,
			uint64_t s);

/* The same for ops that x86_sse_uses_mxcsr() says are independent of
 * MXCSR (integer, moves, shuffles): no MXCSR switch. */
uint64_t x86_helper_sse_plain(struct x86_cpu *env, uint64_t key, uint64_t d,
			      uint64_t s);
bool x86_sse_uses_mxcsr(uint64_t key);

/* Helper calls per map, MMX or not, prefix and opcode, counted with
 * MICA_TRANSLATOR_STATS (what still runs out of line). */
#define X86_SSE_COUNT_SLOTS 8192
#define X86_SSE_COUNT_SLOT(key)						\
	((unsigned)(SSE_KEY_GET_MAP(key) << 11 |			\
		    ((key) & SSE_KEY_MMX ? 1u : 0u) << 10 | ((key) & 0x3ff)))
extern unsigned long x86_sse_helper_calls[X86_SSE_COUNT_SLOTS];

/* PCMPESTRI/ESTRM/ISTRI/ISTRM: KEY as above plus the first operand's
 * xmm index in bits 32..35; S the second operand's xmm index; RAX/RDX
 * the explicit lengths.  Mask forms write xmm0.  Returns the EFLAGS
 * bits, and for index forms the index in bits 32..39. */
uint64_t x86_helper_pcmpstr(struct x86_cpu *env, uint64_t key, uint64_t s,
			    uint64_t rax, uint64_t rdx);
/* MASKMOVQ / MASKMOVDQU (KEY as above, registers in ModRM.reg/rm bits
 * 32..35 / 36..39): selected bytes to guest memory at ADDR. */
uint64_t x86_helper_maskmov(struct x86_cpu *env, uint64_t key, uint64_t addr);
/* CRC32 (Castagnoli) of the low SIZE bytes of V, continuing CRC. */
uint64_t x86_helper_crc32(uint64_t crc, uint64_t v, uint64_t size);
uint64_t x86_helper_ldmxcsr(struct x86_cpu *env, uint64_t v);
uint64_t x86_helper_stmxcsr(struct x86_cpu *env);

/* sse_ext.c, called by x86_helper_sse. */
void x86_sse3_op(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		 unsigned pfx);
void x86_ssse3_op(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		  unsigned imm, unsigned n);
uint64_t x86_sse41_op38(union x86_xmm *d, const union x86_xmm *s,
			const union x86_xmm *xmm0, unsigned op);
void x86_sse41_op3a(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		    unsigned imm, bool w, bool mem, uint64_t v);
uint64_t x86_sse41_extract(const union x86_xmm *s, unsigned op, unsigned imm,
			   bool w);
uint64_t x86_sse42_pcmpstr(struct x86_cpu *env, unsigned op, unsigned imm,
			   bool w, unsigned d, unsigned s, uint64_t rax,
			   uint64_t rdx);
/* Valid SSSE3 opcodes (map 0F38 or 0F3A), SSE4 ones with a 66 prefix. */
bool x86_ssse3_valid(unsigned map, unsigned op);
bool x86_sse41_valid38(unsigned op);
bool x86_sse41_valid3a(unsigned op);

#endif

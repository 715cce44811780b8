/* Minimal x86-64 instruction encoder for the backend. */
#ifndef MICA_HOST_X86_64_ASM_H
#define MICA_HOST_X86_64_ASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum host_reg { H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
		H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15 };

struct emitter {
	uint8_t *buf;
	size_t pos, cap;
	uint64_t exec_base;	/* exec address of buf[0] */
	bool overflow;
};

/* Group-1 ALU operations, by their /digit. */
enum asm_alu { A_ADD = 0, A_OR = 1, A_AND = 4, A_SUB = 5, A_XOR = 6,
	       A_CMP = 7 };
/* Group-2 shifts, by their /digit. */
enum asm_shift { S_ROL = 0, S_ROR = 1, S_SHL = 4, S_SHR = 5, S_SAR = 7 };

/* Inline: every encoder calls these for each byte (translation speed). */
static inline void asm_byte(struct emitter *e, uint8_t b)
{
	if (e->pos >= e->cap) {
		e->overflow = true;
		return;
	}
	e->buf[e->pos++] = b;
}

static inline void asm_u32(struct emitter *e, uint32_t v)
{
	if (e->cap - e->pos >= 4) {
		memcpy(e->buf + e->pos, &v, 4);	/* little endian host */
		e->pos += 4;
		return;
	}
	for (int i = 0; i < 4; i++)
		asm_byte(e, (uint8_t)(v >> (8 * i)));
}

static inline void asm_u64(struct emitter *e, uint64_t v)
{
	if (e->cap - e->pos >= 8) {
		memcpy(e->buf + e->pos, &v, 8);
		e->pos += 8;
		return;
	}
	for (int i = 0; i < 8; i++)
		asm_byte(e, (uint8_t)(v >> (8 * i)));
}

/* [base + (index << scale) + disp]; index < 0: none. */
struct asm_mem {
	int base, index;
	unsigned scale;
	int32_t disp;
};

void asm_mov_rr(struct emitter *e, int dst, int src);		/* 64-bit */
void asm_mov_ri(struct emitter *e, int dst, int64_t imm);
void asm_load(struct emitter *e, int dst, int base, int32_t disp,
	      unsigned size);	/* zero-extending */
void asm_store(struct emitter *e, int base, int32_t disp, int src,
	       unsigned size);
void asm_store_imm32(struct emitter *e, int base, int32_t disp, int32_t imm);
void asm_load_m(struct emitter *e, int dst, const struct asm_mem *m,
		unsigned size);	/* zero-extending */
void asm_store_m(struct emitter *e, const struct asm_mem *m, int src,
		 unsigned size);
/* movdqu xmmX, [m] (LOAD) or movdqu [m], xmmX. */
void asm_movdqu_m(struct emitter *e, bool load, int xmm,
		  const struct asm_mem *m);
void asm_alu_rr(struct emitter *e, enum asm_alu op, int dst, int src);
void asm_alu_ri(struct emitter *e, enum asm_alu op, int dst, int32_t imm);
void asm_shift_ri(struct emitter *e, enum asm_shift op, int dst, uint8_t n);
void asm_shift_rcl(struct emitter *e, enum asm_shift op, int dst);
void asm_imul_rr(struct emitter *e, int dst, int src);
void asm_imul_rri(struct emitter *e, int dst, int src, int32_t imm);
void asm_neg(struct emitter *e, int dst);
void asm_not(struct emitter *e, int dst);
void asm_test_rr(struct emitter *e, int a, int b);
/* Operand size 4 (zero-extends the result) or 8. */
void asm_alu_rr_sz(struct emitter *e, enum asm_alu op, int dst, int src,
		   unsigned size);
void asm_alu_ri_sz(struct emitter *e, enum asm_alu op, int dst, int32_t imm,
		   unsigned size);
void asm_shift_ri_sz(struct emitter *e, enum asm_shift op, int dst,
		     uint8_t n, unsigned size);
void asm_shift_rcl_sz(struct emitter *e, enum asm_shift op, int dst,
		      unsigned size);
void asm_imul_rr_sz(struct emitter *e, int dst, int src, unsigned size);
void asm_imul_rri_sz(struct emitter *e, int dst, int src, int32_t imm,
		     unsigned size);
void asm_unary_sz(struct emitter *e, unsigned digit, int dst, unsigned size);
void asm_bswap(struct emitter *e, int dst, unsigned size);
void asm_lea(struct emitter *e, int dst, int base, int index, int32_t disp,
	     unsigned size);
void asm_setcc(struct emitter *e, uint8_t cc, int dst);	/* + movzx */
void asm_cmov(struct emitter *e, uint8_t cc, int dst, int src);
void asm_extend(struct emitter *e, int dst, int src, unsigned size,
		bool sign);
void asm_cmp_mem8_imm(struct emitter *e, int base, int32_t disp, uint8_t imm);
void asm_push(struct emitter *e, int r);
void asm_pop(struct emitter *e, int r);
void asm_call_abs(struct emitter *e, uint64_t target);	/* clobbers rax */
/* jmp rel32 to an exec address; returns buffer offset of the E9. */
size_t asm_jmp_exec(struct emitter *e, uint64_t target);
/* jcc rel32 forward with unknown target: returns the offset to patch. */
size_t asm_jcc_fwd(struct emitter *e, uint8_t cc);
void asm_patch_fwd(struct emitter *e, size_t at);
void asm_align_jump(struct emitter *e);	/* so a jmp's rel32 is aligned */

static inline bool fits_i32(int64_t v)
{
	return v == (int64_t)(int32_t)v;
}

/* Host condition codes (low nibble of Jcc/SETcc/CMOVcc). */
enum host_cc { HCC_O, HCC_NO, HCC_B, HCC_AE, HCC_E, HCC_NE, HCC_BE,
	       HCC_A, HCC_S, HCC_NS, HCC_P, HCC_NP, HCC_L, HCC_GE, HCC_LE,
	       HCC_G };

#endif

/* Minimal x86-64 instruction encoder.  Encodings: Intel SDM vol. 2. */
#include <string.h>

#include "translator/host/x86_64_asm.h"

/* asm_byte, asm_u32 and asm_u64 are inline in the header. */

/* REX with W, and R/B extensions for reg and rm; FORCE emits it even if
 * empty (needed to reach sil/dil/spl/bpl as byte registers). */
static void rex(struct emitter *e, bool w, int reg, int rm, bool force)
{
	uint8_t r = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) |
		    ((rm & 8) ? 1 : 0);

	if (r != 0x40 || force)
		asm_byte(e, r);
}

static void modrm_rr(struct emitter *e, int reg, int rm)
{
	asm_byte(e, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

/* ModRM (+SIB, +disp) for [base + (index << scale) + disp]; no index if
 * < 0. */
static void modrm_mem_index(struct emitter *e, int reg, int base, int index,
			    unsigned scale, int32_t disp)
{
	uint8_t mod;

	if (disp == 0 && (base & 7) != H_RBP)
		mod = 0;
	else if (disp >= -128 && disp <= 127)
		mod = 1;
	else
		mod = 2;
	if (index >= 0) {
		asm_byte(e, mod << 6 | (reg & 7) << 3 | 4);
		asm_byte(e, (uint8_t)(scale << 6 | (index & 7) << 3 |
				      (base & 7)));
	} else {
		asm_byte(e, mod << 6 | (reg & 7) << 3 | (base & 7));
		if ((base & 7) == H_RSP)
			asm_byte(e, 0x24);
	}
	if (mod == 1)
		asm_byte(e, (uint8_t)disp);
	else if (mod == 2)
		asm_u32(e, (uint32_t)disp);
}

static void modrm_mem(struct emitter *e, int reg, int base, int32_t disp)
{
	modrm_mem_index(e, reg, base, -1, 0, disp);
}

void asm_mov_rr(struct emitter *e, int dst, int src)
{
	if (dst == src)
		return;
	rex(e, true, src, dst, false);
	asm_byte(e, 0x89);
	modrm_rr(e, src, dst);
}

void asm_mov_ri(struct emitter *e, int dst, int64_t imm)
{
	if (imm == 0) {
		rex(e, false, dst, dst, false);
		asm_byte(e, 0x31);
		modrm_rr(e, dst, dst);
	} else if ((uint64_t)imm <= 0xffffffffull) {
		rex(e, false, 0, dst, false);
		asm_byte(e, 0xb8 + (dst & 7));
		asm_u32(e, (uint32_t)imm);
	} else if (fits_i32(imm)) {
		rex(e, true, 0, dst, false);
		asm_byte(e, 0xc7);
		modrm_rr(e, 0, dst);
		asm_u32(e, (uint32_t)imm);
	} else {
		rex(e, true, 0, dst, false);
		asm_byte(e, 0xb8 + (dst & 7));
		asm_u64(e, (uint64_t)imm);
	}
}

/* REX for a memory operand M (X for its index). */
static void rex_mem(struct emitter *e, bool w, int reg,
		    const struct asm_mem *m, bool force)
{
	uint8_t r = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) |
			      (m->index >= 0 && (m->index & 8) ? 2 : 0) |
			      ((m->base & 8) ? 1 : 0));

	if (r != 0x40 || force)
		asm_byte(e, r);
}

void asm_load(struct emitter *e, int dst, int base, int32_t disp,
	      unsigned size)
{
	struct asm_mem m = { .base = base, .index = -1, .disp = disp };

	asm_load_m(e, dst, &m, size);
}

void asm_load_m(struct emitter *e, int dst, const struct asm_mem *m,
		unsigned size)
{
	rex_mem(e, size == 8, dst, m, false);
	if (size <= 2)
		asm_byte(e, 0x0f);
	asm_byte(e, size == 1 ? 0xb6 : size == 2 ? 0xb7 : 0x8b);
	modrm_mem_index(e, dst, m->base, m->index, m->scale, m->disp);
}

void asm_store(struct emitter *e, int base, int32_t disp, int src,
	       unsigned size)
{
	struct asm_mem m = { .base = base, .index = -1, .disp = disp };

	asm_store_m(e, &m, src, size);
}

void asm_store_m(struct emitter *e, const struct asm_mem *m, int src,
		 unsigned size)
{
	if (size == 2)
		asm_byte(e, 0x66);
	rex_mem(e, size == 8, src, m, size == 1 && src >= 4);
	asm_byte(e, size == 1 ? 0x88 : 0x89);
	modrm_mem_index(e, src, m->base, m->index, m->scale, m->disp);
}

void asm_store_imm32(struct emitter *e, int base, int32_t disp, int32_t imm)
{
	rex(e, true, 0, base, false);
	asm_byte(e, 0xc7);
	modrm_mem(e, 0, base, disp);
	asm_u32(e, (uint32_t)imm);
}

void asm_alu_rr(struct emitter *e, enum asm_alu op, int dst, int src)
{
	asm_alu_rr_sz(e, op, dst, src, 8);
}

void asm_alu_rr_sz(struct emitter *e, enum asm_alu op, int dst, int src,
		   unsigned size)
{
	rex(e, size == 8, src, dst, false);
	asm_byte(e, (uint8_t)(op << 3 | 1));
	modrm_rr(e, src, dst);
}

void asm_alu_ri(struct emitter *e, enum asm_alu op, int dst, int32_t imm)
{
	asm_alu_ri_sz(e, op, dst, imm, 8);
}

void asm_alu_ri_sz(struct emitter *e, enum asm_alu op, int dst, int32_t imm,
		   unsigned size)
{
	rex(e, size == 8, 0, dst, false);
	if (imm >= -128 && imm <= 127) {
		asm_byte(e, 0x83);
		modrm_rr(e, op, dst);
		asm_byte(e, (uint8_t)imm);
	} else {
		asm_byte(e, 0x81);
		modrm_rr(e, op, dst);
		asm_u32(e, (uint32_t)imm);
	}
}

void asm_shift_ri(struct emitter *e, enum asm_shift op, int dst, uint8_t n)
{
	asm_shift_ri_sz(e, op, dst, n, 8);
}

void asm_shift_ri_sz(struct emitter *e, enum asm_shift op, int dst,
		     uint8_t n, unsigned size)
{
	rex(e, size == 8, 0, dst, false);
	asm_byte(e, 0xc1);
	modrm_rr(e, op, dst);
	asm_byte(e, n & (size * 8 - 1));
}

void asm_shift_rcl(struct emitter *e, enum asm_shift op, int dst)
{
	asm_shift_rcl_sz(e, op, dst, 8);
}

void asm_shift_rcl_sz(struct emitter *e, enum asm_shift op, int dst,
		      unsigned size)
{
	rex(e, size == 8, 0, dst, false);
	asm_byte(e, 0xd3);
	modrm_rr(e, op, dst);
}

void asm_imul_rr(struct emitter *e, int dst, int src)
{
	asm_imul_rr_sz(e, dst, src, 8);
}

void asm_imul_rr_sz(struct emitter *e, int dst, int src, unsigned size)
{
	rex(e, size == 8, dst, src, false);
	asm_byte(e, 0x0f);
	asm_byte(e, 0xaf);
	modrm_rr(e, dst, src);
}

void asm_imul_rri(struct emitter *e, int dst, int src, int32_t imm)
{
	asm_imul_rri_sz(e, dst, src, imm, 8);
}

void asm_imul_rri_sz(struct emitter *e, int dst, int src, int32_t imm,
		     unsigned size)
{
	rex(e, size == 8, dst, src, false);
	asm_byte(e, 0x69);
	modrm_rr(e, dst, src);
	asm_u32(e, (uint32_t)imm);
}

void asm_neg(struct emitter *e, int dst)
{
	asm_unary_sz(e, 3, dst, 8);
}

void asm_not(struct emitter *e, int dst)
{
	asm_unary_sz(e, 2, dst, 8);
}

/* Group-3 F7 /digit: 2 = not, 3 = neg. */
void asm_unary_sz(struct emitter *e, unsigned digit, int dst, unsigned size)
{
	rex(e, size == 8, 0, dst, false);
	asm_byte(e, 0xf7);
	modrm_rr(e, (int)digit, dst);
}

void asm_bswap(struct emitter *e, int dst, unsigned size)
{
	rex(e, size == 8, 0, dst, false);
	asm_byte(e, 0x0f);
	asm_byte(e, (uint8_t)(0xc8 + (dst & 7)));
}

/* lea dst, [base + index + disp] (index may be -1); size 4 truncates
 * and zero-extends the sum. */
void asm_lea(struct emitter *e, int dst, int base, int index, int32_t disp,
	     unsigned size)
{
	uint8_t r = (uint8_t)(0x40 | (size == 8 ? 8 : 0) |
			      ((dst & 8) ? 4 : 0) |
			      (index >= 0 && (index & 8) ? 2 : 0) |
			      ((base & 8) ? 1 : 0));

	if (r != 0x40)
		asm_byte(e, r);
	asm_byte(e, 0x8d);
	modrm_mem_index(e, dst, base, index, 0, disp);
}

void asm_test_rr(struct emitter *e, int a, int b)
{
	rex(e, true, b, a, false);
	asm_byte(e, 0x85);
	modrm_rr(e, b, a);
}

void asm_setcc(struct emitter *e, uint8_t cc, int dst)
{
	rex(e, false, 0, dst, dst >= 4);
	asm_byte(e, 0x0f);
	asm_byte(e, 0x90 | cc);
	modrm_rr(e, 0, dst);
	asm_extend(e, dst, dst, 1, false);
}

void asm_cmov(struct emitter *e, uint8_t cc, int dst, int src)
{
	rex(e, true, dst, src, false);
	asm_byte(e, 0x0f);
	asm_byte(e, 0x40 | cc);
	modrm_rr(e, dst, src);
}

void asm_extend(struct emitter *e, int dst, int src, unsigned size,
		bool sign)
{
	switch (size) {
	case 1:
		rex(e, sign, dst, src, src >= 4);
		asm_byte(e, 0x0f);
		asm_byte(e, sign ? 0xbe : 0xb6);
		break;
	case 2:
		rex(e, sign, dst, src, false);
		asm_byte(e, 0x0f);
		asm_byte(e, sign ? 0xbf : 0xb7);
		break;
	default:
		if (sign) {
			rex(e, true, dst, src, false);
			asm_byte(e, 0x63);
		} else {
			rex(e, false, dst, src, false);
			asm_byte(e, 0x8b);
		}
		break;
	}
	modrm_rr(e, dst, src);
}

void asm_cmp_mem8_imm(struct emitter *e, int base, int32_t disp, uint8_t imm)
{
	rex(e, false, 0, base, false);
	asm_byte(e, 0x80);
	modrm_mem(e, 7, base, disp);
	asm_byte(e, imm);
}

void asm_movdqu_m(struct emitter *e, bool load, int xmm,
		  const struct asm_mem *m)
{
	asm_byte(e, 0xf3);
	rex_mem(e, false, xmm, m, false);
	asm_byte(e, 0x0f);
	asm_byte(e, load ? 0x6f : 0x7f);
	modrm_mem_index(e, xmm, m->base, m->index, m->scale, m->disp);
}

void asm_push(struct emitter *e, int r)
{
	rex(e, false, 0, r, false);
	asm_byte(e, 0x50 + (r & 7));
}

void asm_pop(struct emitter *e, int r)
{
	rex(e, false, 0, r, false);
	asm_byte(e, 0x58 + (r & 7));
}

void asm_call_abs(struct emitter *e, uint64_t target)
{
	asm_mov_ri(e, H_RAX, (int64_t)target);
	asm_byte(e, 0xff);
	modrm_rr(e, 2, H_RAX);
}

size_t asm_jmp_exec(struct emitter *e, uint64_t target)
{
	size_t at = e->pos;
	uint64_t next = e->exec_base + e->pos + 5;

	asm_byte(e, 0xe9);
	asm_u32(e, (uint32_t)(int32_t)(int64_t)(target - next));
	return at;
}

size_t asm_jcc_fwd(struct emitter *e, uint8_t cc)
{
	asm_byte(e, 0x0f);
	asm_byte(e, 0x80 | cc);
	asm_u32(e, 0);
	return e->pos - 4;
}

void asm_patch_fwd(struct emitter *e, size_t at)
{
	uint32_t rel = (uint32_t)(e->pos - (at + 4));

	if (at + 4 <= e->cap)
		memcpy(e->buf + at, &rel, 4);
}

void asm_align_jump(struct emitter *e)
{
	/* The rel32 of a following E9 must not straddle a 4-byte boundary
	 * so that chaining can patch it with one aligned store. */
	while (((e->exec_base + e->pos + 1) & 3) != 0)
		asm_byte(e, 0x90);
}

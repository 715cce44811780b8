/* SSE..SSE4.2 (maps 0F, 0F38, 0F3A; 128-bit xmm) and MMX -> IR.
 *
 * Guest xmm registers live in env.  Moves and the common integer, logic
 * and shuffle ops are lowered inline (IR_GET/IR_SET, IR_VEC: see "inline
 * lowering" below); the rest run in x86_helper_sse on register indices.
 * Memory operands never reach the helper: the IR loads them into the
 * staging register xmm[16] (or stores from env) with IR_LOAD/IR_STORE or
 * 16-byte IR_VEC_LOAD/STORE, so they go through the memory lowering and
 * fault precisely like any other access.
 */
#include <stdio.h>

#include "translator/x86/frontend_internal.h"
#include "translator/x86/sse.h"

/* Instructions translated per extension (MICA_TRANSLATOR_STATS): shows
 * which library paths the guest picked after reading CPUID. */
enum { EXT_SSE3, EXT_SSSE3, EXT_SSE41, EXT_SSE42, EXT_COUNT };
static unsigned long ext_translated[EXT_COUNT];

static void count_ext(unsigned map, uint8_t op, unsigned pfx)
{
	unsigned e;

	if (map == X86_MAP_0F)
		e = EXT_SSE3;
	else if (x86_ssse3_valid(map, op) && (pfx == X86_PFX_NONE ||
					      pfx == X86_PFX_66))
		e = EXT_SSSE3;
	else if ((map == X86_MAP_0F38 && (op == 0x37 || op >= 0xf0)) ||
		 (map == X86_MAP_0F3A && op >= 0x60))
		e = EXT_SSE42;
	else
		e = EXT_SSE41;
	__atomic_fetch_add(&ext_translated[e], 1, __ATOMIC_RELAXED);
}

/* The most frequent opcodes still running in x86_helper_sse. */
static void print_helper_calls(void)
{
	static const char *const pfx[4] = { "", "66 ", "f3 ", "f2 " };
	static const char *const maps[4] = { "", "0f ", "0f38 ", "0f3a " };
	bool shown[X86_SSE_COUNT_SLOTS] = { false };
	unsigned long total = 0;

	for (unsigned i = 0; i < X86_SSE_COUNT_SLOTS; i++)
		total += x86_sse_helper_calls[i];
	fprintf(stderr, "  sse helper calls %lu, most frequent:", total);
	for (unsigned k = 0; k < 10; k++) {
		unsigned best = 0;
		unsigned long n = 0;

		for (unsigned i = 0; i < X86_SSE_COUNT_SLOTS; i++)
			if (!shown[i] && x86_sse_helper_calls[i] > n) {
				n = x86_sse_helper_calls[i];
				best = i;
			}
		if (n == 0)
			break;
		shown[best] = true;
		fprintf(stderr, " %s%s%s%02x:%lu", best & 0x400 ? "mmx " : "",
			pfx[(best >> 8) & 3], maps[(best >> 11) & 3],
			best & 0xff, n);
	}
	fprintf(stderr, "\n");
}

void x86_sse_print_stats(void)
{
	fprintf(stderr, "  translated sse3 %lu ssse3 %lu sse4.1 %lu "
		"sse4.2 %lu instructions\n", ext_translated[EXT_SSE3],
		ext_translated[EXT_SSSE3], ext_translated[EXT_SSE41],
		ext_translated[EXT_SSE42]);
	print_helper_calls();
}

enum sse_class { SSE_NONE, SSE_OP, SSE_STORE, SSE_GPR_SRC, SSE_GPR_DST,
		 SSE_FLAGS, SSE_SHIFT_IMM };

#define MEM_SRC_BIT (1u << 11)

static bool has_imm(uint8_t op)
{
	return op == 0x70 || op == 0xc2 || op == 0xc4 || op == 0xc5 ||
	       op == 0xc6 || (op >= 0x71 && op <= 0x73);
}

/* Size of a memory source operand. */
static unsigned src_mem_size(uint8_t op, unsigned pfx, bool w)
{
	bool scalar_s = pfx == X86_PFX_F3, scalar_d = pfx == X86_PFX_F2;

	switch (op) {
	case 0x10: case 0x51: case 0x58: case 0x59: case 0x5c: case 0x5d:
	case 0x5e: case 0x5f: case 0xc2: case 0x52: case 0x53:
		return scalar_s ? 4 : scalar_d ? 8 : 16;
	case 0x5a:
		return scalar_s ? 4 : scalar_d ? 8 : pfx == X86_PFX_NONE ? 8 : 16;
	case 0x2a: case 0x6e:
		return w ? 8 : 4;
	case 0x2c: case 0x2d:
		return scalar_s ? 4 : 8;
	case 0x2e: case 0x2f:
		return pfx == X86_PFX_66 ? 8 : 4;
	case 0x12: case 0x16:	/* F3: movsldup/movshdup read 16 bytes */
		return pfx == X86_PFX_F3 ? 16 : 8;
	case 0x7e:
		return 8;	/* F3: movq xmm, m64 */
	case 0xe6:
		return pfx == X86_PFX_F3 ? 8 : 16;
	case 0xc4:
		return 2;
	default:
		return 16;
	}
}

static unsigned store_size(uint8_t op, unsigned pfx)
{
	switch (op) {
	case 0x11:
		return pfx == X86_PFX_F3 ? 4 : pfx == X86_PFX_F2 ? 8 : 16;
	case 0xd6: case 0x13: case 0x17:
		return 8;
	default:
		return 16;
	}
}

static enum sse_class classify(uint8_t op, unsigned pfx)
{
	switch (op) {
	case 0x11: case 0x29: case 0x2b: case 0x13: case 0x17:
		return SSE_STORE;
	case 0x7f:
		return pfx == X86_PFX_66 || pfx == X86_PFX_F3 ? SSE_STORE :
							       SSE_NONE;
	case 0xd6: case 0xe7:
		return pfx == X86_PFX_66 ? SSE_STORE : SSE_NONE;
	case 0x6e:
		return pfx == X86_PFX_66 ? SSE_GPR_SRC : SSE_NONE;
	case 0x2a:
		return pfx == X86_PFX_F3 || pfx == X86_PFX_F2 ? SSE_GPR_SRC :
								SSE_NONE;
	case 0xc4:
		return pfx == X86_PFX_66 ? SSE_GPR_SRC : SSE_NONE;
	case 0x7e:
		if (pfx == X86_PFX_66)
			return SSE_GPR_DST;
		return pfx == X86_PFX_F3 ? SSE_OP : SSE_NONE;
	case 0xd7: case 0xc5:
		return pfx == X86_PFX_66 ? SSE_GPR_DST : SSE_NONE;
	case 0x50:
		return pfx == X86_PFX_NONE || pfx == X86_PFX_66 ? SSE_GPR_DST :
								   SSE_NONE;
	case 0x2c: case 0x2d:
		return pfx == X86_PFX_F3 || pfx == X86_PFX_F2 ? SSE_GPR_DST :
								SSE_NONE;
	case 0x2e: case 0x2f:
		return pfx == X86_PFX_NONE || pfx == X86_PFX_66 ? SSE_FLAGS :
								   SSE_NONE;
	case 0x71: case 0x72: case 0x73:
		return pfx == X86_PFX_66 ? SSE_SHIFT_IMM : SSE_NONE;
	case 0x10: case 0x28: case 0x51: case 0x58: case 0x59: case 0x5c:
	case 0x5d: case 0x5e: case 0x5f: case 0xc2: case 0x5a: case 0x5b:
	case 0xe6: case 0x70:
		return SSE_OP;
	case 0x12:	/* F2: movddup, F3: movsldup */
		return SSE_OP;
	case 0x52: case 0x53:	/* rsqrtps/ss, rcpps/ss */
		return pfx == X86_PFX_NONE || pfx == X86_PFX_F3 ? SSE_OP :
								   SSE_NONE;
	case 0x16:	/* F3: movshdup */
		return pfx != X86_PFX_F2 ? SSE_OP : SSE_NONE;
	case 0xf0:	/* lddqu */
		return pfx == X86_PFX_F2 ? SSE_OP : SSE_NONE;
	case 0x14: case 0x15: case 0x54: case 0x55:
	case 0x56: case 0x57: case 0xc6:
		return pfx == X86_PFX_NONE || pfx == X86_PFX_66 ? SSE_OP :
								   SSE_NONE;
	case 0x6f:
		return pfx == X86_PFX_66 || pfx == X86_PFX_F3 ? SSE_OP :
							       SSE_NONE;
	case 0xd0: case 0x7c: case 0x7d:	/* SSE3 */
		return pfx == X86_PFX_66 || pfx == X86_PFX_F2 ? SSE_OP :
								SSE_NONE;
	default:
		break;
	}
	/* 66-prefixed integer SSE2 ops. */
	if (pfx == X86_PFX_66 &&
	    ((op >= 0x60 && op <= 0x6d) || (op >= 0x74 && op <= 0x76) ||
	     (op >= 0xd1 && op <= 0xd5) || (op >= 0xd8 && op <= 0xdf) ||
	     (op >= 0xe0 && op <= 0xe5) || (op >= 0xe8 && op <= 0xef) ||
	     (op >= 0xf1 && op <= 0xf6) || (op >= 0xf8 && op <= 0xfe)))
		return SSE_OP;
	return SSE_NONE;
}

/* Memory source -> staging register; returns the xmm index to use. */
static unsigned load_src(struct fe *f, unsigned size)
{
	struct ir_block *b = f->blk;
	ir_temp addr, lo, hi;

	if (f->insn->mod == 3)
		return f->insn->rm;
	addr = fe_ea(f);
	if (size == 16) {
		ir_vec_mem(b, IR_VEC_LOAD, addr, X86_XMM_OFF(X86_XMM_TMP));
		return X86_XMM_TMP;
	}
	lo = ir_load(b, addr, size < 8 ? size : 8);
	hi = fe_const(f, 0);
	ir_set(b, X86_XMM_OFF(X86_XMM_TMP), lo);
	ir_set(b, X86_XMM_OFF(X86_XMM_TMP) + 8, hi);
	return X86_XMM_TMP;
}

static ir_temp call_sse(struct fe *f, uint64_t key, ir_temp d, ir_temp s)
{
	ir_temp args[3] = { fe_const(f, (int64_t)key), d, s };

	return ir_call(f->blk, x86_sse_uses_mxcsr(key) ?
		       (const void *)x86_helper_sse :
		       (const void *)x86_helper_sse_plain,
		       IR_HELPER_VECTOR, 3, args);
}

static void sse_store(struct fe *f, uint64_t key, unsigned pfx)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned size = store_size(in->opcode, pfx);
	unsigned off = X86_XMM_OFF(in->reg) + (in->opcode == 0x17 ? 8 : 0);
	ir_temp addr;

	if (in->mod == 3) {
		call_sse(f, key, fe_const(f, in->rm), fe_const(f, in->reg));
		return;
	}
	addr = fe_ea(f);
	if (size == 16)
		ir_vec_mem(b, IR_VEC_STORE, addr, off);
	else
		ir_store(b, addr, ir_get(b, off), size);
}

/* ---- inline lowering ----
 * Moves become IR_GET/IR_SET/IR_LOAD of the two qwords of an xmm slot,
 * or one 16-byte IR_VEC_LOAD/STORE (a single host access: one crossing
 * into an unmapped page faults before anything is written);
 * integer, logic and shuffle ops that do not depend on MXCSR become one
 * IR_VEC each.  Everything else stays in the helpers. */

/* The host runs SSSE3..SSE4.2 encodings of IR_VEC itself. */
static bool host_has_sse42(void)
{
	static int has = -1;

	if (has < 0)
		has = __builtin_cpu_supports("ssse3") &&
		      __builtin_cpu_supports("sse4.1") &&
		      __builtin_cpu_supports("sse4.2");
	return has;
}

/* EXTRA: IR_VEC_W, IR_VEC_MXCSR. */
static uint32_t vec_enc(struct fe *f, uint32_t extra)
{
	const struct x86_insn *in = f->insn;
	bool imm = in->map == X86_MAP_0F3A ||
		   (in->map == X86_MAP_0F && has_imm(in->opcode));

	return IR_VEC_ENC(in->opcode, in->map - X86_MAP_0F, in->simd_prefix,
			  imm, in->reg & 7, imm ? in->imm : 0) | extra;
}

static ir_temp vec_op(struct fe *f, enum ir_vec_kind kind, unsigned d,
		      unsigned s)
{
	return ir_vec(f->blk, kind, X86_XMM_OFF(d), X86_XMM_OFF(s),
		      vec_enc(f, 0));
}

/* 0F-map floating-point ops IR_VEC runs under the guest MXCSR:
 * arithmetic, min/max, sqrt, compares, conversions between xmm
 * registers (not rcp/rsqrt); false if OP is not one. */
static bool translate_fp(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned pfx = in->simd_prefix, s;
	uint8_t op = in->opcode;
	uint32_t enc = vec_enc(f, IR_VEC_MXCSR | (in->rex_w ? IR_VEC_W : 0));
	bool ps_pd = pfx == X86_PFX_NONE || pfx == X86_PFX_66;
	ir_temp r;

	switch (op) {
	case 0x51: case 0x58: case 0x59: case 0x5a: case 0x5c: case 0x5d:
	case 0x5e: case 0x5f: case 0xc2: case 0x5b: case 0xe6:
		break;
	case 0xd0: case 0x7c: case 0x7d:	/* SSE3 */
		if (ps_pd && pfx != X86_PFX_66)
			return false;
		break;
	case 0x2e: case 0x2f:		/* (u)comiss/sd */
		if (!ps_pd)
			return false;
		s = load_src(f, src_mem_size(op, pfx, in->rex_w));
		r = ir_vec(b, IR_VEC_FLAGS, X86_XMM_OFF(in->reg),
			   X86_XMM_OFF(s), enc);
		fe_forget_cc(f);
		fe_set_cc(f, CC_EFLAGS, 8, IR_NO_TEMP, r, IR_NO_TEMP);
		return true;
	case 0x2c: case 0x2d:		/* cvt(t)ss/sd2si */
		if (ps_pd)
			return false;
		s = load_src(f, src_mem_size(op, pfx, in->rex_w));
		r = ir_vec(b, IR_VEC_TO_GPR, 0, X86_XMM_OFF(s), enc);
		fe_forget_cc(f);
		fe_write_reg(f, in->rex_w ? 8 : 4, r);
		return true;
	case 0x2a:			/* cvtsi2ss/sd */
		if (ps_pd)
			return false;
		r = fe_read_rm(f, in->rex_w ? 8 : 4, NULL);
		ir_vec_from_gpr(b, X86_XMM_OFF(in->reg), r, enc);
		fe_forget_cc(f);
		return true;
	default:
		return false;
	}
	s = load_src(f, src_mem_size(op, pfx, in->rex_w));
	ir_vec(b, IR_VEC_XMM, X86_XMM_OFF(in->reg), X86_XMM_OFF(s), enc);
	fe_forget_cc(f);
	return true;
}

/* 0F-map ops with an xmm destination and xmm/m128 source that IR_VEC
 * runs (prefix NONE here means an SSE op, MMX ones never get here). */
static bool vec_op_0f(uint8_t op, unsigned pfx)
{
	if ((pfx == X86_PFX_NONE || pfx == X86_PFX_66) &&
	    (op == 0x14 || op == 0x15 || (op >= 0x54 && op <= 0x57) ||
	     op == 0xc6))
		return true;
	if (op == 0x70)		/* pshufd, pshufhw, pshuflw */
		return pfx != X86_PFX_NONE;
	return pfx == X86_PFX_66 &&
	       ((op >= 0x60 && op <= 0x6d) || (op >= 0x74 && op <= 0x76) ||
		(op >= 0xd1 && op <= 0xd5) || (op >= 0xd8 && op <= 0xdf) ||
		(op >= 0xe0 && op <= 0xe5) || (op >= 0xe8 && op <= 0xef) ||
		(op >= 0xf1 && op <= 0xf6) || (op >= 0xf8 && op <= 0xfe));
}

/* 66-prefixed 0F38 / 0F3A ops IR_VEC runs: SSSE3 and the SSE4.1/4.2
 * integer ops, without the ones reading xmm0 implicitly (pblendvb,
 * blendvps/pd), movntdqa and MXCSR-dependent ones (round, dpps). */
static bool vec_op_ext(unsigned map, uint8_t op)
{
	if (!host_has_sse42())
		return false;
	if (map == X86_MAP_0F3A)
		return (op >= 0x0c && op <= 0x0f) || op == 0x42;
	return op <= 0x0b || (op >= 0x1c && op <= 0x1e) || op == 0x17 ||
	       (op >= 0x20 && op <= 0x25) || op == 0x28 || op == 0x29 ||
	       op == 0x2b || (op >= 0x30 && op <= 0x35) ||
	       (op >= 0x37 && op <= 0x41);
}

static void set_xmm(struct fe *f, unsigned x, ir_temp lo, ir_temp hi)
{
	ir_set(f->blk, X86_XMM_OFF(x), lo);
	if (hi != IR_NO_TEMP)
		ir_set(f->blk, X86_XMM_OFF(x) + 8, hi);
}

/* The r/m operand: SIZE (4 or 8) bytes of memory zero-extended, or the
 * whole xmm register. */
static void read_rm_xmm(struct fe *f, unsigned size, ir_temp *lo,
			ir_temp *hi)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	ir_temp addr;

	if (in->mod == 3) {
		*lo = ir_get(b, X86_XMM_OFF(in->rm));
		*hi = ir_get(b, X86_XMM_OFF(in->rm) + 8);
		return;
	}
	addr = fe_ea(f);
	*lo = ir_load(b, addr, size);
	*hi = fe_const(f, 0);
}

/* Data moves between xmm registers, memory and general registers;
 * false if the instruction is not one handled here. */
static bool translate_move(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned pfx = in->simd_prefix, reg = in->reg, rm = in->rm;
	bool mem = in->mod != 3, ps_pd = pfx == X86_PFX_NONE ||
					 pfx == X86_PFX_66;
	uint8_t op = in->opcode;
	ir_temp lo, hi, v;

	switch (op) {
	case 0x6f: case 0x28: case 0x10: case 0xf0:
		if ((op == 0x6f && pfx != X86_PFX_66 && pfx != X86_PFX_F3) ||
		    (op == 0x28 && !ps_pd))
			return false;
		if (op == 0x10 && !ps_pd) {	/* movss / movsd */
			if (!mem && pfx == X86_PFX_F3)
				return false;
			if (!mem) {
				set_xmm(f, reg, ir_get(b, X86_XMM_OFF(rm)),
					IR_NO_TEMP);
				return true;
			}
			read_rm_xmm(f, pfx == X86_PFX_F3 ? 4 : 8, &lo, &hi);
			set_xmm(f, reg, lo, hi);
			return true;
		}
		if (mem) {
			ir_vec_mem(b, IR_VEC_LOAD, fe_ea(f), X86_XMM_OFF(reg));
			return true;
		}
		read_rm_xmm(f, 16, &lo, &hi);
		set_xmm(f, reg, lo, hi);
		return true;
	case 0x7e:		/* F3: movq xmm, xmm/m64 */
		if (pfx != X86_PFX_F3)
			return false;
		read_rm_xmm(f, 8, &lo, &hi);
		set_xmm(f, reg, lo, fe_const(f, 0));
		return true;
	case 0x6e:		/* 66: movd/movq xmm, r/m */
		v = fe_read_rm(f, in->rex_w ? 8 : 4, NULL);
		set_xmm(f, reg, fe_zext(f, v, in->rex_w ? 8 : 4),
			fe_const(f, 0));
		return true;
	case 0x11: case 0x29: case 0x7f:	/* register forms */
		if (mem || (pfx == X86_PFX_F3 && op != 0x7f))
			return false;
		if (op == 0x11 && pfx == X86_PFX_F2) {
			set_xmm(f, rm, ir_get(b, X86_XMM_OFF(reg)), IR_NO_TEMP);
			return true;
		}
		lo = ir_get(b, X86_XMM_OFF(reg));
		hi = ir_get(b, X86_XMM_OFF(reg) + 8);
		set_xmm(f, rm, lo, hi);
		return true;
	case 0xd6:		/* 66: movq xmm/m64, xmm (register form) */
		if (mem)
			return false;
		set_xmm(f, rm, ir_get(b, X86_XMM_OFF(reg)), fe_const(f, 0));
		return true;
	case 0x12: case 0x16:	/* movlps/movlpd, movhps/movhpd, */
		if (!ps_pd)	/* movhlps, movlhps */
			return false;
		if (mem) {
			v = ir_load(b, fe_ea(f), 8);
		} else {
			v = ir_get(b, X86_XMM_OFF(rm) + (op == 0x12 ? 8 : 0));
		}
		ir_set(b, X86_XMM_OFF(reg) + (op == 0x16 ? 8 : 0), v);
		return true;
	default:
		return false;
	}
}

/* Encodings of the 0F map the CPU rejects (#UD) although the opcode
 * and prefix are otherwise handled here. */
static bool encoding_valid(uint8_t op, unsigned pfx, unsigned mod,
			   unsigned digit)
{
	bool none_66 = pfx == X86_PFX_NONE || pfx == X86_PFX_66;

	switch (op) {
	case 0x12: case 0x16:	/* movlpd/movhpd: memory only */
		return pfx != X86_PFX_66 || mod != 3;
	case 0x13: case 0x17: case 0x2b:
		return none_66 && mod != 3;
	case 0x28: case 0x29:
		return none_66;
	case 0x5b:
		return pfx != X86_PFX_F2;
	case 0xe6:
		return pfx != X86_PFX_NONE;
	case 0xe7:
		return mod != 3;
	case 0x71: case 0x72:
		return digit == 2 || digit == 4 || digit == 6;
	case 0x73:
		return digit == 2 || digit == 6 ||
		       (pfx == X86_PFX_66 && (digit == 3 || digit == 7));
	default:
		return true;
	}
}

static bool is_mmx_op(uint8_t op)
{
	return (op >= 0x60 && op <= 0x6b) || (op >= 0x74 && op <= 0x76) ||
	       (op >= 0xd1 && op <= 0xd5) || (op >= 0xd8 && op <= 0xdf) ||
	       (op >= 0xe0 && op <= 0xe5) || (op >= 0xe8 && op <= 0xef) ||
	       (op >= 0xf1 && op <= 0xf6) || (op >= 0xf8 && op <= 0xfe) ||
	       op == 0x6e || op == 0x6f || op == 0x7e || op == 0x7f ||
	       op == 0x70 || (op >= 0x71 && op <= 0x73) || op == 0x77 ||
	       op == 0xd7 || op == 0xe7 || op == 0xc4 || op == 0xc5;
}

/* MMX (no prefix): registers are x87 physical registers; memory
 * operands are 64-bit and staged in xmm[16] like SSE ones. */
static bool translate_mmx(struct fe *f, uint64_t key)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	uint8_t op = in->opcode;
	unsigned s;
	ir_temp v, r;

	key |= SSE_KEY_MMX;
	switch (op) {
	case 0x77:	/* emms */
		ir_set(b, X86_ENV_OFF(fp_empty), fe_const(f, 0xff));
		return true;
	case 0x6e:
		v = fe_read_rm(f, in->rex_w ? 8 : 4, NULL);
		call_sse(f, key, fe_const(f, in->reg & 7), v);
		return true;
	case 0x7e:
		v = ir_get(b, X86_MM_OFF(in->reg & 7));
		fe_write_rm(f, in->rex_w ? 8 : 4, IR_NO_TEMP,
			    fe_zext(f, v, in->rex_w ? 8 : 4));
		return true;
	case 0x7f: case 0xe7:
		if (in->mod == 3) {
			call_sse(f, key, fe_const(f, in->rm & 7),
				 fe_const(f, in->reg & 7));
			return true;
		}
		ir_store(b, fe_ea(f), ir_get(b, X86_MM_OFF(in->reg & 7)), 8);
		return true;
	case 0xd7: case 0xc5:	/* pmovmskb, pextrw r32, mm, imm */
		if (in->mod != 3)
			return false;
		r = call_sse(f, key, fe_const(f, 0), fe_const(f, in->rm & 7));
		fe_write_reg(f, 4, r);
		return true;
	case 0xc4:	/* pinsrw mm, r32/m16, imm */
		v = fe_read_rm(f, in->mod == 3 ? 4 : 2, NULL);
		call_sse(f, key, fe_const(f, in->reg & 7), v);
		return true;
	case 0x71: case 0x72: case 0x73:
		if (in->mod != 3)
			return false;
		call_sse(f, key | (uint64_t)(in->reg & 7) << 12,
			 fe_const(f, in->rm & 7), fe_const(f, 0));
		return true;
	default:
		s = in->mod == 3 ? (in->rm & 7) : load_src(f, 8);
		call_sse(f, key, fe_const(f, in->reg & 7), fe_const(f, s));
		return true;
	}
}

/* Memory operand size of a 0F38 / 0F3A op. */
static unsigned ext_mem_size(unsigned map, uint8_t op)
{
	static const uint8_t pmov[6] = { 8, 4, 2, 8, 4, 8 };

	if (map == X86_MAP_0F38 && ((op >= 0x20 && op <= 0x25) ||
				    (op >= 0x30 && op <= 0x35)))
		return pmov[op & 15];
	if (map == X86_MAP_0F3A && (op == 0x0a || op == 0x21))
		return 4;
	if (map == X86_MAP_0F3A && op == 0x0b)
		return 8;
	return 16;
}

/* CRC32 r32/r64, r/m8/16/32/64 (F2 0F38 F0/F1). */
static void translate_crc32(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	unsigned size = in->opcode == 0xf0 ? 1 : in->opsize;
	ir_temp args[3];

	args[0] = fe_read_reg(f, 4);
	args[1] = fe_read_rm(f, size, NULL);
	args[2] = fe_const(f, size);
	fe_write_reg(f, 4, ir_call(f->blk, (const void *)x86_helper_crc32,
				   IR_HELPER_PURE, 3, args));
}

static void translate_pcmpstr(struct fe *f, uint64_t key)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned s = load_src(f, 16);
	ir_temp args[4], r;

	args[0] = fe_const(f, (int64_t)(key | (uint64_t)in->reg << 32));
	args[1] = fe_const(f, s);
	args[2] = fe_get_gpr(f, X86_RAX, 8);
	args[3] = fe_get_gpr(f, X86_RDX, 8);
	r = ir_call(b, (const void *)x86_helper_pcmpstr, IR_HELPER_VECTOR, 4,
		    args);
	fe_forget_cc(f);
	if (in->opcode & 1)
		fe_set_gpr(f, X86_RCX, 4, ir_shr(b, r, fe_const(f, 32)));
	fe_set_cc(f, CC_EFLAGS, 8, IR_NO_TEMP,
		  ir_and(b, r, fe_const(f, 0xffff)), IR_NO_TEMP);
}

/* pextrb/w/d/q, extractps: xmm (ModRM.reg) element -> r/m. */
static void translate_extract(struct fe *f, uint64_t key)
{
	const struct x86_insn *in = f->insn;
	uint8_t op = in->opcode;
	unsigned size = op == 0x14 ? 1 : op == 0x15 ? 2 :
			op == 0x16 && in->rex_w ? 8 : 4;
	ir_temp r = call_sse(f, key, fe_const(f, in->reg), fe_const(f, 0));

	fe_forget_cc(f);
	if (in->mod == 3)
		fe_set_gpr(f, in->rm, size == 8 ? 8 : 4, r);
	else
		ir_store(f->blk, fe_ea(f), r, size);
}

/* Ops mixing MMX and xmm registers; false if OP is not one. */
static bool translate_mixed(struct fe *f, uint64_t key)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned pfx = in->simd_prefix, d, s;
	uint8_t op = in->opcode;
	ir_temp args[2];

	key |= SSE_KEY_MIXED;
	switch (op) {
	case 0x2a:	/* cvtpi2ps/pd xmm, mm/m64 */
		if (pfx != X86_PFX_NONE && pfx != X86_PFX_66)
			return false;
		d = in->reg;
		s = in->mod == 3 ? (in->rm & 7u) : load_src(f, 8);
		break;
	case 0x2c: case 0x2d:	/* cvt(t)ps2pi / cvt(t)pd2pi mm, xmm/m */
		if (pfx != X86_PFX_NONE && pfx != X86_PFX_66)
			return false;
		d = in->reg & 7u;
		s = in->mod == 3 ? in->rm :
		    load_src(f, pfx == X86_PFX_66 ? 16 : 8);
		break;
	case 0xd6:	/* movq2dq / movdq2q */
		if ((pfx != X86_PFX_F3 && pfx != X86_PFX_F2) || in->mod != 3)
			return false;
		d = pfx == X86_PFX_F3 ? in->reg : in->reg & 7u;
		s = pfx == X86_PFX_F3 ? in->rm & 7u : in->rm;
		break;
	case 0xf7:	/* maskmovq / maskmovdqu to [rdi] */
		if ((pfx != X86_PFX_NONE && pfx != X86_PFX_66) || in->mod != 3)
			return false;
		args[0] = fe_const(f, (int64_t)(key | (uint64_t)in->reg << 32 |
						(uint64_t)in->rm << 36));
		args[1] = fe_get_gpr(f, X86_RDI, in->addrsize);
		if (in->seg == X86_SEG_FS || in->seg == X86_SEG_GS)
			args[1] = ir_add(b, args[1], ir_get(b, in->seg ==
					 X86_SEG_FS ? X86_ENV_OFF(fs_base) :
					 X86_ENV_OFF(gs_base)));
		ir_set(b, X86_ENV_OFF(rip), fe_const(f, (int64_t)in->pc));
		ir_call(b, (const void *)x86_helper_maskmov,
			IR_HELPER_READS_ENV | IR_HELPER_WRITES_ENV |
			IR_HELPER_MEMORY, 2, args);
		return true;
	default:
		return false;
	}
	call_sse(f, key, fe_const(f, d), fe_const(f, s));
	fe_forget_cc(f);
	return true;
}

/* Maps 0F38 and 0F3A: SSSE3 (also on MMX registers), SSE4.1, SSE4.2. */
static bool translate_ext(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	unsigned map = in->map, pfx = in->simd_prefix, s;
	uint8_t op = in->opcode;
	uint64_t key = SSE_KEY(op, pfx, in->rex_w,
			       map == X86_MAP_0F3A ? (uint8_t)in->imm : 0) |
		       SSE_KEY_MAP(map);
	ir_temp r, v;

	if (in->mod != 3)
		key |= MEM_SRC_BIT;
	count_ext(map, op, pfx);
	if (map == X86_MAP_0F38 && (op == 0xf0 || op == 0xf1) && in->repne) {
		translate_crc32(f);
		return true;
	}
	if (pfx == X86_PFX_NONE && !in->opsize_prefix) {
		if (!x86_ssse3_valid(map, op))
			return false;
		s = in->mod == 3 ? (in->rm & 7) : load_src(f, 8);
		call_sse(f, key | SSE_KEY_MMX, fe_const(f, in->reg & 7),
			 fe_const(f, s));
		fe_forget_cc(f);
		return true;
	}
	if (pfx != X86_PFX_66)
		return false;
	if (map == X86_MAP_0F38) {
		if (!x86_ssse3_valid(map, op) && !x86_sse41_valid38(op))
			return false;
		if (op == 0x2a && in->mod == 3)
			return false;		/* movntdqa: memory only */
		s = load_src(f, ext_mem_size(map, op));
		if (vec_op_ext(map, op))
			r = vec_op(f, op == 0x17 ? IR_VEC_FLAGS : IR_VEC_XMM,
				   in->reg, s);
		else
			r = call_sse(f, key, fe_const(f, in->reg),
				     fe_const(f, s));
		fe_forget_cc(f);
		if (op == 0x17)		/* ptest */
			fe_set_cc(f, CC_EFLAGS, 8, IR_NO_TEMP, r, IR_NO_TEMP);
		return true;
	}
	if (!x86_ssse3_valid(map, op) && !x86_sse41_valid3a(op))
		return false;
	switch (op) {
	case 0x60: case 0x61: case 0x62: case 0x63:
		translate_pcmpstr(f, key);
		return true;
	case 0x14: case 0x15: case 0x16: case 0x17:
		translate_extract(f, key);
		return true;
	case 0x20: case 0x22:	/* pinsrb, pinsrd/q */
		v = fe_read_rm(f, in->mod == 3 ? (in->rex_w ? 8 : 4) :
				  op == 0x20 ? 1 : in->rex_w ? 8 : 4, NULL);
		call_sse(f, key, fe_const(f, in->reg), v);
		fe_forget_cc(f);
		return true;
	default:
		s = load_src(f, ext_mem_size(map, op));
		if (vec_op_ext(map, op))
			vec_op(f, IR_VEC_XMM, in->reg, s);
		else
			call_sse(f, key, fe_const(f, in->reg),
				 fe_const(f, s));
		fe_forget_cc(f);
		return true;
	}
}

bool x86_translate_sse(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned pfx = in->simd_prefix, s;
	uint8_t op = in->opcode;
	enum sse_class cls = classify(op, pfx);
	uint64_t key = SSE_KEY(op, pfx, in->rex_w,
			       has_imm(op) ? (uint8_t)in->imm : 0);
	ir_temp v, r;

	if (in->vex)
		return false;
	if (in->map == X86_MAP_0F38 || in->map == X86_MAP_0F3A)
		return translate_ext(f);
	if (in->map != X86_MAP_0F)
		return false;
	if (op == 0xf0 && in->mod == 3)
		return false;		/* lddqu: memory only */
	if (!encoding_valid(op, pfx, in->mod, in->reg & 7))
		return false;
	if (op == 0xd0 || op == 0x7c || op == 0x7d || op == 0xf0 ||
	    ((op == 0x12 || op == 0x16) && (pfx == X86_PFX_F2 ||
					    pfx == X86_PFX_F3)))
		count_ext(in->map, op, pfx);
	if (in->has_modrm && in->mod != 3)
		key |= MEM_SRC_BIT;
	if (pfx == X86_PFX_NONE && !in->opsize_prefix && is_mmx_op(op))
		return translate_mmx(f, key);
	if (((op == 0x2a || op == 0x2c || op == 0x2d) &&
	     (pfx == X86_PFX_NONE || pfx == X86_PFX_66)) || op == 0xd6 ||
	    op == 0xf7) {
		if (op != 0xd6 || pfx != X86_PFX_66)
			return translate_mixed(f, key);
	}
	if (cls != SSE_NONE && translate_move(f)) {
		fe_forget_cc(f);
		return true;
	}
	if (cls != SSE_NONE && x86_sse_uses_mxcsr(key) && translate_fp(f))
		return true;
	if (cls == SSE_OP && vec_op_0f(op, pfx)) {
		s = load_src(f, src_mem_size(op, pfx, in->rex_w));
		vec_op(f, IR_VEC_XMM, in->reg, s);
		fe_forget_cc(f);
		return true;
	}
	if (cls == SSE_SHIFT_IMM) {
		vec_op(f, IR_VEC_SHIFT, in->rm, in->rm);
		fe_forget_cc(f);
		return true;
	}
	if (cls == SSE_GPR_DST && in->mod == 3 && (op == 0xd7 || op == 0x50)) {
		r = vec_op(f, IR_VEC_TO_GPR, in->rm, in->rm);
		fe_forget_cc(f);
		fe_write_reg(f, 4, r);
		return true;
	}
	switch (cls) {
	case SSE_OP:
		s = load_src(f, src_mem_size(op, pfx, in->rex_w));
		call_sse(f, key, fe_const(f, in->reg), fe_const(f, s));
		fe_forget_cc(f);
		return true;
	case SSE_STORE:
		sse_store(f, key, pfx);
		fe_forget_cc(f);
		return true;
	case SSE_SHIFT_IMM:
		call_sse(f, key | (uint64_t)(in->reg & 7) << 12,
			 fe_const(f, in->rm), fe_const(f, 0));
		fe_forget_cc(f);
		return true;
	case SSE_GPR_SRC: {
		unsigned size = src_mem_size(op, pfx, in->rex_w);

		v = fe_read_rm(f, size, NULL);
		call_sse(f, key, fe_const(f, in->reg), v);
		fe_forget_cc(f);
		return true;
	}
	case SSE_GPR_DST:
		if (op == 0x7e) {	/* movd/movq r/m, xmm */
			unsigned size = in->rex_w ? 8 : 4;

			v = ir_get(b, X86_XMM_OFF(in->reg));
			fe_write_rm(f, size, IR_NO_TEMP, fe_zext(f, v, size));
			return true;
		}
		if ((op == 0xd7 || op == 0x50 || op == 0xc5) && in->mod != 3)
			return false;
		s = (op == 0x2c || op == 0x2d) ?
		    load_src(f, src_mem_size(op, pfx, in->rex_w)) : in->rm;
		r = call_sse(f, key, fe_const(f, in->reg), fe_const(f, s));
		fe_forget_cc(f);
		fe_write_reg(f, (op == 0x2c || op == 0x2d) && in->rex_w ? 8 : 4,
			     r);
		return true;
	case SSE_FLAGS:
		s = load_src(f, src_mem_size(op, pfx, in->rex_w));
		r = call_sse(f, key, fe_const(f, in->reg), fe_const(f, s));
		fe_forget_cc(f);
		fe_set_cc(f, CC_EFLAGS, 8, IR_NO_TEMP, r, IR_NO_TEMP);
		return true;
	default:
		return false;
	}
}

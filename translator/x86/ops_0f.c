/* x86-64 two-byte (0F xx) integer and system instructions -> IR. */
#include "translator/x86/frontend_internal.h"
#include "translator/x86/helpers.h"
#include "translator/x86/sse.h"
#include "translator/x86/x87.h"

static void translate_cmov(struct fe *f)
{
	unsigned size = f->insn->opsize;
	ir_temp src = fe_read_rm(f, size, NULL);
	ir_temp old = fe_read_reg(f, size);
	ir_temp c = fe_cond(f, f->insn->opcode & 15);

	/* A 32-bit cmov writes (zero-extends) the destination either way. */
	fe_write_reg(f, size, ir_select(f->blk, c, src, old));
}

static void translate_setcc(struct fe *f)
{
	fe_write_rm(f, 1, IR_NO_TEMP, fe_cond(f, f->insn->opcode & 15));
}

/* BT/BTS/BTR/BTC: CF = selected bit; ZF kept; others undefined (kept). */
static void translate_bt(struct fe *f, unsigned op, ir_temp offset,
			 bool offset_is_reg)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned size = in->opsize, bits = size * 8;
	ir_temp addr = IR_NO_TEMP, v, bit, mask, cf, r = IR_NO_TEMP, e;

	if (in->mod != 3) {
		addr = fe_ea(f);
		if (offset_is_reg) {
			ir_temp words = ir_sar(b, fe_sext(f, offset, size),
					       fe_const(f, size_log2(bits)));

			addr = ir_add(b, addr, ir_shl(b, words,
					fe_const(f, size_log2(size))));
		}
		v = ir_load(b, addr, size);
	} else {
		v = fe_get_gpr(f, in->rm, size);
	}
	bit = ir_and(b, offset, fe_const(f, bits - 1));
	cf = ir_and(b, ir_shr(b, v, bit), fe_const(f, 1));
	mask = ir_shl(b, fe_const(f, 1), bit);
	switch (op) {
	case 1: r = ir_or(b, v, mask); break;			/* bts */
	case 2: r = ir_and(b, v, ir_unop(b, IR_NOT, mask)); break; /* btr */
	case 3: r = ir_xor(b, v, mask); break;			/* btc */
	default: break;
	}
	e = ir_or(b, ir_and(b, fe_eflags(f), fe_const(f, ~(int64_t)X86_CF)),
		  cf);
	if (r != IR_NO_TEMP)
		fe_write_rm(f, size, addr, r);
	fe_set_cc(f, CC_EFLAGS, 8, IR_NO_TEMP, e, IR_NO_TEMP);
}

static void translate_bitscan(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned size = in->opsize, kind;
	ir_temp v = fe_read_rm(f, size, NULL), args[2], r, zero, e;

	zero = fe_const(f, 0);
	if (in->opcode == 0xb8)
		kind = X86_BITSCAN_POPCNT;
	else if (in->rep)
		kind = in->opcode == 0xbc ? X86_BITSCAN_TZCNT :
					    X86_BITSCAN_LZCNT;
	else
		kind = in->opcode == 0xbc ? X86_BITSCAN_BSF : X86_BITSCAN_BSR;
	args[0] = fe_const(f, kind | size << 8);
	args[1] = v;
	r = ir_call(b, (const void *)x86_helper_bitscan, IR_HELPER_PURE, 2,
		    args);
	switch (kind) {
	case X86_BITSCAN_BSF: case X86_BITSCAN_BSR:
		/* Source 0: ZF set, destination left unchanged (all 64
		 * bits: a 32-bit destination is not even zero-extended). */
		if (size == 4) {
			ir_temp full = ir_get(b, X86_ENV_REG(in->reg));

			r = ir_select(b, ir_setcc(b, IR_EQ, v, zero), full, r);
			ir_set(b, X86_ENV_REG(in->reg), r);
		} else {
			r = ir_select(b, ir_setcc(b, IR_EQ, v, zero),
				      fe_read_reg(f, size), r);
			fe_write_reg(f, size, r);
		}
		fe_set_cc(f, CC_LOGIC, size, v, IR_NO_TEMP, IR_NO_TEMP);
		return;
	case X86_BITSCAN_POPCNT:
		e = ir_shl(b, ir_setcc(b, IR_EQ, v, zero), fe_const(f, 6));
		break;
	default:	/* tzcnt/lzcnt: CF = source is 0, ZF = result is 0 */
		e = ir_or(b, ir_setcc(b, IR_EQ, v, zero),
			  ir_shl(b, ir_setcc(b, IR_EQ, r, zero),
				 fe_const(f, 6)));
		break;
	}
	fe_write_reg(f, size, r);
	fe_set_cc(f, CC_EFLAGS, 8, IR_NO_TEMP, e, IR_NO_TEMP);
}

static void translate_cmpxchg(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned size = in->opcode & 1 ? in->opsize : 1;
	ir_temp addr, old, acc, src, eq, d;

	old = fe_read_rm(f, size, &addr);
	acc = fe_get_gpr(f, X86_RAX, size);
	src = fe_read_reg(f, size);
	d = fe_zext(f, ir_sub(b, acc, old), size);
	eq = ir_setcc(b, IR_EQ, acc, old);
	if (in->mod != 3) {
		/* The destination is written back either way. */
		ir_store(b, addr, ir_select(b, eq, src, old), size);
		fe_set_gpr(f, X86_RAX, size, ir_select(b, eq, acc, old));
	} else {
		/* Register form: on failure only the accumulator changes
		 * (a 32-bit accumulator is zero-extended only then). */
		ir_temp rax64 = ir_get(b, X86_ENV_REG(X86_RAX));
		ir_temp dst64 = ir_get(b, X86_ENV_REG(in->rm));
		ir_temp dst_new;

		/* Accumulator first: when the destination is the
		 * accumulator itself, the destination write wins. */
		if (size == 4) {
			ir_set(b, X86_ENV_REG(X86_RAX),
			       ir_select(b, eq, rax64, fe_zext(f, old, 4)));
			dst_new = ir_select(b, eq, fe_zext(f, src, 4), dst64);
			ir_set(b, X86_ENV_REG(in->rm), dst_new);
		} else {
			fe_set_gpr(f, X86_RAX, size,
				   ir_select(b, eq, acc, old));
			fe_set_gpr(f, in->rm, size,
				   ir_select(b, eq, src, old));
		}
	}
	fe_set_cc(f, CC_SUB, size, d, old, IR_NO_TEMP);
}

static void translate_xadd(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned size = in->opcode & 1 ? in->opsize : 1;
	ir_temp addr, old, src, sum;

	old = fe_read_rm(f, size, &addr);
	src = fe_read_reg(f, size);
	sum = fe_zext(f, ir_add(b, old, src), size);
	if (in->mod == 3) {
		fe_write_reg(f, size, old);
		fe_write_rm(f, size, addr, sum);
	} else {
		fe_write_rm(f, size, addr, sum);
		fe_write_reg(f, size, old);
	}
	fe_set_cc(f, CC_ADD, size, sum, src, IR_NO_TEMP);
}

static void translate_shd(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned size = in->opsize;
	bool right = in->opcode >= 0xac;
	ir_temp addr, args[4], r;

	args[0] = fe_const(f, size | right << 8);
	args[1] = fe_read_rm(f, size, &addr);
	args[2] = fe_read_reg(f, size);
	args[3] = (in->opcode & 1) ? fe_get_gpr(f, X86_RCX, 1) :
				     fe_const(f, in->imm & 0xff);
	r = ir_call(b, (const void *)x86_helper_shd,
		    IR_HELPER_READS_ENV | IR_HELPER_WRITES_ENV, 4, args);
	fe_forget_cc(f);
	fe_write_rm(f, size, addr, r);
}

static bool translate_0f_system(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;

	switch (in->opcode) {
	case 0x05:	/* syscall */
		ir_exit_special(b, X86_EXIT_SYSCALL, f->next_pc);
		f->ended = true;
		return true;
	case 0x0b:	/* ud2 */
		ir_exit_special(b, X86_EXIT_ILLEGAL, in->pc);
		f->ended = true;
		return true;
	case 0x0d: case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c:
	case 0x1d: case 0x1e: case 0x1f:
		return true;	/* prefetch, hint nops, endbr64 */
	case 0x31:
		ir_call(b, (const void *)x86_helper_rdtsc,
			IR_HELPER_WRITES_ENV, 0, NULL);
		return true;
	case 0x01:	/* group 7: only rdtscp (0F 01 F9) in user mode */
		if (in->modrm != 0xf9)
			return false;
		ir_call(b, (const void *)x86_helper_rdtscp,
			IR_HELPER_WRITES_ENV, 0, NULL);
		return true;
	case 0xa2:
		ir_call(b, (const void *)x86_helper_cpuid,
			IR_HELPER_READS_ENV | IR_HELPER_WRITES_ENV, 0, NULL);
		return true;
	case 0xae:
		/* lfence/mfence/sfence.  TODO(threads): mfence must become
		 * a host mfence once guest threads run concurrently. */
		if (in->mod == 3 && (in->reg & 7) >= 5)
			return true;
		if (in->mod != 3 && (in->reg & 7) == 7 &&
		    in->simd_prefix == X86_PFX_NONE) {
			/* clflush: nothing to flush, but it faults like a
			 * load on an unmapped address. */
			ir_load(b, fe_ea(f), 1);
			return true;
		}
		if (in->mod == 3 && in->simd_prefix == X86_PFX_F3 &&
		    (in->reg & 7) <= 3) {	/* rd/wr fs/gs base */
			unsigned off = in->reg & 1 ? X86_ENV_OFF(gs_base) :
						     X86_ENV_OFF(fs_base);
			unsigned size = in->rex_w ? 8 : 4;

			if ((in->reg & 7) <= 1)
				fe_set_gpr(f, in->rm, size,
					   fe_zext(f, ir_get(b, off), size));
			else
				ir_set(b, off, fe_zext(f, fe_get_gpr(f, in->rm,
								     size),
						       size));
			return true;
		}
		if (in->mod != 3 && (in->reg & 7) <= 1) {	/* fxsave/fxrstor */
			ir_temp a = fe_ea(f);

			ir_set(b, X86_ENV_OFF(rip), fe_const(f, (int64_t)in->pc));
			ir_call(b, (in->reg & 7) == 0 ?
				(const void *)x86_helper_fxsave :
				(const void *)x86_helper_fxrstor,
				IR_HELPER_READS_ENV | IR_HELPER_WRITES_ENV |
				IR_HELPER_MEMORY, 1, &a);
			return true;
		}
		/* MXCSR is read and written (flags) by SSE helpers that
		 * only declare vector state: never cache it in the IR. */
		if (in->mod != 3 && (in->reg & 7) == 2) {	/* ldmxcsr */
			ir_temp v = ir_load(b, fe_ea(f), 4);

			ir_call(b, (const void *)x86_helper_ldmxcsr,
				IR_HELPER_WRITES_ENV, 1, &v);
			return true;
		}
		if (in->mod != 3 && (in->reg & 7) == 3) {	/* stmxcsr */
			ir_temp a = fe_ea(f);

			ir_store(b, a, ir_call(b, (const void *)x86_helper_stmxcsr,
					       IR_HELPER_READS_ENV, 0, NULL),
				 4);
			return true;
		}
		return false;
	default:
		return false;
	}
}

bool x86_translate_0f(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	uint8_t op = in->opcode;
	ir_temp v;

	if (op >= 0x40 && op <= 0x4f) {
		translate_cmov(f);
		return true;
	}
	if (op >= 0x80 && op <= 0x8f) {
		ir_brcond(b, fe_cond(f, op & 15),
			  f->next_pc + (uint64_t)in->imm);
		fe_jump(f, f->next_pc);
		return true;
	}
	if (op >= 0x90 && op <= 0x9f) {
		translate_setcc(f);
		return true;
	}
	if (op >= 0xc8 && op <= 0xcf) {
		ir_temp args[2] = { fe_const(f, in->opsize),
				    fe_get_gpr(f, in->rm, in->opsize) };

		v = in->opsize >= 4 ? ir_bswap(b, args[1], in->opsize) :
		    ir_call(b, (const void *)x86_helper_bswap,
			    IR_HELPER_PURE, 2, args);
		fe_set_gpr(f, in->rm, in->opsize, v);
		return true;
	}
	switch (op) {
	case 0xa3: case 0xab: case 0xb3: case 0xbb:
		translate_bt(f, (op >> 3) & 3, fe_read_reg(f, in->opsize),
			     true);
		return true;
	case 0xba:
		if ((in->reg & 7) < 4)
			return false;
		translate_bt(f, in->reg & 3, fe_const(f, in->imm & 0xff),
			     false);
		return true;
	case 0xa4: case 0xa5: case 0xac: case 0xad:
		translate_shd(f);
		return true;
	case 0xaf:
		v = fe_read_rm(f, in->opsize, NULL);
		{
			unsigned size = in->opsize;
			ir_temp a = fe_read_reg(f, size), full, r, args[2];

			if (size == 8) {
				args[0] = a;
				args[1] = v;
				r = ir_call(b, (const void *)x86_helper_imul64,
					    IR_HELPER_WRITES_ENV, 2, args);
				fe_forget_cc(f);
				fe_write_reg(f, size, r);
				return true;
			}
			full = ir_binop(b, IR_MUL, fe_sext(f, a, size),
					fe_sext(f, v, size));
			r = fe_zext(f, full, size);
			fe_write_reg(f, size, r);
			fe_set_cc(f, CC_MUL, size, r,
				  ir_setcc(b, IR_NE, fe_sext(f, full, size),
					   full), IR_NO_TEMP);
		}
		return true;
	case 0xb0: case 0xb1:
		translate_cmpxchg(f);
		return true;
	case 0xc0: case 0xc1:
		translate_xadd(f);
		return true;
	case 0xb6: case 0xb7:
		v = fe_read_rm(f, op == 0xb6 ? 1 : 2, NULL);
		fe_write_reg(f, in->opsize, v);
		return true;
	case 0xbe: case 0xbf:
		v = fe_read_rm(f, op == 0xbe ? 1 : 2, NULL);
		fe_write_reg(f, in->opsize,
			     fe_zext(f, fe_sext(f, v, op == 0xbe ? 1 : 2),
				     in->opsize));
		return true;
	case 0xbc: case 0xbd:
		translate_bitscan(f);
		return true;
	case 0xb8:
		if (!in->rep)
			return false;
		translate_bitscan(f);
		return true;
	case 0xc3:	/* movnti m32/m64, r: an ordinary store here */
		if (in->mod == 3 || in->simd_prefix != X86_PFX_NONE)
			return false;
		fe_write_rm(f, in->rex_w ? 8 : 4, IR_NO_TEMP,
			    fe_read_reg(f, in->rex_w ? 8 : 4));
		return true;
	default:
		if (x86_translate_sse(f))
			return true;
		return translate_0f_system(f);
	}
}

/* x86-64 frontend: operands, lazy flags, the per-block loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "translator/x86/frontend.h"
#include "translator/x86/frontend_internal.h"

ir_temp fe_const(struct fe *f, int64_t v)
{
	return ir_const(f->blk, v);
}

ir_temp fe_zext(struct fe *f, ir_temp v, unsigned size)
{
	switch (size) {
	case 1: return ir_unop(f->blk, IR_ZEXT8, v);
	case 2: return ir_unop(f->blk, IR_ZEXT16, v);
	case 4: return ir_unop(f->blk, IR_ZEXT32, v);
	default: return v;
	}
}

ir_temp fe_sext(struct fe *f, ir_temp v, unsigned size)
{
	switch (size) {
	case 1: return ir_unop(f->blk, IR_SEXT8, v);
	case 2: return ir_unop(f->blk, IR_SEXT16, v);
	case 4: return ir_unop(f->blk, IR_SEXT32, v);
	default: return v;
	}
}

/* Byte registers 4..7 without any REX are AH, CH, DH, BH. */
static bool is_high_byte(const struct fe *f, unsigned reg, unsigned size)
{
	return size == 1 && !f->insn->rex && reg >= 4 && reg < 8;
}

ir_temp fe_get_gpr(struct fe *f, unsigned reg, unsigned size)
{
	ir_temp v;

	if (is_high_byte(f, reg, size)) {
		v = ir_get(f->blk, X86_ENV_REG(reg - 4));
		return fe_zext(f, ir_shr(f->blk, v, fe_const(f, 8)), 1);
	}
	v = ir_get(f->blk, X86_ENV_REG(reg));
	return fe_zext(f, v, size);
}

void fe_set_gpr(struct fe *f, unsigned reg, unsigned size, ir_temp v)
{
	struct ir_block *b = f->blk;
	unsigned shift = 0;
	uint64_t mask;
	ir_temp old;

	if (size == 8) {
		ir_set(b, X86_ENV_REG(reg), v);
		return;
	}
	if (size == 4) {
		ir_set(b, X86_ENV_REG(reg), fe_zext(f, v, 4));
		return;
	}
	if (is_high_byte(f, reg, size)) {
		reg -= 4;
		shift = 8;
	}
	mask = (size == 1 ? 0xffull : 0xffffull) << shift;
	old = ir_get(b, X86_ENV_REG(reg));
	old = ir_and(b, old, fe_const(f, (int64_t)~mask));
	v = ir_shl(b, fe_zext(f, v, size), fe_const(f, shift));
	ir_set(b, X86_ENV_REG(reg), ir_or(b, old, v));
}

ir_temp fe_read_reg(struct fe *f, unsigned size)
{
	return fe_get_gpr(f, f->insn->reg, size);
}

void fe_write_reg(struct fe *f, unsigned size, ir_temp v)
{
	fe_set_gpr(f, f->insn->reg, size, v);
}

ir_temp fe_ea(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	ir_temp a;

	if (in->base == X86_REG_RIP)
		a = fe_const(f, (int64_t)(f->next_pc + (int64_t)in->disp));
	else if (in->base != X86_REG_NONE)
		a = ir_add(b, ir_get(b, X86_ENV_REG(in->base)),
			   fe_const(f, in->disp));
	else
		a = fe_const(f, in->disp);
	if (in->index != X86_REG_NONE) {
		ir_temp i = ir_get(b, X86_ENV_REG(in->index));

		if (in->scale > 1)
			i = ir_shl(b, i, fe_const(f, size_log2(in->scale)));
		a = ir_add(b, a, i);
	}
	if (in->addrsize == 4)
		a = fe_zext(f, a, 4);
	if (in->seg == X86_SEG_FS)
		a = ir_add(b, a, ir_get(b, X86_ENV_OFF(fs_base)));
	else if (in->seg == X86_SEG_GS)
		a = ir_add(b, a, ir_get(b, X86_ENV_OFF(gs_base)));
	return a;
}

ir_temp fe_read_rm(struct fe *f, unsigned size, ir_temp *addr_out)
{
	ir_temp addr;

	if (f->insn->mod == 3) {
		if (addr_out)
			*addr_out = IR_NO_TEMP;
		return fe_get_gpr(f, f->insn->rm, size);
	}
	addr = fe_ea(f);
	if (addr_out)
		*addr_out = addr;
	return ir_load(f->blk, addr, size);
}

void fe_write_rm(struct fe *f, unsigned size, ir_temp addr, ir_temp v)
{
	if (f->insn->mod == 3) {
		fe_set_gpr(f, f->insn->rm, size, v);
		return;
	}
	if (addr == IR_NO_TEMP)
		addr = fe_ea(f);
	ir_store(f->blk, addr, v, size);
}

ir_temp fe_push(struct fe *f, ir_temp v, ir_temp rsp)
{
	ir_temp sp = ir_sub(f->blk, rsp, fe_const(f, 8));

	ir_store(f->blk, sp, v, 8);
	return sp;
}

/* ---- lazy flags ---- */

void fe_set_cc(struct fe *f, unsigned kind, unsigned size, ir_temp dst,
	       ir_temp src, ir_temp src2)
{
	struct ir_block *b = f->blk;
	int op = CC_OP(kind, size_log2(size));

	if (dst == IR_NO_TEMP)
		dst = fe_const(f, 0);
	if (src == IR_NO_TEMP)
		src = fe_const(f, 0);
	ir_set(b, X86_ENV_OFF(cc_op), fe_const(f, op));
	ir_set(b, X86_ENV_OFF(cc_dst), dst);
	ir_set(b, X86_ENV_OFF(cc_src), src);
	/* Only ADC/SBB/INC/DEC/SHR read cc_src2; others leave it stale. */
	if (src2 == IR_NO_TEMP)
		src2 = fe_const(f, 0);
	else
		ir_set(b, X86_ENV_OFF(cc_src2), src2);
	f->cc_a = IR_NO_TEMP;
	f->cc_op = op;
	f->cc_dst = dst;
	f->cc_src = src;
	f->cc_src2 = src2;
}

/* CF and OF (0/1) of the rotate recorded in a known cc_op. */
static void rotate_cf_of(struct fe *f, int cc_op, ir_temp r, ir_temp *cf,
			 ir_temp *of)
{
	struct ir_block *b = f->blk;
	unsigned bits = 8u << CC_ROT_SIZE_LOG2(cc_op);
	ir_temp msb = ir_and(b, ir_shr(b, r, fe_const(f, bits - 1)),
			     fe_const(f, 1));

	if (CC_ROT(cc_op) == CC_ROT_L) {
		*cf = ir_and(b, r, fe_const(f, 1));
		*of = ir_xor(b, msb, *cf);
	} else {
		*cf = msb;
		*of = ir_xor(b, msb, ir_and(b, ir_shr(b, r,
						      fe_const(f, bits - 2)),
					    fe_const(f, 1)));
	}
}

void fe_set_rotate_cc(struct fe *f, bool right, unsigned size, ir_temp r)
{
	struct ir_block *b = f->blk;
	unsigned kind = f->cc_op >= 0 ? CC_KIND(f->cc_op & 0xff) : CC_EFLAGS;
	int op = CC_WITH_ROT(f->cc_op, right ? CC_ROT_R : CC_ROT_L,
			     size_log2(size));
	ir_temp cf, of, e;

	if (f->cc_op < 0 || kind == CC_EFLAGS || kind == CC_ADC ||
	    kind == CC_SBB) {
		rotate_cf_of(f, op, r, &cf, &of);
		e = ir_and(b, fe_eflags(f),
			   fe_const(f, ~(int64_t)(X86_CF | X86_OF)));
		e = ir_or(b, e, ir_or(b, cf, ir_shl(b, of, fe_const(f, 11))));
		fe_set_cc(f, CC_EFLAGS, 8, IR_NO_TEMP, e, IR_NO_TEMP);
		return;
	}
	f->cc_op = op;
	f->cc_src2 = r;
	f->cc_a = IR_NO_TEMP;
	ir_set(b, X86_ENV_OFF(cc_op), fe_const(f, op));
	ir_set(b, X86_ENV_OFF(cc_src2), r);
}

void fe_forget_cc(struct fe *f)
{
	f->cc_op = -1;
}

ir_temp fe_eflags(struct fe *f)
{
	struct ir_block *b = f->blk;
	ir_temp args[4];

	if (f->cc_op >= 0 && CC_KIND(f->cc_op) == CC_EFLAGS)
		return f->cc_src;
	if (f->cc_op >= 0) {
		args[0] = fe_const(f, f->cc_op);
		args[1] = f->cc_dst;
		args[2] = f->cc_src;
		args[3] = f->cc_src2;
	} else {
		args[0] = ir_get(b, X86_ENV_OFF(cc_op));
		args[1] = ir_get(b, X86_ENV_OFF(cc_dst));
		args[2] = ir_get(b, X86_ENV_OFF(cc_src));
		args[3] = ir_get(b, X86_ENV_OFF(cc_src2));
	}
	return ir_call(b, (const void *)x86_compute_eflags, IR_HELPER_PURE, 4,
		       args);
}

static ir_temp flag_bit(struct fe *f, ir_temp eflags, unsigned bit)
{
	ir_temp v = ir_shr(f->blk, eflags, fe_const(f, bit));

	return ir_and(f->blk, v, fe_const(f, 1));
}

ir_temp fe_carry(struct fe *f)
{
	struct ir_block *b = f->blk;

	if (f->cc_op >= 0 && CC_ROT(f->cc_op)) {
		ir_temp cf, of;

		rotate_cf_of(f, f->cc_op, f->cc_src2, &cf, &of);
		return cf;
	}
	if (f->cc_op >= 0) {
		unsigned kind = CC_KIND(f->cc_op);
		unsigned size = 1u << CC_SIZE_LOG2(f->cc_op);

		if (kind == CC_SUB) {
			ir_temp a = fe_zext(f, ir_add(b, f->cc_dst, f->cc_src),
					    size);
			return ir_setcc(b, IR_LTU, a, f->cc_src);
		}
		if (kind == CC_CMP)
			return ir_setcc(b, IR_LTU, f->cc_dst, f->cc_src);
		if (kind == CC_ADD)
			return ir_setcc(b, IR_LTU, f->cc_dst, f->cc_src);
		if (kind == CC_LOGIC)
			return fe_const(f, 0);
		if (kind == CC_INC || kind == CC_DEC)
			return f->cc_src2;
	}
	return flag_bit(f, fe_eflags(f), 0);
}

/* Condition codes 0..15 evaluated on a known SUB or CMP without flags. */
static ir_temp cond_after_sub(struct fe *f, unsigned cc)
{
	struct ir_block *b = f->blk;
	unsigned size = 1u << CC_SIZE_LOG2(f->cc_op);
	bool cmp = CC_KIND(f->cc_op) == CC_CMP;
	ir_temp a = cmp ? f->cc_dst : f->cc_a != IR_NO_TEMP ? f->cc_a :
		    fe_zext(f, ir_add(b, f->cc_dst, f->cc_src), size);
	ir_temp s = f->cc_src;

	switch (cc >> 1) {
	case 1: return ir_setcc(b, IR_LTU, a, s);
	case 2:
		if (cmp || f->cc_a != IR_NO_TEMP)
			return ir_setcc(b, IR_EQ, a, s);
		return ir_setcc(b, IR_EQ, f->cc_dst, fe_const(f, 0));
	case 3: return ir_setcc(b, IR_LEU, a, s);
	case 4: return ir_setcc(b, IR_LT,
				fe_sext(f, cmp ? ir_sub(b, a, s) : f->cc_dst,
					size),
				fe_const(f, 0));
	case 6: return ir_setcc(b, IR_LT, fe_sext(f, a, size),
				fe_sext(f, s, size));
	case 7: return ir_setcc(b, IR_LE, fe_sext(f, a, size),
				fe_sext(f, s, size));
	default: return IR_NO_TEMP;
	}
}

/* On a known LOGIC op: CF = OF = 0. */
static ir_temp cond_after_logic(struct fe *f, unsigned cc)
{
	struct ir_block *b = f->blk;
	unsigned size = 1u << CC_SIZE_LOG2(f->cc_op);
	ir_temp zero = fe_const(f, 0);

	switch (cc >> 1) {
	case 0: case 1: return zero;
	case 2: case 3: return ir_setcc(b, IR_EQ, f->cc_dst, zero);
	case 4: case 6:
		return ir_setcc(b, IR_LT, fe_sext(f, f->cc_dst, size), zero);
	case 7: return ir_setcc(b, IR_LE, fe_sext(f, f->cc_dst, size), zero);
	default: return IR_NO_TEMP;
	}
}

/* Negate a 0/1 value; a comparison just emitted is re-emitted with the
 * opposite condition (the first one becomes dead), so that the backend
 * can fuse it with a following branch. */
static ir_temp invert_condition(struct fe *f, ir_temp r)
{
	static const uint8_t inverse[] = {
		[IR_EQ] = IR_NE, [IR_NE] = IR_EQ, [IR_LTU] = IR_GEU,
		[IR_GEU] = IR_LTU, [IR_LEU] = IR_GTU, [IR_GTU] = IR_LEU,
		[IR_LT] = IR_GE, [IR_GE] = IR_LT, [IR_LE] = IR_GT,
		[IR_GT] = IR_LE,
	};
	struct ir_block *b = f->blk;
	const struct ir_op *last = b->n_ops ? &b->ops[b->n_ops - 1] : NULL;

	if (last && last->opc == IR_SETCC && last->dst == r)
		return ir_setcc(b, inverse[last->aux], last->a, last->b);
	return ir_xor(b, r, fe_const(f, 1));
}

ir_temp fe_cond(struct fe *f, unsigned cc)
{
	struct ir_block *b = f->blk;
	ir_temp r = IR_NO_TEMP, e;

	if (f->cc_op >= 0 && (CC_KIND(f->cc_op) == CC_SUB ||
			      CC_KIND(f->cc_op) == CC_CMP))
		r = cond_after_sub(f, cc);
	else if (f->cc_op >= 0 && CC_KIND(f->cc_op) == CC_LOGIC)
		r = cond_after_logic(f, cc);
	else if (f->cc_op >= 0 && CC_ROT(f->cc_op) && cc >> 1 < 2) {
		ir_temp cf, of;

		rotate_cf_of(f, f->cc_op, f->cc_src2, &cf, &of);
		r = cc >> 1 ? cf : of;
	}
	else if (f->cc_op >= 0 && CC_KIND(f->cc_op & 0xff) != CC_EFLAGS &&
		 CC_KIND(f->cc_op & 0xff) != CC_CMP && (cc >> 1) == 2)
		r = ir_setcc(b, IR_EQ, f->cc_dst, fe_const(f, 0));
	if (r == IR_NO_TEMP) {
		e = fe_eflags(f);
		switch (cc >> 1) {
		case 0: r = flag_bit(f, e, 11); break;
		case 1: r = flag_bit(f, e, 0); break;
		case 2: r = flag_bit(f, e, 6); break;
		case 3:
			r = ir_setcc(b, IR_NE, ir_and(b, e, fe_const(f, 0x41)),
				     fe_const(f, 0));
			break;
		case 4: r = flag_bit(f, e, 7); break;
		case 5: r = flag_bit(f, e, 2); break;
		case 6:
			r = ir_and(b, ir_xor(b, ir_shr(b, e, fe_const(f, 7)),
					     ir_shr(b, e, fe_const(f, 11))),
				   fe_const(f, 1));
			break;
		default:
			r = ir_and(b, ir_xor(b, ir_shr(b, e, fe_const(f, 7)),
					     ir_shr(b, e, fe_const(f, 11))),
				   fe_const(f, 1));
			r = ir_or(b, r, flag_bit(f, e, 6));
			break;
		}
	}
	if (cc & 1)
		r = invert_condition(f, r);
	return r;
}

/* ---- block ends and unimplemented instructions ---- */

void fe_jump(struct fe *f, uint64_t target)
{
	ir_exit(f->blk, target);
	f->ended = true;
}

#define MISSING_SLOTS 1024
static unsigned long missing_count[MISSING_SLOTS];

void fe_illegal(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	unsigned key = (in->map & 3) << 8 | in->opcode;

	f->illegal = true;
	if (f->speculative)
		;	/* dropped by x86_translate_block: no report */
	else if (missing_count[key]++ == 0)
		log_warnx("instruction not supported yet at %#llx: map %u "
			  "opcode %#04x%s (guest gets SIGILL)",
			  (unsigned long long)in->pc, in->map, in->opcode,
			  in->has_modrm ? " with ModRM" : "");
	ir_exit_special(f->blk, X86_EXIT_ILLEGAL, in->pc);
	f->ended = true;
}

void x86_frontend_print_missing(void)
{
	static const char *const maps[] = { "", "0f ", "0f38 ", "0f3a " };
	unsigned shown = 0;

	x86_sse_print_stats();
	for (;;) {
		unsigned best = 0;
		unsigned long n = 0;

		for (unsigned i = 0; i < MISSING_SLOTS; i++)
			if (missing_count[i] > n) {
				n = missing_count[i];
				best = i;
			}
		if (n == 0 || shown++ == 10)
			break;
		fprintf(stderr, "  missing opcode %s%02x: %lu\n",
			maps[best >> 8], best & 0xff, n);
		missing_count[best] = 0;
	}
}

static void translate_insn(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	bool ok;

	ir_insn_start(f->blk, in->pc);
	if (in->vex)
		ok = false;
	else if (x86_translate_atomic(f))
		ok = true;
	else if (in->map == X86_MAP_PRIMARY)
		ok = x86_translate_primary(f);
	else if (in->map == X86_MAP_0F)
		ok = x86_translate_0f(f);
	else
		ok = x86_translate_sse(f);	/* 0F38, 0F3A */
	if (!ok)
		fe_illegal(f);
}

/* The instruction just translated ended the block with a conditional
 * exit and a jump to the next instruction (jcc, loop, jrcxz): drop the
 * jump and go on translating, the exit becoming a side exit, while the
 * block has chainable exits left (TR_MAX_CHAIN_EXITS in backend.h: 4;
 * two kept for a last jcc's pair). */
static bool continue_after_branch(struct fe *f, unsigned *side_exits)
{
	struct ir_block *b = f->blk;
	const struct ir_op *last = &b->ops[b->n_ops - 1];

	if (b->n_ops < 2 || last->opc != IR_EXIT ||
	    (uint64_t)last->imm != f->next_pc ||
	    b->ops[b->n_ops - 2].opc != IR_BRCOND ||
	    b->ops[b->n_ops - 2].aux != 0 || *side_exits >= 2)
		return false;
	b->n_ops--;
	++*side_exits;
	f->ended = false;
	return true;
}

void x86_translate_block(struct ir_block *blk, uint64_t pc,
			 const struct x86_frontend_config *cfg)
{
	unsigned side_exits = 0;
	struct x86_insn insn;
	struct fe f = { .blk = blk, .insn = &insn, .cc_op = -1 };
	uint8_t buf[X86_MAX_INSN_LEN];
	size_t avail;
	int rc;

	ir_init(blk, pc);
	for (unsigned n = 0;; n++) {
		unsigned ops_before = blk->n_ops, insns_before = blk->n_insns;

		if (n >= cfg->max_insns || ir_nearly_full(blk, 256) ||
		    (n > 0 && (pc >> 12) != (blk->guest_pc >> 12))) {
			ir_exit(blk, pc);
			break;
		}
		avail = cfg->fetch(cfg->fetch_opaque, pc, buf, sizeof(buf));
		rc = x86_decode(&insn, buf, avail, pc);
		if (rc < 0 && f.speculative) {
			/* A block of its own reports it if it is reached. */
			ir_exit(blk, pc);
			break;
		}
		if (rc == -EFAULT && avail == 0) {
			ir_insn_start(blk, pc);
			ir_exit_special(blk, X86_EXIT_SEGV, pc);
			blk->guest_end = pc + 1;
			break;
		}
		if (rc < 0) {
			/* Undecodable: SIGILL, or SIGSEGV if truncated by
			 * an unmapped page. */
			insn.pc = pc;
			ir_insn_start(blk, pc);
			ir_exit_special(blk, rc == -EFAULT ? X86_EXIT_SEGV :
					X86_EXIT_ILLEGAL, pc);
			blk->guest_end = pc + (avail ? avail : 1);
			break;
		}
		f.next_pc = pc + insn.len;
		f.ended = false;
		f.illegal = false;
		translate_insn(&f);
		if (f.illegal && f.speculative) {
			blk->n_ops = ops_before;
			blk->n_insns = insns_before;
			ir_exit(blk, pc);
			break;
		}
		blk->guest_end = f.next_pc;
		if (f.ended && !continue_after_branch(&f, &side_exits))
			break;
		f.speculative = side_exits > 0;
		pc = f.next_pc;
	}
}

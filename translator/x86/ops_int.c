/* x86-64 integer instructions -> IR.
 *
 * Order inside every instruction: loads, computation, stores, and only
 * then guest registers and flags.  A faulting load or store therefore
 * sees the guest state of the instruction's start, which is what precise
 * faults need (the backend records where that state is at each access).
 */
#include "translator/x86/frontend_internal.h"
#include "translator/x86/helpers.h"

enum alu { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR,
	   ALU_CMP };

struct cc_pending {
	unsigned kind;
	ir_temp dst, src, src2;
};

static unsigned opsize_byte(const struct fe *f)
{
	return (f->insn->opcode & 1) ? f->insn->opsize : 1;
}

/* Stack operations are 64-bit unless 66 makes them 16-bit. */
static unsigned stack_size(const struct fe *f)
{
	return f->insn->opsize_prefix ? 2 : 8;
}

static ir_temp imm_of(struct fe *f, unsigned size)
{
	return fe_zext(f, fe_const(f, f->insn->imm), size);
}

static ir_temp alu_compute(struct fe *f, unsigned op, unsigned size,
			   ir_temp a, ir_temp b, struct cc_pending *cc)
{
	struct ir_block *blk = f->blk;
	ir_temp r, c;

	cc->src = b;
	cc->src2 = IR_NO_TEMP;
	switch (op) {
	case ALU_ADD:
		r = ir_add(blk, a, b);
		cc->kind = CC_ADD;
		break;
	case ALU_ADC:
		c = fe_carry(f);
		r = ir_add(blk, ir_add(blk, a, b), c);
		cc->kind = CC_ADC;
		cc->src2 = c;
		break;
	case ALU_SBB:
		c = fe_carry(f);
		r = ir_sub(blk, ir_sub(blk, a, b), c);
		cc->kind = CC_SBB;
		cc->src2 = c;
		break;
	case ALU_SUB:
	case ALU_CMP:
		r = ir_sub(blk, a, b);
		cc->kind = CC_SUB;
		break;
	case ALU_AND:
		r = ir_and(blk, a, b);
		cc->kind = CC_LOGIC;
		break;
	case ALU_OR:
		r = ir_or(blk, a, b);
		cc->kind = CC_LOGIC;
		break;
	default:
		r = ir_xor(blk, a, b);
		cc->kind = CC_LOGIC;
		break;
	}
	if (cc->kind == CC_LOGIC)
		cc->src = IR_NO_TEMP;
	r = fe_zext(f, r, size);
	cc->dst = r;
	if (op == ALU_CMP) {
		/* The difference is rarely needed: keep the operands. */
		cc->kind = CC_CMP;
		cc->dst = a;
	}
	return r;
}

/* op r/m, value (value already zero-extended to size). */
static void alu_to_rm(struct fe *f, unsigned op, unsigned size, ir_temp b)
{
	struct cc_pending cc;
	ir_temp addr, a, r;

	a = fe_read_rm(f, size, &addr);
	r = alu_compute(f, op, size, a, b, &cc);
	if (op != ALU_CMP)
		fe_write_rm(f, size, addr, r);
	fe_set_cc(f, cc.kind, size, cc.dst, cc.src, cc.src2);
	if (op == ALU_SUB || op == ALU_CMP)
		f->cc_a = a;
}

static void alu_to_reg(struct fe *f, unsigned op, unsigned size, unsigned reg,
		       ir_temp b)
{
	struct cc_pending cc;
	ir_temp a = fe_get_gpr(f, reg, size), r;

	r = alu_compute(f, op, size, a, b, &cc);
	if (op != ALU_CMP)
		fe_set_gpr(f, reg, size, r);
	fe_set_cc(f, cc.kind, size, cc.dst, cc.src, cc.src2);
	if (op == ALU_SUB || op == ALU_CMP)
		f->cc_a = a;
}

static void translate_alu(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	unsigned op = (in->opcode >> 3) & 7, size = opsize_byte(f);

	switch (in->opcode & 7) {
	case 0: case 1:
		alu_to_rm(f, op, size, fe_read_reg(f, size));
		break;
	case 2: case 3: {
		ir_temp b = fe_read_rm(f, size, NULL);

		alu_to_reg(f, op, size, in->reg, b);
		break;
	}
	default:
		alu_to_reg(f, op, size, X86_RAX, imm_of(f, size));
		break;
	}
}

static void translate_incdec(struct fe *f, unsigned size, bool dec)
{
	struct ir_block *b = f->blk;
	ir_temp addr, a, r, c;

	a = fe_read_rm(f, size, &addr);
	c = fe_carry(f);
	r = fe_zext(f, dec ? ir_sub(b, a, fe_const(f, 1)) :
			     ir_add(b, a, fe_const(f, 1)), size);
	fe_write_rm(f, size, addr, r);
	fe_set_cc(f, dec ? CC_DEC : CC_INC, size, r, IR_NO_TEMP, c);
}

/* SHL/SHR/SAR by CL in IR.  A masked count of 0 leaves the flags alone,
 * so the new lazy-flag state is selected against the old one. */
static void translate_shift_cl(struct fe *f, unsigned size, unsigned op,
			       ir_temp a, ir_temp addr)
{
	struct ir_block *b = f->blk;
	unsigned kind = op == 5 ? CC_SHR : op == 7 ? CC_SAR : CC_SHL;
	ir_temp count, cm1, r, src, nz, old[4], val[4];
	static const unsigned slot[4] = {
		X86_ENV_OFF(cc_op), X86_ENV_OFF(cc_dst), X86_ENV_OFF(cc_src),
		X86_ENV_OFF(cc_src2),
	};

	count = ir_and(b, fe_get_gpr(f, X86_RCX, 1),
		       fe_const(f, size == 8 ? 63 : 31));
	cm1 = ir_sub(b, count, fe_const(f, 1));
	if (kind == CC_SAR) {
		ir_temp sa = fe_sext(f, a, size);

		src = ir_sar(b, sa, cm1);
		r = ir_sar(b, sa, count);
	} else if (kind == CC_SHR) {
		src = ir_shr(b, a, cm1);
		r = ir_shr(b, a, count);
	} else {
		src = ir_shl(b, a, cm1);
		r = ir_shl(b, a, count);
	}
	r = fe_zext(f, r, size);
	fe_write_rm(f, size, addr, r);
	nz = ir_setcc(b, IR_NE, count, fe_const(f, 0));
	if (f->cc_op >= 0) {
		old[0] = fe_const(f, f->cc_op);
		old[1] = f->cc_dst;
		old[2] = f->cc_src;
		old[3] = f->cc_src2;
	} else {
		for (int i = 0; i < 4; i++)
			old[i] = ir_get(b, slot[i]);
	}
	val[0] = fe_const(f, CC_OP(kind, size_log2(size)));
	val[1] = r;
	val[2] = fe_zext(f, src, size);
	val[3] = kind == CC_SHR ? a : fe_const(f, 0);
	for (int i = 0; i < 4; i++)
		ir_set(b, slot[i], ir_select(b, nz, val[i], old[i]));
	fe_forget_cc(f);
}

/* ROL/ROR by a constant: in IR.  They change only CF and OF, which
 * fe_set_rotate_cc() records without materializing the other flags. */
static void translate_rotate_imm(struct fe *f, unsigned size, unsigned op,
				 ir_temp a, ir_temp addr, unsigned n)
{
	struct ir_block *b = f->blk;
	unsigned bits = size * 8, k = n % bits;
	ir_temp r;

	if (k == 0)
		r = a;
	else if (size >= 4)
		r = (size == 4 ? ir_binop32 : ir_binop)(b, op == 0 ? IR_ROL :
							IR_ROR, a,
							fe_const(f, k));
	else if (op == 0)
		r = ir_or(b, ir_shl(b, a, fe_const(f, k)),
			  ir_shr(b, a, fe_const(f, bits - k)));
	else
		r = ir_or(b, ir_shr(b, a, fe_const(f, k)),
			  ir_shl(b, a, fe_const(f, bits - k)));
	r = fe_zext(f, r, size);
	fe_write_rm(f, size, addr, r);
	fe_set_rotate_cc(f, op == 1, size, r);
}

/* Shifts and rotates by a constant: result and flags in IR.  Rotates and
 * RCL/RCR go through a helper that updates flags in env. */
static void translate_shift(struct fe *f, unsigned size, int count_imm)
{
	struct ir_block *b = f->blk;
	unsigned op = f->insn->reg & 7, bits = size * 8, n;
	ir_temp addr, a, r, src, args[4];

	a = fe_read_rm(f, size, &addr);
	if (count_imm >= 0 && op < 2 &&
	    ((unsigned)count_imm & (size == 8 ? 63 : 31)) != 0) {
		translate_rotate_imm(f, size, op, a, addr,
				     (unsigned)count_imm & (size == 8 ? 63 : 31));
		return;
	}
	if (count_imm < 0 && op >= 4) {
		translate_shift_cl(f, size, op, a, addr);
		return;
	}
	if (count_imm < 0 || op < 4) {
		ir_temp count = count_imm < 0 ? fe_get_gpr(f, X86_RCX, 1) :
						fe_const(f, count_imm);

		args[0] = fe_const(f, op | size << 8);
		args[1] = a;
		args[2] = count;
		r = ir_call(b, (const void *)x86_helper_shift,
			    IR_HELPER_READS_ENV | IR_HELPER_WRITES_ENV, 3,
			    args);
		fe_forget_cc(f);
		fe_write_rm(f, size, addr, r);
		return;
	}
	n = (unsigned)count_imm & (size == 8 ? 63 : 31);
	if (n == 0) {
		/* Flags unchanged; a 32-bit register is still written. */
		if (size == 4 && f->insn->mod == 3)
			fe_write_rm(f, size, addr, a);
		return;
	}
	switch (op) {
	case 4: case 6:
		src = ir_shl(b, a, fe_const(f, n - 1));
		r = fe_zext(f, ir_shl(b, src, fe_const(f, 1)), size);
		fe_write_rm(f, size, addr, r);
		fe_set_cc(f, CC_SHL, size, r, fe_zext(f, src, size),
			  IR_NO_TEMP);
		break;
	case 5:
		src = n - 1 >= bits ? fe_const(f, 0) :
				      ir_shr(b, a, fe_const(f, n - 1));
		r = n >= bits ? fe_const(f, 0) : ir_shr(b, a, fe_const(f, n));
		fe_write_rm(f, size, addr, r);
		fe_set_cc(f, CC_SHR, size, r, src, a);
		break;
	default: {
		ir_temp s = fe_sext(f, a, size);

		src = ir_sar(b, s, fe_const(f, n - 1));
		r = fe_zext(f, ir_sar(b, src, fe_const(f, 1)), size);
		fe_write_rm(f, size, addr, r);
		fe_set_cc(f, CC_SAR, size, r, fe_zext(f, src, size),
			  IR_NO_TEMP);
		break;
	}
	}
}

static void translate_group3(struct fe *f, unsigned size)
{
	struct ir_block *b = f->blk;
	unsigned op = f->insn->reg & 7;
	ir_temp addr, a, r, args[3];

	switch (op) {
	case 0: case 1: {
		struct cc_pending cc;

		a = fe_read_rm(f, size, NULL);
		r = alu_compute(f, ALU_AND, size, a, imm_of(f, size), &cc);
		fe_set_cc(f, CC_LOGIC, size, r, IR_NO_TEMP, IR_NO_TEMP);
		return;
	}
	case 2:
		a = fe_read_rm(f, size, &addr);
		fe_write_rm(f, size, addr, fe_zext(f, ir_unop(b, IR_NOT, a),
						   size));
		return;
	case 3:
		a = fe_read_rm(f, size, &addr);
		r = fe_zext(f, ir_unop(b, IR_NEG, a), size);
		fe_write_rm(f, size, addr, r);
		fe_set_cc(f, CC_SUB, size, r, a, IR_NO_TEMP);
		/* neg = 0 - a: CF = a != 0, matches SUB with dst = -a. */
		return;
	case 4: case 5:
		a = fe_read_rm(f, size, NULL);
		args[0] = fe_const(f, size | (op == 5) << 8);
		args[1] = a;
		ir_call(b, (const void *)x86_helper_mul,
			IR_HELPER_READS_ENV | IR_HELPER_WRITES_ENV, 2, args);
		fe_forget_cc(f);
		return;
	default:
		a = fe_read_rm(f, size, NULL);
		args[0] = fe_const(f, size | (op == 7) << 8);
		args[1] = a;
		r = ir_call(b, (const void *)x86_helper_div,
			    IR_HELPER_READS_ENV | IR_HELPER_WRITES_ENV, 2,
			    args);
		ir_brcond(b, r, f->insn->pc);
		b->ops[b->n_ops - 1].aux = X86_EXIT_DIVIDE;
		return;
	}
}

/* neg's flags: SUB of (0 - a) has dst = -a, src = a, and the SUB formula
 * recovers the minuend as dst + src = 0.  Right for every flag. */

static void translate_imul(struct fe *f, unsigned size, ir_temp a, ir_temp b2)
{
	struct ir_block *b = f->blk;
	ir_temp r, full, args[3];

	if (size == 8) {
		args[0] = a;
		args[1] = b2;
		r = ir_call(b, (const void *)x86_helper_imul64,
			    IR_HELPER_WRITES_ENV, 2, args);
		fe_forget_cc(f);
		fe_write_reg(f, size, r);
		return;
	}
	full = ir_binop(b, IR_MUL, fe_sext(f, a, size), fe_sext(f, b2, size));
	r = fe_zext(f, full, size);
	fe_write_reg(f, size, r);
	fe_set_cc(f, CC_MUL, size, r,
		  ir_setcc(b, IR_NE, fe_sext(f, full, size), full),
		  IR_NO_TEMP);
}

static void translate_push_value(struct fe *f, ir_temp v)
{
	struct ir_block *b = f->blk;
	ir_temp rsp = ir_get(b, X86_ENV_REG(X86_RSP));
	unsigned size = stack_size(f);
	ir_temp sp = ir_sub(b, rsp, fe_const(f, size));

	ir_store(b, sp, v, size);
	ir_set(b, X86_ENV_REG(X86_RSP), sp);
}

static ir_temp translate_pop_value(struct fe *f, unsigned size)
{
	struct ir_block *b = f->blk;
	ir_temp rsp = ir_get(b, X86_ENV_REG(X86_RSP));
	ir_temp v = ir_load(b, rsp, size);

	ir_set(b, X86_ENV_REG(X86_RSP), ir_add(b, rsp, fe_const(f, size)));
	return v;
}

static void translate_jcc(struct fe *f, unsigned cc, uint64_t target)
{
	ir_brcond(f->blk, fe_cond(f, cc), target);
	fe_jump(f, f->next_pc);
}

static void translate_string(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	unsigned size = (in->opcode & 1) ? in->opsize : 1;
	unsigned kind = (in->opcode - 0xa4) >> 1;	/* movs cmps - stos lods scas */
	unsigned rep = in->rep ? 1 : in->repne ? 2 : 0;
	ir_temp args[2];

	/* One helper per string instruction: it walks rsi/rdi/rcx in env
	 * and touches guest memory; fault recovery sees the exact state of
	 * the iteration that faulted. */
	ir_set(f->blk, X86_ENV_OFF(rip), fe_const(f, (int64_t)in->pc));
	args[0] = fe_const(f, kind | size << 8 | rep << 16 |
			   (in->addrsize == 4) << 24);
	args[1] = in->seg == X86_SEG_FS ? ir_get(f->blk, X86_ENV_OFF(fs_base)) :
		  in->seg == X86_SEG_GS ? ir_get(f->blk, X86_ENV_OFF(gs_base)) :
		  fe_const(f, 0);
	ir_call(f->blk, (const void *)x86_helper_string,
		IR_HELPER_READS_ENV | IR_HELPER_WRITES_ENV | IR_HELPER_MEMORY,
		2, args);
	fe_forget_cc(f);
}

static bool translate_mov_group(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned size = opsize_byte(f);
	ir_temp v, addr;

	switch (in->opcode) {
	case 0x88: case 0x89:
		fe_write_rm(f, size, IR_NO_TEMP, fe_read_reg(f, size));
		return true;
	case 0x8a: case 0x8b:
		fe_write_reg(f, size, fe_read_rm(f, size, NULL));
		return true;
	case 0x8d:
		if (in->mod == 3)
			return false;
		addr = fe_ea(f);
		fe_write_reg(f, in->opsize, fe_zext(f, addr, in->opsize));
		return true;
	case 0xc6: case 0xc7:
		if ((in->reg & 7) != 0)
			return false;
		v = in->rex_w ? fe_const(f, in->imm) : imm_of(f, size);
		fe_write_rm(f, size, IR_NO_TEMP, v);
		return true;
	case 0x63:
		v = fe_read_rm(f, 4, NULL);
		fe_write_reg(f, in->opsize, in->rex_w ? fe_sext(f, v, 4) : v);
		return true;
	case 0x86: case 0x87: {
		ir_temp r = fe_read_reg(f, size);

		v = fe_read_rm(f, size, &addr);
		fe_write_rm(f, size, addr, r);
		fe_write_reg(f, size, v);
		(void)b;
		return true;
	}
	default:
		return false;
	}
}

static void translate_cwd(struct fe *f)
{
	struct ir_block *b = f->blk;
	unsigned size = f->insn->opsize;
	ir_temp a = fe_get_gpr(f, X86_RAX, size);

	if (f->insn->opcode == 0x98) {
		/* cbw / cwde / cdqe */
		a = fe_get_gpr(f, X86_RAX, size / 2);
		fe_set_gpr(f, X86_RAX, size, fe_sext(f, a, size / 2));
		return;
	}
	a = ir_sar(b, fe_sext(f, a, size), fe_const(f, 63));
	fe_set_gpr(f, X86_RDX, size, a);
}

static void translate_flag_ops(struct fe *f)
{
	struct ir_block *b = f->blk;
	ir_temp e, v;

	switch (f->insn->opcode) {
	case 0xf5:	/* cmc */
		e = ir_xor(b, fe_eflags(f), fe_const(f, X86_CF));
		break;
	case 0xf8:
		e = ir_and(b, fe_eflags(f), fe_const(f, ~(int64_t)X86_CF));
		break;
	case 0xf9:
		e = ir_or(b, fe_eflags(f), fe_const(f, X86_CF));
		break;
	case 0x9e:	/* sahf */
		v = ir_and(b, fe_get_gpr(f, 4, 1),
			   fe_const(f, X86_SF | X86_ZF | X86_AF | X86_PF |
				    X86_CF));
		e = ir_or(b, ir_and(b, fe_eflags(f), fe_const(f, X86_OF)), v);
		break;
	case 0x9f:	/* lahf */
		v = ir_or(b, ir_and(b, fe_eflags(f), fe_const(f, 0xd5)),
			  fe_const(f, 2));
		fe_set_gpr(f, 4, 1, v);
		return;
	case 0xfc: case 0xfd:
		ir_set(b, X86_ENV_OFF(df), fe_const(f, f->insn->opcode == 0xfc ?
						       1 : -1));
		return;
	default:
		return;
	}
	fe_set_cc(f, CC_EFLAGS, 8, IR_NO_TEMP, e, IR_NO_TEMP);
}

static bool translate_group5(struct fe *f)
{
	struct ir_block *b = f->blk;
	unsigned op = f->insn->reg & 7;
	ir_temp v, rsp;

	switch (op) {
	case 0: case 1:
		translate_incdec(f, f->insn->opsize, op == 1);
		return true;
	case 2:		/* call near indirect */
		v = fe_read_rm(f, 8, NULL);
		rsp = fe_push(f, fe_const(f, (int64_t)f->next_pc),
			      ir_get(b, X86_ENV_REG(X86_RSP)));
		ir_set(b, X86_ENV_REG(X86_RSP), rsp);
		ir_exit_indirect(b, v);
		f->ended = true;
		return true;
	case 4:
		v = fe_read_rm(f, 8, NULL);
		ir_exit_indirect(b, v);
		f->ended = true;
		return true;
	case 6:
		translate_push_value(f, fe_read_rm(f, stack_size(f), NULL));
		return true;
	default:
		return false;
	}
}

static bool translate_control(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	uint64_t target = f->next_pc + (uint64_t)in->imm;
	ir_temp v, rsp, c;

	switch (in->opcode) {
	case 0xe8:
		rsp = fe_push(f, fe_const(f, (int64_t)f->next_pc),
			      ir_get(b, X86_ENV_REG(X86_RSP)));
		ir_set(b, X86_ENV_REG(X86_RSP), rsp);
		fe_jump(f, target);
		return true;
	case 0xe9: case 0xeb:
		fe_jump(f, target);
		return true;
	case 0xc2: case 0xc3:
		rsp = ir_get(b, X86_ENV_REG(X86_RSP));
		v = ir_load(b, rsp, 8);
		ir_set(b, X86_ENV_REG(X86_RSP),
		       ir_add(b, rsp, fe_const(f, 8 + (in->opcode == 0xc2 ?
						       in->imm & 0xffff : 0))));
		ir_exit_indirect(b, v);
		f->ended = true;
		return true;
	case 0xe0: case 0xe1: case 0xe2: {
		unsigned as = in->addrsize;
		ir_temp cx = fe_zext(f, ir_sub(b, fe_get_gpr(f, X86_RCX, as),
					       fe_const(f, 1)), as);

		fe_set_gpr(f, X86_RCX, as, cx);
		c = ir_setcc(b, IR_NE, cx, fe_const(f, 0));
		if (in->opcode == 0xe0)
			c = ir_and(b, c, fe_cond(f, 5));
		else if (in->opcode == 0xe1)
			c = ir_and(b, c, fe_cond(f, 4));
		ir_brcond(b, c, target);
		fe_jump(f, f->next_pc);
		return true;
	}
	case 0xe3:
		c = ir_setcc(b, IR_EQ, fe_get_gpr(f, X86_RCX, in->addrsize),
			     fe_const(f, 0));
		ir_brcond(b, c, target);
		fe_jump(f, f->next_pc);
		return true;
	case 0xc9:	/* leave */
		rsp = ir_get(b, X86_ENV_REG(X86_RBP));
		v = ir_load(b, rsp, 8);
		ir_set(b, X86_ENV_REG(X86_RSP), ir_add(b, rsp, fe_const(f, 8)));
		ir_set(b, X86_ENV_REG(X86_RBP), v);
		return true;
	case 0xcc:
		ir_exit_special(b, X86_EXIT_TRAP, f->next_pc);
		f->ended = true;
		return true;
	case 0xf4:
		ir_exit_special(b, X86_EXIT_HLT, in->pc);
		f->ended = true;
		return true;
	default:
		if (in->opcode >= 0x70 && in->opcode <= 0x7f) {
			translate_jcc(f, in->opcode & 15, target);
			return true;
		}
		return false;
	}
}

static bool translate_primary_misc(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	uint8_t op = in->opcode;
	unsigned size = opsize_byte(f);
	ir_temp v, a;

	if (op >= 0x50 && op <= 0x57) {
		translate_push_value(f, fe_get_gpr(f, in->rm, stack_size(f)));
		return true;
	}
	if (op >= 0x58 && op <= 0x5f) {
		unsigned ss = stack_size(f);

		v = translate_pop_value(f, ss);
		fe_set_gpr(f, in->rm, ss, v);
		return true;
	}
	if (op >= 0x91 && op <= 0x97) {
		v = fe_get_gpr(f, in->rm, in->opsize);
		a = fe_get_gpr(f, X86_RAX, in->opsize);
		fe_set_gpr(f, X86_RAX, in->opsize, v);
		fe_set_gpr(f, in->rm, in->opsize, a);
		return true;
	}
	if (op >= 0xb0 && op <= 0xb7) {
		fe_set_gpr(f, in->rm, 1, fe_const(f, in->imm & 0xff));
		return true;
	}
	if (op >= 0xb8 && op <= 0xbf) {
		fe_set_gpr(f, in->rm, in->opsize,
			   fe_zext(f, fe_const(f, in->imm), in->opsize));
		return true;
	}
	if (op >= 0xa4 && op <= 0xaf && op != 0xa8 && op != 0xa9) {
		translate_string(f);
		return true;
	}
	switch (op) {
	case 0x90:
		if (in->rex & 1) {	/* xchg r8, rax */
			v = fe_get_gpr(f, in->rm, in->opsize);
			a = fe_get_gpr(f, X86_RAX, in->opsize);
			fe_set_gpr(f, X86_RAX, in->opsize, v);
			fe_set_gpr(f, in->rm, in->opsize, a);
		}
		return true;
	case 0x68: case 0x6a:
		translate_push_value(f, fe_const(f, in->imm));
		return true;
	case 0x69: case 0x6b:
		translate_imul(f, in->opsize, fe_read_rm(f, in->opsize, NULL),
			       imm_of(f, in->opsize));
		return true;
	case 0x84: case 0x85: {
		ir_temp r = ir_and(b, fe_read_rm(f, size, NULL),
				   fe_read_reg(f, size));

		fe_set_cc(f, CC_LOGIC, size, r, IR_NO_TEMP, IR_NO_TEMP);
		return true;
	}
	case 0xa8: case 0xa9:
		v = ir_and(b, fe_get_gpr(f, X86_RAX, size), imm_of(f, size));
		fe_set_cc(f, CC_LOGIC, size, v, IR_NO_TEMP, IR_NO_TEMP);
		return true;
	case 0x8f:
		if ((in->reg & 7) != 0)
			return false;
		/* pop r/m: rsp is incremented before the address is formed */
		v = translate_pop_value(f, stack_size(f));
		fe_write_rm(f, stack_size(f), IR_NO_TEMP, v);
		return true;
	case 0x98: case 0x99:
		translate_cwd(f);
		return true;
	case 0x9c:
		v = ir_call(b, (const void *)x86_helper_get_rflags,
			    IR_HELPER_READS_ENV, 0, NULL);
		translate_push_value(f, v);
		return true;
	case 0x9d:
		v = translate_pop_value(f, stack_size(f));
		ir_call(b, (const void *)x86_helper_set_rflags,
			IR_HELPER_WRITES_ENV, 1, &v);
		fe_forget_cc(f);
		return true;
	case 0x9e: case 0x9f: case 0xf5: case 0xf8: case 0xf9: case 0xfc:
	case 0xfd:
		translate_flag_ops(f);
		return true;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
		ir_temp addr = fe_const(f, in->imm);

		if (in->seg == X86_SEG_FS)
			addr = ir_add(b, addr, ir_get(b, X86_ENV_OFF(fs_base)));
		else if (in->seg == X86_SEG_GS)
			addr = ir_add(b, addr, ir_get(b, X86_ENV_OFF(gs_base)));
		if (op < 0xa2)
			fe_set_gpr(f, X86_RAX, size, ir_load(b, addr, size));
		else
			ir_store(b, addr, fe_get_gpr(f, X86_RAX, size), size);
		return true;
	}
	default:
		return false;
	}
}

bool x86_translate_primary(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	uint8_t op = in->opcode;
	unsigned size = opsize_byte(f);

	if (op < 0x40 && (op & 7) < 6) {
		translate_alu(f);
		return true;
	}
	switch (op) {
	case 0x80: case 0x81: case 0x83: {
		ir_temp b = fe_zext(f, fe_const(f, in->imm), size);

		alu_to_rm(f, in->reg & 7, size, b);
		return true;
	}
	case 0xc0: case 0xc1:
		translate_shift(f, size, (int)(in->imm & 0xff));
		return true;
	case 0xd0: case 0xd1:
		translate_shift(f, size, 1);
		return true;
	case 0xd2: case 0xd3:
		translate_shift(f, size, -1);
		return true;
	case 0xf6: case 0xf7:
		translate_group3(f, size);
		return true;
	case 0xfe:
		if ((in->reg & 7) > 1)
			return false;
		translate_incdec(f, 1, (in->reg & 7) == 1);
		return true;
	case 0xff:
		return translate_group5(f);
	case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd:
	case 0xde: case 0xdf:
	case 0x9b:	/* fwait */
		return x86_translate_x87(f);
	default:
		break;
	}
	if (translate_mov_group(f))
		return true;
	if (translate_control(f))
		return true;
	return translate_primary_misc(f);
}

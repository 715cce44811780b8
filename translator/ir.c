/* IR builders with constant folding, and block-level passes. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "translator/ir.h"

#define ENV_SLOTS 1024	/* guest state reachable by IR_GET/IR_SET, /8 */

void ir_init(struct ir_block *blk, uint64_t guest_pc)
{
	blk->guest_pc = guest_pc;
	blk->guest_end = guest_pc;
	blk->n_ops = 0;
	blk->n_temps = 0;
	blk->n_insns = 0;
	blk->full = false;
}

bool ir_nearly_full(const struct ir_block *blk, unsigned slack)
{
	return blk->full || blk->n_ops + slack >= IR_MAX_OPS ||
	       blk->n_temps + slack >= IR_MAX_TEMPS;
}

static struct ir_op *emit(struct ir_block *blk, enum ir_opcode opc)
{
	static struct ir_op overflow;
	struct ir_op *op;

	if (blk->n_ops >= IR_MAX_OPS) {
		/* The frontend checks ir_nearly_full() between instructions
		 * with generous slack; landing here is a frontend bug. */
		blk->full = true;
		memset(&overflow, 0, sizeof(overflow));
		return &overflow;
	}
	op = &blk->ops[blk->n_ops++];
	memset(op, 0, sizeof(*op));
	op->opc = opc;
	op->dst = op->a = op->b = op->c = IR_NO_TEMP;
	return op;
}

static ir_temp new_temp(struct ir_block *blk)
{
	if (blk->n_temps >= IR_MAX_TEMPS) {
		blk->full = true;
		return 0;
	}
	blk->is_const[blk->n_temps] = false;
	blk->zbits[blk->n_temps] = 64;
	blk->def[blk->n_temps] = IR_MAX_OPS;
	return blk->n_temps++;
}

/* A new temp defined by OP (the op just emitted). */
static ir_temp def_temp(struct ir_block *blk, struct ir_op *op)
{
	op->dst = new_temp(blk);
	if (!blk->full)
		blk->def[op->dst] = (uint16_t)(op - blk->ops);
	return op->dst;
}

static const struct ir_op *def_of(const struct ir_block *blk, ir_temp t)
{
	return blk->def[t] < IR_MAX_OPS ? &blk->ops[blk->def[t]] : NULL;
}

/* Bits of T above the result are known to be zero. */
static unsigned value_bits(const struct ir_block *blk, ir_temp t)
{
	int64_t v;

	if (ir_is_const(blk, t, &v))
		return v ? 64 - (unsigned)__builtin_clzll((uint64_t)v) : 0;
	return blk->zbits[t];
}

/* The upper 32 bits of T are known to be zero. */
static bool is_clean32(const struct ir_block *blk, ir_temp t)
{
	return value_bits(blk, t) <= 32;
}

/* A temp with the same low 32 bits as T, looking through zero
 * extensions (an IR_W32 operand needs no extension of its own). */
static ir_temp low32_source(const struct ir_block *blk, ir_temp t)
{
	const struct ir_op *d = def_of(blk, t);

	while (d && d->opc == IR_ZEXT32 && d->dst == t) {
		t = d->a;
		d = def_of(blk, t);
	}
	return t;
}

ir_temp ir_const(struct ir_block *blk, int64_t v)
{
	struct ir_op *op = emit(blk, IR_CONST);

	def_temp(blk, op);
	op->imm = v;
	blk->is_const[op->dst] = true;
	blk->const_val[op->dst] = v;
	return op->dst;
}

ir_temp ir_get(struct ir_block *blk, unsigned env_off)
{
	struct ir_op *op = emit(blk, IR_GET);

	def_temp(blk, op);
	op->imm = env_off;
	return op->dst;
}

void ir_set(struct ir_block *blk, unsigned env_off, ir_temp v)
{
	struct ir_op *op = emit(blk, IR_SET);

	op->a = v;
	op->imm = env_off;
}

static uint64_t fold_binop(enum ir_opcode opc, uint64_t a, uint64_t b)
{
	unsigned n = b & 63;

	switch (opc) {
	case IR_ADD: return a + b;
	case IR_SUB: return a - b;
	case IR_AND: return a & b;
	case IR_OR:  return a | b;
	case IR_XOR: return a ^ b;
	case IR_SHL: return a << n;
	case IR_SHR: return a >> n;
	case IR_SAR: return (uint64_t)((int64_t)a >> n);
	case IR_ROL: return n ? (a << n) | (a >> (64 - n)) : a;
	case IR_ROR: return n ? (a >> n) | (a << (64 - n)) : a;
	case IR_MUL: return a * b;
	default: return 0;
	}
}

static uint64_t fold_binop32(enum ir_opcode opc, uint32_t a, uint32_t b)
{
	unsigned n = b & 31;

	switch (opc) {
	case IR_SAR: return (uint32_t)((int32_t)a >> n);
	case IR_ROL: return n ? (uint32_t)(a << n | a >> (32 - n)) : a;
	case IR_ROR: return n ? (uint32_t)(a >> n | a << (32 - n)) : a;
	default:
		return (uint32_t)fold_binop(opc, a, opc >= IR_SHL &&
					    opc <= IR_ROR ? n : b);
	}
}

static bool commutative(enum ir_opcode opc)
{
	return opc == IR_ADD || opc == IR_AND || opc == IR_OR ||
	       opc == IR_XOR || opc == IR_MUL;
}

static ir_temp new_binop(struct ir_block *blk, enum ir_opcode opc, ir_temp a,
			 ir_temp b, uint8_t aux)
{
	struct ir_op *op;

	/* Keep a constant second: the backend encodes it as an immediate. */
	if (ir_is_const(blk, a, NULL) && commutative(opc)) {
		ir_temp t = a;
		a = b;
		b = t;
	}
	op = emit(blk, opc);
	op->aux = aux;
	op->a = a;
	op->b = b;
	def_temp(blk, op);
	blk->zbits[op->dst] = aux == IR_W32 ? 32 : 64;
	if (opc == IR_AND) {
		unsigned na = value_bits(blk, a), nb = value_bits(blk, b);

		if (nb < na)
			na = nb;
		if (na < blk->zbits[op->dst])
			blk->zbits[op->dst] = (uint8_t)na;
	}
	return op->dst;
}

ir_temp ir_binop32(struct ir_block *blk, enum ir_opcode opc, ir_temp a,
		   ir_temp b)
{
	int64_t va = 0, vb = 0;
	bool ca, cb;

	a = low32_source(blk, a);
	b = low32_source(blk, b);
	ca = ir_is_const(blk, a, &va);
	cb = ir_is_const(blk, b, &vb);
	if (ca && cb)
		return ir_const(blk, (int64_t)fold_binop32(opc, (uint32_t)va,
							   (uint32_t)vb));
	if (a == b && (opc == IR_XOR || opc == IR_SUB))
		return ir_const(blk, 0);
	if ((a == b && (opc == IR_AND || opc == IR_OR)) ||
	    (cb && (uint32_t)vb == 0 && opc != IR_AND && opc != IR_MUL) ||
	    (cb && (uint32_t)vb == 0xffffffffu && opc == IR_AND) ||
	    (cb && (vb & 31) == 0 && opc >= IR_SHL && opc <= IR_ROR))
		return ir_unop(blk, IR_ZEXT32, a);
	if (cb && (uint32_t)vb == 0 && (opc == IR_AND || opc == IR_MUL))
		return ir_const(blk, 0);
	return new_binop(blk, opc, a, b, IR_W32);
}

ir_temp ir_binop(struct ir_block *blk, enum ir_opcode opc, ir_temp a,
		 ir_temp b)
{
	int64_t va = 0, vb = 0;
	bool ca = ir_is_const(blk, a, &va), cb = ir_is_const(blk, b, &vb);

	if (ca && cb)
		return ir_const(blk, (int64_t)fold_binop(opc, va, vb));
	if (a == b && (opc == IR_XOR || opc == IR_SUB))
		return ir_const(blk, 0);
	if (a == b && (opc == IR_AND || opc == IR_OR))
		return a;
	if (cb && vb == 0 && (opc == IR_ADD || opc == IR_SUB || opc == IR_OR ||
			      opc == IR_XOR || opc == IR_SHL ||
			      opc == IR_SHR || opc == IR_SAR ||
			      opc == IR_ROL || opc == IR_ROR))
		return a;
	if (ca && va == 0 && (opc == IR_ADD || opc == IR_OR || opc == IR_XOR))
		return b;
	if (cb && vb == -1 && opc == IR_AND)
		return a;
	if (ca && va == -1 && opc == IR_AND)
		return b;
	if (((cb && vb == 0) || (ca && va == 0)) &&
	    (opc == IR_AND || opc == IR_MUL))
		return ir_const(blk, 0);
	/* Same result as the 32-bit form when the upper halves are zero. */
	if ((opc == IR_AND && (is_clean32(blk, a) || is_clean32(blk, b))) ||
	    ((opc == IR_OR || opc == IR_XOR) && is_clean32(blk, a) &&
	     is_clean32(blk, b)) ||
	    ((opc == IR_SHR) && is_clean32(blk, a) && cb && (vb & 63) < 32))
		return ir_binop32(blk, opc, a, b);
	return new_binop(blk, opc, a, b, 0);
}

static uint64_t fold_unop(enum ir_opcode opc, uint64_t a)
{
	switch (opc) {
	case IR_MOV: return a;
	case IR_NEG: return -a;
	case IR_NOT: return ~a;
	case IR_ZEXT8: return (uint8_t)a;
	case IR_ZEXT16: return (uint16_t)a;
	case IR_ZEXT32: return (uint32_t)a;
	case IR_SEXT8: return (uint64_t)(int64_t)(int8_t)a;
	case IR_SEXT16: return (uint64_t)(int64_t)(int16_t)a;
	case IR_SEXT32: return (uint64_t)(int64_t)(int32_t)a;
	default: return 0;
	}
}

ir_temp ir_unop(struct ir_block *blk, enum ir_opcode opc, ir_temp a)
{
	int64_t va = 0;
	struct ir_op *op;

	const struct ir_op *d = def_of(blk, a);

	if (ir_is_const(blk, a, &va))
		return ir_const(blk, (int64_t)fold_unop(opc, va));
	if (opc == IR_MOV)
		return a;
	if ((opc == IR_ZEXT32 && value_bits(blk, a) <= 32) ||
	    (opc == IR_ZEXT16 && value_bits(blk, a) <= 16) ||
	    (opc == IR_ZEXT8 && value_bits(blk, a) <= 8))
		return a;
	/* zext32(a op b) is the 32-bit op when the low half of the result
	 * depends only on the low halves of the operands (for a shift: and
	 * the count is below 32, the 32-bit op masks it with 31). */
	if (opc == IR_ZEXT32 && d && d->dst == a && d->aux == 0 &&
	    (d->opc == IR_ADD || d->opc == IR_SUB || d->opc == IR_AND ||
	     d->opc == IR_OR || d->opc == IR_XOR || d->opc == IR_MUL ||
	     (d->opc == IR_SHL && value_bits(blk, d->b) <= 5)))
		return ir_binop32(blk, d->opc, d->a, d->b);
	if (opc == IR_ZEXT32 && d && d->dst == a && d->aux == 0 &&
	    (d->opc == IR_NEG || d->opc == IR_NOT)) {
		opc = d->opc;
		a = low32_source(blk, d->a);
		op = emit(blk, opc);
		op->aux = IR_W32;
		op->a = a;
		def_temp(blk, op);
		blk->zbits[op->dst] = 32;
		return op->dst;
	}
	op = emit(blk, opc);
	op->a = a;
	def_temp(blk, op);
	if (opc == IR_ZEXT8 || opc == IR_ZEXT16 || opc == IR_ZEXT32)
		blk->zbits[op->dst] = opc == IR_ZEXT8 ? 8 :
				      opc == IR_ZEXT16 ? 16 : 32;
	return op->dst;
}

ir_temp ir_bswap(struct ir_block *blk, ir_temp a, unsigned size)
{
	int64_t va = 0;
	struct ir_op *op;

	if (size == 4)
		a = low32_source(blk, a);
	if (ir_is_const(blk, a, &va))
		return ir_const(blk, size == 8 ?
				(int64_t)__builtin_bswap64((uint64_t)va) :
				(int64_t)__builtin_bswap32((uint32_t)va));
	op = emit(blk, IR_BSWAP);
	op->aux = (uint8_t)size;
	op->a = a;
	def_temp(blk, op);
	blk->zbits[op->dst] = size == 4 ? 32 : 64;
	return op->dst;
}

static bool fold_cond(enum ir_cond cond, uint64_t a, uint64_t b)
{
	switch (cond) {
	case IR_EQ: return a == b;
	case IR_NE: return a != b;
	case IR_LTU: return a < b;
	case IR_LEU: return a <= b;
	case IR_GTU: return a > b;
	case IR_GEU: return a >= b;
	case IR_LT: return (int64_t)a < (int64_t)b;
	case IR_LE: return (int64_t)a <= (int64_t)b;
	case IR_GT: return (int64_t)a > (int64_t)b;
	case IR_GE: return (int64_t)a >= (int64_t)b;
	}
	return false;
}

ir_temp ir_setcc(struct ir_block *blk, enum ir_cond cond, ir_temp a,
		 ir_temp b)
{
	int64_t va = 0, vb = 0;
	struct ir_op *op;

	if (ir_is_const(blk, a, &va) && ir_is_const(blk, b, &vb))
		return ir_const(blk, fold_cond(cond, va, vb));
	op = emit(blk, IR_SETCC);
	op->aux = cond;
	op->a = a;
	op->b = b;
	def_temp(blk, op);
	blk->zbits[op->dst] = 1;
	return op->dst;
}

ir_temp ir_select(struct ir_block *blk, ir_temp c, ir_temp a, ir_temp b)
{
	int64_t vc = 0;
	struct ir_op *op;

	if (ir_is_const(blk, c, &vc))
		return vc ? a : b;
	if (a == b)
		return a;
	op = emit(blk, IR_SELECT);
	op->c = c;
	op->a = a;
	op->b = b;
	def_temp(blk, op);
	blk->zbits[op->dst] = (uint8_t)(value_bits(blk, a) > value_bits(blk, b) ?
					value_bits(blk, a) :
					value_bits(blk, b));
	return op->dst;
}

ir_temp ir_load(struct ir_block *blk, ir_temp addr, unsigned size)
{
	struct ir_op *op = emit(blk, IR_LOAD);

	op->a = addr;
	op->aux = size;
	def_temp(blk, op);
	blk->zbits[op->dst] = (uint8_t)(8 * size);
	return op->dst;
}

void ir_store(struct ir_block *blk, ir_temp addr, ir_temp v, unsigned size)
{
	struct ir_op *op = emit(blk, IR_STORE);

	op->a = addr;
	op->b = v;
	op->aux = size;
}

ir_temp ir_call(struct ir_block *blk, const void *helper, unsigned flags,
		unsigned nargs, const ir_temp *args)
{
	struct ir_op *op = emit(blk, IR_CALL);

	if (nargs > IR_MAX_ARGS)
		fatalx("helper with %u arguments", nargs);
	op->helper = helper;
	op->helper_flags = flags;
	op->aux = nargs;
	for (unsigned i = 0; i < nargs; i++)
		op->args[i] = args[i];
	def_temp(blk, op);
	return op->dst;
}

static struct ir_op *emit_vec(struct ir_block *blk, enum ir_vec_kind kind,
			      unsigned d_off, unsigned s_off, uint32_t enc)
{
	struct ir_op *op = emit(blk, IR_VEC);

	op->aux = (uint8_t)kind;
	op->helper_flags = IR_HELPER_VECTOR;
	op->imm = (int64_t)((uint64_t)d_off | (uint64_t)s_off << 16 |
			    (uint64_t)enc << 32);
	return op;
}

ir_temp ir_vec(struct ir_block *blk, enum ir_vec_kind kind, unsigned d_off,
	       unsigned s_off, uint32_t enc)
{
	return def_temp(blk, emit_vec(blk, kind, d_off, s_off, enc));
}

void ir_vec_from_gpr(struct ir_block *blk, unsigned d_off, ir_temp v,
		     uint32_t enc)
{
	emit_vec(blk, IR_VEC_FROM_GPR, d_off, 0, enc)->b = v;
}

void ir_vec_mem(struct ir_block *blk, enum ir_vec_kind kind, ir_temp addr,
		unsigned d_off)
{
	struct ir_op *op = emit_vec(blk, kind, d_off, 0, 0);

	op->helper_flags = IR_HELPER_VECTOR | IR_HELPER_MEMORY;
	op->a = addr;
}

void ir_insn_start(struct ir_block *blk, uint64_t guest_pc)
{
	struct ir_op *op = emit(blk, IR_INSN_START);

	op->imm = (int64_t)guest_pc;
	blk->n_insns++;
}

void ir_brcond(struct ir_block *blk, ir_temp c, uint64_t target)
{
	struct ir_op *op = emit(blk, IR_BRCOND);

	op->a = c;
	op->imm = (int64_t)target;
}

void ir_exit(struct ir_block *blk, uint64_t target)
{
	struct ir_op *op = emit(blk, IR_EXIT);

	op->imm = (int64_t)target;
}

void ir_exit_indirect(struct ir_block *blk, ir_temp target)
{
	struct ir_op *op = emit(blk, IR_EXIT_INDIRECT);

	op->a = target;
}

void ir_exit_special(struct ir_block *blk, unsigned reason, uint64_t pc)
{
	struct ir_op *op = emit(blk, IR_EXIT_SPECIAL);

	op->aux = reason;
	op->imm = (int64_t)pc;
}

static void rename_operands(struct ir_op *op, const ir_temp *rename)
{
	if (op->a != IR_NO_TEMP)
		op->a = rename[op->a];
	if (op->b != IR_NO_TEMP)
		op->b = rename[op->b];
	if (op->c != IR_NO_TEMP)
		op->c = rename[op->c];
	if (op->opc == IR_CALL)
		for (unsigned i = 0; i < op->aux; i++)
			op->args[i] = rename[op->args[i]];
}

/* "Forget every slot" happens at every barrier: instead of clearing
 * per-slot arrays, slots carry the epoch they were set in and a new
 * epoch forgets them all.  Slots below IR_VECTOR_STATE_OFF / 8 and the
 * vector state have separate epochs (vector helpers forget only the
 * latter). */
struct epochs {
	uint32_t counter;
	uint32_t stamp[ENV_SLOTS];	/* 0: never valid */
};

static uint32_t new_epoch(struct epochs *e)
{
	if (++e->counter == 0) {	/* wrapped: old stamps are ambiguous */
		memset(e->stamp, 0, sizeof(e->stamp));
		e->counter = 1;
	}
	return e->counter;
}

/* Replace IR_GET of a slot whose value is already known in a temp. */
static void forward_gets(struct ir_block *blk)
{
	static ir_temp known[ENV_SLOTS];
	static struct epochs known_ep;
	uint32_t *known_epoch = known_ep.stamp;
	static ir_temp rename[IR_MAX_TEMPS];
	const unsigned vec = IR_VECTOR_STATE_OFF / 8;
	uint32_t ep_gpr, ep_vec;

	ep_gpr = new_epoch(&known_ep);
	ep_vec = new_epoch(&known_ep);
	for (unsigned i = 0; i < blk->n_temps; i++)
		rename[i] = i;
	for (unsigned i = 0; i < blk->n_ops; i++) {
		struct ir_op *op = &blk->ops[i];
		unsigned slot = (unsigned)op->imm / 8;
		uint32_t ep = slot < vec ? ep_gpr : ep_vec;

		rename_operands(op, rename);
		switch (op->opc) {
		case IR_ZEXT8: case IR_ZEXT16: case IR_ZEXT32:
			/* The GET it extended became a narrow value. */
			if (value_bits(blk, op->a) <=
			    (op->opc == IR_ZEXT8 ? 8u :
			     op->opc == IR_ZEXT16 ? 16u : 32u)) {
				rename[op->dst] = op->a;
				op->opc = IR_NOP;
			}
			break;
		case IR_GET:
			if (slot < ENV_SLOTS && known_epoch[slot] == ep) {
				rename[op->dst] = known[slot];
				op->opc = IR_NOP;
			} else if (slot < ENV_SLOTS) {
				known[slot] = op->dst;
				known_epoch[slot] = ep;
			}
			break;
		case IR_SET:
			if (slot < ENV_SLOTS) {
				known[slot] = op->a;
				known_epoch[slot] = ep;
			}
			break;
		case IR_CALL:
			if (op->helper_flags & IR_HELPER_WRITES_ENV) {
				ep_gpr = new_epoch(&known_ep);
				ep_vec = new_epoch(&known_ep);
			} else if (op->helper_flags & IR_HELPER_VECTOR) {
				ep_vec = new_epoch(&known_ep);
			}
			break;
		case IR_VEC:
			ep_vec = new_epoch(&known_ep);
			break;
		default:
			break;
		}
	}
}

static bool is_barrier(const struct ir_op *op)
{
	switch (op->opc) {
	case IR_LOAD: case IR_STORE: case IR_BRCOND: case IR_EXIT:
	case IR_EXIT_INDIRECT: case IR_EXIT_SPECIAL: case IR_VEC:
		return true;
	case IR_CALL:
		return op->helper_flags != IR_HELPER_PURE;
	default:
		return false;
	}
}

static bool has_side_effect(const struct ir_op *op)
{
	switch (op->opc) {
	case IR_CALL:
		return op->helper_flags != IR_HELPER_PURE;
	case IR_SET: case IR_LOAD: case IR_STORE: case IR_VEC:
	case IR_INSN_START: case IR_BRCOND: case IR_EXIT:
	case IR_EXIT_INDIRECT: case IR_EXIT_SPECIAL:
		return true;
	default:
		return false;
	}
}

/* Backwards: drop IR_SETs that a later IR_SET overwrites before anything
 * observes the slot, then ops whose result nobody uses. */
static void eliminate_dead(struct ir_block *blk)
{
	static struct epochs overwritten;
	static bool used[IR_MAX_TEMPS];
	uint32_t *overwritten_epoch = overwritten.stamp;
	uint32_t ep = new_epoch(&overwritten);

	memset(used, 0, sizeof(bool) * blk->n_temps);
	for (unsigned i = blk->n_ops; i-- > 0;) {
		struct ir_op *op = &blk->ops[i];
		unsigned slot = (unsigned)op->imm / 8;

		if (op->opc == IR_SET && slot < ENV_SLOTS) {
			if (overwritten_epoch[slot] == ep) {
				op->opc = IR_NOP;
				continue;
			}
			overwritten_epoch[slot] = ep;
		} else if (op->opc == IR_GET && slot < ENV_SLOTS) {
			overwritten_epoch[slot] = 0;
		} else if (is_barrier(op)) {
			ep = new_epoch(&overwritten);
		}
		if (!has_side_effect(op) && op->opc != IR_NOP &&
		    (op->dst == IR_NO_TEMP || !used[op->dst])) {
			op->opc = IR_NOP;
			continue;
		}
		if (op->a != IR_NO_TEMP)
			used[op->a] = true;
		if (op->b != IR_NO_TEMP)
			used[op->b] = true;
		if (op->c != IR_NO_TEMP)
			used[op->c] = true;
		if (op->opc == IR_CALL)
			for (unsigned k = 0; k < op->aux; k++)
				used[op->args[k]] = true;
	}
}

void ir_optimize(struct ir_block *blk)
{
	forward_gets(blk);
	eliminate_dead(blk);
}

static const char *const opcode_names[IR_NUM_OPCODES] = {
	[IR_NOP] = "nop", [IR_CONST] = "const", [IR_GET] = "get",
	[IR_SET] = "set", [IR_MOV] = "mov", [IR_ADD] = "add",
	[IR_SUB] = "sub", [IR_AND] = "and", [IR_OR] = "or", [IR_XOR] = "xor",
	[IR_SHL] = "shl", [IR_SHR] = "shr", [IR_SAR] = "sar",
	[IR_ROL] = "rol", [IR_ROR] = "ror", [IR_MUL] = "mul",
	[IR_NEG] = "neg", [IR_NOT] = "not", [IR_BSWAP] = "bswap",
	[IR_ZEXT8] = "zext8",
	[IR_ZEXT16] = "zext16", [IR_ZEXT32] = "zext32",
	[IR_SEXT8] = "sext8", [IR_SEXT16] = "sext16", [IR_SEXT32] = "sext32",
	[IR_SETCC] = "setcc", [IR_SELECT] = "select", [IR_LOAD] = "load",
	[IR_STORE] = "store", [IR_CALL] = "call",
	[IR_INSN_START] = "insn", [IR_BRCOND] = "brcond",
	[IR_EXIT] = "exit", [IR_EXIT_INDIRECT] = "exit_indirect",
	[IR_EXIT_SPECIAL] = "exit_special", [IR_VEC] = "vec",
};

void ir_dump(const struct ir_block *blk)
{
	fprintf(stderr, "block %#llx (%u ops, %u temps)\n",
		(unsigned long long)blk->guest_pc, blk->n_ops, blk->n_temps);
	for (unsigned i = 0; i < blk->n_ops; i++) {
		const struct ir_op *op = &blk->ops[i];

		if (op->opc == IR_NOP)
			continue;
		fprintf(stderr, "  %-13s", opcode_names[op->opc]);
		if (op->dst != IR_NO_TEMP)
			fprintf(stderr, " t%u =", op->dst);
		if (op->a != IR_NO_TEMP)
			fprintf(stderr, " t%u", op->a);
		if (op->b != IR_NO_TEMP)
			fprintf(stderr, " t%u", op->b);
		if (op->c != IR_NO_TEMP)
			fprintf(stderr, " t%u", op->c);
		fprintf(stderr, " imm=%#llx aux=%u\n",
			(unsigned long long)op->imm, op->aux);
	}
}

/* Locked read-modify-write instructions (LOCK prefix, XCHG with memory)
 * as real host atomics, so guest threads running on host threads see the
 * same atomicity as on hardware.  Frontend part and helper.
 */
#include <stdbool.h>
#include <string.h>

#include "translator/x86/frontend_internal.h"
#include "translator/x86/helpers.h"

enum atomic_op {
	AT_ADD, AT_OR, AT_ADC, AT_SBB, AT_AND, AT_SUB, AT_XOR,	/* = ALU */
	AT_INC = 8, AT_DEC, AT_NOT, AT_NEG, AT_XADD, AT_XCHG, AT_CMPXCHG,
	AT_BTS, AT_BTR, AT_BTC, AT_CMPXCHG8B, AT_CMPXCHG16B,
};

static uint64_t mask_of(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static uint64_t load_atomic(void *p, unsigned size)
{
	switch (size) {
	case 1: return __atomic_load_n((uint8_t *)p, __ATOMIC_SEQ_CST);
	case 2: return __atomic_load_n((uint16_t *)p, __ATOMIC_SEQ_CST);
	case 4: return __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST);
	default: return __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
	}
}

/* Compare-and-swap; on failure *expected gets the current value. */
static bool cas(void *p, uint64_t *expected, uint64_t desired, unsigned size)
{
	bool ok;

	switch (size) {
	case 1: {
		uint8_t e = (uint8_t)*expected;

		ok = __atomic_compare_exchange_n((uint8_t *)p, &e,
						 (uint8_t)desired, false,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST);
		*expected = e;
		return ok;
	}
	case 2: {
		uint16_t e = (uint16_t)*expected;

		ok = __atomic_compare_exchange_n((uint16_t *)p, &e,
						 (uint16_t)desired, false,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST);
		*expected = e;
		return ok;
	}
	case 4: {
		uint32_t e = (uint32_t)*expected;

		ok = __atomic_compare_exchange_n((uint32_t *)p, &e,
						 (uint32_t)desired, false,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST);
		*expected = e;
		return ok;
	}
	default:
		return __atomic_compare_exchange_n((uint64_t *)p, expected,
						   desired, false,
						   __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
}

static void set_cc(struct x86_cpu *env, unsigned kind, unsigned size,
		   uint64_t dst, uint64_t src, uint64_t src2)
{
	env->cc_op = CC_OP(kind, size == 8 ? 3 : size == 4 ? 2 :
			   size == 2 ? 1 : 0);
	env->cc_dst = dst;
	env->cc_src = src;
	env->cc_src2 = src2;
}

static uint64_t old_cf(const struct x86_cpu *env)
{
	return x86_compute_eflags(env->cc_op, env->cc_dst, env->cc_src,
				  env->cc_src2) & X86_CF;
}

static void write_acc(struct x86_cpu *env, unsigned reg, unsigned size,
		      uint64_t v)
{
	uint64_t *r = &env->regs[reg];

	if (size >= 4)
		*r = v & mask_of(size);
	else
		*r = (*r & ~mask_of(size)) | (v & mask_of(size));
}

static uint64_t cmpxchg_wide(struct x86_cpu *env, void *p, bool is16)
{
	uint64_t *rax = &env->regs[X86_RAX], *rdx = &env->regs[X86_RDX];
	uint64_t f = x86_compute_eflags(env->cc_op, env->cc_dst, env->cc_src,
					env->cc_src2) & ~(uint64_t)X86_ZF;
	bool ok;

	if (is16) {
		uint64_t lo = *rax, hi = *rdx;

		__asm__ volatile("lock cmpxchg16b %2"
				 : "+a"(lo), "+d"(hi), "+m"(*(volatile __int128 *)p),
				   "=@ccz"(ok)
				 : "b"(env->regs[X86_RBX]), "c"(env->regs[X86_RCX])
				 : "memory");
		if (!ok) {
			*rax = lo;
			*rdx = hi;
		}
	} else {
		uint64_t exp = (uint32_t)*rax | *rdx << 32;
		uint64_t des = (uint32_t)env->regs[X86_RBX] |
			       env->regs[X86_RCX] << 32;

		ok = cas(p, &exp, des, 8);
		if (!ok) {
			*rax = (uint32_t)exp;
			*rdx = exp >> 32;
		}
	}
	env->cc_op = CC_OP(CC_EFLAGS, 3);
	env->cc_src = f | (ok ? X86_ZF : 0);
	return 0;
}

uint64_t x86_helper_atomic(struct x86_cpu *env, uint64_t desc, uint64_t addr,
			   uint64_t src)
{
	unsigned op = desc & 0xff, size = (desc >> 8) & 0xff;
	unsigned reg = (desc >> 16) & 0xff;
	void *p = x86_g2h(addr);
	uint64_t m = mask_of(size), old, nv = 0, c = 0, bit = 0;

	x86_helper_in_guest_memory = 1;
	if (op == AT_CMPXCHG8B || op == AT_CMPXCHG16B) {
		cmpxchg_wide(env, p, op == AT_CMPXCHG16B);
		x86_helper_in_guest_memory = 0;
		return 0;
	}
	src &= m;
	if (op == AT_CMPXCHG) {
		uint64_t acc = env->regs[X86_RAX] & m;

		old = acc;
		if (!cas(p, &old, src, size))
			write_acc(env, X86_RAX, size, old);
		set_cc(env, CC_SUB, size, (acc - old) & m, old, 0);
		x86_helper_in_guest_memory = 0;
		return 0;
	}
	if (op == AT_ADC || op == AT_SBB || op == AT_INC || op == AT_DEC)
		c = old_cf(env);
	if (op >= AT_BTS && op <= AT_BTC) {
		bit = src & (size * 8 - 1);
		/* Register bit offsets may select another word. */
		p = (uint8_t *)p + (int64_t)(desc >> 32) * (int64_t)size;
	}
	old = load_atomic(p, size);
	do {
		switch (op) {
		case AT_ADD: case AT_XADD: nv = old + src; break;
		case AT_OR: nv = old | src; break;
		case AT_ADC: nv = old + src + c; break;
		case AT_SBB: nv = old - src - c; break;
		case AT_AND: nv = old & src; break;
		case AT_SUB: nv = old - src; break;
		case AT_XOR: nv = old ^ src; break;
		case AT_INC: nv = old + 1; break;
		case AT_DEC: nv = old - 1; break;
		case AT_NOT: nv = ~old; break;
		case AT_NEG: nv = -old; break;
		case AT_XCHG: nv = src; break;
		case AT_BTS: nv = old | (1ull << bit); break;
		case AT_BTR: nv = old & ~(1ull << bit); break;
		default: nv = old ^ (1ull << bit); break;	/* btc */
		}
		nv &= m;
	} while (!cas(p, &old, nv, size));
	x86_helper_in_guest_memory = 0;

	switch (op) {
	case AT_ADD: case AT_XADD: set_cc(env, CC_ADD, size, nv, src, 0); break;
	case AT_ADC: set_cc(env, CC_ADC, size, nv, src, c); break;
	case AT_SBB: set_cc(env, CC_SBB, size, nv, src, c); break;
	case AT_SUB: set_cc(env, CC_SUB, size, nv, src, 0); break;
	case AT_OR: case AT_AND: case AT_XOR:
		set_cc(env, CC_LOGIC, size, nv, 0, 0);
		break;
	case AT_INC: set_cc(env, CC_INC, size, nv, 0, c); break;
	case AT_DEC: set_cc(env, CC_DEC, size, nv, 0, c); break;
	case AT_NEG: set_cc(env, CC_SUB, size, nv, old, 0); break;
	case AT_BTS: case AT_BTR: case AT_BTC: {
		uint64_t f = x86_compute_eflags(env->cc_op, env->cc_dst,
						env->cc_src, env->cc_src2);

		env->cc_op = CC_OP(CC_EFLAGS, 3);
		env->cc_src = (f & ~(uint64_t)X86_CF) | ((old >> bit) & 1);
		break;
	}
	default:	/* not, xchg: no flags */
		break;
	}
	(void)reg;
	return old;	/* XADD/XCHG: the frontend writes the register */
}

/* ---- frontend ---- */

static ir_temp call_atomic(struct fe *f, unsigned op, unsigned size,
			unsigned reg, int64_t word_off, ir_temp addr,
			ir_temp src)
{
	struct ir_block *b = f->blk;
	ir_temp args[3], r;

	ir_set(b, X86_ENV_OFF(rip), fe_const(f, (int64_t)f->insn->pc));
	args[0] = fe_const(f, (int64_t)((uint64_t)op | size << 8 | reg << 16 |
					(uint64_t)word_off << 32));
	args[1] = addr;
	args[2] = src;
	r = ir_call(b, (const void *)x86_helper_atomic,
		    IR_HELPER_READS_ENV | IR_HELPER_WRITES_ENV |
		    IR_HELPER_MEMORY, 3, args);
	fe_forget_cc(f);
	return r;
}

/* Handles locked forms (and xchg, cmpxchg8b/16b, atomic anyway); false
 * if this instruction is not one. */
bool x86_translate_atomic(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	uint8_t op = in->opcode;
	unsigned size = (op & 1) ? in->opsize : 1, r = in->reg & 7;
	ir_temp addr, src = IR_NO_TEMP;

	if (!in->has_modrm || in->mod == 3)
		return false;
	if (in->map == X86_MAP_PRIMARY && (op == 0x86 || op == 0x87)) {
		addr = fe_ea(f);
		fe_write_reg(f, size, call_atomic(f, AT_XCHG, size, in->reg, 0,
						  addr, fe_read_reg(f, size)));
		return true;
	}
	/* CMPXCHG8B/16B without LOCK: done atomically all the same. */
	if (!in->lock && !(in->map == X86_MAP_0F && op == 0xc7 && r == 1))
		return false;
	addr = fe_ea(f);
	if (in->map == X86_MAP_PRIMARY) {
		if (op < 0x40 && (op & 7) < 2 && ((op >> 3) & 7) != 7) {
			call_atomic(f, (op >> 3) & 7, size, 0, 0, addr,
				    fe_read_reg(f, size));
			return true;
		}
		if ((op == 0x80 || op == 0x81 || op == 0x83) && r != 7) {
			call_atomic(f, r, size, 0, 0, addr,
				    fe_const(f, in->imm));
			return true;
		}
		if ((op == 0xfe || op == 0xff) && r < 2) {
			call_atomic(f, AT_INC + r, size, 0, 0, addr,
				    fe_const(f, 0));
			return true;
		}
		if ((op == 0xf6 || op == 0xf7) && (r == 2 || r == 3)) {
			call_atomic(f, r == 2 ? AT_NOT : AT_NEG, size, 0, 0,
				    addr, fe_const(f, 0));
			return true;
		}
		return false;
	}
	if (in->map != X86_MAP_0F)
		return false;
	size = in->opsize;
	switch (op) {
	case 0xc0: case 0xc1:
		size = op & 1 ? in->opsize : 1;
		src = fe_read_reg(f, size);
		fe_write_reg(f, size, call_atomic(f, AT_XADD, size, in->reg,
						  0, addr, src));
		return true;
	case 0xb0: case 0xb1:
		size = op & 1 ? in->opsize : 1;
		src = fe_read_reg(f, size);
		call_atomic(f, AT_CMPXCHG, size, 0, 0, addr, src);
		return true;
	case 0xc7:
		if (r != 1)
			return false;
		call_atomic(f, in->rex_w ? AT_CMPXCHG16B : AT_CMPXCHG8B, 8, 0,
			    0, addr, fe_const(f, 0));
		return true;
	case 0xab: case 0xb3: case 0xbb: {
		/* Bit offset from a register: split into word and bit. */
		ir_temp off = fe_read_reg(f, size);
		ir_temp words = ir_sar(f->blk, fe_sext(f, off, size),
				       fe_const(f, size_log2(size * 8)));

		addr = ir_add(f->blk, addr, ir_shl(f->blk, words,
				fe_const(f, size_log2(size))));
		call_atomic(f, op == 0xab ? AT_BTS : op == 0xb3 ? AT_BTR :
			    AT_BTC, size, 0, 0, addr, off);
		return true;
	}
	case 0xba:
		if (r < 5)
			return false;
		call_atomic(f, AT_BTS + (r - 5), size, 0, 0, addr,
			    fe_const(f, in->imm & 0xff));
		return true;
	default:
		return false;
	}
}

/* Lazy condition flags: rebuild EFLAGS from (cc_op, dst, src, src2).
 *
 * Operands are stored truncated to the operation width.  Formulas follow
 * the flag definitions of each instruction in the Intel SDM vol. 2.
 */
#include "translator/x86/cpu.h"

static uint64_t parity_flag(uint64_t v)
{
	return __builtin_parity((unsigned)(v & 0xff)) ? 0 : X86_PF;
}

uint64_t x86_compute_eflags(uint64_t cc_op, uint64_t dst, uint64_t src,
			    uint64_t src2)
{
	unsigned bits = 8u << CC_SIZE_LOG2(cc_op);
	uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	uint64_t sign = 1ull << (bits - 1);
	uint64_t a, f = 0;
	int cf = 0, of = 0;

	if (CC_ROT(cc_op)) {
		unsigned rbits = 8u << CC_ROT_SIZE_LOG2(cc_op);
		unsigned msb = (src2 >> (rbits - 1)) & 1;

		if (CC_ROT(cc_op) == CC_ROT_L) {
			cf = src2 & 1;
			of = msb ^ cf;
		} else {
			cf = msb;
			of = msb ^ ((src2 >> (rbits - 2)) & 1);
		}
		f = x86_compute_eflags(cc_op & 0xff, dst, src, 0);
		return (f & ~(uint64_t)(X86_CF | X86_OF)) |
		       (cf ? X86_CF : 0) | (of ? X86_OF : 0);
	}
	dst &= mask;
	src &= mask;
	switch (CC_KIND(cc_op)) {
	case CC_EFLAGS:
		return src & X86_ARITH_FLAGS;
	case CC_ADD:
		a = (dst - src) & mask;
		cf = dst < src;
		of = !!(((a ^ dst) & (src ^ dst)) & sign);
		f |= (a ^ src ^ dst) & X86_AF;
		break;
	case CC_ADC:
		a = (dst - src - (src2 & 1)) & mask;
		cf = (src2 & 1) ? dst <= src : dst < src;
		of = !!(((a ^ dst) & (src ^ dst)) & sign);
		f |= (a ^ src ^ dst) & X86_AF;
		break;
	case CC_SUB:
		a = (dst + src) & mask;
		cf = a < src;
		of = !!(((a ^ src) & (a ^ dst)) & sign);
		f |= (a ^ src ^ dst) & X86_AF;
		break;
	case CC_SBB:
		a = (dst + src + (src2 & 1)) & mask;
		cf = (src2 & 1) ? a <= src : a < src;
		of = !!(((a ^ src) & (a ^ dst)) & sign);
		f |= (a ^ src ^ dst) & X86_AF;
		break;
	case CC_CMP:
		a = (dst - src) & mask;
		cf = dst < src;
		of = !!(((dst ^ src) & (dst ^ a)) & sign);
		f |= (a ^ src ^ dst) & X86_AF;
		dst = a;
		break;
	case CC_LOGIC:
		break;
	case CC_INC:
		cf = src2 & 1;
		of = dst == sign;
		f |= (dst ^ (dst - 1)) & X86_AF;
		break;
	case CC_DEC:
		cf = src2 & 1;
		of = dst == sign - 1;
		f |= (dst ^ (dst + 1)) & X86_AF;
		break;
	case CC_SHL:
		/* src = operand shifted by count - 1. */
		cf = !!(src & sign);
		of = cf ^ !!(dst & sign);
		break;
	case CC_SHR:
		/* src = operand shifted by count - 1; src2 = original. */
		cf = src & 1;
		of = !!(src2 & sign);
		break;
	case CC_SAR:
		cf = src & 1;
		break;
	case CC_MUL:
		/* src != 0 when the high half is significant. */
		cf = of = src != 0;
		break;
	default:
		break;
	}
	f |= cf ? X86_CF : 0;
	f |= of ? X86_OF : 0;
	f |= dst == 0 ? X86_ZF : 0;
	f |= dst & sign ? X86_SF : 0;
	f |= parity_flag(dst);
	return f;
}

uint64_t x86_cpu_get_rflags(const struct x86_cpu *cpu)
{
	uint64_t f = x86_compute_eflags(cpu->cc_op, cpu->cc_dst, cpu->cc_src,
					cpu->cc_src2);

	f |= 2 | 0x200 | cpu->eflags_extra;	/* IF is always set in user mode */
	if ((int64_t)cpu->df < 0)
		f |= X86_DF;
	return f;
}

void x86_cpu_set_rflags(struct x86_cpu *cpu, uint64_t rflags)
{
	cpu->cc_op = CC_OP(CC_EFLAGS, 3);
	cpu->cc_src = rflags & X86_ARITH_FLAGS;
	cpu->cc_dst = 0;
	cpu->cc_src2 = 0;
	cpu->df = rflags & X86_DF ? (uint64_t)-1 : 1;
	/* Keep ID and AC (software-settable, probed by CPUID detection). */
	cpu->eflags_extra = rflags & 0x240000;
}

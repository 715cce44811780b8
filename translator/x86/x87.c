/* x87 floating point: frontend (escape opcodes D8..DF -> IR) and the
 * helper that executes them on env->fpr with the host's 80-bit long
 * double arithmetic.
 *
 * As for SSE, memory operands travel through IR loads/stores and the
 * staging words env->fp_tmp, never through the helper.  The helper runs
 * with the guest's control word loaded in the host FPU (exceptions
 * masked), so precision and rounding control apply to the arithmetic
 * and the exception flags it raises reach the guest's status word.
 * Not modelled yet: unmasked exceptions (SIGFPE from x87), stack-fault
 * detection, BCD, the 16-bit fnstenv/fnsave formats.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "translator/x86/frontend_internal.h"
#include "translator/x86/helpers.h"
#include "translator/x86/x87.h"

#define C0 0x0100
#define C1 0x0200
#define C2 0x0400
#define C3 0x4000

#define KEY_MEM (1u << 16)

static long double *st(struct x86_cpu *env, unsigned i)
{
	return &env->fpr[(env->fp_top + i) & 7];
}

static void fpush(struct x86_cpu *env, long double v)
{
	env->fp_top = (env->fp_top - 1) & 7;
	env->fpr[env->fp_top] = v;
	env->fp_empty &= ~(1ull << env->fp_top);
}

static void fpop(struct x86_cpu *env)
{
	env->fp_empty |= 1ull << env->fp_top;
	env->fp_top = (env->fp_top + 1) & 7;
}

static long double arith(unsigned op, long double a, long double b)
{
	switch (op & 7) {
	case 0: return a + b;
	case 1: return a * b;
	case 4: return a - b;
	case 5: return b - a;
	case 6: return a / b;
	case 7: return b / a;
	default: return a;
	}
}

static void set_cc(struct x86_cpu *env, uint64_t bits)
{
	env->fsw = (env->fsw & ~(uint64_t)(C0 | C1 | C2 | C3)) | bits;
}

static void compare(struct x86_cpu *env, long double a, long double b)
{
	if (isnan(a) || isnan(b))
		set_cc(env, C0 | C2 | C3);
	else if (a < b)
		set_cc(env, C0);
	else if (a == b)
		set_cc(env, C3);
	else
		set_cc(env, 0);
}

static uint64_t compare_eflags(long double a, long double b)
{
	if (isnan(a) || isnan(b))
		return X86_ZF | X86_PF | X86_CF;
	return a < b ? X86_CF : a == b ? X86_ZF : 0;
}

static long double round_cw(const struct x86_cpu *env, long double v)
{
	switch ((env->fcw >> 10) & 3) {
	case 1: return floorl(v);
	case 2: return ceill(v);
	case 3: return truncl(v);
	default: return nearbyintl(v);
	}
}

/* FIST(T)P: V rounded by the control word (or truncated); out of range
 * or NaN is invalid (integer indefinite), a fraction is inexact. */
static int64_t to_int(struct x86_cpu *env, long double v, bool truncate,
		      unsigned bits)
{
	long double lim = ldexpl(1.0L, (int)bits - 1);
	long double r = truncate ? truncl(v) : round_cw(env, v);

	if (!(r >= -lim && r < lim)) {
		env->fsw |= 0x01;	/* IE */
		return (int64_t)(-1ull << (bits - 1));	/* integer indefinite */
	}
	if (r != v)
		env->fsw |= 0x20;	/* PE */
	return (int64_t)r;
}

static long double mem_operand(const struct x86_cpu *env, unsigned opc,
			       unsigned r)
{
	float f;
	double d;
	long double x = 0;

	switch (opc) {
	case 0xd8:
		memcpy(&f, env->fp_tmp, 4);
		return f;
	case 0xdc:
		memcpy(&d, env->fp_tmp, 8);
		return d;
	case 0xda:
		return (int32_t)env->fp_tmp[0];
	case 0xde:
		return (int16_t)env->fp_tmp[0];
	case 0xd9:
		memcpy(&f, env->fp_tmp, 4);
		return f;
	case 0xdd:
		memcpy(&d, env->fp_tmp, 8);
		return d;
	case 0xdb:
		if (r == 5) {
			memcpy(&x, env->fp_tmp, 10);
			return x;
		}
		return (int32_t)env->fp_tmp[0];
	default: /* df */
		if (r == 5)
			return (int64_t)env->fp_tmp[0];
		return (int16_t)env->fp_tmp[0];
	}
}

/* Stores: value to env->fp_tmp in the memory format. */
static void store_value(struct x86_cpu *env, unsigned opc, unsigned r)
{
	long double v = *st(env, 0);
	float f;
	double d;
	int64_t i;

	env->fp_tmp[0] = env->fp_tmp[1] = 0;
	switch (opc) {
	case 0xd9:
		if (r == 7) {
			env->fp_tmp[0] = env->fcw;
			return;
		}
		f = (float)v;
		memcpy(env->fp_tmp, &f, 4);
		break;
	case 0xdd:
		if (r == 7) {
			env->fp_tmp[0] = env->fsw | env->fp_top << 11;
			return;
		}
		if (r == 1) {
			env->fp_tmp[0] = (uint64_t)to_int(env, v, true, 64);
			break;
		}
		d = (double)v;
		memcpy(env->fp_tmp, &d, 8);
		break;
	case 0xdb:
		if (r == 7) {
			memcpy(env->fp_tmp, &v, 10);
			break;
		}
		i = to_int(env, v, r == 1, 32);
		env->fp_tmp[0] = (uint32_t)i;
		break;
	default: /* df */
		if (r == 7) {
			env->fp_tmp[0] = (uint64_t)to_int(env, v, false, 64);
			break;
		}
		i = to_int(env, v, r == 1, 16);
		env->fp_tmp[0] = (uint16_t)i;
		break;
	}
	if (r != 2)
		fpop(env);	/* fstp, fistp, fisttp */
}

static void exec_mem(struct x86_cpu *env, unsigned opc, unsigned r)
{
	long double m;

	if (opc == 0xd8 || opc == 0xda || opc == 0xdc || opc == 0xde) {
		m = mem_operand(env, opc, r);
		if (r == 2 || r == 3) {
			compare(env, *st(env, 0), m);
			if (r == 3)
				fpop(env);
		} else {
			*st(env, 0) = arith(r, *st(env, 0), m);
		}
		return;
	}
	if (opc == 0xd9 && r == 5) {
		env->fcw = env->fp_tmp[0] & 0xffff;
		return;
	}
	if (r == 0 || (r == 5 && (opc == 0xdb || opc == 0xdf))) {
		fpush(env, mem_operand(env, opc, r));
		return;
	}
	store_value(env, opc, r);
}

static void fxam(struct x86_cpu *env)
{
	long double v = *st(env, 0);
	uint64_t c1 = signbit(v) ? C1 : 0;

	if (env->fp_empty & (1ull << env->fp_top))
		set_cc(env, C3 | C0 | c1);
	else if (isnan(v))
		set_cc(env, C0 | c1);
	else if (isinf(v))
		set_cc(env, C2 | C0 | c1);
	else if (v == 0)
		set_cc(env, C3 | c1);
	else if (fpclassify(v) == FP_SUBNORMAL)
		set_cc(env, C3 | C2 | c1);
	else
		set_cc(env, C2 | c1);
}

static void exec_d9_reg(struct x86_cpu *env, unsigned modrm)
{
	long double *s0 = st(env, 0), *s1 = st(env, 1), t;
	unsigned i = modrm & 7;
	int e;

	switch (modrm & 0xf8) {
	case 0xc0: fpush(env, *st(env, i)); return;
	case 0xc8:
		t = *s0;
		*s0 = *st(env, i);
		*st(env, i) = t;
		return;
	default: break;
	}
	switch (modrm) {
	case 0xd0: break;
	case 0xe0: *s0 = -*s0; break;
	case 0xe1: *s0 = fabsl(*s0); break;
	case 0xe4: compare(env, *s0, 0.0L); break;
	case 0xe5: fxam(env); break;
	case 0xe8: fpush(env, 1.0L); break;
	case 0xe9: fpush(env, log2l(10.0L)); break;
	case 0xea: fpush(env, log2l(expl(1.0L))); break;
	case 0xeb: fpush(env, 3.14159265358979323846264338327950288L); break;
	case 0xec: fpush(env, log10l(2.0L)); break;
	case 0xed: fpush(env, logl(2.0L)); break;
	case 0xee: fpush(env, 0.0L); break;
	case 0xf0: *s0 = exp2l(*s0) - 1.0L; break;
	case 0xf1: *s1 = *s1 * log2l(*s0); fpop(env); break;
	case 0xf2: *s0 = tanl(*s0); fpush(env, 1.0L); set_cc(env, 0); break;
	case 0xf3: *s1 = atan2l(*s1, *s0); fpop(env); break;
	case 0xf4:
		t = frexpl(*s0, &e);
		*s0 = (long double)(e - 1);
		fpush(env, t * 2.0L);
		break;
	case 0xf5: *s0 = remainderl(*s0, *s1); set_cc(env, 0); break;
	case 0xf6: env->fp_top = (env->fp_top - 1) & 7; break;
	case 0xf7: env->fp_top = (env->fp_top + 1) & 7; break;
	case 0xf8: *s0 = fmodl(*s0, *s1); set_cc(env, 0); break;
	case 0xf9: *s1 = *s1 * log2l(*s0 + 1.0L); fpop(env); break;
	case 0xfa:	/* the host instruction: libm sqrtl raises IE via SSE */
		__asm__ volatile("fsqrt" : "+t"(*s0));
		break;
	case 0xfb:
		t = *s0;
		*s0 = sinl(t);
		fpush(env, cosl(t));
		set_cc(env, 0);
		break;
	case 0xfc: *s0 = round_cw(env, *s0); break;
	case 0xfd: *s0 = ldexpl(*s0, (int)truncl(*s1)); break;
	case 0xfe: *s0 = sinl(*s0); set_cc(env, 0); break;
	default: *s0 = cosl(*s0); set_cc(env, 0); break;
	}
}

static bool fcmov_cond(unsigned opc, unsigned r, uint64_t eflags)
{
	bool c;

	switch (r & 3) {
	case 0: c = eflags & X86_CF; break;
	case 1: c = eflags & X86_ZF; break;
	case 2: c = eflags & (X86_CF | X86_ZF); break;
	default: c = eflags & X86_PF; break;
	}
	return opc == 0xda ? c : !c;
}

static uint64_t exec_reg(struct x86_cpu *env, unsigned opc, unsigned modrm,
			 uint64_t eflags)
{
	unsigned r = (modrm >> 3) & 7, i = modrm & 7;
	long double *s0 = st(env, 0), *si = st(env, i);
	uint64_t f;

	switch (opc) {
	case 0xd8:
		if (r == 2 || r == 3) {
			compare(env, *s0, *si);
			if (r == 3)
				fpop(env);
		} else {
			*s0 = arith(r, *s0, *si);
		}
		return 0;
	case 0xd9:
		exec_d9_reg(env, modrm);
		return 0;
	case 0xda:
		if (modrm == 0xe9) {		/* fucompp */
			compare(env, *s0, *st(env, 1));
			fpop(env);
			fpop(env);
		} else if (r < 4 && fcmov_cond(opc, r, eflags)) {
			*s0 = *si;
		}
		return 0;
	case 0xdb:
		if (r < 4) {
			if (fcmov_cond(opc, r, eflags))
				*s0 = *si;
		} else if (modrm == 0xe2) {	/* fnclex */
			env->fsw &= ~(uint64_t)0x80ff;
		} else if (modrm == 0xe3) {	/* fninit */
			env->fcw = 0x37f;
			env->fsw = 0;
			env->fp_top = 0;
			env->fp_empty = 0xff;
		} else if (r == 5 || r == 6) {	/* fucomi, fcomi */
			return compare_eflags(*s0, *si);
		}
		return 0;
	case 0xdc: case 0xde:
		if (opc == 0xde && modrm == 0xd9) {	/* fcompp */
			compare(env, *s0, *st(env, 1));
			fpop(env);
			fpop(env);
			return 0;
		}
		if (r == 2 || r == 3) {
			compare(env, *s0, *si);
			if (r == 3)
				fpop(env);
			return 0;
		}
		/* Register forms swap the reversed and plain sub/div. */
		*si = arith(r >= 4 ? r ^ 1 : r, *si, *s0);
		if (opc == 0xde)
			fpop(env);
		return 0;
	case 0xdd:
		if (r == 0) {
			env->fp_empty |= 1ull << ((env->fp_top + i) & 7);
		} else if (r == 2 || r == 3) {
			*si = *s0;
			if (r == 3)
				fpop(env);
		} else if (r == 4 || r == 5) {
			compare(env, *s0, *si);
			if (r == 5)
				fpop(env);
		}
		return 0;
	default: /* df */
		if (modrm == 0xe0)
			return env->fsw | env->fp_top << 11;
		f = compare_eflags(*s0, *si);	/* fucomip, fcomip */
		fpop(env);
		return f;
	}
}

/* Not inlined: no x87 arithmetic may move across the control word
 * switches in x86_helper_x87. */
__attribute__((noinline)) static uint64_t exec(struct x86_cpu *env,
					       uint64_t key, uint64_t eflags)
{
	unsigned opc = key & 0xff, modrm = (key >> 8) & 0xff;

	if (key & KEY_MEM) {
		exec_mem(env, opc, (modrm >> 3) & 7);
		return 0;
	}
	return exec_reg(env, opc, modrm, eflags);
}

uint64_t x86_helper_x87(struct x86_cpu *env, uint64_t key, uint64_t eflags)
{
	uint16_t host_cw, guest_cw = (uint16_t)(env->fcw | 0x3f), sw;
	uint64_t r;

	__asm__ volatile("fnstcw %0" : "=m"(host_cw));
	__asm__ volatile("fnclex\n\tfldcw %0" : : "m"(guest_cw));
	r = exec(env, key, eflags);
	__asm__ volatile("fnstsw %0\n\tfnclex\n\tfldcw %1"
			 : "=m"(sw) : "m"(host_cw));
	env->fsw |= sw & 0x3f;
	return r;
}

/* ---- FNSTENV / FLDENV / FNSAVE / FRSTOR (32-bit formats) ---- */

/* Two-bit tag of physical register I: valid, zero, special, empty. */
static unsigned full_tag(const struct x86_cpu *env, unsigned i)
{
	long double v = env->fpr[i];
	uint16_t se;

	if (env->fp_empty & (1ull << i))
		return 3;
	memcpy(&se, (const uint8_t *)&env->fpr[i] + 8, 2);
	if (v == 0)
		return 1;
	if ((se & 0x7fff) == 0x7fff || (se & 0x7fff) == 0 ||
	    fpclassify(v) != FP_NORMAL)
		return 2;
	return 0;	/* valid */
}

uint64_t x86_helper_fenv(struct x86_cpu *env, uint64_t kind, uint64_t addr)
{
	uint8_t *p = x86_g2h(addr);
	uint32_t w[7], tags = 0;
	bool store = !(kind & 1), regs = kind & 2;

	x86_helper_in_guest_memory = 1;
	if (store) {
		for (unsigned i = 0; i < 8; i++)
			tags |= full_tag(env, i) << (2 * i);
		memset(w, 0, sizeof(w));	/* no instruction pointers */
		w[0] = 0xffff0000u | (uint16_t)env->fcw;
		w[1] = 0xffff0000u | (uint16_t)(env->fsw | env->fp_top << 11);
		w[2] = 0xffff0000u | tags;
		memcpy(p, w, sizeof(w));
		for (unsigned i = 0; regs && i < 8; i++)
			memcpy(p + 28 + 10 * i, st(env, i), 10);
		if (regs) {		/* fnsave ends with fninit */
			env->fcw = 0x37f;
			env->fsw = 0;
			env->fp_top = 0;
			env->fp_empty = 0xff;
		} else {		/* fnstenv masks all exceptions */
			env->fcw |= 0x3f;
		}
	} else {
		memcpy(w, p, sizeof(w));
		env->fcw = (uint16_t)w[0];
		env->fp_top = (w[1] >> 11) & 7;
		env->fsw = w[1] & 0xffff & ~(7u << 11);
		env->fp_empty = 0;
		for (unsigned i = 0; i < 8; i++)
			if (((w[2] >> (2 * i)) & 3) == 3)
				env->fp_empty |= 1ull << i;
		for (unsigned i = 0; regs && i < 8; i++) {
			long double v = 0;

			memcpy(&v, p + 28 + 10 * i, 10);
			*st(env, i) = v;
		}
	}
	x86_helper_in_guest_memory = 0;
	return 0;
}

/* ---- frontend ---- */

/* Memory operand size and direction: >0 load, <0 store, 0 unsupported. */
static int mem_size(unsigned opc, unsigned r)
{
	switch (opc) {
	case 0xd8: case 0xda: return 4;
	case 0xdc: return 8;
	case 0xde: return 2;
	case 0xd9:
		return r == 0 ? 4 : r == 2 || r == 3 ? -4 : r == 5 ? 2 :
		       r == 7 ? -2 : 0;
	case 0xdb:
		return r == 0 ? 4 : r >= 1 && r <= 3 ? -4 : r == 5 ? 10 :
		       r == 7 ? -10 : 0;
	case 0xdd:
		return r == 0 ? 8 : r >= 1 && r <= 3 ? -8 : r == 7 ? -2 : 0;
	default: /* df */
		return r == 0 ? 2 : r >= 1 && r <= 3 ? -2 : r == 5 ? 8 :
		       r == 7 ? -8 : 0;
	}
}

bool x86_translate_x87(struct fe *f)
{
	const struct x86_insn *in = f->insn;
	struct ir_block *b = f->blk;
	unsigned opc = in->opcode, r = in->reg & 7;
	unsigned tmp = X86_ENV_OFF(fp_tmp);
	ir_temp args[2], addr = IR_NO_TEMP, res;
	int size = 0;
	bool flags_out = false;

	if (opc == 0x9b)
		return true;	/* fwait: unmasked exceptions never pend */
	if (in->mod != 3 && (opc == 0xd9 || opc == 0xdd) &&
	    (r == 4 || r == 6)) {	/* fldenv fnstenv / frstor fnsave */
		if (in->opsize_prefix)
			return false;	/* 16-bit formats */
		args[0] = fe_const(f, (opc == 0xdd) << 1 | (r == 4));
		args[1] = fe_ea(f);
		ir_set(b, X86_ENV_OFF(rip), fe_const(f, (int64_t)in->pc));
		ir_call(b, (const void *)x86_helper_fenv, IR_HELPER_READS_ENV |
			IR_HELPER_WRITES_ENV | IR_HELPER_MEMORY, 2, args);
		return true;
	}
	if (in->mod != 3) {
		size = mem_size(opc, r);
		if (size == 0)
			return false;
		addr = fe_ea(f);
		if (size > 0) {
			ir_set(b, tmp, ir_load(b, addr, size > 8 ? 8 : (unsigned)size));
			if (size == 10)
				ir_set(b, tmp + 8, ir_load(b, ir_add(b, addr,
						fe_const(f, 8)), 2));
		}
	}
	args[0] = fe_const(f, opc | in->modrm << 8 |
			   (in->mod != 3 ? KEY_MEM : 0));
	if (in->mod == 3 && (opc == 0xda || opc == 0xdb) && r < 4)
		args[1] = fe_eflags(f);	/* fcmovcc */
	else
		args[1] = fe_const(f, 0);
	res = ir_call(b, (const void *)x86_helper_x87, IR_HELPER_VECTOR, 2,
		      args);
	if (size < 0) {
		unsigned n = (unsigned)-size;

		ir_store(b, addr, ir_get(b, tmp), n > 8 ? 8 : n);
		if (n == 10)
			ir_store(b, ir_add(b, addr, fe_const(f, 8)),
				 ir_get(b, tmp + 8), 2);
	}
	if (in->mod == 3 && opc == 0xdf && in->modrm == 0xe0) {
		fe_set_gpr(f, X86_RAX, 2, res);		/* fnstsw ax */
		return true;
	}
	flags_out = in->mod == 3 && (opc == 0xdb || opc == 0xdf) &&
		    (r == 5 || r == 6);
	if (flags_out)
		fe_set_cc(f, CC_EFLAGS, 8, IR_NO_TEMP, res, IR_NO_TEMP);
	return true;
}

/* ---- FXSAVE / FXRSTOR (512-byte area, 64-bit layout) ---- */

uint64_t x86_helper_fxsave(struct x86_cpu *env, uint64_t addr)
{
	uint8_t *p = x86_g2h(addr);
	uint16_t w;
	uint32_t m;

	x86_helper_in_guest_memory = 1;
	memset(p, 0, 160);
	w = (uint16_t)env->fcw;
	memcpy(p, &w, 2);
	w = (uint16_t)(env->fsw | env->fp_top << 11);
	memcpy(p + 2, &w, 2);
	p[4] = (uint8_t)~env->fp_empty;
	m = (uint32_t)env->mxcsr;
	memcpy(p + 24, &m, 4);
	m = 0xffff;	/* MXCSR_MASK: DAZ supported */
	memcpy(p + 28, &m, 4);
	for (unsigned i = 0; i < 8; i++)
		memcpy(p + 32 + 16 * i, st(env, i), 10);
	memcpy(p + 160, env->xmm, 16 * 16);
	x86_helper_in_guest_memory = 0;
	return 0;
}

uint64_t x86_helper_fxrstor(struct x86_cpu *env, uint64_t addr)
{
	const uint8_t *p = x86_g2h(addr);
	uint16_t w;
	uint32_t m;

	x86_helper_in_guest_memory = 1;
	memcpy(&w, p, 2);
	env->fcw = w;
	memcpy(&w, p + 2, 2);
	env->fp_top = (w >> 11) & 7;
	env->fsw = w & ~(7u << 11);
	env->fp_empty = (uint8_t)~p[4];
	memcpy(&m, p + 24, 4);
	env->mxcsr = m & 0xffff;	/* reserved bits: #GP not modelled */
	for (unsigned i = 0; i < 8; i++) {
		long double v = 0;

		memcpy(&v, p + 32 + 16 * i, 10);
		*st(env, i) = v;
	}
	memcpy(env->xmm, p + 160, 16 * 16);
	x86_helper_in_guest_memory = 0;
	return 0;
}

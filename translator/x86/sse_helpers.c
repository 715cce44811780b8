/* SSE/SSE2/MMX semantics on env->xmm.  See sse.h.
 *
 * Floating point runs as the same host SSE2 instruction (the host is
 * x86-64, so SSE2 is always there) with the guest's MXCSR loaded in the
 * host (all exceptions masked): results, NaN propagation, rounding
 * control, DAZ/FTZ and the exception flags are the hardware's.  Unmasked
 * guest exceptions (SIGFPE from SSE) are not delivered yet.
 */
#include <stdbool.h>
#include <string.h>
#include <emmintrin.h>

#include "translator/x86/decode.h"
#include "translator/x86/helpers.h"
#include "translator/x86/sse.h"

#define MEM_SRC(key) (((key) >> 11) & 1)

static int8_t sat8(int v) { return v > 127 ? 127 : v < -128 ? -128 : (int8_t)v; }
static uint8_t satu8(int v) { return v > 255 ? 255 : v < 0 ? 0 : (uint8_t)v; }
static int16_t sat16(int v)
{
	return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v;
}

static __m128 ld_ps(const union x86_xmm *x)
{
	return _mm_loadu_ps(x->s);
}

static __m128d ld_pd(const union x86_xmm *x)
{
	return _mm_loadu_pd(x->sd);
}

static __m128i ld_si(const union x86_xmm *x)
{
	return _mm_loadu_si128((const __m128i *)(const void *)x);
}

static void st_ps(union x86_xmm *x, __m128 v)
{
	_mm_storeu_ps(x->s, v);
}

static void st_pd(union x86_xmm *x, __m128d v)
{
	_mm_storeu_pd(x->sd, v);
}

static void st_si(union x86_xmm *x, __m128i v)
{
	_mm_storeu_si128((__m128i *)(void *)x, v);
}

/* (U)COMISS/SD: ZF PF CF as the host computes them (and its MXCSR IE). */
static uint64_t compare_flags(const union x86_xmm *a, const union x86_xmm *b,
			      bool dbl, bool signal_qnan)
{
	uint8_t zf, pf, cf;

#define COMPARE(insn, reg)						\
	__asm__ volatile(insn " %3, %4\n\tsetz %0\n\tsetp %1\n\tsetc %2"	\
			 : "=q"(zf), "=q"(pf), "=q"(cf)			\
			 : "x"(ld_##reg(b)), "x"(ld_##reg(a)) : "cc")
	if (dbl && signal_qnan)
		COMPARE("comisd", pd);
	else if (dbl)
		COMPARE("ucomisd", pd);
	else if (signal_qnan)
		COMPARE("comiss", ps);
	else
		COMPARE("ucomiss", ps);
#undef COMPARE
	return (zf ? X86_ZF : 0) | (pf ? X86_PF : 0) | (cf ? X86_CF : 0);
}

#define CMP_SWITCH(r, sfx, a, b, imm)				\
	switch ((imm) & 7) {					\
	case 0: r = _mm_cmpeq_##sfx(a, b); break;		\
	case 1: r = _mm_cmplt_##sfx(a, b); break;		\
	case 2: r = _mm_cmple_##sfx(a, b); break;		\
	case 3: r = _mm_cmpunord_##sfx(a, b); break;		\
	case 4: r = _mm_cmpneq_##sfx(a, b); break;		\
	case 5: r = _mm_cmpnlt_##sfx(a, b); break;		\
	case 6: r = _mm_cmpnle_##sfx(a, b); break;		\
	default: r = _mm_cmpord_##sfx(a, b); break;		\
	}

/* GCC's _mm_add/_mm_mul are generic vector operators it may commute,
 * which changes which NaN operand propagates: addition and
 * multiplication are inline assembly. */
X86_SSE_ASM_OP(add_ps, "addps", __m128)
X86_SSE_ASM_OP(add_ss, "addss", __m128)
X86_SSE_ASM_OP(mul_ps, "mulps", __m128)
X86_SSE_ASM_OP(mul_ss, "mulss", __m128)
X86_SSE_ASM_OP(add_pd, "addpd", __m128d)
X86_SSE_ASM_OP(add_sd, "addsd", __m128d)
X86_SSE_ASM_OP(mul_pd, "mulpd", __m128d)
X86_SSE_ASM_OP(mul_sd, "mulsd", __m128d)

#define ARITH_SWITCH(r, sfx, a, b, op)				\
	switch (op) {						\
	case 0x58: r = add_##sfx(a, b); break;			\
	case 0x59: r = mul_##sfx(a, b); break;			\
	case 0x5c: r = _mm_sub_##sfx(a, b); break;		\
	case 0x5d: r = _mm_min_##sfx(a, b); break;		\
	case 0x5e: r = _mm_div_##sfx(a, b); break;		\
	default: r = _mm_max_##sfx(a, b); break;		\
	}

static void float_op(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		     unsigned pfx, unsigned imm)
{
	if (pfx == X86_PFX_NONE || pfx == X86_PFX_F3) {
		__m128 a = ld_ps(d), b = ld_ps(s), r;

		if (op == 0x51)
			r = pfx == X86_PFX_NONE ? _mm_sqrt_ps(b) :
			    _mm_move_ss(a, _mm_sqrt_ss(b));
		else if (op == 0xc2 && pfx == X86_PFX_NONE)
			CMP_SWITCH(r, ps, a, b, imm)
		else if (op == 0xc2)
			CMP_SWITCH(r, ss, a, b, imm)
		else if (pfx == X86_PFX_NONE)
			ARITH_SWITCH(r, ps, a, b, op)
		else
			ARITH_SWITCH(r, ss, a, b, op)
		st_ps(d, r);
	} else {
		__m128d a = ld_pd(d), b = ld_pd(s), r;

		if (op == 0x51)
			r = pfx == X86_PFX_66 ? _mm_sqrt_pd(b) : _mm_sqrt_sd(a, b);
		else if (op == 0xc2 && pfx == X86_PFX_66)
			CMP_SWITCH(r, pd, a, b, imm)
		else if (op == 0xc2)
			CMP_SWITCH(r, sd, a, b, imm)
		else if (pfx == X86_PFX_66)
			ARITH_SWITCH(r, pd, a, b, op)
		else
			ARITH_SWITCH(r, sd, a, b, op)
		st_pd(d, r);
	}
}

static void unpack(union x86_xmm *d, const union x86_xmm *s, unsigned esize,
		   bool high)
{
	union x86_xmm r;
	unsigned n = 8 / esize, base = high ? 8 : 0;

	for (unsigned i = 0; i < n; i++) {
		memcpy(&r.b[2 * i * esize], &d->b[base + i * esize], esize);
		memcpy(&r.b[(2 * i + 1) * esize], &s->b[base + i * esize],
		       esize);
	}
	*d = r;
}

static void shift_lanes(union x86_xmm *d, unsigned esize, unsigned kind,
			uint64_t count)
{
	unsigned bits = esize * 8;

	for (unsigned i = 0; i < 16 / esize; i++) {
		uint64_t v = 0;
		int64_t sv;

		memcpy(&v, &d->b[i * esize], esize);
		if (kind == 2)		/* logical right */
			v = count >= bits ? 0 : v >> count;
		else if (kind == 6)	/* left */
			v = count >= bits ? 0 : v << count;
		else {			/* arithmetic right */
			sv = (int64_t)(v << (64 - bits)) >> (64 - bits);
			v = (uint64_t)(sv >> (count >= bits ? bits - 1 : count));
		}
		memcpy(&d->b[i * esize], &v, esize);
	}
}

static void byte_shift(union x86_xmm *d, unsigned n, bool left)
{
	union x86_xmm r;

	memset(&r, 0, sizeof(r));
	if (n > 16)
		n = 16;
	for (unsigned i = 0; i < 16; i++) {
		if (left && i >= n)
			r.b[i] = d->b[i - n];
		else if (!left && i + n < 16)
			r.b[i] = d->b[i + n];
	}
	*d = r;
}

/* SSE2 integer ops run as the same host instruction (the host is
 * x86-64, so SSE2 is always there): bit-exact by construction. */
static void integer_op(union x86_xmm *d, const union x86_xmm *s, unsigned op)
{
	__m128i a = _mm_loadu_si128((const __m128i *)(const void *)d);
	__m128i b = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i r;

	switch (op) {
	case 0x60: r = _mm_unpacklo_epi8(a, b); break;
	case 0x61: r = _mm_unpacklo_epi16(a, b); break;
	case 0x62: r = _mm_unpacklo_epi32(a, b); break;
	case 0x6c: r = _mm_unpacklo_epi64(a, b); break;
	case 0x68: r = _mm_unpackhi_epi8(a, b); break;
	case 0x69: r = _mm_unpackhi_epi16(a, b); break;
	case 0x6a: r = _mm_unpackhi_epi32(a, b); break;
	case 0x6d: r = _mm_unpackhi_epi64(a, b); break;
	case 0x63: r = _mm_packs_epi16(a, b); break;
	case 0x67: r = _mm_packus_epi16(a, b); break;
	case 0x6b: r = _mm_packs_epi32(a, b); break;
	case 0x64: r = _mm_cmpgt_epi8(a, b); break;
	case 0x65: r = _mm_cmpgt_epi16(a, b); break;
	case 0x66: r = _mm_cmpgt_epi32(a, b); break;
	case 0x74: r = _mm_cmpeq_epi8(a, b); break;
	case 0x75: r = _mm_cmpeq_epi16(a, b); break;
	case 0x76: r = _mm_cmpeq_epi32(a, b); break;
	case 0xd1: r = _mm_srl_epi16(a, b); break;
	case 0xd2: r = _mm_srl_epi32(a, b); break;
	case 0xd3: r = _mm_srl_epi64(a, b); break;
	case 0xe1: r = _mm_sra_epi16(a, b); break;
	case 0xe2: r = _mm_sra_epi32(a, b); break;
	case 0xf1: r = _mm_sll_epi16(a, b); break;
	case 0xf2: r = _mm_sll_epi32(a, b); break;
	case 0xf3: r = _mm_sll_epi64(a, b); break;
	case 0xd4: r = _mm_add_epi64(a, b); break;
	case 0xd5: r = _mm_mullo_epi16(a, b); break;
	case 0xd8: r = _mm_subs_epu8(a, b); break;
	case 0xd9: r = _mm_subs_epu16(a, b); break;
	case 0xda: r = _mm_min_epu8(a, b); break;
	case 0xdb: r = _mm_and_si128(a, b); break;
	case 0xdc: r = _mm_adds_epu8(a, b); break;
	case 0xdd: r = _mm_adds_epu16(a, b); break;
	case 0xde: r = _mm_max_epu8(a, b); break;
	case 0xdf: r = _mm_andnot_si128(a, b); break;
	case 0xe0: r = _mm_avg_epu8(a, b); break;
	case 0xe3: r = _mm_avg_epu16(a, b); break;
	case 0xe4: r = _mm_mulhi_epu16(a, b); break;
	case 0xe5: r = _mm_mulhi_epi16(a, b); break;
	case 0xe8: r = _mm_subs_epi8(a, b); break;
	case 0xe9: r = _mm_subs_epi16(a, b); break;
	case 0xea: r = _mm_min_epi16(a, b); break;
	case 0xeb: r = _mm_or_si128(a, b); break;
	case 0xec: r = _mm_adds_epi8(a, b); break;
	case 0xed: r = _mm_adds_epi16(a, b); break;
	case 0xee: r = _mm_max_epi16(a, b); break;
	case 0xef: r = _mm_xor_si128(a, b); break;
	case 0xf4: r = _mm_mul_epu32(a, b); break;
	case 0xf5: r = _mm_madd_epi16(a, b); break;
	case 0xf6: r = _mm_sad_epu8(a, b); break;
	case 0xf8: r = _mm_sub_epi8(a, b); break;
	case 0xf9: r = _mm_sub_epi16(a, b); break;
	case 0xfa: r = _mm_sub_epi32(a, b); break;
	case 0xfb: r = _mm_sub_epi64(a, b); break;
	case 0xfc: r = _mm_add_epi8(a, b); break;
	case 0xfd: r = _mm_add_epi16(a, b); break;
	case 0xfe: r = _mm_add_epi32(a, b); break;
	default: r = a; break;
	}
	_mm_storeu_si128((__m128i *)(void *)d, r);
}

static void shuffle(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		    unsigned pfx, unsigned imm)
{
	union x86_xmm r = *d;
	unsigned i;

	if (op == 0x70) {
		if (pfx == X86_PFX_66) {
			for (i = 0; i < 4; i++)
				r.d[i] = s->d[(imm >> (2 * i)) & 3];
		} else if (pfx == X86_PFX_F3) {	/* pshufhw */
			r.q[0] = s->q[0];
			for (i = 0; i < 4; i++)
				r.w[4 + i] = s->w[4 + ((imm >> (2 * i)) & 3)];
		} else {			/* pshuflw */
			r.q[1] = s->q[1];
			for (i = 0; i < 4; i++)
				r.w[i] = s->w[(imm >> (2 * i)) & 3];
		}
	} else if (pfx == X86_PFX_66) {		/* shufpd */
		r.q[0] = d->q[imm & 1];
		r.q[1] = s->q[(imm >> 1) & 1];
	} else {				/* shufps */
		r.d[0] = d->d[imm & 3];
		r.d[1] = d->d[(imm >> 2) & 3];
		r.d[2] = s->d[(imm >> 4) & 3];
		r.d[3] = s->d[(imm >> 6) & 3];
	}
	*d = r;
}

static void convert(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		    unsigned pfx)
{
	if (op == 0x5a) {
		switch (pfx) {
		case X86_PFX_F3: st_pd(d, _mm_cvtss_sd(ld_pd(d), ld_ps(s))); break;
		case X86_PFX_F2: st_ps(d, _mm_cvtsd_ss(ld_ps(d), ld_pd(s))); break;
		case X86_PFX_NONE: st_pd(d, _mm_cvtps_pd(ld_ps(s))); break;
		default: st_ps(d, _mm_cvtpd_ps(ld_pd(s))); break;
		}
	} else if (op == 0x5b) {
		if (pfx == X86_PFX_NONE)
			st_ps(d, _mm_cvtepi32_ps(ld_si(s)));
		else if (pfx == X86_PFX_66)
			st_si(d, _mm_cvtps_epi32(ld_ps(s)));
		else
			st_si(d, _mm_cvttps_epi32(ld_ps(s)));
	} else {	/* 0xe6 */
		if (pfx == X86_PFX_F3)
			st_pd(d, _mm_cvtepi32_pd(ld_si(s)));
		else if (pfx == X86_PFX_66)
			st_si(d, _mm_cvttpd_epi32(ld_pd(s)));
		else
			st_si(d, _mm_cvtpd_epi32(ld_pd(s)));
	}
}

static uint64_t to_gpr(struct x86_cpu *env, unsigned op, unsigned pfx,
		       bool w, const union x86_xmm *s, unsigned imm)
{
	uint64_t m = 0;
	unsigned i;

	switch (op) {
	case 0xd7:
		return (uint64_t)_mm_movemask_epi8(
			_mm_loadu_si128((const __m128i *)(const void *)s));
	case 0x50:
		if (pfx == X86_PFX_66)
			return (s->q[0] >> 63) | (s->q[1] >> 63) << 1;
		for (i = 0; i < 4; i++)
			m |= (uint64_t)(s->d[i] >> 31) << i;
		return m;
	case 0xc5:
		return s->w[imm & 7];
	default:	/* 2c / 2d */
		(void)env;
		if (pfx == X86_PFX_F3 && op == 0x2c)
			return w ? (uint64_t)_mm_cvttss_si64(ld_ps(s)) :
				   (uint32_t)_mm_cvttss_si32(ld_ps(s));
		if (pfx == X86_PFX_F3)
			return w ? (uint64_t)_mm_cvtss_si64(ld_ps(s)) :
				   (uint32_t)_mm_cvtss_si32(ld_ps(s));
		if (op == 0x2c)
			return w ? (uint64_t)_mm_cvttsd_si64(ld_pd(s)) :
				   (uint32_t)_mm_cvttsd_si32(ld_pd(s));
		return w ? (uint64_t)_mm_cvtsd_si64(ld_pd(s)) :
			   (uint32_t)_mm_cvtsd_si32(ld_pd(s));
	}
}

static void from_gpr(union x86_xmm *d, unsigned op, unsigned pfx, bool w,
		     uint64_t v, unsigned imm)
{
	int64_t sv = w ? (int64_t)v : (int32_t)v;

	switch (op) {
	case 0x6e:
		d->q[0] = w ? v : (uint32_t)v;
		d->q[1] = 0;
		break;
	case 0xc4:
		d->w[imm & 7] = (uint16_t)v;
		break;
	default:	/* 2a */
		if (pfx == X86_PFX_F3)
			st_ps(d, w ? _mm_cvtsi64_ss(ld_ps(d), sv) :
				     _mm_cvtsi32_ss(ld_ps(d), (int32_t)sv));
		else
			st_pd(d, w ? _mm_cvtsi64_sd(ld_pd(d), sv) :
				     _mm_cvtsi32_sd(ld_pd(d), (int32_t)sv));
		break;
	}
}

static void moves(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		  unsigned pfx, bool mem)
{
	switch (op) {
	case 0x10: case 0x11:
		if (pfx == X86_PFX_F3) {
			if (mem)
				memset(d, 0, sizeof(*d));
			d->d[0] = s->d[0];
		} else if (pfx == X86_PFX_F2) {
			if (mem)
				d->q[1] = 0;
			d->q[0] = s->q[0];
		} else {
			*d = *s;
		}
		break;
	case 0x12:
		d->q[0] = mem || pfx == X86_PFX_66 ? s->q[0] : s->q[1];
		break;
	case 0x13:
		d->q[0] = s->q[0];
		break;
	case 0x16:
		d->q[1] = s->q[0];
		break;
	case 0x17:
		d->q[1] = s->q[1];
		break;
	case 0x7e: case 0xd6:	/* movq: zero the upper half */
		d->q[0] = s->q[0];
		d->q[1] = 0;
		break;
	default:	/* full moves: 28 29 2b 6f 7f e7 */
		*d = *s;
		break;
	}
}

static void bitwise(union x86_xmm *d, const union x86_xmm *s, unsigned op)
{
	for (int i = 0; i < 2; i++) {
		switch (op) {
		case 0x54: d->q[i] &= s->q[i]; break;
		case 0x55: d->q[i] = ~d->q[i] & s->q[i]; break;
		case 0x56: d->q[i] |= s->q[i]; break;
		default: d->q[i] ^= s->q[i]; break;
		}
	}
}

static void unpack_float(union x86_xmm *d, const union x86_xmm *s,
			 unsigned op, unsigned pfx)
{
	if (pfx == X86_PFX_66)
		unpack(d, s, 8, op == 0x15);
	else
		unpack(d, s, 4, op == 0x15);
}

/* MMX specifics where 64-bit lanes differ from the 128-bit forms. */
static void mmx_op(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		   unsigned imm)
{
	union x86_xmm r = *d;
	unsigned i;

	switch (op) {
	case 0x68: case 0x69: case 0x6a: {	/* unpack high halves */
		unsigned es = op == 0x68 ? 1 : op == 0x69 ? 2 : 4;

		for (i = 0; i < 4 / es; i++) {
			memcpy(&r.b[2 * i * es], &d->b[4 + i * es], es);
			memcpy(&r.b[(2 * i + 1) * es], &s->b[4 + i * es], es);
		}
		break;
	}
	case 0x63: case 0x67:
		for (i = 0; i < 4; i++) {
			r.b[i] = op == 0x63 ? (uint8_t)sat8((int16_t)d->w[i]) :
					      satu8((int16_t)d->w[i]);
			r.b[i + 4] = op == 0x63 ? (uint8_t)sat8((int16_t)s->w[i]) :
						  satu8((int16_t)s->w[i]);
		}
		break;
	case 0x6b:
		for (i = 0; i < 2; i++) {
			r.w[i] = (uint16_t)sat16((int32_t)d->d[i]);
			r.w[i + 2] = (uint16_t)sat16((int32_t)s->d[i]);
		}
		break;
	case 0x70:
		for (i = 0; i < 4; i++)
			r.w[i] = s->w[(imm >> (2 * i)) & 3];
		break;
	case 0xf6: {
		unsigned sum = 0;

		for (i = 0; i < 8; i++) {
			int diff = d->b[i] - s->b[i];

			sum += (unsigned)(diff < 0 ? -diff : diff);
		}
		r.q[0] = sum;
		break;
	}
	default:
		integer_op(&r, s, op);
		break;
	}
	*d = r;
}

static uint64_t helper_mmx(struct x86_cpu *env, uint64_t key, uint64_t d,
			   uint64_t s)
{
	unsigned op = key & 0xff, imm = (key >> 16) & 0xff;
	unsigned sub = (key >> 12) & 7;
	bool w = (key >> 10) & 1;
	union x86_xmm a, bsrc, *dst;
	uint64_t m = 0;

	memset(&a, 0, sizeof(a));
	memset(&bsrc, 0, sizeof(bsrc));
	env->fp_top = 0;
	env->fp_empty = 0;
	memcpy(&a.q[0], &env->fpr[d & 7], 8);
	if (s == 16)
		bsrc.q[0] = env->xmm[16].q[0];
	else if (op != 0x6e)
		memcpy(&bsrc.q[0], &env->fpr[s & 7], 8);
	if (SSE_KEY_GET_MAP(key) >= X86_MAP_0F38) {	/* SSSE3 on mm */
		x86_ssse3_op(&a, &bsrc, op, imm, 8);
		op = 0x6f;
		bsrc = a;
	}
	switch (op) {
	case 0x6e:
		a.q[0] = w ? s : (uint32_t)s;
		break;
	case 0x6f: case 0x7f: case 0xe7:
		a.q[0] = bsrc.q[0];
		break;
	case 0xd7:
		for (unsigned i = 0; i < 8; i++)
			m |= (uint64_t)(bsrc.b[i] >> 7) << i;
		return m;
	case 0xc5:
		return bsrc.w[imm & 3];
	case 0xc4:	/* S is the value */
		a.w[imm & 3] = (uint16_t)s;
		break;
	case 0x71: case 0x72: case 0x73:
		shift_lanes(&a, op == 0x71 ? 2 : op == 0x72 ? 4 : 8, sub, imm);
		a.q[1] = 0;
		break;
	case 0xd1: case 0xd2: case 0xd3: case 0xe1: case 0xe2: case 0xf1:
	case 0xf2: case 0xf3:
		bsrc.q[1] = 0;
		integer_op(&a, &bsrc, op);
		break;
	default:
		mmx_op(&a, &bsrc, op, imm);
		break;
	}
	dst = (union x86_xmm *)(void *)&env->fpr[d & 7];
	dst->q[0] = a.q[0];
	dst->w[4] = 0xffff;	/* MMX writes set the exponent to all ones */
	return 0;
}

static union x86_xmm *mm_reg(struct x86_cpu *env, unsigned i)
{
	env->fp_top = 0;	/* any MMX register access: MMX mode */
	env->fp_empty = 0;
	return (union x86_xmm *)(void *)&env->fpr[i & 7];
}

static void mm_write(struct x86_cpu *env, unsigned i, uint64_t v)
{
	union x86_xmm *m = mm_reg(env, i);

	m->q[0] = v;
	m->w[4] = 0xffff;
}

/* cvtpi2ps/pd, cvt(t)ps2pi, cvt(t)pd2pi, movq2dq, movdq2q.  S == 16:
 * the memory operand staged in xmm[16]. */
static uint64_t helper_mixed(struct x86_cpu *env, uint64_t key, uint64_t d,
			     uint64_t s)
{
	unsigned op = key & 0xff, pfx = (key >> 8) & 3;
	union x86_xmm *xd = &env->xmm[d & 15], v;
	const union x86_xmm *xs = &env->xmm[s <= 16 ? s : 16];

	memset(&v, 0, sizeof(v));
	switch (op) {
	case 0x2a:	/* mm/m64 -> xmm */
		v.q[0] = s == 16 ? env->xmm[16].q[0] : mm_reg(env, s)->q[0];
		if (pfx == X86_PFX_66) {
			st_pd(xd, _mm_cvtepi32_pd(ld_si(&v)));
		} else {
			st_ps(&v, _mm_cvtepi32_ps(ld_si(&v)));
			xd->q[0] = v.q[0];
		}
		return 0;
	case 0x2c: case 0x2d:	/* xmm/m -> mm */
		if (pfx == X86_PFX_66) {
			v = *xs;
			st_si(&v, op == 0x2c ? _mm_cvttpd_epi32(ld_pd(&v)) :
					       _mm_cvtpd_epi32(ld_pd(&v)));
		} else {
			v.q[0] = xs->q[0];
			st_si(&v, op == 0x2c ? _mm_cvttps_epi32(ld_ps(&v)) :
					       _mm_cvtps_epi32(ld_ps(&v)));
		}
		mm_write(env, d, v.q[0]);
		return 0;
	default:	/* d6: F3 movq2dq xmm, mm; F2 movdq2q mm, xmm */
		if (pfx == X86_PFX_F3) {
			xd->q[0] = mm_reg(env, s)->q[0];
			xd->q[1] = 0;
		} else {
			mm_write(env, d, xs->q[0]);
		}
		return 0;
	}
}

uint64_t x86_helper_maskmov(struct x86_cpu *env, uint64_t key, uint64_t addr)
{
	bool xmm = ((key >> 8) & 3) == X86_PFX_66;
	unsigned reg = (key >> 32) & 15, rm = (key >> 36) & 15;
	union x86_xmm v = xmm ? env->xmm[reg] : *mm_reg(env, reg);
	union x86_xmm m = xmm ? env->xmm[rm] : *mm_reg(env, rm);
	uint8_t *p = x86_g2h(addr);

	x86_helper_in_guest_memory = 1;
	for (unsigned i = 0; i < (xmm ? 16u : 8u); i++)
		if (m.b[i] & 0x80)
			p[i] = v.b[i];
	x86_helper_in_guest_memory = 0;
	return 0;
}

/* 0F38 / 0F3A maps: SSSE3, SSE4.1, SSE4.2 (66 prefix). */
static uint64_t helper_ext(struct x86_cpu *env, uint64_t key, uint64_t d,
			   uint64_t s)
{
	unsigned op = key & 0xff, imm = (key >> 16) & 0xff;
	unsigned map = SSE_KEY_GET_MAP(key);
	bool w = (key >> 10) & 1, mem = MEM_SRC(key);
	union x86_xmm *xd = &env->xmm[d & 15];
	const union x86_xmm *xs = &env->xmm[s <= 16 ? s : 16];

	if (x86_ssse3_valid(map, op)) {
		x86_ssse3_op(xd, xs, op, imm, 16);
		return 0;
	}
	if (map == X86_MAP_0F38)
		return x86_sse41_op38(xd, xs, &env->xmm[0], op);
	if (op >= 0x14 && op <= 0x17)
		return x86_sse41_extract(xd, op, imm, w);
	x86_sse41_op3a(xd, xs, op, imm, w, mem, s);
	return 0;
}

static uint64_t helper_0f(struct x86_cpu *env, uint64_t key, uint64_t d,
			  uint64_t s)
{
	unsigned op = key & 0xff, pfx = (key >> 8) & 3;
	unsigned imm = (key >> 16) & 0xff, sub = (key >> 12) & 7;
	bool w = (key >> 10) & 1, mem = MEM_SRC(key);
	union x86_xmm *xd = &env->xmm[d & 15];
	const union x86_xmm *xs = &env->xmm[s <= 16 ? s : 16];

	if ((op == 0x12 && (pfx == X86_PFX_F2 || pfx == X86_PFX_F3)) ||
	    (op == 0x16 && pfx == X86_PFX_F3) || op == 0xd0 || op == 0x7c ||
	    op == 0x7d || op == 0xf0) {
		x86_sse3_op(xd, xs, op, pfx);
		return 0;
	}
	switch (op) {
	case 0x10: case 0x11: case 0x12: case 0x13: case 0x16: case 0x17:
	case 0x28: case 0x29: case 0x2b: case 0x6f: case 0x7f: case 0xe7:
	case 0xd6:
		moves(xd, xs, op, pfx, mem);
		return 0;
	case 0x7e:
		moves(xd, xs, op, pfx, mem);
		return 0;
	case 0x14: case 0x15:
		unpack_float(xd, xs, op, pfx);
		return 0;
	case 0x54: case 0x55: case 0x56: case 0x57:
		bitwise(xd, xs, op);
		return 0;
	case 0x51: case 0x58: case 0x59: case 0x5c: case 0x5d: case 0x5e:
	case 0x5f: case 0xc2:
		float_op(xd, xs, op, pfx, imm);
		return 0;
	case 0x5a: case 0x5b: case 0xe6:
		convert(xd, xs, op, pfx);
		return 0;
	case 0x52: case 0x53:	/* approximations: the host's, bit for bit */
		if (pfx == X86_PFX_NONE)
			st_ps(xd, op == 0x52 ? _mm_rsqrt_ps(ld_ps(xs)) :
					       _mm_rcp_ps(ld_ps(xs)));
		else
			st_ps(xd, _mm_move_ss(ld_ps(xd), op == 0x52 ?
					      _mm_rsqrt_ss(ld_ps(xs)) :
					      _mm_rcp_ss(ld_ps(xs))));
		return 0;
	case 0x70: case 0xc6:
		shuffle(xd, xs, op, pfx, imm);
		return 0;
	case 0x2e: case 0x2f:
		return compare_flags(xd, xs, pfx == X86_PFX_66, op == 0x2f);
	case 0x50: case 0xd7: case 0xc5: case 0x2c: case 0x2d:
		return to_gpr(env, op, pfx, w, xs, imm);
	case 0x6e: case 0xc4: case 0x2a:
		from_gpr(xd, op, pfx, w, s, imm);
		return 0;
	case 0x71: case 0x72: case 0x73:
		if (op == 0x73 && (sub == 3 || sub == 7))
			byte_shift(xd, imm, sub == 7);
		else
			shift_lanes(xd, op == 0x71 ? 2 : op == 0x72 ? 4 : 8,
				    sub, imm);
		return 0;
	default:
		integer_op(xd, xs, op);
		return 0;
	}
}

bool x86_sse_uses_mxcsr(uint64_t key)
{
	unsigned op = key & 0xff;

	if (key & SSE_KEY_MMX)
		return false;
	switch (SSE_KEY_GET_MAP(key)) {
	case X86_MAP_PRIMARY: case X86_MAP_0F:	/* keys of 0F ops: 0 */
		return op == 0x2a || (op >= 0x2c && op <= 0x2f) ||
		       (op >= 0x51 && op <= 0x5f && (op < 0x54 || op > 0x57)) ||
		       op == 0xc2 || op == 0xe6 || op == 0xd0 || op == 0x7c ||
		       op == 0x7d;
	case X86_MAP_0F3A:
		return (op >= 0x08 && op <= 0x0b) || op == 0x40 || op == 0x41;
	default:
		return false;
	}
}

/* Not inlined into x86_helper_sse: nothing moves across its MXCSR
 * switches. */
unsigned long x86_sse_helper_calls[X86_SSE_COUNT_SLOTS];

/* MICA_TRANSLATOR_STATS: count helper calls per opcode. */
static void count_call(uint64_t key)
{
	static int enabled = -1;

	if (enabled < 0)
		enabled = getenv("MICA_TRANSLATOR_STATS") != NULL;
	if (enabled)
		__atomic_fetch_add(&x86_sse_helper_calls[X86_SSE_COUNT_SLOT(key)],
				   1, __ATOMIC_RELAXED);
}

__attribute__((noinline)) uint64_t x86_helper_sse_plain(struct x86_cpu *env,
							uint64_t key,
							uint64_t d,
							uint64_t s)
{
	count_call(key);
	if (key & SSE_KEY_MMX)
		return helper_mmx(env, key, d, s);
	if (key & SSE_KEY_MIXED)
		return helper_mixed(env, key, d, s);
	if (SSE_KEY_GET_MAP(key) < X86_MAP_0F38)	/* 0F map */
		return helper_0f(env, key, d, s);
	return helper_ext(env, key, d, s);
}

uint64_t x86_helper_sse(struct x86_cpu *env, uint64_t key, uint64_t d,
			uint64_t s)
{
	uint32_t host, want;
	uint64_t r;

	/* Guest rounding control, DAZ and FTZ with all exceptions masked.
	 * LDMXCSR is slow: the host MXCSR is only reloaded when its control
	 * bits differ or it holds flags the guest has not raised (the
	 * translator never reads its own floating-point flags), so new
	 * flags are exactly those the operation raised that the guest lacks.
	 * The host's control bits are restored if they were changed. */
	host = _mm_getcsr();
	want = ((uint32_t)env->mxcsr & 0xffc0u) | 0x1f80u;
	if ((host & 0xffc0u) != want || (host & 0x3fu & ~(uint32_t)env->mxcsr))
		_mm_setcsr(want);
	r = x86_helper_sse_plain(env, key, d, s);
	env->mxcsr |= _mm_getcsr() & 0x3fu;
	if ((host & 0xffc0u) != want)
		_mm_setcsr(host);
	return r;
}

uint64_t x86_helper_pcmpstr(struct x86_cpu *env, uint64_t key, uint64_t s,
			    uint64_t rax, uint64_t rdx)
{
	return x86_sse42_pcmpstr(env, key & 0xff, (key >> 16) & 0xff,
				 (key >> 10) & 1, (key >> 32) & 15,
				 (unsigned)s, rax, rdx);
}

uint64_t x86_helper_ldmxcsr(struct x86_cpu *env, uint64_t v)
{
	env->mxcsr = (uint32_t)v & 0xffffu;
	return 0;
}

uint64_t x86_helper_stmxcsr(struct x86_cpu *env)
{
	return (uint32_t)env->mxcsr;
}

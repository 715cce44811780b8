/* SSE/SSE2 semantics on env->xmm.  See sse.h.
 *
 * Floating point uses the host's IEEE arithmetic with the default
 * rounding mode (MXCSR rounding control and exception flags are not
 * modelled yet).  Conversions to integer follow SSE: out of range or NaN
 * gives the "integer indefinite" value.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <emmintrin.h>

#include "translator/x86/decode.h"
#include "translator/x86/sse.h"

#define MEM_SRC(key) (((key) >> 11) & 1)

static int8_t sat8(int v) { return v > 127 ? 127 : v < -128 ? -128 : (int8_t)v; }
static uint8_t satu8(int v) { return v > 255 ? 255 : v < 0 ? 0 : (uint8_t)v; }
static int16_t sat16(int v)
{
	return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v;
}

static int64_t cvt_to_int(double v, bool is64, bool truncate)
{
	double r = truncate ? trunc(v) : nearbyint(v);

	if (is64) {
		if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0))
			return INT64_MIN;
		return (int64_t)r;
	}
	if (!(r >= -2147483648.0 && r < 2147483648.0))
		return INT32_MIN;
	return (int32_t)r;
}

static uint64_t compare_flags(double a, double b)
{
	if (isnan(a) || isnan(b))
		return X86_ZF | X86_PF | X86_CF;
	if (a < b)
		return X86_CF;
	if (a == b)
		return X86_ZF;
	return 0;
}

static bool cmp_pred(double a, double b, unsigned pred)
{
	bool un = isnan(a) || isnan(b);

	switch (pred & 7) {
	case 0: return !un && a == b;
	case 1: return !un && a < b;
	case 2: return !un && a <= b;
	case 3: return un;
	case 4: return un || a != b;
	case 5: return un || !(a < b);
	case 6: return un || !(a <= b);
	default: return !un;
	}
}

/* Arithmetic on one lane pair; op = 0x51, 0x58.. 0x5f. */
static double arith(unsigned op, double a, double b)
{
	switch (op) {
	case 0x51: return sqrt(b);
	case 0x58: return a + b;
	case 0x59: return a * b;
	case 0x5c: return a - b;
	case 0x5d: return (a < b) ? a : b;	/* SSE: else second operand */
	case 0x5e: return a / b;
	default: return (a > b) ? a : b;
	}
}

/* MIN/MAX pick one operand bit for bit (a signaling NaN stays
 * signaling), so they must not go through a float conversion. */
static void min_max(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		    unsigned pfx)
{
	bool is_min = op == 0x5d;
	unsigned lanes = pfx == X86_PFX_NONE ? 4 : pfx == X86_PFX_66 ? 2 : 1;

	for (unsigned n = 0; n < lanes; n++) {
		bool take_d;

		if (pfx == X86_PFX_NONE || pfx == X86_PFX_F3) {
			float a = d->s[n], b = s->s[n];

			take_d = is_min ? a < b : a > b;
			if (!take_d)
				d->d[n] = s->d[n];
		} else {
			double a = d->sd[n], b = s->sd[n];

			take_d = is_min ? a < b : a > b;
			if (!take_d)
				d->q[n] = s->q[n];
		}
	}
}

static void float_op(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		     unsigned pfx, unsigned imm)
{
	unsigned n;

	if (op == 0x5d || op == 0x5f) {
		min_max(d, s, op, pfx);
		return;
	}

	switch (pfx) {
	case X86_PFX_NONE:	/* ps */
		for (n = 0; n < 4; n++)
			if (op == 0xc2)
				d->d[n] = cmp_pred(d->s[n], s->s[n], imm) ? ~0u : 0;
			else
				d->s[n] = (float)arith(op, d->s[n], s->s[n]);
		break;
	case X86_PFX_66:	/* pd */
		for (n = 0; n < 2; n++)
			if (op == 0xc2)
				d->q[n] = cmp_pred(d->sd[n], s->sd[n], imm) ?
					  ~0ull : 0;
			else
				d->sd[n] = arith(op, d->sd[n], s->sd[n]);
		break;
	case X86_PFX_F3:	/* ss */
		if (op == 0xc2)
			d->d[0] = cmp_pred(d->s[0], s->s[0], imm) ? ~0u : 0;
		else
			d->s[0] = (float)arith(op, d->s[0], s->s[0]);
		break;
	default:		/* sd */
		if (op == 0xc2)
			d->q[0] = cmp_pred(d->sd[0], s->sd[0], imm) ? ~0ull : 0;
		else
			d->sd[0] = arith(op, d->sd[0], s->sd[0]);
		break;
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
	union x86_xmm r = *d;

	if (op == 0x5a) {
		switch (pfx) {
		case X86_PFX_F3: r.sd[0] = s->s[0]; break;
		case X86_PFX_F2: r.s[0] = (float)s->sd[0]; break;
		case X86_PFX_NONE:
			r.sd[0] = s->s[0];
			r.sd[1] = s->s[1];
			break;
		default:
			r.s[0] = (float)s->sd[0];
			r.s[1] = (float)s->sd[1];
			r.q[1] = 0;
			break;
		}
	} else if (op == 0x5b) {
		for (int i = 0; i < 4; i++) {
			if (pfx == X86_PFX_NONE)
				r.s[i] = (float)(int32_t)s->d[i];
			else
				r.d[i] = (uint32_t)cvt_to_int(s->s[i], false,
							      pfx == X86_PFX_F3);
		}
	} else {	/* 0xe6 */
		if (pfx == X86_PFX_F3) {
			r.sd[0] = (int32_t)s->d[0];
			r.sd[1] = (int32_t)s->d[1];
		} else {
			r.d[0] = (uint32_t)cvt_to_int(s->sd[0], false,
						      pfx == X86_PFX_66);
			r.d[1] = (uint32_t)cvt_to_int(s->sd[1], false,
						      pfx == X86_PFX_66);
			r.q[1] = 0;
		}
	}
	*d = r;
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
		if (pfx == X86_PFX_F3)
			return (uint64_t)cvt_to_int(s->s[0], w, op == 0x2c);
		return (uint64_t)cvt_to_int(s->sd[0], w, op == 0x2c);
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
			d->s[0] = (float)sv;
		else
			d->sd[0] = (double)sv;
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

uint64_t x86_helper_sse(struct x86_cpu *env, uint64_t key, uint64_t d,
			uint64_t s)
{
	unsigned op = key & 0xff, pfx = (key >> 8) & 3;
	unsigned imm = (key >> 16) & 0xff, sub = (key >> 12) & 7;
	bool w = (key >> 10) & 1, mem = MEM_SRC(key);
	union x86_xmm *xd = &env->xmm[d & 15];
	const union x86_xmm *xs = &env->xmm[s <= 16 ? s : 16];

	if (key & SSE_KEY_MMX)
		return helper_mmx(env, key, d, s);
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
	case 0x70: case 0xc6:
		shuffle(xd, xs, op, pfx, imm);
		return 0;
	case 0x2e: case 0x2f:
		if (pfx == X86_PFX_66)
			return compare_flags(xd->sd[0], xs->sd[0]);
		return compare_flags(xd->s[0], xs->s[0]);
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

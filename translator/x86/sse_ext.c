/* SSE3, SSSE3, SSE4.1 and SSE4.2 semantics on env->xmm.  See sse.h.
 *
 * Integer operations are portable C (the host need not have these
 * extensions).  Floating point runs as C float/double arithmetic while
 * x86_helper_sse has the guest's MXCSR (rounding, DAZ/FTZ) loaded in
 * the host, so results and exception flags follow the guest's MXCSR.
 */
#include <stdbool.h>
#include <string.h>
#include <xmmintrin.h>

#include "translator/x86/decode.h"
#include "translator/x86/sse.h"

#define MXCSR_IE 0x01u
#define MXCSR_PE 0x20u

static int16_t sat16(int32_t v)
{
	return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v;
}

static uint16_t satu16(int32_t v)
{
	return v > 65535 ? 65535 : v < 0 ? 0 : (uint16_t)v;
}

/* ---- SSE3 (0F map) ---- */

void x86_sse3_op(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		 unsigned pfx)
{
	union x86_xmm r = *d;

	switch (op) {
	case 0xd0:	/* addsubps (F2) / addsubpd (66) */
		if (pfx == X86_PFX_F2) {
			r.s[0] = x86_fsub_s(d->s[0], s->s[0]);
			r.s[1] = x86_fadd_s(d->s[1], s->s[1]);
			r.s[2] = x86_fsub_s(d->s[2], s->s[2]);
			r.s[3] = x86_fadd_s(d->s[3], s->s[3]);
		} else {
			r.sd[0] = x86_fsub_d(d->sd[0], s->sd[0]);
			r.sd[1] = x86_fadd_d(d->sd[1], s->sd[1]);
		}
		break;
	case 0x7c: case 0x7d: {	/* hadd / hsub */
		float (*fs)(float, float) = op == 0x7d ? x86_fsub_s : x86_fadd_s;
		double (*fd)(double, double) = op == 0x7d ? x86_fsub_d :
							     x86_fadd_d;

		if (pfx == X86_PFX_F2) {
			r.s[0] = fs(d->s[0], d->s[1]);
			r.s[1] = fs(d->s[2], d->s[3]);
			r.s[2] = fs(s->s[0], s->s[1]);
			r.s[3] = fs(s->s[2], s->s[3]);
		} else {
			r.sd[0] = fd(d->sd[0], d->sd[1]);
			r.sd[1] = fd(s->sd[0], s->sd[1]);
		}
		break;
	}
	case 0x12:	/* movddup (F2) / movsldup (F3) */
		if (pfx == X86_PFX_F2) {
			r.q[0] = r.q[1] = s->q[0];
		} else {
			r.d[0] = r.d[1] = s->d[0];
			r.d[2] = r.d[3] = s->d[2];
		}
		break;
	case 0x16:	/* movshdup */
		r.d[0] = r.d[1] = s->d[1];
		r.d[2] = r.d[3] = s->d[3];
		break;
	default:	/* f0: lddqu */
		r = *s;
		break;
	}
	*d = r;
}

/* ---- SSSE3 (0F38 00..1E, 0F3A 0F); N is 8 (MMX) or 16 bytes ---- */

static int32_t hop16(unsigned op, int16_t a, int16_t b)
{
	switch (op) {
	case 0x01: return (int16_t)(a + b);
	case 0x03: return sat16(a + b);
	case 0x05: return (int16_t)(a - b);
	default: return sat16(a - b);	/* 0x07 */
	}
}

static void horizontal(union x86_xmm *r, const union x86_xmm *d,
		       const union x86_xmm *s, unsigned op, unsigned n)
{
	if (op == 0x02 || op == 0x06) {		/* dwords */
		unsigned half = n / 8;

		for (unsigned i = 0; i < half; i++) {
			r->d[i] = op == 0x02 ? d->d[2 * i] + d->d[2 * i + 1] :
					       d->d[2 * i] - d->d[2 * i + 1];
			r->d[half + i] = op == 0x02 ?
				s->d[2 * i] + s->d[2 * i + 1] :
				s->d[2 * i] - s->d[2 * i + 1];
		}
		return;
	}
	for (unsigned i = 0, half = n / 4; i < half; i++) {
		r->w[i] = (uint16_t)hop16(op, (int16_t)d->w[2 * i],
					  (int16_t)d->w[2 * i + 1]);
		r->w[half + i] = (uint16_t)hop16(op, (int16_t)s->w[2 * i],
						 (int16_t)s->w[2 * i + 1]);
	}
}

static void sign_lanes(union x86_xmm *r, const union x86_xmm *d,
		       const union x86_xmm *s, unsigned es, unsigned n)
{
	for (unsigned i = 0; i < n / es; i++) {
		int64_t a = 0, b = 0;
		uint64_t v;

		memcpy(&a, &d->b[i * es], es);
		memcpy(&b, &s->b[i * es], es);
		a = (int64_t)((uint64_t)a << (64 - 8 * es)) >> (64 - 8 * es);
		b = (int64_t)((uint64_t)b << (64 - 8 * es)) >> (64 - 8 * es);
		v = (uint64_t)(b < 0 ? -a : b == 0 ? 0 : a);
		memcpy(&r->b[i * es], &v, es);
	}
}

static void abs_lanes(union x86_xmm *r, const union x86_xmm *s, unsigned es,
		      unsigned n)
{
	for (unsigned i = 0; i < n / es; i++) {
		int64_t b = 0;
		uint64_t v;

		memcpy(&b, &s->b[i * es], es);
		b = (int64_t)((uint64_t)b << (64 - 8 * es)) >> (64 - 8 * es);
		v = (uint64_t)(b < 0 ? -b : b);
		memcpy(&r->b[i * es], &v, es);
	}
}

static void palignr(union x86_xmm *r, const union x86_xmm *d,
		    const union x86_xmm *s, unsigned imm, unsigned n)
{
	uint8_t t[32];

	memcpy(t, s->b, n);
	memcpy(t + n, d->b, n);
	for (unsigned i = 0; i < n; i++)
		r->b[i] = imm + i < 2 * n ? t[imm + i] : 0;
}

/* SSSE3 op on N bytes of D and S (0F38 opcode, or 0x0f for palignr). */
void x86_ssse3_op(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		  unsigned imm, unsigned n)
{
	union x86_xmm r = *d;
	unsigned i;

	switch (op) {
	case 0x00:	/* pshufb */
		for (i = 0; i < n; i++)
			r.b[i] = s->b[i] & 0x80 ? 0 : d->b[s->b[i] & (n - 1)];
		break;
	case 0x01: case 0x02: case 0x03: case 0x05: case 0x06: case 0x07:
		horizontal(&r, d, s, op, n);
		break;
	case 0x04:	/* pmaddubsw */
		for (i = 0; i < n / 2; i++)
			r.w[i] = (uint16_t)sat16(
				d->b[2 * i] * (int8_t)s->b[2 * i] +
				d->b[2 * i + 1] * (int8_t)s->b[2 * i + 1]);
		break;
	case 0x08: case 0x09: case 0x0a:	/* psign */
		sign_lanes(&r, d, s, 1u << (op - 0x08), n);
		break;
	case 0x0b:	/* pmulhrsw */
		for (i = 0; i < n / 2; i++) {
			int32_t p = (int16_t)d->w[i] * (int16_t)s->w[i];

			r.w[i] = (uint16_t)(((p >> 14) + 1) >> 1);
		}
		break;
	case 0x1c: case 0x1d: case 0x1e:	/* pabs */
		abs_lanes(&r, s, 1u << (op - 0x1c), n);
		break;
	default:	/* 0x0f: palignr */
		palignr(&r, d, s, imm, n);
		break;
	}
	memcpy(d, &r, n);
}

bool x86_ssse3_valid(unsigned map, unsigned op)
{
	if (map == X86_MAP_0F3A)
		return op == 0x0f;
	return op <= 0x0b || (op >= 0x1c && op <= 0x1e);
}

/* ---- SSE4.1 / SSE4.2 integer (0F38 map, 66 prefix) ---- */

static int64_t lane_s(const union x86_xmm *x, unsigned es, unsigned i)
{
	int64_t v = 0;

	memcpy(&v, &x->b[i * es], es);
	return (int64_t)((uint64_t)v << (64 - 8 * es)) >> (64 - 8 * es);
}

static uint64_t lane_u(const union x86_xmm *x, unsigned es, unsigned i)
{
	uint64_t v = 0;

	memcpy(&v, &x->b[i * es], es);
	return v;
}

static void set_lane(union x86_xmm *x, unsigned es, unsigned i, uint64_t v)
{
	memcpy(&x->b[i * es], &v, es);
}

/* pmovsx/pmovzx 0x20..0x25 / 0x30..0x35: source and destination sizes. */
static void pmov_ext(union x86_xmm *r, const union x86_xmm *s, unsigned op)
{
	static const uint8_t from[6] = { 1, 1, 1, 2, 2, 4 };
	static const uint8_t to[6] = { 2, 4, 8, 4, 8, 8 };
	unsigned k = op & 0xf, n = 16 / to[k];
	bool sign = op < 0x30;
	union x86_xmm src = *s;

	for (unsigned i = 0; i < n; i++)
		set_lane(r, to[k], i, sign ? (uint64_t)lane_s(&src, from[k], i) :
					     lane_u(&src, from[k], i));
}

static void minmax(union x86_xmm *r, const union x86_xmm *s, unsigned op)
{
	/* 38 pminsb 39 pminsd 3a pminuw 3b pminud, 3c..3f the maxima. */
	static const uint8_t es[4] = { 1, 4, 2, 4 };
	unsigned k = op & 3, n = 16 / es[k];
	bool is_signed = k < 2, is_max = op >= 0x3c;

	for (unsigned i = 0; i < n; i++) {
		bool s_less = is_signed ? lane_s(s, es[k], i) < lane_s(r, es[k], i)
					: lane_u(s, es[k], i) < lane_u(r, es[k], i);
		bool s_more = is_signed ? lane_s(s, es[k], i) > lane_s(r, es[k], i)
					: lane_u(s, es[k], i) > lane_u(r, es[k], i);

		if (is_max ? s_more : s_less)
			set_lane(r, es[k], i, lane_u(s, es[k], i));
	}
}

/* Returns EFLAGS for ptest, 0 otherwise. */
uint64_t x86_sse41_op38(union x86_xmm *d, const union x86_xmm *s,
			const union x86_xmm *xmm0, unsigned op)
{
	union x86_xmm r = *d;
	unsigned i;

	switch (op) {
	case 0x10:	/* pblendvb */
		for (i = 0; i < 16; i++)
			if (xmm0->b[i] & 0x80)
				r.b[i] = s->b[i];
		break;
	case 0x14:	/* blendvps */
		for (i = 0; i < 4; i++)
			if (xmm0->d[i] >> 31)
				r.d[i] = s->d[i];
		break;
	case 0x15:	/* blendvpd */
		for (i = 0; i < 2; i++)
			if (xmm0->q[i] >> 63)
				r.q[i] = s->q[i];
		break;
	case 0x17: {	/* ptest */
		uint64_t f = 0;

		if (((d->q[0] & s->q[0]) | (d->q[1] & s->q[1])) == 0)
			f |= X86_ZF;
		if (((~d->q[0] & s->q[0]) | (~d->q[1] & s->q[1])) == 0)
			f |= X86_CF;
		return f;
	}
	case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25:
	case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
		pmov_ext(&r, s, op);
		break;
	case 0x28:	/* pmuldq */
		for (i = 0; i < 2; i++)
			r.q[i] = (uint64_t)((int64_t)(int32_t)d->d[2 * i] *
					    (int32_t)s->d[2 * i]);
		break;
	case 0x29:	/* pcmpeqq */
		for (i = 0; i < 2; i++)
			r.q[i] = d->q[i] == s->q[i] ? ~0ull : 0;
		break;
	case 0x2a:	/* movntdqa */
		r = *s;
		break;
	case 0x2b:	/* packusdw */
		for (i = 0; i < 4; i++) {
			r.w[i] = satu16((int32_t)d->d[i]);
			r.w[4 + i] = satu16((int32_t)s->d[i]);
		}
		break;
	case 0x37:	/* pcmpgtq */
		for (i = 0; i < 2; i++)
			r.q[i] = (int64_t)d->q[i] > (int64_t)s->q[i] ? ~0ull : 0;
		break;
	case 0x38: case 0x39: case 0x3a: case 0x3b:
	case 0x3c: case 0x3d: case 0x3e: case 0x3f:
		minmax(&r, s, op);
		break;
	case 0x40:	/* pmulld */
		for (i = 0; i < 4; i++)
			r.d[i] = d->d[i] * s->d[i];
		break;
	default: {	/* 0x41: phminposuw */
		unsigned best = 0;

		for (i = 1; i < 8; i++)
			if (s->w[i] < s->w[best])
				best = i;
		memset(&r, 0, sizeof(r));
		r.w[0] = s->w[best];
		r.w[1] = (uint16_t)best;
		break;
	}
	}
	*d = r;
	return 0;
}

bool x86_sse41_valid38(unsigned op)
{
	return op == 0x10 || op == 0x14 || op == 0x15 || op == 0x17 ||
	       (op >= 0x20 && op <= 0x25) || (op >= 0x28 && op <= 0x2b) ||
	       (op >= 0x30 && op <= 0x35) || (op >= 0x37 && op <= 0x41);
}

/* ---- SSE4.1 0F3A: round, blend, dp, mpsadbw, insert/extract ---- */

/* ROUNDPS/PD/SS/SD on one lane in place: MODE is imm8[2:0] (bit 2:
 * MXCSR.RC).  Runs with the guest MXCSR loaded; only IE and (unless
 * imm8[3]) PE may be signalled, not DE.  Values of magnitude 2^23
 * (2^52) or more are integers already; smaller ones are rounded by
 * adding and subtracting that power of two in the chosen mode. */
static void round_ps_lane(float *x, unsigned imm)
{
	uint32_t saved = _mm_getcsr(), m = saved;
	float t;
	float v = *x;

	if (!(imm & 4))
		m = (m & ~0x6000u) | (imm & 3) << 13;
	_mm_setcsr(m);
	if (v != v) {
		v = x86_fadd_s(v, v);	/* quiets an SNaN, raises IE */
	} else if (__builtin_fabsf(v) < 8388608.0f) {
		t = v >= 0 ? x86_fadd_s(v, 8388608.0f) :
			     x86_fsub_s(v, 8388608.0f);
		t = v >= 0 ? x86_fsub_s(t, 8388608.0f) :
			     x86_fadd_s(t, 8388608.0f);
		v = __builtin_copysignf(t, v);
	}
	m = _mm_getcsr();
	_mm_setcsr(saved | (m & MXCSR_IE) | (imm & 8 ? 0 : m & MXCSR_PE));
	*x = v;
}

static void round_pd_lane(double *x, unsigned imm)
{
	uint32_t saved = _mm_getcsr(), m = saved;
	double t;
	double v = *x, big = 4503599627370496.0;

	if (!(imm & 4))
		m = (m & ~0x6000u) | (imm & 3) << 13;
	_mm_setcsr(m);
	if (v != v) {
		v = x86_fadd_d(v, v);
	} else if (__builtin_fabs(v) < big) {
		t = v >= 0 ? x86_fadd_d(v, big) : x86_fsub_d(v, big);
		t = v >= 0 ? x86_fsub_d(t, big) : x86_fadd_d(t, big);
		v = __builtin_copysign(t, v);
	}
	m = _mm_getcsr();
	_mm_setcsr(saved | (m & MXCSR_IE) | (imm & 8 ? 0 : m & MXCSR_PE));
	*x = v;
}

static float dp_mul(float a, float b, bool on)
{
	return on ? x86_fmul_s(a, b) : 0.0f;
}

/* DPPS/DPPD: the hardware adds the products in a lane-dependent order
 * (visible only in which NaN propagates): for DPPS, output lane i adds
 * the pairs (t0,t1) and (t2,t3) with the odd-indexed product first for
 * even i, then adds the pair sums with the one of its own half first;
 * DPPD lane 1 adds t1 + t0. */
static void dpps(union x86_xmm *d, const union x86_xmm *s, unsigned imm)
{
	float t[4], r[4];

	for (unsigned i = 0; i < 4; i++)
		t[i] = dp_mul(d->s[i], s->s[i], imm & (0x10u << i));
	for (unsigned i = 0; i < 4; i++) {
		unsigned odd = i & 1;
		float s01 = x86_fadd_s(t[1 - odd], t[odd]);
		float s23 = x86_fadd_s(t[3 - odd], t[2 + odd]);

		r[i] = i < 2 ? x86_fadd_s(s01, s23) : x86_fadd_s(s23, s01);
	}
	for (unsigned i = 0; i < 4; i++)
		d->s[i] = imm & (1u << i) ? r[i] : 0.0f;
}

static void dppd(union x86_xmm *d, const union x86_xmm *s, unsigned imm)
{
	double t0 = imm & 0x10 ? x86_fmul_d(d->sd[0], s->sd[0]) : 0.0;
	double t1 = imm & 0x20 ? x86_fmul_d(d->sd[1], s->sd[1]) : 0.0;
	double r0 = x86_fadd_d(t0, t1), r1 = x86_fadd_d(t1, t0);

	d->sd[0] = imm & 1 ? r0 : 0.0;
	d->sd[1] = imm & 2 ? r1 : 0.0;
}

static void mpsadbw(union x86_xmm *d, const union x86_xmm *s, unsigned imm)
{
	unsigned aoff = ((imm >> 2) & 1) * 4, boff = (imm & 3) * 4;
	union x86_xmm r;

	for (unsigned i = 0; i < 8; i++) {
		unsigned sum = 0;

		for (unsigned k = 0; k < 4; k++) {
			int diff = d->b[aoff + i + k] - s->b[boff + k];

			sum += (unsigned)(diff < 0 ? -diff : diff);
		}
		r.w[i] = (uint16_t)sum;
	}
	*d = r;
}

/* 0F3A ops with an xmm destination.  For pinsr*, V is the source value. */
void x86_sse41_op3a(union x86_xmm *d, const union x86_xmm *s, unsigned op,
		    unsigned imm, bool w, bool mem, uint64_t v)
{
	unsigned i;

	switch (op) {
	case 0x08: case 0x09: {
		union x86_xmm r = *s;

		for (i = 0; i < (op == 0x08 ? 4u : 2u); i++)
			if (op == 0x08)
				round_ps_lane(&r.s[i], imm);
			else
				round_pd_lane(&r.sd[i], imm);
		*d = r;
		break;
	}
	case 0x0a:
		d->d[0] = s->d[0];
		round_ps_lane(&d->s[0], imm);
		break;
	case 0x0b:
		d->q[0] = s->q[0];
		round_pd_lane(&d->sd[0], imm);
		break;
	case 0x0c:
		for (i = 0; i < 4; i++)
			if (imm & (1u << i))
				d->d[i] = s->d[i];
		break;
	case 0x0d:
		for (i = 0; i < 2; i++)
			if (imm & (1u << i))
				d->q[i] = s->q[i];
		break;
	case 0x0e:
		for (i = 0; i < 8; i++)
			if (imm & (1u << i))
				d->w[i] = s->w[i];
		break;
	case 0x20:
		d->b[imm & 15] = (uint8_t)v;
		break;
	case 0x21: {	/* insertps */
		uint32_t x = mem ? s->d[0] : s->d[(imm >> 6) & 3];

		d->d[(imm >> 4) & 3] = x;
		for (i = 0; i < 4; i++)
			if (imm & (1u << i))
				d->d[i] = 0;
		break;
	}
	case 0x22:
		if (w)
			d->q[imm & 1] = v;
		else
			d->d[imm & 3] = (uint32_t)v;
		break;
	case 0x40:
		dpps(d, s, imm);
		break;
	case 0x41:
		dppd(d, s, imm);
		break;
	default:	/* 0x42 */
		mpsadbw(d, s, imm);
		break;
	}
}

/* pextrb/w/d/q, extractps: the element of S. */
uint64_t x86_sse41_extract(const union x86_xmm *s, unsigned op, unsigned imm,
			   bool w)
{
	switch (op) {
	case 0x14: return s->b[imm & 15];
	case 0x15: return s->w[imm & 7];
	case 0x16: return w ? s->q[imm & 1] : s->d[imm & 3];
	default: return s->d[imm & 3];	/* 0x17 */
	}
}

bool x86_sse41_valid3a(unsigned op)
{
	return (op >= 0x08 && op <= 0x0f) || (op >= 0x14 && op <= 0x17) ||
	       (op >= 0x20 && op <= 0x22) || (op >= 0x40 && op <= 0x42) ||
	       (op >= 0x60 && op <= 0x63);
}

/* ---- SSE4.2 string compares (pcmpestri/estrm/istri/istrm) ---- */

static int64_t str_elem(const union x86_xmm *x, unsigned imm, unsigned i)
{
	switch (imm & 3) {
	case 0: return x->b[i];
	case 1: return x->w[i];
	case 2: return (int8_t)x->b[i];
	default: return (int16_t)x->w[i];
	}
}

/* Elements of X as integers (signed or unsigned per imm8[1]). */
static void str_elems(const union x86_xmm *x, unsigned imm, unsigned n,
		      int32_t *e)
{
	for (unsigned i = 0; i < n; i++)
		e[i] = (int32_t)str_elem(x, imm, i);
}

static unsigned implicit_len(const int32_t *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (e[i] == 0)
			return i;
	return n;
}

static unsigned explicit_len(uint64_t v, bool w, unsigned n)
{
	int64_t l = w ? (int64_t)v : (int32_t)v;
	uint64_t a = l < 0 ? 0 - (uint64_t)l : (uint64_t)l;

	return a > n ? n : (unsigned)a;
}

/* IntRes1 of the aggregation in imm8[3:2] over needle A (length LA) and
 * haystack B (length LB), with the SDM's rules for invalid elements. */
static unsigned aggregate(const int32_t *a, const int32_t *b, unsigned imm,
			  unsigned n, unsigned la, unsigned lb)
{
	unsigned res = 0, i, j, k;

	for (j = 0; j < n; j++) {
		bool bit = false;

		switch ((imm >> 2) & 3) {
		case 0:		/* equal any */
			for (i = 0; i < la && j < lb && !bit; i++)
				bit = a[i] == b[j];
			break;
		case 1:		/* ranges */
			for (i = 0; i + 1 < la && j < lb && !bit; i += 2)
				bit = a[i] <= b[j] && b[j] <= a[i + 1];
			break;
		case 2:		/* equal each */
			if (j >= la && j >= lb)
				bit = true;
			else if (j < la && j < lb)
				bit = a[j] == b[j];
			break;
		default:	/* equal ordered */
			bit = true;
			for (k = 0; k < n - j && k < la && bit; k++)
				bit = j + k < lb && a[k] == b[j + k];
			break;
		}
		res |= (unsigned)bit << j;
	}
	return res;
}

/* KEY as for x86_helper_sse with the destination register (the needle)
 * in bits 32..35; S the xmm index of the haystack; RAX/RDX the explicit
 * lengths.  Writes xmm0 (mask forms) and returns the flags, and the
 * index (index forms) in bits 32..39. */
uint64_t x86_sse42_pcmpstr(struct x86_cpu *env, unsigned op, unsigned imm,
			   bool w, unsigned d, unsigned s, uint64_t rax,
			   uint64_t rdx)
{
	const union x86_xmm *a = &env->xmm[d & 15];
	const union x86_xmm *b = &env->xmm[s <= 16 ? s : 16];
	unsigned n = imm & 1 ? 8 : 16, mask = (1u << n) - 1, la, lb, r1, r2;
	bool expl = op == 0x60 || op == 0x61;
	int32_t ea[16], eb[16];
	uint64_t flags = 0, index;
	union x86_xmm m;

	str_elems(a, imm, n, ea);
	str_elems(b, imm, n, eb);
	la = expl ? explicit_len(rax, w, n) : implicit_len(ea, n);
	lb = expl ? explicit_len(rdx, w, n) : implicit_len(eb, n);
	r1 = aggregate(ea, eb, imm, n, la, lb);

	switch ((imm >> 4) & 3) {
	case 1: r2 = ~r1 & mask; break;
	case 3: r2 = (r1 ^ ((1u << lb) - 1)) & mask; break;
	default: r2 = r1; break;
	}
	if (r2)
		flags |= X86_CF;
	if (lb < n)
		flags |= X86_ZF;
	if (la < n)
		flags |= X86_SF;
	if (r2 & 1)
		flags |= X86_OF;
	if (op & 1) {		/* index */
		if (!r2)
			index = n;
		else if (imm & 0x40)
			index = 31u - (unsigned)__builtin_clz(r2);
		else
			index = (unsigned)__builtin_ctz(r2);
		return flags | index << 32;
	}
	memset(&m, 0, sizeof(m));
	if (!(imm & 0x40))
		m.w[0] = (uint16_t)r2;
	else
		for (unsigned i = 0; i < n; i++)
			if (r2 >> i & 1)
				set_lane(&m, 16 / n, i, ~0ull);
	env->xmm[0] = m;
	return flags;
}

/* ---- CRC32 (SSE4.2): Castagnoli polynomial, reflected ---- */

uint64_t x86_helper_crc32(uint64_t crc, uint64_t v, uint64_t size)
{
	uint32_t c = (uint32_t)crc;

	for (unsigned i = 0; i < size; i++) {
		c ^= (uint8_t)(v >> (8 * i));
		for (unsigned k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return c;
}

/* Out-of-line x86 semantics.  See helpers.h. */
#include <stdbool.h>
#include <string.h>
#include <x86intrin.h>

#include "translator/x86/helpers.h"

uint64_t x86_guest_base;
__thread volatile int x86_helper_in_guest_memory;

static uint64_t size_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static uint64_t szp_flags(uint64_t res, unsigned size)
{
	uint64_t f = 0;

	res &= size_mask(size);
	if (res == 0)
		f |= X86_ZF;
	if (res >> (size * 8 - 1))
		f |= X86_SF;
	if (!__builtin_parity((unsigned)(res & 0xff)))
		f |= X86_PF;
	return f;
}

static uint64_t env_eflags(const struct x86_cpu *env)
{
	return x86_compute_eflags(env->cc_op, env->cc_dst, env->cc_src,
				  env->cc_src2);
}

static void set_eflags(struct x86_cpu *env, uint64_t f)
{
	env->cc_op = CC_OP(CC_EFLAGS, 3);
	env->cc_src = f & X86_ARITH_FLAGS;
	env->cc_dst = 0;
	env->cc_src2 = 0;
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

static uint64_t sext(uint64_t v, unsigned size)
{
	unsigned s = 64 - size * 8;

	return (uint64_t)((int64_t)(v << s) >> s);
}

static uint64_t rotate(struct x86_cpu *env, unsigned op, unsigned size,
		       uint64_t v, unsigned n)
{
	unsigned bits = size * 8;
	uint64_t mask = size_mask(size), msb = 1ull << (bits - 1);
	uint64_t f = env_eflags(env) & ~(uint64_t)(X86_CF | X86_OF);
	uint64_t cf = env_eflags(env) & X86_CF, of = 0, r = v & mask;

	switch (op) {
	case 0:	/* rol */
		n %= bits;
		if (n)
			r = ((r << n) | (r >> (bits - n))) & mask;
		cf = r & 1;
		of = !!(r & msb) ^ cf;
		break;
	case 1:	/* ror */
		n %= bits;
		if (n)
			r = ((r >> n) | (r << (bits - n))) & mask;
		cf = !!(r & msb);
		of = cf ^ !!(r & (msb >> 1));
		break;
	case 2:	/* rcl */
		n %= bits + 1;
		for (unsigned i = 0; i < n; i++) {
			uint64_t out = !!(r & msb);

			r = ((r << 1) | cf) & mask;
			cf = out;
		}
		of = !!(r & msb) ^ cf;
		break;
	default: /* rcr */
		n %= bits + 1;
		of = !!(r & msb) ^ cf;
		for (unsigned i = 0; i < n; i++) {
			uint64_t out = r & 1;

			r = (r >> 1) | (cf ? msb : 0);
			cf = out;
		}
		break;
	}
	set_eflags(env, f | (cf ? X86_CF : 0) | (of ? X86_OF : 0));
	return r;
}

uint64_t x86_helper_shift(struct x86_cpu *env, uint64_t op_size, uint64_t v,
			  uint64_t count)
{
	unsigned op = op_size & 7, size = (op_size >> 8) & 15;
	unsigned n = count & (size == 8 ? 63 : 31);
	uint64_t mask = size_mask(size), r, src;

	v &= mask;
	if (n == 0)
		return v;
	switch (op) {
	case 0: case 1: case 2: case 3:
		return rotate(env, op, size, v, n);
	case 4: case 6:
		src = v << (n - 1);
		r = (src << 1) & mask;
		set_cc(env, CC_SHL, size, r, src & mask, 0);
		return r;
	case 5:
		src = v >> (n - 1);
		r = src >> 1;
		set_cc(env, CC_SHR, size, r, src, v);
		return r;
	default:
		src = (uint64_t)((int64_t)sext(v, size) >> (n - 1));
		r = (uint64_t)((int64_t)src >> 1) & mask;
		set_cc(env, CC_SAR, size, r, src & mask, 0);
		return r;
	}
}

uint64_t x86_helper_shd(struct x86_cpu *env, uint64_t size_dir,
			uint64_t dst, uint64_t src, uint64_t count)
{
	unsigned size = size_dir & 15, bits = size * 8;
	bool right = size_dir >> 8;
	unsigned n = count & (size == 8 ? 63 : 31);
	uint64_t mask = size_mask(size), msb = 1ull << (bits - 1), r, cf;
	unsigned __int128 x;

	dst &= mask;
	src &= mask;
	if (n == 0)
		return dst;
	if (right) {
		x = ((unsigned __int128)src << bits) | dst;
		r = (uint64_t)(x >> n) & mask;
		cf = (uint64_t)(x >> (n - 1)) & 1;
	} else {
		x = ((unsigned __int128)dst << bits) | src;
		r = (uint64_t)(x >> (bits - n)) & mask;
		cf = (uint64_t)(x >> (2 * bits - n)) & 1;
	}
	set_eflags(env, szp_flags(r, size) | (cf ? X86_CF : 0) |
			(((r ^ dst) & msb) ? X86_OF : 0));
	return r;
}

uint64_t x86_helper_mul(struct x86_cpu *env, uint64_t size_signed,
			uint64_t v)
{
	unsigned size = size_signed & 15;
	bool is_signed = size_signed >> 8;
	uint64_t *rax = &env->regs[X86_RAX], *rdx = &env->regs[X86_RDX];
	uint64_t lo, hi, ovf;

	if (size == 8) {
		if (is_signed) {
			__int128 p = (__int128)(int64_t)*rax * (int64_t)v;

			lo = (uint64_t)p;
			hi = (uint64_t)(p >> 64);
			ovf = p != (__int128)(int64_t)lo;
		} else {
			unsigned __int128 p = (unsigned __int128)*rax * v;

			lo = (uint64_t)p;
			hi = (uint64_t)(p >> 64);
			ovf = hi != 0;
		}
		*rax = lo;
		*rdx = hi;
	} else {
		unsigned bits = size * 8;
		uint64_t a = *rax & size_mask(size), p;

		v &= size_mask(size);
		if (is_signed) {
			p = (uint64_t)((int64_t)sext(a, size) *
				       (int64_t)sext(v, size));
			ovf = sext(p & size_mask(size), size) != p;
		} else {
			p = a * v;
			ovf = (p >> bits) != 0;
		}
		lo = p & size_mask(size);
		hi = (p >> bits) & size_mask(size);
		if (size == 1) {
			*rax = (*rax & ~0xffffull) | (p & 0xffff);
		} else if (size == 2) {
			*rax = (*rax & ~0xffffull) | lo;
			*rdx = (*rdx & ~0xffffull) | hi;
		} else {
			*rax = lo;
			*rdx = hi;
		}
	}
	set_cc(env, CC_MUL, size, lo, ovf, 0);
	return 0;
}

static uint64_t div_unsigned(struct x86_cpu *env, unsigned size, uint64_t v)
{
	uint64_t *rax = &env->regs[X86_RAX], *rdx = &env->regs[X86_RDX];
	uint64_t mask = size_mask(size);
	unsigned __int128 n;
	uint64_t q, r;

	v &= mask;
	if (v == 0)
		return 1;
	if (size == 8 && *rdx == 0) {	/* common case: no 128-bit divide */
		q = *rax / v;
		r = *rax % v;
		*rax = q;
		*rdx = r;
		return 0;
	}
	if (size == 1)
		n = *rax & 0xffff;
	else if (size == 8)
		n = (unsigned __int128)*rdx << 64 | *rax;
	else
		n = ((*rdx & mask) << (size * 8)) | (*rax & mask);
	if (n / v > mask)
		return 1;
	q = (uint64_t)(n / v);
	r = (uint64_t)(n % v);
	if (size == 1) {
		*rax = (*rax & ~0xffffull) | q | r << 8;
	} else if (size == 2) {
		*rax = (*rax & ~mask) | q;
		*rdx = (*rdx & ~mask) | r;
	} else {
		*rax = q;
		*rdx = r;
	}
	return 0;
}

static uint64_t div_signed(struct x86_cpu *env, unsigned size, uint64_t v)
{
	uint64_t *rax = &env->regs[X86_RAX], *rdx = &env->regs[X86_RDX];
	uint64_t mask = size_mask(size);
	__int128 n, d = (int64_t)sext(v, size), q, r, lim;

	if (d == 0)
		return 1;
	/* Common case: rdx is the sign extension of rax (cqo). */
	if (size == 8 && *rdx == (uint64_t)((int64_t)*rax >> 63) &&
	    !((int64_t)*rax == INT64_MIN && (int64_t)v == -1)) {
		int64_t a = (int64_t)*rax, b = (int64_t)v;

		*rax = (uint64_t)(a / b);
		*rdx = (uint64_t)(a % b);
		return 0;
	}
	if (size == 1)
		n = (int16_t)*rax;
	else if (size == 8)
		n = (__int128)((unsigned __int128)*rdx << 64 | *rax);
	else
		n = (int64_t)sext(((*rdx & mask) << (size * 8)) |
				  (*rax & mask), size * 2);
	q = n / d;
	r = n % d;
	lim = (__int128)1 << (size * 8 - 1);
	if (q >= lim || q < -lim)
		return 1;
	if (size == 1) {
		*rax = (*rax & ~0xffffull) | ((uint64_t)q & 0xff) |
		       ((uint64_t)r & 0xff) << 8;
	} else if (size == 2) {
		*rax = (*rax & ~mask) | ((uint64_t)q & mask);
		*rdx = (*rdx & ~mask) | ((uint64_t)r & mask);
	} else {
		*rax = (uint64_t)q & mask;
		*rdx = (uint64_t)r & mask;
	}
	return 0;
}

uint64_t x86_helper_div(struct x86_cpu *env, uint64_t size_signed,
			uint64_t v)
{
	unsigned size = size_signed & 15;

	if (size_signed >> 8)
		return div_signed(env, size, v);
	return div_unsigned(env, size, v);
}

uint64_t x86_helper_imul64(struct x86_cpu *env, uint64_t a, uint64_t b)
{
	__int128 p = (__int128)(int64_t)a * (int64_t)b;
	uint64_t lo = (uint64_t)p;

	set_cc(env, CC_MUL, 8, lo, p != (__int128)(int64_t)lo, 0);
	return lo;
}

uint64_t x86_helper_get_rflags(struct x86_cpu *env)
{
	return x86_cpu_get_rflags(env);
}

uint64_t x86_helper_set_rflags(struct x86_cpu *env, uint64_t v)
{
	x86_cpu_set_rflags(env, v);
	return 0;
}

uint64_t x86_helper_rdtsc(struct x86_cpu *env)
{
	uint64_t t = __rdtsc();

	env->regs[X86_RAX] = (uint32_t)t;
	env->regs[X86_RDX] = t >> 32;
	return 0;
}

uint64_t x86_helper_rdtscp(struct x86_cpu *env)
{
	unsigned aux = 0;
	uint64_t t = __rdtscp(&aux);

	env->regs[X86_RAX] = (uint32_t)t;
	env->regs[X86_RDX] = t >> 32;
	env->regs[X86_RCX] = aux;
	return 0;
}

/* CPUID describes exactly what the translator implements: x87, MMX,
 * SSE..SSE4.2, POPCNT, LZCNT, CMPXCHG8B/16B, LAHF/SAHF, RDTSC(P), CLFLUSH,
 * FSGSBASE; no AVX, XSAVE, BMI, MOVBE, PCLMULQDQ, AES. */
uint32_t x86_cpuid_features_edx(void)
{
	return 1u << 0 |	/* x87 FPU */
	       1u << 4 |	/* TSC */
	       1u << 8 |	/* CMPXCHG8B */
	       1u << 15 |	/* CMOV */
	       1u << 19 |	/* CLFLUSH */
	       1u << 23 |	/* MMX */
	       1u << 24 |	/* FXSAVE/FXRSTOR */
	       1u << 25 |	/* SSE */
	       1u << 26;	/* SSE2 */
}

static uint32_t cpuid_features_ecx(void)
{
	return 1u << 0 |	/* SSE3 */
	       1u << 9 |	/* SSSE3 */
	       1u << 13 |	/* CMPXCHG16B */
	       1u << 19 |	/* SSE4.1 */
	       1u << 20 |	/* SSE4.2 */
	       1u << 23;	/* POPCNT */
}

/* Leaf 4: a fixed, plausible cache hierarchy (64-byte lines): 32 KiB
 * 8-way L1d and L1i, 1 MiB 16-way L2, 8 MiB 16-way L3. */
static void cpuid_cache(uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c)
{
	static const struct { uint8_t type, level, ways; uint32_t kib; }
	caches[] = {
		{ 1, 1, 8, 32 }, { 2, 1, 8, 32 }, { 3, 2, 16, 1024 },
		{ 3, 3, 16, 8192 },
	};

	if (sub >= sizeof(caches) / sizeof(caches[0]))
		return;		/* type 0: no more caches */
	*a = caches[sub].type | caches[sub].level << 5 | 1u << 8;
	*b = (uint32_t)(caches[sub].ways - 1) << 22 | 63;
	*c = caches[sub].kib * 1024 / (caches[sub].ways * 64u) - 1;
}

static void cpuid_brand(uint32_t leaf, uint32_t *out)
{
	static const char brand[48] = "Mica x86-64 translator";

	memcpy(out, brand + 16 * (leaf - 0x80000002), 16);
}

uint64_t x86_helper_cpuid(struct x86_cpu *env)
{
	uint32_t leaf = (uint32_t)env->regs[X86_RAX];
	uint32_t sub = (uint32_t)env->regs[X86_RCX];
	uint32_t r[4] = { 0, 0, 0, 0 };	/* eax ebx ecx edx */

	switch (leaf) {
	case 0:
		r[0] = 7;
		/* glibc ignores the feature bits of unknown vendors (and
		 * then refuses to run x86-64 baseline libraries), so we
		 * answer with the most common vendor string. */
		memcpy(&r[1], "Genu", 4);
		memcpy(&r[3], "ineI", 4);
		memcpy(&r[2], "ntel", 4);
		break;
	case 1:
		r[0] = 0x00000600;	/* family 6, model 0, stepping 0 */
		r[1] = 1u << 16 |	/* one logical processor */
		       8u << 8;		/* CLFLUSH line: 64 bytes */
		r[2] = cpuid_features_ecx();
		r[3] = x86_cpuid_features_edx();
		break;
	case 2:
		r[0] = 0x0000ff01;	/* descriptor ff: see leaf 4 */
		break;
	case 4:
		cpuid_cache(sub, &r[0], &r[1], &r[2]);
		break;
	case 7:
		if (sub == 0)
			r[1] = 1u << 0;	/* FSGSBASE */
		break;
	case 0x80000000:
		r[0] = 0x80000008;
		break;
	case 0x80000001:
		r[2] = 1u << 0 |	/* LAHF/SAHF in 64-bit mode */
		       1u << 5;		/* LZCNT (ABM) */
		r[3] = 1u << 11 |	/* SYSCALL */
		       1u << 20 |	/* NX */
		       1u << 27 |	/* RDTSCP */
		       1u << 29;	/* long mode */
		break;
	case 0x80000002: case 0x80000003: case 0x80000004:
		cpuid_brand(leaf, r);
		break;
	case 0x80000005:	/* L1 (AMD layout): KiB, ways, lines/tag, line */
		r[2] = 32u << 24 | 8u << 16 | 1u << 8 | 64;
		r[3] = r[2];
		break;
	case 0x80000006:	/* L2: KiB, ways (8 = 16-way), line; L3 */
		r[2] = 1024u << 16 | 8u << 12 | 64;
		r[3] = 16u << 18 | 8u << 12 | 64;
		break;
	case 0x80000008:
		r[0] = 48u << 8 | 48;	/* linear and physical address bits */
		break;
	default:
		break;
	}
	env->regs[X86_RAX] = r[0];
	env->regs[X86_RBX] = r[1];
	env->regs[X86_RCX] = r[2];
	env->regs[X86_RDX] = r[3];
	return 0;
}

uint64_t x86_helper_bitscan(uint64_t kind_size, uint64_t v)
{
	unsigned size = (kind_size >> 8) & 15, bits = size * 8;

	v &= size_mask(size);
	switch (kind_size & 0xff) {
	case X86_BITSCAN_BSF:
		return v ? (uint64_t)__builtin_ctzll(v) : 0;
	case X86_BITSCAN_BSR:
		return v ? 63 - (uint64_t)__builtin_clzll(v) : 0;
	case X86_BITSCAN_TZCNT:
		return v ? (uint64_t)__builtin_ctzll(v) : bits;
	case X86_BITSCAN_LZCNT:
		return v ? (uint64_t)__builtin_clzll(v) - (64 - bits) : bits;
	default:
		return (uint64_t)__builtin_popcountll(v);
	}
}

uint64_t x86_helper_bswap(uint64_t size, uint64_t v)
{
	if (size == 8)
		return __builtin_bswap64(v);
	if (size == 4)
		return __builtin_bswap32((uint32_t)v);
	return 0;	/* BSWAP r16 is undefined; hardware gives 0 */
}

static uint64_t load_n(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, x86_g2h(addr), size);
	return v;
}

static void store_n(uint64_t addr, uint64_t v, unsigned size)
{
	memcpy(x86_g2h(addr), &v, size);
}

/* One element of a string instruction; returns false when a REPE/REPNE
 * comparison ends the repetition. */
static bool string_step(struct x86_cpu *env, unsigned kind, unsigned size,
			unsigned rep, uint64_t seg_base, uint64_t amask)
{
	uint64_t *rsi = &env->regs[X86_RSI], *rdi = &env->regs[X86_RDI];
	uint64_t step = env->df * size, a, b;

	switch (kind) {
	case 0:	/* movs */
		store_n(*rdi & amask, load_n((*rsi & amask) + seg_base, size),
			size);
		*rsi += step;
		*rdi += step;
		return true;
	case 3:	/* stos */
		store_n(*rdi & amask, env->regs[X86_RAX], size);
		*rdi += step;
		return true;
	case 4:	/* lods */
		a = load_n((*rsi & amask) + seg_base, size);
		if (size >= 4)
			env->regs[X86_RAX] = a;
		else
			env->regs[X86_RAX] = (env->regs[X86_RAX] &
					      ~size_mask(size)) | a;
		*rsi += step;
		return true;
	case 1:	/* cmps */
		a = load_n((*rsi & amask) + seg_base, size);
		b = load_n(*rdi & amask, size);
		*rsi += step;
		*rdi += step;
		break;
	default: /* scas */
		a = env->regs[X86_RAX] & size_mask(size);
		b = load_n(*rdi & amask, size);
		*rdi += step;
		break;
	}
	set_cc(env, CC_SUB, size, (a - b) & size_mask(size), b, 0);
	if (rep == 1)
		return a == b;
	if (rep == 2)
		return a != b;
	return true;
}

uint64_t x86_helper_string(struct x86_cpu *env, uint64_t desc,
			   uint64_t seg_base)
{
	unsigned kind = desc & 0xff, size = (desc >> 8) & 0xff;
	unsigned rep = (desc >> 16) & 0xff;
	uint64_t amask = (desc >> 24) & 1 ? 0xffffffffull : ~0ull;
	uint64_t *rcx = &env->regs[X86_RCX];

	x86_helper_in_guest_memory = 1;
	if (!rep) {
		string_step(env, kind, size, 0, seg_base, amask);
	} else {
		/* F2 on movs/stos/lods is a plain rep. */
		if (kind != 1 && kind != 5)
			rep = 1;
		while ((*rcx & amask) != 0) {
			bool go = string_step(env, kind, size,
					      (kind == 1 || kind == 5) ?
					      rep : 0, seg_base, amask);

			*rcx = ((*rcx - 1) & amask) | (*rcx & ~amask);
			if (!go)
				break;
		}
	}
	x86_helper_in_guest_memory = 0;
	return 0;
}

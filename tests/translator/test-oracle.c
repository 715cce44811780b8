/* Differential oracle: random instructions and sequences (integer, SSE
 * through SSE4.2, MXCSR; fixed seed, fixed budget) plus targeted
 * sequences, each run natively and translated from the same state.  The
 * targeted ISA tests are in oracle-isa-tests.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/cutest.h"
#include "tests/translator/oracle-tests.h"

#define CF 0x001
#define PF 0x004
#define AF 0x010
#define ZF 0x040
#define SF 0x080
#define OF 0x800
#define ALL (CF | PF | AF | ZF | SF | OF)

struct gen {
	uint8_t b[32];	/* one instruction, or a few setting it up */
	unsigned len;
	uint64_t reads, writes, undef;
	const char *name;
};

uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Interesting operand values: edges and random. */
static uint64_t rnd_value(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
		0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffff,
		0x8000000000000000, 0xffffffffffffffff, 63, 64, 31, 32,
	};

	switch (rnd_below(4)) {
	case 0: return edges[rnd_below(sizeof(edges) / sizeof(edges[0]))];
	case 1: return rnd() & 0xff;
	default: return rnd();
	}
}

static void put(struct gen *g, uint8_t b)
{
	g->b[g->len++] = b;
}

/* A general register we may write: not rsp (stack) nor rbx (memory
 * base).  For byte operands without REX, 7 would be BH: avoid too. */
static unsigned rnd_reg(bool byte_no_rex)
{
	for (;;) {
		unsigned r = rnd_below(byte_no_rex ? 8 : 16);

		if (r != 3 && r != 4 && !(byte_no_rex && r == 7))
			return r;
	}
}

/* Prefixes + opcode + ModRM for an operation of SIZE (1, 2, 4, 8).
 * MEM selects [rbx + disp8] for the r/m operand. */
static void emit_op(struct gen *g, unsigned size, const uint8_t *op,
		    unsigned oplen, unsigned reg, unsigned rm, bool mem,
		    bool reg_is_digit)
{
	bool byte = size == 1;
	uint8_t rex = 0;

	if (size == 2)
		put(g, 0x66);
	if (size == 8)
		rex |= 0x48;
	if (!reg_is_digit && reg >= 8)
		rex |= 0x44;
	if (!mem && rm >= 8)
		rex |= 0x41;
	if (byte && rex == 0 && rnd_below(4) == 0 && !mem)
		rex = 0x40;	/* sil/dil/bpl instead of dh/bh/ch */
	if (rex)
		put(g, rex | 0x40);
	for (unsigned i = 0; i < oplen; i++)
		put(g, op[i]);
	if (mem) {
		put(g, (uint8_t)(0x43 | (reg & 7) << 3));	/* [rbx+d8] */
		put(g, (uint8_t)(rnd_below(0x70) & ~(size - 1)));
	} else {
		put(g, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
	}
}

static void put_imm(struct gen *g, unsigned n)
{
	uint64_t v = rnd_value();

	for (unsigned i = 0; i < n; i++)
		put(g, (uint8_t)(v >> (8 * i)));
}

static unsigned rnd_size(void)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	return sizes[rnd_below(4)];
}

static void gen_operands(unsigned size, unsigned *reg, unsigned *rm,
			 bool *mem)
{
	bool byte_no_rex = size == 1;

	*mem = rnd_below(4) == 0;
	*reg = rnd_reg(byte_no_rex);
	*rm = rnd_reg(byte_no_rex);
}

static uint64_t cc_reads(unsigned cc)
{
	static const uint64_t r[8] = { OF, CF, ZF, CF | ZF, SF, PF, SF | OF,
				       SF | OF | ZF };
	return r[(cc >> 1) & 7];
}

static void gen_alu(struct gen *g)
{
	unsigned op = rnd_below(8), size = rnd_size(), reg, rm, form;
	bool mem;
	uint8_t opc;

	gen_operands(size, &reg, &rm, &mem);
	g->name = "alu";
	g->writes = ALL;
	g->reads = (op == 2 || op == 3) ? CF : 0;
	g->undef = (op == 1 || op == 4 || op == 6) ? AF : 0;
	form = rnd_below(3);
	if (form == 0) {		/* r/m, reg or reg, r/m */
		opc = (uint8_t)(op << 3 | (size == 1 ? 0 : 1) |
				(rnd_below(2) << 1));
		emit_op(g, size, &opc, 1, reg, rm, mem, false);
	} else {			/* group 1 with immediate */
		opc = size == 1 ? 0x80 : form == 1 ? 0x83 : 0x81;
		emit_op(g, size, &opc, 1, op, rm, mem, true);
		put_imm(g, opc == 0x81 ? (size == 2 ? 2 : 4) : 1);
	}
}

static void gen_shift(struct gen *g)
{
	unsigned op = rnd_below(8), size = rnd_size(), reg, rm, form;
	bool mem;
	uint8_t opc;

	if (op == 6)
		op = 4;
	gen_operands(size, &reg, &rm, &mem);
	g->name = "shift";
	g->writes = (op < 4) ? CF | OF : ALL;
	g->reads = (op == 2 || op == 3) ? CF : 0;
	g->undef = OF | AF;
	form = rnd_below(3);
	opc = (uint8_t)((form == 0 ? 0xc0 : form == 1 ? 0xd0 : 0xd2) |
			(size == 1 ? 0 : 1));
	emit_op(g, size, &opc, 1, op, rm, mem, true);
	if (form == 0)
		put(g, (uint8_t)rnd_below(70));
	/* A masked count of 0 leaves flags alone: treat them as read. */
	if (form != 1)
		g->reads |= ALL;
}

static void gen_group3(struct gen *g)
{
	unsigned op = rnd_below(8), size = rnd_size(), reg, rm;
	bool mem;
	uint8_t opc = size == 1 ? 0xf6 : 0xf7;

	if (op == 1)
		op = 0;
	gen_operands(size, &reg, &rm, &mem);
	g->name = "group3";
	emit_op(g, size, &opc, 1, op, rm, mem, true);
	switch (op) {
	case 0:
		put_imm(g, size == 1 ? 1 : size == 2 ? 2 : 4);
		g->writes = ALL;
		g->undef = AF;
		break;
	case 2:
		break;
	case 3:
		g->writes = ALL;
		break;
	case 4: case 5:
		g->writes = ALL;
		g->undef = SF | ZF | AF | PF;
		break;
	default:
		g->writes = ALL;
		g->undef = ALL;
		break;
	}
}

static void gen_incdec(struct gen *g)
{
	unsigned size = rnd_size(), reg, rm;
	bool mem;
	uint8_t opc = size == 1 ? 0xfe : 0xff;

	gen_operands(size, &reg, &rm, &mem);
	g->name = "incdec";
	emit_op(g, size, &opc, 1, rnd_below(2), rm, mem, true);
	g->writes = ALL & ~(uint64_t)CF;
}

static void gen_0f_rm(struct gen *g)
{
	static const struct { uint8_t op; uint64_t writes, undef, reads;
			      bool byte_ok; const char *name; } t[] = {
		{ 0xaf, ALL, SF | ZF | AF | PF, 0, false, "imul" },
		{ 0xb6, 0, 0, 0, false, "movzx8" },
		{ 0xb7, 0, 0, 0, false, "movzx16" },
		{ 0xbe, 0, 0, 0, false, "movsx8" },
		{ 0xbf, 0, 0, 0, false, "movsx16" },
		{ 0xa3, ALL & ~(uint64_t)ZF, OF | SF | AF | PF, 0, false, "bt" },
		{ 0xab, ALL & ~(uint64_t)ZF, OF | SF | AF | PF, 0, false, "bts" },
		{ 0xb3, ALL & ~(uint64_t)ZF, OF | SF | AF | PF, 0, false, "btr" },
		{ 0xbb, ALL & ~(uint64_t)ZF, OF | SF | AF | PF, 0, false, "btc" },
		{ 0xbc, ALL, ALL & ~(uint64_t)ZF, 0, false, "bsf" },
		{ 0xbd, ALL, ALL & ~(uint64_t)ZF, 0, false, "bsr" },
		{ 0xc1, ALL, 0, 0, true, "xadd" },
		{ 0xb1, ALL, 0, 0, true, "cmpxchg" },
		{ 0xa5, ALL, OF | AF, ALL, false, "shld cl" },
		{ 0xad, ALL, OF | AF, ALL, false, "shrd cl" },
	};
	unsigned k = rnd_below(sizeof(t) / sizeof(t[0])), size, reg, rm;
	uint8_t op[2] = { 0x0f, t[k].op };
	bool mem;

	size = rnd_size();
	if (size == 1 && !t[k].byte_ok)
		size = 4;
	if (size == 1)
		op[1] &= 0xfe;
	if (size == 2 && (t[k].op == 0xa5 || t[k].op == 0xad))
		size = 4;	/* 16-bit SHxD with count > 16 is undefined */
	gen_operands(size, &reg, &rm, &mem);
	/* Bit offsets from a register can leave the data area. */
	if (t[k].op == 0xa3 || t[k].op == 0xab || t[k].op == 0xb3 ||
	    t[k].op == 0xbb)
		mem = false;
	g->name = t[k].name;
	g->writes = t[k].writes;
	g->undef = t[k].undef;
	g->reads = t[k].reads;
	emit_op(g, size, op, 2, reg, rm, mem, false);
}

static void gen_misc(struct gen *g)
{
	unsigned size = rnd_size(), reg, rm, cc = rnd_below(16), k;
	bool mem;
	uint8_t op[2];

	gen_operands(size, &reg, &rm, &mem);
	switch (rnd_below(12)) {
	case 0:
		g->name = "cmovcc";
		if (size == 1)
			size = 4;
		op[0] = 0x0f;
		op[1] = (uint8_t)(0x40 | cc);
		emit_op(g, size, op, 2, reg, rm, mem, false);
		g->reads = cc_reads(cc);
		break;
	case 1:
		g->name = "setcc";
		op[0] = 0x0f;
		op[1] = (uint8_t)(0x90 | cc);
		emit_op(g, 1, op, 2, 0, rm, mem, true);
		g->reads = cc_reads(cc);
		break;
	case 2:
		g->name = "bt imm";
		if (size == 1)
			size = 4;
		op[0] = 0x0f;
		op[1] = 0xba;
		emit_op(g, size, op, 2, 4 + rnd_below(4), rm, mem, true);
		put(g, (uint8_t)rnd_below(256));
		g->writes = ALL & ~(uint64_t)ZF;
		g->undef = OF | SF | AF | PF;
		break;
	case 3:
		g->name = "imul imm";
		if (size == 1)
			size = 4;
		op[0] = rnd_below(2) ? 0x69 : 0x6b;
		emit_op(g, size, op, 1, reg, rm, mem, false);
		put_imm(g, op[0] == 0x6b ? 1 : size == 2 ? 2 : 4);
		g->writes = ALL;
		g->undef = SF | ZF | AF | PF;
		break;
	case 4:
		g->name = "mov/xchg/test";
		op[0] = (uint8_t)((rnd_below(2) ? 0x88 : 0x84) +
				  rnd_below(2) * 2 * 0 + (size == 1 ? 0 : 1));
		if (rnd_below(3) == 0)
			op[0] = size == 1 ? 0x86 : 0x87;
		emit_op(g, size, op, 1, reg, rm, mem, false);
		if (op[0] == 0x84 || op[0] == 0x85) {
			g->writes = ALL;
			g->undef = AF;
		}
		break;
	case 5:
		g->name = "lea";
		if (size == 1)
			size = 8;
		op[0] = 0x8d;
		emit_op(g, size, op, 1, reg, rm, true, false);
		break;
	case 6: {
		static const uint8_t ops[] = { 0x98, 0x99, 0x9f, 0x9e, 0xf5,
					       0xf8, 0xf9 };
		uint8_t o = ops[rnd_below(sizeof(ops))];

		g->name = "onebyte";
		if (o == 0x98 || o == 0x99) {
			if (size == 2)
				put(g, 0x66);
			else if (size == 8)
				put(g, 0x48);
		}
		put(g, o);
		if (o == 0x9f)
			g->reads = ALL;
		if (o == 0x9e || o == 0xf5 || o == 0xf8 || o == 0xf9) {
			g->writes = ALL;
			g->reads = ALL;
		}
		break;
	}
	case 7:
		g->name = "popcnt/tzcnt/lzcnt";
		if (size == 1)
			size = 4;
		put(g, 0xf3);
		op[0] = 0x0f;
		op[1] = (uint8_t)(0xb8 + rnd_below(3) * 4);
		if (op[1] == 0xbc)
			op[1] = 0xbc;
		else if (op[1] == 0xc0)
			op[1] = 0xbd;
		emit_op(g, size, op, 2, reg, rm, mem, false);
		g->writes = ALL;
		g->undef = op[1] == 0xb8 ? 0 : OF | SF | AF | PF;
		break;
	case 8:
		g->name = "bswap";
		put(g, (uint8_t)(rnd_below(2) ? 0x48 : 0x40) | (rm >= 8));
		put(g, 0x0f);
		put(g, (uint8_t)(0xc8 | (rm & 7)));
		break;
	case 9:
		g->name = "movsxd";
		op[0] = 0x63;
		emit_op(g, 8, op, 1, reg, rm, mem, false);
		break;
	case 10:
		g->name = "neg/not";
		op[0] = size == 1 ? 0xf6 : 0xf7;
		k = 2 + rnd_below(2);
		emit_op(g, size, op, 1, k, rm, mem, true);
		g->writes = k == 3 ? ALL : 0;
		break;
	default:
		g->name = "mov imm";
		op[0] = (uint8_t)(0xb8 + (rm & 7));
		put(g, (uint8_t)(0x48 | (rm >= 8)));
		put(g, op[0]);
		put_imm(g, 8);
		break;
	}
}

/* SSE/SSE2: prefix (0, 0x66, 0xf3, 0xf2), opcode (0F map), kind. */
enum sse_kind { XX, XX_IMM, GPR_SRC, GPR_DST, SHIFT_IMM, FLAGS, STORE };

static const struct { uint8_t pfx, op, kind; } sse_ops[] = {
	{ 0, 0x10, XX }, { 0x66, 0x10, XX }, { 0xf3, 0x10, XX },
	{ 0xf2, 0x10, XX }, { 0, 0x11, STORE }, { 0xf3, 0x11, STORE },
	{ 0xf2, 0x11, STORE }, { 0, 0x28, XX }, { 0, 0x29, STORE },
	{ 0x66, 0x6f, XX }, { 0xf3, 0x6f, XX }, { 0x66, 0x7f, STORE },
	{ 0xf3, 0x7f, STORE }, { 0xf3, 0x7e, XX }, { 0x66, 0xd6, STORE },
	{ 0, 0x12, XX }, { 0, 0x16, XX }, { 0x66, 0x12, XX },
	{ 0x66, 0x16, XX }, { 0, 0x13, STORE }, { 0, 0x17, STORE },
	{ 0x66, 0x6e, GPR_SRC }, { 0x66, 0x7e, GPR_DST },
	{ 0x66, 0xd7, GPR_DST }, { 0, 0x50, GPR_DST }, { 0x66, 0x50, GPR_DST },
	{ 0, 0x14, XX }, { 0, 0x15, XX }, { 0x66, 0x14, XX }, { 0x66, 0x15, XX },
	{ 0, 0x54, XX }, { 0, 0x55, XX }, { 0, 0x56, XX }, { 0, 0x57, XX },
	{ 0x66, 0x57, XX },
	{ 0, 0x58, XX }, { 0x66, 0x58, XX }, { 0xf3, 0x58, XX }, { 0xf2, 0x58, XX },
	{ 0, 0x59, XX }, { 0x66, 0x59, XX }, { 0xf3, 0x59, XX }, { 0xf2, 0x59, XX },
	{ 0, 0x5c, XX }, { 0x66, 0x5c, XX }, { 0xf3, 0x5c, XX }, { 0xf2, 0x5c, XX },
	{ 0, 0x5e, XX }, { 0x66, 0x5e, XX }, { 0xf3, 0x5e, XX }, { 0xf2, 0x5e, XX },
	{ 0, 0x5d, XX }, { 0xf2, 0x5d, XX }, { 0, 0x5f, XX }, { 0xf2, 0x5f, XX },
	{ 0, 0x51, XX }, { 0xf2, 0x51, XX }, { 0x66, 0x51, XX },
	{ 0xf3, 0x51, XX }, { 0x66, 0x5d, XX }, { 0xf3, 0x5d, XX },
	{ 0x66, 0x5f, XX }, { 0xf3, 0x5f, XX }, { 0, 0x52, XX },
	{ 0xf3, 0x52, XX }, { 0, 0x53, XX }, { 0xf3, 0x53, XX },
	{ 0, 0xc2, XX_IMM }, { 0x66, 0xc2, XX_IMM }, { 0xf3, 0xc2, XX_IMM },
	{ 0xf2, 0xc2, XX_IMM }, { 0, 0xc6, XX_IMM }, { 0x66, 0xc6, XX_IMM },
	{ 0xf3, 0x5a, XX }, { 0xf2, 0x5a, XX }, { 0, 0x5a, XX }, { 0x66, 0x5a, XX },
	{ 0, 0x5b, XX }, { 0x66, 0x5b, XX }, { 0xf3, 0x5b, XX },
	{ 0xf3, 0xe6, XX }, { 0x66, 0xe6, XX }, { 0xf2, 0xe6, XX },
	{ 0xf3, 0x2a, GPR_SRC }, { 0xf2, 0x2a, GPR_SRC },
	{ 0xf3, 0x2c, GPR_DST }, { 0xf2, 0x2c, GPR_DST },
	{ 0xf3, 0x2d, GPR_DST }, { 0xf2, 0x2d, GPR_DST },
	{ 0, 0x2e, FLAGS }, { 0x66, 0x2e, FLAGS }, { 0, 0x2f, FLAGS },
	{ 0x66, 0x2f, FLAGS },
	{ 0x66, 0x70, XX_IMM }, { 0xf3, 0x70, XX_IMM }, { 0xf2, 0x70, XX_IMM },
	{ 0x66, 0x71, SHIFT_IMM }, { 0x66, 0x72, SHIFT_IMM },
	{ 0x66, 0x73, SHIFT_IMM }, { 0x66, 0xc4, GPR_SRC }, { 0x66, 0xc5, GPR_DST },
};

static const uint8_t sse_int_ops[] = {
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
	0x6b, 0x6c, 0x6d, 0x74, 0x75, 0x76, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5,
	0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2,
	0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
	0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc,
	0xfd, 0xfe,
};

static void gen_sse(struct gen *g)
{
	unsigned n = sizeof(sse_ops) / sizeof(sse_ops[0]);
	unsigned k = rnd_below(n + 30), reg = rnd_below(16), rm = rnd_below(16);
	uint8_t pfx, op, kind;
	bool mem = rnd_below(3) == 0, w = rnd_below(2);
	uint8_t rex = 0;

	if (k >= n) {
		pfx = 0x66;
		op = sse_int_ops[rnd_below(sizeof(sse_int_ops))];
		kind = XX;
	} else {
		pfx = sse_ops[k].pfx;
		op = sse_ops[k].op;
		kind = sse_ops[k].kind;
	}
	g->name = "sse";
	/* General registers in r/m or reg must not be rsp/rbx. */
	if (kind == GPR_SRC && !mem)
		rm = rnd_reg(false);
	if (kind == GPR_DST) {
		if (op == 0x7e)
			rm = rnd_reg(false);
		else
			reg = rnd_reg(false), mem = false;
	}
	if (kind == SHIFT_IMM) {
		static const unsigned digits[] = { 2, 4, 6, 3, 7 };

		mem = false;
		reg = digits[rnd_below(op == 0x73 ? 5 : 3)];
		if (op == 0x73 && reg == 4)
			reg = 2;
	}
	if ((op == 0x12 || op == 0x16) && pfx == 0x66)
		mem = true;		/* movlpd/movhpd: memory only */
	if (op == 0x13 || op == 0x17 || op == 0xd7 || op == 0x50 ||
	    op == 0xc5)
		mem = op == 0x13 || op == 0x17;
	if (pfx)
		put(g, pfx);
	if (w && (op == 0x6e || op == 0x7e || op == 0x2a || op == 0x2c ||
		  op == 0x2d))
		rex |= 0x48;
	if (reg >= 8 && kind != SHIFT_IMM)
		rex |= 0x44;
	if (!mem && rm >= 8)
		rex |= 0x41;
	if (rex)
		put(g, rex | 0x40);
	put(g, 0x0f);
	put(g, op);
	if (mem) {
		put(g, (uint8_t)(0x43 | (reg & 7) << 3));
		put(g, (uint8_t)(rnd_below(8) * 16));
	} else {
		put(g, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
	}
	if (kind == XX_IMM || kind == SHIFT_IMM ||
	    (kind == GPR_SRC && op == 0xc4) || (kind == GPR_DST && op == 0xc5))
		put(g, (uint8_t)(op == 0xc2 ? rnd_below(8) : rnd_below(256)));
	if (kind == FLAGS)
		g->writes = ALL;
}


/* SSE3, SSSE3, SSE4.1, SSE4.2: map (0x0f, 0x38, 0x3a), opcode, kind,
 * required CPUID feature. */
enum ext_kind { E_XX, E_XX_IMM, E_MEM_ONLY, E_EXTRACT, E_INSERT, E_PTEST,
		E_PCMPSTR, E_CRC32, E_ROUND };

static const struct { uint8_t pfx, map, op, kind, feature; } ext_ops[] = {
	{ 0xf2, 0x0f, 0xd0, E_XX, F_SSE3 }, { 0x66, 0x0f, 0xd0, E_XX, F_SSE3 },
	{ 0xf2, 0x0f, 0x7c, E_XX, F_SSE3 }, { 0x66, 0x0f, 0x7c, E_XX, F_SSE3 },
	{ 0xf2, 0x0f, 0x7d, E_XX, F_SSE3 }, { 0x66, 0x0f, 0x7d, E_XX, F_SSE3 },
	{ 0xf2, 0x0f, 0x12, E_XX, F_SSE3 }, { 0xf3, 0x0f, 0x12, E_XX, F_SSE3 },
	{ 0xf3, 0x0f, 0x16, E_XX, F_SSE3 },
	{ 0xf2, 0x0f, 0xf0, E_MEM_ONLY, F_SSE3 },
	{ 0x66, 0x38, 0x00, E_XX, F_SSSE3 }, { 0x66, 0x38, 0x01, E_XX, F_SSSE3 },
	{ 0x66, 0x38, 0x02, E_XX, F_SSSE3 }, { 0x66, 0x38, 0x03, E_XX, F_SSSE3 },
	{ 0x66, 0x38, 0x04, E_XX, F_SSSE3 }, { 0x66, 0x38, 0x05, E_XX, F_SSSE3 },
	{ 0x66, 0x38, 0x06, E_XX, F_SSSE3 }, { 0x66, 0x38, 0x07, E_XX, F_SSSE3 },
	{ 0x66, 0x38, 0x08, E_XX, F_SSSE3 }, { 0x66, 0x38, 0x09, E_XX, F_SSSE3 },
	{ 0x66, 0x38, 0x0a, E_XX, F_SSSE3 }, { 0x66, 0x38, 0x0b, E_XX, F_SSSE3 },
	{ 0x66, 0x38, 0x1c, E_XX, F_SSSE3 }, { 0x66, 0x38, 0x1d, E_XX, F_SSSE3 },
	{ 0x66, 0x38, 0x1e, E_XX, F_SSSE3 },
	{ 0x66, 0x3a, 0x0f, E_XX_IMM, F_SSSE3 },
	{ 0x66, 0x38, 0x10, E_XX, F_SSE41 }, { 0x66, 0x38, 0x14, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x15, E_XX, F_SSE41 }, { 0x66, 0x38, 0x17, E_PTEST, F_SSE41 },
	{ 0x66, 0x38, 0x20, E_XX, F_SSE41 }, { 0x66, 0x38, 0x21, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x22, E_XX, F_SSE41 }, { 0x66, 0x38, 0x23, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x24, E_XX, F_SSE41 }, { 0x66, 0x38, 0x25, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x30, E_XX, F_SSE41 }, { 0x66, 0x38, 0x31, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x32, E_XX, F_SSE41 }, { 0x66, 0x38, 0x33, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x34, E_XX, F_SSE41 }, { 0x66, 0x38, 0x35, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x28, E_XX, F_SSE41 }, { 0x66, 0x38, 0x29, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x2a, E_MEM_ONLY, F_SSE41 },
	{ 0x66, 0x38, 0x2b, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x38, E_XX, F_SSE41 }, { 0x66, 0x38, 0x39, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x3a, E_XX, F_SSE41 }, { 0x66, 0x38, 0x3b, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x3c, E_XX, F_SSE41 }, { 0x66, 0x38, 0x3d, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x3e, E_XX, F_SSE41 }, { 0x66, 0x38, 0x3f, E_XX, F_SSE41 },
	{ 0x66, 0x38, 0x40, E_XX, F_SSE41 }, { 0x66, 0x38, 0x41, E_XX, F_SSE41 },
	{ 0x66, 0x3a, 0x08, E_ROUND, F_SSE41 }, { 0x66, 0x3a, 0x09, E_ROUND, F_SSE41 },
	{ 0x66, 0x3a, 0x0a, E_ROUND, F_SSE41 }, { 0x66, 0x3a, 0x0b, E_ROUND, F_SSE41 },
	{ 0x66, 0x3a, 0x0c, E_XX_IMM, F_SSE41 }, { 0x66, 0x3a, 0x0d, E_XX_IMM, F_SSE41 },
	{ 0x66, 0x3a, 0x0e, E_XX_IMM, F_SSE41 },
	{ 0x66, 0x3a, 0x14, E_EXTRACT, F_SSE41 }, { 0x66, 0x3a, 0x15, E_EXTRACT, F_SSE41 },
	{ 0x66, 0x3a, 0x16, E_EXTRACT, F_SSE41 }, { 0x66, 0x3a, 0x17, E_EXTRACT, F_SSE41 },
	{ 0x66, 0x3a, 0x20, E_INSERT, F_SSE41 }, { 0x66, 0x3a, 0x21, E_XX_IMM, F_SSE41 },
	{ 0x66, 0x3a, 0x22, E_INSERT, F_SSE41 },
	{ 0x66, 0x3a, 0x40, E_XX_IMM, F_SSE41 }, { 0x66, 0x3a, 0x41, E_XX_IMM, F_SSE41 },
	{ 0x66, 0x3a, 0x42, E_XX_IMM, F_SSE41 },
	{ 0x66, 0x38, 0x37, E_XX, F_SSE42 },
	{ 0x66, 0x3a, 0x60, E_PCMPSTR, F_SSE42 }, { 0x66, 0x3a, 0x61, E_PCMPSTR, F_SSE42 },
	{ 0x66, 0x3a, 0x62, E_PCMPSTR, F_SSE42 }, { 0x66, 0x3a, 0x63, E_PCMPSTR, F_SSE42 },
	{ 0xf2, 0x38, 0xf0, E_CRC32, F_SSE42 }, { 0xf2, 0x38, 0xf1, E_CRC32, F_SSE42 },
};

bool host_has[F_COUNT];

static void detect_host_features(void)
{
	__builtin_cpu_init();
	host_has[F_SSE3] = __builtin_cpu_supports("sse3");
	host_has[F_SSSE3] = __builtin_cpu_supports("ssse3");
	host_has[F_SSE41] = __builtin_cpu_supports("sse4.1");
	host_has[F_SSE42] = __builtin_cpu_supports("sse4.2");
}

static void put_imm8(struct gen *g, int v)
{
	put(g, 0xb8);				/* mov eax, imm32 */
	for (int i = 0; i < 4; i++)
		put(g, (uint8_t)((uint32_t)v >> (8 * i)));
}

static void gen_ext(struct gen *g)
{
	unsigned n = sizeof(ext_ops) / sizeof(ext_ops[0]), k;
	unsigned reg = rnd_below(16), rm = rnd_below(16), kind;
	bool mem = rnd_below(3) == 0, w = false;
	uint8_t rex = 0;

	do {
		k = rnd_below(n);
	} while (!host_has[ext_ops[k].feature]);
	kind = ext_ops[k].kind;
	g->name = "sse3-4.2";
	if (kind == E_MEM_ONLY)
		mem = true;
	if (kind == E_EXTRACT || kind == E_INSERT || kind == E_CRC32) {
		w = rnd_below(2);
		if (!mem)
			rm = rnd_reg(false);
	}
	if (kind == E_CRC32) {
		reg = rnd_reg(false);
		if (ext_ops[k].op == 0xf1 && rnd_below(3) == 0)
			put(g, 0x66);		/* crc32 r32, r/m16 */
	}
	if (kind == E_PCMPSTR && (ext_ops[k].op & 2) == 0 && rnd_below(2)) {
		/* Explicit lengths: mostly short, sometimes negative. */
		put_imm8(g, (int)rnd_below(41) - 20);
		put(g, 0xba);			/* mov edx, imm32 */
		int v = (int)rnd_below(41) - 20;

		for (int i = 0; i < 4; i++)
			put(g, (uint8_t)((uint32_t)v >> (8 * i)));
	}
	put(g, ext_ops[k].pfx);
	if (w || (kind == E_PCMPSTR && rnd_below(4) == 0))
		rex |= 0x48;
	if (reg >= 8)
		rex |= 0x44;
	if (!mem && rm >= 8)
		rex |= 0x41;
	if (kind == E_CRC32 && ext_ops[k].op == 0xf0 && !mem && !rex &&
	    (rm & 7) >= 4)
		rex = 0x40;		/* spl..dil, not ah..bh */
	if (rex)
		put(g, rex | 0x40);
	put(g, 0x0f);
	if (ext_ops[k].map != 0x0f)
		put(g, ext_ops[k].map);
	put(g, ext_ops[k].op);
	if (mem) {
		put(g, (uint8_t)(0x43 | (reg & 7) << 3));
		put(g, (uint8_t)(rnd_below(8) * 16));
	} else {
		put(g, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
	}
	switch (kind) {
	case E_ROUND:
		put(g, (uint8_t)rnd_below(16));
		break;
	case E_XX_IMM: case E_EXTRACT: case E_INSERT: case E_PCMPSTR:
		put(g, (uint8_t)rnd_below(256));
		break;
	default:
		break;
	}
	if (kind == E_PTEST || kind == E_PCMPSTR)
		g->writes = ALL;
}

/* stmxcsr [rbx+d]: the flags raised so far in the sequence. */
static void gen_stmxcsr(struct gen *g)
{
	g->name = "stmxcsr";
	put(g, 0x0f);
	put(g, 0xae);
	put(g, 0x5b);
	put(g, (uint8_t)(rnd_below(16) * 4));
}

static void gen_one(struct gen *g)
{
	memset(g, 0, sizeof(*g));
	if (rnd_below(40) == 0) {
		gen_stmxcsr(g);
		return;
	}
	switch (rnd_below(9)) {
	case 7: gen_sse(g); break;
	case 8: gen_ext(g); break;
	case 0: case 1: gen_alu(g); break;
	case 2: gen_shift(g); break;
	case 3: gen_group3(g); break;
	case 4: gen_incdec(g); break;
	case 5: gen_0f_rm(g); break;
	default: gen_misc(g); break;
	}
}

void rnd_state(struct oracle_state *st)
{
	for (int i = 0; i < 16; i++)
		st->r[i] = rnd_value();
	st->r[3] = ORACLE_MEM_BASE;
	st->r[4] = ORACLE_STACK;
	for (int i = 0; i < 16; i++) {
		static const uint64_t fp[] = {
			0x3ff8000000000000ull, 0xc000000000000000ull,
			0x3fc00000bf800000ull, 0x7ff8000000000000ull,
			0x0000000080000000ull, 0x4f0000004effffffull,
			0x7f8000007fc00000ull, 0x41dfffffffc00000ull,
		};
		st->xmm[i][0] = rnd_below(2) ? fp[rnd_below(8)] : rnd_value();
		st->xmm[i][1] = rnd_below(2) ? fp[rnd_below(8)] : rnd();
	}
	st->rflags = 2 | (rnd() & ALL);
	/* All exceptions masked; random rounding control, sometimes DAZ
	 * and FTZ, sometimes flags already raised. */
	st->mxcsr = 0x1f80;
	if (rnd_below(2))
		st->mxcsr |= (uint32_t)rnd_below(4) << 13;
	if (rnd_below(4) == 0)
		st->mxcsr |= 0x8040;
	if (rnd_below(4) == 0)
		st->mxcsr |= (uint32_t)rnd_below(64);
}

static unsigned run_random(unsigned cases, unsigned max_len, uint64_t seed)
{
	unsigned failures = 0;

	/* Exploration beyond the fixed budget: MICA_ORACLE_SEED/CASES. */
	if (getenv("MICA_ORACLE_SEED"))
		seed += strtoull(getenv("MICA_ORACLE_SEED"), NULL, 0);
	if (getenv("MICA_ORACLE_CASES"))
		cases = (unsigned)strtoul(getenv("MICA_ORACLE_CASES"), NULL, 0);

	rng_state = seed;
	for (unsigned c = 0; c < cases; c++) {
		uint8_t code[256];
		size_t len = 0;
		uint64_t undef = 0;
		unsigned n = 1 + rnd_below(max_len);
		struct oracle_state in;
		char label[64];

		for (unsigned k = 0; k < n; k++) {
			struct gen g;

			/* Never consume a flag left undefined before. */
			do {
				gen_one(&g);
			} while (g.reads & undef);
			if (g.name && strcmp(g.name, "group3") == 0 &&
			    g.undef == ALL && k + 1 < n)
				continue;	/* keep #DE last */
			memcpy(code + len, g.b, g.len);
			len += g.len;
			undef = (undef & ~g.writes) | g.undef;
		}
		rnd_state(&in);
		snprintf(label, sizeof(label), "case %u seed %llu", c,
			 (unsigned long long)seed);
		if (!oracle_compare(label, code, len, &in, undef, c))
			failures++;
		if (failures > 20)
			break;
	}
	return failures;
}

static void test_oracle_single_instructions(void)
{
	unsigned f = run_random(20000, 1, 99);

	printf("  single-instruction mismatches: %u\n", f);
	CU_ASSERT_EQUAL(f, 0);
}

static void test_oracle_sequences(void)
{
	unsigned f = run_random(8000, 8, 555);

	printf("  sequence mismatches: %u\n", f);
	CU_ASSERT_EQUAL(f, 0);
}

/* Hand-written sequences: loops, calls, stack, string ops, jumps. */
static void test_oracle_targeted(void)
{
	static const struct { const char *name; uint8_t code[64];
			      unsigned len; } t[] = {
		/* mov ecx,10; xor eax,eax; l: add eax,ecx; dec ecx; jnz l */
		{ "loop", { 0xb9, 10, 0, 0, 0, 0x31, 0xc0, 0x01, 0xc8, 0xff,
			    0xc9, 0x75, 0xfa }, 13 },
		/* call +1; int3(skipped? no: lands on pop) pop rax */
		{ "call/pop", { 0xe8, 0, 0, 0, 0, 0x58 }, 6 },
		/* push rax; push rcx; pop rdx; pop rsi */
		{ "push/pop", { 0x50, 0x51, 0x5a, 0x5e }, 4 },
		/* cmp rax, rcx; jb +3; mov al, 1 ... setl dl */
		{ "jcc", { 0x48, 0x39, 0xc8, 0x72, 0x02, 0xb0, 0x01, 0x0f,
			   0x9c, 0xc2 }, 10 },
		/* lea rdi,[rbx+8]; mov ecx,5; mov al,0x41; rep stosb */
		{ "rep stosb", { 0x48, 0x8d, 0x7b, 0x08, 0xb9, 5, 0, 0, 0,
				 0xb0, 0x41, 0xf3, 0xaa }, 13 },
		/* lea rsi,[rbx]; lea rdi,[rbx+0x40]; mov ecx,3; rep movsq */
		{ "rep movsq", { 0x48, 0x8d, 0x33, 0x48, 0x8d, 0x7b, 0x40,
				 0xb9, 3, 0, 0, 0, 0xf3, 0x48, 0xa5 }, 15 },
		/* lea rdi,[rbx]; mov ecx,64; mov al,[rbx+9]; repne scasb */
		{ "repne scasb", { 0x48, 0x8d, 0x3b, 0xb9, 64, 0, 0, 0, 0x8a,
				   0x43, 0x09, 0xf2, 0xae }, 13 },
		/* xor edx,edx; mov ecx,7; div rcx */
		{ "div", { 0x31, 0xd2, 0xb9, 7, 0, 0, 0, 0x48, 0xf7, 0xf1 },
		  10 },
		/* xor ecx,ecx; div ecx -> #DE */
		{ "div by zero", { 0x31, 0xc9, 0xf7, 0xf1 }, 4 },
		/* mov rax,[0] -> SIGSEGV with precise state (rcx set before) */
		{ "segv", { 0xb9, 1, 0, 0, 0, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0,
			    0 }, 13 },
		/* jmp over a ud2 */
		{ "jmp", { 0xeb, 0x02, 0x0f, 0x0b, 0x90 }, 5 },
		/* ud2 */
		{ "ud2", { 0x0f, 0x0b }, 2 },
		/* lahf; sahf roundtrip after add */
		{ "lahf", { 0x48, 0x01, 0xc8, 0x9f, 0x9e, 0x0f, 0x92, 0xc1 },
		  8 },
		/* pushfq; pop rax */
		{ "pushf", { 0x48, 0x01, 0xd1, 0x9c, 0x58 }, 5 },
		/* cpuid is not compared (differs by design): rdtsc neither */
		/* movabs, cqo, idiv */
		{ "idiv", { 0x48, 0x99, 0xb9, 0xfd, 0xff, 0xff, 0xff, 0x48,
			    0xf7, 0xf9 }, 10 },
		/* call via register: lea rax,[rip+1]; call rax; ret-less */
		{ "call reg", { 0x48, 0x8d, 0x05, 0x02, 0, 0, 0, 0xff, 0xd0,
				0x90 }, 10 },
		/* push imm; ret to the next instruction */
		{ "ret", { 0x68, 0x06, 0, 0, 0x10, 0xc3, 0x90 }, 7 },
		/* xchg r8,rax ; cmpxchg [rbx], rcx */
		{ "cmpxchg", { 0x49, 0x90, 0x48, 0x0f, 0xb1, 0x0b }, 6 },
		/* loop instruction */
		{ "loop insn", { 0xb9, 4, 0, 0, 0, 0x48, 0xff, 0xc0, 0xe2,
				 0xfb }, 10 },
		/* movnti [rbx+16], rcx; movnti [rbx+28], edx; clflush [rbx+32];
		 * mov rax, [rbx+16] */
		{ "movnti/clflush", { 0x48, 0x0f, 0xc3, 0x4b, 0x10, 0x0f, 0xc3,
				      0x53, 0x1c, 0x0f, 0xae, 0x7b, 0x20, 0x48,
				      0x8b, 0x43, 0x10 }, 17 },
		/* RIP-relative operands of 0F3A ops count the imm8 byte:
		 * palignr xmm0, [rip+d], 5 with d reaching the data page;
		 * then roundsd xmm2, [rip+d], 1 and pcmpistri xmm1,
		 * [rip+d], 0x0c reading the same place. */
		{ "rip-relative 0f3a", { 0x66, 0x0f, 0x3a, 0x0f, 0x05, 0xf6, 0x0f,
					 0x00, 0x10, 0x05, 0x66, 0x0f, 0x3a,
					 0x0b, 0x15, 0xec, 0x0f, 0x00, 0x10,
					 0x01, 0x66, 0x0f, 0x3a, 0x63, 0x0d,
					 0xe2, 0x0f, 0x00, 0x10, 0x0c }, 30 },
		/* add eax,ecx; rol eax,1; setc dl; seto bl; setz sil;
		 * sets dil; setp r8b; ror ecx,7; adc r9,r10: rotates keep
		 * SF/ZF/PF/AF of the add and override CF/OF lazily */
		{ "rotate flags", { 0x01, 0xc8, 0xd1, 0xc0, 0x0f, 0x92, 0xc2,
				    0x0f, 0x90, 0xc3, 0x40, 0x0f, 0x94, 0xc6,
				    0x40, 0x0f, 0x98, 0xc7, 0x41, 0x0f, 0x9a,
				    0xc0, 0xc1, 0xc9, 0x07, 0x4d, 0x11, 0xd1 },
		  28 },
		/* sub rax,rcx; ror rax,1; rol rdx,13; setc bl; setnz bh;
		 * seta sil; setp dil; rol rdx,1 (flags live at the exit) */
		{ "rotate chain", { 0x48, 0x29, 0xc8, 0x48, 0xd1, 0xc8, 0x48,
				    0xc1, 0xc2, 0x0d, 0x0f, 0x92, 0xc3, 0x0f,
				    0x95, 0xc7, 0x40, 0x0f, 0x97, 0xc6, 0x40,
				    0x0f, 0x9a, 0xc7, 0x48, 0xd1, 0xc2 }, 27 },
		/* 32-bit ops on registers with garbage upper halves: add,
		 * xor, shr, and, lea, imul, neg, not, bswap, movsxd, sub,
		 * ror; mov edx,eax; sub edx,7; add edx,0x7fffffff; cmp */
		{ "32-bit ops", { 0x01, 0xc8, 0x31, 0xd0, 0xc1, 0xe8, 0x03,
				  0x21, 0xc6, 0x8d, 0x7c, 0x30, 0x05, 0x45,
				  0x0f, 0xaf, 0xc1, 0x41, 0xf7, 0xda, 0x41,
				  0xf7, 0xd3, 0x0f, 0xcb, 0x4c, 0x63, 0xe3,
				  0x41, 0x81, 0xed, 0x00, 0x00, 0x00, 0x80,
				  0x41, 0xc1, 0xce, 0x09, 0x89, 0xc2, 0x83,
				  0xea, 0x07, 0x81, 0xc2, 0xff, 0xff, 0xff,
				  0x7f, 0x39, 0xc8 }, 52 },
		/* and ecx,3; or ecx,1; mov eax,[rbx+rcx*4+8];
		 * add [rbx+rcx*8-8],eax; movzx edx,byte [rbx+rcx];
		 * mov [rbx+rcx*2+1],dl; mov r9,[rbx+rcx*8+0x20];
		 * lea r10,[rbx+rcx*2]; mov [r10+rcx*4+4],r9: indexed host
		 * addressing */
		{ "indexed", { 0x83, 0xe1, 3, 0x83, 0xc9, 1, 0x8b, 0x44, 0x8b,
			       0x08, 0x01,
			       0x44, 0xcb, 0xf8, 0x0f, 0xb6, 0x14, 0x0b, 0x88,
			       0x54, 0x4b, 0x01, 0x4c, 0x8b, 0x4c, 0xcb, 0x20,
			       0x4c, 0x8d, 0x14, 0x4b, 0x4d, 0x89, 0x4c, 0x8a,
			       0x04 }, 36 },
		/* add rcx,rdx; sub rsi,rcx; xor r8d,r9d; mov rax,[0]: the
		 * registers and flags computed before the faulting load
		 * are only in host registers (rebuilt from the fault) */
		{ "segv dirty", { 0x48, 0x01, 0xd1, 0x48, 0x29, 0xce, 0x45,
				  0x31, 0xc8, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0,
				  0 }, 17 },
		/* add rcx,rdx; rol r9,1; mov [0x10],r8: faulting store */
		{ "segv store dirty", { 0x48, 0x01, 0xd1, 0x49, 0xd1, 0xc1,
					0x4c, 0x89, 0x04, 0x25, 0x10, 0, 0,
					0 }, 14 },
		/* cmp eax,ecx; rol edx,1; setz bl; sets bh; jb +0; setl sil;
		 * seto dil; setp r8b; cmp r9b,r10b; ja +0; setae r11b;
		 * setle r12b: cmp flags (operands kept, no difference)
		 * under a rotate and across block ends */
		{ "cmp flags", { 0x39, 0xc8, 0xd1, 0xc2, 0x0f, 0x94, 0xc3,
				 0x0f, 0x98, 0xc7, 0x72, 0x00, 0x40, 0x0f,
				 0x9c, 0xc6, 0x40, 0x0f, 0x90, 0xc7, 0x41,
				 0x0f, 0x9a, 0xc0, 0x45, 0x38, 0xd1, 0x77,
				 0x00, 0x41, 0x0f, 0x93, 0xc3, 0x41, 0x0f,
				 0x9e, 0xc4 }, 37 },
		/* add rax,rcx; cmp rax,rdx; jb +3; add rsi,rax; xor rdi,rsi;
		 * jz +3; sub r8,rdi; add r9,r8; jo +3; inc r10;
		 * add r11,r9: blocks go on past conditional branches
		 * (side exits write back the state held in registers) */
		{ "side exits", { 0x48, 0x01, 0xc8, 0x48, 0x39, 0xd0, 0x72,
				  0x03, 0x48, 0x01, 0xc6, 0x48, 0x31, 0xf7,
				  0x74, 0x03, 0x49, 0x29, 0xf8, 0x4d, 0x01,
				  0xc1, 0x70, 0x03, 0x49, 0xff, 0xc2, 0x4d,
				  0x01, 0xcb }, 30 },
		/* mov ecx,6; xor r10d,r10d; L: add r8,rdx; xchg rax,rdx;
		 * mov r9,rbx; cmp ecx,2; cmove r9,r10; mov r11,[r9];
		 * dec ecx; jnz L: the loop block chains to itself and
		 * faults in its fifth run, entered through the chained
		 * jump with guest registers live in host registers */
		{ "chained loop segv", { 0xb9, 6, 0, 0, 0, 0x45, 0x31, 0xd2,
					 0x49, 0x01, 0xd0, 0x48, 0x87, 0xd0,
					 0x49, 0x89, 0xd9, 0x83, 0xf9, 0x02,
					 0x4d, 0x0f, 0x44, 0xca, 0x4d, 0x8b,
					 0x19, 0xff, 0xc9, 0x75, 0xe9 }, 31 },
		/* mov ecx,5; L: xchg rax,rsi; xchg rsi,rdi; add rdi,rax;
		 * xor edx,edx; mov r8d,7; div r8; lea rsp,[rsp-8];
		 * mov [rsp],rax; pop rdx; dec ecx; jnz L; add ecx,0:
		 * registers rotate between host registers across chained
		 * runs of the loop block, with a helper in between */
		{ "chained loop rotate", { 0xb9, 5, 0, 0, 0, 0x48, 0x87, 0xf0,
					   0x48, 0x87, 0xfe, 0x48, 0x01, 0xc7,
					   0x31, 0xd2, 0x41, 0xb8, 7, 0, 0, 0,
					   0x49, 0xf7, 0xf0, 0x48, 0x8d, 0x64,
					   0x24, 0xf8, 0x48, 0x89, 0x04, 0x24,
					   0x5a, 0xff, 0xc9, 0x75, 0xde, 0x83,
					   0xc1, 0x00 }, 42 },
		/* fs override reads are not possible natively here; skip */
	};
	struct oracle_state in;
	unsigned failures = 0;

	rng_state = 4242;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (int rep = 0; rep < 20; rep++) {
			rnd_state(&in);
			if (!oracle_compare(t[i].name, t[i].code, t[i].len,
					    &in, strcmp(t[i].name, "div") == 0 ||
					    strcmp(t[i].name, "idiv") == 0 ?
					    ALL : 0, rep))
				failures++;
		}
	}
	CU_ASSERT_EQUAL(failures, 0);
}

static void test_oracle_setup(void)
{
	CU_ASSERT_FATAL(oracle_init());
	detect_host_features();
	if (!host_has[F_SSE3] || !host_has[F_SSSE3] || !host_has[F_SSE41] ||
	    !host_has[F_SSE42])
		printf("  host lacks some of SSE3/SSSE3/SSE4.1/SSE4.2: their "
		       "instructions are not compared\n");
}

CUTEST_MAIN("translator-oracle",
	    CUTEST(test_oracle_setup),
	    CUTEST(test_oracle_targeted),
	    CUTEST(test_oracle_sse42_strings),
	    CUTEST(test_oracle_ssse3_mmx),
	    CUTEST(test_oracle_mmx_sse_mixed),
	    CUTEST(test_oracle_x87_control),
	    CUTEST(test_oracle_cmpxchg16b),
	    CUTEST(test_oracle_sse_page_end),
	    CUTEST(test_oracle_sse_fp_host_mxcsr),
	    CUTEST(test_oracle_ldmxcsr),
	    CUTEST(test_oracle_fxsave),
	    CUTEST(test_oracle_encoding_sweep),
	    CUTEST(test_cpuid_leaves),
	    CUTEST(test_rdtscp_fsgsbase),
	    CUTEST(test_oracle_single_instructions),
	    CUTEST(test_oracle_sequences));

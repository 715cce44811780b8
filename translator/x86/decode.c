/* x86-64 instruction decoder.  See decode.h.
 *
 * Tables follow the opcode maps of the Intel SDM vol. 2, appendix A,
 * restricted to 64-bit mode: per opcode we need only whether a ModRM byte
 * follows and how many immediate bytes do.
 */
#include <errno.h>
#include <string.h>

#include "translator/x86/decode.h"

enum imm_kind {
	IMM_NONE,
	IMM_B,		/* 8 bits */
	IMM_W,		/* 16 bits */
	IMM_Z,		/* 16 or 32 bits by operand size */
	IMM_V,		/* 16, 32 or 64 bits by operand size (MOV r, imm) */
	IMM_BRANCH,	/* 32 bits: near branches ignore 66 in 64-bit mode */
	IMM_ENTER,	/* 16 + 8 bits */
	IMM_MOFFS,	/* address size */
	IMM_GROUP3,	/* F6/F7: only /0 and /1 (TEST) have one */
};

#define BIT(n) (1u << ((n) & 31))
#define IN_BITMAP(map, op) (((map)[(op) >> 5] >> ((op) & 31)) & 1)

/* One-byte map: opcodes followed by ModRM. */
static const uint32_t primary_modrm[8] = {
	/* 00-1f */ 0x0f0f0f0f,
	/* 20-3f */ 0x0f0f0f0f,
	/* 40-5f */ 0,
	/* 60-7f */ BIT(0x62) | BIT(0x63) | BIT(0x69) | BIT(0x6b),
	/* 80-9f */ 0x0000ffff,
	/* a0-bf */ 0,
	/* c0-df */ BIT(0xc0) | BIT(0xc1) | BIT(0xc4) | BIT(0xc5) | BIT(0xc6) |
		    BIT(0xc7) | BIT(0xd0) | BIT(0xd1) | BIT(0xd2) | BIT(0xd3) |
		    0xff000000,
	/* e0-ff */ BIT(0xf6) | BIT(0xf7) | BIT(0xfe) | BIT(0xff),
};

/* One-byte opcodes that do not exist in 64-bit mode.  C4/C5 (VEX) and
 * 40-4F (REX) are consumed before this check. */
static const uint32_t primary_invalid[8] = {
	BIT(0x06) | BIT(0x07) | BIT(0x0e) | BIT(0x16) | BIT(0x17) |
		BIT(0x1e) | BIT(0x1f),
	BIT(0x27) | BIT(0x2f) | BIT(0x37) | BIT(0x3f),
	0,
	BIT(0x60) | BIT(0x61) | BIT(0x62),
	BIT(0x82) | BIT(0x9a),
	0,
	BIT(0xce) | BIT(0xd4) | BIT(0xd5) | BIT(0xd6),
	BIT(0xea),
};

/* Two-byte map (0F xx): opcodes NOT followed by ModRM. */
static const uint32_t map0f_no_modrm[8] = {
	BIT(0x05) | BIT(0x06) | BIT(0x07) | BIT(0x08) | BIT(0x09) |
		BIT(0x0b) | BIT(0x0e),
	0x00ff0000,				/* 30-37 */
	0,
	BIT(0x77),
	0x0000ffff,				/* 80-8f */
	BIT(0xa0) | BIT(0xa1) | BIT(0xa2) | BIT(0xa8) | BIT(0xa9) |
		BIT(0xaa),
	0x0000ff00,				/* c8-cf */
	0,
};

static const uint32_t map0f_invalid[8] = {
	BIT(0x04) | BIT(0x0a) | BIT(0x0c) | BIT(0x0f),
	BIT(0x24) | BIT(0x25) | BIT(0x26) | BIT(0x27) | BIT(0x36) |
		BIT(0x39) | BIT(0x3b) | BIT(0x3c) | BIT(0x3d) | BIT(0x3e) |
		BIT(0x3f),
	0,
	BIT(0x7a) | BIT(0x7b),
	0, 0, 0, 0,
};

static enum imm_kind primary_imm(uint8_t op)
{
	if (op < 0x40 && (op & 7) == 4)
		return IMM_B;
	if (op < 0x40 && (op & 7) == 5)
		return IMM_Z;
	if (op >= 0x70 && op <= 0x7f)
		return IMM_B;
	if (op >= 0xb0 && op <= 0xb7)
		return IMM_B;
	if (op >= 0xb8 && op <= 0xbf)
		return IMM_V;
	if (op >= 0xe0 && op <= 0xe7)
		return IMM_B;
	if (op >= 0xa0 && op <= 0xa3)
		return IMM_MOFFS;
	switch (op) {
	case 0x6a: case 0x6b: case 0x80: case 0x83: case 0xa8: case 0xc0:
	case 0xc1: case 0xc6: case 0xcd: case 0xeb:
		return IMM_B;
	case 0x68: case 0x69: case 0x81: case 0xa9: case 0xc7:
		return IMM_Z;
	case 0xe8: case 0xe9:
		return IMM_BRANCH;
	case 0xc2: case 0xca:
		return IMM_W;
	case 0xc8:
		return IMM_ENTER;
	case 0xf6: case 0xf7:
		return IMM_GROUP3;
	default:
		return IMM_NONE;
	}
}

static enum imm_kind map0f_imm(uint8_t op)
{
	if (op >= 0x80 && op <= 0x8f)
		return IMM_BRANCH;
	switch (op) {
	case 0x70: case 0x71: case 0x72: case 0x73: case 0xa4: case 0xac:
	case 0xba: case 0xc2: case 0xc4: case 0xc5: case 0xc6:
		return IMM_B;
	default:
		return IMM_NONE;
	}
}

struct cursor {
	const uint8_t *code;
	size_t avail;
	size_t pos;
};

static int next_byte(struct cursor *c, uint8_t *out)
{
	if (c->pos >= X86_MAX_INSN_LEN)
		return -EILSEQ;
	if (c->pos >= c->avail)
		return -EFAULT;
	*out = c->code[c->pos++];
	return 0;
}

static int read_le(struct cursor *c, unsigned size, int64_t *out)
{
	uint64_t v = 0;
	uint8_t b;
	int rc;

	for (unsigned i = 0; i < size; i++) {
		rc = next_byte(c, &b);
		if (rc < 0)
			return rc;
		v |= (uint64_t)b << (8 * i);
	}
	if (size < 8 && size > 0 && (v >> (8 * size - 1)) & 1)
		v |= ~0ull << (8 * size);
	*out = (int64_t)v;
	return 0;
}

static int decode_prefixes(struct x86_insn *insn, struct cursor *c,
			   uint8_t *first)
{
	uint8_t b;
	int rc;

	for (;;) {
		rc = next_byte(c, &b);
		if (rc < 0)
			return rc;
		switch (b) {
		case 0x66:
			insn->opsize_prefix = true;
			insn->simd_prefix = X86_PFX_66;
			break;
		case 0x67: insn->addrsize_prefix = true; break;
		case 0xf0: insn->lock = true; break;
		case 0xf2:
			insn->repne = true;
			insn->rep = false;
			insn->simd_prefix = X86_PFX_F2;
			break;
		case 0xf3:
			insn->rep = true;
			insn->repne = false;
			insn->simd_prefix = X86_PFX_F3;
			break;
		case 0x26: insn->seg = X86_SEG_ES; break;
		case 0x2e: insn->seg = X86_SEG_CS; break;
		case 0x36: insn->seg = X86_SEG_SS; break;
		case 0x3e: insn->seg = X86_SEG_DS; break;
		case 0x64: insn->seg = X86_SEG_FS; break;
		case 0x65: insn->seg = X86_SEG_GS; break;
		default:
			*first = b;
			return 0;
		}
	}
}

/* VEX: C5 RvvvvLpp or C4 RXBmmmmm WvvvvLpp, R/X/B/vvvv stored inverted. */
static int decode_vex(struct x86_insn *insn, struct cursor *c, uint8_t kind)
{
	uint8_t b1, b2, mmmmm;
	int rc;

	if (insn->rex || insn->opsize_prefix || insn->rep || insn->repne ||
	    insn->lock)
		return -EILSEQ;
	rc = next_byte(c, &b1);
	if (rc < 0)
		return rc;
	insn->vex = true;
	if (kind == 0xc5) {
		insn->rex = 0x40 | ((~b1 >> 5) & 4);
		mmmmm = 1;
		b2 = b1;
	} else {
		insn->rex = 0x40 | ((~b1 >> 5) & 7);
		mmmmm = b1 & 0x1f;
		rc = next_byte(c, &b2);
		if (rc < 0)
			return rc;
		if (b2 & 0x80)
			insn->rex |= 8;
	}
	if (mmmmm < 1 || mmmmm > 3)
		return -EILSEQ;
	insn->map = mmmmm;	/* 1 = 0F, 2 = 0F38, 3 = 0F3A */
	insn->vex_vvvv = (~b2 >> 3) & 15;
	insn->vex_l = (b2 >> 2) & 1;
	insn->simd_prefix = b2 & 3;	/* same order as enum x86_simd_prefix */
	return 0;
}

static int decode_modrm(struct x86_insn *insn, struct cursor *c)
{
	uint8_t modrm, sib, rm;
	int64_t disp = 0;
	int rc;

	rc = next_byte(c, &modrm);
	if (rc < 0)
		return rc;
	insn->has_modrm = true;
	insn->modrm = modrm;
	insn->mod = modrm >> 6;
	insn->reg = ((modrm >> 3) & 7) | ((insn->rex & 4) << 1);
	rm = modrm & 7;
	insn->rm = rm | ((insn->rex & 1) << 3);
	insn->base = X86_REG_NONE;
	insn->index = X86_REG_NONE;
	insn->scale = 1;
	if (insn->mod == 3)
		return 0;

	if (rm == 4) {
		rc = next_byte(c, &sib);
		if (rc < 0)
			return rc;
		insn->scale = 1 << (sib >> 6);
		if ((((sib >> 3) & 7) | ((insn->rex & 2) << 2)) != 4)
			insn->index = ((sib >> 3) & 7) | ((insn->rex & 2) << 2);
		if ((sib & 7) == 5 && insn->mod == 0) {
			rc = read_le(c, 4, &disp);
		} else {
			insn->base = (sib & 7) | ((insn->rex & 1) << 3);
		}
	} else if (rm == 5 && insn->mod == 0) {
		insn->base = X86_REG_RIP;
		rc = read_le(c, 4, &disp);
	} else {
		insn->base = insn->rm;
	}
	if (rc < 0)
		return rc;
	if (insn->mod == 1)
		rc = read_le(c, 1, &disp);
	else if (insn->mod == 2)
		rc = read_le(c, 4, &disp);
	if (rc < 0)
		return rc;
	insn->disp = (int32_t)disp;
	return 0;
}

static unsigned imm_bytes(const struct x86_insn *insn, enum imm_kind kind)
{
	switch (kind) {
	case IMM_B: return 1;
	case IMM_W: return 2;
	case IMM_Z: return insn->opsize == 2 ? 2 : 4;
	case IMM_V: return insn->opsize;
	case IMM_BRANCH: return 4;
	case IMM_ENTER: return 2;
	case IMM_MOFFS: return insn->addrsize;
	case IMM_GROUP3:
		if ((insn->reg & 7) > 1)
			return 0;
		if (insn->opcode == 0xf6)
			return 1;
		return insn->opsize == 2 ? 2 : 4;
	case IMM_NONE:
	default:
		return 0;
	}
}

static int decode_opcode(struct x86_insn *insn, struct cursor *c,
			 uint8_t first, enum imm_kind *kind)
{
	uint8_t b = first;
	bool modrm;
	int rc;

	if (insn->vex) {
		rc = next_byte(c, &b);
		if (rc < 0)
			return rc;
	} else if (b == 0x0f) {
		rc = next_byte(c, &b);
		if (rc < 0)
			return rc;
		insn->map = X86_MAP_0F;
		if (b == 0x38 || b == 0x3a) {
			insn->map = b == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
			rc = next_byte(c, &b);
			if (rc < 0)
				return rc;
		}
	}
	insn->opcode = b;

	switch (insn->map) {
	case X86_MAP_PRIMARY:
		if (IN_BITMAP(primary_invalid, b))
			return -EILSEQ;
		modrm = IN_BITMAP(primary_modrm, b);
		*kind = primary_imm(b);
		break;
	case X86_MAP_0F:
		if (IN_BITMAP(map0f_invalid, b))
			return -EILSEQ;
		modrm = !IN_BITMAP(map0f_no_modrm, b);
		*kind = map0f_imm(b);
		break;
	case X86_MAP_0F38:
		modrm = true;
		*kind = IMM_NONE;
		break;
	default:
		modrm = true;
		*kind = IMM_B;
		break;
	}
	if (modrm)
		return decode_modrm(insn, c);
	insn->reg = 0;
	insn->rm = (b & 7) | ((insn->rex & 1) << 3);
	return 0;
}

int x86_decode(struct x86_insn *insn, const uint8_t *code, size_t avail,
	       uint64_t pc)
{
	struct cursor c = { .code = code, .avail = avail };
	enum imm_kind kind = IMM_NONE;
	unsigned n;
	uint8_t b;
	int rc;

	memset(insn, 0, sizeof(*insn));
	insn->pc = pc;
	rc = decode_prefixes(insn, &c, &b);
	if (rc < 0)
		return rc;
	if ((b & 0xf0) == 0x40) {
		insn->rex = b;
		rc = next_byte(&c, &b);
		if (rc < 0)
			return rc;
		/* A REX followed by a legacy prefix is ignored by hardware;
		 * compilers never emit it, so refuse rather than guess. */
		if ((b & 0xf0) == 0x40 || b == 0x66 || b == 0x67 ||
		    b == 0xf2 || b == 0xf3 || b == 0xf0)
			return -EILSEQ;
	}
	if (b == 0xc4 || b == 0xc5) {
		rc = decode_vex(insn, &c, b);
		if (rc < 0)
			return rc;
	}
	insn->rex_w = (insn->rex & 8) != 0;
	insn->opsize = insn->rex_w ? 8 : insn->opsize_prefix ? 2 : 4;
	insn->addrsize = insn->addrsize_prefix ? 4 : 8;

	rc = decode_opcode(insn, &c, b, &kind);
	if (rc < 0)
		return rc;

	n = imm_bytes(insn, kind);
	if (n) {
		insn->imm_size = n;
		rc = read_le(&c, n, &insn->imm);
		if (rc < 0)
			return rc;
		/* MOV r64, imm64 and moffs are unsigned; keep the bits. */
	}
	if (kind == IMM_ENTER) {
		insn->imm2_size = 1;
		rc = read_le(&c, 1, &insn->imm2);
		if (rc < 0)
			return rc;
		insn->imm = (uint16_t)insn->imm;
		insn->imm2 = (uint8_t)insn->imm2;
	}
	insn->len = c.pos;
	return 0;
}

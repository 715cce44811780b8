/* x86-64 instruction decoder: bytes -> struct x86_insn.
 *
 * The decoder knows only encodings (prefixes, REX, VEX, opcode maps, ModRM,
 * SIB, displacement, immediates); what an instruction means is the
 * frontend's business (x86/frontend.c).  64-bit mode only.
 */
#ifndef MICA_X86_DECODE_H
#define MICA_X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum x86_map {
	X86_MAP_PRIMARY,	/* one-byte opcodes */
	X86_MAP_0F,
	X86_MAP_0F38,
	X86_MAP_0F3A,
};

enum x86_seg { X86_SEG_NONE, X86_SEG_ES, X86_SEG_CS, X86_SEG_SS,
	       X86_SEG_DS, X86_SEG_FS, X86_SEG_GS };

/* Mandatory/implied SIMD prefix (legacy 66/F3/F2 or VEX.pp). */
enum x86_simd_prefix { X86_PFX_NONE, X86_PFX_66, X86_PFX_F3, X86_PFX_F2 };

#define X86_REG_NONE	(-1)
#define X86_REG_RIP	16	/* base register of a RIP-relative operand */
#define X86_MAX_INSN_LEN 15

struct x86_insn {
	uint64_t pc;
	uint8_t len;
	uint8_t map;		/* enum x86_map */
	uint8_t opcode;
	uint8_t rex;		/* the REX byte, or 0 */
	bool rex_w;
	bool opsize_prefix;	/* 66 seen */
	bool addrsize_prefix;	/* 67 seen */
	bool lock;
	bool rep;		/* F3 */
	bool repne;		/* F2 */
	uint8_t seg;		/* enum x86_seg of the last segment prefix */
	uint8_t simd_prefix;	/* enum x86_simd_prefix: last of 66/F2/F3 */
	uint8_t opsize;		/* 2, 4 or 8 bytes (default operand size) */
	uint8_t addrsize;	/* 4 or 8 bytes */

	bool has_modrm;
	uint8_t modrm;
	uint8_t mod;		/* 0..3 */
	uint8_t reg;		/* ModRM.reg with REX.R/VEX.R applied: 0..15 */
	uint8_t rm;		/* ModRM.rm with REX.B applied (mod==3 or no SIB) */
	/* Memory operand (mod != 3): */
	int8_t base;		/* 0..15, X86_REG_RIP, or X86_REG_NONE */
	int8_t index;		/* 0..15 or X86_REG_NONE */
	uint8_t scale;		/* 1, 2, 4, 8 */
	int32_t disp;

	uint8_t imm_size;	/* bytes of the first immediate (0 if none) */
	int64_t imm;		/* sign-extended from imm_size */
	uint8_t imm2_size;	/* ENTER's second immediate */
	int64_t imm2;

	/* VEX (C4/C5). */
	bool vex;
	uint8_t vex_l;		/* 0 = 128-bit, 1 = 256-bit */
	uint8_t vex_vvvv;	/* extra source register, un-inverted: 0..15 */
};

/* Decode one instruction at CODE (AVAIL readable bytes) whose guest
 * address is PC.  Returns 0, -EFAULT when the instruction runs past AVAIL
 * (fetch more and retry), or -EILSEQ for an encoding invalid in 64-bit
 * mode or longer than 15 bytes. */
int x86_decode(struct x86_insn *insn, const uint8_t *code, size_t avail,
	       uint64_t pc);

/* True if the memory operand has a ModRM memory form (mod != 3). */
static inline bool x86_insn_has_mem(const struct x86_insn *insn)
{
	return insn->has_modrm && insn->mod != 3;
}

#endif

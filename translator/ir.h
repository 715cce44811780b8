/* Target-neutral intermediate representation of one translation block.
 *
 * A block is a straight list of three-address ops over 64-bit virtual
 * values ("temps").  Every temp is defined once (SSA within the block);
 * guest architectural state lives in the CPU state structure and is read
 * and written with IR_GET / IR_SET on byte offsets into it, so the IR
 * knows nothing about x86 or AArch64 registers.  Guest memory is reached
 * only through IR_LOAD / IR_STORE; the backend lowers those through a
 * struct tr_mem_lowering (user mode: host = guest + base; system mode:
 * software TLB), which is the seam between the two modes.
 *
 * Builders fold constants as they go (ir_add of two constants yields a
 * constant temp), and ir_optimize() forwards IR_GET from earlier IR_SET
 * and drops IR_SETs overwritten before anything can observe them, which
 * is how dead condition flags disappear.
 */
#ifndef MICA_TRANSLATOR_IR_H
#define MICA_TRANSLATOR_IR_H

#include <stdbool.h>
#include <stdint.h>

typedef uint16_t ir_temp;
#define IR_NO_TEMP 0xffff

enum ir_opcode {
	IR_NOP,
	IR_CONST,	/* dst = imm */
	IR_GET,		/* dst = *(u64 *)(env + imm) */
	IR_SET,		/* *(u64 *)(env + imm) = a */
	IR_MOV,		/* dst = a */
	IR_ADD, IR_SUB, IR_AND, IR_OR, IR_XOR,
	IR_SHL, IR_SHR, IR_SAR, IR_ROL, IR_ROR,	/* count = b & 63 */
	IR_MUL,		/* low 64 bits */
	IR_NEG, IR_NOT,
	IR_BSWAP,	/* byte swap of the low aux (4 or 8) bytes */
	IR_ZEXT8, IR_ZEXT16, IR_ZEXT32,
	IR_SEXT8, IR_SEXT16, IR_SEXT32,
	IR_SETCC,	/* dst = (a cond b) ? 1 : 0, cond = aux */
	IR_SELECT,	/* dst = c != 0 ? a : b */
	IR_LOAD,	/* dst = zero-extended guest memory at a, size = aux */
	IR_STORE,	/* guest memory at a = b, size = aux */
	IR_CALL,	/* dst = helper(env, args...) */
	IR_INSN_START,	/* a new guest instruction at imm (fault recovery) */
	IR_BRCOND,	/* if (a != 0) leave the block to guest pc imm */
	IR_EXIT,	/* leave the block to guest pc imm (chainable) */
	IR_EXIT_INDIRECT, /* leave the block to guest pc a */
	IR_EXIT_SPECIAL, /* leave to the runtime: reason aux, guest pc imm */
	IR_VEC,		/* 128-bit op on vector state in env (ir_vec) */
	IR_NUM_OPCODES
};

/* aux of IR_ADD..IR_NOT: IR_W32 makes the op work on the low 32 bits of
 * its operands and zero-extend its result (shift counts & 31), which is
 * what 32-bit guest and host operations do.  0 = 64-bit. */
#define IR_W32 4

enum ir_cond {
	IR_EQ, IR_NE, IR_LTU, IR_LEU, IR_GTU, IR_GEU, IR_LT, IR_LE, IR_GT,
	IR_GE,
};

/* What a helper may do; decides what the backend spills around it. */
enum ir_helper_flags {
	IR_HELPER_PURE = 0,		/* reads only its arguments */
	IR_HELPER_READS_ENV = 1,	/* reads guest state */
	IR_HELPER_WRITES_ENV = 2,	/* writes guest state */
	IR_HELPER_MEMORY = 4,		/* touches guest memory (may fault) */
	/* Reads and writes env only at offsets >= IR_VECTOR_STATE_OFF
	 * (vector/x87 state): general registers and flags cached in host
	 * registers stay valid across the call. */
	IR_HELPER_VECTOR = 8,
};

#define IR_VECTOR_STATE_OFF 256

#define IR_MAX_ARGS 4

struct ir_op {
	uint8_t opc;		/* enum ir_opcode */
	uint8_t aux;		/* cond, access size, exit reason, #args */
	uint8_t helper_flags;
	ir_temp dst;
	ir_temp a, b, c;
	ir_temp args[IR_MAX_ARGS];
	int64_t imm;
	const void *helper;
};

#define IR_MAX_OPS 2048
#define IR_MAX_TEMPS 4096

struct ir_block {
	uint64_t guest_pc;
	uint64_t guest_end;		/* first byte after the last insn */
	unsigned n_ops;
	unsigned n_temps;
	unsigned n_insns;
	bool full;			/* no room: frontend must end the block */
	struct ir_op ops[IR_MAX_OPS];
	/* Builder state for constant folding. */
	bool is_const[IR_MAX_TEMPS];
	int64_t const_val[IR_MAX_TEMPS];
	/* Builder state for width folding: the value fits in this many
	 * low bits (the others are known to be zero); the op defining each
	 * temp (IR_MAX_OPS: none). */
	uint8_t zbits[IR_MAX_TEMPS];
	uint16_t def[IR_MAX_TEMPS];
};

void ir_init(struct ir_block *blk, uint64_t guest_pc);
/* True when fewer than SLACK ops or temps remain. */
bool ir_nearly_full(const struct ir_block *blk, unsigned slack);

ir_temp ir_const(struct ir_block *blk, int64_t v);
ir_temp ir_get(struct ir_block *blk, unsigned env_off);
void ir_set(struct ir_block *blk, unsigned env_off, ir_temp v);
ir_temp ir_binop(struct ir_block *blk, enum ir_opcode opc, ir_temp a,
		 ir_temp b);
/* The IR_W32 form: low 32 bits of A and B, result zero-extended. */
ir_temp ir_binop32(struct ir_block *blk, enum ir_opcode opc, ir_temp a,
		   ir_temp b);
ir_temp ir_unop(struct ir_block *blk, enum ir_opcode opc, ir_temp a);
ir_temp ir_bswap(struct ir_block *blk, ir_temp a, unsigned size);
ir_temp ir_setcc(struct ir_block *blk, enum ir_cond cond, ir_temp a,
		 ir_temp b);
ir_temp ir_select(struct ir_block *blk, ir_temp c, ir_temp a, ir_temp b);
ir_temp ir_load(struct ir_block *blk, ir_temp addr, unsigned size);
void ir_store(struct ir_block *blk, ir_temp addr, ir_temp v, unsigned size);
ir_temp ir_call(struct ir_block *blk, const void *helper, unsigned flags,
		unsigned nargs, const ir_temp *args);
/* IR_VEC: one 128-bit integer/logic/shuffle operation on vector state
 * slots of env, named by its x86 SSE encoding (the guest's own, which an
 * x86-64 host runs as is; another host maps it): aux = kind, imm =
 * d_off | s_off << 16 | enc << 32.  Reads and writes env only at
 * offsets >= IR_VECTOR_STATE_OFF (like an IR_HELPER_VECTOR call), never
 * guest memory (except IR_VEC_LOAD/STORE, ir_vec_mem), never MXCSR. */
enum ir_vec_kind {
	IR_VEC_XMM,	/* [d] = op([d], [s]) */
	IR_VEC_SHIFT,	/* [d] = op /digit [d], imm8 (psllw.. pslldq) */
	IR_VEC_TO_GPR,	/* dst = op([s]) (pmovmskb, movmskps/pd) */
	IR_VEC_FLAGS,	/* dst = ZF | PF | CF of op([d], [s]) (ptest, comis) */
	IR_VEC_FROM_GPR, /* [d] = op([d], b) (cvtsi2sd) */
	/* 16-byte guest memory accesses at guest address a, one access
	 * each (through the memory lowering, faulting precisely): */
	IR_VEC_LOAD,	/* [d] = memory */
	IR_VEC_STORE,	/* memory = [d] */
};

/* enc: opcode | map << 8 (0 = 0F, 1 = 0F38, 2 = 0F3A) | prefix << 10
 * (0 none, 1 66, 2 F3, 3 F2) | has imm8 << 12 | ModRM digit << 13 |
 * imm8 << 16 | IR_VEC_W (REX.W) | IR_VEC_MXCSR (floating point: runs
 * under the guest's MXCSR rounding, DAZ/FTZ, all exceptions masked, and
 * adds the exception flags it raises to the guest MXCSR). */
#define IR_VEC_W (1u << 24)
#define IR_VEC_MXCSR (1u << 25)
#define IR_VEC_ENC(op, map, pfx, has_imm, digit, imm8)			\
	((uint32_t)(op) | (uint32_t)(map) << 8 | (uint32_t)(pfx) << 10 |	\
	 (uint32_t)(has_imm) << 12 | (uint32_t)(digit) << 13 |		\
	 (uint32_t)(uint8_t)(imm8) << 16)

ir_temp ir_vec(struct ir_block *blk, enum ir_vec_kind kind, unsigned d_off,
	       unsigned s_off, uint32_t enc);
/* IR_VEC_FROM_GPR: the source is the temp V. */
void ir_vec_from_gpr(struct ir_block *blk, unsigned d_off, ir_temp v,
		     uint32_t enc);
void ir_vec_mem(struct ir_block *blk, enum ir_vec_kind kind, ir_temp addr,
		unsigned d_off);
void ir_insn_start(struct ir_block *blk, uint64_t guest_pc);
void ir_brcond(struct ir_block *blk, ir_temp c, uint64_t target);
void ir_exit(struct ir_block *blk, uint64_t target);
void ir_exit_indirect(struct ir_block *blk, ir_temp target);
void ir_exit_special(struct ir_block *blk, unsigned reason, uint64_t pc);

static inline bool ir_is_const(const struct ir_block *blk, ir_temp t,
			       int64_t *v)
{
	if (!blk->is_const[t])
		return false;
	if (v)
		*v = blk->const_val[t];
	return true;
}

/* Block-level passes: IR_GET forwarding, dead IR_SET elimination. */
void ir_optimize(struct ir_block *blk);
/* Human-readable listing to stderr (MICA_DEBUG=ir). */
void ir_dump(const struct ir_block *blk);

#define ir_add(b, x, y) ir_binop((b), IR_ADD, (x), (y))
#define ir_sub(b, x, y) ir_binop((b), IR_SUB, (x), (y))
#define ir_and(b, x, y) ir_binop((b), IR_AND, (x), (y))
#define ir_or(b, x, y)  ir_binop((b), IR_OR, (x), (y))
#define ir_xor(b, x, y) ir_binop((b), IR_XOR, (x), (y))
#define ir_shl(b, x, y) ir_binop((b), IR_SHL, (x), (y))
#define ir_shr(b, x, y) ir_binop((b), IR_SHR, (x), (y))
#define ir_sar(b, x, y) ir_binop((b), IR_SAR, (x), (y))

#endif
